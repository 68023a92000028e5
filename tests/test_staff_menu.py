"""The staff menu (``Kiosk.staff``) driven headless: PINs and roles, the timeout, scans while it
is open, attendant calls, refunds and copies on the embedded Stripe emulator and the virtual
printer, open/closed, restart and power, the USB catalog, the reader inspection, settings,
and the promise of issue #8: every staff action writes exactly one audit row.

Everything is real (SQLite files in tmp_path, the stripe package against the emulator, the
virtual printer) except ``busctl``, replaced by a recording stand-in first on PATH: CI cannot
reboot itself (as in tests/test_machine.py).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest
from staff_support import (
    ATTENDANT,
    ATTENDANT_PIN,
    JUICE,
    MANAGER,
    MANAGER_PIN,
    WAIT_S,
    WATER,
    Answers,
    Clock,
    HostedMenu,
    StaffShop,
    demo_shop_settings,
    install_busctl,
)
from stdnum import ean

from kiosk.config import Settings
from kiosk.core.checkout_states import AttendantReason, CheckoutState, PaymentPhase, ReceiptChoice
from kiosk.core.pins import PinOutcome
from kiosk.devices.usb_stick import MAX_CATALOG_BYTES
from kiosk.notices import (
    AppExitRequested,
    CartRefused,
    IdlePromptShown,
    InspectionRecorded,
    KioskClosedChanged,
    Notice,
    RuntimeSettingChanged,
    ScannerTestRead,
    ScanRejected,
    StaffActionDone,
    StaffChecked,
    StaffMenuChanged,
    StoreTrouble,
)
from kiosk.sim.demo_shop import in_store_code
from kiosk.staff_menu import (
    EXIT_LEFT_BY_STAFF,
    EXIT_RESTART,
    MANAGER_ONLY,
    MAX_STAFF_NUMBER,
    check_staff_pin,
)
from kiosk.store.staff import StaffRoster

UNKNOWN_ITEM = in_store_code("40", "12345", 67890).encode() + b"\r\n"
"""A well-formed in-store EAN-13 the demo catalog does not know."""
LOGIND = ["org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.login1.Manager"]
CSV_HEADER = "barcode,plu,name,price,tax_class,min_age,sold_by_weight,unit_price_per_kg,department"
TEA = "401234500001" + ean.calc_check_digit("401234500001")
GOOD_CSV = (
    f"{CSV_HEADER}\n"
    f"{TEA},,Green tea 20 bags,2.35,reduced,,,,Drinks\n"
    "4006381333931,,Mineral water still 1.5 l,0.55,reduced,,,,Drinks\n"
)
BAD_CSV = (
    f"{CSV_HEADER}\n"
    "4006381333932,,Broken water,0.55,reduced,,,,Drinks\n"  # wrong check digit
    f"{TEA},,Green tea 20 bags,two euros,nowhere,,,,Drinks\n"
)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stick(tmp_path: Path) -> Path:
    """A plain folder standing in for the USB stick's mount point."""
    folder = tmp_path / "usb-stick"
    folder.mkdir()
    return folder


@pytest.fixture
def settings(tmp_path: Path, stick: Path) -> Settings:
    base = demo_shop_settings(tmp_path)
    catalog = replace(base.catalog, usb_mount_path=stick)
    return replace(base, catalog=catalog)


@pytest.fixture
def shop(settings: Settings, clock: Clock) -> Iterator[StaffShop]:
    """The demo shop without card payments (a kiosk whose reader is not configured)."""
    started = StaffShop(settings, clock)
    yield started
    started.close()


@pytest.fixture
def card_shop(settings: Settings, clock: Clock) -> Iterator[StaffShop]:
    """The demo shop paying on the embedded Stripe emulator, printing on the virtual printer."""
    started = StaffShop(settings, clock, card_payments=True)
    yield started
    started.close()


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder first on PATH for the ``busctl`` stand-in (the rest keeps /bin/sh)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return folder


def paid_sale(shop: StaffShop) -> str:
    """Sell a juice (1.89) on the emulator, no receipt; return the sale id (menu closed)."""
    shop.emulator.customer("tap", after_s=0.05)
    shop.kiosk.scan(JUICE)
    sale_id = shop.kiosk.checkout.sale_id
    assert sale_id is not None
    shop.kiosk.pay()
    shop.until(lambda: shop.kiosk.checkout.state is CheckoutState.PAID)
    shop.kiosk.choose_receipt(ReceiptChoice.NONE)
    shop.settle()
    assert shop.kiosk.checkout.sale_id is None
    return sale_id


def audit_texts(shop: StaffShop) -> str:
    """Everything the audit log and its outbox events hold, as one text."""
    rows = shop.rows("SELECT * FROM audit_log") + shop.rows(
        "SELECT * FROM outbox WHERE topic = 'audit.recorded'")
    return repr(rows)


# ----------------------------------------------------------------------------- log in


def test_a_right_pin_opens_the_menu_for_that_staff_member(shop: StaffShop) -> None:
    shop.staff.log_in(ATTENDANT, ATTENDANT_PIN)
    shop.settle()

    (checked,) = shop.of(StaffChecked)
    assert (checked.outcome, checked.staff_number) == (PinOutcome.OK, ATTENDANT)
    assert shop.of(StaffMenuChanged) == [
        StaffMenuChanged(True, "login", ATTENDANT, "attendant")]
    session = shop.staff.session
    assert session is not None
    assert (session.staff_number, session.name, session.role, session.reason) == (
        ATTENDANT, "Demo Attendant", "attendant", "login")
    assert session.opened_at == shop.clock() and not session.is_manager


def test_a_wrong_pin_opens_nothing_and_says_how_many_tries_are_left(shop: StaffShop) -> None:
    shop.staff.log_in(ATTENDANT, "975310")
    shop.settle()

    (checked,) = shop.of(StaffChecked)
    assert (checked.outcome, checked.tries_left) == (PinOutcome.WRONG_PIN, 4)
    assert shop.staff.session is None
    assert shop.of(StaffMenuChanged) == []


def test_five_wrong_pins_lock_the_staff_member_out_even_for_the_right_pin(
    shop: StaffShop,
) -> None:
    for _ in range(5):
        shop.staff.log_in(ATTENDANT, "975310")
        shop.settle()
    shop.staff.log_in(ATTENDANT, ATTENDANT_PIN)
    shop.settle()

    outcomes = [checked.outcome for checked in shop.of(StaffChecked)]
    assert outcomes == [PinOutcome.WRONG_PIN] * 4 + [PinOutcome.LOCKED] * 2
    assert shop.of(StaffChecked)[-1].locked_until > shop.clock()
    assert shop.staff.session is None
    assert shop.of(StaffMenuChanged) == []


def test_a_lockout_is_a_notice_at_the_top_of_the_menu_and_an_event_for_the_back_office(
    shop: StaffShop, clock: Clock,
) -> None:
    locked_at = clock()
    for _ in range(5):
        shop.staff.log_in(ATTENDANT, "975310")
        shop.settle()
    events = shop.rows("SELECT payload FROM outbox WHERE topic = 'staff.locked_out'")
    assert [json.loads(row[0])["staff_number"] for row in events] == [ATTENDANT]

    shop.log_in(MANAGER, MANAGER_PIN)
    lockouts = shop.staff.recent_lockouts()
    assert [(lockout.staff_number, lockout.at) for lockout in lockouts] == [
        (ATTENDANT, locked_at)]


def test_an_impossible_staff_number_is_unknown_staff_without_asking_the_store(
    shop: StaffShop,
) -> None:
    before = shop.audit_count()
    shop.staff.log_in(0, MANAGER_PIN)
    shop.settle()

    assert [checked.outcome for checked in shop.of(StaffChecked)] == [PinOutcome.UNKNOWN_STAFF]
    assert shop.staff.session is None and shop.audit_count() == before


