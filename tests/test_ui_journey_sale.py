"""The customer's main journey on the real touchscreen: scan, pay by card, receipt, thanks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ui_support import MINERAL_WATER, ORANGE_JUICE, SIZES, KioskDriver, run_kiosk_ui

from kiosk.core.checkout_states import CheckoutState


@pytest.fixture(params=list(SIZES))
def kiosk_ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk on screen at each supported screen size."""
    yield from run_kiosk_ui(tmp_path, request.node.name, request.param)


def test_a_customer_scans_two_items_pays_by_card_and_gets_a_printed_receipt(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    ui.screenshot("attract")
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    ui.scan(ORANGE_JUICE)
    ui.wait_for(lambda: len(ui.app.cart_rows) == 2, "two cart lines")
    ui.tap_text("+")
    ui.wait_for(lambda: ui.app.cart_rows[0]["quantity"] == 2, "two bottles of water")
    assert ui.app.total_text == "€2.87"
    ui.screenshot("cart")
    ui.tap(ui.find("pay_button"))
    ui.wait_for_screen("payment")
    assert ui.shows("Tap or insert your card on the reader to your right.")
    ui.screenshot("payment-waiting")
    ui.wait_for_screen("paid")
    assert ui.shows("Payment approved")
    ui.screenshot("paid")
    ui.tap(ui.find("print_button"))
    ui.wait_for_screen("thank_you")
    ui.wait_for(lambda: ui.app.receipt_status == "printed", "the receipt to print")
    assert ui.shows("Please take your receipt.")
    ui.screenshot("thank-you")
    printer = ui.kiosk.virtual_printer
    assert printer is not None and printer.wait_for_jobs(1, timeout_s=10), "no receipt printed"
    ui.wait_for_screen("attract")
    assert ui.kiosk.checkout.state is CheckoutState.ATTRACT
