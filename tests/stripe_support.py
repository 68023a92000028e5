"""What the Stripe emulator tests share: a running emulator on its own settable clock with a
state file in tmp_path, the real stripe client pointed at it, a simulated reader, and small
steps of the card-present flow (create a PaymentIntent, process it, tap a card).

Amounts are integer minor units; waits are bounded polls on the emulator, never sleeps that
an assertion depends on.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from kiosk.sim.stripe_emulator import StripeEmulator

API_KEY = "sk_test_emulator"
WAIT_LIMIT_S = 10.0
"""How long a poll waits for a background event before the test fails (a guard only)."""


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[StripeEmulator]:
    """A started emulator on its own clock, saving to tmp_path/stripe.json."""
    running = StripeEmulator(clock=None, state_path=tmp_path / "stripe.json")
    running.start()
    yield running
    running.stop()


@pytest.fixture
def client(emulator: StripeEmulator) -> stripe.StripeClient:
    """The real stripe client, no retries, talking to the emulator."""
    return connect(emulator.url)


@pytest.fixture
def reader(emulator: StripeEmulator) -> str:
    """The id of a registered simulated WisePOS E."""
    return str(emulator.register_simulated_reader()["id"])


def connect(url: str, *, retries: int = 0) -> stripe.StripeClient:
    """A stripe client for the emulator at `url`."""
    return stripe.StripeClient(API_KEY, base_addresses={"api": url}, max_network_retries=retries)


def new_intent(
    client: stripe.StripeClient, amount: int = 1000, *, capture_method: str = "manual",
    currency: str = "eur", **extra: Any,
) -> stripe.PaymentIntent:
    """A card-present PaymentIntent for `amount` minor units."""
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency,
        "allowed_payment_method_types": ["card_present"],
        "capture_method": capture_method,
        "metadata": {"sale_id": "sale-1"},
        **extra,
    }
    return client.v1.payment_intents.create(params)  # type: ignore[arg-type]


def process(client: stripe.StripeClient, reader: str, intent_id: str) -> stripe.terminal.Reader:
    """Send the PaymentIntent to the reader."""
    return client.v1.terminal.readers.process_payment_intent(
        reader, {"payment_intent": intent_id}
    )


def tap(client: stripe.StripeClient, reader: str, card: str = "4242424242424242"
        ) -> stripe.terminal.Reader:
    """Present a test card on the reader through Stripe's test helper."""
    return client.v1.test_helpers.terminal.readers.present_payment_method(
        reader, {"card_present": {"number": card}, "type": "card_present"}
    )


def pay(client: stripe.StripeClient, reader: str, amount: int = 1000, *,
        capture_method: str = "manual", card: str = "4242424242424242") -> stripe.PaymentIntent:
    """Create, process and tap: the PaymentIntent after the reader's answer."""
    intent = new_intent(client, amount, capture_method=capture_method)
    process(client, reader, intent.id)
    tap(client, reader, card)
    return client.v1.payment_intents.retrieve(intent.id)


def wait_until(check: Callable[[], bool]) -> None:
    """Poll `check` every few milliseconds until it holds; fail after WAIT_LIMIT_S."""
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail("the emulator never reached the expected state")
        time.sleep(0.005)


def control(url: str, method: str, name: str, body: Any = None) -> Any:
    """Call an /_emulator/ control endpoint; return its JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{url}/_emulator/{name}", data=data, method=method)
    with urllib.request.urlopen(request, timeout=WAIT_LIMIT_S) as response:
        return json.loads(response.read())


def raw_post(url: str, path: str, form: str, *, key: str | None = None,
             token: str = API_KEY) -> tuple[int, dict[str, Any]]:
    """POST a raw form body; return (status, JSON body) even for errors."""
    headers = {"Authorization": f"Bearer {token}",
               "Content-Type": "application/x-www-form-urlencoded"}
    if key is not None:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(f"{url}{path}", data=form.encode(), headers=headers,
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=WAIT_LIMIT_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
