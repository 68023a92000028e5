"""What a kiosk selling all day must not pile up in its window: bindings, images, caches.

``bench/long_run.py`` finds these over hundreds of sales (``--trace``); each test here pins
one of them down in a few sales on the real touchscreen.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_ui_cart import cart_view, plain_barcodes
from ui_support import KioskDriver, run_kiosk_ui


@pytest.fixture
def kiosk_ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk on the 10-inch screen."""
    yield from run_kiosk_ui(tmp_path, request.node.name, "1280x800")


def bar_bindings(view: Any) -> int:
    """How many callbacks a ScrollView has bound to its ``bar_color``."""
    return len(view.get_property_observers("bar_color"))


def test_the_cart_list_keeps_one_scroll_bar_binding_however_many_items_are_scanned(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.started()
    for count, code in enumerate(plain_barcodes(8), start=1):
        ui.scan(code)
        ui.wait_for(lambda count=count: len(ui.app.cart_rows) == count, f"{count} cart lines")
    view = cart_view(ui)
    assert bar_bindings(view) <= 1
    ui.pump(0.7)  # the bar fades to its inactive colour: the binding goes
    assert bar_bindings(view) == 0
