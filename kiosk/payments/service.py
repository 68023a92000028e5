"""The payment service: one thread that takes card payments on the Stripe Terminal reader.

The facade calls `PaymentService.pay`, `cancel_waiting` and `abandon` from its main thread;
they only queue a command. The payment thread runs the write-ahead protocol of
docs/PAYMENTS.md: each step is committed through the store worker before the Stripe call it
guards, then the reader and the PaymentIntent are polled every ``poll_interval_s`` until the
payment succeeds, is declined, cancelled or given up by a timer (on the injectable monotonic
clock). Results go back through `PaymentEvents` (called on the payment thread; the facade
posts them to its main thread); ``payment_paid`` is called only after the paid commit.

While idle the thread probes Stripe and the reader every ``probe_s`` seconds and runs
recovery every ``recovery_every_s`` seconds. A timeout or a lost answer is never taken for a
decline: the thread looks at the reader and the PaymentIntent first.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

import stripe

from kiosk.core.cart import CartLine
from kiosk.core.checkout_events import PaymentPhase
from kiosk.core.tax import Totals
from kiosk.payments import attempts
from kiosk.payments import refunds as refund_flow
from kiosk.payments.attempts import PaymentAttempt, SaleNotPayable
from kiosk.payments.desk import PaymentDesk
from kiosk.payments.outcomes import CANCELLING_OUTCOMES, Outcome
from kiosk.payments.probe import Availability, probe
from kiosk.payments.protocol import AttemptState, IntentStatus, Operation
from kiosk.payments.recovery import ReconcileReport, Recovery, RecoveryReport, action_is_for
from kiosk.payments.refunds import RefundResult
from kiosk.payments.settings import PaymentSettings
from kiosk.payments.stripe_api import FailureKind, StripeFailure, StripeGateway
from kiosk.store.worker import StoreWorker

log = logging.getLogger(__name__)

__all__ = ["PaymentEvents", "PaymentService", "PaymentSettings", "ReaderCart",
           "ReaderCartLine", "ReaderDisplayTest"]


class PaymentEvents(Protocol):
    """What the payment thread reports; called on the payment thread."""

    def payment_phase(self, sale_id: str, phase: PaymentPhase) -> None:
        """The reader waits for a card, or a presented card is being authorised."""

    def payment_paid(self, sale_id: str) -> None:
        """The sale is recorded paid (called after the paid commit)."""

    def payment_declined(self, sale_id: str, code: str) -> None:
        """The try ended without payment; ``code`` is an `Outcome` value."""

    def payment_cancelled(self, sale_id: str) -> None:
        """The waiting payment was withdrawn (by the kiosk or at the reader)."""

    def payment_unresolved(self, sale_id: str, code: str) -> None:
        """The card may still be charged (``code``: why it is not known yet); the sale stays
        locked and staff are needed. A later ``payment_paid`` or ``payment_cancelled``
        (after recovery) settles it."""

    def payments_available(self, available: bool, reason: str) -> None:
        """Card payments became available or unavailable (``reason``: why)."""


@dataclass(frozen=True)
class ReaderCartLine:
    """One line on the reader's display: ``amount_minor`` per item, ``quantity`` items."""

    description: str
    amount_minor: int
    quantity: int


@dataclass(frozen=True)
class ReaderCart:
    """The cart shown on the reader while paying; amounts in minor units."""

    lines: tuple[ReaderCartLine, ...]
    tax_minor: int
    total_minor: int

    @classmethod
    def from_cart(cls, lines: Iterable[CartLine], totals: Totals) -> ReaderCart:
        """Build the display from the cart's lines and totals."""
        shown = []
        for line in lines:
            quantity = line.quantity if line.weight_g is None else 1
            if quantity > 0 and line.amount_minor % quantity == 0:
                shown.append(ReaderCartLine(line.name[:100], line.amount_minor // quantity,
                                            quantity))
            else:
                shown.append(ReaderCartLine(line.name[:100], line.amount_minor, 1))
        return cls(tuple(shown), totals.tax_minor, totals.total_minor)

    def to_stripe(self, currency: str) -> dict[str, Any]:
        """The ``cart`` parameter of ``set_reader_display``."""
        return {
            "currency": currency.lower(),
            "line_items": [{"description": line.description, "amount": line.amount_minor,
                            "quantity": line.quantity} for line in self.lines],
            "tax": self.tax_minor,
            "total": self.total_minor,
        }


class ReaderDisplayTest(StrEnum):
    """How the staff menu's reader display test ended (`PaymentService.show_test_cart`,
    `PaymentService.clear_reader_display`); the codes never change once released."""

    SHOWN = "shown"
    """The test cart is on the reader's screen."""
    CLEARED = "cleared"
    """The reader's screen is back to its splash screen (also when nothing was shown)."""
    READER_BUSY = "reader_busy"
    """A payment is under way on this kiosk (Stripe was not asked), or Stripe says the reader
    is busy with another action. A payment is never cancelled by the test."""
    READER_OFFLINE = "reader_offline"
    """Stripe says the reader is offline, or it did not answer in time."""
    STRIPE_UNREACHABLE = "stripe_unreachable"
    """Stripe could not be reached, or refused the request (the reason is logged)."""
    NO_READER = "no_reader"
    """No reader is configured, or Stripe does not know the configured reader id."""


