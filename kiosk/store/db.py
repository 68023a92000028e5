"""Opening the kiosk's SQLite database: pragmas, the boot-time check and schema migrations.

Every thread that touches the database opens its own connection with `open_database`. The
connection that records money passes ``records_money=True`` and gets ``synchronous=FULL``, so
a committed sale survives a power cut; other connections use ``NORMAL`` (still safe in WAL
mode, it only risks losing the last commits, never corrupting the file).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from kiosk.store.audit_chain import start_chain
from kiosk.store.keys import StoreKeys, attach_keys
from kiosk.store.pin_pepper import wrap_existing
from kiosk.store.schema import MIGRATIONS

log = logging.getLogger(__name__)

class Refusal(Exception):
    """A store job's expected "no" (a refund beyond what is left, a bad setting, a catalog
    file with problems): its transaction is rolled back and the caller gets the exception,
    but the store worker does not log it as a failure."""


class StoreError(Exception):
    """Something is wrong with the local database that the caller cannot fix by retrying."""


class DatabaseCorrupt(StoreError):
    """The database file failed SQLite's integrity check or is not a database at all."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        shown = "; ".join(problems[:5])
        if len(problems) > 5:
            shown += f"; ... ({len(problems) - 5} more)"
        super().__init__(
            f"The kiosk database {path} is damaged ({shown}). "
            "Run `kiosk db check` for a full report, then restore the latest backup "
            "made with `kiosk db backup`."
        )


def open_database(
    path: Path,
    *,
    records_money: bool = False,
    busy_timeout_ms: int = 5000,
    check: bool = True,
    keys: StoreKeys | None = None,
) -> Database:
    """Open (creating if needed) the kiosk database at ``path`` and bring its schema up to date.

    Creates the parent directory, sets ``busy_timeout`` (milliseconds), runs
    ``PRAGMA quick_check`` when ``check`` is true, switches to WAL, sets ``synchronous`` to FULL
    when ``records_money`` else NORMAL, turns on ``foreign_keys`` and applies pending
    migrations. The returned connection may only be used from the thread that opened it.
    With ``keys`` (the PIN pepper and the audit key) the connection wraps PINs and seals
    audit rows, and a database never opened with keys has its PIN hashes wrapped and its
    audit rows sealed now (`seal_with`).

    Raises `DatabaseCorrupt` when the file is damaged or is not a SQLite database, and
    `StoreError` when it cannot be opened for another reason (locked for longer than the busy
    timeout, WAL unavailable on this file system).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # No sqlite-utils plugins: finding them reads every installed package's metadata
        # (tens of milliseconds on the start's critical path), and the kiosk's connections
        # take no code from whatever else happens to be installed.
        db = Database(path, execute_plugins=False)
    except sqlite3.OperationalError as exc:
        raise StoreError(f"Cannot open the kiosk database {path}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise DatabaseCorrupt(path, [str(exc)]) from exc
    try:
        _prepare(db, path, records_money=records_money, busy_timeout_ms=busy_timeout_ms,
                 check=check)
        if keys is not None:
            seal_with(db, keys)
    except BaseException:
        db.close()
        raise
    return db


def seal_with(db: Database, keys: StoreKeys) -> None:
    """Attach ``keys`` to ``db`` and, the first time, wrap the PIN hashes with the pepper and
    seal the audit rows (``kiosk.store.pin_pepper``, ``kiosk.store.audit_chain``)."""
    attach_keys(db, keys)
    with immediate_transaction(db):
        wrapped = wrap_existing(db, keys)
        sealed = start_chain(db, keys)
    if wrapped or sealed:
        log.info("secrets: %d PIN hashes wrapped, %d audit rows sealed", wrapped, sealed)


def _prepare(
    db: Database, path: Path, *, records_money: bool, busy_timeout_ms: int, check: bool
) -> None:
    conn = db.conn
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if check:
            problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise DatabaseCorrupt(path, problems)
        if conn.execute("PRAGMA page_count").fetchone()[0] == 0:
            # A new file: free pages can be given back bit by bit (kiosk.store.retention),
            # which only a database created in this mode allows without a full VACUUM.
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        # Changing the journal mode is refused inside a transaction; none is open here.
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(
                f"The kiosk database {path} cannot use WAL journaling (got {mode!r}); "
                "keep the state directory on a local file system."
            )
        conn.execute(f"PRAGMA synchronous = {'FULL' if records_money else 'NORMAL'}")
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(db)
    except sqlite3.OperationalError as exc:
        # OperationalError is a DatabaseError too, but "locked" or "disk full" is not damage.
        raise StoreError(f"Cannot prepare the kiosk database {path}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise DatabaseCorrupt(path, [str(exc)]) from exc


def _migrate(db: Database) -> None:
    """Apply pending migrations while holding the write lock, so two openers never race."""
    pending = MIGRATIONS.pending(db)
    if not pending:
        return
    if not all(migration.transactional for migration in pending):
        MIGRATIONS.apply(db)
        return
    # Each migration still runs in its own savepoint (sqlite-utils nests atomic()); the outer
    # IMMEDIATE transaction makes a second process wait and then find nothing left to do.
    with immediate_transaction(db):
        MIGRATIONS.apply(db)
    log.info("applied migrations: %s", ", ".join(m.name for m in pending))


@contextmanager
def immediate_transaction(db: Database) -> Iterator[Database]:
    """Run a block as one write transaction that takes the write lock at its start.

    A plain ``BEGIN`` takes the lock only at the first write, and a read-then-write
    transaction can then fail with "database is locked" when another connection wrote in
    between. ``BEGIN IMMEDIATE`` waits (up to ``busy_timeout``) for the lock instead. Inside
    an already open transaction this becomes a savepoint, like `Database.atomic`.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    try:
        db.conn.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise


def install_id(db: Database) -> str:
    """Return this database's random install id (32 lowercase hex digits, never changes)."""
    row = db.conn.execute("SELECT value FROM meta WHERE key = 'install_id'").fetchone()
    if row is None:
        raise StoreError("The kiosk database has no install_id; was it migrated?")
    return str(row[0])
