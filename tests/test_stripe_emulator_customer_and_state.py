"""The simulated customer, the state file across restarts, the /_emulator/ control paths and
the standalone `serve` process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import stripe
import stripe_support
from stripe_support import connect, control, new_intent, process, wait_until

from kiosk.sim.stripe_emulator import StripeEmulator

emulator = stripe_support.emulator
client = stripe_support.client
reader = stripe_support.reader


def _status(client: stripe.StripeClient, intent_id: str) -> str:
    return str(client.v1.payment_intents.retrieve(intent_id).status)


def test_a_tapping_customer_pays_after_the_chosen_seconds_with_manual_capture(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    emulator.customer("tap", after_s=30)
    intent = new_intent(client)
    process(client, reader, intent.id)
    emulator.advance_clock(20)
    assert _status(client, intent.id) == "requires_payment_method"
    emulator.advance_clock(15)
    assert _status(client, intent.id) == "requires_capture"
    assert client.v1.terminal.readers.retrieve(reader).action.status == "succeeded"


def test_a_tapping_customer_completes_an_automatic_capture_payment(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    emulator.customer("tap", after_s=30, card="5555555555554444")
    intent = new_intent(client, capture_method="automatic")
    process(client, reader, intent.id)
    emulator.advance_clock(31)
    paid = client.v1.payment_intents.retrieve(intent.id, {"expand": ["latest_charge"]})
    assert paid.status == "succeeded"
    assert paid.latest_charge.payment_method_details.card_present.brand == "mastercard"


def test_the_background_ticker_lets_the_customer_tap_in_real_time(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    emulator.customer("tap", after_s=0.05)
    intent = new_intent(client)
    process(client, reader, intent.id)
    wait_until(lambda: _status(client, intent.id) == "requires_capture")
    assert _status(client, intent.id) == "requires_capture"


def test_a_customer_who_never_taps_leaves_the_payment_waiting(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    emulator.customer("never")
    intent = new_intent(client)
    process(client, reader, intent.id)
    emulator.advance_clock(3600)
    assert _status(client, intent.id) == "requires_payment_method"
    assert client.v1.terminal.readers.retrieve(reader).action.status == "in_progress"


def test_a_tap_meant_for_a_cancelled_payment_does_not_pay_the_next_one(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    emulator.customer("tap", after_s=30)
    first = new_intent(client)
    process(client, reader, first.id)
    emulator.advance_clock(20)
    client.v1.terminal.readers.cancel_action(reader)
    emulator.customer("never")
    second = new_intent(client)
    process(client, reader, second.id)
    emulator.advance_clock(15)
    assert _status(client, second.id) == "requires_payment_method"


def test_a_late_customer_pays_whatever_the_reader_is_waiting_for_when_they_tap(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    emulator.customer("late", after_s=30)
    first = new_intent(client)
    process(client, reader, first.id)
    emulator.advance_clock(20)
    client.v1.terminal.readers.cancel_action(reader)
    emulator.customer("never")
    second = new_intent(client)
    process(client, reader, second.id)
    emulator.advance_clock(15)
    assert _status(client, second.id) == "requires_capture"
    assert _status(client, first.id) == "requires_payment_method"


def test_a_customer_whose_issuer_is_slow_leaves_the_reader_busy_meanwhile(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    emulator.customer("tap", after_s=1, auth_delay_s=20)
    intent = new_intent(client)
    process(client, reader, intent.id)
    emulator.advance_clock(2)
    assert _status(client, intent.id) == "processing"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.terminal.readers.cancel_action(reader)
    assert refused.value.code == "terminal_reader_busy"
    emulator.advance_clock(20)
    assert _status(client, intent.id) == "requires_capture"


def test_a_customer_with_an_unknown_card_is_refused() -> None:
    with pytest.raises(ValueError, match="test card"):
        StripeEmulator(clock=None).customer("tap", card="1234")


def test_a_restarted_emulator_finds_the_payments_in_its_state_file(
    tmp_path: Path, client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    intent = new_intent(client)
    process(client, reader, intent.id)
    emulator.present_card(reader)
    emulator.stop()
    restarted = StripeEmulator(clock=None, state_path=tmp_path / "stripe.json")
    restarted.start()
    try:
        again = connect(restarted.url)
        found = again.v1.payment_intents.retrieve(intent.id)
        action = again.v1.terminal.readers.retrieve(reader).action
    finally:
        restarted.stop()
    assert (found.status, found.metadata["sale_id"]) == ("requires_capture", "sale-1")
    assert action.status == "succeeded"


def test_the_state_file_is_whole_json_after_every_change_with_no_temporary_left(
    tmp_path: Path, client: stripe.StripeClient, reader: str
) -> None:
    intent = new_intent(client)
    saved = json.loads((tmp_path / "stripe.json").read_text())
    assert intent.id in saved["payment_intents"]
    assert reader in saved["readers"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["stripe.json"]


def test_an_emulator_clock_that_is_injected_cannot_be_advanced() -> None:
    fixed = StripeEmulator(clock=lambda: 1_800_000_000.0)
    with pytest.raises(RuntimeError):
        fixed.advance_clock(5)
    assert fixed.now() == 1_800_000_000.0


def test_the_control_paths_drive_the_emulator_from_another_process(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    registered = control(emulator.url, "POST", "readers", {"code": "simulated-s700"})
    reader_id = registered["id"]
    assert registered["device_type"] == "simulated_stripe_s700"
    control(emulator.url, "POST", "customer", {"behaviour": "tap", "after_s": 60})
    intent = new_intent(client)
    process(client, reader_id, intent.id)
    before = control(emulator.url, "POST", "clock", {"seconds": 61})["now"]
    assert before >= emulator.now() - 1
    assert _status(client, intent.id) == "requires_capture"
    state = control(emulator.url, "GET", "state")
    assert state["payment_intents"][intent.id]["status"] == "requires_capture"
    assert "idempotency" not in state
    requests = control(emulator.url, "GET", "requests")["requests"]
    assert [r["path"] for r in requests][-1] == f"/v1/payment_intents/{intent.id}"
    assert requests[0]["executed"] is True


def test_a_card_is_presented_through_the_control_path(
    client: stripe.StripeClient, emulator: StripeEmulator, reader: str
) -> None:
    intent = new_intent(client)
    process(client, reader, intent.id)
    control(emulator.url, "POST", "present", {"reader_id": reader, "card": "378282246310005"})
    charge = client.v1.payment_intents.retrieve(intent.id, {"expand": ["latest_charge"]})
    assert charge.latest_charge.payment_method_details.card_present.brand == "amex"


def test_serve_prints_its_url_first_and_stops_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "served.json"
    code = (
        "from pathlib import Path; from kiosk.sim.stripe_emulator import serve; "
        f"serve(0, Path({str(state)!r}))"
    )
    served = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert served.stdout is not None
        url = served.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        made = new_intent(connect(url))
        served.send_signal(signal.SIGTERM)
        assert served.wait(timeout=10) == 0
    finally:
        if served.poll() is None:
            served.kill()
            served.wait()
    assert made.id in json.loads(state.read_text())["payment_intents"]


def test_the_state_survives_a_sigkill_of_the_standalone_emulator(tmp_path: Path) -> None:
    state = tmp_path / "killed.json"
    code = (
        "from pathlib import Path; from kiosk.sim.stripe_emulator import serve; "
        f"serve(0, Path({str(state)!r}))"
    )
    served = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert served.stdout is not None
        made = new_intent(connect(served.stdout.readline().strip()))
    finally:
        served.kill()
        served.wait()
    restarted = StripeEmulator(clock=time.time, state_path=state)
    assert [intent["id"] for intent in restarted.payment_intents()] == [made.id]
