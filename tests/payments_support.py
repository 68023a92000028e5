"""Fixtures for the payment tests: the Stripe emulator, a real store, recorded events.

Everything is real: the `stripe` package over HTTP against the emulator on loopback, SQLite
files in tmp_path through the store worker. Timers run on `SettableClock` (monotonic seconds)
so no test waits for real timeouts; events are awaited with a condition variable.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from kiosk.core.checkout_states import PaymentPhase
from kiosk.payments.provider import ReaderCart, ReaderCartLine
from kiosk.payments.settings import PaymentSettings
from kiosk.payments.stripe.api import build_client
from kiosk.payments.stripe.terminal import StripeTerminal
from kiosk.sim.stripe_emulator import StripeEmulator
from kiosk.store.worker import StoreWorker

API_KEY = "sk_test_kiosk_payments"
WAIT_S = 20.0
"""Generous upper bound (seconds) for an event to arrive; tests never assert speed."""


class SettableClock:
    """A monotonic clock (seconds) that only moves when a test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


@dataclass
class RecordedEvents:
    """The `PaymentEvents` a test sees, in order, with a way to wait for one."""

    seen: list[tuple[str, str, str]] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def _add(self, kind: str, sale_id: str, value: str = "") -> None:
        with self._changed:
            self.seen.append((kind, sale_id, value))
            self._changed.notify_all()

    def payment_phase(self, sale_id: str, phase: PaymentPhase) -> None:
        self._add("phase", sale_id, phase.value)

    def payment_paid(self, sale_id: str) -> None:
        self._add("paid", sale_id)

    def payment_declined(self, sale_id: str, code: str) -> None:
        self._add("declined", sale_id, code)

    def payment_cancelled(self, sale_id: str) -> None:
        self._add("cancelled", sale_id)

    def payment_unresolved(self, sale_id: str, code: str) -> None:
        self._add("unresolved", sale_id, code)

    def payments_available(self, available: bool, reason: str) -> None:
        self._add("available", "", f"{available}:{reason}")

    def wait_for(self, kind: str, sale_id: str = "", value: str | None = None,
                 *, after: int = 0, timeout_s: float = WAIT_S) -> tuple[str, str, str]:
        """Block until an event of ``kind`` (for ``sale_id``, with ``value``) arrives after
        the first ``after`` events; fail the test if none comes within ``timeout_s``."""
        def found() -> tuple[str, str, str] | None:
            for event in self.seen[after:]:
                if event[0] == kind and (not sale_id or event[1] == sale_id) and (
                        value is None or event[2] == value):
                    return event
            return None

        with self._changed:
            self._changed.wait_for(lambda: found() is not None, timeout_s)
            event = found()
        assert event is not None, f"no {kind} {sale_id} {value} in {self.seen}"
        return event

    def wait_for_end(self, sale_id: str, *, after: int = 0) -> tuple[str, str, str]:
        """The event that ends a try: paid, declined, cancelled, or unresolved (in doubt)."""
        def found() -> tuple[str, str, str] | None:
            for event in self.seen[after:]:
                if event[0] in ("paid", "declined", "cancelled", "unresolved") \
                        and event[1] == sale_id:
                    return event
            return None

        with self._changed:
            self._changed.wait_for(lambda: found() is not None, WAIT_S)
            event = found()
        assert event is not None, f"the try of {sale_id} never ended: {self.seen}"
        return event

    def count(self) -> int:
        with self._changed:
            return len(self.seen)


def test_settings(reader_id: str, **overrides: Any) -> PaymentSettings:
    """Small timings for tests: fast polls, timers far away unless a test moves the clock."""
    base = PaymentSettings(
        kiosk_id="lane-1", currency="EUR", reader_id=reader_id, capture="automatic",
        poll_interval_s=0.02, payment_idle_s=120, authorisation_wait_s=90, payment_max_s=300,
        probe_s=3600, capture_max_age_s=3600, request_timeout_s=5, max_network_retries=0,
        recovery_s=10, recovery_every_s=0)
    return replace(base, **overrides)


