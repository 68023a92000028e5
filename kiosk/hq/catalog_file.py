"""Reading the back office's catalog feed from a CSV file (``kiosk hq catalog import``).

The file is the kiosk's own catalog format (docs/CATALOG.md), parsed by the kiosk's own parser
(:func:`kiosk.core.catalog_file.read_catalog`), so a feed the back office accepts is one the
kiosks accept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from pathlib import Path
from typing import Any

from kiosk.core.catalog_file import CatalogFile, read_catalog


def read_feed_products(
    path: Path, *, currency: str, tax_classes: Collection[str] | None = None
) -> list[dict[str, Any]]:
    """The products of the catalog file at ``path`` as feed rows (``FEED_FIELDS``, prices in
    minor units of ``currency``).

    ``tax_classes`` are the codes the shop's kiosks know; ``None`` accepts every code the
    file uses (the kiosks then check them when they apply the feed). Raises
    ``kiosk.core.catalog_file.CatalogRejected`` with every problem found, and ``MoneyError``
    for an unknown currency.
    """
    data = Path(path).read_bytes()
    if tax_classes is None:
        tax_classes = _tax_classes_in(data)
    products = read_catalog(data, tax_classes=tax_classes, currency=currency)
    return [dataclasses.asdict(product) for product in products]


def _tax_classes_in(data: bytes) -> set[str]:
    """Every non-empty ``tax_class`` field of the file (nothing if it cannot be read: the
    real pass then reports why)."""
    catalog_file = CatalogFile(data)
    return {
        value.strip()
        for _, row in catalog_file.rows()
        for column, value in row.items()
        if column.strip() == "tax_class" and value.strip()
    }
