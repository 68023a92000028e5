"""The rules behind operation without touch, without a window: the focus's reading order, what
each key press means (one press, one action) and the focus ring's colours."""

from __future__ import annotations

import pytest

from kiosk.ui.focus_order import (
    Focusable,
    Node,
    Rect,
    first_focus,
    nearest,
    reading_order,
    step,
    visible_part,
)
from kiosk.ui.key_router import (
    BURST_GAP_S,
    ENTER,
    ESCAPE,
    F1,
    F2,
    HELP_KEY,
    STUCK_S,
    TAB,
    Action,
    KeyRouter,
)
from kiosk.ui.theme import FOCUS_GROUNDS, HIGH_CONTRAST, THEME, Palette, contrast_ratio

SHIFT, CTRL = 304, 305
DOWN, UP, RIGHT, LEFT = 274, 273, 275, 276
NUMPAD_2, NUMPAD_ENTER = 258, 271
SLASH = 47
WCAG_FOCUS = 3.0


def control(key: str, x: float, y: float, *containers: Node, w: float = 100, h: float = 50,
            **flags: bool) -> Focusable:
    """A button at (x, y) of size w x h inside ``containers`` (outermost first)."""
    rect = Rect(x, y, w, h)
    return Focusable(key, rect, (*containers, Node(key, rect)), **flags)


def keys_of(items: list[Focusable]) -> list[str]:
    return [str(item.key) for item in items]


# --------------------------------------------------------------------------- reading order


def test_a_row_of_buttons_reads_left_to_right_and_rows_top_to_bottom() -> None:
    items = [
        control("no receipt", 700, 100), control("print", 100, 100),
        control("help", 700, 700), control("qr", 400, 110),
    ]
    assert keys_of(reading_order(items)) == ["help", "print", "qr", "no receipt"]


def test_a_column_is_read_to_its_end_before_the_column_beside_it() -> None:
    cart = Node("cart", Rect(0, 0, 800, 800))
    side = Node("side", Rect(820, 0, 460, 800))
    items = [
        control("pay", 830, 300, side), control("start over", 830, 200, side),
        control("line 1 +", 600, 700, cart), control("line 2 +", 600, 600, cart),
        control("line 4 +", 600, 280, cart), control("undo", 600, 20, cart),
    ]
    assert keys_of(reading_order(items)) == [
        "line 1 +", "line 2 +", "line 4 +", "undo", "pay", "start over",
    ]


def test_a_declared_order_puts_a_container_after_its_siblings_wherever_it_is() -> None:
    top_bar = Node("top bar", Rect(0, 700, 1280, 100), order=1)
    screen = Node("screen", Rect(0, 0, 1280, 700))
    items = [
        control("help", 1100, 720, top_bar), control("language", 800, 720, top_bar),
        control("pay", 900, 100, screen),
    ]
    assert keys_of(reading_order(items)) == ["pay", "language", "help"]


def test_next_and_previous_wrap_around_and_start_at_an_end_without_a_focus() -> None:
    ordered = reading_order([control(name, 100 * i, 0) for i, name in enumerate("abc")])
    assert step(ordered, "a", forward=True).key == "b"  # type: ignore[union-attr]
    assert step(ordered, "c", forward=True).key == "a"  # type: ignore[union-attr]
    assert step(ordered, "a", forward=False).key == "c"  # type: ignore[union-attr]
    assert step(ordered, "gone", forward=True).key == "a"  # type: ignore[union-attr]
    assert step(ordered, None, forward=False).key == "c"  # type: ignore[union-attr]
    assert step([], "a", forward=True) is None


def test_the_focus_starts_on_a_declared_default_else_the_primary_action_else_the_first() -> None:
    plain = [control("back", 0, 0), control("retry", 200, 0, primary=True)]
    assert first_focus(reading_order(plain)).key == "retry"  # type: ignore[union-attr]
    declared = [*plain, control("switch", 0, 300, default=True)]
    assert first_focus(reading_order(declared)).key == "switch"  # type: ignore[union-attr]
    assert first_focus(reading_order([control("done", 0, 0)])).key == "done"  # type: ignore[union-attr]
    assert first_focus([]) is None


def test_the_focus_starts_on_the_screen_not_on_a_primary_button_of_a_later_group() -> None:
    screen = Node("screen", Rect(0, 100, 1280, 600))
    demo = Node("demo strip", Rect(0, 0, 1280, 90), order=2)
    ordered = reading_order([
        control("card ok", 600, 20, demo, primary=True), control("back", 100, 200, screen),
    ])
    assert first_focus(ordered).key == "back"  # type: ignore[union-attr]


