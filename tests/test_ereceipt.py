"""The e-receipt address and its QR code."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from kiosk.config import demo_settings
from kiosk.receipts.ereceipt import ereceipt_url, qr_png

SALE_ID = "3f1c2b4e-7a8d-4c1e-9f00-abcdef012345"


def test_without_a_back_office_there_is_no_ereceipt_and_the_qr_code_is_hidden(
    tmp_path: Path,
) -> None:
    assert ereceipt_url(demo_settings(tmp_path), SALE_ID) is None


def test_the_ereceipt_address_holds_the_sales_uuid_on_the_back_office(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path, backoffice_url="https://office.example.com")
    url = ereceipt_url(settings, SALE_ID)
    assert url == f"https://office.example.com/r/{SALE_ID}"


def test_the_ereceipt_address_follows_the_configured_template(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path, backoffice_url="https://office.example.com")
    backoffice = replace(
        settings.backoffice, receipt_url_template="{base_url}/receipts?sale={sale_id}&v=2")
    settings = replace(settings, backoffice=backoffice)
    assert ereceipt_url(settings, SALE_ID) == (
        f"https://office.example.com/receipts?sale={SALE_ID}&v=2")


def test_a_sale_number_never_becomes_an_ereceipt_address(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path, backoffice_url="https://office.example.com")
    with pytest.raises(ValueError):
        ereceipt_url(settings, "42")


def test_the_qr_code_is_a_square_black_and_white_png(tmp_path: Path) -> None:
    url = f"https://office.example.com/r/{SALE_ID}"
    path = qr_png(url, tmp_path / "screen" / "qr.png")
    with Image.open(path) as picture:
        assert picture.format == "PNG"
        assert picture.width == picture.height >= 250
        colours = {colour for _, colour in picture.convert("L").getcolors() or []}
    assert colours == {0, 255}
