"""``kiosk receipt``: show a paid sale's receipt as text, or print a copy of it.

SALE is the sale's id (a UUID) or this kiosk's sale number. ``show`` only reads. ``print``
writes (a ``print_jobs`` row and an audit entry), so it takes the single-instance lock and exits
with status 3 while the kiosk runs; reprints from a running kiosk go through the staff menu.

``print`` prints a copy marked COPY on the configured printer. The virtual printer
(``transport = "virtual"``) runs inside the kiosk, so with it ``print`` saves the copy's ESC/POS
bytes and its text to ``<state_dir>/virtual-printer/copy-<job>.bin`` and ``.txt`` instead.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import click
from sqlite_utils import Database

from kiosk.app import VIRTUAL_PRINTER_FOLDER
from kiosk.cli.common import (
    EXIT_FAILED,
    config_option,
    exclusive_state,
    existing_database,
    machine_keys,
    settings_or_exit,
    utc_now,
)
from kiosk.config import Settings
from kiosk.core.receipt import Receipt
from kiosk.core.timestamps import utc_now_iso
from kiosk.devices.printer import open_printer
from kiosk.devices.printer_status import PrinterError, PrinterStatus
from kiosk.receipts.jobs import receipt_bytes, record_copy_done, record_copy_started
from kiosk.receipts.text_render import columns_for, render_text
from kiosk.store.db import open_database
from kiosk.store.receipts import ReceiptUnavailable, receipt_for_sale

"""The virtual printer's folder inside the state directory."""


@click.group()
def receipt() -> None:
    """Show or reprint a paid sale's receipt."""


def sale_id_of(db: Database, settings: Settings, sale: str) -> str:
    """Return the id of SALE (a sale id, or this kiosk's sale number); exit 1 if unknown."""
    if sale.isdigit():
        row = db.execute("SELECT id FROM sales WHERE kiosk_id = ? AND number = ?",
                         [settings.kiosk_id, int(sale)]).fetchone()
    else:
        try:
            canonical = str(uuid.UUID(sale))
        except ValueError:
            canonical = sale
        row = db.execute("SELECT id FROM sales WHERE id = ?", [canonical]).fetchone()
    if row is None:
        click.echo(f"kiosk: no sale {sale!r} on kiosk {settings.kiosk_id}.", err=True)
        raise SystemExit(EXIT_FAILED)
    return str(row[0])


def _receipt_or_exit(db: Database, settings: Settings, sale_id: str, mark: str) -> Receipt:
    try:
        return receipt_for_sale(db, sale_id, settings, mark=mark)
    except ReceiptUnavailable as unavailable:
        if unavailable.reason == "not_paid":
            click.echo(f"kiosk: sale {sale_id} is not paid, so it has no receipt.", err=True)
        else:
            click.echo(f"kiosk: no receipt for sale {sale_id}: {unavailable}", err=True)
        raise SystemExit(EXIT_FAILED) from None


@receipt.command("show")
@config_option
@click.argument("sale")
def show_command(config_path: Path, sale: str) -> None:
    """Print the receipt of paid sale SALE (id or number) as text."""
    settings = settings_or_exit(config_path)
    db = open_database(existing_database(settings))
    try:
        found = _receipt_or_exit(db, settings, sale_id_of(db, settings, sale), "")
    finally:
        db.close()
    click.echo(render_text(found, width_chars=columns_for(settings.printer.paper_width_mm)))


def _send(settings: Settings, data: bytes, text: str, job_id: int) -> str | None:
    """Print ``data``; return None when printed, else the printer's status."""
    if settings.printer.transport == "virtual":
        folder = Path(settings.state_dir) / VIRTUAL_PRINTER_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"copy-{job_id}.bin").write_bytes(data)
        (folder / f"copy-{job_id}.txt").write_text(text, encoding="utf-8")
        return None
    printer = open_printer(settings.printer)
    if printer is None:
        return PrinterStatus.OFFLINE.value
    try:
        printer.print_bytes(data)
    except PrinterError as error:
        return PrinterStatus(error.status).value
    finally:
        printer.close()
    return None


@receipt.command("print")
@config_option
@click.argument("sale")
def print_command(config_path: Path, sale: str) -> None:
    """Print a copy (marked COPY) of the receipt of paid sale SALE (id or number)."""
    settings = settings_or_exit(config_path)
    if settings.printer.transport == "none":
        click.echo('kiosk: no receipt printer is configured ([printer] transport = "none").',
                   err=True)
        raise SystemExit(EXIT_FAILED)
    path = existing_database(settings)
    with exclusive_state(settings):
        db = open_database(path, keys=machine_keys(config_path))  # the copy is audited
        try:
            sale_id = sale_id_of(db, settings, sale)
            copy = _receipt_or_exit(db, settings, sale_id, "COPY")
            data = receipt_bytes(copy, settings)
            job_id = record_copy_started(db, sale_id, data, utc_now_iso(utc_now()))
            text = render_text(copy, width_chars=columns_for(settings.printer.paper_width_mm))
            error = _send(settings, data, text, job_id)
            record_copy_done(db, job_id, sale_id, error, None, utc_now())
        finally:
            db.close()
    if error is not None:
        click.echo(f"kiosk: the copy of sale {sale_id} did not print: printer {error}.",
                   err=True)
        raise SystemExit(EXIT_FAILED)
    click.echo(f"Printed a copy of the receipt of sale {sale_id} (job {job_id}).")
