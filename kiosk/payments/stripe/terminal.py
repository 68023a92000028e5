"""Stripe Terminal as a card provider: `StripeTerminal`, one worker thread for one reader.

The facade calls `StripeTerminal.pay`, `cancel_waiting` and `abandon` from its main thread;
they only queue a command. The worker runs the write-ahead steps of `PaymentSteps` (see
`kiosk.payments.stripe.payment_steps` and docs/PAYMENTS.md) and reports through
`PaymentEvents` (called on the worker thread; the facade posts them to its main thread).

While idle the worker probes Stripe and the reader every ``probe_s`` seconds (over plain HTTP
while the stripe library is not loaded) and runs recovery every ``recovery_every_s`` seconds.
The stripe library is loaded on the first request that needs it: a payment, a refund, the
reader's status or display test, or recovery with something to settle.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from kiosk.core.cart import CartLine
from kiosk.core.tax import Totals
from kiosk.payments import attempts
from kiosk.payments import refunds as refund_rows
from kiosk.payments.cards import demo_card_number
from kiosk.payments.provider import PaymentEvents, ReaderCart, ReaderDisplayTest
from kiosk.payments.refunds import RefundResult
from kiosk.payments.reports import ReconcileReport, RecoveryReport
from kiosk.payments.settings import PaymentSettings
from kiosk.payments.stripe import display_test, refund_flow
from kiosk.payments.stripe.failures import StripeFailure
from kiosk.payments.stripe.ledger import PaymentLedger
from kiosk.payments.stripe.payment_steps import PaymentSteps, PayRequest
from kiosk.payments.stripe.probe import Availability, StripeConnection, http_probe, probe
from kiosk.payments.stripe.recovery import Recovery
from kiosk.payments.stripe.sweep import SWEEP_EVERY_S
from kiosk.store.worker import StoreWorker

if TYPE_CHECKING:
    import stripe

    from kiosk.payments.stripe.api import StripeGateway

log = logging.getLogger(__name__)

__all__ = ["StripeTerminal"]

DEMO_TAP_AFTER_S = 2.0
"""Seconds after a payment starts when the embedded emulator's customer taps a card."""


class StripeSimulator(Protocol):
    """The embedded Stripe emulator as the terminal uses it (``kiosk.sim``'s, passed in)."""

    url: str

    def customer(self, behaviour: str = "tap", *, card: str = ...,
                 after_s: float = ...) -> None:
        """Put a simulated customer at the reader."""

    def stop(self) -> None:
        """Stop the emulator."""


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


# ------------------------------------------------------------------------ commands


@dataclass(frozen=True)
class _CancelWaiting:
    sale_id: str


@dataclass(frozen=True)
class _Abandon:
    sale_id: str
    reason: str


@dataclass(frozen=True)
class _Call:
    run: Callable[[], Any]
    future: Future[Any]


_STOP = object()


