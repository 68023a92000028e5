"""The reference back office as a real process for tests: ``kiosk hq serve --port 0`` started
with the real console script, its URL read from its first line, stopped (or SIGKILLed, or
restarted on the same port and database) at the test's request.

    hq = start_hq(tmp_path / "hq", faults=True)
    token = hq.token_for("lane-1")           # issued through the store, kept hashed
    hq.fault(status=500, count=2)            # the next two API requests fail (needs faults)
    ...
    assert [e["topic"] for e in hq.events("lane-1")] == ["sale.paid"]
    hq.stop()

PostgreSQL: ``postgres_dsn()`` is ``$KIOSK_TEST_POSTGRES_DSN`` (the test is skipped without it,
and conftest then fails the run); ``postgres_schema(dsn)`` gives a DSN whose tables live in a
fresh schema of their own, dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cli_support import clean_environment, kiosk_executable

from kiosk.hq.server import LISTENING
from kiosk.hq.storage import HQStore
from kiosk.hq.stores import open_store
from kiosk.hq.tokens import new_token, token_hash
from kiosk.wire import Batch, Event

START_TIMEOUT_S = 30.0
"""Seconds the server may take to print its URL (a guard, not an assertion)."""
STOP_TIMEOUT_S = 15.0
"""Seconds the server may take to exit after SIGTERM before it is killed."""
POSTGRES_DSN_VARIABLE = "KIOSK_TEST_POSTGRES_DSN"


@dataclass
class HQProcess:
    """A running (or stopped) ``kiosk hq serve`` and the storage it writes.

    ``url`` is ``http://127.0.0.1:PORT``; it stays the same across ``restart``.
    """

    directory: Path
    database: Path | None
    dsn: str | None
    faults: bool
    port: int = 0
    url: str = ""
    process: subprocess.Popen[str] | None = None
    _tokens: dict[str, str] = field(default_factory=dict)
    _runs: int = 0

    # ------------------------------------------------------------------ the process

    def _start(self) -> None:
        args = [kiosk_executable(), "hq", "serve", "--port", str(self.port)]
        if not self.dsn:
            args += ["--db", str(self.database)]
        if self.faults:
            args.append("--faults")
        self._runs += 1
        stderr = (self.directory / f"hq-{self._runs}.stderr").open("w", encoding="utf-8")
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
                env=self._environment(),
        )
        stderr.close()
        assert process.stdout is not None
        first_line: list[str] = []
        got_line = threading.Event()

        def read_stdout() -> None:  # keeps the pipe drained for the process's lifetime
            assert process.stdout is not None
            for line in process.stdout:
                if not first_line:
                    first_line.append(line)
                    got_line.set()
            got_line.set()

        threading.Thread(target=read_stdout, daemon=True, name="hq-stdout").start()
        if not got_line.wait(START_TIMEOUT_S) or not first_line:
            process.kill()
            process.wait()
            raise AssertionError(
                f"kiosk hq serve did not start; stderr:\n{self.stderr_text()}")
        line = first_line[0].strip()
        assert line.startswith(LISTENING), line
        self.url = line.removeprefix(LISTENING).strip()
        self.port = int(self.url.rsplit(":", 1)[1])
        self.process = process

    def _environment(self) -> dict[str, str]:
        environment = clean_environment(self.directory / "home")
        environment.pop("KIOSK_HQ_DB", None)
        environment.pop("KIOSK_HQ_DSN", None)
        if self.dsn:  # it holds a password: the environment keeps it out of the process list
            environment["KIOSK_HQ_DSN"] = self.dsn
        return environment

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM and wait for the process to exit (killed if it takes too long). Idempotent."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError("kiosk hq serve ignored SIGTERM") from None

    def kill(self) -> None:
        """SIGKILL the process (no clean shutdown) and reap it."""
        process = self.process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def restart(self) -> None:
        """Start the server again on the same port and storage (stopping it first if needed)."""
        self.stop()
        self._start()

    def stderr_text(self) -> str:
        """What the latest run wrote to stderr (its log)."""
        path = self.directory / f"hq-{self._runs}.stderr"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def __enter__(self) -> HQProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ the storage

    @contextmanager
    def store(self) -> Iterator[HQStore]:
        """The server's storage opened in this process (works while it runs or not)."""
        with open_store(database=self.database, dsn=self.dsn) as store:
            yield store

    def token_for(self, kiosk_id: str) -> str:
        """A valid token of ``kiosk_id`` (issued on first use, stored hashed, then reused)."""
        if kiosk_id not in self._tokens:
            token = new_token()
            with self.store() as store:
                store.add_kiosk(kiosk_id, token_hash(token), datetime.now(UTC))
            self._tokens[kiosk_id] = token
        return self._tokens[kiosk_id]

    def events(self, kiosk_id: str | None = None) -> list[dict[str, Any]]:
        """The stored events (of one kiosk, or all) in arrival order, read from the storage:
        dicts with kiosk_id, event_id, topic, sale_id, created_at, payload, body_hash and
        received_at."""
        with self.store() as store:
            return [event.to_json() for event in store.events(kiosk_id)]

    def event_counts(self, kiosk_id: str | None = None) -> dict[str, int]:
        """Stored events per topic (every topic, zero included)."""
        with self.store() as store:
            return store.event_counts(kiosk_id)

    # ------------------------------------------------------------------ test faults

    def fault(self, **spec: Any) -> dict[str, Any]:
        """Inject a fault (``status=500, count=2``; ``delay_s=2.0``; ``drop=True, after=True``;
        ``down=True``/``down=False``; ``path="/api/v1/catalog"``): see ``kiosk.hq.faults``.
        Returns the server's list of waiting faults. Needs ``start_hq(..., faults=True)``."""
        return self._control("POST", "/_hq/faults", spec)

    def clear_faults(self) -> None:
        """Forget every waiting fault and come back up."""
        self._control("DELETE", "/_hq/faults")

    def requests(self) -> dict[str, int]:
        """Requests the server has seen since it started, by "METHOD /path"."""
        counts = self._control("GET", "/_hq/requests")["requests"]
        assert isinstance(counts, dict)
        return counts

    def _control(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        assert self.faults, "start the back office with start_hq(..., faults=True)"
        content = None if body is None else json.dumps(body).encode()
        response = httpx.request(method, self.url + path, content=content, timeout=10.0)
        assert response.status_code == 200, response.text
        reply = response.json()
        assert isinstance(reply, dict)
        return reply


def start_hq(
    directory: Path, *, faults: bool = False, dsn: str | None = None, port: int = 0
) -> HQProcess:
    """Start ``kiosk hq serve`` on 127.0.0.1 (``port`` 0: a free one) with its SQLite file
    ``directory/hq.db``, or on PostgreSQL at ``dsn``; ``faults`` turns on the test controls.
    ``directory`` is created if needed and holds the server's stderr logs."""
    directory.mkdir(parents=True, exist_ok=True)
    hq = HQProcess(
        directory=directory,
        database=None if dsn else directory / "hq.db",
        dsn=dsn,
        faults=faults,
        port=port,
    )
    hq._start()
    return hq


def postgres_dsn() -> str:
    """The PostgreSQL server for tests (``$KIOSK_TEST_POSTGRES_DSN``); skips the test without
    one (tests/run.sh sets it up; conftest fails a run with skips)."""
    dsn = os.environ.get(POSTGRES_DSN_VARIABLE, "")
    if not dsn:
        pytest.skip(f"no PostgreSQL server: set {POSTGRES_DSN_VARIABLE} (tests/run.sh does)")
    return dsn


@contextmanager
def postgres_schema(dsn: str) -> Iterator[str]:
    """A DSN like ``dsn`` whose tables go to a fresh schema of their own (dropped at the end)."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    schema = f"hq_test_{secrets.token_hex(6)}"
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield make_conninfo(dsn, options=f"-csearch_path={schema}")
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


# ---------------------------------------------------------------------- events to send

KIOSK_ID = "lane-1"


def utc_text(minute: int = 0) -> str:
    """A protocol timestamp on 2026-01-31, ``minute`` minutes after noon (UTC)."""
    return f"2026-01-31T{12 + minute // 60:02d}:{minute % 60:02d}:00.000000Z"


def sale_paid_event(
    sale_id: str | None = None,
    *,
    number: int = 1,
    lines: list[dict[str, Any]] | None = None,
    currency: str = "EUR",
    language: str = "en",
    card: dict[str, Any] | None = None,
) -> Event:
    """A ``sale.paid`` event shaped like the kiosk's (kiosk/payments/attempts.py): two lines
    unless ``lines`` are given, totals summed from them, a Visa ending 4242."""
    sale_id = sale_id or str(uuid.uuid4())
    if lines is None:
        lines = [
            {"position": 1, "code": "04006381333931", "name": "Mineral water still 1.5 l",
             "quantity": 2, "unit_price_minor": 49, "weight_g": None, "tax_class": "reduced",
             "tax_rate": "7", "line_total_minor": 98, "min_age": None},
            {"position": 2, "code": "05012345001012", "name": "Orange juice 1 l",
             "quantity": 1, "unit_price_minor": 189, "weight_g": None, "tax_class": "reduced",
             "tax_rate": "7", "line_total_minor": 189, "min_age": None},
        ]
    total = sum(int(line["line_total_minor"]) for line in lines)
    if card is None:
        card = {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030,
                "read_method": "contactless_emv", "cardholder_name": "JANE Q CUSTOMER"}
    payload = {
        "sale": {"id": sale_id, "number": number, "kiosk_id": KIOSK_ID, "currency": currency,
                 "language": language, "created_at": utc_text(0), "paid_at": utc_text(1),
                 "age_approved_by": None},
        "lines": lines,
        "totals": {"subtotal_minor": total, "tax_minor": total * 7 // 107,
                   "total_minor": total},
        "payment": {"method": "card_present", "payment_intent_id": "pi_test_1",
                    "charge_id": "ch_test_1", "amount_minor": total, "captured_minor": total,
                    "currency": currency.lower(), "card": card},
    }
    return Event(str(uuid.uuid4()), "sale.paid", sale_id, utc_text(1), payload)


def refund_event(sale_id: str, amount_minor: int, *, minute: int = 5) -> Event:
    """A ``refund.succeeded`` event of ``sale_id`` (kiosk/payments/refunds.py's shape)."""
    payload = {"refund_id": str(uuid.uuid4()), "sale_id": sale_id,
               "amount_minor": amount_minor, "currency": "eur", "stripe_refund_id": "re_test_1",
               "payment_intent_id": "pi_test_1", "succeeded_at": utc_text(minute)}
    return Event(str(uuid.uuid4()), "refund.succeeded", sale_id, utc_text(minute), payload)


def audit_event(audit_id: int, action: str = "staff.login") -> Event:
    """An ``audit.recorded`` event (kiosk/store/schema.py audit_payload_json's shape)."""
    payload = {"audit_id": audit_id, "at": utc_text(audit_id % 600), "staff_number": 1,
               "action": action, "outcome": "ok", "detail": None}
    return Event(str(uuid.uuid4()), "audit.recorded", None, utc_text(audit_id % 600), payload)


def batch_of(events: list[Event], kiosk_id: str = KIOSK_ID) -> Batch:
    """A batch of ``events`` from ``kiosk_id``."""
    return Batch(kiosk_id, tuple(events))