TEST_CART_LINE = "Test"
"""The one line of the reader display test's cart (1 minor unit, such as 0.01 EUR)."""

_ACTION_NOT_IN_PROGRESS = "terminal_reader_action_not_in_progress"


def build_client(api_key: str, api_base: str, settings: PaymentSettings) -> stripe.StripeClient:
    """The `stripe.StripeClient` for ``api_base`` ("real" or "" for Stripe, else a URL)."""
    from kiosk.payments.stripe_api import REAL_API_BASE
    from kiosk.payments.stripe_api import build_client as build

    base = REAL_API_BASE if api_base in ("", "real") else api_base
    return build(api_key, base, request_timeout_s=settings.request_timeout_s,
                 max_network_retries=settings.max_network_retries)


_UNCHARGED_STATES = frozenset({
    AttemptState.NEW.value, AttemptState.INTENT_CREATED.value, AttemptState.ABANDONED.value,
})
"""Attempt states recovery can settle a doubtful payment in without a charge."""


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


# ------------------------------------------------------------------------ commands


@dataclass(frozen=True)
class _Pay:
    sale_id: str
    amount_minor: int
    display: ReaderCart | None


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


@dataclass
class _ActivePayment:
    """The payment being driven right now (monotonic times in seconds)."""

    sale_id: str
    attempt_id: str
    intent_id: str
    reader_id: str
    started_at: float
    changed_at: float
    waiting_since: float
    seen: bool
    stale_error: Any = None
    phase: PaymentPhase | None = None
    authorising_since: float | None = None
    cancel_requested: bool = False
    cancel_outcome: Outcome = Outcome.CANCELLED
    cancelled: bool = False
    signature: tuple[Any, ...] = field(default_factory=tuple)
    capture_failures: int = 0
    next_capture_at: float = 0.0


