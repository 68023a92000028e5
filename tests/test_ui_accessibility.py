"""The accessibility button and high contrast, on the real window at each screen size.

A customer opens the accessibility panel from the top bar with a touch, turns high contrast
on, and the whole window changes palette at once; the screens stay readable and their buttons
big enough. The panel says each mode's state in words. The next customer finds the shop's
defaults: after a paid sale, after a walk-away.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# ui_support configures Kivy before anything imports kivy.core.window.
# isort: off
from ui_support import MINERAL_WATER, ORANGE_JUICE, SIZES, KioskDriver, run_kiosk_ui, texts_in
from ui_support import open_accessibility_panel as open_panel

from kivy.core.window import Window
from kivy.metrics import sp
from kivy.uix.widget import Widget
from test_ui_layout import small_buttons, small_text, visible_widgets

# isort: on

from kiosk.core.checkout_states import CheckoutState
from kiosk.ui import theme
from kiosk.ui.accessibility import MODE_ROWS, SHOP_DEFAULTS, Modes, colours_of
from kiosk.ui.customer_view import LANGUAGE_RESET_S, THANK_YOU_TOUCH_GRACE_S


@pytest.fixture(params=list(SIZES))
def kiosk_ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk at each supported screen size."""
    yield from run_kiosk_ui(tmp_path, request.node.name, request.param)


NORMAL = colours_of(SHOP_DEFAULTS)
HIGH_CONTRAST = colours_of(Modes(high_contrast=True))


def turn_on_high_contrast(ui: KioskDriver) -> None:
    """Open the panel, turn high contrast on, close the panel: all by touch."""
    panel = open_panel(ui)
    switch = panel.switches[0].ids.switch
    assert panel.switches[0].mode == "high_contrast"
    assert "Off" in switch.text
    ui.tap(switch)
    ui.wait_for(lambda: dict(ui.app.colours) == HIGH_CONTRAST, "the high-contrast palette")
    assert "On" in switch.text, "the switch says its state in words"
    ui.screenshot("panel-high-contrast-on")
    ui.tap(panel.ids.done_button)
    ui.wait_for(lambda: panel.parent is None, "the panel to close")


def layout_problems(ui: KioskDriver, name: str) -> list[str]:
    """Words smaller than a customer's minimum (``theme.SMALL_SP``, scaled with the screen as
    the app scales its text) and enabled buttons under 48 dp, in the window and any panel over
    it (the checks of ``test_ui_layout``; the demo panel is a developer aid, left out)."""
    widgets = visible_widgets()
    minimum = sp(theme.SMALL_SP) * ui.app.scale
    return [f"{name}: small text: {w}" for w in small_text(widgets, minimum)] + [
        f"{name}: small button: {w}" for w in small_buttons(widgets)
    ]


def cart_buttons(ui: KioskDriver, widget_id: str) -> list[Widget]:
    """The cart rows' buttons of kv id ``widget_id`` (one per row on show)."""
    rows = ui.find("cart", "shopping").children[0].children
    return [row.ids[widget_id] for row in rows]


def button_of(ui: KioskDriver) -> Widget:
    """The top bar's accessibility button."""
    return ui.find("accessibility_button")


