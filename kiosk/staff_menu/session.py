"""Who has the staff menu open, what their role lets them do, and when the menu closes itself.

A session opens on a right PIN (the corner button, or an attendant call that needs a
decision) and closes on "Back to the customer", after ``[staff] menu_timeout_s`` without a
touch, or once the call it was opened for is settled. Roles: attendants approve, help,
reprint, test devices and see the lists; managers may do everything (`MANAGER_ONLY`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.store.staff import StaffRole

MANAGER_ONLY = frozenset({
    "refund",
    "catalog_import",
    "open_close",
    "leave_app",
    "restart_app",
    "reboot",
    "power_off",
    "change_setting",
})
"""Staff actions only a manager may do; every other action is open to attendants too."""

ACTIONS = frozenset({
    *MANAGER_ONLY,
    "approve",
    "reprint",
    "check_payments",
    "sync_now",
    "scanner_test",
    "printer_test",
    "reader_display_test",
    "reader_display_clear",
    "inspection",
})
"""Every staff action the menu offers (the names `StaffMenu.may` answers for)."""


@dataclass(frozen=True)
class StaffSession:
    """An open staff menu: who opened it, when (aware UTC) and why (``menu``: the corner
    button; ``call``: a PIN at an attendant call that needs a decision)."""

    staff_number: int
    name: str
    role: str
    opened_at: datetime
    reason: str

    @property
    def is_manager(self) -> bool:
        """True for a manager: every action is allowed."""
        return self.role == StaffRole.MANAGER.value

    def may(self, action: str) -> bool:
        """True when this staff member's role allows ``action`` (a name of `ACTIONS`)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown staff action {action!r}")
        return self.is_manager or action not in MANAGER_ONLY
