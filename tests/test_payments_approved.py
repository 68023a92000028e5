"""Approved card payments: one PaymentIntent, the paid sale and its outbox rows in one commit."""

from __future__ import annotations

import json

import pytest
from payments_support import PaymentRig, cart, outbox_payloads, rig

__all__ = ["rig"]


@pytest.mark.parametrize("capture", ["automatic", "manual"])
def test_a_tapped_card_pays_the_sale_with_one_payment_intent(rig: PaymentRig,
                                                             capture: str) -> None:
    service = rig.service(capture=capture)
    sale_id = rig.new_sale(1250, lines=2)
    service.pay(sale_id, 1250, cart(1250))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    rig.emulator.present_card(rig.reader_id)
    rig.events.wait_for("paid", sale_id)

    intents = rig.intents_for(sale_id)
    assert len(intents) == 1
    assert intents[0]["status"] == "succeeded"
    assert intents[0]["capture_method"] == capture
    assert intents[0]["metadata"]["kiosk_id"] == "lane-1"
    assert rig.sale_state(sale_id) == "paid"
    attempt = rig.attempt(sale_id)
    assert attempt["state"] == "paid"
    assert attempt["payment_intent_id"] == intents[0]["id"]
    assert attempt["captured_minor"] == 1250
    card = json.loads(attempt["card"])
    assert card["brand"] == "visa" and card["last4"] == "4242"
    assert len(rig.posts("/capture")) == (1 if capture == "manual" else 0)


def test_the_paid_commit_writes_the_sync_event_and_the_receipt_job(rig: PaymentRig) -> None:
    service = rig.service()
    sale_id = rig.new_sale(899, lines=3)
    service.pay(sale_id, 899, cart(899))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    rig.emulator.present_card(rig.reader_id, "5555555555554444")
    rig.events.wait_for("paid", sale_id)

    (payload,) = outbox_payloads(rig, sale_id, "sale.paid")
    assert payload["totals"]["total_minor"] == 899
    assert [line["position"] for line in payload["lines"]] == [1, 2, 3]
    assert payload["payment"]["card"]["brand"] == "mastercard"
    assert payload["payment"]["payment_intent_id"] == rig.attempt(sale_id)["payment_intent_id"]
    jobs = rig.query("SELECT kind, state FROM print_jobs WHERE sale_id = ?", [sale_id])
    assert jobs == [("receipt", "awaiting_choice")]
    paid_at = rig.query("SELECT closed_at FROM sales WHERE id = ?", [sale_id])[0][0]
    assert paid_at.endswith("Z")


def test_the_intent_carries_the_install_id_of_this_database(rig: PaymentRig) -> None:
    service = rig.service()
    sale_id = rig.new_sale(500)
    service.pay(sale_id, 500, cart(500))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    rig.emulator.present_card(rig.reader_id)
    rig.events.wait_for("paid", sale_id)
    install_id = rig.query("SELECT value FROM meta WHERE key = 'install_id'")[0][0]
    assert rig.intents_for(sale_id)[0]["metadata"]["install_id"] == install_id


def test_the_cart_is_shown_on_the_reader_before_the_payment_starts(rig: PaymentRig) -> None:
    service = rig.service()
    sale_id = rig.new_sale(700)
    service.pay(sale_id, 700, cart(700))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    posts = [request.path.rsplit("/", 1)[-1] for request in rig.emulator.requests()
             if request.method == "POST" and "/terminal/readers/" in request.path]
    assert posts[:2] == ["set_reader_display", "process_payment_intent"]


def test_paying_a_sale_whose_saved_total_differs_charges_nothing(rig: PaymentRig) -> None:
    service = rig.service()
    sale_id = rig.new_sale(700)
    service.pay(sale_id, 650, cart(650))
    assert rig.events.wait_for_end(sale_id) == ("declined", sale_id, "sale_not_payable")
    assert rig.intents_for(sale_id) == []
    assert rig.sale_state(sale_id) == "open"