def test_high_contrast_from_the_cart_changes_the_whole_window_and_ends_with_the_sale(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    assert button_of(ui).width > 0, "the attract screen offers accessibility"
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    ui.scan(ORANGE_JUICE)
    ui.wait_for(lambda: len(ui.app.cart_rows) == 2, "two cart lines")
    assert dict(ui.app.colours) == NORMAL
    panel = open_panel(ui)
    words = texts_in(panel)
    assert "Accessibility" in words and "High contrast" in words
    assert [switch.mode for switch in panel.switches] == [row.mode for row in MODE_ROWS]
    ui.screenshot("panel-normal")
    problems = layout_problems(ui, "panel")
    panel.close()
    ui.frames(2)

    turn_on_high_contrast(ui)
    assert ui.app.modes == Modes(high_contrast=True)
    assert tuple(Window.clearcolor) == HIGH_CONTRAST["background"]
    pay_button, remove_button = ui.find("pay_button"), cart_buttons(ui, "remove_button")[0]
    assert list(pay_button.fill) == list(HIGH_CONTRAST["accent"]), "buttons follow the palette"
    assert list(pay_button.color) == list(HIGH_CONTRAST["on_accent"])
    assert list(remove_button.fill) == list(HIGH_CONTRAST["surface_alt"])
    assert list(remove_button.color) == list(HIGH_CONTRAST["text"])
    ui.screenshot("shopping-high-contrast")
    problems += layout_problems(ui, "shopping")

    emulator = ui.kiosk.stripe_emulator
    assert emulator is not None
    emulator.customer("tap", after_s=1.5)
    ui.app.thank_you_s = 60.0
    ui.tap(ui.find("pay_button"))
    ui.wait_for_screen("payment")
    assert button_of(ui).width == 0 and button_of(ui).disabled, "hidden while a card is read"
    ui.screenshot("payment-high-contrast")
    problems += layout_problems(ui, "payment")
    ui.wait_for_screen("paid")
    assert dict(ui.app.colours) == HIGH_CONTRAST, "the sale keeps its modes until it ends"
    ui.screenshot("paid-high-contrast")
    problems += layout_problems(ui, "paid")
    ui.tap(ui.find("print_button", "paid"))
    ui.wait_for_screen("thank_you")
    assert dict(ui.app.colours) == HIGH_CONTRAST
    ui.pump(THANK_YOU_TOUCH_GRACE_S)  # "Done" answers once a double tap's moment is over
    ui.tap(ui.find("done_button", "thank_you"))
    ui.wait_for_screen("attract")
    assert ui.app.modes == SHOP_DEFAULTS
    assert dict(ui.app.colours) == NORMAL, "the next customer finds the shop's palette"
    assert tuple(Window.clearcolor) == NORMAL["background"]
    assert not problems, "\n".join(problems)


def test_a_customer_who_walks_away_leaves_the_next_one_the_shops_palette(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    turn_on_high_contrast(ui)
    timeouts = ui.settings.timeouts
    ui.advance(timeouts.idle_prompt_after_s + 1)
    ui.advance(timeouts.idle_abandon_after_s + 1)
    ui.wait_for_screen("attract")
    assert ui.kiosk.checkout.state is CheckoutState.ATTRACT
    ui.wait_for(lambda: dict(ui.app.colours) == NORMAL, "the shop's palette back")
    assert ui.app.modes == SHOP_DEFAULTS


def test_high_contrast_left_on_the_attract_screen_expires_like_a_language(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    turn_on_high_contrast(ui)
    ui.pump(1.2)  # a tick or so: a minute has not passed, the mode stays
    assert dict(ui.app.colours) == HIGH_CONTRAST
    ui.app._touched_at -= LANGUAGE_RESET_S  # nobody touched the screen for a minute
    ui.wait_for(lambda: dict(ui.app.colours) == NORMAL, "the shop's palette back")
    assert ui.app.modes == SHOP_DEFAULTS


def test_the_panel_closes_when_the_screen_changes_and_a_touch_beside_it_closes_it(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    panel = open_panel(ui)
    ui.scan(MINERAL_WATER)  # a scan while it is open: the cart shows, the panel goes
    ui.wait_for_screen("shopping")
    ui.wait_for(lambda: panel.parent is None, "the panel to close with its screen")
    panel = open_panel(ui)
    ui.tap(ui.find("header"))  # the top bar, beside the panel
    ui.wait_for(lambda: panel.parent is None, "a touch beside the panel to close it")
    assert dict(ui.app.colours) == NORMAL, "closing changes no mode"


def test_in_german_the_button_and_the_panel_speak_german_and_fit(kiosk_ui: KioskDriver) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    ui.tap_text("Deutsch")
    ui.wait_for(lambda: ui.app.language == "de", "German")
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    button = button_of(ui)
    assert "Bedienhilfen" in button.text
    width, height = button.texture_size
    assert height < button.font_size * 1.6 and width <= button.width, "one line, not cut"
    panel = open_panel(ui)
    words = texts_in(panel)
    assert {"Bedienhilfen", "Hoher Kontrast", "Aus", "Fertig"} <= set(words), words
    ui.tap(panel.switches[0].ids.switch)
    ui.wait_for(lambda: dict(ui.app.colours) == HIGH_CONTRAST, "the high-contrast palette")
    assert any("Ein" in word for word in texts_in(panel))
    problems = layout_problems(ui, "panel")
    ui.screenshot("panel-german-high-contrast")
    assert not problems, "\n".join(problems)
