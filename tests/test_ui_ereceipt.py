"""The QR e-receipt with a back office: the customer's own code, and a page that fills in.

The demo's back office (the reference ``kiosk hq`` server on loopback) runs in the test;
the kiosk syncs its paid sales there and offers the QR code receipt on the paid screen.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ui_support import (
    MINERAL_WATER,
    ORANGE_JUICE,
    KioskDriver,
    run_kiosk_with_backoffice,
)

from kiosk.ui.customer_view import THANK_YOU_TOUCH_GRACE_S

WAIT_S = 20.0


@pytest.fixture
def ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk at 1280x800 with its back office."""
    yield from run_kiosk_with_backoffice(tmp_path, request.node.name)


def pay_and_choose_the_qr_code(ui: KioskDriver, *barcodes: str) -> str:
    for barcode in barcodes:
        ui.scan(barcode)
        ui.wait_for_screen("shopping")
    ui.wait_for(lambda: len(ui.app.cart_rows) == len(barcodes), "the cart")
    sale_id = ui.kiosk.checkout.sale_id
    assert sale_id is not None
    ui.tap(ui.find("pay_button", "shopping"))
    ui.wait_for_screen("paid")
    ui.tap(ui.find("qr_button", "paid"))
    ui.wait_for_screen("thank_you")
    ui.wait_for(lambda: bool(ui.app.qr_source), "the QR code")
    return sale_id


def layouts_over(ui: KioskDriver, frames: int) -> int:
    """How often the thank-you screen's boxes were laid out in ``frames`` frames, once the
    screen has settled (a screen at rest is laid out 0 times)."""
    ui.frames(10)
    box_type = type(ui.find("done_button", "thank_you").parent)
    count = 0
    do_layout = box_type.do_layout

    def counted(box: Any, *args: Any) -> None:
        nonlocal count
        count += 1
        do_layout(box, *args)

    box_type.do_layout = counted
    try:
        ui.frames(frames)
    finally:
        box_type.do_layout = do_layout
    return count


def shown_picture(ui: KioskDriver) -> str:
    """A digest of the QR image's pixels as drawn (not of the file)."""
    image = ui.find("qr_image", "thank_you")
    return hashlib.sha256(image.texture.pixels).hexdigest()


def test_each_customer_gets_their_own_qr_code_and_the_page_shows_their_receipt(
    ui: KioskDriver,
) -> None:
    ui.wait_for_screen("attract")
    ui.started()
    first = pay_and_choose_the_qr_code(ui, MINERAL_WATER, ORANGE_JUICE)
    assert ui.shows("Scan the QR code with your phone to see your receipt.")
    ui.screenshot("qr-code")
    assert layouts_over(ui, frames=20) == 0, "the QR screen is laid out again every frame"
    first_picture = shown_picture(ui)
    assert first in Path(ui.app.qr_source).name
    url = f"{ui.settings.backoffice.url}/r/{first}"
    deadline = time.monotonic() + WAIT_S
    page = httpx.get(url).text
    while "Mineral water" not in page:  # "on its way" until the sale has synced
        assert time.monotonic() < deadline, page
        ui.pump(0.2)
        page = httpx.get(url).text
    assert "2.38" in page  # the total: 0.49 + 1.89

    ui.pump(THANK_YOU_TOUCH_GRACE_S)  # "Done" answers once a double tap's moment is over
    ui.tap(ui.find("done_button", "thank_you"))
    ui.wait_for_screen("attract")
    second = pay_and_choose_the_qr_code(ui, ORANGE_JUICE)
    assert second != first
    assert shown_picture(ui) != first_picture, "the last customer's code is on screen"
    assert not list(Path(ui.app.qr_source).parent.glob(f"*{first}*"))
