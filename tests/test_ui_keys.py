"""Operation without touch, on the real window: a whole sale with keys only, the focus ring
following questions and panels, and presses that must not act twice.

Keys go in as the window gets them from SDL (``Window.dispatch('on_key_down', ...)`` and
``on_key_up``); scans come from the demo's virtual scanner, as in the other journeys. Each
test asserts on what the keys did (the cart, the screen, the sale in the database) and on
where the ring is; the journey saves screenshots of the ring on the cart, the card screen and
the receipt choice, in the normal and the high-contrast palette.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# ui_support configures Kivy before anything imports kivy.core.window.
# isort: off
from ui_support import (
    MINERAL_WATER,
    ORANGE_JUICE,
    SETTLE_FRAMES,
    KioskDriver,
    barcode_of,
    run_kiosk_ui,
)

from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch
from kivy.uix.widget import Widget

# isort: on

from kiosk.core.checkout_states import CheckoutState
from kiosk.ui.customer_view import THANK_YOU_TOUCH_GRACE_S
from kiosk.ui.key_navigation import KeyNavigation
from kiosk.ui.widgets.start_over import open_question

ENTER, TAB, ESCAPE, BACKSPACE = 13, 9, 27, 8
UP, DOWN, RIGHT, LEFT = 273, 274, 275, 276
F1, F2 = 282, 283
SHIFT = 304
MOST_PRESSES = 40
"""A guard: no button of a screen is further than this many presses away."""


@pytest.fixture(params=["1280x800", "800x480"])
def kiosk_ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk on screen at each supported screen size."""
    yield from run_kiosk_ui(tmp_path, request.node.name, request.param)


@pytest.fixture
def large_ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk at 1280x800."""
    yield from run_kiosk_ui(tmp_path, request.node.name, "1280x800")


# --------------------------------------------------------------------------------- helpers


def keys(ui: KioskDriver) -> KeyNavigation:
    """The app's keys, focus and ring."""
    navigation = ui.app.key_navigation
    assert isinstance(navigation, KeyNavigation)
    return navigation


def key_down(key: int, codepoint: str = "", modifiers: tuple[str, ...] = ()) -> bool:
    """One key-down as SDL reports it (also each auto-repeat); True when it was taken."""
    return bool(Window.dispatch("on_key_down", key, 0, codepoint, list(modifiers)))


def key_up(key: int) -> None:
    """One key-up as SDL reports it."""
    Window.dispatch("on_key_up", key, 0)


def press(ui: KioskDriver, key: int, modifiers: tuple[str, ...] = ()) -> None:
    """Press and release ``key`` as a person does (about 60 ms down), then let the window
    draw what it did."""
    key_down(key, "", modifiers)
    ui.pump(0.06)
    key_up(key)
    ui.frames(SETTLE_FRAMES)


def focused(ui: KioskDriver) -> Widget | None:
    """The button the keys act on."""
    return keys(ui).focused


def ring_around(ui: KioskDriver, widget: Widget) -> bool:
    """True when the ring shows, on top of everything, around ``widget``."""
    ring = keys(ui).ring
    if ring.rect is None or not ring.on_top:
        return False
    x, y = widget.to_window(widget.x, widget.y)
    drawn = ring.rect
    return all(abs(a - b) < 0.5 for a, b in (
        (drawn.x, x), (drawn.y, y), (drawn.width, widget.width), (drawn.height, widget.height)))


def move_to(ui: KioskDriver, target: Widget | Callable[[], Widget], key: int = DOWN) -> None:
    """Press ``key`` (an arrow or Tab) until the focus is on ``target`` (a widget, or what
    finds it: a cart row's button is whichever row shows that line now); the ring shows it."""
    find = target if callable(target) else (lambda: target)
    for _ in range(MOST_PRESSES):
        if focused(ui) == find() and keys(ui).ring_shown:
            break
        press(ui, key)
    else:
        raise AssertionError(f"{MOST_PRESSES} presses never reached {find().text!r}; "
                             f"the focus goes through {focus_names(ui)}")
    ui.wait_for(lambda: ring_around(ui, find()), f"the ring around {find().text!r}")


def line_button(ui: KioskDriver, index: int, name: str) -> Callable[[], Widget]:
    """What finds the button ``name`` (kv id) of cart line ``index`` on screen."""
    return lambda: cart_row(ui, index).ids[name]


def place(widget: Widget | None) -> tuple[str, object]:
    """What a focused button is: its words and the cart line its row shows (a recycled row's
    widgets serve whichever line is at their place)."""
    assert widget is not None, "nothing is focused"
    return str(widget.text), getattr(widget.parent, "line_id", None)


def focus_names(ui: KioskDriver) -> list[str]:
    """The words on the buttons the focus visits, in order."""
    return [str(getattr(widget, "text", "")) for widget in keys(ui).focusables()]


