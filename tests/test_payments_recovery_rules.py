"""Recovery's rules for PaymentIntents found at Stripe: the capture age, duplicates, orphans
and intents of other installs.

Every state is built with the real payment service and the emulator; PaymentIntents the
kiosk never made are created through the real stripe client with the metadata a kiosk
would give them. The payment service (and the desk of a bare `Recovery`) runs on an injected
UTC clock (`WallClock`) that the tests move past ``capture_max_age_s``; the emulator stamps
``created`` on its own clock, which stays at real time. Amounts are minor units.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import payments_support
from payments_support import API_KEY, PaymentRig, cart, outbox_payloads, rig

from kiosk.payments.reports import RecoveryReport
from kiosk.payments.stripe.api import StripeGateway, build_client
from kiosk.payments.stripe.ledger import PaymentLedger
from kiosk.payments.stripe.recovery import Recovery
from kiosk.payments.stripe.terminal import StripeTerminal
from kiosk.sim.stripe_emulator import Fault

__all__ = ["rig"]

CAPTURE_MAX_AGE_S = 3600.0
"""The settings' ``capture_max_age_s`` in these tests (seconds)."""
FOREIGN_INSTALL = "f" * 32
"""The install id of another kiosk database."""


class WallClock:
    """An aware UTC clock that starts at the emulator's time and moves only when told."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward."""
        with self._lock:
            self._now += timedelta(seconds=seconds)


class Kiosk:
    """One kiosk's payment side on an injected clock, and a stripe client for what it did not
    do itself (intents made by a lost run, another install, or by hand)."""

    def __init__(self, rig: PaymentRig, capture: str = "automatic") -> None:
        self.rig = rig
        self.clock = WallClock(datetime.fromtimestamp(rig.emulator.now(), UTC))
        self.settings = payments_support.test_settings(rig.reader_id, capture=capture,
                                      capture_max_age_s=CAPTURE_MAX_AGE_S)
        self.client = build_client(API_KEY, rig.emulator.url, request_timeout_s=5,
                                   max_network_retries=0)
        self.service = StripeTerminal(client=self.client, store=rig.store,
                                      settings=self.settings, events=rig.events,
                                      clock=self.clock, monotonic=rig.clock)
        self.service.start()
        rig.services.append(self.service)
        self.install_id = str(rig.query(
            "SELECT value FROM meta WHERE key = 'install_id'")[0][0])

    # ---------------------------------------------------------------- states

    def paid_sale(self, amount: int) -> str:
        """A sale paid by card through the service."""
        sale_id = self.rig.new_sale(amount)
        self.service.pay(sale_id, amount, cart(amount))
        self.rig.events.wait_for("phase", sale_id, "waiting_for_card")
        self.rig.emulator.present_card(self.rig.reader_id)
        self.rig.events.wait_for("paid", sale_id)
        return sale_id

    def returned_sale(self, amount: int) -> str:
        """A sale whose try was withdrawn: attempt ``intent_created``, sale ``open``, its
        PaymentIntent waiting for a method."""
        sale_id = self.rig.new_sale(amount)
        seen = self.rig.events.count()
        self.service.pay(sale_id, amount, cart(amount))
        self.rig.events.wait_for("phase", sale_id, "waiting_for_card", after=seen)
        self.service.cancel_waiting(sale_id)
        self.rig.events.wait_for("cancelled", sale_id, after=seen)
        attempt = self.rig.attempt(sale_id)
        assert (attempt["state"], self.rig.sale_state(sale_id)) == ("intent_created", "open")
        return sale_id

    def authorised_sale(self, amount: int) -> str:
        """A sale (manual capture) whose card was authorised and whose captures kept failing
        until the kiosk stopped: attempt ``authorised``, PaymentIntent ``requires_capture``.
        The service is stopped (the live flow would retry the capture)."""
        rig = self.rig
        rig.emulator.inject(Fault(kind="error_500_before", method="POST", path=r"/capture$",
                                  times=100_000))
        sale_id = rig.new_sale(amount)
        seen = rig.events.count()
        self.service.pay(sale_id, amount, cart(amount))
        rig.events.wait_for("phase", sale_id, "waiting_for_card", after=seen)
        rig.emulator.present_card(rig.reader_id)
        for _ in range(4000):
            if rig.attempt(sale_id)["state"] == "authorised":
                break
            time.sleep(0.005)
        self.service.stop()
        rig.emulator.clear_faults()
        assert rig.attempt(sale_id)["state"] == "authorised"
        (intent,) = rig.intents_for(sale_id)
        assert intent["status"] == "requires_capture"
        return sale_id

    def intent(self, sale_id: str, amount: int, *, capture: str = "manual",
               install_id: str | None = None, tap: bool = False) -> dict[str, Any]:
        """A PaymentIntent made outside this kiosk's protocol, with the metadata a kiosk
        gives (``install_id``: this database's unless given); ``tap``: processed on the
        reader and a card presented (``requires_capture`` or ``succeeded``)."""
        created = self.client.v1.payment_intents.create({
            "amount": amount, "currency": "eur", "capture_method": capture,
            "allowed_payment_method_types": ["card_present"],
            "metadata": {"sale_id": sale_id, "kiosk_id": "lane-1",
                         "install_id": install_id or self.install_id}})
        if tap:
            self.client.v1.terminal.readers.process_payment_intent(
                self.rig.reader_id, {"payment_intent": created.id})
            self.rig.emulator.present_card(self.rig.reader_id)
        return self.stripe_intent(created.id)

    def stripe_intent(self, intent_id: str) -> dict[str, Any]:
        """The emulator's PaymentIntent ``intent_id``."""
        (found,) = [intent for intent in self.rig.emulator.payment_intents()
                    if intent["id"] == intent_id]
        return found

    def authorise_by_hand(self, intent_id: str) -> None:
        """Send ``intent_id`` to the reader and tap a card (the kiosk never recorded it)."""
        self.client.v1.terminal.readers.process_payment_intent(
            self.rig.reader_id, {"payment_intent": intent_id})
        self.rig.emulator.present_card(self.rig.reader_id)

    # ---------------------------------------------------------------- recovery

    def recover(self) -> RecoveryReport:
        """One full recovery pass of the service."""
        return self.service.recover(10)

    def scan(self) -> RecoveryReport:
        """Only the orphan scan (recovery step 2), through a bare `Recovery` on this clock."""
        self.service.stop()
        desk = PaymentLedger(gateway=StripeGateway(self.client), store=self.rig.store,
                           settings=self.settings, clock=self.clock)
        report = RecoveryReport()
        Recovery(desk).scan_intents(self.clock() - timedelta(days=1), time.monotonic() + 10,
                                    report)
        return report

    def posts_touching(self, intent_id: str, since: int) -> list[str]:
        """Paths of executed POSTs after the first ``since`` requests that name ``intent_id``."""
        return [request.path for request in self.rig.emulator.requests()[since:]
                if request.method == "POST" and intent_id in request.path and request.executed]


