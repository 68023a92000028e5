"""The sync protocol between a kiosk and its back office, version 1.1 (docs/SYNC.md).

One module for both ends, so the kiosk's relay (``kiosk.sync``) and the reference back office
(``kiosk.hq``) cannot drift apart; the kiosk's store reads the catalog feed from it too. Pure:
JSON in and out, no I/O, nothing of the kiosk imported.

- ``POST /api/v1/events`` with ``Authorization: Bearer <kiosk token>`` and a ``Batch`` body: at
  most ``MAX_BATCH`` events of one kiosk, oldest first. The back office stores each event once
  per (kiosk id, event id): a resent event with the same body is a duplicate (fine), one with a
  different body under a known id is a conflict, and then nothing of the batch is stored.
  Replies: 200 ``BatchReply``; 400 malformed, 401 bad token, 403 token of another kiosk,
  409 conflict, 413 too many events: an ``ErrorReply`` each.
- ``GET /api/v1/capabilities`` (same token, from 1.1): the ``Capabilities`` of the back office,
  the topics it understands. A 404 means a back office of version 1.0: ``BASE_CAPABILITIES``.
- ``GET /api/v1/catalog`` (same token) with ``If-None-Match``: 304, or 200 with a
  ``CatalogFeed`` and its ``ETag``.
- ``GET /r/<sale id>``: the customer's e-receipt page (HTML, no token: the UUID is the key).

How it grows (docs/SYNC.md, "Growing the protocol"): ``version`` stays 1 while every change is
one an older peer can ignore; each such change raises ``MINOR_VERSION``. A back office keeps
the event fields it does not know (``Event.extra``) and acknowledges, without keeping, events of
topics it does not understand (``BatchReply.ignored``); a kiosk sends a topic beyond
``BASE_TOPICS`` only once the back office's ``Capabilities`` name it. Known fields are checked
as strictly as ever.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

PROTOCOL_VERSION = 1
"""The major version: a batch of another one is refused. It changes only for a change an older
peer cannot ignore, which the protocol has never needed."""
MINOR_VERSION = 1
"""The minor version this code speaks: 0 was the first protocol, 1 added capabilities, kept
unknown event fields and ignored unknown topics. A peer of a newer minor version is accepted."""
EVENTS_PATH = "/api/v1/events"
CATALOG_PATH = "/api/v1/catalog"
CAPABILITIES_PATH = "/api/v1/capabilities"
RECEIPT_PATH_PREFIX = "/r/"

MAX_BATCH = 100
"""Events in one batch, at most."""
MAX_BODY_BYTES = 8 * 1024 * 1024
"""The largest request body a back office needs to read (a full batch of large sales)."""

BASE_TOPICS = ("sale.paid", "refund.succeeded", "audit.recorded")
"""What an event reports in version 1.0: a paid sale, a succeeded refund, a row of the staff
audit log. Every back office of version 1 understands them; a kiosk may always send them."""
SALE_TOPICS = ("sale.paid", "refund.succeeded")
"""The topics whose events must name their sale (``sale_id``)."""
LOCKOUT_TOPIC = "staff.locked_out"
"""A staff member was locked out after too many wrong PINs (an alert for the back office)."""
TOPICS = (*BASE_TOPICS, LOCKOUT_TOPIC)
"""Every topic this code knows: what the reference back office understands by default. A new
topic is added here (and in docs/SYNC.md); kiosks send it once a back office names it."""
EVENT_FIELDS = ("event_id", "topic", "sale_id", "created_at", "payload")
"""The fields of an event this code knows; others are kept as ``Event.extra``."""

_UTC_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
_KIOSK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_CANONICAL_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_TOPIC = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_MAX_TOPIC_LENGTH = 64


class ProtocolError(ValueError):
    """A message that does not follow the protocol; ``code`` names the problem for replies:
    ``malformed`` or ``too_large``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(value: Any) -> bool:
    """True unless some text in ``value`` (keys too) holds a NUL or a lone surrogate."""
    if isinstance(value, str):
        return not _UNSTORABLE.search(value)
    if isinstance(value, dict):
        return all(_storable(key) and _storable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_storable(item) for item in value)
    return True


def valid_topic(topic: Any) -> TypeGuard[str]:
    """A topic is lower-case words joined by dots (``sale.paid``, ``kiosk.status``), at most
    64 characters: any such name is well-formed, known or not."""
    return (
        isinstance(topic, str) and len(topic) <= _MAX_TOPIC_LENGTH and bool(_TOPIC.match(topic))
    )


