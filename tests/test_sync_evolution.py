"""Kiosks and back offices of different protocol versions keep syncing (docs/SYNC.md, "Growing
the protocol").

Everything is real: the kiosk's outbox in a SQLite file written through the store worker, its
relay, and the reference back office served over loopback HTTP in this process. The "old" and
"new" sides are the protocol's declared capabilities: a back office understanding only
today's topics (or answering 404 to the capabilities path, as version 1.0 did), one that also
understands ``kiosk.status`` (a topic of a later issue), and a kiosk speaking minor version 0.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hq_support import audit_event, postgres_dsn, postgres_schema, sale_paid_event
from sqlite_utils import Database

from kiosk.hq.faults import Fault
from kiosk.hq.server import BackOfficeServer, make_server
from kiosk.hq.storage import HQStore
from kiosk.hq.stores import open_store
from kiosk.hq.tokens import new_token, token_hash
from kiosk.store import audit
from kiosk.store.worker import StoreWorker
from kiosk.sync.relay import OutboxRelay, PassResult
from kiosk.wire import (
    BASE_TOPICS,
    CAPABILITIES_PATH,
    EVENTS_PATH,
    TOPICS,
    Batch,
    BatchReply,
    Capabilities,
    Event,
    canonical_json,
)

KIOSK_ID = "lane-1"
NEW_TOPIC = "kiosk.status"
"""A topic this code does not know yet: what a later issue adds."""
WAIT_S = 20.0
"""A guard against hanging, not a timing assertion."""
STAMP = "2026-11-26T12:00:00.000000Z"


@dataclass
class BackOffice:
    """A reference back office served on a thread of this test: its server, store and a token
    of ``KIOSK_ID``."""

    server: BackOfficeServer
    store: HQStore
    token: str

    @property
    def url(self) -> str:
        return self.server.url

    def topics_stored(self) -> list[str]:
        return [event.topic for event in self.store.events(KIOSK_ID)]

    def capability_requests(self) -> int:
        return self.server.request_counts().get(f"GET {CAPABILITIES_PATH}", 0)

    def post(self, body: bytes) -> httpx.Response:
        with httpx.Client(base_url=self.url, timeout=10.0) as client:
            return client.post(EVENTS_PATH, content=body, headers={
                "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})


@contextmanager
def back_office(store: HQStore, **options: object) -> Iterator[BackOffice]:
    """``store`` served over loopback with ``make_server(**options)``."""
    token = new_token()
    store.add_kiosk(KIOSK_ID, token_hash(token), datetime.now(UTC))
    server = make_server(store, **options)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield BackOffice(server, store, token)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def hq_store(tmp_path: Path) -> Iterator[HQStore]:
    with open_store(database=tmp_path / "hq.db") as store:
        yield store


@pytest.fixture
def kiosk_db(tmp_path: Path) -> Path:
    return tmp_path / "kiosk.db"


@pytest.fixture
def writer(kiosk_db: Path) -> Iterator[StoreWorker]:
    worker = StoreWorker(kiosk_db)
    yield worker
    worker.close()


class Clock:
    """Aware UTC time that moves a second each time it is read."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def write_audit_row(writer: StoreWorker, number: int) -> None:
    """One audit row, written by the kiosk's own code (its ``audit.recorded`` outbox event)."""

    def job(db: Database) -> None:
        audit.record(db, at=datetime(2026, 11, 26, 12, 0, number, tzinfo=UTC),
                     action="staff.pin_check", outcome="ok", staff_number=7,
                     detail={"n": number})

    writer.submit(job).result(WAIT_S)


def write_status_row(writer: StoreWorker, number: int) -> str:
    """An outbox row of ``NEW_TOPIC`` as a newer kiosk writes it; its event id."""
    event_id = str(uuid.uuid4())

    def job(db: Database) -> None:
        with db.conn:
            db.execute(
                "INSERT INTO outbox (event_id, topic, sale_id, payload, created_at) "
                "VALUES (?, ?, NULL, ?, ?)",
                [event_id, NEW_TOPIC, json.dumps({"n": number, "uptime_s": 60 * number}),
                 STAMP],
            )

    writer.submit(job).result(WAIT_S)
    return event_id