class PaymentService:
    """Card payments for one kiosk and its reader (see the module docstring).

    ``clock`` gives aware UTC datetimes for stored timestamps; ``monotonic`` (seconds) drives
    the payment timers, the probe and periodic recovery, so tests inject both.
    """

    def __init__(
        self,
        *,
        client: stripe.StripeClient,
        store: StoreWorker,
        settings: PaymentSettings,
        events: PaymentEvents,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        store_timeout_s: float = 30.0,
    ) -> None:
        self.settings = settings
        self._events = events
        self._monotonic = monotonic
        self._gateway = StripeGateway(client, before_request=self._beat)
        self._desk = PaymentDesk(gateway=self._gateway, store=store, settings=settings,
                                 clock=clock, store_timeout_s=store_timeout_s)
        self._stopping = threading.Event()
        self._recovery = Recovery(self._desk, skip=self._active_sale, wait=self._stopping.wait)
        self._commands: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._active: _ActivePayment | None = None
        self._current_sale: str | None = None
        self._in_doubt: set[str] = set()
        self._heartbeat = time.monotonic()
        self._availability = Availability(False, "not_checked_yet")
        self._reported_availability: Availability | None = None
        self._next_probe = float("-inf")
        self._next_recovery = monotonic() + settings.recovery_every_s

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

    def pay(self, sale_id: str, amount_minor: int, display: ReaderCart | None = None) -> None:
        """Take ``amount_minor`` (minor units) by card for the sale; returns at once."""
        self._commands.put(_Pay(sale_id, amount_minor, display))

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
        self._submit(lambda: refund_flow.refund(self._desk, sale_id, amount_minor,
                                                requested_by, refund_id=refund_id), future)
        return future

    def reconcile(self, since: datetime, timeout_s: float = 120.0) -> ReconcileReport:
        """Compare local attempts and the PaymentIntents created since ``since`` (UTC) and fix
        what the rules allow; acts only on PaymentIntents of this database's install id."""
        def run() -> ReconcileReport:
            report = ReconcileReport(since=since)
            self._recovery.run(timeout_s, orphans_since=since, report=report)
            self._announce_recovered(report)
            return report
        return self._call(run, timeout_s)

    def reader_status(self) -> dict[str, Any]:
        """The reader as Stripe sees it, plus what the kiosk knows (for ``kiosk reader
        status``)."""
        status: dict[str, Any] = {"reader_id": self.settings.reader_id,
                                  "available": self._availability.available,
                                  "reason": self._availability.reason}
        try:
            reader = self._gateway.retrieve_reader(self.settings.reader_id)
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
        self._submit(lambda: self._show_test_cart(currency), future)
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
        self._submit(self._clear_reader_display, future)
        return future

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
        return None if self._active is None else self._active.sale_id

    def _run(self) -> None:
        # Polls run at a fixed rate (every poll_interval_s from the start of the previous one,
        # on the real clock), so a tap is seen within one interval plus the look itself.
        next_poll_at = time.monotonic()
        while not self._stopping.is_set():
            self._heartbeat = time.monotonic()
            if self._active:
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
                if self._active is not None:
                    if command is None or time.monotonic() >= next_poll_at:
                        next_poll_at = time.monotonic() + self.settings.poll_interval_s
                        self._poll()
                else:
                    next_poll_at = time.monotonic()
                    if self._commands.empty():
                        self._idle_work()
            except Exception:
                log.exception("payment thread: unexpected error")
                self._abort_active()

    def _handle(self, command: Any) -> None:
        if isinstance(command, _Pay):
            self._pay(command)
        elif isinstance(command, _CancelWaiting):
            self._cancel_waiting(command.sale_id)
        elif isinstance(command, _Abandon):
            self._abandon(command.sale_id, command.reason)
        elif isinstance(command, _Call):
            if not command.future.set_running_or_notify_cancel():
                return
            try:
                command.future.set_result(command.run())
            except Exception as error:
                log.exception("payment thread: call failed")
                command.future.set_exception(error)

    def _abort_active(self) -> None:
        """After an unexpected error: stop driving the payment; the committed state lets
        recovery settle it (never reported as declined or paid on a guess)."""
        active = self._active
        if active is None:
            return
        self._active = None
        self._next_recovery = self._monotonic() + self.settings.poll_interval_s
        self._unresolved(active.sale_id, Outcome.OUTCOME_UNKNOWN)

    def _idle_work(self) -> None:
        now = self._monotonic()
        if now >= self._next_probe:
            self._next_probe = now + self.settings.probe_s
            self._probe()
        if self.settings.recovery_every_s > 0 and now >= self._next_recovery:
            self._next_recovery = now + self.settings.recovery_every_s
            report = self._recovery.run(self.settings.recovery_s)
            self._announce_recovered(report)

    def _probe(self) -> None:
        result = probe(self._gateway, self.settings.reader_id)
        self._availability = result
        if result != self._reported_availability:
            self._reported_availability = result
            self._events.payments_available(result.available, result.reason)

    def _recover(self, timeout_s: float) -> RecoveryReport:
        report = self._recovery.run(timeout_s)
        self._announce_recovered(report)
        return report

    def _announce_recovered(self, report: RecoveryReport) -> None:
        """Tell the facade when recovery paid the sale the customer is paying for, or
        settled a sale left in doubt (paid, or handed back to the customer uncharged)."""
        if self._current_sale is not None and self._current_sale in report.paid:
            sale_id, self._current_sale = self._current_sale, None
            self._in_doubt.discard(sale_id)
            self._events.payment_paid(sale_id)
        for sale_id in sorted(self._in_doubt):
            settled = report.resolved.get(sale_id)
            if sale_id in report.paid or settled == AttemptState.PAID:
                self._in_doubt.discard(sale_id)
                self._events.payment_paid(sale_id)
            elif settled in _UNCHARGED_STATES:
                self._in_doubt.discard(sale_id)
                self._events.payment_cancelled(sale_id)

    # ------------------------------------------------------------------ reader display test

    def _payment_under_way(self) -> bool:
        """A payment is being driven, or one is in doubt (its card may still be on the
        reader): the reader belongs to it."""
        return self._active is not None or bool(self._in_doubt)

    def _show_test_cart(self, currency: str) -> str:
        if self._payment_under_way():
            return ReaderDisplayTest.READER_BUSY.value
        reader_id = self.settings.reader_id
        if not reader_id:
            return ReaderDisplayTest.NO_READER.value
        test_cart = ReaderCart((ReaderCartLine(TEST_CART_LINE, 1, 1),), 0, 1)
        # A fresh key per test: nothing is charged, so nothing needs to survive a restart.
        key = f"display-test:{uuid.uuid4()}"
        try:
            self._gateway.set_display(reader_id, test_cart.to_stripe(currency), key)
        except StripeFailure as failure:
            log.warning("reader display test: the cart was not shown: %s", failure)
            return _display_test_code(failure)
        return ReaderDisplayTest.SHOWN.value

    def _clear_reader_display(self) -> str:
        if self._payment_under_way():
            return ReaderDisplayTest.READER_BUSY.value
        reader_id = self.settings.reader_id
        if not reader_id:
            return ReaderDisplayTest.NO_READER.value
        try:
            reader = self._gateway.retrieve_reader(reader_id)
            action = reader.get("action") or {}
            if action.get("status") == "in_progress" and action.get("type") != \
                    "set_reader_display":
                log.warning("reader display test: the reader is busy with %s; not cancelled",
                            action.get("type"))
                return ReaderDisplayTest.READER_BUSY.value
            self._gateway.cancel_action(reader_id, f"display-clear:{uuid.uuid4()}")
        except StripeFailure as failure:
            if failure.code == _ACTION_NOT_IN_PROGRESS:
                return ReaderDisplayTest.CLEARED.value
            log.warning("reader display test: the screen was not cleared: %s", failure)
            return _display_test_code(failure)
        return ReaderDisplayTest.CLEARED.value

    # ------------------------------------------------------------------ reporting

    def _report(self, sale_id: str, outcome: Outcome) -> None:
        self._in_doubt.discard(sale_id)
        if self._current_sale == sale_id:
            self._current_sale = None if outcome == Outcome.APPROVED else sale_id
        if outcome == Outcome.APPROVED:
            self._events.payment_paid(sale_id)
        elif outcome in CANCELLING_OUTCOMES:
            self._events.payment_cancelled(sale_id)
        else:
            self._events.payment_declined(sale_id, outcome.value)

    def _declined(self, sale_id: str, outcome: Outcome) -> None:
        self._report(sale_id, outcome)

    def _unresolved(self, sale_id: str, outcome: Outcome) -> None:
        """The committed state is in doubt (the card may still be charged): never report it
        as a decline, which would unlock the cart; recovery settles it and tells."""
        self._current_sale = sale_id
        self._in_doubt.add(sale_id)
        self._events.payment_unresolved(sale_id, outcome.value)

    def _set_phase(self, active: _ActivePayment, phase: PaymentPhase) -> None:
        if active.phase != phase:
            active.phase = phase
            self._events.payment_phase(active.sale_id, phase)

    def _return(self, sale_id: str, attempt_id: str, outcome: Outcome, *,
                decline_code: str | None = None, intent_status: str | None = None) -> None:
        """Commit the try's end (the sale reopens, the PaymentIntent stays) and report it."""
        at = self._desk.clock()
        self._desk.commit("returned", lambda db: attempts.return_to_customer(
            db, attempt_id, outcome=outcome.value, decline_code=decline_code, at=at,
            intent_status=intent_status))
        if self._active is not None and self._active.sale_id == sale_id:
            self._active = None
        self._report(sale_id, outcome)

    def _paid(self, sale_id: str) -> None:
        if self._active is not None and self._active.sale_id == sale_id:
            self._active = None
        self._report(sale_id, Outcome.APPROVED)

    # ------------------------------------------------------------------ paying

    def _pay(self, command: _Pay) -> None:
        sale_id = command.sale_id
        if self._active is not None:
            if self._active.sale_id != sale_id:
                self._declined(sale_id, Outcome.READER_BUSY)
            return  # the same sale is being paid already
        self._current_sale = sale_id
        if not self._settle_others(sale_id):
            self._declined(sale_id, Outcome.OUTCOME_UNKNOWN)
            return
        attempt = self._lock(command)
        if attempt is None:
            return
        if attempt.state == AttemptState.PAID:
            self._paid(sale_id)
            return
        if attempt.state == AttemptState.AUTHORISED:
            settled, _ = self._desk.capture(attempt)
            if settled is not None:
                self._paid(sale_id)
            else:
                self._unresolved(sale_id, Outcome.OUTCOME_UNKNOWN)  # authorised: not a decline
            return
        if attempt.state == AttemptState.PROCESSING:
            self._resume(attempt)  # an earlier try of this sale is still out there
            return
        if command.display is not None:
            self._show(attempt, command.display)
        located = self._ensure_intent(attempt)
        if located is None:
            return
        attempt, intent = located
        status = intent.get("status")
        if status in (IntentStatus.SUCCEEDED, IntentStatus.REQUIRES_CAPTURE,
                      IntentStatus.PROCESSING):
            self._resume(attempt)
            return
        if intent.get("amount") != attempt.amount_minor:
            updated = self._update_amount(attempt, intent)
            if updated is None:
                return
            intent = updated
        self._process(attempt, intent)

    def _lock(self, command: _Pay) -> PaymentAttempt | None:
        at = self._desk.clock()
        capture = self.settings.capture
        try:
            return self._desk.commit("locked", lambda db: attempts.lock(
                db, command.sale_id, command.amount_minor, capture_method=capture, at=at))
        except SaleNotPayable as refused:
            log.error("%s", refused)
            self._declined(command.sale_id, Outcome.SALE_NOT_PAYABLE)
            return None

    def _settle_others(self, sale_id: str) -> bool:
        """Resolve other sales' unfinished attempts before the reader is used again."""
        pending = [attempt for attempt in self._desk.read(attempts.unresolved)
                   if attempt.sale_id != sale_id]
        blocked = False
        for attempt in pending:
            deadline = time.monotonic() + max(self.settings.request_timeout_s, 5.0)
            settled = self._recovery.resolve(attempt, deadline)
            if settled is None and attempt.state in (AttemptState.PROCESSING,
                                                     AttemptState.AUTHORISED):
                log.error("sale %s: its payment is unresolved; the reader stays blocked",
                          attempt.sale_id)
                blocked = True
        return not blocked

    def _show(self, attempt: PaymentAttempt, display: ReaderCart) -> None:
        """Show the cart on the reader (best effort: a failure never stops the payment)."""
        if not self.settings.reader_id or attempt.display_key is None:
            return
        try:
            self._gateway.set_display(self.settings.reader_id,
                                      display.to_stripe(self.settings.currency),
                                      attempt.display_key)
        except StripeFailure as failure:
            log.info("reader display not updated: %s", failure)

    def _ensure_intent(self, attempt: PaymentAttempt
                       ) -> tuple[PaymentAttempt, dict[str, Any]] | None:
        """The sale's PaymentIntent: retrieved, or created write-ahead (see `_create`)."""
        for _ in range(2):
            if attempt.payment_intent_id is None:
                return self._create(attempt)
            try:
                intent = self._gateway.retrieve_intent(attempt.payment_intent_id)
            except StripeFailure as failure:
                self._return(attempt.sale_id, attempt.id, _unreachable(failure))
                return None
            if intent.get("status") != IntentStatus.CANCELED:
                return attempt, intent
            # A cancelled PaymentIntent is final: the sale needs a new one (fresh key).
            attempt = self._renew_intent(attempt)
        self._return(attempt.sale_id, attempt.id, Outcome.OUTCOME_UNKNOWN)
        return None

    def _renew_intent(self, attempt: PaymentAttempt) -> PaymentAttempt:
        """The sale's PaymentIntent was cancelled (final): forget it and lock for a new one."""
        at = self._desk.clock()
        sale_id, amount = attempt.sale_id, attempt.amount_minor
        capture = self.settings.capture
        self._desk.commit("new", lambda db: attempts.forget_intent(
            db, attempt.id, why="cancelled at Stripe", at=at, reopen=False))
        return self._desk.commit("locked", lambda db: attempts.lock(
            db, sale_id, amount, capture_method=capture, at=at))

    def _create(self, attempt: PaymentAttempt) -> tuple[PaymentAttempt, dict[str, Any]] | None:
        """Create the PaymentIntent with the committed key. After an unknown answer: look for
        it (list by the sale's metadata), then replay the same key, and only after a saved
        error with nothing found take a fresh key."""
        desk = self._desk
        replayed = False
        last: StripeFailure | None = None
        for _ in range(4):
            assert attempt.create_key is not None
            try:
                intent = desk.gateway.create_intent(
                    amount_minor=attempt.amount_minor, currency=self.settings.currency,
                    capture_method=attempt.capture_method or self.settings.capture,
                    metadata=desk.metadata(attempt.sale_id),
                    description=f"Sale {attempt.sale_id}", key=attempt.create_key)
            except StripeFailure as failure:
                last = failure
                if not failure.maybe_executed and failure.kind != FailureKind.IDEMPOTENCY:
                    self._create_refused(attempt, failure)
                    return None
                try:
                    found = [found for found in desk.find_intents_for_sale(
                        attempt.sale_id, _unix(attempt.locked_at) - 300)
                        if found.get("status") != IntentStatus.CANCELED]
                except StripeFailure as look_failure:
                    self._create_unknown(attempt, look_failure)
                    return None
                if found:
                    intent = found[-1]
                    break
                if replayed or failure.kind == FailureKind.IDEMPOTENCY:
                    attempt = desk.commit("create_key", _new_create_key(attempt.id,
                                                                        desk.clock()))
                    replayed = False
                else:
                    replayed = True
                continue
            break
        else:
            assert last is not None
            self._create_unknown(attempt, last)
            return None
        at = desk.clock()
        recorded = desk.commit("intent_created", lambda db: attempts.record_intent(
            db, attempt.id, intent, at=at))
        return recorded, intent

    def _create_refused(self, attempt: PaymentAttempt, failure: StripeFailure) -> None:
        at = self._desk.clock()
        if failure.kind == FailureKind.UNREACHABLE:
            # Nothing reached Stripe: keep the key for the next try (a replay is harmless).
            self._desk.commit("returned", lambda db: attempts.unlock_unresolved_create(
                db, attempt.id, outcome=Outcome.STRIPE_UNREACHABLE.value, at=at))
        else:
            log.error("Stripe refused to create the payment of sale %s: %s",
                      attempt.sale_id, failure)
            self._desk.commit("new", lambda db: attempts.forget_intent(
                db, attempt.id, why=f"create refused: {failure.code}", at=at))
        self._declined(attempt.sale_id, Outcome.STRIPE_UNREACHABLE)

    def _create_unknown(self, attempt: PaymentAttempt, failure: StripeFailure) -> None:
        """No answer and no way to look: the create stays unresolved (``locked``) but the
        sale reopens: no reader has this sale's PaymentIntent, so no card can be charged."""
        at = self._desk.clock()
        self._desk.commit("returned", lambda db: attempts.unlock_unresolved_create(
            db, attempt.id, outcome=Outcome.STRIPE_UNREACHABLE.value, at=at))
        self._declined(attempt.sale_id, _unreachable(failure))

    def _update_amount(self, attempt: PaymentAttempt,
                       intent: dict[str, Any]) -> dict[str, Any] | None:
        """The cart changed since the last try: update the PaymentIntent's amount first."""
        desk = self._desk
        at = desk.clock()
        keyed = desk.commit("update", lambda db: attempts.mint_key(
            db, attempt.id, Operation.UPDATE, at=at))
        assert keyed.update_key is not None and attempt.payment_intent_id is not None
        try:
            intent = desk.gateway.update_amount(attempt.payment_intent_id,
                                                attempt.amount_minor, keyed.update_key)
        except StripeFailure as failure:
            try:
                intent = desk.gateway.retrieve_intent(attempt.payment_intent_id)
            except StripeFailure:
                self._return(attempt.sale_id, attempt.id, _unreachable(failure))
                return None
            if intent.get("amount") != attempt.amount_minor:
                outcome = (_unreachable(failure) if failure.maybe_executed
                           or failure.kind == FailureKind.UNREACHABLE
                           else Outcome.OUTCOME_UNKNOWN)
                self._return(attempt.sale_id, attempt.id, outcome)
                return None
        amount = int(intent.get("amount") or attempt.amount_minor)
        desk.commit("update", lambda db: attempts.record_intent_amount(
            db, attempt.id, amount, at=at))
        return intent

    def _process(self, attempt: PaymentAttempt, intent: dict[str, Any]) -> None:
        """Hand the PaymentIntent to the reader (write-ahead ``processing``), then poll."""
        desk = self._desk
        reader_id = self.settings.reader_id
        intent_id = str(intent["id"])
        stale_error = intent.get("last_payment_error")
        last: StripeFailure | None = None
        for _ in range(3):
            attempt = desk.commit("processing", _processing(attempt.id, reader_id,
                                                            desk.clock()))
            assert attempt.process_key is not None
            try:
                desk.gateway.process(reader_id, intent_id, attempt.process_key)
            except StripeFailure as failure:
                last = failure
                if failure.kind == FailureKind.READER_BUSY:
                    if self._adopt_if_ours(attempt, intent_id, stale_error):
                        return
                    self._return(attempt.sale_id, attempt.id, Outcome.READER_BUSY)
                    return
                if failure.kind == FailureKind.READER_OFFLINE:
                    self._return(attempt.sale_id, attempt.id, Outcome.READER_OFFLINE)
                    return
                if failure.kind == FailureKind.INVALID_STATE:
                    self._activate(attempt, intent_id, seen=False, stale_error=stale_error)
                    return
                if failure.maybe_executed:
                    started = self._started(attempt, intent_id, stale_error)
                    if started is None or started:
                        # Started, or we cannot see: poll (the timers bound the wait).
                        self._activate(attempt, intent_id, seen=bool(started),
                                       stale_error=stale_error)
                        return
                    continue  # the reader did not start it: send again with a fresh key
                self._return(attempt.sale_id, attempt.id, _unreachable(failure))
                return
            active = self._activate(attempt, intent_id, seen=True, stale_error=stale_error)
            self._set_phase(active, PaymentPhase.WAITING_FOR_CARD)
            return
        assert last is not None
        outcome = (Outcome.READER_OFFLINE if last.kind == FailureKind.READER_TIMEOUT
                   else Outcome.STRIPE_UNREACHABLE)
        self._return(attempt.sale_id, attempt.id, outcome)

    def _started(self, attempt: PaymentAttempt, intent_id: str,
                 stale_error: Any) -> bool | None:
        """After an unknown answer to process: did the reader start our payment? ``None``
        when Stripe cannot be asked."""
        try:
            intent = self._gateway.retrieve_intent(intent_id)
            reader = self._gateway.retrieve_reader(self.settings.reader_id)
        except StripeFailure:
            return None
        if intent.get("status") != IntentStatus.REQUIRES_PAYMENT_METHOD:
            return True
        action = reader.get("action")
        if not action_is_for(action, intent_id):
            return False
        if action.get("status") == "in_progress":
            return True
        if action.get("status") == "failed":
            return intent.get("last_payment_error") != stale_error
        return False

    def _adopt_if_ours(self, attempt: PaymentAttempt, intent_id: str,
                       stale_error: Any) -> bool:
        started = self._started(attempt, intent_id, stale_error)
        if started:
            active = self._activate(attempt, intent_id, seen=True, stale_error=stale_error)
            self._set_phase(active, PaymentPhase.WAITING_FOR_CARD)
            return True
        return False

    def _activate(self, attempt: PaymentAttempt, intent_id: str, *, seen: bool,
                  stale_error: Any = None) -> _ActivePayment:
        now = self._monotonic()
        self._active = _ActivePayment(
            sale_id=attempt.sale_id, attempt_id=attempt.id, intent_id=intent_id,
            reader_id=attempt.reader_id or self.settings.reader_id, started_at=now,
            changed_at=now, waiting_since=now, seen=seen, stale_error=stale_error)
        return self._active

    def _resume(self, attempt: PaymentAttempt) -> None:
        """Drive an attempt already handed to Stripe (processing, or money taken)."""
        assert attempt.payment_intent_id is not None
        self._activate(attempt, attempt.payment_intent_id, seen=False,
                       stale_error=_UNKNOWN_ERROR)
        self._poll()

    # ------------------------------------------------------------------ polling

    def _poll(self) -> None:
        active = self._active
        if active is None:
            return
        now = self._monotonic()
        try:
            intent = self._gateway.retrieve_intent(active.intent_id)
            if intent.get("status") in (IntentStatus.SUCCEEDED, IntentStatus.REQUIRES_CAPTURE):
                self._settle(active, intent)  # taken: the reader has nothing more to say
                return
            reader = self._gateway.retrieve_reader(active.reader_id)
        except StripeFailure as failure:
            log.info("payment of sale %s: cannot look now: %s", active.sale_id, failure)
            if now - active.changed_at >= self.settings.payment_max_s:
                self._give_up(active, Outcome.STRIPE_UNREACHABLE)
            return
        status = intent.get("status")
        seen_action = reader.get("action")
        action: dict[str, Any] = (seen_action if action_is_for(seen_action, active.intent_id)
                                  else {})
        ours = bool(action)
        action_status = action.get("status")
        signature = (status, ours, action_status)
        if signature != active.signature:
            active.signature = signature
            active.changed_at = now
        if status in (IntentStatus.SUCCEEDED, IntentStatus.REQUIRES_CAPTURE):
            self._settle(active, intent)
            return
        if status == IntentStatus.CANCELED:
            at = self._desk.clock()
            self._desk.commit("new", lambda db: attempts.forget_intent(
                db, active.attempt_id, why="cancelled at Stripe while paying", at=at))
            self._active = None
            self._report(active.sale_id, Outcome.CANCELLED_ON_READER)
            return
        if status == IntentStatus.PROCESSING:
            self._authorising(active, now)
            return
        if ours and action_status == "in_progress":
            active.seen = True
            if active.authorising_since is not None:
                self._authorising(active, now)
                return
            self._set_phase(active, PaymentPhase.WAITING_FOR_CARD)
            if active.cancel_requested:
                self._withdraw(active, active.cancel_outcome)
            elif now - active.waiting_since >= self.settings.payment_idle_s:
                self._withdraw(active, Outcome.CANCELLED)
            elif now - active.changed_at >= self.settings.payment_max_s:
                self._withdraw(active, Outcome.PAYMENT_TIMED_OUT)
            return
        error = intent.get("last_payment_error")
        if ours and action_status == "failed" and not error:
            # The reader was read after the PaymentIntent: look at the intent again so the
            # decline code (insufficient_funds...) is not lost to the order of two GETs.
            try:
                intent = self._gateway.retrieve_intent(active.intent_id)
            except StripeFailure:
                return  # the next poll looks again
            error = intent.get("last_payment_error")
        fresh_failure = ours and action_status == "failed" and (
            active.seen or error != active.stale_error)
        if fresh_failure and not active.cancelled and \
                action.get("failure_code") not in ("canceled", "customer_canceled"):
            decline = (error or {}).get("decline_code") or action.get("failure_code")
            self._return(active.sale_id, active.attempt_id, Outcome.CARD_DECLINED,
                         decline_code=decline, intent_status=str(status))
            return
        if active.cancelled:
            self._return(active.sale_id, active.attempt_id, active.cancel_outcome,
                         intent_status=str(status))
            return
        if ours and action_status == "succeeded":
            return  # the PaymentIntent catches up on the next look
        if active.seen or fresh_failure:
            # Our action ended without a card: cancelled at the reader (or it was dropped).
            self._return(active.sale_id, active.attempt_id, Outcome.CANCELLED_ON_READER,
                         intent_status=str(status))
            return
        # Never seen in progress: a lost process call may still land; wait a little.
        if now - active.started_at >= self.settings.request_timeout_s:
            self._return(active.sale_id, active.attempt_id, Outcome.STRIPE_UNREACHABLE,
                         intent_status=str(status))

    def _authorising(self, active: _ActivePayment, now: float) -> None:
        """A card is being authorised: wait (it completes the sale) up to
        ``authorisation_wait_s``, then call staff without cancelling it."""
        active.seen = True
        active.cancel_requested = False
        if active.authorising_since is None:
            active.authorising_since = now
        self._set_phase(active, PaymentPhase.AUTHORISING)
        if now - active.authorising_since >= self.settings.authorisation_wait_s:
            self._give_up(active, Outcome.AUTHORISATION_TOO_SLOW)

    def _settle(self, active: _ActivePayment, intent: dict[str, Any]) -> None:
        now = self._monotonic()
        if now < active.next_capture_at:
            return  # the last capture failed: wait out its backoff before the next
        attempt = self._desk.attempt(active.sale_id)
        assert attempt is not None
        settled, _ = self._desk.settle_taken(attempt, intent)
        if settled is not None and settled.state == AttemptState.PAID:
            self._paid(active.sale_id)
            return
        # The capture is unresolved: retried on a later look, backing off (1 s doubling to
        # 30 s) so a failing Stripe does not cost a commit and a request on every poll.
        active.capture_failures += 1
        active.next_capture_at = now + min(2.0 ** (active.capture_failures - 1), 30.0)
        if now - active.changed_at >= self.settings.payment_max_s:
            self._give_up(active, Outcome.OUTCOME_UNKNOWN)

    def _give_up(self, active: _ActivePayment, outcome: Outcome) -> None:
        """Stop polling; the committed state stays unresolved and recovery settles it."""
        log.warning("payment of sale %s: %s; left to recovery", active.sale_id, outcome)
        self._active = None
        self._next_recovery = self._monotonic() + self.settings.probe_s
        self._unresolved(active.sale_id, outcome)

    def _withdraw(self, active: _ActivePayment, outcome: Outcome) -> None:
        """``cancel_action`` on a payment still waiting for a card. Busy means a card is
        being authorised: wait for it instead."""
        desk = self._desk
        active.cancel_requested = True
        active.cancel_outcome = outcome
        at = desk.clock()
        keyed = desk.commit("cancel_action", lambda db: attempts.mint_key(
            db, active.attempt_id, Operation.CANCEL_ACTION, at=at))
        assert keyed.cancel_action_key is not None
        try:
            desk.gateway.cancel_action(active.reader_id, keyed.cancel_action_key)
        except StripeFailure as failure:
            now = self._monotonic()
            if failure.kind == FailureKind.READER_BUSY:
                self._authorising(active, now)
                return
            log.warning("cancel_action for sale %s failed: %s", active.sale_id, failure)
            if now - active.changed_at >= self.settings.payment_max_s + \
                    self.settings.authorisation_wait_s:
                self._give_up(active, Outcome.PAYMENT_TIMED_OUT)
            return  # retried on the next look
        active.cancel_requested = False
        active.cancelled = True
        self._poll()  # the card may have won; else the try ends as cancelled

    # ------------------------------------------------------------------ cancel, abandon

    def _cancel_waiting(self, sale_id: str) -> None:
        active = self._active
        if active is not None and active.sale_id == sale_id:
            if active.authorising_since is not None:
                self._events.payment_phase(sale_id, PaymentPhase.AUTHORISING)
                return
            if not active.cancelled:
                self._withdraw(active, Outcome.CANCELLED)
            return
        attempt = self._desk.attempt(sale_id)
        if attempt is None or attempt.state in (AttemptState.NEW,
                                                AttemptState.INTENT_CREATED,
                                                AttemptState.LOCKED):
            self._report(sale_id, Outcome.CANCELLED)
        elif attempt.state == AttemptState.PAID:
            self._paid(sale_id)
        elif attempt.state != AttemptState.ABANDONED:
            self._unresolved(sale_id, Outcome.OUTCOME_UNKNOWN)

    def _abandon(self, sale_id: str, reason: str) -> None:
        active = self._active
        if active is not None and active.sale_id == sale_id:
            if active.authorising_since is None and not active.cancelled:
                self._withdraw(active, Outcome.CANCELLED)
            if self._active is not None:
                log.warning("sale %s not abandoned: a card is being authorised", sale_id)
                self._events.payment_phase(sale_id, PaymentPhase.AUTHORISING)
                return
            attempt = self._desk.attempt(sale_id)
            if attempt is not None and attempt.state == AttemptState.PAID:
                return
        if self._current_sale == sale_id:
            self._current_sale = None
        at = self._desk.clock()
        abandoned = self._desk.commit("abandoned", lambda db: attempts.record_abandoned(
            db, sale_id, reason, at=at))
        if abandoned is None or abandoned.state != AttemptState.ABANDONED:
            return
        settled = self._recovery.resolve(abandoned, time.monotonic() + 5.0)
        if settled is not None and settled.state == AttemptState.PAID:
            log.error("sale %s was paid while being abandoned; recorded paid", sale_id)


