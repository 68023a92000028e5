"""``kiosk scanner test``: watch the barcode scanner frame by frame, for technicians.

Prints one line per frame as it arrives (the raw bytes, the parse result or the rejection
reason, and the product it matches) and one line per connection change, across unplug and
replug, until interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import queue
import signal
from pathlib import Path
from types import FrameType

import click

from kiosk.app import scanner_options
from kiosk.cli.common import config_option, database_path, settings_or_exit
from kiosk.config import Settings
from kiosk.core.barcodes import BarcodeError, parse_scan
from kiosk.core.money import format_money
from kiosk.devices.scanner import ScannerState, SerialScanner
from kiosk.sim.virtual_scanner import VirtualScanner
from kiosk.store.db import open_database
from kiosk.store.products import CatalogRowError, ProductCatalog

Event = tuple[str, bytes | ScannerState | str]


@click.group()
def scanner() -> None:
    """Test the barcode scanner."""


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def describe_frame(frame: bytes, settings: Settings, catalog: ProductCatalog | None) -> str:
    """One line for a frame: raw bytes, parse result or reason, and the product it matches."""
    head = f"frame {frame!r}"
    try:
        scan = parse_scan(frame, settings.scan_rules())
    except BarcodeError as error:
        return f"{head} -> rejected: {error.reason} ({error})"
    except Exception as error:  # a parser bug: show it, keep watching
        return f"{head} -> unreadable: {type(error).__name__}: {error}"
    found = f"{head} -> {scan.symbology} GTIN {scan.gtin}"
    if scan.item_key is not None:
        found += f", in-store item {scan.item_key}"
    if catalog is None:
        return f"{found}; no catalog to look in"
    try:
        product = catalog.find_for_scan(scan)
    except CatalogRowError as damaged:
        return f"{found}; catalog row damaged: {damaged}"
    if product is None:
        return f"{found}; not in the catalog"
    price = format_money(product.price_minor, settings.shop.currency, settings.shop.locale)
    return f"{found}; {product.name} {price}"


@scanner.command("test")
@config_option
@click.option("--port", default=None, help="Open this port instead of [scanner] port.")
def test_command(config_path: Path, port: str | None) -> None:
    """Print each frame the scanner sends and how the kiosk reads it (Ctrl-C stops)."""
    settings = settings_or_exit(config_path)
    signal.signal(signal.SIGTERM, _interrupt)
    path = port or settings.scanner.port
    virtual = None
    if path == "virtual":
        virtual = VirtualScanner()
        path = virtual.path
        click.echo(f"virtual scanner: write frames to {path}")
    database = database_path(settings)
    db = open_database(database, check=False) if database.exists() else None
    catalog = ProductCatalog(db) if db is not None else None
    events: queue.SimpleQueue[Event] = queue.SimpleQueue()
    reader = SerialScanner(
        scanner_options(settings, path),
        on_frame=lambda frame: events.put(("frame", frame)),
        on_state=lambda state: events.put(("state", state)),
        on_discard=lambda reason: events.put(("discard", reason)),
    )
    click.echo(f"opening {path} (Ctrl-C stops)")
    reader.start()
    try:
        while True:
            try:
                kind, value = events.get(timeout=0.5)
            except queue.Empty:
                continue
            if isinstance(value, bytes):
                click.echo(describe_frame(value, settings, catalog))
            elif kind == "discard":
                click.echo(f"discarded -> {value}")
            else:
                click.echo(f"scanner {value}: {path}")
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        reader.stop()
        if virtual is not None:
            virtual.close()
        if db is not None:
            db.close()
