"""The cart on the real touchscreen: the newest line in view and marked after every scan, a
finger drags the list, long names on two lines ending with an ellipsis, an age badge."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kivy.core.text import Label as CoreLabel
from ui_support import SIZES, SUPPORTED_SIZES, KioskDriver, barcode_of, run_kiosk_ui

from kiosk.resources import asset_text
from kiosk.sim.demo_shop import SAMPLE_CATALOG
from kiosk.ui.screens.shopping import (
    CartRow,
    changed_line,
    fits_beside_totals,
    last_scanned,
    scroll_y_showing,
)
from kiosk.ui.widgets.product_name import ELLIPSIS, ProductName, fit_to_lines

LONG_NAME = "White wine Grüner Veltliner 0.75 l"
"""The sample catalog's longest name (age-restricted: the row shows an "18+" badge)."""


@pytest.fixture(params=list(SIZES))
def kiosk_ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk on screen at each supported screen size."""
    yield from run_kiosk_ui(tmp_path, request.node.name, request.param)


@pytest.fixture(params=list(SUPPORTED_SIZES))
def basket_ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk at every supported screen size (``SUPPORTED_SIZES``, portrait too): for
    the basket that must stay in view and the finger that scrolls it."""
    yield from run_kiosk_ui(tmp_path, request.node.name, request.param)


def plain_barcodes(count: int) -> list[str]:
    """``count`` different sample items that go straight into the cart."""
    rows = csv.DictReader(io.StringIO(asset_text(SAMPLE_CATALOG)))
    codes = [
        row["barcode"] for row in rows
        if row.get("barcode") and not row.get("min_age") and not row.get("sold_by_weight")
    ]
    assert len(codes) >= count
    return codes[:count]


def cart_view(ui: KioskDriver) -> Any:
    """The cart's RecycleView (Factory loads it as ``kivy.uix.recycleview.__init__``, so it
    is checked by name)."""
    view = ui.find("cart", "shopping")
    assert type(view.__self__).__name__ == "RecycleView"  # kv ids are weak proxies
    return view


def shown_rows(ui: KioskDriver) -> dict[int, CartRow]:
    """The cart rows drawn wholly inside the cart's visible area, by line id."""
    view = cart_view(ui)
    _, bottom = view.to_window(view.x, view.y)
    top = bottom + view.height
    shown = {}
    for row in view.layout_manager.children:
        _, row_bottom = row.to_window(row.x, row.y)
        if row_bottom >= bottom - 1 and row_bottom + row.height <= top + 1:
            shown[row.line_id] = row
    return shown


# --- the rules, without a window ------------------------------------------------------------


def test_the_changed_line_is_the_new_one_or_the_one_counted_up() -> None:
    one = {"line_id": 1, "quantity": 1}
    two = {"line_id": 2, "quantity": 1}
    assert changed_line([], [one]) == 0
    assert changed_line([one], [one, two]) == 1
    assert changed_line([one, two], [{"line_id": 1, "quantity": 2}, two]) == 0
    assert changed_line([one, two], [one]) is None  # removed
    assert changed_line([{"line_id": 1, "quantity": 3}], [one]) is None  # counted down
    assert changed_line([one], []) is None


def test_the_scroll_moves_only_as_far_as_the_line_needs() -> None:
    # 10 rows of 100 px in a 300 px view: 700 px can scroll
    assert scroll_y_showing(9, 10, 100, 300, 1.0) == 0.0  # the last row: to the bottom
    assert scroll_y_showing(0, 10, 100, 300, 0.0) == 1.0  # the first row: to the top
    assert scroll_y_showing(1, 10, 100, 300, 1.0) == 1.0  # already in view: no move
    assert scroll_y_showing(5, 10, 100, 300, 1.0) == pytest.approx(1 - 300 / 700)
    assert scroll_y_showing(3, 3, 100, 300, 0.5) == 1.0  # everything fits


def test_a_long_name_is_cut_at_its_end_with_an_ellipsis_to_fit_two_lines() -> None:
    options = {"font_size": 26, "bold": True}
    one_line = CoreLabel(text="Ag", **options)
    one_line.refresh()

    def lines_of(text: str) -> int:
        label = CoreLabel(text=text, text_size=(240, None), **options)
        label.refresh()
        return round(label.texture.height / one_line.texture.height)

    name = f"{LONG_NAME}  (18+) and a few more words"
    assert lines_of(name) > 2
    fitted = fit_to_lines(name, lines_of, 2)
    assert fitted.startswith("White wine Grüner") and fitted.endswith(ELLIPSIS)
    assert lines_of(fitted) == 2
    assert fit_to_lines("Milk", lines_of, 2) == "Milk"


# --- on screen, at 1280x800 and 800x480 ------------------------------------------------------


def scan_basket(ui: KioskDriver, items: int) -> Iterator[int]:
    """Scan ``items`` different items one at a time, from the attract screen; yield the count
    of cart lines after each has landed."""
    ui.wait_for_screen("attract")
    ui.started()
    for count, code in enumerate(plain_barcodes(items), start=1):
        ui.scan(code)
        ui.wait_for(lambda n=count: len(ui.app.cart_rows) == n, f"{count} cart lines")
        yield count


