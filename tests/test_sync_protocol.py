"""The sync protocol's messages (``kiosk.wire``): what a batch may hold, what makes two events
the same, and what a peer of another minor version may send without being refused."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest

from kiosk.wire import (
    BASE_CAPABILITIES,
    BASE_TOPICS,
    MAX_BATCH,
    MINOR_VERSION,
    Batch,
    BatchReply,
    Capabilities,
    CatalogFeed,
    ErrorReply,
    Event,
    ProtocolError,
    catalog_version,
    encode_batch,
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
        (body([event()], version="1"), "version"),
        (body([event()], minor=-1), "minor"),
        (body([event()], minor="1.2"), "minor"),
        (body([event(topic="Sale Paid!")]), "not a topic name"),
        (body([event(topic=7)]), "not a topic name"),
        (body([event(topic="sale.refunded", sale_id="42")]), "not a UUID"),
        (body([event(sale_id=None)]), "needs a sale_id"),
        (body([event(created_at="yesterday")]), "created_at"),
        (body([event(payload=[1, 2])]), "payload"),
        (body([event(note="Milk\x00")]), "NUL"),
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
    newer = CatalogFeed.decode(json.dumps({
        "version": "v", "currency": "EUR", "shelf": "A3",
        "products": [{"code": "1", "colour": "red", "price_minor": 5}],
    }).encode())
    assert newer.products == ({"code": "1", "price_minor": 5},)  # a newer back office's fields


def test_a_stored_event_is_checked_by_the_same_rules_without_decoding_its_payload() -> None:
    good = event()
    args = (good["event_id"], good["topic"], good["sale_id"], good["created_at"], '{"a": 1}')
    assert stored_event_problem(*args) is None
    assert "canonical" in str(stored_event_problem(good["event_id"].upper(), *args[1:]))
    assert "not a topic name" in str(stored_event_problem(args[0], "Sale lost", *args[2:]))
    assert stored_event_problem(args[0], "kiosk.status", None, *args[3:]) is None
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


# --------------------------------------------------------------------------- growing


def test_fields_a_newer_kiosk_added_are_kept_with_the_event_and_part_of_its_body() -> None:
    plain = Event.from_json(event())
    newer = Event.from_json(event(audit_hash="ab12", chain={"n": 3}))
    assert newer.extra == {"audit_hash": "ab12", "chain": {"n": 3}}
    assert newer.to_json()["audit_hash"] == "ab12"
    assert Event.from_json(newer.to_json()) == newer
    assert plain.extra == {} and set(plain.to_json()) == {
        "event_id", "topic", "sale_id", "created_at", "payload"}
    assert newer.body_hash() != Event.from_json(event(event_id=newer.event_id)).body_hash()
    changed = Event.from_json(event(event_id=newer.event_id, audit_hash="ab13", chain={"n": 3}))
    assert changed.body_hash() != newer.body_hash()


def test_an_event_without_new_fields_hashes_as_it_did_in_version_1_0() -> None:
    value = event()
    old_body = {key: value[key] for key in ("topic", "sale_id", "created_at", "payload")}
    expected = hashlib.sha256(json.dumps(
        old_body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    assert Event.from_json(value).body_hash() == expected


def test_a_newer_minor_version_with_a_topic_and_fields_this_code_lacks_is_taken() -> None:
    raw = body([event(topic="kiosk.status", sale_id=None, uptime_s=5)], minor=MINOR_VERSION + 7,
               signature="not known yet")
    batch = Batch.decode(raw)
    assert batch.minor == MINOR_VERSION + 7
    assert batch.events[0].topic == "kiosk.status"
    assert batch.events[0].extra == {"uptime_s": 5}


def test_a_batch_of_version_1_0_has_no_minor_and_reads_as_minor_0() -> None:
    assert Batch.decode(body([event()])).minor == 0
    spliced = encode_batch("till-1", [json.dumps(event()).encode()], minor=0)
    assert b"minor" not in spliced
    assert Batch.decode(spliced).minor == 0
    assert Batch.decode(encode_batch("till-1", [json.dumps(event()).encode()])).minor == (
        MINOR_VERSION)
    decoded = Batch.decode(spliced)
    assert Batch.decode(Batch(decoded.kiosk_id, decoded.events, minor=0).encode()) == decoded


def test_a_reply_lists_ignored_events_only_when_there_are_some() -> None:
    reply = BatchReply(accepted=("a",), duplicates=("b",), ignored=("c",))
    assert BatchReply.decode(reply.encode()) == reply
    assert reply.acknowledged == {"a", "b", "c"}
    assert json.loads(BatchReply(accepted=("a",)).encode()) == {
        "accepted": ["a"], "duplicates": []}  # the reply of version 1.0
    assert BatchReply.decode(b'{"accepted": ["a"], "duplicates": [], "later": 1}').ignored == ()


def test_capabilities_always_hold_the_base_topics_and_round_trip() -> None:
    capabilities = Capabilities.of(["kiosk.status"])
    assert capabilities.topics == {*BASE_TOPICS, "kiosk.status"}
    assert capabilities.understands("kiosk.status") and not capabilities.understands("x.y")
    assert Capabilities.decode(capabilities.encode()) == capabilities
    assert Capabilities.decode(b'{"version": 1, "topics": [], "more": true}') == BASE_CAPABILITIES
    for bad in (b'{"version": 2, "topics": []}', b'{"version": true, "topics": []}',
                b'{"version": 1, "topics": ["A B"]}', b"[]", b"<html>"):
        with pytest.raises(ProtocolError):
            Capabilities.decode(bad)
    with pytest.raises(ValueError, match="not topic names"):
        Capabilities.of(["Kiosk Status"])
