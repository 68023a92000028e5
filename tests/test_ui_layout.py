"""The touchscreen's layout, readability and kiosk behaviour, on the real window.

Every screen a customer can see is visited through a real sale: its text must be readable at
arm's length (body text at least 24 sp, the total at least 36 sp at 1280x800) and everything
it can tap at least 48 dp on each side. The same walk saves clean screenshots (no demo panel)
at each screen size for the README. Also here: the colours all come from the theme, the kiosk
settings of Kivy (Escape never quits), the demo staff PINs shown only in demo, and sounds that
never stop a sale on a machine without audio.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

# ui_support configures Kivy before anything imports kivy.core.window.
# isort: off
from ui_support import (
    show_checking_closed_and_a_cart,
    MINERAL_WATER,
    ORANGE_JUICE,
    SIZES,
    KioskDriver,
    artifact_folder,
    prepared_demo,
)

from kivy.base import EventLoop
from kivy.config import Config
from kivy.core.window import Window
from kivy.metrics import dp, sp
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label
from kivy.uix.widget import Widget

# isort: on

from kiosk.core.checkout_states import AttendantReason, CheckoutState
from kiosk.ui import theme
from kiosk.ui.accessibility import SHOP_DEFAULTS, Modes, colours_of
from kiosk.ui.customer_view import THANK_YOU_TOUCH_GRACE_S
from kiosk.ui.demo_info import DemoInfo
from kiosk.ui.kivy_setup import configure_kivy
from kiosk.ui.modes_on_screen import apply_modes
from kiosk.ui.navigation import CUSTOMER_SCREENS
from kiosk.ui.screens import class_name, screen_classes
from kiosk.ui.widgets.demo_panel import DemoPanel

NOT_IN_CATALOG = "5901234123457"
"""A valid EAN-13 that the demo catalog does not have: the kiosk calls staff."""
BAD_CHECK_DIGIT = "4006381333932"
"""Mineral water's barcode with a wrong check digit: the scan is rejected."""
SCREEN_SIZES = {**SIZES, "800x1280": (800, 1280)}
"""The two landscape screens, and the 10-inch screen turned to portrait."""
EPSILON = 0.01
"""Float slack when comparing font sizes and widget sides (pixels)."""


class Visit:
    """A kiosk on screen for a test, and the demo shop's staff (shown on screen or not)."""

    def __init__(self, ui: KioskDriver, info: DemoInfo) -> None:
        self.ui = ui
        self.info = info

    def manager(self) -> tuple[int, str]:
        """The demo manager's staff number and PIN."""
        for role, number, pin in self.info.staff:
            if role == "manager":
                return int(number), str(pin)
        raise LookupError("the demo shop has no manager")


def open_kiosk(
    tmp_path: Path, test_name: str, size: tuple[int, int], *, demo: bool
) -> Iterator[Visit]:
    """The demo kiosk at ``size``, with the demo panel or (``demo=False``) as a shop runs it."""
    data_dir = tmp_path / "kiosk"
    data_dir.mkdir(exist_ok=True)
    settings, info = prepared_demo(data_dir)
    ui = KioskDriver(
        data_dir, settings, size=size, shots=artifact_folder(test_name),
        demo=info if demo else None,
    )
    try:
        yield Visit(ui, info)
    finally:
        ui.stop()


@pytest.fixture
def demo_kiosk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Visit]:
    """The demo kiosk (with its demo panel) at 1280x800."""
    yield from open_kiosk(tmp_path, request.node.name, SIZES["1280x800"], demo=True)


@pytest.fixture(params=list(SCREEN_SIZES))
def shop_kiosk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Visit]:
    """The kiosk without the demo panel, at each screen size (for clean screenshots)."""
    yield from open_kiosk(
        tmp_path, request.node.name, SCREEN_SIZES[request.param], demo=False
    )


# --- what is on screen ----------------------------------------------------------------------


def visible_widgets(*, skip_demo_panel: bool = True) -> list[Widget]:
    """Every widget drawn in the window (the root and any open popup), outermost first.

    A widget counts when it and all its parents are opaque, it has a size and it lies at
    least partly inside the window. The demo panel's subtree (a developer aid) is left out
    unless ``skip_demo_panel`` is False.
    """
    found: list[Widget] = []

    def visit(widget: Widget) -> None:
        if widget.opacity <= 0 or widget.width <= 0 or widget.height <= 0:
            return
        if skip_demo_panel and isinstance(widget, DemoPanel):
            return
        left, bottom = widget.to_window(widget.x, widget.y)
        if left < Window.width and bottom < Window.height and (
            left + widget.width > 0 and bottom + widget.height > 0
        ):
            found.append(widget)
        for child in widget.children:
            visit(child)

    for top in list(Window.children):
        visit(top)
    return found


