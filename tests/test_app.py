"""The application facade, driven headless on a real SQLite file with an injected clock."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.app import Kiosk
from kiosk.config import Settings, demo_settings
from kiosk.core.checkout_states import AttendantReason, CheckoutState
from kiosk.core.money import format_money
from kiosk.main_queue import MainQueue
from kiosk.notices import (
    AttendantCalled,
    IdlePromptShown,
    Notice,
    ScanRejected,
    SessionChanged,
    StaffChecked,
    StoreTrouble,
)
from kiosk.refusals import KioskRefusal
from kiosk.sim.demo_shop import DEMO_STAFF, in_store_code, prepare_demo
from kiosk.store.db import open_database

WATER = b"4006381333931\r\n"  # Mineral water still 1.5 l, 0.49
BEER = b"5012345001050\r\n"  # Lager beer 0.5 l, 1.19, 18+
ATTENDANT = 1001
ATTENDANT_PIN = DEMO_STAFF[0].pin


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Harness:
    """A started kiosk, its main queue, its clock and every notice it sent."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.queue = MainQueue()
        self.notices: list[Notice] = []
        self.kiosk = Kiosk(settings, post_to_main=self.queue.post, clock=clock, card_payments=False)
        self.kiosk.listen(self.notices.append)
        self.report = self.kiosk.start()

    def settle(self) -> None:
        """Let the store worker finish what it was given and deliver its answers."""
        self.kiosk.wait_for_writes(5)
        self.queue.run_pending()
        self.kiosk.wait_for_writes(5)
        self.queue.run_pending()

    def of(self, kind: type) -> list[Notice]:
        return [notice for notice in self.notices if isinstance(notice, kind)]

    def rows(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.kiosk.database) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = demo_settings(tmp_path / "state")
    db = open_database(Path(settings.state_dir) / "kiosk.db")
    prepare_demo(db, settings, now=datetime(2026, 11, 1, tzinfo=UTC), work_dir=tmp_path)
    db.close()
    return settings


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def shop(settings: Settings, clock: Clock) -> Iterator[Harness]:
    harness = Harness(settings, clock)
    yield harness
    harness.kiosk.close()


def test_a_first_scan_opens_a_numbered_sale_and_stores_its_line(shop: Harness) -> None:
    shop.kiosk.scan(WATER)
    shop.settle()

    assert shop.kiosk.checkout.state is CheckoutState.SHOPPING
    assert shop.kiosk.sale_number == 1
    sale_id = shop.kiosk.checkout.sale_id
    assert shop.rows("SELECT number, state, total_minor FROM sales WHERE id = ?", sale_id) == [
        (1, "open", 49)
    ]
    assert shop.rows("SELECT name, quantity, line_total_minor FROM sale_lines") == [
        ("Mineral water still 1.5 l", 1, 49)
    ]


def test_a_repeat_scan_adds_quantity_and_the_stored_totals_follow(shop: Harness) -> None:
    shop.kiosk.scan(WATER)
    shop.kiosk.scan(WATER)
    shop.kiosk.scan(BEER)
    shop.settle()

    assert [line.quantity for line in shop.kiosk.checkout.cart.lines] == [2, 1]
    totals = shop.kiosk.totals
    assert totals is not None and totals.total_minor == 2 * 49 + 119
    stored = shop.rows("SELECT subtotal_minor, tax_minor, total_minor FROM sales")
    assert stored == [(totals.subtotal_minor, totals.tax_minor, totals.total_minor)]
    assert format_money(totals.total_minor, "EUR", "en_IE") == "€2.17"


def test_quantity_changes_and_removals_are_stored(shop: Harness) -> None:
    shop.kiosk.scan(WATER)
    shop.kiosk.scan(BEER)
    water, beer = shop.kiosk.checkout.cart.lines
    shop.kiosk.set_quantity(water.line_id, 5)
    shop.kiosk.remove_line(beer.line_id)
    shop.settle()

    assert shop.rows("SELECT position, quantity, line_total_minor FROM sale_lines") == [
        (water.line_id, 5, 245)
    ]


