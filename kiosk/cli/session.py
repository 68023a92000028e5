"""``kiosk run`` and ``kiosk demo``: start the kiosk on its facade.

Both open the touchscreen (``kiosk.ui``); ``--console`` opens the terminal front end
(``kiosk.console``) instead, for a technician on a machine without a display. The touchscreen
exits with the code a manager asked for in the staff menu (restart the app, leave it: see
``kiosk.staff_menu``), else 0.
"""

from __future__ import annotations

import dataclasses
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
from kiosk.config import Secrets, Settings, demo_settings, load_secrets
from kiosk.config.secrets import create_missing_keys
from kiosk.console import ConsoleFrontEnd
from kiosk.devices.scanner import ScannerState
from kiosk.logs import configure_logging, register_configured_secrets, register_secrets
from kiosk.main_queue import MainQueue
from kiosk.service import MainLoopPings, Notifier, Watchdog, ping_period_s
from kiosk.sim.demo_backoffice import DEMO_BACKOFFICE_DB, DemoBackOffice
from kiosk.sim.demo_shop import DemoReport, demo_barcodes, prepare_demo
from kiosk.store.db import StoreError, open_database
from kiosk.store.keys import keys_from_secrets


def default_demo_dir() -> Path:
    """Where the demo keeps its data: ``$XDG_DATA_HOME/kiosk/demo`` (~/.local/share/...)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kiosk" / "demo"


SCANNER_OPEN_WAIT_S = 5.0
"""How long start-up waits for the scanner port to open before taking input anyway."""

DEMO_MARKER = ".kiosk-demo"
"""A file that marks a folder as the demo's own, so --reset never empties anything else."""


def window_size(text: str) -> tuple[int, int]:
    """``"1280x800"`` as (width, height) pixels; a clear error for anything else."""
    width, _, height = text.lower().partition("x")
    if not (width.isdecimal() and height.isdecimal()) or min(int(width), int(height)) < 320:
        raise click.BadParameter(f"{text!r}: use WIDTHxHEIGHT in pixels, e.g. 800x480")
    return int(width), int(height)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # unwinds through ``finally``: pending writes are finished


def run_console(
    settings: Settings, test_barcodes: list[tuple[str, str]], secrets: Secrets | None = None
) -> None:
    """Start the facade and drive it from this terminal until quit or end of input."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    main_queue = MainQueue()
    kiosk = Kiosk(settings, post_to_main=main_queue.post, secrets=secrets)
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
    notifier = Notifier.from_environment()  # systemd: READY=1 now the front end is up
    pings = _watchdog_pings(notifier, kiosk, main_queue)
    notifier.ready(status="console front end up")
    try:
        front.run(sys.stdin)
    except KeyboardInterrupt:
        click.echo("")
    finally:
        if pings is not None:
            pings.stop()
        notifier.stopping(status="stopping: finishing pending writes")
        kiosk.close()
        notifier.close()


def _watchdog_pings(
    notifier: Notifier, kiosk: Kiosk, main_queue: MainQueue
) -> MainLoopPings | None:
    """Ping systemd's watchdog from the console's main loop while the workers turn (None
    when systemd set no ``WatchdogSec``)."""
    period_s = ping_period_s(os.environ)
    if period_s is None:
        return None
    stale_after_s = kiosk.settings.service.heartbeat_stale_s
    pings = MainLoopPings(
        Watchdog(notifier, kiosk.heartbeats, stale_after_s=stale_after_s), main_queue.post,
        period_s,
    )
    pings.start()
    return pings


CONSOLE_OPTION = click.option(
    "--console", is_flag=True, help="Use the terminal instead of the touchscreen."
)


def _say_on_screen(screen: str) -> None:
    """Tell the terminal (and the journal) that the window shows its first screen."""
    click.echo(f"The kiosk is on screen ({screen}).")


def _quiet_libraries() -> None:
    """Keep the log to what a technician needs: every Stripe request is not news."""
    logging.getLogger("stripe").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per back-office request


@click.command("run")
@config_option
@CONSOLE_OPTION
def run_command(config_path: Path, console: bool) -> None:
    """Start the kiosk with the configured shop and devices (fullscreen touchscreen)."""
    settings = settings_or_exit(config_path)
    # Replaces the root handlers: importing python-escpos already called basicConfig (at
    # WARNING), which would otherwise drop the kiosk's INFO log from the journal.
    configure_logging(logging.INFO)
    register_configured_secrets(os.environ)
    _quiet_libraries()
    code = 0
    with exclusive_state(settings):
        if console:
            run_console(settings, test_barcodes=[])
        else:
            from kiosk.ui.launch import run_touchscreen

            code = run_touchscreen(settings, kiosk_mode=True, on_first_frame=_say_on_screen)
    if code:
        raise SystemExit(code)


@click.command("demo")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where the demo keeps its data (default ~/.local/share/kiosk/demo).",
)
@click.option("--reset", is_flag=True, help="Delete the demo's data first and start fresh.")
@click.option("--prepare-only", is_flag=True, help="Prepare the demo's data, then exit.")
@click.option(
    "--size",
    default="1280x800",
    show_default=True,
    help="The demo window's size in pixels, WIDTHxHEIGHT (800x480 for a 7-inch screen).",
)
@CONSOLE_OPTION
def demo_command(
    data_dir: Path | None, reset: bool, prepare_only: bool, size: str, console: bool
) -> None:
    """Start the demo shop (sample catalog, demo staff, simulated devices)."""
    window = window_size(size)
    data_dir = _demo_folder(data_dir)
    settings = demo_settings(data_dir)
    configure_logging(logging.WARNING)
    register_configured_secrets(os.environ)
    code = 0
    with exclusive_state(settings):
        report = _prepare_demo_data(settings, data_dir, reset=reset)
        if not prepare_only:
            code = _run_demo(settings, report, window=window, console=console)
    if code:
        raise SystemExit(code)


def _demo_folder(data_dir: Path | None) -> Path:
    """The demo's data folder (made if missing); exits when it holds anything but a demo."""
    data_dir = data_dir or default_demo_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    if not (data_dir / DEMO_MARKER).exists() and any(data_dir.iterdir()):
        click.echo(
            f"kiosk: {data_dir} is not empty and is not a demo data folder; "
            "choose another --data-dir.",
            err=True,
        )
        raise SystemExit(EXIT_FAILED)
    return data_dir


