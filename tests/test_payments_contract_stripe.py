"""The card-provider contract (tests/payments_contract.py) run against Stripe Terminal.

The one Stripe-specific part is the ``contract`` fixture below: the real `StripeTerminal`
(the stripe library over HTTP) against the Stripe emulator on loopback, a real store, and
tests/crash_driver.py as the kiosk process killed at a crash point. A next provider adds a
module like this one with its own fixture and imports the same tests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from payments_contract import (
    test_a_kiosk_killed_at_a_write_ahead_step_recovers_to_exactly_one_charge,
    test_a_lost_answer_followed_by_refused_retries_is_never_taken_for_not_sent,
    test_a_lost_answer_is_looked_up_and_never_reported_as_a_decline,
    test_a_sale_closed_while_its_payment_waited_for_another_try_leaves_nothing_live,
    test_a_sale_ending_with_its_card_authorised_is_paid_in_both_capture_modes,
    test_a_sale_staff_void_releases_its_authorisation_as_an_anomaly,
    test_a_tapped_card_pays_the_sale_once,
    test_an_authorisation_cancelled_at_the_provider_ends_its_sale_and_blocks_no_other,
    test_an_unreachable_provider_is_not_a_card_decline_and_charges_nothing,
    test_recovery_at_start_hands_back_a_payment_no_card_was_presented_for,
    test_recovery_captures_an_old_authorisation_it_could_not_look_up,
    test_refunds_are_capped_at_what_was_captured,
)
from payments_support import API_KEY, PaymentRig, rig
from sqlite_utils import Database

from kiosk.payments.provider import CardProvider
from kiosk.payments.stripe.api import build_client
from kiosk.sim.stripe_emulator import Fault

__all__ = [
    "rig",
    "test_a_kiosk_killed_at_a_write_ahead_step_recovers_to_exactly_one_charge",
    "test_a_lost_answer_followed_by_refused_retries_is_never_taken_for_not_sent",
    "test_a_lost_answer_is_looked_up_and_never_reported_as_a_decline",
    "test_a_sale_closed_while_its_payment_waited_for_another_try_leaves_nothing_live",
    "test_a_sale_ending_with_its_card_authorised_is_paid_in_both_capture_modes",
    "test_a_sale_staff_void_releases_its_authorisation_as_an_anomaly",
    "test_a_tapped_card_pays_the_sale_once",
    "test_an_authorisation_cancelled_at_the_provider_ends_its_sale_and_blocks_no_other",
    "test_an_unreachable_provider_is_not_a_card_decline_and_charges_nothing",
    "test_recovery_at_start_hands_back_a_payment_no_card_was_presented_for",
    "test_recovery_captures_an_old_authorisation_it_could_not_look_up",
    "test_refunds_are_capped_at_what_was_captured",
]

DRIVER = Path(__file__).resolve().parent / "crash_driver.py"
DRIVER_TIMEOUT_S = 40.0
APPROVED_CARD = "4242424242424242"
REFUSAL_S = 4.0
"""Seconds the emulator refuses connections after acting without an answer (real time: the
provider's retries, 1 s timeout and backoff, all end inside it)."""
TAKEN = ("succeeded", "requires_capture")
"""PaymentIntent statuses in which the money is taken (captured or authorised)."""


class StripeContract:
    """`payments_contract.ContractFixture` for Stripe Terminal on the emulator."""

    def __init__(self, rig: PaymentRig) -> None:
        self.rig = rig
        self.events = rig.events
        self.overrides: dict[str, Any] = {}
        self.driver_options: list[str] = []

    def provider(self) -> CardProvider:
        return self.rig.service(**self.overrides)

    def restart(self) -> None:
        for service in self.rig.services:
            service.stop()
        self.rig.services.clear()
        self.rig.restart_store()

    def new_sale(self, total_minor: int) -> str:
        return self.rig.new_sale(total_minor)

    def sale_state(self, sale_id: str) -> str:
        return self.rig.sale_state(sale_id)

    def customer_taps(self) -> None:
        self.rig.emulator.customer("tap", card=APPROVED_CARD, after_s=0.2)

    def customer_never_taps(self) -> None:
        self.rig.emulator.customer("never")

    def lose_next_answer(self) -> None:
        self.rig.emulator.inject(Fault(kind="drop_after", path=r"/process_payment_intent$"))

    def provider_unreachable(self) -> None:
        for method in ("GET", "POST"):
            self.rig.emulator.inject(Fault(kind="error_500_before", method=method,
                                           times=10_000))

    def charges(self, sale_id: str) -> list[int]:
        return [int(intent["amount"]) for intent in self.rig.intents_for(sale_id)
                if intent.get("status") in TAKEN]

    def live_payments(self, sale_id: str) -> int:
        return sum(1 for intent in self.rig.intents_for(sale_id)
                   if intent.get("status") not in ("canceled", "succeeded"))

    def refunded_minor(self, sale_id: str) -> int:
        intents = {intent["id"] for intent in self.rig.intents_for(sale_id)}
        return sum(int(refund["amount"]) for refund in self.rig.emulator.refunds()
                   if refund.get("payment_intent") in intents
                   and refund.get("status") == "succeeded")

    def authorise_then_capture(self) -> None:
        self.overrides["capture"] = "manual"
        self.driver_options = ["--capture", "manual"]

    def authorisations_count_as_old(self) -> None:
        self.overrides["capture_max_age_s"] = 0

    def cancel_authorisation_at_provider(self, sale_id: str) -> None:
        client = build_client(API_KEY, self.rig.emulator.url, request_timeout_s=5,
                              max_network_retries=0)
        for intent in self.rig.intents_for(sale_id):
            if intent.get("status") == "requires_capture":
                client.v1.payment_intents.cancel(intent["id"])

    def fail_next_lookup(self) -> None:
        self.rig.emulator.inject(Fault(kind="error_500_before", method="GET",
                                       path=r"/v1/payment_intents/pi_"))

    def lose_answer_then_refuse_connections(self) -> None:
        self.overrides.update(max_network_retries=2, request_timeout_s=1)
        self.rig.emulator.inject(Fault(kind="act_then_refuse", seconds=REFUSAL_S,
                                       path=r"/process_payment_intent$"))

    def read(self, job: Callable[[Database], Any]) -> Any:
        return self.rig.store.submit(job).result(30)

    def pay_in_a_dying_process(self, sale_id: str, total_minor: int, crash_at: str) -> None:
        env = {**os.environ, "KIOSK_CRASH_AT": crash_at}
        done = subprocess.run(
            [sys.executable, str(DRIVER), str(self.rig.path), self.rig.emulator.url,
             self.rig.reader_id, sale_id, "pay", "--amount", str(total_minor),
             *self.driver_options],
            env=env, capture_output=True, text=True, timeout=DRIVER_TIMEOUT_S, check=False)
        assert done.returncode == -signal.SIGKILL, (crash_at, done.returncode, done.stdout,
                                                     done.stderr[-2000:])


@pytest.fixture
def contract(rig: PaymentRig) -> Iterator[StripeContract]:
    yield StripeContract(rig)
