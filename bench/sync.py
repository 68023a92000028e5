"""Benchmark of back-office sync: queued sales drained over loopback by the outbox relay.

Everything is real and in the same run: the reference back office ``kiosk hq serve --port 0``
as a child process (its SQLite file in a temporary folder), a kiosk database whose outbox holds
``--sales`` unacknowledged ``sale.paid`` rows with realistic payloads (two to six lines each,
totals, a card), written in one transaction through the kiosk's `StoreWorker`.

- ours: `OutboxRelay.run_once()` (batches of 100) drains the whole outbox: it reads the rows on
  its own connection, builds and encodes each batch, posts it with its keep-alive httpx client
  and records the acknowledgements through the store worker (one transaction per batch);
- baseline: a raw ``httpx.Client`` loop POSTs the SAME batch bodies (`kiosk.wire.Batch.encode` of
  the same events, 100 a batch, encoded before the clock starts) with a token of its own.

Fairness: both talk to the same server process and write into the same back-office database,
and both store every event (none is a duplicate): the baseline posts as a second kiosk
(``bench-raw``, an id as long as ours, ``bench-lane``), and the server deduplicates per
(kiosk, event id). Before the clock starts, the bench checks that the relay's batches are byte
for byte the baseline's with the kiosk id swapped. Each of ``--rounds`` rounds (default 3) has
a fresh kiosk database and a fresh back office; the baseline goes first in odd rounds and ours
in even ones, so neither always writes into the smaller table; the figures are medians. Both
ways check that every event was stored.

Targets: ours at least 0.8x the raw loop's sales per second, and 10,000 queued sales drained in
under 10 s (for other ``--sales`` the same rate: 1,000 sales per second). Prints a table, or one
JSON object with ``--json``. Run:
``.venv/bin/python bench/sync.py [--sales N] [--rounds R] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlite_utils import Database

from kiosk.core.timestamps import utc_now_iso
from kiosk.hq.server import LISTENING
from kiosk.hq.stores import open_store
from kiosk.hq.tokens import new_token, token_hash
from kiosk.store.db import immediate_transaction, open_database
from kiosk.store.worker import StoreWorker
from kiosk.sync.relay import OutboxRelay, pending_events
from kiosk.wire import EVENTS_PATH, MAX_BATCH, Batch, BatchReply, Event

OURS_KIOSK = "bench-lane"
RAW_KIOSK = "bench-raw"
"""The baseline's kiosk id: as long as ours, so both send the same number of bytes."""
TARGET_RATIO = 0.8
"""Target: ours drains at least this fraction of the raw loop's sales per second."""
TARGET_DRAIN_S = 10.0
TARGET_SALES = 10_000
"""Target: ``TARGET_SALES`` queued sales drained within ``TARGET_DRAIN_S`` seconds."""
REQUEST_TIMEOUT_S = 10.0
START_TIMEOUT_S = 30.0
"""Seconds the back office may take to print its address."""

PRODUCTS = (
    ("04006381333931", "Mineral water still 1.5 l", 49, "reduced", "7", None),
    ("05012345001012", "Orange juice 1 l", 189, "reduced", "7", None),
    ("05012345001029", "Apple juice 1 l", 169, "reduced", "7", None),
    ("04000417025005", "Dark chocolate 100 g", 129, "reduced", "7", None),
    ("04008400402222", "Pretzel sticks 250 g", 99, "reduced", "7", None),
    ("05000112637922", "Cola 0.5 l", 139, "standard", "19", None),
    ("04002103248064", "Red wine 0.75 l", 599, "standard", "19", 18),
    ("04006040085005", "AA batteries 4-pack", 449, "standard", "19", None),
)
"""(code, name, unit price in minor units, tax class, rate in percent, minimum age)."""


# ----------------------------------------------------------------------------- the sales


