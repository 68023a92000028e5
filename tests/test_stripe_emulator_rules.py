"""One test per row of the state-rule table in docs/STRIPE_EMULATOR.md, through the real
stripe client over HTTP."""

from __future__ import annotations

import pytest
import stripe
import stripe_support
from stripe_support import new_intent, pay, process, tap

from kiosk.sim.stripe_emulator import Fault, StripeEmulator

emulator = stripe_support.emulator
client = stripe_support.client
reader = stripe_support.reader


def _cancelled(client: stripe.StripeClient) -> stripe.PaymentIntent:
    intent = new_intent(client)
    return client.v1.payment_intents.cancel(intent.id, {"cancellation_reason": "abandoned"})


def test_processing_an_intent_that_no_longer_needs_a_payment_method_is_an_invalid_state(
    client: stripe.StripeClient, reader: str
) -> None:
    paid = pay(client, reader)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        process(client, reader, paid.id)
    assert refused.value.code == "intent_invalid_state"


def test_a_reader_authorising_a_card_refuses_a_new_payment_as_busy(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    intent = new_intent(client)
    process(client, reader, intent.id)
    emulator.inject(Fault("slow_authorisation", path="present_payment_method", seconds=30))
    tap(client, reader)
    assert client.v1.payment_intents.retrieve(intent.id).status == "processing"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        process(client, reader, new_intent(client).id)
    assert refused.value.code == "terminal_reader_busy"


def test_a_reader_authorising_a_card_refuses_cancel_action_as_busy_until_the_issuer_answers(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    intent = new_intent(client)
    process(client, reader, intent.id)
    emulator.inject(Fault("slow_authorisation", path="present_payment_method", seconds=30))
    tap(client, reader)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.terminal.readers.cancel_action(reader)
    assert refused.value.code == "terminal_reader_busy"
    assert client.v1.terminal.readers.retrieve(reader).action.status == "in_progress"
    emulator.advance_clock(30)
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_capture"
    assert client.v1.terminal.readers.retrieve(reader).action.status == "succeeded"


def test_a_payment_still_waiting_for_a_card_is_replaced_by_a_new_process_request(
    client: stripe.StripeClient, reader: str
) -> None:
    first = new_intent(client)
    second = new_intent(client, 2000)
    process(client, reader, first.id)
    shown = process(client, reader, second.id)
    assert shown.action.process_payment_intent.payment_intent == second.id
    tap(client, reader)
    assert client.v1.payment_intents.retrieve(second.id).status == "requires_capture"
    assert client.v1.payment_intents.retrieve(first.id).status == "requires_payment_method"


def test_a_reader_that_lost_its_connection_stays_in_progress_until_cancel_action(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    intent = new_intent(client)
    emulator.inject(Fault("stuck_action", path="process_payment_intent"))
    process(client, reader, intent.id)
    emulator.advance_clock(3600)
    assert client.v1.terminal.readers.retrieve(reader).action.status == "in_progress"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        process(client, reader, intent.id)
    assert refused.value.code == "terminal_reader_busy"
    cancelled = client.v1.terminal.readers.cancel_action(reader)
    assert cancelled.action is None  # as on Stripe: no action after cancel_action
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"


def test_cancel_action_on_a_waiting_payment_leaves_the_intent_needing_a_payment_method(
    client: stripe.StripeClient, reader: str
) -> None:
    intent = new_intent(client)
    process(client, reader, intent.id)
    cancelled = client.v1.terminal.readers.cancel_action(reader)
    assert cancelled.action is None  # as on Stripe: no action after cancel_action
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"


def test_cancel_action_with_nothing_in_progress_returns_the_reader_unchanged(
    client: stripe.StripeClient, reader: str
) -> None:
    pay(client, reader)
    answered = client.v1.terminal.readers.cancel_action(reader)
    assert answered.action.status == "succeeded"


def test_updating_a_cancelled_intent_is_an_invalid_state(client: stripe.StripeClient) -> None:
    intent = _cancelled(client)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.update(intent.id, {"metadata": {"note": "late"}})
    assert refused.value.code == "intent_invalid_state"


def test_processing_a_cancelled_intent_is_an_invalid_state(
    client: stripe.StripeClient, reader: str
) -> None:
    intent = _cancelled(client)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        process(client, reader, intent.id)
    assert refused.value.code == "intent_invalid_state"


def test_capturing_a_cancelled_intent_is_an_invalid_state(client: stripe.StripeClient) -> None:
    intent = _cancelled(client)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.capture(intent.id)
    assert refused.value.code == "intent_invalid_state"


def test_cancelling_a_cancelled_intent_again_is_an_invalid_state(
    client: stripe.StripeClient,
) -> None:
    intent = _cancelled(client)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.cancel(intent.id)
    assert refused.value.code == "intent_invalid_state"
    assert client.v1.payment_intents.retrieve(intent.id).cancellation_reason == "abandoned"


def test_cancelling_a_succeeded_intent_is_an_invalid_state(
    client: stripe.StripeClient, reader: str
) -> None:
    paid = pay(client, reader, capture_method="automatic")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.cancel(paid.id)
    assert refused.value.code == "intent_invalid_state"


def test_an_amount_below_the_currency_minimum_is_refused_as_too_small(
    client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        new_intent(client, 49, currency="usd")
    assert (refused.value.code, refused.value.param) == ("amount_too_small", "amount")
    intent = new_intent(client, 50, currency="eur")
    with pytest.raises(stripe.InvalidRequestError) as lowered:
        client.v1.payment_intents.update(intent.id, {"amount": 10})
    assert lowered.value.code == "amount_too_small"


def test_a_decline_leaves_the_intent_needing_a_payment_method_and_fails_the_reader_action(
    client: stripe.StripeClient, reader: str
) -> None:
    declined = pay(client, reader, 1005)
    assert declined.status == "requires_payment_method"
    error = declined.last_payment_error
    assert (error.type, error.code, error.decline_code) == (
        "card_error", "card_declined", "generic_decline")
    action = client.v1.terminal.readers.retrieve(reader).action
    assert (action.status, action.failure_code) == ("failed", "card_declined")


def test_a_declined_intent_can_be_processed_again_and_paid(
    client: stripe.StripeClient, reader: str
) -> None:
    declined = pay(client, reader, 1005)
    client.v1.payment_intents.update(declined.id, {"amount": 1000})
    process(client, reader, declined.id)
    tap(client, reader)
    assert client.v1.payment_intents.retrieve(declined.id).status == "requires_capture"


def test_an_approval_with_manual_capture_requires_capture(
    client: stripe.StripeClient, reader: str
) -> None:
    approved = pay(client, reader, capture_method="manual")
    assert approved.status == "requires_capture"
    assert approved.amount_capturable == 1000
    charge = client.v1.charges.retrieve(str(approved.latest_charge))
    assert (charge.captured, charge.amount_captured) == (False, 0)


def test_an_approval_with_automatic_capture_succeeds_with_a_captured_charge(
    client: stripe.StripeClient, reader: str
) -> None:
    approved = pay(client, reader, capture_method="automatic")
    assert approved.status == "succeeded"
    assert approved.amount_received == 1000
    charge = client.v1.charges.retrieve(str(approved.latest_charge))
    assert (charge.status, charge.captured, charge.amount_captured) == ("succeeded", True, 1000)


def test_capturing_an_intent_that_requires_capture_succeeds(
    client: stripe.StripeClient, reader: str
) -> None:
    approved = pay(client, reader)
    captured = client.v1.payment_intents.capture(approved.id)
    assert (captured.status, captured.amount_received) == ("succeeded", 1000)


def test_capturing_an_intent_without_an_authorisation_is_an_invalid_state(
    client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.capture(new_intent(client).id)
    assert refused.value.code == "intent_invalid_state"


def test_cancelling_an_intent_that_requires_capture_releases_the_uncaptured_charge(
    client: stripe.StripeClient, reader: str
) -> None:
    approved = pay(client, reader)
    cancelled = client.v1.payment_intents.cancel(approved.id)
    assert cancelled.status == "canceled"
    charge = client.v1.charges.retrieve(str(approved.latest_charge))
    assert (charge.captured, charge.amount_captured) == (False, 0)


def test_changing_the_amount_after_authorisation_is_an_invalid_state(
    client: stripe.StripeClient, reader: str
) -> None:
    approved = pay(client, reader)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.update(approved.id, {"amount": 900})
    assert refused.value.code == "intent_invalid_state"


def test_a_refund_of_an_intent_that_is_not_succeeded_is_an_invalid_state(
    client: stripe.StripeClient, reader: str
) -> None:
    approved = pay(client, reader)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create({"payment_intent": approved.id})
    assert refused.value.code == "intent_invalid_state"


def test_refunds_never_add_up_to_more_than_was_captured(
    client: stripe.StripeClient, reader: str
) -> None:
    paid = client.v1.payment_intents.capture(pay(client, reader).id, {"amount_to_capture": 800})
    client.v1.refunds.create({"payment_intent": paid.id, "amount": 500})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create({"payment_intent": paid.id, "amount": 301})
    assert (refused.value.code, refused.value.param) == ("amount_too_large", "amount")
    rest = client.v1.refunds.create({"payment_intent": paid.id})
    assert rest.amount == 300
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.refunds.create({"payment_intent": paid.id})
    assert again.value.code == "charge_already_refunded"


def test_presenting_a_card_with_no_payment_in_progress_is_refused(
    client: stripe.StripeClient, reader: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        tap(client, reader)
    assert refused.value.code == "terminal_reader_action_not_in_progress"


def test_showing_the_cart_while_a_payment_is_in_progress_is_refused_as_busy(
    client: stripe.StripeClient, reader: str
) -> None:
    process(client, reader, new_intent(client).id)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.terminal.readers.set_reader_display(reader, {
            "type": "cart",
            "cart": {"currency": "eur", "total": 1000,
                     "line_items": [{"amount": 1000, "description": "Tea", "quantity": 1}]},
        })
    assert refused.value.code == "terminal_reader_busy"


def test_cancelling_an_intent_fails_the_reader_action_waiting_for_it(
    client: stripe.StripeClient, reader: str
) -> None:
    intent = new_intent(client)
    process(client, reader, intent.id)
    client.v1.payment_intents.cancel(intent.id, {"cancellation_reason": "requested_by_customer"})
    action = client.v1.terminal.readers.retrieve(reader).action
    assert (action.status, action.failure_code) == ("failed", "payment_intent_canceled")


def test_an_intent_that_does_not_allow_card_present_cannot_be_processed_on_a_reader(
    client: stripe.StripeClient, reader: str
) -> None:
    online = client.v1.payment_intents.create({"amount": 1000, "currency": "eur"})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        process(client, reader, online.id)
    assert refused.value.param == "payment_intent"


def test_an_offline_reader_refuses_every_action_as_offline(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    emulator.inject(Fault("reader_offline", path="process_payment_intent"))
    intent = new_intent(client)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        process(client, reader, intent.id)
    assert refused.value.code == "terminal_reader_offline"
    assert client.v1.terminal.readers.retrieve(reader).status == "offline"
    with pytest.raises(stripe.InvalidRequestError) as cancelling:
        client.v1.terminal.readers.cancel_action(reader)
    assert cancelling.value.code == "terminal_reader_offline"
    emulator.clear_faults()
    assert process(client, reader, intent.id).action.status == "in_progress"
