"""The customer's session on the touchscreen: inactivity, status banners and language.

An idle customer is asked "Are you still there?" and the cart is abandoned when nobody
answers (the facade's clock is moved, nothing waits); an unplugged scanner and unavailable
card payments show their banners; a language chosen on the attract screen lasts one customer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from kivy.uix.widget import Widget
from ui_support import (
    MINERAL_WATER,
    SIZES,
    KioskDriver,
    artifact_folder,
    prepared_demo,
    run_kiosk_ui,
    texts_in,
)

from kiosk.core.checkout_states import CheckoutState
from kiosk.ui.widgets.start_over import START_OVER_MIN_GAP_S, open_question

SCANNER_BANNER = "The scanner is not connected. Staff has been told."
PAYMENTS_BANNER = (
    "Card payments are not available at this checkout right now. Please use a staffed till."
)


@pytest.fixture(params=list(SIZES))
def kiosk_ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk on screen at each supported screen size."""
    yield from run_kiosk_ui(tmp_path, request.node.name, request.param)


@pytest.fixture(params=list(SIZES))
def kiosk_ui_without_stripe_key(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[KioskDriver]:
    """The demo kiosk set up for real Stripe but with no secret key: no card payments."""
    monkeypatch.delenv("KIOSK_STRIPE_API_KEY", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    data_dir = tmp_path / "kiosk"
    data_dir.mkdir()
    settings, _demo = prepared_demo(data_dir)
    stripe = replace(settings.stripe, api_base="https://api.stripe.com", reader_id="tmr_configured")
    yield from run_kiosk_ui(
        tmp_path, request.node.name, request.param,
        settings=replace(settings, stripe=stripe),
    )


def idle_prompt(ui: KioskDriver) -> Widget:
    """The "Are you still there?" prompt (a modal view over the window, not in the root)."""
    prompt = ui.app._idle_prompt
    assert prompt is not None
    return prompt


def prompt_is_open(ui: KioskDriver) -> bool:
    """True while the inactivity prompt is on screen."""
    return idle_prompt(ui).get_root_window() is not None


def prompt_texts(ui: KioskDriver) -> list[str]:
    """The words on the inactivity prompt."""
    return [
        str(widget.text) for widget in idle_prompt(ui).walk(restrict=True)
        if isinstance(getattr(widget, "text", None), str) and widget.text
    ]


def read_database(ui: KioskDriver, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows from the kiosk's database, opened read-only."""
    uri = f"file:{ui.data_dir / 'kiosk.db'}?mode=ro"
    connection = sqlite3.connect(uri, uri=True)
    try:
        return connection.execute(sql, args).fetchall()
    finally:
        connection.close()


def test_an_idle_customer_is_asked_if_still_there_and_the_cart_is_abandoned_without_answer(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    timeouts = ui.settings.timeouts
    ui.wait_for_screen("attract")
    ui.started()
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    ui.wait_for(lambda: len(ui.app.cart_rows) == 1, "the water in the cart")
    sale_id = ui.kiosk.checkout.sale_id

    ui.advance(timeouts.idle_prompt_after_s + 1)
    ui.wait_for(lambda: prompt_is_open(ui), "the inactivity prompt")
    assert ui.kiosk.checkout.state is CheckoutState.IDLE_PROMPT
    assert "Are you still there?" in prompt_texts(ui)
    countdown = [text for text in prompt_texts(ui) if text.startswith("Your cart will be emptied")]
    assert countdown, prompt_texts(ui)
    seconds_left = int(countdown[0].split(" in ")[1].split()[0])
    assert 0 < seconds_left <= timeouts.idle_abandon_after_s
    ui.screenshot("still-there")

    ui.tap(idle_prompt(ui).ids.continue_button)
    ui.wait_for(lambda: not prompt_is_open(ui), "the prompt to close")
    assert ui.kiosk.checkout.state is CheckoutState.SHOPPING
    assert ui.screen == "shopping"
    assert [row["name"] for row in ui.app.cart_rows] == ["Mineral water still 1.5 l"]
    assert ui.app.message == "", "the tap on the prompt also pressed what lies beneath it"
    ui.screenshot("continued")

    ui.advance(timeouts.idle_prompt_after_s + 1)
    ui.wait_for(lambda: prompt_is_open(ui), "the inactivity prompt again")
    ui.advance(timeouts.idle_abandon_after_s + 1)
    ui.wait_for_screen("attract")
    ui.wait_for(lambda: not prompt_is_open(ui), "the prompt to close with the sale")
    ui.screenshot("abandoned")
    assert ui.kiosk.checkout.state is CheckoutState.ATTRACT
    assert not ui.kiosk.checkout.cart.lines
    assert ui.app.cart_rows == []
    ui.wait_for(
        lambda: read_database(ui, "SELECT state FROM sales WHERE id = ?", sale_id)
        == [("abandoned",)],
        "the sale recorded as abandoned",
    )


def test_an_unplugged_scanner_shows_a_banner_until_it_is_plugged_back(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    assert not ui.shows(SCANNER_BANNER)
    scanner = ui.kiosk.virtual_scanner
    assert scanner is not None

    scanner.unplug()
    ui.wait_for(lambda: ui.shows(SCANNER_BANNER), "the scanner banner")
    assert ui.kiosk.scanner_state.value == "disconnected"
    ui.screenshot("scanner-unplugged")

    scanner.replug()
    ui.wait_for(lambda: not ui.shows(SCANNER_BANNER), "the scanner banner to go")
    assert ui.kiosk.scanner_state.value == "connected"
    ui.screenshot("scanner-back")
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    assert [row["name"] for row in ui.app.cart_rows] == ["Mineral water still 1.5 l"]


def test_unavailable_card_payments_are_announced_on_the_attract_screen_before_any_scan(
    kiosk_ui_without_stripe_key: KioskDriver,
) -> None:
    ui = kiosk_ui_without_stripe_key
    ui.wait_for_screen("attract")
    ui.started()
    ui.wait_for(lambda: ui.shows(PAYMENTS_BANNER), "the card payments banner")
    assert ui.screen == "attract"
    assert not ui.kiosk.checkout.cart.lines
    assert ui.kiosk.payments_available == (False, "no_stripe_key")
    ui.screenshot("payments-unavailable")


def test_a_customer_who_chooses_german_sees_german_words_and_prices_for_one_sale_only(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    assert ui.shows("Scan an item to start.")
    ui.tap_text("Deutsch")
    ui.wait_for(
        lambda: ui.shows("Scannen Sie einen Artikel, um zu beginnen."), "the German words"
    )
    assert ui.shows("Sprache")
    assert not ui.shows("Scan an item to start.")
    ui.screenshot("attract-german")

    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    ui.wait_for(lambda: len(ui.app.cart_rows) == 1, "the water in the cart")
    assert ui.app.cart_rows[0]["amount"] == "0,49\u00a0€"
    assert ui.app.total_text == "0,49\u00a0€"
    assert ui.shows("0,49\u00a0€")
    assert ui.shows("Gesamt")
    assert ui.kiosk.checkout.cart.lines[0].unit_price_minor == 49
    sale_id = ui.kiosk.checkout.sale_id
    ui.wait_for(
        lambda: read_database(ui, "SELECT currency FROM sales WHERE id = ?", sale_id)
        == [("EUR",)],
        "the sale saved in euro",
    )
    ui.screenshot("cart-german")

    ui.tap(ui.find("start_over", "shopping"))
    question = open_question()
    assert question is not None
    assert "Warenkorb leeren und neu beginnen?" in texts_in(question)
    ui.pump(START_OVER_MIN_GAP_S)  # an answer, not a double tap
    ui.tap(question.ids.confirm_start_over_button)  # "Ja, neu beginnen"
    ui.wait_for_screen("attract")
    ui.wait_for(lambda: ui.shows("Scan an item to start."), "English for the next customer")
    assert ui.app.language == "en"
    assert not ui.shows("Scannen Sie einen Artikel, um zu beginnen.")
    ui.screenshot("attract-english-again")
    ui.wait_for(
        lambda: read_database(ui, "SELECT state FROM sales WHERE id = ?", sale_id)
        == [("abandoned",)],
        "the cancelled sale recorded as abandoned",
    )
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    ui.wait_for(lambda: len(ui.app.cart_rows) == 1, "the next customer's water")
    assert ui.app.total_text == "€0.49"


def test_a_damaged_database_puts_the_kiosk_out_of_order_and_the_window_keeps_running(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    data_dir = tmp_path / "kiosk"
    data_dir.mkdir()
    settings, _demo = prepared_demo(data_dir)
    database = data_dir / "kiosk.db"
    damaged = bytearray(database.read_bytes())
    page = 4096
    assert len(damaged) > 4 * page
    damaged[2 * page : 4 * page] = b"\xde\xad\xbe\xef" * page  # pages of the catalog
    database.write_bytes(bytes(damaged))
    ui = KioskDriver(
        data_dir, settings, size=SIZES["1280x800"],
        shots=artifact_folder(request.node.name), demo=None,
    )
    try:
        ui.wait_for_screen("closed")
        assert ui.app.start_failed
        assert ui.shows("This checkout is out of order")
        assert ui.shows("Please use another checkout. Staff has been told.")
        ui.screenshot("out-of-order")
        ui.kiosk.scan(MINERAL_WATER.encode())  # a scan changes nothing and raises nothing
        ui.frames(5)
        assert ui.screen == "closed"
        assert ui.kiosk.checkout.state is CheckoutState.ATTRACT
    finally:
        ui.stop()