def test_the_column_beside_the_cart_shows_the_last_item_scanned_until_it_goes() -> None:
    one = {"line_id": 1, "quantity": 1, "name": "Milk"}
    two = {"line_id": 2, "quantity": 1, "name": "Bread"}
    assert last_scanned({}, [one], 0) == one
    assert last_scanned(one, [one, two], 1) == two
    two_more = {**two, "quantity": 3}
    assert last_scanned(two, [one, two_more], None) == two_more  # its quantity changed
    assert last_scanned(two, [one], None) == {}  # removed
    assert last_scanned(one, [], None) == {}  # the cart emptied
    assert last_scanned({}, [one], None) == {}


def test_the_last_item_shows_only_where_the_column_has_room_for_it() -> None:
    assert fits_beside_totals(300, [100, 80], 10, 90, 4)
    assert not fits_beside_totals(300, [100, 80], 10, 100, 4)


def assert_column_holds_its_content(ui: KioskDriver) -> None:
    """The column beside the cart holds everything in it: nothing spills over its top."""
    panel = ui.find("side_panel", "shopping")
    heights = [child.height for child in panel.children]
    content = sum(heights) + panel.spacing * (len(heights) - 1) + panel.padding[1] \
        + panel.padding[3]
    assert content <= panel.height + 1, (content, panel.height)


def test_every_scan_of_a_12_item_basket_shows_its_line_marked(basket_ui: KioskDriver) -> None:
    ui = basket_ui
    for count in scan_basket(ui, 12):
        newest = ui.app.cart_rows[-1]["line_id"]
        shown = shown_rows(ui)
        assert newest in shown, f"line {count} is out of sight: {sorted(shown)}"
        assert shown[newest].fresh, f"line {count} is not marked"
        assert [row.line_id for row in shown.values() if row.fresh] == [newest]
        ui.frames(2)
        assert_column_holds_its_content(ui)
        if ui.app.root.width >= 1280:  # room for it beside the totals (the demo strip too)
            assert ui.find("last_item", "shopping").height > 0
        assert ui.find("last_name", "shopping").full_text == ui.app.cart_rows[-1]["name"]
        assert ui.find("last_amount", "shopping").text == ui.app.cart_rows[-1]["amount"]
    view = cart_view(ui)
    if view.layout_manager.height > view.height:  # (a portrait cart may hold all twelve)
        assert view.scroll_y < 0.05  # the view followed the basket down
    ui.screenshot("cart-12-items")
    ui.scan(plain_barcodes(1)[0])  # the first item again: its line counts up, back at the top
    ui.wait_for(lambda: ui.app.cart_rows[0]["quantity"] == 2, "the first line counted up")
    assert ui.app.cart_rows[0]["line_id"] in shown_rows(ui)
    assert ui.find("last_name", "shopping").full_text == ui.app.cart_rows[0]["name"]
    assert ui.find("last_detail", "shopping").text == ui.app.cart_rows[0]["detail"] != ""
    ui.pump(2.2)  # the mark fades after two seconds
    assert not any(row.fresh for row in shown_rows(ui).values())


def test_a_finger_drags_the_cart(basket_ui: KioskDriver) -> None:
    ui = basket_ui
    for count in scan_basket(ui, 30):  # 12 items, more until the first line is out of sight
        if count >= 12 and ui.app.cart_rows[0]["line_id"] not in shown_rows(ui):
            break
    view = cart_view(ui)
    ui.wait_for(lambda: view.scroll_y < 0.05, "the cart at its newest line")
    first = ui.app.cart_rows[0]["line_id"]
    assert first not in shown_rows(ui)
    for _ in range(6):  # a few flicks down the list, as a finger would
        ui.drag(view, -view.height * 0.8)
        ui.pump(0.3)  # the momentum runs out
    ui.wait_for(lambda: first in shown_rows(ui), "the first line back in view by dragging")


def test_a_long_age_restricted_name_shows_its_beginning_a_badge_and_the_age_check_ahead(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    ui.scan(barcode_of(LONG_NAME))
    ui.wait_for(lambda: len(ui.app.cart_rows) == 1, "the wine in the cart")
    ui.wait_for_screen("shopping")
    names = [  # the line's detail is a ProductName too: empty for one bottle
        w for w in cart_view(ui).walk(restrict=True) if isinstance(w, ProductName) and w.full_text
    ]
    assert len(names) == 1
    name = names[0]
    ui.screenshot("long-name")
    assert name.text.startswith("White wine"), name.text
    assert name.text == name.full_text or name.text.endswith(ELLIPSIS)
    row = name.parent
    while not isinstance(row, CartRow):
        row = row.parent
    assert name.texture_size[1] <= row.height  # it fits its row: nothing above or below
    assert name.texture_size[1] < name.font_size * 3  # two lines at most
    assert "18+" not in name.text  # the age is a badge beside the name, not words in it
    badges = [w for w in row.walk(restrict=True) if getattr(w, "text", None) == "18+"]
    assert len(badges) == 1 and badges[0].width > 0 and badges[0].height > 0
    ui.frames(2)
    assert_column_holds_its_content(ui)
    column = ui.find("last_item", "shopping")  # beside the cart, large, with its badge too
    assert [w for w in column.walk(restrict=True) if getattr(w, "text", None) == "18+"]
    screen = ui.app.root.screens.get_screen("shopping")
    assert (column.height > 0) is screen.last_item_fits
    assert ui.shows("Staff will check your age before you pay.")
