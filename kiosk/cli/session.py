"""``kiosk run`` and ``kiosk demo``: start the kiosk on its facade.

Until the touchscreen UI lands, both open the terminal front end (``kiosk.console``).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

import click

from kiosk.app import Kiosk
from kiosk.cli.common import (
    EXIT_FAILED,
    config_option,
    database_path,
    exclusive_state,
    settings_or_exit,
    utc_now,
)
from kiosk.config import Settings, demo_settings
from kiosk.console import ConsoleFrontEnd
from kiosk.devices.scanner import ScannerState
from kiosk.main_queue import MainQueue
from kiosk.sim.demo_shop import demo_barcodes, prepare_demo
from kiosk.store.db import StoreError, open_database


def default_demo_dir() -> Path:
    """Where the demo keeps its data: ``$XDG_DATA_HOME/kiosk/demo`` (~/.local/share/...)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kiosk" / "demo"


SCANNER_OPEN_WAIT_S = 5.0
"""How long start-up waits for the scanner port to open before taking input anyway."""

DEMO_MARKER = ".kiosk-demo"
"""A file that marks a folder as the demo's own, so --reset never empties anything else."""


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # unwinds through ``finally``: pending writes are finished


def run_console(settings: Settings, test_barcodes: list[tuple[str, str]]) -> None:
    """Start the facade and drive it from this terminal until quit or end of input."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    main_queue = MainQueue()
    kiosk = Kiosk(settings, post_to_main=main_queue.post)
    # Listening before start() shows the first screen, or the cart restored at start.
    front = ConsoleFrontEnd(kiosk, main_queue, out=sys.stdout, test_barcodes=test_barcodes)
    try:
        report = kiosk.start()
    except StoreError as trouble:
        click.echo(f"kiosk: {trouble}", err=True)
        raise SystemExit(EXIT_FAILED) from None
    if report.restored_sale_id:
        click.echo(f"(restored the open sale {report.restored_sale_id})")
    path = kiosk.connect_scanner()
    try:  # frames sent before the port is open are lost, so wait for it (briefly)
        main_queue.run_until(
            lambda: kiosk.scanner_state in (ScannerState.CONNECTED, ScannerState.DISCONNECTED),
            timeout_s=SCANNER_OPEN_WAIT_S,
        )
    except TimeoutError:
        click.echo(f"(the scanner on {path} is still opening)")
    virtual = kiosk.virtual_scanner
    if virtual is not None:
        front.scan_input = virtual.scan
        click.echo(
            f"Virtual scanner on {path}: type barcodes here, or from another terminal: "
            f"printf '4006381333931\\r' > {path}"
        )
    else:
        click.echo(f"Scanner on {path}")
    try:
        front.run(sys.stdin)
    except KeyboardInterrupt:
        click.echo("")
    finally:
        kiosk.close()


@click.command("run")
@config_option
def run_command(config_path: Path) -> None:
    """Start the kiosk with the configured shop and devices."""
    settings = settings_or_exit(config_path)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with exclusive_state(settings):
        run_console(settings, test_barcodes=[])


@click.command("demo")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where the demo keeps its data (default ~/.local/share/kiosk/demo).",
)
@click.option("--reset", is_flag=True, help="Delete the demo's data first and start fresh.")
@click.option("--prepare-only", is_flag=True, help="Prepare the demo's data, then exit.")
def demo_command(data_dir: Path | None, reset: bool, prepare_only: bool) -> None:
    """Start the demo shop (sample catalog, demo staff, simulated devices)."""
    data_dir = data_dir or default_demo_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    marker = data_dir / DEMO_MARKER
    if not marker.exists() and any(data_dir.iterdir()):
        click.echo(
            f"kiosk: {data_dir} is not empty and is not a demo data folder; "
            "choose another --data-dir.",
            err=True,
        )
        raise SystemExit(EXIT_FAILED)
    settings = demo_settings(data_dir)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with exclusive_state(settings):
        marker.touch()
        database = database_path(settings)
        if reset:
            for path in (database, *database.parent.glob(database.name + "-*")):
                path.unlink(missing_ok=True)
        db = open_database(database)
        try:
            with tempfile.TemporaryDirectory() as work:
                report = prepare_demo(db, settings, now=utc_now(), work_dir=Path(work))
        finally:
            db.close()
        click.echo(f"Demo data in {data_dir}: {report.products} products in the catalog.")
        for number, staff in report.staff:
            click.echo(f"Demo staff {number} ({staff.role}): PIN {staff.pin}")
        if not prepare_only:
            run_console(settings, test_barcodes=demo_barcodes())
