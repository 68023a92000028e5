"""The "kiosk process" of the sync crash test: drains a kiosk's outbox to its back office.

Usage::

    KIOSK_BACKOFFICE_TOKEN=... sync_crash_driver.py DB_PATH BACKOFFICE_URL KIOSK_ID
        [--pause-after N] [--batch-size 100]

It opens the kiosk database with the real `StoreWorker` and runs the real `OutboxRelay`
(``run_once`` pass after pass) until nothing is pending, over real HTTP to the back office.
The token comes from the environment, never from the command line (the process list).

So that a test can kill it at a chosen moment, the relay's HTTP transport (httpx's own, wrapped)
reports each batch on stdout, one JSON object a line, flushed at once:

- ``{"sending": n}`` just before the n-th batch of this run goes on the wire;
- ``{"answered": n, "status": 200, "accepted": a, "duplicates": d}`` once its answer has been
  read in full, before the relay records it;
- with ``--pause-after N``: ``{"paused": N}`` after the N-th answer, then the driver waits for a
  line on stdin before handing the answer to the relay: the back office has stored the batch,
  the kiosk has not recorded that yet (kill it now), or the test arms a fault and lets it go on;
- at the end ``{"done": true, "passes": p, "acknowledged": a, "errors": [...]}`` and exit 0
  (exit 1 when the outbox could not be emptied).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from kiosk.store.db import open_database
from kiosk.store.worker import StoreWorker
from kiosk.sync.relay import OutboxRelay, sync_status
from kiosk.wire import EVENTS_PATH, MAX_BATCH, BatchReply

MAX_PASSES = 50
"""Passes the driver tries before it gives up on an outbox that will not empty."""


def say(message: dict[str, Any]) -> None:
    """One JSON line on stdout, flushed (the test reads it while this process runs)."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class ReportingTransport(httpx.BaseTransport):
    """httpx's own transport that reports each batch it carries, and can hold one answer."""

    def __init__(self, pause_after: int | None) -> None:
        self._inner = httpx.HTTPTransport()
        self._pause_after = pause_after
        self._batches = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; around a batch, report it (and pause after the chosen one)."""
        if request.url.path != EVENTS_PATH:
            return self._inner.handle_request(request)
        self._batches += 1
        number = self._batches
        say({"sending": number})
        response = self._inner.handle_request(request)
        response.read()  # the whole answer is here: the back office is done with the batch
        answer: dict[str, Any] = {"answered": number, "status": response.status_code}
        if response.status_code == 200:
            reply = BatchReply.decode(response.content)
            answer.update(accepted=len(reply.accepted), duplicates=len(reply.duplicates))
        say(answer)
        if number == self._pause_after:
            say({"paused": number})
            sys.stdin.readline()
        return response

    def close(self) -> None:
        """Close httpx's transport."""
        self._inner.close()


def pending(database: Path) -> int:
    """Unacknowledged outbox rows, read on a connection of its own."""
    reader = open_database(database, check=False)
    try:
        return sync_status(reader).pending
    finally:
        reader.close()


def main() -> int:
    """Drain the outbox; 0 when it is empty, 1 when it could not be emptied."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("database", type=Path)
    parser.add_argument("url")
    parser.add_argument("kiosk_id")
    parser.add_argument("--pause-after", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=MAX_BATCH)
    args = parser.parse_args()
    token = os.environ["KIOSK_BACKOFFICE_TOKEN"]
    store = StoreWorker(args.database)
    relay = OutboxRelay(
        database=args.database, store=store, kiosk_id=args.kiosk_id, base_url=args.url,
        token=token, clock=lambda: datetime.now(UTC), batch_size=args.batch_size,
        request_timeout_s=10.0, transport=ReportingTransport(args.pause_after),
    )
    acknowledged, errors, passes = 0, [], 0
    try:
        while passes < MAX_PASSES:
            passes += 1
            result = relay.run_once()
            acknowledged += result.acknowledged
            if result.error is not None:
                errors.append(result.error)
            elif pending(args.database) == 0:
                break
    finally:
        relay.stop()
        store.close()
    left = pending(args.database)
    say({"done": left == 0, "passes": passes, "acknowledged": acknowledged,
         "errors": errors, "pending": left})
    return 0 if left == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
