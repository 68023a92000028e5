"""Recovery and reconciliation: settling every payment the kiosk left unfinished.

Runs on the payment thread: at boot (before the attract screen), periodically while idle, and
for ``kiosk reconcile``. Each local attempt that is not final is resolved against Stripe by the
rules of docs/PAYMENTS.md ("On restart"); then PaymentIntents carrying this database's
``install_id`` are compared with the local sales (orphans recorded, captured or cancelled);
refunds left ``requested`` or ``submitted`` are resolved. Every step is bounded by a deadline
(real seconds) and never creates a second PaymentIntent for a sale.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeGuard

from kiosk.core.timestamps import parse_utc_iso
from kiosk.payments import attempts
from kiosk.payments.attempts import PaymentAttempt
from kiosk.payments.outcomes import Outcome
from kiosk.payments.protocol import (
    ADOPT_WINDOW_S,
    FINAL_INTENT_STATUSES,
    KEY_LIFETIME_S,
    AttemptState,
    IntentStatus,
    Operation,
)
from kiosk.payments.reports import ReconcileReport, RecoveryReport
from kiosk.payments.stripe import refund_flow
from kiosk.payments.stripe.failures import FailureKind, StripeFailure, ended_by_customer
from kiosk.payments.stripe.ledger import PaymentLedger
from kiosk.payments.stripe.sweep import SWEEP_MAX_PAGES, OrphanSweep

log = logging.getLogger(__name__)

VOIDED = "voided"
"""The abandon reason of a sale staff voided: its authorisation is released, not captured."""


class Recovery:
    """Settles unfinished payments through a `PaymentLedger`.

    ``skip`` returns the sale id the live payment flow is driving right now (left alone).
    ``wait`` sleeps up to its argument in seconds (an `threading.Event.wait` in production).
    """

    def __init__(self, ledger: PaymentLedger, *, skip: Callable[[], str | None] = lambda: None,
                 wait: Callable[[float], object] | None = None) -> None:
        self.ledger = ledger
        self.skip = skip
        self._wait = wait or threading.Event().wait
        self.sweep = OrphanSweep(ledger, self.check_listed)
        """The bounded sweep for PaymentIntents no local attempt holds."""

    # --------------------------------------------------------------------- entry points

    def run(self, timeout_s: float, *, orphans_since: datetime | None = None,
            report: RecoveryReport | None = None,
            sweep_pages: int = SWEEP_MAX_PAGES) -> RecoveryReport:
        """One bounded pass: local attempts (each looked up by id), then orphan intents,
        then refunds. Orphans: with ``orphans_since`` (``kiosk reconcile``) every
        PaymentIntent created since then is listed; else up to ``sweep_pages`` list calls of
        the bounded sweep (`kiosk.payments.stripe.sweep`; 0: none)."""
        report = report if report is not None else RecoveryReport()
        deadline = time.monotonic() + timeout_s
        try:
            pending = self.ledger.read(attempts.unresolved)
        except Exception as error:  # the store is unusable: nothing can be settled
            report.errors.append(f"store: {error}")
            report.timed_out = True
            return report
        for attempt in pending:
            if attempt.sale_id == self.skip():
                continue
            if time.monotonic() > deadline:
                report.timed_out = True
                report.unresolved.append(attempt.sale_id)
                continue
            report.checked += 1
            self._resolve_into(attempt, deadline, report)
        if time.monotonic() > deadline:
            report.timed_out = True
        elif orphans_since is not None:
            self.scan_intents(orphans_since, deadline, report)
        elif sweep_pages > 0:
            self.sweep.step(report, sweep_pages)
        if time.monotonic() <= deadline:
            refund_flow.recover(self.ledger, report.refunds, report.errors)
        else:
            report.timed_out = True
        return report

    def resolve(self, attempt: PaymentAttempt, deadline: float) -> PaymentAttempt | None:
        """Settle one attempt (see the module); returns it settled, or ``None`` if still in
        doubt at ``deadline`` (``time.monotonic()`` seconds) or Stripe cannot be reached."""
        try:
            return self._resolve(attempt, deadline)
        except StripeFailure as failure:
            log.warning("payment of sale %s unresolved: %s", attempt.sale_id, failure)
            return None

    # --------------------------------------------------------------------- attempts

    def _resolve_into(self, attempt: PaymentAttempt, deadline: float,
                      report: RecoveryReport) -> None:
        before_paid = attempt.state == AttemptState.PAID
        settled = self.resolve(attempt, deadline)
        if settled is None:
            report.unresolved.append(attempt.sale_id)
            return
        report.resolved[attempt.sale_id] = settled.state.value
        if settled.state == AttemptState.PAID and not before_paid:
            report.paid.append(attempt.sale_id)

    def _resolve(self, attempt: PaymentAttempt, deadline: float) -> PaymentAttempt | None:
        if attempt.state == AttemptState.PAID:
            return attempt
        if attempt.state == AttemptState.ABANDONED:
            return self.cancel_abandoned(attempt, deadline)
        if attempt.state == AttemptState.LOCKED:
            located = self._locate_created(attempt)
            if located is None or located.payment_intent_id is None:
                return located
            attempt = located
        ended = self._ended_sale(attempt)
        if ended is not None:
            return self.cancel_abandoned(ended, deadline)
        if attempt.state == AttemptState.AUTHORISED:
            settled, _ = self.ledger.capture(attempt)
            return settled
        if attempt.state in (AttemptState.INTENT_CREATED, AttemptState.PROCESSING):
            return self._settle_intent(attempt, deadline)
        return attempt

    def _locate_created(self, attempt: PaymentAttempt) -> PaymentAttempt | None:
        """``locked``: replay the create with the same key (within its 24 h), which answers
        the PaymentIntent a lost create made; list the sale's PaymentIntents only when the
        replay leaves it in doubt or the key is too old to replay."""
        ledger = self.ledger
        locked_at = parse_utc_iso(attempt.locked_at or attempt.created_at)
        at = ledger.clock()
        if attempt.create_key is not None and \
                (at - locked_at).total_seconds() < KEY_LIFETIME_S:
            try:
                intent = self._create(attempt, attempt.create_key)
            except StripeFailure as failure:
                if not failure.maybe_executed and failure.kind != FailureKind.IDEMPOTENCY:
                    # A definite saved error for this key: the create made nothing.
                    return ledger.commit("new", lambda db: attempts.forget_intent(
                        db, attempt.id, why="no intent was created", at=at))
                # No answer, a 5xx (Stripe may have acted, then failed), 409 (the first
                # create still runs) or the key used with other parameters: look at the
                # sale's PaymentIntents.
            else:
                return ledger.commit("intent_created", lambda db: attempts.record_intent(
                    db, attempt.id, intent, at=at))
            found = self._listed_for(attempt, locked_at)
            if not found:
                return None  # still in doubt: the next pass looks again
        else:
            found = self._listed_for(attempt, locked_at)
            if not found:
                return ledger.commit("new", lambda db: attempts.forget_intent(
                    db, attempt.id, why="no intent was created", at=at))
        intent = found[-1]  # the oldest: the first create that got through
        return ledger.commit("intent_created", lambda db: attempts.record_intent(
            db, attempt.id, intent, at=at))

    def _listed_for(self, attempt: PaymentAttempt, locked_at: datetime) -> list[dict[str, Any]]:
        """The sale's PaymentIntents not cancelled, listed since ``locked_at`` minus a margin."""
        since = int(locked_at.timestamp()) - ADOPT_WINDOW_S
        return [intent for intent in self.ledger.find_intents_for_sale(attempt.sale_id, since)
                if intent.get("status") != IntentStatus.CANCELED]

    def _create(self, attempt: PaymentAttempt, key: str) -> dict[str, Any]:
        ledger = self.ledger
        return ledger.gateway.create_intent(
            amount_minor=attempt.amount_minor, currency=ledger.settings.currency,
            capture_method=attempt.capture_method or ledger.settings.capture,
            metadata=ledger.metadata(attempt.sale_id), description=f"Sale {attempt.sale_id}",
            key=key)

    def _ended_sale(self, attempt: PaymentAttempt) -> PaymentAttempt | None:
        """The attempt committed ``abandoned`` when its sale was closed unpaid while the
        payment side did not know yet (a kill between the sale's close and the payment's
        abandon); ``None`` while the sale is open, locked or paid."""
        ledger = self.ledger
        reason = ledger.read(lambda db: attempts.close_reason(db, attempt.sale_id))
        if reason is None:
            return None
        at = ledger.clock()
        return ledger.commit("abandoned", lambda db: attempts.record_abandoned(
            db, attempt.sale_id, reason, at=at))

    def _settle_intent(self, attempt: PaymentAttempt, deadline: float) -> PaymentAttempt | None:
        """``intent_created`` / ``processing``: look at the PaymentIntent and the reader."""
        ledger = self.ledger
        assert attempt.payment_intent_id is not None
        intent_id = attempt.payment_intent_id
        reader_id = attempt.reader_id or ledger.settings.reader_id
        cancelled_action = False
        while True:
            intent = ledger.gateway.retrieve_intent(intent_id)
            status = intent.get("status")
            if status in (IntentStatus.SUCCEEDED, IntentStatus.REQUIRES_CAPTURE):
                settled, _ = ledger.settle_taken(attempt, intent)
                return settled
            if status == IntentStatus.CANCELED:
                return ledger.commit("new", _forget(attempt.id, "the intent was cancelled",
                                                  ledger.clock()))
            if status != IntentStatus.PROCESSING:
                reader = ledger.gateway.retrieve_reader(reader_id) if reader_id else {}
                action = reader.get("action")
                if (not cancelled_action and action_is_for(action, intent_id)
                        and action.get("status") == "in_progress"):
                    # Waiting for a card nobody will present now: withdraw it (the reader's
                    # current action was compared with our PaymentIntent first).
                    outcome = self._cancel_action(attempt, reader_id)
                    if outcome == "busy":
                        if not self._pause(deadline):
                            return None
                        continue
                    if outcome == "unknown":
                        return None
                    cancelled_action = True
                    continue
                decline = (intent.get("last_payment_error") or {}).get("decline_code")
                if action_is_for(action, intent_id) and action.get("status") == "failed" and \
                        action.get("failure_code") is not None and \
                        not ended_by_customer(action):
                    outcome_code, code = Outcome.CARD_DECLINED, decline or action.get(
                        "failure_code")
                else:
                    outcome_code, code = Outcome.CANCELLED, None
                return ledger.commit("returned", _returned(
                    attempt.id, outcome_code, code, str(status), ledger.clock()))
            if not self._pause(deadline):
                return None

    def _cancel_action(self, attempt: PaymentAttempt, reader_id: str) -> str:
        ledger = self.ledger
        at = ledger.clock()
        keyed = ledger.commit("cancel_action", lambda db: attempts.mint_key(
            db, attempt.id, Operation.CANCEL_ACTION, at=at))
        assert keyed.cancel_action_key is not None
        try:
            ledger.gateway.cancel_action(reader_id, keyed.cancel_action_key)
        except StripeFailure as failure:
            if failure.kind == FailureKind.READER_BUSY:
                return "busy"
            return "unknown"
        return "done"

    def _pause(self, deadline: float) -> bool:
        """Wait one poll interval; False when that would pass ``deadline``."""
        interval = self.ledger.settings.poll_interval_s
        if time.monotonic() + interval > deadline:
            return False
        self._wait(interval)
        return True

    def cancel_abandoned(self, attempt: PaymentAttempt,
                         deadline: float) -> PaymentAttempt | None:
        """``abandoned``: settle the PaymentIntent by the reason the sale ended (one rule for
        both capture modes). Money taken ends paid (the card wins): ``succeeded`` is recorded
        paid, and ``requires_capture`` is captured and recorded paid, unless staff voided the
        sale: then the authorisation is released (cancelled) with an anomaly audit row
        ``payment.authorisation_voided``. A PaymentIntent still needing a method is
        cancelled."""
        ledger = self.ledger
        intent_id = attempt.payment_intent_id
        if intent_id is None or attempt.intent_status in FINAL_INTENT_STATUSES:
            return attempt
        intent = ledger.gateway.retrieve_intent(intent_id)
        status = intent.get("status")
        at = ledger.clock()
        if status == IntentStatus.SUCCEEDED:
            return ledger.record_paid(attempt, intent)[0]
        if status == IntentStatus.REQUIRES_CAPTURE and abandon_reason(attempt) != VOIDED:
            return ledger.settle_taken(attempt, intent)[0]
        if status == IntentStatus.CANCELED:
            ledger.commit("intent_status", lambda db: attempts.record_intent_status(
                db, attempt.id, IntentStatus.CANCELED.value, at=at))
            return ledger.attempt(attempt.sale_id)
        if status == IntentStatus.PROCESSING:
            return None  # an authorisation in flight: never cancelled blindly
        reader_id = attempt.reader_id or ledger.settings.reader_id
        if reader_id:
            reader = ledger.gateway.retrieve_reader(reader_id)
            action = reader.get("action")
            if action_is_for(action, intent_id) and action.get("status") == "in_progress" \
                    and self._cancel_action(attempt, reader_id) != "done":
                return None
        return self._cancel_for_abandon(attempt, intent, at)

    def _cancel_for_abandon(self, attempt: PaymentAttempt, intent: dict[str, Any],
                            at: datetime) -> PaymentAttempt | None:
        """Cancel an abandoned sale's PaymentIntent (a voided authorisation is an anomaly)."""
        ledger = self.ledger
        intent_id = str(intent["id"])
        released = intent.get("status") == IntentStatus.REQUIRES_CAPTURE
        assert attempt.cancel_key is not None
        try:
            intent = ledger.gateway.cancel_intent(intent_id, attempt.cancel_key, "abandoned")
        except StripeFailure as failure:
            if failure.kind != FailureKind.INVALID_STATE:
                raise
            intent = ledger.gateway.retrieve_intent(intent_id)
            if intent.get("status") == IntentStatus.SUCCEEDED:
                settled, _ = ledger.record_paid(attempt, intent)
                return settled
        final_status = str(intent.get("status"))
        if final_status not in FINAL_INTENT_STATUSES:
            return None
        ledger.commit("intent_status", lambda db: attempts.record_intent_status(
            db, attempt.id, final_status, at=at))
        if released and final_status == IntentStatus.CANCELED:
            detail = {"sale_id": attempt.sale_id, "payment_intent": intent_id,
                      "amount_minor": intent.get("amount"), "action": "cancelled"}
            ledger.commit("intent_status", lambda db: attempts.record_anomaly(
                db, "authorisation_voided", detail, at=at))
        return ledger.attempt(attempt.sale_id)

    # --------------------------------------------------------------------- orphans

    def scan_intents(self, since: datetime, deadline: float, report: RecoveryReport) -> None:
        """Compare PaymentIntents created since ``since`` with the local sales (see the
        orphan rules in docs/PAYMENTS.md); acts only on those with this install id."""
        ledger = self.ledger
        try:
            intents = ledger.list_intents(int(since.timestamp()))
        except StripeFailure as failure:
            report.errors.append(f"listing payment intents: {failure}")
            return
        if isinstance(report, ReconcileReport):
            report.intents_checked = len(intents)
        for intent in intents:
            if time.monotonic() > deadline:
                report.timed_out = True
                return
            self.check_listed(intent, report)

    def check_listed(self, intent: dict[str, Any], report: RecoveryReport) -> None:
        """Apply the orphan rules to one listed PaymentIntent (only to this install's)."""
        if not self.ledger.is_ours(intent):
            report.foreign.append(intent["id"])
            return
        if isinstance(report, ReconcileReport):
            report.ours += 1
        sale_id = (intent.get("metadata") or {}).get("sale_id", "")
        if sale_id and sale_id == self.skip():
            return
        try:
            self._check_intent(intent, sale_id, report)
        except StripeFailure as failure:
            report.errors.append(f"{intent['id']}: {failure}")

    def _check_intent(self, intent: dict[str, Any], sale_id: str,
                      report: RecoveryReport) -> None:
        ledger = self.ledger
        status = intent.get("status")
        intent_id = intent["id"]
        local = ledger.read(lambda db: attempts.by_intent(db, intent_id))
        if local is not None:
            self._check_known(intent, local, report)
            return
        sale_known = bool(sale_id) and ledger.read(lambda db: attempts.sale_exists(db, sale_id))
        at = ledger.clock()
        if not sale_known:
            if status in (IntentStatus.REQUIRES_CAPTURE, IntentStatus.REQUIRES_PAYMENT_METHOD,
                          IntentStatus.REQUIRES_CONFIRMATION, IntentStatus.REQUIRES_ACTION):
                self._cancel(intent_id, f"orphan:{intent_id}", report)
                self._anomaly("intent_without_sale", intent, "cancelled", report, at)
            elif status == IntentStatus.SUCCEEDED:
                self._anomaly("money_without_sale", intent, "needs_staff", report, at)
            return
        attempt = ledger.attempt(sale_id)
        if status in (IntentStatus.SUCCEEDED, IntentStatus.REQUIRES_CAPTURE):
            if attempt is not None and attempt.state == AttemptState.PAID:
                # The sale is already paid with another PaymentIntent.
                if status == IntentStatus.REQUIRES_CAPTURE:
                    self._cancel(intent_id, f"duplicate:{intent_id}", report, "duplicate")
                    self._anomaly("second_authorisation", intent, "cancelled", report, at)
                else:
                    self._anomaly("sale_paid_twice", intent, "needs_staff", report, at)
                return
            capture_method = str(intent.get("capture_method") or ledger.settings.capture)
            adopted = ledger.commit("intent_created", lambda db: attempts.adopt_intent(
                db, sale_id, intent, capture_method=capture_method, at=at))
            report.adopted.append(intent_id)
            settled, recorded = ledger.settle_taken(adopted, intent)
            if settled is not None and recorded:
                report.paid.append(sale_id)
                report.resolved[sale_id] = settled.state.value
            elif settled is None:
                report.unresolved.append(sale_id)
            return
        if status in FINAL_INTENT_STATUSES or status == IntentStatus.PROCESSING:
            return
        # A PaymentIntent that still needs a method and is not the sale's: a duplicate.
        if attempt is not None and attempt.state == AttemptState.LOCKED and \
                attempt.payment_intent_id is None:
            return  # the lost create of a locked attempt: resolving the attempt adopts it
        self._cancel(intent_id, f"duplicate:{intent_id}", report, "duplicate")

    def _check_known(self, intent: dict[str, Any], local: PaymentAttempt,
                     report: RecoveryReport) -> None:
        """A PaymentIntent recorded here: settle money taken, apply the capture age rule."""
        ledger = self.ledger
        status = intent.get("status")
        if local.state == AttemptState.PAID or local.sale_id in report.resolved:
            return
        if status == IntentStatus.SUCCEEDED:
            paid, recorded = ledger.record_paid(local, intent)
            if recorded:
                report.paid.append(local.sale_id)
                report.resolved[local.sale_id] = paid.state.value
            return
        if status != IntentStatus.REQUIRES_CAPTURE:
            return
        # An authorisation with a local attempt is captured, never cancelled (a voided sale
        # excepted: `cancel_abandoned`). Only a sale still open and younger than the capture
        # age is left alone: its customer may be paying it now, and Pay captures it.
        if local.state == AttemptState.ABANDONED:
            settled = self.cancel_abandoned(local, time.monotonic() + 5)
        else:
            age_s = ledger.clock().timestamp() - float(intent.get("created") or 0)
            if local.sale_state == "open" and age_s <= ledger.settings.capture_max_age_s:
                return
            settled, _ = ledger.settle_taken(local, intent)
        if settled is not None and settled.state == AttemptState.PAID:
            report.captured.append(intent["id"])
            report.paid.append(local.sale_id)
            report.resolved[local.sale_id] = settled.state.value
        elif settled is None:
            report.unresolved.append(local.sale_id)

    def _cancel(self, intent_id: str, key: str, report: RecoveryReport,
                reason: str = "abandoned") -> None:
        try:
            self.ledger.gateway.cancel_intent(intent_id, key, reason)
        except StripeFailure as failure:
            report.errors.append(f"cancelling {intent_id}: {failure}")
            return
        report.cancelled.append(intent_id)

    def _anomaly(self, what: str, intent: dict[str, Any], action: str,
                 report: RecoveryReport, at: datetime) -> None:
        detail = {"payment_intent": intent["id"], "status": intent.get("status"),
                  "amount_minor": intent.get("amount"), "metadata": intent.get("metadata"),
                  "action": action}
        self.ledger.commit("intent_status", lambda db: attempts.record_anomaly(
            db, what, detail, at=at))
        report.anomalies.append({"what": what, **detail})


