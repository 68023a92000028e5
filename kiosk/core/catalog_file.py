"""The one parser of a catalog CSV file: its bytes in, the shop's products or every problem out.

The kiosk's ``kiosk catalog import`` (:mod:`kiosk.store.catalog_import`, which the staff
menu's USB stick import also uses) and the back office's ``kiosk hq catalog import``
(:mod:`kiosk.hq.catalog_file`) both read a file through :func:`read_catalog`, so a file one
accepts is a file the other accepts. Reading the file from disk is the caller's job: this
module only decodes and splits the bytes (UTF-8, with or without a byte-order mark) and hands
the rows to :mod:`kiosk.core.catalog_rows`. The format is documented in ``docs/CATALOG.md``.
"""

from __future__ import annotations

import _csv
import codecs
import csv
import io
from collections.abc import Collection, Iterator

from kiosk.core.catalog import Product
from kiosk.core.catalog_rows import RowProblem, row_from_fields, validate_rows

_PROBLEMS_SHOWN = 50


class CatalogRejected(Exception):
    """The file has problems and nothing may be taken from it; ``problems`` lists each with
    its line."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = problems
        shown = "\n".join(f"  {problem}" for problem in problems[:_PROBLEMS_SHOWN])
        more = (
            f"\n  ... and {len(problems) - _PROBLEMS_SHOWN} more"
            if len(problems) > _PROBLEMS_SHOWN
            else ""
        )
        super().__init__(
            f"the catalog file was not imported ({len(problems)} problem"
            f"{'' if len(problems) == 1 else 's'}; nothing changed):\n{shown}{more}"
        )


def read_catalog(data: bytes, *, tax_classes: Collection[str], currency: str) -> list[Product]:
    """The products of the catalog file whose bytes are ``data``, all of them or none.

    ``tax_classes`` are the tax class codes a row may name, ``currency`` the ISO code the
    prices are given in (major units; the products hold minor units). Raises
    :class:`CatalogRejected` with every problem found, and ``MoneyError``
    (``unknown_currency``) when ``currency`` is not an ISO 4217 code.
    """
    catalog_file = CatalogFile(data)
    if catalog_file.problems:
        raise CatalogRejected(catalog_file.problems)
    products, problems = validate_rows(
        catalog_file.rows(), catalog_file.header, tax_classes=tax_classes, currency=currency
    )
    # A broken quote stops the reading: the rows before it were checked all the same.
    problems += catalog_file.problems
    if problems:
        raise CatalogRejected(problems)
    return products


class CatalogFile:
    """A catalog CSV file, decoded, its header read and its rows ready to stream.

    Problems here are about the file as a whole: it is not UTF-8 (``bad_encoding``, at the
    line of the first undecodable byte), it is empty (``empty_file``), or its quoting is broken
    (``malformed_csv``, found while ``rows`` streams). Rows made only of empty fields are
    skipped. A byte-order mark at the start is ignored.
    """

    def __init__(self, data: bytes) -> None:
        self.header: list[str] = []
        self.problems: list[RowProblem] = []
        self.row_count = 0
        """Data rows streamed so far by ``rows`` (blank rows not counted)."""
        self._reader: _csv.Reader | None = None
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