def test_an_undone_removal_is_stored_with_the_line_as_it_was(shop: Harness) -> None:
    shop.kiosk.scan(BEER)
    shop.kiosk.scan(WATER)
    shop.kiosk.set_quantity(1, 3)
    shop.settle()
    stored = "SELECT position, name, quantity, line_total_minor, min_age FROM sale_lines ORDER BY 1"
    before = shop.rows(stored)
    sale_id = shop.kiosk.checkout.sale_id
    assert sale_id is not None
    beer = shop.kiosk.checkout.cart.lines[0]
    shop.kiosk.remove_line(beer.line_id)
    shop.settle()
    assert len(shop.rows(stored)) == 1
    shop.kiosk.put_back_line(sale_id, beer)
    shop.settle()
    assert shop.rows(stored) == before == [
        (1, "Lager beer 0.5 l", 3, 357, 18), (2, "Mineral water still 1.5 l", 1, 49, None)
    ]
    shop.kiosk.put_back_line(sale_id, beer)  # a second Undo
    shop.settle()
    assert shop.rows(stored) == before


def test_a_garbled_frame_is_rejected_with_its_reason_and_changes_nothing(shop: Harness) -> None:
    shop.kiosk.scan(WATER)
    shop.kiosk.scan(b"4006381333932\r\n")  # wrong check digit
    shop.settle()

    assert [n.reason for n in shop.of(ScanRejected)] == ["bad_check_digit"]  # type: ignore[attr-defined]
    assert len(shop.kiosk.checkout.cart.lines) == 1
    assert shop.kiosk.checkout.state is CheckoutState.SHOPPING


def test_an_unknown_item_calls_staff_who_close_the_call_with_the_item_left_out(
    shop: Harness,
) -> None:
    shop.kiosk.scan(WATER)
    shop.kiosk.scan(in_store_code("40", "12345", 67890).encode())
    assert shop.kiosk.checkout.state is CheckoutState.NEEDS_ATTENDANT
    calls = shop.of(AttendantCalled)
    assert [c.reason for c in calls] == [AttendantReason.UNKNOWN_ITEM]  # type: ignore[attr-defined]

    shop.kiosk.attend(ATTENDANT, ATTENDANT_PIN)  # signs staff in; the call stays open
    shop.settle()
    assert shop.kiosk.checkout.state is CheckoutState.NEEDS_ATTENDANT
    shop.kiosk.leave_out(ATTENDANT)
    shop.settle()

    assert shop.kiosk.checkout.state is CheckoutState.SHOPPING
    assert [line.name for line in shop.kiosk.checkout.cart.lines] == ["Mineral water still 1.5 l"]


def test_a_customer_may_withdraw_a_call_but_an_age_check_is_asked_again_at_pay(
    shop: Harness,
) -> None:
    shop.kiosk.scan(WATER)
    shop.kiosk.request_help()
    assert shop.kiosk.checkout.attendant_reason is AttendantReason.HELP
    shop.kiosk.withdraw_call()
    assert shop.kiosk.checkout.state is CheckoutState.SHOPPING
    assert len(shop.kiosk.checkout.cart.lines) == 1

    shop.kiosk.scan(BEER)
    shop.kiosk.pay()
    assert shop.kiosk.checkout.attendant_reason is AttendantReason.AGE_CHECK
    shop.kiosk.withdraw_call()
    assert shop.kiosk.checkout.state is CheckoutState.SHOPPING
    shop.kiosk.pay()
    assert shop.kiosk.checkout.attendant_reason is AttendantReason.AGE_CHECK


def test_a_weighed_item_is_priced_from_its_embedded_weight(shop: Harness) -> None:
    shop.kiosk.scan(in_store_code("22", "04011", 1234).encode())  # bananas at 1.69 per kg
    shop.settle()

    (line,) = shop.kiosk.checkout.cart.lines
    assert (line.name, line.weight_g, line.amount_minor) == ("Bananas", 1234, 209)
    assert shop.rows("SELECT weight_g, line_total_minor FROM sale_lines") == [(1234, 209)]


