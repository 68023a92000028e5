"""The back office's storage, the same tests on both backends: a SQLite file, and PostgreSQL
(marked ``postgres``: the server comes from ``$KIOSK_TEST_POSTGRES_DSN``, each test in a fresh
schema of its own).
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hq_support import (
    audit_event,
    batch_of,
    postgres_dsn,
    postgres_schema,
    refund_event,
    sale_paid_event,
)

from kiosk.hq.postgres_store import PostgresHQStore
from kiosk.hq.sqlite_store import SQLiteHQStore
from kiosk.hq.storage import EventConflict, HQStore, HQStoreError
from kiosk.hq.stores import open_store
from kiosk.hq.tokens import new_token, token_hash
from kiosk.wire import TOPICS, BatchReply, Event, catalog_version

NOW = datetime(2026, 1, 31, 12, 30, tzinfo=UTC)
LOCK_WAIT_GUARD_S = 10.0
"""Seconds a test waits for PostgreSQL sessions to queue on a lock (a guard, not an
assertion)."""

StoreOpener = Callable[[], HQStore]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreOpener]:
    """Opens the store of this test (the same database each time it is called)."""
    if request.param == "sqlite":
        yield lambda: open_store(database=tmp_path / "hq.db")
        return
    with postgres_schema(postgres_dsn()) as dsn:
        yield lambda: open_store(dsn=dsn)


@pytest.fixture
def store(opener: StoreOpener) -> Iterator[HQStore]:
    with opener() as opened:
        yield opened


def with_payload(event: Event, **changes: object) -> Event:
    """The same event id with a changed payload (a different body)."""
    return dataclasses.replace(event, payload={**event.payload, **changes})


def stored_ids(store: HQStore, kiosk_id: str | None = None) -> list[str]:
    return [event.event_id for event in store.events(kiosk_id)]


def test_a_new_batch_is_stored_with_every_field_and_its_ids_are_accepted(
    store: HQStore,
) -> None:
    sale = sale_paid_event()
    assert sale.sale_id is not None
    events = [sale, refund_event(sale.sale_id, 50), audit_event(1)]
    reply = store.store_batch(batch_of(events), NOW)
    assert reply == BatchReply(accepted=tuple(e.event_id for e in events), duplicates=())
    stored = store.events()
    assert [(e.kiosk_id, e.event_id, e.topic, e.sale_id, e.created_at, e.payload)
            for e in stored] == [
        ("lane-1", e.event_id, e.topic, e.sale_id, e.created_at, e.payload) for e in events]
    assert [e.body_hash for e in stored] == [e.body_hash() for e in events]
    assert {e.received_at for e in stored} == {NOW}


def test_a_resent_batch_is_all_duplicates_and_nothing_is_stored_twice(store: HQStore) -> None:
    batch = batch_of([audit_event(1), audit_event(2)])
    store.store_batch(batch, NOW)
    reply = store.store_batch(batch, NOW + timedelta(minutes=1))
    assert reply == BatchReply(accepted=(), duplicates=tuple(e.event_id for e in batch.events))
    assert stored_ids(store) == [e.event_id for e in batch.events]
    assert {e.received_at for e in store.events()} == {NOW}


def test_a_batch_of_known_and_new_events_accepts_the_new_ones_in_batch_order(
    store: HQStore,
) -> None:
    first, second, third = audit_event(1), audit_event(2), audit_event(3)
    store.store_batch(batch_of([second]), NOW)
    reply = store.store_batch(batch_of([first, second, third]), NOW)
    assert reply == BatchReply(accepted=(first.event_id, third.event_id),
                               duplicates=(second.event_id,))
    assert stored_ids(store) == [second.event_id, first.event_id, third.event_id]


def test_a_different_body_under_a_known_id_is_a_conflict_and_nothing_of_the_batch_is_stored(
    store: HQStore,
) -> None:
    known = audit_event(1)
    store.store_batch(batch_of([known]), NOW)
    new = audit_event(2)
    changed = with_payload(known, outcome="changed")
    with pytest.raises(EventConflict) as conflict:
        store.store_batch(batch_of([new, changed]), NOW)
    assert conflict.value.event_ids == (known.event_id,)
    (kept,) = store.events()
    assert (kept.event_id, kept.payload) == (known.event_id, known.payload)


def test_a_changed_creation_time_alone_is_a_different_body(store: HQStore) -> None:
    known = audit_event(1)
    store.store_batch(batch_of([known]), NOW)
    with pytest.raises(EventConflict):
        store.store_batch(
            batch_of([dataclasses.replace(known, created_at="2026-02-01T00:00:00Z")]), NOW)
    assert len(store.events()) == 1


def test_the_same_event_id_from_two_kiosks_is_two_events(store: HQStore) -> None:
    event = audit_event(1)
    store.store_batch(batch_of([event], "lane-1"), NOW)
    reply = store.store_batch(batch_of([with_payload(event, outcome="other")], "lane-2"), NOW)
    assert reply.accepted == (event.event_id,)
    assert stored_ids(store, "lane-1") == stored_ids(store, "lane-2") == [event.event_id]


def test_events_are_counted_per_topic_for_all_kiosks_or_one(store: HQStore) -> None:
    sale = sale_paid_event()
    assert sale.sale_id is not None
    store.store_batch(batch_of([sale, refund_event(sale.sale_id, 10), audit_event(1)]), NOW)
    store.store_batch(batch_of([audit_event(2)], "lane-2"), NOW)
    assert store.event_counts() == {"sale.paid": 1, "refund.succeeded": 1,
                                    "audit.recorded": 2, "staff.locked_out": 0}
    assert store.event_counts("lane-2") == {"sale.paid": 0, "refund.succeeded": 0,
                                            "audit.recorded": 1, "staff.locked_out": 0}
    assert list(store.event_counts("nobody")) == list(TOPICS)


def test_a_sales_events_are_its_payment_and_its_refunds_only(store: HQStore) -> None:
    sale, other = sale_paid_event(), sale_paid_event()
    assert sale.sale_id is not None and other.sale_id is not None
    refund = refund_event(sale.sale_id, 100)
    store.store_batch(
        batch_of([sale, other, audit_event(1), refund, refund_event(other.sale_id, 5)]), NOW)
    assert [e.event_id for e in store.sale_events(sale.sale_id)] == [
        sale.event_id, refund.event_id]
    assert store.sale_events("00000000-0000-4000-8000-000000000000") == []


def test_a_sales_events_come_only_from_the_kiosk_that_sent_its_payment(
    store: HQStore,
) -> None:
    sale = sale_paid_event()
    assert sale.sale_id is not None
    own_refund = refund_event(sale.sale_id, 100)
    store.store_batch(batch_of([sale, own_refund], "lane-1"), NOW)
    store.store_batch(batch_of(
        [refund_event(sale.sale_id, 287), sale_paid_event(sale.sale_id)], "lane-2"), NOW)
    events = store.sale_events(sale.sale_id)
    assert [(e.kiosk_id, e.event_id) for e in events] == [
        ("lane-1", sale.event_id), ("lane-1", own_refund.event_id)]


def test_a_refund_alone_from_another_kiosk_makes_no_sale_events(store: HQStore) -> None:
    sale_id = "6f1c1c9e-2f6e-4d6a-9b1c-0e4b9d7f0a11"
    store.store_batch(batch_of([refund_event(sale_id, 50)], "lane-2"), NOW)
    assert store.sale_events(sale_id) == []


def test_a_token_finds_its_kiosk_and_a_new_token_replaces_the_old_one(store: HQStore) -> None:
    old, new = new_token(), new_token()
    assert store.add_kiosk("lane-1", token_hash(old), NOW) is True
    assert store.kiosk_for_token(old) == "lane-1"
    assert store.add_kiosk("lane-1", token_hash(new), NOW) is False
    assert store.kiosk_for_token(new) == "lane-1"
    assert store.kiosk_for_token(old) is None
    assert store.kiosk_for_token("") is None
    assert store.kiosks() == ["lane-1"]


def test_there_is_no_catalog_before_the_first_import(store: HQStore) -> None:
    assert store.catalog() is None
    assert store.catalog_version() is None


PRODUCTS = [
    {"code": "05012345001012", "name": "Orange juice 1 l", "price_minor": 189,
     "tax_class": "reduced", "min_age": None, "sold_by_weight": False,
     "unit_price_per_kg_minor": None, "department": "Drinks"},
    {"code": "plu:4011", "name": "Bananas", "price_minor": 0, "tax_class": "reduced",
     "min_age": None, "sold_by_weight": True, "unit_price_per_kg_minor": 199,
     "department": None},
    {"code": "04006381333931", "name": "Red wine 0.75 l", "price_minor": 799,
     "tax_class": "standard", "min_age": 16, "sold_by_weight": False,
     "unit_price_per_kg_minor": None, "department": "Drinks"},
]


def test_an_imported_catalog_reads_back_exactly_with_its_content_version(
    store: HQStore,
) -> None:
    feed = store.replace_catalog("EUR", PRODUCTS, NOW)
    by_code = sorted(PRODUCTS, key=lambda product: str(product["code"]))
    assert feed.version == catalog_version("EUR", by_code)
    assert store.catalog_version() == feed.version
    assert store.catalog() == feed
    assert list(feed.products) == by_code


def test_a_reimported_catalog_keeps_its_version_and_a_changed_one_replaces_it_whole(
    store: HQStore,
) -> None:
    first = store.replace_catalog("EUR", PRODUCTS, NOW)
    assert store.replace_catalog("EUR", list(reversed(PRODUCTS)), NOW).version == first.version
    cheaper = {**PRODUCTS[0], "price_minor": 179}
    second = store.replace_catalog("EUR", [cheaper], NOW)
    assert second.version != first.version
    feed = store.catalog()
    assert feed is not None and feed.version == second.version
    assert list(feed.products) == [cheaper]


def test_everything_stored_is_there_after_reopening(opener: StoreOpener) -> None:
    events = [audit_event(1), audit_event(2)]
    token = new_token()
    with opener() as store:
        store.store_batch(batch_of(events), NOW)
        store.add_kiosk("lane-1", token_hash(token), NOW)
        feed = store.replace_catalog("EUR", PRODUCTS, NOW)
    with opener() as store:
        assert stored_ids(store) == [e.event_id for e in events]
        assert store.kiosk_for_token(token) == "lane-1"
        assert store.catalog() == feed


def test_batches_sent_at_once_by_many_threads_store_each_event_exactly_once(
    store: HQStore,
) -> None:
    batches = [batch_of([audit_event(n * 50 + i) for i in range(50)]) for n in range(8)]
    accepted: list[str] = []
    problems: list[BaseException] = []
    lock = threading.Lock()

    def send_all(order: list[int]) -> None:
        try:
            for index in order:
                reply = store.store_batch(batches[index], NOW)
                with lock:
                    accepted.extend(reply.accepted)
        except BaseException as error:  # reported below: a thread must not hide it
            problems.append(error)

    orders = [list(range(8)), list(range(7, -1, -1)), [3, 1, 4, 0, 5, 2, 7, 6], list(range(8))]
    threads = [threading.Thread(target=send_all, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    every_id = [e.event_id for batch in batches for e in batch.events]
    assert sorted(accepted) == sorted(every_id)
    assert sorted(stored_ids(store)) == sorted(every_id)


def test_opening_needs_exactly_one_of_a_file_and_a_dsn(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="either"):
        open_store()
    with pytest.raises(ValueError, match="either"):
        open_store(database=tmp_path / "hq.db", dsn="postgresql://localhost/x")


def test_a_file_that_is_not_a_database_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "hq.db"
    path.write_bytes(b"this is a text file, not SQLite " * 100)
    with pytest.raises(HQStoreError, match="not a usable back office database"):
        open_store(database=path)


def test_the_sqlite_back_office_runs_in_wal_mode(tmp_path: Path) -> None:
    with open_store(database=tmp_path / "hq.db") as store:
        store.store_batch(batch_of([audit_event(1)]), NOW)
    with sqlite3.connect(tmp_path / "hq.db") as connection:
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    connection.close()
    assert mode == "wal"


def test_the_sqlite_back_office_commits_with_synchronous_full(tmp_path: Path) -> None:
    with open_store(database=tmp_path / "hq.db") as store:
        assert isinstance(store, SQLiteHQStore)
        assert store.pragma("synchronous") == 2  # FULL: acknowledged means on disk
        assert store.pragma("journal_mode") == "wal"


@pytest.mark.postgres
def test_every_pooled_postgres_connection_has_a_statement_timeout() -> None:
    with postgres_schema(postgres_dsn()) as dsn:
        with open_store(dsn=dsn) as store:
            assert isinstance(store, PostgresHQStore)
            assert store.setting("statement_timeout") == "15s"
        with PostgresHQStore(dsn, statement_timeout_s=2.5) as store:
            assert store.setting("statement_timeout") == "2500ms"


@contextmanager
def events_table_locked(dsn: str) -> Iterator[psycopg.Connection[Any]]:
    """Another session holding an exclusive lock on the events table until the block ends."""
    with psycopg.connect(dsn) as other:
        other.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        yield other
        other.rollback()


@pytest.mark.postgres
def test_a_statement_stuck_past_the_statement_timeout_is_a_store_error() -> None:
    with postgres_schema(postgres_dsn()) as dsn, \
            PostgresHQStore(dsn, statement_timeout_s=0.3) as store:
        with events_table_locked(dsn), pytest.raises(HQStoreError, match="cancelled"):
            store.events()
        assert store.events() == []  # the connection went back to the pool in working order


def wait_for_lock_waiters(connection: psycopg.Connection[Any], count: int) -> None:
    """Wait (a guard of LOCK_WAIT_GUARD_S) until ``count`` sessions wait for a lock."""
    deadline = time.monotonic() + LOCK_WAIT_GUARD_S
    while time.monotonic() < deadline:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()").fetchone()
        if row is not None and row[0] >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"no {count} session(s) waiting for a lock")


@pytest.mark.postgres
def test_a_thread_finding_no_free_connection_in_time_gets_a_store_error() -> None:
    with postgres_schema(postgres_dsn()) as dsn, \
            PostgresHQStore(dsn, max_connections=1, pool_wait_s=0.3) as store:
        read: list[int] = []
        with events_table_locked(dsn) as other:
            blocked = threading.Thread(target=lambda: read.append(len(store.events())))
            blocked.start()  # holds the only connection, waiting for the lock
            with psycopg.connect(postgres_dsn(), autocommit=True) as watcher:
                wait_for_lock_waiters(watcher, 1)
            with pytest.raises(HQStoreError, match="busy"):
                store.kiosks()
            other.rollback()
            blocked.join(LOCK_WAIT_GUARD_S)
        assert read == [0]
        assert store.kiosks() == []


@pytest.mark.postgres
def test_a_wrong_postgres_password_is_a_clear_error_that_does_not_show_it() -> None:
    dsn = psycopg.conninfo.conninfo_to_dict(postgres_dsn())
    dsn["password"] = "not-the-password-x7"
    with pytest.raises(HQStoreError, match="cannot connect to PostgreSQL") as refused:
        open_store(dsn=psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in dsn.items()}))
    assert "not-the-password-x7" not in str(refused.value)