def cart_row(ui: KioskDriver, index: int) -> Widget:
    """The cart row on screen showing line ``index`` (0: the first)."""
    line_id = ui.app.cart_rows[index]["line_id"]
    rows = [
        row for row in ui.find("cart", "shopping").children[0].children
        if getattr(row, "line_id", None) == line_id
    ]
    assert rows, f"line {index} is not on screen"
    return rows[0]


def quantities(ui: KioskDriver) -> list[int]:
    """The quantity of each cart line."""
    return [int(row["quantity"]) for row in ui.app.cart_rows]


def fill_cart(ui: KioskDriver) -> None:
    """Water and orange juice in the cart, scanned by the virtual scanner."""
    ui.wait_for_screen("attract")
    ui.started()
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    ui.scan(ORANGE_JUICE)
    ui.wait_for(lambda: len(ui.app.cart_rows) == 2, "two cart lines")


# -------------------------------------------------------------------------------- journeys


@pytest.mark.parametrize("contrast", ["normal", "high-contrast"])
def test_a_whole_sale_with_keys_only_from_attract_to_thank_you(
    large_ui: KioskDriver, contrast: str,
) -> None:
    ui = large_ui
    ui.app.thank_you_s = 60.0  # long enough to leave it with Done, as a key user does
    ui.wait_for_screen("attract")
    ui.started()
    press(ui, DOWN)  # the first key shows the ring, on the attract screen's first button
    first = focused(ui)
    assert first is not None and ring_around(ui, first)
    assert first.text == "English", focus_names(ui)  # the languages, then the top bar

    fill_cart(ui)
    pay = ui.find("pay_button", "shopping")
    ui.wait_for(lambda: focused(ui) == pay and ring_around(ui, pay), "the ring on Pay")

    move_to(ui, line_button(ui, 0, "plus_button"))
    press(ui, ENTER)
    ui.wait_for(lambda: quantities(ui) == [2, 1], "two bottles of water")
    assert ui.app.total_text == "€2.87"
    move_to(ui, line_button(ui, 0, "minus_button"), UP)
    press(ui, ENTER)
    ui.wait_for(lambda: quantities(ui) == [1, 1], "one bottle of water again")
    move_to(ui, line_button(ui, 1, "remove_button"))
    press(ui, ENTER)
    ui.wait_for(lambda: len(ui.app.cart_rows) == 1, "the orange juice removed")
    undo = ui.find("undo_button", "shopping")
    move_to(ui, undo)
    press(ui, ENTER)
    ui.wait_for(lambda: len(ui.app.cart_rows) == 2, "the orange juice back")
    ui.pump(0.2)
    before = place(focused(ui))  # Undo went with its bar: a button of the cart took its place
    assert before[0] in ("Remove", "+", "\u2212"), before

    press(ui, F2)  # the accessibility panel, its first switch focused
    panel = Window.children[0]
    assert type(panel).__name__ == "AccessibilityPanel"
    switch = panel.switches[0].ids.switch
    ui.wait_for(lambda: focused(ui) == switch, "the focus on the panel's first switch")
    ui.wait_for(lambda: ring_around(ui, focused(ui)), "the ring over the panel, not behind it")
    if contrast == "high-contrast":
        press(ui, ENTER)
        ui.wait_for(lambda: ui.app.modes.high_contrast, "high contrast on")
        ui.screenshot("panel-high-contrast")
    press(ui, ESCAPE)  # Back: the panel closes ("Done")
    ui.wait_for(lambda: panel.parent is None, "the panel to close")
    ui.wait_for(lambda: place(focused(ui)) == before and ring_around(ui, focused(ui)),
                "the focus back where it was")

    move_to(ui, line_button(ui, 1, "plus_button"))
    ui.screenshot(f"cart-ring-{contrast}")
    language = next(b for b in ui.find("language_switch").buttons if b.code == "de")
    move_to(ui, language)
    press(ui, ENTER)
    ui.wait_for(lambda: ui.app.language == "de", "German")
    english = next(b for b in ui.find("language_switch").buttons if b.code == "en")
    ui.wait_for(lambda: focused(ui) == english, "the focus on the new language button")
    press(ui, ENTER)
    ui.wait_for(lambda: ui.app.language == "en", "English again")

    emulator = ui.kiosk.stripe_emulator
    assert emulator is not None
    emulator.customer("never")  # the card comes only once the customer has been back
    move_to(ui, pay)
    press(ui, ENTER)
    ui.wait_for_screen("payment")
    back = ui.find("back_button", "payment")
    ui.wait_for(lambda: ring_around(ui, back), "the ring on Back to the cart")
    ui.screenshot(f"card-screen-ring-{contrast}")
    press(ui, ENTER)
    ui.wait_for_screen("shopping")
    ui.wait_for(lambda: ring_around(ui, pay), "the ring back on Pay")
    ui.wait_for(lambda: not ui.kiosk.checkout.payment_pending, "the payment withdrawn")
    emulator.customer("tap")
    press(ui, ENTER)
    ui.wait_for_screen("payment")
    ui.wait_for_screen("paid")

    printed = ui.find("print_button", "paid")
    ui.wait_for(lambda: ring_around(ui, printed), "the ring on Print receipt")
    ui.screenshot(f"receipt-choice-ring-{contrast}")
    none = ui.find("no_receipt_button", "paid")
    move_to(ui, none, RIGHT)  # the QR code is not offered without a back office: skipped
    sale_id = ui.kiosk.checkout.sale_id
    press(ui, ENTER)
    ui.wait_for_screen("thank_you")
    done = ui.find("done_button", "thank_you")
    ui.wait_for(lambda: ring_around(ui, done), "the ring on Done")
    ui.pump(THANK_YOU_TOUCH_GRACE_S)  # "Done" answers once a double tap's moment is over
    press(ui, ENTER)
    ui.wait_for_screen("attract")
    assert ui.kiosk.checkout.state is CheckoutState.ATTRACT
    assert ui.read_database("SELECT state FROM sales WHERE id = ?", sale_id) == [("paid",)]
    assert not ui.app.modes.high_contrast  # the next customer gets the shop's palette


