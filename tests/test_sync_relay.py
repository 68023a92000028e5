"""The outbox relay: address rules, backoff, batches from a real outbox, and the back office.

Everything is real: SQLite files in tmp_path written through the store worker, outbox rows
written by the kiosk's own code (audit rows, card payments on the Stripe emulator, refunds),
and HTTP over loopback to the reference back office started as a separate process.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hq_support import HQProcess, start_hq
from payments_support import PaymentRig, cart, rig
from sqlite_utils import Database

from kiosk.config import demo_settings
from kiosk.payments.stripe.terminal import StripeTerminal
from kiosk.store import audit
from kiosk.store.db import open_database
from kiosk.store.worker import StoreWorker
from kiosk.sync.chores import SyncChores
from kiosk.sync.http import MAX_BATCH_REPLY_BYTES
from kiosk.sync.relay import (
    MAX_REQUEST_TIMEOUT_S,
    Backoff,
    OutboxRelay,
    check_backoffice_url,
    make_client,
    pending_events,
    sync_status,
)
from kiosk.wire import EVENTS_PATH, Batch, Event

__all__ = ["rig"]

TOKEN = "kiosk-token-that-must-never-show-up-anywhere"
KIOSK_ID = "lane-1"
WAIT_S = 20.0
"""A guard against hanging, not a timing assertion."""


class Clock:
    """Aware UTC time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "kiosk.db"


@pytest.fixture
def store(database: Path) -> Iterator[StoreWorker]:
    worker = StoreWorker(database)
    yield worker
    worker.close()


def record_audit_rows(store: StoreWorker, count: int, clock: Clock) -> None:
    """Append ``count`` audit rows (each writes its own ``audit.recorded`` outbox event)."""

    def job(db: Database) -> None:
        for number in range(count):
            audit.record(db, at=clock(), action="staff.pin_check", outcome="ok",
                         staff_number=7, detail={"n": number})
            clock.advance(1)

    store.submit(job).result(WAIT_S)


def read(database: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as conn:
        return conn.execute(sql, params).fetchall()


def closed_port_url() -> str:
    """A loopback address where nothing listens (the back office is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def wait_until(check: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    """Poll ``check()`` until it is true (a guard against hanging, not a timing assertion)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.01)


def relay_for(database: Path, store: StoreWorker, clock: Clock, url: str, *,
              token: str = TOKEN, **options: object) -> OutboxRelay:
    """A relay with short timeouts and a backoff of a fraction of a second."""
    settings: dict[str, object] = {"request_timeout_s": 2.0, "initial_backoff_s": 0.05,
                                   "max_backoff_s": 0.2, "wait_slice_s": 0.05}
    settings.update(options)
    return OutboxRelay(database=database, store=store, kiosk_id=KIOSK_ID, base_url=url,
                       token=token, clock=clock, **settings)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- addresses


@pytest.mark.parametrize("url", [
    "https://backoffice.example.com",
    "https://10.0.0.5:8443/shop",
    "http://127.0.0.1:8080",
    "http://[::1]:8080",
    "http://localhost",
])
def test_https_addresses_and_plain_http_to_this_machine_are_accepted(url: str) -> None:
    check_backoffice_url(url)


@pytest.mark.parametrize(("url", "complaint"), [
    ("http://192.168.1.20:8080", "plain http"),
    ("http://backoffice.example.com", "plain http"),
    ("ftp://backoffice.example.com", "must start with https://"),
    ("https://", "no host name"),
    ("https://shop:secret@backoffice.example.com", "user name or password"),
])
def test_other_addresses_are_refused_with_the_reason(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint) as refused:
        check_backoffice_url(url)
    assert "secret" not in str(refused.value)


def test_a_client_refuses_a_timeout_the_watchdog_would_not_survive() -> None:
    with pytest.raises(ValueError, match="time out within"):
        make_client("https://backoffice.example.com", TOKEN, MAX_REQUEST_TIMEOUT_S)
    with pytest.raises(ValueError, match="token"):
        make_client("https://backoffice.example.com", "", 5.0)


def test_a_client_carries_the_bearer_token_and_a_timeout_below_the_watchdog_limit() -> None:
    with make_client("http://127.0.0.1:9", TOKEN, 5.0) as client:
        assert client.headers["Authorization"] == f"Bearer {TOKEN}"
        assert client.timeout.read == 5.0
        assert not client.follow_redirects


