"""Golden ESC/POS bytes of representative receipts, code page handling and text layout.

The golden files under ``tests/golden/`` are compared byte for byte. After an intended change
of the layout, rewrite them with ``KIOSK_UPDATE_GOLDEN=1 pytest tests/test_receipt_escpos.py``
and review the diff of the preview before committing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from sqlite_utils import Database
from test_app_payments import JUICE, Clock, Shop
from test_app_payments import settings as paying_settings  # noqa: F401  (fixture)
from test_receipt_model import LONG_NAME, SALE_ID, store_paid_sale, store_refund

from kiosk.config import Settings, demo_settings
from kiosk.core.receipt import Receipt
from kiosk.receipts.escpos_render import CodePageUnknown, _printer, render_escpos, transliterate
from kiosk.receipts.preview import render_preview_png, shipped_logo
from kiosk.receipts.text_render import receipt_rows, render_text
from kiosk.store.db import open_database
from kiosk.store.receipts import receipt_for_sale, refund_slip_for

GOLDEN = Path(__file__).parent / "golden"


def assert_golden(name: str, output: bytes) -> None:
    """Compare ``output`` with ``tests/golden/<name>``; rewrite it when KIOSK_UPDATE_GOLDEN=1."""
    path = GOLDEN / name
    if os.environ.get("KIOSK_UPDATE_GOLDEN") == "1":
        path.write_bytes(output)
    assert output == path.read_bytes(), f"{name} differs from its golden file"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return demo_settings(tmp_path / "state")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "kiosk.db")
    store_paid_sale(database)
    yield database
    database.close()


def sale(db: Database, settings: Settings, mark: str = "") -> Receipt:
    return receipt_for_sale(db, SALE_ID, settings, mark=mark)


def test_an_80_mm_sale_receipt_with_card_details_matches_its_golden_bytes(
    db: Database, settings: Settings
) -> None:
    output = render_escpos(sale(db, settings), paper_width_mm=80, code_page="CP858")
    assert output.startswith(b"\x1b@\x1bt\x13")  # initialise, then select CP858 (table 19)
    assert b"Auth. code" in output and b"A0000000031010" in output
    assert output.endswith(b"\x1dV\x00")  # full cut
    assert_golden("sale_80mm_cp858.bin", output)


def test_a_58_mm_sale_receipt_matches_its_golden_bytes(db: Database, settings: Settings) -> None:
    output = render_escpos(sale(db, settings), paper_width_mm=58, code_page="CP858")
    assert_golden("sale_58mm_cp858.bin", output)


def test_a_refund_slip_matches_its_golden_bytes(db: Database, settings: Settings) -> None:
    refund_id = store_refund(db, amount=500)
    slip = refund_slip_for(db, refund_id, settings)
    output = render_escpos(slip, paper_width_mm=80, code_page="CP858")
    assert b"REFUND" in output and b"\xd5" + b"5.00" in output  # the euro sign in CP858
    assert_golden("refund_80mm_cp858.bin", output)


def test_a_copy_and_a_reprint_are_marked_and_match_their_golden_bytes(
    db: Database, settings: Settings
) -> None:
    copy = render_escpos(sale(db, settings, "COPY"), paper_width_mm=80, code_page="CP858")
    reprint = render_escpos(sale(db, settings, "REPRINT"), paper_width_mm=80, code_page="CP858")
    assert copy.count(b"*** COPY ***") == 2 and b"REPRINT" not in copy
    assert reprint.count(b"*** REPRINT ***") == 2
    assert_golden("sale_80mm_copy.bin", copy)
    assert_golden("sale_80mm_reprint.bin", reprint)


def test_a_receipt_with_the_shop_logo_matches_its_golden_bytes(
    db: Database, settings: Settings
) -> None:
    logo = shipped_logo()
    assert logo is not None
    output = render_escpos(sale(db, settings), paper_width_mm=80, code_page="CP437", logo=logo)
    assert b"\x1dv0" in output  # a raster bit image
    assert_golden("sale_80mm_cp437_logo.bin", output)


def test_non_ascii_names_are_encoded_in_the_configured_code_page(
    db: Database, settings: Settings
) -> None:
    output = render_escpos(sale(db, settings), paper_width_mm=80, code_page="CP858")
    assert "Crème fraîche".encode("cp858") in output
    assert "Grüner Veltliner".encode("cp858") in output
    assert "Øl".encode("cp858") in output
    assert b"OEufs" in output  # no Œ in CP858
    assert output.count(b"\x1bt") == 1  # one code page, never switched behind our back


def test_a_code_page_without_the_letters_transliterates_them_instead_of_printing_garbage(
    db: Database, settings: Settings
) -> None:
    output = render_escpos(sale(db, settings), paper_width_mm=80, code_page="CP437")
    assert b"Ol " in output and b"OEufs" in output and b"EUR" in output
    assert b"?" not in output.split(b"\x1d(k")[0]  # nothing before the QR code is a "?"


@pytest.mark.parametrize("code_page", ["CP437", "CP850", "CP858", "CP1252", "CP852"])
def test_transliteration_never_gives_a_question_mark_for_a_latin_letter(code_page: str) -> None:
    _, _, can_print = _printer(code_page)
    latin = "".join(chr(c) for c in range(0x00C0, 0x0180) if chr(c).isalpha())
    latin += "ßẞæÆøØœŒłŁđĐþÞ€"
    printed = transliterate(latin, can_print)
    assert "?" not in printed
    assert all(can_print(char) for char in printed)


def test_an_unknown_code_page_is_refused(db: Database, settings: Settings) -> None:
    with pytest.raises(CodePageUnknown):
        render_escpos(sale(db, settings), paper_width_mm=80, code_page="CP9999")


@pytest.mark.parametrize(("paper_mm", "columns"), [(80, 48), (58, 32)])
def test_no_printed_row_is_wider_than_the_paper(
    db: Database, settings: Settings, paper_mm: int, columns: int
) -> None:
    _, _, can_print = _printer("CP437")
    for mark in ("", "COPY"):
        text = render_text(sale(db, settings, mark), width_chars=columns)
        assert max(len(line) for line in text.splitlines()) <= columns
        rows = receipt_rows(
            sale(db, settings, mark), width_chars=columns,
            fit=lambda piece: transliterate(piece, can_print),
        )
        assert all(len(row.text) <= columns for row in rows if row.kind == "text")


def test_a_long_name_wraps_with_its_price_right_aligned_on_its_last_line(
    db: Database, settings: Settings
) -> None:
    lines = render_text(sale(db, settings), width_chars=32).splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("Organic"))
    block = lines[first:first + 4]
    assert " ".join(part.split("  ")[0].strip() for part in block) == LONG_NAME
    assert block[-1].endswith("€4.50 B") and len(block[-1]) == 32
    assert all("€" not in line for line in block[:-1])


def test_a_weighed_line_shows_its_weight_and_price_per_kilogram(
    db: Database, settings: Settings
) -> None:
    text = render_text(sale(db, settings), width_chars=48)
    assert "Bananas" in text and "0.512 kg x €1.99/kg" in text
    assert "26 Nov 2026, 12:00:00" in text  # Dublin winter time is UTC+0


def test_a_german_shop_prints_money_and_dates_in_its_locale(
    db: Database, tmp_path: Path
) -> None:
    base = demo_settings(tmp_path / "de")
    shop = replace(base.shop, locale="de_DE", time_zone="Europe/Berlin")
    receipt = receipt_for_sale(db, SALE_ID, replace(base, shop=shop))
    text = render_text(receipt, width_chars=48)
    assert "26.11.2026, 13:00:00" in text
    assert "32,98\u00a0€" in text
    output = render_escpos(receipt, paper_width_mm=80, code_page="CP858")
    assert b"32,98\xff\xd5" in output  # no-break space and euro sign of CP858


def test_a_sale_paid_through_the_real_stack_prints_its_card_details(
    paying_settings: Settings, tmp_path: Path  # noqa: F811
) -> None:
    shop = Shop(paying_settings, Clock())
    try:
        shop.emulator.customer("tap", after_s=0.05)
        shop.kiosk.scan(JUICE)
        sale_id = shop.kiosk.checkout.sale_id
        assert sale_id is not None
        shop.kiosk.pay()
        shop.until(lambda: shop.kiosk.checkout.state.name == "PAID")
        shop.rows("SELECT 1")  # the store worker has committed
    finally:
        shop.kiosk.close()
    db = open_database(Path(paying_settings.state_dir) / "kiosk.db")
    try:
        receipt = receipt_for_sale(db, sale_id, paying_settings)
    finally:
        db.close()
    assert receipt.total_minor == 189
    assert [(line.name, line.amount_minor) for line in receipt.lines] == [
        ("Orange juice 1 l", 189)
    ]
    assert receipt.card is not None
    assert len(receipt.card.last4) == 4 and receipt.card.brand
    assert receipt.card.entry_method == "Contactless"
    assert receipt.at_local.utcoffset() is not None
    assert receipt.at_local.astimezone(UTC).date() == datetime(2026, 11, 26, tzinfo=UTC).date()
    output = render_escpos(receipt, paper_width_mm=80, code_page="CP858")
    assert f"**** {receipt.card.last4}".encode() in output
    assert sale_id.encode() in output


def test_the_preview_is_a_png_as_wide_as_the_paper(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    path = render_preview_png(
        sale(db, settings), tmp_path / "preview.png", paper_width_mm=58, logo=shipped_logo()
    )
    with Image.open(path) as picture:
        assert picture.format == "PNG"
        assert picture.width == 384 + 48 and picture.height > picture.width