def describe(widget: Widget) -> str:
    """A widget as a failure message names it: class, text, font size and size."""
    text = getattr(widget, "text", "")
    font = getattr(widget, "font_size", None)
    return (
        f"{type(widget).__name__} {text!r} font {font} "
        f"size {widget.width:.0f}x{widget.height:.0f}"
    )


def small_text(widgets: list[Widget], minimum: float) -> list[str]:
    """The labels and buttons with words in a font smaller than ``minimum`` pixels."""
    return [
        describe(w) for w in widgets
        if isinstance(w, Label) and str(w.text).strip() and w.font_size < minimum - EPSILON
    ]


def small_buttons(widgets: list[Widget]) -> list[str]:
    """The enabled buttons narrower or lower than 48 dp."""
    side = dp(48) - EPSILON
    return [
        describe(w) for w in widgets
        if isinstance(w, ButtonBehavior) and not w.disabled
        and (w.width < side or w.height < side)
    ]


def total_labels(widgets: list[Widget], total: str) -> list[Widget]:
    """The labels and buttons whose words include the sale's total."""
    return [w for w in widgets if isinstance(w, Label) and total and total in str(w.text)]


# --- the walk through every screen ----------------------------------------------------------


def visit_every_screen(visit: Visit, look: Callable[[str], None]) -> list[str]:
    """Take the kiosk through every screen a customer can see; ``look(name)`` at each one.

    The walk: attract, the staff PIN pad behind the corner button, checking (start-up
    recovery), closed, a cart of 3 items, the idle prompt, an unknown item (staff touch "Staff"
    for its PIN pad, where their PIN opens the staff menu, where they leave it out), the card
    screen while the customer never taps,
    approved after a second try, the receipt choice, thank you. Returns the names looked at,
    in order.
    """
    ui = visit.ui
    seen: list[str] = []

    def at(name: str) -> None:
        ui.frames(3)
        seen.append(name)
        look(name)

    ui.wait_for_screen("attract")
    ui.started()
    at("attract")

    ui.tap(ui.find("staff_button"))
    ui.wait_for_screen("staff_login")
    at("staff_login")
    ui.tap(ui.find("staff_back", "staff_login"))
    ui.wait_for_screen("attract")

    show_checking_closed_and_a_cart(ui, at)

    ui.advance(ui.settings.timeouts.idle_prompt_after_s + 1)
    prompt = ui.app._idle_prompt
    assert prompt is not None
    ui.wait_for(lambda: prompt.parent is not None, "the are-you-still-there prompt")
    ui.pump(0.3)  # the prompt's overlay fades in
    at("idle_prompt")
    ui.tap(prompt.ids.continue_button)
    ui.wait_for(lambda: prompt.parent is None, "the prompt to close")
    assert ui.kiosk.checkout.state is CheckoutState.SHOPPING

    ui.scan(NOT_IN_CATALOG)
    ui.wait_for_screen("needs_attendant")
    assert ui.kiosk.checkout.attendant_reason is AttendantReason.UNKNOWN_ITEM
    at("needs_attendant")
    ui.tap(ui.find("staff_button"))  # staff answer the call on the PIN pad it shows
    at("needs_attendant_staff")
    number, pin = visit.manager()
    for key in str(number):
        ui.tap_text(key)
    ui.tap_text(ui.app.tr("Next"))
    for key in pin:
        ui.tap_text(key)
    ui.tap_text(ui.app.tr("OK"))
    ui.wait_for_screen("staff_menu")
    at("staff_menu")
    ui.tap(ui.find("leave_out_button", "staff_menu"))
    ui.wait_for_screen("shopping")
    assert len(ui.app.cart_rows) == 3

    emulator = ui.kiosk.stripe_emulator
    assert emulator is not None
    emulator.customer("never")
    ui.tap(ui.find("pay_button"))
    ui.wait_for_screen("payment")
    ui.wait_for(lambda: ui.app.payment_mode == "waiting", "the card prompt")
    at("payment")
    ui.tap(ui.find("back_button", "payment"))
    ui.wait_for_screen("shopping")

    emulator.customer("tap", after_s=0.3)
    ui.app.thank_you_s = 60.0  # the thank-you screen stays while it is looked at
    ui.tap(ui.find("pay_button"))
    ui.wait_for_screen("paid")
    at("paid")
    ui.tap(ui.find("print_button", "paid"))
    ui.wait_for_screen("thank_you")
    at("thank_you")
    ui.pump(THANK_YOU_TOUCH_GRACE_S)  # "Done" answers once a double tap's moment is over
    ui.tap(ui.find("done_button", "thank_you"))
    ui.wait_for_screen("attract")
    return seen