def stored_event_problem(
    event_id: str, topic: str, sale_id: str | None, created_at: str, payload_json: str
) -> str | None:
    """What would make an event the kiosk stored unsendable, or ``None``: the same rules as
    ``Event.from_json`` without decoding the payload (the relay reads thousands a second;
    the payload was written by ``json.dumps`` of a dict, so only its shape is checked)."""
    if not _CANONICAL_UUID.match(event_id):
        return f"event_id {event_id!r} is not a UUID in canonical form"
    if not valid_topic(topic):
        return f"topic {topic!r} is not a topic name"
    if sale_id is None and topic in SALE_TOPICS:
        return f"a {topic} event needs a sale_id"
    if sale_id is not None and not _CANONICAL_UUID.match(sale_id):
        return f"sale_id {sale_id!r} is not a UUID in canonical form"
    if not _UTC_STAMP.match(created_at):
        return f"created_at {created_at!r} is not UTC like 2026-01-31T12:00:00Z"
    text = payload_json.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return "the payload is not a JSON object"
    if "\\u0000" in text:
        return "the payload holds a NUL character"
    return None


def canonical_json(value: Any) -> bytes:
    """``value`` as compact JSON with sorted keys (UTF-8): equal values, equal bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def valid_kiosk_id(kiosk_id: str) -> bool:
    """A kiosk id is 1-64 letters, digits, dots, dashes or underscores (not starting with one
    of the last three)."""
    return bool(_KIOSK_ID.match(kiosk_id))


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _uuid_text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ProtocolError("malformed", f"{what} must be a UUID string")
    try:
        canonical = str(uuid.UUID(value))
    except ValueError:
        raise ProtocolError("malformed", f"{what} {value!r} is not a UUID") from None
    if canonical != value:  # one spelling per id, or dedupe could be fooled
        raise ProtocolError("malformed", f"{what} {value!r} is not a UUID in canonical form")
    return canonical


@dataclass(frozen=True)
class Event:
    """One outbox row on the wire. ``created_at`` is UTC text ending in ``Z``; ``extra`` holds
    the fields of the event a newer peer added and this code does not know (kept whole, part of
    the body)."""

    event_id: str
    topic: str
    sale_id: str | None
    created_at: str
    payload: dict[str, Any]
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON object, the fields this code does not know included."""
        return {
            **self.extra,
            "event_id": self.event_id,
            "topic": self.topic,
            "sale_id": self.sale_id,
            "created_at": self.created_at,
            "payload": self.payload,
        }

    def body_hash(self) -> str:
        """SHA-256 (hex) of everything but the id: what "the same event" means on resend."""
        body = {k: v for k, v in self.to_json().items() if k != "event_id"}
        return hashlib.sha256(canonical_json(body)).hexdigest()

    @classmethod
    def from_json(cls, value: Any) -> Event:
        """Check and build an event from decoded JSON; ``ProtocolError`` if it is not one.
        Any well-formed topic is taken (whether a back office understands it is its own
        business); fields beyond ``EVENT_FIELDS`` are kept in ``extra``."""
        if not isinstance(value, dict):
            raise ProtocolError("malformed", "an event must be a JSON object")
        event_id = _uuid_text(value.get("event_id"), "event_id")
        topic = value.get("topic")
        if not valid_topic(topic):
            raise ProtocolError(
                "malformed", f"event {event_id}: topic {topic!r} is not a topic name (lower-case "
                "words joined by dots)")
        sale_id = value.get("sale_id")
        if sale_id is not None:
            sale_id = _uuid_text(sale_id, f"event {event_id}: sale_id")
        elif topic in SALE_TOPICS:
            raise ProtocolError("malformed", f"event {event_id}: a {topic} event needs a sale_id")
        created_at = value.get("created_at")
        if not isinstance(created_at, str) or not _UTC_STAMP.match(created_at):
            raise ProtocolError(
                "malformed", f"event {event_id}: created_at must be UTC like 2026-01-31T12:00:00Z"
            )
        payload = value.get("payload")
        if not isinstance(payload, dict):
            raise ProtocolError("malformed", f"event {event_id}: payload must be a JSON object")
        extra = {key: item for key, item in value.items() if key not in EVENT_FIELDS}
        if not _storable(payload) or not _storable(extra):
            raise ProtocolError(
                "malformed",
                f"event {event_id}: the payload holds a NUL or a lone surrogate, which no "
                "database stores as text",
            )
        return cls(event_id, topic, sale_id, created_at, payload, extra)


def _minor_of(value: dict[str, Any]) -> int:
    """The ``minor`` version of a decoded message: 0 when absent (version 1.0)."""
    minor = value.get("minor", 0)
    if not _whole(minor) or minor < 0:
        raise ProtocolError("malformed", "minor must be a whole number, 0 or more")
    return int(minor)