def test_no_pin_reaches_the_audit_log_or_the_log_and_the_staff_table_holds_only_a_hash(
    shop: StaffShop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "975310"
    shop.staff.log_in(ATTENDANT, wrong)
    shop.settle()
    shop.staff.log_in(ATTENDANT, ATTENDANT_PIN)
    shop.settle()
    shop.staff.log_out()
    shop.log_in(MANAGER, MANAGER_PIN)

    checks = shop.rows("SELECT outcome FROM audit_log WHERE action = 'staff.pin_check'")
    assert [outcome for (outcome,) in checks] == ["wrong_pin", "ok", "ok"]
    for pin in (wrong, ATTENDANT_PIN, MANAGER_PIN):
        assert pin not in audit_texts(shop)
        assert pin not in caplog.text
    assert "staff menu opened by staff 1001" in caplog.text  # the log was captured
    staff = shop.rows("SELECT number, pin_hash, pin_params FROM staff ORDER BY number")
    for (number, pin_hash, pin_params), pin in zip(
            staff, (ATTENDANT_PIN, MANAGER_PIN), strict=True):
        assert isinstance(pin_hash, bytes) and len(pin_hash) == 32, number
        assert pin.encode() not in pin_hash
        assert json.loads(pin_params)["alg"] == "scrypt"


# ------------------------------------------------------------------------------- roles


def test_without_a_session_nothing_is_allowed_and_no_staff_action_runs(
    shop: StaffShop,
) -> None:
    before = shop.audit_count()
    assert not shop.staff.may("reprint")
    assert shop.staff.leave_app() == "not_allowed"
    assert shop.staff.change_setting("sound.volume", 60) == "not_allowed"
    shop.settle()

    assert [done.code for done in shop.of(StaffActionDone)] == ["not_allowed"] * 2
    assert shop.of(AppExitRequested) == []
    assert shop.audit_count() == before  # nobody to record it against


def test_may_tells_what_each_role_is_allowed_to_do(shop: StaffShop) -> None:
    shop.log_in(ATTENDANT, ATTENDANT_PIN)
    attendant = {action: shop.staff.may(action) for action in
                 ("approve", "reprint", "printer_test", "inspection", *MANAGER_ONLY)}
    shop.staff.log_out()
    shop.log_in(MANAGER, MANAGER_PIN)

    assert {action for action, allowed in attendant.items() if allowed} == {
        "approve", "reprint", "printer_test", "inspection"}
    assert all(shop.staff.may(action) for action in MANAGER_ONLY)
    assert shop.staff.session is not None and shop.staff.session.is_manager


@pytest.mark.parametrize("attempt", ["refund", "set_closed", "leave_app", "change_setting"])
def test_an_attendant_is_refused_a_manager_action_with_one_audit_row(
    shop: StaffShop, attempt: str
) -> None:
    shop.log_in(ATTENDANT, ATTENDANT_PIN)
    before = shop.audit_count()
    answers = Answers()
    if attempt == "refund":
        shop.staff.refund("any-sale", 100, answers)
    elif attempt == "set_closed":
        shop.staff.set_closed(True)  # answers with a notice only
        answers(*[done.code for done in shop.of(StaffActionDone)])
    elif attempt == "leave_app":
        answers(shop.staff.leave_app())
    else:
        answers(shop.staff.change_setting("sound.volume", 60))
    shop.settle()

    assert answers.only == "not_allowed"
    action = {"refund": "refund", "set_closed": "open_close"}.get(attempt, attempt)
    assert shop.audit_since(before) == [(f"staff.{action}", "not_allowed", ATTENDANT)]
    assert shop.of(StaffActionDone) == [StaffActionDone(action, "not_allowed")]
    assert shop.of(KioskClosedChanged) == shop.of(AppExitRequested) == []
    assert shop.of(RuntimeSettingChanged) == []
    assert not shop.staff.closed
    assert shop.staff.session is not None  # refused, still in the menu


# ----------------------------------------------------------------------------- timeout


def test_the_menu_closes_itself_after_its_timeout_and_a_touch_restarts_it(
    shop: StaffShop, clock: Clock
) -> None:
    timeout_s = shop.settings.staff.menu_timeout_s
    shop.log_in(ATTENDANT, ATTENDANT_PIN)
    before = shop.audit_count()

    clock.advance(timeout_s - 1)
    shop.kiosk.tick()
    assert shop.staff.session is not None
    shop.staff.touch()
    clock.advance(timeout_s - 1)
    shop.kiosk.tick()
    assert shop.staff.session is not None  # the touch started the wait again
    clock.advance(1)
    shop.kiosk.tick()
    shop.settle()

    assert shop.staff.session is None
    assert shop.of(StaffMenuChanged)[-1] == StaffMenuChanged(
        False, "timeout", ATTENDANT, "attendant")
    assert shop.audit_since(before) == [("staff.menu_close", "timeout", ATTENDANT)]


def test_the_customers_cart_does_not_time_out_behind_the_open_menu(
    shop: StaffShop, clock: Clock
) -> None:
    timeouts = shop.settings.timeouts
    past_both_s = timeouts.idle_prompt_after_s + timeouts.idle_abandon_after_s + 60
    shop.kiosk.scan(WATER)
    sale_id = shop.kiosk.checkout.sale_id
    shop.log_in(ATTENDANT, ATTENDANT_PIN)

    for _ in range(past_both_s // 10):
        clock.advance(10)
        shop.staff.touch()  # staff are busy in the menu
        shop.kiosk.tick()
    shop.settle()
    assert shop.of(IdlePromptShown) == []
    assert shop.kiosk.checkout.state is CheckoutState.SHOPPING
    assert shop.kiosk.checkout.sale_id == sale_id
    assert shop.rows("SELECT state FROM sales WHERE id = ?", sale_id) == [("open",)]

    shop.staff.log_out()  # back to the customer: the customer's timers run again
    clock.advance(timeouts.idle_prompt_after_s + 1)
    shop.kiosk.tick()
    assert len(shop.of(IdlePromptShown)) == 1


def test_log_out_goes_back_to_the_customer_with_one_audit_row(shop: StaffShop) -> None:
    shop.log_in(MANAGER, MANAGER_PIN)
    before = shop.audit_count()
    shop.staff.log_out()
    shop.settle()

    assert shop.staff.session is None
    assert shop.of(StaffMenuChanged)[-1] == StaffMenuChanged(False, "logout", MANAGER, "manager")
    assert shop.audit_since(before) == [("staff.menu_close", "logout", MANAGER)]


# ----------------------------------------------------------------------- scanner test


def test_scans_while_the_menu_is_open_are_shown_to_staff_and_never_enter_the_cart(
    shop: StaffShop,
) -> None:
    shop.log_in(ATTENDANT, ATTENDANT_PIN)
    shop.kiosk.scan(WATER)
    shop.kiosk.scan(UNKNOWN_ITEM)
    shop.kiosk.scan(b"4006381333932\r\n")  # wrong check digit
    shop.settle()

    ok, unknown, malformed = shop.of(ScannerTestRead)
    assert (ok.outcome, ok.product) == ("ok", "Mineral water still 1.5 l")
    assert "4006381333931" in ok.code
    assert (unknown.outcome, unknown.product) == ("not_in_catalog", "")
    assert UNKNOWN_ITEM.strip().decode() in unknown.code
    assert (malformed.code, malformed.outcome) == ("", "bad_check_digit")
    assert shop.of(ScanRejected) == []
    assert shop.kiosk.checkout.state is CheckoutState.ATTRACT
    assert shop.kiosk.checkout.cart.lines == ()
    assert shop.rows("SELECT COUNT(*) FROM sales") == [(0,)]


def test_a_scan_the_catalog_cannot_look_up_is_still_shown_to_staff(shop: StaffShop) -> None:
    shop.log_in(ATTENDANT, ATTENDANT_PIN)
    with sqlite3.connect(shop.kiosk.database) as conn:  # the catalog is unreadable for a while
        conn.execute("ALTER TABLE products RENAME TO products_away")
    try:
        shop.kiosk.scan(WATER)
    finally:
        with sqlite3.connect(shop.kiosk.database) as conn:
            conn.execute("ALTER TABLE products_away RENAME TO products")

    assert shop.of(ScannerTestRead) == [ScannerTestRead("ean_13 4006381333931", "lookup_failed")]
    assert shop.kiosk.checkout.cart.lines == ()
    shop.kiosk.scan(WATER)
    assert shop.of(ScannerTestRead)[-1].outcome == "ok"


def test_a_scan_restarts_the_menus_timeout(shop: StaffShop, clock: Clock) -> None:
    timeout_s = shop.settings.staff.menu_timeout_s
    shop.log_in(ATTENDANT, ATTENDANT_PIN)
    clock.advance(timeout_s - 1)
    shop.kiosk.scan(WATER)
    clock.advance(timeout_s - 1)
    shop.kiosk.tick()

    assert shop.staff.session is not None


def test_starting_the_scanner_test_is_audited_with_the_scanners_state(shop: StaffShop) -> None:
    shop.log_in(ATTENDANT, ATTENDANT_PIN)
    before = shop.audit_count()
    shop.staff.start_scanner_test()
    shop.settle()

    assert shop.staff.scanner_state == "stopped"  # no scanner connected in this test
    assert shop.audit_since(before) == [("device.scanner_test", "stopped", ATTENDANT)]


# ----------------------------------------------------------------------- calls


def test_a_pin_at_an_unknown_item_call_opens_the_menu_on_it_and_pricing_the_item_closes_it(
    shop: StaffShop,
) -> None:
    shop.kiosk.scan(WATER)
    shop.kiosk.scan(UNKNOWN_ITEM)
    assert shop.kiosk.checkout.attendant_reason is AttendantReason.UNKNOWN_ITEM
    shop.kiosk.attend(ATTENDANT, ATTENDANT_PIN)
    shop.settle()
    session = shop.staff.session
    assert session is not None and session.reason == "call"
    assert shop.of(StaffMenuChanged) == [StaffMenuChanged(True, "call", ATTENDANT, "attendant")]
    codes = [code for code, _label in shop.staff.tax_classes]
    assert codes == ["standard", "reduced"]
    before = shop.audit_count()

    shop.staff.price_item(250, "standard")
    shop.settle()

    water, priced = shop.kiosk.checkout.cart.lines
    assert (priced.amount_minor, priced.tax_class) == (250, "standard")
    assert shop.kiosk.checkout.state is CheckoutState.SHOPPING
    assert shop.staff.session is None
    assert shop.of(StaffMenuChanged)[-1] == StaffMenuChanged(
        False, "resolved", ATTENDANT, "attendant")
    assert shop.audit_since(before) == [("checkout.price_item", "ok", ATTENDANT)]
    assert shop.rows("SELECT line_total_minor FROM sale_lines ORDER BY position") == [
        (water.amount_minor,), (250,)]


def test_a_refused_price_keeps_the_call_and_the_menu_open_and_is_audited_once(
    shop: StaffShop,
) -> None:
    shop.kiosk.scan(UNKNOWN_ITEM)
    shop.kiosk.attend(ATTENDANT, ATTENDANT_PIN)
    shop.settle()
    before = shop.audit_count()

    shop.staff.price_item(0, "standard")
    shop.staff.price_item(250, "no-such-class")
    shop.settle()

    assert [refused.code for refused in shop.of(CartRefused)] == [
        "bad_price", "unknown_tax_class"]
    assert shop.kiosk.checkout.attendant_reason is AttendantReason.UNKNOWN_ITEM
    assert shop.staff.session is not None
    assert shop.audit_since(before) == [
        ("checkout.price_item", "bad_price", ATTENDANT),
        ("checkout.price_item", "unknown_tax_class", ATTENDANT),
    ]


def test_tax_classes_are_offered_with_their_labels(shop: StaffShop) -> None:
    assert shop.staff.tax_classes == [("standard", "VAT 23%"), ("reduced", "VAT 13.5%")]


def test_a_tax_class_without_a_label_is_offered_as_its_rate(
    settings: Settings, clock: Clock
) -> None:
    classes = {code: replace(tax_class, label="")
               for code, tax_class in settings.tax.classes.items()}
    unlabelled = replace(settings, tax=replace(settings.tax, classes=classes))
    shop = StaffShop(unlabelled, clock)
    try:
        assert shop.staff.tax_classes == [("standard", "23 %"), ("reduced", "13.5 %")]
    finally:
        shop.close()


# ------------------------------------------------------------------- refunds, copies


def test_a_partial_refund_goes_to_the_card_and_is_audited_once(card_shop: StaffShop) -> None:
    sale_id = paid_sale(card_shop)
    card_shop.log_in(MANAGER, MANAGER_PIN)
    assert card_shop.staff.refundable_minor(sale_id) == 189
    before = card_shop.audit_count()

    answers = Answers()
    card_shop.staff.refund(sale_id, 100, answers)

    assert card_shop.answered(answers) == "refunded"
    assert card_shop.staff.refundable_minor(sale_id) == 89
    assert card_shop.audit_since(before) == [("sale.refund", "refunded", MANAGER)]
    (refund,) = card_shop.emulator.refunds()
    assert refund["amount"] == 100
    detail = card_shop.staff.sale_detail(sale_id)
    assert detail is not None and [r.amount_minor for r in detail.refunds] == [100]
    (summary,) = card_shop.staff.todays_sales()
    assert (summary.sale_id, summary.refunded_minor) == (sale_id, 100)


def test_a_refund_of_more_than_is_left_is_refused_before_stripe_with_one_audit_row(
    card_shop: StaffShop,
) -> None:
    sale_id = paid_sale(card_shop)
    card_shop.log_in(MANAGER, MANAGER_PIN)
    first = Answers()
    card_shop.staff.refund(sale_id, 100, first)
    assert card_shop.answered(first) == "refunded"
    before = card_shop.audit_count()

    too_much = Answers()
    card_shop.staff.refund(sale_id, 90, too_much)

    assert card_shop.answered(too_much) == "exceeds_captured"
    assert card_shop.audit_since(before) == [("sale.refund", "exceeds_captured", MANAGER)]
    assert len(card_shop.emulator.refunds()) == 1  # nothing more was sent to Stripe
    assert card_shop.staff.refundable_minor(sale_id) == 89


def test_a_refund_without_card_payments_says_so_with_one_audit_row(shop: StaffShop) -> None:
    shop.log_in(MANAGER, MANAGER_PIN)
    before = shop.audit_count()
    answers = Answers()
    shop.staff.refund("any-sale", None, answers)
    shop.settle()

    assert answers.only == "card_payments_unavailable"
    assert shop.audit_since(before) == [("sale.refund", "card_payments_unavailable", MANAGER)]


def test_a_copy_of_a_receipt_prints_marked_copy_and_the_receipt_desk_audits_it_once(
    card_shop: StaffShop,
) -> None:
    printer = card_shop.kiosk.virtual_printer
    assert printer is not None
    sale_id = paid_sale(card_shop)
    card_shop.log_in(ATTENDANT, ATTENDANT_PIN)
    before = card_shop.audit_count()

    answers = Answers()
    card_shop.staff.reprint(sale_id, answers)

    assert card_shop.answered(answers) == "printed"
    (job,) = printer.wait_for_jobs(1, WAIT_S)
    assert "COPY" in job.text and "Orange juice 1 l" in job.text
    assert card_shop.audit_since(before) == [("receipt.reprint", "printed", ATTENDANT)]
    assert card_shop.rows(
        "SELECT kind, state FROM print_jobs WHERE sale_id = ? AND copy = 1", sale_id) == [
        ("receipt", "printed")]


def test_a_copy_of_an_unpaid_sale_is_refused_with_one_audit_row(card_shop: StaffShop) -> None:
    card_shop.log_in(ATTENDANT, ATTENDANT_PIN)
    before = card_shop.audit_count()
    answers = Answers()
    card_shop.staff.reprint("no-such-sale", answers)

    assert card_shop.answered(answers) == "not_paid"
    assert card_shop.audit_since(before) == [("receipt.reprint", "not_paid", ATTENDANT)]


# ------------------------------------------------------------------- open, closed, exit


def test_a_manager_closes_the_kiosk_and_it_stays_closed_after_a_restart(
    settings: Settings, clock: Clock
) -> None:
    first = StaffShop(settings, clock)
    try:
        first.log_in(MANAGER, MANAGER_PIN)
        before = first.audit_count()
        first.staff.set_closed(True)
        first.settle()
        assert first.of(KioskClosedChanged) == [KioskClosedChanged(True)]
        assert first.staff.closed
        assert first.audit_since(before) == [("settings.change", "ok", MANAGER)]
    finally:
        first.close()

    second = StaffShop(settings, clock)
    try:
        assert second.staff.closed
        stored = {key: value for key, _about, value in second.staff.runtime_settings()}
        assert stored["kiosk.closed"] is True
    finally:
        second.close()


def test_a_kiosk_closed_before_a_restart_refuses_a_scan_before_its_staff_menu_is_built(
    settings: Settings, clock: Clock
) -> None:
    first = StaffShop(settings, clock)
    try:
        first.log_in(MANAGER, MANAGER_PIN)
        first.staff.set_closed(True)
        first.settle()
    finally:
        first.close()

    second = StaffShop(settings, clock)
    try:
        # Nothing has asked for the staff menu yet (it is built on first use): the scan asks
        # the store whether staff closed the kiosk.
        second.kiosk.scan(WATER)
        assert [refused.code for refused in second.of(CartRefused)] == ["kiosk_closed"]
        assert second.kiosk.checkout.sale_id is None
        assert second.staff.closed
    finally:
        second.close()


@pytest.mark.parametrize("leave", ["restart_app", "leave_app"])
def test_the_app_is_not_left_while_a_sale_is_open(shop: StaffShop, leave: str) -> None:
    shop.kiosk.scan(WATER)
    shop.log_in(MANAGER, MANAGER_PIN)
    before = shop.audit_count()

    assert getattr(shop.staff, leave)() == "sale_open"
    shop.settle()

    assert shop.of(AppExitRequested) == []
    assert shop.audit_since(before) == [(f"app.{leave}", "sale_open", MANAGER)]
    assert shop.staff.session is not None


@pytest.mark.parametrize(("leave", "action", "code"), [
    ("restart_app", "app.restart_app", EXIT_RESTART),
    ("leave_app", "app.leave_app", EXIT_LEFT_BY_STAFF),
])
def test_leaving_the_app_is_on_disk_before_the_host_is_asked_to_exit(
    shop: StaffShop, leave: str, action: str, code: int
) -> None:
    shop.log_in(MANAGER, MANAGER_PIN)
    before = shop.audit_count()
    ((last_id,),) = shop.rows("SELECT MAX(id) FROM audit_log")
    on_disk_at_exit: list[list[tuple[str, str, int | None]]] = []

    def host(notice: Notice) -> None:
        if isinstance(notice, AppExitRequested):  # read the file as it is, waiting for nothing
            with sqlite3.connect(shop.kiosk.database) as conn:
                on_disk_at_exit.append(conn.execute(
                    "SELECT action, outcome, staff_number FROM audit_log WHERE id > ? "
                    "ORDER BY id", [last_id]).fetchall())

    shop.kiosk.listen(host)
    assert getattr(shop.staff, leave)() == ""
    shop.settle()

    assert shop.of(AppExitRequested) == [AppExitRequested(code)]
    assert on_disk_at_exit == [[(action, "ok", MANAGER)]]
    assert shop.audit_since(before) == [(action, "ok", MANAGER)]
    assert shop.staff.session is None
    assert shop.of(StaffMenuChanged)[-1] == StaffMenuChanged(False, "closing", MANAGER, "manager")


# ------------------------------------------------------------------------ power


@pytest.mark.parametrize(("power", "method"), [("reboot", "Reboot"), ("power_off", "PowerOff")])
def test_reboot_and_power_off_ask_logind_and_are_audited_once(
    shop: StaffShop, bin_dir: Path, power: str, method: str
) -> None:
    record = install_busctl(bin_dir)
    shop.log_in(MANAGER, MANAGER_PIN)
    before = shop.audit_count()

    answers = Answers()
    getattr(shop.staff, power)(answers)

    assert shop.answered(answers) == ""
    assert record.read_text(encoding="utf-8").splitlines() == [
        "--system", "--quiet", "--timeout=10", "call", *LOGIND, method, "b", "false"]
    assert shop.audit_since(before) == [(f"machine.{power}", "ok", MANAGER)]


def test_a_reboot_logind_refuses_is_reported_and_audited_as_failed(
    shop: StaffShop, bin_dir: Path
) -> None:
    install_busctl(bin_dir, exit_code=1, stderr="Call failed: Access denied")
    shop.log_in(MANAGER, MANAGER_PIN)
    before = shop.audit_count()

    answers = Answers()
    shop.staff.reboot(answers)

    answer = shop.answered(answers)
    assert answer.startswith("failed: cannot reboot: logind refused: Call failed: Access denied")
    assert shop.audit_since(before) == [("machine.reboot", "failed", MANAGER)]
    (detail,) = shop.rows("SELECT detail FROM audit_log WHERE action = 'machine.reboot'")
    assert "Access denied" in json.loads(detail[0])["error"]


def test_no_reboot_while_a_sale_is_open(shop: StaffShop, bin_dir: Path) -> None:
    record = install_busctl(bin_dir)
    shop.kiosk.scan(WATER)
    shop.log_in(MANAGER, MANAGER_PIN)
    before = shop.audit_count()

    answers = Answers()
    shop.staff.power_off(answers)
    shop.settle()

    assert answers.only == "sale_open"
    assert not record.exists()
    assert shop.audit_since(before) == [("machine.power_off", "sale_open", MANAGER)]


# ------------------------------------------------------------------------ USB catalog


def test_a_good_catalog_from_the_usb_stick_is_imported_and_audited_once(
    shop: StaffShop, stick: Path
) -> None:
    # CI cannot mount a file system: the stick is a plain folder, so the mount check is off.
    shop.staff._require_mount = False
    (stick / "catalog.csv").write_text(GOOD_CSV, encoding="utf-8")
    shop.log_in(MANAGER, MANAGER_PIN)
    assert shop.staff.usb_mount_path == str(stick)
    assert shop.staff.usb_catalogs() == (["catalog.csv"], "")
    before = shop.audit_count()

    answers = Answers()
    shop.staff.import_catalog("catalog.csv", answers)

    assert shop.answered(answers) == ("imported", 2, [])
    assert shop.audit_since(before) == [("catalog.import_usb", "imported", MANAGER)]
    shop.staff.log_out()
    shop.kiosk.scan(f"{TEA}\r\n".encode())
    (line,) = shop.kiosk.checkout.cart.lines
    assert (line.name, line.amount_minor) == ("Green tea 20 bags", 235)


def test_a_bad_catalog_is_rejected_with_its_problems_and_changes_nothing(
    shop: StaffShop, stick: Path
) -> None:
    shop.staff._require_mount = False  # CI cannot mount a file system (see above)
    (stick / "catalog.csv").write_text(BAD_CSV, encoding="utf-8")
    shop.log_in(MANAGER, MANAGER_PIN)
    products = shop.rows("SELECT COUNT(*) FROM products")
    before = shop.audit_count()

    answers = Answers()
    shop.staff.import_catalog("catalog.csv", answers)

    code, imported, problems = shop.answered(answers)
    assert (code, imported) == ("rejected", 0)
    assert 2 <= len(problems) <= 5 and problems[0].startswith("line 2: ")
    assert shop.audit_since(before) == [("catalog.import_usb", "rejected", MANAGER)]
    assert shop.rows("SELECT COUNT(*) FROM products") == products


def test_a_stick_without_a_catalog_offers_nothing_to_import(
    shop: StaffShop, stick: Path
) -> None:
    shop.staff._require_mount = False  # CI cannot mount a file system (see above)
    (stick / "notes.txt").write_text("no catalog here", encoding="utf-8")
    shop.log_in(MANAGER, MANAGER_PIN)
    assert shop.staff.usb_catalogs() == ([], "no_catalog")
    before = shop.audit_count()

    answers = Answers()
    shop.staff.import_catalog("catalog.csv", answers)
    shop.settle()

    assert answers.only == ("no_catalog", 0, [])
    assert shop.audit_since(before) == [("catalog.import_usb", "no_catalog", MANAGER)]


def test_only_a_file_listed_on_the_stick_can_be_imported(
    shop: StaffShop, stick: Path, tmp_path: Path
) -> None:
    shop.staff._require_mount = False  # CI cannot mount a file system (see above)
    (stick / "catalog.csv").write_text(GOOD_CSV, encoding="utf-8")
    (tmp_path / "elsewhere.csv").write_text(GOOD_CSV, encoding="utf-8")
    shop.log_in(MANAGER, MANAGER_PIN)
    before = shop.audit_count()

    answers = Answers()
    shop.staff.import_catalog("../elsewhere.csv", answers)
    shop.settle()

    assert answers.only == ("no_catalog", 0, [])
    assert shop.audit_since(before) == [("catalog.import_usb", "no_catalog", MANAGER)]


def test_without_the_mount_check_off_an_unmounted_folder_is_not_a_stick(
    shop: StaffShop, stick: Path
) -> None:
    (stick / "catalog.csv").write_text(GOOD_CSV, encoding="utf-8")
    shop.log_in(MANAGER, MANAGER_PIN)

    assert shop.staff.usb_catalogs() == ([], "not_mounted")


# ------------------------------------------------------------------------ inspection


def test_a_reader_never_inspected_is_overdue_until_an_inspection_passes(
    shop: StaffShop, clock: Clock
) -> None:
    shop.log_in(ATTENDANT, ATTENDANT_PIN)
    status = shop.staff.inspection_status()
    assert (status.last, status.due_at, status.overdue) == (None, None, True)
    before = shop.audit_count()

    shop.staff.record_inspection(serial_matches=True, no_tampering=True,
                                 reader_serial="WSC513100000001")
    shop.settle()

    assert shop.of(InspectionRecorded) == [InspectionRecorded(passed=True)]
    status = shop.staff.inspection_status()
    assert status.last is not None and status.last.staff_number == ATTENDANT
    assert not status.overdue
    assert status.due_at == clock() + timedelta(
        days=shop.settings.staff.reader_inspection_interval_days)
    assert shop.audit_since(before) == [("reader.inspection", "passed", ATTENDANT)]


# ---------------------------------------------------------------- sync, settings, config


def test_sync_now_without_a_back_office_is_audited_as_off(shop: StaffShop) -> None:
    shop.log_in(ATTENDANT, ATTENDANT_PIN)
    before = shop.audit_count()
    assert shop.staff.sync_status() is None
    shop.staff.sync_now()
    shop.settle()

    assert shop.audit_since(before) == [("sync.now", "off", ATTENDANT)]


def test_config_text_shows_the_config_file_as_it_was_read(
    settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text('kiosk_id = "lane-7"\n# the shop\'s own comment\n', encoding="utf-8")
    shop = StaffShop(settings, clock, config_path=config)
    try:
        assert shop.staff.config_text() == config.read_text(encoding="utf-8")
    finally:
        shop.close()


def test_config_text_without_a_file_shows_the_settings_in_effect(shop: StaffShop) -> None:
    text = shop.staff.config_text()

    assert text.startswith("# settings in effect (no config file)\n")
    shown = json.loads(text.split("\n", 1)[1])
    assert shown["kiosk_id"] == shop.settings.kiosk_id
    assert shown["staff"]["menu_timeout_s"] == shop.settings.staff.menu_timeout_s


def test_a_manager_changes_the_volume_and_a_bad_value_is_refused(shop: StaffShop) -> None:
    shop.log_in(MANAGER, MANAGER_PIN)
    before = shop.audit_count()

    assert shop.staff.change_setting("sound.volume", 60) == ""
    shop.settle()
    assert shop.of(RuntimeSettingChanged) == [RuntimeSettingChanged("sound.volume", 60)]
    assert shop.audit_since(before) == [("settings.change", "ok", MANAGER)]
    volume = {key: value for key, _about, value in shop.staff.runtime_settings()}
    assert volume["sound.volume"] == 60

    assert shop.staff.change_setting("sound.volume", 65) == "bad_value"
    assert shop.staff.change_setting("sound.bass", 10) == "unknown_setting"
    shop.settle()
    assert shop.audit_since(before)[1:] == [
        ("settings.change", "rejected", MANAGER), ("settings.change", "rejected", MANAGER)]
    assert len(shop.of(RuntimeSettingChanged)) == 1
    assert shop.of(StoreTrouble) == []  # a refused value is not a store failure


def test_the_recent_audit_rows_come_newest_first(shop: StaffShop) -> None:
    shop.log_in(MANAGER, MANAGER_PIN)
    shop.staff.sync_now()
    shop.settle()

    newest, older = shop.staff.recent_audit(limit=2)
    assert (newest.action, older.action) == ("sync.now", "staff.pin_check")
    assert newest.id > older.id and newest.staff_number == MANAGER


# ------------------------------------------------------- the menu and a card payment


def test_the_menu_never_opens_over_a_card_payment_and_no_pin_is_checked(
    shop: StaffShop,
) -> None:
    shop.kiosk.scan(JUICE)
    shop.kiosk.pay()  # paying (its answer waits in the main queue)
    assert shop.kiosk.checkout.state is CheckoutState.PAYING
    shop.staff.log_in(MANAGER, MANAGER_PIN)
    shop.kiosk.back_to_cart()  # the cart again, the card wait still being cancelled
    assert shop.kiosk.checkout.payment_pending
    shop.staff.log_in(MANAGER, MANAGER_PIN)

    assert [checked.outcome for checked in shop.of(StaffChecked)] == [
        "payment_in_progress", "payment_in_progress"]
    assert shop.staff.session is None and shop.of(StaffMenuChanged) == []
    assert shop.rows("SELECT COUNT(*) FROM audit_log WHERE action = 'staff.pin_check'") == [
        (0,)]
    shop.settle()  # the payment ends: now staff may sign in
    shop.log_in(MANAGER, MANAGER_PIN)


def test_a_right_pin_that_comes_back_after_a_payment_started_opens_nothing(
    card_shop: StaffShop,
) -> None:
    card_shop.until(lambda: card_shop.kiosk.payments_available[0])
    card_shop.kiosk.scan(JUICE)
    card_shop.staff.log_in(MANAGER, MANAGER_PIN)  # checked on the store worker...
    card_shop.kiosk.pay()  # ... while the customer heads to the card reader
    card_shop.settle()

    assert card_shop.kiosk.checkout.state is CheckoutState.PAYING
    assert card_shop.staff.session is None and card_shop.of(StaffMenuChanged) == []
    assert [checked.outcome for checked in card_shop.of(StaffChecked)] == [
        "payment_in_progress"]
    card_shop.kiosk.back_to_cart()
    card_shop.until(lambda: not card_shop.kiosk.checkout.payment_pending)


def test_a_card_presented_behind_an_open_call_closes_the_menu_with_one_audit_row(
    shop: StaffShop,
) -> None:
    shop.kiosk.scan(JUICE)
    shop.kiosk.pay()
    shop.kiosk.back_to_cart()  # the card wait is being cancelled...
    shop.kiosk.scan(UNKNOWN_ITEM)  # ... as the customer scans an item staff must price
    assert shop.kiosk.checkout.attendant_reason is AttendantReason.UNKNOWN_ITEM
    member = shop.kiosk.read(lambda db: StaffRoster(db).get(ATTENDANT))
    assert member is not None
    shop.staff.open_for_call(member)  # as a right PIN at that call does
    before = shop.audit_count()

    shop.kiosk.payment_phase(PaymentPhase.AUTHORISING)  # a card was tapped all the same

    assert shop.kiosk.checkout.state is CheckoutState.PAYING
    assert shop.staff.session is None
    assert shop.of(StaffMenuChanged)[-1] == StaffMenuChanged(
        False, "payment", ATTENDANT, "attendant")
    assert shop.audit_since(before) == [("staff.menu_close", "payment", ATTENDANT)]
    shop.kiosk.payment_succeeded()
    shop.settle()
    assert shop.kiosk.checkout.state is CheckoutState.PAID


def test_a_second_refund_of_a_sale_before_the_first_answered_is_refused(
    card_shop: StaffShop,
) -> None:
    sale_id = paid_sale(card_shop)
    card_shop.log_in(MANAGER, MANAGER_PIN)
    before = card_shop.audit_count()

    first, double_tap = Answers(), Answers()
    card_shop.staff.refund(sale_id, 50, first)
    card_shop.staff.refund(sale_id, 50, double_tap)

    assert double_tap.only == "refund_in_progress"  # at once, nothing sent to Stripe
    assert card_shop.answered(first) == "refunded"
    assert [refund["amount"] for refund in card_shop.emulator.refunds()] == [50]
    assert card_shop.staff.refundable_minor(sale_id) == 139
    assert sorted(card_shop.audit_since(before)) == [
        ("sale.refund", "refund_in_progress", MANAGER), ("sale.refund", "refunded", MANAGER)]
    again = Answers()
    card_shop.staff.refund(sale_id, 50, again)  # once answered, the next refund may go
    assert card_shop.answered(again) == "refunded"
    assert card_shop.staff.refundable_minor(sale_id) == 89


def test_a_refund_stripe_made_but_the_kiosk_could_not_record_is_never_called_failed(
    card_shop: StaffShop,
) -> None:
    sale_id = paid_sale(card_shop)
    card_shop.log_in(MANAGER, MANAGER_PIN)
    before = card_shop.audit_count()
    with sqlite3.connect(card_shop.kiosk.database) as conn:  # the refund slip cannot be queued
        conn.execute("ALTER TABLE print_jobs RENAME TO print_jobs_away")
    answers = Answers()
    try:
        card_shop.staff.refund(sale_id, 50, answers)
        card_shop.until(lambda: bool(answers.got))
    finally:
        with sqlite3.connect(card_shop.kiosk.database) as conn:
            conn.execute("ALTER TABLE print_jobs_away RENAME TO print_jobs")
    card_shop.settle()

    assert [refund["amount"] for refund in card_shop.emulator.refunds()] == [50]
    assert answers.only == "outcome_unknown"  # not "failed: nothing was refunded"
    assert card_shop.audit_since(before) == [("sale.refund", "outcome_unknown", MANAGER)]
    assert card_shop.staff.refundable_minor(sale_id) == 139  # the refund still counts


def test_a_reboot_logind_accepted_is_on_disk_before_the_main_loop_turns_again(
    shop: StaffShop, bin_dir: Path
) -> None:
    install_busctl(bin_dir)
    shop.log_in(MANAGER, MANAGER_PIN)
    before = shop.audit_count()

    answers = Answers()
    shop.staff.reboot(answers)
    # systemd stops the app as the machine goes down: the main queue may never run again.
    for thread in threading.enumerate():
        if thread.name == "staff-reboot":
            thread.join(WAIT_S)

    assert answers.got == []
    assert shop.audit_since(before) == [("machine.reboot", "ok", MANAGER)]
    shop.settle()
    assert answers.only == "" and shop.audit_since(before) == [
        ("machine.reboot", "ok", MANAGER)]


def test_a_test_cart_left_on_the_reader_is_cleared_when_the_menu_closes(
    card_shop: StaffShop,
) -> None:
    card_shop.until(lambda: card_shop.kiosk.payments_available[0])
    card_shop.log_in(ATTENDANT, ATTENDANT_PIN)
    shown = Answers()
    card_shop.staff.reader_display_test(shown)
    assert card_shop.answered(shown) == "shown"
    (reader,) = card_shop.emulator.readers()
    assert reader["action"]["type"] == "set_reader_display"
    before = card_shop.audit_count()

    card_shop.clock.advance(card_shop.settings.staff.menu_timeout_s)
    card_shop.kiosk.tick()  # staff walked away: the menu closes itself
    card_shop.until(lambda: card_shop.emulator.readers()[0]["action"] is None)
    card_shop.settle()

    assert card_shop.audit_since(before) == [("staff.menu_close", "timeout", ATTENDANT)]
    ((detail,),) = card_shop.rows(
        "SELECT detail FROM audit_log WHERE action = 'staff.menu_close'")
    assert json.loads(detail) == {"reader_display": "cleared"}
    card_shop.emulator.customer("tap", after_s=0.05)  # the next customer pays as ever
    card_shop.kiosk.scan(JUICE)
    card_shop.kiosk.pay()
    card_shop.until(lambda: card_shop.kiosk.checkout.state is CheckoutState.PAID)


def test_a_setting_changed_while_the_store_worker_is_busy_takes_effect_once_written(
    shop: StaffShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.log_in(MANAGER, MANAGER_PIN)
    monkeypatch.setattr("kiosk.staff_menu.replies.WRITE_WAIT_S", 0.05)
    busy = threading.Event()  # a long catalog import, say
    shop.kiosk.submit_to_store(lambda db: busy.wait(WAIT_S))
    try:
        assert shop.staff.change_setting("sound.volume", 50) == "pending"
        shop.staff.set_closed(True)
        assert not shop.staff.closed and shop.of(KioskClosedChanged) == []
    finally:
        busy.set()
    shop.settle()

    assert shop.staff.closed and shop.of(KioskClosedChanged) == [KioskClosedChanged(True)]
    assert shop.of(RuntimeSettingChanged) == [RuntimeSettingChanged("sound.volume", 50)]
    assert shop.rows("SELECT key, value FROM runtime_settings ORDER BY key") == [
        ("kiosk.closed", "true"), ("sound.volume", "50")]


def test_no_catalog_is_imported_while_a_customers_sale_is_open(
    shop: StaffShop, stick: Path
) -> None:
    shop.staff._require_mount = False  # CI cannot mount a file system (see above)
    (stick / "catalog.csv").write_text(GOOD_CSV, encoding="utf-8")
    shop.kiosk.scan(WATER)
    shop.log_in(MANAGER, MANAGER_PIN)
    before = shop.audit_count()

    answers = Answers()
    shop.staff.import_catalog("catalog.csv", answers)
    shop.settle()

    assert answers.only == ("sale_open", 0, [])
    assert shop.audit_since(before) == [("catalog.import_usb", "sale_open", MANAGER)]
    assert shop.rows("SELECT price_minor FROM products WHERE code = '04006381333931'") == [
        (49,)]


def test_a_catalog_file_too_large_is_refused_without_being_read(
    shop: StaffShop, stick: Path
) -> None:
    shop.staff._require_mount = False  # CI cannot mount a file system (see above)
    with (stick / "huge.csv").open("wb") as huge:  # sparse: no disk space is used
        huge.truncate(MAX_CATALOG_BYTES + 1)
    shop.log_in(MANAGER, MANAGER_PIN)
    before = shop.audit_count()

    answers = Answers()
    shop.staff.import_catalog("huge.csv", answers)
    shop.settle()

    assert answers.only == ("too_large", 0, [])
    assert shop.audit_since(before) == [("catalog.import_usb", "too_large", MANAGER)]


# ------------------------------------------------------------- one row per staff action


@dataclass(frozen=True)
class StaffAction:
    """One thing staff can do from the menu: set the scene (the menu closed or open), do it,
    and wait until it has answered."""

    name: str
    prepare: Callable[[StaffShop], None]
    act: Callable[[StaffShop], object]


def _open_menu(shop: StaffShop) -> None:
    if shop.staff.session is None:
        shop.log_in(MANAGER, MANAGER_PIN)


def _closed_menu(shop: StaffShop) -> None:
    if shop.staff.session is not None:
        shop.staff.log_out()
        shop.settle()


def _customer_scans(*frames: bytes) -> Callable[[StaffShop], None]:
    """The menu closed, a fresh sale with ``frames`` scanned, then the manager logs in."""
    def prepare(shop: StaffShop) -> None:
        _closed_menu(shop)
        if shop.kiosk.checkout.sale_id is not None:
            shop.kiosk.cancel_sale()
        for frame in frames:
            shop.kiosk.scan(frame)
        shop.settle()
        _open_menu(shop)
    return prepare


def _no_sale(shop: StaffShop) -> None:
    _closed_menu(shop)
    if shop.kiosk.checkout.sale_id is not None:
        shop.kiosk.cancel_sale()
    shop.settle()
    _open_menu(shop)


def _limit_call(shop: StaffShop) -> None:
    _customer_scans(WATER)(shop)
    _closed_menu(shop)
    (line,) = shop.kiosk.checkout.cart.lines
    shop.kiosk.set_quantity(line.line_id, 100)  # past 99 a line: a limit call
    assert shop.kiosk.checkout.attendant_reason is AttendantReason.LIMIT_REACHED
    _open_menu(shop)


def _then(call: Callable[[StaffShop, Answers], None]) -> Callable[[StaffShop], None]:
    """Do an action whose answer comes through ``then`` and wait for it."""
    def act(shop: StaffShop) -> None:
        answers = Answers()
        call(shop, answers)
        shop.until(lambda: bool(answers.got))
    return act


def _log_in(shop: StaffShop) -> None:
    shop.staff.log_in(MANAGER, MANAGER_PIN)


def _void_first_line(shop: StaffShop) -> None:
    shop.staff.void_line(shop.kiosk.checkout.cart.lines[0].line_id)


def _inspect(shop: StaffShop) -> None:
    shop.staff.record_inspection(serial_matches=True, no_tampering=False, reader_serial=None)


def _paid_then_menu(shop: StaffShop) -> None:
    _no_sale(shop)
    _closed_menu(shop)
    paid_sale(shop)
    _open_menu(shop)


def _sale_id(shop: StaffShop) -> str:
    """The newest paid sale, as the menu lists today's sales."""
    return next(sale.sale_id for sale in shop.staff.todays_sales() if sale.state == "paid")


STAFF_ACTIONS = [
    StaffAction("log_in", _closed_menu, _log_in),
    StaffAction("start_scanner_test", _open_menu, lambda s: s.staff.start_scanner_test()),
    StaffAction("printer_test", _open_menu, _then(lambda s, a: s.staff.printer_test(a))),
    StaffAction("reader_display_test", _open_menu,
                _then(lambda s, a: s.staff.reader_display_test(a))),
    StaffAction("clear_reader_display", _open_menu,
                _then(lambda s, a: s.staff.clear_reader_display(a))),
    StaffAction("check_payments_again", _open_menu,
                _then(lambda s, a: s.staff.check_payments_again(a))),
    StaffAction("refund", _paid_then_menu,
                _then(lambda s, a: s.staff.refund(_sale_id(s), 50, a))),
    StaffAction("refund beyond what is left", _open_menu,
                _then(lambda s, a: s.staff.refund(_sale_id(s), 500, a))),
    StaffAction("reprint", _open_menu, _then(lambda s, a: s.staff.reprint(_sale_id(s), a))),
    StaffAction("set_closed", _open_menu, lambda s: s.staff.set_closed(True)),
    StaffAction("set_closed again", _open_menu, lambda s: s.staff.set_closed(False)),
    StaffAction("change_setting", _open_menu,
                lambda s: s.staff.change_setting("shop.default_language", "en")),
    StaffAction("change_setting refused", _open_menu,
                lambda s: s.staff.change_setting("sound.volume", 101)),
    StaffAction("record_inspection", _open_menu, _inspect),
    StaffAction("sync_now", _open_menu, lambda s: s.staff.sync_now()),
    StaffAction("import_catalog", _open_menu,
                _then(lambda s, a: s.staff.import_catalog("catalog.csv", a))),
    StaffAction("price_item", _customer_scans(UNKNOWN_ITEM),
                lambda s: s.staff.price_item(199, "reduced")),
    StaffAction("price_item without a call", _open_menu,
                lambda s: s.staff.price_item(199, "reduced")),
    StaffAction("leave_out", _customer_scans(WATER, UNKNOWN_ITEM),
                lambda s: s.staff.leave_out()),
    StaffAction("override_limit", _limit_call, lambda s: s.staff.override_limit()),
    StaffAction("override_limit without a call", _open_menu,
                lambda s: s.staff.override_limit()),
    StaffAction("void_line", _customer_scans(WATER, JUICE), _void_first_line),
    StaffAction("reboot", _no_sale, _then(lambda s, a: s.staff.reboot(a))),
    StaffAction("power_off", _no_sale, _then(lambda s, a: s.staff.power_off(a))),
    StaffAction("restart_app", _no_sale, lambda s: s.staff.restart_app()),
    StaffAction("leave_app", _open_menu, lambda s: s.staff.leave_app()),
    StaffAction("log_out", _open_menu, lambda s: s.staff.log_out()),
]


def test_every_staff_action_writes_exactly_one_audit_row(
    card_shop: StaffShop, stick: Path, bin_dir: Path
) -> None:
    install_busctl(bin_dir)
    card_shop.staff._require_mount = False  # CI cannot mount a file system: a plain folder
    (stick / "catalog.csv").write_text(GOOD_CSV, encoding="utf-8")
    card_shop.until(lambda: card_shop.kiosk.payments_available[0])
    written: dict[str, list[tuple[str, str, int | None]]] = {}

    for action in STAFF_ACTIONS:
        action.prepare(card_shop)
        card_shop.settle()
        before = card_shop.audit_count()
        action.act(card_shop)
        card_shop.settle()
        written[action.name] = card_shop.audit_since(before)

    assert card_shop.of(StoreTrouble) == []
    assert {name: len(rows) for name, rows in written.items()} == {
        action.name: 1 for action in STAFF_ACTIONS}
    assert {name: rows[0][0] for name, rows in written.items()} == {
        "log_in": "staff.pin_check",
        "start_scanner_test": "device.scanner_test",
        "printer_test": "device.printer_test",
        "reader_display_test": "device.reader_display_test",
        "clear_reader_display": "device.reader_display_clear",
        "check_payments_again": "payment.check_again",
        "refund": "sale.refund",
        "refund beyond what is left": "sale.refund",
        "reprint": "receipt.reprint",
        "set_closed": "settings.change",
        "set_closed again": "settings.change",
        "change_setting": "settings.change",
        "change_setting refused": "settings.change",
        "record_inspection": "reader.inspection",
        "sync_now": "sync.now",
        "import_catalog": "catalog.import_usb",
        "price_item": "checkout.price_item",
        "price_item without a call": "checkout.price_item",
        "leave_out": "checkout.leave_out",
        "override_limit": "checkout.override_limit",
        "override_limit without a call": "checkout.override_limit",
        "void_line": "checkout.void_line",
        "reboot": "machine.reboot",
        "power_off": "machine.power_off",
        "restart_app": "app.restart_app",
        "leave_app": "app.leave_app",
        "log_out": "staff.menu_close",
    }
    assert all(rows[0][2] == MANAGER for rows in written.values())
    outcomes = {name: rows[0][1] for name, rows in written.items()}
    assert (outcomes["printer_test"], outcomes["reader_display_test"],
            outcomes["clear_reader_display"]) == ("printed", "shown", "cleared")
    assert (outcomes["refund"], outcomes["refund beyond what is left"]) == (
        "refunded", "exceeds_captured")
    assert (outcomes["reprint"], outcomes["import_catalog"]) == ("printed", "imported")
    assert outcomes["price_item without a call"] == "no_call"
    assert outcomes["override_limit without a call"] == "no_call"
    assert (outcomes["reboot"], outcomes["restart_app"], outcomes["leave_app"]) == (
        "ok", "ok", "ok")


# ---------------------------------------------------------------- the host seam


@pytest.fixture
def hosted(tmp_path: Path, clock: Clock) -> Iterator[HostedMenu]:
    """The staff menu on a small real host (the demo shop's SQLite file), no facade."""
    menu = HostedMenu(demo_shop_settings(tmp_path), clock)
    yield menu
    menu.close()


def test_the_menu_runs_on_a_small_host_without_the_facade(hosted: HostedMenu) -> None:
    before = len(hosted.audit())
    hosted.menu.log_in(MANAGER, MANAGER_PIN)
    hosted.settle()
    session = hosted.menu.session
    assert session is not None and session.staff_number == MANAGER and session.is_manager
    assert [notice.outcome for notice in hosted.of(StaffChecked)] == [PinOutcome.OK]

    hosted.menu.set_closed(True)
    hosted.settle()
    assert hosted.of(KioskClosedChanged) == [KioskClosedChanged(True)]
    assert hosted.menu.closed
    assert hosted.menu.todays_sales() == []

    hosted.menu.log_out()
    hosted.settle()
    assert hosted.menu.session is None
    assert hosted.audit()[before:] == [
        ("staff.pin_check", "ok", MANAGER),
        ("settings.change", "ok", MANAGER),
        ("staff.menu_close", "logout", MANAGER),
    ]


def test_a_decision_the_host_refuses_is_audited_once_with_its_refusal(
    hosted: HostedMenu,
) -> None:
    hosted.menu.log_in(ATTENDANT, ATTENDANT_PIN)
    hosted.settle()
    before = len(hosted.audit())
    hosted.menu.price_item(249, "standard")
    hosted.settle()
    assert hosted.decisions.asked == [("price_item", ATTENDANT, 249, "standard")]
    assert hosted.of(CartRefused) == [CartRefused("no_call")]
    assert hosted.audit()[before:] == [("checkout.price_item", "no_call", ATTENDANT)]
    hosted.emit(CartRefused("later"))  # the menu stopped listening once the decision ran
    hosted.settle()
    assert len(hosted.audit()) == before + 1


def test_the_one_pin_check_refuses_an_impossible_number_without_asking_the_store(
    hosted: HostedMenu,
) -> None:
    before = len(hosted.audit())
    answers = Answers()
    check_staff_pin(hosted.host, MAX_STAFF_NUMBER + 1, "1234", answers)
    check_staff_pin(hosted.host, 0, "1234", answers)
    hosted.settle()
    assert answers.got == []
    assert [notice.outcome for notice in hosted.of(StaffChecked)] == [
        PinOutcome.UNKNOWN_STAFF, PinOutcome.UNKNOWN_STAFF]
    assert len(hosted.audit()) == before

    check_staff_pin(hosted.host, ATTENDANT, ATTENDANT_PIN, answers)
    hosted.settle()
    assert answers.only.ok and answers.only.staff.number == ATTENDANT


def test_the_staff_menu_loads_without_the_facade() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c",
         "import sys, kiosk.staff_menu; print('kiosk.app' in sys.modules)"],
        capture_output=True, text=True, check=True, timeout=WAIT_S,
    )
    assert loaded.stdout.strip() == "False"


# ----------------------------------------------------------------------------- payment alerts


def test_a_lost_authorisation_stays_in_the_menu_until_a_staff_member_acknowledges_it(
    shop: StaffShop, clock: Clock
) -> None:
    from sqlite_utils import Database

    from kiosk.payments import attempts
    from kiosk.payments.lost_authorisations import record_lost

    shop.kiosk.scan(JUICE)
    sale_id = shop.kiosk.checkout.sale_id
    assert sale_id is not None
    shop.settle()
    with sqlite3.connect(shop.kiosk.database) as conn:
        db = Database(conn)
        (total,) = db.execute("SELECT total_minor FROM sales WHERE id = ?", [sale_id]).fetchone()
        attempt = attempts.lock(db, sale_id, total, capture_method="manual", at=clock())
        assert record_lost(db, attempt.id, at=clock())
    shop.log_in()

    (lost,) = shop.staff.payment_alerts().lost
    assert (lost.sale_id, lost.amount_minor) == (sale_id, total)
    shop.staff.log_out()
    shop.settle()
    shop.log_in()  # it stays: shown again at the next sign-in
    assert [found.sale_id for found in shop.staff.payment_alerts().lost] == [sale_id]

    before = shop.audit_count()
    answers = Answers()
    shop.staff.acknowledge_lost_authorisation(sale_id, answers)
    assert shop.answered(answers) == "acknowledged"
    assert shop.audit_since(before) == [
        ("payment.authorisation_lost_acknowledged", "ok", MANAGER)]
    assert not shop.staff.payment_alerts()

    again = Answers()
    shop.staff.acknowledge_lost_authorisation(sale_id, again)
    assert shop.answered(again) == "nothing_to_acknowledge"
    assert shop.rows("SELECT state, close_reason FROM sales WHERE id = ?", sale_id) == [
        ("abandoned", "authorisation_cancelled_at_stripe")]