class StripeTerminal:
    """Card payments for one kiosk and its Stripe Terminal reader (see the module docstring).

    Give ``client`` (a ready `stripe.StripeClient`) or ``connection`` (the client is built
    on first use; the probe uses plain HTTP until then). ``clock`` gives aware UTC datetimes
    for stored timestamps; ``monotonic`` (seconds) drives the payment timers, the probe and
    periodic recovery, so tests inject both. ``emulator``: the embedded emulator this
    terminal runs on (stopped with it), for the demo card.
    """

    def __init__(
        self,
        *,
        store: StoreWorker,
        settings: PaymentSettings,
        events: PaymentEvents,
        client: stripe.StripeClient | None = None,
        connection: StripeConnection | None = None,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        store_timeout_s: float = 30.0,
        emulator: StripeSimulator | None = None,
    ) -> None:
        if client is None and connection is None:
            raise ValueError("StripeTerminal needs a client or a connection")
        self.settings = settings
        self.emulator = emulator
        self._events = events
        self._monotonic = monotonic
        self._client = client
        self._connection = connection
        # With a client at hand the gateway is built now; else on the first request.
        self._ledger = PaymentLedger(
            gateway=None if client is None else self._connect(), connect=self._connect,
            store=store, settings=settings, clock=clock, store_timeout_s=store_timeout_s)
        self._stopping = threading.Event()
        self._recovery = Recovery(self._ledger, skip=self._active_sale, wait=self._stopping.wait)
        self._steps = PaymentSteps(ledger=self._ledger, recovery=self._recovery,
                                   settings=settings, events=events, monotonic=monotonic,
                                   recover_at=self._recover_at)
        self._commands: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._heartbeat = time.monotonic()
        self._availability = Availability(False, "not_checked_yet")
        self._reported_availability: Availability | None = None
        self._next_probe = float("-inf")
        self._next_recovery = monotonic() + settings.recovery_every_s
        self._next_sweep = float("-inf")

    def _connect(self) -> StripeGateway:
        """Build the gateway: loads the stripe library (on the first request needing it)."""
        from kiosk.payments.stripe.api import StripeGateway, build_client

        client = self._client
        if client is None:
            assert self._connection is not None
            client = build_client(self._connection.api_key, self._connection.api_base,
                                  request_timeout_s=self.settings.request_timeout_s,
                                  max_network_retries=self.settings.max_network_retries)
        return StripeGateway(client, before_request=self._beat,
                             max_network_retries=self.settings.max_network_retries)

    def _recover_at(self, at: float) -> None:
        self._next_recovery = at

    # ------------------------------------------------------------------ public API

    def _beat(self) -> None:
        """The payment loop is alive: before each Stripe request and each turn of the loop."""
        self._heartbeat = time.monotonic()

    @property
    def heartbeat(self) -> float:
        """``time.monotonic()`` (seconds) of the payment loop's latest turn."""
        return self._heartbeat

    @property
    def available(self) -> tuple[bool, str]:
        """The latest probe result: (card payments available, reason)."""
        return self._availability.available, self._availability.reason

    def start(self) -> None:
        """Start the payment thread (once)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="kiosk-payments", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5) -> None:
        """Stop the payment thread after the command in hand (seconds to wait for it)."""
        self._stopping.set()
        self._commands.put(_STOP)
        if self._thread is not None:
            self._thread.join(timeout_s)
        if self.emulator is not None:
            self.emulator.stop()

    def pay(self, sale_id: str, amount_minor: int, display: ReaderCart | None = None) -> None:
        """Take ``amount_minor`` (minor units) by card for the sale; returns at once."""
        self._commands.put(PayRequest(sale_id, amount_minor, display))

    def start_payment(self, sale_id: str, amount_minor: int, totals: Totals,
                      lines: Iterable[CartLine] = ()) -> None:
        """`pay` with the reader display built from the cart (the facade's shape)."""
        self.pay(sale_id, amount_minor, ReaderCart.from_cart(lines, totals))

    def cancel_waiting(self, sale_id: str) -> None:
        """Withdraw the payment if the reader still waits for a card (idempotent).

        If a card is being authorised the reader is busy: the phase becomes AUTHORISING and
        the payment is waited for (it completes the sale).
        """
        self._commands.put(_CancelWaiting(sale_id))

    def abandon(self, sale_id: str, reason: str) -> None:
        """The sale is abandoned (or ``voided``): commit that, then cancel its PaymentIntent
        if it is not final."""
        self._commands.put(_Abandon(sale_id, reason))

    def unfinished_sales(self, timeout_s: float) -> tuple[str, ...]:
        """The sales whose card payment a stop left unfinished (recovery must settle them
        with Stripe), oldest first; read on the store worker, waiting up to ``timeout_s``."""
        found = self._ledger.store.submit(attempts.unresolved).result(timeout_s)
        return tuple(attempt.sale_id for attempt in found)

    def set_demo_card(self, kind: str) -> None:
        """Demo only: the embedded emulator's customer taps the demo card ``kind``
        `DEMO_TAP_AFTER_S` seconds after each payment starts, from the next payment on.

        Saved by the emulator with an fsync, so applied on the worker thread, in order before
        any later payment. ``ValueError`` for an unknown kind, ``RuntimeError`` without the
        embedded emulator."""
        number = demo_card_number(kind)
        emulator = self.emulator
        if emulator is None:
            raise RuntimeError("a demo card can be chosen only with the embedded emulator")
        self._submit(lambda: emulator.customer("tap", card=number, after_s=DEMO_TAP_AFTER_S),
                     Future())

    def recover(self, timeout_s: float) -> RecoveryReport:
        """Settle every unfinished payment now (boot and periodic); blocks up to about
        ``timeout_s`` seconds and runs on the payment thread."""
        return self._call(lambda: self._recover(timeout_s), timeout_s)

    def refund(self, sale_id: str, amount_minor: int | None, requested_by: int | None,
               *, refund_id: str | None = None) -> Future[RefundResult]:
        """Refund ``amount_minor`` (minor units; ``None``: all that is left) of a paid sale.

        A ``refund_id`` makes a retried request the same refund.
        """
        future: Future[RefundResult] = Future()
        self._submit(lambda: refund_flow.refund(self._ledger, sale_id, amount_minor,
                                                requested_by, refund_id=refund_id), future)
        return future

    def reconcile(self, since: datetime, timeout_s: float = 120.0) -> ReconcileReport:
        """Compare local attempts and the PaymentIntents created since ``since`` (UTC) and fix
        what the rules allow; acts only on PaymentIntents of this database's install id."""
        def run() -> ReconcileReport:
            report = ReconcileReport(since=since)
            self._recovery.run(timeout_s, orphans_since=since, report=report)
            self._steps.announce_recovered(report)
            return report
        return self._call(run, timeout_s)

    def reader_status(self) -> dict[str, Any]:
        """The reader as Stripe sees it, plus what the kiosk knows (for ``kiosk reader
        status``)."""
        status: dict[str, Any] = {"reader_id": self.settings.reader_id,
                                  "available": self._availability.available,
                                  "reason": self._availability.reason}
        try:
            reader = self._ledger.gateway.retrieve_reader(self.settings.reader_id)
        except StripeFailure as failure:
            status["error"] = str(failure)
            return status
        status.update({key: reader.get(key) for key in
                       ("status", "label", "device_type", "serial_number", "location",
                        "action", "last_seen_at")})
        return status

    def show_test_cart(self, currency: str) -> Future[str]:
        """Show a test cart on the reader: one line "Test" of 1 minor unit (0.01 in
        ``currency``, an ISO 4217 code), total 1 minor unit. For the staff menu's reader test.

        Runs on the payment thread, never during a payment (refused with ``"reader_busy"``
        without asking Stripe); each request is bounded by ``request_timeout_s``. The future's
        result is a `ReaderDisplayTest` value: ``"shown"``, ``"reader_busy"``,
        ``"reader_offline"``, ``"stripe_unreachable"`` or ``"no_reader"``.
        """
        future: Future[str] = Future()
        self._submit(lambda: self._reader_test(lambda gateway, reader_id: (
            display_test.show_test_cart(gateway, reader_id, currency))), future)
        return future

    def clear_reader_display(self) -> Future[str]:
        """Clear the reader's screen after `show_test_cart` (``cancel_action``).

        Runs on the payment thread, never during a payment (``"reader_busy"``, Stripe not
        asked). The reader's action is looked at first: one still in progress that is not a
        cart display (a payment) is never cancelled from here (``"reader_busy"``). The future's
        result is ``"cleared"`` (also when there was nothing to clear) or another
        `ReaderDisplayTest` value.
        """
        future: Future[str] = Future()
        self._submit(lambda: self._reader_test(display_test.clear_reader_display), future)
        return future

    def _reader_test(self, run: Callable[[StripeGateway, str], str]) -> str:
        """Run a reader display test request, never during a payment (``reader_busy``)."""
        if self._steps.under_way():
            return ReaderDisplayTest.READER_BUSY.value
        if not self.settings.reader_id:
            return ReaderDisplayTest.NO_READER.value
        return run(self._ledger.gateway, self.settings.reader_id)

    # ------------------------------------------------------------------ the thread

    def _call(self, run: Callable[[], Any], timeout_s: float) -> Any:
        future: Future[Any] = Future()
        if self._thread is None or not self._thread.is_alive():
            future.set_result(run())
            return future.result()
        self._submit(run, future)
        margin = 2 * self.settings.request_timeout_s * (1 + self.settings.max_network_retries)
        return future.result(timeout_s + margin + 10)

    def _submit(self, run: Callable[[], Any], future: Future[Any]) -> None:
        if self._thread is None or not self._thread.is_alive():
            try:
                future.set_result(run())
            except Exception as error:
                future.set_exception(error)
            return
        self._commands.put(_Call(run, future))

    def _active_sale(self) -> str | None:
        return self._steps.active_sale

    def _run(self) -> None:
        # Polls run at a fixed rate (every poll_interval_s from the start of the previous one,
        # on the real clock), so a tap is seen within one interval plus the look itself.
        next_poll_at = time.monotonic()
        while not self._stopping.is_set():
            self._heartbeat = time.monotonic()
            if self._steps.driving:
                wait = max(0.0, next_poll_at - time.monotonic())
            else:
                wait = min(0.25, self.settings.poll_interval_s * 5)
            try:
                command = self._commands.get(timeout=wait)
            except queue.Empty:
                command = None
            if command is _STOP:
                break
            try:
                if command is not None:
                    self._handle(command)
                if self._steps.driving:
                    if command is None or time.monotonic() >= next_poll_at:
                        next_poll_at = time.monotonic() + self.settings.poll_interval_s
                        self._steps.poll()
                else:
                    next_poll_at = time.monotonic()
                    if self._commands.empty():
                        self._idle_work()
            except Exception:
                log.exception("payment thread: unexpected error")
                self._steps.abort_active()

    def _handle(self, command: Any) -> None:
        if isinstance(command, PayRequest):
            self._steps.pay(command)
        elif isinstance(command, _CancelWaiting):
            self._steps.cancel_waiting(command.sale_id)
        elif isinstance(command, _Abandon):
            self._steps.abandon(command.sale_id, command.reason)
        elif isinstance(command, _Call):
            if not command.future.set_running_or_notify_cancel():
                return
            try:
                command.future.set_result(command.run())
            except Exception as error:
                log.exception("payment thread: call failed")
                command.future.set_exception(error)

    def _idle_work(self) -> None:
        """The idle thread's reads: the probe every ``probe_s``; a recovery pass every
        ``recovery_every_s`` that looks up only unfinished attempts and refunds (nothing to
        read when nothing is unfinished); one page of the orphan sweep every
        `SWEEP_EVERY_S` once the library is loaded."""
        now = self._monotonic()
        if now >= self._next_probe:
            self._next_probe = now + self.settings.probe_s
            self._probe()
        if self.settings.recovery_every_s <= 0:
            return
        if now >= self._next_recovery:
            self._next_recovery = now + self.settings.recovery_every_s
            if self._ledger.connected or self._has_unfinished():
                report = self._recovery.run(self.settings.recovery_s, sweep_pages=0)
                self._steps.announce_recovered(report)
        if self._ledger.connected and now >= self._next_sweep:
            self._next_sweep = now + SWEEP_EVERY_S
            report = RecoveryReport()
            self._recovery.sweep.step(report)
            self._steps.announce_recovered(report)

    def _probe(self) -> None:
        if self._connection is not None and not self._ledger.connected:
            self._beat()
            result = http_probe(self._connection, self.settings.reader_id,
                                self.settings.request_timeout_s)
        else:
            result = probe(self._ledger.gateway, self.settings.reader_id)
        self._availability = result
        if result != self._reported_availability:
            self._reported_availability = result
            self._events.payments_available(result.available, result.reason)

    def _recover(self, timeout_s: float) -> RecoveryReport:
        """One recovery pass. Before the stripe library is loaded, a kiosk with nothing
        unfinished (no attempt, no refund) has nothing to ask Stripe: the scan for orphan
        PaymentIntents waits for the first periodic pass after the library is loaded."""
        if not self._ledger.connected and not self._has_unfinished():
            return RecoveryReport()
        report = self._recovery.run(timeout_s)
        self._next_sweep = self._monotonic() + SWEEP_EVERY_S  # it swept
        self._steps.announce_recovered(report)
        return report

    def _has_unfinished(self) -> bool:
        """True when a payment attempt or a refund is left unfinished in the store."""
        def unfinished(db: Any) -> bool:
            return bool(attempts.unresolved(db)) or bool(refund_rows.unresolved(db))
        try:
            return self._ledger.read(unfinished)
        except Exception:  # the store is unusable: let recovery report it
            log.exception("payment thread: cannot read the unfinished payments")
            return True
