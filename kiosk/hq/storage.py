"""What the back office keeps, whatever the database: kiosks and their token hashes, the events
the kiosks sent (once each), and the catalog feed.

``HQStore`` is the interface, with the records and checks every backend shares; the backends
are a SQLite file for one shop (``kiosk.hq.sqlite_store``) or PostgreSQL through a DSN for a
chain (``kiosk.hq.postgres_store``), their dialect-independent SQL in ``kiosk.hq.sql_store``,
and ``kiosk.hq.stores.open_store`` picks one. This module imports none of them. Both store a
batch in one transaction: every new event of it, or, when one of its ids is already stored
with a different body, nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from kiosk.hq.audit_watch import Alert
from kiosk.wire import (
    FEED_FIELDS,
    TOPICS,
    Batch,
    BatchReply,
    CatalogFeed,
    canonical_json,
)


class HQStoreError(Exception):
    """The back office's database cannot be opened or used (a message for staff, no secret)."""


class EventConflict(Exception):
    """A batch holds events whose ids are stored already with another body; nothing of the
    batch was stored. ``event_ids`` are those ids, in batch order."""

    def __init__(self, event_ids: tuple[str, ...]) -> None:
        super().__init__(
            f"{len(event_ids)} event id(s) already stored with a different body: "
            + ", ".join(event_ids[:5]) + (" ..." if len(event_ids) > 5 else "")
        )
        self.event_ids = event_ids


@dataclass(frozen=True)
class StoredEvent:
    """One event as the back office keeps it; ``created_at`` is the kiosk's UTC text,
    ``received_at`` when the back office first stored it, ``extra`` the event's fields the
    protocol of this back office does not know (``kiosk.wire.Event.extra``)."""

    kiosk_id: str
    event_id: str
    topic: str
    sale_id: str | None
    created_at: str
    payload: dict[str, Any]
    body_hash: str
    received_at: datetime
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON-ready dict (``received_at`` as ISO text)."""
        return {
            "kiosk_id": self.kiosk_id,
            "event_id": self.event_id,
            "topic": self.topic,
            "sale_id": self.sale_id,
            "created_at": self.created_at,
            "payload": self.payload,
            "body_hash": self.body_hash,
            "received_at": self.received_at.isoformat(),
            "extra": self.extra,
        }


@dataclass(frozen=True)
class EventRow:
    """An event of a batch, ready for an INSERT: the payload (and the fields beyond the
    protocol's, ``None`` when there are none) as canonical JSON text."""

    event_id: str
    topic: str
    sale_id: str | None
    body_hash: str
    payload_json: str
    created_at: str
    extra_json: str | None = None


def event_rows(batch: Batch) -> list[EventRow]:
    """The batch's events as rows to insert, in batch order."""
    return [
        EventRow(
            event.event_id,
            event.topic,
            event.sale_id,
            event.body_hash(),
            canonical_json(event.payload).decode("utf-8"),
            event.created_at,
            canonical_json(dict(event.extra)).decode("utf-8") if event.extra else None,
        )
        for event in batch.events
    ]


def sort_out(rows: list[EventRow], stored: dict[str, str]) -> BatchReply:
    """Split a batch into new ids and duplicates given the body hashes ``stored`` under its ids
    before it; raise ``EventConflict`` when one of them has another body."""
    conflicts = tuple(
        row.event_id for row in rows
        if row.event_id in stored and stored[row.event_id] != row.body_hash
    )
    if conflicts:
        raise EventConflict(conflicts)
    return BatchReply(
        accepted=tuple(row.event_id for row in rows if row.event_id not in stored),
        duplicates=tuple(row.event_id for row in rows if row.event_id in stored),
    )


def feed_product(row: dict[str, Any]) -> dict[str, Any]:
    """A product of the feed with exactly ``FEED_FIELDS``, typed as the protocol has them."""
    product = {name: row.get(name) for name in FEED_FIELDS}
    product["sold_by_weight"] = bool(product["sold_by_weight"])
    return product


class HQStore(Protocol):
    """The back office's storage. Methods are safe to call from many threads at once.

    Implemented by ``kiosk.hq.sqlite_store.SQLiteHQStore`` and
    ``kiosk.hq.postgres_store.PostgresHQStore``; ``kiosk.hq.stores.open_store`` picks one.
    """

    def add_kiosk(self, kiosk_id: str, hashed_token: str, now: datetime) -> bool:
        """Record ``kiosk_id`` with the hash of its token, replacing an earlier token of the
        same kiosk (which stops working). Returns True for a kiosk new to the back office."""
        ...

    def token_owner(self, hashed_token: str) -> tuple[str, str] | None:
        """``(kiosk id, stored hash)`` of the kiosk holding the token with this hash, if any."""
        ...

    def kiosk_for_token(self, token: str) -> str | None:
        """The kiosk id a bearer token belongs to, or None for an unknown token."""
        ...

    def kiosks(self) -> list[str]:
        """The kiosk ids holding a token, sorted."""
        ...

    def store_batch(self, batch: Batch, now: datetime) -> BatchReply:
        """Store the batch's new events under ``batch.kiosk_id`` in one transaction, stamped
        ``now``: ids already stored with the same body are duplicates; one stored with another
        body raises ``EventConflict`` and nothing of the batch is stored."""
        ...

    def events(self, kiosk_id: str | None = None) -> list[StoredEvent]:
        """Every stored event (of one kiosk, or of all), in the order they arrived."""
        ...

    def event_counts(self, kiosk_id: str | None = None) -> dict[str, int]:
        """Stored events per topic (every topic of the protocol, zero included)."""
        ...

    def sale_events(self, sale_id: str) -> list[StoredEvent]:
        """The ``sale.paid`` and ``refund.succeeded`` events of one sale, in arrival order,
        from the kiosk that sent its ``sale.paid`` (the first to arrive) only: another kiosk's
        token cannot add lines to this sale's receipt. Empty until a ``sale.paid`` arrived."""
        ...

    def catalog(self) -> CatalogFeed | None:
        """The catalog feed, or None before the first import."""
        ...

    def alerts(self, kiosk_id: str | None = None) -> list[Alert]:
        """The alerts raised as batches were stored (a kiosk's audit chain broken or with a
        gap, a lockout: ``kiosk.hq.audit_watch``), of one kiosk or all, oldest first."""
        ...

    def catalog_version(self) -> str | None:
        """The feed's version (its ETag) without reading its products; None before an import."""
        ...

    def replace_catalog(
        self, currency: str, products: list[dict[str, Any]], now: datetime
    ) -> CatalogFeed:
        """Make the feed exactly ``products`` (dicts of ``FEED_FIELDS``, prices in minor units
        of ``currency``), all or nothing, and return it. An unchanged catalog keeps its
        version, so kiosks are not sent it again."""
        ...

    def close(self) -> None:
        """Close the connections."""
        ...

    def __enter__(self) -> Self:
        """The store itself; it is closed when the block ends."""
        ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the store."""
        ...


def zero_counts() -> dict[str, int]:
    """A count of zero for every topic of the protocol."""
    return dict.fromkeys(TOPICS, 0)