def test_pay_with_beer_asks_for_an_age_check_that_a_right_pin_approves_and_records(
    shop: Harness,
) -> None:
    shop.kiosk.scan(BEER)
    shop.kiosk.pay()
    assert shop.kiosk.checkout.attendant_reason is AttendantReason.AGE_CHECK

    shop.kiosk.attend(ATTENDANT, "999999")
    shop.settle()
    assert shop.kiosk.checkout.state is CheckoutState.NEEDS_ATTENDANT
    wrong = shop.of(StaffChecked)[-1]
    assert (wrong.outcome, wrong.tries_left) == ("wrong_pin", 4)  # type: ignore[attr-defined]

    shop.kiosk.attend(ATTENDANT, ATTENDANT_PIN)
    shop.settle()
    assert shop.kiosk.checkout.state is CheckoutState.SHOPPING
    sale_id = shop.kiosk.checkout.sale_id
    assert shop.rows("SELECT age_approved_by FROM sales WHERE id = ?", sale_id) == [(ATTENDANT,)]
    actions = [row[0] for row in shop.rows("SELECT action FROM audit_log ORDER BY id")]
    assert "checkout.approve.age_check" in actions


def test_pay_without_a_card_reader_says_so_and_gives_the_cart_back(shop: Harness) -> None:
    shop.kiosk.scan(WATER)
    shop.kiosk.scan(WATER)  # 0.98: above the card minimum of 0.50
    shop.kiosk.pay()
    shop.settle()

    checkout = shop.kiosk.checkout
    assert checkout.state is CheckoutState.SHOPPING
    assert checkout.payment_code == KioskRefusal.PAYMENTS_UNAVAILABLE
    assert len(checkout.cart.lines) == 1 and checkout.cart.lines[0].quantity == 2
    assert shop.rows("SELECT state FROM sales") == [("open",)]


def test_an_idle_customer_is_prompted_then_the_sale_is_recorded_as_abandoned(
    shop: Harness, clock: Clock
) -> None:
    shop.kiosk.scan(WATER)
    clock.advance(shop.settings.timeouts.idle_prompt_after_s + 1)
    shop.kiosk.tick()
    assert shop.kiosk.checkout.state is CheckoutState.IDLE_PROMPT
    assert shop.of(IdlePromptShown)

    clock.advance(shop.settings.timeouts.idle_abandon_after_s + 1)
    shop.kiosk.tick()
    shop.settle()

    assert shop.kiosk.checkout.state is CheckoutState.ATTRACT
    assert shop.rows("SELECT state, close_reason FROM sales") == [("abandoned", "idle_timeout")]


def test_a_touch_on_the_idle_prompt_keeps_the_sale(shop: Harness, clock: Clock) -> None:
    shop.kiosk.scan(WATER)
    clock.advance(shop.settings.timeouts.idle_prompt_after_s + 1)
    shop.kiosk.tick()
    shop.kiosk.touch()
    clock.advance(shop.settings.timeouts.idle_abandon_after_s + 1)
    shop.kiosk.tick()
    shop.settle()

    assert shop.kiosk.checkout.state is CheckoutState.SHOPPING
    assert shop.rows("SELECT state FROM sales") == [("open",)]


def test_a_restart_restores_a_recent_cart_with_the_prices_it_was_scanned_at(
    settings: Settings, clock: Clock
) -> None:
    first = Harness(settings, clock)
    first.kiosk.scan(WATER)
    first.kiosk.scan(BEER)
    first.settle()
    sale_id = first.kiosk.checkout.sale_id
    first.kiosk.close()
    with sqlite3.connect(Path(settings.state_dir) / "kiosk.db") as conn:
        conn.execute("UPDATE products SET price_minor = 999")  # a price change meanwhile

    clock.advance(60)
    second = Harness(settings, clock)
    try:
        assert second.report.restored_sale_id == sale_id
        checkout = second.kiosk.checkout
        assert checkout.state is CheckoutState.SHOPPING
        assert [line.amount_minor for line in checkout.cart.lines] == [49, 119]
        assert second.kiosk.sale_number == 1
        second.kiosk.scan(WATER)  # scanned now: today's price, on a line of its own
        second.settle()
        assert [line.amount_minor for line in second.kiosk.checkout.cart.lines] == [49, 119, 999]
    finally:
        second.kiosk.close()


