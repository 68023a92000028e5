"""The checks of what lives on the kiosk's card: the database, free space, staff, backups.

The database is opened read-only (a ``mode=ro`` URI), so the doctor never creates, migrates
or locks it for writing and can run next to the kiosk. The integrity test is SQLite's
``quick_check`` (``kiosk db check`` runs the slower full ``integrity_check``).
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from kiosk.doctor.result import CheckResult, failed, passed, warned
from kiosk.store import maintenance
from kiosk.store.schema import MIGRATIONS
from kiosk.store.staff import StaffRole, StaffRoster

if TYPE_CHECKING:
    from kiosk.doctor.context import DoctorContext

DATABASE = "database"
DISK = "disk"
STAFF = "staff"
BACKUPS = "backups"

DISK_WARN_BELOW_PERCENT = 20.0
"""Free space (percent of the file system) below which the disk check warns."""

DISK_FAIL_BELOW_PERCENT = 5.0
"""Free space (percent of the file system) below which the disk check fails."""

BACKUP_STALE_AFTER = timedelta(days=2)
"""Age after which the newest backup is too old (or twice the schedule's interval, if longer)."""

BUSY_TIMEOUT_S = 2.0
"""Seconds to wait for a kiosk that holds a write lock on the database."""

_BACKUP_TABLE = "backup"  # the [backup] settings table, when this version has it
_BACKUP_DESTINATION = "destination"
_BACKUP_INTERVAL_HOURS = "interval_hours"
_LAST_BACKUP = "last_backup"  # kiosk.store.maintenance.last_backup, when this version has it
_BACKUP_NAME = re.compile(r"kiosk-(\d{8}T\d{6}Z)\.db")

MANAGER_HINT = (
    "Add one: `kiosk staff add NAME --role manager`, then `kiosk staff set-pin NUMBER` "
    "(or `sudo kiosk install-service --manager NAME`). Without a manager nobody can open "
    "the staff menu."
)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Database]:
    """The database at ``path`` opened read-only (never created, never written)."""
    connection = sqlite3.connect(
        Path(path).absolute().as_uri() + "?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S
    )
    try:
        yield Database(connection)
    finally:
        connection.close()


