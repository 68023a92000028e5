"""Staff at the touchscreen: an age check, an unknown item and a help call, answered by PIN.

Each journey is driven by taps on the real needs-attendant screen and its PIN pad (staff
number, Next, PIN, OK), and checked both on screen and in the kiosk's SQLite database. An age
check or a help call is settled by the PIN alone; an unknown item needs a decision, so the PIN
opens the staff menu on its "This sale" page, where staff leave the item out (pricing it is in
``test_ui_staff_menu.py``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_support import MINERAL_WATER, SIZES, KioskDriver, barcode_of, run_kiosk_ui

from kiosk.core.checkout_states import AttendantReason, CheckoutState
from kiosk.sim.demo_shop import demo_barcodes

LAGER = barcode_of("Lager beer")
"""The sample catalog's age-restricted item (``min_age`` 18)."""


def unknown_item() -> str:
    """The demo barcode of an item the shop does not sell."""
    codes = dict(demo_barcodes())
    return codes["an item the shop does not sell"]


@pytest.fixture(params=list(SIZES))
def kiosk_ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk on screen at each supported screen size."""
    yield from run_kiosk_ui(tmp_path, request.node.name, request.param)


def demo_attendant(ui: KioskDriver) -> tuple[int, str]:
    """The demo shop's attendant: (staff number, PIN)."""
    for role, number, pin in ui.app.demo_info.staff:
        if role == "attendant":
            return int(number), str(pin)
    raise LookupError("the demo shop has no attendant")


def wrong_pin_for(pin: str) -> str:
    """A PIN of the same length that is not ``pin``."""
    wrong = "1" * len(pin)
    return wrong if wrong != pin else "2" * len(pin)


def type_on_pin_pad(ui: KioskDriver, staff_number: int, pin: str) -> None:
    """Tap the staff number, Next, the PIN digits and OK on the needs-attendant PIN pad."""
    pad = ui.attendant_pin_pad()
    keys = {
        str(key.key): key for key in pad.walk(restrict=True)
        if isinstance(getattr(key, "key", None), str) and key.key
    }
    for digit in str(staff_number):
        ui.tap(keys[digit])
    ui.tap(keys["ok"])  # "Next"
    assert pad.stage == "pin"
    for digit in pin:
        ui.tap(keys[digit])
    assert pad.pin_length == len(pin)
    ui.tap(keys["ok"])


def assert_staff_pad_hidden(ui: KioskDriver) -> None:
    """The staff PIN pad takes no room and no touches until staff touch "Staff"."""
    panel = ui.find("staff_panel")
    assert panel.width == 0 and panel.opacity == 0 and panel.disabled
    assert ui.find("reason_title").width > ui.app.root.width * 0.8  # the customer's words


