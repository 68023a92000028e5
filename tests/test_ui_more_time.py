"""More time on the real touchscreen: an accessibility mode doubles the walk-away time, and the
card screen's timeout warns with "More time", which keeps the sale and the payment going."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

# ui_support configures Kivy before anything imports kivy.core.window.
# isort: off
from ui_support import (
    run_kiosk_with_backoffice,
    MINERAL_WATER,
    ORANGE_JUICE,
    KioskDriver,
    run_kiosk_ui,
)

from kivy.core.window import Window

# isort: on

from kiosk.core.checkout_states import CheckoutState, PaymentPhase
from kiosk.ui.accessibility import Modes
from kiosk.ui.modes_on_screen import apply_modes
from kiosk.ui.timeouts import MODE_STRETCH, warns_after


@pytest.fixture
def kiosk_ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk at 1280x800."""
    yield from run_kiosk_ui(tmp_path, request.node.name, "1280x800")


def over_the_screen(text: str) -> bool:
    """True when a prompt over the screen (a modal view on the window) shows ``text``."""
    return any(
        getattr(widget, "text", None) == text
        for child in Window.children
        for widget in child.walk(restrict=True)
    )


def later(ui: KioskDriver, seconds: float) -> None:
    """Move the facade's clock ``seconds`` on and let the app's once-a-second tick run (it
    passes the customer's modes on to the facade)."""
    ui.clock.skipped += timedelta(seconds=seconds)
    ui.app.timeouts.tick()
    ui.pump(0.05)


def test_in_high_contrast_the_walk_away_prompt_waits_twice_as_long_and_counts_down_longer(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.started()
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    apply_modes(ui.app, Modes(high_contrast=True))
    timeouts = ui.settings.timeouts

    later(ui, timeouts.idle_prompt_after_s + 1)
    assert ui.kiosk.checkout.state is CheckoutState.SHOPPING
    later(ui, timeouts.idle_prompt_after_s)
    ui.wait_for(lambda: ui.kiosk.checkout.state is CheckoutState.IDLE_PROMPT, "the prompt")
    seconds = int(timeouts.idle_abandon_after_s * MODE_STRETCH)
    assert ui.app.timeouts.walk_away_s() == seconds
    shown = int(ui.app.idle_countdown)  # the app's real one-second tick may have run once
    assert seconds - 1 <= shown <= seconds and shown > timeouts.idle_abandon_after_s
    warning = ui.app.timeouts.warning
    assert warning is not None and warning.kind == "idle"
    assert warning.text == f"Your cart will be emptied in {shown} seconds."
    assert over_the_screen(warning.text)
    ui.screenshot("walk-away-in-high-contrast")


def test_the_card_wait_warns_and_more_time_keeps_the_sale_and_the_payment(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.started()
    emulator = ui.kiosk.stripe_emulator
    assert emulator is not None
    emulator.customer("never")
    monotonic = [1000.0]
    ui.app.timeouts.watch.now = lambda: monotonic[0]  # the screen's count, moved by hand
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    ui.scan(ORANGE_JUICE)  # above the card minimum
    ui.wait_for(lambda: len(ui.app.cart_rows) == 2, "two cart lines")
    sale_id = ui.kiosk.checkout.sale_id
    ui.tap(ui.find("pay_button", "shopping"))
    ui.wait_for(
        lambda: ui.kiosk.checkout.payment_phase is PaymentPhase.WAITING_FOR_CARD,
        "the reader to wait for a card",
    )
    wait_s = ui.settings.timeouts.payment_idle_s
    assert ui.app.timeouts.warning is None

    monotonic[0] += warns_after(wait_s) + 1
    later(ui, warns_after(wait_s) + 1)
    prompt = ui.app.timeouts.prompt
    ui.wait_for(lambda: prompt is not None and prompt.parent is not None, "the warning")
    assert prompt is not None
    left = round(wait_s - warns_after(wait_s) - 1)
    text = f"No card yet: the payment will be cancelled in {left} seconds."
    assert ui.app.timeouts.warning.text == text
    assert over_the_screen(text) and over_the_screen("Do you need more time?")
    assert prompt.ids.more_time_button.text == "More time"
    ui.screenshot("card-wait-warning")

    ui.tap(prompt.ids.more_time_button)
    ui.wait_for(lambda: prompt.parent is None, "the warning to close")
    assert ui.app.timeouts.warning is None
    later(ui, wait_s - 5)  # past the first wait's end: the wait started again at the tap
    assert ui.screen == "payment"
    assert ui.kiosk.checkout.state is CheckoutState.PAYING
    assert ui.kiosk.checkout.sale_id == sale_id
    ui.screenshot("still-waiting-for-a-card")
    later(ui, 10)
    ui.wait_for_screen("shopping")  # a timeout without "More time" still withdraws it
    assert ui.kiosk.checkout.sale_id == sale_id


@pytest.fixture
def with_backoffice(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk at 1280x800 with its back office (QR code e-receipts)."""
    yield from run_kiosk_with_backoffice(tmp_path, request.node.name)


def test_the_receipt_choice_and_the_qr_code_warn_and_more_time_keeps_each_on_screen(
    with_backoffice: KioskDriver,
) -> None:
    ui = with_backoffice
    ui.started()
    emulator = ui.kiosk.stripe_emulator
    assert emulator is not None
    emulator.customer("tap", after_s=0.3)
    monotonic = [1000.0]
    watch = ui.app.timeouts.watch
    watch.now = lambda: monotonic[0]
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    ui.scan(ORANGE_JUICE)
    ui.wait_for(lambda: len(ui.app.cart_rows) == 2, "two cart lines")
    ui.tap(ui.find("pay_button", "shopping"))
    ui.wait_for_screen("paid")
    choice_s = ui.settings.timeouts.receipt_choice_s

    monotonic[0] += warns_after(choice_s) + 1
    later(ui, warns_after(choice_s) + 1)
    prompt = ui.app.timeouts.prompt
    ui.wait_for(lambda: prompt is not None and prompt.parent is not None, "the warning")
    assert prompt is not None
    left = round(choice_s - warns_after(choice_s) - 1)
    assert over_the_screen(f"Your receipt choice closes in {left} seconds.")
    ui.screenshot("receipt-choice-warning")
    ui.tap(prompt.ids.more_time_button)
    ui.wait_for(lambda: prompt.parent is None, "the warning to close")
    later(ui, choice_s - 2)  # past the first choice's end: its time started again
    assert ui.screen == "paid"

    ui.tap(ui.find("qr_button", "paid"))
    ui.wait_for(lambda: ui.screen == "thank_you" and bool(ui.app.qr_source), "the QR code")
    assert watch.kind == "qr"
    monotonic[0] += warns_after(watch.total_s) + 1
    ui.app.timeouts.update()
    ui.wait_for(lambda: prompt.parent is not None, "the QR code's warning")
    assert ui.app.timeouts.warning.text.startswith("The QR code goes away in ")
    ui.screenshot("qr-code-warning")
    ui.tap(prompt.ids.more_time_button)
    ui.wait_for(lambda: prompt.parent is None, "the warning to close")
    assert ui.screen == "thank_you" and ui.app.qr_source
    assert watch.warning() is None  # counted from the start again
