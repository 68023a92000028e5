"""Which screen the customer sees: a pure function of the session and a few UI flags.

The checkout state machine (``kiosk.core.checkout``) decides what is happening; the UI adds
what only it knows: that a decline is being explained, that the thank-you screen is still up,
that the kiosk is closed or checking the last payment at start-up. Keeping the choice in one
function makes "no screen is a dead end" checkable without a window.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.core.checkout import CheckoutState

SCREENS = (
    "attract",
    "shopping",
    "needs_attendant",
    "payment",
    "checking",
    "paid",
    "thank_you",
    "closed",
)
"""Every screen, by name (one ``.kv`` file each in ``kiosk/ui/kv``)."""


@dataclass(frozen=True)
class View:
    """What the screen choice depends on.

    ``recovery`` is ``"checking"`` or ``"call_staff"`` while start-up payment recovery has
    not settled, else ``None``. ``start_failed``: the kiosk could not start (database
    trouble): out of order. ``explaining_decline``: the card was declined and the customer has
    not yet chosen "try another card" or "back to the cart". ``thanking``: the thank-you screen
    is up after a sale ended. ``closed``: staff closed the kiosk.
    """

    state: CheckoutState
    recovery: str | None = None
    start_failed: bool = False
    explaining_decline: bool = False
    thanking: bool = False
    closed: bool = False


def screen_for(view: View) -> str:
    """The name of the screen to show for ``view``.

    A sale in progress always keeps its screen (closing the kiosk never strands a customer);
    the start-up and closed screens only replace the attract screen.
    """
    state = view.state
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
