"""The "kiosk process" of the payment crash test: pays (or only recovers) one sale, then exits.

Usage::

    crash_driver.py DB_PATH STRIPE_URL READER_ID SALE_ID MODE [options]

MODE ``pay``: record the sale if it is not there (a fixed one-line cart of ``--amount`` minor
units), run recovery, then pay once if the sale is still open (or locked), wait until the try
ends (paid, declined or cancelled) or ``--wait`` seconds pass, and print one JSON line with
the outcome. MODE ``recover``: only recovery, then print. The run uses the real
`StripeTerminal` on a real `StoreWorker` and a real `stripe.StripeClient` to STRIPE_URL.

Options shape the scenario: ``--capture manual``; ``--then-amount N`` (after a decline the
customer changes the cart to N minor units and pays again, so the PaymentIntent's amount is
updated); ``--abandon`` (a try that ends without payment abandons the sale); ``--refund``
(a paid sale is refunded in full); ``--idle S`` (seconds the reader waits for a card);
``--hold`` (read one line from stdin before starting, so the test can arm a fault that names
this process first). The crash itself comes from ``KIOSK_CRASH_AT`` (see
`kiosk.payments.crashpoints`). Every crash point passed is listed in the output's
``passed``, so the test can tell which points a scenario reaches.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from kiosk.core.cart import CartLine
from kiosk.core.checkout_states import PaymentPhase
from kiosk.core.shop_rules import TaxClass, TaxPolicy
from kiosk.core.tax import TaxableLine, compute_totals
from kiosk.payments import crashpoints
from kiosk.payments.provider import ReaderCart
from kiosk.payments.settings import PaymentSettings
from kiosk.payments.stripe import api as stripe_api
from kiosk.payments.stripe import ledger
from kiosk.payments.stripe.api import build_client
from kiosk.payments.stripe.terminal import StripeTerminal
from kiosk.store.sales import SaleBook
from kiosk.store.worker import StoreWorker

API_KEY = "sk_test_crash"
KIOSK_ID = "crash-lane"
CURRENCY = "EUR"
POLICY = TaxPolicy({"standard": TaxClass("standard", Decimal("0.19"))})
"""Prices include 19 % tax, so a cart's total is the sum of its line amounts."""

PASSED: list[str] = []
"""Every crash point this process passed, in order."""


def _record_passes() -> None:
    """Note each crash point passed, then let the real `crashpoint` decide on the kill."""
    real = crashpoints.crashpoint

    def passing(name: str) -> None:
        PASSED.append(name)
        real(name)

    ledger.crashpoint = passing
    stripe_api.crashpoint = passing


class TryEvents:
    """The `PaymentEvents` of the driver: remembers how each try ended."""

    def __init__(self) -> None:
        self.ended: list[tuple[str, str]] = []
        self._changed = threading.Condition()

    def _end(self, kind: str, value: str = "") -> None:
        with self._changed:
            self.ended.append((kind, value))
            self._changed.notify_all()

    def payment_phase(self, sale_id: str, phase: PaymentPhase) -> None:
        """A phase change (not needed here)."""

    def payment_paid(self, sale_id: str) -> None:
        """The sale was recorded paid."""
        self._end("paid")

    def payment_declined(self, sale_id: str, code: str) -> None:
        """The try ended without payment."""
        self._end("declined", code)

    def payment_cancelled(self, sale_id: str) -> None:
        """The waiting payment was withdrawn."""
        self._end("cancelled")

    def payment_unresolved(self, sale_id: str, code: str) -> None:
        """The card may still be charged: the run ends here, recovery settles it."""
        self._end("unresolved", code)

    def payments_available(self, available: bool, reason: str) -> None:
        """Probe results (not needed here)."""

    def wait_end(self, seen: int, timeout_s: float) -> tuple[str, str] | None:
        """The first try end after the first ``seen`` ones, or ``None`` after ``timeout_s``."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.ended) > seen, timeout_s)
            return self.ended[seen] if len(self.ended) > seen else None


def one_line_cart(amount_minor: int) -> tuple[CartLine, ...]:
    """The fixed cart of the crash test: one item costing ``amount_minor`` minor units."""
    return (CartLine(line_id=1, code="4006381333931", name="Crash test item", quantity=1,
                     unit_price_minor=amount_minor, weight_g=None, tax_class="standard",
                     min_age=None, amount_minor=amount_minor),)


def save_sale(store: StoreWorker, sale_id: str, amount_minor: int, *, create: bool) -> None:
    """Record the sale (when ``create``) and set its cart to one line of ``amount_minor``."""
    lines = one_line_cart(amount_minor)
    totals = compute_totals([TaxableLine(line.amount_minor, line.tax_class) for line in lines],
                            POLICY)

    def job(db: Database) -> None:
        book = SaleBook(db, KIOSK_ID)
        now = datetime.now(UTC)
        if create:
            if book.state_of(sale_id) is not None:
                return
            book.open_sale(sale_id, at=now, currency=CURRENCY, language="en")
        book.save_cart(sale_id, lines, totals, POLICY, at=now)

    store.submit(job).result(30)


def sale_row(store: StoreWorker, sale_id: str) -> dict[str, Any]:
    """The sale's state and total, its attempt and its refunds as committed now."""
    def job(db: Database) -> dict[str, Any]:
        found = db.execute("SELECT state, total_minor FROM sales WHERE id = ?",
                           [sale_id]).fetchone()
        attempt = db.execute(
            "SELECT state, payment_intent_id, captured_minor, outcome, intent_status "
            "FROM payment_attempts WHERE sale_id = ?", [sale_id]).fetchone()
        refunds = db.execute("SELECT state, amount_minor, stripe_refund_id FROM refunds "
                             "WHERE sale_id = ? ORDER BY created_at", [sale_id]).fetchall()
        return {
            "sale_state": found[0] if found else None,
            "total_minor": found[1] if found else None,
            "attempt_state": attempt[0] if attempt else None,
            "payment_intent_id": attempt[1] if attempt else None,
            "captured_minor": attempt[2] if attempt else 0,
            "last_outcome": attempt[3] if attempt else None,
            "intent_status": attempt[4] if attempt else None,
            "refunds": [{"state": state, "amount_minor": amount, "stripe_refund_id": ref}
                        for state, amount, ref in refunds],
        }
    return store.submit(job).result(30)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db_path", type=Path)
    parser.add_argument("stripe_url")
    parser.add_argument("reader_id")
    parser.add_argument("sale_id")
    parser.add_argument("mode", choices=["pay", "recover"])
    parser.add_argument("--amount", type=int, default=1250, help="cart total, minor units")
    parser.add_argument("--then-amount", type=int, default=None,
                        help="after a decline, change the cart to this total (minor units)")
    parser.add_argument("--capture", choices=["automatic", "manual"], default="automatic")
    parser.add_argument("--abandon", action="store_true")
    parser.add_argument("--refund", action="store_true")
    parser.add_argument("--idle", type=float, default=10.0,
                        help="seconds the reader waits for a card")
    parser.add_argument("--wait", type=float, default=15.0,
                        help="longest wait for a try to end, seconds")
    parser.add_argument("--hold", action="store_true")
    return parser.parse_args(argv)


