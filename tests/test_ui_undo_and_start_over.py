"""Mistakes on the touchscreen, undone or asked about once: Remove offers Undo for a few seconds
(the very same line comes back), and Start over asks one question, the same in the cart and
on the "Are you still there?" prompt; a double tap never answers it."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch
from kivy.uix.label import Label
from kivy.uix.widget import Widget
from ui_support import (
    MINERAL_WATER,
    ORANGE_JUICE,
    SIZES,
    KioskDriver,
    barcode_of,
    run_kiosk_ui,
    texts_in,
)

from kiosk.core.checkout_states import CheckoutState
from kiosk.ui.screens.shopping import CartRow, ShoppingScreen
from kiosk.ui.undo_offer import UNDO_S
from kiosk.ui.widgets.start_over import START_OVER_MIN_GAP_S, StartOverQuestion, open_question

BEER = "Lager beer 0.5 l"
"""An age-restricted sample item (18+)."""
LONG_NAME = "White wine Grüner Veltliner 0.75 l"
"""The sample catalog's longest name."""
QUESTION = "Empty the cart and start over?"
EPSILON = 1.0
"""Slack in pixels when comparing sides and positions."""


@pytest.fixture(params=list(SIZES))
def kiosk_ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk at each supported screen size, started, with water, beer (two) and
    orange juice in the cart."""
    session = run_kiosk_ui(tmp_path, request.node.name, request.param)
    driver = next(session)
    try:
        driver.wait_for_screen("attract")
        driver.started()
        for count, code in enumerate((MINERAL_WATER, barcode_of(BEER), ORANGE_JUICE), start=1):
            driver.scan(code)
            driver.wait_for(lambda n=count: len(driver.app.cart_rows) == n, f"{count} lines")
        driver.wait_for_screen("shopping")
        tap_row(driver, 2, "plus_button")
        driver.wait_for(lambda: driver.app.cart_rows[1]["quantity"] == 2, "two beers")
        yield driver
    finally:
        session.close()  # stops the app (the generator's finally)


def shopping_screen(ui: KioskDriver) -> ShoppingScreen:
    screen = ui.app.root.screens.get_screen("shopping")
    assert isinstance(screen, ShoppingScreen)
    return screen


def tap_row(ui: KioskDriver, line_id: int, button: str) -> None:
    """Tap ``button`` (minus, plus or remove) on the cart row of line ``line_id``."""
    cart = ui.find("cart", "shopping")
    rows = [row for row in cart.layout_manager.children
            if isinstance(row, CartRow) and row.line_id == line_id]
    assert len(rows) == 1, f"line {line_id} is not drawn"
    ui.tap(rows[0].ids[button])


def undo_shown(ui: KioskDriver) -> bool:
    """True while the Undo offer is on show and can be tapped."""
    bar = ui.find("undo_bar", "shopping")
    return bool(bar.height > 0 and bar.opacity == 1 and not ui.find("undo_button").disabled)


def cart_now(ui: KioskDriver) -> tuple[Any, ...]:
    """What the customer and the sale have: the rows on screen, the totals, the sale's lines."""
    checkout = ui.kiosk.checkout
    return (ui.app.cart_rows, ui.app.total_text, ui.app.tax_text, ui.app.item_count,
            checkout.sale_id, checkout.cart.lines, checkout.totals())


def stored_lines(ui: KioskDriver) -> list[tuple[Any, ...]]:
    return ui.read_database(
        "SELECT position, name, quantity, unit_price_minor, line_total_minor, min_age "
        "FROM sale_lines WHERE sale_id = ? ORDER BY position", ui.kiosk.checkout.sale_id,
    )


def drawn(widget: Widget) -> bool:
    """True when ``widget`` and every widget holding it are visible (not faded out)."""
    holder: Any = widget
    while holder is not None and holder is not holder.parent:
        if holder.opacity <= 0:
            return False
        holder = holder.parent
    return True


