"""The shop's rules the pure core needs: tax classes and policy, cart limits, in-store codes.

These are plain frozen dataclasses. ``kiosk.config`` validates the TOML file and builds them;
the core only reads them, so it never depends on how settings are stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum


class TaxMode(StrEnum):
    """Whether shelf prices already contain tax (``inclusive``) or tax is added (``exclusive``)."""

    INCLUSIVE = "inclusive"
    EXCLUSIVE = "exclusive"


class TaxRounding(StrEnum):
    """Where tax is rounded to minor units: on each line, or once per rate on the invoice."""

    PER_LINE = "per_line"
    PER_INVOICE = "per_invoice"


@dataclass(frozen=True)
class TaxClass:
    """A named tax class, such as ``standard`` at 20 %.

    ``rate`` is a fraction (``Decimal("0.20")`` for 20 %), never a float.
    """

    code: str
    rate: Decimal
    label: str = ""


@dataclass(frozen=True)
class TaxPolicy:
    """How the shop computes tax.

    ``rounding_mode`` is one of the ``decimal`` module's rounding constants
    (``ROUND_HALF_UP`` unless configured).
    """

    classes: dict[str, TaxClass]
    mode: TaxMode = TaxMode.INCLUSIVE
    rounding: TaxRounding = TaxRounding.PER_LINE
    rounding_mode: str = ROUND_HALF_UP


@dataclass(frozen=True)
class CartLimits:
    """Limits that send the customer to an attendant when exceeded.

    ``max_cart_total_minor`` is in the currency's minor units (cents).
    """

    max_quantity_per_line: int = 99
    max_lines: int = 100
    max_cart_total_minor: int = 50_000


@dataclass(frozen=True)
class VariableMeasureLayout:
    """How an in-store EAN-13 (prefix 02 or 20-29) carries a price or a weight.

    Digits of the 13: ``prefix`` (2) + item digits + optional price check digit + value digits
    + the EAN check digit, so ``item_digits + value_digits + price_check_digit == 10``.
    ``value`` is ``"price"`` (minor units) or ``"weight"`` (grams).
    """

    prefixes: tuple[str, ...]
    item_digits: int = 5
    value_digits: int = 5
    price_check_digit: bool = False
    value: str = "price"

    def __post_init__(self) -> None:
        if self.item_digits + self.value_digits + int(self.price_check_digit) != 10:
            raise ValueError(
                "item_digits + value_digits + price_check_digit must be 10 "
                f"(got {self.item_digits} + {self.value_digits} + {int(self.price_check_digit)})"
            )
        if self.item_digits < 1 or self.value_digits < 1:
            raise ValueError("item_digits and value_digits must each be at least 1")
        if self.price_check_digit and self.value_digits not in (4, 5):
            raise ValueError("a price check digit exists only for 4- or 5-digit values")
        if self.value not in ("price", "weight"):
            raise ValueError(f"value must be 'price' or 'weight', not {self.value!r}")
        for prefix in self.prefixes:
            if prefix != "02" and not ("20" <= prefix <= "29" and len(prefix) == 2):
                raise ValueError(f"in-store prefix must be 02 or 20-29, not {prefix!r}")


@dataclass(frozen=True)
class ScanRules:
    """Shop settings that change how a scan is read: the in-store variable-measure layouts."""

    variable_measure: tuple[VariableMeasureLayout, ...] = field(default_factory=tuple)

    def layout_for(self, prefix: str) -> VariableMeasureLayout | None:
        """Return the layout configured for a two-digit EAN-13 prefix, or ``None``."""
        for layout in self.variable_measure:
            if prefix in layout.prefixes:
                return layout
        return None