def _prepare_demo_data(settings: Settings, data_dir: Path, *, reset: bool) -> DemoReport:
    """Mark the folder as the demo's, empty it first with ``reset``, fill the catalog and the
    demo staff, and say what is there."""
    (data_dir / DEMO_MARKER).touch()
    database = database_path(settings)
    if reset:
        for path in (database, *database.parent.glob(database.name + "-*")):
            path.unlink(missing_ok=True)
        for path in data_dir.glob(DEMO_BACKOFFICE_DB + "*"):
            path.unlink()
    db = open_database(database, keys=keys_from_secrets(demo_keys(data_dir)))
    try:
        with tempfile.TemporaryDirectory() as work:
            report = prepare_demo(db, settings, now=utc_now(), work_dir=Path(work))
    finally:
        db.close()
    click.echo(f"Demo data in {data_dir}: {report.products} products in the catalog.")
    for number, staff in report.staff:
        click.echo(f"Demo staff {number} ({staff.role}): PIN {staff.pin}")
    return report


def demo_keys(data_dir: Path) -> Secrets:
    """The demo's own PIN pepper and audit key, kept in ``credentials/`` of its data folder
    (made on the first demo start, like a kiosk's on its first boot)."""
    folder = data_dir / "credentials"
    create_missing_keys(folder)
    return load_secrets({}, folder)


def _run_demo(
    settings: Settings, report: DemoReport, *, window: tuple[int, int], console: bool
) -> int:
    """Run the demo shop beside its reference back office on loopback (sync and the QR
    e-receipt work); return the touchscreen's exit code (0 for the console)."""
    data_dir = Path(settings.state_dir)
    backoffice = DemoBackOffice(data_dir, settings.kiosk_id)
    keys = demo_keys(data_dir)
    secrets = dataclasses.replace(backoffice.secrets, pin_pepper=keys.pin_pepper,
                                  audit_key=keys.audit_key)
    register_secrets(secrets)
    settings = demo_settings(data_dir, backoffice_url=backoffice.url)
    try:
        if console:
            run_console(settings, demo_barcodes(), secrets=secrets)
            return 0
        from kiosk.ui.launch import DemoInfo, run_touchscreen

        demo = DemoInfo(
            barcodes=tuple(demo_barcodes()),
            staff=tuple((staff.role.value, number, staff.pin) for number, staff in report.staff),
        )
        return run_touchscreen(
            settings, kiosk_mode=False, demo=demo, size=window,
            on_first_frame=_say_on_screen, secrets=secrets,
        )
    finally:
        backoffice.stop()
