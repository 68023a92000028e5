"""Tax: inclusive and exclusive pricing, per-line and per-invoice rounding, exact totals."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.shop_rules import TaxClass, TaxMode, TaxPolicy, TaxRounding
from kiosk.core.tax import TaxableLine, TaxBreakdown, TaxError, Totals, compute_totals

STANDARD = TaxClass("standard", Decimal("0.20"), "Standard 20 %")
REDUCED = TaxClass("reduced", Decimal("0.055"), "Reduced 5.5 %")
ZERO = TaxClass("zero", Decimal("0"), "Zero rated")
SEVEN = TaxClass("seven", Decimal("0.07"), "7 %")
CLASSES = {tax_class.code: tax_class for tax_class in (STANDARD, REDUCED, ZERO, SEVEN)}


def policy(
    mode: TaxMode = TaxMode.INCLUSIVE,
    rounding: TaxRounding = TaxRounding.PER_LINE,
    **extra: str,
) -> TaxPolicy:
    return TaxPolicy(classes=CLASSES, mode=mode, rounding=rounding, **extra)


def lines(*pairs: tuple[int, str]) -> list[TaxableLine]:
    return [TaxableLine(amount, tax_class) for amount, tax_class in pairs]


def test_an_inclusive_price_contains_its_tax_and_the_total_is_the_shelf_price() -> None:
    totals = compute_totals(lines((1200, "standard")), policy())
    assert totals == Totals(
        subtotal_minor=1000,
        tax_minor=200,
        total_minor=1200,
        breakdown=(TaxBreakdown("standard", Decimal("0.20"), 1000, 200, 1200),),
    )


def test_an_exclusive_price_has_its_tax_added_on_top() -> None:
    totals = compute_totals(lines((1000, "standard")), policy(TaxMode.EXCLUSIVE))
    assert totals == Totals(
        subtotal_minor=1000,
        tax_minor=200,
        total_minor=1200,
        breakdown=(TaxBreakdown("standard", Decimal("0.20"), 1000, 200, 1200),),
    )


def test_inclusive_tax_is_rounded_on_every_line_when_rounding_per_line() -> None:
    # 100 at 20 % inclusive holds 16.67 of tax: 17 on each of three lines.
    three = lines((100, "standard"), (100, "standard"), (100, "standard"))
    totals = compute_totals(three, policy(rounding=TaxRounding.PER_LINE))
    assert (totals.subtotal_minor, totals.tax_minor, totals.total_minor) == (249, 51, 300)


def test_inclusive_tax_is_rounded_once_per_class_when_rounding_per_invoice() -> None:
    # 300 at 20 % inclusive holds exactly 50 of tax.
    three = lines((100, "standard"), (100, "standard"), (100, "standard"))
    totals = compute_totals(three, policy(rounding=TaxRounding.PER_INVOICE))
    assert (totals.subtotal_minor, totals.tax_minor, totals.total_minor) == (250, 50, 300)


def test_exclusive_tax_rounding_per_line_and_per_invoice_differ_as_defined() -> None:
    # 5 at 10 % is 0.5 of tax: half-up gives 1 per line, but 15 * 10 % = 1.5 gives 2 once.
    ten = TaxClass("ten", Decimal("0.10"))
    three = [TaxableLine(5, "ten")] * 3
    per_line = TaxPolicy({"ten": ten}, TaxMode.EXCLUSIVE, TaxRounding.PER_LINE)
    per_invoice = TaxPolicy({"ten": ten}, TaxMode.EXCLUSIVE, TaxRounding.PER_INVOICE)
    assert compute_totals(three, per_line).tax_minor == 3
    assert compute_totals(three, per_invoice).tax_minor == 2
    assert compute_totals(three, per_invoice).total_minor == 17


def test_half_a_minor_unit_of_tax_rounds_up_by_default_and_to_even_when_configured() -> None:
    ten = TaxClass("ten", Decimal("0.10"))
    half_up = TaxPolicy({"ten": ten}, TaxMode.EXCLUSIVE)
    half_even = TaxPolicy({"ten": ten}, TaxMode.EXCLUSIVE, rounding_mode=ROUND_HALF_EVEN)
    assert compute_totals([TaxableLine(25, "ten")], half_up).tax_minor == 3
    assert compute_totals([TaxableLine(25, "ten")], half_even).tax_minor == 2


def test_the_breakdown_has_one_entry_per_class_in_the_configured_order() -> None:
    sale = lines((550, "zero"), (1200, "standard"), (1055, "reduced"), (600, "standard"))
    totals = compute_totals(sale, policy())
    assert [entry.tax_class for entry in totals.breakdown] == ["standard", "reduced", "zero"]
    standard, reduced, zero = totals.breakdown
    assert standard == TaxBreakdown("standard", Decimal("0.20"), 1500, 300, 1800)
    assert reduced == TaxBreakdown("reduced", Decimal("0.055"), 1000, 55, 1055)
    assert zero == TaxBreakdown("zero", Decimal("0"), 550, 0, 550)
    assert totals.total_minor == 1800 + 1055 + 550
    assert totals.tax_minor == 355


def test_a_line_with_an_unknown_tax_class_is_refused() -> None:
    with pytest.raises(TaxError) as caught:
        compute_totals(lines((100, "standard"), (100, "luxury")), policy())
    assert caught.value.tax_class == "luxury"
    assert isinstance(caught.value, ValueError)


def test_a_sale_without_lines_totals_zero_with_an_empty_breakdown() -> None:
    assert compute_totals([], policy()) == Totals(0, 0, 0, ())


def test_huge_amounts_stay_exact_to_the_minor_unit() -> None:
    # 10^17 + 7 at 7 % exclusive: 7_000_000_000_000_000.49 -> 7_000_000_000_000_000.
    amount = 10**17 + 7
    totals = compute_totals([TaxableLine(amount, "seven")], policy(TaxMode.EXCLUSIVE))
    assert totals.tax_minor == 7 * 10**15
    assert totals.total_minor == amount + 7 * 10**15


def half_up(value: Fraction) -> int:
    """An independent half-up rounding of a non-negative fraction, as the oracle."""
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def exact_tax(amount: int, rate: Decimal, mode: TaxMode) -> Fraction:
    exact_rate = Fraction(rate)
    if mode == TaxMode.INCLUSIVE:
        return amount * exact_rate / (1 + exact_rate)
    return amount * exact_rate


sale_lines = st.lists(
    st.builds(
        TaxableLine,
        amount_minor=st.integers(min_value=0, max_value=10**12),
        tax_class=st.sampled_from(sorted(CLASSES)),
    ),
    max_size=30,
)
modes = st.sampled_from(list(TaxMode))
roundings = st.sampled_from(list(TaxRounding))


@given(sale=sale_lines, mode=modes, rounding=roundings)
def test_totals_always_add_up_exactly_in_integer_minor_units(
    sale: list[TaxableLine], mode: TaxMode, rounding: TaxRounding
) -> None:
    totals = compute_totals(sale, policy(mode, rounding))
    assert totals.total_minor == totals.subtotal_minor + totals.tax_minor
    assert sum(entry.gross_minor for entry in totals.breakdown) == totals.total_minor
    assert sum(entry.tax_minor for entry in totals.breakdown) == totals.tax_minor
    assert sum(entry.net_minor for entry in totals.breakdown) == totals.subtotal_minor
    for entry in totals.breakdown:
        assert entry.net_minor + entry.tax_minor == entry.gross_minor
        assert entry.rate == CLASSES[entry.tax_class].rate
    amounts = sum(line.amount_minor for line in sale)
    if mode == TaxMode.INCLUSIVE:
        assert totals.total_minor == amounts
    else:
        assert totals.subtotal_minor == amounts
    numbers = [totals.subtotal_minor, totals.tax_minor, totals.total_minor]
    for entry in totals.breakdown:
        numbers += [entry.net_minor, entry.tax_minor, entry.gross_minor]
    assert all(type(number) is int for number in numbers)


@given(sale=sale_lines, mode=modes)
def test_per_invoice_rounding_rounds_the_exact_tax_of_each_class_once(
    sale: list[TaxableLine], mode: TaxMode
) -> None:
    totals = compute_totals(sale, policy(mode, TaxRounding.PER_INVOICE))
    for entry in totals.breakdown:
        amount = sum(line.amount_minor for line in sale if line.tax_class == entry.tax_class)
        exact = exact_tax(amount, entry.rate, mode)
        assert entry.tax_minor == half_up(exact)
        assert abs(entry.tax_minor - exact) <= Fraction(1, 2)


@given(sale=sale_lines, mode=modes)
def test_per_line_rounding_sums_each_line_tax_rounded_on_its_own(
    sale: list[TaxableLine], mode: TaxMode
) -> None:
    totals = compute_totals(sale, policy(mode, TaxRounding.PER_LINE))
    expected = sum(
        half_up(exact_tax(line.amount_minor, CLASSES[line.tax_class].rate, mode)) for line in sale
    )
    assert totals.tax_minor == expected
    exact_sum = sum(
        (exact_tax(line.amount_minor, CLASSES[line.tax_class].rate, mode) for line in sale),
        Fraction(0),
    )
    assert abs(totals.tax_minor - exact_sum) <= Fraction(len(sale), 2)
