"""Sync under stress: a kiosk killed with SIGKILL in the middle of a batch, and 10,000 queued
sales draining while a customer pays.

Everything is real: the reference back office runs as its own process on loopback (``kiosk hq
serve --faults``, SQLite), the crashing kiosk is a child process (tests/sync_crash_driver.py)
running the real `OutboxRelay` and `StoreWorker` on a SQLite file in tmp_path, and the paying
kiosk is the real facade with the embedded Stripe emulator. Timing is steered by the back
office's test faults and by the driver's pause, never by sleeping; the waits below are guards
against hanging, not assertions.
"""

from __future__ import annotations

import json
import logging
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_support import clean_environment
from hq_support import HQProcess, refund_event, sale_paid_event, start_hq
from sqlite_utils import Database

from kiosk.app import Kiosk
from kiosk.config import Secrets, SecretStr, Settings, demo_settings
from kiosk.core.checkout_states import CheckoutState
from kiosk.main_queue import MainQueue
from kiosk.sim.demo_shop import prepare_demo
from kiosk.sim.stripe_emulator import StripeEmulator
from kiosk.store import audit
from kiosk.store.db import immediate_transaction, open_database
from kiosk.store.worker import StoreWorker
from kiosk.wire import EVENTS_PATH, Event

DRIVER = Path(__file__).with_name("sync_crash_driver.py")
KIOSK_ID = "lane-1"
BATCH = 100
"""Events per batch (the protocol's maximum)."""
SALES = 2400
"""Paid sales in the crash tests' outbox; with refunds and audit rows about 3,000 events."""
PAUSE_AFTER = 5
"""The batch of the crash run the tests stop at (a few batches acknowledged before it)."""
IN_FLIGHT_DELAY_S = 5.0
"""How long the back office holds the batch the kiosk dies waiting for (seconds): the test
only has to read the back office's event count and send SIGKILL within it."""
WAIT_S = 30.0
"""A guard against hanging, not a timing assertion."""
DRAIN_WAIT_S = 45.0
"""A guard for draining 10,000 events, not a timing assertion."""
JUICE = b"5012345001012\r\n"  # Orange juice 1 l, 1.89


def wait_until(check: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    """Poll ``check()`` until it is true (a guard against hanging)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.01)


def read(database: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as conn:
        return conn.execute(sql, params).fetchall()


def acknowledged(database: Path) -> int:
    (count,) = read(database, "SELECT count(*) FROM outbox WHERE acked_at IS NOT NULL")[0]
    return int(count)


def stored(hq: HQProcess) -> int:
    """Events the back office has stored for the test kiosk."""
    return sum(hq.event_counts(KIOSK_ID).values())


def queue_outbox(database: Path) -> list[Event]:
    """Fill a fresh kiosk database's outbox in one transaction on a store worker: `SALES` paid
    sales, a partial refund (written after its sale) for every tenth, and a staff audit row
    (through ``kiosk.store.audit``, which writes its own event) every eighth sale. Returns the
    sale and refund events; the audit events are in the outbox only."""
    events: list[Event] = []
    at = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def job(db: Database) -> None:
        with immediate_transaction(db):
            for number in range(1, SALES + 1):
                sale = sale_paid_event(number=number)
                written = [sale]
                if number % 10 == 0:
                    written.append(refund_event(str(sale.sale_id), 50))
                for event in written:
                    db.execute(
                        "INSERT INTO outbox (event_id, topic, sale_id, payload, created_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        [event.event_id, event.topic, event.sale_id,
                         json.dumps(event.payload, sort_keys=True), event.created_at])
                events.extend(written)
                if number % 8 == 0:
                    audit.record(db, at=at + timedelta(seconds=number),
                                 action="staff.pin_check", outcome="ok", staff_number=7,
                                 detail={"n": number})

    store = StoreWorker(database)
    try:
        store.submit(job).result(WAIT_S)
    finally:
        store.close()
    return events


# --------------------------------------------------------------------------- the kiosk process


@dataclass
class KioskProcess:
    """The crash driver as a child process and the JSON lines it printed."""

    process: subprocess.Popen[str]
    stderr: Path
    lines: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    seen: list[dict[str, Any]] = field(default_factory=list)

    def expect(self, key: str, value: object = None) -> dict[str, Any]:
        """Read lines until one has ``key`` (equal to ``value`` when given)."""
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"the kiosk process never said {key!r}; it said {self.seen}; stderr:\n"
                    f"{self.stderr.read_text(encoding='utf-8')}") from None
            if key in line and (value is None or line[key] == value):
                return line

    def answers(self) -> list[dict[str, Any]]:
        """The answers it reported so far."""
        return [line for line in self.seen if "answered" in line]

    def resume(self) -> None:
        """Let a paused driver go on."""
        assert self.process.stdin is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()

    def kill(self) -> None:
        """SIGKILL, no clean shutdown of anything, and reap it."""
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(WAIT_S) == -signal.SIGKILL

    def finish(self) -> dict[str, Any]:
        """Wait for the driver to exit; its ``done`` line."""
        done = self.expect("done")
        assert self.process.wait(WAIT_S) == 0, done
        return done


class Launcher:
    """Starts crash-driver processes and, at the end of the test, kills any still running."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[KioskProcess] = []

    def __call__(self, database: Path, hq: HQProcess, *,
                 pause_after: int | None = None) -> KioskProcess:
        kiosk = start_kiosk(self.tmp_path, database, hq, pause_after=pause_after)
        self.started.append(kiosk)
        return kiosk

    def kill_leftovers(self) -> None:
        for kiosk in self.started:
            if kiosk.process.poll() is None:
                kiosk.process.kill()
                kiosk.process.wait()


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path)
    yield launcher
    launcher.kill_leftovers()


