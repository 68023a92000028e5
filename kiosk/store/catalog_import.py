"""Importing the shop's catalog from a CSV file, all or nothing (``kiosk catalog import``).

The file is read here and parsed by the core's one catalog parser
(:func:`kiosk.core.catalog_file.read_catalog`, which the back office uses too), and only a file
without a single problem is written, in one transaction. The staff menu's USB stick import
comes through here as well. Re-importing updates products by barcode or PLU and inserts new
ones; products missing from the file stay in the catalog. Rows that came from the back office
are never overwritten. The format is documented in ``docs/CATALOG.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlite_utils import Database

from kiosk.core.catalog_file import CatalogRejected, read_catalog
from kiosk.store.db import Refusal
from kiosk.store.products import ProductCatalog

CATALOG_SOURCES: frozenset[str] = frozenset({"csv", "backoffice"})
"""Values of the shop's catalog source setting."""


@dataclass(frozen=True)
class ImportReport:
    """What an import did: data ``rows`` in the file, products ``inserted`` and ``updated``,
    and ``kept_backoffice`` rows of the file left alone because the back office owns them."""

    rows: int
    inserted: int
    updated: int
    kept_backoffice: int = 0


class CatalogImportRejected(Refusal, CatalogRejected):
    """The file has problems and nothing was changed; ``problems`` lists each with its line.

    A store :class:`Refusal` (the worker does not log it as a failure) and the core's
    :class:`kiosk.core.catalog_file.CatalogRejected`.
    """


class CatalogSourceIsBackOffice(Exception):
    """The shop's catalog comes from the back office, so a CSV import is refused."""


def import_catalog_csv(
    db: Database,
    path: Path,
    *,
    tax_classes: Collection[str],
    currency: str,
    catalog_source: str,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Check the catalog file at ``path`` and, if every row is good, import it.

    ``tax_classes`` are the shop's tax class codes, ``currency`` the ISO code prices are given
    in (major units), ``catalog_source`` the shop's setting (``csv`` or ``backoffice``), and
    ``now`` (timezone-aware) stamps the rows' ``updated_at``. ``progress(done, total)`` is
    called as rows are written, ``total`` being the file's number of data rows, ending with
    ``done == total``.

    Raises ``CatalogSourceIsBackOffice`` when the catalog belongs to the back office and
    ``CatalogImportRejected`` with every problem found when the file is bad; in both cases the
    database is unchanged.
    """
    if catalog_source not in CATALOG_SOURCES:
        raise ValueError(
            f"catalog_source must be one of {sorted(CATALOG_SOURCES)}, not {catalog_source!r}"
        )
    if catalog_source == "backoffice":
        raise CatalogSourceIsBackOffice(
            "the catalog comes from the back office (setting catalog source = 'backoffice'); "
            "a CSV import would fight the back office's updates, so nothing was imported. "
            "Change the products in the back office, or set the catalog source to 'csv'."
        )
    try:
        products = read_catalog(
            Path(path).read_bytes(), tax_classes=tax_classes, currency=currency
        )
    except CatalogRejected as rejected:
        raise CatalogImportRejected(rejected.problems) from None
    if progress is not None:
        progress(0, len(products))
    # Forget the back office's catalog version first: should the shop switch back to its
    # back office, the next pull must fetch the whole feed, not hear "304, you have it".
    db.execute("DELETE FROM sync_state WHERE key IN ('catalog_etag', 'catalog_version')")
    written = ProductCatalog(db).store(products, source="csv", now=now, progress=progress)
    return ImportReport(
        rows=len(products),
        inserted=written.inserted,
        updated=written.updated,
        kept_backoffice=written.kept,
    )
