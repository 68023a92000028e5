"""Card payments that do not go straight through, on the real touchscreen.

A decline then a good card on the same PaymentIntent; leaving the card screen for the cart
and paying after all; the card wait running out; an authorisation that outlasts every
inactivity timeout; and a restart while a card is being authorised. Each journey asserts on
what the customer sees and on what really happened: the checkout's state, the sale in the
database and the PaymentIntent and reader at the (embedded) Stripe emulator.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_support import (
    MINERAL_WATER,
    ORANGE_JUICE,
    SIZES,
    KioskDriver,
    artifact_folder,
    prepared_demo,
    run_kiosk_ui,
)

from kiosk.core.checkout_states import CheckoutState, PaymentPhase
from kiosk.sim.stripe_emulator import StripeEmulator

APPROVED_CARD = "4242424242424242"
WAITING_WORDS = "Tap or insert your card on the reader to your right."
AUTHORISING_WORDS = "Approving your payment"
CHECKING_WORDS = "Checking the last payment..."


@pytest.fixture(params=list(SIZES))
def kiosk_ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk on screen at each supported screen size."""
    yield from run_kiosk_ui(tmp_path, request.node.name, request.param)


@pytest.fixture(params=list(SIZES))
def size_name(request: pytest.FixtureRequest) -> str:
    """Each supported screen size, for a test that starts and stops the kiosk itself."""
    return str(request.param)


# --------------------------------------------------------------------------------- helpers


def emulator_of(ui: KioskDriver) -> StripeEmulator:
    """The embedded Stripe emulator behind the kiosk (once the kiosk has started it)."""
    ui.started()
    emulator = ui.kiosk.stripe_emulator
    assert emulator is not None, "the demo kiosk runs without its embedded Stripe emulator"
    return emulator


def sale_row(data_dir: Path, sale_id: str) -> dict[str, Any]:
    """The sale's row in the kiosk's database, read-only."""
    uri = f"file:{data_dir / 'kiosk.db'}?mode=ro"
    with sqlite3.connect(uri, uri=True) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM sales WHERE id = ?", (sale_id,)).fetchone()
    assert row is not None, f"sale {sale_id} is not in the database"
    return dict(row)


def intents_of(emulator: StripeEmulator, sale_id: str) -> list[dict[str, Any]]:
    """The PaymentIntents Stripe holds for the sale (tied to it by their metadata)."""
    return [
        intent for intent in emulator.payment_intents()
        if (intent.get("metadata") or {}).get("sale_id") == sale_id
    ]


def reader_waits_for_a_card(emulator: StripeEmulator) -> bool:
    """True while the reader's payment action waits for a card (a cart display stays
    ``in_progress`` too, as on Stripe, until the payment replaces it)."""
    action = emulator.readers()[0].get("action")
    return action is not None and action.get("type") == "process_payment_intent" and \
        action.get("status") == "in_progress"


def customer_behaviour(emulator: StripeEmulator) -> str:
    """What the simulated customer at the reader does next (tap, late, never)."""
    return str((emulator.state().get("customer") or {}).get("behaviour"))


def cancel_action_requests(emulator: StripeEmulator) -> int:
    """How many ``cancel_action`` requests reached Stripe and acted."""
    return sum(
        1 for request in emulator.requests()
        if request.path.endswith("/cancel_action") and request.executed
    )


def fill_cart(ui: KioskDriver) -> str:
    """Start a sale with water and orange juice; return its id (the cart is on screen)."""
    ui.wait_for_screen("attract")
    ui.started()
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    ui.scan(ORANGE_JUICE)
    ui.wait_for(lambda: len(ui.app.cart_rows) == 2, "two cart lines")
    sale_id = ui.kiosk.checkout.sale_id
    assert sale_id is not None
    return sale_id


def cart_names(ui: KioskDriver) -> list[str]:
    """The names on the cart lines the customer sees."""
    return [str(row["name"]) for row in ui.app.cart_rows]


def wholly_visible(ui: KioskDriver, text: str) -> bool:
    """True when the label showing exactly ``text`` lies wholly inside the screen area (not
    cut off by the header or the demo panel on a small screen)."""
    manager = ui.app.root.screens
    left, bottom = manager.to_window(manager.x, manager.y)
    right, top = manager.to_window(manager.right, manager.top)
    labels = [
        widget for widget in manager.current_screen.walk(restrict=True)
        if getattr(widget, "text", None) == text
    ]
    assert labels, f"no {text!r} on {ui.screen}"
    for label in labels:
        x, y = label.to_window(label.x, label.y)
        x2, y2 = label.to_window(label.right, label.top)
        if x < left or y < bottom or x2 > right or y2 > top:
            return False
    return True