def anomalies(rig: PaymentRig) -> list[str]:
    """The audit actions recorded as anomalies, oldest first."""
    return [str(row[0]) for row in rig.query(
        "SELECT action FROM audit_log WHERE outcome = 'anomaly' ORDER BY rowid")]


# ------------------------------------------------------------------------ capture age


def test_the_orphan_scan_captures_an_authorisation_past_the_capture_age_when_its_attempt_is_authorised(  # noqa: E501
        rig: PaymentRig) -> None:
    kiosk = Kiosk(rig, capture="manual")
    sale_id = kiosk.authorised_sale(3300)
    kiosk.clock.advance(CAPTURE_MAX_AGE_S + 60)

    report = kiosk.scan()
    (intent,) = rig.intents_for(sale_id)
    assert report.captured == [intent["id"]] and report.paid == [sale_id]
    assert (intent["status"], intent["amount_received"]) == ("succeeded", 3300)
    attempt = rig.attempt(sale_id)
    assert (attempt["state"], attempt["captured_minor"]) == ("paid", 3300)
    assert rig.sale_state(sale_id) == "paid"
    (payload,) = outbox_payloads(rig, sale_id, "sale.paid")
    assert payload["sale"]["id"] == sale_id
    assert (payload["payment"]["payment_intent_id"], payload["payment"]["captured_minor"]) == (
        intent["id"], 3300)
    assert rig.query("SELECT kind FROM print_jobs WHERE sale_id = ?", [sale_id]) == [
        ("receipt",)]