def test_the_staff_pin_pad_shows_on_staff_s_touch_and_hides_again_without_one(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.app.staff_login_s = 1.0
    ui.wait_for_screen("attract")
    ui.started()
    ui.scan(unknown_item())
    ui.wait_for_screen("needs_attendant")
    assert_staff_pad_hidden(ui)
    pad = ui.attendant_pin_pad()
    panel = ui.find("staff_panel")
    assert panel.opacity == 1 and not panel.disabled and panel.width > 0
    assert ui.screen == "needs_attendant"  # answered here, not on the staff login screen
    assert ui.shows("Staff: enter your number and PIN to price the item or leave it out.")
    ui.screenshot("staff-pad")
    ui.tap(next(key for key in pad.walk(restrict=True) if getattr(key, "key", None) == "1"))
    ui.wait_for(lambda: not ui.app.attendant_pad_shown,
                "the PIN pad hidden again after a second without a touch")
    assert_staff_pad_hidden(ui)
    assert pad.stage == "number" and not pad.number_text, "what was typed is forgotten"
    assert ui.find("staff_button").text == "Staff"
    ui.app.staff_login_s = 30.0
    ui.attendant_pin_pad()
    assert ui.find("staff_button").text == "Staff menu"  # the staff menu, one touch on
    ui.tap(ui.find("staff_button"))
    ui.wait_for_screen("staff_login")
    assert not ui.app.attendant_pad_shown


def read_database(ui: KioskDriver, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows from the kiosk's database, opened read-only."""
    uri = f"file:{ui.data_dir / 'kiosk.db'}?mode=ro"
    connection = sqlite3.connect(uri, uri=True)
    try:
        return connection.execute(sql, args).fetchall()
    finally:
        connection.close()


def cart_names(ui: KioskDriver) -> list[str]:
    """The names of the lines in the customer's cart, as the facade holds them."""
    return [line.name for line in ui.kiosk.checkout.cart.lines]


def test_an_age_restricted_item_waits_for_staff_who_approve_it_with_their_pin(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    ui.scan(LAGER)
    ui.wait_for_screen("shopping")
    ui.wait_for(lambda: len(ui.app.cart_rows) == 1, "the beer in the cart")
    ui.tap(ui.find("pay_button"))
    ui.wait_for_screen("needs_attendant")
    assert ui.kiosk.checkout.attendant_reason is AttendantReason.AGE_CHECK
    assert ui.shows("An age check is needed")
    assert ui.shows("Staff is on the way.")
    assert ui.find("subject").text == "Lager beer 0.5 l"  # the item in question, named
    assert_staff_pad_hidden(ui)
    ui.screenshot("age-check")

    number, pin = demo_attendant(ui)
    type_on_pin_pad(ui, number, wrong_pin_for(pin))
    ui.wait_for(lambda: ui.app.staff_message.startswith("Wrong PIN."), "the wrong PIN answer")
    assert ui.shows("Wrong PIN.") and ui.shows("left.")
    assert ui.screen == "needs_attendant"
    ui.screenshot("wrong-pin")

    type_on_pin_pad(ui, number, pin)
    ui.wait_for_screen("shopping")
    assert cart_names(ui) == ["Lager beer 0.5 l"]
    ui.screenshot("approved")
    ui.tap(ui.find("pay_button"))
    ui.wait_for_screen("payment")
    ui.wait_for_screen("paid")
    assert ui.shows("Payment approved")
    ui.screenshot("paid")

    sale_id = ui.kiosk.checkout.sale_id
    ui.wait_for(
        lambda: read_database(
            ui, "SELECT state, age_approved_by FROM sales WHERE id = ?", sale_id
        ) == [("paid", number)],
        "the paid sale with its age approval in the database",
    )
    approvals = read_database(
        ui, "SELECT staff_number, outcome, detail FROM audit_log WHERE action = ?",
        "checkout.approve.age_check",
    )
    assert [(staff, outcome) for staff, outcome, _detail in approvals] == [(number, "approved")]
    assert sale_id in approvals[0][2]


def test_a_message_of_the_cart_stays_with_the_cart(kiosk_ui: KioskDriver) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    ui.scan("4006381333932")  # a wrong check digit
    unreadable = "That barcode could not be read. Please scan it again."
    ui.wait_for(lambda: ui.shows(unreadable), "the rejected-scan message")
    ui.scan(unknown_item())
    ui.wait_for_screen("needs_attendant")
    assert ui.shows("This item is not in our catalog")
    assert not ui.shows(unreadable) and ui.app.message == ""
    ui.tap_text("Continue without this item")
    ui.wait_for_screen("shopping")
    assert not ui.shows(unreadable)  # nor does it come back with the cart


def test_an_unknown_item_is_left_out_of_the_cart_once_staff_decide_so_in_the_staff_menu(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    ui.wait_for(lambda: len(ui.app.cart_rows) == 1, "the water in the cart")
    total_before = ui.app.total_text
    ui.scan(unknown_item())
    ui.wait_for_screen("needs_attendant")
    assert ui.kiosk.checkout.attendant_reason is AttendantReason.UNKNOWN_ITEM
    assert ui.shows("This item is not in our catalog")
    assert ui.shows("It has not been added to your cart.")
    assert ui.find("subject").text == f"Barcode {unknown_item()}"
    assert_staff_pad_hidden(ui)
    ui.screenshot("unknown-item")

    number, pin = demo_attendant(ui)
    type_on_pin_pad(ui, number, pin)
    ui.wait_for_screen("staff_menu")  # the PIN alone decides nothing for an unknown item
    assert ui.kiosk.checkout.attendant_reason is AttendantReason.UNKNOWN_ITEM
    assert ui.shows("Unknown item")
    ui.screenshot("staff-menu")
    ui.tap_text("Leave it out")
    ui.wait_for_screen("shopping")  # the call is settled: the menu closes by itself
    ui.screenshot("back-to-cart")
    assert ui.kiosk.checkout.state is CheckoutState.SHOPPING
    assert cart_names(ui) == ["Mineral water still 1.5 l"]
    assert [row["name"] for row in ui.app.cart_rows] == ["Mineral water still 1.5 l"]
    assert ui.app.total_text == total_before
    sale_id = ui.kiosk.checkout.sale_id
    ui.wait_for(
        lambda: read_database(
            ui, "SELECT name FROM sale_lines WHERE sale_id = ? ORDER BY position", sale_id
        ) == [("Mineral water still 1.5 l",)],
        "only the water saved with the sale",
    )
    ui.wait_for(
        lambda: read_database(
            ui, "SELECT staff_number, outcome FROM audit_log WHERE action = ?",
            "checkout.leave_out",
        ) == [(number, "ok")],
        "the decision in the audit log",
    )


def test_help_calls_staff_and_their_pin_returns_the_customer_to_the_cart(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    ui.wait_for(lambda: len(ui.app.cart_rows) == 1, "the water in the cart")
    ui.tap(ui.find("help_button"))
    ui.wait_for_screen("needs_attendant")
    assert ui.kiosk.checkout.attendant_reason is AttendantReason.HELP
    assert ui.shows("Help is on the way")
    assert ui.shows("Staff is on the way.")
    assert ui.shows("Staff: enter your number and PIN to close the call.")
    ui.screenshot("help-called")

    number, pin = demo_attendant(ui)
    type_on_pin_pad(ui, number, pin)
    ui.wait_for_screen("shopping")
    ui.screenshot("call-closed")
    assert ui.kiosk.checkout.state is CheckoutState.SHOPPING
    assert ui.kiosk.checkout.attendant_reason is None
    assert cart_names(ui) == ["Mineral water still 1.5 l"]
    assert not ui.shows("Help is on the way")


def test_a_customer_who_no_longer_needs_help_goes_back_to_the_cart_without_staff(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    ui.scan(MINERAL_WATER)
    ui.wait_for(lambda: len(ui.app.cart_rows) == 1, "the water in the cart")
    ui.tap(ui.find("help_button"))
    ui.wait_for_screen("needs_attendant")
    ui.screenshot("help-called")
    ui.tap_text("I no longer need help")
    ui.wait_for_screen("shopping")
    assert ui.kiosk.checkout.attendant_reason is None
    assert cart_names(ui) == ["Mineral water still 1.5 l"]

    ui.scan(unknown_item())
    ui.wait_for_screen("needs_attendant")
    assert ui.kiosk.checkout.attendant_reason is AttendantReason.UNKNOWN_ITEM
    ui.tap_text("Continue without this item")
    ui.wait_for_screen("shopping")
    assert cart_names(ui) == ["Mineral water still 1.5 l"]
    ui.screenshot("carried-on-without-the-unknown-item")
