"""The facade paying by card: the embedded Stripe emulator, the real stripe package, SQLite."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.app import Kiosk
from kiosk.config import Settings, demo_settings
from kiosk.core.checkout_states import CheckoutState, ReceiptChoice
from kiosk.main_queue import MainQueue
from kiosk.notices import (
    AttendantCalled,
    CartRefused,
    Notice,
    PaymentRecovery,
    PaymentsAvailability,
    ReceiptPrinted,
    ReceiptUnavailable,
)
from kiosk.sim.demo_shop import prepare_demo
from kiosk.sim.stripe_emulator import StripeEmulator
from kiosk.store.db import open_database

JUICE = b"5012345001012\r\n"  # Orange juice 1 l, 1.89
WATER = b"4006381333931\r\n"  # 0.49: below the card minimum of 0.50 EUR
WAIT_S = 20.0
"""A guard against hanging, not a timing assertion."""
DECLINED_CARD = "4000000000000002"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    base = demo_settings(tmp_path / "state")
    db = open_database(Path(base.state_dir) / "kiosk.db")
    prepare_demo(db, base, now=datetime(2026, 11, 1, tzinfo=UTC), work_dir=tmp_path)
    db.close()
    stripe = replace(base.stripe, poll_interval_ms=100)
    return replace(base, stripe=stripe)


class Shop:
    """A started kiosk with card payments on the embedded emulator."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.queue = MainQueue()
        self.notices: list[Notice] = []
        self.kiosk = Kiosk(settings, post_to_main=self.queue.post, clock=clock)
        self.kiosk.listen(self.notices.append)
        self.report = self.kiosk.start()

    @property
    def emulator(self) -> StripeEmulator:
        emulator = self.kiosk.stripe_emulator
        assert emulator is not None
        return emulator

    def until(self, done: Callable[[], bool]) -> None:
        self.queue.run_until(done, WAIT_S)

    def state(self) -> CheckoutState:
        return self.kiosk.checkout.state

    def rows(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        self.kiosk.wait_for_writes(5)
        with sqlite3.connect(self.kiosk.database) as conn:
            return conn.execute(sql, params).fetchall()

    def intents_for(self, sale_id: str) -> list[dict[str, object]]:
        return [
            pi for pi in self.emulator.payment_intents()
            if pi["metadata"].get("sale_id") == sale_id
        ]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def shop(settings: Settings, clock: Clock) -> Iterator[Shop]:
    shop = Shop(settings, clock)
    yield shop
    shop.kiosk.close()


def test_a_tap_on_the_reader_pays_the_sale_and_records_it_with_its_outbox_rows(
    shop: Shop,
) -> None:
    shop.emulator.customer("tap", after_s=0.05)
    shop.kiosk.scan(JUICE)
    sale_id = shop.kiosk.checkout.sale_id
    assert sale_id is not None
    shop.kiosk.pay()
    shop.until(lambda: shop.state() is CheckoutState.PAID)

    (intent,) = shop.intents_for(sale_id)
    assert (intent["status"], intent["amount"]) == ("succeeded", 189)
    assert shop.rows("SELECT state, total_minor FROM sales WHERE id = ?", sale_id) == [
        ("paid", 189)
    ]
    topics = [row[0] for row in shop.rows("SELECT topic FROM outbox WHERE sale_id = ?", sale_id)]
    assert topics
    jobs = shop.rows("SELECT kind FROM print_jobs WHERE sale_id = ?", sale_id)
    assert ("receipt",) in jobs


def test_a_declined_card_gives_the_cart_back_and_another_card_pays_on_the_same_intent(
    shop: Shop,
) -> None:
    shop.emulator.customer("tap", card=DECLINED_CARD, after_s=0.05)
    shop.kiosk.scan(JUICE)
    sale_id = shop.kiosk.checkout.sale_id
    assert sale_id is not None
    shop.kiosk.pay()
    shop.until(lambda: shop.kiosk.checkout.payment_code is not None)
    assert shop.state() is CheckoutState.SHOPPING
    assert shop.kiosk.checkout.payment_code == "card_declined"
    assert len(shop.kiosk.checkout.cart.lines) == 1

    shop.emulator.customer("tap", after_s=0.05)
    shop.kiosk.pay()
    shop.until(lambda: shop.state() is CheckoutState.PAID)
    assert len(shop.intents_for(sale_id)) == 1


def test_a_customer_who_never_taps_gets_the_cart_back_after_the_card_wait(
    shop: Shop, clock: Clock
) -> None:
    shop.emulator.customer("never")
    shop.kiosk.scan(JUICE)
    sale_id = shop.kiosk.checkout.sale_id
    assert sale_id is not None
    shop.kiosk.pay()
    shop.until(lambda: bool(shop.intents_for(sale_id)))
    clock.advance(shop.kiosk.settings.timeouts.payment_idle_s + 1)
    shop.kiosk.tick()
    shop.until(lambda: shop.kiosk.checkout.payment_code == "cancelled")

    assert shop.state() is CheckoutState.SHOPPING
    (intent,) = shop.intents_for(sale_id)
    assert intent["status"] == "requires_payment_method"  # open: the next try reuses it


def test_an_abandoned_sale_cancels_its_payment_intent(shop: Shop) -> None:
    shop.emulator.customer("never")
    shop.kiosk.scan(JUICE)
    sale_id = shop.kiosk.checkout.sale_id
    assert sale_id is not None
    shop.kiosk.pay()
    shop.until(lambda: bool(shop.intents_for(sale_id)))
    shop.kiosk.back_to_cart()
    shop.until(lambda: shop.kiosk.checkout.payment_code is not None)
    shop.kiosk.cancel_sale()
    shop.until(lambda: shop.intents_for(sale_id)[0]["status"] == "canceled")
    assert shop.rows("SELECT state FROM sales WHERE id = ?", sale_id) == [("abandoned",)]


def test_a_restart_in_the_middle_of_a_payment_settles_it_before_the_cart_comes_back(
    settings: Settings, clock: Clock
) -> None:
    first = Shop(settings, clock)
    first.emulator.customer("never")
    first.kiosk.scan(JUICE)
    sale_id = first.kiosk.checkout.sale_id
    assert sale_id is not None
    first.kiosk.pay()
    first.until(lambda: bool(first.intents_for(sale_id)))
    first.until(lambda: first.rows(
        "SELECT state FROM payment_attempts WHERE sale_id = ?", sale_id
    ) == [("processing",)])
    first.kiosk.close()  # the power goes while the reader waits for a card

    second = Shop(settings, clock)
    try:
        recovery = [n for n in second.notices if isinstance(n, PaymentRecovery)]
        assert [n.state for n in recovery] == ["checking", "settled"]
        assert second.report.restored_sale_id == sale_id
        assert second.state() is CheckoutState.SHOPPING
        second.emulator.customer("tap", after_s=0.05)
        second.kiosk.pay()
        second.until(lambda: second.state() is CheckoutState.PAID)
        (intent,) = second.intents_for(sale_id)
        assert intent["status"] == "succeeded"
    finally:
        second.kiosk.close()


def test_the_payment_probe_reports_card_payments_available(shop: Shop) -> None:
    shop.until(lambda: shop.kiosk.payments_available[0])
    assert any(isinstance(n, PaymentsAvailability) and n.available for n in shop.notices)
    assert "payments" in shop.kiosk.heartbeats()


def test_without_a_stripe_key_card_payments_are_off_and_pay_says_so(
    settings: Settings, clock: Clock
) -> None:
    real = replace(
        settings.stripe, api_base="https://api.stripe.com", reader_id="tmr_FDOt2wlRZEdpd7"
    )
    shop = Shop(replace(settings, stripe=real), clock)
    try:
        assert shop.kiosk.payments_available == (False, "no_stripe_key")
        shop.kiosk.scan(JUICE)
        shop.kiosk.pay()
        shop.queue.run_pending()
        assert shop.kiosk.checkout.payment_code == "card_payments_unavailable"
    finally:
        shop.kiosk.close()


def test_the_paid_sale_keeps_the_card_details_for_its_receipt(shop: Shop) -> None:
    shop.emulator.customer("tap", after_s=0.05)
    shop.kiosk.scan(JUICE)
    sale_id = shop.kiosk.checkout.sale_id
    shop.kiosk.pay()
    shop.until(lambda: shop.state() is CheckoutState.PAID)
    ((card,),) = shop.rows("SELECT card FROM payment_attempts WHERE sale_id = ?", sale_id)
    details = json.loads(str(card))
    assert "4242" in json.dumps(details)


def test_a_total_below_the_card_minimum_is_refused_before_anything_is_sent(shop: Shop) -> None:
    shop.kiosk.scan(WATER)
    shop.kiosk.pay()
    assert any(isinstance(n, CartRefused) and n.code == "below_card_minimum" for n in shop.notices)
    assert shop.state() is CheckoutState.SHOPPING
    assert shop.emulator.payment_intents() == []


def test_with_block_sales_set_no_sale_starts_while_card_payments_are_unavailable(
    settings: Settings, clock: Clock
) -> None:
    blocked = replace(
        settings.stripe, api_base="https://api.stripe.com", reader_id="tmr_FDOt2wlRZEdpd7",
        block_sales_when_unavailable=True,
    )
    shop = Shop(replace(settings, stripe=blocked), clock)
    try:
        shop.kiosk.scan(JUICE)
        assert shop.state() is CheckoutState.ATTRACT
        assert any(
            isinstance(n, CartRefused) and n.code == "card_payments_unavailable"
            for n in shop.notices
        )
    finally:
        shop.kiosk.close()


def test_an_authorisation_that_outlasts_its_wait_keeps_the_sale_locked_until_it_is_settled(
    settings: Settings, clock: Clock
) -> None:
    slow = replace(settings.timeouts, authorisation_wait_s=5)
    shop = Shop(replace(settings, timeouts=slow), clock)
    try:
        shop.emulator.customer("tap", after_s=0.05, auth_delay_s=6.0)
        shop.kiosk.scan(JUICE)
        sale_id = shop.kiosk.checkout.sale_id
        assert sale_id is not None
        shop.kiosk.pay()
        shop.until(lambda: shop.kiosk.checkout.payment_code == "authorisation_too_slow")

        # In doubt: still paying, staff called, and the customer cannot walk off with the
        # cart unlocked or cancel a payment the bank may still approve.
        assert shop.state() is CheckoutState.PAYING
        assert any(isinstance(n, AttendantCalled) and n.reason == "payment_check"
                   for n in shop.notices)
        shop.kiosk.cancel_sale()
        shop.kiosk.back_to_cart()
        shop.kiosk.scan(JUICE)
        assert shop.state() is CheckoutState.PAYING
        assert len(shop.kiosk.checkout.cart.lines) == 1

        service = shop.kiosk.payment_service
        assert service is not None
        shop.until(lambda: shop.intents_for(sale_id)[0]["status"] == "succeeded")
        service.recover(10)
        shop.until(lambda: shop.state() is CheckoutState.PAID)
        assert [pi["status"] for pi in shop.intents_for(sale_id)] == ["succeeded"]
        assert shop.rows("SELECT state FROM sales WHERE id = ?", sale_id) == [("paid",)]
    finally:
        shop.kiosk.close()


def test_a_paid_customer_who_asks_for_a_receipt_gets_it_from_the_printer(shop: Shop) -> None:
    printer = shop.kiosk.virtual_printer
    assert printer is not None
    shop.emulator.customer("tap", after_s=0.05)
    shop.kiosk.scan(JUICE)
    shop.kiosk.pay()
    shop.until(lambda: shop.state() is CheckoutState.PAID)
    shop.kiosk.choose_receipt(ReceiptChoice.PRINT)

    (job,) = printer.wait_for_jobs(1, WAIT_S)
    assert "Orange juice 1 l" in job.text and "**** 4242" in job.text
    shop.until(lambda: any(isinstance(n, ReceiptPrinted) for n in shop.notices))
    assert shop.state() is CheckoutState.ATTRACT


def test_an_offline_printer_is_reported_and_the_receipt_prints_when_it_returns_in_time(
    shop: Shop,
) -> None:
    printer = shop.kiosk.virtual_printer
    assert printer is not None
    printer.go_offline()
    shop.emulator.customer("tap", after_s=0.05)
    shop.kiosk.scan(JUICE)
    sale_id = shop.kiosk.checkout.sale_id
    shop.kiosk.pay()
    shop.until(lambda: shop.state() is CheckoutState.PAID)
    shop.kiosk.choose_receipt(ReceiptChoice.PRINT)
    shop.until(lambda: any(isinstance(n, ReceiptUnavailable) for n in shop.notices))

    (unavailable,) = [n for n in shop.notices if isinstance(n, ReceiptUnavailable)][:1]
    assert (unavailable.status, unavailable.will_retry) == ("offline", True)
    assert unavailable.ereceipt_url is None  # no back office configured: no QR offered
    assert shop.rows("SELECT state FROM sales WHERE id = ?", sale_id) == [("paid",)]

    printer.come_online()
    (job,) = printer.wait_for_jobs(1, WAIT_S)
    assert "Orange juice 1 l" in job.text


def test_a_refund_prints_its_slip_from_the_same_receipt_model(shop: Shop) -> None:
    printer = shop.kiosk.virtual_printer
    service = shop.kiosk.payment_service
    assert printer is not None and service is not None
    shop.emulator.customer("tap", after_s=0.05)
    shop.kiosk.scan(JUICE)
    sale_id = shop.kiosk.checkout.sale_id
    assert sale_id is not None
    shop.kiosk.pay()
    shop.until(lambda: shop.state() is CheckoutState.PAID)
    shop.kiosk.choose_receipt(ReceiptChoice.NONE)

    result = service.refund(sale_id, 100, None).result(WAIT_S)
    assert result.code == "refunded"
    (slip,) = printer.wait_for_jobs(1, WAIT_S)
    assert "REFUND" in slip.text.upper() and "€1.00" in slip.text
    assert shop.rows(
        "SELECT state FROM print_jobs WHERE sale_id = ? AND kind = 'refund_slip'", sale_id
    ) == [("printed",)]



STRIPE_LOADED_AFTER_START = """
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from kiosk.app import Kiosk
from kiosk.config import demo_settings
from kiosk.main_queue import MainQueue
from kiosk.sim.demo_shop import prepare_demo
from kiosk.store.db import open_database

state, api_base, reader_id = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
demo = demo_settings(state)
stripe = replace(demo.stripe, api_base=api_base, reader_id=reader_id)
settings = replace(demo, stripe=stripe)
db = open_database(state / "kiosk.db")
prepare_demo(db, settings, now=datetime(2026, 11, 1, tzinfo=UTC), work_dir=state.parent)
db.close()
queue = MainQueue()
kiosk = Kiosk(settings, post_to_main=queue.post)
kiosk.start()
queue.run_until(lambda: kiosk.payments_available[0], 20)
print("after_probe", "stripe" in sys.modules)
assert kiosk.payment_service is not None
kiosk.payment_service.reader_status()
print("after_reader_status", "stripe" in sys.modules)
kiosk.close()
"""


def test_a_kiosk_loads_stripe_only_when_a_request_needs_it(tmp_path: Path) -> None:
    # Start-up, boot recovery with nothing unfinished and the availability probe (plain
    # HTTP) leave the stripe library unloaded; the first request that needs it loads it.
    # Stripe is an emulator in this test process, so the kiosk's process runs no simulator.
    emulator = StripeEmulator()
    emulator.start()
    try:
        reader = emulator.register_simulated_reader("simulated-wpe")
        (tmp_path / "state").mkdir()
        env = {**os.environ, "KIOSK_STRIPE_API_KEY": "sk_test_lazy_stripe"}
        done = subprocess.run(
            [sys.executable, "-c", STRIPE_LOADED_AFTER_START, str(tmp_path / "state"),
             emulator.url, str(reader["id"])],
            capture_output=True, text=True, timeout=120, check=False, env=env)
    finally:
        emulator.stop()
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["after_probe", "False", "after_reader_status", "True"]
