"""The refunds table: write-ahead refund rows of paid card sales, whatever the provider.

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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from kiosk.core.timestamps import utc_now_iso
from kiosk.payments import attempts
from kiosk.payments.protocol import AttemptState, RefundState
from kiosk.store.db import Refusal, immediate_transaction
from kiosk.store.sales_report import REFUNDS_COUNTED

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
