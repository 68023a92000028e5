"""The staff menu's reader display test: a test cart on the reader, then a clear screen.

Real `stripe` over HTTP against the emulator on loopback, a real store, the payment thread
running (tests/payments_support.py). A payment is never disturbed by the test.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import payments_support
from payments_support import API_KEY, WAIT_S, PaymentRig, cart, rig

from kiosk.payments.provider import TEST_CART_LINE, ReaderDisplayTest
from kiosk.payments.stripe.api import StripeGateway, build_client
from kiosk.payments.stripe.display_test import stripe_cart
from kiosk.payments.stripe.terminal import StripeTerminal
from kiosk.sim.stripe_emulator.faults import Fault

__all__ = ["rig"]


def reader_action(rig: PaymentRig) -> dict[str, Any] | None:
    [reader] = rig.emulator.readers()
    action: dict[str, Any] | None = reader["action"]
    return action


def service_for_reader(rig: PaymentRig, reader_id: str) -> StripeTerminal:
    """A started payment service configured with ``reader_id`` (stopped by the fixture)."""
    settings = replace(payments_support.test_settings(rig.reader_id), reader_id=reader_id)
    client = build_client(API_KEY, rig.emulator.url, request_timeout_s=settings.request_timeout_s,
                          max_network_retries=0)
    service = StripeTerminal(client=client, store=rig.store, settings=settings,
                             events=rig.events, monotonic=rig.clock)
    service.start()
    rig.services.append(service)
    return service


def reader_posts(rig: PaymentRig, endpoint: str) -> list[Any]:
    """Every POST to the reader's ``endpoint`` (executed or refused), oldest first."""
    return [request for request in rig.emulator.requests()
            if request.method == "POST" and request.path.endswith(f"/{endpoint}")]


def test_the_test_cart_is_shown_on_the_reader(rig: PaymentRig) -> None:
    service = rig.service()

    assert service.show_test_cart("EUR").result(WAIT_S) == "shown"

    action = reader_action(rig)
    assert action is not None and action["type"] == "set_reader_display"
    assert action["set_reader_display"]["cart"] == {
        "currency": "eur",
        "line_items": [{"description": TEST_CART_LINE, "amount": 1, "quantity": 1}],
        "tax": 0, "total": 1}
    [post] = reader_posts(rig, "set_reader_display")
    assert post.status == 200 and post.idempotency_key.startswith("display-test:")


def test_each_test_cart_uses_a_fresh_idempotency_key(rig: PaymentRig) -> None:
    service = rig.service()

    service.show_test_cart("EUR").result(WAIT_S)
    service.show_test_cart("EUR").result(WAIT_S)

    keys = [post.idempotency_key for post in reader_posts(rig, "set_reader_display")]
    assert len(keys) == 2 and keys[0] != keys[1]
    assert not any(post.replayed for post in reader_posts(rig, "set_reader_display"))


def test_clearing_the_reader_display_removes_the_test_cart(rig: PaymentRig) -> None:
    service = rig.service()
    service.show_test_cart("EUR").result(WAIT_S)

    assert service.clear_reader_display().result(WAIT_S) == "cleared"

    [post] = reader_posts(rig, "cancel_action")
    assert post.status == 200 and post.executed
    assert post.idempotency_key.startswith("display-clear:")
    assert reader_action(rig) is None


def test_clearing_a_reader_that_shows_nothing_counts_as_cleared_without_a_cancel(
        rig: PaymentRig) -> None:
    # Nothing in progress: nothing to cancel, so no answer code (documented or not) matters.
    service = rig.service()

    assert service.clear_reader_display().result(WAIT_S) == "cleared"
    assert reader_action(rig) is None
    assert reader_posts(rig, "cancel_action") == []


def test_clearing_after_a_paid_sale_leaves_the_finished_payment_alone(rig: PaymentRig) -> None:
    rig.emulator.customer("tap", after_s=0.1)
    service = rig.service()
    sale_id = rig.new_sale(1250)
    seen = rig.events.count()
    service.pay(sale_id, 1250)
    assert rig.events.wait_for_end(sale_id, after=seen)[0] == "paid"

    assert service.clear_reader_display().result(WAIT_S) == "cleared"
    assert reader_posts(rig, "cancel_action") == []


def test_a_payment_on_this_kiosk_refuses_the_test_without_asking_stripe(
    rig: PaymentRig,
) -> None:
    service = rig.service()
    sale_id = rig.new_sale(700)
    service.pay(sale_id, 700, cart(700))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    displays_before = len(reader_posts(rig, "set_reader_display"))

    assert service.show_test_cart("EUR").result(WAIT_S) == "reader_busy"
    assert service.clear_reader_display().result(WAIT_S) == "reader_busy"

    assert len(reader_posts(rig, "set_reader_display")) == displays_before
    assert reader_posts(rig, "cancel_action") == []
    action = reader_action(rig)
    assert action is not None and action["type"] == "process_payment_intent"
    assert action["status"] == "in_progress"
    rig.emulator.present_card(rig.reader_id)
    rig.events.wait_for("paid", sale_id)