def _forget(attempt_id: str, why: str, at: datetime) -> Callable[[Any], PaymentAttempt]:
    return lambda db: attempts.forget_intent(db, attempt_id, why=why, at=at)


def _returned(attempt_id: str, outcome: Outcome, decline_code: str | None, status: str,
              at: datetime) -> Callable[[Any], PaymentAttempt]:
    return lambda db: attempts.return_to_customer(
        db, attempt_id, outcome=outcome.value, decline_code=decline_code, at=at,
        intent_status=status)


def abandon_reason(attempt: PaymentAttempt) -> str | None:
    """Why an ``abandoned`` attempt's sale ended (``voided``, ``idle_timeout``...), as
    committed by `kiosk.payments.attempts.record_abandoned`."""
    try:
        detail = json.loads(attempt.detail) if attempt.detail else {}
    except ValueError:
        return None
    reason = detail.get("abandoned") if isinstance(detail, dict) else None
    return str(reason) if reason is not None else None


def action_is_for(action: Any, intent_id: str) -> TypeGuard[dict[str, Any]]:
    """True when a reader ``action`` is a ``process_payment_intent`` for ``intent_id``."""
    if not isinstance(action, dict) or action.get("type") != "process_payment_intent":
        return False
    process = action.get("process_payment_intent") or {}
    return bool(process.get("payment_intent") == intent_id)
