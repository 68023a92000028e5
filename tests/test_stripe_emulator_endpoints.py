"""Every endpoint the emulator serves, parameter checks, authentication, test cards and test
amounts, through the real stripe client over HTTP."""

from __future__ import annotations

import pytest
import stripe
import stripe_support
from stripe_support import connect, new_intent, pay, process, raw_post, tap

from kiosk.sim.stripe_emulator import StripeEmulator

emulator = stripe_support.emulator
client = stripe_support.client
reader = stripe_support.reader

CART = {
    "currency": "eur",
    "tax": 160,
    "total": 1000,
    "line_items": [{"amount": 1000, "description": "Oat milk 1 l", "quantity": 1}],
}


def test_locations_are_created_and_listed_newest_first(client: stripe.StripeClient) -> None:
    first = client.v1.terminal.locations.create(
        {"display_name": "Front", "address": {"country": "DE", "city": "Berlin"}})
    second = client.v1.terminal.locations.create(
        {"display_name": "Back", "address": {"country": "DE"}})
    assert first.id.startswith("tml_") and first.object == "terminal.location"
    listed = client.v1.terminal.locations.list()
    assert [location.id for location in listed.data] == [second.id, first.id]


def test_simulated_readers_register_with_both_codes_and_are_retrieved_and_listed(
    client: stripe.StripeClient,
) -> None:
    location = client.v1.terminal.locations.create(
        {"display_name": "Shop", "address": {"country": "US"}})
    wpe = client.v1.terminal.readers.create(
        {"registration_code": "simulated-wpe", "location": location.id, "label": "Till 1"})
    s700 = client.v1.terminal.readers.create(
        {"registration_code": "simulated-s700", "location": location.id})
    assert (wpe.device_type, s700.device_type) == ("simulated_wisepos_e",
                                                  "simulated_stripe_s700")
    assert wpe.id.startswith("tmr_") and wpe.object == "terminal.reader"
    assert (wpe.label, wpe.status, wpe.action) == ("Till 1", "online", None)
    assert s700.serial_number.startswith("simulated-s700")
    fetched = client.v1.terminal.readers.retrieve(wpe.id)
    assert fetched.location == location.id
    listed = client.v1.terminal.readers.list({"device_type": "simulated_stripe_s700"})
    assert [item.id for item in listed.data] == [s700.id]


