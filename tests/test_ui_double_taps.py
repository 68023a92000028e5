"""Hurried fingers on the touchscreen: double taps and taps on a screen that just changed
never start a second payment, skip a choice, or empty a cart unasked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kivy.tests.common import UnitTestTouch
from ui_support import MINERAL_WATER, ORANGE_JUICE, KioskDriver, run_kiosk_ui, texts_in

from kiosk.core.checkout_states import CheckoutState
from kiosk.ui.widgets.start_over import open_question


@pytest.fixture
def ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk at 1280x800 (or the size a test asks for), started, with two items in
    the cart."""
    session = run_kiosk_ui(tmp_path, request.node.name, getattr(request, "param", "1280x800"))
    driver = next(session)
    driver.wait_for_screen("attract")
    driver.started()
    driver.scan(MINERAL_WATER)
    driver.wait_for_screen("shopping")
    driver.scan(ORANGE_JUICE)
    driver.wait_for(lambda: len(driver.app.cart_rows) == 2, "two cart lines")
    yield driver
    session.close()  # stops the app (the generator's finally)


def second_tap_at(ui: KioskDriver, x: float, y: float) -> None:
    """A finger landing again where the first tap was, the moment the screen changed."""
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    touch.touch_up()
    ui.frames(3)


@pytest.mark.parametrize("ui", ["1280x800", "800x480"], indirect=True)
def test_a_double_tap_on_try_another_card_does_not_cancel_the_new_payment(
    ui: KioskDriver,
) -> None:
    ui.kiosk.set_demo_card("declined")
    ui.tap(ui.find("pay_button", "shopping"))
    ui.wait_for(lambda: ui.app.payment_mode == "declined", "the decline explanation")
    ui.kiosk.set_demo_card("approved")
    retry = ui.find("retry_button", "payment")
    x, y = retry.to_window(*retry.center)
    ui.tap(retry)
    ui.wait_for(lambda: ui.app.payment_mode == "waiting", "the card wait")
    ui.frames(2)
    back = ui.find("back_button", "payment")
    assert not back.collide_point(*back.to_widget(x, y)), "Back to the cart moved under the finger"
    second_tap_at(ui, x, y)
    assert ui.kiosk.checkout.state is CheckoutState.PAYING
    ui.wait_for_screen("paid")


def test_pay_waits_until_the_last_card_wait_is_cancelled(ui: KioskDriver) -> None:
    ui.kiosk.stripe_emulator.customer("never")  # type: ignore[union-attr]
    ui.tap(ui.find("pay_button", "shopping"))
    ui.wait_for(lambda: ui.app.payment_mode == "waiting", "the card wait")
    ui.tap(ui.find("back_button", "payment"))
    ui.wait_for_screen("shopping")
    pay_button = ui.find("pay_button", "shopping")
    assert ui.kiosk.checkout.payment_pending == pay_button.disabled
    ui.wait_for(lambda: not ui.kiosk.checkout.payment_pending, "the reader to be cancelled")
    ui.wait_for(lambda: not pay_button.disabled, "Pay to be offered again")


def test_a_double_tap_on_start_over_asks_and_keeps_the_cart(ui: KioskDriver) -> None:
    start_over = ui.find("start_over", "shopping")
    x, y = start_over.to_window(*start_over.center)
    ui.tap(start_over)
    question = open_question()
    assert question is not None
    yes = question.ids.confirm_start_over_button
    second_tap_at(ui, *yes.to_window(*yes.center))  # even right on "Yes, start over"
    second_tap_at(ui, x, y)
    assert ui.screen == "shopping"
    assert len(ui.app.cart_rows) == 2
    assert open_question() is question
    assert "Empty the cart and start over?" in texts_in(question)


def test_a_double_tap_on_the_receipt_choice_still_shows_the_thank_you_screen(
    ui: KioskDriver,
) -> None:
    ui.tap(ui.find("pay_button", "shopping"))
    ui.wait_for_screen("paid")
    no_receipt = ui.find("no_receipt_button", "paid")
    x, y = no_receipt.to_window(*no_receipt.center)
    ui.tap(no_receipt)
    ui.wait_for_screen("thank_you")
    second_tap_at(ui, x, y)
    ui.pump(0.3)
    assert ui.screen == "thank_you"


def test_a_staff_answer_is_not_shown_at_the_next_call(ui: KioskDriver) -> None:
    ui.tap(ui.find("help_button"))
    ui.wait_for_screen("needs_attendant")
    ui.kiosk.attend(999_999, "000000")
    ui.wait_for(lambda: ui.app.staff_message != "", "the answer to a wrong staff number")
    ui.tap_text("I no longer need help")
    ui.wait_for_screen("shopping")
    ui.tap(ui.find("help_button"))
    ui.wait_for_screen("needs_attendant")
    assert ui.app.staff_message == ""
