"""The back office's store in PostgreSQL (psycopg 3), for a chain with many kiosks.

Connections come from a small pool (at most ``MAX_CONNECTIONS``; a server thread waits up to
``POOL_WAIT_S`` for a free one, then gets ``HQStoreError``, which the server answers with 503).
Every connection has a ``statement_timeout`` (``STATEMENT_TIMEOUT_S``), so a stuck statement
never holds a connection for good; a cancelled or failed statement is an ``HQStoreError`` too.
A batch is one transaction: ``INSERT ... ON CONFLICT DO NOTHING`` of all its events
at once, then a look at the body hashes of the ids that were there already; a different one
rolls everything back. Two batches with the same ids at the same moment are safe: the second
insert waits for the first transaction and then sees its rows.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from kiosk.hq.sql_store import SQLDialect, SQLQueries, watch_batch
from kiosk.hq.storage import HQStoreError, StoredEvent, event_rows, sort_out
from kiosk.wire import Batch, BatchReply

try:
    import psycopg
except ImportError:  # pragma: no cover - the optional extra is missing
    psycopg = None  # type: ignore[assignment]

MAX_CONNECTIONS = 8
"""Connections to PostgreSQL at most; more server threads wait for a free one."""
POOL_WAIT_S = 5.0
"""Seconds a server thread waits for a free connection before it gives up (a 503)."""
STATEMENT_TIMEOUT_S = 15.0
"""Seconds PostgreSQL lets one statement run before it cancels it."""
CONNECT_TIMEOUT_S = 10
"""Seconds to wait for PostgreSQL to accept a connection."""
SCHEMA_LOCK = 0x6B696F736B6871
"""Advisory lock key taken while the tables are created ("kioskhq"), so two processes starting
at once do not race each other's CREATE TABLE."""

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS kiosks (
        kiosk_id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        created_at TIMESTAMPTZ NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS events (
        kiosk_id TEXT NOT NULL,
        event_id UUID NOT NULL,
        topic TEXT NOT NULL,
        sale_id UUID,
        body_hash TEXT NOT NULL,
        payload JSONB NOT NULL,
        created_at TEXT NOT NULL,
        received_at TIMESTAMPTZ NOT NULL,
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        PRIMARY KEY (kiosk_id, event_id)
    )""",
    "ALTER TABLE events ADD COLUMN IF NOT EXISTS extra JSONB",  # protocol 1.1
    "CREATE INDEX IF NOT EXISTS events_by_sale ON events (sale_id) WHERE sale_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS events_by_arrival ON events (seq)",
    """CREATE TABLE IF NOT EXISTS products (
        code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        price_minor BIGINT NOT NULL,
        tax_class TEXT NOT NULL,
        min_age INTEGER,
        sold_by_weight BOOLEAN NOT NULL,
        unit_price_per_kg_minor BIGINT,
        department TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS audit_heads (
        kiosk_id TEXT PRIMARY KEY,
        audit_id BIGINT NOT NULL,
        chain_hash TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS alerts (
        kiosk_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        audit_id BIGINT,
        detail TEXT NOT NULL,
        raised_at TIMESTAMPTZ NOT NULL,
        seq BIGINT GENERATED ALWAYS AS IDENTITY
    )""",
    """CREATE TABLE IF NOT EXISTS catalog (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version TEXT NOT NULL,
        currency TEXT NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL
    )""",
)

# The arrays go in binary (%b): PostgreSQL parses a text array of 100 payloads ten times slower.
_INSERT_EVENTS = """
INSERT INTO events (kiosk_id, event_id, topic, sale_id, body_hash, payload, created_at,
                    received_at, extra)
SELECT %(kiosk_id)s, e.event_id, e.topic, e.sale_id, e.body_hash, e.payload::jsonb,
       e.created_at, %(received_at)s, e.extra::jsonb
FROM unnest(%(ids)b::uuid[], %(topics)b::text[], %(sales)b::uuid[], %(hashes)b::text[],
            %(payloads)b::text[], %(created)b::text[], %(extras)b::text[])
     WITH ORDINALITY AS e(event_id, topic, sale_id, body_hash, payload, created_at, extra, n)
ORDER BY e.n
ON CONFLICT (kiosk_id, event_id) DO NOTHING
RETURNING event_id::text
"""


def _stored_event(row: tuple[Any, ...]) -> StoredEvent:
    kiosk_id, event_id, topic, sale_id, created_at, payload, body_hash, received_at, extra = row
    return StoredEvent(
        kiosk_id=kiosk_id,
        event_id=event_id,
        topic=topic,
        sale_id=sale_id,
        created_at=created_at,
        payload=payload,
        body_hash=body_hash,
        received_at=received_at,
        extra=extra or {},
    )


def _same_moment(now: datetime) -> datetime:
    return now


DIALECT = SQLDialect(
    mark="%s",
    arrival="seq",
    event_columns=(
        "kiosk_id, event_id::text, topic, sale_id::text, created_at, payload, body_hash, "
        "received_at, extra"
    ),
    uuid_cast="::uuid",
    stamp=_same_moment,
    stored_event=_stored_event,
)
"""PostgreSQL's spelling: ``%s`` parameters, arrival by ``seq``, UUID and TIMESTAMPTZ
columns (psycopg hands the JSONB payload and the moment over decoded)."""


class PostgresHQStore:
    """``HQStore`` in the PostgreSQL database at ``dsn`` (a libpq URI or key=value string);
    the tables are created in its current schema if missing."""

    def __init__(
        self,
        dsn: str,
        *,
        max_connections: int = MAX_CONNECTIONS,
        pool_wait_s: float = POOL_WAIT_S,
        statement_timeout_s: float = STATEMENT_TIMEOUT_S,
    ) -> None:
        if psycopg is None:
            raise HQStoreError(
                "PostgreSQL needs psycopg: pip install 'kiosk[postgres]'"
            )
        if max_connections < 1 or pool_wait_s <= 0 or statement_timeout_s <= 0:
            raise ValueError("the pool needs a connection, a wait and a statement timeout")
        self._dsn = dsn
        self._pool_wait_s = pool_wait_s
        self._statement_timeout_ms = max(1, round(statement_timeout_s * 1000))
        self._idle: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._closed = False
        with self._connection() as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEMA_LOCK])
            for statement in SCHEMA:
                connection.execute(statement)
        queries = SQLQueries(
            DIALECT, read=self._read, snapshot=self._transaction, transaction=self._transaction
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

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            connection = psycopg.connect(
                self._dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.Error as error:
            # libpq's message names the host and the problem, never the password.
            raise HQStoreError(f"cannot connect to PostgreSQL: {error}") from None
        try:
            # An integer in milliseconds, so no quoting is needed (SET takes no parameters).
            connection.execute(f"SET statement_timeout = {self._statement_timeout_ms}")
        except psycopg.Error as error:
            connection.close()
            raise HQStoreError(f"cannot set up the PostgreSQL connection: {error}") from None
        return connection

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection for this thread until the block ends; a broken one is dropped.

        Raises ``HQStoreError`` when no connection is free within the pool wait, and in place
        of a statement PostgreSQL cancelled (its timeout) or a connection that failed."""
        if self._closed:
            raise HQStoreError("the back office store is closed")
        if not self._slots.acquire(timeout=self._pool_wait_s):
            raise HQStoreError(
                f"the back office is busy: no free PostgreSQL connection within "
                f"{self._pool_wait_s:g} s")
        try:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                connection = self._connect()
            try:
                yield connection
            except psycopg.errors.QueryCanceled as error:
                raise HQStoreError(f"PostgreSQL cancelled a statement: {error}") from None
            except psycopg.OperationalError as error:
                raise HQStoreError(f"PostgreSQL failed: {error}") from None
            finally:
                if connection.closed or connection.broken or self._closed:
                    connection.close()
                else:
                    self._idle.put(connection)
        finally:
            self._slots.release()

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection inside one transaction for the block."""
        with self._connection() as connection, connection.transaction():
            yield connection

    def _read(self, sql: str, parameters: Sequence[Any] | None = None) -> list[Any]:
        with self._connection() as connection:
            return connection.execute(sql, parameters).fetchall()

    def add_kiosk(self, kiosk_id: str, hashed_token: str, now: datetime) -> bool:
        """See ``HQStore.add_kiosk``."""
        with self._connection() as connection:
            row = connection.execute(
                "INSERT INTO kiosks (kiosk_id, token_hash, created_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (kiosk_id) DO UPDATE SET token_hash = excluded.token_hash "
                "RETURNING (xmax = 0)",
                [kiosk_id, hashed_token, now],
            ).fetchone()
        return bool(row and row[0])

    def store_batch(self, batch: Batch, now: datetime) -> BatchReply:
        """See ``HQStore.store_batch``."""
        rows = event_rows(batch)
        parameters = {
            "kiosk_id": batch.kiosk_id,
            "received_at": now,
            "ids": [row.event_id for row in rows],
            "topics": [row.topic for row in rows],
            "sales": [row.sale_id for row in rows],
            "hashes": [row.body_hash for row in rows],
            "payloads": [row.payload_json for row in rows],
            "created": [row.created_at for row in rows],
            "extras": [row.extra_json for row in rows],
        }
        with self._connection() as connection, connection.transaction():
            inserted = {str(row[0]) for row in connection.execute(_INSERT_EVENTS, parameters)}
            already = [row.event_id for row in rows if row.event_id not in inserted]
            stored: dict[str, str] = {}
            if already:
                stored = {
                    str(event_id): str(body_hash)
                    for event_id, body_hash in connection.execute(
                        "SELECT event_id::text, body_hash FROM events "
                        "WHERE kiosk_id = %s AND event_id = ANY(%b::uuid[])",
                        [batch.kiosk_id, already],
                    )
                }
            reply = sort_out(rows, stored)  # raises EventConflict: the transaction rolls back
            watch_batch(connection, DIALECT, batch.kiosk_id, rows, reply.accepted, now)
            return reply

    def setting(self, name: str) -> str:
        """The value of a run-time setting (``SHOW name``) on a pooled connection, e.g.
        ``statement_timeout``."""
        rows = self._read("SELECT current_setting(%s)", [name])
        return str(rows[0][0])

    def close(self) -> None:
        """See ``HQStore.close``."""
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

