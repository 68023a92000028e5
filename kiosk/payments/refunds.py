"""Refunds of paid card sales, write-ahead like payments.

A refund row with its idempotency key is committed (``requested``) before ``POST
/v1/refunds``; the insert checks in the same transaction that the refunds of the sale
(requested + submitted + succeeded) never exceed what was captured. Stripe's answer is
committed as ``submitted`` (pending at Stripe), ``succeeded`` (with a ``refund.succeeded``
outbox event and a ``refund_slip`` print job in the same transaction) or ``failed``.
Recovery resolves refunds left ``requested`` (list the PaymentIntent's refunds and match our
refund id in the metadata, else replay the same key) or ``submitted`` (retrieve).
Amounts are minor units.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from kiosk.payments import attempts
from kiosk.payments.protocol import KEY_LIFETIME_S, AttemptState, RefundState
from kiosk.payments.stripe_api import StripeFailure
from kiosk.store.db import Refusal, immediate_transaction, parse_utc_iso, utc_now_iso
from kiosk.store.sales_report import REFUNDS_COUNTED

if TYPE_CHECKING:
    from kiosk.payments.desk import PaymentDesk

log = logging.getLogger(__name__)

_OPEN_STATES = REFUNDS_COUNTED
"""Refund states that count against what is left to refund (requested, submitted, succeeded)."""


@dataclass(frozen=True)
class RefundResult:
    """How a refund request ended.

    ``code``: ``refunded`` (succeeded), ``pending`` (submitted, Stripe will finish it),
    ``outcome_unknown`` (sent, answer lost: recovery resolves it), ``refused`` (see
    ``reason``: ``sale_not_paid``, ``exceeds_captured``, ``nothing_left``, ``bad_amount``),
    ``failed`` (Stripe refused or failed it) or ``released`` (an uncaptured authorisation was
    cancelled instead). ``amount_minor`` in minor units.
    """

    code: str
    sale_id: str
    amount_minor: int
    refund_id: str | None = None
    state: RefundState | None = None
    stripe_refund_id: str | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when the money is going back to the card (refunded, pending or released)."""
        return self.code in ("refunded", "pending", "released")


@dataclass(frozen=True)
class RefundRow:
    """A refund as committed."""

    id: str
    sale_id: str
    amount_minor: int
    state: RefundState
    idempotency_key: str
    stripe_refund_id: str | None
    payment_intent_id: str | None
    created_at: str


class RefundRefused(Refusal):
    """The refund cannot be requested (``reason`` as in `RefundResult`)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


_ROW = ("SELECT id, sale_id, amount_minor, state, idempotency_key, stripe_refund_id, "
        "payment_intent_id, created_at FROM refunds")


def _row(values: tuple[Any, ...]) -> RefundRow:
    data = list(values)
    data[3] = RefundState(data[3])
    return RefundRow(*data)


def get(db: Database, refund_id: str) -> RefundRow | None:
    """One refund row, or ``None``."""
    found = db.execute(f"{_ROW} WHERE id = ?", [refund_id]).fetchone()
    return None if found is None else _row(found)


def unresolved(db: Database) -> list[RefundRow]:
    """Refunds left ``requested`` or ``submitted``, oldest first."""
    rows = db.execute(f"{_ROW} WHERE state IN ('requested', 'submitted') ORDER BY created_at")
    return [_row(found) for found in rows.fetchall()]


def refunded_minor(db: Database, sale_id: str) -> int:
    """What the sale's refunds (requested + submitted + succeeded) add up to, minor units."""
    placeholders = ", ".join("?" for _ in _OPEN_STATES)
    (total,) = db.execute(
        f"SELECT COALESCE(SUM(amount_minor), 0) FROM refunds WHERE sale_id = ? "
        f"AND state IN ({placeholders})", [sale_id, *_OPEN_STATES]).fetchone()
    return int(total)


def _refundable_attempt(db: Database, sale_id: str) -> attempts.PaymentAttempt | None:
    """The sale's attempt if the sale was paid by card (only then can it be refunded)."""
    attempt = attempts.get(db, sale_id)
    if attempt is None or attempt.state != AttemptState.PAID or \
            attempt.payment_intent_id is None:
        return None
    return attempt


def _left(db: Database, attempt: attempts.PaymentAttempt) -> int:
    return max(attempt.captured_minor - refunded_minor(db, attempt.sale_id), 0)


def refundable_minor(db: Database, sale_id: str) -> int:
    """What may still be refunded of the sale, minor units: captured minus its refunds
    (requested + submitted + succeeded), never below 0; 0 for a sale not paid by card.

    The same rule `request` applies inside its transaction.
    """
    attempt = _refundable_attempt(db, sale_id)
    return 0 if attempt is None else _left(db, attempt)


