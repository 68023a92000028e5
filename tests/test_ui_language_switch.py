"""The top bar's language switch, on the real window at each screen size.

A customer can change language on every customer screen but while a card is being read: the
cart, the help screen and the paid screen change their words, prices and any message on show
at once, and the top bar keeps its layout. The next customer starts in the shop's language,
after a paid sale as after a walk-away.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

# ui_support configures Kivy before anything imports kivy.core.window.
# isort: off
from ui_support import MINERAL_WATER, ORANGE_JUICE, SIZES, KioskDriver, run_kiosk_ui

from kivy.uix.widget import Widget

# isort: on

from kiosk.core.checkout_states import CheckoutState

BAD_CHECK_DIGIT = "4006381333932"
"""Mineral water's barcode with a wrong check digit: the scan is refused with a message."""
TOP_BAR_BUTTONS = ("accessibility_button", "staff_button", "help_button")


@pytest.fixture(params=list(SIZES))
def kiosk_ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk (English and German, English first) at each supported screen size."""
    yield from run_kiosk_ui(tmp_path, request.node.name, request.param)


# --------------------------------------------------------------------------------- helpers


def offered(ui: KioskDriver) -> list[str]:
    """The languages the top bar's switch offers now, as codes (none: the switch is away)."""
    switch = ui.find("language_switch")
    if not switch.buttons:
        assert switch.width == 0, "an empty switch leaves a hole in the top bar"
    return [str(button.code) for button in switch.buttons]


def switch_to(ui: KioskDriver, code: str) -> None:
    """Tap the top bar's button of language ``code`` and wait for the words to change."""
    buttons = [b for b in ui.find("language_switch").buttons if b.code == code]
    assert buttons, f"the top bar does not offer {code!r} on {ui.screen}: {offered(ui)}"
    ui.tap(buttons[0])
    ui.wait_for(lambda: ui.app.language == code, f"the switch to {code!r}")


def assert_top_bar_in_shape(ui: KioskDriver) -> None:
    """The top bar's buttons sit inside it, one line each, at the customer's text size, and
    none covers another."""
    header = ui.find("header")
    small = ui.app.layout == "small"
    assert header.height == pytest.approx(ui.app.touch_dp + ui.app.gap_dp * (0.8 if small else 1))
    buttons = [*ui.find("language_switch").buttons,
               *(ui.find(name) for name in TOP_BAR_BUTTONS)]
    shown = [button for button in buttons if button.width > 0 and button.opacity > 0]
    for button in shown:
        width, height = button.texture_size
        assert height < button.font_size * 1.6, f"{button.text!r} wraps"
        assert width <= button.width, f"{button.text!r} is cut"
        assert button.font_size >= ui.app.small_sp
        left, bottom = button.to_window(button.x, button.y)
        top_left, top_bottom = header.to_window(header.x, header.y)
        assert top_left <= left and left + button.width <= top_left + header.width
        assert top_bottom <= bottom and bottom + button.height <= top_bottom + header.height
    for one, other in itertools.pairwise(shown):
        assert one.to_window(one.right, 0)[0] <= other.to_window(other.x, 0)[0], (
            f"{one.text!r} overlaps {other.text!r}")


def fill_cart(ui: KioskDriver) -> None:
    """Start a sale with water and orange juice (over the card minimum)."""
    ui.wait_for_screen("attract")
    ui.started()
    assert offered(ui) == [], "the attract screen lists the languages in its own body"
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    ui.scan(ORANGE_JUICE)
    ui.wait_for(lambda: len(ui.app.cart_rows) == 2, "two cart lines")


def shown_in(widget: Widget) -> list[str]:
    """The words of every label on show in ``widget``."""
    return [str(w.text) for w in widget.walk(restrict=True)
            if isinstance(getattr(w, "text", None), str) and w.text and w.opacity > 0]


# -------------------------------------------------------------------------------- journeys


