"""``kiosk db``: check the database and take a consistent backup while the kiosk runs."""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.cli.common import EXIT_FAILED, config_option, database_path, settings_or_exit, utc_now
from kiosk.store.maintenance import backup_database, check_database


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
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace DEST if it exists.")
def backup_command(config_path: Path, dest: Path, overwrite: bool) -> None:
    """Copy the database to DEST (a file, or a folder for a dated file); safe while running."""
    settings = settings_or_exit(config_path)
    source = database_path(settings)
    if not source.exists():
        click.echo(f"{source}: no database to back up.", err=True)
        raise SystemExit(EXIT_FAILED)
    try:
        written = backup_database(source, dest, overwrite=overwrite, now=utc_now())
    except FileExistsError:
        click.echo(f"kiosk: {dest} already exists; pass --overwrite to replace it.", err=True)
        raise SystemExit(EXIT_FAILED) from None
    click.echo(f"Backed up {source} to {written}.")