def start_kiosk(tmp_path: Path, database: Path, hq: HQProcess, *,
                pause_after: int | None = None) -> KioskProcess:
    """Start the crash driver on ``database`` against ``hq`` (the token in its environment)."""
    run = len(list(tmp_path.glob("kiosk-*.stderr"))) + 1
    stderr_path = tmp_path / f"kiosk-{run}.stderr"
    args = [sys.executable, str(DRIVER), str(database), hq.url, KIOSK_ID]
    if pause_after is not None:
        args += ["--pause-after", str(pause_after)]
    environment = clean_environment(
        tmp_path / "home", {"KIOSK_BACKOFFICE_TOKEN": hq.token_for(KIOSK_ID)})
    with stderr_path.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=stderr, text=True, env=environment)
    kiosk = KioskProcess(process, stderr_path)

    def read_stdout() -> None:
        assert process.stdout is not None
        for text in process.stdout:
            line = json.loads(text)
            kiosk.seen.append(line)
            kiosk.lines.put(line)

    threading.Thread(target=read_stdout, daemon=True, name="kiosk-stdout").start()
    return kiosk


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[HQProcess]:
    process = start_hq(tmp_path / "hq", faults=True)
    yield process
    process.stop()


def assert_every_event_arrived_once(database: Path, hq: HQProcess,
                                    written: list[Event]) -> None:
    """Every outbox row is on the back office exactly once, with its own body, every row is
    acknowledged, and every refund arrived after its sale."""
    outbox = read(database, "SELECT event_id, topic, sale_id, payload, created_at, acked_at "
                            "FROM outbox ORDER BY id")
    arrived = hq.events(KIOSK_ID)
    arrived_ids = [event["event_id"] for event in arrived]
    assert len(arrived_ids) == len(set(arrived_ids)) == len(outbox)  # nothing twice
    assert set(arrived_ids) == {row[0] for row in outbox}  # nothing missing
    assert {event.event_id for event in written} <= set(arrived_ids)
    assert [row[0] for row in outbox if row[5] is None] == []  # all acknowledged
    body_hashes = {
        row[0]: Event(row[0], row[1], row[2], row[4], json.loads(row[3])).body_hash()
        for row in outbox
    }
    assert {event["event_id"]: event["body_hash"] for event in arrived} == body_hashes
    position = {(event["topic"], event["sale_id"]): index
                for index, event in enumerate(arrived)}
    refunds = [event for event in written if event.topic == "refund.succeeded"]
    assert refunds
    for refund in refunds:
        assert position[("sale.paid", refund.sale_id)] < position[
            ("refund.succeeded", refund.sale_id)]