@dataclass
class PaymentRig:
    """One kiosk's payment side wired to a running emulator and a real database."""

    emulator: StripeEmulator
    store: StoreWorker
    reader_id: str
    events: RecordedEvents
    clock: SettableClock
    path: Path
    services: list[StripeTerminal] = field(default_factory=list)

    def service(self, **overrides: Any) -> StripeTerminal:
        """A started payment service (stopped by the fixture)."""
        settings = test_settings(self.reader_id, **overrides)
        client = build_client(API_KEY, self.emulator.url, request_timeout_s=settings
                              .request_timeout_s, max_network_retries=settings
                              .max_network_retries)
        service = StripeTerminal(client=client, store=self.store, settings=settings,
                                 events=self.events, monotonic=self.clock)
        service.start()
        self.services.append(service)
        return service

    def restart_store(self) -> None:
        """Close the database and open it again (what a restart of the kiosk does)."""
        self.store.close()
        self.store = StoreWorker(self.path)

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` read through the store worker (after every queued write)."""
        def job(db: Database) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in db.execute(sql, params or []).fetchall()]

        return self.store.submit(job).result(30)

    def sale_state(self, sale_id: str) -> str:
        return str(self.query("SELECT state FROM sales WHERE id = ?", [sale_id])[0][0])

    def attempt(self, sale_id: str) -> dict[str, Any]:
        def job(db: Database) -> dict[str, Any]:
            cursor = db.execute("SELECT * FROM payment_attempts WHERE sale_id = ?", [sale_id])
            names = [column[0] for column in cursor.description]
            row = cursor.fetchone()
            assert row is not None, f"no attempt for {sale_id}"
            return dict(zip(names, row, strict=True))
        return self.store.submit(job).result(30)

    def new_sale(self, total_minor: int, *, lines: int = 1) -> str:
        """Record an open sale of ``total_minor`` (minor units) with ``lines`` lines."""
        sale_id = str(uuid.uuid4())
        stamp = "2026-11-26T12:00:00.000000Z"

        def job(db: Database) -> None:
            with db.atomic():
                (number,) = db.execute(
                    "SELECT COALESCE(MAX(number), 0) + 1 FROM sales").fetchone()
                db.execute(
                    "INSERT INTO sales (id, number, kiosk_id, state, currency, language, "
                    "created_at, updated_at, subtotal_minor, tax_minor, total_minor) "
                    "VALUES (?, ?, 'lane-1', 'open', 'EUR', 'en', ?, ?, ?, ?, ?)",
                    [sale_id, number, stamp, stamp, total_minor, 0, total_minor])
                self._write_lines(db, sale_id, total_minor, lines)
        self.store.submit(job).result(30)
        return sale_id

    def change_cart(self, sale_id: str, total_minor: int) -> None:
        """The customer changed the cart: new lines and total (the sale must be open)."""
        def job(db: Database) -> None:
            with db.atomic():
                state = db.execute("SELECT state FROM sales WHERE id = ?",
                                   [sale_id]).fetchone()[0]
                assert state == "open", state
                db.execute("DELETE FROM sale_lines WHERE sale_id = ?", [sale_id])
                self._write_lines(db, sale_id, total_minor, 1)
                db.execute("UPDATE sales SET subtotal_minor = ?, total_minor = ? WHERE id = ?",
                           [total_minor, total_minor, sale_id])
        self.store.submit(job).result(30)

    @staticmethod
    def _write_lines(db: Database, sale_id: str, total_minor: int, lines: int) -> None:
        amounts = [total_minor // lines] * lines
        amounts[-1] += total_minor - sum(amounts)
        for position, amount in enumerate(amounts, start=1):
            db.execute(
                "INSERT INTO sale_lines (sale_id, position, code, name, quantity, "
                "unit_price_minor, tax_class, tax_rate, line_total_minor) "
                "VALUES (?, ?, ?, ?, 1, ?, 'standard', '0.19', ?)",
                [sale_id, position, f"400000000000{position}", f"Item {position}", amount,
                 amount])

    def intents_for(self, sale_id: str) -> list[dict[str, Any]]:
        """The emulator's PaymentIntents whose metadata names this sale."""
        return [intent for intent in self.emulator.payment_intents()
                if (intent.get("metadata") or {}).get("sale_id") == sale_id]

    def posts(self, path_part: str) -> list[Any]:
        """Executed POSTs whose path contains ``path_part``."""
        return [request for request in self.emulator.requests()
                if request.method == "POST" and path_part in request.path and request.executed]


def cart(total_minor: int) -> ReaderCart:
    """A one-line reader display of ``total_minor``."""
    return ReaderCart((ReaderCartLine("Item 1", total_minor, 1),), 0, total_minor)


def outbox_payloads(rig: PaymentRig, sale_id: str, topic: str) -> list[dict[str, Any]]:
    return [json.loads(row[0]) for row in rig.query(
        "SELECT payload FROM outbox WHERE sale_id = ? AND topic = ?", [sale_id, topic])]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[PaymentRig]:
    emulator = StripeEmulator(clock=None)
    emulator.start()
    reader = emulator.register_simulated_reader("simulated-wpe")
    store = StoreWorker(tmp_path / "kiosk.db")
    made = PaymentRig(emulator=emulator, store=store, reader_id=reader["id"],
                      events=RecordedEvents(), clock=SettableClock(), path=tmp_path / "kiosk.db")
    try:
        yield made
    finally:
        for service in made.services:
            service.stop()
        made.store.close()
        emulator.stop()
