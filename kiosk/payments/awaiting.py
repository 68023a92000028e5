"""Payments and refunds the kiosk has not settled yet, for the staff menu.

These are exactly what payment recovery (at boot and periodically) would still try to settle:
attempts that are `kiosk.payments.attempts.PaymentAttempt.unresolved` and refunds left
``requested`` or ``submitted``. Staff see them to answer a customer ("was I charged?") and to
know why the kiosk asks for help. Read-only; works on any connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from kiosk.core.timestamps import parse_utc_iso
from kiosk.payments import attempts, refunds
from kiosk.store.sales_report import RefundView


@dataclass(frozen=True)
class AwaitingPayment:
    """A card payment whose outcome is not settled yet.

    ``attempt_state`` is the attempt's state (see `kiosk.payments.protocol.AttemptState`);
    ``amount_minor`` what the customer was asked to pay (minor units); ``updated_at`` the
    attempt's last change (aware UTC); ``note`` what the kiosk knows about why (the last
    outcome, decline code and recorded detail), or ``""``.
    """

    sale_id: str
    sale_number: int | None
    attempt_state: str
    amount_minor: int
    payment_intent_id: str | None
    updated_at: datetime
    note: str


def _note(attempt: attempts.PaymentAttempt) -> str:
    parts: list[str] = []
    if attempt.outcome:
        parts.append(f"last outcome: {attempt.outcome}")
    if attempt.decline_code:
        parts.append(f"decline code: {attempt.decline_code}")
    if attempt.detail:
        try:
            detail = json.loads(attempt.detail)
        except ValueError:
            detail = attempt.detail
        if isinstance(detail, dict):
            parts.extend(f"{key}: {value}" for key, value in sorted(detail.items()))
        else:
            parts.append(str(detail))
    return "; ".join(parts)


def _sale_number(db: Database, sale_id: str) -> int | None:
    row = db.conn.execute("SELECT number FROM sales WHERE id = ?", [sale_id]).fetchone()
    return None if row is None else int(row[0])


def payments_awaiting_recovery(db: Database) -> list[AwaitingPayment]:
    """Every card payment recovery would still settle, oldest first."""
    return [
        AwaitingPayment(
            sale_id=attempt.sale_id,
            sale_number=_sale_number(db, attempt.sale_id),
            attempt_state=attempt.state.value,
            amount_minor=attempt.amount_minor,
            payment_intent_id=attempt.payment_intent_id,
            updated_at=parse_utc_iso(attempt.updated_at),
            note=_note(attempt),
        )
        for attempt in attempts.unresolved(db)
    ]


def refunds_awaiting_recovery(db: Database) -> list[RefundView]:
    """Every refund left ``requested`` or ``submitted``, oldest first."""
    return [
        RefundView(refund_id=row.id, amount_minor=row.amount_minor, state=row.state.value,
                   created_at=parse_utc_iso(row.created_at), sale_id=row.sale_id)
        for row in refunds.unresolved(db)
    ]
