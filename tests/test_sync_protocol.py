"""The sync protocol's messages: what a batch may hold, and what makes two events the same."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from kiosk.wire import (
    MAX_BATCH,
    Batch,
    BatchReply,
    CatalogFeed,
    ErrorReply,
    Event,
    ProtocolError,
    catalog_version,
    stored_event_problem,
)

SALE = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"


def event(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "topic": "sale.paid",
        "sale_id": SALE,
        "created_at": "2026-11-26T12:00:00.000000Z",
        "payload": {"sale": {"id": SALE}},
    }
    base.update(changes)
    return base


def body(events: list[dict[str, Any]], **changes: Any) -> bytes:
    value: dict[str, Any] = {"version": 1, "kiosk_id": "till-1", "events": events}
    value.update(changes)
    return json.dumps(value).encode()


def test_a_batch_survives_encoding_and_decoding_unchanged() -> None:
    batch = Batch.decode(body([event(), event(topic="audit.recorded", sale_id=None)]))
    assert Batch.decode(batch.encode()) == batch
    assert [e.topic for e in batch.events] == ["sale.paid", "audit.recorded"]


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"not json", "not JSON"),
        (b"[]", "JSON object"),
        (body([event()], version=2), "version"),
        (body([event()], kiosk_id="no spaces allowed"), "kiosk_id"),
        (body([]), "non-empty"),
        (body([event(event_id="42")]), "not a UUID"),
        (body([event(event_id=str(uuid.uuid4()).upper())]), "canonical"),
        (body([event(topic="sale.stolen")]), "unknown topic"),
        (body([event(sale_id=None)]), "needs a sale_id"),
        (body([event(created_at="yesterday")]), "created_at"),
        (body([event(payload=[1, 2])]), "payload"),
        (body([event(extra=1)]), "unknown event fields"),
    ],
)
def test_a_malformed_batch_is_refused_with_a_reason(raw: bytes, fragment: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        Batch.decode(raw)
    assert refused.value.code == "malformed"
    assert fragment in refused.value.message


def test_a_batch_with_one_event_twice_is_refused() -> None:
    twice = event()
    with pytest.raises(ProtocolError, match="twice"):
        Batch.decode(body([twice, dict(twice)]))


def test_more_than_a_hundred_events_is_too_large() -> None:
    with pytest.raises(ProtocolError) as refused:
        Batch.decode(body([event() for _ in range(MAX_BATCH + 1)]))
    assert refused.value.code == "too_large"


def test_the_same_body_under_two_ids_hashes_alike_and_a_changed_body_does_not() -> None:
    first = Event.from_json(event())
    same = Event.from_json(event(event_id=str(uuid.uuid4())))
    changed = Event.from_json(event(payload={"sale": {"id": SALE}, "total": 1}))
    assert first.body_hash() == same.body_hash()
    assert first.body_hash() != changed.body_hash()


def test_replies_round_trip_and_an_unreadable_error_keeps_its_text() -> None:
    reply = BatchReply(accepted=("a",), duplicates=("b",))
    assert BatchReply.decode(reply.encode()) == reply
    conflict = ErrorReply("conflict", "different body", ("c",))
    assert ErrorReply.decode(conflict.encode()) == conflict
    assert ErrorReply.decode(b"<html>Bad gateway</html>") == ErrorReply(
        "server_error", "<html>Bad gateway</html>"
    )
    with pytest.raises(ProtocolError):
        BatchReply.decode(b'{"accepted": 3}')


def test_a_catalog_feed_round_trips_and_its_version_follows_its_content() -> None:
    products = [{"code": "04006381333931", "name": "Water", "price_minor": 49,
                 "tax_class": "reduced"}]
    feed = CatalogFeed(catalog_version("EUR", products), "EUR", tuple(products))
    assert CatalogFeed.decode(feed.encode()) == feed
    assert catalog_version("EUR", products) == catalog_version("EUR", list(reversed(products)))
    cheaper = [dict(products[0], price_minor=45)]
    assert catalog_version("EUR", cheaper) != feed.version
    with pytest.raises(ProtocolError, match="unknown product fields"):
        CatalogFeed.decode(json.dumps(
            {"version": "v", "currency": "EUR", "products": [{"code": "1", "colour": "red"}]}
        ).encode())


def test_a_stored_event_is_checked_by_the_same_rules_without_decoding_its_payload() -> None:
    good = event()
    args = (good["event_id"], good["topic"], good["sale_id"], good["created_at"], '{"a": 1}')
    assert stored_event_problem(*args) is None
    assert "canonical" in str(stored_event_problem(good["event_id"].upper(), *args[1:]))
    assert "unknown topic" in str(stored_event_problem(args[0], "sale.lost", *args[2:]))
    assert "needs a sale_id" in str(stored_event_problem(args[0], "sale.paid", None, *args[3:]))
    assert "created_at" in str(stored_event_problem(*args[:3], "today", args[4]))
    assert "JSON object" in str(stored_event_problem(*args[:4], "[1, 2]"))
    assert stored_event_problem(args[0], "audit.recorded", None, *args[3:]) is None


@pytest.mark.parametrize("text", ["Milk\x00", "half a pair \ud800"])
def test_text_no_database_can_store_is_refused_as_malformed(text: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        Batch.decode(json.dumps(
            {"version": 1, "kiosk_id": "till-1", "events": [event(payload={"name": text})]}
        ).encode())
    assert refused.value.code == "malformed" and "NUL or a lone surrogate" in refused.value.message
    emoji = Event.from_json(event(payload={"name": "Tea \U0001F375"}))  # a proper pair is fine
    assert emoji.payload["name"].endswith("\U0001F375")
    assert "NUL" in str(stored_event_problem(
        str(uuid.uuid4()), "audit.recorded", None, "2026-11-26T12:00:00Z",
        json.dumps({"name": "Milk\x00"}),
    ))
