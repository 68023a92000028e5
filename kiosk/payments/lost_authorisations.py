"""Authorisations lost at the card provider: recorded once, shown to staff until acknowledged.

When a sale's uncaptured authorisation is cancelled at the provider (it expired, or someone
cancelled it in the provider's dashboard), the payment is final: the attempt and the sale are
committed ``abandoned`` with the reason `LOST_REASON`, and an anomaly audit row
``payment.authorisation_lost`` (with the amount) is written in the same transaction; like
every audit row it is an ``audit.recorded`` event for the back office (docs/SYNC.md). The
staff menu lists such sales (`authorisations_lost`) until a staff member acknowledges each
one (`acknowledge`, itself an audit row). The acknowledgement lives in the attempt's
``detail``, so nothing here needs a table of its own. Functions take the store worker's
connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from kiosk.core.timestamps import parse_utc_iso, utc_now_iso
from kiosk.store import audit
from kiosk.store.db import immediate_transaction

LOST_REASON = "authorisation_cancelled_at_stripe"
"""Why the attempt and the sale ended (``payment_attempts.detail.abandoned`` and
``sales.close_reason``)."""

ANOMALY = "payment.authorisation_lost"
"""The audit action (outcome ``anomaly``) recorded when an authorisation is lost."""


@dataclass(frozen=True)
class LostAuthorisation:
    """A sale whose authorisation was cancelled at the provider, not yet acknowledged.

    ``amount_minor`` is what the customer was asked to pay (minor units); ``lost_at`` when the
    kiosk found out (aware UTC).
    """

    sale_id: str
    sale_number: int | None
    amount_minor: int
    payment_intent_id: str | None
    lost_at: datetime


def record_lost(db: Database, attempt_id: str, *, at: datetime) -> bool:
    """Commit the attempt and its sale ``abandoned`` (reason `LOST_REASON`) with the anomaly.

    Returns ``False`` (nothing written) when the attempt is already paid or already lost.
    """
    stamp = utc_now_iso(at)
    with immediate_transaction(db):
        row = db.execute(
            "SELECT sale_id, state, amount_minor, payment_intent_id, detail "
            "FROM payment_attempts WHERE id = ?",
            [attempt_id],
        ).fetchone()
        if row is None:
            raise LookupError(f"no payment attempt {attempt_id}")
        sale_id, state, amount_minor, intent_id, detail_text = row
        detail = _detail(detail_text)
        if state == "paid" or detail.get("abandoned") == LOST_REASON:
            return False
        detail.update(abandoned=LOST_REASON, lost_at=stamp)
        db.execute(
            "UPDATE payment_attempts SET state = 'abandoned', intent_status = 'canceled', "
            "detail = ?, updated_at = ? WHERE id = ?",
            [json.dumps(detail, sort_keys=True), stamp, attempt_id],
        )
        db.execute(
            "UPDATE sales SET state = 'abandoned', close_reason = ?, closed_at = ?, "
            "updated_at = ? WHERE id = ? AND state IN ('open', 'locked')",
            [LOST_REASON, stamp, stamp, sale_id],
        )
        audit.record(
            db,
            at=at,
            action=ANOMALY,
            outcome="anomaly",
            detail={
                "sale_id": sale_id,
                "payment_intent": intent_id,
                "amount_minor": amount_minor,
                "reason": LOST_REASON,
            },
        )
    return True


def authorisations_lost(db: Database) -> list[LostAuthorisation]:
    """Every lost authorisation no staff member has acknowledged yet, oldest first."""
    rows = db.execute(
        "SELECT a.sale_id, s.number, a.amount_minor, a.payment_intent_id, a.detail "
        "FROM payment_attempts a JOIN sales s ON s.id = a.sale_id "
        "WHERE a.state = 'abandoned' AND json_extract(a.detail, '$.abandoned') = ? "
        "AND json_extract(a.detail, '$.acknowledged_at') IS NULL ORDER BY a.updated_at",
        [LOST_REASON],
    ).fetchall()
    return [
        LostAuthorisation(
            sale_id=sale_id,
            sale_number=number,
            amount_minor=int(amount),
            payment_intent_id=intent_id,
            lost_at=parse_utc_iso(_detail(detail)["lost_at"]),
        )
        for sale_id, number, amount, intent_id, detail in rows
    ]


def acknowledge(db: Database, sale_id: str, *, staff_number: int | None, at: datetime) -> bool:
    """A staff member saw the lost authorisation of ``sale_id``: stop showing it. One audit
    row ``payment.authorisation_lost_acknowledged`` either way (outcome ``ok`` or
    ``nothing_to_acknowledge``).

    Returns ``False`` when there is no unacknowledged lost authorisation for the sale.
    """
    stamp = utc_now_iso(at)
    with immediate_transaction(db):
        row = db.execute(
            "SELECT id, detail FROM payment_attempts WHERE sale_id = ?", [sale_id]
        ).fetchone()
        detail = _detail(row[1]) if row is not None else {}
        found = detail.get("abandoned") == LOST_REASON and not detail.get("acknowledged_at")
        if found:
            detail.update(acknowledged_at=stamp, acknowledged_by=staff_number)
            db.execute(
                "UPDATE payment_attempts SET detail = ? WHERE id = ?",
                [json.dumps(detail, sort_keys=True), row[0]],
            )
        audit.record(
            db,
            at=at,
            action=f"{ANOMALY}_acknowledged",
            outcome="ok" if found else "nothing_to_acknowledge",
            staff_number=staff_number,
            detail={"sale_id": sale_id},
        )
    return found


def _detail(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        value = {"text": text}
    return value if isinstance(value, dict) else {"value": value}
