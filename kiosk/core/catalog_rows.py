"""Checking the rows of a catalog CSV file and turning them into products.

This is the pure half of ``kiosk catalog import``: it sees the header and the rows as text
(already decoded and split by ``kiosk.core.catalog_file``) and returns the products, or the
list of everything wrong with the file, each problem with its line number. It never touches
the database, so the import can check a whole file before changing anything.

The file format is documented in ``docs/CATALOG.md``. Every ``RowProblem.reason`` is a stable
code (listed there too); ``RowProblem.message`` is English text for the CLI report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter

from kiosk.core.barcodes import BarcodeError, check_digit, normalize_gtin
from kiosk.core.catalog import Product, plu_code
from kiosk.core.money import MoneyError, currency_exponent, parse_major

REQUIRED_COLUMNS: tuple[str, ...] = ("name", "price", "tax_class", "min_age")
"""Columns every file must have, besides ``barcode`` or ``plu`` (at least one of the two)."""

_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""C0 and C1 control characters: never in a name a receipt prints or a back office stores."""

CODE_COLUMNS: tuple[str, ...] = ("barcode", "plu")
OPTIONAL_COLUMNS: tuple[str, ...] = ("sold_by_weight", "unit_price_per_kg", "department")
KNOWN_COLUMNS: frozenset[str] = frozenset(REQUIRED_COLUMNS + CODE_COLUMNS + OPTIONAL_COLUMNS)

EXTRA_FIELDS_KEY = "\x00extra_fields"
"""Key under which ``row_from_fields`` keeps the fields of a row longer than the header."""

HEADER_LINE = 1
MIN_AGE_RANGE = range(1, 100)
"""A minimum age is a whole number of years from 1 to 99."""
MAX_PLU_DIGITS = 10
MAX_NAME_LENGTH = 200
"""Longest product name in characters; the receipt and the screen need a sane bound."""
MAX_PRICE_MINOR = 100_000_000
"""Highest price or price per kilogram accepted, in minor units (1,000,000.00 in EUR)."""

_MONEY_REASONS = {
    "empty": "missing_price",
    "negative": "negative_price",
    "too_large": "price_out_of_range",
}
"""Our reason codes for ``MoneyError`` reasons; every other one is ``malformed_price``."""

_GTIN_LENGTHS = frozenset({8, 12, 13, 14})
_AGES: dict[str, int | None] = {"": None} | {str(age): age for age in MIN_AGE_RANGE}