def test_a_relay_for_a_refused_address_is_never_built(
    database: Path, store: StoreWorker, clock: Clock
) -> None:
    with pytest.raises(ValueError, match="plain http"):
        relay_for(database, store, clock, "http://192.168.1.20:8080")


# --------------------------------------------------------------------------- backoff


class Draws:
    """An injected random source that returns the given values in turn."""

    def __init__(self, *values: float) -> None:
        self.values = list(values)

    def __call__(self) -> float:
        return self.values.pop(0)


def test_backoff_doubles_from_one_second_up_to_its_ceiling_and_starts_again_after_success(
) -> None:
    backoff = Backoff(initial_s=1.0, max_s=20.0, random=lambda: 0.999)
    waits = [round(backoff.failed(), 2) for _ in range(7)]
    assert waits == [1.0, 2.0, 4.0, 7.99, 15.98, 19.98, 19.98]
    backoff.reset()
    assert round(backoff.failed(), 2) == 1.0


def test_backoff_draws_each_wait_anywhere_below_its_cap_full_jitter() -> None:
    backoff = Backoff(initial_s=1.0, max_s=300.0, random=Draws(0.5, 0.25, 0.75))
    assert [backoff.failed() for _ in range(3)] == [0.5, 0.5, 3.0]
    assert backoff.failures == 3


def test_backoff_never_drops_to_a_hot_loop_on_a_tiny_draw() -> None:
    backoff = Backoff(initial_s=1.0, max_s=300.0, random=lambda: 0.0)
    assert backoff.failed() == pytest.approx(0.1)


# --------------------------------------------------------------------------- the outbox


def test_pending_events_come_in_outbox_order_a_batch_at_a_time(
    database: Path, store: StoreWorker, clock: Clock
) -> None:
    record_audit_rows(store, 5, clock)
    reader = open_database(database, check=False)
    try:
        first = pending_events(reader, limit=3)
        rest = pending_events(reader, after_id=first[-1].row_id, limit=3)
    finally:
        reader.close()
    row_ids = [row[0] for row in read(database, "SELECT id FROM outbox ORDER BY id")]
    assert [item.row_id for item in (*first, *rest)] == row_ids
    assert len(first) == 3 and len(rest) == 2
    event = first[0].event
    assert event.topic == "audit.recorded"
    assert event.payload["detail"] == {"n": 0}
    assert event.created_at == "2026-11-26T12:00:00.000000Z"


def test_acknowledged_rows_are_not_pending(
    database: Path, store: StoreWorker, clock: Clock
) -> None:
    record_audit_rows(store, 3, clock)
    store.submit(lambda db: db.execute(
        "UPDATE outbox SET acked_at = '2026-11-26T12:00:10.000000Z' WHERE id = "
        "(SELECT min(id) FROM outbox)")).result(WAIT_S)
    reader = open_database(database, check=False)
    try:
        pending = pending_events(reader)
        status = sync_status(reader)
    finally:
        reader.close()
    assert len(pending) == 2
    assert status.pending == 2
    assert status.oldest_pending_at == datetime(2026, 11, 26, 12, 0, 1, tzinfo=UTC)


def test_status_of_a_fresh_kiosk_shows_nothing_pending_and_no_history(
    database: Path, store: StoreWorker
) -> None:
    reader = open_database(database, check=False)
    try:
        status = sync_status(reader)
    finally:
        reader.close()
    assert (status.pending, status.oldest_pending_at, status.last_success_at,
            status.last_error, status.last_error_at) == (0, None, None, None, None)


def test_an_unreachable_back_office_stops_the_pass_at_the_first_batch_and_says_so(
    database: Path, store: StoreWorker, clock: Clock
) -> None:
    record_audit_rows(store, 5, clock)
    relay = relay_for(database, store, clock, closed_port_url(), batch_size=2)
    try:
        result = relay.run_once()
    finally:
        relay.stop()
    assert result.error is not None
    assert result.error.startswith("back office unreachable")
    assert (result.sent, result.acknowledged, result.batches) == (2, 0, 1)
    assert read(database, "SELECT attempts FROM outbox ORDER BY id") == [
        (1,), (1,), (0,), (0,), (0,)]
    reader = open_database(database, check=False)
    try:
        status = sync_status(reader)
    finally:
        reader.close()
    assert status.pending == 5
    assert status.last_error == result.error
    assert status.last_error_at == clock()
    assert status.last_success_at is None
    assert TOKEN.encode() not in database.read_bytes()
    assert all(TOKEN not in str(row) for row in read(database, "SELECT * FROM sync_state"))