_UNKNOWN_ERROR = object()
"""A stale-error marker that equals no PaymentIntent's ``last_payment_error``."""


def _new_create_key(attempt_id: str, at: datetime) -> Callable[[Any], PaymentAttempt]:
    return lambda db: attempts.record_create_key(db, attempt_id, at=at)


def _processing(attempt_id: str, reader_id: str,
                at: datetime) -> Callable[[Any], PaymentAttempt]:
    return lambda db: attempts.record_processing(db, attempt_id, reader_id, at=at)


def _unreachable(failure: StripeFailure) -> Outcome:
    if failure.kind == FailureKind.READER_OFFLINE:
        return Outcome.READER_OFFLINE
    if failure.kind == FailureKind.READER_BUSY:
        return Outcome.READER_BUSY
    if failure.maybe_executed:
        return Outcome.OUTCOME_UNKNOWN
    return Outcome.STRIPE_UNREACHABLE


def _display_test_code(failure: StripeFailure) -> str:
    """The `ReaderDisplayTest` code of a failed display test request."""
    if failure.kind == FailureKind.READER_BUSY:
        return ReaderDisplayTest.READER_BUSY.value
    if failure.kind in (FailureKind.READER_OFFLINE, FailureKind.READER_TIMEOUT):
        return ReaderDisplayTest.READER_OFFLINE.value
    if failure.code == "resource_missing":
        return ReaderDisplayTest.NO_READER.value
    return ReaderDisplayTest.STRIPE_UNREACHABLE.value


def _unix(stamp: str | None) -> int:
    if stamp is None:
        return 0
    from kiosk.store.db import parse_utc_iso

    return int(parse_utc_iso(stamp).timestamp())