@dataclass(frozen=True)
class Batch:
    """Events of one kiosk, oldest first, at most ``MAX_BATCH``. ``minor``: the minor version
    the sender speaks (0: a kiosk of version 1.0, which sends no ``minor``)."""

    kiosk_id: str
    events: tuple[Event, ...]
    version: int = PROTOCOL_VERSION
    minor: int = MINOR_VERSION

    def encode(self) -> bytes:
        """The request body."""
        value: dict[str, Any] = {
            "version": self.version,
            "kiosk_id": self.kiosk_id,
            "events": [event.to_json() for event in self.events],
        }
        if self.minor:
            value["minor"] = self.minor
        return canonical_json(value)

    @classmethod
    def decode(cls, body: bytes) -> Batch:
        """Parse and check a request body; ``ProtocolError`` says what is wrong. Any minor
        version of version 1 is taken; fields of the batch this code does not know are
        ignored."""
        try:
            value = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ProtocolError("malformed", f"the body is not JSON: {error}") from None
        if not isinstance(value, dict):
            raise ProtocolError("malformed", "the body must be a JSON object")
        version = value.get("version")
        if not _whole(version) or version != PROTOCOL_VERSION:
            raise ProtocolError("malformed", f"version must be {PROTOCOL_VERSION}")
        minor = _minor_of(value)
        kiosk_id = value.get("kiosk_id")
        if not isinstance(kiosk_id, str) or not valid_kiosk_id(kiosk_id):
            raise ProtocolError("malformed", "kiosk_id is missing or not a valid kiosk id")
        events = value.get("events")
        if not isinstance(events, list) or not events:
            raise ProtocolError("malformed", "events must be a non-empty list")
        if len(events) > MAX_BATCH:
            raise ProtocolError("too_large", f"at most {MAX_BATCH} events in one batch")
        parsed = tuple(Event.from_json(event) for event in events)
        ids = [event.event_id for event in parsed]
        if len(set(ids)) != len(ids):
            raise ProtocolError("malformed", "an event id appears twice in the batch")
        return cls(kiosk_id, parsed, minor=minor)


def encode_batch(kiosk_id: str, event_bodies: list[bytes], *, minor: int = MINOR_VERSION) -> bytes:
    """A batch body from events already encoded as JSON objects (the kiosk's relay splices
    its stored payloads in; ``Batch.decode`` on the other end checks everything). ``minor``
    0 gives exactly the body of version 1.0 (no ``minor`` field)."""
    minor_field = b'"minor":' + str(minor).encode() + b"," if minor else b""
    return b"".join((
        b'{"events":[', b",".join(event_bodies), b'],"kiosk_id":',
        json.dumps(kiosk_id).encode(), b",", minor_field,
        b'"version":', str(PROTOCOL_VERSION).encode(), b"}",
    ))


def _id_list(value: dict[str, Any], name: str) -> tuple[str, ...]:
    items = value[name]
    if not isinstance(items, list):
        raise TypeError(f"{name} must be a list")
    return tuple(str(item) for item in items)


@dataclass(frozen=True)
class BatchReply:
    """The back office's answer to a stored batch: ids new to it, ids it already had, and
    (from 1.1) ids of events whose topic it does not understand: acknowledged, not kept."""

    accepted: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()

    @property
    def acknowledged(self) -> frozenset[str]:
        """Every id the kiosk may stop sending: accepted, duplicates and ignored."""
        return frozenset((*self.accepted, *self.duplicates, *self.ignored))

    def encode(self) -> bytes:
        """The response body (``ignored`` only when some were: the reply of 1.0 otherwise)."""
        value = {"accepted": list(self.accepted), "duplicates": list(self.duplicates)}
        if self.ignored:
            value["ignored"] = list(self.ignored)
        return canonical_json(value)

    @classmethod
    def decode(cls, body: bytes) -> BatchReply:
        """Parse a response body; ``ProtocolError`` if it is not a batch reply. Fields this
        code does not know are ignored."""
        try:
            value = json.loads(body)
            accepted = _id_list(value, "accepted")
            duplicates = _id_list(value, "duplicates")
            ignored = _id_list(value, "ignored") if "ignored" in value else ()
        except (ValueError, KeyError, TypeError) as error:
            raise ProtocolError("malformed", f"not a batch reply: {error}") from None
        return cls(accepted, duplicates, ignored)


