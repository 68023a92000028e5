"""The emulator's reader actions as Stripe shows them (issue 16, point 6): a cart display stays
``in_progress`` until another action replaces it or ``cancel_action`` clears it; after
``cancel_action`` the reader's ``action`` is null; simulated readers report their simulated
device types; a failure on the reader (the customer cancelled) sets ``failure_code`` and
leaves ``api_error`` null, while an API failure (a decline) fills ``api_error``; and the
``act_then_refuse`` fault acts, never answers, then refuses connections.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest
import stripe
import stripe_support
from stripe_support import connect, new_intent, pay, process, wait_until

from kiosk.sim.stripe_emulator import Fault, StripeEmulator

__all__ = ["stripe_support"]

client = stripe_support.client
emulator = stripe_support.emulator
reader = stripe_support.reader

CART = {
    "currency": "eur",
    "total": 1000,
    "tax": 0,
    "line_items": [{"amount": 1000, "description": "Tea", "quantity": 1}],
}


def show_cart(client: stripe.StripeClient, reader: str) -> stripe.terminal.Reader:
    return client.v1.terminal.readers.set_reader_display(reader, {"type": "cart", "cart": CART})


def test_a_cart_display_stays_in_progress_until_cancel_action_clears_it(
    client: stripe.StripeClient, reader: str
) -> None:
    shown = show_cart(client, reader)
    assert (shown.action.type, shown.action.status) == ("set_reader_display", "in_progress")
    assert client.v1.terminal.readers.retrieve(reader).action.status == "in_progress"

    cleared = client.v1.terminal.readers.cancel_action(reader)

    assert cleared.action is None
    assert client.v1.terminal.readers.retrieve(reader).action is None


def test_a_payment_replaces_a_cart_display_still_in_progress_and_is_paid(
    client: stripe.StripeClient, reader: str
) -> None:
    show_cart(client, reader)
    paid = pay(client, reader, 1000)
    assert paid.status == "requires_capture"  # approved (pay makes a manual-capture intent)
    action = client.v1.terminal.readers.retrieve(reader).action
    assert (action.type, action.status) == ("process_payment_intent", "succeeded")


def test_after_cancel_action_on_a_waiting_payment_the_reader_has_no_action(
    client: stripe.StripeClient, reader: str
) -> None:
    intent = new_intent(client)
    process(client, reader, intent.id)

    cancelled = client.v1.terminal.readers.cancel_action(reader)

    assert cancelled.action is None
    assert client.v1.terminal.readers.retrieve(reader).action is None
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"


def test_simulated_readers_report_simulated_device_types(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    wpe = emulator.register_simulated_reader("simulated-wpe")
    s700 = emulator.register_simulated_reader("simulated-s700")
    assert (wpe["device_type"], s700["device_type"]) == (
        "simulated_wisepos_e",
        "simulated_stripe_s700",
    )


def test_a_customer_cancelling_on_the_reader_sets_the_failure_code_and_no_api_error(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    emulator.customer("cancel", after_s=0.0)
    intent = new_intent(client)
    process(client, reader, intent.id)

    wait_until(lambda: client.v1.terminal.readers.retrieve(reader).action.status == "failed")
    action = client.v1.terminal.readers.retrieve(reader).action
    assert (action.failure_code, action.api_error) == ("customer_canceled", None)
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"


def test_a_decline_fills_the_actions_api_error(client: stripe.StripeClient, reader: str) -> None:
    pay(client, reader, 1005)
    action = client.v1.terminal.readers.retrieve(reader).action
    assert (action.status, action.failure_code) == ("failed", "card_declined")
    error = action.api_error
    assert (error.type, error.code, error.decline_code) == (
        "card_error",
        "card_declined",
        "generic_decline",
    )


def test_act_then_refuse_acts_never_answers_then_refuses_connections(
    emulator: StripeEmulator, reader: str
) -> None:
    refusing_s = 2.0
    emulator.inject(
        Fault(kind="act_then_refuse", seconds=refusing_s, path=r"/process_payment_intent$")
    )
    slow = connect(emulator.url)
    quick = stripe.StripeClient(
        stripe_support.API_KEY,
        base_addresses={"api": emulator.url},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=0.5),
    )
    intent = new_intent(slow)
    with pytest.raises(stripe.APIConnectionError):
        process(quick, reader, intent.id)  # acted, never answered: the client timed out

    address = urlsplit(emulator.url)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((address.hostname, address.port), timeout=1).close()
    (request,) = [seen for seen in emulator.requests() if "process_payment_intent" in seen.path]
    assert (request.executed, request.status, request.faults) == (True, None, ("act_then_refuse",))

    deadline = time.monotonic() + refusing_s + 10
    while True:  # served again once the refusal ends
        try:
            action = slow.v1.terminal.readers.retrieve(reader).action
            break
        except stripe.APIConnectionError:
            assert time.monotonic() < deadline, "the emulator never served again"
            time.sleep(0.1)
    assert (action.type, action.status) == ("process_payment_intent", "in_progress")