def check_database(context: DoctorContext) -> CheckResult:
    """The database exists, passes ``quick_check`` and has every migration applied."""
    path = context.database
    if not path.exists():
        return failed(
            DATABASE,
            f"no database at {path}",
            "The kiosk creates it at its first start (`kiosk install-service --manager NAME` "
            "and `kiosk staff add` create it too). Is [paths] state_dir right?",
        )
    try:
        with read_only(path) as db:
            problems = [str(row[0]) for row in db.conn.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                return _damaged(context, problems)
            applied = MIGRATIONS.applied(db)
            pending = [migration.name for migration in MIGRATIONS.pending(db)]
    except sqlite3.OperationalError as error:
        return failed(
            DATABASE,
            f"cannot read {path}: {error}",
            "Run the doctor as root or as the kiosk's user (`sudo -u kiosk kiosk doctor`); "
            "if the database is locked, a command may be holding it: try again.",
        )
    except sqlite3.DatabaseError as error:
        return _damaged(context, [str(error)])
    if pending:
        return warned(
            DATABASE,
            f"{path}: quick_check ok; {len(pending)} schema migration(s) pending "
            f"({', '.join(pending)})",
            "The kiosk applies them at its next start (`sudo systemctl restart kiosk`).",
        )
    return passed(DATABASE, f"{path}: quick_check ok, schema up to date ({len(applied)} steps)")


def _damaged(context: DoctorContext, problems: list[str]) -> CheckResult:
    shown = "; ".join(problems[:3]) + (f"; ... ({len(problems) - 3} more)" if len(problems) > 3
                                       else "")
    where = ""
    destination = _backup_destination(context)
    if destination is not None:
        where = f" (the scheduled ones are in {destination})"
    return failed(
        DATABASE,
        f"the database is damaged ({shown})",
        f"Stop the kiosk (`sudo systemctl stop kiosk`), see `kiosk db check`, then restore "
        f"the newest backup made by `kiosk db backup`{where}, a file named "
        f"kiosk-YYYYMMDDTHHMMSSZ.db, as {context.database}.",
    )


def check_disk(context: DoctorContext) -> CheckResult:
    """Free space on the state directory's file system: warn below
    `DISK_WARN_BELOW_PERCENT`, fail below `DISK_FAIL_BELOW_PERCENT`."""
    state_dir = Path(context.settings.state_dir)
    existing = state_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    usage = context.disk_usage(existing)
    if usage.total <= 0:
        return failed(DISK, f"cannot tell the size of the file system of {state_dir}",
                      "Is the state directory on a mounted file system?")
    percent = usage.free * 100 / usage.total
    detail = (
        f"{percent:.1f} % free ({_size(usage.free)} of {_size(usage.total)}) "
        f"on the file system of {state_dir}"
    )
    hint = (
        "Free some space: old backups kept on the same card, `sudo journalctl "
        "--vacuum-size=32M`, files outside the kiosk; shorten [retention] if the database grows."
    )
    if percent < DISK_FAIL_BELOW_PERCENT:
        return failed(DISK, detail, "The database needs room to record sales. " + hint)
    if percent < DISK_WARN_BELOW_PERCENT:
        return warned(DISK, detail, hint)
    return passed(DISK, detail)


def _size(size_bytes: int) -> str:
    size = float(size_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def check_staff(context: DoctorContext) -> CheckResult:
    """At least one active manager with a PIN can open the staff menu."""
    path = context.database
    if not path.exists():
        return failed(STAFF, "no database, so no manager yet", MANAGER_HINT)
    try:
        with read_only(path) as db:
            members = StaffRoster(db).list()
    except sqlite3.Error as error:
        return failed(STAFF, f"cannot read the staff list ({error})",
                      "Fix the database first (see the database row).")
    managers = [member for member in members if member.role is StaffRole.MANAGER]
    ready = [member for member in managers if member.active and member.has_pin]
    if ready:
        names = ", ".join(f"{member.name} ({member.number})" for member in ready)
        return passed(STAFF, f"{len(ready)} active manager(s) with a PIN: {names}")
    without_pin = [member for member in managers if member.active]
    if without_pin:
        first = without_pin[0]
        return failed(
            STAFF,
            f"manager {first.name} ({first.number}) has no PIN, so cannot open the staff menu",
            f"Set one: `kiosk staff set-pin {first.number}`.",
        )
    inactive = f" ({len(managers)} inactive)" if managers else ""
    return failed(STAFF, f"no active manager with a PIN{inactive}", MANAGER_HINT)


def _backup_settings(context: DoctorContext) -> Any:
    return getattr(context.settings, _BACKUP_TABLE, None)


def _backup_destination(context: DoctorContext) -> Path | None:
    destination = getattr(_backup_settings(context), _BACKUP_DESTINATION, None)
    return None if destination is None else Path(destination)


def check_backups(context: DoctorContext) -> CheckResult | None:
    """The newest scheduled backup's age; ``None`` (no row) when these settings have no
    ``[backup]`` table."""
    backup = _backup_settings(context)
    destination = _backup_destination(context)
    if backup is None or destination is None:
        return None
    interval_hours = float(getattr(backup, _BACKUP_INTERVAL_HOURS, 24))
    return backup_freshness(
        destination, interval_hours=interval_hours, now=context.now(), database=context.database
    )


def newest_backup(folder: Path) -> tuple[Path, datetime] | None:
    """The newest kiosk backup in ``folder`` (named by `kiosk.store.maintenance.backup_file_name`)
    and when it was made (aware UTC, from its name), or ``None``."""
    store_finder = getattr(maintenance, _LAST_BACKUP, None)
    if store_finder is not None:
        found: tuple[Path, datetime] | None = store_finder(folder)
        return found
    newest: tuple[Path, datetime] | None = None
    for path in folder.iterdir():
        match = _BACKUP_NAME.fullmatch(path.name)
        if match is None or not path.is_file():
            continue
        made = datetime.strptime(match[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if newest is None or made > newest[1]:
            newest = (path, made)
    return newest


def backup_freshness(
    destination: Path, *, interval_hours: float, now: datetime, database: Path
) -> CheckResult:
    """Judge the backups in ``destination``: warn when it is missing, holds no backup, the
    newest is older than `BACKUP_STALE_AFTER` (or twice ``interval_hours``, if longer), or
    it is on the same file system as ``database``; pass otherwise. ``now`` is aware."""
    timer = "the kiosk-backup.timer (`systemctl status kiosk-backup.timer`)"
    if not destination.is_dir():
        return warned(
            BACKUPS,
            f"the backup destination {destination} is missing",
            "Plug in the backup stick (or mount the network share) there, or change "
            "[backup] destination; then run `kiosk db backup --rotate` once.",
        )
    newest = newest_backup(destination)
    if newest is None:
        return warned(
            BACKUPS,
            f"no backup in {destination} yet",
            f"Run `kiosk db backup --rotate` once and check {timer}.",
        )
    path, made = newest
    age = now - made
    limit = max(BACKUP_STALE_AFTER, timedelta(hours=2 * interval_hours))
    age_text = _age(age)
    if age > limit:
        return warned(
            BACKUPS,
            f"the newest backup is {age_text} old ({path})",
            f"Check {timer} and the journal (`journalctl -u kiosk-backup`).",
        )
    if _same_file_system(destination, database):
        return warned(
            BACKUPS,
            f"the newest backup is {age_text} old, but {destination} is on the same card as "
            "the database: a dead card loses both",
            "Point [backup] destination at a USB stick or a network share.",
        )
    return passed(BACKUPS, f"the newest backup is {age_text} old ({path})")


def _age(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    if hours < 48:
        return f"{max(hours, 0):.0f} h"
    return f"{hours / 24:.0f} days"


def _same_file_system(destination: Path, database: Path) -> bool:
    folder = database.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return os.stat(destination).st_dev == os.stat(folder).st_dev
    except OSError:
        return False