def test_after_the_payment_the_test_can_run_again(rig: PaymentRig) -> None:
    service = rig.service()
    sale_id = rig.new_sale(700)
    service.pay(sale_id, 700, cart(700))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    rig.emulator.present_card(rig.reader_id)
    rig.events.wait_for("paid", sale_id)

    assert service.show_test_cart("EUR").result(WAIT_S) == "shown"
    assert service.clear_reader_display().result(WAIT_S) == "cleared"


def test_a_payment_left_on_the_reader_is_never_cancelled_by_the_clear(rig: PaymentRig) -> None:
    # Another payment sits on the reader that this service is not driving (such as one
    # from before a restart, still waiting for a card): the clear must leave it alone.
    paying = rig.service()
    sale_id = rig.new_sale(450)
    paying.pay(sale_id, 450, cart(450))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    testing = rig.service()

    assert testing.clear_reader_display().result(WAIT_S) == "reader_busy"

    assert reader_posts(rig, "cancel_action") == []
    action = reader_action(rig)
    assert action is not None and action["status"] == "in_progress"
    rig.emulator.present_card(rig.reader_id)
    rig.events.wait_for("paid", sale_id)


def test_a_reader_stripe_calls_busy_is_reported_busy(rig: PaymentRig) -> None:
    service = rig.service()
    rig.emulator.inject(Fault("reader_busy", path="set_reader_display"))

    assert service.show_test_cart("EUR").result(WAIT_S) == "reader_busy"


def test_an_offline_reader_is_reported_offline(rig: PaymentRig) -> None:
    service = rig.service()
    rig.emulator.inject(Fault("reader_offline", path="set_reader_display"))

    assert service.show_test_cart("EUR").result(WAIT_S) == "reader_offline"
    assert service.clear_reader_display().result(WAIT_S) == "reader_offline"

    rig.emulator.clear_faults()
    assert service.show_test_cart("EUR").result(WAIT_S) == "shown"


def test_a_reader_that_does_not_answer_in_time_is_reported_offline(rig: PaymentRig) -> None:
    service = rig.service()
    assert service.show_test_cart("EUR").result(WAIT_S) == "shown"
    rig.emulator.inject(Fault("reader_timeout", path="cancel_action"))

    assert service.clear_reader_display().result(WAIT_S) == "reader_offline"


def test_stripe_failing_is_reported_unreachable(rig: PaymentRig) -> None:
    service = rig.service()
    rig.emulator.inject(Fault("error_500_before", path="set_reader_display"))

    assert service.show_test_cart("EUR").result(WAIT_S) == "stripe_unreachable"


def test_stripe_that_cannot_be_reached_is_reported_unreachable(rig: PaymentRig) -> None:
    service = rig.service()
    rig.emulator.stop()

    assert service.show_test_cart("EUR").result(WAIT_S) == "stripe_unreachable"
    assert service.clear_reader_display().result(WAIT_S) == "stripe_unreachable"


def test_without_a_reader_nothing_is_asked(rig: PaymentRig) -> None:
    service = service_for_reader(rig, "")

    assert service.show_test_cart("EUR").result(WAIT_S) == "no_reader"
    assert service.clear_reader_display().result(WAIT_S) == "no_reader"
    assert [r for r in rig.emulator.requests() if "/terminal/readers" in r.path] == []


def test_a_reader_stripe_does_not_know_is_no_reader(rig: PaymentRig) -> None:
    service = service_for_reader(rig, "tmr_NoSuchReader1")

    assert service.show_test_cart("EUR").result(WAIT_S) == "no_reader"
    assert service.clear_reader_display().result(WAIT_S) == "no_reader"


def test_the_codes_are_the_ones_the_staff_menu_knows() -> None:
    assert {code.value for code in ReaderDisplayTest} == {
        "shown", "cleared", "reader_busy", "reader_offline", "stripe_unreachable", "no_reader"}


def test_every_stripe_request_counts_as_a_turn_of_the_payment_loop(rig: PaymentRig) -> None:
    # A chain of slow requests (a payment, boot recovery) must never read as one long silence
    # to the watchdog: the gateway beats the payment thread's heartbeat before each request.
    beats: list[str] = []
    client = build_client(API_KEY, rig.emulator.url, request_timeout_s=5, max_network_retries=0)
    gateway = StripeGateway(client, before_request=lambda: beats.append("beat"))

    gateway.retrieve_reader(rig.reader_id)
    gateway.set_display(rig.reader_id, stripe_cart(cart(100), "EUR"), "heartbeat-test")

    assert beats == ["beat", "beat"]