# --------------------------------------------------------------------------- SIGKILL mid-batch


def test_a_kiosk_killed_while_its_batch_is_in_flight_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, hq: HQProcess, launch: Launcher
) -> None:
    database = tmp_path / "kiosk.db"
    written = queue_outbox(database)
    total = len(read(database, "SELECT id FROM outbox"))
    assert total > 2500

    first = launch(database, hq, pause_after=PAUSE_AFTER)
    first.expect("paused", PAUSE_AFTER)
    hq.fault(delay_s=IN_FLIGHT_DELAY_S, count=1)  # the next batch hangs at the back office
    first.resume()
    first.expect("sending", PAUSE_AFTER + 1)
    wait_until(lambda: hq.requests().get(f"POST {EVENTS_PATH}", 0) == PAUSE_AFTER + 1)
    stored_when_killed = stored(hq)
    first.kill()

    assert stored_when_killed == PAUSE_AFTER * BATCH  # the batch in flight: not stored yet
    assert acknowledged(database) == PAUSE_AFTER * BATCH
    assert [line["answered"] for line in first.answers()] == list(range(1, PAUSE_AFTER + 1))
    # The back office finishes the dead kiosk's request: it stores what nobody will hear of.
    wait_until(lambda: stored(hq) == (PAUSE_AFTER + 1) * BATCH)

    second = launch(database, hq)
    done = second.finish()
    resent = second.answers()[0]
    assert (resent["accepted"], resent["duplicates"]) == (0, BATCH)
    assert done["acknowledged"] == total - PAUSE_AFTER * BATCH
    assert done["errors"] == []
    assert_every_event_arrived_once(database, hq, written)


def test_a_kiosk_killed_after_the_back_office_stored_its_batch_but_before_it_was_recorded(
    tmp_path: Path, hq: HQProcess, launch: Launcher
) -> None:
    database = tmp_path / "kiosk.db"
    written = queue_outbox(database)
    total = len(read(database, "SELECT id FROM outbox"))

    first = launch(database, hq, pause_after=PAUSE_AFTER)
    first.expect("paused", PAUSE_AFTER)
    answer = first.answers()[-1]
    assert (answer["status"], answer["accepted"], answer["duplicates"]) == (200, BATCH, 0)
    assert stored(hq) == PAUSE_AFTER * BATCH
    first.kill()
    assert acknowledged(database) == (PAUSE_AFTER - 1) * BATCH  # the answer was never recorded

    second = launch(database, hq)
    done = second.finish()
    resent = second.answers()[0]
    assert (resent["accepted"], resent["duplicates"]) == (0, BATCH)
    assert done["acknowledged"] == total - (PAUSE_AFTER - 1) * BATCH
    assert done["errors"] == []
    assert_every_event_arrived_once(database, hq, written)


# --------------------------------------------------------------------------- 10,000 sales queued


QUEUED_SALES = 10_000
BATCH_DELAY_S = 0.03
"""Extra seconds the back office takes per batch while the queue drains, so the queue is still
draining while the customer pays, however fast the machine (about 3 s over 100 batches)."""


def queue_sales(database: Path, count: int) -> list[Event]:
    """``count`` unacknowledged ``sale.paid`` rows, written in one transaction on a store
    worker that is closed again (the kiosk opens its own)."""
    events = [sale_paid_event(number=number) for number in range(1, count + 1)]

    def job(db: Database) -> None:
        with immediate_transaction(db):
            db.conn.executemany(
                "INSERT INTO outbox (event_id, topic, sale_id, payload, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(event.event_id, event.topic, event.sale_id,
                  json.dumps(event.payload, sort_keys=True), event.created_at)
                 for event in events])

    store = StoreWorker(database)
    try:
        store.submit(job).result(WAIT_S)
    finally:
        store.close()
    return events


