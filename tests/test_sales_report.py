"""What the staff menu shows about sales: the shop's day in its time zone, one sale in detail,
what may still be refunded, and payments and refunds recovery has not settled yet.

Sales are made through the real store and payment functions (the sales book, the payment
attempt steps, the refund rows) on a real SQLite file; Stripe's answers are plain dicts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlite_utils import Database

from kiosk.core.cart import CartLine
from kiosk.core.shop_rules import TaxClass, TaxPolicy
from kiosk.core.tax import TaxableLine, compute_totals
from kiosk.payments import attempts, refunds
from kiosk.payments.awaiting import payments_awaiting_recovery, refunds_awaiting_recovery
from kiosk.store.db import open_database
from kiosk.store.sales import SaleBook
from kiosk.store.sales_report import (
    day_bounds,
    sale_detail,
    sales_between,
    todays_sales,
)

BERLIN = ZoneInfo("Europe/Berlin")
KIOSK_ID = "lane-1"
POLICY = TaxPolicy({"standard": TaxClass("standard", Decimal("0.19"))})
MANAGER = 1001
NOON = datetime(2026, 11, 26, 12, 0, tzinfo=BERLIN)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "kiosk.db", records_money=True)
    with database.atomic():
        database.execute("INSERT INTO staff (number, name, role, created_at) "
                         "VALUES (?, 'Sam', 'manager', '2026-11-01T00:00:00.000000Z')",
                         [MANAGER])
    yield database
    database.close()


def line(line_id: int, name: str, amount: int, quantity: int = 1,
         weight_g: int | None = None) -> CartLine:
    return CartLine(line_id=line_id, code=f"400000000{line_id:04d}", name=name,
                    quantity=quantity, unit_price_minor=amount // quantity, weight_g=weight_g,
                    tax_class="standard", min_age=None, amount_minor=amount)


def open_sale(db: Database, at: datetime, lines: tuple[CartLine, ...] | None = None) -> str:
    """An open sale started at ``at`` with ``lines`` (default: one item of 500)."""
    lines = lines or (line(1, "Coffee beans", 500),)
    sale_id = str(uuid.uuid4())
    book = SaleBook(db, KIOSK_ID)
    book.open_sale(sale_id, at=at, currency="EUR", language="de")
    totals = compute_totals([TaxableLine(item.amount_minor, item.tax_class) for item in lines],
                            POLICY)
    book.save_cart(sale_id, lines, totals, POLICY, at=at)
    return sale_id


def intent(amount: int, status: str = "succeeded") -> dict[str, Any]:
    return {
        "id": f"pi_{uuid.uuid4().hex[:12]}", "amount": amount, "status": status,
        "latest_charge": {
            "id": f"ch_{uuid.uuid4().hex[:12]}", "amount_captured": amount,
            "payment_method_details": {"card_present": {
                "brand": "visa", "last4": "4242", "read_method": "contactless_emv"}},
        },
    }


def total_of(db: Database, sale_id: str) -> int:
    (total,) = db.conn.execute("SELECT total_minor FROM sales WHERE id = ?",
                               [sale_id]).fetchone()
    return int(total)


def pay_until(db: Database, sale_id: str, at: datetime, *, stop: str = "paid") -> None:
    """Walk the sale's card payment through the protocol's steps up to ``stop``."""
    amount = total_of(db, sale_id)
    attempt = attempts.lock(db, sale_id, amount, capture_method="automatic", at=at)
    if stop == "locked":
        return
    pending = intent(amount, "requires_payment_method")
    attempts.record_intent(db, attempt.id, pending, at=at)
    attempts.record_processing(db, attempt.id, "tmr_1", at=at + timedelta(seconds=1))
    if stop == "processing":
        return
    paid = intent(amount)
    paid["id"] = pending["id"]
    attempts.record_paid(db, attempt.id, paid, at=at + timedelta(seconds=5),
                         kiosk_id=KIOSK_ID)


def paid_sale(db: Database, at: datetime, lines: tuple[CartLine, ...] | None = None) -> str:
    sale_id = open_sale(db, at, lines)
    pay_until(db, sale_id, at + timedelta(minutes=1))
    return sale_id


def refund(db: Database, sale_id: str, amount: int, at: datetime,
           answer: str | None = "succeeded") -> str:
    row = refunds.request(db, sale_id, amount, MANAGER, at=at)
    if answer is not None:
        refunds.record_answer(db, row.id, {"id": f"re_{row.id[:8]}", "status": answer,
                                           "currency": "eur"}, at=at)
    return row.id


# ----------------------------------------------------------------------------- the day


def test_the_shops_day_runs_from_local_midnight_to_local_midnight() -> None:
    start, end = day_bounds(date(2026, 11, 26), BERLIN)
    assert start == datetime(2026, 11, 25, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 26, 23, 0, tzinfo=UTC)
    assert start.tzinfo == UTC and end.tzinfo == UTC


def test_the_day_clocks_go_forward_is_23_hours_long() -> None:
    start, end = day_bounds(date(2026, 3, 29), BERLIN)
    assert start == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=23)


def test_the_day_clocks_go_back_is_25_hours_long() -> None:
    start, end = day_bounds(date(2026, 10, 25), BERLIN)
    assert start == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    assert end == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=25)


def test_todays_sales_are_those_opened_since_local_midnight_newest_first(
    db: Database,
) -> None:
    yesterday_late = paid_sale(db, datetime(2026, 11, 25, 23, 30, tzinfo=BERLIN))
    just_after_midnight = paid_sale(db, datetime(2026, 11, 26, 0, 10, tzinfo=BERLIN))
    this_morning = open_sale(db, datetime(2026, 11, 26, 11, 0, tzinfo=BERLIN))
    tomorrow = open_sale(db, datetime(2026, 11, 27, 0, 0, tzinfo=BERLIN))
    today = todays_sales(db, now=NOON.astimezone(UTC), zone=BERLIN)
    assert [sale.sale_id for sale in today] == [this_morning, just_after_midnight]
    assert yesterday_late not in {sale.sale_id for sale in today}
    assert tomorrow not in {sale.sale_id for sale in today}
    assert today[1].opened_at == datetime(2026, 11, 25, 23, 10, tzinfo=UTC)
    assert today[1].opened_at.tzinfo == UTC


def test_sales_between_includes_the_start_and_leaves_out_the_end(db: Database) -> None:
    start = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    at_start = open_sale(db, start)
    open_sale(db, start + timedelta(hours=1))
    found = sales_between(db, start, start + timedelta(hours=1))
    assert [sale.sale_id for sale in found] == [at_start]


def test_a_paid_sale_is_summarised_with_its_card_items_and_refunds(db: Database) -> None:
    sale_id = paid_sale(db, NOON, (line(1, "Milk 1l", 198, quantity=2),
                                   line(2, "Cheese", 412, weight_g=206)))
    refund(db, sale_id, 100, NOON + timedelta(hours=1))
    refund(db, sale_id, 50, NOON + timedelta(hours=2), answer="pending")
    refund(db, sale_id, 30, NOON + timedelta(hours=3), answer="failed")
    (summary,) = todays_sales(db, now=NOON, zone=BERLIN)
    assert summary.state == "paid" and summary.number == 1
    assert (summary.total_minor, summary.currency) == (610, "EUR")
    assert summary.item_count == 3
    assert summary.refunded_minor == 150  # succeeded + pending; the failed one gave nothing
    assert summary.card == "visa 4242"
    assert summary.closed_at == (NOON + timedelta(minutes=1, seconds=5)).astimezone(UTC)


def test_an_open_sale_has_no_card_and_no_closing_time(db: Database) -> None:
    open_sale(db, NOON)
    (summary,) = todays_sales(db, now=NOON, zone=BERLIN)
    assert (summary.state, summary.card, summary.closed_at) == ("open", "", None)
    assert summary.refunded_minor == 0


# ------------------------------------------------------------------------ one sale


def test_the_detail_of_a_partly_refunded_sale_shows_what_is_left_to_refund(
    db: Database,
) -> None:
    sale_id = paid_sale(db, NOON, (line(1, "Milk 1l", 198, quantity=2),
                                   line(2, "Cheese", 412, weight_g=206)))
    refund_id = refund(db, sale_id, 200, NOON + timedelta(hours=1))
    detail = sale_detail(db, sale_id)
    assert detail is not None
    assert detail.summary.sale_id == sale_id and detail.summary.refunded_minor == 200
    assert [(item.name, item.quantity, item.weight_g, item.amount_minor)
            for item in detail.lines] == [("Milk 1l", 2, None, 198), ("Cheese", 1, 206, 412)]
    assert detail.lines[0].code == "4000000000001"
    assert detail.payment_state == "paid" and detail.payment_intent_id is not None
    assert detail.captured_minor == 610
    assert [(view.refund_id, view.amount_minor, view.state) for view in detail.refunds] == [
        (refund_id, 200, "succeeded")]
    assert detail.refunds[0].created_at == (NOON + timedelta(hours=1)).astimezone(UTC)
    assert [(job.kind, job.state, job.copy, job.last_error) for job in detail.receipts] == [
        ("receipt", "awaiting_choice", False, ""), ("refund_slip", "queued", False, "")]
    assert refunds.refundable_minor(db, sale_id) == 410


def test_a_sale_never_paid_by_card_has_no_payment_in_its_detail(db: Database) -> None:
    sale_id = open_sale(db, NOON)
    detail = sale_detail(db, sale_id)
    assert detail is not None
    assert (detail.payment_state, detail.payment_intent_id, detail.captured_minor) == (
        None, None, 0)
    assert detail.refunds == () and detail.receipts == ()


def test_an_unknown_sale_has_no_detail(db: Database) -> None:
    assert sale_detail(db, "no-such-sale") is None


def test_nothing_is_refundable_of_a_sale_that_is_not_paid(db: Database) -> None:
    open_only = open_sale(db, NOON)
    processing = open_sale(db, NOON)
    pay_until(db, processing, NOON, stop="processing")
    assert refunds.refundable_minor(db, open_only) == 0
    assert refunds.refundable_minor(db, processing) == 0
    assert refunds.refundable_minor(db, "no-such-sale") == 0


def test_a_fully_refunded_sale_has_nothing_left_and_a_request_agrees(db: Database) -> None:
    sale_id = paid_sale(db, NOON)
    refund(db, sale_id, 300, NOON + timedelta(hours=1))
    refund(db, sale_id, 200, NOON + timedelta(hours=2), answer=None)  # still requested
    assert refunds.refundable_minor(db, sale_id) == 0
    with pytest.raises(refunds.RefundRefused) as refused:
        refunds.request(db, sale_id, None, MANAGER, at=NOON + timedelta(hours=3))
    assert refused.value.reason == "nothing_left"


def test_a_refund_request_takes_exactly_what_refundable_minor_says_is_left(
    db: Database,
) -> None:
    sale_id = paid_sale(db, NOON)
    refund(db, sale_id, 120, NOON + timedelta(hours=1))
    left = refunds.refundable_minor(db, sale_id)
    row = refunds.request(db, sale_id, None, MANAGER, at=NOON + timedelta(hours=2))
    assert left == 380 and row.amount_minor == left
    with pytest.raises(refunds.RefundRefused):
        refunds.request(db, sale_id, 1, MANAGER, at=NOON + timedelta(hours=3))


# ------------------------------------------------------------- awaiting recovery


def test_a_payment_left_processing_awaits_recovery_and_paid_ones_do_not(
    db: Database,
) -> None:
    paid_sale(db, NOON)
    stuck = open_sale(db, NOON + timedelta(minutes=5))
    pay_until(db, stuck, NOON + timedelta(minutes=6), stop="processing")
    (awaiting,) = payments_awaiting_recovery(db)
    assert awaiting.sale_id == stuck and awaiting.sale_number == 2
    assert (awaiting.attempt_state, awaiting.amount_minor) == ("processing", 500)
    assert awaiting.payment_intent_id is not None
    assert awaiting.updated_at == (NOON + timedelta(minutes=6, seconds=1)).astimezone(UTC)


def test_payments_awaiting_recovery_are_listed_oldest_first_with_what_is_known(
    db: Database,
) -> None:
    older = open_sale(db, NOON)
    pay_until(db, older, NOON, stop="locked")
    attempt = attempts.get(db, older)
    assert attempt is not None
    attempts.unlock_unresolved_create(db, attempt.id, outcome="stripe_unreachable",
                                      at=NOON + timedelta(seconds=30))
    newer = open_sale(db, NOON + timedelta(minutes=1))
    pay_until(db, newer, NOON + timedelta(minutes=1), stop="processing")
    found = payments_awaiting_recovery(db)
    assert [item.sale_id for item in found] == [older, newer]
    assert found[0].attempt_state == "locked"
    assert found[0].payment_intent_id is None
    assert "stripe_unreachable" in found[0].note
    assert found[1].note == ""


def test_a_payment_returned_to_the_customer_does_not_await_recovery(db: Database) -> None:
    sale_id = open_sale(db, NOON)
    pay_until(db, sale_id, NOON, stop="processing")
    attempt = attempts.get(db, sale_id)
    assert attempt is not None
    attempts.return_to_customer(db, attempt.id, outcome="declined",
                                decline_code="insufficient_funds", at=NOON)
    assert payments_awaiting_recovery(db) == []


def test_refunds_left_requested_or_submitted_await_recovery_oldest_first(
    db: Database,
) -> None:
    sale_id = paid_sale(db, NOON)
    refund(db, sale_id, 100, NOON + timedelta(hours=1))
    requested = refund(db, sale_id, 50, NOON + timedelta(hours=2), answer=None)
    submitted = refund(db, sale_id, 20, NOON + timedelta(hours=3), answer="pending")
    refund(db, sale_id, 10, NOON + timedelta(hours=4), answer="failed")
    found = refunds_awaiting_recovery(db)
    assert [(view.refund_id, view.state, view.amount_minor) for view in found] == [
        (requested, "requested", 50), (submitted, "submitted", 20)]
    assert all(view.sale_id == sale_id for view in found)
    assert found[0].created_at == (NOON + timedelta(hours=2)).astimezone(UTC)