@dataclass(frozen=True)
class Capabilities:
    """What a back office understands: the topics it keeps (``BASE_TOPICS`` always among them)
    and the minor version it speaks. Its answer to ``GET /api/v1/capabilities``."""

    topics: frozenset[str]
    minor: int = MINOR_VERSION

    @classmethod
    def of(cls, topics: Collection[str], minor: int = MINOR_VERSION) -> Capabilities:
        """Capabilities for ``topics`` (the base topics added); ``ValueError`` for a name that
        is no topic."""
        bad = sorted(topic for topic in topics if not valid_topic(topic))
        if bad:
            raise ValueError(f"not topic names: {bad}")
        return cls(frozenset(topics) | frozenset(BASE_TOPICS), minor)

    def understands(self, topic: str) -> bool:
        """Whether events of ``topic`` are kept by this back office."""
        return topic in self.topics

    def encode(self) -> bytes:
        """The response body."""
        return canonical_json({
            "version": PROTOCOL_VERSION, "minor": self.minor, "topics": sorted(self.topics),
        })

    @classmethod
    def decode(cls, body: bytes) -> Capabilities:
        """Parse a response body; ``ProtocolError`` if it is not one of version 1. Topics
        this code does not know are kept (a kiosk may hold events of them); fields it does
        not know are ignored."""
        try:
            value = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ProtocolError("malformed", f"not capabilities: {error}") from None
        if not isinstance(value, dict) or not _whole(version := value.get("version")) or (
            version != PROTOCOL_VERSION
        ):
            raise ProtocolError("malformed", f"not capabilities of version {PROTOCOL_VERSION}")
        topics = value.get("topics")
        if not isinstance(topics, list) or not all(valid_topic(topic) for topic in topics):
            raise ProtocolError("malformed", "topics must be a list of topic names")
        return cls.of(topics, _minor_of(value))


BASE_CAPABILITIES = Capabilities(frozenset(BASE_TOPICS), 0)
"""What a back office of version 1.0 understands (it answers 404 to the capabilities path)."""


@dataclass(frozen=True)
class ErrorReply:
    """A refused request: ``error`` (malformed, too_large, unauthorized, forbidden, conflict,
    not_found, method_not_allowed, server_error), a sentence, and the event ids concerned
    (conflicts)."""

    error: str
    message: str
    event_ids: tuple[str, ...] = field(default=())

    def encode(self) -> bytes:
        """The response body."""
        return canonical_json(
            {"error": self.error, "message": self.message, "event_ids": list(self.event_ids)}
        )

    @classmethod
    def decode(cls, body: bytes) -> ErrorReply:
        """Parse an error body; anything unreadable becomes ``server_error`` with its text."""
        try:
            value = json.loads(body)
            return cls(
                str(value["error"]),
                str(value.get("message", "")),
                tuple(str(v) for v in value.get("event_ids", ())),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return cls("server_error", body[:200].decode("utf-8", "replace"))


FEED_FIELDS = (
    "code", "name", "price_minor", "tax_class", "min_age", "sold_by_weight",
    "unit_price_per_kg_minor", "department",
)
"""The fields of one product in the catalog feed (as ``kiosk.core.catalog.Product``)."""


@dataclass(frozen=True)
class CatalogFeed:
    """The whole catalog as the back office sells it: ``version`` (also the ETag), the
    currency its prices are in, and every product as a dict of ``FEED_FIELDS``."""

    version: str
    currency: str
    products: tuple[dict[str, Any], ...]

    def encode(self) -> bytes:
        """The response body."""
        return canonical_json({
            "version": self.version,
            "currency": self.currency,
            "products": list(self.products),
        })

    @classmethod
    def decode(cls, body: bytes) -> CatalogFeed:
        """Parse a feed; ``ProtocolError`` if its shape is wrong (rows are checked when the
        kiosk applies them, with the same rules as a CSV import). Product fields beyond
        ``FEED_FIELDS`` (from a newer back office) are dropped; fields of the feed this code
        does not know are ignored."""
        try:
            value = json.loads(body)
            version, currency, products = value["version"], value["currency"], value["products"]
        except (ValueError, KeyError, TypeError) as error:
            raise ProtocolError("malformed", f"not a catalog feed: {error}") from None
        if not isinstance(version, str) or not isinstance(currency, str):
            raise ProtocolError("malformed", "version and currency must be strings")
        if not isinstance(products, list) or not all(isinstance(p, dict) for p in products):
            raise ProtocolError("malformed", "products must be a list of objects")
        # Fields a newer back office added are dropped: the kiosk applies the ones it knows.
        known = tuple(
            {name: item for name, item in product.items() if name in FEED_FIELDS}
            for product in products
        )
        return cls(version, currency, known)


def catalog_version(currency: str, products: list[dict[str, Any]]) -> str:
    """A feed's version: a hash of its content, so equal catalogs have equal ETags."""
    ordered = sorted(products, key=lambda product: str(product.get("code")))
    return hashlib.sha256(canonical_json([currency, ordered])).hexdigest()[:32]
