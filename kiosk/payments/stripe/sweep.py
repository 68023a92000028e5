"""The slow, bounded sweep for PaymentIntents of this install that no local attempt holds.

Recovery looks up this install's own unfinished payments by id (or by replaying the saved
create key within 24 h); only PaymentIntents the kiosk never recorded need a list of the
account's recent PaymentIntents, and on an account shared by a chain's kiosks that list is
long and Stripe rate-limits reads. So the sweep is bounded: one list call (a page of 100,
newest first) per `step`, which the idle payment thread makes at most every
`SWEEP_EVERY_S` seconds, and at most `SWEEP_MAX_PAGES` pages per sweep. A sweep's window
starts where the last finished one started (minus `ADOPT_WINDOW_S`), the first one
`ORPHAN_WINDOW_DAYS` back. A sweep stopped at its page limit is recorded unfinished
(`kiosk.payments.sweep_status`: the staff menu and ``kiosk doctor`` show it) and the next one
starts again from the newest. Each PaymentIntent listed goes to ``check`` (recovery's orphan
rules). Runs on the payment thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from kiosk.core.timestamps import parse_utc_iso, utc_now_iso
from kiosk.payments import sweep_status
from kiosk.payments.protocol import ADOPT_WINDOW_S, ORPHAN_WINDOW_DAYS
from kiosk.payments.reports import RecoveryReport
from kiosk.payments.stripe.failures import StripeFailure
from kiosk.payments.stripe.ledger import PaymentLedger
from kiosk.payments.sweep_status import SweepStatus

SWEEP_EVERY_S = 900.0
"""Idle seconds between two list calls of the sweep (one page each): 4 reads an idle hour."""

SWEEP_MAX_PAGES = 5
"""List calls (pages of 100) one sweep may make before it stops unfinished."""


class OrphanSweep:
    """The sweep's progress (in memory; its window start is kept in the store)."""

    def __init__(
        self, ledger: PaymentLedger, check: Callable[[dict[str, Any], RecoveryReport], None]
    ) -> None:
        self.ledger = ledger
        self._check = check
        self._cursor: str | None = None
        self._pages = 0
        self._since: datetime | None = None
        self._started: datetime | None = None

    def step(self, report: RecoveryReport, pages: int = 1) -> None:
        """Make up to ``pages`` list calls of the current sweep (a new one if none runs)."""
        for _ in range(pages):
            if not self._page(report):
                return

    def _page(self, report: RecoveryReport) -> bool:
        """One list call; False when the sweep ended (or the call failed)."""
        ledger = self.ledger
        if self._cursor is None:
            self._start()
        assert self._since is not None
        try:
            page = ledger.gateway.list_intents(
                int(self._since.timestamp()), starting_after=self._cursor
            )
        except StripeFailure as failure:
            report.errors.append(f"listing payment intents: {failure}")
            return False
        self._pages += 1
        for intent in page.intents:
            self._check(intent, report)
        if not page.has_more or not page.intents:
            self._end(finished=True)
            return False
        if self._pages >= SWEEP_MAX_PAGES:
            self._end(finished=False)
            return False
        self._cursor = page.intents[-1]["id"]
        return True

    def _start(self) -> None:
        now = self.ledger.clock()
        last = self.ledger.read(sweep_status.last)
        self._since = (
            parse_utc_iso(last.next_since)
            if last is not None
            else now - timedelta(days=ORPHAN_WINDOW_DAYS)
        )
        self._started = now
        self._pages = 0

    def _end(self, *, finished: bool) -> None:
        assert self._since is not None and self._started is not None
        next_since = self._started - timedelta(seconds=ADOPT_WINDOW_S) if finished else self._since
        status = SweepStatus(
            finished=finished,
            at=utc_now_iso(self.ledger.clock()),
            since=utc_now_iso(self._since),
            pages=self._pages,
            next_since=utc_now_iso(next_since),
        )
        self.ledger.note(lambda db: sweep_status.record(db, status))
        self._cursor = None
