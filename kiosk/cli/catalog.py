"""``kiosk catalog``: import the shop's catalog from CSV and look up what a scan would find."""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.cli.common import (
    EXIT_FAILED,
    config_option,
    database_path,
    exclusive_state,
    existing_database,
    settings_or_exit,
    utc_now,
)
from kiosk.core.barcodes import BarcodeError, parse_scan
from kiosk.core.money import format_money
from kiosk.store.catalog_import import CatalogImportRejected, import_catalog_csv
from kiosk.store.db import open_database
from kiosk.store.products import CatalogRowError, ProductCatalog


@click.group()
def catalog() -> None:
    """Import the catalog from CSV; look up what a scan finds."""


@catalog.command("import")
@config_option
@click.argument("csv_file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
def import_command(config_path: Path, csv_file: Path) -> None:
    """Import products from a CSV file (all rows or none; see docs/CATALOG.md)."""
    settings = settings_or_exit(config_path)
    with exclusive_state(settings):
        db = open_database(database_path(settings))
        try:
            with click.progressbar(length=1, label="Importing", show_pos=True) as bar:

                def progress(done: int, total: int) -> None:
                    bar.length = total
                    bar.update(done - bar.pos)

                report = import_catalog_csv(
                    db,
                    csv_file,
                    tax_classes=settings.tax_policy().classes.keys(),
                    currency=settings.shop.currency,
                    catalog_source=settings.catalog.source,
                    now=utc_now(),
                    progress=progress,
                )
        except CatalogImportRejected as rejected:
            click.echo(f"{csv_file}: {len(rejected.problems)} problem(s); nothing was imported.")
            for problem in rejected.problems:
                where = f"line {problem.line}" if problem.line else "file"
                column = f", {problem.column}" if problem.column else ""
                click.echo(f"  {where}{column}: {problem.message}")
            raise SystemExit(EXIT_FAILED) from None
        finally:
            db.close()
    click.echo(
        f"Imported {report.rows} product(s) from {csv_file}: "
        f"{report.inserted} new, {report.updated} updated."
    )


@catalog.command("lookup")
@config_option
@click.argument("code")
def lookup_command(config_path: Path, code: str) -> None:
    """Print what a scan of CODE would find, or why it finds nothing."""
    settings = settings_or_exit(config_path)
    try:
        scan = parse_scan(code.encode("utf-8"), settings.scan_rules())
    except BarcodeError as error:
        click.echo(f"{code}: not a usable barcode: {error} [{error.reason}]")
        raise SystemExit(EXIT_FAILED) from None
    click.echo(f"{code}: {scan.symbology}, GTIN {scan.gtin}")
    currency, locale = settings.shop.currency, settings.shop.locale
    if scan.item_key is not None:
        if scan.embedded_price_minor is not None:
            value = format_money(scan.embedded_price_minor, currency, locale)
            click.echo(f"  in-store item {scan.item_key}, embedded price {value}")
        else:
            weight = scan.embedded_weight_g
            click.echo(f"  in-store item {scan.item_key}, embedded weight {weight} g")
    db = open_database(existing_database(settings))
    try:
        product = ProductCatalog(db).find_for_scan(scan)
    except CatalogRowError as error:
        click.echo(f"  catalog row is damaged: {error}")
        raise SystemExit(EXIT_FAILED) from None
    finally:
        db.close()
    if product is None:
        click.echo("  not in the catalog: the customer would be sent to an attendant.")
        raise SystemExit(EXIT_FAILED)
    price = format_money(product.price_minor, currency, locale)
    click.echo(f"  {product.name}  {price}  tax class {product.tax_class}  [{product.code}]")
    if product.sold_by_weight and product.unit_price_per_kg_minor is not None:
        per_kg = format_money(product.unit_price_per_kg_minor, currency, locale)
        click.echo(f"  sold by weight at {per_kg}/kg")
    if product.min_age:
        click.echo(f"  age-restricted: {product.min_age}+ (an attendant approves at Pay)")
    if product.department:
        click.echo(f"  department: {product.department}")
