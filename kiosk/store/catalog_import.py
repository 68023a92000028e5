"""Importing the shop's catalog from a CSV file, all or nothing (``kiosk catalog import``).

The file is read and decoded (UTF-8, with or without a byte-order mark), every row is checked
by ``kiosk.core.catalog_rows``, and only a file without a single problem is written, in one
transaction. Re-importing updates products by barcode or PLU and inserts new ones; products
missing from the file stay in the catalog. Rows that came from the back office are never
overwritten. The format is documented in ``docs/CATALOG.md``.
"""

from __future__ import annotations

import _csv
import codecs
import csv
import io
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlite_utils import Database

from kiosk.core.catalog_rows import RowProblem, row_from_fields, validate_rows
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


class CatalogImportRejected(Refusal):
    """The file has problems and nothing was changed; ``problems`` lists each with its line."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = problems
        shown = "\n".join(f"  {problem}" for problem in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(
            f"the catalog file was not imported ({len(problems)} problem"
            f"{'' if len(problems) == 1 else 's'}; nothing changed):\n{shown}{more}"
        )


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
    catalog_file = CatalogFile(path)
    if catalog_file.problems:
        raise CatalogImportRejected(catalog_file.problems)
    products, problems = validate_rows(
        catalog_file.rows(), catalog_file.header, tax_classes=tax_classes, currency=currency
    )
    # A broken quote stops the reading: the rows before it were checked all the same.
    problems += catalog_file.problems
    if problems:
        raise CatalogImportRejected(problems)
    if progress is not None:
        progress(0, len(products))
    # Forget the back office's catalog version first: should the shop switch back to its
    # back office, the next pull must fetch the whole feed, not hear "304, you have it".
    db.execute("DELETE FROM sync_state WHERE key IN ('catalog_etag', 'catalog_version')")
    written = ProductCatalog(db).store(products, source="csv", now=now, progress=progress)
    return ImportReport(
        rows=catalog_file.row_count,
        inserted=written.inserted,
        updated=written.updated,
        kept_backoffice=written.kept,
    )


class CatalogFile:
    """A catalog CSV file, decoded, its header read and its rows ready to stream.

    Problems here are about the file as a whole: it is not UTF-8 (``bad_encoding``, at the
    line of the first undecodable byte), it is empty (``empty_file``), or its quoting is broken
    (``malformed_csv``, found while ``rows`` streams). Rows made only of empty fields are
    skipped. A byte-order mark at the start is ignored.
    """

    def __init__(self, path: Path) -> None:
        self.header: list[str] = []
        self.problems: list[RowProblem] = []
        self.row_count = 0
        """Data rows streamed so far by ``rows`` (blank rows not counted)."""
        self._reader: _csv.Reader | None = None
        data = Path(path).read_bytes()
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            self._fail(
                line,
                "bad_encoding",
                f"byte 0x{data[error.start]:02x} is not UTF-8; save the file as UTF-8 "
                "(CSV UTF-8 in spreadsheet programs)",
            )
            return
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        self._reader = reader
        try:
            header = next(reader, None)
        except csv.Error as error:
            self._malformed(1, error)
            return
        if header is None:
            self._fail(1, "empty_file", "the file is empty")
            return
        self.header = header

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """Yield each data row as ``(line, row)``; see ``row_from_fields``. Streams once."""
        reader = self._reader
        if self.problems or reader is None:
            return
        header = self.header
        columns = len(header)
        last_line = reader.line_num  # the line the previous record ended on
        count = 0
        try:
            for fields in reader:
                if not any(fields):
                    pass  # a blank line, or a spreadsheet's row of empty cells
                elif len(fields) == columns:
                    count += 1
                    yield last_line + 1, dict(zip(header, fields, strict=False))  # same length
                else:
                    count += 1
                    yield last_line + 1, row_from_fields(header, fields)
                last_line = reader.line_num
        except csv.Error as error:
            self._malformed(last_line + 1, error)
        finally:
            self.row_count = count

    def _malformed(self, line: int, error: csv.Error) -> None:
        self._fail(line, "malformed_csv", f"the CSV is malformed ({error}); check the quotes")

    def _fail(self, line: int, reason: str, message: str) -> None:
        self.problems.append(RowProblem(line, None, reason, message))
