"""Looking after the database file: a full health report, online backups and their rotation.

These back the ``kiosk db check`` and ``kiosk db backup`` commands. Both work while the
kiosk is running: the check only reads, and the backup copies a consistent snapshot through
SQLite's online backup API while other connections keep writing. The scheduled backup
(``kiosk db backup --rotate``) then keeps a folder of dated copies in bounds with
`rotate_backups`; `last_backup` finds the newest copy for ``kiosk doctor``. A copy's time is
read from its name (`backup_file_name`), never from its mtime, which a copy to another
stick or a restore from an archive changes.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from kiosk.store.db import DatabaseCorrupt, StoreError
from kiosk.store.schema import MIGRATIONS

_BUSY_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class DatabaseReport:
    """What `check_database` found. Sizes are in bytes.

    ``integrity`` holds the lines of ``PRAGMA integrity_check`` (just ``["ok"]`` when
    healthy) or the error that stopped the check. Pending migrations are not a fault: the
    next kiosk start applies them.
    """

    path: Path
    integrity: list[str]
    journal_mode: str | None
    applied_migrations: list[str] = field(default_factory=list)
    pending_migrations: list[str] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    size_bytes: int = 0
    wal_size_bytes: int = 0
    install_id: str | None = None

    @property
    def ok(self) -> bool:
        """True when SQLite's integrity check found nothing wrong."""
        return self.integrity == ["ok"]

    def summary_lines(self) -> list[str]:
        """The report as short human-readable lines, for the command line."""
        lines = [
            f"database: {self.path}",
            f"integrity: {'ok' if self.ok else 'DAMAGED'}",
        ]
        if not self.ok:
            lines += [f"  {problem}" for problem in self.integrity]
        lines += [
            f"journal mode: {self.journal_mode}",
            f"install id: {self.install_id}",
            f"size: {self.size_bytes} bytes (+ {self.wal_size_bytes} bytes of WAL)",
            f"migrations applied: {', '.join(self.applied_migrations) or 'none'}",
            f"migrations pending: {', '.join(self.pending_migrations) or 'none'}",
        ]
        lines += [f"rows in {table}: {count}" for table, count in self.row_counts.items()]
        return lines


def check_database(path: Path) -> DatabaseReport:
    """Run a full ``PRAGMA integrity_check`` on the database at ``path`` and describe it.

    Never creates or migrates anything. Raises `StoreError` when there is no file.
    """
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"There is no kiosk database at {path}.")
    size = path.stat().st_size
    wal = path.with_name(path.name + "-wal")
    wal_size = wal.stat().st_size if wal.exists() else 0
    try:
        db = Database(path, execute_plugins=False)  # as open_database: no plugins
    except sqlite3.DatabaseError as exc:
        return DatabaseReport(path=path, integrity=[str(exc)], journal_mode=None,
                              size_bytes=size, wal_size_bytes=wal_size)
    try:
        db.conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        try:
            integrity = [str(row[0]) for row in db.conn.execute("PRAGMA integrity_check")]
            journal_mode = str(db.conn.execute("PRAGMA journal_mode").fetchone()[0])
        except sqlite3.OperationalError as exc:
            raise StoreError(f"Cannot check the kiosk database {path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            return DatabaseReport(path=path, integrity=[str(exc)], journal_mode=None,
                                  size_bytes=size, wal_size_bytes=wal_size)
        applied: list[str] = []
        pending: list[str] = []
        counts: dict[str, int] = {}
        found_install_id: str | None = None
        # A damaged file can still fail here; report what could be read.
        with contextlib.suppress(sqlite3.DatabaseError):
            applied = [m.name for m in MIGRATIONS.applied(db)]
            pending = [m.name for m in MIGRATIONS.pending(db)]
            for table in db.table_names():
                if table.startswith("sqlite_"):
                    continue
                (counts[table],) = db.conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()
            if "meta" in counts:
                row = db.conn.execute(
                    "SELECT value FROM meta WHERE key = 'install_id'"
                ).fetchone()
                found_install_id = None if row is None else str(row[0])
        return DatabaseReport(
            path=path,
            integrity=integrity,
            journal_mode=journal_mode,
            applied_migrations=applied,
            pending_migrations=pending,
            row_counts=counts,
            size_bytes=size,
            wal_size_bytes=wal_size,
            install_id=found_install_id,
        )
    finally:
        db.close()


_STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_BACKUP_NAME = re.compile(r"kiosk-(?P<stamp>\d{8}T\d{6}Z)\.db")
_LEFTOVER_NAME = re.compile(r"kiosk-(?P<stamp>\d{8}T\d{6}Z)\.db\.partial(?:-journal|-wal|-shm)?")

LEFTOVER_AGE = timedelta(days=1)
"""Age after which the ``.partial`` file of an interrupted backup is deleted by rotation
(younger, it may be a backup still being written)."""


def backup_file_name(now: datetime) -> str:
    """The name a backup gets inside a destination directory: ``kiosk-YYYYMMDDTHHMMSSZ.db``."""
    _require_aware(now)
    return f"kiosk-{now.astimezone(UTC):{_STAMP_FORMAT}}.db"


def backup_time(name: str) -> datetime | None:
    """When the backup called ``name`` was made (aware UTC, from the name), or ``None`` when
    the name is not one `backup_file_name` gives."""
    match = _BACKUP_NAME.fullmatch(name)
    return None if match is None else _stamp_time(match["stamp"])


def kiosk_backups(folder: Path) -> list[tuple[Path, datetime]]:
    """The kiosk's backups in ``folder`` (regular files named by `backup_file_name`; nothing
    else, not even a symlink), newest first, each with the time in its name. Raises
    `OSError` when the folder cannot be listed."""
    found: list[tuple[Path, datetime]] = []
    for path in Path(folder).iterdir():
        made = backup_time(path.name)
        if made is not None and _is_plain_file(path):
            found.append((path, made))
    return sorted(found, key=lambda backup: backup[1], reverse=True)


def last_backup(folder: Path) -> tuple[Path, datetime] | None:
    """The newest kiosk backup in ``folder`` and when it was made (aware UTC, from its name);
    ``None`` when there is none, or the folder is missing or cannot be read."""
    try:
        backups = kiosk_backups(folder)
    except OSError:
        return None
    return backups[0] if backups else None


def rotate_backups(
    folder: Path, *, keep_count: int, keep_days: int, now: datetime
) -> list[Path]:
    """Delete the kiosk's older backups in ``folder`` and return the paths deleted.

    A backup goes when it is not among the ``keep_count`` newest, or when it was made more
    than ``keep_days`` days before ``now`` (aware); the newest one always stays, however old,
    since an old backup is better than none. Only files named by `backup_file_name` count
    and are ever deleted, plus the ``.partial`` leftovers of an interrupted backup older than
    `LEFTOVER_AGE`; any other file in the folder is left alone. Times come from the names.
    Raises `ValueError` for a count or days below 1, `OSError` when a file cannot be deleted.
    """
    _require_aware(now)
    if keep_count < 1 or keep_days < 1:
        raise ValueError(f"keep_count and keep_days must be 1 or more, got {keep_count}, "
                         f"{keep_days}")
    oldest_kept = now - timedelta(days=keep_days)
    deleted: list[Path] = []
    for index, (path, made) in enumerate(kiosk_backups(folder)):
        if index >= keep_count or (index > 0 and made < oldest_kept):
            path.unlink()
            deleted.append(path)
    for path in sorted(Path(folder).iterdir()):
        match = _LEFTOVER_NAME.fullmatch(path.name)
        started = None if match is None else _stamp_time(match["stamp"])
        if started is not None and started < now - LEFTOVER_AGE and _is_plain_file(path):
            path.unlink()
            deleted.append(path)
    return deleted


def on_same_file_system(destination: Path, database: Path) -> bool:
    """Whether ``destination`` (a folder) lives on the same file system as ``database``: a
    backup there dies with the database's card. ``False`` when either cannot be examined."""
    try:
        return os.stat(destination).st_dev == os.stat(Path(database).parent).st_dev
    except OSError:
        return False


