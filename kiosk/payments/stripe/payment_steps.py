"""The write-ahead payment steps of one card payment on Stripe Terminal.

`PaymentSteps` drives a sale's payment on the terminal's worker thread (docs/PAYMENTS.md):
each step is committed through the `PaymentLedger` before the Stripe call it guards (locked,
intent_created, processing, authorised, paid), then the reader and the PaymentIntent are
polled until the payment succeeds, is declined, cancelled or given up by a timer (on the
injectable monotonic clock). Results go to `PaymentEvents`; ``payment_paid`` only after the
paid commit. A timeout or a lost answer is never taken for a decline: the steps look at the
reader and the PaymentIntent first, and a payment left in doubt is handed to recovery.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kiosk.core.checkout_states import PaymentPhase
from kiosk.payments import attempts
from kiosk.payments.attempts import PaymentAttempt, SaleNotPayable
from kiosk.payments.outcomes import CANCELLING_OUTCOMES, Outcome
from kiosk.payments.protocol import AttemptState, IntentStatus, Operation
from kiosk.payments.provider import PaymentEvents, ReaderCart
from kiosk.payments.reports import RecoveryReport
from kiosk.payments.settings import PaymentSettings
from kiosk.payments.stripe.display_test import stripe_cart
from kiosk.payments.stripe.failures import FailureKind, StripeFailure, ended_by_customer
from kiosk.payments.stripe.ledger import PaymentLedger
from kiosk.payments.stripe.recovery import Recovery, action_is_for

log = logging.getLogger(__name__)


_UNCHARGED_STATES = frozenset({
    AttemptState.NEW.value, AttemptState.INTENT_CREATED.value, AttemptState.ABANDONED.value,
})
"""Attempt states recovery can settle a doubtful payment in without a charge."""


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


@dataclass(frozen=True)
class PayRequest:
    """A sale to pay: ``amount_minor`` in minor units, the cart for the reader's display."""

    sale_id: str
    amount_minor: int
    display: ReaderCart | None