def test_a_damaged_outbox_row_stops_sync_before_it_and_names_the_row(
    database: Path, store: StoreWorker, clock: Clock
) -> None:
    record_audit_rows(store, 1, clock)
    store.submit(lambda db: db.execute(
        "INSERT INTO outbox (event_id, topic, sale_id, payload, created_at) "
        "VALUES (?, 'sale.paid', ?, 'not json', '2026-11-26T12:00:05.000000Z')",
        [str(uuid.uuid4()), str(uuid.uuid4())])).result(WAIT_S)
    relay = relay_for(database, store, clock, closed_port_url())
    try:
        result = relay.run_once()
    finally:
        relay.stop()
    (bad_id,) = read(database, "SELECT max(id) FROM outbox")[0]
    assert result.error == (
        f"outbox row {bad_id} cannot be sent: the payload is not a JSON object"
    )
    assert result.batches == 0


def test_the_relay_thread_keeps_its_heartbeat_fresh_while_backing_off_and_stops_on_request(
    database: Path, store: StoreWorker, clock: Clock
) -> None:
    record_audit_rows(store, 1, clock)
    relay = relay_for(database, store, clock, closed_port_url())
    relay.start()
    try:
        assert relay.running
        first = relay.heartbeat
        wait_until(lambda: relay.last_pass is not None and relay.heartbeat > first)
        assert relay.backing_off
        assert relay.last_pass is not None and relay.last_pass.error is not None
    finally:
        relay.stop(timeout_s=WAIT_S)
    assert not relay.running
    (attempts,) = read(database, "SELECT attempts FROM outbox")[0]
    assert isinstance(attempts, int) and attempts >= 1


def test_the_relay_thread_is_named_for_the_watchdog_and_logs(
    database: Path, store: StoreWorker, clock: Clock
) -> None:
    relay = relay_for(database, store, clock, closed_port_url())
    relay.start()
    try:
        assert "kiosk-sync" in [thread.name for thread in threading.enumerate()]
    finally:
        relay.stop(timeout_s=WAIT_S)



# --------------------------------------------------------------------------- misbehaving peers


