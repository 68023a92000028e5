"""What the staff menu shows about sales: today's sales, and one sale in detail.

Read-only queries that work on any connection (the store worker's or a reader's). Times come
back as aware UTC datetimes; the shop's day is cut at local midnight in its time zone. Money
is in minor units. What may still be refunded is the payment layer's rule
(`kiosk.payments.refunds.refundable_minor`), not repeated here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from kiosk.core.timestamps import parse_utc_iso, utc_now_iso

REFUNDS_COUNTED = ("requested", "submitted", "succeeded")
"""Refund states whose money is gone or going back to the card (shown as refunded)."""


@dataclass(frozen=True)
class SaleSummary:
    """One sale as a line of the staff menu's list.

    ``state`` is the stored sale state (``open``, ``locked``, ``paid``, ``abandoned``,
    ``voided``); ``opened_at`` and ``closed_at`` are aware UTC. ``item_count`` adds up the
    lines' quantities; ``refunded_minor`` the refunds succeeded or still pending. ``card`` is
    like ``"visa 4242"``, or ``""`` when no card was read.
    """

    sale_id: str
    number: int
    state: str
    opened_at: datetime
    closed_at: datetime | None
    total_minor: int
    currency: str
    item_count: int
    refunded_minor: int
    card: str


@dataclass(frozen=True)
class SaleLineView:
    """One line of a sale: ``amount_minor`` is what the line costs, ``weight_g`` the weight
    of a weighed line (grams) or ``None``."""

    name: str
    quantity: int
    weight_g: int | None
    amount_minor: int
    code: str


@dataclass(frozen=True)
class RefundView:
    """One refund of a sale: its amount (minor units), state (``requested``, ``submitted``,
    ``succeeded``, ``failed``) and when it was asked for (aware UTC)."""

    refund_id: str
    amount_minor: int
    state: str
    created_at: datetime
    sale_id: str = ""


@dataclass(frozen=True)
class ReceiptJobView:
    """One print job of a sale: ``kind`` ``receipt`` or ``refund_slip``, its state (see
    `kiosk.receipts.jobs`), whether it is a staff copy, and the last printer error."""

    job_id: int
    kind: str
    state: str
    copy: bool
    last_error: str


@dataclass(frozen=True)
class SaleDetail:
    """One sale in full for the staff menu.

    ``payment_state`` is the card payment attempt's state (``None``: never paid by card);
    ``captured_minor`` what was captured. What is still refundable comes from
    `kiosk.payments.refunds.refundable_minor`.
    """

    summary: SaleSummary
    lines: tuple[SaleLineView, ...]
    payment_state: str | None
    payment_intent_id: str | None
    captured_minor: int
    refunds: tuple[RefundView, ...]
    receipts: tuple[ReceiptJobView, ...]


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The shop's ``day`` from local midnight to the next local midnight, as aware UTC.

    On the days clocks change the span is 23 or 25 hours long.
    """
    start = datetime.combine(day, time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


_SUMMARY = f"""
SELECT s.id, s.number, s.state, s.created_at, s.closed_at, s.total_minor, s.currency,
    (SELECT COALESCE(SUM(l.quantity), 0) FROM sale_lines l WHERE l.sale_id = s.id),
    (SELECT COALESCE(SUM(r.amount_minor), 0) FROM refunds r WHERE r.sale_id = s.id
        AND r.state IN ({", ".join(f"'{state}'" for state in REFUNDS_COUNTED)})),
    a.card
FROM sales s LEFT JOIN payment_attempts a ON a.sale_id = s.id
"""


def _card(text: str | None) -> str:
    if not text:
        return ""
    try:
        card = json.loads(text)
    except ValueError:
        return ""
    if not isinstance(card, dict):
        return ""
    return " ".join(str(card[key]) for key in ("brand", "last4") if card.get(key))


def _summary(row: tuple[Any, ...]) -> SaleSummary:
    return SaleSummary(
        sale_id=str(row[0]),
        number=int(row[1]),
        state=str(row[2]),
        opened_at=parse_utc_iso(row[3]),
        closed_at=None if row[4] is None else parse_utc_iso(row[4]),
        total_minor=int(row[5]),
        currency=str(row[6]),
        item_count=int(row[7]),
        refunded_minor=int(row[8]),
        card=_card(row[9]),
    )


def sales_between(db: Database, start: datetime, end: datetime) -> list[SaleSummary]:
    """The sales opened at or after ``start`` and before ``end`` (aware), newest first."""
    rows = db.conn.execute(
        f"{_SUMMARY} WHERE s.created_at >= ? AND s.created_at < ? "
        "ORDER BY s.created_at DESC, s.number DESC",
        [utc_now_iso(start), utc_now_iso(end)],
    )
    return [_summary(row) for row in rows]


def todays_sales(db: Database, *, now: datetime, zone: ZoneInfo) -> list[SaleSummary]:
    """The sales opened on the shop's day of ``now`` (in ``zone``), newest first."""
    start, end = day_bounds(now.astimezone(zone).date(), zone)
    return sales_between(db, start, end)


def refund_view(row: tuple[Any, ...]) -> RefundView:
    """A `RefundView` from ``(id, amount_minor, state, created_at, sale_id)``."""
    return RefundView(refund_id=str(row[0]), amount_minor=int(row[1]), state=str(row[2]),
                      created_at=parse_utc_iso(row[3]), sale_id=str(row[4]))


def sale_detail(db: Database, sale_id: str) -> SaleDetail | None:
    """The sale with its lines, payment, refunds and print jobs, or ``None`` if unknown."""
    conn = db.conn
    row = conn.execute(f"{_SUMMARY} WHERE s.id = ?", [sale_id]).fetchone()
    if row is None:
        return None
    lines = tuple(
        SaleLineView(name=str(name), quantity=int(quantity), weight_g=weight_g,
                     amount_minor=int(amount), code=str(code))
        for name, quantity, weight_g, amount, code in conn.execute(
            "SELECT name, quantity, weight_g, line_total_minor, code FROM sale_lines "
            "WHERE sale_id = ? ORDER BY position", [sale_id])
    )
    payment = conn.execute(
        "SELECT state, payment_intent_id, captured_minor FROM payment_attempts "
        "WHERE sale_id = ?", [sale_id]).fetchone()
    refunds = tuple(
        refund_view(found) for found in conn.execute(
            "SELECT id, amount_minor, state, created_at, sale_id FROM refunds "
            "WHERE sale_id = ? ORDER BY created_at, id", [sale_id])
    )
    receipts = tuple(
        ReceiptJobView(job_id=int(job_id), kind=str(kind), state=str(state), copy=bool(copy),
                       last_error=str(last_error or ""))
        for job_id, kind, state, copy, last_error in conn.execute(
            "SELECT id, kind, state, copy, last_error FROM print_jobs WHERE sale_id = ? "
            "ORDER BY id", [sale_id])
    )
    return SaleDetail(
        summary=_summary(row),
        lines=lines,
        payment_state=None if payment is None else str(payment[0]),
        payment_intent_id=None if payment is None else payment[1],
        captured_minor=0 if payment is None else int(payment[2]),
        refunds=refunds,
        receipts=receipts,
    )
