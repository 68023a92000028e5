"""Every customer screen at every supported size, in both languages and in each text mode:
nothing cut, nothing overlapping, nothing too small to read or to touch.

One kiosk per screen size (``ui_support.SUPPORTED_SIZES``: 800x480, 1024x600, 1280x800,
1920x1080 and 1080x1920 portrait) is taken through a real sale with a 9-item basket (scans
on the virtual scanner, the Stripe emulator's reader); on each customer screen
(``kiosk.ui.navigation.CUSTOMER_SCREENS``) the language and the accessibility modes are
switched in place and each combination is checked once it has settled:

- every label's rendered text fits its widget (``texture_size`` within ``size``: a text
  shortened with a trailing ellipsis fits by construction);
- no two visible labels or buttons overlap, and none is pushed off the window: a label or a
  button is one unit with everything inside it (a button's words are its content), and what
  a scrolling list clips away is not on screen;
- customer text is at least 20 px, a price or total standing alone at least 30 px
  (``kiosk.ui.sizing``; 1.5 times both in larger text);
- every enabled button is at least 9 mm on each side on the size's panel;
- in reach mode every control but the cart lines' own buttons lies in the lower half.

The accessibility panel (where the modes are turned on) is checked the same way, open over
the cart (only its own labels and buttons then: it covers the screen).

Supported combinations, all checked here at all five sizes in English and German: normal,
larger text, high contrast, reach mode, and larger text with reach mode. High contrast with
larger text or reach changes colours only, so it lays out as they do. The screens are
looked at as a shop runs them (no demo panel: the demo's strip is a developer aid).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# ui_support configures Kivy before anything imports kivy.core.window.
# isort: off
from ui_support import (
    show_checking_and_closed,
    MINERAL_WATER,
    SUPPORTED_SIZES,
    KioskDriver,
    artifact_folder,
    barcode_of,
    prepared_demo,
)

from kivy.core.window import Window
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label
from kivy.uix.modalview import ModalView
from kivy.uix.stencilview import StencilView
from kivy.uix.widget import Widget

# isort: on

from kiosk.ui.accessibility import SHOP_DEFAULTS, Modes
from kiosk.ui.modes_on_screen import apply_modes
from kiosk.ui.navigation import CUSTOMER_SCREENS
from kiosk.ui.sizing import LARGER_TEXT, MIN_PRICE_PX, MIN_TEXT_PX
from kiosk.ui.widgets.accessibility_panel import AccessibilityPanel
from kiosk.ui.widgets.start_over import ask_start_over

NOT_IN_CATALOG = "5901234123457"
BASKET = (
    MINERAL_WATER, "Orange juice", "Olive oil extra virgin", "Café au lait instant",
    "Peanut butter crunchy", "Bananas", "Gruyère deli cheese", "Dark chocolate",
    "Free-range eggs",
)
"""Nine lines: long names, a weighed item (its weight and unit price on a second line) and a
priced one (no quantity buttons)."""
MODES = {
    "normal": SHOP_DEFAULTS,
    "larger-text": Modes(larger_text=True),
    "high-contrast": Modes(high_contrast=True),
    "reach": Modes(reach=True),
    "larger-text-reach": Modes(larger_text=True, reach=True),
}
"""The supported combinations of modes this test checks (see the module's docstring)."""
LANGUAGES = ("en", "de")
SHOTS = {"attract", "shopping", "payment", "paid"}
"""The screens saved as screenshots (every size in English; larger text and reach mode at
800x480 and 1280x800), to be looked at."""
SETTLE_FRAMES = 6
"""Frames after a switch of language or mode before a check (textures and layouts settle)."""
SLACK = 1.0
"""Pixels of rounding allowed when comparing sizes and positions."""

Rect = tuple[float, float, float, float]


@dataclass
class Shown:
    """A label or button on screen: the widget and the part of the window it covers."""

    widget: Widget
    rect: Rect
    in_list: bool
    """Inside a scrolling list (the cart)."""
    outside: bool
    """Partly outside the window (pushed off it by what does not fit)."""


def _intersect(a: Rect, b: Rect) -> Rect:
    left, bottom = max(a[0], b[0]), max(a[1], b[1])
    return (left, bottom, min(a[2], b[2]), min(a[3], b[3]))


def _area_of(rect: Rect) -> bool:
    return rect[2] - rect[0] > SLACK and rect[3] - rect[1] > SLACK


def shown_units() -> list[Shown]:
    """Every label and button drawn in the window, each with what it covers, clipped by the
    scrolling lists it is in; what is inside a label or a button is its content, not a unit.
    With a panel open over the screen (a ``ModalView``), only the panel's: it covers the rest."""
    found: list[Shown] = []
    window: Rect = (0.0, 0.0, float(Window.width), float(Window.height))

    def visit(widget: Widget, clip: Rect, in_list: bool) -> None:
        if widget.opacity <= 0 or widget.width <= 0 or widget.height <= 0:
            return
        left, bottom = widget.to_window(widget.x, widget.y)
        whole = (left, bottom, left + widget.width, bottom + widget.height)
        rect = _intersect(whole, clip)
        if isinstance(widget, ButtonBehavior | Label):
            is_button = isinstance(widget, ButtonBehavior)
            if _area_of(rect) and (is_button or str(getattr(widget, "text", "")).strip()):
                inside = _intersect(whole, window)
                outside = not in_list and any(
                    abs(a - b) > SLACK for a, b in zip(inside, whole, strict=True))
                found.append(Shown(widget, rect, in_list, outside))
            return
        if isinstance(widget, StencilView):
            clip, in_list = rect, True
        for child in widget.children:
            visit(child, clip, in_list)

    tops = list(Window.children)
    if isinstance(tops[0], ModalView):
        tops = tops[:1]
    for top in tops:
        visit(top, window, False)
    return found


def describe(widget: Widget) -> str:
    """A widget as a failure names it: class, text, font and size."""
    text = str(getattr(widget, "text", ""))[:40]
    font = getattr(widget, "font_size", "")
    return f"{type(widget).__name__} {text!r} font {font} {widget.width:.0f}x{widget.height:.0f}"


def problems_on_screen(ui: KioskDriver, modes: Modes) -> list[str]:
    """What is wrong on the window now (see the module's docstring), one line each."""
    app = ui.app
    units = shown_units()
    least = LARGER_TEXT if modes.larger_text else 1.0
    amounts = {str(row["amount"]) for row in app.cart_rows}
    amounts |= {app.total_text, app.subtotal_text, app.tax_text} - {""}
    problems: list[str] = []
    for unit in units:
        widget = unit.widget
        if isinstance(widget, Label) and str(widget.text).strip():
            width, height = widget.texture_size
            if width > widget.width + SLACK or height > widget.height + SLACK:
                problems.append(f"cut: {describe(widget)} needs {width}x{height}")
            floor = MIN_PRICE_PX if widget.text in amounts else MIN_TEXT_PX
            if widget.font_size < floor * least - 0.01:
                problems.append(f"small text: {describe(widget)} under {floor * least}")
        if unit.outside:
            problems.append(f"off the window: {describe(widget)}")
        if isinstance(widget, ButtonBehavior) and not widget.disabled and (
            min(widget.width, widget.height) < app.touch_min - 0.01
        ):
            problems.append(f"small target: {describe(widget)} under {app.touch_min:.0f}")
        if modes.reach and isinstance(widget, ButtonBehavior) and not unit.in_list and (
            (unit.rect[1] + unit.rect[3]) / 2 > Window.height / 2
        ):
            problems.append(f"out of reach: {describe(widget)} in the upper half")
    for index, one in enumerate(units):
        for other in units[index + 1:]:
            if _area_of(_intersect(one.rect, other.rect)):
                problems.append(f"overlap: {describe(one.widget)} / {describe(other.widget)}")
    return problems


class Checker:
    """Checks each customer screen in every language and mode; collects what is wrong."""

    def __init__(self, ui: KioskDriver, size_name: str) -> None:
        self.ui = ui
        self.size_name = size_name
        self.problems: list[str] = []
        self.checked: list[str] = []

    def look(self, screen: str, *, over: str = "") -> None:
        """Check ``screen`` (on show; ``over``: the question or panel open over it, named) in
        each language and each mode, then go back to English and the shop's defaults."""
        ui = self.ui
        assert ui.screen == screen, ui.screen
        for language in LANGUAGES:
            ui.app.set_language(language)
            for mode_name, modes in MODES.items():
                apply_modes(ui.app, modes)
                ui.frames(SETTLE_FRAMES)
                shown = f"{screen} {over}" if over else screen
                where = f"{self.size_name} {shown} {language} {mode_name}"
                self.problems.extend(f"{where}: {p}" for p in problems_on_screen(ui, modes))
                if language == "en" and screen in SHOTS and self._shot_wanted(mode_name):
                    ui.screenshot("-".join(part for part in (screen, over, mode_name) if part))
        ui.app.set_language("en")
        apply_modes(ui.app, SHOP_DEFAULTS)
        ui.frames(SETTLE_FRAMES)
        if not over:
            self.checked.append(screen)

    def _shot_wanted(self, mode_name: str) -> bool:
        if mode_name == "normal":
            return True
        return mode_name in ("larger-text", "reach") and self.size_name in (
            "800x480", "1280x800"
        )


def walk_the_customer_screens(ui: KioskDriver, checker: Checker) -> None:
    """Attract, checking, closed, shopping with 9 lines (and over it the accessibility panel,
    the start-over question and the idle prompt), needs-attendant (an unknown item), payment
    (waiting for a card), paid, thank you; ``checker.look`` at each."""
    ui.wait_for_screen("attract")
    ui.started()
    checker.look("attract")
    show_checking_and_closed(ui, checker.look)

    for item in BASKET:
        ui.scan(item if item.isdigit() else barcode_of(item))
        ui.wait_for_screen("shopping")
    ui.wait_for(lambda: len(ui.app.cart_rows) == 9, "nine cart lines")
    ui.pump(0.2)
    checker.look("shopping")

    ui.tap(ui.find("accessibility_button"))  # the panel the modes are turned on from
    ui.wait_for(lambda: isinstance(Window.children[0], AccessibilityPanel), "the panel")
    checker.look("shopping", over="accessibility panel")
    Window.children[0].close()
    ui.frames(SETTLE_FRAMES)

    question = ask_start_over()  # "Empty the cart and start over?"
    ui.frames(SETTLE_FRAMES)
    checker.look("shopping", over="start-over question")
    ui.tap(question.ids.keep_shopping_button)
    ui.wait_for(lambda: question.parent is None, "the question to close")

    ui.advance(ui.settings.timeouts.idle_prompt_after_s + 1)  # "Are you still there?"
    ui.wait_for(lambda: ui.app._idle_prompt is not None, "the idle prompt")
    prompt = ui.app._idle_prompt
    ui.wait_for(lambda: prompt.parent is not None, "the idle prompt on show")
    ui.pump(0.3)  # its overlay fades in
    checker.look("shopping", over="idle prompt")
    ui.tap(prompt.ids.continue_button)
    ui.wait_for(lambda: prompt.parent is None, "the idle prompt to close")

    ui.scan(NOT_IN_CATALOG)
    ui.wait_for_screen("needs_attendant")
    checker.look("needs_attendant")
    ui.tap(ui.find("withdraw_button", "needs_attendant"))
    ui.wait_for_screen("shopping")

    emulator = ui.kiosk.stripe_emulator
    assert emulator is not None
    emulator.customer("never")
    ui.tap(ui.find("pay_button"))
    ui.wait_for_screen("payment")
    ui.wait_for(lambda: ui.app.payment_mode == "waiting", "the card prompt")
    checker.look("payment")
    ui.tap(ui.find("back_button", "payment"))
    ui.wait_for_screen("shopping")

    emulator.customer("tap", after_s=0.3)
    ui.app.thank_you_s = 600.0  # the thank-you screen stays while it is looked at
    ui.tap(ui.find("pay_button"))
    ui.wait_for_screen("paid")
    checker.look("paid")
    ui.tap(ui.find("print_button", "paid"))
    ui.wait_for_screen("thank_you")
    checker.look("thank_you")


@pytest.fixture(params=list(SUPPORTED_SIZES))
def shop_at_size(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo shop as a shop runs it (no demo panel), at each supported size."""
    data_dir = tmp_path / "kiosk"
    data_dir.mkdir()
    settings, _info = prepared_demo(data_dir)
    ui = KioskDriver(
        data_dir, settings, size=SUPPORTED_SIZES[request.param],
        shots=artifact_folder(request.node.name), demo=None,
    )
    try:
        yield ui
    finally:
        ui.stop()


def test_every_customer_screen_fits_at_every_size_language_and_mode(
    shop_at_size: KioskDriver,
) -> None:
    ui = shop_at_size
    size_name = f"{Window.width}x{Window.height}"
    checker = Checker(ui, size_name)
    walk_the_customer_screens(ui, checker)
    assert sorted(checker.checked) == sorted(CUSTOMER_SCREENS)
    assert not checker.problems, f"{len(checker.problems)} problems:\n" + "\n".join(
        checker.problems[:400]
    )
