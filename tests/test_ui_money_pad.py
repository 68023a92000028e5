"""The staff menu's money pad, key by key (no window needed): digits shift in from the right in
minor units, Clear and Delete, and the most digits an amount may have."""

from __future__ import annotations

from functools import reduce

from kiosk.ui.widgets.money_pad import MAX_AMOUNT_DIGITS, typed


def keys(*pressed: str, start: int = 0) -> int:
    """The amount after pressing ``pressed`` in turn on a pad showing ``start``."""
    return reduce(typed, pressed, start)


def test_digits_shift_in_from_the_right_in_minor_units() -> None:
    assert keys("1", "2", "9") == 129
    assert keys("delete", start=129) == 12
    assert keys("clear", start=129) == 0
    assert keys("0", "0", "5") == 5


def test_an_item_at_150000_rupiah_can_be_typed() -> None:
    assert keys(*"15000000") == 15_000_000  # 150,000.00 IDR, in sen: eight digits


def test_a_digit_past_the_longest_amount_is_ignored_and_the_amount_stays_whole() -> None:
    longest = int("9" * MAX_AMOUNT_DIGITS)

    assert keys("5", start=longest) == longest
    assert keys("delete", "5", start=longest) == longest // 10 * 10 + 5
    assert isinstance(keys("5", start=longest), int)


def test_keys_that_are_not_on_the_pad_change_nothing() -> None:
    assert keys("", "12", "x", "-", start=42) == 42
