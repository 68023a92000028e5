"""``kiosk db``: check the database and take a consistent backup while the kiosk runs.

``kiosk db backup --rotate`` is the scheduled backup (kiosk-backup.timer): a dated copy into
``[backup] destination``, then the copies ``[backup]`` no longer keeps are deleted. It
reports through the log (one event a line; in the journal with its priority), so
``journalctl -u kiosk-backup -p warning`` shows every backup that went wrong or sits on the
database's own card. On that card a copy is refused when it would leave less than
`kiosk.store.maintenance.MIN_FREE_PERCENT_AFTER_BACKUP` of it free (an unmounted backup stick
must not fill the card night after night).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import click

from kiosk.cli.common import EXIT_FAILED, config_option, database_path, settings_or_exit, utc_now
from kiosk.config import Settings
from kiosk.logs import configure_logging, fields
from kiosk.store.db import StoreError
from kiosk.store.maintenance import (
    MIN_FREE_PERCENT_AFTER_BACKUP,
    backup_database,
    check_database,
    free_percent_after_copy,
    on_same_file_system,
    rotate_backups,
)

log = logging.getLogger(__name__)

SAME_CARD_WARNING = "the backup is on the same card as the database: a dead card loses both"
"""The warning of a backup whose destination shares the database's file system."""


@click.group()
def db() -> None:
    """Check and back up the local database."""


@db.command("check")
@config_option
def check_command(config_path: Path) -> None:
    """Run SQLite's integrity check and show migrations and row counts."""
    settings = settings_or_exit(config_path)
    path = database_path(settings)
    if not path.exists():
        click.echo(f"{path}: no database yet (it is created when the kiosk first starts).")
        raise SystemExit(EXIT_FAILED)
    report = check_database(path)
    for line in report.summary_lines():
        click.echo(line)
    if not report.ok:
        raise SystemExit(EXIT_FAILED)


@db.command("backup")
@config_option
@click.argument("dest", required=False, type=click.Path(path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace DEST if it exists.")
@click.option(
    "--rotate",
    is_flag=True,
    help="Back up into [backup] destination (or the folder DEST) and delete the older copies "
    "[backup] keep_count and keep_days no longer keep (the nightly backup).",
)
def backup_command(config_path: Path, dest: Path | None, overwrite: bool, rotate: bool) -> None:
    """Copy the database to DEST (a file, or a folder for a dated file), or with --rotate to
    [backup] destination; safe while running."""
    if dest is None and not rotate:
        raise click.UsageError("give DEST, or --rotate to back up into [backup] destination")
    if rotate and overwrite:
        raise click.UsageError("--overwrite does not go with --rotate: each copy gets a new name")
    settings = settings_or_exit(config_path)
    source = database_path(settings)
    if rotate:
        configure_logging(logging.INFO)
        _rotating_backup(settings, source, dest or settings.backup.destination, now=utc_now())
        return
    assert dest is not None
    if not source.exists():
        click.echo(f"{source}: no database to back up.", err=True)
        raise SystemExit(EXIT_FAILED)
    try:
        written = backup_database(source, dest, overwrite=overwrite, now=utc_now())
    except FileExistsError:
        click.echo(f"kiosk: {dest} already exists; pass --overwrite to replace it.", err=True)
        raise SystemExit(EXIT_FAILED) from None
    click.echo(f"Backed up {source} to {written}.")


def _rotating_backup(settings: Settings, source: Path, folder: Path, *, now: datetime) -> None:
    """Write a dated copy of ``source`` into ``folder`` and rotate the folder; every outcome
    is logged, a failure exits with status 1."""
    if not source.exists():
        _fail(f"no database at {source} to back up", source=source)
    if not folder.is_dir():
        reason = "is not a folder" if folder.exists() else "does not exist"
        _fail(
            f"the backup destination {folder} {reason}: plug in the backup stick or mount the "
            "share there, or set [backup] destination",
            destination=folder,
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        _fail(
            f"the backup destination {folder} is not writable for this user (or is mounted "
            "read-only)",
            destination=folder,
        )
    if on_same_file_system(folder, source):
        log.warning(SAME_CARD_WARNING, extra=fields(destination=folder, database=source))
        _refuse_to_fill_the_card(folder, source)
    try:
        written = backup_database(source, folder, now=now)
    except FileExistsError as error:
        _fail(f"{error}: a backup was already made this second", destination=folder)
    except (OSError, StoreError) as error:
        _fail(f"the backup to {folder} failed: {error}", destination=folder)
    kept = settings.backup
    try:
        deleted = rotate_backups(folder, keep_count=kept.keep_count, keep_days=kept.keep_days,
                                 now=now)
    except OSError as error:
        _fail(f"the backup {written} was written, but older copies could not be deleted: "
              f"{error}", destination=folder)
    for path in deleted:
        log.info("deleted the old backup %s", path.name, extra=fields(path=path))
    log.info(
        "backed up %s", source,
        extra=fields(backup=written, deleted=len(deleted), keep_count=kept.keep_count,
                     keep_days=kept.keep_days),
    )


def _refuse_to_fill_the_card(folder: Path, source: Path) -> None:
    """Fail before a copy on the database's own card leaves it less than
    `MIN_FREE_PERCENT_AFTER_BACKUP` free: the sales need that room."""
    try:
        left = free_percent_after_copy(folder, source)
    except OSError as error:
        _fail(f"cannot tell the free space of {folder}: {error}", destination=folder)
    if left < MIN_FREE_PERCENT_AFTER_BACKUP:
        _fail(
            f"no backup: a copy in {folder} would leave {left:.1f} % of the database's card "
            f"free (less than {MIN_FREE_PERCENT_AFTER_BACKUP:g} %, which the sales need); "
            "mount the backup stick there, or delete old copies",
            destination=folder, free_percent_after=round(left, 1),
        )


def _fail(message: str, **details: object) -> NoReturn:
    log.error(message, extra=fields(**details))
    raise SystemExit(EXIT_FAILED)
