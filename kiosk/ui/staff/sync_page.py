"""The staff menu's sync page: how far the kiosk is behind the back office, and "Sync now".

Shows the events still to send, when the oldest of them was written and how long ago, the
last acknowledged batch and the last problem (in the shop's time). Without a back office it
says that sync is off.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk.ui.i18n import N_
from kiosk.ui.staff.audit_page import shop_time
from kiosk.ui.staff.page import StaffPage

REFRESH_EVERY_S = 1.0
"""After "Sync now" the page reads the status again this often (seconds)..."""
REFRESH_TIMES = 10
"""...this many times, or until nothing is pending."""


def age_text(app: Any, seconds: float) -> str:
    """A duration in the largest whole unit that fits: "45 seconds", "3 minutes", "2 days"."""
    whole = max(0, int(seconds))
    if whole < 120:
        return str(app.tr.ntr("{n} second", "{n} seconds", whole))
    if whole < 2 * 3600:
        return str(app.tr.ntr("{n} minute", "{n} minutes", whole // 60))
    if whole < 2 * 86400:
        return str(app.tr.ntr("{n} hour", "{n} hours", whole // 3600))
    return str(app.tr.ntr("{n} day", "{n} days", whole // 86400))


class SyncPage(StaffPage):
    """Sync with the back office (``kv/staff_sync.kv``)."""

    page_name = "sync"
    title = N_("Sync")
    sync_on = BooleanProperty(True)
    pending = NumericProperty(0)
    """Events the back office has not acknowledged yet."""
    pending_text = StringProperty("")
    oldest_text = StringProperty("")
    last_success_text = StringProperty("")
    last_error_text = StringProperty("")
    error_holds = BooleanProperty(False)
    """The last problem happened after the last success: it still holds."""
    syncing = BooleanProperty(False)
    """"Sync now" was pressed and the page is still watching the outcome."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._watch: Any = None
        self._watched = 0

    def refresh(self) -> None:
        """Read where sync stands."""
        if self.app is None:  # a notice that came while the app stopped
            return
        app = self.app
        status = app.kiosk.staff.sync_status()
        self.sync_on = status is not None
        if status is None:
            self.pending = 0
            self.pending_text = self.oldest_text = ""
            self.last_success_text = self.last_error_text = ""
            self.error_holds = False
            return
        self.pending = status.pending
        self.pending_text = app.tr.ntr(
            "{n} event waiting to be sent", "{n} events waiting to be sent", status.pending)
        oldest = status.oldest_pending_at
        self.oldest_text = "" if oldest is None else app.tr(
            "The oldest is from {time} ({age} ago).", time=shop_time(app, oldest),
            age=age_text(app, (datetime.now(UTC) - oldest).total_seconds()),
        )
        success = status.last_success_at
        self.last_success_text = app.tr(
            "Last sent: {time}", time=shop_time(app, success)
        ) if success is not None else app.tr("Nothing sent yet.")
        error_at = status.last_error_at
        if status.last_error:
            self.last_error_text = app.tr(
                "Last problem ({time}): {error}", time=shop_time(app, error_at),
                error=status.last_error,
            )
            self.error_holds = error_at is not None and (success is None or error_at > success)
        else:
            self.last_error_text = ""
            self.error_holds = False

    def sync_now(self) -> None:
        """Ask for a sync pass now, then watch the status for a few seconds."""
        self.app.kiosk.staff.sync_now()
        self.syncing = True
        self._watched = 0
        if self._watch is not None:
            self._watch.cancel()
        self._watch = Clock.schedule_interval(self._look_again, REFRESH_EVERY_S)

    def _look_again(self, _dt: float) -> bool:
        self._watched += 1
        shown = self.get_root_window() is not None
        if shown:
            self.refresh()
        if not shown or not self.sync_on or self.pending == 0 or self._watched >= REFRESH_TIMES:
            self.syncing = False
            self._watch = None
            return False
        return True