_YES = frozenset({"yes", "true", "1"})
_NO = frozenset({"no", "false", "0", ""})


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong with a catalog file.

    ``line`` is the 1-based line number in the file (the header is line 1; a row whose quoted
    field spans lines is reported at its first line). ``column`` names the column at fault,
    or is ``None`` for a problem with the whole row or file. ``reason`` is a stable code such
    as ``bad_check_digit``; ``message`` explains it in English.
    """

    line: int
    column: str | None
    reason: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message} [{self.reason}]"


def row_from_fields(header: Sequence[str], fields: Sequence[str]) -> dict[str, str]:
    """Pair a row's fields with the header's column names.

    A row shorter than the header simply lacks the trailing columns (``validate_rows`` reports
    them); the fields of a row longer than the header are kept, joined, under
    ``EXTRA_FIELDS_KEY`` so that ``validate_rows`` can report ``too_many_columns``.
    """
    row = dict(zip(header, fields, strict=False))
    if len(fields) > len(header):
        row[EXTRA_FIELDS_KEY] = ",".join(fields[len(header) :])
    return row


def check_header(header: Sequence[str]) -> list[RowProblem]:
    """Return the problems of a header row (line 1): missing, unknown or repeated columns."""
    problems: list[RowProblem] = []
    names = [name.strip() for name in header]
    if not any(names):
        return [RowProblem(HEADER_LINE, None, "empty_file", "the file has no header row")]
    hint = ""
    if len(names) == 1 and ";" in names[0]:
        hint = " (the file must be comma-separated, not semicolon-separated)"
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problems.append(
                RowProblem(HEADER_LINE, name, "duplicate_column", f"column {name!r} appears twice")
            )
        seen.add(name)
        if name not in KNOWN_COLUMNS and not hint:
            problems.append(
                RowProblem(
                    HEADER_LINE,
                    name,
                    "unknown_column",
                    f"unknown column {name!r}; known columns are {', '.join(_column_order())}",
                )
            )
    if not seen.intersection(CODE_COLUMNS):
        problems.append(
            RowProblem(
                HEADER_LINE,
                "barcode",
                "missing_column",
                f"the header needs a 'barcode' or a 'plu' column{hint}",
            )
        )
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            problems.append(
                RowProblem(
                    HEADER_LINE, name, "missing_column", f"the header has no {name!r} column{hint}"
                )
            )
    return problems


def validate_rows(
    rows: Iterable[tuple[int, Mapping[str, str]]],
    header: Sequence[str],
    *,
    tax_classes: Collection[str],
    currency: str,
) -> tuple[list[Product], list[RowProblem]]:
    """Check every row of a catalog file and build its products.

    ``rows`` yields ``(line number, row)`` pairs, each row mapping the header's column names to
    the field text (see ``row_from_fields``). Prices are read in major units of ``currency``
    with ``.`` as the decimal separator and stored in minor units. ``tax_classes`` are the
    shop's configured tax class codes.

    Returns the products and the problems. When the problem list is not empty, the products
    are incomplete and must not be imported: the file is all-or-nothing. Every row is checked,
    so one pass reports every bad row. Header problems stop before the rows are read.
    Raises ``MoneyError`` (``unknown_currency``) when ``currency`` is not an ISO 4217 code:
    that is a settings error, not a problem of the file.
    """
    currency_exponent(currency)  # an unknown currency is a settings error: raise now
    problems = check_header(header)
    if problems:
        return [], problems
    checker = _RowChecker(header, tax_classes=tax_classes, currency=currency)
    quick, check = checker.quick_check, checker.check
    products: list[Product] = []
    for line, row in rows:
        product = quick(line, row)
        if product is None:
            product = check(line, row)
        if product is not None:
            products.append(product)
    return products, checker.problems


class _RowChecker:
    """Checks one row at a time, remembering the codes seen so far to report duplicates."""

    def __init__(self, header: Sequence[str], *, tax_classes: Collection[str], currency: str):
        self.problems: list[RowProblem] = []
        # The rows are keyed by the header's fields as written; the checks use trimmed names.
        self._pairs = [(name.strip(), name) for name in header]
        self._columns = len(header)
        self._tax_classes = frozenset(tax_classes)
        self._currency = currency
        self._exponent = currency_exponent(currency)
        self._amount = _amount_pattern(self._exponent)
        self._first_line_of: dict[str, int] = {}
        self.quick_check = self._quick_checker()

    def _quick_checker(self) -> Callable[[int, Mapping[str, str]], Product | None]:
        """Build the fast path for the usual row: a barcode, a plain price, not by weight.

        It returns the row's product, or ``None`` whenever anything is unusual, in which case
        ``check`` runs every check and says what is wrong. It accepts exactly the rows ``check``
        accepts and builds the same products, only without the detours (validate_rows has a
        property test for this); it is worth it because a catalog has 100,000s of rows.
        """
        keys = {column: key for column, key in self._pairs}
        if "barcode" not in keys:
            return _never_quick
        # Fields are taken as they are: a field with spaces around it fails these tests and
        # ``check`` (which strips) reads it; only the name is stripped here.
        return _quick_check(
            itemgetter(
                keys["barcode"], keys["name"], keys["price"], keys["tax_class"], keys["min_age"]
            ),
            blank_keys=tuple(keys[name] for name in ("plu", "unit_price_per_kg") if name in keys),
            k_weight=keys.get("sold_by_weight"),
            k_department=keys.get("department"),
            columns=self._columns,
            tax_classes=self._tax_classes,
            first_line_of=self._first_line_of,
            amount=self._amount,
            exponent=self._exponent,
        )

    def check(self, line: int, row: Mapping[str, str]) -> Product | None:
        """Return the row's product, or ``None`` after recording its problems."""
        if not self._has_header_shape(line, row):
            return None
        text = {column: row[key].strip() for column, key in self._pairs}
        before = len(self.problems)
        code = self._code(line, text.get("barcode", ""), text.get("plu", ""))
        name = text["name"]
        self._check_texts(line, name, text.get("department", ""))
        tax_class = text["tax_class"]
        self._check_tax_class(line, tax_class)
        min_age = self._min_age(line, text["min_age"])
        sold_by_weight = self._sold_by_weight(line, text.get("sold_by_weight", ""))
        unit_price = (
            None
            if sold_by_weight is None
            else self._unit_price(line, text.get("unit_price_per_kg", ""), sold_by_weight)
        )
        price_text = text["price"]
        if not price_text and sold_by_weight is not False:
            # A weighed item's price defaults to its price per kilogram; when the weight
            # columns are wrong, that problem is already recorded and is the one to fix.
            price: int | None = unit_price
        else:
            price = self._money(line, "price", price_text)
        if sold_by_weight and code is not None and not code.startswith("plu:"):
            self._add(
                line,
                "sold_by_weight",
                "weight_needs_plu",
                "an item sold by weight needs a 'plu' code (its in-store label carries the weight)",
            )
        if len(self.problems) > before or code is None or price is None:
            return None
        return Product(
            code,
            name,
            price,
            tax_class,
            min_age,
            bool(sold_by_weight),
            unit_price,
            text.get("department") or None,
        )

    def _has_header_shape(self, line: int, row: Mapping[str, str]) -> bool:
        """Whether the row has exactly the header's columns; records the problem if not."""
        if EXTRA_FIELDS_KEY in row:
            self._add(
                line,
                None,
                "too_many_columns",
                f"the row has more fields than the header's {self._columns} columns "
                "(a name with a comma must be quoted)",
            )
            return False
        if len(row) < self._columns:
            missing = [column for column, key in self._pairs if key not in row]
            self._add(
                line,
                missing[0],
                "too_few_columns",
                f"the row has fewer fields than the header: no {', '.join(missing)}",
            )
            return False
        return True

    def _check_texts(self, line: int, name: str, department: str) -> None:
        """Record what is wrong with the (stripped) name and department, if anything."""
        if not name:
            self._add(line, "name", "empty_name", "the name is empty")
        elif len(name) > MAX_NAME_LENGTH:
            self._add(
                line,
                "name",
                "name_too_long",
                f"the name is longer than {MAX_NAME_LENGTH} characters",
            )
        elif _CONTROL_CHARACTER.search(name):
            self._add(
                line, "name", "control_character",
                "the name holds a control character (a tab, a line break, a NUL...)",
            )
        if _CONTROL_CHARACTER.search(department):
            self._add(
                line, "department", "control_character",
                "the department holds a control character (a tab, a line break, a NUL...)",
            )

    def _check_tax_class(self, line: int, tax_class: str) -> None:
        """Record an unknown tax class."""
        if tax_class not in self._tax_classes:
            known = ", ".join(sorted(self._tax_classes)) or "none configured"
            self._add(
                line,
                "tax_class",
                "unknown_tax_class",
                f"unknown tax class {tax_class!r} (the shop has: {known})",
            )

    def _add(self, line: int, column: str | None, reason: str, message: str) -> None:
        self.problems.append(RowProblem(line, column, reason, message))

    def _code(self, line: int, barcode: str, plu: str) -> str | None:
        if barcode and plu:
            self._add(
                line, "plu", "barcode_and_plu", "give a barcode or a plu, not both, on one row"
            )
            return None
        if not barcode and not plu:
            self._add(line, "barcode", "missing_code", "the row has neither a barcode nor a plu")
            return None
        if barcode:
            try:
                code = normalize_gtin(barcode)
            except BarcodeError as error:
                self._add(
                    line, "barcode", error.reason, f"barcode {barcode!r} is not valid: {error}"
                )
                return None
            return self._unique(line, "barcode", "duplicate_barcode", code, barcode)
        if not (plu.isascii() and plu.isdigit()) or len(plu) > MAX_PLU_DIGITS:
            self._add(
                line,
                "plu",
                "bad_plu",
                f"plu {plu!r} must be 1 to {MAX_PLU_DIGITS} digits",
            )
            return None
        return self._unique(line, "plu", "duplicate_plu", plu_code(plu), plu)

    def _unique(self, line: int, column: str, reason: str, code: str, text: str) -> str | None:
        first = self._first_line_of.setdefault(code, line)
        if first != line:
            self._add(line, column, reason, f"{column} {text!r} is already on line {first}")
            return None
        return code

    def _money(self, line: int, column: str, text: str) -> int | None:
        """Parse major units into minor units, recording a problem and returning None if bad."""
        # The common case, read without Decimal; the same result as parse_major.
        plain = _plain_amount(self._amount.fullmatch(text), self._exponent)
        if plain is not None:
            return plain
        try:
            value = parse_major(text, self._currency)
        except MoneyError as error:
            reason = _MONEY_REASONS.get(error.reason, "malformed_price")
            if reason == "missing_price":
                message = f"{column} is empty"
            else:
                message = (
                    f"{column} {text!r} is not a valid amount in major units with '.' "
                    f"as the decimal separator ({error})"
                )
            self._add(line, column, reason, message)
            return None
        if value > MAX_PRICE_MINOR:
            self._add(
                line, column, "price_out_of_range", f"{column} {text!r} is implausibly high"
            )
            return None
        return value

    def _min_age(self, line: int, text: str) -> int | None:
        if not text:
            return None
        if not (text.isascii() and text.isdigit()):
            self._add(
                line, "min_age", "malformed_min_age", f"min_age {text!r} is not a whole number"
            )
            return None
        age = int(text)
        if age not in MIN_AGE_RANGE:
            self._add(
                line,
                "min_age",
                "min_age_out_of_range",
                f"min_age {age} is outside {MIN_AGE_RANGE.start}-{MIN_AGE_RANGE.stop - 1}",
            )
            return None
        return age

    def _sold_by_weight(self, line: int, text: str) -> bool | None:
        """Return the flag, or ``None`` after recording a problem."""
        text = text.lower()
        if text in _YES:
            return True
        if text in _NO:
            return False
        self._add(
            line,
            "sold_by_weight",
            "bad_sold_by_weight",
            f"sold_by_weight {text!r} must be yes/no/true/false/1/0 or empty",
        )
        return None

    def _unit_price(self, line: int, text: str, sold_by_weight: bool) -> int | None:
        if not sold_by_weight:
            if text:
                self._add(
                    line,
                    "unit_price_per_kg",
                    "unit_price_without_weight",
                    "unit_price_per_kg is only for items sold by weight",
                )
            return None
        if not text:
            self._add(
                line,
                "unit_price_per_kg",
                "missing_unit_price",
                "an item sold by weight needs its unit_price_per_kg",
            )
            return None
        return self._money(line, "unit_price_per_kg", text)


