"""Applying the back office's catalog feed: the CSV import's rules, all or nothing, and a cart
in progress keeps the prices it was scanned at."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database
from stdnum import ean

from kiosk.app import Kiosk
from kiosk.config import Settings, demo_settings
from kiosk.core.catalog import Product
from kiosk.main_queue import MainQueue
from kiosk.sim.demo_shop import prepare_demo
from kiosk.store.catalog_feed import CatalogFeedRejected, apply_catalog_feed
from kiosk.store.db import open_database
from kiosk.store.products import ProductCatalog
from kiosk.wire import CatalogFeed, catalog_version

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TAX_CLASSES = ("standard", "reduced")


def gtin(body: str) -> str:
    return body + ean.calc_check_digit(body)


TEA = gtin("400638133400")  # 13 digits, not in the demo catalog
COFFEE = gtin("400638133401")


def product(code: str, name: str, price_minor: object, **fields: Any) -> dict[str, Any]:
    """A feed product with every FEED_FIELDS key, as the back office sends it."""
    row: dict[str, Any] = {
        "code": code, "name": name, "price_minor": price_minor, "tax_class": "reduced",
        "min_age": None, "sold_by_weight": False, "unit_price_per_kg_minor": None,
        "department": None,
    }
    row.update(fields)
    return row


def feed(*products: dict[str, Any], currency: str = "EUR") -> CatalogFeed:
    return CatalogFeed(catalog_version(currency, list(products)), currency, tuple(products))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "kiosk.db", records_money=True)
    yield database
    database.close()


def apply(db: Database, catalog: CatalogFeed, currency: str = "EUR") -> int:
    return apply_catalog_feed(db, catalog, tax_classes=TAX_CLASSES, currency=currency, now=NOW)


def backoffice_rows(db: Database) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT code, name, price_minor, source FROM products WHERE source = 'backoffice' "
        "ORDER BY code"
    ).fetchall()


def test_a_feed_becomes_the_back_office_catalog(db: Database) -> None:
    count = apply(db, feed(
        product("0" + TEA, "Green tea 20 bags", 249, department="Hot drinks"),
        product("plu:04011", "Bananas", 169, sold_by_weight=True, unit_price_per_kg_minor=169),
        product(gtin("501234500105"), "Lager 0.5 l", 119, tax_class="standard", min_age=18),
    ))

    assert count == 3
    catalog = ProductCatalog(db)
    assert catalog.get("0" + TEA) == Product(
        "0" + TEA, "Green tea 20 bags", 249, "reduced", department="Hot drinks"
    )
    assert catalog.get("plu:04011") == Product(
        "plu:04011", "Bananas", 169, "reduced", sold_by_weight=True, unit_price_per_kg_minor=169
    )
    beer = catalog.get("0" + gtin("501234500105"))
    assert beer is not None and beer.min_age == 18 and beer.tax_class == "standard"
    assert {row[3] for row in backoffice_rows(db)} == {"backoffice"}


def test_a_newer_feed_replaces_the_whole_catalog_including_old_csv_rows(
    db: Database,
) -> None:
    csv_product = Product("0" + COFFEE, "Coffee beans 500 g", 799, "reduced")
    ProductCatalog(db).upsert_many([csv_product], source="csv", now=NOW)
    apply(db, feed(product(TEA, "Green tea", 249), product("plu:04011", "Bananas", 169)))

    count = apply(db, feed(product(COFFEE, "Coffee", 849), product(TEA, "Green tea", 279)))

    assert count == 2
    assert sorted(backoffice_rows(db)) == sorted([
        ("0" + COFFEE, "Coffee", 849, "backoffice"), ("0" + TEA, "Green tea", 279, "backoffice"),
    ])
    assert ProductCatalog(db).get("plu:04011") is None


def test_a_feed_in_another_currency_is_refused_and_changes_nothing(db: Database) -> None:
    apply(db, feed(product(TEA, "Green tea", 249)))

    with pytest.raises(CatalogFeedRejected) as rejected:
        apply(db, feed(product(TEA, "Green tea", 300), currency="USD"))

    assert [problem.reason for problem in rejected.value.problems] == ["currency_mismatch"]
    assert "USD" in str(rejected.value) and "EUR" in str(rejected.value)
    assert backoffice_rows(db) == [("0" + TEA, "Green tea", 249, "backoffice")]


def test_bad_products_are_reported_by_position_and_nothing_is_applied(db: Database) -> None:
    apply(db, feed(product(TEA, "Green tea", 249)))

    with pytest.raises(CatalogFeedRejected) as rejected:
        apply(db, feed(
            product(COFFEE, "Coffee", 899),
            product(TEA[:-1] + str((int(TEA[-1]) + 1) % 10), "Bad check digit", 100),
            product(gtin("400638133402"), "Unknown class", 100, tax_class="luxury"),
            product(gtin("400638133403"), "Price as text", "1.99"),
            product(gtin("400638133404"), "Negative", -5),
            product(gtin("400638133405"), "Too young", 100, min_age=0),
            product(COFFEE, "Coffee again", 899),
            product(gtin("400638133406"), "Weighed with a barcode", 100, sold_by_weight=True,
                    unit_price_per_kg_minor=100),
            product(gtin("400638133407"), "Flag as number", 100, sold_by_weight=1),
        ))

    reasons = [(problem.line, problem.reason) for problem in rejected.value.problems]
    assert reasons == [
        (2, "bad_check_digit"),
        (3, "unknown_tax_class"),
        (4, "malformed_price"),
        (5, "negative_price"),
        (6, "min_age_out_of_range"),
        (7, "duplicate_barcode"),
        (8, "weight_needs_plu"),
        (9, "bad_sold_by_weight"),
    ]
    assert "product 4, price_minor" in str(rejected.value)
    assert backoffice_rows(db) == [("0" + TEA, "Green tea", 249, "backoffice")]


def test_prices_in_a_currency_without_minor_units_are_whole_numbers(db: Database) -> None:
    count = apply(db, feed(product(TEA, "Matcha", 480), currency="JPY"), currency="JPY")

    assert count == 1
    assert backoffice_rows(db) == [("0" + TEA, "Matcha", 480, "backoffice")]


def test_an_implausibly_high_price_is_refused_as_in_a_csv_file(db: Database) -> None:
    with pytest.raises(CatalogFeedRejected) as rejected:
        apply(db, feed(product(TEA, "Gold tea", 100_000_001)))

    assert [problem.reason for problem in rejected.value.problems] == ["price_out_of_range"]
    assert backoffice_rows(db) == []


def test_an_empty_feed_empties_the_back_office_catalog(db: Database) -> None:
    apply(db, feed(product(TEA, "Green tea", 249)))

    assert apply(db, feed()) == 0
    assert backoffice_rows(db) == []


# A cart in progress keeps its prices: driven through the facade, as the UI drives it.


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = NOW + timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = demo_settings(tmp_path / "state")
    db = open_database(Path(settings.state_dir) / "kiosk.db")
    prepare_demo(db, settings, now=NOW, work_dir=tmp_path)
    db.close()
    return settings


def test_a_cart_scanned_before_a_price_change_keeps_its_price(settings: Settings) -> None:
    queue = MainQueue()
    kiosk = Kiosk(settings, post_to_main=queue.post, clock=Clock(), card_payments=False)
    kiosk.start()
    tax_classes = settings.tax_policy().classes.keys()

    def publish(price_minor: int) -> int:
        catalog = feed(product(TEA, "Green tea 20 bags", price_minor))
        return kiosk.submit_to_store(
            lambda db: apply_catalog_feed(db, catalog, tax_classes=tax_classes,
                                          currency="EUR", now=NOW)
        ).result(5)

    def settle() -> None:
        for _ in range(2):
            kiosk.wait_for_writes(5)
            queue.run_pending()

    try:
        assert publish(249) == 1
        kiosk.scan(TEA.encode() + b"\r\n")
        settle()
        assert [line.unit_price_minor for line in kiosk.checkout.cart.lines] == [249]

        assert publish(299) == 1
        settle()
        totals = kiosk.totals
        assert [line.unit_price_minor for line in kiosk.checkout.cart.lines] == [249]
        assert totals is not None and totals.total_minor == 249

        kiosk.scan(TEA.encode() + b"\r\n")  # scanned after the change: the new price
        settle()
        lines = kiosk.checkout.cart.lines
        assert [(line.unit_price_minor, line.quantity) for line in lines] == [(249, 1), (299, 1)]
        with sqlite3.connect(kiosk.database) as conn:
            stored = conn.execute(
                "SELECT unit_price_minor FROM sale_lines ORDER BY position"
            ).fetchall()
        assert stored == [(249,), (299,)]
    finally:
        kiosk.close()