EVERY_SCREEN = [
    "attract", "staff_login", "checking", "closed", "shopping", "idle_prompt",
    "needs_attendant", "needs_attendant_staff", "staff_menu", "payment", "paid", "thank_you",
]


@pytest.mark.parametrize("modes", [SHOP_DEFAULTS, Modes(high_contrast=True)],
                         ids=["normal", "high-contrast"])
def test_every_screen_has_readable_text_and_buttons_big_enough_for_a_finger(
    demo_kiosk: Visit, modes: Modes
) -> None:
    ui = demo_kiosk.ui
    problems: list[str] = []
    totals_checked: list[str] = []
    ui.wait_for_screen("attract")
    apply_modes(ui.app, modes)  # the panel's switch does this (tests/test_ui_accessibility.py)

    def look(name: str) -> None:
        assert dict(ui.app.colours) == colours_of(modes), f"{name}: the palette changed"
        if modes != SHOP_DEFAULTS:
            ui.screenshot(name.replace("_", "-"))
        widgets = visible_widgets()
        assert any(isinstance(w, Label) and w.text for w in widgets), f"{name} shows no words"
        problems.extend(f"{name}: small text: {w}" for w in small_text(widgets, sp(24)))
        problems.extend(f"{name}: small button: {w}" for w in small_buttons(widgets))
        if name in ("shopping", "payment", "paid"):
            totals = total_labels(widgets, ui.app.total_text)
            assert totals, f"{name} does not show the total {ui.app.total_text!r}"
            small = [describe(w) for w in totals if w.font_size < sp(36) - EPSILON]
            if name == "shopping":  # the Total line and the Pay button; the Items line is
                # the breakdown above them, in body text
                assert len(small) < len(totals), f"shopping: the total is small: {small}"
            else:
                problems.extend(f"{name}: small total: {w}" for w in small)
            totals_checked.append(name)
        if name == "shopping":  # every line's price is a price too: 36 sp or more
            amounts = {row["amount"] for row in ui.app.cart_rows}
            prices = [w for w in widgets if isinstance(w, Label) and w.text in amounts]
            assert prices, "shopping shows no line prices"
            problems.extend(
                f"shopping: small line price: {describe(w)}"
                for w in prices if w.font_size < sp(36) - EPSILON
            )

    seen = visit_every_screen(demo_kiosk, look)
    assert seen == EVERY_SCREEN
    assert totals_checked == ["shopping", "payment", "paid"]
    assert not problems, "\n".join(problems)
    assert ui.app.modes == SHOP_DEFAULTS, "the sale ended: the next customer finds the defaults"


def test_the_top_bar_buttons_keep_their_word_on_one_line_in_every_language(
    demo_kiosk: Visit,
) -> None:
    ui = demo_kiosk.ui
    ui.wait_for_screen("attract")
    ui.started()
    for language in ("English", "Deutsch"):  # "Personal" once wrapped as "Persona / l"
        ui.tap_text(language)
        ui.frames(3)
        for name in ("help_button", "staff_button"):
            button = ui.find(name)
            width, height = button.texture_size
            assert height < button.font_size * 1.6, f"{language}: {describe(button)} wraps"
            assert width <= button.width, f"{language}: {describe(button)} is cut"


def test_clean_screenshots_of_every_screen_show_no_demo_panel_and_no_staff_pin(
    shop_kiosk: Visit,
) -> None:
    ui = shop_kiosk.ui
    pins = [str(pin) for _role, _number, pin in shop_kiosk.info.staff]
    shots: list[Path] = []
    problems: list[str] = []

    def look(name: str) -> None:
        widgets = visible_widgets(skip_demo_panel=False)
        assert not any(isinstance(w, DemoPanel) for w in ui.app.root.walk()), name
        problems.extend(f"{name}: small button: {w}" for w in small_buttons(widgets))
        for widget in widgets:
            text = str(getattr(widget, "text", ""))
            for pin in pins:
                assert not re.search(rf"(?<!\d){pin}(?!\d)", text), (
                    f"{name} shows a staff PIN in {text!r}"
                )
        shots.append(ui.screenshot(name.replace("_", "-")))

    visit_every_screen(shop_kiosk, look)
    assert not problems, "\n".join(problems)
    assert len(shots) == len(EVERY_SCREEN)
    assert all(path.stat().st_size > 4_000 for path in shots), shots


def test_each_customer_screen_is_registered_once_by_its_name() -> None:
    classes = screen_classes()
    assert list(classes) == list(CUSTOMER_SCREENS)
    for name, screen_class in classes.items():
        assert screen_class.__name__ == class_name(name)
        assert (Path(theme.__file__).parent / "kv" / f"{name}.kv").is_file(), name
    assert class_name("needs_attendant") == "NeedsAttendantScreen"


