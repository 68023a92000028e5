"""Which screen the kiosk shows: a pure function of the session and a few UI flags.

The checkout state machine (``kiosk.core.checkout``) decides what is happening; the UI adds
what only it knows: that a decline is being explained, that the thank-you screen is still up,
that the kiosk is closed or checking the last payment at start-up, that staff are typing their
PIN (``staff_login``) or have the staff menu open (``staff_menu``). Keeping the choice in one
function makes "no screen is a dead end" checkable without a window.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.core.checkout_states import CheckoutState

CUSTOMER_SCREENS = (
    "attract",
    "shopping",
    "needs_attendant",
    "payment",
    "checking",
    "paid",
    "thank_you",
    "closed",
)
"""The customer's screens, by name (one ``.kv`` file each in ``kiosk/ui/kv``)."""

STAFF_SCREENS = ("staff_login", "staff_menu")
"""The staff screens: the PIN pad behind the corner button, and the staff menu (both in
``kv/staff_menu.kv``; the menu's pages are ``kiosk.ui.staff.PAGES``)."""

SCREENS = CUSTOMER_SCREENS + STAFF_SCREENS
"""Every screen, by name."""

NO_STAFF_LOGIN = frozenset({CheckoutState.PAYING, CheckoutState.PAID})
"""States whose screen the staff PIN pad never covers: a card payment is never interrupted."""


@dataclass(frozen=True)
class View:
    """What the screen choice depends on.

    ``recovery`` is ``"checking"`` or ``"call_staff"`` while start-up payment recovery has
    not settled, else ``None``. ``start_failed``: the kiosk could not start (database
    trouble): out of order. ``explaining_decline``: the card was declined and the customer has
    not yet chosen "try another card" or "back to the cart". ``thanking``: the thank-you screen
    is up after a sale ended. ``closed``: staff closed the kiosk. ``staff_login``: the corner
    button's PIN pad is up. ``staff_menu``: a staff session is open (the facade opens one only
    while no payment is in flight).
    """

    state: CheckoutState
    recovery: str | None = None
    start_failed: bool = False
    explaining_decline: bool = False
    thanking: bool = False
    closed: bool = False
    staff_login: bool = False
    staff_menu: bool = False


def screen_for(view: View) -> str:
    """The name of the screen to show for ``view``.

    An open staff session shows the staff menu over whatever the customer had; the staff PIN
    pad covers any customer screen but the card payment and the paid screen. Otherwise a sale
    in progress always keeps its screen (closing the kiosk never strands a customer); the
    start-up and closed screens only replace the attract screen.
    """
    state = view.state
    if view.staff_menu:
        return "staff_menu"
    if view.staff_login and state not in NO_STAFF_LOGIN:
        return "staff_login"
    if state is CheckoutState.PAYING:
        return "payment"
    if state is CheckoutState.PAID:
        return "paid"
    if state is CheckoutState.NEEDS_ATTENDANT:
        return "needs_attendant"
    if state in (CheckoutState.SHOPPING, CheckoutState.IDLE_PROMPT):
        return "payment" if view.explaining_decline else "shopping"
    if view.start_failed or view.closed:
        return "closed"
    if view.recovery is not None:
        return "checking"
    if view.thanking:
        return "thank_you"
    return "attract"