def write_mixed_outbox(writer: StoreWorker) -> list[str]:
    """audit, status, audit, status, audit: the ids of the status rows in outbox order."""
    status_ids = []
    for number in range(3):
        write_audit_row(writer, number)
        if number < 2:
            status_ids.append(write_status_row(writer, number))
    return status_ids


def unacknowledged_topics(kiosk_db: Path) -> list[str]:
    with sqlite3.connect(kiosk_db) as connection:
        return [row[0] for row in connection.execute(
            "SELECT topic FROM outbox WHERE acked_at IS NULL ORDER BY id")]


def relay_to(office: BackOffice, kiosk_db: Path, writer: StoreWorker,
             **options: object) -> OutboxRelay:
    return OutboxRelay(database=kiosk_db, store=writer, kiosk_id=KIOSK_ID, base_url=office.url,
                       token=office.token, clock=Clock(), request_timeout_s=5.0,
                       **options)  # type: ignore[arg-type]


def run_pass(relay: OutboxRelay) -> PassResult:
    result = relay.run_once()
    assert result.error is None, result.error
    return result


# --------------------------------------------------------------------- new kiosk, old office


def test_a_new_topic_waits_in_the_outbox_while_the_back_office_does_not_understand_it(
    hq_store: HQStore, kiosk_db: Path, writer: StoreWorker, caplog: pytest.LogCaptureFixture
) -> None:
    write_mixed_outbox(writer)
    caplog.set_level(logging.INFO, logger="kiosk.sync")
    with back_office(hq_store, topics=BASE_TOPICS) as office:
        relay = relay_to(office, kiosk_db, writer)
        try:
            first = run_pass(relay)
            second = run_pass(relay)
        finally:
            relay.stop()
        assert office.topics_stored() == ["audit.recorded"] * 3
        assert office.capability_requests() == 1  # asked once, trusted for a while
    assert (first.sent, first.acknowledged, second.sent) == (3, 3, 0)
    assert unacknowledged_topics(kiosk_db) == [NEW_TOPIC, NEW_TOPIC]
    waiting = [record for record in caplog.records
               if NEW_TOPIC in record.getMessage() and "wait" in record.getMessage()]
    assert len(waiting) == 1  # said once, not at every pass


def test_a_back_office_of_version_1_0_answering_404_gets_the_base_topics_only(
    hq_store: HQStore, kiosk_db: Path, writer: StoreWorker
) -> None:
    write_mixed_outbox(writer)
    with back_office(hq_store, faults=True) as office:
        assert office.server.faults is not None
        office.server.faults.inject(Fault(status=404, count=1000, path=CAPABILITIES_PATH))
        relay = relay_to(office, kiosk_db, writer, capabilities_max_age_s=0.0)
        try:
            run_pass(relay)
            run_pass(relay)
        finally:
            relay.stop()
        assert office.topics_stored() == ["audit.recorded"] * 3
        assert office.capability_requests() == 2  # an old answer is asked again after max age
    assert unacknowledged_topics(kiosk_db) == [NEW_TOPIC, NEW_TOPIC]


def test_once_the_back_office_understands_the_new_topic_its_events_go_oldest_first(
    hq_store: HQStore, kiosk_db: Path, writer: StoreWorker
) -> None:
    status_ids = write_mixed_outbox(writer)
    with back_office(hq_store, topics=BASE_TOPICS) as old:
        relay = relay_to(old, kiosk_db, writer, capabilities_max_age_s=0.0)
        try:
            run_pass(relay)
        finally:
            relay.stop()
    write_audit_row(writer, 9)
    with back_office(hq_store, topics=(*TOPICS, NEW_TOPIC)) as upgraded:
        relay = relay_to(upgraded, kiosk_db, writer, capabilities_max_age_s=0.0)
        try:
            result = run_pass(relay)
        finally:
            relay.stop()
        stored = hq_store.events(KIOSK_ID)
    assert result.sent == 3
    assert unacknowledged_topics(kiosk_db) == []
    assert [event.topic for event in stored] == [
        "audit.recorded", "audit.recorded", "audit.recorded", NEW_TOPIC, NEW_TOPIC,
        "audit.recorded"]
    assert [event.event_id for event in stored if event.topic == NEW_TOPIC] == status_ids
    assert stored[3].payload == {"n": 0, "uptime_s": 0}