def request(db: Database, sale_id: str, amount_minor: int | None, requested_by: int | None,
            *, at: datetime, refund_id: str | None = None) -> RefundRow:
    """Commit ``requested``: a refund of ``amount_minor`` (``None``: all that is left).

    The cap is checked in the same transaction: captured minus the open refunds. Raises
    `RefundRefused`. With a ``refund_id`` that exists already, returns that row (a retried
    request is the same refund).
    """
    stamp = utc_now_iso(at)
    with immediate_transaction(db):
        if refund_id is not None:
            existing = get(db, refund_id)
            if existing is not None:
                return existing
        attempt = _refundable_attempt(db, sale_id)
        if attempt is None:
            raise RefundRefused("sale_not_paid")
        left = _left(db, attempt)
        amount = left if amount_minor is None else amount_minor
        if amount_minor is not None and amount_minor <= 0:
            raise RefundRefused("bad_amount")
        if left <= 0:
            raise RefundRefused("nothing_left")
        if amount > left:
            raise RefundRefused("exceeds_captured")
        new_id = refund_id or str(uuid.uuid4())
        key = f"{sale_id}:refund:{new_id}"
        db.execute(
            "INSERT INTO refunds (id, sale_id, amount_minor, state, idempotency_key, "
            "requested_by, created_at, updated_at, payment_intent_id) "
            "VALUES (?, ?, ?, 'requested', ?, ?, ?, ?, ?)",
            [new_id, sale_id, amount, key, requested_by, stamp, stamp,
             attempt.payment_intent_id])
        found = get(db, new_id)
        assert found is not None
        return found


def record_answer(db: Database, refund_id: str, refund: dict[str, Any], *,
                  at: datetime) -> RefundRow:
    """Commit Stripe's answer for a refund: ``succeeded`` (with its outbox rows),
    ``submitted`` (pending) or ``failed``. A final row is left as it is."""
    stamp = utc_now_iso(at)
    status = str(refund.get("status"))
    with immediate_transaction(db):
        row = get(db, refund_id)
        assert row is not None
        if row.state in (RefundState.SUCCEEDED, RefundState.FAILED):
            return row
        if status == "succeeded":
            state = RefundState.SUCCEEDED
        elif status in ("failed", "canceled"):
            state = RefundState.FAILED
        else:
            state = RefundState.SUBMITTED
        db.execute(
            "UPDATE refunds SET state = ?, stripe_refund_id = ?, refund_status = ?, error = ?, "
            "updated_at = ? WHERE id = ?",
            [state.value, refund.get("id"), status,
             refund.get("failure_reason") if state == RefundState.FAILED else None,
             stamp, refund_id])
        if state == RefundState.SUCCEEDED:
            payload = {"refund_id": refund_id, "sale_id": row.sale_id,
                       "amount_minor": row.amount_minor, "currency": refund.get("currency"),
                       "stripe_refund_id": refund.get("id"),
                       "payment_intent_id": row.payment_intent_id, "succeeded_at": stamp}
            db.execute(
                "INSERT INTO outbox (event_id, topic, sale_id, payload, created_at) "
                "VALUES (?, 'refund.succeeded', ?, ?, ?)",
                [str(uuid.uuid4()), row.sale_id, json.dumps(payload, sort_keys=True), stamp])
            db.execute(
                "INSERT INTO print_jobs (sale_id, kind, state, created_at, updated_at, "
                "refund_id) VALUES (?, 'refund_slip', 'queued', ?, ?, ?)",
                [row.sale_id, stamp, stamp, refund_id])
        found = get(db, refund_id)
        assert found is not None
        return found


def record_failed(db: Database, refund_id: str, error: str, *, at: datetime) -> RefundRow:
    """Commit ``failed`` with Stripe's refusal (nothing was refunded)."""
    with immediate_transaction(db):
        db.execute(
            "UPDATE refunds SET state = 'failed', error = ?, updated_at = ? WHERE id = ? "
            "AND state IN ('requested', 'submitted')", [error, utc_now_iso(at), refund_id])
        found = get(db, refund_id)
        assert found is not None
        return found


# ----------------------------------------------------------------------------- flows


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


def refund(desk: PaymentDesk, sale_id: str, amount_minor: int | None,
           requested_by: int | None, *, refund_id: str | None = None) -> RefundResult:
    """Refund a paid sale (all that is left when ``amount_minor`` is ``None``).

    Runs on the payment thread. A sale only authorised (manual capture, not captured) is
    released by cancelling its PaymentIntent instead (``released``).
    """
    at = desk.clock()
    attempt = desk.attempt(sale_id)
    if attempt is not None and attempt.state == AttemptState.AUTHORISED:
        return _release(desk, attempt)
    try:
        row = desk.commit(_step(RefundState.REQUESTED), lambda db: request(
            db, sale_id, amount_minor, requested_by, at=at, refund_id=refund_id))
    except RefundRefused as refused:
        return RefundResult(code="refused", sale_id=sale_id, amount_minor=amount_minor or 0,
                            reason=refused.reason)
    if row.state != RefundState.REQUESTED:
        return _result(row)
    return _send(desk, row)