class Trickle:
    """A misbehaving back office on loopback (a test double of a bad network peer): it reads
    each request, then answers as ``mode`` says. ``"headers"``: a status line and headers, one
    byte every ``gap_s`` seconds, never ending; ``"body"``: headers promising a large body,
    then the body one byte every ``gap_s`` seconds; ``"flood"``: a 200 with ``flood_bytes`` of
    body at once, then it closes."""

    def __init__(self, mode: str, *, gap_s: float = 0.05, flood_bytes: int = 0) -> None:
        self.mode = mode
        self.gap_s = gap_s
        self.flood_bytes = flood_bytes
        self.requests = 0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def __enter__(self) -> Trickle:
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(WAIT_S)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(WAIT_S)
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(65536)
            head, _, body = request.partition(b"\r\n\r\n")
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(body) < length:
                body += conn.recv(65536)
            self.requests += 1
            if self.mode == "flood":
                with contextlib.suppress(OSError):  # the kiosk stopped at its cap, hung up
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Connection: close\r\n\r\n" + b" " * self.flood_bytes)
                return
            if self.mode == "headers":
                opening = b"HTTP/1.1 200 OK\r\nX-Slow: "
            else:
                opening = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 100000\r\n\r\n{")
            conn.sendall(opening[:1])
            drip = iter(opening[1:])
            while not self._stop.wait(self.gap_s):
                try:
                    conn.sendall(bytes([next(drip, 32)]))
                except OSError:  # the kiosk hung up: what a deadline does
                    return


@pytest.mark.parametrize("trickled", ["headers", "body"])
def test_a_back_office_that_trickles_its_answer_is_given_up_on_at_the_deadline(
    database: Path, store: StoreWorker, clock: Clock, trickled: str
) -> None:
    record_audit_rows(store, 3, clock)
    with Trickle(trickled) as server:
        relay = relay_for(database, store, clock, server.url, request_timeout_s=1.0)
        started = time.monotonic()
        try:
            result = relay.run_once()
        finally:
            relay.stop()
        took_s = time.monotonic() - started
    assert result.error == (
        f"back office unreachable: no complete answer within 1 s from {server.url}"
    )
    assert server.requests == 1
    assert took_s < 3.0  # a generous bound: it ends near its 1 s deadline, not never
    assert pending_count(database) == 3
    assert read(database, "SELECT attempts FROM outbox") == [(1,), (1,), (1,)]


def test_an_answer_too_large_for_a_batch_reply_is_refused_and_the_rows_are_sent_later(
    database: Path, store: StoreWorker, clock: Clock
) -> None:
    record_audit_rows(store, 2, clock)
    with Trickle("flood", flood_bytes=MAX_BATCH_REPLY_BYTES + 65536) as server:
        relay = relay_for(database, store, clock, server.url)
        try:
            result = relay.run_once()
        finally:
            relay.stop()
    assert result.error is not None
    assert "answer too large" in result.error
    assert result.error.startswith("back office unusable")
    assert pending_count(database) == 2


def test_a_chore_that_outlasts_the_heartbeat_limit_keeps_the_relay_heartbeat_fresh(
    tmp_path: Path, database: Path, store: StoreWorker, clock: Clock
) -> None:
    settings = demo_settings(tmp_path / "state", backoffice_url="http://127.0.0.1:9")
    chores = SyncChores(store, settings, clock, wait_slice_s=0.05)
    busy = threading.Event()
    store.submit(lambda db: busy.wait(WAIT_S))  # the store worker is held: the prune waits
    in_chores, chores_done = threading.Event(), threading.Event()

    def after_pass(client: httpx.Client, beat: Callable[[], None]) -> None:
        in_chores.set()
        chores(client, beat)
        chores_done.set()

    relay = relay_for(database, store, clock, closed_port_url(), after_pass=after_pass)
    relay.start()
    try:
        assert in_chores.wait(WAIT_S)
        for _ in range(3):  # however long the chore lasts, the heartbeat keeps moving
            seen = relay.heartbeat
            wait_until(lambda seen=seen: relay.heartbeat > seen)  # type: ignore[misc]
        assert not chores_done.is_set()  # all the while inside the one chore
        busy.set()
        assert chores_done.wait(WAIT_S)
    finally:
        busy.set()
        relay.stop(timeout_s=WAIT_S)
    assert not relay.running


# --------------------------------------------------------------------------- the back office


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[HQProcess]:
    process = start_hq(tmp_path / "hq", faults=True)
    yield process
    process.stop()


def outbox_ids(database: Path) -> list[str]:
    """The outbox's event ids in outbox (sending) order."""
    return [str(row[0]) for row in read(database, "SELECT event_id FROM outbox ORDER BY id")]


def arrived_ids(hq: HQProcess) -> list[str]:
    """The event ids the back office stored for the test kiosk, in arrival order."""
    return [str(event["event_id"]) for event in hq.events(KIOSK_ID)]


def add_staff(rig: PaymentRig) -> None:
    def job(db: Database) -> None:
        with db.atomic():
            db.execute("INSERT OR IGNORE INTO staff (number, name, role, created_at) "
                       "VALUES (7, 'Sam', 'manager', '2026-11-26T12:00:00.000000Z')")
    rig.store.submit(job).result(WAIT_S)


def paid_sale(rig: PaymentRig, service: StripeTerminal, amount_minor: int) -> str:
    """A sale paid by card on the emulator (writes its ``sale.paid`` outbox row)."""
    sale_id = rig.new_sale(amount_minor)
    service.pay(sale_id, amount_minor, cart(amount_minor))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    rig.emulator.present_card(rig.reader_id)
    rig.events.wait_for("paid", sale_id)
    return sale_id


def hq_relay(rig: PaymentRig, hq: HQProcess, clock: Clock, **options: object) -> OutboxRelay:
    """A relay from the rig's kiosk database to the reference back office."""
    return relay_for(rig.path, rig.store, clock, hq.url, token=hq.token_for(KIOSK_ID),
                     **options)


def test_sales_a_partial_refund_and_audit_rows_arrive_once_each_in_outbox_order(
    rig: PaymentRig, hq: HQProcess, clock: Clock
) -> None:
    add_staff(rig)
    service = rig.service()
    first = paid_sale(rig, service, 2500)
    second = paid_sale(rig, service, 990)
    assert service.refund(first, 1000, requested_by=7).result(WAIT_S).code == "refunded"
    record_audit_rows(rig.store, 3, clock)
    relay = hq_relay(rig, hq, clock, batch_size=2)
    try:
        result = relay.run_once()
        again = relay.run_once()
    finally:
        relay.stop()

    sent = outbox_ids(rig.path)
    assert result.error is None
    assert (result.sent, result.acknowledged) == (len(sent), len(sent))
    assert result.batches == (len(sent) + 1) // 2
    assert (again.sent, again.batches) == (0, 0)
    assert arrived_ids(hq) == sent
    topics = [(event["topic"], event["sale_id"]) for event in hq.events(KIOSK_ID)]
    assert topics.index(("sale.paid", first)) < topics.index(("refund.succeeded", first))
    assert ("sale.paid", second) in topics
    assert [topic for topic, _ in topics].count("audit.recorded") >= 3
    refund = next(event for event in hq.events(KIOSK_ID) if event["topic"] == "refund.succeeded")
    assert refund["payload"]["amount_minor"] == 1000
    assert read(rig.path, "SELECT count(*) FROM outbox WHERE acked_at IS NULL") == [(0,)]


def pending_count(database: Path) -> int:
    (count,) = read(database, "SELECT count(*) FROM outbox WHERE acked_at IS NULL")[0]
    assert isinstance(count, int)
    return count


def test_a_back_office_down_for_a_while_gets_everything_exactly_once_when_it_is_back(
    database: Path, store: StoreWorker, clock: Clock, hq: HQProcess
) -> None:
    token = hq.token_for(KIOSK_ID)
    record_audit_rows(store, 5, clock)
    hq.stop()
    relay = relay_for(database, store, clock, hq.url, token=token, batch_size=2)
    relay.start()
    try:
        wait_until(lambda: relay.backing_off)
        record_audit_rows(store, 4, clock)  # the shop sells on meanwhile
        relay.send_now()
        assert pending_count(database) == 9
        hq.restart()
        wait_until(lambda: pending_count(database) == 0)
    finally:
        relay.stop(timeout_s=WAIT_S)
    assert arrived_ids(hq) == outbox_ids(database)
    (attempts,) = read(database, "SELECT max(attempts) FROM outbox")[0]
    assert isinstance(attempts, int) and attempts >= 1


def test_server_errors_stop_the_pass_and_the_next_pass_after_them_delivers_everything(
    database: Path, store: StoreWorker, clock: Clock, hq: HQProcess
) -> None:
    record_audit_rows(store, 3, clock)
    relay = relay_for(database, store, clock, hq.url, token=hq.token_for(KIOSK_ID))
    hq.fault(status=500, count=2)
    try:
        failures = [relay.run_once(), relay.run_once()]
        success = relay.run_once()
    finally:
        relay.stop()
    for failure in failures:
        assert failure.error is not None
        assert failure.error.startswith("back office failed (HTTP 500)")
        assert failure.acknowledged == 0
    assert success.error is None and success.acknowledged == 3
    assert arrived_ids(hq) == outbox_ids(database)
    assert read(database, "SELECT attempts FROM outbox") == [(2,), (2,), (2,)]


def test_a_slow_back_office_times_out_and_the_resent_batch_is_stored_once(
    database: Path, store: StoreWorker, clock: Clock, hq: HQProcess
) -> None:
    record_audit_rows(store, 3, clock)
    relay = relay_for(database, store, clock, hq.url, token=hq.token_for(KIOSK_ID),
                      request_timeout_s=0.5)
    hq.fault(delay_s=3.0, count=1)
    try:
        slow = relay.run_once()
        results = [relay.run_once()]
        while results[-1].error is not None and len(results) < 10:
            results.append(relay.run_once())
    finally:
        relay.stop()
    assert slow.error == (
        f"back office unreachable: no complete answer within 0.5 s from {hq.url}"
    )
    assert results[-1].error is None
    assert pending_count(database) == 0
    assert sorted(arrived_ids(hq)) == sorted(outbox_ids(database))
    assert len(arrived_ids(hq)) == 3


def test_status_shows_what_is_pending_and_the_last_error_and_success_with_their_times(
    database: Path, store: StoreWorker, clock: Clock, hq: HQProcess
) -> None:
    record_audit_rows(store, 2, clock)  # written at 12:00:00 and 12:00:01
    relay = relay_for(database, store, clock, hq.url, token=hq.token_for(KIOSK_ID))
    hq.fault(status=500, count=1)
    failed_at = clock()
    try:
        relay.run_once()
        reader = open_database(database, check=False)
        try:
            after_failure = sync_status(reader)
            clock.advance(60)
            relay.run_once()
            after_success = sync_status(reader)
        finally:
            reader.close()
    finally:
        relay.stop()
    assert after_failure.pending == 2
    assert after_failure.oldest_pending_at == datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert after_failure.last_error is not None
    assert after_failure.last_error.startswith("back office failed (HTTP 500)")
    assert after_failure.last_error_at == failed_at
    assert after_failure.last_success_at is None
    assert after_success.pending == 0
    assert after_success.oldest_pending_at is None
    assert after_success.last_success_at == failed_at + timedelta(seconds=60)
    assert after_success.last_error_at == failed_at  # kept: older than the success


def test_stop_during_a_slow_request_returns_and_the_unanswered_rows_are_sent_later(
    database: Path, store: StoreWorker, clock: Clock, hq: HQProcess
) -> None:
    record_audit_rows(store, 2, clock)
    relay = relay_for(database, store, clock, hq.url, token=hq.token_for(KIOSK_ID),
                      request_timeout_s=1.0)
    hq.fault(delay_s=5.0, count=1)
    relay.start()
    wait_until(lambda: relay.sending)
    relay.stop(timeout_s=WAIT_S)
    assert not relay.running
    assert pending_count(database) == 2

    later = relay_for(database, store, clock, hq.url, token=hq.token_for(KIOSK_ID))
    try:
        assert later.run_once().error is None
    finally:
        later.stop()
    assert pending_count(database) == 0
    assert sorted(arrived_ids(hq)) == sorted(outbox_ids(database))


def test_a_conflicting_event_is_refused_nothing_of_the_batch_is_stored_and_staff_are_told(
    database: Path, store: StoreWorker, clock: Clock, hq: HQProcess,
    caplog: pytest.LogCaptureFixture,
) -> None:
    record_audit_rows(store, 3, clock)
    token = hq.token_for(KIOSK_ID)
    reader = open_database(database, check=False)
    try:
        first = pending_events(reader, limit=1)[0].event
    finally:
        reader.close()
    forged = Event(first.event_id, first.topic, first.sale_id, first.created_at,
                   {**first.payload, "outcome": "rewritten"})
    with make_client(hq.url, token, 5.0) as client:
        answer = client.post(EVENTS_PATH, content=Batch(KIOSK_ID, (forged,)).encode())
    assert answer.status_code == 200

    relay = relay_for(database, store, clock, hq.url, token=token)
    try:
        with caplog.at_level(logging.ERROR, logger="kiosk.sync.relay"):
            result = relay.run_once()
    finally:
        relay.stop()
    assert result.error is not None
    assert result.error.startswith("back office refused the batch (HTTP 409): conflict")
    assert first.event_id in result.error
    assert any("staff must look" in record.getMessage() for record in caplog.records)
    assert arrived_ids(hq) == [first.event_id]  # only the forged one: nothing of the batch
    assert pending_count(database) == 3
    assert read(database, "SELECT attempts FROM outbox") == [(1,), (1,), (1,)]


def test_a_wrong_token_is_refused_and_the_error_never_repeats_a_token(
    database: Path, store: StoreWorker, clock: Clock, hq: HQProcess
) -> None:
    record_audit_rows(store, 1, clock)
    hq.token_for(KIOSK_ID)
    relay = relay_for(database, store, clock, hq.url, token=TOKEN)
    try:
        result = relay.run_once()
    finally:
        relay.stop()
    assert result.error is not None
    assert result.error.startswith("back office refused the kiosk's token (HTTP 401)")
    assert TOKEN not in result.error
    assert arrived_ids(hq) == []


@pytest.mark.parametrize("lost_answer", [
    {"status": 500, "after": True},
    {"drop": True, "after": True},
])
def test_a_batch_stored_whose_answer_was_lost_is_resent_and_counted_once(
    database: Path, store: StoreWorker, clock: Clock, hq: HQProcess,
    lost_answer: dict[str, object],
) -> None:
    record_audit_rows(store, 3, clock)
    relay = relay_for(database, store, clock, hq.url, token=hq.token_for(KIOSK_ID))
    hq.fault(**lost_answer, count=1)
    try:
        lost = relay.run_once()
        resent = relay.run_once()
    finally:
        relay.stop()
    assert lost.error is not None and lost.acknowledged == 0
    assert arrived_ids(hq) == outbox_ids(database)  # stored by the first try already
    assert (resent.error, resent.acknowledged) == (None, 3)
    assert pending_count(database) == 0
