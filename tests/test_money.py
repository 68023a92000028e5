"""Money: minor units per currency, parsing typed prices, formatting for the screen."""

from __future__ import annotations

import decimal
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.money import (
    MAX_MINOR,
    MoneyError,
    currency_exponent,
    format_money,
    parse_major,
    round_fraction,
    to_minor,
)

ALL_ROUNDING_MODES = [
    decimal.ROUND_05UP,
    decimal.ROUND_CEILING,
    decimal.ROUND_DOWN,
    decimal.ROUND_FLOOR,
    decimal.ROUND_HALF_DOWN,
    decimal.ROUND_HALF_EVEN,
    decimal.ROUND_HALF_UP,
    decimal.ROUND_UP,
]


@pytest.mark.parametrize(("currency", "digits"), [("JPY", 0), ("EUR", 2), ("KWD", 3)])
def test_each_currency_has_its_own_number_of_minor_digits(currency: str, digits: int) -> None:
    assert currency_exponent(currency) == digits


def test_an_unknown_currency_code_is_refused() -> None:
    with pytest.raises(MoneyError) as caught:
        currency_exponent("XYZ")
    assert caught.value.reason == "unknown_currency"


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("1234", "JPY", 1234),
        ("12.34", "EUR", 1234),
        ("12.340", "EUR", 1234),
        ("0.5", "EUR", 50),
        ("1.234", "KWD", 1234),
        ("-3.10", "EUR", -310),
        ("1E+2", "JPY", 100),
        ("0", "KWD", 0),
    ],
)
def test_a_decimal_amount_converts_exactly_to_minor_units(
    amount: str, currency: str, minor: int
) -> None:
    assert to_minor(Decimal(amount), currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency"), [("1.5", "JPY"), ("12.345", "EUR"), ("1.2345", "KWD")]
)
def test_an_amount_finer_than_the_currency_minor_unit_is_refused(
    amount: str, currency: str
) -> None:
    with pytest.raises(MoneyError) as caught:
        to_minor(Decimal(amount), currency)
    assert caught.value.reason == "too_many_decimals"


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_a_non_finite_decimal_is_refused(amount: str) -> None:
    with pytest.raises(MoneyError) as caught:
        to_minor(Decimal(amount), "EUR")
    assert caught.value.reason == "not_finite"


def test_an_amount_beyond_what_sqlite_can_store_is_refused() -> None:
    with pytest.raises(MoneyError) as caught:
        to_minor(Decimal("1E+999999999"), "EUR")
    assert caught.value.reason == "too_large"
    with pytest.raises(MoneyError) as caught:
        to_minor(Decimal(MAX_MINOR + 1).scaleb(-2), "EUR")
    assert caught.value.reason == "too_large"
    assert to_minor(Decimal(MAX_MINOR).scaleb(-2), "EUR") == MAX_MINOR


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("1234", "JPY", 1234),
        ("0", "JPY", 0),
        ("12.34", "EUR", 1234),
        ("12.3", "EUR", 1230),
        ("12", "EUR", 1200),
        ("  7.05 ", "EUR", 705),
        ("007.05", "EUR", 705),
        ("1.234", "KWD", 1234),
        ("0.001", "KWD", 1),
    ],
)
def test_a_typed_price_in_major_units_is_parsed_to_minor_units(
    text: str, currency: str, minor: int
) -> None:
    assert parse_major(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "reason"),
    [
        ("", "EUR", "empty"),
        ("   ", "EUR", "empty"),
        ("-1.00", "EUR", "negative"),
        ("NaN", "EUR", "not_finite"),
        ("inf", "EUR", "not_finite"),
        ("-Infinity", "EUR", "not_finite"),
        ("1e3", "EUR", "exponent"),
        ("1.5E-2", "EUR", "exponent"),
        ("1,50", "EUR", "malformed"),
        ("+1", "EUR", "malformed"),
        (".5", "EUR", "malformed"),
        ("1.", "EUR", "malformed"),
        ("1.2.3", "EUR", "malformed"),
        ("12 EUR", "EUR", "malformed"),
        ("1_000", "EUR", "malformed"),
        ("١٢", "EUR", "malformed"),
        ("12.0", "JPY", "too_many_decimals"),
        ("12.345", "EUR", "too_many_decimals"),
        ("12.3400", "KWD", "too_many_decimals"),
        ("99999999999999999999", "EUR", "too_large"),
    ],
)
def test_a_malformed_typed_price_is_refused_with_a_reason(
    text: str, currency: str, reason: str
) -> None:
    with pytest.raises(MoneyError) as caught:
        parse_major(text, currency)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