def _quick_check(
    fields: Callable[[Mapping[str, str]], tuple[str, ...]],
    *,
    blank_keys: tuple[str, ...],
    k_weight: str | None,
    k_department: str | None,
    columns: int,
    tax_classes: frozenset[str],
    first_line_of: dict[str, int],
    amount: re.Pattern[str],
    exponent: int,
) -> Callable[[int, Mapping[str, str]], Product | None]:
    """The fast path of :meth:`_RowChecker._quick_checker`, its lookups bound once.

    ``fields`` picks the barcode, name, price, tax class and minimum age of a row;
    ``blank_keys`` are the row keys that must be empty (``plu``, ``unit_price_per_kg``);
    ``first_line_of`` is the checker's own map of codes seen, updated here.
    """
    read_amount = amount.fullmatch
    ages = _AGES
    no = _NO
    prices: dict[str, int] = {}
    control = _CONTROL_CHARACTER.search

    def quick_check(line: int, row: Mapping[str, str]) -> Product | None:
        if len(row) != columns:
            return None
        try:
            barcode, name, price_text, tax_class, age_text = fields(row)
        except KeyError:
            return None
        for key in blank_keys:
            if row[key].strip():
                return None
        if k_weight is not None and row[k_weight].strip().lower() not in no:
            return None
        code = _quick_gtin(barcode)
        if code is None or code in first_line_of:
            return None
        name = name.strip()
        if not name or len(name) > MAX_NAME_LENGTH or control(name):
            return None
        if tax_class not in tax_classes or age_text not in ages:
            return None
        price = prices.get(price_text)
        if price is None:
            # Shelf prices repeat (1.99, 0.49...): each distinct text is read once.
            price = _plain_amount(read_amount(price_text), exponent)
            if price is None:
                return None
            prices[price_text] = price
        first_line_of[code] = line
        department = None if k_department is None else row[k_department].strip() or None
        if department is not None and control(department):
            return None
        return Product(code, name, price, tax_class, ages[age_text], False, None, department)

    return quick_check


