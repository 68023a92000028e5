"""The product catalog in SQLite: finding a product for a scan, and writing products.

``ProductCatalog.get`` is the hot path of every scan: one ``SELECT`` by primary key. Each row
records where it came from (``source``: ``csv`` or ``backoffice``); a write only ever replaces
rows of its own source, so a CSV import and the back-office catalog never overwrite each other.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlite_utils import Database

from kiosk.core.barcodes import Scan
from kiosk.core.catalog import Product, plu_code
from kiosk.core.catalog_rows import MIN_AGE_RANGE
from kiosk.core.timestamps import utc_now_iso
from kiosk.store.db import immediate_transaction

SOURCES: frozenset[str] = frozenset({"csv", "backoffice"})
"""Where a product row came from: a CSV import, or the back office's catalog."""

_BATCH = 1000
"""Products per ``executemany``; ``progress`` is called after each batch."""

_COLUMNS = (
    "name, price_minor, tax_class, min_age, sold_by_weight, unit_price_per_kg_minor, department"
)
_GET = f"SELECT {_COLUMNS} FROM products WHERE code = ?"
_UPSERT = (
    f"INSERT INTO products (code, {_COLUMNS}, source, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (code) DO UPDATE SET name = excluded.name, "
    "price_minor = excluded.price_minor, tax_class = excluded.tax_class, "
    "min_age = excluded.min_age, sold_by_weight = excluded.sold_by_weight, "
    "unit_price_per_kg_minor = excluded.unit_price_per_kg_minor, "
    "department = excluded.department, updated_at = excluded.updated_at "
    "WHERE products.source = excluded.source"
)
_ROW_OF = attrgetter(
    "code",
    "name",
    "price_minor",
    "tax_class",
    "min_age",
    "sold_by_weight",
    "unit_price_per_kg_minor",
    "department",
)
"""A product's values in the order of ``_UPSERT``'s first eight columns."""


class CatalogRowError(Exception):
    """A stored product row that cannot be sold as it is (edited by hand, or corrupt).

    ``code`` is the row's catalog code and ``problem`` says what is wrong. The checkout treats
    it as "this item needs an attendant" rather than crashing the scan.
    """

    def __init__(self, code: str, problem: str) -> None:
        super().__init__(f"catalog row {code!r} is unusable: {problem}")
        self.code = code
        self.problem = problem


@dataclass(frozen=True)
class CatalogWrite:
    """What a write did: rows ``inserted``, rows ``updated`` (same source), and rows
    ``kept`` untouched because another source owns them."""

    inserted: int
    updated: int
    kept: int


class ProductCatalog:
    """The ``products`` table of a database opened with ``kiosk.store.db.open_database``.

    ``tax_classes``, when given, are the shop's configured tax class codes: a stored row with
    any other class is reported by ``get`` as a ``CatalogRowError``.
    """

    def __init__(self, db: Database, *, tax_classes: Collection[str] | None = None) -> None:
        self._db = db
        self._tax_classes = None if tax_classes is None else frozenset(tax_classes)

    def get(self, code: str) -> Product | None:
        """Return the product stored under ``code`` (a 14-digit GTIN or ``plu:<digits>``).

        Returns ``None`` when there is no such product; raises ``CatalogRowError`` when the
        row exists but does not make a valid product.
        """
        row = self._db.execute(_GET, (code,)).fetchone()
        if row is None:
            return None
        name, price, tax_class, min_age, by_weight, unit_price, department = row
        # One cheap test for the common case; the detailed checks only run on a bad row.
        if (
            type(price) is not int
            or price < 0
            or type(name) is not str
            or not name
            or (self._tax_classes is not None and tax_class not in self._tax_classes)
            or (min_age is not None and (type(min_age) is not int or min_age not in MIN_AGE_RANGE))
            or (by_weight != 0 and (by_weight != 1 or type(unit_price) is not int))
            or (unit_price is not None and (type(unit_price) is not int or unit_price < 0))
        ):
            raise CatalogRowError(code, _row_problem(row, self._tax_classes))
        return Product(
            code,
            name,
            price,
            tax_class,
            min_age,
            by_weight == 1,
            unit_price,
            department,
        )

    def find_for_scan(self, scan: Scan) -> Product | None:
        """Return the product a scan refers to: by PLU for an in-store variable-measure code
        (``scan.item_key``), otherwise by its 14-digit GTIN."""
        if scan.item_key is not None:
            return self.get(plu_code(scan.item_key))
        return self.get(scan.gtin)

    def count(self) -> int:
        """Return the number of stored products, of either source."""
        row = self._db.execute("SELECT count(*) FROM products").fetchone()
        return int(row[0])

    def upsert_many(self, products: Iterable[Product], *, source: str, now: datetime) -> int:
        """Insert or replace products as coming from ``source``, stamped ``now`` (aware).

        Rows owned by the other source are left as they are. Returns the number of rows
        inserted or updated. Runs in one write transaction (a savepoint inside an open one).
        """
        written = self.store(products, source=source, now=now)
        return written.inserted + written.updated

    def store(
        self,
        products: Iterable[Product],
        *,
        source: str,
        now: datetime,
        progress: Callable[[int, int], None] | None = None,
    ) -> CatalogWrite:
        """Like ``upsert_many``, but say how many rows were inserted, updated and kept.

        ``progress(done, total)`` is called after each batch with the number of products
        handled so far and the total.
        """
        if source not in SOURCES:
            raise ValueError(f"source must be one of {sorted(SOURCES)}, not {source!r}")
        stamp = utc_now_iso(now)
        tail = (source, stamp)
        columns = _ROW_OF
        pending = list(products)
        total = len(pending)
        conn = self._db.conn
        # IMMEDIATE: the counts read before and after must see only this transaction's writes.
        with immediate_transaction(self._db):
            before = conn.execute("SELECT count(*) FROM products").fetchone()[0]
            changes = conn.total_changes
            for start in range(0, total, _BATCH):
                batch = pending[start : start + _BATCH]
                conn.executemany(_UPSERT, [columns(product) + tail for product in batch])
                if progress is not None:
                    progress(start + len(batch), total)
            inserted = conn.execute("SELECT count(*) FROM products").fetchone()[0] - before
            # An upsert that hits a row of the other source changes nothing (its WHERE fails).
            written = conn.total_changes - changes
        return CatalogWrite(inserted=inserted, updated=written - inserted, kept=total - written)


def _row_problem(row: tuple[Any, ...], tax_classes: frozenset[str] | None) -> str:
    """Describe the first thing wrong with a stored row (the slow path of ``get``)."""
    name, price, tax_class, min_age, by_weight, unit_price, _department = row
    if type(price) is not int:
        return f"price_minor is {price!r}, not a whole number of minor units"
    if price < 0:
        return f"price_minor is negative ({price})"
    if type(name) is not str or not name:
        return "the name is empty"
    if tax_classes is not None and tax_class not in tax_classes:
        return f"unknown tax class {tax_class!r}"
    if min_age is not None and (type(min_age) is not int or min_age not in MIN_AGE_RANGE):
        return f"min_age {min_age!r} is not an age from 1 to 99"
    if by_weight not in (0, 1):
        return f"sold_by_weight is {by_weight!r}, not 0 or 1"
    if by_weight == 1 and unit_price is None:
        return "sold by weight without a unit_price_per_kg_minor"
    return f"unit_price_per_kg_minor is {unit_price!r}, not a whole number >= 0"