# --- colours --------------------------------------------------------------------------------


def test_the_app_colours_are_exactly_the_theme_palette(demo_kiosk: Visit) -> None:
    expected = {name: theme.rgba(value) for name, value in asdict(theme.THEME).items()}
    assert dict(demo_kiosk.ui.app.colours) == expected


def test_every_colour_in_the_kv_files_comes_from_the_theme() -> None:
    kv_folder = Path(theme.__file__).parent / "kv"
    transparent_or_derived = re.compile(
        r"app\.colours|self\.(fill|color)|\(0, 0, 0, 0\)|^0, 0, 0, 0$|^0, 0, 0, 0\.\d+$"
    )
    offenders = []
    for kv in sorted(kv_folder.glob("*.kv")):
        for number, line in enumerate(kv.read_text(encoding="utf-8").splitlines(), 1):
            match = re.match(r"\s*(\w*colou?r|rgba|fill):\s*(.+)$", line)
            if match and not transparent_or_derived.search(match.group(2).strip()):
                offenders.append(f"{kv.name}:{number}: {line.strip()}")
    assert not offenders, "colours not from the theme:\n" + "\n".join(offenders)


# --- kiosk behaviour ------------------------------------------------------------------------


def test_kiosk_mode_goes_fullscreen_hides_the_cursor_and_never_quits_on_escape() -> None:
    try:
        configure_kivy(kiosk_mode=True)
        assert Config.get("kivy", "exit_on_escape") == "0"
        assert Config.get("graphics", "fullscreen") == "auto"
        assert Config.get("graphics", "show_cursor") == "0"
        assert Config.get("graphics", "allow_screensaver") == "0"
        assert Config.options("input") == ["mouse"]
        assert os.environ.get("KIVY_NO_FILELOG") == "1"
    finally:
        configure_kivy(kiosk_mode=False, size=(1280, 800))
    assert Config.get("graphics", "fullscreen") == "0"
    assert Config.get("graphics", "show_cursor") == "1"
    assert len(Config.options("input")) == 1


def test_pressing_escape_or_f1_does_not_stop_the_kiosk_or_open_kivy_settings(
    demo_kiosk: Visit,
) -> None:
    ui = demo_kiosk.ui
    ui.wait_for_screen("attract")
    ui.started()
    status = EventLoop.status
    children_before = list(Window.children)
    for key in (27, 282):  # Escape, F1
        Window.dispatch("on_key_down", key, 0, "", [])
        Window.dispatch("on_keyboard", key, 0, "", [])
        ui.frames(3)
        Window.dispatch("on_key_up", key, 0)
    ui.pump(0.2)
    assert EventLoop.status == status
    assert list(Window.children) == children_before, "something opened over the kiosk"
    assert ui.app.root.get_root_window() is Window
    # F1 is the keypad's Help key (kiosk.ui.key_router): staff are called, nothing else
    ui.wait_for_screen("needs_attendant")
    ui.tap(ui.find("withdraw_button", "needs_attendant"))
    ui.wait_for_screen("attract")
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    assert len(ui.app.cart_rows) == 1


# --- demo staff -----------------------------------------------------------------------------


def test_the_demo_panel_shows_the_demo_managers_number_and_pin(demo_kiosk: Visit) -> None:
    ui = demo_kiosk.ui
    ui.wait_for_screen("attract")
    number, pin = demo_kiosk.manager()
    panels = [w for w in ui.app.root.walk() if isinstance(w, DemoPanel)]
    assert len(panels) == 1
    assert f"manager: {number}, PIN {pin}" in panels[0].staff_text
    assert ui.shows(f"PIN {pin}")
    assert panels[0] in visible_widgets(skip_demo_panel=False)


# --- sounds ---------------------------------------------------------------------------------


def test_a_good_and_a_rejected_scan_without_an_audio_device_are_both_handled(
    demo_kiosk: Visit,
) -> None:
    assert os.environ.get("SDL_AUDIODRIVER") == "dummy"
    ui = demo_kiosk.ui
    ui.wait_for_screen("attract")
    ui.started()
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    ui.wait_for(lambda: len(ui.app.cart_rows) == 1, "the water in the cart")
    ui.scan(BAD_CHECK_DIGIT)
    ui.wait_for(
        lambda: ui.shows("That barcode could not be read. Please scan it again."),
        "the rejected-scan message",
    )
    ui.scan(ORANGE_JUICE)
    ui.wait_for(lambda: len(ui.app.cart_rows) == 2, "the juice in the cart")
    assert ui.screen == "shopping"
    assert ui.kiosk.checkout.state is CheckoutState.SHOPPING
    assert [line.quantity for line in ui.kiosk.checkout.cart.lines] == [1, 1]
    assert EventLoop.status != "stopped"