def sale_paid_event(number: int, at: datetime, draw: random.Random) -> Event:
    """A ``sale.paid`` event shaped like the kiosk's (kiosk/payments/attempts.py): two to six
    lines, totals, a card payment; ``at`` is when it was paid (aware UTC)."""
    sale_id = str(uuid.uuid4())
    lines: list[dict[str, Any]] = []
    total = tax = 0
    for position, (code, name, price, tax_class, rate, min_age) in enumerate(
        draw.sample(PRODUCTS, draw.randint(2, 6)), start=1
    ):
        quantity = draw.randint(1, 3)
        amount = price * quantity
        total += amount
        tax += amount * int(rate) // (100 + int(rate))  # prices include tax
        lines.append({
            "position": position, "code": code, "name": name, "quantity": quantity,
            "unit_price_minor": price, "weight_g": None, "tax_class": tax_class,
            "tax_rate": rate, "line_total_minor": amount, "min_age": min_age,
        })
    paid_at = utc_now_iso(at)
    payload = {
        "sale": {"id": sale_id, "number": number, "kiosk_id": OURS_KIOSK, "currency": "EUR",
                 "language": "en", "created_at": utc_now_iso(at - timedelta(seconds=90)),
                 "paid_at": paid_at, "age_approved_by": None},
        "lines": lines,
        "totals": {"subtotal_minor": total, "tax_minor": tax, "total_minor": total},
        "payment": {
            "method": "card_present", "payment_intent_id": f"pi_bench_{number}",
            "charge_id": f"ch_bench_{number}", "amount_minor": total, "captured_minor": total,
            "currency": "eur",
            "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030,
                     "read_method": "contactless_emv", "funding": "credit",
                     "charge_id": f"ch_bench_{number}"},
        },
    }
    return Event(str(uuid.uuid4()), "sale.paid", sale_id, paid_at, payload)


def queued_sales(count: int, seed: int = 20261126) -> list[Event]:
    """``count`` paid sales, a second apart, oldest first."""
    draw = random.Random(seed)
    start = datetime.now(UTC) - timedelta(seconds=count)
    return [sale_paid_event(number, start + timedelta(seconds=number), draw)
            for number in range(1, count + 1)]


def queue_in_outbox(store: StoreWorker, events: list[Event]) -> None:
    """Write ``events`` as unacknowledged outbox rows, in one transaction on the store worker
    (the payload as the payments code stores it: JSON with sorted keys)."""

    def job(db: Database) -> None:
        with immediate_transaction(db):
            db.conn.executemany(
                "INSERT INTO outbox (event_id, topic, sale_id, payload, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(event.event_id, event.topic, event.sale_id,
                  json.dumps(event.payload, sort_keys=True), event.created_at)
                 for event in events],
            )

    store.submit(job).result(120)


def batch_bodies(kiosk_id: str, events: list[Event]) -> list[bytes]:
    """The request bodies of ``events`` in batches of `MAX_BATCH`, as ``kiosk_id``."""
    return [Batch(kiosk_id, tuple(events[start:start + MAX_BATCH])).encode()
            for start in range(0, len(events), MAX_BATCH)]


def relay_bodies(database: Path) -> list[bytes]:
    """The bodies the relay will post, built the relay's way from the outbox (untimed)."""
    reader = open_database(database, check=False)
    try:
        bodies, after_id = [], 0
        while pending := pending_events(reader, after_id=after_id, limit=MAX_BATCH):
            bodies.append(Batch(OURS_KIOSK, tuple(item.event for item in pending)).encode())
            after_id = pending[-1].row_id
        return bodies
    finally:
        reader.close()


# ----------------------------------------------------------------------------- back office


class BackOffice:
    """``kiosk hq serve --port 0`` on its own SQLite file, as a child process."""

    def __init__(self, folder: Path, kiosk_ids: tuple[str, ...]) -> None:
        self.database = folder / "hq.db"
        self.tokens: dict[str, str] = {}
        with open_store(database=self.database) as store:
            for kiosk_id in kiosk_ids:
                token = new_token()
                store.add_kiosk(kiosk_id, token_hash(token), datetime.now(UTC))
                self.tokens[kiosk_id] = token
        self._stderr = (folder / "hq.stderr").open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [kiosk_command(), "hq", "serve", "--port", "0", "--db", str(self.database)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
        )
        self.url = self._read_address(folder)

    def _read_address(self, folder: Path) -> str:
        assert self.process.stdout is not None
        lines: list[str] = []
        got = threading.Event()

        def drain() -> None:  # keeps the pipe empty while the server runs
            assert self.process.stdout is not None
            for line in self.process.stdout:
                lines.append(line)
                got.set()
            got.set()

        threading.Thread(target=drain, daemon=True, name="hq-stdout").start()
        if not got.wait(START_TIMEOUT_S) or not lines or not lines[0].startswith(LISTENING):
            self.stop()
            log = (folder / "hq.stderr").read_text(encoding="utf-8")
            raise RuntimeError(f"kiosk hq serve did not start:\n{log}")
        return lines[0].removeprefix(LISTENING).strip()

    def stored(self, kiosk_id: str) -> int:
        """Events stored for ``kiosk_id``."""
        with open_store(database=self.database) as store:
            return sum(store.event_counts(kiosk_id).values())

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 15 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()