def test_an_authorisation_of_an_open_sale_is_captured_never_cancelled_past_the_capture_age(
        rig: PaymentRig) -> None:
    # A PaymentIntent with a local attempt is captured, never released (issue 16, point 3).
    kiosk = Kiosk(rig, capture="manual")
    sale_id = kiosk.returned_sale(2200)
    intent_id = rig.attempt(sale_id)["payment_intent_id"]
    kiosk.authorise_by_hand(intent_id)
    assert kiosk.stripe_intent(intent_id)["status"] == "requires_capture"
    kiosk.clock.advance(CAPTURE_MAX_AGE_S + 60)

    report = kiosk.recover()
    assert report.cancelled == [] and report.paid == [sale_id]
    assert report.captured == [intent_id]
    intent = kiosk.stripe_intent(intent_id)
    assert (intent["status"], intent["amount_received"]) == ("succeeded", 2200)
    assert (rig.attempt(sale_id)["state"], rig.sale_state(sale_id)) == ("paid", "paid")
    assert len(outbox_payloads(rig, sale_id, "sale.paid")) == 1


def test_an_authorisation_the_sale_never_recorded_is_left_alone_below_the_capture_age(
        rig: PaymentRig) -> None:
    kiosk = Kiosk(rig, capture="manual")
    sale_id = kiosk.returned_sale(2200)
    intent_id = rig.attempt(sale_id)["payment_intent_id"]
    kiosk.authorise_by_hand(intent_id)
    kiosk.clock.advance(CAPTURE_MAX_AGE_S - 60)
    since = len(rig.emulator.requests())

    report = kiosk.recover()
    assert report.cancelled == [] and report.captured == [] and report.paid == []
    assert kiosk.stripe_intent(intent_id)["status"] == "requires_capture"
    assert kiosk.posts_touching(intent_id, since) == []
    assert (rig.attempt(sale_id)["state"], rig.sale_state(sale_id)) == ("intent_created",
                                                                        "open")


def test_an_authorisation_of_ours_with_no_local_sale_is_cancelled_whatever_its_age(
        rig: PaymentRig) -> None:
    kiosk = Kiosk(rig)
    young = kiosk.intent(str(uuid.uuid4()), 1900, tap=True)
    kiosk.clock.advance(CAPTURE_MAX_AGE_S + 60)
    old = kiosk.intent(str(uuid.uuid4()), 2900, tap=True)  # created now: younger than the age
    assert young["status"] == old["status"] == "requires_capture"

    report = kiosk.recover()
    assert sorted(report.cancelled) == sorted([young["id"], old["id"]])
    for intent_id in (young["id"], old["id"]):
        assert kiosk.stripe_intent(intent_id)["status"] == "canceled"
    assert [found["what"] for found in report.anomalies] == ["intent_without_sale"] * 2
    assert all(not charge["captured"] for charge in rig.emulator.charges())
    assert rig.query("SELECT COUNT(*) FROM payment_attempts") == [(0,)]


# ------------------------------------------------------------------------ duplicates


def test_a_duplicate_intent_still_needing_a_method_is_cancelled_and_the_sales_own_stays(
        rig: PaymentRig) -> None:
    kiosk = Kiosk(rig)
    sale_id = kiosk.returned_sale(1500)
    own = rig.attempt(sale_id)["payment_intent_id"]
    duplicate = kiosk.intent(sale_id, 1500, capture="automatic")

    report = kiosk.recover()
    assert report.cancelled == [duplicate["id"]]
    cancelled = kiosk.stripe_intent(duplicate["id"])
    assert (cancelled["status"], cancelled["cancellation_reason"]) == ("canceled", "duplicate")
    assert kiosk.stripe_intent(own)["status"] == "requires_payment_method"
    assert rig.attempt(sale_id)["payment_intent_id"] == own
    assert rig.sale_state(sale_id) == "open"