def test_switching_to_german_on_the_cart_changes_its_words_prices_and_message_at_once(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    fill_cart(ui)
    ui.scan(BAD_CHECK_DIGIT)
    ui.wait_for(lambda: ui.shows("That barcode could not be read."), "the refused scan")
    assert offered(ui) == ["de"]
    assert_top_bar_in_shape(ui)
    ui.screenshot("cart-english")

    switch_to(ui, "de")
    assert ui.shows("Gesamt") and ui.shows("Hilfe") and ui.shows("2,38\u00a0€ bezahlen")
    assert not ui.shows("Total") and not ui.shows("Pay ")
    assert ui.shows("2 Artikel") and not ui.shows("2 items"), "words with a count follow too"
    assert [row["amount"] for row in ui.app.cart_rows] == ["0,49\u00a0€", "1,89\u00a0€"]
    assert ui.app.total_text == "2,38\u00a0€" and ui.shows("2,38\u00a0€")
    assert ui.app.message == (
        "Der Barcode konnte nicht gelesen werden. Bitte scannen Sie ihn noch einmal."
    ), "the message on show is said again in German"
    assert offered(ui) == ["en"]
    assert_top_bar_in_shape(ui)
    ui.screenshot("cart-german")

    switch_to(ui, "en")
    assert ui.shows("Total") and ui.app.total_text == "€2.38"
    assert ui.app.message.startswith("That barcode could not be read.")


def test_the_help_screen_and_the_paid_screen_change_language_too(kiosk_ui: KioskDriver) -> None:
    ui = kiosk_ui
    fill_cart(ui)
    ui.tap(ui.find("help_button"))
    ui.wait_for_screen("needs_attendant")
    assert ui.shows("Help is on the way") and offered(ui) == ["de"]
    switch_to(ui, "de")
    help_screen = ui.app.root.screens.get_screen("needs_attendant")
    words = shown_in(help_screen)
    assert "Wir kommen gleich zu Ihnen" in words
    assert "Unser Personal ist gerufen und gleich bei Ihnen." in words
    assert "Help is on the way" not in words
    assert_top_bar_in_shape(ui)
    ui.screenshot("help-german")
    ui.tap(ui.find("withdraw_button", "needs_attendant"))  # "Ich brauche keine Hilfe mehr"
    ui.wait_for_screen("shopping")
    assert ui.shows("Gesamt"), "the cart stays German"

    emulator = ui.kiosk.stripe_emulator
    assert emulator is not None
    emulator.customer("tap", after_s=0.3)
    ui.tap(ui.find("pay_button", "shopping"))
    ui.wait_for_screen("paid")
    assert ui.shows("Zahlung erfolgreich") and offered(ui) == ["en"]
    assert_top_bar_in_shape(ui)
    ui.screenshot("paid-german")
    switch_to(ui, "en")
    assert ui.shows("Payment approved") and ui.shows("How would you like your receipt?")
    assert ui.shows("You paid €2.38.")
    ui.screenshot("paid-english")


def test_no_language_switch_while_a_card_is_being_read(kiosk_ui: KioskDriver) -> None:
    ui = kiosk_ui
    fill_cart(ui)
    switch_to(ui, "de")
    emulator = ui.kiosk.stripe_emulator
    assert emulator is not None
    emulator.customer("never")
    ui.tap(ui.find("pay_button", "shopping"))
    ui.wait_for_screen("payment")
    ui.wait_for(lambda: ui.app.payment_mode == "waiting", "the card prompt")
    assert ui.kiosk.checkout.state is CheckoutState.PAYING
    assert offered(ui) == [], "the customer is at the reader"
    assert not any(text in ("English", "Deutsch") for text in ui.texts())
    assert_top_bar_in_shape(ui)
    ui.screenshot("reading-a-card-german")

    ui.tap(ui.find("back_button", "payment"))
    ui.wait_for_screen("shopping")
    ui.wait_for(lambda: not ui.kiosk.checkout.payment_pending, "the payment to be withdrawn")
    assert offered(ui) == ["en"], "back at the cart, the switch is back"
    assert ui.app.language == "de"


def test_the_next_customer_starts_in_the_shops_language_after_a_paid_sale(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    assert ui.app.default_language == "en"
    fill_cart(ui)
    switch_to(ui, "de")
    emulator = ui.kiosk.stripe_emulator
    assert emulator is not None
    emulator.customer("tap", after_s=0.3)
    ui.tap(ui.find("pay_button", "shopping"))
    ui.wait_for_screen("paid")
    ui.tap(ui.find("print_button", "paid"))
    ui.wait_for_screen("thank_you")
    assert ui.shows("Vielen Dank für Ihren Einkauf!"), "the thank-you screen is the customer's"
    assert offered(ui) == ["en"]
    ui.screenshot("thank-you-german")
    ui.wait_for_screen("attract")  # the thank-you screen's time is up
    ui.wait_for(lambda: ui.shows("Scan an item to start."), "English for the next customer")
    assert ui.app.language == "en" and offered(ui) == []


def test_the_next_customer_starts_in_the_shops_language_after_a_walk_away(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    timeouts = ui.settings.timeouts
    fill_cart(ui)
    switch_to(ui, "de")
    ui.advance(timeouts.idle_prompt_after_s + 1)
    ui.wait_for(lambda: ui.kiosk.checkout.state is CheckoutState.IDLE_PROMPT, "the prompt")
    ui.advance(timeouts.idle_abandon_after_s + 1)
    ui.wait_for_screen("attract")
    ui.wait_for(lambda: ui.shows("Scan an item to start."), "English for the next customer")
    assert ui.app.language == "en"
    assert ui.kiosk.checkout.state is CheckoutState.ATTRACT and not ui.app.cart_rows
