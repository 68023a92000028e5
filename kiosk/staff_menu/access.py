"""Opening and closing the staff menu: the PIN, the inactivity timeout, the way back.

The PIN is checked on the store worker with the lockout rules of ``kiosk.store.staff`` (that
check writes its own audit row, ``staff.pin_check``); the PIN itself is never kept, logged or
audited. Closing the menu writes one row, ``staff.menu_close``, with why it closed (``logout``,
``timeout``, ``payment``: a card payment took the screen), except when the close ends a staff
action that wrote its own row (a settled call, leaving the app). The menu never opens over a
card payment or its paid screen, and closes when one takes the screen.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kiosk.core.checkout import CheckoutState, Refusal
from kiosk.notices import Notice, SessionChanged, StaffChecked, StaffMenuChanged
from kiosk.staff_menu.base import MenuBase
from kiosk.staff_menu.session import StaffSession
from kiosk.store.staff import PinCheck, PinOutcome, StaffMember, StaffRoster

if TYPE_CHECKING:
    from kiosk.app import Kiosk

log = logging.getLogger(__name__)

MAX_STAFF_NUMBER = 2**62
"""Staff numbers above this cannot exist (SQLite integers are 64-bit)."""

PAYMENT_SCREENS = frozenset({CheckoutState.PAYING, CheckoutState.PAID})
"""Checkout states the staff menu never opens over: a card payment, and its paid screen."""


class MenuAccess(MenuBase):
    """Log in, log out, the inactivity timeout; the menu gives way to a card payment."""

    def __init__(self, kiosk: Kiosk) -> None:
        super().__init__(kiosk)
        kiosk.listen(self._give_way_to_payment)

    def _give_way_to_payment(self, notice: Notice) -> None:
        """A card payment took the screen while the menu was open (a card presented while
        the last card wait was being cancelled, behind a call staff answer): the menu closes
        at once (one audit row, outcome ``payment``), so the customer sees their payment and
        the menu's touches never keep it from timing out."""
        if (
            isinstance(notice, SessionChanged)
            and self._session is not None
            and notice.checkout.state in PAYMENT_SCREENS
        ):
            self._close("payment")

    def log_in(self, staff_number: int, pin: str) -> None:
        """Check a staff member's number and PIN; the answer comes as a ``StaffChecked``
        notice and, when right, a ``StaffMenuChanged(open=True, reason="login")``. Refused
        while the kiosk starts, and while a card payment is in flight or its paid screen is
        up (``StaffChecked`` with outcome ``payment_in_progress``, the PIN not checked): the
        facade enforces it, not only the hidden Staff button."""
        kiosk = self._kiosk
        if kiosk._refused_before_start():
            return
        if self._payment_in_flight():
            kiosk._emit(StaffChecked(Refusal.PAYMENT_IN_PROGRESS.value, staff_number, None, None))
            return
        if not 0 < staff_number <= MAX_STAFF_NUMBER:
            kiosk._emit(StaffChecked(PinOutcome.UNKNOWN_STAFF, staff_number, None, None))
            return
        now = self._now()
        future = kiosk._write(
            lambda db: StaffRoster(db).check_pin(staff_number, pin, now), "check a staff PIN"
        )
        kiosk._when_done(future, lambda check: self._after_pin(staff_number, check))

    def _payment_in_flight(self) -> bool:
        """True while a card payment owns the screen: paying, paid, or a card wait still
        being cancelled (the staff menu must never cover it, nor keep it from timing out)."""
        checkout = self._kiosk.checkout
        return checkout.state in PAYMENT_SCREENS or checkout.payment_pending

    def _after_pin(self, staff_number: int, check: PinCheck) -> None:
        if check.ok and self._payment_in_flight():
            # A payment took the screen while the PIN was checked (its row says the PIN was
            # right): the menu stays closed.
            self._kiosk._emit(
                StaffChecked(Refusal.PAYMENT_IN_PROGRESS.value, staff_number, None, None)
            )
            return
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
        tidied = self._tidy_up()
        if audited:
            self._audit("staff.menu_close", reason, session.staff_number, tidied or None)
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