def test_a_back_office_replaced_by_an_older_one_is_asked_again_and_nothing_is_lost(
    hq_store: HQStore, kiosk_db: Path, writer: StoreWorker
) -> None:
    with back_office(hq_store, topics=(*TOPICS, NEW_TOPIC)) as new:
        relay = relay_to(new, kiosk_db, writer, capabilities_max_age_s=3600.0)
        try:
            write_status_row(writer, 1)
            run_pass(relay)  # learns that the back office understands the new topic
            new.server.capabilities = Capabilities.of(TOPICS)  # now an older back office
            write_status_row(writer, 2)
            write_audit_row(writer, 1)
            result = relay.run_once()
            assert result.error is None and result.acknowledged == 2
            write_status_row(writer, 3)
            run_pass(relay)
        finally:
            relay.stop()
        assert new.capability_requests() == 2
    # The second status event was acknowledged as ignored (the back office does not keep
    # it); after that the kiosk asked again and kept the third one waiting.
    assert [event.topic for event in hq_store.events(KIOSK_ID)] == [NEW_TOPIC, "audit.recorded"]
    assert unacknowledged_topics(kiosk_db) == [NEW_TOPIC]


# --------------------------------------------------------------------- old kiosk, new office


def test_a_kiosk_of_minor_version_0_keeps_syncing_with_a_newer_back_office(
    hq_store: HQStore, kiosk_db: Path, writer: StoreWorker
) -> None:
    for number in range(3):
        write_audit_row(writer, number)
    with back_office(hq_store, topics=(*TOPICS, NEW_TOPIC)) as office:
        relay = relay_to(office, kiosk_db, writer, minor=0)
        try:
            result = run_pass(relay)
        finally:
            relay.stop()
        assert office.capability_requests() == 0  # a kiosk of 1.0 never asks
        assert office.topics_stored() == ["audit.recorded"] * 3
    assert result.acknowledged == 3


def test_a_version_1_0_body_gets_the_reply_version_1_0_reads(hq_store: HQStore) -> None:
    sale = sale_paid_event()
    body = json.dumps({"version": 1, "kiosk_id": KIOSK_ID, "events": [sale.to_json()]}).encode()
    with back_office(hq_store, topics=(*TOPICS, NEW_TOPIC)) as office:
        first = office.post(body)
        again = office.post(body)
    assert first.status_code == again.status_code == 200
    assert first.json() == {"accepted": [sale.event_id], "duplicates": []}
    assert again.json() == {"accepted": [], "duplicates": [sale.event_id]}
    assert [event.topic for event in hq_store.events(KIOSK_ID)] == ["sale.paid"]


# --------------------------------------------------------------------- unknown topics, fields


def test_an_unknown_topic_is_acknowledged_as_ignored_not_kept_and_logged_once(
    hq_store: HQStore, caplog: pytest.LogCaptureFixture
) -> None:
    audit_row = audit_event(1)
    status = [Event(str(uuid.uuid4()), NEW_TOPIC, None, STAMP, {"n": n}) for n in range(2)]
    caplog.set_level(logging.WARNING, logger="kiosk.hq")
    with back_office(hq_store) as office:
        first = office.post(Batch(KIOSK_ID, (status[0], audit_row)).encode())
        second = office.post(Batch(KIOSK_ID, (status[1],)).encode())
        counts = hq_store.event_counts(KIOSK_ID)
    assert first.status_code == second.status_code == 200
    assert BatchReply.decode(first.content) == BatchReply(
        accepted=(audit_row.event_id,), ignored=(status[0].event_id,))
    assert BatchReply.decode(second.content) == BatchReply(ignored=(status[1].event_id,))
    assert [event.event_id for event in hq_store.events(KIOSK_ID)] == [audit_row.event_id]
    assert NEW_TOPIC not in counts and counts["audit.recorded"] == 1
    said = [record for record in caplog.records if NEW_TOPIC in record.getMessage()]
    assert len(said) == 1 and "not kept" in said[0].getMessage()


