"""Importing a catalog CSV file into the database: all or nothing, by source, with progress."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database
from stdnum import ean

from kiosk.core.catalog import Product
from kiosk.resources import copy_asset
from kiosk.store.catalog_import import (
    CatalogImportRejected,
    CatalogSourceIsBackOffice,
    ImportReport,
    import_catalog_csv,
)
from kiosk.store.db import open_database
from kiosk.store.products import ProductCatalog

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
TAX_CLASSES = ("standard", "reduced")
HEADER = "barcode,plu,name,price,tax_class,min_age,sold_by_weight,unit_price_per_kg,department"


def gtin(body: str) -> str:
    return body + ean.calc_check_digit(body)


WATER = gtin("400638133393")
COLA = gtin("501234500103")
BEER = gtin("501234500105")
GOOD_CSV = (
    f"{HEADER}\n"
    f"{WATER},,Mineral water 1.5 l,0.49,reduced,,,,Drinks\n"
    f"{COLA},,Cola 0.5 l,1.29,standard,,,,Drinks\n"
    f"{BEER},,Lager 0.5 l,1.19,standard,18,,,Drinks\n"
    ",04011,Bananas,,reduced,,yes,1.69,Fruit\n"
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "kiosk.db")
    yield database
    database.close()


def write(tmp_path: Path, text: str, name: str = "catalog.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def run_import(db: Database, path: Path, **overrides: Any) -> ImportReport:
    options: dict[str, Any] = {
        "tax_classes": TAX_CLASSES,
        "currency": "EUR",
        "catalog_source": "csv",
        "now": NOW,
    }
    options.update(overrides)
    return import_catalog_csv(db, path, **options)


def table(db: Database) -> list[tuple[Any, ...]]:
    return db.execute("SELECT * FROM products ORDER BY code").fetchall()


def rejected(db: Database, path: Path) -> list[tuple[int, str | None, str]]:
    with pytest.raises(CatalogImportRejected) as raised:
        run_import(db, path)
    return [(p.line, p.column, p.reason) for p in raised.value.problems]


def test_a_good_file_is_imported_with_counts(db: Database, tmp_path: Path) -> None:
    report = run_import(db, write(tmp_path, GOOD_CSV))
    assert report == ImportReport(rows=4, inserted=4, updated=0, kept_backoffice=0)
    catalog = ProductCatalog(db, tax_classes=TAX_CLASSES)
    assert catalog.get("0" + BEER) == Product(
        "0" + BEER, "Lager 0.5 l", 119, "standard", min_age=18, department="Drinks"
    )
    assert catalog.get("plu:04011") == Product(
        "plu:04011",
        "Bananas",
        169,
        "reduced",
        sold_by_weight=True,
        unit_price_per_kg_minor=169,
        department="Fruit",
    )
    stamps = db.execute("SELECT DISTINCT source, updated_at FROM products").fetchall()
    assert stamps == [("csv", "2026-11-26T12:00:00.000000Z")]


def test_a_csv_import_forgets_the_back_office_catalog_version(
    db: Database, tmp_path: Path
) -> None:
    db.execute("INSERT INTO sync_state (key, value) VALUES ('catalog_etag', '\"v1\"'), "
               "('catalog_version', 'v1'), ('last_success_at', 'then')")
    run_import(db, write(tmp_path, GOOD_CSV))
    assert db.execute("SELECT key FROM sync_state").fetchall() == [("last_success_at",)]


def test_the_sample_catalog_imports_cleanly(db: Database, tmp_path: Path) -> None:
    path = copy_asset("catalog/sample.csv", tmp_path / "sample.csv")
    report = run_import(db, path)
    assert report.rows == report.inserted >= 40
    products = [
        ProductCatalog(db, tax_classes=TAX_CLASSES).get(code)
        for (code,) in db.execute("SELECT code FROM products").fetchall()
    ]
    assert all(product is not None for product in products)
    ages = {p.min_age for p in products if p is not None}
    assert {16, 18} <= ages
    weighed = [p for p in products if p is not None and p.sold_by_weight]
    assert len(weighed) >= 2
    assert all(p.is_plu and p.unit_price_per_kg_minor for p in weighed)
    names = {p.name for p in products if p is not None}
    assert any(not name.isascii() for name in names)


def test_a_bad_file_changes_nothing_and_lists_every_bad_row(
    db: Database, tmp_path: Path
) -> None:
    run_import(db, write(tmp_path, GOOD_CSV))
    before = table(db)
    bad_check = WATER[:-1] + str((int(WATER[-1]) + 1) % 10)
    bad = (
        f"{HEADER}\n"
        f"{COLA},,Cola 0.5 l,1.39,standard,,,,Drinks\n"  # a good row: not written either
        f"{bad_check},,Water,0.49,reduced,,,,\n"
        f"{COLA},,Cola again,1.29,standard,,,,\n"
        f"{BEER},,Lager,-1.19,standard,18,,,\n"
        f"{gtin('501234500106')},,Ale,1.79,luxury,18,,,\n"
        f"{gtin('501234500107')},,,7.99,standard,18,,,\n"
        f"{gtin('501234500108')},,Wine,8.49,standard,180,,,\n"
        f"{gtin('501234500109')},,Crisps, salted,1.79,reduced,,,,\n"
        f"{gtin('501234500110')},,Coffee,\"6,99\",reduced,,,,\n"
    )
    assert rejected(db, write(tmp_path, bad, "bad.csv")) == [
        (3, "barcode", "bad_check_digit"),
        (4, "barcode", "duplicate_barcode"),
        (5, "price", "negative_price"),
        (6, "tax_class", "unknown_tax_class"),
        (7, "name", "empty_name"),
        (8, "min_age", "min_age_out_of_range"),
        (9, None, "too_many_columns"),
        (10, "price", "malformed_price"),
    ]
    assert table(db) == before


def test_a_header_without_a_required_column_is_rejected_on_line_1(
    db: Database, tmp_path: Path
) -> None:
    path = write(tmp_path, f"barcode,name,tax_class,min_age\n{COLA},Cola,standard,\n")
    assert rejected(db, path) == [(1, "price", "missing_column")]
    assert table(db) == []


def test_re_importing_updates_by_barcode_and_keeps_products_missing_from_the_file(
    db: Database, tmp_path: Path
) -> None:
    run_import(db, write(tmp_path, GOOD_CSV))
    changed = (
        f"{HEADER}\n"
        f"{COLA},,Cola 0.5 l,1.39,standard,,,,Drinks\n"
        f"{gtin('501234500106')},,Pale ale 0.33 l,1.79,standard,18,,,Drinks\n"
    )
    report = run_import(db, write(tmp_path, changed, "changed.csv"), now=LATER)
    assert report == ImportReport(rows=2, inserted=1, updated=1, kept_backoffice=0)
    catalog = ProductCatalog(db)
    cola = catalog.get("0" + COLA)
    assert cola is not None and cola.price_minor == 139
    assert catalog.get("0" + WATER) is not None  # not in the file: stays
    assert catalog.count() == 5
    stamp = db.execute("SELECT updated_at FROM products WHERE code = ?", ["0" + COLA]).fetchone()
    assert stamp == ("2026-11-27T08:30:00.000000Z",)


def test_an_import_is_refused_when_the_catalog_comes_from_the_back_office(
    db: Database, tmp_path: Path
) -> None:
    with pytest.raises(CatalogSourceIsBackOffice, match="back office"):
        run_import(db, write(tmp_path, GOOD_CSV), catalog_source="backoffice")
    assert table(db) == []


def test_an_unknown_catalog_source_setting_is_an_error(db: Database, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="catalog_source"):
        run_import(db, write(tmp_path, GOOD_CSV), catalog_source="spreadsheet")
    assert table(db) == []


def test_back_office_products_are_never_overwritten_by_a_csv_import(
    db: Database, tmp_path: Path
) -> None:
    from_back_office = Product("0" + COLA, "Cola (back office)", 149, "standard")
    ProductCatalog(db).upsert_many([from_back_office], source="backoffice", now=NOW)
    report = run_import(db, write(tmp_path, GOOD_CSV))
    assert report == ImportReport(rows=4, inserted=3, updated=0, kept_backoffice=1)
    assert ProductCatalog(db).get("0" + COLA) == from_back_office


def test_a_byte_order_mark_is_ignored(db: Database, tmp_path: Path) -> None:
    report = run_import(db, write(tmp_path, GOOD_CSV, bom=True))
    assert report.inserted == 4


def test_windows_line_endings_and_blank_rows_are_fine(db: Database, tmp_path: Path) -> None:
    text = GOOD_CSV.replace("\n", "\r\n") + "\r\n,,,,,,,,\r\n"
    report = run_import(db, write(tmp_path, text))
    assert report.rows == report.inserted == 4


def test_a_file_that_is_not_utf_8_is_rejected_at_the_first_bad_byte(
    db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        f"{HEADER}\n{COLA},,Cola,1.29,standard,,,,\n".encode()
        + f"{WATER},,Café au lait,3.49,reduced,,,,\n".encode("latin-1")
    )
    problems = rejected(db, path)
    assert problems == [(3, None, "bad_encoding")]
    assert table(db) == []


def test_an_unclosed_quote_is_rejected_as_malformed_csv(db: Database, tmp_path: Path) -> None:
    text = f'{HEADER}\n{COLA},,Cola,1.29,standard,,,,\n{WATER},,"Water,0.49,reduced,,,,\n'
    assert rejected(db, write(tmp_path, text)) == [(3, None, "malformed_csv")]


def test_an_empty_file_is_rejected(db: Database, tmp_path: Path) -> None:
    assert rejected(db, write(tmp_path, "")) == [(1, None, "empty_file")]


def test_a_header_only_file_imports_nothing(db: Database, tmp_path: Path) -> None:
    assert run_import(db, write(tmp_path, HEADER + "\n")) == ImportReport(0, 0, 0, 0)


def test_line_numbers_count_physical_lines_after_a_quoted_line_break(
    db: Database, tmp_path: Path
) -> None:
    text = (
        f"{HEADER}\n"
        f'{COLA},,"Cola\nzero",1.29,standard,,,,\n'
        f"{WATER},,Water,0.49,vat,,,,\n"
    )
    assert rejected(db, write(tmp_path, text)) == [
        (2, "name", "control_character"),  # a line break has no place in a product name
        (4, "tax_class", "unknown_tax_class"),
    ]


def test_progress_rises_to_the_total(db: Database, tmp_path: Path) -> None:
    lines = [HEADER] + [
        f"{gtin(f'40{n:010d}')},,Item {n},1.00,standard,,,," for n in range(2345)
    ]
    seen: list[tuple[int, int]] = []
    run_import(
        db,
        write(tmp_path, "\n".join(lines) + "\n"),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen[0] == (0, 2345)
    assert seen[-1] == (2345, 2345)
    assert [done for done, _ in seen] == sorted({done for done, _ in seen})
    assert {total for _, total in seen} == {2345}


def test_the_rejection_message_lists_the_problems_by_line(
    db: Database, tmp_path: Path
) -> None:
    with pytest.raises(CatalogImportRejected) as raised:
        run_import(db, write(tmp_path, f"{HEADER}\n{COLA},,Cola,1.29,vat,,,,\n"))
    message = str(raised.value)
    assert "nothing changed" in message
    assert "line 2, column tax_class" in message


def test_the_benchmark_runs_small_and_prints_json() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "catalog.py"),
            "--rows",
            "2000",
            "--lookups",
            "2000",
            "--repeat",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=ROOT,
    )
    figures = json.loads(result.stdout)
    for key in (
        "import_s",
        "baseline_import_s",
        "import_ratio",
        "lookup_p50_us",
        "lookup_p99_us",
        "baseline_lookup_p50_us",
        "baseline_lookup_p99_us",
        "lookup_p99_ratio",
    ):
        assert figures[key] > 0, key
    assert figures["rows"] == 2000
    assert 0 < figures["lookups_found"] < 2000  # every 20th code is a miss
