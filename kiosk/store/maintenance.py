"""Looking after the database file: a full health report and online backups.

These back the ``kiosk db check`` and ``kiosk db backup DEST`` commands. Both work while the
kiosk is running: the check only reads, and the backup copies a consistent snapshot through
SQLite's online backup API while other connections keep writing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

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
        db = Database(path)
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


def backup_file_name(now: datetime) -> str:
    """The name a backup gets inside a destination directory: ``kiosk-YYYYMMDDTHHMMSSZ.db``."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got naive {now!r}")
    return f"kiosk-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}.db"


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
