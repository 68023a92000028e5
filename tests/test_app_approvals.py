"""Staff decisions through the facade: pricing, overriding, voiding, leaving out, on a real
SQLite file with an injected clock, each written with exactly one audit row."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.app import Kiosk
from kiosk.config import Settings, demo_settings
from kiosk.core.checkout_events import UNLISTED_ITEM_NAME
from kiosk.core.checkout_states import AttendantReason, CheckoutState, ReceiptChoice
from kiosk.main_queue import MainQueue
from kiosk.notices import CartRefused, Notice, StaffChecked, StoreTrouble
from kiosk.refusals import KioskRefusal
from kiosk.sim.demo_shop import DEMO_STAFF, in_store_code, prepare_demo
from kiosk.store.db import open_database
from kiosk.store.staff import StaffRoster

WATER = b"4006381333931\r\n"  # Mineral water still 1.5 l, 0.49, reduced
BEER = b"5012345001050\r\n"  # Lager beer 0.5 l, 1.19, standard, 18+
UNKNOWN = in_store_code("40", "12345", 67890).encode()  # no such item in the demo catalog
UNKNOWN_CODE = "0" + UNKNOWN.decode()
ATTENDANT = 1001
MANAGER_NUMBER = 1002
ATTENDANT_PIN = DEMO_STAFF[0].pin
WAIT_S = 20.0
"""A guard against hanging, not a timing assertion."""


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Lane:
    """A started kiosk, its main queue and every notice it sent."""

    def __init__(self, settings: Settings, clock: Clock, card_payments: bool = False) -> None:
        self.queue = MainQueue()
        self.notices: list[Notice] = []
        self.kiosk = Kiosk(
            settings, post_to_main=self.queue.post, clock=clock, card_payments=card_payments
        )
        self.kiosk.listen(self.notices.append)
        self.report = self.kiosk.start()
        self.first_audit_id = self.audit_ids()

    def sign_in(self) -> None:
        """Sign the attendant in for the open call, as their PIN at the call does (decisions
        on the sale need a signed-in staff member; the menu closes once the call is settled)."""
        member = self.kiosk.read(lambda db: StaffRoster(db).get(ATTENDANT))
        assert member is not None
        self.kiosk.staff.open_for_call(member)

    def settle(self) -> None:
        """Let the store worker finish what it was given and deliver its answers."""
        for _ in range(2):
            self.kiosk.wait_for_writes(5)
            self.queue.run_pending()

    def rows(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        self.kiosk.wait_for_writes(5)
        with sqlite3.connect(self.kiosk.database) as conn:
            return conn.execute(sql, params).fetchall()

    def audit_ids(self) -> int:
        ((highest,),) = self.rows("SELECT COALESCE(MAX(id), 0) FROM audit_log")
        return int(str(highest))

    def audit(self) -> list[tuple[str, str, int | None, dict[str, object]]]:
        """The audit rows written since the kiosk started: action, outcome, staff, detail."""
        rows = self.rows(
            "SELECT action, outcome, staff_number, detail FROM audit_log WHERE id > ? "
            "ORDER BY id",
            self.first_audit_id,
        )
        return [
            (str(action), str(outcome), staff if isinstance(staff, int) else None,
             json.loads(str(detail)) if detail is not None else {})
            for action, outcome, staff, detail in rows
        ]

    def refusals(self) -> list[str]:
        return [notice.code for notice in self.notices if isinstance(notice, CartRefused)]


def demo(tmp_path: Path) -> Settings:
    settings = demo_settings(tmp_path / "state")
    db = open_database(Path(settings.state_dir) / "kiosk.db")
    prepare_demo(db, settings, now=datetime(2026, 11, 1, tzinfo=UTC), work_dir=tmp_path)
    db.close()
    return settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return demo(tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def lane(settings: Settings, clock: Clock) -> Iterator[Lane]:
    started = Lane(settings, clock)
    yield started
    started.kiosk.close()


def wait_with_unknown_item(lane: Lane) -> None:
    lane.kiosk.scan(WATER)
    lane.kiosk.scan(UNKNOWN)
    assert lane.kiosk.checkout.attendant_reason is AttendantReason.UNKNOWN_ITEM


# ----------------------------------------------------------------------- the PIN alone


def test_a_right_pin_at_an_unknown_item_call_only_signs_staff_in(lane: Lane) -> None:
    wait_with_unknown_item(lane)
    cart = lane.kiosk.checkout.cart

    lane.kiosk.attend(ATTENDANT, ATTENDANT_PIN)
    lane.settle()

    (answer,) = [n for n in lane.notices if isinstance(n, StaffChecked)]
    assert answer.outcome == "ok"
    assert lane.kiosk.checkout.state is CheckoutState.NEEDS_ATTENDANT
    assert lane.kiosk.checkout.cart == cart
    assert [(action, outcome) for action, outcome, _, _ in lane.audit()] == [
        ("staff.pin_check", "ok")
    ]


# --------------------------------------------------------------------- pricing an item


def test_staff_price_an_unknown_item_into_the_cart_and_the_database_with_one_audit_row(
    lane: Lane,
) -> None:
    wait_with_unknown_item(lane)
    lane.kiosk.attend(ATTENDANT, ATTENDANT_PIN)
    lane.settle()

    lane.kiosk.price_item(ATTENDANT, 350, "standard")
    lane.settle()

    checkout = lane.kiosk.checkout
    assert checkout.state is CheckoutState.SHOPPING
    assert [(line.name, line.amount_minor) for line in checkout.cart.lines] == [
        ("Mineral water still 1.5 l", 49),
        (UNLISTED_ITEM_NAME, 350),
    ]
    sale_id = checkout.sale_id
    assert lane.rows(
        "SELECT code, name, quantity, unit_price_minor, tax_class, line_total_minor "
        "FROM sale_lines WHERE sale_id = ? ORDER BY position",
        sale_id,
    )[1:] == [(UNKNOWN_CODE, UNLISTED_ITEM_NAME, 1, 350, "standard", 350)]
    assert lane.rows("SELECT total_minor FROM sales WHERE id = ?", sale_id) == [(399,)]
    priced = [row for row in lane.audit() if row[0] == "checkout.price_item"]
    assert len(priced) == 1
    _, outcome, staff, detail = priced[0]
    assert (outcome, staff) == ("ok", ATTENDANT)
    assert detail["sale_id"] == sale_id
    assert (detail["unit_price_minor"], detail["tax_class"]) == (350, "standard")
    assert ATTENDANT_PIN not in json.dumps(lane.audit())


def test_a_bad_price_is_refused_with_its_code_and_writes_no_audit_row(lane: Lane) -> None:
    wait_with_unknown_item(lane)

    lane.sign_in()
    lane.kiosk.price_item(ATTENDANT, 0, "standard")
    lane.kiosk.price_item(ATTENDANT, 350, "luxury")
    lane.settle()

    assert lane.refusals() == ["bad_price", "unknown_tax_class"]
    assert lane.kiosk.checkout.attendant_reason is AttendantReason.UNKNOWN_ITEM
    assert lane.audit() == []


def test_a_decision_without_a_matching_call_is_refused_as_no_call(lane: Lane) -> None:
    lane.kiosk.scan(WATER)
    for decide in (
        lambda: lane.kiosk.price_item(ATTENDANT, 350, "standard"),
        lambda: lane.kiosk.override_limit(ATTENDANT),
        lambda: lane.kiosk.leave_out(ATTENDANT),
    ):
        lane.sign_in()  # without a call to settle, each refusal also closes the menu
        decide()
    lane.settle()

    assert lane.refusals() == ["no_call", "no_call", "no_call"]
    assert lane.audit() == []


def test_a_priced_item_comes_back_after_a_restart(settings: Settings, clock: Clock) -> None:
    first = Lane(settings, clock)
    wait_with_unknown_item(first)
    first.sign_in()
    first.kiosk.price_item(ATTENDANT, 350, "standard")
    first.settle()
    sale_id = first.kiosk.checkout.sale_id
    first.kiosk.close()

    clock.advance(60)
    second = Lane(settings, clock)
    try:
        assert second.report.restored_sale_id == sale_id
        lines = second.kiosk.checkout.cart.lines
        assert [(line.code, line.name, line.unit_price_minor, line.tax_class) for line in lines][
            1:
        ] == [(UNKNOWN_CODE, UNLISTED_ITEM_NAME, 350, "standard")]
        totals = second.kiosk.totals
        assert totals is not None and totals.total_minor == 399
    finally:
        second.kiosk.close()


def test_a_sale_with_a_priced_item_is_paid_and_printed_like_any_other(
    tmp_path: Path, clock: Clock
) -> None:
    base = demo(tmp_path)
    stripe = replace(base.stripe, poll_interval_ms=100)
    paying = Lane(replace(base, stripe=stripe), clock, card_payments=True)
    try:
        emulator, printer = paying.kiosk.stripe_emulator, paying.kiosk.virtual_printer
        assert emulator is not None and printer is not None
        wait_with_unknown_item(paying)
        paying.sign_in()
        paying.kiosk.price_item(ATTENDANT, 350, "standard")
        sale_id = paying.kiosk.checkout.sale_id
        emulator.customer("tap", after_s=0.05)
        paying.kiosk.pay()
        paying.queue.run_until(lambda: paying.kiosk.checkout.state is CheckoutState.PAID, WAIT_S)
        paying.kiosk.choose_receipt(ReceiptChoice.PRINT)

        (job,) = printer.wait_for_jobs(1, WAIT_S)
        assert UNLISTED_ITEM_NAME in job.text
        assert paying.rows("SELECT state, total_minor FROM sales WHERE id = ?", sale_id) == [
            ("paid", 399)
        ]
    finally:
        paying.kiosk.close()


def test_a_decision_whose_write_failed_is_recorded_once_on_a_later_tick(lane: Lane) -> None:
    wait_with_unknown_item(lane)
    lane.settle()
    with sqlite3.connect(lane.kiosk.database) as conn:
        conn.execute(
            "CREATE TRIGGER refuse_lines BEFORE INSERT ON sale_lines "
            "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
        )
    lane.sign_in()
    lane.kiosk.price_item(ATTENDANT, 350, "standard")
    lane.settle()
    assert any(isinstance(n, StoreTrouble) for n in lane.notices)
    assert lane.audit() == []  # the cart change failed, and its audit row with it

    with sqlite3.connect(lane.kiosk.database) as conn:
        conn.execute("DROP TRIGGER refuse_lines")
    lane.kiosk.tick()
    lane.settle()
    lane.kiosk.tick()
    lane.settle()
    assert [row[0] for row in lane.audit()] == ["checkout.price_item"]
    assert lane.rows("SELECT name FROM sale_lines ORDER BY position") == [
        ("Mineral water still 1.5 l",),
        (UNLISTED_ITEM_NAME,),
    ]


# ------------------------------------------------------------------ overriding a limit


def test_an_overridden_limit_puts_the_quantity_past_it_and_the_limit_holds_afterwards(
    tmp_path: Path, clock: Clock
) -> None:
    base = demo(tmp_path)
    limits = replace(base.limits, max_quantity_per_line=3)
    strict = Lane(replace(base, limits=limits), clock)
    try:
        strict.kiosk.scan(WATER)
        (line,) = strict.kiosk.checkout.cart.lines
        strict.kiosk.set_quantity(line.line_id, 5)
        assert strict.kiosk.checkout.attendant_reason is AttendantReason.LIMIT_REACHED

        strict.sign_in()
        strict.kiosk.override_limit(ATTENDANT)
        strict.settle()

        assert strict.kiosk.checkout.state is CheckoutState.SHOPPING
        assert strict.rows("SELECT quantity, line_total_minor FROM sale_lines") == [(5, 245)]
        ((action, outcome, staff, detail),) = strict.audit()
        assert (action, outcome, staff) == ("checkout.override_limit", "approved", ATTENDANT)
        assert (detail["limit"], detail["quantity"]) == ("limit_quantity_per_line", 5)
        strict.kiosk.set_quantity(line.line_id, 6)
        assert strict.kiosk.checkout.attendant_reason is AttendantReason.LIMIT_REACHED
    finally:
        strict.kiosk.close()


# ---------------------------------------------------------------------- voiding a line


def test_voiding_the_beer_during_an_age_check_closes_the_call_and_pay_goes_on(
    lane: Lane,
) -> None:
    lane.kiosk.scan(WATER)
    lane.kiosk.scan(WATER)
    lane.kiosk.scan(BEER)
    lane.kiosk.pay()
    assert lane.kiosk.checkout.attendant_reason is AttendantReason.AGE_CHECK
    beer = lane.kiosk.checkout.cart.lines[-1]

    lane.sign_in()
    lane.kiosk.void_line(ATTENDANT, beer.line_id)
    lane.settle()

    assert lane.kiosk.checkout.state is CheckoutState.SHOPPING
    assert lane.rows("SELECT name, quantity FROM sale_lines") == [
        ("Mineral water still 1.5 l", 2)
    ]
    ((action, outcome, staff, detail),) = lane.audit()
    assert (action, outcome, staff) == ("checkout.void_line", "ok", ATTENDANT)
    assert (detail["call"], detail["name"], detail["amount_minor"]) == (
        "age_check", "Lager beer 0.5 l", 119,
    )
    lane.kiosk.pay()  # no age check now: straight to the card (none in this lane)
    lane.settle()
    assert lane.kiosk.checkout.payment_code == KioskRefusal.PAYMENTS_UNAVAILABLE


def test_a_void_of_a_missing_line_is_refused_and_recorded_nowhere(lane: Lane) -> None:
    lane.kiosk.scan(WATER)
    lane.sign_in()
    lane.kiosk.void_line(ATTENDANT, 99)
    lane.settle()
    assert lane.refusals() == ["line_not_found"]
    assert lane.audit() == []


# -------------------------------------------------------------------- leaving it out


def test_staff_leave_an_unknown_item_out_and_it_is_recorded(lane: Lane) -> None:
    wait_with_unknown_item(lane)
    lane.sign_in()
    lane.kiosk.leave_out(ATTENDANT)
    lane.settle()

    assert lane.kiosk.checkout.state is CheckoutState.SHOPPING
    assert lane.rows("SELECT name FROM sale_lines") == [("Mineral water still 1.5 l",)]
    ((action, outcome, staff, detail),) = lane.audit()
    assert (action, outcome, staff) == ("checkout.leave_out", "ok", ATTENDANT)
    assert (detail["call"], detail["code"]) == ("unknown_item", UNKNOWN_CODE)
    assert detail["sale_id"] == lane.kiosk.checkout.sale_id


def test_the_age_check_is_still_approved_by_a_pin_alone(lane: Lane) -> None:
    lane.kiosk.scan(BEER)
    lane.kiosk.pay()
    lane.kiosk.attend(ATTENDANT, ATTENDANT_PIN)
    lane.settle()

    assert lane.kiosk.checkout.state is CheckoutState.SHOPPING
    assert [(action, outcome) for action, outcome, _, _ in lane.audit()] == [
        ("staff.pin_check", "ok"),
        ("checkout.approve.age_check", "approved"),
    ]


def test_a_decision_from_staff_who_never_entered_a_pin_changes_nothing(lane: Lane) -> None:
    lane.kiosk.scan(WATER)
    lane.settle()
    before = lane.audit_ids()
    (line,) = lane.kiosk.checkout.cart.lines

    lane.kiosk.void_line(MANAGER_NUMBER, line.line_id)
    lane.kiosk.leave_out(MANAGER_NUMBER)
    lane.settle()

    assert lane.kiosk.checkout.cart.lines == (line,)
    assert lane.refusals() == ["not_allowed", "not_allowed"]
    assert lane.audit_ids() == before