def pay(ui: KioskDriver) -> None:
    """Tap Pay and wait for the card screen."""
    ui.tap(ui.find("pay_button", "shopping"))
    ui.wait_for_screen("payment")


def wait_until_authorising(ui: KioskDriver) -> None:
    """Wait until the card screen says the card is being approved."""
    ui.wait_for(
        lambda: ui.app.payment_mode == "authorising" and ui.shows(AUTHORISING_WORDS),
        "the authorising words",
    )


# -------------------------------------------------------------------------------- journeys


def test_a_declined_card_is_explained_and_another_card_pays_the_same_payment_intent(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    emulator = emulator_of(ui)
    sale_id = fill_cart(ui)
    ui.tap_text("Card declined")
    ui.wait_for(lambda: ui.app.demo_card == "declined", "the declined demo card chosen")
    ui.screenshot("cart-declined-card-chosen")
    pay(ui)
    ui.wait_for(lambda: ui.app.payment_mode == "declined", "the decline explanation")
    assert ui.screen == "payment"
    assert ui.shows("Payment not completed")
    assert ui.shows("Try another card") and ui.shows("Back to the cart")
    assert wholly_visible(ui, "Amount to pay") and wholly_visible(ui, "Try another card")
    assert ui.kiosk.checkout.state is CheckoutState.SHOPPING
    assert ui.kiosk.checkout.payment_code not in (None, "cancelled")
    ui.screenshot("declined")
    first = intents_of(emulator, sale_id)
    assert len(first) == 1 and first[0]["status"] == "requires_payment_method"

    ui.tap_text("Card OK")
    ui.wait_for(lambda: ui.app.demo_card == "approved", "the approved demo card chosen")
    ui.tap(ui.find("retry_button", "payment"))
    ui.wait_for_screen("paid")
    assert ui.shows("Payment approved")
    ui.screenshot("paid-after-retry")

    assert ui.kiosk.checkout.state is CheckoutState.PAID
    assert sale_row(ui.data_dir, sale_id)["state"] == "paid"
    after = intents_of(emulator, sale_id)
    assert [intent["id"] for intent in after] == [first[0]["id"]]
    assert after[0]["status"] == "succeeded"


def test_back_to_the_cart_during_payment_cancels_the_reader_and_keeps_the_cart(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    emulator = emulator_of(ui)
    sale_id = fill_cart(ui)
    names = cart_names(ui)
    emulator.customer("never")
    pay(ui)
    assert ui.shows(WAITING_WORDS)
    assert wholly_visible(ui, "Amount to pay") and wholly_visible(ui, "Back to the cart")
    ui.wait_for(lambda: reader_waits_for_a_card(emulator), "the reader to wait for a card")
    ui.screenshot("waiting-for-a-card")
    ui.tap(ui.find("back_button", "payment"))
    ui.wait_for_screen("shopping")
    ui.wait_for(lambda: not ui.kiosk.checkout.payment_pending, "the payment to be withdrawn")
    assert cart_names(ui) == names
    assert ui.shows("Pay ")
    assert not ui.shows("no card was presented")  # the customer chose to leave: no scolding
    ui.screenshot("back-at-the-cart")
    assert emulator.readers()[0]["action"] is None  # withdrawn: cancel_action cleared it
    assert cancel_action_requests(emulator) >= 1
    assert emulator.charges() == []

    ui.tap_text("Card OK")  # the customer will tap an approved card this time
    ui.wait_for(lambda: customer_behaviour(emulator) == "tap", "the customer to tap again")
    pay(ui)
    ui.wait_for_screen("paid")
    assert ui.shows("Payment approved")
    ui.screenshot("paid")
    assert sale_row(ui.data_dir, sale_id)["state"] == "paid"
    intents = intents_of(emulator, sale_id)
    assert [intent["status"] for intent in intents] == ["succeeded"]


def test_a_card_wait_without_activity_returns_to_the_cart_and_charges_nothing(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    emulator = emulator_of(ui)
    sale_id = fill_cart(ui)
    names = cart_names(ui)
    emulator.customer("never")
    pay(ui)
    ui.wait_for(lambda: reader_waits_for_a_card(emulator), "the reader to wait for a card")
    ui.screenshot("waiting-for-a-card")
    ui.advance(ui.settings.timeouts.payment_idle_s + 1)
    ui.wait_for_screen("shopping")
    ui.wait_for(lambda: not ui.kiosk.checkout.payment_pending, "the payment to be withdrawn")
    assert ui.kiosk.checkout.state is CheckoutState.SHOPPING
    assert cart_names(ui) == names
    assert not ui.shows("Payment not completed")  # a timeout is not explained as a decline
    assert ui.shows("The card payment was stopped because no card was presented.")
    ui.screenshot("back-at-the-cart")
    assert emulator.readers()[0]["action"] is None  # withdrawn: cancel_action cleared it
    assert emulator.charges() == []
    statuses = [intent["status"] for intent in intents_of(emulator, sale_id)]
    assert statuses in (["requires_payment_method"], ["canceled"]), statuses
    assert sale_row(ui.data_dir, sale_id)["state"] == "open"


def test_an_authorisation_in_flight_completes_the_sale_whatever_the_inactivity(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    emulator = emulator_of(ui)
    sale_id = fill_cart(ui)
    emulator.customer("tap", card=APPROVED_CARD, after_s=0.5, auth_delay_s=3.0)
    pay(ui)
    wait_until_authorising(ui)
    assert ui.kiosk.checkout.payment_phase is PaymentPhase.AUTHORISING
    assert wholly_visible(ui, "Amount to pay") and wholly_visible(ui, ui.app.total_text)
    ui.screenshot("authorising")
    timeouts = ui.settings.timeouts
    far = 10 * (
        timeouts.payment_idle_s + timeouts.idle_prompt_after_s + timeouts.idle_abandon_after_s
        + timeouts.authorisation_wait_s + timeouts.payment_max_s
    )
    ui.advance(far)
    assert ui.screen == "payment"  # no timer fires while a card is being approved
    assert ui.kiosk.checkout.state is CheckoutState.PAYING
    ui.advance(far)
    ui.wait_for_screen("paid")
    assert ui.shows("Payment approved")
    ui.screenshot("paid")
    assert sale_row(ui.data_dir, sale_id)["state"] == "paid"
    assert [intent["status"] for intent in intents_of(emulator, sale_id)] == ["succeeded"]


def test_a_restart_while_a_card_is_authorised_checks_the_payment_then_shows_it_paid(
    tmp_path: Path, request: pytest.FixtureRequest, size_name: str
) -> None:
    data_dir = tmp_path / "kiosk"
    data_dir.mkdir()
    settings, demo = prepared_demo(data_dir)
    shots = artifact_folder(request.node.name)
    ui = KioskDriver(data_dir, settings, size=SIZES[size_name], shots=shots, demo=demo)
    try:
        emulator = emulator_of(ui)
        sale_id = fill_cart(ui)
        total_text = ui.app.total_text
        emulator.customer("tap", card=APPROVED_CARD, after_s=0.5, auth_delay_s=8.0)
        pay(ui)
        wait_until_authorising(ui)
        ui.screenshot("authorising-before-the-stop")
        intents = intents_of(emulator, sale_id)
        assert [intent["status"] for intent in intents] == ["processing"]
        intent_id = intents[0]["id"]
    finally:
        ui.stop()  # the facade closes while the card is being authorised
    assert sale_row(data_dir, sale_id)["state"] != "paid"

    again = KioskDriver(data_dir, settings, size=SIZES[size_name], shots=shots, demo=demo)
    again._shot_number = ui._shot_number  # the same folder: carry on numbering
    try:
        again.wait_for_screen("checking")
        assert again.shows(CHECKING_WORDS)
        again.screenshot("checking-the-last-payment")
        again.started()
        again.wait_for_screen("paid")
        assert again.shows("Payment approved")
        assert again.shows(f"You paid {total_text}.")
        again.screenshot("paid-after-the-restart")
        assert again.app.recovery == ""
        assert again.kiosk.checkout.state is CheckoutState.PAID
        assert again.kiosk.checkout.sale_id == sale_id
        assert sale_row(data_dir, sale_id)["state"] == "paid"
        recovered = intents_of(emulator_of(again), sale_id)
        assert [(intent["id"], intent["status"]) for intent in recovered] == [
            (intent_id, "succeeded")
        ]
        again.tap(again.find("print_button"))
        again.wait_for_screen("thank_you")
        printer = again.kiosk.virtual_printer
        assert printer is not None and printer.wait_for_jobs(1, timeout_s=10), "no receipt"
        again.wait_for_screen("attract")
        assert again.kiosk.checkout.state is CheckoutState.ATTRACT
    finally:
        again.stop()
