"""Undo after Remove: which removal the cart offers to undo, and when that offer ends.

A customer who removes a line (Remove, or "-" on a line of one) reads "Removed: <name>" with
an Undo button for `UNDO_S`; Undo puts the very same line back (``Kiosk.put_back_line``:
its quantity, price and age restriction, in its place). The offer ends at its time, at Pay, on
leaving the cart, on the next scan into the cart and with the sale; the checkout itself also
ignores an Undo once the sale has moved on, so a late one does nothing.

Pure functions of the checkout (no kivy): ``kiosk.ui.screens.shopping`` keeps the offer, its
timer and its words on the shopping screen (an offer belongs to its screen, as a message does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kiosk.core.checkout_states import CheckoutState

if TYPE_CHECKING:  # the cart's dataclasses load with the facade, after the first frame
    from kiosk.core.cart import CartLine
    from kiosk.core.checkout import Checkout

UNDO_S = 6.0
"""How long "Removed: <name>  [Undo]" stays on the cart after a removal, seconds."""

OPEN_STATES = (CheckoutState.SHOPPING, CheckoutState.IDLE_PROMPT)
"""Where the customer can change the cart (and so undo a removal)."""

SCAN_OUTCOMES = frozenset({"added", "quantity_increased"})
"""The cart outcomes (``CartOutcome`` values) only a scan produces."""


@dataclass(frozen=True)
class RemovedLine:
    """A line the customer removed from sale ``sale_id``, as it was in the cart."""

    sale_id: str
    line: CartLine


def removal(checkout: Checkout, line_id: int) -> RemovedLine | None:
    """What removing line ``line_id`` from ``checkout`` now takes away (to offer its Undo), or
    ``None``: no open sale, no such line, or a cart that cannot change."""
    line = checkout.cart.line(line_id)
    if line is None or checkout.sale_id is None or checkout.state not in OPEN_STATES:
        return None
    return RemovedLine(checkout.sale_id, line)


def removed_now(offer: RemovedLine, checkout: Checkout) -> bool:
    """True when ``checkout`` is the sale of ``offer`` without its line: the removal happened
    (a refused one leaves nothing to undo)."""
    return checkout.sale_id == offer.sale_id and checkout.cart.line(offer.line.line_id) is None


def offer_lasts(offer: RemovedLine, checkout: Checkout) -> bool:
    """True while Undo may still put ``offer``'s line back into ``checkout``: the same sale,
    the cart open, the line still out, and no scan into the cart since the removal (a scan
    leaves its own outcome as the checkout's last one)."""
    outcome = checkout.last_outcome
    return (
        removed_now(offer, checkout)
        and checkout.state in OPEN_STATES
        and (outcome is None or outcome.value not in SCAN_OUTCOMES)
    )