MIN_FREE_PERCENT_AFTER_BACKUP = 5.0
"""The free space (percent of the file system) a backup on the database's own file system
must leave: ``kiosk doctor``'s failure line for the disk. Below it the database has no room
to record sales, which matter more than a copy that dies with the card anyway."""


def free_percent_after_copy(
    folder: Path, database: Path, *, disk_usage: Callable[[Path], Any] = shutil.disk_usage
) -> float:
    """The free space (percent of its file system) ``folder`` would have left after one more
    copy of ``database``, counted at the size of the database file and its ``-wal`` (a copy
    is never larger). ``disk_usage`` reads a file system's ``total`` and ``free`` bytes as
    `shutil.disk_usage` does. Raises `OSError` when either cannot be examined."""
    usage = disk_usage(Path(folder))
    if usage.total <= 0:
        return 0.0
    size = Path(database).stat().st_size
    wal = Path(f"{database}-wal")
    with contextlib.suppress(FileNotFoundError):
        size += wal.stat().st_size
    return max(usage.free - size, 0) * 100 / usage.total


def _stamp_time(stamp: str) -> datetime | None:
    try:
        return datetime.strptime(stamp, _STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:  # shaped like a stamp but no real time (month 13): not ours
        return None


def _is_plain_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got naive {now!r}")


def backup_database(
    source: Path, dest: Path, *, now: datetime | None = None, overwrite: bool = False
) -> Path:
    """Copy the live database ``source`` to ``dest`` safely, and return the path written.

    Uses SQLite's online backup API in one step, so the copy is one consistent snapshot even
    while other connections write. The copy is written to ``<dest>.partial``, checked with
    ``quick_check``, switched to a single-file journal mode, fsynced and only then renamed
    into place, so ``dest`` is either complete or absent. When ``dest`` is a directory the
    copy is named after ``now`` (required then) with `backup_file_name`. An existing
    ``dest`` is refused (`FileExistsError`) unless ``overwrite``. The destination's parent
    directory must exist: a missing mount point is not silently created on the kiosk's disk.
    """
    source, dest = Path(source), Path(dest)
    if not source.is_file():
        raise StoreError(f"There is no kiosk database at {source}.")
    if dest.is_dir():
        if now is None:
            raise ValueError("backing up into a directory needs `now` to name the file")
        dest = dest / backup_file_name(now)
    if not dest.parent.is_dir():
        raise StoreError(f"The backup directory {dest.parent} does not exist.")
    if dest.exists() and dest.resolve() == source.resolve():
        raise ValueError("a backup cannot overwrite the database it copies")
    if dest.exists() and not overwrite:
        raise FileExistsError(f"{dest} already exists; pass overwrite to replace it")
    partial = dest.with_name(dest.name + ".partial")
    _remove_database_files(partial)
    try:
        _copy_snapshot(source, partial)
        _fsync_file(partial)
        _move_into_place(partial, dest, overwrite=overwrite)
    except BaseException:
        _remove_database_files(partial)
        raise
    _fsync_directory(dest.parent)
    return dest


def _copy_snapshot(source: Path, partial: Path) -> None:
    src = sqlite3.connect(str(source))
    try:
        src.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        dst = sqlite3.connect(str(partial))
        try:
            # pages=-1: everything in one step under one read transaction, a single snapshot.
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode = DELETE")
            problems = [str(row[0]) for row in dst.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise DatabaseCorrupt(source, problems)
        finally:
            dst.close()
    finally:
        src.close()


def _move_into_place(partial: Path, dest: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(partial, dest)
        return
    try:
        # A hard link never replaces an existing file, so a racing writer cannot be clobbered.
        os.link(partial, dest)
    except FileExistsError:
        raise FileExistsError(f"{dest} already exists; pass overwrite to replace it") from None
    except OSError:
        # File systems without hard links (FAT on a USB stick): check, then rename.
        if dest.exists():
            raise FileExistsError(
                f"{dest} already exists; pass overwrite to replace it"
            ) from None
        os.replace(partial, dest)
        return
    partial.unlink()


def _remove_database_files(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).unlink()


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
