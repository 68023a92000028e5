"""The staff menu's reader display test on Stripe Terminal: show a one-line test cart on the
reader (``set_reader_display``) and clear it again (``cancel_action``), never touching a
payment. The terminal's worker runs these on its thread and refuses them while a payment is
under way; here only the Stripe requests and what their failures mean.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from kiosk.payments.provider import TEST_CART_LINE, ReaderCart, ReaderCartLine, ReaderDisplayTest
from kiosk.payments.stripe.failures import FailureKind, StripeFailure

if TYPE_CHECKING:
    from kiosk.payments.stripe.api import StripeGateway

log = logging.getLogger(__name__)


def stripe_cart(cart: ReaderCart, currency: str) -> dict[str, Any]:
    """The ``cart`` parameter of ``set_reader_display`` for ``cart`` in ``currency``."""
    return {
        "currency": currency.lower(),
        "line_items": [{"description": line.description, "amount": line.amount_minor,
                        "quantity": line.quantity} for line in cart.lines],
        "tax": cart.tax_minor,
        "total": cart.total_minor,
    }


def show_test_cart(gateway: StripeGateway, reader_id: str, currency: str) -> str:
    """Show the test cart (one line "Test" of 1 minor unit); a `ReaderDisplayTest` code."""
    if not reader_id:
        return ReaderDisplayTest.NO_READER.value
    test_cart = ReaderCart((ReaderCartLine(TEST_CART_LINE, 1, 1),), 0, 1)
    # A fresh key per test: nothing is charged, so nothing needs to survive a restart.
    key = f"display-test:{uuid.uuid4()}"
    try:
        gateway.set_display(reader_id, stripe_cart(test_cart, currency), key)
    except StripeFailure as failure:
        log.warning("reader display test: the cart was not shown: %s", failure)
        return _display_test_code(failure)
    return ReaderDisplayTest.SHOWN.value


def clear_reader_display(gateway: StripeGateway, reader_id: str) -> str:
    """Clear the reader's screen unless a payment is on it; a `ReaderDisplayTest` code.

    Only a cart display still ``in_progress`` (as Stripe keeps it until replaced or
    cancelled) is cancelled; with nothing in progress there is nothing to clear and Stripe is
    not asked to cancel anything (so no answer code of a needless cancel matters)."""
    if not reader_id:
        return ReaderDisplayTest.NO_READER.value
    try:
        reader = gateway.retrieve_reader(reader_id)
        if reader.get("status") == "offline":
            return ReaderDisplayTest.READER_OFFLINE.value
        action = reader.get("action") or {}
        if action.get("status") != "in_progress":
            return ReaderDisplayTest.CLEARED.value
        if action.get("type") != "set_reader_display":
            log.warning("reader display test: the reader is busy with %s; not cancelled",
                        action.get("type"))
            return ReaderDisplayTest.READER_BUSY.value
        gateway.cancel_action(reader_id, f"display-clear:{uuid.uuid4()}")
    except StripeFailure as failure:
        log.warning("reader display test: the screen was not cleared: %s", failure)
        return _display_test_code(failure)
    return ReaderDisplayTest.CLEARED.value


def _display_test_code(failure: StripeFailure) -> str:
    """The `ReaderDisplayTest` code of a failed display test request."""
    if failure.kind == FailureKind.READER_BUSY:
        return ReaderDisplayTest.READER_BUSY.value
    if failure.kind in (FailureKind.READER_OFFLINE, FailureKind.READER_TIMEOUT):
        return ReaderDisplayTest.READER_OFFLINE.value
    if failure.code == "resource_missing":
        return ReaderDisplayTest.NO_READER.value
    return ReaderDisplayTest.STRIPE_UNREACHABLE.value