def _send(desk: PaymentDesk, row: RefundRow) -> RefundResult:
    assert row.payment_intent_id is not None
    metadata = {"refund_id": row.id, "sale_id": row.sale_id,
                "kiosk_id": desk.settings.kiosk_id, "install_id": desk.install_id}
    for replay in range(2):
        try:
            answer = desk.gateway.create_refund(row.payment_intent_id, row.amount_minor,
                                                metadata, row.idempotency_key)
        except StripeFailure as failure:
            if not failure.maybe_executed:
                if failure.status is None:  # never reached Stripe: stays requested
                    return _result(row, "outcome_unknown")
                failed = desk.commit(_step(RefundState.FAILED),
                                     _failed(row.id, str(failure), desk.clock()))
                return _result(failed)
            try:
                found = _find(desk, row)
            except StripeFailure:
                return _result(row, "outcome_unknown")  # stays submitted: recovery looks
            if found is not None:
                return _record(desk, row, found)
            if replay == 0:
                continue  # same key again: replays the saved answer or executes once
            return _result(row, "outcome_unknown")
        return _record(desk, row, answer)
    return _result(row, "outcome_unknown")


def _find(desk: PaymentDesk, row: RefundRow) -> dict[str, Any] | None:
    """The refund of ``row`` at Stripe, or ``None`` when a successful listing shows none.

    A failed listing raises `StripeFailure`: "could not look" must never pass for "not
    there", or a refund that went through could be marked failed and issued again.
    """
    assert row.payment_intent_id is not None
    listed = desk.gateway.list_refunds(row.payment_intent_id)
    for candidate in listed:
        if (candidate.get("metadata") or {}).get("refund_id") == row.id:
            return candidate
    return None


def _record(desk: PaymentDesk, row: RefundRow, answer: dict[str, Any]) -> RefundResult:
    at = desk.clock()
    status = str(answer.get("status"))
    state = (RefundState.SUCCEEDED if status == "succeeded" else RefundState.FAILED
             if status in ("failed", "canceled") else RefundState.SUBMITTED)
    recorded = desk.commit(_step(state), lambda db: record_answer(db, row.id, answer, at=at))
    return _result(recorded)


def _release(desk: PaymentDesk, attempt: attempts.PaymentAttempt) -> RefundResult:
    """Cancel an authorisation that was never captured (the money never moved)."""
    at = desk.clock()
    abandoned = desk.commit("abandoned", lambda db: attempts.record_abandoned(
        db, attempt.sale_id, "voided", at=at))
    assert abandoned is not None and abandoned.cancel_key is not None
    assert abandoned.payment_intent_id is not None
    try:
        intent = desk.gateway.cancel_intent(abandoned.payment_intent_id,
                                            abandoned.cancel_key, "requested_by_customer")
    except StripeFailure as failure:
        return RefundResult(code="outcome_unknown", sale_id=attempt.sale_id,
                            amount_minor=attempt.amount_minor, reason=str(failure))
    status = str(intent.get("status"))
    desk.commit("intent_status", lambda db: attempts.record_intent_status(
        db, abandoned.id, status, at=at))
    return RefundResult(code="released" if status == "canceled" else "outcome_unknown",
                        sale_id=attempt.sale_id, amount_minor=attempt.amount_minor)


def recover(desk: PaymentDesk, settled: dict[str, str], errors: list[str]) -> None:
    """Resolve refunds left ``requested`` or ``submitted``; fills ``settled`` (refund id ->
    state) and ``errors``."""
    try:
        rows = desk.read(unresolved)
    except Exception as error:
        errors.append(f"refunds: {error}")
        return
    for row in rows:
        try:
            if row.state == RefundState.SUBMITTED and row.stripe_refund_id:
                answer = desk.gateway.retrieve_refund(row.stripe_refund_id)
                settled[row.id] = _record(desk, row, answer).code
                continue
            found = _find(desk, row)
            if found is not None:
                settled[row.id] = _record(desk, row, found).code
                continue
            age_s = (desk.clock() - parse_utc_iso(row.created_at)).total_seconds()
            if age_s >= KEY_LIFETIME_S:
                desk.commit(_step(RefundState.FAILED),
                            _failed(row.id, "never reached Stripe", desk.clock()))
                settled[row.id] = "failed"
                continue
            settled[row.id] = _send(desk, row).code
        except StripeFailure as failure:
            errors.append(f"refund {row.id}: {failure}")
