"""Stripe refunds of paid card sales, write-ahead like payments.

The refund row with its idempotency key is committed (``requested``, `kiosk.payments.refunds`)
before ``POST /v1/refunds``; Stripe's answer is committed as ``submitted``, ``succeeded`` or
``failed``. Recovery resolves refunds left ``requested`` (list the PaymentIntent's refunds and
match our refund id in the metadata, else replay the same key) or ``submitted`` (retrieve).
Amounts are minor units.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from kiosk.core.timestamps import parse_utc_iso
from kiosk.payments import attempts
from kiosk.payments.protocol import KEY_LIFETIME_S, AttemptState, RefundState
from kiosk.payments.refunds import (
    RefundRefused,
    RefundResult,
    RefundRow,
    record_answer,
    record_failed,
    request,
    unresolved,
)
from kiosk.payments.stripe.failures import StripeFailure

if TYPE_CHECKING:
    from kiosk.payments.stripe.ledger import PaymentLedger


def _failed(refund_id: str, error: str, at: datetime) -> Callable[[Database], RefundRow]:
    return lambda db: record_failed(db, refund_id, error, at=at)


def _step(state: RefundState) -> str:
    return f"refund_{state.value}"


def _result(row: RefundRow, code: str | None = None) -> RefundResult:
    codes = {RefundState.SUCCEEDED: "refunded", RefundState.SUBMITTED: "pending",
             RefundState.FAILED: "failed", RefundState.REQUESTED: "outcome_unknown"}
    return RefundResult(code=code or codes[row.state], sale_id=row.sale_id,
                        amount_minor=row.amount_minor, refund_id=row.id, state=row.state,
                        stripe_refund_id=row.stripe_refund_id)


def refund(ledger: PaymentLedger, sale_id: str, amount_minor: int | None,
           requested_by: int | None, *, refund_id: str | None = None) -> RefundResult:
    """Refund a paid sale (all that is left when ``amount_minor`` is ``None``).

    Runs on the payment thread. A sale only authorised (manual capture, not captured) is
    released by cancelling its PaymentIntent instead (``released``).
    """
    at = ledger.clock()
    attempt = ledger.attempt(sale_id)
    if attempt is not None and attempt.state == AttemptState.AUTHORISED:
        return _release(ledger, attempt)
    try:
        row = ledger.commit(_step(RefundState.REQUESTED), lambda db: request(
            db, sale_id, amount_minor, requested_by, at=at, refund_id=refund_id))
    except RefundRefused as refused:
        return RefundResult(code="refused", sale_id=sale_id, amount_minor=amount_minor or 0,
                            reason=refused.reason)
    if row.state != RefundState.REQUESTED:
        return _result(row)
    return _send(ledger, row)


def _send(ledger: PaymentLedger, row: RefundRow) -> RefundResult:
    assert row.payment_intent_id is not None
    metadata = {"refund_id": row.id, "sale_id": row.sale_id,
                "kiosk_id": ledger.settings.kiosk_id, "install_id": ledger.install_id}
    for replay in range(2):
        try:
            answer = ledger.gateway.create_refund(row.payment_intent_id, row.amount_minor,
                                                metadata, row.idempotency_key)
        except StripeFailure as failure:
            if not failure.maybe_executed:
                if failure.status is None:  # never reached Stripe: stays requested
                    return _result(row, "outcome_unknown")
                failed = ledger.commit(_step(RefundState.FAILED),
                                     _failed(row.id, str(failure), ledger.clock()))
                return _result(failed)
            try:
                found = _find(ledger, row)
            except StripeFailure:
                return _result(row, "outcome_unknown")  # stays submitted: recovery looks
            if found is not None:
                return _record(ledger, row, found)
            if replay == 0:
                continue  # same key again: replays the saved answer or executes once
            return _result(row, "outcome_unknown")
        return _record(ledger, row, answer)
    return _result(row, "outcome_unknown")


def _find(ledger: PaymentLedger, row: RefundRow) -> dict[str, Any] | None:
    """The refund of ``row`` at Stripe, or ``None`` when a successful listing shows none.

    A failed listing raises `StripeFailure`: "could not look" must never pass for "not
    there", or a refund that went through could be marked failed and issued again.
    """
    assert row.payment_intent_id is not None
    listed = ledger.gateway.list_refunds(row.payment_intent_id)
    for candidate in listed:
        if (candidate.get("metadata") or {}).get("refund_id") == row.id:
            return candidate
    return None


def _record(ledger: PaymentLedger, row: RefundRow, answer: dict[str, Any]) -> RefundResult:
    at = ledger.clock()
    status = str(answer.get("status"))
    state = (RefundState.SUCCEEDED if status == "succeeded" else RefundState.FAILED
             if status in ("failed", "canceled") else RefundState.SUBMITTED)
    recorded = ledger.commit(_step(state), lambda db: record_answer(db, row.id, answer, at=at))
    return _result(recorded)


def _release(ledger: PaymentLedger, attempt: attempts.PaymentAttempt) -> RefundResult:
    """Cancel an authorisation that was never captured (the money never moved)."""
    at = ledger.clock()
    abandoned = ledger.commit("abandoned", lambda db: attempts.record_abandoned(
        db, attempt.sale_id, "voided", at=at))
    assert abandoned is not None and abandoned.cancel_key is not None
    assert abandoned.payment_intent_id is not None
    try:
        intent = ledger.gateway.cancel_intent(abandoned.payment_intent_id,
                                            abandoned.cancel_key, "requested_by_customer")
    except StripeFailure as failure:
        return RefundResult(code="outcome_unknown", sale_id=attempt.sale_id,
                            amount_minor=attempt.amount_minor, reason=str(failure))
    status = str(intent.get("status"))
    ledger.commit("intent_status", lambda db: attempts.record_intent_status(
        db, abandoned.id, status, at=at))
    return RefundResult(code="released" if status == "canceled" else "outcome_unknown",
                        sale_id=attempt.sale_id, amount_minor=attempt.amount_minor)


def recover(ledger: PaymentLedger, settled: dict[str, str], errors: list[str]) -> None:
    """Resolve refunds left ``requested`` or ``submitted``; fills ``settled`` (refund id ->
    state) and ``errors``."""
    try:
        rows = ledger.read(unresolved)
    except Exception as error:
        errors.append(f"refunds: {error}")
        return
    for row in rows:
        try:
            if row.state == RefundState.SUBMITTED and row.stripe_refund_id:
                answer = ledger.gateway.retrieve_refund(row.stripe_refund_id)
                settled[row.id] = _record(ledger, row, answer).code
                continue
            found = _find(ledger, row)
            if found is not None:
                settled[row.id] = _record(ledger, row, found).code
                continue
            age_s = (ledger.clock() - parse_utc_iso(row.created_at)).total_seconds()
            if age_s >= KEY_LIFETIME_S:
                ledger.commit(_step(RefundState.FAILED),
                            _failed(row.id, "never reached Stripe", ledger.clock()))
                settled[row.id] = "failed"
                continue
            settled[row.id] = _send(ledger, row).code
        except StripeFailure as failure:
            errors.append(f"refund {row.id}: {failure}")
