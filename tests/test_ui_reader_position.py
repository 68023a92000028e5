"""The card screen shows where the reader stands (``[display] reader_position``), on the window.

For each position, at each screen size: while the reader waits for a card, an arrow beside
the contactless cue (left or right of it; a down arrow right of it for a reader below the
screen) points at the reader, and the headline names the place, in English and, after the
customer switched language in the top bar at the cart, in German. Nothing of it is cut off
or covers the words around it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

# ui_support configures Kivy before anything imports kivy.core.window.
# isort: off
from ui_support import MINERAL_WATER, ORANGE_JUICE, SIZES, KioskDriver, run_kiosk_ui

from kivy.uix.widget import Widget

# isort: on

from kiosk.config import DisplaySettings, demo_settings
from kiosk.sim.stripe_emulator import StripeEmulator
from kiosk.ui.customer_view import READER_ARROWS, READER_POSITIONS
from kiosk.ui.icons import icon

WORDS = {
    ("left", "en"): "Tap or insert your card on the reader to your left.",
    ("right", "en"): "Tap or insert your card on the reader to your right.",
    ("below", "en"): "Tap or insert your card on the reader below the screen.",
    ("left", "de"): "Halten Sie Ihre Karte an das Kartenterminal links von Ihnen, oder "
                    "stecken Sie sie ein.",
    ("right", "de"): "Halten Sie Ihre Karte an das Kartenterminal rechts von Ihnen, oder "
                     "stecken Sie sie ein.",
    ("below", "de"): "Halten Sie Ihre Karte an das Kartenterminal unter dem Bildschirm, oder "
                     "stecken Sie sie ein.",
}
"""The card screen's headline for each reader position and language."""
CASES = [(position, size) for position in READER_POSITIONS for size in SIZES]


@pytest.fixture(params=CASES, ids=[f"{position}-{size}" for position, size in CASES])
def reader_at(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[KioskDriver, str]]:
    """The demo kiosk at a screen size, set up with its reader at one position."""
    position, size = request.param
    settings = demo_settings(tmp_path / "kiosk")
    settings = replace(settings, display=DisplaySettings(reader_position=position))
    for ui in run_kiosk_ui(tmp_path, request.node.name, size, settings=settings):
        yield ui, position


def box(widget: Widget) -> tuple[float, float, float, float]:
    """``widget``'s left, bottom, right and top in window coordinates."""
    left, bottom = widget.to_window(widget.x, widget.y)
    return left, bottom, left + widget.width, bottom + widget.height


def overlaps(one: Widget, other: Widget) -> bool:
    """True when the two widgets' boxes share some area."""
    a, b = box(one), box(other)
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def wait_for_the_card(ui: KioskDriver, emulator: StripeEmulator) -> None:
    """Tap Pay and wait until the reader waits for a card the customer never taps."""
    emulator.customer("never")
    ui.tap(ui.find("pay_button", "shopping"))
    ui.wait_for_screen("payment")
    ui.wait_for(lambda: ui.app.payment_mode == "waiting", "the card prompt")


def back_to_the_cart(ui: KioskDriver) -> None:
    """Leave the card screen; the reader's wait is withdrawn."""
    ui.tap(ui.find("back_button", "payment"))
    ui.wait_for_screen("shopping")
    ui.wait_for(lambda: not ui.kiosk.checkout.payment_pending, "the payment to be withdrawn")


def assert_points_at_the_reader(ui: KioskDriver, position: str, words: str) -> None:
    """The arrow beside the cue points at ``position``, the headline says ``words``, and the
    amount, cue, arrow and words fit the screen without covering each other."""
    cue = ui.find("contactless_cue", "payment")
    arrow = ui.find("reader_arrow", "payment")
    status = ui.find("status", "payment")
    assert arrow.text == icon(READER_ARROWS[position])
    assert cue.opacity == arrow.opacity == 1 and cue.text == icon("contactless")
    cue_x, cue_y = cue.to_window(*cue.center)
    arrow_x, arrow_y = arrow.to_window(*arrow.center)
    assert abs(arrow_y - cue_y) < 1, "not beside the cue"
    side = -1 if position == "left" else 1  # a reader below: the down arrow right of the cue
    assert (arrow_x - cue_x) * side >= cue.width, f"not on the {position} side of the cue"
    manager = ui.app.root.screens
    area = box(manager)
    shown = [widget for widget in manager.current_screen.walk(restrict=True)
             if widget.opacity > 0 and widget.height > 0 and getattr(widget, "text", "")]
    for widget in shown:  # the amount at the top, the cue, the words, "Back to the cart"
        left, bottom, right, top = box(widget)
        assert area[0] <= left and right <= area[2], f"{widget.text!r} is cut at a side"
        assert area[1] <= bottom + 1 and top <= area[3] + 1, f"{widget.text!r} is cut off"
    assert {cue, arrow, status} <= set(shown)
    for icon_widget in (cue, arrow):
        assert not overlaps(icon_widget, status), "the cue covers the words"
    assert not overlaps(cue, arrow)
    assert status.text == words and ui.shows(words)
    assert status.texture_size[1] <= status.height + 1, "the headline is cut"
    assert status.font_size >= ui.app.small_sp
    back = ui.find("back_button", "payment")  # before any decline it stands alone, centred
    back_left, _, back_right, _ = box(back)
    assert abs((back_left + back_right) / 2 - (area[0] + area[2]) / 2) <= 2, "Back is off-centre"


def test_the_card_screen_points_at_the_reader_and_names_where_it_stands(
    reader_at: tuple[KioskDriver, str],
) -> None:
    ui, position = reader_at
    ui.wait_for_screen("attract")
    ui.started()
    emulator = ui.kiosk.stripe_emulator
    assert emulator is not None
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    ui.scan(ORANGE_JUICE)  # over the card minimum
    ui.wait_for(lambda: len(ui.app.cart_rows) == 2, "two cart lines")

    wait_for_the_card(ui, emulator)
    assert_points_at_the_reader(ui, position, WORDS[position, "en"])
    ui.screenshot(f"reader-{position}-english")
    back_to_the_cart(ui)

    switch = ui.find("language_switch")
    assert [button.code for button in switch.buttons] == ["de"]
    ui.tap(switch.buttons[0])
    ui.wait_for(lambda: ui.app.language == "de", "German")
    wait_for_the_card(ui, emulator)
    assert_points_at_the_reader(ui, position, WORDS[position, "de"])
    assert ui.shows("Folgen Sie den Anweisungen auf dem Kartenterminal.")
    ui.screenshot(f"reader-{position}-german")
    back_to_the_cart(ui)
