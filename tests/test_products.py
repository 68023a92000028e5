"""The product catalog in SQLite: lookups by GTIN and PLU, writes by source, corrupt rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlite_utils import Database
from stdnum import ean

from kiosk.core.barcodes import parse_scan
from kiosk.core.catalog import Product
from kiosk.core.shop_rules import ScanRules, VariableMeasureLayout
from kiosk.store.db import open_database
from kiosk.store.products import CatalogRowError, CatalogWrite, ProductCatalog

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TAX_CLASSES = ("standard", "reduced")
RULES = ScanRules(
    variable_measure=(
        VariableMeasureLayout(prefixes=("20", "21"), value="price"),
        VariableMeasureLayout(prefixes=("22",), value="weight"),
    )
)


def gtin(body: str) -> str:
    return body + ean.calc_check_digit(body)


COLA_EAN = gtin("501234500103")
PEANUTS_UPC = gtin("03600029145")
COLA = Product("0" + COLA_EAN, "Cola 0.5 l", 129, "standard", department="Drinks")
PEANUTS = Product("00" + PEANUTS_UPC, "Peanut butter", 349, "reduced")
BEER = Product("0" + gtin("501234500105"), "Lager 0.5 l", 119, "standard", min_age=18)
BANANAS = Product(
    "plu:04011", "Bananas", 169, "reduced", sold_by_weight=True, unit_price_per_kg_minor=169
)
CHEESE = Product("plu:00101", "Gruyère deli cheese", 0, "reduced", department="Deli")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "kiosk.db")
    yield database
    database.close()


@pytest.fixture
def catalog(db: Database) -> ProductCatalog:
    catalog = ProductCatalog(db, tax_classes=TAX_CLASSES)
    catalog.upsert_many([COLA, PEANUTS, BEER, BANANAS, CHEESE], source="csv", now=NOW)
    return catalog


def test_a_stored_product_comes_back_by_its_14_digit_code(catalog: ProductCatalog) -> None:
    assert catalog.get(COLA.code) == COLA
    assert catalog.get(BEER.code) == BEER
    assert catalog.get(BANANAS.code) == BANANAS


def test_an_unknown_code_finds_nothing(catalog: ProductCatalog) -> None:
    assert catalog.get("0" + gtin("400000000001")) is None
    assert catalog.get("plu:99999") is None


def test_a_scanned_ean_13_finds_its_product(catalog: ProductCatalog) -> None:
    scan = parse_scan(COLA_EAN.encode() + b"\r\n", RULES)
    assert catalog.find_for_scan(scan) == COLA


def test_a_scanned_upc_a_finds_the_product_whatever_form_the_catalog_used(
    catalog: ProductCatalog,
) -> None:
    assert catalog.find_for_scan(parse_scan(PEANUTS_UPC.encode(), RULES)) == PEANUTS
    assert catalog.find_for_scan(parse_scan(b"0" + PEANUTS_UPC.encode(), RULES)) == PEANUTS


def test_a_weighed_in_store_label_finds_its_plu(catalog: ProductCatalog) -> None:
    scan = parse_scan(gtin("220401101234").encode(), RULES)
    assert (scan.item_key, scan.embedded_weight_g) == ("04011", 1234)
    assert catalog.find_for_scan(scan) == BANANAS


def test_a_price_embedded_in_store_label_finds_its_plu(catalog: ProductCatalog) -> None:
    scan = parse_scan(gtin("210010100450").encode(), RULES)
    assert (scan.item_key, scan.embedded_price_minor) == ("00101", 450)
    assert catalog.find_for_scan(scan) == CHEESE


def test_an_in_store_label_of_an_unknown_plu_finds_nothing(catalog: ProductCatalog) -> None:
    assert catalog.find_for_scan(parse_scan(gtin("229999900500").encode(), RULES)) is None


def test_count_counts_every_product(catalog: ProductCatalog) -> None:
    assert catalog.count() == 5


def test_upsert_many_says_how_many_rows_it_wrote(db: Database) -> None:
    catalog = ProductCatalog(db)
    assert catalog.upsert_many([COLA, PEANUTS], source="csv", now=NOW) == 2
    dearer = Product(COLA.code, COLA.name, 139, COLA.tax_class, department=COLA.department)
    assert catalog.upsert_many([dearer, BEER], source="csv", now=NOW) == 2
    assert catalog.get(COLA.code) == dearer
    assert catalog.count() == 3


def test_rows_record_their_source_and_a_utc_timestamp(db: Database) -> None:
    paris = timezone(timedelta(hours=1))
    ProductCatalog(db).upsert_many([COLA], source="backoffice", now=NOW.astimezone(paris))
    row = db.execute("SELECT source, updated_at FROM products").fetchone()
    assert row == ("backoffice", "2026-11-26T12:00:00.000000Z")


def test_a_csv_write_never_replaces_a_back_office_row(db: Database) -> None:
    catalog = ProductCatalog(db)
    catalog.upsert_many([COLA], source="backoffice", now=NOW)
    cheaper = Product(COLA.code, "Cola from a CSV", 99, "standard")
    written = catalog.store([cheaper, BEER], source="csv", now=NOW)
    assert written == CatalogWrite(inserted=1, updated=0, kept=1)
    assert catalog.get(COLA.code) == COLA


def test_a_back_office_write_never_replaces_a_csv_row(db: Database) -> None:
    catalog = ProductCatalog(db)
    catalog.upsert_many([COLA], source="csv", now=NOW)
    other = Product(COLA.code, "Cola from the back office", 99, "standard")
    assert catalog.upsert_many([other], source="backoffice", now=NOW) == 0
    assert catalog.get(COLA.code) == COLA


def test_an_unknown_source_is_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="source"):
        ProductCatalog(db).upsert_many([COLA], source="excel", now=NOW)
    assert ProductCatalog(db).count() == 0


def test_a_naive_timestamp_is_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ProductCatalog(db).upsert_many([COLA], source="csv", now=datetime(2026, 11, 26, 12))
    assert ProductCatalog(db).count() == 0


def test_progress_is_reported_after_each_batch(db: Database) -> None:
    products = [
        Product("0" + gtin(f"40{n:010d}"), f"Item {n}", 100, "standard") for n in range(2500)
    ]
    seen: list[tuple[int, int]] = []
    ProductCatalog(db).store(
        products, source="csv", now=NOW, progress=lambda done, total: seen.append((done, total))
    )
    assert seen == [(1000, 2500), (2000, 2500), (2500, 2500)]


def _write_raw(db: Database, code: str, **overrides: object) -> None:
    """Write a product row by hand, as a careless edit or a bad sync could."""
    row: dict[str, object] = {
        "code": code,
        "name": "Hand-edited",
        "price_minor": 100,
        "tax_class": "standard",
        "min_age": None,
        "sold_by_weight": 0,
        "unit_price_per_kg_minor": None,
        "department": None,
        "source": "csv",
        "updated_at": "2026-11-26T12:00:00.000000Z",
    }
    row.update(overrides)
    columns = ", ".join(row)
    marks = ", ".join("?" * len(row))
    db.conn.execute("PRAGMA ignore_check_constraints = ON")
    db.execute(f"INSERT INTO products ({columns}) VALUES ({marks})", list(row.values()))
    db.conn.execute("PRAGMA ignore_check_constraints = OFF")


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"price_minor": -100}, "negative"),
        ({"tax_class": "luxury"}, "unknown tax class 'luxury'"),
        ({"name": ""}, "name is empty"),
        ({"min_age": 0}, "min_age 0"),
        ({"min_age": 150}, "min_age 150"),
        ({"sold_by_weight": 1}, "without a unit_price_per_kg_minor"),
        ({"sold_by_weight": 2}, "sold_by_weight is 2"),
        ({"unit_price_per_kg_minor": -5}, "unit_price_per_kg_minor is -5"),
    ],
)
def test_a_corrupt_row_raises_a_catalog_row_error_naming_code_and_problem(
    catalog: ProductCatalog, db: Database, overrides: dict[str, object], problem: str
) -> None:
    code = "0" + gtin("400000000001")
    _write_raw(db, code, **overrides)
    with pytest.raises(CatalogRowError) as raised:
        catalog.get(code)
    assert raised.value.code == code
    assert problem in raised.value.problem
    assert code in str(raised.value)
    # The rest of the catalog still sells.
    assert catalog.get(COLA.code) == COLA


def test_without_the_shop_s_tax_classes_any_class_is_read(db: Database) -> None:
    code = "0" + gtin("400000000001")
    _write_raw(db, code, tax_class="zero")
    product = ProductCatalog(db).get(code)
    assert product is not None
    assert product.tax_class == "zero"
