"""The demo shop's data: its catalog from ``assets/``, its staff, and barcodes to try.

``kiosk demo`` keeps this in its own data directory, never the real state directory. The
demo staff PINs are printed on start: they exist only in the demo's database.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlite_utils import Database
from stdnum import ean

from kiosk.config import Settings
from kiosk.resources import asset_text
from kiosk.store.catalog_import import import_catalog_csv
from kiosk.store.products import ProductCatalog
from kiosk.store.staff import StaffRole, StaffRoster

SAMPLE_CATALOG = "catalog/sample.csv"


@dataclass(frozen=True)
class DemoStaff:
    """A demo staff member and the PIN the demo prints for them."""

    name: str
    role: StaffRole
    pin: str


DEMO_STAFF = (
    DemoStaff("Demo Attendant", StaffRole.ATTENDANT, "246810"),
    DemoStaff("Demo Manager", StaffRole.MANAGER, "135790"),
)


@dataclass(frozen=True)
class DemoReport:
    """What preparing the demo found or did: products in the catalog, staff numbers and PINs."""

    products: int
    staff: tuple[tuple[int, DemoStaff], ...]


def prepare_demo(db: Database, settings: Settings, *, now: datetime, work_dir: Path) -> DemoReport:
    """Fill an empty demo database with the sample catalog and the demo staff (idempotent)."""
    catalog = ProductCatalog(db)
    if catalog.count() == 0:
        sample = work_dir / "sample.csv"
        sample.write_text(asset_text(SAMPLE_CATALOG), encoding="utf-8")
        import_catalog_csv(
            db,
            sample,
            tax_classes=settings.tax_policy().classes.keys(),
            currency=settings.shop.currency,
            catalog_source=settings.catalog.source,
            now=now,
        )
        sample.unlink()
    roster = StaffRoster(db)
    known = {member.name: member.number for member in roster.list()}
    staff: list[tuple[int, DemoStaff]] = []
    for demo in DEMO_STAFF:
        number = known.get(demo.name)
        if number is None:
            number = roster.add(demo.name, demo.role, now).number
            roster.set_pin(number, demo.pin, now)
        staff.append((number, demo))
    return DemoReport(products=catalog.count(), staff=tuple(staff))


def in_store_code(prefix: str, item: str, value: int) -> str:
    """An in-store EAN-13: 2-digit prefix, 5-digit item, 5-digit price or weight, check digit."""
    body = f"{prefix}{item}{value:05d}"
    return body + ean.calc_check_digit(body)


def demo_barcodes(limit: int = 8) -> list[tuple[str, str]]:
    """Barcodes to try in the demo, as (label, code): catalog items and in-store codes."""
    rows = list(csv.DictReader(io.StringIO(asset_text(SAMPLE_CATALOG))))
    barcoded = [row for row in rows if row.get("barcode")]
    picked = barcoded[:limit]
    picked += [row for row in barcoded if row.get("min_age") and row not in picked][:1]
    codes = [(row["name"], row["barcode"]) for row in picked]
    weighed = next((row for row in rows if row.get("plu") and row.get("unit_price_per_kg")), None)
    if weighed is not None:
        codes.append((f"{weighed['name']}, 1.234 kg", in_store_code("22", weighed["plu"], 1234)))
    priced = next(
        (row for row in rows if row.get("plu") and not row.get("unit_price_per_kg")), None
    )
    if priced is not None:
        codes.append((f"{priced['name']}, priced 4.50", in_store_code("20", priced["plu"], 450)))
    codes.append(("an item the shop does not sell", in_store_code("40", "12345", 67890)))
    return codes
