"""Faults at Stripe and at the reader: an unknown answer is looked at, never a second charge."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from payments_support import PaymentRig, cart, rig

from kiosk.sim.stripe_emulator import Fault

__all__ = ["rig"]

CREATE = r"^/v1/payment_intents$"
PROCESS = r"/process_payment_intent$"


def pay_and_tap(rig: PaymentRig, sale_id: str, amount: int, **overrides: object) -> None:
    service = rig.service(**overrides)
    service.pay(sale_id, amount, cart(amount))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    rig.emulator.present_card(rig.reader_id)
    assert rig.events.wait_for_end(sale_id) == ("paid", sale_id, "")


@pytest.mark.parametrize("kind", ["error_500_before", "error_500_after", "rate_limit_429",
                                  "drop_after"])
def test_a_failed_create_is_looked_for_before_it_is_sent_again(rig: PaymentRig,
                                                               kind: str) -> None:
    rig.emulator.inject(Fault(kind=kind, method="POST", path=CREATE))
    sale_id = rig.new_sale(1234)
    pay_and_tap(rig, sale_id, 1234)
    (intent,) = rig.intents_for(sale_id)
    assert intent["status"] == "succeeded"
    assert len(rig.posts("/v1/payment_intents")) == 1  # one create acted
    assert rig.sale_state(sale_id) == "paid"


def test_the_same_create_key_is_replayed_after_an_answer_was_lost(rig: PaymentRig) -> None:
    rig.emulator.inject(Fault(kind="error_500_before", method="POST", path=CREATE))
    sale_id = rig.new_sale(1234)
    pay_and_tap(rig, sale_id, 1234)
    keys = [request.idempotency_key for request in rig.emulator.requests()
            if request.method == "POST" and request.path == "/v1/payment_intents"]
    assert keys == [f"{sale_id}:create:1", f"{sale_id}:create:1"]


@pytest.mark.parametrize("kind", ["error_500_before", "error_500_after", "rate_limit_429",
                                  "drop_after", "reader_timeout_after_acting"])
def test_a_failed_process_is_looked_at_and_never_starts_a_second_intent(
        rig: PaymentRig, kind: str) -> None:
    rig.emulator.inject(Fault(kind=kind, method="POST", path=PROCESS))
    sale_id = rig.new_sale(2222)
    pay_and_tap(rig, sale_id, 2222)
    assert len(rig.intents_for(sale_id)) == 1
    assert len(rig.emulator.charges()) == 1


def test_a_reader_timeout_that_did_not_act_is_sent_again_with_a_fresh_key(
        rig: PaymentRig) -> None:
    rig.emulator.inject(Fault(kind="reader_timeout", method="POST", path=PROCESS))
    sale_id = rig.new_sale(2222)
    pay_and_tap(rig, sale_id, 2222)
    keys = [request.idempotency_key for request in rig.emulator.requests()
            if request.path.endswith("/process_payment_intent")]
    assert len(keys) == 2 and keys[0] != keys[1]
    assert all(key.startswith(f"{sale_id}:process:") for key in keys)


def test_a_reader_timeout_after_acting_is_not_sent_again(rig: PaymentRig) -> None:
    rig.emulator.inject(Fault(kind="reader_timeout_after_acting", method="POST", path=PROCESS))
    sale_id = rig.new_sale(2222)
    pay_and_tap(rig, sale_id, 2222)
    assert len(rig.posts("/process_payment_intent")) == 1


@pytest.mark.parametrize("kind", ["error_500_after", "drop_after", "error_500_before"])
def test_a_failed_capture_is_settled_without_capturing_twice(rig: PaymentRig,
                                                             kind: str) -> None:
    rig.emulator.inject(Fault(kind=kind, method="POST", path=r"/capture$"))
    sale_id = rig.new_sale(3000)
    pay_and_tap(rig, sale_id, 3000, capture="manual")
    (intent,) = rig.intents_for(sale_id)
    assert intent["status"] == "succeeded"
    assert len(rig.posts("/capture")) == 1
    assert rig.attempt(sale_id)["captured_minor"] == 3000


def test_a_reader_busy_with_something_else_reports_reader_busy(rig: PaymentRig) -> None:
    rig.emulator.inject(Fault(kind="reader_busy", method="POST", path=PROCESS))
    service = rig.service()
    sale_id = rig.new_sale(1000)
    service.pay(sale_id, 1000, cart(1000))
    assert rig.events.wait_for_end(sale_id) == ("declined", sale_id, "reader_busy")
    assert rig.sale_state(sale_id) == "open"
    assert rig.intents_for(sale_id)[0]["status"] == "requires_payment_method"


def test_an_offline_reader_reports_reader_offline_and_reopens_the_sale(rig: PaymentRig) -> None:
    rig.emulator.inject(Fault(kind="reader_offline", method="POST", path=PROCESS))
    service = rig.service()
    sale_id = rig.new_sale(1000)
    service.pay(sale_id, 1000, cart(1000))
    assert rig.events.wait_for_end(sale_id) == ("declined", sale_id, "reader_offline")
    assert rig.sale_state(sale_id) == "open"
    assert rig.attempt(sale_id)["state"] == "intent_created"


def test_a_reader_that_never_answers_is_reported_offline_after_fresh_tries(
        rig: PaymentRig) -> None:
    rig.emulator.inject(Fault(kind="reader_timeout", method="POST", path=PROCESS, times=5))
    service = rig.service()
    sale_id = rig.new_sale(1000)
    service.pay(sale_id, 1000, cart(1000))
    assert rig.events.wait_for_end(sale_id) == ("declined", sale_id, "reader_offline")
    assert rig.sale_state(sale_id) == "open"
    assert len(rig.intents_for(sale_id)) == 1


def test_a_slow_authorisation_is_waited_for_even_when_the_customer_cancels(
        rig: PaymentRig) -> None:
    service = rig.service()
    sale_id = rig.new_sale(4200)
    rig.emulator.customer("tap", after_s=0.0, auth_delay_s=60.0)
    service.pay(sale_id, 4200, cart(4200))
    rig.events.wait_for("phase", sale_id, "authorising")
    service.cancel_waiting(sale_id)
    rig.events.wait_for("phase", sale_id, "authorising", after=rig.events.count() - 1)
    rig.emulator.advance_clock(61)
    assert rig.events.wait_for_end(sale_id) == ("paid", sale_id, "")
    assert rig.sale_state(sale_id) == "paid"


def test_cancel_during_an_authorisation_is_refused_busy_then_the_sale_is_paid(
        rig: PaymentRig) -> None:
    rig.emulator.inject(Fault(kind="slow_authorisation", method="POST", path=PROCESS,
                              seconds=60.0))
    service = rig.service(poll_interval_s=1.0)
    sale_id = rig.new_sale(4200)
    service.pay(sale_id, 4200, cart(4200))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    wait_until(lambda: any(request.method == "GET" and "/terminal/readers/" in request.path
                           for request in rig.emulator.requests()))
    rig.emulator.present_card(rig.reader_id)  # authorising for 60 s (emulator clock)
    service.cancel_waiting(sale_id)
    rig.events.wait_for("phase", sale_id, "authorising")
    (cancel,) = [request for request in rig.emulator.requests()
                 if request.path.endswith("/cancel_action")]
    assert cancel.status == 400  # terminal_reader_busy: nothing was cancelled
    rig.emulator.advance_clock(61)
    assert rig.events.wait_for_end(sale_id) == ("paid", sale_id, "")
    assert len(rig.intents_for(sale_id)) == 1


def wait_until(condition: Callable[[], bool]) -> None:
    """Poll a condition every few milliseconds (bounded); fail if it never holds."""
    for _ in range(2000):
        if condition():
            return
        time.sleep(0.005)
    raise AssertionError("the condition never held")
