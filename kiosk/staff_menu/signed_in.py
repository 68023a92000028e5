"""Who is signed in to the staff menu right now, shared by every part of the menu.

`SignedIn` holds the open `StaffSession` and the time of the last touch, checks a staff
action against the role (`guard`), writes the one audit row of each action (`audit`), and
opens and closes the menu with its notices. A part that leaves something behind on a device
(the reader's test cart) registers a tidy-up that runs as the menu closes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Any

from kiosk.notices import StaffActionDone, StaffMenuChanged
from kiosk.staff_menu.host import MenuHost
from kiosk.staff_menu.session import StaffSession
from kiosk.store import audit
from kiosk.store.staff import StaffMember

log = logging.getLogger(__name__)

TidyUp = Callable[[], dict[str, Any]]
"""Undo what a test left on a device as the menu closes; what was done (empty: nothing)."""


class SignedIn:
    """The signed-in staff member of one kiosk's menu (main thread only)."""

    def __init__(self, host: MenuHost) -> None:
        self._host = host
        self._session: StaffSession | None = None
        self._touched_at: datetime | None = None
        self._tidy_ups: list[TidyUp] = []

    @property
    def session(self) -> StaffSession | None:
        """The open staff session, or ``None`` while customers have the screen."""
        return self._session

    def may(self, action: str) -> bool:
        """True when a staff session is open and its role allows ``action``."""
        return self._session is not None and self._session.may(action)

    def touch(self) -> None:
        """A touch while the menu is open: the inactivity timeout starts again."""
        if self._session is not None:
            self._touched_at = self._host.clock()

    def idle_s(self) -> float | None:
        """Seconds since the last touch of the open menu (``None`` while it is closed)."""
        if self._session is None or self._touched_at is None:
            return None
        return (self._host.clock() - self._touched_at).total_seconds()

    def guard(self, action: str) -> StaffSession | None:
        """The session allowed to do ``action``, or ``None`` after refusing it: without a
        session a ``StaffActionDone(action, "not_allowed")`` notice; with the wrong role also
        one audit row (outcome ``not_allowed``)."""
        session = self._session
        if session is not None and session.may(action):
            self._touched_at = self._host.clock()
            return session
        if session is not None:
            self.audit(f"staff.{action}", "not_allowed", session.staff_number)
        self._host.emit(StaffActionDone(action, "not_allowed"))
        return None

    def audit(
        self,
        action: str,
        outcome: str,
        staff_number: int | None,
        detail: dict[str, Any] | None = None,
    ) -> Future[int]:
        """Write the one audit row of a staff action on the store worker."""
        at = self._host.clock()
        return self._host.write(
            lambda db: audit.record(db, at=at, action=action, outcome=outcome,
                                    staff_number=staff_number, detail=detail),
            f"record the staff action {action}",
            retry=True,
        )

    def on_close(self, tidy_up: TidyUp) -> None:
        """Run ``tidy_up`` each time the menu closes (its answer goes in the close's row)."""
        self._tidy_ups.append(tidy_up)

    def open(self, member: StaffMember, reason: str) -> None:
        """Open the menu for ``member`` (``login`` or ``call``) and tell the screens."""
        now = self._host.clock()
        self._session = StaffSession(
            staff_number=member.number,
            name=member.name,
            role=member.role.value,
            opened_at=now,
            reason=reason,
        )
        self._touched_at = now
        log.info("staff menu opened by staff %d (%s)", member.number, reason)
        self._host.emit(StaffMenuChanged(True, reason, member.number, member.role.value))

    def close(self, reason: str, *, audited: bool = True) -> None:
        """Close the menu for ``reason``. ``audited=False`` when the close is the end of a
        staff action that wrote its own row (a settled call, leaving the app): one staff
        action, one audit row."""
        session = self._session
        if session is None:
            return
        self._session = None
        self._touched_at = None
        tidied: dict[str, Any] = {}
        for tidy_up in self._tidy_ups:
            tidied.update(tidy_up())
        if audited:
            self.audit("staff.menu_close", reason, session.staff_number, tidied or None)
        log.info("staff menu closed (%s)", reason)
        self._host.emit(StaffMenuChanged(False, reason, session.staff_number, session.role))

    def settle_call(self) -> None:
        """Close a menu opened for an attendant call once the call is settled (no row of its
        own: the decision that settled it wrote one)."""
        session = self._session
        if session is not None and session.reason == "call" and (
            self._host.checkout().attendant_reason is None
        ):
            self.close("resolved", audited=False)
