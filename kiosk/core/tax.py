"""Tax: exact sale totals and the per-class breakdown printed on the receipt.

All amounts are integers in minor units; rates are ``Decimal`` fractions; the arithmetic in
between uses exact ``Fraction`` values and rounds once, with ``TaxPolicy.rounding_mode``
(half-up unless configured). No float is ever involved, so totals never drift.

Definitions, for a line amount ``a`` (the shelf price times quantity) at rate ``r``:

* Tax-inclusive pricing (``TaxMode.INCLUSIVE``): shelf prices already contain tax.
  ``gross = a``, ``tax = round(a * r / (1 + r))``, ``net = gross - tax``.
  ``total`` is the sum of line amounts; ``subtotal`` is the net (``total - tax``).
* Tax-exclusive pricing (``TaxMode.EXCLUSIVE``): tax is added at the till.
  ``net = a``, ``tax = round(a * r)``, ``gross = net + tax``.
  ``subtotal`` is the sum of line amounts; ``total = subtotal + tax``.

Where rounding happens (``TaxPolicy.rounding``):

* ``PER_LINE``: the tax of every line is rounded, then the rounded taxes are summed per class.
* ``PER_INVOICE``: the line amounts of a class are summed first and the tax of that sum is
  rounded once; so each class (one class per rate) is rounded exactly once.

The breakdown has one entry per tax class present in the sale, in the order the classes are
configured in ``TaxPolicy.classes``. Two classes configured with the same rate get two entries
and are rounded separately. Invariants: ``total == subtotal + tax``; the breakdown's gross,
tax and net each sum to ``total``, ``tax`` and ``subtotal``; every entry has
``net + tax == gross``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from kiosk.core.money import round_fraction
from kiosk.core.shop_rules import TaxMode, TaxPolicy, TaxRounding


class TaxError(ValueError):
    """A line names a tax class the shop's ``TaxPolicy`` does not have.

    ``tax_class`` is the unknown code.
    """

    def __init__(self, tax_class: str) -> None:
        super().__init__(f"unknown tax class {tax_class!r}")
        self.tax_class = tax_class


@dataclass(frozen=True)
class TaxableLine:
    """One line of a sale as tax sees it: its amount in minor units and its tax class code.

    ``amount_minor`` is the shelf amount of the line (unit price times quantity, or the
    weighed or embedded price), tax included or not according to ``TaxPolicy.mode``.
    """

    amount_minor: int
    tax_class: str


@dataclass(frozen=True)
class TaxBreakdown:
    """The totals of one tax class, in minor units, for the receipt.

    ``rate`` is the class's rate as a fraction (``Decimal("0.20")`` for 20 %).
    ``net_minor + tax_minor == gross_minor``.
    """

    tax_class: str
    rate: Decimal
    net_minor: int
    tax_minor: int
    gross_minor: int


@dataclass(frozen=True)
class Totals:
    """The totals of a sale in minor units: before tax, tax, and what the customer pays.

    ``total_minor == subtotal_minor + tax_minor``; ``breakdown`` has one entry per tax class.
    """

    subtotal_minor: int
    tax_minor: int
    total_minor: int
    breakdown: tuple[TaxBreakdown, ...]


def _tax_of(amount_minor: int, rate: Decimal, policy: TaxPolicy) -> int:
    """Return the rounded tax in minor units contained in (inclusive) or due on (exclusive)
    ``amount_minor``."""
    exact_rate = Fraction(rate)
    if policy.mode == TaxMode.INCLUSIVE:
        exact = amount_minor * exact_rate / (1 + exact_rate)
    else:
        exact = amount_minor * exact_rate
    return round_fraction(exact, policy.rounding_mode)


def compute_totals(lines: Sequence[TaxableLine], policy: TaxPolicy) -> Totals:
    """Compute the exact totals and per-class breakdown of ``lines`` (amounts in minor units).

    See the module docstring for the definitions of inclusive/exclusive pricing and per-line/
    per-invoice rounding. Raises ``TaxError`` for a line whose tax class is not in
    ``policy.classes``. No lines give all-zero totals and an empty breakdown.
    """
    amounts: dict[str, int] = {}
    taxes: dict[str, int] = {}
    for line in lines:
        tax_class = policy.classes.get(line.tax_class)
        if tax_class is None:
            raise TaxError(line.tax_class)
        amounts[line.tax_class] = amounts.get(line.tax_class, 0) + line.amount_minor
        if policy.rounding == TaxRounding.PER_LINE:
            line_tax = _tax_of(line.amount_minor, tax_class.rate, policy)
            taxes[line.tax_class] = taxes.get(line.tax_class, 0) + line_tax

    breakdown: list[TaxBreakdown] = []
    for code, tax_class in policy.classes.items():
        if code not in amounts:
            continue
        amount = amounts[code]
        if policy.rounding == TaxRounding.PER_LINE:
            tax = taxes[code]
        else:
            tax = _tax_of(amount, tax_class.rate, policy)
        if policy.mode == TaxMode.INCLUSIVE:
            gross, net = amount, amount - tax
        else:
            gross, net = amount + tax, amount
        breakdown.append(TaxBreakdown(code, tax_class.rate, net, tax, gross))

    subtotal = sum(entry.net_minor for entry in breakdown)
    tax_total = sum(entry.tax_minor for entry in breakdown)
    return Totals(
        subtotal_minor=subtotal,
        tax_minor=tax_total,
        total_minor=subtotal + tax_total,
        breakdown=tuple(breakdown),
    )