def test_when_the_focused_control_goes_the_nearest_one_takes_its_place() -> None:
    ordered = reading_order([control("line 1", 0, 600), control("line 2", 0, 500),
                             control("pay", 900, 100)])
    gone = Rect(0, 480, 100, 50)
    assert nearest(ordered, gone).key == "line 2"  # type: ignore[union-attr]
    assert nearest([], gone) is None


def test_the_control_taking_the_place_of_one_that_went_is_from_its_own_container() -> None:
    cart = Node("cart", Rect(0, 100, 800, 600))
    demo = Node("demo strip", Rect(0, 0, 1280, 90))
    ordered = reading_order([
        control("line 2 remove", 600, 500, cart), control("card ok", 100, 20, demo),
    ])
    undo_bar_was = Rect(100, 110, 100, 50)  # nearer the demo strip than to line 2
    chosen = nearest(ordered, undo_bar_was, ("cart", "undo bar", "undo"))
    assert chosen is not None and chosen.key == "line 2 remove"


def test_a_control_shows_only_where_every_clip_lets_it_through() -> None:
    window = Rect(0, 0, 1280, 800)
    cart = Rect(0, 100, 800, 500)
    assert visible_part(Rect(10, 550, 100, 100), [window, cart]) == Rect(10, 550, 100, 50)
    assert visible_part(Rect(10, 20, 100, 60), [window, cart]) is None
    assert visible_part(Rect(1300, 300, 50, 50), [window]) is None


# ----------------------------------------------------------------------------- key router


