"""What the sync thread does besides sending events: pull the catalog, prune old rows.

Run after each successful pass of the outbox relay (``OutboxRelay(after_pass=...)``), on its
thread: the catalog is fetched every pass when the back office owns it (a conditional
request, so an unchanged catalog costs one 304), and retention runs about once a day, on the
store worker like every write, a bounded number of pages vacuumed at a time. While a chore
waits for the store worker (a long prune, a large catalog applied) it refreshes the relay's
heartbeat every second, so the watchdog never takes a busy sync thread for a dead one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

import httpx

from kiosk.config import Settings
from kiosk.store.retention import prune
from kiosk.store.worker import StoreWorker
from kiosk.sync.catalog_pull import STORE_SLICE_S, await_store, pull_catalog

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 24 * 3600.0
"""Seconds between two retention runs."""
VACUUM_PAGES = 4096
"""Pages the database file gives back per retention run, at most (16 MiB of 4 KiB pages)."""
SALES_PER_JOB = 500
"""Sales one retention job deletes at most, so the store worker is never held for long."""
PRUNE_TIMEOUT_S = 300.0
"""How long a retention run may take on the store worker before the thread stops waiting."""


def _no_beat() -> None:
    """A heartbeat nobody watches."""


class SyncChores:
    """The periodic work of the sync thread; call it with the relay's HTTP client and its
    heartbeat (``OutboxRelay(after_pass=SyncChores(...))`` does).

    ``prune_every_s``: seconds between retention runs; ``wait_slice_s``: the longest the
    chores wait for the store worker without calling ``beat`` (seconds).
    """

    def __init__(
        self,
        store: StoreWorker,
        settings: Settings,
        clock: Callable[[], datetime],
        *,
        prune_every_s: float = PRUNE_EVERY_S,
        wait_slice_s: float = STORE_SLICE_S,
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._prune_every_s = prune_every_s
        self._wait_slice_s = wait_slice_s
        self._last_prune: float | None = None

    def __call__(self, client: httpx.Client, beat: Callable[[], None] = _no_beat) -> None:
        """Pull the catalog when the back office owns it; prune when a day has passed.
        ``beat()`` refreshes the caller's heartbeat: it is called at least every
        ``wait_slice_s`` seconds while a chore waits for the store worker."""
        if self._settings.catalog.source == "backoffice":
            result = pull_catalog(client, self._store, self._settings, self._clock(),
                                  beat=beat)
            if result.error:
                log.warning("catalog pull: %s", result.error)
            elif result.changed:
                log.info("catalog %s applied: %s products", result.version, result.products)
        due = self._last_prune is None or (
            time.monotonic() - self._last_prune >= self._prune_every_s
        )
        if due:
            self._last_prune = time.monotonic()
            retention, now = self._settings.retention, self._clock()
            while True:  # a backlog in several store jobs: payments get their turn between
                report = await_store(
                    self._store.submit(
                        lambda db: prune(
                            db, retention, now, vacuum_pages=VACUUM_PAGES,
                            max_sales=SALES_PER_JOB,
                        )
                    ),
                    PRUNE_TIMEOUT_S, beat=beat, slice_s=self._wait_slice_s,
                )
                log.info("retention: %s", report)
                if report.sales < SALES_PER_JOB:
                    break