def test_a_restart_records_an_old_open_cart_as_abandoned(settings: Settings, clock: Clock) -> None:
    first = Harness(settings, clock)
    first.kiosk.scan(WATER)
    first.settle()
    sale_id = first.kiosk.checkout.sale_id
    first.kiosk.close()

    clock.advance(settings.timeouts.open_cart_max_age_s + 1)
    second = Harness(settings, clock)
    try:
        assert second.report.restored_sale_id is None
        assert second.report.abandoned_sale_ids == (sale_id,)
        assert second.kiosk.checkout.state is CheckoutState.ATTRACT
        assert second.rows("SELECT state, close_reason FROM sales") == [
            ("abandoned", "expired_at_start")
        ]
    finally:
        second.kiosk.close()


def test_a_damaged_catalog_row_sends_the_customer_to_staff_and_the_kiosk_goes_on(
    shop: Harness,
) -> None:
    with sqlite3.connect(shop.kiosk.database) as conn:
        conn.execute(
            "UPDATE products SET tax_class = 'gone' WHERE code = ?", ["05012345001050"]
        )
    shop.kiosk.scan(BEER)
    assert shop.kiosk.checkout.attendant_reason is AttendantReason.UNKNOWN_ITEM
    shop.kiosk.attend(ATTENDANT, ATTENDANT_PIN)  # signs staff in; the call stays open
    shop.settle()
    shop.kiosk.leave_out(ATTENDANT)
    shop.settle()
    shop.kiosk.scan(WATER)
    shop.settle()
    assert [line.name for line in shop.kiosk.checkout.cart.lines] == ["Mineral water still 1.5 l"]


def test_a_failed_write_is_reported_and_the_whole_cart_is_written_again_later(
    shop: Harness,
) -> None:
    shop.kiosk.scan(WATER)
    shop.settle()
    with sqlite3.connect(shop.kiosk.database) as conn:
        conn.execute(
            "CREATE TRIGGER refuse_lines BEFORE INSERT ON sale_lines "
            "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
        )
    shop.kiosk.scan(BEER)
    shop.settle()
    assert shop.of(StoreTrouble)
    assert shop.rows("SELECT COUNT(*) FROM sale_lines") == [(1,)]  # the old cart, intact

    with sqlite3.connect(shop.kiosk.database) as conn:
        conn.execute("DROP TRIGGER refuse_lines")
    shop.kiosk.tick()
    shop.settle()
    assert shop.rows("SELECT name FROM sale_lines ORDER BY position") == [
        ("Mineral water still 1.5 l",),
        ("Lager beer 0.5 l",),
    ]


def test_every_change_reaches_listeners_as_a_session_notice(shop: Harness) -> None:
    shop.kiosk.scan(WATER)
    shop.settle()
    sessions = [n for n in shop.notices if isinstance(n, SessionChanged)]
    assert sessions[0].checkout.state is CheckoutState.ATTRACT
    assert sessions[-1].sale_number == 1
    assert sessions[-1].totals is not None and sessions[-1].totals.total_minor == 49


def test_the_workers_heartbeats_are_visible_for_the_watchdog(shop: Harness) -> None:
    beats = shop.kiosk.heartbeats()  # no scanner and no card payments in this harness
    assert set(beats) == {"store", "printer"}
    assert all(beat > 0 for beat in beats.values())


