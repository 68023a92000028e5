"""The back office's SQL that does not depend on the database: one copy for both backends.

``SQLiteHQStore`` and ``PostgresHQStore`` each hold an :class:`SQLQueries`, given a small
:class:`SQLDialect` (how the database spells a parameter, the arrival order, a UUID and a
moment) and three doors into their connections: ``read`` (one statement, its rows),
``snapshot`` (a connection to read several statements at once) and ``transaction`` (a
connection inside one transaction for the block). What differs in more
than spelling (opening the database, storing a batch, adding a kiosk) stays in each backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.core.timestamps import parse_utc_iso
from kiosk.hq.audit_watch import Alert, AuditHead, accepted_events, follow
from kiosk.hq.storage import EventRow, StoredEvent, feed_product, zero_counts
from kiosk.hq.tokens import token_hash, token_matches
from kiosk.wire import FEED_FIELDS, CatalogFeed, catalog_version

Read = Callable[[str, Sequence[Any]], list[Any]]
"""Run one statement with its parameters and return its rows."""
Transaction = Callable[[], AbstractContextManager[Any]]
"""A connection (with ``execute`` and ``cursor``) held by this thread until the block ends."""

_PRODUCT_COLUMNS = ", ".join(FEED_FIELDS)


@dataclass(frozen=True)
class SQLDialect:
    """How one database spells what the shared statements need.

    ``mark`` is the parameter placeholder (``?`` or ``%s``), ``arrival`` the column that
    orders events as they arrived (``rowid``, ``seq``), ``event_columns`` the select list of
    an event row, ``uuid_cast`` what follows a parameter compared with a UUID column.
    ``stamp`` turns a moment into what a timestamp column takes; ``stored_event`` turns a
    selected event row into a :class:`StoredEvent`.
    """

    mark: str
    arrival: str
    event_columns: str
    uuid_cast: str
    stamp: Callable[[datetime], Any]
    stored_event: Callable[[tuple[Any, ...]], StoredEvent]


class SQLQueries:
    """The part of ``HQStore`` that is the same SQL on every database."""

    def __init__(
        self, dialect: SQLDialect, *, read: Read, snapshot: Transaction, transaction: Transaction
    ) -> None:
        self._dialect = dialect
        self._read = read
        self._snapshot = snapshot
        self._transaction = transaction

    def token_owner(self, hashed_token: str) -> tuple[str, str] | None:
        """See ``HQStore.token_owner``."""
        rows = self._read(
            f"SELECT kiosk_id, token_hash FROM kiosks WHERE token_hash = {self._dialect.mark}",
            [hashed_token],
        )
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def kiosk_for_token(self, token: str) -> str | None:
        """See ``HQStore.kiosk_for_token``."""
        found = self.token_owner(token_hash(token))
        if found is None or not token_matches(token, found[1]):
            return None
        return found[0]

    def kiosks(self) -> list[str]:
        """See ``HQStore.kiosks``."""
        return [str(row[0]) for row in self._read("SELECT kiosk_id FROM kiosks ORDER BY 1", [])]

    def events(self, kiosk_id: str | None = None) -> list[StoredEvent]:
        """See ``HQStore.events``."""
        dialect = self._dialect
        where, parameters = (
            (f"WHERE kiosk_id = {dialect.mark} ", [kiosk_id]) if kiosk_id is not None else ("", [])
        )
        rows = self._read(
            f"SELECT {dialect.event_columns} FROM events {where}ORDER BY {dialect.arrival}",
            parameters,
        )
        return [dialect.stored_event(row) for row in rows]

    def event_counts(self, kiosk_id: str | None = None) -> dict[str, int]:
        """See ``HQStore.event_counts``."""
        where, parameters = (
            (f"WHERE kiosk_id = {self._dialect.mark}", [kiosk_id]) if kiosk_id else ("", [])
        )
        counts = zero_counts()
        for topic, count in self._read(
            f"SELECT topic, COUNT(*) FROM events {where} GROUP BY topic", parameters
        ):
            counts[str(topic)] = int(count)
        return counts

    def sale_events(self, sale_id: str) -> list[StoredEvent]:
        """See ``HQStore.sale_events``."""
        dialect = self._dialect
        sale = f"{dialect.mark}{dialect.uuid_cast}"
        rows = self._read(
            f"SELECT {dialect.event_columns} FROM events WHERE sale_id = {sale} "
            "AND topic IN ('sale.paid', 'refund.succeeded') "
            f"AND kiosk_id = (SELECT kiosk_id FROM events WHERE sale_id = {sale} "
            f"AND topic = 'sale.paid' ORDER BY {dialect.arrival} LIMIT 1) "
            f"ORDER BY {dialect.arrival}",
            [sale_id, sale_id],
        )
        return [dialect.stored_event(row) for row in rows]

    def catalog(self) -> CatalogFeed | None:
        """See ``HQStore.catalog``."""
        with self._snapshot() as connection:
            head = connection.execute(
                "SELECT version, currency FROM catalog WHERE id = 1"
            ).fetchone()
            if head is None:
                return None
            cursor = connection.execute(f"SELECT {_PRODUCT_COLUMNS} FROM products ORDER BY code")
            products = tuple(
                feed_product(dict(zip(FEED_FIELDS, row, strict=True)))
                for row in cursor.fetchall()
            )
        return CatalogFeed(str(head[0]), str(head[1]), products)

    def catalog_version(self) -> str | None:
        """See ``HQStore.catalog_version``."""
        rows = self._read("SELECT version FROM catalog WHERE id = 1", [])
        return str(rows[0][0]) if rows else None

    def replace_catalog(
        self, currency: str, products: list[dict[str, Any]], now: datetime
    ) -> CatalogFeed:
        """See ``HQStore.replace_catalog``."""
        rows = sorted((feed_product(product) for product in products), key=lambda p: p["code"])
        feed = CatalogFeed(catalog_version(currency, rows), currency, tuple(rows))
        if feed.version != self.catalog_version():
            self._write_catalog(feed, now)
        return feed

    def _write_catalog(self, feed: CatalogFeed, now: datetime) -> None:
        """Replace the stored feed by ``feed`` in one transaction."""
        mark = self._dialect.mark
        with self._transaction() as connection:
            connection.execute("DELETE FROM products")
            with closing(connection.cursor()) as cursor:
                cursor.executemany(
                    f"INSERT INTO products ({_PRODUCT_COLUMNS}) "
                    f"VALUES ({', '.join([mark] * len(FEED_FIELDS))})",
                    [tuple(product[name] for name in FEED_FIELDS)
                     for product in feed.products],
                )
            connection.execute(
                "INSERT INTO catalog (id, version, currency, updated_at) "
                f"VALUES (1, {mark}, {mark}, {mark}) ON CONFLICT (id) DO UPDATE SET "
                "version = excluded.version, currency = excluded.currency, "
                "updated_at = excluded.updated_at",
                [feed.version, feed.currency, self._dialect.stamp(now)],
            )

    def alerts(self, kiosk_id: str | None = None) -> list[Alert]:
        """See ``HQStore.alerts``."""
        dialect = self._dialect
        where, parameters = (
            (f"WHERE kiosk_id = {dialect.mark} ", [kiosk_id]) if kiosk_id else ("", [])
        )
        rows = self._read(
            f"SELECT kiosk_id, kind, audit_id, detail, raised_at FROM alerts {where}"
            f"ORDER BY {dialect.arrival}",
            parameters,
        )
        return [
            Alert(str(row[0]), str(row[1]), None if row[2] is None else int(row[2]),
                  str(row[3]),
                  row[4] if isinstance(row[4], datetime) else parse_utc_iso(str(row[4])))
            for row in rows
        ]


def watch_batch(connection: Any, dialect: SQLDialect, kiosk_id: str, rows: list[EventRow],
                accepted: Sequence[str], now: datetime) -> list[Alert]:
    """Follow the kiosk's audit chain through the newly stored events of a batch and store
    the alerts they raise (``kiosk.hq.audit_watch``), inside the batch's transaction."""
    mark = dialect.mark
    events = accepted_events(((row.event_id, row.topic, row.payload_json) for row in rows),
                             accepted)
    if not events:
        return []
    found = connection.execute(
        f"SELECT audit_id, chain_hash FROM audit_heads WHERE kiosk_id = {mark}", [kiosk_id]
    ).fetchone()
    head = None if found is None else AuditHead(int(found[0]), str(found[1]))
    new_head, alerts = follow(kiosk_id, head, events)
    if new_head is not None and new_head != head:
        connection.execute(
            "INSERT INTO audit_heads (kiosk_id, audit_id, chain_hash) "
            f"VALUES ({mark}, {mark}, {mark}) ON CONFLICT (kiosk_id) DO UPDATE SET "
            "audit_id = excluded.audit_id, chain_hash = excluded.chain_hash",
            [kiosk_id, new_head.audit_id, new_head.chain_hash],
        )
    for alert in alerts:
        connection.execute(
            "INSERT INTO alerts (kiosk_id, kind, audit_id, detail, raised_at) "
            f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark})",
            [kiosk_id, alert.kind, alert.audit_id, alert.detail, dialect.stamp(now)],
        )
    return alerts
