"""What every ``kiosk`` command shares: the --config option, settings, the database, the lock.

Exit statuses (documented in the README): 0 done; 1 the command failed (a rejected import, a
failed check); 2 bad configuration or usage; 3 the kiosk is running and holds the state
directory (commands that write refuse rather than race it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from kiosk.config import ConfigError, Settings, load_secrets, load_settings
from kiosk.store.instance_lock import InstanceLock, KioskAlreadyRunning
from kiosk.store.keys import StoreKeys, keys_from_secrets

DEFAULT_CONFIG = Path("/etc/kiosk/kiosk.toml")
DATABASE_NAME = "kiosk.db"

EXIT_FAILED = 1
EXIT_BAD_CONFIG = 2
EXIT_KIOSK_RUNNING = 3

F = TypeVar("F", bound=Callable[..., Any])


def config_option(func: F) -> F:
    """Add ``--config PATH`` (default ``$KIOSK_CONFIG`` or /etc/kiosk/kiosk.toml) to a command."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar="KIOSK_CONFIG",
        default=DEFAULT_CONFIG,
        show_default=True,
        help="The kiosk's TOML configuration file.",
    )(func)


def settings_or_exit(config_path: Path) -> Settings:
    """Load and validate the configuration, or print what is wrong and exit with status 2."""
    try:
        return load_settings(config_path, environ=os.environ)
    except ConfigError as error:
        click.echo(f"kiosk: invalid configuration: {error}", err=True)
        raise SystemExit(EXIT_BAD_CONFIG) from None


def database_path(settings: Settings) -> Path:
    """The one database file in the kiosk's state directory."""
    return Path(settings.state_dir) / DATABASE_NAME


def existing_database(settings: Settings) -> Path:
    """The database path for a command that only reads; exit with status 1 if there is none.

    Reading commands never create the database: that is the kiosk's job at its first start.
    """
    path = database_path(settings)
    if not path.exists():
        click.echo(
            f"kiosk: no database at {path} yet; it is created when the kiosk first starts "
            "or a catalog is imported.",
            err=True,
        )
        raise SystemExit(EXIT_FAILED)
    return path


@contextmanager
def exclusive_state(settings: Settings) -> Iterator[None]:
    """Hold the state directory's single-instance lock for a command that writes.

    A running kiosk holds the lock; the command then exits with status 3 instead of racing it.
    """
    state_dir = Path(settings.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    lock = InstanceLock(state_dir)
    try:
        lock.acquire()
    except KioskAlreadyRunning as running:
        who = f" (pid {running.pid})" if running.pid else ""
        click.echo(
            f"kiosk: the kiosk is running{who} and holds {state_dir}; stop it first "
            "(sudo systemctl stop kiosk), or use the staff menu.",
            err=True,
        )
        raise SystemExit(EXIT_KIOSK_RUNNING) from None
    try:
        yield
    finally:
        lock.release()


def utc_now() -> datetime:
    """The current time in UTC (the one clock read of a CLI command)."""
    return datetime.now(UTC)


def machine_keys(config_path: Path) -> StoreKeys | None:
    """The PIN pepper and the audit key for a command: from ``$CREDENTIALS_DIRECTORY``, else
    the ``credentials`` folder beside the configuration (``/etc/kiosk/credentials``, which only
    root may read), else the environment; ``None`` when they cannot be read."""
    folder = None
    if not os.environ.get("CREDENTIALS_DIRECTORY"):
        beside = Path(config_path).parent / "credentials"
        if beside.is_dir() and os.access(beside, os.R_OK | os.X_OK):
            folder = beside
    try:
        return keys_from_secrets(load_secrets(os.environ, folder))
    except ConfigError as error:
        click.echo(f"kiosk: the PIN pepper or audit key cannot be read: {error}", err=True)
        return None