def test_a_second_authorisation_of_a_paid_sale_is_cancelled_and_reported(
        rig: PaymentRig) -> None:
    kiosk = Kiosk(rig)
    sale_id = kiosk.paid_sale(1800)
    own = rig.attempt(sale_id)["payment_intent_id"]
    duplicate = kiosk.intent(sale_id, 1800, tap=True)
    assert duplicate["status"] == "requires_capture"

    report = kiosk.recover()
    assert report.cancelled == [duplicate["id"]]
    cancelled = kiosk.stripe_intent(duplicate["id"])
    assert (cancelled["status"], cancelled["cancellation_reason"]) == ("canceled", "duplicate")
    assert [found["what"] for found in report.anomalies] == ["second_authorisation"]
    assert kiosk.stripe_intent(own)["status"] == "succeeded"
    assert rig.attempt(sale_id)["payment_intent_id"] == own
    assert len(outbox_payloads(rig, sale_id, "sale.paid")) == 1
    assert [charge["payment_intent"] for charge in rig.emulator.charges()
            if charge["captured"]] == [own]


def test_a_sale_paid_twice_is_reported_for_staff_and_neither_payment_is_touched(
        rig: PaymentRig) -> None:
    kiosk = Kiosk(rig)
    sale_id = kiosk.paid_sale(1800)
    own = rig.attempt(sale_id)["payment_intent_id"]
    duplicate = kiosk.intent(sale_id, 1800, capture="automatic", tap=True)
    assert duplicate["status"] == "succeeded"
    since = len(rig.emulator.requests())

    report = kiosk.recover()
    assert [found["what"] for found in report.anomalies] == ["sale_paid_twice"]
    assert report.cancelled == [] and report.paid == []
    assert kiosk.stripe_intent(duplicate["id"])["status"] == "succeeded"
    assert kiosk.posts_touching(duplicate["id"], since) == []
    assert rig.emulator.refunds() == []
    assert rig.attempt(sale_id)["payment_intent_id"] == own
    assert "payment.sale_paid_twice" in anomalies(rig)


def test_money_taken_with_no_local_sale_is_reported_and_never_cancelled_or_refunded(
        rig: PaymentRig) -> None:
    kiosk = Kiosk(rig)
    orphan = kiosk.intent(str(uuid.uuid4()), 2400, capture="automatic", tap=True)
    assert orphan["status"] == "succeeded"
    kiosk.clock.advance(CAPTURE_MAX_AGE_S + 60)
    since = len(rig.emulator.requests())

    first = kiosk.recover()
    second = kiosk.recover()  # the sweep's window starts where the finished one started
    assert [found["what"] for found in first.anomalies] == ["money_without_sale"]
    assert second.anomalies == []
    for report in (first, second):
        assert report.cancelled == [] and report.paid == [] and report.adopted == []
    assert kiosk.stripe_intent(orphan["id"])["status"] == "succeeded"
    assert kiosk.posts_touching(orphan["id"], since) == []
    assert [request for request in rig.emulator.requests()[since:]
            if request.path == "/v1/refunds" and request.method == "POST"] == []
    assert rig.emulator.refunds() == []
    assert "payment.money_without_sale" in anomalies(rig)


# ------------------------------------------------------------------------ foreign


def test_intents_of_another_install_are_reported_and_never_touched_even_past_the_age(
        rig: PaymentRig) -> None:
    kiosk = Kiosk(rig)
    sale_id = rig.new_sale(2600)  # a local sale the other install's intents happen to name
    authorised = kiosk.intent(sale_id, 2600, install_id=FOREIGN_INSTALL, tap=True)
    paid = kiosk.intent(sale_id, 2600, capture="automatic", install_id=FOREIGN_INSTALL,
                        tap=True)
    waiting = kiosk.intent(sale_id, 2600, install_id=FOREIGN_INSTALL)
    foreign = {authorised["id"]: "requires_capture", paid["id"]: "succeeded",
               waiting["id"]: "requires_payment_method"}
    assert {intent_id: kiosk.stripe_intent(intent_id)["status"]
            for intent_id in foreign} == foreign
    kiosk.clock.advance(CAPTURE_MAX_AGE_S + 60)
    since = len(rig.emulator.requests())

    report = kiosk.recover()
    assert sorted(report.foreign) == sorted(foreign)
    assert report.cancelled == [] and report.captured == [] and report.adopted == []
    assert report.anomalies == [] and report.paid == []
    assert {intent_id: kiosk.stripe_intent(intent_id)["status"]
            for intent_id in foreign} == foreign
    for intent_id in foreign:
        assert kiosk.posts_touching(intent_id, since) == []
    assert rig.query("SELECT COUNT(*) FROM payment_attempts") == [(0,)]
    assert rig.sale_state(sale_id) == "open"
