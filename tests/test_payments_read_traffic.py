"""Stripe read traffic of an idle kiosk (issue 16, point 5), counted at the emulator.

With nothing unresolved an idle hour costs at most 12 Stripe reads, the availability probe
included (`kiosk.payments.stripe.probe.PROBE_MIN_S`), and the sweep for orphan PaymentIntents
makes at most one list call per 15 idle minutes (`kiosk.payments.stripe.sweep`), at most 5
pages per sweep; a sweep that stops at that limit is recorded for the staff menu and
``kiosk doctor``. The kiosk's monotonic clock is the rig's `SettableClock`: the idle hour
passes in steps of it, and every step waits until the payment thread has turned (never on
wall-clock speed). Every request is counted from the emulator's own log.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from payments_support import WAIT_S, PaymentRig, rig
from stripe_support import wait_until

from kiosk.payments import sweep_status
from kiosk.payments.alerts import payment_alerts
from kiosk.payments.settings import PaymentSettings
from kiosk.payments.stripe.terminal import StripeTerminal

__all__ = ["rig"]

HOUR_S = 3600.0
STEP_S = 60.0
AMOUNT = 1250
FOREIGN_INSTALL = "f" * 32


def idle_defaults() -> dict[str, float]:
    """The production probe and recovery intervals (seconds)."""
    return {
        "probe_s": PaymentSettings.probe_s,
        "recovery_every_s": PaymentSettings.recovery_every_s,
    }


def turned(service: StripeTerminal, turns: int = 3) -> None:
    """Wait until the payment thread has started ``turns`` loop turns from now."""
    for _ in range(turns):
        mark = time.monotonic()
        wait_until(lambda mark=mark: service.heartbeat > mark)


def idle_for(rig: PaymentRig, service: StripeTerminal, seconds: float) -> None:
    """Let ``seconds`` of the kiosk's monotonic clock pass idle, a step at a time."""
    for _ in range(int(seconds / STEP_S)):
        rig.clock.advance(STEP_S)
        turned(service)


def test_an_idle_hour_with_nothing_unresolved_reads_stripe_at_most_12_times(
    rig: PaymentRig,
) -> None:
    rig.emulator.customer("tap", after_s=0.1)
    service = rig.service(**idle_defaults())
    sale_id = rig.new_sale(AMOUNT)
    seen = rig.events.count()
    service.pay(sale_id, AMOUNT)
    assert rig.events.wait_for_end(sale_id, after=seen)[0] == "paid"
    idle_for(rig, service, HOUR_S)  # the first idle hour: the first sweep, a warm-up
    before = len(rig.emulator.requests())

    idle_for(rig, service, HOUR_S)

    hour = rig.emulator.requests()[before:]
    lists = [request for request in hour if request.path == "/v1/payment_intents"]
    assert len(hour) <= 12, [(request.method, request.path) for request in hour]
    assert all(request.method == "GET" for request in hour)
    assert 1 <= len(lists) <= 4, len(lists)


def create_foreign_intents(rig: PaymentRig, count: int) -> None:
    """PaymentIntents of another kiosk on the same account (in-process, no HTTP)."""
    body = urlencode(
        {
            "amount": 1000,
            "currency": "eur",
            "allowed_payment_method_types[]": "card_present",
            "metadata[install_id]": FOREIGN_INSTALL,
            "metadata[sale_id]": "x",
        }
    )
    headers = {"authorization": "Bearer sk_test_other_kiosk"}
    for _ in range(count):
        reply = rig.emulator.handle("POST", "/v1/payment_intents", "", body, headers)
        assert reply.status == 200, reply.body


def test_a_sweep_stops_after_5_pages_and_is_shown_to_staff(rig: PaymentRig) -> None:
    create_foreign_intents(rig, 520)
    service = rig.service()
    rig.emulator.customer("tap", after_s=0.1)
    sale_id = rig.new_sale(AMOUNT)
    seen = rig.events.count()
    service.pay(sale_id, AMOUNT)
    assert rig.events.wait_for_end(sale_id, after=seen)[0] == "paid"
    before = len(rig.emulator.requests())

    service.recover(WAIT_S)

    lists = [
        request
        for request in rig.emulator.requests()[before:]
        if request.path == "/v1/payment_intents"
    ]
    assert len(lists) == 5
    status = rig.store.submit(sweep_status.unfinished).result(WAIT_S)
    assert status is not None and status.pages == 5
    alerts = rig.store.submit(payment_alerts).result(WAIT_S)
    assert alerts.sweep_unfinished == status and bool(alerts)


def test_a_sweep_that_reaches_the_end_is_recorded_finished(rig: PaymentRig) -> None:
    create_foreign_intents(rig, 120)
    service = rig.service()
    rig.emulator.customer("tap", after_s=0.1)
    sale_id = rig.new_sale(AMOUNT)
    seen = rig.events.count()
    service.pay(sale_id, AMOUNT)
    assert rig.events.wait_for_end(sale_id, after=seen)[0] == "paid"

    service.recover(WAIT_S)

    status = rig.store.submit(sweep_status.last).result(WAIT_S)
    assert status is not None and status.finished and status.pages == 2
    assert not rig.store.submit(payment_alerts).result(WAIT_S)
