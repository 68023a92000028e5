"""Starting the kiosk without blocking the screen: the slow steps (store check, payment
recovery, old sales) on a thread, the session and every notice on the main thread; and the
demo's choice of card. Real SQLite in tmp_path, the embedded Stripe emulator over real HTTP,
a ``MainQueue`` as the main thread.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.app import Kiosk, StartReport
from kiosk.config import Settings, demo_settings
from kiosk.core.checkout_states import AttendantReason, CheckoutState, ReceiptChoice
from kiosk.main_queue import MainQueue
from kiosk.notices import CartRefused, Notice, PaymentRecovery, SessionChanged
from kiosk.payments.cards import DEMO_CARDS
from kiosk.refusals import KioskRefusal
from kiosk.sim.demo_shop import DEMO_STAFF, prepare_demo
from kiosk.sim.stripe_emulator import StripeEmulator
from kiosk.sim.stripe_emulator.faults import Fault
from kiosk.store.db import DatabaseCorrupt, open_database

JUICE = b"5012345001012\r\n"  # Orange juice 1 l, 1.89
WATER = b"4006381333931\r\n"  # Mineral water still 1.5 l, 0.49
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
    """A kiosk, its main queue and every notice it sent; started by the test."""

    def __init__(self, settings: Settings, clock: Clock, *, card_payments: bool = True) -> None:
        self.queue = MainQueue()
        self.notices: list[Notice] = []
        self.kiosk = Kiosk(
            settings, post_to_main=self.queue.post, clock=clock, card_payments=card_payments
        )
        self.kiosk.listen(self.notices.append)
        self.started: list[StartReport] = []
        self.failed: list[BaseException] = []
        self.notices_when_started: list[Notice] = []

    def start_in_background(self) -> None:
        def on_started(report: StartReport) -> None:
            self.notices_when_started = list(self.notices)
            self.started.append(report)

        self.kiosk.start_in_background(on_started, self.failed.append)

    def until(self, done: Callable[[], bool]) -> None:
        self.queue.run_until(done, WAIT_S)

    def until_started(self) -> StartReport:
        self.until(lambda: bool(self.started or self.failed))
        assert not self.failed, self.failed
        (report,) = self.started
        return report

    def recovery_states(self) -> list[str]:
        return [n.state for n in self.notices if isinstance(n, PaymentRecovery)]

    def refusals(self) -> list[str]:
        return [n.code for n in self.notices if isinstance(n, CartRefused)]

    def rows(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.kiosk.database) as conn:
            return conn.execute(sql, params).fetchall()

    @property
    def emulator(self) -> StripeEmulator:
        emulator = self.kiosk.stripe_emulator
        assert emulator is not None
        return emulator


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    base = demo_settings(tmp_path / "state")
    db = open_database(Path(base.state_dir) / "kiosk.db")
    prepare_demo(db, base, now=datetime(2026, 11, 1, tzinfo=UTC), work_dir=tmp_path)
    db.close()
    stripe = replace(base.stripe, poll_interval_ms=100)
    return replace(base, stripe=stripe)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def lanes() -> Iterator[list[Lane]]:
    """Every lane a test makes, closed at the end whatever happened."""
    made: list[Lane] = []
    yield made
    for lane in made:
        lane.kiosk.close()


def stop_mid_payment(settings: Settings, clock: Clock) -> str:
    """Run a kiosk until its reader waits for a card, then stop it (the power goes); return
    the sale id whose payment is left unfinished."""
    first = Lane(settings, clock)
    try:
        first.kiosk.start()
        first.emulator.customer("never")
        first.kiosk.scan(JUICE)
        sale_id = first.kiosk.checkout.sale_id
        assert sale_id is not None
        first.kiosk.pay()
        first.until(lambda: first.rows(
            "SELECT state FROM payment_attempts WHERE sale_id = ?", sale_id
        ) == [("processing",)])
    finally:
        first.kiosk.close()
    return sale_id


def stripe_paths(emulator: StripeEmulator) -> list[str]:
    return [request.path for request in emulator.requests()]


def intent_of(lane: Lane, sale_id: str) -> str:
    ((intent_id,),) = lane.rows(
        "SELECT payment_intent_id FROM payment_attempts WHERE sale_id = ?", sale_id
    )
    return str(intent_id)


def test_a_restart_mid_payment_shows_checking_before_recovery_asks_stripe_while_the_screen_runs(
    settings: Settings, clock: Clock, lanes: list[Lane]
) -> None:
    sale_id = stop_mid_payment(settings, clock)
    lane = Lane(settings, clock)
    lanes.append(lane)
    gate = threading.Event()
    asked_before_checking: list[list[str]] = []

    def on_notice(notice: Notice) -> None:
        if isinstance(notice, PaymentRecovery) and notice.state == "checking":
            asked_before_checking.append(stripe_paths(lane.emulator))
            # Recovery reads its attempts through the store worker: hold it there, so the
            # test looks at the kiosk while recovery is still running.
            lane.kiosk.submit_to_store(lambda db: gate.wait(WAIT_S))

    lane.kiosk.listen(on_notice)
    lane.start_in_background()
    assert lane.kiosk.starting

    lane.until(lambda: "checking" in lane.recovery_states())
    ran: list[str] = []
    lane.queue.post(lambda: ran.append("the screen is drawn"))
    lane.until(lambda: bool(ran))
    assert lane.kiosk.starting
    assert lane.recovery_states() == ["checking"]
    assert not lane.started
    # A scan while recovery runs is kept: the sale may not take lines before it is settled.
    lane.kiosk.scan(JUICE)
    assert lane.kiosk.checkout.sale_id is None

    gate.set()
    report = lane.until_started()
    intent_id = intent_of(lane, sale_id)
    (paths,) = asked_before_checking
    assert not any(intent_id in path for path in paths)
    assert any(intent_id in path for path in stripe_paths(lane.emulator))
    assert lane.recovery_states() == ["checking", "settled"]
    assert report.restored_sale_id == sale_id
    assert lane.kiosk.checkout.state is CheckoutState.SHOPPING
    assert [line.quantity for line in lane.kiosk.checkout.cart.lines] == [2]


def test_a_scan_while_card_payments_start_reaches_the_cart_before_they_have_started(
    settings: Settings, clock: Clock, lanes: list[Lane]
) -> None:
    lane = Lane(settings, clock)
    lanes.append(lane)
    starting_when_in_cart: list[bool] = []

    def on_notice(notice: Notice) -> None:
        if isinstance(notice, SessionChanged) and notice.checkout.cart.lines:
            starting_when_in_cart.append(lane.kiosk.starting and not lane.started)

    lane.kiosk.listen(on_notice)
    lane.start_in_background()
    lane.kiosk.scan(JUICE)
    lane.until(lambda: bool(starting_when_in_cart))

    assert starting_when_in_cart == [True]  # in the cart before the payment side started
    lane.until_started()
    lane.kiosk.scan(JUICE)
    assert [line.quantity for line in lane.kiosk.checkout.cart.lines] == [2]
    assert lane.refusals() == []


def test_a_clean_boot_in_the_background_shows_no_checking_screen(
    settings: Settings, clock: Clock, lanes: list[Lane]
) -> None:
    lane = Lane(settings, clock)
    lanes.append(lane)
    lane.start_in_background()
    report = lane.until_started()

    assert lane.recovery_states() == []
    assert report.payment_recovery is not None and report.payment_recovery.checked == 0
    assert report.restored_sale_id is None
    assert not lane.kiosk.starting
    assert lane.kiosk.checkout.state is CheckoutState.ATTRACT


def test_a_payment_approved_while_the_kiosk_was_off_shows_its_customer_the_receipt_choice(
    settings: Settings, clock: Clock, lanes: list[Lane]
) -> None:
    sale_id = stop_mid_payment(settings, clock)
    lane = Lane(settings, clock)
    lanes.append(lane)

    def on_notice(notice: Notice) -> None:
        if isinstance(notice, PaymentRecovery) and notice.state == "checking":
            # The customer's card went through while the kiosk was off.
            (reader,) = lane.emulator.readers()
            lane.emulator.present_card(str(reader["id"]))

    lane.kiosk.listen(on_notice)
    lane.start_in_background()
    report = lane.until_started()

    assert lane.recovery_states() == ["checking", "settled"]
    assert report.payment_recovery is not None and report.payment_recovery.paid == [sale_id]
    assert lane.rows("SELECT state FROM sales WHERE id = ?", sale_id) == [("paid",)]
    # The customer who was at the reader sees the paid screen and chooses a receipt.
    assert report.restored_sale_id is None
    assert lane.kiosk.checkout.state is CheckoutState.PAID
    assert lane.kiosk.checkout.sale_id == sale_id
    assert lane.kiosk.checkout.cart.lines, "the paid sale's lines are on screen"
    assert lane.kiosk.sale_number == lane.rows(
        "SELECT number FROM sales WHERE id = ?", sale_id
    )[0][0]
    lane.kiosk.wait_for_writes(WAIT_S)
    assert lane.rows("SELECT state FROM print_jobs WHERE sale_id = ?", sale_id) == [
        ("awaiting_choice",)
    ]
    lane.kiosk.choose_receipt(ReceiptChoice.NONE)
    assert lane.kiosk.checkout.state is CheckoutState.ATTRACT
    deadline = time.monotonic() + WAIT_S  # the receipt desk records the choice on its thread
    while lane.rows("SELECT state FROM print_jobs WHERE sale_id = ?", sale_id) == [
        ("awaiting_choice",)
    ]:
        assert time.monotonic() < deadline, "the receipt choice was never recorded"
        time.sleep(0.01)


def test_actions_while_starting_are_refused_and_a_scan_is_kept_for_the_cart(
    settings: Settings, clock: Clock, lanes: list[Lane]
) -> None:
    lane = Lane(settings, clock, card_payments=False)
    lanes.append(lane)
    lane.start_in_background()
    # Nothing posted to the main thread has run yet: the kiosk is still starting.
    lane.kiosk.scan(JUICE)
    lane.kiosk.set_quantity(1, 3)
    lane.kiosk.remove_line(1)
    lane.kiosk.pay()
    lane.kiosk.cancel_sale()
    lane.kiosk.attend(1001, DEMO_STAFF[0].pin)
    lane.kiosk.touch()
    lane.kiosk.tick()

    assert lane.refusals() == [KioskRefusal.KIOSK_STARTING] * 5
    assert lane.kiosk.checkout.sale_id is None
    lane.until_started()
    # The scan was kept, not lost: it reached the cart once the kiosk took scans.
    assert lane.kiosk.checkout.state is CheckoutState.SHOPPING
    assert [line.quantity for line in lane.kiosk.checkout.cart.lines] == [1]
    lane.until(lambda: lane.rows("SELECT COUNT(*) FROM sales") == [(1,)])


def test_a_scan_before_the_start_has_begun_is_kept_and_lands_in_the_cart(
    settings: Settings, clock: Clock, lanes: list[Lane]
) -> None:
    lane = Lane(settings, clock, card_payments=False)
    lanes.append(lane)
    lane.kiosk.scan(JUICE)  # the tick of the first frame: no start yet

    assert lane.refusals() == []
    lane.start_in_background()
    lane.until_started()
    assert lane.kiosk.checkout.state is CheckoutState.SHOPPING
    assert len(lane.kiosk.checkout.cart.lines) == 1


def test_scans_sent_before_the_store_is_ready_land_in_order_before_card_payments_start(
    settings: Settings, clock: Clock, lanes: list[Lane]
) -> None:
    lane = Lane(settings, clock)
    lanes.append(lane)
    payment_side_when_in_cart: list[object] = []

    def on_notice(notice: Notice) -> None:
        if isinstance(notice, SessionChanged) and notice.checkout.cart.lines:
            payment_side_when_in_cart.append(lane.kiosk.payment_service)

    lane.kiosk.listen(on_notice)
    lane.start_in_background()
    lane.kiosk.scan(JUICE)  # nothing posted to the main thread has run: both are kept
    lane.kiosk.scan(WATER)
    # The start thread waits for the main thread to take scans (nothing ran on it yet)
    # before it loads the payment side: it has not started it a while later.
    time.sleep(0.5)
    assert lane.kiosk.payment_service is None
    lane.until(lambda: len(payment_side_when_in_cart) >= 2)  # later: the sale's number

    # Both in the cart, in the order scanned, before the payment side was even loaded: it
    # starts once the kiosk takes scans (its imports would slow the first scans down).
    assert payment_side_when_in_cart[:2] == [None, None]
    sale_id = lane.kiosk.checkout.sale_id
    codes = ["05012345001012", "04006381333931"]  # as GTIN-14
    assert [line.code for line in lane.kiosk.checkout.cart.lines] == codes
    lane.until_started()
    assert lane.kiosk.payment_service is not None
    assert lane.refusals() == []
    lane.kiosk.wait_for_writes(WAIT_S)
    assert lane.rows(
        "SELECT position, code, quantity FROM sale_lines WHERE sale_id = ? ORDER BY position",
        sale_id,
    ) == [(1, codes[0], 1), (2, codes[1], 1)]


def test_the_restored_cart_arrives_with_a_session_change_before_on_started(
    settings: Settings, clock: Clock, lanes: list[Lane]
) -> None:
    first = Lane(settings, clock, card_payments=False)
    first.kiosk.start()
    first.kiosk.scan(JUICE)
    sale_id = first.kiosk.checkout.sale_id
    first.kiosk.close()  # finishes the pending writes
    clock.advance(60)

    lane = Lane(settings, clock, card_payments=False)
    lanes.append(lane)
    lane.start_in_background()
    report = lane.until_started()

    assert report.restored_sale_id == sale_id
    sessions = [n for n in lane.notices_when_started if isinstance(n, SessionChanged)]
    assert sessions, "no SessionChanged before on_started"
    restored = sessions[-1].checkout
    assert (restored.sale_id, restored.state) == (sale_id, CheckoutState.SHOPPING)
    assert [line.quantity for line in restored.cart.lines] == [1]


def test_a_corrupt_database_calls_on_failed_and_the_kiosk_stays_out_of_order(
    settings: Settings, clock: Clock, lanes: list[Lane]
) -> None:
    database = Path(settings.state_dir) / "kiosk.db"
    for leftover in (database.with_name("kiosk.db-wal"), database.with_name("kiosk.db-shm")):
        leftover.unlink(missing_ok=True)
    database.write_bytes(b"this is a shopping list, not a database\n" * 200)
    lane = Lane(settings, clock)
    lanes.append(lane)
    lane.start_in_background()
    lane.until(lambda: bool(lane.failed))

    (error,) = lane.failed
    assert isinstance(error, DatabaseCorrupt)
    assert not lane.started
    assert not lane.kiosk.starting
    assert not any(isinstance(n, SessionChanged) for n in lane.notices)
    lane.kiosk.scan(JUICE)
    assert lane.refusals() == [KioskRefusal.KIOSK_OUT_OF_ORDER]


def test_a_kiosk_closed_while_starting_calls_neither_callback_and_leaves_no_start_running(
    settings: Settings, clock: Clock
) -> None:
    lane = Lane(settings, clock)
    lane.start_in_background()
    lane.kiosk.close()
    lane.queue.run_pending()

    assert (lane.started, lane.failed) == ([], [])
    assert lane.kiosk.stripe_emulator is None
    assert not any(t.name == "kiosk-start" and t.is_alive() for t in threading.enumerate())


def test_the_declined_demo_card_declines_the_next_payment_and_the_approved_one_pays(
    settings: Settings, clock: Clock, lanes: list[Lane]
) -> None:
    lane = Lane(settings, clock)
    lanes.append(lane)
    lane.kiosk.start()
    assert lane.kiosk.demo_card == "approved"

    lane.kiosk.set_demo_card("declined")
    assert lane.kiosk.demo_card == "declined"
    lane.kiosk.scan(JUICE)
    sale_id = lane.kiosk.checkout.sale_id
    lane.kiosk.pay()
    lane.until(lambda: lane.kiosk.checkout.payment_code is not None)
    assert lane.kiosk.checkout.state is CheckoutState.SHOPPING
    lane.kiosk.wait_for_writes(WAIT_S)
    assert lane.rows("SELECT decline_code FROM payment_attempts WHERE sale_id = ?", sale_id) == [
        ("generic_decline",)
    ]

    lane.kiosk.set_demo_card("approved")
    lane.kiosk.pay()
    lane.until(lambda: lane.kiosk.checkout.state is CheckoutState.PAID)
    assert lane.rows("SELECT state FROM sales WHERE id = ?", sale_id) == [("paid",)]


def test_a_demo_card_chosen_while_starting_is_tapped_once_the_emulator_runs(
    settings: Settings, clock: Clock, lanes: list[Lane]
) -> None:
    lane = Lane(settings, clock)
    lanes.append(lane)
    lane.start_in_background()
    lane.kiosk.set_demo_card("insufficient_funds")
    lane.until_started()

    plan = lane.emulator.state()["customer"]
    assert (plan["behaviour"], plan["card"]) == ("tap", DEMO_CARDS["insufficient_funds"])


def test_an_unknown_demo_card_or_a_kiosk_without_the_embedded_emulator_is_refused(
    settings: Settings, clock: Clock, lanes: list[Lane]
) -> None:
    lane = Lane(settings, clock, card_payments=False)
    lanes.append(lane)
    lane.kiosk.start()
    with pytest.raises(ValueError, match="unknown demo card"):
        lane.kiosk.set_demo_card("stolen")
    with pytest.raises(RuntimeError, match="embedded Stripe emulator"):
        lane.kiosk.set_demo_card("declined")
    assert lane.kiosk.demo_card == "approved"


def test_a_payment_recovery_cannot_settle_keeps_customers_out_until_staff_check_it(
    settings: Settings, clock: Clock, lanes: list[Lane]
) -> None:
    sale_id = stop_mid_payment(settings, clock)
    timeouts = replace(settings.timeouts, recovery_s=5)
    lane = Lane(replace(settings, timeouts=timeouts), clock)
    lanes.append(lane)

    def on_notice(notice: Notice) -> None:
        if isinstance(notice, PaymentRecovery) and notice.state == "checking":
            # Stripe answers nothing useful for longer than recovery may take.
            lane.emulator.inject(Fault("error_500_before", method="GET", times=10_000))

    lane.kiosk.listen(on_notice)
    lane.start_in_background()
    lane.until_started()

    assert lane.recovery_states() == ["checking", "call_staff"]
    assert lane.kiosk.checkout.state is CheckoutState.NEEDS_ATTENDANT
    assert lane.kiosk.checkout.attendant_reason is AttendantReason.PAYMENT_CHECK
    assert lane.rows("SELECT state FROM sales WHERE id = ?", sale_id) == [("locked",)]
    lane.kiosk.scan(JUICE)  # a customer cannot start a sale meanwhile
    lane.queue.run_until(lambda: True, WAIT_S)
    assert lane.kiosk.checkout.sale_id is None
    lane.kiosk.withdraw_call()  # nor send staff away
    assert lane.kiosk.checkout.state is CheckoutState.NEEDS_ATTENDANT

    lane.kiosk.attend(1001, DEMO_STAFF[0].pin)
    lane.until(lambda: lane.kiosk.checkout.state is CheckoutState.ATTRACT)
    assert lane.rows("SELECT state FROM sales WHERE id = ?", sale_id) == [("locked",)]