def settings_for(args: argparse.Namespace) -> PaymentSettings:
    """Small poll intervals; no background probe or periodic recovery (seconds)."""
    return PaymentSettings(
        kiosk_id=KIOSK_ID, currency=CURRENCY, reader_id=args.reader_id, capture=args.capture,
        poll_interval_s=0.05, payment_idle_s=args.idle, authorisation_wait_s=10,
        payment_max_s=20, probe_s=3600, capture_max_age_s=3600, request_timeout_s=5,
        max_network_retries=0, recovery_s=10, recovery_every_s=0)


def drive(args: argparse.Namespace, service: StripeTerminal, store: StoreWorker,
          events: TryEvents) -> dict[str, Any]:
    """Recovery, then (MODE pay) one try, a cart change and abandon or refund as asked."""
    report = service.recover(10)
    outcome: tuple[str, str] | None = None
    if args.mode == "pay":
        row = sale_row(store, args.sale_id)
        if row["sale_state"] in ("open", "locked") and args.then_amount is not None and \
                row["last_outcome"] == "card_declined" and row["total_minor"] != args.then_amount:
            save_sale(store, args.sale_id, args.then_amount, create=False)
            row = sale_row(store, args.sale_id)
        if row["sale_state"] in ("open", "locked"):
            total = int(row["total_minor"])
            seen = len(events.ended)
            service.pay(args.sale_id, total, ReaderCart.from_cart(
                one_line_cart(total), compute_totals([TaxableLine(total, "standard")], POLICY)))
            outcome = events.wait_end(seen, args.wait)
            row = sale_row(store, args.sale_id)
            if outcome is not None and outcome[1] == "card_declined" and \
                    args.then_amount is not None and row["sale_state"] == "open":
                save_sale(store, args.sale_id, args.then_amount, create=False)
                seen = len(events.ended)
                service.pay(args.sale_id, args.then_amount, None)
                outcome = events.wait_end(seen, args.wait)
        row = sale_row(store, args.sale_id)
        if args.abandon and row["sale_state"] == "open" and row["attempt_state"] is not None:
            service.abandon(args.sale_id, "walked_away")
            report = service.recover(10)  # queued behind the abandon: it has run
        row = sale_row(store, args.sale_id)
        if args.refund and row["sale_state"] == "paid" and not row["refunds"]:
            refund_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"refund:{args.sale_id}"))
            service.refund(args.sale_id, None, None, refund_id=refund_id).result(15)
    row = sale_row(store, args.sale_id)
    refunds_final = all(refund["state"] in ("succeeded", "failed") for refund in row["refunds"])
    final = report.settled and (
        (row["sale_state"] == "paid" and (not args.refund or (row["refunds"] and refunds_final)))
        or (row["sale_state"] == "abandoned" and row["intent_status"] in (None, "canceled"))
        or (outcome is not None and outcome[0] != "paid" and not args.abandon)
    )
    return {**row, "sale_id": args.sale_id, "mode": args.mode,
            "outcome": None if outcome is None else list(outcome),
            "recovery_settled": report.settled, "recovery_unresolved": report.unresolved,
            "final": bool(final), "passed": PASSED}


def main(argv: list[str]) -> int:
    """Run the driver; print one JSON line; exit 0."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.hold:
        sys.stdin.readline()
    _record_passes()
    store = StoreWorker(args.db_path)
    save_sale(store, args.sale_id, args.amount, create=True)
    events = TryEvents()
    settings = settings_for(args)
    client = build_client(API_KEY, args.stripe_url, request_timeout_s=settings.request_timeout_s,
                          max_network_retries=settings.max_network_retries)
    service = StripeTerminal(client=client, store=store, settings=settings, events=events)
    service.start()
    started = time.monotonic()
    try:
        result = drive(args, service, store, events)
    finally:
        service.stop()
        store.close()
    result["seconds"] = round(time.monotonic() - started, 3)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