class Keys:
    """A router and a clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0
        self.bursts: list[str] = []
        self.router = KeyRouter(on_burst=self.bursts.append)

    def press(self, key: int, codepoint: str = "", modifiers: tuple[str, ...] = (),
              hold_s: float = 0.08) -> Action | None:
        self.router.key_down(key, codepoint, list(modifiers), self.now)
        self.now += hold_s
        return self.router.key_up(key, self.now)

    def later(self, seconds: float) -> list[Action]:
        self.now += seconds
        return self.router.due(self.now)


def test_each_key_means_its_action_when_it_comes_up() -> None:
    keys = Keys()
    assert keys.press(TAB) is Action.NEXT
    assert keys.press(TAB, modifiers=("shift",)) is Action.PREVIOUS
    assert [keys.press(k) for k in (DOWN, RIGHT, UP, LEFT)] == [
        Action.NEXT, Action.NEXT, Action.PREVIOUS, Action.PREVIOUS,
    ]
    assert keys.press(ENTER) is Action.ACTIVATE
    assert keys.press(NUMPAD_ENTER) is Action.ACTIVATE
    assert keys.press(ESCAPE) is Action.BACK
    assert keys.press(8) is Action.BACK  # Backspace
    assert keys.press(F1) is Action.HELP
    assert keys.press(HELP_KEY) is Action.HELP
    assert keys.press(F2) is Action.ACCESSIBILITY
    assert keys.press(NUMPAD_2) is Action.NEXT  # Num Lock off: the keypad's down arrow
    assert keys.press(NUMPAD_2, "Ă", ("numlock",)) is None  # Num Lock on: a digit
    assert keys.press(ord("a"), "a") is None
    assert keys.router.knows(ENTER) and not keys.router.knows(ord("a"))


def test_a_key_does_nothing_when_it_goes_down_only() -> None:
    router = KeyRouter()
    router.key_down(ENTER, None, [], 1.0)
    assert router.next_due() is None


def test_holding_a_key_acts_once_however_often_it_repeats() -> None:
    keys = Keys()
    keys.router.key_down(DOWN, None, [], keys.now)
    for repeat in range(30):  # the keyboard's auto-repeat, every 30 ms for a second
        keys.router.key_down(DOWN, None, [], keys.now + 0.5 + repeat * 0.03)
    assert keys.router.key_up(DOWN, keys.now + 1.5) is Action.NEXT
    assert keys.router.key_up(DOWN, keys.now + 1.6) is None  # a second key-up: nothing


def test_two_keys_pressed_together_do_nothing_whichever_comes_up_first() -> None:
    keys = Keys()
    router = keys.router
    router.key_down(ENTER, None, [], 1.0)
    router.key_down(DOWN, None, [], 1.02)
    assert router.key_up(ENTER, 1.1) is None
    assert router.key_up(DOWN, 1.2) is None
    router.key_down(DOWN, None, [], 2.0)
    router.key_down(ENTER, None, [], 2.05)
    assert router.key_up(DOWN, 2.1) is None
    assert router.key_up(ENTER, 2.3) is None
    assert keys.press(ENTER) is Action.ACTIVATE  # alone again: it acts


def test_shift_is_no_chord_but_control_makes_a_shortcut_that_is_not_ours() -> None:
    router = KeyRouter()
    router.key_down(SHIFT, None, ["shift"], 1.0)
    router.key_down(TAB, None, ["shift"], 1.05)
    assert router.key_up(TAB, 1.1) is Action.PREVIOUS
    router.key_up(SHIFT, 1.2)
    router.key_down(CTRL, None, ["ctrl"], 2.0)
    router.key_down(ENTER, None, ["ctrl"], 2.05)
    assert router.key_up(ENTER, 2.1) is None


def test_a_key_whose_key_up_was_lost_does_not_lock_the_keyboard() -> None:
    router = KeyRouter()
    router.key_down(DOWN, None, [], 1.0)  # its key-up went to another window
    router.key_down(ENTER, None, [], 1.0 + STUCK_S + 0.1)
    assert router.key_up(ENTER, 1.0 + STUCK_S + 0.2) is Action.ACTIVATE


def test_a_question_mark_asks_for_help_once_no_burst_follows_it() -> None:
    keys = Keys()
    keys.router.key_down(SLASH, "/", ["shift"], keys.now)
    keys.router.text_input("?", keys.now + 0.001)  # "?" is Shift and "/" on this layout
    assert keys.router.key_up(SLASH, keys.now + 0.03) is None  # it waits for the burst gap
    due = keys.router.next_due()
    assert due is not None and due == pytest.approx(keys.now + BURST_GAP_S)
    assert keys.later(BURST_GAP_S + 0.001) == [Action.HELP]
    assert keys.later(1.0) == []


def test_an_enter_that_ends_a_scanners_burst_is_no_press_and_hands_over_the_text() -> None:
    keys = Keys()
    router = keys.router
    for digit in "4006381333931":  # a keyboard-wedge scanner: a key every 8 ms
        router.key_down(ord(digit), digit, [], keys.now)
        router.key_up(ord(digit), keys.now + 0.003)
        keys.now += 0.008
    router.key_down(ENTER, None, [], keys.now)
    assert router.key_up(ENTER, keys.now + 0.003) is None
    assert keys.bursts == ["4006381333931"]
    assert keys.later(1.0) == []
    keys.now += 1.0
    assert keys.press(ENTER) is Action.ACTIVATE  # a person's Enter a second later acts


def test_a_question_mark_inside_a_burst_asks_for_nothing() -> None:
    keys = Keys()
    router = keys.router
    for index, char in enumerate("?12"):
        router.key_down(SLASH if char == "?" else ord(char), char, [], keys.now + index * 0.01)
        router.key_up(SLASH if char == "?" else ord(char), keys.now + index * 0.01 + 0.004)
    assert keys.later(1.0) == []
    assert keys.bursts == []  # no Enter ended it: nothing is handed over either


def test_a_person_typing_a_digit_then_enter_slowly_presses_enter() -> None:
    keys = Keys()
    assert keys.press(ord("5"), "5") is None
    keys.now += 0.3
    assert keys.press(ENTER) is Action.ACTIVATE
    assert keys.bursts == []


# ---------------------------------------------------------------------------- ring colours


@pytest.mark.parametrize(("name", "palette"), [("normal", THEME), ("high contrast", HIGH_CONTRAST)])
def test_the_focus_ring_stands_out_at_3_to_1_on_everything_it_can_lie_on(
    name: str, palette: Palette
) -> None:
    assert contrast_ratio(palette.focus, palette.focus_halo) >= WCAG_FOCUS, name
    too_faint = [
        ground for ground in FOCUS_GROUNDS
        if max(contrast_ratio(palette.focus, getattr(palette, ground)),
               contrast_ratio(palette.focus_halo, getattr(palette, ground))) < WCAG_FOCUS
    ]
    assert too_faint == [], f"{name}: the ring fades into {too_faint}"
    assert contrast_ratio(palette.focus, palette.background) >= WCAG_FOCUS, name
