"""Idempotency keys behave as Stripe's: replays (a saved 500 too), mismatches, 24-hour
expiry on the emulator clock, nothing saved for refusals before execution, and no second
object after a dropped connection is retried with the same key."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import stripe
import stripe_support
from stripe_support import new_intent, pay, raw_post, wait_until

from kiosk.sim.stripe_emulator import Fault, StripeEmulator

emulator = stripe_support.emulator
client = stripe_support.client
reader = stripe_support.reader

CREATE = {"amount": 1000, "currency": "eur", "allowed_payment_method_types": ["card_present"]}


def _create(client: stripe.StripeClient, key: str, **changes: Any) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create({**CREATE, **changes},  # type: ignore[arg-type]
                                            {"idempotency_key": key})


def test_the_same_key_and_parameters_replay_the_saved_response(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    first = _create(client, "sale-1:create:1")
    again = _create(client, "sale-1:create:1")
    assert again.id == first.id
    assert again.last_response is not None
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert len(emulator.payment_intents()) == 1
    assert [r.replayed for r in emulator.requests()] == [False, True]


def test_a_saved_500_is_replayed_for_the_same_key(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    emulator.inject(Fault("error_500_after", path="^/v1/payment_intents$"))
    with pytest.raises(stripe.APIError) as first:
        _create(client, "sale-1:create:1")
    with pytest.raises(stripe.APIError) as again:
        _create(client, "sale-1:create:1")
    assert first.value.http_status == again.value.http_status == 500
    assert len(emulator.payment_intents()) == 1


def test_the_same_key_with_other_parameters_is_an_idempotency_error(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    _create(client, "sale-1:create:1")
    with pytest.raises(stripe.IdempotencyError) as refused:
        _create(client, "sale-1:create:1", amount=1200)
    assert refused.value.http_status == 400
    assert len(emulator.payment_intents()) == 1


def test_a_key_is_forgotten_after_24_hours_on_the_emulator_clock(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    first = _create(client, "sale-1:create:1")
    emulator.advance_clock(24 * 3600 - 60)
    assert _create(client, "sale-1:create:1").id == first.id
    emulator.advance_clock(120)
    later = _create(client, "sale-1:create:1")
    assert later.id != first.id
    assert len(emulator.payment_intents()) == 2


def test_a_parameter_error_is_not_saved_under_its_key(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        _create(client, "sale-1:create:1", amount="ten")
    assert refused.value.code == "parameter_invalid_integer"
    assert _create(client, "sale-1:create:1").amount == 1000


def test_a_rate_limited_request_is_not_saved_under_its_key(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    emulator.inject(Fault("rate_limit_429", path="^/v1/payment_intents$"))
    with pytest.raises(stripe.RateLimitError):
        _create(client, "sale-1:create:1")
    assert _create(client, "sale-1:create:1").status == "requires_payment_method"
    assert len(emulator.payment_intents()) == 1


def test_an_unauthenticated_request_is_not_saved_under_its_key(
    emulator: StripeEmulator, client: stripe.StripeClient
) -> None:
    status, _ = raw_post(emulator.url, "/v1/payment_intents", "amount=1000&currency=eur",
                         key="sale-1:create:1", token="not-a-key")
    assert status == 401
    assert _create(client, "sale-1:create:1").amount == 1000


def test_a_key_still_in_use_by_a_running_request_is_refused_with_409(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    emulator.inject(Fault("latency", path="^/v1/payment_intents$", seconds=0.5))
    results: list[str] = []
    slow = threading.Thread(target=lambda: results.append(_create(client, "k-1").id))
    slow.start()
    wait_until(lambda: not emulator.faults())
    status, body = raw_post(emulator.url, "/v1/payment_intents",
                            "amount=1000&currency=eur&allowed_payment_method_types[0]=card_present",
                            key="k-1")
    slow.join()
    assert status == 409
    assert body["error"]["code"] == "idempotency_key_in_use"
    assert len(results) == 1 and len(emulator.payment_intents()) == 1


def _drop_then_replay(emulator: StripeEmulator, path: str, send: Callable[[], Any]) -> Any:
    """Send once with the connection dropped after acting, then again with the same key."""
    emulator.inject(Fault("drop_after", path=path))
    with pytest.raises(stripe.APIConnectionError):
        send()
    return send()


def test_a_create_dropped_after_acting_then_replayed_makes_one_payment_intent(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    replayed = _drop_then_replay(emulator, "^/v1/payment_intents$",
                                    lambda: _create(client, "sale-1:create:1"))
    assert [intent["id"] for intent in emulator.payment_intents()] == [replayed.id]


def test_a_capture_dropped_after_acting_then_replayed_captures_once(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    intent = pay(client, reader)
    replayed = _drop_then_replay(
        emulator, "/capture$",
        lambda: client.v1.payment_intents.capture(intent.id, {},
                                                  {"idempotency_key": "sale-1:capture:1"}))
    assert replayed.status == "succeeded"
    assert [r.executed for r in emulator.requests() if r.path.endswith("/capture")] == [
        True, False]


def test_a_cancel_dropped_after_acting_then_replayed_answers_the_cancelled_intent(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    intent = new_intent(client)
    replayed = _drop_then_replay(
        emulator, "/cancel$",
        lambda: client.v1.payment_intents.cancel(
            intent.id, {"cancellation_reason": "abandoned"}, {"idempotency_key": "s:void:1"}))
    assert replayed.status == "canceled"
    assert emulator.payment_intents()[0]["status"] == "canceled"


def test_a_refund_dropped_after_acting_then_replayed_refunds_once(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    paid = pay(client, reader, capture_method="automatic")
    replayed = _drop_then_replay(
        emulator, "^/v1/refunds$",
        lambda: client.v1.refunds.create({"payment_intent": paid.id, "amount": 300},
                                         {"idempotency_key": "refund-1:1"}))
    assert [refund["id"] for refund in emulator.refunds()] == [replayed.id]
    assert client.v1.charges.retrieve(str(paid.latest_charge)).amount_refunded == 300


def test_saved_keys_survive_a_restart_of_the_emulator(
    tmp_path: Any, emulator: StripeEmulator, client: stripe.StripeClient
) -> None:
    first = _create(client, "sale-1:create:1")
    emulator.stop()
    restarted = StripeEmulator(clock=None, state_path=tmp_path / "stripe.json")
    restarted.start()
    try:
        again = _create(stripe_support.connect(restarted.url), "sale-1:create:1")
    finally:
        restarted.stop()
    assert again.id == first.id