def layout_problems(top: Widget, app: Any) -> list[str]:
    """Words in ``top`` that are clipped, below the theme's smallest text at this size, outside
    the window, or overlapping other words or buttons."""
    shown = [
        w for w in top.walk(restrict=True)
        if isinstance(w, Label) and str(w.text).strip() and w.width > 0 and drawn(w)
    ]
    problems: list[str] = []
    boxes = {}
    for w in shown:
        left, bottom = w.to_window(w.x, w.y)
        boxes[w] = (left, bottom, left + w.width, bottom + w.height)
        name = f"{type(w).__name__} {w.text!r}"
        if w.font_size < app.small_sp - 0.01:
            problems.append(f"{name}: font {w.font_size:.1f} < {app.small_sp:.1f}")
        if w.texture_size[0] > w.width + EPSILON or w.texture_size[1] > w.height + EPSILON:
            problems.append(f"{name}: text {w.texture_size} in {w.size}")
        if left < -EPSILON or bottom < -EPSILON or (
            left + w.width > Window.width + EPSILON or bottom + w.height > Window.height + EPSILON
        ):
            problems.append(f"{name}: outside the window")
    for (a, box_a), (b, box_b) in combinations(boxes.items(), 2):
        if min(box_a[2], box_b[2]) - max(box_a[0], box_b[0]) > EPSILON and (
            min(box_a[3], box_b[3]) - max(box_a[1], box_b[1]) > EPSILON
        ):
            problems.append(f"{a.text!r} overlaps {b.text!r}")
    return problems


def asked(ui: KioskDriver) -> StartOverQuestion:
    """The Start over question on show."""
    question = open_question()
    assert question is not None, "no Start over question on show"
    ui.frames(3)
    return question


def answer(ui: KioskDriver, question: StartOverQuestion, button: str) -> None:
    """Tap ``button`` of ``question`` as a customer who read it (not the second tap of a
    double tap)."""
    ui.pump(START_OVER_MIN_GAP_S)
    ui.tap(question.ids[button])


