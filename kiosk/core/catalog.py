"""The catalog model: what a product is and how a scan finds it."""

from __future__ import annotations

from dataclasses import dataclass


def plu_code(item_key: str) -> str:
    """Return the catalog code under which a variable-measure item (a PLU) is stored."""
    return f"plu:{item_key}"


@dataclass(frozen=True)
class Product:
    """One sellable item.

    ``code`` is the lookup key: a 14-digit GTIN for barcoded items, or ``plu:<digits>`` for
    variable-measure items whose in-store EAN-13 carries a price or weight.
    ``price_minor`` is the shelf price in minor units; for items sold by weight,
    ``unit_price_per_kg_minor`` is the price of one kilogram. ``min_age`` is the minimum age
    in years for age-restricted items, else ``None``.
    """

    code: str
    name: str
    price_minor: int
    tax_class: str
    min_age: int | None = None
    sold_by_weight: bool = False
    unit_price_per_kg_minor: int | None = None
    department: str | None = None

    @property
    def is_plu(self) -> bool:
        """True for a variable-measure item looked up by its in-store item key."""
        return self.code.startswith("plu:")
