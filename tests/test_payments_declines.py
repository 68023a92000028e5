"""Declines and cancellations end the try only: the PaymentIntent stays for the next card."""

from __future__ import annotations

import pytest
from payments_support import PaymentRig, cart, rig

__all__ = ["rig"]

DECLINES = {1001: "call_issuer", 1005: "generic_decline", 1055: "incorrect_pin",
            1065: "withdrawal_count_limit_exceeded", 1075: "pin_try_exceeded"}


@pytest.mark.parametrize("amount", sorted(DECLINES))
def test_a_declined_amount_reopens_the_sale_and_a_changed_cart_pays_on_the_same_intent(
        rig: PaymentRig, amount: int) -> None:
    service = rig.service()
    sale_id = rig.new_sale(amount)
    service.pay(sale_id, amount, cart(amount))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    rig.emulator.present_card(rig.reader_id)
    assert rig.events.wait_for_end(sale_id) == ("declined", sale_id, "card_declined")

    (intent,) = rig.intents_for(sale_id)
    assert intent["status"] == "requires_payment_method"
    assert rig.sale_state(sale_id) == "open"
    attempt = rig.attempt(sale_id)
    assert (attempt["state"], attempt["decline_code"]) == ("intent_created", DECLINES[amount])

    new_amount = amount + 7  # an ending that approves
    rig.change_cart(sale_id, new_amount)
    before = rig.events.count()
    service.pay(sale_id, new_amount, cart(new_amount))
    rig.events.wait_for("phase", sale_id, "waiting_for_card", after=before)
    rig.emulator.present_card(rig.reader_id)
    assert rig.events.wait_for_end(sale_id, after=before) == ("paid", sale_id, "")
    (intent,) = rig.intents_for(sale_id)
    assert (intent["status"], intent["amount"]) == ("succeeded", new_amount)
    assert len(rig.posts("/v1/payment_intents/" + intent["id"])) == 1  # one amount update


def test_another_card_after_a_decline_pays_the_same_intent(rig: PaymentRig) -> None:
    service = rig.service()
    sale_id = rig.new_sale(2000)
    service.pay(sale_id, 2000, cart(2000))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    rig.emulator.present_card(rig.reader_id, "4000000000009995")
    assert rig.events.wait_for_end(sale_id) == ("declined", sale_id, "card_declined")
    assert rig.attempt(sale_id)["decline_code"] == "insufficient_funds"

    before = rig.events.count()
    service.pay(sale_id, 2000, cart(2000))
    rig.events.wait_for("phase", sale_id, "waiting_for_card", after=before)
    rig.emulator.present_card(rig.reader_id, "4242424242424242")
    assert rig.events.wait_for_end(sale_id, after=before)[0] == "paid"
    assert len(rig.intents_for(sale_id)) == 1
    assert rig.posts("/v1/payment_intents/") == []  # no update: the amount did not change


def test_the_customers_cancel_withdraws_the_reader_action_and_keeps_the_intent(
        rig: PaymentRig) -> None:
    service = rig.service()
    sale_id = rig.new_sale(1500)
    service.pay(sale_id, 1500, cart(1500))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    service.cancel_waiting(sale_id)
    assert rig.events.wait_for_end(sale_id) == ("cancelled", sale_id, "")

    (intent,) = rig.intents_for(sale_id)
    assert intent["status"] == "requires_payment_method"
    assert len(rig.posts("/cancel_action")) == 1
    assert rig.posts(f"/v1/payment_intents/{intent['id']}/cancel") == []
    assert rig.sale_state(sale_id) == "open"
    assert rig.attempt(sale_id)["outcome"] == "cancelled"


def test_cancelling_twice_is_harmless_and_reports_cancelled_again(rig: PaymentRig) -> None:
    service = rig.service()
    sale_id = rig.new_sale(1500)
    service.pay(sale_id, 1500, cart(1500))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    service.cancel_waiting(sale_id)
    rig.events.wait_for_end(sale_id)
    before = rig.events.count()
    service.cancel_waiting(sale_id)
    assert rig.events.wait_for_end(sale_id, after=before) == ("cancelled", sale_id, "")
    assert len(rig.posts("/cancel_action")) == 1


def test_abandoning_a_sale_cancels_its_intent(rig: PaymentRig) -> None:
    service = rig.service()
    sale_id = rig.new_sale(1500)
    service.pay(sale_id, 1500, cart(1500))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    service.cancel_waiting(sale_id)
    rig.events.wait_for_end(sale_id)
    service.abandon(sale_id, "idle_timeout")
    service.recover(5)  # runs after the abandon on the payment thread

    (intent,) = rig.intents_for(sale_id)
    assert intent["status"] == "canceled"
    assert intent["cancellation_reason"] == "abandoned"
    assert rig.sale_state(sale_id) == "abandoned"
    attempt = rig.attempt(sale_id)
    assert (attempt["state"], attempt["intent_status"]) == ("abandoned", "canceled")


def test_abandoning_while_the_reader_waits_withdraws_the_action_then_cancels(
        rig: PaymentRig) -> None:
    service = rig.service()
    sale_id = rig.new_sale(1500)
    service.pay(sale_id, 1500, cart(1500))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    service.abandon(sale_id, "voided")
    service.recover(5)
    (intent,) = rig.intents_for(sale_id)
    assert intent["status"] == "canceled"
    assert rig.sale_state(sale_id) == "voided"
    assert rig.emulator.readers()[0]["action"] is None  # withdrawn: cancel_action cleared it
