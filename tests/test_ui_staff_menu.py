"""The staff menu on the real touchscreen: the way in, the sale on screen, sales and refunds.

Staff open the menu with the discreet "Staff" button and their PIN (or with their PIN at an
attendant call that needs a decision), price an unknown item on the money pad, allow an item
over a limit, remove a line during an age check, refund part of a paid sale, print a copy of
its receipt and of a receipt that never printed. Each journey is driven by taps on the real
screens, against the embedded Stripe emulator and the virtual printer, and checked in the
kiosk's SQLite database: every staff action writes exactly one audit row. Also here: what the
window does with the menu's kiosk-wide changes (closed, the first language, leaving the app).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from ui_support import (
    MINERAL_WATER,
    ORANGE_JUICE,
    SIZES,
    KioskDriver,
    artifact_folder,
    barcode_of,
    prepared_demo,
    run_kiosk_ui,
)

from kiosk.core.checkout_states import AttendantReason, CheckoutState
from kiosk.sim.demo_shop import demo_barcodes
from kiosk.staff_menu import EXIT_RESTART
from kiosk.store.staff import MAX_WRONG_PINS

LAGER = barcode_of("Lager beer")
"""The sample catalog's age-restricted item."""
WATER_NAME = "Mineral water still 1.5 l"
LOW_LIMIT = 2
"""The most water bottles on one line in the limit journey."""


def unknown_item() -> str:
    """The demo barcode of an item the shop does not sell."""
    return dict(demo_barcodes())["an item the shop does not sell"]


@pytest.fixture(params=list(SIZES))
def kiosk_ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk on screen at each supported screen size."""
    yield from run_kiosk_ui(tmp_path, request.node.name, request.param)


@pytest.fixture(params=list(SIZES))
def low_limit_ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk with at most ``LOW_LIMIT`` items on one cart line."""
    data_dir = tmp_path / "kiosk"
    data_dir.mkdir()
    settings, _demo = prepared_demo(data_dir)
    limits = replace(settings.limits, max_quantity_per_line=LOW_LIMIT)
    low = replace(settings, limits=limits)
    yield from run_kiosk_ui(tmp_path, request.node.name, request.param, settings=low)


# --------------------------------------------------------------------------------- helpers


def started(ui: KioskDriver) -> None:
    ui.wait_for_screen("attract")
    ui.started()


def has_items(ui: KioskDriver, count: int) -> bool:
    """True when the customer's cart holds ``count`` items."""
    return sum(line.quantity for line in ui.kiosk.checkout.cart.lines) == count


def fill_cart(ui: KioskDriver, *barcodes: str) -> None:
    """Scan ``barcodes`` one by one (all different); the cart is on screen after."""
    for count, barcode in enumerate(barcodes, 1):
        ui.scan(barcode)
        ui.wait_for(partial(has_items, ui, count), f"{count} items in the cart")
    ui.wait_for_screen("shopping")


def cart(ui: KioskDriver) -> list[tuple[str, int, int]]:
    """The customer's cart as the facade holds it: (name, quantity, amount in minor units)."""
    return [(line.name, line.quantity, line.amount_minor)
            for line in ui.kiosk.checkout.cart.lines]


def staff_rows(ui: KioskDriver, after_id: int, count: int) -> list[tuple[int | None, str, str]]:
    """Wait for ``count`` audit rows after ``after_id``; (staff number, action, outcome)."""
    ui.wait_for(lambda: len(ui.audit_rows(after_id)) >= count, f"{count} new audit rows")
    ui.pump(0.3)  # a second row for the same action would have arrived by now
    return [(staff, action, outcome) for _id, staff, action, outcome in ui.audit_rows(after_id)]


def menu(ui: KioskDriver) -> Any:
    """The staff menu screen."""
    return ui.app.root.screens.get_screen("staff_menu")


def pay_through_the_screens(ui: KioskDriver) -> str:
    """Water and orange juice, paid by card, receipt printed; back on the attract screen.
    Returns the sale's id."""
    fill_cart(ui, MINERAL_WATER, ORANGE_JUICE)
    sale_id = ui.kiosk.checkout.sale_id
    assert sale_id is not None
    ui.tap(ui.find("pay_button", "shopping"))
    ui.wait_for_screen("paid")
    ui.tap(ui.find("print_button", "paid"))
    printer = ui.kiosk.virtual_printer
    assert printer is not None
    ui.wait_for(lambda: len(printer.jobs) == 1, "the receipt on the virtual printer")
    ui.wait_for_screen("attract")
    return sale_id