def shop_settings(tmp_path: Path, backoffice_url: str) -> Settings:
    """The demo shop with its back office at ``backoffice_url`` (card polls every 100 ms)."""
    base = demo_settings(tmp_path / "state", backoffice_url=backoffice_url)
    db = open_database(Path(base.state_dir) / "kiosk.db")
    prepare_demo(db, base, now=datetime(2026, 11, 1, tzinfo=UTC), work_dir=tmp_path)
    db.close()
    stripe = replace(base.stripe, poll_interval_ms=100)
    return replace(base, stripe=stripe)


def trouble(records: list[logging.LogRecord]) -> list[str]:
    """Log lines (with their tracebacks) that speak of a locked database or a SQLite error."""
    found = []
    for record in records:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        if record.exc_text:
            text += f" {record.exc_text}"
        if "locked" in text.lower() or "OperationalError" in text:
            found.append(f"{record.name}: {text}")
    return found


def test_ten_thousand_queued_sales_drain_while_a_sale_is_paid_without_a_locked_database(
    tmp_path: Path, hq: HQProcess, caplog: pytest.LogCaptureFixture
) -> None:
    settings = shop_settings(tmp_path, hq.url)
    database = Path(settings.state_dir) / "kiosk.db"
    queued = queue_sales(database, QUEUED_SALES)
    hq.token_for(settings.kiosk_id)
    hq.fault(delay_s=BATCH_DELAY_S, count=10 * QUEUED_SALES // BATCH)
    secrets = Secrets(backoffice_token=SecretStr(hq.token_for(settings.kiosk_id)))

    main = MainQueue()
    with caplog.at_level(logging.WARNING):
        kiosk = Kiosk(settings, post_to_main=main.post, secrets=secrets,
                      clock=lambda: datetime.now(UTC))
        try:
            kiosk.start()
            emulator: StripeEmulator | None = kiosk.stripe_emulator
            assert emulator is not None
            main.run_until(lambda: sum(hq.event_counts(settings.kiosk_id).values()) > 0,
                           WAIT_S)  # the drain has begun

            emulator.customer("tap", after_s=0.05)
            kiosk.scan(JUICE)
            sale_id = kiosk.checkout.sale_id
            assert sale_id is not None
            kiosk.pay()
            main.run_until(lambda: kiosk.checkout.state is CheckoutState.PAID, WAIT_S)
            on_server_when_paid = sum(hq.event_counts(settings.kiosk_id).values())

            main.run_until(lambda: (status := kiosk.sync_status()) is not None
                           and status.pending == 0, DRAIN_WAIT_S)
            status = kiosk.sync_status()
        finally:
            kiosk.close()

    assert 0 < on_server_when_paid < QUEUED_SALES  # paid while the queue was draining
    assert read(database, "SELECT state FROM sales WHERE id = ?", sale_id) == [("paid",)]
    assert trouble(caplog.records) == []
    assert status is not None and status.last_error is None  # no pass ever failed
    assert "locked" not in hq.stderr_text().lower()

    outbox = read(database, "SELECT event_id, acked_at FROM outbox")
    arrived = hq.events(settings.kiosk_id)
    arrived_ids = [event["event_id"] for event in arrived]
    assert len(arrived_ids) == len(set(arrived_ids)) == len(outbox)
    assert set(arrived_ids) == {event_id for event_id, _ in outbox}
    assert all(acked_at is not None for _, acked_at in outbox)
    paid = [event for event in arrived if event["topic"] == "sale.paid"]
    assert len(paid) == QUEUED_SALES + 1
    assert {event.event_id for event in queued} <= set(arrived_ids)
    assert [event["sale_id"] for event in paid][-1] == sale_id  # sent after the queue
