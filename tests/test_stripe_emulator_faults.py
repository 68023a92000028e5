"""Each injected fault kind does what it says: before or after acting, and on the reader."""

from __future__ import annotations

import signal
import subprocess
import urllib.error

import pytest
import stripe
import stripe_support
from stripe_support import control, new_intent, pay, process

from kiosk.sim.stripe_emulator import Fault, StripeEmulator

emulator = stripe_support.emulator
client = stripe_support.client
reader = stripe_support.reader

INTENTS = "^/v1/payment_intents$"


def test_latency_delays_the_request_but_it_still_acts(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    emulator.inject(Fault("latency", path=INTENTS, seconds=0.05))
    created = new_intent(client)
    assert emulator.payment_intents()[0]["id"] == created.id
    assert emulator.requests()[-1].faults == ("latency",)


def test_a_500_before_acting_changes_nothing(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    emulator.inject(Fault("error_500_before", path=INTENTS))
    with pytest.raises(stripe.APIError) as failed:
        new_intent(client)
    assert failed.value.http_status == 500
    assert emulator.payment_intents() == []
    assert emulator.requests()[-1].executed is False


def test_a_500_after_acting_leaves_the_object_created(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    emulator.inject(Fault("error_500_after", path=INTENTS))
    with pytest.raises(stripe.APIError):
        new_intent(client)
    assert len(emulator.payment_intents()) == 1
    assert emulator.requests()[-1].executed is True


def test_a_rate_limit_refuses_before_acting(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    emulator.inject(Fault("rate_limit_429", path=INTENTS))
    with pytest.raises(stripe.RateLimitError) as limited:
        new_intent(client)
    assert limited.value.http_status == 429
    assert emulator.payment_intents() == []


def test_a_connection_dropped_after_acting_leaves_the_object_created(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    emulator.inject(Fault("drop_after", path=INTENTS))
    with pytest.raises(stripe.APIConnectionError):
        new_intent(client)
    assert len(emulator.payment_intents()) == 1
    assert emulator.requests()[-1].status is None


def test_a_busy_reader_does_not_start_the_payment(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    emulator.inject(Fault("reader_busy", path="process_payment_intent"))
    with pytest.raises(stripe.InvalidRequestError) as refused:
        process(client, reader, new_intent(client).id)
    assert refused.value.code == "terminal_reader_busy"
    assert client.v1.terminal.readers.retrieve(reader).action is None


def test_a_reader_offline_for_a_while_comes_back_when_the_clock_passes(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    emulator.inject(Fault("reader_offline", path="process_payment_intent", seconds=60))
    intent = new_intent(client)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        process(client, reader, intent.id)
    assert refused.value.code == "terminal_reader_offline"
    emulator.advance_clock(61)
    assert client.v1.terminal.readers.retrieve(reader).status == "online"
    assert process(client, reader, intent.id).action.status == "in_progress"


def test_a_reader_timeout_does_not_start_the_payment(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    emulator.inject(Fault("reader_timeout", path="process_payment_intent"))
    with pytest.raises(stripe.InvalidRequestError) as refused:
        process(client, reader, new_intent(client).id)
    assert refused.value.code == "terminal_reader_timeout"
    assert client.v1.terminal.readers.retrieve(reader).action is None


def test_a_reader_timeout_can_be_a_false_negative_where_the_payment_did_start(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    emulator.inject(Fault("reader_timeout_after_acting", path="process_payment_intent"))
    intent = new_intent(client)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        process(client, reader, intent.id)
    assert refused.value.code == "terminal_reader_timeout"
    action = client.v1.terminal.readers.retrieve(reader).action
    assert action.status == "in_progress"
    assert action.process_payment_intent.payment_intent == intent.id


def test_a_stuck_action_ignores_the_customer_until_cancelled(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    emulator.customer("tap", after_s=1)
    emulator.inject(Fault("stuck_action", path="process_payment_intent"))
    intent = new_intent(client)
    process(client, reader, intent.id)
    emulator.advance_clock(5)
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"
    assert client.v1.terminal.readers.retrieve(reader).action.status == "in_progress"


def test_a_slow_authorisation_keeps_the_intent_processing_until_the_issuer_answers(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    emulator.inject(Fault("slow_authorisation", path="process_payment_intent", seconds=10))
    intent = new_intent(client)
    process(client, reader, intent.id)
    emulator.present_card(reader)
    assert client.v1.payment_intents.retrieve(intent.id).status == "processing"
    emulator.advance_clock(10)
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_capture"


def test_the_emulator_kills_the_caller_right_after_acting(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    victim = subprocess.Popen(["sleep", "60"])
    try:
        emulator.inject(Fault("kill_pid_after", path=INTENTS, pid=victim.pid))
        new_intent(client)
        assert victim.wait(timeout=10) == -signal.SIGKILL
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
    assert len(emulator.payment_intents()) == 1


def test_a_fault_fires_only_its_number_of_times_and_only_on_matching_requests(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    emulator.inject(Fault("rate_limit_429", method="POST", path=INTENTS, times=2))
    assert client.v1.payment_intents.list().data == []
    for _ in range(2):
        with pytest.raises(stripe.RateLimitError):
            new_intent(client)
    new_intent(client)
    assert len(emulator.payment_intents()) == 1
    assert emulator.faults() == []


def test_faults_are_injected_and_cleared_over_http(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    armed = control(emulator.url, "POST", "faults",
                    [{"kind": "error_500_before", "path": INTENTS, "times": 3}])
    assert armed["faults"][0]["kind"] == "error_500_before"
    with pytest.raises(stripe.APIError):
        new_intent(client)
    assert control(emulator.url, "DELETE", "faults") == {"faults": []}
    assert new_intent(client).status == "requires_payment_method"


def test_an_unknown_fault_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("gremlins")


REFUNDS = "^/v1/refunds$"


def test_a_pending_refund_succeeds_once_the_emulator_clock_passes_its_seconds(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    paid = pay(client, reader, 1000, capture_method="automatic")
    emulator.inject(Fault("refund_pending", path=REFUNDS, seconds=60))
    refund = client.v1.refunds.create({"payment_intent": paid.id, "amount": 400})
    assert refund.status == "pending"
    assert client.v1.refunds.retrieve(refund.id).status == "pending"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create({"payment_intent": paid.id, "amount": 601})
    assert refused.value.code == "amount_too_large"  # a pending refund counts against the rest
    emulator.advance_clock(59)
    assert client.v1.refunds.retrieve(refund.id).status == "pending"
    emulator.advance_clock(2)
    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"
    assert client.v1.charges.retrieve(str(paid.latest_charge)).amount_refunded == 400


def test_a_refund_pending_without_seconds_ends_only_through_the_control_call(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    paid = pay(client, reader, 1000, capture_method="automatic")
    control(emulator.url, "POST", "faults", {"kind": "refund_pending", "path": REFUNDS,
                                             "times": 2})
    first = client.v1.refunds.create({"payment_intent": paid.id, "amount": 300})
    second = client.v1.refunds.create({"payment_intent": paid.id, "amount": 700})
    emulator.advance_clock(7 * 24 * 3600)
    assert [client.v1.refunds.retrieve(refund.id).status for refund in (first, second)] == [
        "pending", "pending"]
    assert control(emulator.url, "POST", "refunds", {"id": first.id})["status"] == "succeeded"
    failed = control(emulator.url, "POST", "refunds", {"id": second.id, "status": "failed"})
    assert failed["status"] == "failed"
    charge = client.v1.charges.retrieve(str(paid.latest_charge))
    assert (charge.amount_refunded, charge.refunded) == (300, False)  # a failure gives it back
    with pytest.raises(urllib.error.HTTPError) as refused:
        control(emulator.url, "POST", "refunds", {"id": first.id})
    assert refused.value.code == 400  # only a pending refund can be ended


def test_a_stuck_action_fault_on_a_refused_process_leaves_the_ended_action_as_it_ended(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    intent = new_intent(client, capture_method="automatic")
    process(client, reader, intent.id)
    emulator.present_card(reader)
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"
    emulator.inject(Fault("stuck_action", path="process_payment_intent"))
    with pytest.raises(stripe.StripeError):  # the payment is taken: nothing to process
        process(client, reader, intent.id)
    assert client.v1.terminal.readers.retrieve(reader).action.status == "succeeded"
