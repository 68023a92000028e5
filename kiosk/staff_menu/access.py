"""Signing in to and out of the staff menu: the PIN, the inactivity timeout, the way back.

The PIN goes through the one check of `kiosk.staff_menu.pin_check`. Closing the menu writes
one row, ``staff.menu_close``, with why it closed (``logout``, ``timeout``, ``payment``: a
card payment took the screen), except when the close ends a staff action that wrote its own
row (a settled call, leaving the app). The menu never opens over a card payment or its paid
screen, and closes when one takes the screen.
"""

from __future__ import annotations

from kiosk.core.checkout_states import CheckoutState, Refusal
from kiosk.notices import Notice, SessionChanged, StaffChecked
from kiosk.staff_menu.host import MenuHost
from kiosk.staff_menu.pin_check import check_staff_pin, staff_checked
from kiosk.staff_menu.signed_in import SignedIn
from kiosk.store.staff import PinCheck, StaffMember

PAYMENT_SCREENS = frozenset({CheckoutState.PAYING, CheckoutState.PAID})
"""Checkout states the staff menu never opens over: a card payment, and its paid screen."""


class MenuAccess:
    """Log in, log out, the inactivity timeout; the menu gives way to a card payment."""

    def __init__(self, host: MenuHost, signed_in: SignedIn) -> None:
        self._host = host
        self._signed_in = signed_in
        host.listen(self._give_way_to_payment)

    def _give_way_to_payment(self, notice: Notice) -> None:
        """A card payment took the screen while the menu was open (a card presented while
        the last card wait was being cancelled, behind a call staff answer): the menu closes
        at once (one audit row, outcome ``payment``), so the customer sees their payment and
        the menu's touches never keep it from timing out."""
        if (
            isinstance(notice, SessionChanged)
            and self._signed_in.session is not None
            and notice.checkout.state in PAYMENT_SCREENS
        ):
            self._signed_in.close("payment")

    def log_in(self, staff_number: int, pin: str) -> None:
        """Check a staff member's number and PIN; the answer comes as a ``StaffChecked``
        notice and, when right, a ``StaffMenuChanged(open=True, reason="login")``. Refused
        while the kiosk starts, and while a card payment is in flight or its paid screen is
        up (``StaffChecked`` with outcome ``payment_in_progress``, the PIN not checked): the
        facade enforces it, not only the hidden Staff button."""
        if self._host.refused_before_start():
            return
        if self._payment_in_flight():
            self._host.emit(
                StaffChecked(Refusal.PAYMENT_IN_PROGRESS.value, staff_number, None, None)
            )
            return
        check_staff_pin(self._host, staff_number, pin,
                        lambda check: self._after_pin(staff_number, check))

    def _payment_in_flight(self) -> bool:
        """True while a card payment owns the screen: paying, paid, or a card wait still
        being cancelled (the staff menu must never cover it, nor keep it from timing out)."""
        checkout = self._host.checkout()
        return checkout.state in PAYMENT_SCREENS or checkout.payment_pending

    def _after_pin(self, staff_number: int, check: PinCheck) -> None:
        if check.ok and self._payment_in_flight():
            # A payment took the screen while the PIN was checked (its row says the PIN was
            # right): the menu stays closed.
            self._host.emit(
                StaffChecked(Refusal.PAYMENT_IN_PROGRESS.value, staff_number, None, None)
            )
            return
        self._host.emit(staff_checked(staff_number, check))
        if check.ok and check.staff is not None:
            self._signed_in.open(check.staff, "login")

    def open_for_call(self, member: StaffMember) -> None:
        """A right PIN at an attendant call that needs a decision (an unknown or weighed
        item, a limit): the menu opens on that call; it closes once the call is settled."""
        self._signed_in.open(member, "call")

    def log_out(self) -> None:
        """"Back to the customer": close the menu (one audit row, outcome ``logout``)."""
        self._signed_in.close("logout")

    def tick(self) -> None:
        """Close the menu after ``[staff] menu_timeout_s`` without a touch (the facade's tick
        calls this about once a second)."""
        idle_s = self._signed_in.idle_s()
        if idle_s is not None and idle_s >= self._host.settings.staff.menu_timeout_s:
            self._signed_in.close("timeout")