def test_a_pin_answer_that_arrives_after_the_call_changed_approves_nothing(
    shop: Harness,
) -> None:
    shop.kiosk.scan(in_store_code("40", "12345", 67890).encode())  # unknown item: staff called
    shop.kiosk.attend(ATTENDANT, ATTENDANT_PIN)  # answered while the customer carries on:
    shop.kiosk.cancel_sale()
    shop.kiosk.scan(BEER)
    shop.kiosk.pay()
    assert shop.kiosk.checkout.attendant_reason is AttendantReason.AGE_CHECK
    shop.settle()

    assert shop.kiosk.checkout.attendant_reason is AttendantReason.AGE_CHECK
    assert shop.kiosk.checkout.age_approved_by is None
    actions = [row[0] for row in shop.rows("SELECT action FROM audit_log")]
    assert "checkout.approve.age_check" not in actions


def test_a_failed_abandon_is_written_again_on_the_next_tick(shop: Harness) -> None:
    shop.kiosk.scan(WATER)
    shop.settle()
    with sqlite3.connect(shop.kiosk.database) as conn:
        conn.execute(
            "CREATE TRIGGER refuse_abandon BEFORE UPDATE OF state ON sales "
            "WHEN NEW.state = 'abandoned' BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
        )
    shop.kiosk.cancel_sale()
    shop.settle()
    assert shop.of(StoreTrouble)
    assert shop.rows("SELECT state FROM sales") == [("open",)]

    with sqlite3.connect(shop.kiosk.database) as conn:
        conn.execute("DROP TRIGGER refuse_abandon")
    shop.kiosk.tick()
    shop.settle()
    assert shop.rows("SELECT state, close_reason FROM sales") == [
        ("abandoned", "customer_cancelled")
    ]


def test_a_cart_whose_tax_class_is_no_longer_configured_is_not_restored(
    settings: Settings, clock: Clock
) -> None:
    first = Harness(settings, clock)
    first.kiosk.scan(BEER)  # tax class "standard"
    first.settle()
    first.kiosk.close()
    only_reduced = replace(settings.tax, classes={"reduced": settings.tax.classes["reduced"]})
    changed = replace(settings, tax=only_reduced)

    second = Harness(changed, clock)
    try:
        assert second.report.restored_sale_id is None
        assert second.rows("SELECT close_reason FROM sales") == [("tax_class_gone_at_start",)]
    finally:
        second.kiosk.close()


def test_a_clock_that_went_back_never_restores_a_cart_from_the_future(
    settings: Settings, clock: Clock
) -> None:
    first = Harness(settings, clock)
    first.kiosk.scan(WATER)
    first.settle()
    first.kiosk.close()

    clock.advance(-3600)  # a Raspberry Pi without a real-time clock, before NTP
    second = Harness(settings, clock)
    try:
        assert second.report.restored_sale_id is None
        assert second.rows("SELECT close_reason FROM sales") == [("expired_at_start",)]
    finally:
        second.kiosk.close()


def test_a_database_error_during_a_lookup_calls_staff_and_the_kiosk_goes_on(
    shop: Harness,
) -> None:
    with sqlite3.connect(shop.kiosk.database) as conn:
        conn.execute("ALTER TABLE products RENAME TO products_gone")
    shop.kiosk.scan(WATER)

    assert shop.of(StoreTrouble)
    assert shop.kiosk.checkout.attendant_reason is AttendantReason.UNKNOWN_ITEM


def test_an_impossible_staff_number_is_answered_as_unknown_staff(shop: Harness) -> None:
    shop.kiosk.attend(10**20, "123456")
    shop.settle()
    (answer,) = shop.of(StaffChecked)
    assert answer.outcome == "unknown_staff"  # type: ignore[attr-defined]
    assert not shop.of(StoreTrouble)


def test_a_gs1_label_the_parser_found_hard_is_a_rejected_scan_not_a_crash(shop: Harness) -> None:
    shop.kiosk.scan(b"]d243336")
    assert shop.of(ScanRejected)
    assert shop.kiosk.checkout.state is CheckoutState.ATTRACT
