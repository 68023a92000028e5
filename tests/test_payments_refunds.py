"""Refunds: write-ahead rows, never more than was captured, recovered when the answer is lost."""

from __future__ import annotations

import time

from payments_support import PaymentRig, cart, outbox_payloads, rig
from sqlite_utils import Database

from kiosk.payments.stripe.terminal import StripeTerminal
from kiosk.sim.stripe_emulator import Fault

__all__ = ["rig"]


def add_staff(rig: PaymentRig) -> None:
    def job(db: Database) -> None:
        with db.atomic():
            db.execute("INSERT OR IGNORE INTO staff (number, name, role, created_at) "
                       "VALUES (7, 'Sam', 'manager', '2026-11-26T12:00:00.000000Z')")
    rig.store.submit(job).result(30)


def paid_sale(rig: PaymentRig, amount: int, **overrides: object) -> tuple[StripeTerminal, str]:
    add_staff(rig)
    service = rig.service(**overrides)
    sale_id = rig.new_sale(amount)
    service.pay(sale_id, amount, cart(amount))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    rig.emulator.present_card(rig.reader_id)
    rig.events.wait_for("paid", sale_id)
    return service, sale_id


def test_a_full_refund_succeeds_and_writes_its_outbox_rows(rig: PaymentRig) -> None:
    service, sale_id = paid_sale(rig, 2500)
    result = service.refund(sale_id, None, requested_by=7).result(30)
    assert (result.code, result.amount_minor) == ("refunded", 2500)
    (refund,) = rig.emulator.refunds()
    assert refund["amount"] == 2500
    (payload,) = outbox_payloads(rig, sale_id, "refund.succeeded")
    assert payload["amount_minor"] == 2500
    assert rig.query("SELECT kind FROM print_jobs WHERE sale_id = ? AND kind = 'refund_slip'",
                     [sale_id]) == [("refund_slip",)]
    assert rig.query("SELECT state, requested_by FROM refunds") == [("succeeded", 7)]


def test_partial_refunds_add_up_to_the_capture_and_no_further(rig: PaymentRig) -> None:
    service, sale_id = paid_sale(rig, 2500)
    assert service.refund(sale_id, 1000, requested_by=7).result(30).code == "refunded"
    assert service.refund(sale_id, 1500, requested_by=7).result(30).code == "refunded"
    refused = service.refund(sale_id, 1, requested_by=7).result(30)
    assert (refused.code, refused.reason) == ("refused", "nothing_left")
    assert sum(refund["amount"] for refund in rig.emulator.refunds()) == 2500


def test_a_refund_above_what_is_left_is_refused_before_stripe_is_asked(rig: PaymentRig) -> None:
    service, sale_id = paid_sale(rig, 2500)
    service.refund(sale_id, 2000, requested_by=7).result(30)
    refused = service.refund(sale_id, 600, requested_by=7).result(30)
    assert (refused.code, refused.reason) == ("refused", "exceeds_captured")
    assert len(rig.emulator.refunds()) == 1
    assert rig.query("SELECT COUNT(*) FROM refunds") == [(1,)]


def test_refunding_an_unpaid_sale_is_refused(rig: PaymentRig) -> None:
    add_staff(rig)
    service = rig.service()
    sale_id = rig.new_sale(900)
    refused = service.refund(sale_id, None, requested_by=7).result(30)
    assert (refused.code, refused.reason) == ("refused", "sale_not_paid")


def test_the_same_refund_id_twice_refunds_once(rig: PaymentRig) -> None:
    service, sale_id = paid_sale(rig, 2500)
    first = service.refund(sale_id, 500, requested_by=7, refund_id="r-1").result(30)
    again = service.refund(sale_id, 500, requested_by=7, refund_id="r-1").result(30)
    assert first.refund_id == again.refund_id == "r-1"
    assert len(rig.emulator.refunds()) == 1


def test_a_refund_whose_answer_was_dropped_is_found_not_repeated(rig: PaymentRig) -> None:
    service, sale_id = paid_sale(rig, 2500)
    rig.emulator.inject(Fault(kind="drop_after", method="POST", path=r"^/v1/refunds$"))
    result = service.refund(sale_id, 800, requested_by=7).result(30)
    assert result.code == "refunded"
    assert len(rig.emulator.refunds()) == 1


def test_a_refund_left_requested_is_resolved_by_recovery(rig: PaymentRig) -> None:
    service, sale_id = paid_sale(rig, 2500)
    rig.emulator.inject(Fault(kind="error_500_before", method="POST", path=r"^/v1/refunds$",
                              times=2))
    result = service.refund(sale_id, 800, requested_by=7).result(30)
    assert result.code == "outcome_unknown"
    assert rig.query("SELECT state FROM refunds") == [("requested",)]

    report = service.recover(10)
    assert list(report.refunds.values()) == ["refunded"]
    assert rig.query("SELECT state FROM refunds") == [("succeeded",)]
    assert len(rig.emulator.refunds()) == 1
    keys = {request.idempotency_key for request in rig.emulator.requests()
            if request.path == "/v1/refunds" and request.method == "POST"}
    assert len(keys) == 1  # every send used the persisted key


def test_an_uncaptured_authorisation_is_released_instead_of_refunded(rig: PaymentRig) -> None:
    add_staff(rig)
    rig.emulator.inject(Fault(kind="error_500_before", method="POST", path=r"/capture$",
                              times=1000))
    service = rig.service(capture="manual")
    sale_id = rig.new_sale(1200)
    service.pay(sale_id, 1200, cart(1200))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    rig.emulator.present_card(rig.reader_id)
    for _ in range(2000):
        if rig.attempt(sale_id)["state"] == "authorised":
            break
        time.sleep(0.005)
    service.stop()
    rig.emulator.clear_faults()

    result = rig.service().refund(sale_id, None, requested_by=7).result(30)
    assert result.code == "released"
    assert rig.intents_for(sale_id)[0]["status"] == "canceled"
    assert rig.sale_state(sale_id) == "voided"
    assert rig.emulator.refunds() == []