def test_the_ring_follows_the_idle_prompt_and_the_start_over_question_and_comes_back(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    fill_cart(ui)
    move_to(ui, line_button(ui, 1, "plus_button"), UP)
    ui.screenshot("cart-ring")
    start_over = ui.find("start_over", "shopping")
    move_to(ui, start_over)

    ui.advance(ui.settings.timeouts.idle_prompt_after_s + 1)
    prompt = ui.app._idle_prompt
    assert prompt is not None
    ui.wait_for(lambda: prompt.parent is not None, "the are-you-still-there prompt")
    yes = prompt.ids.continue_button
    ui.wait_for(lambda: ring_around(ui, yes), "the ring on Yes, continue")
    ui.screenshot("idle-prompt-ring")
    move_to(ui, prompt.ids.start_over_button, LEFT)
    press(ui, ENTER)
    ui.wait_for(lambda: open_question() is not None, "the start-over question")
    question = open_question()
    assert question is not None
    keep = question.ids.keep_shopping_button
    ui.wait_for(lambda: ring_around(ui, keep), "the ring on Keep shopping, the safe answer")
    press(ui, ENTER)
    ui.wait_for(lambda: open_question() is None and prompt.parent is None, "both to close")
    assert ui.kiosk.checkout.state is CheckoutState.SHOPPING
    ui.wait_for(lambda: ring_around(ui, start_over), "the ring back where it was")

    press(ui, ENTER)  # Start over in the cart: the same question
    ui.wait_for(lambda: open_question() is not None, "the question from the cart")
    press(ui, BACKSPACE)  # Back keeps shopping
    ui.wait_for(lambda: open_question() is None, "the question to close")
    assert len(ui.app.cart_rows) == 2
    press(ui, ENTER)
    ui.wait_for(lambda: open_question() is not None, "the question again")
    question = open_question()
    assert question is not None
    move_to(ui, question.ids.confirm_start_over_button, LEFT)
    press(ui, ENTER)
    ui.wait_for_screen("attract")
    assert ui.kiosk.checkout.cart.is_empty

    status = EventLoop.status
    assert key_down(ESCAPE)  # taken: Kivy's on_keyboard, which may quit on Escape, never sees it
    key_up(ESCAPE)  # on the attract screen: nothing to go back to, and no quitting
    ui.frames(SETTLE_FRAMES)
    assert EventLoop.status == status and ui.app.root.get_root_window() is Window
    assert ui.screen == "attract"


def test_a_touch_hides_the_ring_until_the_next_key_which_only_shows_it(
    large_ui: KioskDriver,
) -> None:
    ui = large_ui
    fill_cart(ui)
    plus = line_button(ui, 0, "plus_button")
    move_to(ui, plus)
    label = ui.find("cart", "shopping")
    touch = UnitTestTouch(*label.to_window(label.x + 5, label.y + 5))
    touch.touch_down()
    touch.touch_up()
    ui.frames(SETTLE_FRAMES)
    assert not keys(ui).ring_shown
    press(ui, ENTER)  # shows the ring where it was; presses nothing
    assert ring_around(ui, plus()) and quantities(ui) == [1, 1]
    press(ui, F1)  # Help calls staff
    ui.wait_for_screen("needs_attendant")
    assert ui.kiosk.checkout.state is CheckoutState.NEEDS_ATTENDANT


def test_holding_a_key_or_pressing_two_at_once_never_acts_twice(large_ui: KioskDriver) -> None:
    ui = large_ui
    fill_cart(ui)
    plus = line_button(ui, 0, "plus_button")
    move_to(ui, plus)
    assert key_down(ENTER)
    for _ in range(25):  # held for a second: the keyboard repeats the key-down
        ui.pump(0.04)
        key_down(ENTER)
    key_up(ENTER)
    ui.wait_for(lambda: quantities(ui) == [2, 1], "one more bottle")
    ui.pump(0.5)
    assert quantities(ui) == [2, 1]

    key_down(ENTER)
    key_down(DOWN)  # two keys at once: neither acts
    ui.pump(0.05)
    key_up(DOWN)
    key_up(ENTER)
    ui.pump(0.5)
    assert quantities(ui) == [2, 1] and focused(ui) == plus()

    key_down(SHIFT, "", ("shift",))
    press(ui, TAB, ("shift",))  # Shift-Tab is no chord: it moves back
    key_up(SHIFT)
    assert focused(ui) == cart_row(ui, 0).ids.minus_button


def test_an_enter_at_the_end_of_a_keyboard_scanners_burst_presses_nothing(
    large_ui: KioskDriver,
) -> None:
    ui = large_ui
    fill_cart(ui)
    plus = line_button(ui, 0, "plus_button")
    move_to(ui, plus)
    for digit in "4006381333931":  # typed by a keyboard-wedge scanner, a few ms apart
        key_down(ord(digit), digit)
        key_up(ord(digit))
    key_down(ENTER)
    key_up(ENTER)
    ui.pump(0.5)
    assert quantities(ui) == [1, 1] and focused(ui) == plus()
    ui.pump(0.1)
    press(ui, ENTER)  # a person's Enter afterwards does press
    ui.wait_for(lambda: quantities(ui) == [2, 1], "one more bottle")

    key_down(ord("/"), "/", ("shift",))
    Window.dispatch("on_textinput", "?")  # "?" asks for help, like F1
    key_up(ord("/"))
    ui.wait_for_screen("needs_attendant")


def test_the_keys_reach_every_line_of_a_cart_longer_than_the_screen(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    basket = [barcode_of(name) for name in (
        "Mineral water still", "Mineral water sparkling", "Orange juice", "Apple juice", "Cola",
        "Energy drink", "Espresso beans",
    )]  # seven lines: more than the cart shows at either size
    for count, code in enumerate(basket, start=1):
        ui.scan(code)
        ui.wait_for(lambda count=count: len(ui.app.cart_rows) == count, f"{count} lines")
    pay = ui.find("pay_button", "shopping")
    press(ui, UP)  # shows the ring, on Pay
    ui.wait_for(lambda: focused(ui) == pay, "the focus on Pay")
    lines_seen: list[int] = []
    for _ in range(MOST_PRESSES):  # up from Pay through every line, the newest first
        press(ui, UP)
        ui.pump(0.1)  # the list scrolls on, then the focus moves
        line_id = getattr(focused(ui).parent, "line_id", None)
        if line_id is None:
            break
        if line_id not in lines_seen:
            lines_seen.append(line_id)
            assert ring_around(ui, focused(ui)), "the focused line is scrolled into view"
    every_line = [row["line_id"] for row in ui.app.cart_rows]
    assert lines_seen == list(reversed(every_line))
    ui.screenshot("first-line-after-scrolling-up")


def test_after_a_decline_the_keys_try_another_card(large_ui: KioskDriver) -> None:
    ui = large_ui
    fill_cart(ui)
    declined = next(w for w in keys(ui).focusables() if w.text == "Card declined")
    move_to(ui, declined, UP)  # the demo strip: the card the simulated customer taps next
    press(ui, ENTER)
    ui.wait_for(lambda: ui.app.demo_card == "declined", "the declined demo card chosen")
    pay = ui.find("pay_button", "shopping")
    move_to(ui, pay)
    press(ui, ENTER)
    ui.wait_for(lambda: ui.app.payment_mode == "declined", "the decline explanation")
    retry = ui.find("retry_button", "payment")
    ui.wait_for(lambda: ring_around(ui, retry), "the ring on Try another card")
    ui.screenshot("declined-ring")
    approved = next(w for w in keys(ui).focusables() if w.text == "Card OK")
    move_to(ui, approved)
    press(ui, ENTER)
    ui.wait_for(lambda: ui.app.demo_card == "approved", "the approved demo card chosen")
    move_to(ui, retry, UP)
    press(ui, ENTER)
    ui.wait_for_screen("paid")
    assert ui.kiosk.checkout.state is CheckoutState.PAID