class PaymentSteps:
    """The live payment flow (see the module docstring); runs on the worker thread only.

    ``recover_at`` asks the worker to run recovery at a given ``monotonic`` time (a payment
    given up is left to it).
    """

    def __init__(self, *, ledger: PaymentLedger, recovery: Recovery,
                 settings: PaymentSettings, events: PaymentEvents,
                 monotonic: Callable[[], float],
                 recover_at: Callable[[float], None]) -> None:
        self.settings = settings
        self._ledger = ledger
        self._recovery = recovery
        self._events = events
        self._monotonic = monotonic
        self._recover_at = recover_at
        self._active: _ActivePayment | None = None
        self._current_sale: str | None = None
        self._in_doubt: set[str] = set()

    @property
    def active_sale(self) -> str | None:
        """The sale whose payment is being driven now, if any."""
        return None if self._active is None else self._active.sale_id

    @property
    def driving(self) -> bool:
        """True while a payment is being driven (the worker polls it)."""
        return self._active is not None

    def under_way(self) -> bool:
        """A payment is being driven, or one is in doubt (its card may still be on the
        reader): the reader belongs to it."""
        return self._active is not None or bool(self._in_doubt)

    def pay(self, request: PayRequest) -> None:
        """Start (or resume) the payment of ``request``'s sale."""
        self._pay(request)

    def cancel_waiting(self, sale_id: str) -> None:
        """Withdraw the sale's payment if the reader still waits for a card."""
        self._cancel_waiting(sale_id)

    def abandon(self, sale_id: str, reason: str) -> None:
        """Commit the sale abandoned, then cancel its PaymentIntent if not final."""
        self._abandon(sale_id, reason)

    def poll(self) -> None:
        """Look at the reader and the PaymentIntent of the payment being driven."""
        self._poll()

    def abort_active(self) -> None:
        """After an unexpected error: stop driving the payment; the committed state lets
        recovery settle it (never reported as declined or paid on a guess)."""
        active = self._active
        if active is None:
            return
        self._active = None
        self._recover_at(self._monotonic() + self.settings.poll_interval_s)
        self._unresolved(active.sale_id, Outcome.OUTCOME_UNKNOWN)

    def announce_recovered(self, report: RecoveryReport) -> None:
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
        at = self._ledger.clock()
        self._ledger.commit("returned", lambda db: attempts.return_to_customer(
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

    def _pay(self, command: PayRequest) -> None:
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
            settled, _ = self._ledger.capture(attempt)
            if settled is not None and settled.state == AttemptState.PAID:
                self._paid(sale_id)
            elif settled is not None:  # the authorisation was lost at Stripe: sale ended
                self._report(sale_id, Outcome.CANCELLED)
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

    def _lock(self, command: PayRequest) -> PaymentAttempt | None:
        at = self._ledger.clock()
        capture = self.settings.capture
        try:
            return self._ledger.commit("locked", lambda db: attempts.lock(
                db, command.sale_id, command.amount_minor, capture_method=capture, at=at))
        except SaleNotPayable as refused:
            log.error("%s", refused)
            self._declined(command.sale_id, Outcome.SALE_NOT_PAYABLE)
            return None

    def _settle_others(self, sale_id: str) -> bool:
        """Resolve other sales' unfinished attempts before the reader is used again."""
        pending = [attempt for attempt in self._ledger.read(attempts.unresolved)
                   if attempt.sale_id != sale_id]
        blocked = False
        for attempt in pending:
            deadline = time.monotonic() + max(self.settings.request_timeout_s, 5.0)
            settled = self._recovery.resolve(attempt, deadline)
            # Only a payment whose reader action may still be live holds the reader; an
            # authorisation awaiting capture (or anything else) is left to recovery.
            if settled is None and attempt.state == AttemptState.PROCESSING:
                log.error("sale %s: its payment is unresolved; the reader stays blocked",
                          attempt.sale_id)
                blocked = True
        return not blocked

    def _show(self, attempt: PaymentAttempt, display: ReaderCart) -> None:
        """Show the cart on the reader (best effort: a failure never stops the payment)."""
        if not self.settings.reader_id or attempt.display_key is None:
            return
        try:
            self._ledger.gateway.set_display(self.settings.reader_id,
                                      stripe_cart(display, self.settings.currency),
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
                intent = self._ledger.gateway.retrieve_intent(attempt.payment_intent_id)
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
        at = self._ledger.clock()
        sale_id, amount = attempt.sale_id, attempt.amount_minor
        capture = self.settings.capture
        self._ledger.commit("new", lambda db: attempts.forget_intent(
            db, attempt.id, why="cancelled at Stripe", at=at, reopen=False))
        return self._ledger.commit("locked", lambda db: attempts.lock(
            db, sale_id, amount, capture_method=capture, at=at))

    def _create(self, attempt: PaymentAttempt) -> tuple[PaymentAttempt, dict[str, Any]] | None:
        """Create the PaymentIntent with the committed key. After an unknown answer: look for
        it (list by the sale's metadata), then replay the same key, and only after a saved
        error with nothing found take a fresh key."""
        ledger = self._ledger
        replayed = False
        last: StripeFailure | None = None
        for _ in range(4):
            assert attempt.create_key is not None
            try:
                intent = ledger.gateway.create_intent(
                    amount_minor=attempt.amount_minor, currency=self.settings.currency,
                    capture_method=attempt.capture_method or self.settings.capture,
                    metadata=ledger.metadata(attempt.sale_id),
                    description=f"Sale {attempt.sale_id}", key=attempt.create_key)
            except StripeFailure as failure:
                last = failure
                if not failure.maybe_executed and failure.kind != FailureKind.IDEMPOTENCY:
                    self._create_refused(attempt, failure)
                    return None
                try:
                    found = [found for found in ledger.find_intents_for_sale(
                        attempt.sale_id, _unix(attempt.locked_at) - 300)
                        if found.get("status") != IntentStatus.CANCELED]
                except StripeFailure as look_failure:
                    self._create_unknown(attempt, look_failure)
                    return None
                if found:
                    intent = found[-1]
                    break
                if replayed or failure.kind == FailureKind.IDEMPOTENCY:
                    attempt = ledger.commit("create_key", _new_create_key(attempt.id,
                                                                        ledger.clock()))
                    replayed = False
                else:
                    replayed = True
                continue
            break
        else:
            assert last is not None
            self._create_unknown(attempt, last)
            return None
        at = ledger.clock()
        recorded = ledger.commit("intent_created", lambda db: attempts.record_intent(
            db, attempt.id, intent, at=at))
        return recorded, intent

    def _create_refused(self, attempt: PaymentAttempt, failure: StripeFailure) -> None:
        at = self._ledger.clock()
        if failure.kind == FailureKind.UNREACHABLE:
            # Nothing reached Stripe: keep the key for the next try (a replay is harmless).
            self._ledger.commit("returned", lambda db: attempts.unlock_unresolved_create(
                db, attempt.id, outcome=Outcome.STRIPE_UNREACHABLE.value, at=at))
        else:
            log.error("Stripe refused to create the payment of sale %s: %s",
                      attempt.sale_id, failure)
            self._ledger.commit("new", lambda db: attempts.forget_intent(
                db, attempt.id, why=f"create refused: {failure.code}", at=at))
        self._declined(attempt.sale_id, Outcome.STRIPE_UNREACHABLE)

    def _create_unknown(self, attempt: PaymentAttempt, failure: StripeFailure) -> None:
        """No answer and no way to look: the create stays unresolved (``locked``) but the
        sale reopens: no reader has this sale's PaymentIntent, so no card can be charged."""
        at = self._ledger.clock()
        self._ledger.commit("returned", lambda db: attempts.unlock_unresolved_create(
            db, attempt.id, outcome=Outcome.STRIPE_UNREACHABLE.value, at=at))
        self._declined(attempt.sale_id, _unreachable(failure))

    def _update_amount(self, attempt: PaymentAttempt,
                       intent: dict[str, Any]) -> dict[str, Any] | None:
        """The cart changed since the last try: update the PaymentIntent's amount first."""
        ledger = self._ledger
        at = ledger.clock()
        keyed = ledger.commit("update", lambda db: attempts.mint_key(
            db, attempt.id, Operation.UPDATE, at=at))
        assert keyed.update_key is not None and attempt.payment_intent_id is not None
        try:
            intent = ledger.gateway.update_amount(attempt.payment_intent_id,
                                                attempt.amount_minor, keyed.update_key)
        except StripeFailure as failure:
            try:
                intent = ledger.gateway.retrieve_intent(attempt.payment_intent_id)
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
        ledger.commit("update", lambda db: attempts.record_intent_amount(
            db, attempt.id, amount, at=at))
        return intent

    def _process(self, attempt: PaymentAttempt, intent: dict[str, Any]) -> None:
        """Hand the PaymentIntent to the reader (write-ahead ``processing``), then poll."""
        ledger = self._ledger
        reader_id = self.settings.reader_id
        intent_id = str(intent["id"])
        stale_error = intent.get("last_payment_error")
        last: StripeFailure | None = None
        for _ in range(3):
            attempt = ledger.commit("processing", _processing(attempt.id, reader_id,
                                                            ledger.clock()))
            assert attempt.process_key is not None
            try:
                ledger.gateway.process(reader_id, intent_id, attempt.process_key)
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
            intent = self._ledger.gateway.retrieve_intent(intent_id)
            reader = self._ledger.gateway.retrieve_reader(self.settings.reader_id)
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
        looked = self._look(active, now)
        if looked is None:
            return
        intent, reader = looked
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
            at = self._ledger.clock()
            self._ledger.commit("new", lambda db: attempts.forget_intent(
                db, active.attempt_id, why="cancelled at Stripe while paying", at=at))
            self._active = None
            self._report(active.sale_id, Outcome.CANCELLED_ON_READER)
            return
        if status == IntentStatus.PROCESSING:
            self._authorising(active, now)
            return
        if ours and action_status == "in_progress":
            self._waiting_for_card(active, now)
            return
        self._action_ended(active, intent, action, now)

    def _look(self, active: _ActivePayment,
              now: float) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The PaymentIntent and the reader; ``None`` when the money is taken (settled here)
        or Stripe cannot be asked (given up after ``payment_max_s`` without a change)."""
        try:
            intent = self._ledger.gateway.retrieve_intent(active.intent_id)
            if intent.get("status") in (IntentStatus.SUCCEEDED, IntentStatus.REQUIRES_CAPTURE):
                self._settle(active, intent)  # taken: the reader has nothing more to say
                return None
            reader = self._ledger.gateway.retrieve_reader(active.reader_id)
        except StripeFailure as failure:
            log.info("payment of sale %s: cannot look now: %s", active.sale_id, failure)
            if now - active.changed_at >= self.settings.payment_max_s:
                self._give_up(active, Outcome.STRIPE_UNREACHABLE)
            return None
        return intent, reader

    def _waiting_for_card(self, active: _ActivePayment, now: float) -> None:
        """Our action is in progress on the reader: mind the card-wait timers."""
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

    def _action_ended(self, active: _ActivePayment, intent: dict[str, Any],
                      action: dict[str, Any], now: float) -> None:
        """The PaymentIntent still needs a method and our action is not in progress: a
        decline, a cancel (ours or at the reader), or a process call not landed yet."""
        ours = bool(action)
        action_status = action.get("status")
        status = intent.get("status")
        error = intent.get("last_payment_error")
        if ours and action_status == "failed" and not error:
            # The reader was read after the PaymentIntent: look at the intent again so the
            # decline code (insufficient_funds...) is not lost to the order of two GETs.
            try:
                intent = self._ledger.gateway.retrieve_intent(active.intent_id)
            except StripeFailure:
                return  # the next poll looks again
            error = intent.get("last_payment_error")
        fresh_failure = ours and action_status == "failed" and (
            active.seen or error != active.stale_error)
        if fresh_failure and not active.cancelled and not ended_by_customer(action):
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
        attempt = self._ledger.attempt(active.sale_id)
        assert attempt is not None
        settled, _ = self._ledger.settle_taken(attempt, intent)
        if settled is not None and settled.state == AttemptState.PAID:
            self._paid(active.sale_id)
            return
        if settled is not None and settled.state == AttemptState.ABANDONED:
            self._active = None  # the authorisation was lost at Stripe: the sale ended
            self._report(active.sale_id, Outcome.CANCELLED)
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
        self._recover_at(self._monotonic() + self.settings.probe_s)
        self._unresolved(active.sale_id, outcome)

    def _withdraw(self, active: _ActivePayment, outcome: Outcome) -> None:
        """``cancel_action`` on a payment still waiting for a card. Busy means a card is
        being authorised: wait for it instead."""
        ledger = self._ledger
        active.cancel_requested = True
        active.cancel_outcome = outcome
        at = ledger.clock()
        keyed = ledger.commit("cancel_action", lambda db: attempts.mint_key(
            db, active.attempt_id, Operation.CANCEL_ACTION, at=at))
        assert keyed.cancel_action_key is not None
        try:
            ledger.gateway.cancel_action(active.reader_id, keyed.cancel_action_key)
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
        attempt = self._ledger.attempt(sale_id)
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
            attempt = self._ledger.attempt(sale_id)
            if attempt is not None and attempt.state == AttemptState.PAID:
                return
        if self._current_sale == sale_id:
            self._current_sale = None
        at = self._ledger.clock()
        abandoned = self._ledger.commit("abandoned", lambda db: attempts.record_abandoned(
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


def _unix(stamp: str | None) -> int:
    if stamp is None:
        return 0
    from kiosk.core.timestamps import parse_utc_iso

    return int(parse_utc_iso(stamp).timestamp())
