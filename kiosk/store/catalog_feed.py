"""Applying the back office's catalog feed to the kiosk's catalog, all or nothing.

The feed (``kiosk.wire.CatalogFeed``) is the whole catalog the back office sells.
Each product is checked with exactly the rules of a CSV import (``kiosk.core.catalog_rows``):
the feed's integer fields are turned into the text a catalog file would carry (minor units
into major-unit text, ``plu:<digits>`` codes into the ``plu`` column) and run through the same
validator, so a product the kiosk would refuse from a file is refused from the back office
too. Only a feed without a single problem is applied: in one transaction the whole catalog
is replaced by the feed's. A feed is applied only when ``[catalog] source = "backoffice"``,
where CSV imports are refused, so products left from an earlier CSV import (a shop that
switched to its back office) go too: the back office owns the catalog.

A cart in progress is not affected: each cart line keeps the unit price it was scanned at
(``kiosk.core.cart.CartLine.unit_price_minor``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from kiosk.core.catalog_rows import RowProblem, validate_rows
from kiosk.core.money import currency_exponent
from kiosk.store.db import immediate_transaction
from kiosk.store.products import ProductCatalog
from kiosk.wire import CatalogFeed

log = logging.getLogger(__name__)

SOURCE = "backoffice"
"""The ``products.source`` of rows written from the feed."""

_HEADER = (
    "barcode", "plu", "name", "price", "tax_class", "min_age", "sold_by_weight",
    "unit_price_per_kg", "department",
)
"""The catalog-file columns a feed product is checked as."""

_PLU_PREFIX = "plu:"


class CatalogFeedRejected(Exception):
    """The feed has problems and the catalog was not changed; ``problems`` lists each, its
    ``line`` being the product's position in the feed (1 is the first; 0 the feed itself)."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = problems
        shown = "\n".join(f"  {describe_problem(problem)}" for problem in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(
            f"the back office's catalog was not applied ({len(problems)} problem"
            f"{'' if len(problems) == 1 else 's'}; nothing changed):\n{shown}{more}"
        )


def describe_problem(problem: RowProblem) -> str:
    """One problem of a feed as a sentence naming the product's position in the feed."""
    where = "the feed" if problem.line == 0 else f"product {problem.line}"
    field = f", {problem.column}" if problem.column else ""
    return f"{where}{field}: {problem.message} [{problem.reason}]"


def apply_catalog_feed(
    db: Database,
    feed: CatalogFeed,
    *,
    tax_classes: Collection[str],
    currency: str,
    now: datetime,
) -> int:
    """Replace the back office's products with the feed's and return how many it wrote.

    ``tax_classes`` are the shop's tax class codes, ``currency`` its ISO code (the feed must
    be in the same one), ``now`` (aware) stamps the rows. Products of the feed whose code is
    held by a CSV-imported row are left to that row (and logged); they are not counted.
    Raises ``CatalogFeedRejected`` with every problem found, the catalog unchanged. Runs in
    one write transaction (a savepoint inside an open one).
    """
    if feed.currency != currency:
        raise CatalogFeedRejected([
            RowProblem(
                0,
                "currency",
                "currency_mismatch",
                f"the feed's prices are in {feed.currency!r} but the shop sells in "
                f"{currency!r}",
            )
        ])
    problems: list[RowProblem] = []
    rows = list(_file_rows(feed.products, currency_exponent(currency), problems))
    products, row_problems = validate_rows(
        rows, _HEADER, tax_classes=tax_classes, currency=currency
    )
    problems += row_problems
    if problems:
        problems.sort(key=lambda problem: problem.line)
        raise CatalogFeedRejected(problems)
    with immediate_transaction(db):
        db.execute("DELETE FROM products")
        written = ProductCatalog(db).store(products, source=SOURCE, now=now)
    return written.inserted + written.updated


def _file_rows(
    products: tuple[dict[str, Any], ...], exponent: int, problems: list[RowProblem]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield each well-typed feed product as the row a catalog file would have; record a
    problem for each field of the wrong JSON type instead."""
    for position, product in enumerate(products, start=1):
        row = _file_row(position, product, exponent, problems)
        if row is not None:
            yield position, row


def _file_row(
    position: int, product: Mapping[str, Any], exponent: int, problems: list[RowProblem]
) -> dict[str, str] | None:
    before = len(problems)

    def wrong(field: str, reason: str, expected: str) -> None:
        problems.append(
            RowProblem(position, field, reason, f"{field} must be {expected}, "
                       f"not {product.get(field)!r}")
        )

    code = product.get("code")
    if not isinstance(code, str) or not code:
        wrong("code", "missing_code", "a barcode (GTIN) or plu:<digits>")
        code = ""
    for field in ("name", "tax_class"):
        if not isinstance(product.get(field), str):
            wrong(field, f"malformed_{field}", "text")
    price: Any = product.get("price_minor")
    if not _whole(price):
        wrong("price_minor", "malformed_price", "a whole number of minor units")
    per_kg: Any = product.get("unit_price_per_kg_minor")
    if per_kg is not None and not _whole(per_kg):
        wrong("unit_price_per_kg_minor", "malformed_price", "a whole number of minor units")
    min_age = product.get("min_age")
    if min_age is not None and not _whole(min_age):
        wrong("min_age", "malformed_min_age", "a whole number of years or null")
    by_weight = product.get("sold_by_weight", False)
    if not isinstance(by_weight, bool):
        wrong("sold_by_weight", "bad_sold_by_weight", "true or false")
    department = product.get("department")
    if department is not None and not isinstance(department, str):
        wrong("department", "malformed_department", "text or null")
    if len(problems) > before:
        return None
    plu = code[len(_PLU_PREFIX):] if code.startswith(_PLU_PREFIX) else ""
    return {
        "barcode": "" if code.startswith(_PLU_PREFIX) else code,
        "plu": plu if code.startswith(_PLU_PREFIX) else "",
        "name": str(product["name"]),
        "price": _major_text(price, exponent),
        "tax_class": str(product["tax_class"]),
        "min_age": "" if min_age is None else str(min_age),
        "sold_by_weight": "yes" if by_weight else "no",
        "unit_price_per_kg": "" if per_kg is None else _major_text(per_kg, exponent),
        "department": department or "",
    }


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _major_text(minor: int, exponent: int) -> str:
    """Minor units as the major-unit text of a catalog file: 1234 -> ``12.34`` (EUR)."""
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**exponent)
    if exponent == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{exponent}d}"