def open_the_sale(ui: KioskDriver, page: Any) -> None:
    """Tap the newest sale in today's sales."""
    ui.wait_for(lambda: bool(page.rows), "today's sales listed")
    rows = [w for w in page.walk(restrict=True) if type(w).__name__ == "SaleRow" and w.sale_id]
    assert rows, "no sale row on screen"
    ui.tap(rows[0])
    ui.wait_for(lambda: page.view == "detail", "the sale in detail")


# ------------------------------------------------------------------------------- the way in


def test_a_right_pin_behind_the_staff_button_opens_the_menu_and_back_returns_to_the_cart(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    started(ui)
    fill_cart(ui, MINERAL_WATER)
    before = ui.last_audit_id()
    ui.tap(ui.find("staff_button"))
    ui.wait_for_screen("staff_login")
    assert ui.shows("Staff only")
    ui.screenshot("staff-login")

    number, pin = ui.demo_staff("attendant")
    ui.type_on_pin_pad(ui.find("pin_pad", "staff_login"), number, pin)
    ui.wait_for_screen("staff_menu")
    assert ui.app.staff_open and ui.kiosk.staff.session is not None
    assert ui.shows("Attendant")
    assert menu(ui).page_name == "sale"
    assert ui.find("staff_page_sales", "staff_menu") is not None
    assert ui.shows(WATER_NAME)
    assert not ui.find("staff_button").shown, "the corner button is hidden in the menu"
    ui.screenshot("staff-menu")

    ui.tap(ui.find("back_to_customer", "staff_menu"))
    ui.wait_for_screen("shopping")
    assert cart(ui)[0][0] == WATER_NAME
    assert ui.kiosk.staff.session is None
    assert staff_rows(ui, before, 2) == [
        (number, "staff.pin_check", "ok"),
        (number, "staff.menu_close", "logout"),
    ]


def test_back_on_the_staff_pin_pad_returns_to_the_customer_without_a_pin(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    started(ui)
    before = ui.last_audit_id()
    ui.tap(ui.find("staff_button"))
    ui.wait_for_screen("staff_login")
    ui.tap(ui.find("staff_back", "staff_login"))
    ui.wait_for_screen("attract")
    ui.app.staff_login_s = 0.3  # the pad also gives up by itself when nobody touches it
    ui.tap(ui.find("staff_button"))
    ui.wait_for_screen("staff_login")
    ui.wait_for_screen("attract")
    assert ui.audit_rows(before) == []


def test_five_wrong_pins_lock_the_staff_member_out_and_the_right_pin_waits_for_the_lockout(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    started(ui)
    before = ui.last_audit_id()
    number, pin = ui.demo_staff("attendant")
    wrong = "1" * len(pin) if pin != "1" * len(pin) else "2" * len(pin)
    ui.tap(ui.find("staff_button"))
    ui.wait_for_screen("staff_login")
    pad = ui.find("pin_pad", "staff_login")
    for tries_left in range(MAX_WRONG_PINS - 1, 0, -1):
        ui.type_on_pin_pad(pad, number, wrong)
        expected = f"Wrong PIN. {tries_left} {'try' if tries_left == 1 else 'tries'} left."
        ui.wait_for(partial(ui.shows, expected), expected)
    ui.screenshot("wrong-pin")

    ui.type_on_pin_pad(pad, number, wrong)
    ui.wait_for(lambda: ui.app.staff_message.startswith("Too many wrong PINs."), "the lockout")
    (locked_until,) = ui.read_database("SELECT locked_until FROM staff WHERE number = ?", number)[0]
    assert locked_until is not None
    shown = ui.app.staff_message
    assert shown.startswith("Too many wrong PINs. Locked until ")
    assert ui.shows(shown)
    ui.screenshot("locked")

    ui.type_on_pin_pad(pad, number, pin)
    ui.wait_for(lambda: len(ui.audit_rows(before)) == MAX_WRONG_PINS + 1, "six PIN checks")
    ui.pump(0.3)
    assert ui.screen == "staff_login"
    assert ui.kiosk.staff.session is None
    assert ui.shows(shown), "the right PIN is refused while locked out"
    outcomes = [outcome for _staff, _action, outcome in staff_rows(ui, before, 6)]
    assert outcomes == ["wrong_pin"] * (MAX_WRONG_PINS - 1) + ["locked", "locked"]
    assert {action for _staff, action, _outcome in staff_rows(ui, before, 6)} == {
        "staff.pin_check"
    }

    # The manager who signs in next sees the lockout at the top of the menu.
    manager, manager_pin = ui.demo_staff("manager")
    ui.type_on_pin_pad(pad, manager, manager_pin)
    ui.wait_for_screen("staff_menu")
    notice = ui.find("lockout_notice", "staff_menu").text
    assert notice.startswith(f"Locked out after too many wrong PINs: staff {number} at ")
    assert ui.shows(notice)
    ui.screenshot("lockout-notice")


def test_the_staff_menu_closes_itself_after_its_timeout_and_the_cart_is_intact(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    started(ui)
    fill_cart(ui, MINERAL_WATER, ORANGE_JUICE)
    cart_before = cart(ui)
    ui.log_in_as("manager")
    number, _pin = ui.demo_staff("manager")
    before = ui.last_audit_id()
    timeout_s = ui.settings.staff.menu_timeout_s
    for _ in range(3):  # the facade ticks every second; a third of the timeout at a time
        ui.advance(timeout_s / 3 - 1)
        assert ui.screen == "staff_menu"
    ui.advance(4)
    ui.wait_for_screen("shopping")
    assert cart(ui) == cart_before
    assert ui.kiosk.checkout.state is CheckoutState.SHOPPING
    assert ui.app.message == "", "nothing is said to the customer"
    assert staff_rows(ui, before, 1) == [(number, "staff.menu_close", "timeout")]
    ui.screenshot("back-to-the-cart")


# ---------------------------------------------------------------------------- this sale


def test_an_unknown_item_is_priced_on_the_money_pad_and_added_to_the_cart(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    started(ui)
    fill_cart(ui, MINERAL_WATER)
    ui.scan(unknown_item())
    ui.wait_for_screen("needs_attendant")
    number, pin = ui.demo_staff("attendant")
    ui.type_on_pin_pad(ui.attendant_pin_pad(), number, pin)
    ui.wait_for_screen("staff_menu")
    page = menu(ui).page
    assert menu(ui).page_name == "sale"
    refused = ui.kiosk.checkout.refused
    assert refused is not None and refused.code is not None
    assert ui.shows("Unknown item") and ui.shows(refused.code)

    before = ui.last_audit_id()
    ui.tap(ui.find("decide_button", "staff_menu"))  # no price yet
    ui.wait_for(lambda: ui.shows("Enter a price above zero."), "the refused price")
    pad = ui.find("money_pad", "staff_menu")
    ui.type_on_money_pad(pad, "129")
    assert pad.amount_minor == 129
    assert ui.shows("€1.29")
    ui.tap_text("Add to the cart")  # no tax class yet
    ui.wait_for(lambda: ui.shows("Choose a tax class."), "the missing tax class")
    ui.screenshot("pricing")
    ui.tap_text("VAT 23%")
    assert page.tax_class == "standard"
    ui.tap_text("Add to the cart")
    ui.wait_for_screen("shopping")  # the call is settled: the menu closes by itself
    assert cart(ui)[1][1:] == (1, 129)
    assert [line.tax_class for line in ui.kiosk.checkout.cart.lines] == ["reduced", "standard"]
    assert ui.app.cart_rows[1]["amount"] == "€1.29"
    assert staff_rows(ui, before, 3) == [
        (number, "checkout.price_item", "bad_price"),
        (number, "checkout.price_item", "unknown_tax_class"),
        (number, "checkout.price_item", "ok"),
    ]
    ui.screenshot("priced")


def test_a_limit_call_is_allowed_and_the_quantity_goes_past_the_limit(
    low_limit_ui: KioskDriver,
) -> None:
    ui = low_limit_ui
    started(ui)
    fill_cart(ui, MINERAL_WATER)
    plus = [w for w in ui.app.root.screens.get_screen("shopping").walk(restrict=True)
            if getattr(w, "text", None) == "+"]
    for quantity in range(2, LOW_LIMIT + 1):
        ui.tap(plus[0])
        ui.wait_for(partial(has_items, ui, quantity), f"{quantity} bottles")
    ui.tap(plus[0])  # one more than the limit allows
    ui.wait_for_screen("needs_attendant")
    assert ui.kiosk.checkout.attendant_reason is AttendantReason.LIMIT_REACHED
    number, pin = ui.demo_staff("attendant")
    ui.type_on_pin_pad(ui.attendant_pin_pad(), number, pin)
    ui.wait_for_screen("staff_menu")
    assert ui.shows("Over this kiosk's limit")
    ui.screenshot("limit")
    before = ui.last_audit_id()
    ui.tap_text("Allow it")
    ui.wait_for_screen("shopping")
    assert cart(ui) == [(WATER_NAME, LOW_LIMIT + 1, (LOW_LIMIT + 1) * 49)]
    # one decision, one row: the menu the call opened closes with it, without a row of its own
    assert staff_rows(ui, before, 1) == [(number, "checkout.override_limit", "approved")]


def test_a_line_removed_during_an_age_check_lets_the_customer_pay_without_the_check(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    started(ui)
    fill_cart(ui, ORANGE_JUICE, LAGER)
    ui.tap(ui.find("pay_button", "shopping"))
    ui.wait_for_screen("needs_attendant")
    assert ui.kiosk.checkout.attendant_reason is AttendantReason.AGE_CHECK
    ui.log_in_as("attendant")
    number, _pin = ui.demo_staff("attendant")
    assert ui.shows("Age check")
    ui.screenshot("age-check")
    lager = [line for line in ui.kiosk.checkout.cart.lines if line.min_age is not None]
    assert len(lager) == 1
    rows = [
        w for w in menu(ui).walk(restrict=True)
        if type(w).__name__ == "StaffCartRow" and w.line_id == lager[0].line_id
    ]
    assert len(rows) == 1
    before = ui.last_audit_id()
    ui.tap(rows[0].ids.remove_button)
    ui.wait_for(lambda: len(ui.kiosk.checkout.cart.lines) == 1, "the beer removed")
    assert ui.kiosk.checkout.state is CheckoutState.SHOPPING
    assert staff_rows(ui, before, 1) == [(number, "checkout.void_line", "ok")]
    ui.tap(ui.find("back_to_customer", "staff_menu"))
    ui.wait_for_screen("shopping")
    ui.tap(ui.find("pay_button", "shopping"))
    ui.wait_for_screen("paid")
    assert [name for name, _quantity, _amount in cart(ui)] == ["Orange juice 1 l"]


# -------------------------------------------------------------------------- sales, refunds


def test_a_manager_refunds_part_of_a_paid_sale_and_more_than_is_left_is_refused(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    started(ui)
    sale_id = pay_through_the_screens(ui)
    (total,) = ui.read_database("SELECT total_minor FROM sales WHERE id = ?", sale_id)[0]
    ui.log_in_as("manager")
    number, _pin = ui.demo_staff("manager")
    page = ui.staff_page("sales")
    assert ui.shows(f"€{total / 100:.2f}")
    ui.screenshot("todays-sales")
    open_the_sale(ui, page)
    assert ui.shows(WATER_NAME)
    ui.screenshot("sale")

    ui.tap(ui.find("refund_button", "staff_menu"))
    ui.wait_for(lambda: page.view == "refund", "the refund pad")
    pad = ui.find("refund_pad", "staff_menu")
    assert pad.amount_minor == total, "the pad starts at what is left to refund"
    ui.type_on_money_pad(pad, ["clear", "5", "0"])
    ui.screenshot("refund-pad")
    before = ui.last_audit_id()
    ui.tap_text("Refund this amount")
    ui.wait_for(lambda: ui.shows("Refunded €0.50. The refund slip is printing."), "refunded")
    printer = ui.kiosk.virtual_printer
    assert printer is not None
    ui.wait_for(lambda: len(printer.jobs) == 2, "the refund slip on the virtual printer")
    assert "REFUND" in printer.jobs[1].text
    assert ui.read_database("SELECT amount_minor, state FROM refunds WHERE sale_id = ?",
                            sale_id) == [(50, "succeeded")]
    assert [row for row in staff_rows(ui, before, 1) if row[0] == number] == [
        (number, "sale.refund", "refunded")
    ]
    ui.screenshot("refunded")

    ui.tap(ui.find("refund_button", "staff_menu"))
    ui.wait_for(lambda: page.view == "refund", "the refund pad again")
    assert pad.amount_minor == total - 50
    ui.type_on_money_pad(pad, ["clear", "9", "9", "9", "9"])
    before = ui.last_audit_id()
    ui.tap_text("Refund this amount")
    left = f"€{(total - 50) / 100:.2f}"
    refused = f"That is more than is left to refund ({left})."
    ui.wait_for(lambda: ui.shows(refused), "the refused refund")
    assert staff_rows(ui, before, 1) == [(number, "sale.refund", "exceeds_captured")]
    assert len(ui.read_database("SELECT id FROM refunds WHERE sale_id = ?", sale_id)) == 1
    ui.screenshot("refused")


@pytest.fixture
def large_ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk on the 10-inch screen only."""
    yield from run_kiosk_ui(tmp_path, request.node.name, "1280x800")


def test_two_taps_on_refund_this_amount_refund_once(large_ui: KioskDriver) -> None:
    ui = large_ui
    started(ui)
    sale_id = pay_through_the_screens(ui)
    ui.log_in_as("manager")
    number, _pin = ui.demo_staff("manager")
    page = ui.staff_page("sales")
    open_the_sale(ui, page)
    ui.tap(ui.find("refund_button", "staff_menu"))
    ui.wait_for(lambda: page.view == "refund", "the refund pad")
    pad = ui.find("refund_pad", "staff_menu")
    ui.type_on_money_pad(pad, ["clear", "5", "0"])
    before = ui.last_audit_id()

    page.refund_amount()  # two fingers, or a tap and a bounce, before the bank answers
    page.refund_amount()

    ui.wait_for(lambda: ui.shows("Refunded €0.50. The refund slip is printing."), "refunded")
    assert [row for row in staff_rows(ui, before, 1) if row[0] == number] == [
        (number, "sale.refund", "refunded")]
    assert ui.read_database("SELECT amount_minor, state FROM refunds WHERE sale_id = ?",
                            sale_id) == [(50, "succeeded")]


def test_an_attendant_prints_a_copy_marked_copy_but_sees_no_refund_button(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    started(ui)
    pay_through_the_screens(ui)
    ui.log_in_as("attendant")
    number, _pin = ui.demo_staff("attendant")
    page = ui.staff_page("sales")
    open_the_sale(ui, page)
    refund_button = ui.find("refund_button", "staff_menu")
    assert refund_button.text == "Managers only" and refund_button.disabled
    assert not ui.shows("Refund...")
    ui.screenshot("attendant-sale")

    before = ui.last_audit_id()
    ui.tap(ui.find("copy_button", "staff_menu"))
    ui.wait_for(lambda: ui.shows("The copy was printed."), "the copy printed")
    printer = ui.kiosk.virtual_printer
    assert printer is not None
    ui.wait_for(lambda: len(printer.jobs) == 2, "the copy on the virtual printer")
    assert "COPY" in printer.jobs[1].text
    assert "COPY" not in printer.jobs[0].text
    assert staff_rows(ui, before, 1) == [(number, "receipt.reprint", "printed")]


def test_a_receipt_that_never_printed_waits_on_the_receipts_page_until_staff_print_a_copy(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    started(ui)
    printer = ui.kiosk.virtual_printer
    assert printer is not None
    printer.go_offline()
    fill_cart(ui, MINERAL_WATER, ORANGE_JUICE)
    ui.tap(ui.find("pay_button", "shopping"))
    ui.wait_for_screen("paid")
    ui.tap(ui.find("print_button", "paid"))
    ui.wait_for_screen("attract")
    ui.advance(ui.settings.printer.retry_window_s + 1)  # past the window of automatic retries
    ui.wait_for(lambda: len(ui.kiosk.staff.unprinted()) == 1, "the receipt given up on")
    assert printer.jobs == []
    printer.come_online()

    ui.log_in_as("attendant")
    number, _pin = ui.demo_staff("attendant")
    ui.staff_page("receipts")
    assert ui.shows("1 receipt was not printed:")
    assert ui.shows("No card payment is waiting to be settled.")
    ui.screenshot("unprinted")
    before = ui.last_audit_id()
    ui.tap(ui.find("copy_button", "staff_menu"))
    ui.wait_for(lambda: ui.shows("The copy was printed."), "the copy printed")
    assert "COPY" in printer.jobs[0].text
    ui.wait_for(lambda: ui.shows("Every receipt a customer asked for was printed."),
                "the list emptied")
    assert staff_rows(ui, before, 1) == [(number, "receipt.reprint", "printed")]

    before = ui.last_audit_id()
    ui.tap(ui.find("check_again_button", "staff_menu"))
    ui.wait_for(lambda: ui.shows("Every payment is settled."), "the payments checked")
    assert staff_rows(ui, before, 1) == [(number, "payment.check_again", "settled")]
    ui.screenshot("receipts-settled")


def test_a_lost_authorisation_shows_on_the_receipts_page_until_seen(
    kiosk_ui: KioskDriver,
) -> None:
    import sqlite3
    from datetime import UTC, datetime

    from sqlite_utils import Database

    from kiosk.payments import attempts
    from kiosk.payments.lost_authorisations import record_lost

    ui = kiosk_ui
    started(ui)
    fill_cart(ui, MINERAL_WATER)
    sale_id = ui.kiosk.checkout.sale_id
    assert sale_id is not None
    ui.kiosk.wait_for_writes(10)
    now = datetime.now(UTC)
    with sqlite3.connect(ui.data_dir / "kiosk.db") as connection:
        db = Database(connection)
        (total,) = db.execute("SELECT total_minor FROM sales WHERE id = ?", [sale_id]).fetchone()
        attempt = attempts.lock(db, sale_id, total, capture_method="manual", at=now)
        assert record_lost(db, attempt.id, at=now)

    ui.log_in_as("attendant")
    number, _pin = ui.demo_staff("attendant")
    ui.staff_page("receipts")
    assert ui.shows("authorisation cancelled at Stripe")
    assert ui.shows("nothing was charged")
    ui.screenshot("lost-authorisation")
    before = ui.last_audit_id()
    ui.tap(ui.find("acknowledge_button", "staff_menu"))
    ui.wait_for(lambda: ui.shows("Noted."), "the lost authorisation noted")
    assert not ui.shows("authorisation cancelled at Stripe")
    assert staff_rows(ui, before, 1) == [
        (number, "payment.authorisation_lost_acknowledged", "ok")]


# ------------------------------------------------------------------------- the app's wiring


def test_the_kiosk_closed_and_the_language_chosen_by_a_manager_hold_after_a_restart(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    data_dir = tmp_path / "kiosk"
    data_dir.mkdir()
    settings, demo = prepared_demo(data_dir)
    shots = artifact_folder(request.node.name)
    ui = KioskDriver(data_dir, settings, size=SIZES["800x480"], shots=shots, demo=demo)
    try:
        started(ui)
        ui.log_in_as("manager")
        assert ui.kiosk.staff.change_setting("shop.default_language", "de") == ""
        ui.kiosk.staff.set_closed(True)
        ui.wait_for(lambda: ui.app.closed, "the kiosk closed")
        assert ui.screen == "staff_menu", "the menu stays until staff leave it"
        ui.tap(ui.find("back_to_customer", "staff_menu"))
        ui.wait_for_screen("closed")
        assert ui.app.language == "de"
        assert ui.find("staff_button").shown, "staff can still open the menu on a closed kiosk"
        ui.screenshot("closed-in-german")
    finally:
        ui.stop()

    again = KioskDriver(data_dir, settings, size=SIZES["800x480"], shots=shots, demo=demo)
    try:
        again.started()
        again.wait_for_screen("closed")
        assert again.app.closed and again.app.default_language == "de"
        assert again.app.language == "de"
        again.log_in_as("manager")
        again.kiosk.staff.set_closed(False)
        again.tap(again.find("back_to_customer", "staff_menu"))
        again.wait_for_screen("attract")
        again.scan(MINERAL_WATER)
        again.wait_for_screen("shopping")
    finally:
        again.stop()


def test_a_manager_restarting_the_app_stops_the_window_with_the_restart_exit_code(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    started(ui)
    ui.log_in_as("manager")
    assert ui.app.exit_code == 0
    assert ui.kiosk.staff.restart_app() == ""
    ui.wait_for(lambda: ui.app.root.parent is None, "the app to stop")
    assert ui.app.exit_code == EXIT_RESTART
