"""Recovery: every state a crash can leave behind settles with the sale's single intent."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from payments_support import API_KEY, PaymentRig, outbox_payloads, rig

from kiosk.payments import attempts
from kiosk.payments.attempts import PaymentAttempt
from kiosk.payments.crashpoints import CRASHPOINTS
from kiosk.payments.protocol import Operation
from kiosk.payments.stripe.api import StripeGateway, build_client

__all__ = ["rig"]

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Staging:
    """Drives the protocol by hand, the way the payment thread does, and stops anywhere."""

    def __init__(self, rig: PaymentRig, capture: str = "automatic") -> None:
        self.rig = rig
        self.capture = capture
        self.gateway = StripeGateway(build_client(
            API_KEY, rig.emulator.url, request_timeout_s=5, max_network_retries=0))
        self.install_id = rig.query("SELECT value FROM meta WHERE key = 'install_id'")[0][0]

    def commit(self, job: Any) -> Any:
        return self.rig.store.submit(job).result(30)

    def lock(self, sale_id: str, amount: int) -> PaymentAttempt:
        at = datetime.now(UTC)
        return self.commit(lambda db: attempts.lock(db, sale_id, amount,
                                                    capture_method=self.capture, at=at))

    def create(self, attempt: PaymentAttempt, install_id: str | None = None) -> dict[str, Any]:
        assert attempt.create_key is not None
        return self.gateway.create_intent(
            amount_minor=attempt.amount_minor, currency="EUR", capture_method=self.capture,
            metadata={"sale_id": attempt.sale_id, "kiosk_id": "lane-1",
                      "install_id": install_id or self.install_id},
            description="test", key=attempt.create_key)

    def record_intent(self, attempt: PaymentAttempt, intent: dict[str, Any]) -> PaymentAttempt:
        return self.commit(lambda db: attempts.record_intent(db, attempt.id, intent, at=NOW))

    def processing(self, attempt: PaymentAttempt) -> PaymentAttempt:
        return self.commit(lambda db: attempts.record_processing(
            db, attempt.id, self.rig.reader_id, at=NOW))

    def process(self, attempt: PaymentAttempt) -> None:
        assert attempt.process_key is not None and attempt.payment_intent_id is not None
        self.gateway.process(self.rig.reader_id, attempt.payment_intent_id, attempt.process_key)

    def until_processing(self, sale_id: str, amount: int) -> PaymentAttempt:
        attempt = self.lock(sale_id, amount)
        attempt = self.record_intent(attempt, self.create(attempt))
        attempt = self.processing(attempt)
        self.process(attempt)
        return attempt


def test_every_crash_point_has_a_before_and_an_after() -> None:
    befores = {name.split("_", 1)[1] for name in CRASHPOINTS if name.startswith("before_")}
    afters = {name.split("_", 1)[1] for name in CRASHPOINTS if name.startswith("after_")}
    assert befores == afters
    assert {"post:create", "post:process", "post:capture", "post:refund", "commit:locked",
            "commit:paid", "commit:refund_requested"} <= befores


def test_a_locked_sale_whose_create_got_through_adopts_that_intent(rig: PaymentRig) -> None:
    staging = Staging(rig)
    sale_id = rig.new_sale(1500)
    attempt = staging.lock(sale_id, 1500)
    created = staging.create(attempt)  # the kiosk died before committing the intent id

    report = rig.service().recover(10)
    assert report.resolved == {sale_id: "intent_created"}
    assert [intent["id"] for intent in rig.intents_for(sale_id)] == [created["id"]]
    assert rig.attempt(sale_id)["payment_intent_id"] == created["id"]
    assert rig.sale_state(sale_id) == "open"


def test_a_locked_sale_whose_create_never_left_replays_the_same_key(rig: PaymentRig) -> None:
    staging = Staging(rig)
    sale_id = rig.new_sale(1500)
    staging.lock(sale_id, 1500)  # died before the POST

    rig.service().recover(10)
    (intent,) = rig.intents_for(sale_id)
    creates = [request.idempotency_key for request in rig.emulator.requests()
               if request.path == "/v1/payment_intents" and request.method == "POST"]
    assert creates == [f"{sale_id}:create:1"]
    assert rig.attempt(sale_id)["payment_intent_id"] == intent["id"]
    assert rig.sale_state(sale_id) == "open"


def test_a_sale_locked_with_its_intent_goes_back_to_the_customer(rig: PaymentRig) -> None:
    staging = Staging(rig)
    sale_id = rig.new_sale(1500)
    attempt = staging.lock(sale_id, 1500)
    staging.record_intent(attempt, staging.create(attempt))
    assert rig.sale_state(sale_id) == "locked"

    rig.service().recover(10)
    assert rig.sale_state(sale_id) == "open"
    assert rig.attempt(sale_id)["state"] == "intent_created"
    assert len(rig.intents_for(sale_id)) == 1


def test_a_card_tapped_while_the_kiosk_was_down_is_recorded_paid(rig: PaymentRig) -> None:
    staging = Staging(rig)
    sale_id = rig.new_sale(2500)
    staging.until_processing(sale_id, 2500)
    rig.emulator.present_card(rig.reader_id)

    report = rig.service().recover(10)
    assert report.paid == [sale_id]
    assert rig.sale_state(sale_id) == "paid"
    assert len(outbox_payloads(rig, sale_id, "sale.paid")) == 1
    assert json.loads(rig.attempt(sale_id)["card"])["last4"] == "4242"


def test_a_payment_still_waiting_at_boot_is_withdrawn_and_the_sale_reopens(
        rig: PaymentRig) -> None:
    staging = Staging(rig)
    sale_id = rig.new_sale(2500)
    staging.until_processing(sale_id, 2500)

    rig.service().recover(10)
    assert rig.sale_state(sale_id) == "open"
    assert rig.attempt(sale_id)["state"] == "intent_created"
    assert rig.emulator.readers()[0]["action"] is None  # cancel_action cleared it
    assert rig.intents_for(sale_id)[0]["status"] == "requires_payment_method"


def test_a_processing_attempt_that_was_declined_reopens_with_the_decline_code(
        rig: PaymentRig) -> None:
    staging = Staging(rig)
    sale_id = rig.new_sale(2505)
    staging.until_processing(sale_id, 2505)
    rig.emulator.present_card(rig.reader_id)

    rig.service().recover(10)
    attempt = rig.attempt(sale_id)
    assert (attempt["state"], attempt["decline_code"]) == ("intent_created", "generic_decline")
    assert rig.sale_state(sale_id) == "open"


def test_an_authorised_payment_is_captured_with_the_same_key(rig: PaymentRig) -> None:
    staging = Staging(rig, capture="manual")
    sale_id = rig.new_sale(3300)
    attempt = staging.until_processing(sale_id, 3300)
    rig.emulator.present_card(rig.reader_id)
    assert attempt.payment_intent_id is not None
    intent = staging.gateway.retrieve_intent(attempt.payment_intent_id)
    authorised = staging.commit(lambda db: attempts.record_authorised(
        db, attempt.id, intent, at=NOW))
    assert authorised.capture_key is not None
    staging.gateway.capture(attempt.payment_intent_id, authorised.capture_key)  # then died

    rig.service().recover(10)
    captures = [request for request in rig.emulator.requests()
                if request.path.endswith("/capture")]
    assert [request.idempotency_key for request in captures] == [authorised.capture_key] * 2
    assert [request.executed for request in captures] == [True, False]  # replayed
    assert rig.sale_state(sale_id) == "paid"
    assert rig.attempt(sale_id)["captured_minor"] == 3300


def test_an_abandoned_sale_whose_intent_was_not_cancelled_gets_it_cancelled(
        rig: PaymentRig) -> None:
    staging = Staging(rig)
    sale_id = rig.new_sale(1500)
    attempt = staging.lock(sale_id, 1500)
    staging.record_intent(attempt, staging.create(attempt))
    staging.commit(lambda db: attempts.record_abandoned(db, sale_id, "idle_timeout", at=NOW))

    rig.service().recover(10)
    assert rig.intents_for(sale_id)[0]["status"] == "canceled"
    assert rig.attempt(sale_id)["intent_status"] == "canceled"
    assert rig.sale_state(sale_id) == "abandoned"


def test_a_paid_intent_of_a_sale_not_recorded_paid_is_recorded(rig: PaymentRig) -> None:
    staging = Staging(rig)
    sale_id = rig.new_sale(1800)
    staging.until_processing(sale_id, 1800)
    rig.emulator.present_card(rig.reader_id)
    # The attempt row is lost (a restored backup from before the payment).
    staging.commit(lambda db: db.execute("DELETE FROM payment_attempts WHERE sale_id = ?",
                                         [sale_id]) and db.conn.commit())

    report = rig.service().recover(10)
    assert sale_id in report.paid
    assert rig.sale_state(sale_id) == "paid"
    assert len(outbox_payloads(rig, sale_id, "sale.paid")) == 1


@pytest.mark.parametrize(("capture", "status", "anomaly"), [
    ("manual", "requires_capture", "intent_without_sale"),
    ("automatic", "succeeded", "money_without_sale"),
])
def test_an_intent_of_ours_without_a_local_sale_is_reported_and_released_if_uncaptured(
        rig: PaymentRig, capture: str, status: str, anomaly: str) -> None:
    staging = Staging(rig, capture=capture)
    sale_id = rig.new_sale(2000)
    staging.until_processing(sale_id, 2000)
    rig.emulator.present_card(rig.reader_id)
    staging.commit(lambda db: (db.execute("DELETE FROM payment_attempts"),
                               db.execute("DELETE FROM sale_lines"),
                               db.execute("DELETE FROM sales"), db.conn.commit()))

    report = rig.service().recover(10)
    (intent,) = rig.intents_for(sale_id)
    assert [found["what"] for found in report.anomalies] == [anomaly]
    expected = "canceled" if status == "requires_capture" else "succeeded"
    assert intent["status"] == expected
    audit = rig.query("SELECT action, outcome FROM audit_log")
    assert (f"payment.{anomaly}", "anomaly") in audit


def test_intents_of_another_install_are_reported_and_never_touched(rig: PaymentRig) -> None:
    staging = Staging(rig, capture="manual")
    sale_id = rig.new_sale(2000)
    attempt = staging.lock(sale_id, 2000)
    foreign = staging.create(attempt, install_id="0" * 32)
    staging.commit(lambda db: (db.execute("DELETE FROM payment_attempts"), db.conn.commit()))

    report = rig.service().recover(10)
    assert report.foreign == [foreign["id"]]
    assert rig.intents_for(sale_id)[0]["status"] == "requires_payment_method"
    assert report.cancelled == []


def test_recovery_when_nothing_is_unfinished_reports_settled(rig: PaymentRig) -> None:
    report = rig.service().recover(10)
    assert report.settled
    assert report.checked == 0


def test_a_service_stopped_mid_payment_settles_on_the_next_start(rig: PaymentRig) -> None:
    first = rig.service()
    sale_id = rig.new_sale(2100)
    first.pay(sale_id, 2100, None)
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    first.stop()
    rig.emulator.present_card(rig.reader_id)  # the customer taps while the kiosk restarts
    rig.restart_store()

    report = rig.service().recover(10)
    assert report.paid == [sale_id]
    assert len(rig.intents_for(sale_id)) == 1
    assert rig.sale_state(sale_id) == "paid"


def test_a_key_mint_bumps_the_counter_and_names_the_operation(rig: PaymentRig) -> None:
    staging = Staging(rig)
    sale_id = rig.new_sale(1500)
    attempt = staging.lock(sale_id, 1500)
    minted = staging.commit(lambda db: attempts.mint_key(db, attempt.id, Operation.CANCEL,
                                                         at=NOW))
    assert minted.n == attempt.n + 1
    assert minted.cancel_key == f"{sale_id}:cancel:{minted.n}"
