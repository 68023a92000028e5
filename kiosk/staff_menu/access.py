"""Opening and closing the staff menu: the PIN, the inactivity timeout, the way back.

The PIN is checked on the store worker with the lockout rules of ``kiosk.store.staff`` (that
check writes its own audit row, ``staff.pin_check``); the PIN itself is never kept, logged or
audited. Closing the menu writes one row, ``staff.menu_close``, with why it closed (``logout``,
``timeout``), except when the close ends a staff action that wrote its own row (a settled
call, leaving the app).
"""

from __future__ import annotations

import logging

from kiosk.notices import StaffChecked, StaffMenuChanged
from kiosk.staff_menu.base import MenuBase
from kiosk.staff_menu.session import StaffSession
from kiosk.store.staff import PinCheck, PinOutcome, StaffMember, StaffRoster

log = logging.getLogger(__name__)

MAX_STAFF_NUMBER = 2**62
"""Staff numbers above this cannot exist (SQLite integers are 64-bit)."""


class MenuAccess(MenuBase):
    """Log in, log out, the inactivity timeout."""

    def log_in(self, staff_number: int, pin: str) -> None:
        """Check a staff member's number and PIN; the answer comes as a ``StaffChecked``
        notice and, when right, a ``StaffMenuChanged(open=True, reason="login")``. Refused
        while the kiosk starts (the screens offer it only when no card payment is in
        flight)."""
        kiosk = self._kiosk
        if kiosk._refused_before_start():
            return
        if not 0 < staff_number <= MAX_STAFF_NUMBER:
            kiosk._emit(StaffChecked(PinOutcome.UNKNOWN_STAFF, staff_number, None, None))
            return
        now = self._now()
        future = kiosk._write(
            lambda db: StaffRoster(db).check_pin(staff_number, pin, now), "check a staff PIN"
        )
        kiosk._when_done(future, lambda check: self._after_pin(staff_number, check))

    def _after_pin(self, staff_number: int, check: PinCheck) -> None:
        self._kiosk._emit(
            StaffChecked(
                outcome=check.outcome,
                staff_number=staff_number,
                tries_left=check.tries_left,
                locked_until=check.locked_until,
            )
        )
        if check.ok and check.staff is not None:
            self._open(check.staff, "login")

    def open_for_call(self, member: StaffMember) -> None:
        """A right PIN at an attendant call that needs a decision (an unknown or weighed
        item, a limit): the menu opens on that call; it closes once the call is settled."""
        self._open(member, "call")

    def _open(self, member: StaffMember, reason: str) -> None:
        now = self._now()
        self._session = StaffSession(
            staff_number=member.number,
            name=member.name,
            role=member.role.value,
            opened_at=now,
            reason=reason,
        )
        self._touched_at = now
        log.info("staff menu opened by staff %d (%s)", member.number, reason)
        self._kiosk._emit(StaffMenuChanged(True, reason, member.number, member.role.value))

    def log_out(self) -> None:
        """"Back to the customer": close the menu (one audit row, outcome ``logout``)."""
        self._close("logout")

    def touch(self) -> None:
        """A touch while the menu is open: the inactivity timeout starts again."""
        if self._session is not None:
            self._touched_at = self._now()

    def tick(self) -> None:
        """Close the menu after ``[staff] menu_timeout_s`` without a touch (the facade's tick
        calls this about once a second)."""
        if self._session is None or self._touched_at is None:
            return
        idle_s = (self._now() - self._touched_at).total_seconds()
        if idle_s >= self._kiosk.settings.staff.menu_timeout_s:
            self._close("timeout")

    def _close(self, reason: str, *, audited: bool = True) -> None:
        """Close the menu for ``reason``. ``audited=False`` when the close is the end of a
        staff action that wrote its own row (a settled call, leaving the app): one staff
        action, one audit row."""
        session = self._session
        if session is None:
            return
        self._session = None
        self._touched_at = None
        if audited:
            self._audit("staff.menu_close", reason, session.staff_number)
        log.info("staff menu closed (%s)", reason)
        self._kiosk._emit(StaffMenuChanged(False, reason, session.staff_number, session.role))

    def settle_call_session(self) -> None:
        """Close a menu opened for an attendant call once the call is settled (no row of its
        own: the decision that settled it wrote one)."""
        session = self._session
        if session is not None and session.reason == "call" and (
            self._kiosk.checkout.attendant_reason is None
        ):
            self._close("resolved", audited=False)