def test_the_capabilities_name_the_topics_the_back_office_keeps(hq_store: HQStore) -> None:
    with (back_office(hq_store, topics=(*TOPICS, NEW_TOPIC)) as office,
          httpx.Client(base_url=office.url, timeout=10.0) as client):
        answer = client.get(CAPABILITIES_PATH,
                            headers={"Authorization": f"Bearer {office.token}"})
        refused = client.get(CAPABILITIES_PATH)
    assert answer.status_code == 200
    assert Capabilities.decode(answer.content) == Capabilities.of([*TOPICS, NEW_TOPIC])
    assert refused.status_code == 401


def test_a_back_office_refuses_topics_that_are_no_topic_names(hq_store: HQStore) -> None:
    with pytest.raises(ValueError, match="not topic names"):
        make_server(hq_store, topics=["Kiosk Status"])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HQStore]:
    if request.param == "sqlite":
        with open_store(database=tmp_path / "hq.db") as store:
            yield store
        return
    with postgres_schema(postgres_dsn()) as dsn, open_store(dsn=dsn) as store:
        yield store


def test_fields_the_back_office_does_not_know_are_stored_and_returned(any_store: HQStore) -> None:
    plain = sale_paid_event()
    newer = sale_paid_event()
    payload = {**newer.payload, "tax_breakdown": [{"rate": "7", "tax_minor": 18}]}
    value = {**newer.to_json(), "payload": payload, "audit_hash": "9f2c", "chain": {"n": 4}}
    body = canonical_json({"version": 1, "minor": 9, "kiosk_id": KIOSK_ID,
                           "events": [plain.to_json(), value]})
    with back_office(any_store) as office:
        stored = office.post(body)
        resent = office.post(body)
        changed_value = {**value, "audit_hash": "0000"}
        changed = office.post(canonical_json({"version": 1, "minor": 9, "kiosk_id": KIOSK_ID,
                                              "events": [changed_value]}))
    assert stored.status_code == 200 and resent.status_code == 200
    assert resent.json()["duplicates"] == [plain.event_id, newer.event_id]
    assert changed.status_code == 409
    kept = {event.event_id: event for event in any_store.events(KIOSK_ID)}
    assert kept[newer.event_id].extra == {"audit_hash": "9f2c", "chain": {"n": 4}}
    assert kept[newer.event_id].payload["tax_breakdown"] == [{"rate": "7", "tax_minor": 18}]
    assert kept[newer.event_id].to_json()["extra"] == {"audit_hash": "9f2c", "chain": {"n": 4}}
    assert kept[newer.event_id].body_hash == Event.from_json(value).body_hash()
    assert kept[plain.event_id].extra == {}
    assert kept[plain.event_id].body_hash == plain.body_hash()


def test_a_sqlite_back_office_database_of_version_1_0_gains_the_column_for_new_fields(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old-hq.db"
    with sqlite3.connect(path) as connection:  # the events table as version 1.0 made it
        connection.execute(
            "CREATE TABLE events (kiosk_id TEXT NOT NULL, event_id TEXT NOT NULL, topic TEXT "
            "NOT NULL, sale_id TEXT, body_hash TEXT NOT NULL, payload TEXT NOT NULL, "
            "created_at TEXT NOT NULL, received_at TEXT NOT NULL, "
            "PRIMARY KEY (kiosk_id, event_id))")
    event = Event.from_json({**audit_event(2).to_json(), "audit_hash": "ab"})
    with open_store(database=path) as store:
        store.store_batch(Batch(KIOSK_ID, (event,)), datetime.now(UTC))
        assert store.events(KIOSK_ID)[0].extra == {"audit_hash": "ab"}
    with open_store(database=path) as reopened:  # opening it again changes nothing
        assert [e.event_id for e in reopened.events(KIOSK_ID)] == [event.event_id]