@given(
    minor=st.integers(min_value=0, max_value=10**15),
    currency=st.sampled_from(["JPY", "EUR", "KWD"]),
)
def test_minor_units_written_in_major_units_parse_back_to_the_same_amount(
    minor: int, currency: str
) -> None:
    exponent = currency_exponent(currency)
    text = f"{Decimal(minor).scaleb(-exponent):f}"
    assert parse_major(text, currency) == minor


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "shown"),
    [
        (1234, "EUR", "en_IE", "€12.34"),
        (1234, "EUR", "de_DE", "12,34\xa0€"),
        (123456, "EUR", "fr_FR", "1\u202f234,56\xa0€"),
        (1234, "JPY", "ja_JP", "￥1,234"),
        (1234, "JPY", "en_US", "¥1,234"),
        (1234, "KWD", "en_US", "KWD1.234"),
        (5, "EUR", "en_IE", "€0.05"),
    ],
)
def test_an_amount_is_shown_in_the_language_number_format_with_the_currency_digits(
    minor: int, currency: str, locale: str, shown: str
) -> None:
    assert format_money(minor, currency, locale) == shown


def test_the_language_never_changes_the_currency_shown() -> None:
    german_yen = format_money(1234, "JPY", "de_DE")
    assert "¥" in german_yen
    assert "€" not in german_yen
    assert "1.234" in german_yen


@pytest.mark.parametrize(
    ("value", "rounding", "expected"),
    [
        (Fraction(5, 2), ROUND_HALF_UP, 3),
        (Fraction(-5, 2), ROUND_HALF_UP, -3),
        (Fraction(5, 2), ROUND_HALF_EVEN, 2),
        (Fraction(7, 2), ROUND_HALF_EVEN, 4),
        (Fraction(29, 10), ROUND_DOWN, 2),
        (Fraction(-29, 10), ROUND_DOWN, -2),
        (Fraction(1, 3), ROUND_HALF_UP, 0),
        (Fraction(2, 3), ROUND_HALF_UP, 1),
        (Fraction(-2, 3), ROUND_HALF_UP, -1),
        (Fraction(10**40 + 1, 2), ROUND_HALF_UP, 10**40 // 2 + 1),
    ],
)
def test_an_exact_fraction_rounds_with_the_decimal_rounding_mode(
    value: Fraction, rounding: str, expected: int
) -> None:
    assert round_fraction(value, rounding) == expected


@given(
    numerator=st.integers(min_value=-(10**30), max_value=10**30),
    denominator=st.integers(min_value=1, max_value=10**6),
    rounding=st.sampled_from(ALL_ROUNDING_MODES),
)
def test_rounding_a_fraction_agrees_with_decimal_on_exactly_representable_values(
    numerator: int, denominator: int, rounding: str
) -> None:
    # Denominators 2^a * 5^b make fractions a Decimal can hold exactly: a fair oracle.
    exact_denominator = 2 ** (denominator % 7) * 5 ** (denominator % 5)
    value = Fraction(numerator, exact_denominator)
    with localcontext(prec=100):
        as_decimal = Decimal(numerator) / Decimal(exact_denominator)
        expected = int(as_decimal.to_integral_value(rounding=rounding))
    assert round_fraction(value, rounding) == expected
    any_fraction = Fraction(numerator, denominator)
    assert abs(round_fraction(any_fraction, rounding) - any_fraction) < 1