def _never_quick(line: int, row: Mapping[str, str]) -> Product | None:
    """The fast path of a file without a barcode column: every row takes the full checks."""
    return None


def _quick_gtin(barcode: str) -> str | None:
    """Return the 14-digit key of a GTIN with a good check digit, else ``None``.

    The fast path only: ``None`` sends the row to ``normalize_gtin``, which has the last word
    and the reason. The check digit is python-stdnum's, as everywhere else.
    """
    if len(barcode) not in _GTIN_LENGTHS or not (barcode.isascii() and barcode.isdigit()):
        return None
    key = barcode.zfill(14)
    if check_digit(key[:13]) != key[13]:
        return None
    return key


def _plain_amount(match: re.Match[str] | None, exponent: int) -> int | None:
    """Minor units of an amount matched by :func:`_amount_pattern`, or ``None`` when there
    is no match or it is above ``MAX_PRICE_MINOR`` (``parse_major`` then has the last word)."""
    if match is None:
        return None
    whole, fraction = match.groups()
    value = int(whole) * 10**exponent
    if fraction:
        value += int(fraction.ljust(exponent, "0"))
    return value if value <= MAX_PRICE_MINOR else None


def _amount_pattern(exponent: int) -> re.Pattern[str]:
    """Match the plainest amounts (``12``, ``12.3``, ``12.34`` for EUR) to read them fast.

    At most 15 whole digits, so the result always fits in 64 bits; anything else goes to
    ``parse_major``, which gives the exact reason it is wrong.
    """
    if exponent == 0:
        return re.compile(r"([0-9]{1,15})()")
    return re.compile(rf"([0-9]{{1,15}})(?:\.([0-9]{{1,{exponent}}}))?")


def _column_order() -> tuple[str, ...]:
    return CODE_COLUMNS + REQUIRED_COLUMNS + OPTIONAL_COLUMNS
