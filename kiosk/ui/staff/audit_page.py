"""The staff menu's audit page: the latest audit rows, newest first, in the shop's time.

Also home of the two small readers the other staff pages share: ``shop_time`` (a stored UTC
time in the shop's zone, written for the menu's language) and ``code_words`` (a facade code
in words, the code itself when it has none).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from babel.dates import format_datetime
from kivy.properties import ListProperty, StringProperty

from kiosk.ui.i18n import N_
from kiosk.ui.staff.page import StaffPage

AUDIT_ROWS = 50
"""How many audit rows the page shows."""

DETAIL_CHARS = 90
"""Longest detail text shown on a row (characters); longer ones end in an ellipsis."""


def shop_time(app: Any, at: datetime | None) -> str:
    """``at`` (aware UTC) in the shop's time zone, short date and time in the menu's language;
    an empty text for ``None``."""
    if at is None:
        return ""
    local = at.astimezone(app.settings.shop.zone())
    return str(format_datetime(local, format="short", locale=app.tr.locale))


def code_words(app: Any, words: Mapping[str, str], code: str, **values: object) -> str:
    """The translated sentence ``words[code]`` (filled with ``values``), or, for a code with
    no sentence, "Not done: <code>" so staff can still quote it."""
    msgid = words.get(code)
    if msgid is None:
        return str(app.tr("Not done: {code}", code=code))
    return str(app.tr(msgid, **values))


def detail_text(detail: Mapping[str, Any] | None) -> str:
    """An audit row's detail as ``key: value`` pairs on one line, cut at `DETAIL_CHARS`."""
    if not detail:
        return ""
    text = ", ".join(
        f"{key}: {value if isinstance(value, str) and value else json.dumps(value)}"
        for key, value in detail.items()
    )
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "\u2026"


class AuditPage(StaffPage):
    """Who did what at this kiosk: the latest `AUDIT_ROWS` audit rows (``kv/staff_audit.kv``).

    ``rows`` feeds the page's RecycleView: ``when``, ``who``, ``what`` and ``detail`` texts.
    """

    page_name = "audit"
    title = N_("Audit log")
    rows = ListProperty([])
    count_text = StringProperty("")

    def refresh(self) -> None:
        """Read the latest audit rows again."""
        if self.app is None:  # a notice that came while the app stopped
            return
        app = self.app
        rows: list[dict[str, Any]] = []
        for entry in app.kiosk.staff.recent_audit(AUDIT_ROWS):
            staff = entry.staff_number
            who = app.tr("Staff {number}", number=staff) if staff is not None else app.tr(
                "The kiosk")
            rows.append({
                "when": shop_time(app, entry.at),
                "who": who,
                "what": f"{entry.action}: {entry.outcome}",
                "detail": detail_text(entry.detail),
                "odd": len(rows) % 2 == 1,
            })
        self.rows = rows
        self.count_text = app.tr.ntr(
            "The latest {n} entry, newest first.", "The latest {n} entries, newest first.",
            len(rows),
        )