def double_tap_second(ui: KioskDriver, widget: Widget) -> None:
    """The second tap of a double tap, landing on ``widget`` the moment it appeared."""
    x, y = widget.to_window(*widget.center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    touch.touch_up()
    ui.frames(3)


# --- Remove and Undo ------------------------------------------------------------------------


def test_undo_after_remove_puts_the_same_line_back_with_the_same_totals(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    before = cart_now(ui)
    ui.wait_for(lambda: len(stored_lines(ui)) == 3 and stored_lines(ui)[1][2] == 2, "saved")
    stored_before = stored_lines(ui)
    beer = ui.kiosk.checkout.cart.line(2)
    assert beer is not None and beer.min_age == 18 and beer.quantity == 2
    assert not undo_shown(ui)

    tap_row(ui, 2, "remove_button")
    ui.wait_for(lambda: len(ui.app.cart_rows) == 2, "the beer out of the cart")
    assert undo_shown(ui)
    assert ui.find("undo_text").text == f"Removed: {BEER}"
    assert ui.app.total_text != before[1]
    ui.screenshot("undo-offer")
    assert layout_problems(ui.find("undo_bar", "shopping"), ui.app) == []
    assert layout_problems(shopping_screen(ui), ui.app) == []  # nothing squeezed by the bar

    ui.tap(ui.find("undo_button", "shopping"))
    ui.wait_for(lambda: len(ui.app.cart_rows) == 3, "the beer back")
    assert cart_now(ui) == before  # the same line: name, quantity, price, age, place
    assert ui.kiosk.checkout.cart.line(2) == beer
    assert [row["age_restricted"] for row in ui.app.cart_rows] == [False, True, False]
    assert not undo_shown(ui)
    ui.wait_for(lambda: stored_lines(ui) == stored_before, "the sale stored as before")
    ui.screenshot("undone")


def test_minus_on_a_line_of_one_removes_it_with_the_same_undo(kiosk_ui: KioskDriver) -> None:
    ui = kiosk_ui
    before = cart_now(ui)
    tap_row(ui, 1, "minus_button")
    ui.wait_for(lambda: len(ui.app.cart_rows) == 2, "the water out of the cart")
    assert ui.find("undo_text", "shopping").text == "Removed: Mineral water still 1.5 l"
    ui.tap(ui.find("undo_button", "shopping"))
    ui.wait_for(lambda: len(ui.app.cart_rows) == 3, "the water back")
    assert cart_now(ui) == before


def test_the_undo_offer_ends_after_a_few_seconds(
    kiosk_ui: KioskDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    ui = kiosk_ui
    assert 4 <= UNDO_S <= 10  # long enough to notice the mistake, short enough to move on
    monkeypatch.setattr("kiosk.ui.screens.shopping.UNDO_S", 0.5)  # the test need not wait
    tap_row(ui, 3, "remove_button")
    ui.wait_for(lambda: undo_shown(ui), "the Undo offer")
    ui.wait_for(lambda: not undo_shown(ui), "the Undo offer to end", timeout_s=3)
    after = cart_now(ui)
    assert len(after[0]) == 2
    shopping_screen(ui).undo_removal()  # a late Undo
    ui.pump(0.2)
    assert cart_now(ui) == after


def test_a_new_scan_ends_the_undo_offer_and_a_late_undo_does_nothing(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    tap_row(ui, 1, "remove_button")
    ui.wait_for(lambda: undo_shown(ui), "the Undo offer")
    ui.scan(ORANGE_JUICE)
    ui.wait_for(lambda: ui.app.cart_rows[-1]["quantity"] == 2, "a second orange juice")
    assert not undo_shown(ui)
    after = cart_now(ui)
    shopping_screen(ui).undo_removal()
    ui.pump(0.2)
    assert cart_now(ui) == after
    assert [row["name"] for row in ui.app.cart_rows] == [BEER, "Orange juice 1 l"]


def test_pay_ends_the_undo_offer_and_the_removed_line_stays_out_of_the_paid_sale(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    tap_row(ui, 2, "remove_button")  # the beer: no age check at Pay now
    ui.wait_for(lambda: undo_shown(ui), "the Undo offer")
    beer_gone = ui.kiosk.checkout.cart
    sale_id = ui.kiosk.checkout.sale_id
    ui.tap(ui.find("pay_button", "shopping"))
    ui.wait_for_screen("paid")
    assert not undo_shown(ui)
    shopping_screen(ui).undo_removal()
    ui.pump(0.2)
    assert ui.kiosk.checkout.state is CheckoutState.PAID
    assert ui.kiosk.checkout.cart == beer_gone
    ui.wait_for(
        lambda: ui.read_database("SELECT state FROM sales WHERE id = ?", sale_id)
        == [("paid",)], "the sale paid",
    )
    names = ui.read_database("SELECT name FROM sale_lines WHERE sale_id = ?", sale_id)
    assert BEER not in {name for (name,) in names}


def test_leaving_the_cart_ends_the_undo_offer(kiosk_ui: KioskDriver) -> None:
    ui = kiosk_ui
    tap_row(ui, 3, "remove_button")
    ui.wait_for(lambda: undo_shown(ui), "the Undo offer")
    ui.tap(ui.find("help_button"))
    ui.wait_for_screen("needs_attendant")
    ui.tap_text("I no longer need help")
    ui.wait_for_screen("shopping")
    assert not undo_shown(ui)
    assert len(ui.app.cart_rows) == 2


def test_a_long_name_in_the_undo_offer_keeps_its_beginning_and_fits(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.scan(barcode_of(LONG_NAME))
    ui.wait_for(lambda: len(ui.app.cart_rows) == 4, "the wine in the cart")
    tap_row(ui, 4, "remove_button")
    ui.wait_for(lambda: undo_shown(ui), "the Undo offer")
    ui.screenshot("undo-offer-long-name")
    label = ui.find("undo_text", "shopping")
    assert label.text == f"Removed: {LONG_NAME}"  # Kivy shortens what it draws, at its end
    assert label.texture_size[0] <= label.width and label.texture_size[1] <= label.height
    assert layout_problems(ui.find("undo_bar", "shopping"), ui.app) == []


def test_in_german_the_undo_offer_and_the_question_fit(kiosk_ui: KioskDriver) -> None:
    ui = kiosk_ui
    ui.app.set_language("de")
    ui.frames(6)
    tap_row(ui, 2, "remove_button")
    ui.wait_for(lambda: undo_shown(ui), "the Undo offer")
    assert ui.find("undo_text", "shopping").text == f"Entfernt: {BEER}"
    assert ui.find("undo_button", "shopping").text == "Rückgängig"
    ui.screenshot("undo-offer-german")
    assert layout_problems(ui.find("undo_bar", "shopping"), ui.app) == []
    ui.tap(ui.find("start_over", "shopping"))
    question = asked(ui)
    assert texts_in(question) == [
        "Warenkorb leeren und neu beginnen?", "2 Artikel werden aus dem Warenkorb genommen.",
        "Ja, neu beginnen", "Weiter einkaufen",
    ]
    ui.screenshot("start-over-question-german")
    assert layout_problems(question, ui.app) == []


# --- Start over: one question, the same everywhere ------------------------------------------


def test_start_over_in_the_cart_asks_once_and_only_yes_empties_it(kiosk_ui: KioskDriver) -> None:
    ui = kiosk_ui
    before = cart_now(ui)
    sale_id = ui.kiosk.checkout.sale_id
    ui.tap(ui.find("start_over", "shopping"))
    question = asked(ui)
    assert texts_in(question) == [
        QUESTION, "4 items will be taken out of the cart.", "Yes, start over", "Keep shopping",
    ]
    assert cart_now(ui) == before
    ui.screenshot("start-over-question-cart")
    assert layout_problems(question, ui.app) == []
    answer(ui, question, "keep_shopping_button")
    ui.wait_for(lambda: open_question() is None, "the question to go")
    assert cart_now(ui) == before and ui.screen == "shopping"

    ui.tap(ui.find("start_over", "shopping"))
    answer(ui, asked(ui), "confirm_start_over_button")  # one confirmation, and that is all
    ui.wait_for_screen("attract")
    assert open_question() is None
    assert ui.kiosk.checkout.cart.is_empty
    ui.wait_for(
        lambda: ui.read_database("SELECT state, close_reason FROM sales WHERE id = ?", sale_id)
        == [("abandoned", "customer_cancelled")], "the sale recorded as cancelled",
    )


def test_a_double_tap_on_start_over_in_the_cart_does_not_confirm(kiosk_ui: KioskDriver) -> None:
    ui = kiosk_ui
    before = cart_now(ui)
    ui.tap(ui.find("start_over", "shopping"))
    question = asked(ui)
    double_tap_second(ui, question.ids.confirm_start_over_button)
    assert open_question() is question and ui.screen == "shopping"
    assert cart_now(ui) == before


def idle_prompt(ui: KioskDriver) -> Widget:
    """The "Are you still there?" prompt, once it is up."""
    ui.advance(ui.settings.timeouts.idle_prompt_after_s + 1)
    prompt = ui.app._idle_prompt
    assert prompt is not None
    ui.wait_for(lambda: prompt.parent is not None, "the are-you-still-there prompt")
    return prompt


def test_start_over_on_the_idle_prompt_asks_the_same_question_once(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    before = cart_now(ui)
    prompt = idle_prompt(ui)
    ui.tap(prompt.ids.start_over_button)
    question = asked(ui)
    assert ui.kiosk.checkout.state is CheckoutState.IDLE_PROMPT  # the countdown runs on
    texts = texts_in(question)
    assert texts[:2] == [QUESTION, "4 items will be taken out of the cart."]
    assert texts[2].startswith("Your cart will be emptied in ")
    assert texts[3:] == ["Yes, start over", "Keep shopping"]  # as in the cart
    assert cart_now(ui) == before
    ui.screenshot("start-over-question-idle-prompt")
    assert layout_problems(question, ui.app) == []

    answer(ui, question, "keep_shopping_button")  # as "Yes, continue" on the prompt
    ui.wait_for(lambda: prompt.parent is None and open_question() is None, "both to close")
    assert ui.kiosk.checkout.state is CheckoutState.SHOPPING
    assert cart_now(ui) == before

    prompt = idle_prompt(ui)
    ui.tap(prompt.ids.start_over_button)
    answer(ui, asked(ui), "confirm_start_over_button")
    ui.wait_for_screen("attract")
    ui.wait_for(lambda: prompt.parent is None and open_question() is None, "both to close")
    assert ui.kiosk.checkout.cart.is_empty


def test_a_double_tap_on_start_over_on_the_idle_prompt_does_not_confirm(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    before = cart_now(ui)
    prompt = idle_prompt(ui)
    start_over = prompt.ids.start_over_button
    ui.tap(start_over)
    question = asked(ui)
    double_tap_second(ui, start_over)
    double_tap_second(ui, question.ids.confirm_start_over_button)
    assert open_question() is question
    assert ui.kiosk.checkout.state is CheckoutState.IDLE_PROMPT
    assert cart_now(ui) == before


def test_walking_away_from_the_question_abandons_the_sale_as_before(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    sale_id = ui.kiosk.checkout.sale_id
    prompt = idle_prompt(ui)
    ui.tap(prompt.ids.start_over_button)
    asked(ui)
    ui.advance(ui.settings.timeouts.idle_abandon_after_s + 1)
    ui.wait_for_screen("attract")
    ui.wait_for(lambda: prompt.parent is None and open_question() is None, "both to close")
    ui.wait_for(
        lambda: ui.read_database("SELECT state, close_reason FROM sales WHERE id = ?", sale_id)
        == [("abandoned", "idle_timeout")], "the sale abandoned by the walk-away timeout",
    )