def test_an_unknown_registration_code_is_refused(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.terminal.readers.create({"registration_code": "puppies-plug-nicely"})
    assert refused.value.param == "registration_code"


def test_a_missing_reader_is_a_404_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.terminal.readers.retrieve("tmr_doesnotexist")
    assert (refused.value.http_status, refused.value.code) == (404, "resource_missing")


def test_the_reader_shows_the_cart_it_was_sent(client: stripe.StripeClient, reader: str
                                               ) -> None:
    shown = client.v1.terminal.readers.set_reader_display(reader, {"type": "cart", "cart": CART})
    assert shown.action.type == "set_reader_display"
    assert shown.action.status == "in_progress"  # until replaced or cancel_action
    assert shown.action.set_reader_display.cart.total == 1000
    assert shown.action.set_reader_display.cart.line_items[0].description == "Oat milk 1 l"


def test_a_payment_intent_is_created_with_metadata_and_retrieved_with_its_charge_expanded(
    client: stripe.StripeClient, reader: str
) -> None:
    intent = new_intent(client, 1234, description="Sale 7")
    assert intent.id.startswith("pi_") and intent.client_secret.startswith(intent.id)
    assert (intent.status, intent.amount, intent.currency) == (
        "requires_payment_method", 1234, "eur")
    assert intent.metadata["sale_id"] == "sale-1"
    assert intent.payment_method_types == ["card_present"]
    process(client, reader, intent.id)
    tap(client, reader, "5555555555554444")
    fetched = client.v1.payment_intents.retrieve(intent.id, {"expand": ["latest_charge"]})
    charge = fetched.latest_charge
    assert isinstance(charge, stripe.Charge)
    assert charge.payment_intent == intent.id
    details = charge.payment_method_details
    assert details.type == "card_present"
    card = details.card_present
    assert (card.brand, card.last4, card.read_method) == ("mastercard", "4444", "contactless_emv")
    assert card.exp_month == 12 and card.exp_year > 2000
    receipt = card.receipt
    assert receipt.dedicated_file_name == "A0000000041010"
    assert receipt.application_preferred_name == "Mastercard"
    assert len(receipt.authorization_code) == 6
    assert receipt.authorization_response_code == "3030"
    assert receipt.account_type == "credit"
    assert receipt.cardholder_verification_method == "none"


def test_updating_an_intent_changes_its_amount_and_merges_metadata(
    client: stripe.StripeClient,
) -> None:
    intent = new_intent(client)
    updated = client.v1.payment_intents.update(
        intent.id, {"amount": 1500, "metadata": {"kiosk_id": "k1"}})
    assert updated.amount == 1500
    assert updated.metadata.to_dict() == {"sale_id": "sale-1", "kiosk_id": "k1"}
    cleared = client.v1.payment_intents.update(intent.id, {"metadata": {"kiosk_id": ""}})
    assert cleared.metadata.to_dict() == {"sale_id": "sale-1"}


def test_payment_intents_are_listed_newest_first_in_pages_and_filtered_by_creation_time(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    old = new_intent(client)
    emulator.advance_clock(600)
    since = int(emulator.now())
    recent = [new_intent(client).id for _ in range(5)]
    first_page = client.v1.payment_intents.list({"limit": 2, "created": {"gte": since}})
    assert [item.id for item in first_page.data] == recent[::-1][:2]
    assert first_page.has_more is True
    everything = list(
        client.v1.payment_intents.list({"limit": 2, "created": {"gte": since}})
        .auto_paging_iter())
    assert [item.id for item in everything] == recent[::-1]
    assert old.id not in [item.id for item in everything]
    last = client.v1.payment_intents.list({"limit": 10, "starting_after": recent[1]})
    assert [item.id for item in last.data] == [recent[0], old.id]
    assert last.has_more is False


def test_a_partial_capture_captures_only_the_amount_asked(
    client: stripe.StripeClient, reader: str
) -> None:
    approved = pay(client, reader, 2000)
    captured = client.v1.payment_intents.capture(approved.id, {"amount_to_capture": 1500})
    assert captured.amount_received == 1500
    assert client.v1.charges.retrieve(str(captured.latest_charge)).amount_captured == 1500


def test_capturing_more_than_was_authorised_is_refused(
    client: stripe.StripeClient, reader: str
) -> None:
    approved = pay(client, reader, 2000)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.capture(approved.id, {"amount_to_capture": 2001})
    assert refused.value.param == "amount_to_capture"


def test_an_intent_is_cancelled_with_a_reason(client: stripe.StripeClient) -> None:
    cancelled = client.v1.payment_intents.cancel(
        new_intent(client).id, {"cancellation_reason": "duplicate"})
    assert (cancelled.status, cancelled.cancellation_reason) == ("canceled", "duplicate")
    assert cancelled.canceled_at is not None


def test_refunds_are_created_retrieved_and_listed_by_payment_intent(
    client: stripe.StripeClient, reader: str
) -> None:
    paid = pay(client, reader, 1000, capture_method="automatic")
    other = pay(client, reader, 700, capture_method="automatic")
    partial = client.v1.refunds.create({"payment_intent": paid.id, "amount": 400,
                                        "reason": "requested_by_customer"})
    rest = client.v1.refunds.create({"payment_intent": paid.id})
    client.v1.refunds.create({"payment_intent": other.id})
    assert partial.id.startswith("re_") and partial.status == "succeeded"
    assert rest.amount == 600
    assert client.v1.refunds.retrieve(partial.id).amount == 400
    listed = client.v1.refunds.list({"payment_intent": paid.id})
    assert [refund.id for refund in listed.data] == [rest.id, partial.id]
    charge = client.v1.charges.retrieve(str(paid.latest_charge))
    assert (charge.amount_refunded, charge.refunded) == (1000, True)


@pytest.mark.parametrize(
    ("amount", "decline_code"),
    [(1001, "call_issuer"), (1005, "generic_decline"), (1055, "incorrect_pin"),
     (1065, "withdrawal_count_limit_exceeded"), (1075, "pin_try_exceeded")],
)
def test_stripe_test_amounts_decline_with_their_documented_codes(
    client: stripe.StripeClient, reader: str, amount: int, decline_code: str
) -> None:
    declined = pay(client, reader, amount)
    assert declined.status == "requires_payment_method"
    assert declined.last_payment_error.decline_code == decline_code


@pytest.mark.parametrize(("amount", "method"), [(1002, "offline_pin"), (1003, "online_pin"),
                                                 (1000, "none")])
def test_amounts_ending_in_02_and_03_approve_after_a_pin(
    client: stripe.StripeClient, reader: str, amount: int, method: str
) -> None:
    approved = pay(client, reader, amount)
    assert approved.status == "requires_capture"
    charge = client.v1.charges.retrieve(str(approved.latest_charge))
    receipt = charge.payment_method_details.card_present.receipt
    assert receipt.cardholder_verification_method == method


@pytest.mark.parametrize(
    ("card", "decline_code"),
    [("4000000000000002", "generic_decline"), ("4000000000009995", "insufficient_funds"),
     ("4000000000009987", "lost_card"), ("4000000000009979", "stolen_card")],
)
def test_stripe_error_test_cards_decline_whatever_the_amount(
    client: stripe.StripeClient, reader: str, card: str, decline_code: str
) -> None:
    declined = pay(client, reader, 1000, card=card)
    assert declined.last_payment_error.decline_code == decline_code


def test_a_tip_presented_on_the_reader_is_added_to_the_amount(
    client: stripe.StripeClient, reader: str
) -> None:
    intent = new_intent(client, 1000)
    process(client, reader, intent.id)
    client.v1.test_helpers.terminal.readers.present_payment_method(
        reader, {"amount_tip": 150, "card_present": {"number": "4242424242424242"}})
    assert client.v1.payment_intents.retrieve(intent.id).amount == 1150


def test_an_unknown_parameter_is_refused_naming_it(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.create(
            {"amount": 1000, "currency": "eur", "tip_jar": "yes"})  # type: ignore[typeddict-unknown-key]
    assert (refused.value.code, refused.value.param) == ("parameter_unknown", "tip_jar")


def test_an_unknown_nested_parameter_is_refused_with_its_full_name(
    client: stripe.StripeClient, reader: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.terminal.readers.set_reader_display(
            reader, {"type": "cart", "cart": {**CART, "discount": 5}})  # type: ignore[typeddict-unknown-key]
    assert (refused.value.code, refused.value.param) == ("parameter_unknown", "cart[discount]")


def test_a_missing_required_parameter_is_refused_naming_it(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.create({"amount": 1000})  # type: ignore[typeddict-item]
    assert (refused.value.code, refused.value.param) == ("parameter_missing", "currency")


def test_a_value_outside_the_allowed_set_is_refused(client: stripe.StripeClient) -> None:
    intent = new_intent(client)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.cancel(intent.id, {"cancellation_reason": "bored"})
    assert (refused.value.code, refused.value.param) == (
        "parameter_invalid_value", "cancellation_reason")
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"


def test_a_non_integer_amount_is_refused(emulator: StripeEmulator) -> None:
    status, body = raw_post(emulator.url, "/v1/payment_intents", "amount=ten&currency=eur")
    assert status == 400
    assert (body["error"]["code"], body["error"]["param"]) == (
        "parameter_invalid_integer", "amount")


def test_the_payment_method_types_name_of_older_api_versions_is_refused(
    emulator: StripeEmulator,
) -> None:
    status, body = raw_post(emulator.url, "/v1/payment_intents",
                            "amount=1000&currency=eur&payment_method_types[0]=card_present")
    assert status == 400
    assert body["error"]["code"] == "parameter_unknown"


def test_a_request_without_a_test_secret_key_is_refused_as_unauthenticated(
    emulator: StripeEmulator,
) -> None:
    with pytest.raises(stripe.AuthenticationError) as refused:
        stripe.StripeClient("pk_test_publishable", base_addresses={"api": emulator.url},
                            max_network_retries=0).v1.payment_intents.list()
    assert refused.value.http_status == 401
    assert "pk_test_publishable" not in str(refused.value.json_body)
    status, body = raw_post(emulator.url, "/v1/payment_intents", "amount=1000&currency=eur",
                            token="sk_live_real")
    assert (status, body["error"]["type"]) == (401, "authentication_error")
    assert emulator.payment_intents() == []


def test_a_restricted_test_key_is_accepted(emulator: StripeEmulator) -> None:
    restricted = stripe.StripeClient("rk_test_limited", base_addresses={"api": emulator.url},
                                     max_network_retries=0)
    assert restricted.v1.payment_intents.list().data == []


def test_an_unknown_url_is_a_404(emulator: StripeEmulator) -> None:
    status, body = raw_post(emulator.url, "/v1/customers", "email=a@example.com")
    assert status == 404
    assert "Unrecognized request URL" in body["error"]["message"]


def test_every_api_call_is_recorded_with_its_key_and_status(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    intent = client.v1.payment_intents.create(
        {"amount": 1000, "currency": "eur", "allowed_payment_method_types": ["card_present"]},
        {"idempotency_key": "sale-1:create:1"})
    connect(emulator.url).v1.payment_intents.retrieve(intent.id)
    recorded = emulator.requests()
    assert [(r.method, r.path, r.status, r.executed) for r in recorded] == [
        ("POST", "/v1/payment_intents", 200, True),
        ("GET", f"/v1/payment_intents/{intent.id}", 200, True),
    ]
    assert recorded[0].idempotency_key == "sale-1:create:1"
    assert recorded[0].at.endswith("Z")
