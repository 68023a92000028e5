"""The back office's store in one SQLite file: enough for a shop and its few kiosks.

One connection shared by the server's threads behind a lock (SQLite writes one at a time
anyway). WAL with ``synchronous=FULL``: a batch is acknowledged only once its commit is on
disk, because a kiosk never sends an acknowledged event again; with ``NORMAL`` a power cut
could lose the last commits after the kiosk was told they were stored.
Other processes (``kiosk hq token add``, a test reading the events) may open the same file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from kiosk.core.timestamps import parse_utc_iso, utc_now_iso
from kiosk.hq.sql_store import SQLDialect, SQLQueries, watch_batch
from kiosk.hq.storage import HQStoreError, StoredEvent, event_rows, sort_out
from kiosk.wire import Batch, BatchReply

BUSY_TIMEOUT_S = 10.0
"""Seconds a write waits for another process's write to the same file."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS kiosks (
    kiosk_id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    kiosk_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    sale_id TEXT,
    body_hash TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (kiosk_id, event_id)
);
CREATE INDEX IF NOT EXISTS events_by_sale ON events (sale_id) WHERE sale_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS products (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    price_minor INTEGER NOT NULL,
    tax_class TEXT NOT NULL,
    min_age INTEGER,
    sold_by_weight INTEGER NOT NULL,
    unit_price_per_kg_minor INTEGER,
    department TEXT
);
CREATE TABLE IF NOT EXISTS audit_heads (
    kiosk_id TEXT PRIMARY KEY,
    audit_id INTEGER NOT NULL,
    chain_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    kiosk_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    audit_id INTEGER,
    detail TEXT NOT NULL,
    raised_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS catalog (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version TEXT NOT NULL,
    currency TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


def _add_extra_column(connection: sqlite3.Connection) -> None:
    """Give a database of protocol 1.0 the column for the event fields beyond the protocol."""
    try:
        connection.execute("ALTER TABLE events ADD COLUMN extra TEXT")
    except sqlite3.OperationalError as error:
        if "duplicate column" not in str(error):
            raise


def _stored_event(row: tuple[Any, ...]) -> StoredEvent:
    kiosk_id, event_id, topic, sale_id, created_at, payload, body_hash, received_at, extra = row
    return StoredEvent(
        kiosk_id=kiosk_id,
        event_id=event_id,
        topic=topic,
        sale_id=sale_id,
        created_at=created_at,
        payload=json.loads(payload),
        body_hash=body_hash,
        received_at=parse_utc_iso(received_at),
        extra=json.loads(extra) if extra else {},
    )


DIALECT = SQLDialect(
    mark="?",
    arrival="rowid",
    event_columns=(
        "kiosk_id, event_id, topic, sale_id, created_at, payload, body_hash, received_at, extra"
    ),
    uuid_cast="",
    stamp=utc_now_iso,
    stored_event=_stored_event,
)
"""SQLite's spelling: ``?`` parameters, arrival by rowid, UUIDs and moments as text."""


class SQLiteHQStore:
    """``HQStore`` in the SQLite file at ``path`` (created with its tables if missing)."""

    def __init__(self, path: Path) -> None:
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S
            )
        except (OSError, sqlite3.Error) as error:
            raise HQStoreError(f"cannot open the back office database {path}: {error}") from None
        self._lock = threading.Lock()
        try:
            self._connection.execute("PRAGMA journal_mode = WAL")
            self._connection.execute("PRAGMA synchronous = FULL")
            self._connection.executescript(SCHEMA)  # each statement commits on its own
            _add_extra_column(self._connection)
        except sqlite3.DatabaseError as error:
            self._connection.close()
            raise HQStoreError(
                f"{path} is not a usable back office database: {error}"
            ) from None
        queries = SQLQueries(
            DIALECT, read=self._read, snapshot=self._snapshot, transaction=self._transaction
        )
        # The dialect-independent part of HQStore is the shared SQL's.
        self.token_owner = queries.token_owner
        self.kiosk_for_token = queries.kiosk_for_token
        self.kiosks = queries.kiosks
        self.events = queries.events
        self.event_counts = queries.event_counts
        self.sale_events = queries.sale_events
        self.catalog = queries.catalog
        self.catalog_version = queries.catalog_version
        self.replace_catalog = queries.replace_catalog
        self.alerts = queries.alerts

    def __enter__(self) -> Self:
        """The store itself; it is closed when the block ends."""
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the store."""
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside ``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error),
        held by this thread alone."""
        with self._lock:
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """The connection, held by this thread alone for the block (no transaction)."""
        with self._lock:
            yield self._connection

    def _read(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._connection.execute(sql, parameters).fetchall()

    def add_kiosk(self, kiosk_id: str, hashed_token: str, now: datetime) -> bool:
        """See ``HQStore.add_kiosk``."""
        with self._transaction() as connection:
            known = connection.execute(
                "SELECT 1 FROM kiosks WHERE kiosk_id = ?", [kiosk_id]
            ).fetchone()
            connection.execute(
                "INSERT INTO kiosks (kiosk_id, token_hash, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (kiosk_id) DO UPDATE SET token_hash = excluded.token_hash",
                [kiosk_id, hashed_token, utc_now_iso(now)],
            )
        return known is None

    def store_batch(self, batch: Batch, now: datetime) -> BatchReply:
        """See ``HQStore.store_batch``."""
        rows = event_rows(batch)
        ids = [row.event_id for row in rows]
        marks = ", ".join("?" * len(ids))
        received = utc_now_iso(now)
        with self._transaction() as connection:
            stored = dict(connection.execute(
                f"SELECT event_id, body_hash FROM events WHERE kiosk_id = ? "
                f"AND event_id IN ({marks})",
                [batch.kiosk_id, *ids],
            ).fetchall())
            reply = sort_out(rows, stored)  # raises EventConflict: rolled back
            connection.executemany(
                "INSERT INTO events (kiosk_id, event_id, topic, sale_id, body_hash, payload, "
                "created_at, received_at, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (batch.kiosk_id, row.event_id, row.topic, row.sale_id, row.body_hash,
                     row.payload_json, row.created_at, received, row.extra_json)
                    for row in rows if row.event_id not in stored
                ],
            )
            watch_batch(connection, DIALECT, batch.kiosk_id, rows, reply.accepted, now)
        return reply

    def pragma(self, name: str) -> Any:
        """The value of ``PRAGMA name`` on the server's connection (``synchronous`` is 2, FULL).
        ``name`` must be a plain identifier."""
        if not name.isidentifier():
            raise ValueError(f"not a pragma name: {name!r}")
        rows = self._read(f"PRAGMA {name}")
        return rows[0][0] if rows else None

    def close(self) -> None:
        """See ``HQStore.close``."""
        with self._lock:
            self._connection.close()

