"""The receipt model read from stored sales: hand-made rows and a sale paid on the real stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlite_utils import Database

from kiosk.config import Settings, demo_settings
from kiosk.core.receipt import CardDetails, Receipt
from kiosk.receipts.text_render import render_text
from kiosk.store.db import open_database
from kiosk.store.receipts import ReceiptUnavailable, receipt_for_sale, refund_slip_for

SALE_ID = "0b6c2f4e-5a8d-4c1e-9f00-1234567890ab"
LONG_NAME = (
    "Organic free-range extra large brown eggs from the farm down the road, box of twelve"
    " (XL)"
)
CARD = {
    "brand": "visa",
    "last4": "4242",
    "read_method": "contactless_emv",
    "receipt": {
        "application_preferred_name": "VISA CREDIT",
        "dedicated_file_name": "A0000000031010",
        "authorization_code": "123456",
    },
    "charge_id": "ch_1",
}
# (name, quantity, unit price, weight g, tax class, rate, amount) in cents and grams
LINES = [
    ("Crème fraîche", 2, 149, None, "reduced", "0.135", 298),
    ("Grüner Veltliner", 1, 1299, None, "standard", "0.23", 1299),
    ("Øl", 3, 250, None, "standard", "0.23", 750),
    ("Œufs", 1, 399, None, "reduced", "0.135", 399),
    ("Bananas", 1, 199, 512, "reduced", "0.135", 102),
    (LONG_NAME, 1, 450, None, "reduced", "0.135", 450),
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return demo_settings(tmp_path / "state")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "kiosk.db")
    yield database
    database.close()


def store_paid_sale(
    db: Database, *, sale_id: str = SALE_ID, state: str = "paid", card: object = CARD
) -> int:
    """Store a paid sale with ``LINES`` as the payment stack would; return its total."""
    total = sum(line[6] for line in LINES)
    db.execute(
        "INSERT INTO sales (id, number, kiosk_id, state, currency, language, created_at, "
        "updated_at, closed_at, subtotal_minor, tax_minor, total_minor) "
        "VALUES (?, 42, 'demo', ?, 'EUR', 'en', ?, ?, ?, 0, 0, ?)",
        [sale_id, state, "2026-11-26T11:58:00.000000Z", "2026-11-26T12:00:05.000000Z",
         "2026-11-26T12:00:05.000000Z", total],
    )
    for position, (name, quantity, unit, weight, tax_class, rate, amount) in enumerate(LINES):
        db.execute(
            "INSERT INTO sale_lines (sale_id, position, code, name, quantity, unit_price_minor, "
            "weight_g, tax_class, tax_rate, line_total_minor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?)",
            [sale_id, position, f"code{position}", name, quantity, unit, weight, tax_class,
             rate, amount],
        )
    if state == "paid":
        db.execute(
            "INSERT INTO payment_attempts (id, sale_id, state, amount_minor, payment_intent_id, "
            "created_at, updated_at, card, captured_minor, paid_at) VALUES (?, ?, 'paid', ?, "
            "'pi_1', ?, ?, ?, ?, ?)",
            [f"att-{sale_id}", sale_id, total, "2026-11-26T11:59:00.000000Z",
             "2026-11-26T12:00:00.000000Z", json.dumps(card), total,
             "2026-11-26T12:00:00.000000Z"],
        )
    db.conn.commit()
    return total


def store_refund(db: Database, *, state: str = "succeeded", amount: int = 500) -> str:
    db.execute(
        "INSERT INTO refunds (id, sale_id, amount_minor, state, idempotency_key, "
        "stripe_refund_id, created_at, updated_at) VALUES ('rf1', ?, ?, ?, 'key1', 're_1', ?, ?)",
        [SALE_ID, amount, state, "2026-12-01T09:30:00.000000Z", "2026-12-01T09:30:01.000000Z"],
    )
    db.conn.commit()
    return "rf1"


def test_a_paid_sale_gives_its_lines_card_and_total_from_what_was_stored(
    db: Database, settings: Settings
) -> None:
    total = store_paid_sale(db)
    receipt = receipt_for_sale(db, SALE_ID, settings)
    assert receipt.kind == "sale"
    assert (receipt.shop_name, receipt.address) == ("Demo Corner Shop", ("1 Demo Street", "Dublin"))
    assert (receipt.sale_number, receipt.kiosk_id, receipt.total_minor) == (42, "demo", total)
    assert [line.name for line in receipt.lines] == [line[0] for line in LINES]
    bananas = receipt.lines[4]
    assert (bananas.weight_g, bananas.unit_price_minor, bananas.amount_minor) == (512, 199, 102)
    assert receipt.card == CardDetails(
        brand="Visa", last4="4242", entry_method="Contactless", application_name="VISA CREDIT",
        application_id="A0000000031010", authorisation_code="123456",
    )
    assert receipt.footer


def test_the_time_on_the_receipt_is_the_payment_time_in_the_shops_time_zone(
    db: Database, settings: Settings
) -> None:
    store_paid_sale(db)
    receipt = receipt_for_sale(db, SALE_ID, settings)
    assert receipt.at_local == datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert str(receipt.at_local.tzinfo) == "Europe/Dublin"


def test_a_summer_sale_prints_dublin_summer_time_not_utc(
    db: Database, settings: Settings
) -> None:
    store_paid_sale(db)
    db.execute("UPDATE payment_attempts SET paid_at = '2026-07-01T12:00:00.000000Z'")
    db.conn.commit()
    receipt = receipt_for_sale(db, SALE_ID, settings)
    assert (receipt.at_local.hour, receipt.at_local.utcoffset()) == (13, timedelta(hours=1))
    assert "13:00" in render_text(receipt, width_chars=48)


def test_the_tax_breakdown_has_one_line_per_rate_that_adds_up_to_the_total(
    db: Database, settings: Settings
) -> None:
    total = store_paid_sale(db)
    receipt = receipt_for_sale(db, SALE_ID, settings)
    assert [(tax.label, tax.rate) for tax in receipt.taxes] == [
        ("VAT 23%", Decimal("0.23")), ("VAT 13.5%", Decimal("0.135"))
    ]
    assert sum(tax.gross_minor for tax in receipt.taxes) == total
    assert all(tax.net_minor + tax.tax_minor == tax.gross_minor for tax in receipt.taxes)
    standard = receipt.taxes[0]
    assert standard.gross_minor == 1299 + 750
    assert standard.tax_minor == 243 + 140  # 23/123 of each line, rounded half up per line
    assert {line.tax_label for line in receipt.lines} == {"VAT 23%", "VAT 13.5%"}


def test_two_tax_classes_with_the_same_rate_share_one_tax_line(
    db: Database, settings: Settings
) -> None:
    store_paid_sale(db)
    db.execute("UPDATE sale_lines SET tax_class = 'wine' WHERE name = 'Grüner Veltliner'")
    db.conn.commit()
    receipt = receipt_for_sale(db, SALE_ID, settings)
    assert [tax.rate for tax in receipt.taxes] == [Decimal("0.23"), Decimal("0.135")]
    assert receipt.taxes[0].gross_minor == 1299 + 750


def test_a_sale_that_is_not_paid_has_no_receipt(db: Database, settings: Settings) -> None:
    store_paid_sale(db, state="abandoned")
    with pytest.raises(ReceiptUnavailable) as raised:
        receipt_for_sale(db, SALE_ID, settings)
    assert raised.value.reason == "not_paid"
    with pytest.raises(ReceiptUnavailable) as unknown:
        receipt_for_sale(db, "no-such-sale", settings)
    assert unknown.value.reason == "unknown_sale"


def test_a_reprint_carries_its_mark_and_an_unknown_mark_is_refused(
    db: Database, settings: Settings
) -> None:
    store_paid_sale(db)
    assert receipt_for_sale(db, SALE_ID, settings, mark="COPY").mark == "COPY"
    assert receipt_for_sale(db, SALE_ID, settings, mark="REPRINT").mark == "REPRINT"
    with pytest.raises(ValueError):
        receipt_for_sale(db, SALE_ID, settings, mark="DUPLICATE")


def test_a_refund_slip_gives_the_refunded_amount_and_the_card_it_goes_back_to(
    db: Database, settings: Settings
) -> None:
    total = store_paid_sale(db)
    refund_id = store_refund(db, amount=500)
    slip = refund_slip_for(db, refund_id, settings)
    assert (slip.kind, slip.refund_minor, slip.total_minor) == ("refund", 500, total)
    assert slip.card is not None and slip.card.last4 == "4242"
    assert slip.at_local.astimezone(UTC) == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert "REFUND" in render_text(slip, width_chars=32)


def test_a_refund_stripe_has_not_accepted_has_no_slip(db: Database, settings: Settings) -> None:
    store_paid_sale(db)
    refund_id = store_refund(db, state="failed")
    with pytest.raises(ReceiptUnavailable) as raised:
        refund_slip_for(db, refund_id, settings)
    assert raised.value.reason == "refund_not_accepted"


def test_a_receipt_time_without_a_zone_is_refused(db: Database, settings: Settings) -> None:
    store_paid_sale(db)
    receipt = receipt_for_sale(db, SALE_ID, settings)
    with pytest.raises(ValueError):
        Receipt(**{**receipt.__dict__, "at_local": datetime(2026, 11, 26, 12, 0)})
