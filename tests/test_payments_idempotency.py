"""Each object-creating Stripe POST is idempotent: replayed after a dropped answer, it makes
no second object.

The emulator's ``drop_after`` fault acts on the request, saves the answer under the
idempotency key and closes the connection without answering. The real payment service
settles the unknown outcome (it looks before it sends again); then the same POST is sent once
more with the key the service persisted, through the real stripe client: the emulator
replays the saved answer and still holds exactly one object, the one the local record names.
"""

from __future__ import annotations

from typing import Any

from payments_support import API_KEY, PaymentRig, cart, rig

from kiosk.payments.stripe.api import StripeGateway, build_client
from kiosk.sim.stripe_emulator import Fault

__all__ = ["rig"]

CREATE = r"^/v1/payment_intents$"
CAPTURE = r"^/v1/payment_intents/[^/]+/capture$"
CANCEL = r"^/v1/payment_intents/[^/]+/cancel$"
REFUND = r"^/v1/refunds$"


def gateway(rig: PaymentRig) -> StripeGateway:
    """A second stripe client on the same emulator, as a restarted kiosk would have."""
    return StripeGateway(build_client(API_KEY, rig.emulator.url, request_timeout_s=5,
                                      max_network_retries=0))


def executed_posts(rig: PaymentRig, pattern_end: str) -> list[Any]:
    """POSTs that acted at the emulator and whose path ends with ``pattern_end``."""
    return [request for request in rig.emulator.requests()
            if request.method == "POST" and request.path.endswith(pattern_end)
            and request.executed]


def last_request(rig: PaymentRig) -> Any:
    """The last POST the emulator saw (the payment thread's background GETs, such as its
    probe of the reader, may come in between)."""
    return [request for request in rig.emulator.requests() if request.method == "POST"][-1]


def pay_with_a_tap(rig: PaymentRig, amount: int, **overrides: Any) -> str:
    service = rig.service(**overrides)
    sale_id = rig.new_sale(amount)
    service.pay(sale_id, amount, cart(amount))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    rig.emulator.present_card(rig.reader_id)
    assert rig.events.wait_for_end(sale_id) == ("paid", sale_id, "")
    return sale_id


def test_a_create_replayed_after_a_dropped_answer_makes_no_second_intent(
        rig: PaymentRig) -> None:
    rig.emulator.inject(Fault(kind="drop_after", method="POST", path=CREATE))
    sale_id = pay_with_a_tap(rig, 1234)
    (intent,) = rig.intents_for(sale_id)
    attempt = rig.attempt(sale_id)
    assert attempt["payment_intent_id"] == intent["id"]
    assert [request.status for request in rig.posts("/v1/payment_intents")
            if request.path == "/v1/payment_intents"] == [None]  # the one create, dropped

    install_id = rig.query("SELECT value FROM meta WHERE key = 'install_id'")[0][0]
    replayed = gateway(rig).create_intent(
        amount_minor=1234, currency="EUR", capture_method="automatic",
        metadata={"sale_id": sale_id, "kiosk_id": "lane-1", "install_id": install_id},
        description=f"Sale {sale_id}", key=attempt["create_key"])
    assert replayed["id"] == intent["id"]
    assert last_request(rig).replayed
    assert len(rig.intents_for(sale_id)) == 1
    assert len([request for request in executed_posts(rig, "/v1/payment_intents")
                if request.path == "/v1/payment_intents"]) == 1


def test_a_capture_replayed_after_a_dropped_answer_captures_once(rig: PaymentRig) -> None:
    rig.emulator.inject(Fault(kind="drop_after", method="POST", path=CAPTURE))
    sale_id = pay_with_a_tap(rig, 3000, capture="manual")
    (intent,) = rig.intents_for(sale_id)
    attempt = rig.attempt(sale_id)
    assert attempt["state"] == "paid" and attempt["payment_intent_id"] == intent["id"]
    assert attempt["captured_minor"] == 3000

    replayed = gateway(rig).capture(intent["id"], attempt["capture_key"])
    assert replayed["id"] == intent["id"] and replayed["status"] == "succeeded"
    assert last_request(rig).replayed
    assert len(executed_posts(rig, "/capture")) == 1
    charges = [charge for charge in rig.emulator.charges()
               if charge["payment_intent"] == intent["id"]]
    assert len(charges) == 1
    assert charges[0]["captured"] and charges[0]["amount_captured"] == 3000
    assert rig.intents_for(sale_id)[0]["amount_received"] == 3000


def test_a_cancel_replayed_after_a_dropped_answer_cancels_once(rig: PaymentRig) -> None:
    service = rig.service()
    sale_id = rig.new_sale(1500)
    service.pay(sale_id, 1500, cart(1500))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    rig.emulator.inject(Fault(kind="drop_after", method="POST", path=CANCEL))
    service.abandon(sale_id, "walked_away")
    report = service.recover(20)  # queued after the abandon; settles the lost answer
    assert report.settled, report

    (intent,) = rig.intents_for(sale_id)
    assert intent["status"] == "canceled"
    attempt = rig.attempt(sale_id)
    assert attempt["state"] == "abandoned"
    assert attempt["payment_intent_id"] == intent["id"]
    assert attempt["intent_status"] == "canceled"
    assert rig.sale_state(sale_id) == "abandoned"
    assert [request.status for request in executed_posts(rig, "/cancel")] == [None]

    replayed = gateway(rig).cancel_intent(intent["id"], attempt["cancel_key"], "abandoned")
    assert replayed["id"] == intent["id"] and replayed["status"] == "canceled"
    assert last_request(rig).replayed
    assert len(executed_posts(rig, "/cancel")) == 1
    assert len(rig.intents_for(sale_id)) == 1


def test_a_refund_replayed_after_a_dropped_answer_makes_no_second_refund(
        rig: PaymentRig) -> None:
    sale_id = pay_with_a_tap(rig, 2500)
    service = rig.services[-1]
    intent_id = rig.attempt(sale_id)["payment_intent_id"]
    rig.emulator.inject(Fault(kind="drop_after", method="POST", path=REFUND))
    result = service.refund(sale_id, None, None).result(20)
    assert result.code == "refunded"

    (refund,) = [refund for refund in rig.emulator.refunds()
                 if refund["payment_intent"] == intent_id]
    assert refund["amount"] == 2500
    (row,) = rig.query("SELECT id, state, stripe_refund_id, idempotency_key, amount_minor "
                       "FROM refunds WHERE sale_id = ?", [sale_id])
    refund_id, state, stripe_refund_id, key, amount = row
    assert (state, stripe_refund_id, amount) == ("succeeded", refund["id"], 2500)

    install_id = rig.query("SELECT value FROM meta WHERE key = 'install_id'")[0][0]
    replayed = gateway(rig).create_refund(
        intent_id, 2500, {"refund_id": refund_id, "sale_id": sale_id, "kiosk_id": "lane-1",
                          "install_id": install_id}, key)
    assert replayed["id"] == refund["id"]
    assert last_request(rig).replayed
    assert len(rig.emulator.refunds()) == 1
    assert len(executed_posts(rig, "/v1/refunds")) == 1
