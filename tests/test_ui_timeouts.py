"""The customer's timeouts, without a window: longer in an accessibility mode, and when and
how a warning offering more time appears."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from kiosk.core.checkout import Checkout, CustomerActive, Tick
from kiosk.core.checkout_events import CheckoutTimers
from kiosk.core.checkout_states import CheckoutState
from kiosk.core.shop_rules import TaxClass, TaxMode, TaxPolicy
from kiosk.ui.accessibility import MODE_ROWS, SHOP_DEFAULTS, Modes
from kiosk.ui.customer_view import timeout_warning
from kiosk.ui.i18n import Translator
from kiosk.ui.timeouts import (
    MODE_STRETCH,
    WARN_S,
    TimeoutWatch,
    timed_wait,
    timeout_stretch,
    warns_after,
)

POLICY = TaxPolicy({"standard": TaxClass("standard", Decimal("0.20"))}, TaxMode.INCLUSIVE)
START = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
TIMERS = CheckoutTimers(
    idle_prompt_after_s=60, idle_abandon_after_s=30, card_wait_s=120, receipt_choice_s=20
)


def at(seconds: float) -> datetime:
    """``seconds`` after the start of the test's morning."""
    return START + timedelta(seconds=seconds)


def test_every_accessibility_mode_stretches_the_timeouts_and_the_shops_defaults_do_not() -> None:
    assert timeout_stretch(SHOP_DEFAULTS) == 1.0
    assert MODE_STRETCH == 2.0
    for row in MODE_ROWS:
        assert timeout_stretch(SHOP_DEFAULTS.toggled(row.mode)) == MODE_STRETCH, row.mode
    assert timeout_stretch(Modes(high_contrast=True)) == MODE_STRETCH


def test_stretched_timers_are_each_that_many_times_longer() -> None:
    assert TIMERS.stretched(2.0) == CheckoutTimers(
        idle_prompt_after_s=120, idle_abandon_after_s=60, card_wait_s=240, receipt_choice_s=40
    )
    assert TIMERS.stretched(1.0) is TIMERS


def open_sale(state: CheckoutState) -> Checkout:
    """A checkout in ``state`` with an open sale whose timer started at 0 s."""
    return replace(
        Checkout.start(POLICY, timers=TIMERS), state=state, sale_id="s-1", waiting_since=at(0)
    )


def test_in_a_mode_the_walk_away_prompt_comes_after_twice_the_time() -> None:
    machine = open_sale(CheckoutState.SHOPPING)

    stretched, effects = machine.handle(Tick(at=at(61), stretch=MODE_STRETCH))
    assert (stretched.state, effects) == (CheckoutState.SHOPPING, [])
    prompted, _ = machine.handle(Tick(at=at(61)))
    assert prompted.state is CheckoutState.IDLE_PROMPT
    later, _ = machine.handle(Tick(at=at(121), stretch=MODE_STRETCH))
    assert later.state is CheckoutState.IDLE_PROMPT


def test_a_touch_on_the_paid_screen_gives_the_receipt_choice_its_time_again() -> None:
    paid = open_sale(CheckoutState.PAID)
    touched, _ = paid.handle(CustomerActive(at=at(15)))

    still, effects = touched.handle(Tick(at=at(30)))
    assert (still.state, effects) == (CheckoutState.PAID, [])
    ended, _ = touched.handle(Tick(at=at(36)))
    assert ended.state is CheckoutState.ATTRACT


def test_the_warning_comes_twenty_seconds_before_the_end_or_half_way_through_a_short_wait() -> None:
    assert WARN_S == 20.0
    assert warns_after(120) == 100
    assert warns_after(20) == 10


def test_the_screens_whose_timeouts_are_warned_of() -> None:
    assert timed_wait("payment", "waiting", False) == "card"
    assert timed_wait("payment", "authorising", False) is None  # nothing to do but wait
    assert timed_wait("payment", "declined", False) is None
    assert timed_wait("paid", "", False) == "receipt"
    assert timed_wait("thank_you", "", True) == "qr"
    assert timed_wait("thank_you", "", False) is None
    assert timed_wait("shopping", "", False) is None  # the walk-away prompt warns itself


def test_the_watch_warns_in_the_window_and_more_time_starts_the_count_again() -> None:
    now = [100.0]
    watch = TimeoutWatch(now=lambda: now[0])
    watch.follow("card", 120)
    now[0] += 99
    assert watch.warning() is None
    now[0] += 2
    assert watch.warning() == ("card", 19)
    watch.follow("card", 120)  # the same screen shown again keeps counting
    assert watch.warning() == ("card", 19)
    watch.restart()
    assert watch.warning() is None
    watch.follow(None, 0)
    assert watch.warning() is None


def test_the_warnings_words_in_english_and_german() -> None:
    english = Translator("en", "de_DE", "EUR")
    german = Translator("de", "de_DE", "EUR")

    card = timeout_warning(("card", 12), english)
    assert card is not None
    assert (card.title, card.text, card.action) == (
        "Do you need more time?", "No card yet: the payment will be cancelled in 12 seconds.",
        "More time",
    )
    idle = timeout_warning(("idle", 1), english)
    assert idle is not None and idle.text == "Your cart will be emptied in 1 second."
    receipt = timeout_warning(("receipt", 9), german)
    assert receipt is not None and receipt.action == "Mehr Zeit"
    assert "9" in receipt.text and receipt.text != "Your receipt choice closes in 9 seconds."
    assert timeout_warning(None, english) is None