def kiosk_command() -> str:
    """The ``kiosk`` console script next to this interpreter."""
    found = shutil.which("kiosk", path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError(f"no kiosk console script next to {sys.executable}")
    return found


# ----------------------------------------------------------------------------- the runs


def raw_loop_s(url: str, token: str, bodies: list[bytes]) -> float:
    """Seconds a bare keep-alive ``httpx.Client`` takes to POST ``bodies`` one after another
    (each answer read and checked: every event accepted)."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                      timeout=REQUEST_TIMEOUT_S) as client:
        started = time.perf_counter()
        for body in bodies:
            response = client.post(EVENTS_PATH, content=body,
                                   headers={"Content-Type": "application/json"})
            if response.status_code != 200:
                raise RuntimeError(f"the raw loop got HTTP {response.status_code}: "
                                   f"{response.text[:200]}")
            if BatchReply.decode(response.content).duplicates:
                raise RuntimeError("the raw loop's events were already stored")
        return time.perf_counter() - started


def relay_drain_s(database: Path, store: StoreWorker, url: str, token: str,
                  sales: int) -> float:
    """Seconds `OutboxRelay.run_once` takes to drain the outbox (batches of 100)."""
    relay = OutboxRelay(database=database, store=store, kiosk_id=OURS_KIOSK, base_url=url,
                        token=token, clock=lambda: datetime.now(UTC), batch_size=MAX_BATCH,
                        request_timeout_s=REQUEST_TIMEOUT_S)
    try:
        started = time.perf_counter()
        result = relay.run_once()
        elapsed = time.perf_counter() - started
    finally:
        relay.stop()
    if result.error is not None or result.acknowledged != sales:
        raise RuntimeError(f"the relay did not drain the outbox: {result}")
    return elapsed


@dataclass(frozen=True)
class Round:
    """One round's times (seconds) and what was sent."""

    ours_s: float
    raw_s: float
    prepare_s: float
    batches: int
    body_bytes: int


def run_round(sales: int, folder: Path, *, ours_first: bool) -> Round:
    """Queue ``sales`` sales in a fresh kiosk database, start a fresh back office, drain the
    sales both ways (``ours_first`` says which way goes first) and return the times."""
    folder.mkdir()
    events = queued_sales(sales)
    database = folder / "kiosk.db"
    store = StoreWorker(database)
    back_office = BackOffice(folder, (OURS_KIOSK, RAW_KIOSK))
    try:
        queue_in_outbox(store, events)
        raw_bodies = batch_bodies(RAW_KIOSK, events)
        started = time.perf_counter()
        ours_bodies = relay_bodies(database)
        prepare_s = time.perf_counter() - started
        swapped = [Batch(RAW_KIOSK, Batch.decode(body).events).encode() for body in ours_bodies]
        if swapped != raw_bodies:
            raise RuntimeError("the relay's batches differ from the raw loop's bodies")
        ours_token, raw_token = back_office.tokens[OURS_KIOSK], back_office.tokens[RAW_KIOSK]
        if ours_first:
            ours_s = relay_drain_s(database, store, back_office.url, ours_token, sales)
            raw_s = raw_loop_s(back_office.url, raw_token, raw_bodies)
        else:
            raw_s = raw_loop_s(back_office.url, raw_token, raw_bodies)
            ours_s = relay_drain_s(database, store, back_office.url, ours_token, sales)
        stored = (back_office.stored(OURS_KIOSK), back_office.stored(RAW_KIOSK))
    finally:
        back_office.stop()
        store.close()
    if stored != (sales, sales):
        raise RuntimeError(f"the back office stored {stored} events, not {sales} each")
    return Round(ours_s, raw_s, prepare_s, len(raw_bodies),
                 sum(len(body) for body in raw_bodies))


def run(sales: int, rounds: int, folder: Path) -> dict[str, Any]:
    """``rounds`` rounds, the raw loop first in odd rounds and ours first in even ones, each
    with its own kiosk database and back office; every figure."""
    done = [run_round(sales, folder / f"round-{number}", ours_first=number % 2 == 0)
            for number in range(1, rounds + 1)]
    return figures(sales, done)


def figures(sales: int, rounds: list[Round]) -> dict[str, Any]:
    """The bench's figures and verdicts: medians over the rounds (seconds, sales per second),
    and each round's times."""
    ours_s = statistics.median(round_.ours_s for round_ in rounds)
    raw_s = statistics.median(round_.raw_s for round_ in rounds)
    prepare_s = statistics.median(round_.prepare_s for round_ in rounds)
    ratios = [round_.raw_s / round_.ours_s for round_ in rounds]
    ratio = statistics.median(ratios)
    drain_target_s = TARGET_DRAIN_S * sales / TARGET_SALES
    batches, body_bytes = rounds[0].batches, rounds[0].body_bytes
    return {
        "sales": sales,
        "rounds": len(rounds),
        "batches": batches,
        "batch_size": MAX_BATCH,
        "body_bytes_per_batch_mean": round(body_bytes / batches),
        "ours_drain_s": round(ours_s, 3),
        "raw_loop_s": round(raw_s, 3),
        "ours_prepare_s": round(prepare_s, 3),
        "ours_sales_per_s": round(sales / ours_s, 1),
        "raw_sales_per_s": round(sales / raw_s, 1),
        "ratio": round(ratio, 3),
        "ratio_target": TARGET_RATIO,
        "ratio_ok": ratio >= TARGET_RATIO,
        "drain_target_s": round(drain_target_s, 3),
        "drain_ok": ours_s < drain_target_s,
        "drain_10000_s_estimate": round(ours_s * TARGET_SALES / sales, 3),
        "ours_drain_s_per_round": [round(round_.ours_s, 3) for round_ in rounds],
        "raw_loop_s_per_round": [round(round_.raw_s, 3) for round_ in rounds],
        "ratio_per_round": [round(value, 3) for value in ratios],
        "counted": ("ours: OutboxRelay.run_once() from call to return: reading the outbox, "
                    "encoding, POSTing and recording each batch's acknowledgement through the "
                    "store worker; raw: a keep-alive httpx.Client POSTing the same bodies "
                    "(encoded beforehand) to the same server as a second kiosk, so every "
                    "event is stored, never a duplicate; each round has a fresh kiosk "
                    "database and back office, the raw loop goes first in odd rounds and ours "
                    "in even ones; figures are medians over the rounds (ratio: the median of "
                    "the rounds' ratios); ours_prepare_s: reading every batch from the outbox "
                    "and encoding it the relay's way, timed on its own before the runs (part "
                    "of ours, not of raw)"),
    }


def table(result: dict[str, Any]) -> str:
    """The figures as a plain text table: figure, value, target, verdict."""
    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    rows = [
        ("sales queued (rounds, medians)", f"{result['sales']} ({result['rounds']})", "", ""),
        ("batches of 100 (mean body)",
         f"{result['batches']} ({result['body_bytes_per_batch_mean']} bytes)", "", ""),
        ("raw httpx loop", f"{result['raw_loop_s']:.3f} s, "
         f"{result['raw_sales_per_s']:.0f} sales/s", "", ""),
        ("ours: OutboxRelay.run_once", f"{result['ours_drain_s']:.3f} s, "
         f"{result['ours_sales_per_s']:.0f} sales/s",
         f"< {result['drain_target_s']:.3f} s", verdict(result["drain_ok"])),
        ("ours: reading + encoding alone", f"{result['ours_prepare_s']:.3f} s", "", ""),
        ("ours / raw (sales per second)", f"{result['ratio']:.3f}",
         f">= {result['ratio_target']}", verdict(result["ratio_ok"])),
        ("10,000 sales at this rate", f"{result['drain_10000_s_estimate']:.2f} s",
         f"< {TARGET_DRAIN_S:g} s", ""),
    ]
    header = ("figure", "value", "target", "verdict")
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in [header, *rows]]
    lines.append(f"counted: {result['counted']}")
    return "\n".join(lines)


def main() -> None:
    """Parse the command line, run, print the table or the JSON object."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sales", type=int, default=TARGET_SALES,
                        help=f"sales to queue and drain (default {TARGET_SALES})")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds, each way's order alternating (default 3)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.sales < 1 or args.rounds < 1:
        parser.error("--sales and --rounds must be at least 1")
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-sync-") as folder:
        result = run(args.sales, args.rounds, Path(folder))
    print(json.dumps(result) if args.json else table(result))


if __name__ == "__main__":
    main()
