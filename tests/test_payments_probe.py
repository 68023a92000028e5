"""The availability probe, crash points and outcome codes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from payments_support import API_KEY, PaymentRig, rig

from kiosk.payments.crashpoints import CRASHPOINTS
from kiosk.payments.outcomes import Outcome
from kiosk.payments.stripe.api import StripeGateway, build_client
from kiosk.payments.stripe.probe import Availability, StripeConnection, http_probe, probe
from kiosk.sim.stripe_emulator import Fault

__all__ = ["rig"]


def test_the_first_probe_reports_payments_available(rig: PaymentRig) -> None:
    service = rig.service()
    rig.events.wait_for("available", value="True:ok")
    assert service.available == (True, "ok")


def test_an_offline_reader_is_reported_on_the_next_probe(rig: PaymentRig) -> None:
    service = rig.service(probe_s=30)
    rig.events.wait_for("available", value="True:ok")
    rig.emulator.inject(Fault(kind="reader_offline", method="GET", path=r"/terminal/readers/"))
    rig.clock.advance(31)
    rig.events.wait_for("available", value="False:reader_offline")
    assert service.available == (False, "reader_offline")


def test_an_unreachable_stripe_is_reported_and_its_return_too(rig: PaymentRig) -> None:
    service = rig.service(probe_s=30)
    rig.events.wait_for("available", value="True:ok")
    rig.emulator.inject(Fault(kind="error_500_before", method="GET",
                              path=r"/terminal/readers/", times=1))
    rig.clock.advance(31)
    rig.events.wait_for("available", value="False:stripe_unreachable")
    seen = rig.events.count()
    rig.clock.advance(31)
    rig.events.wait_for("available", value="True:ok", after=seen)
    assert service.available == (True, "ok")


def test_outcome_codes_are_the_documented_strings() -> None:
    assert {outcome.value for outcome in Outcome} >= {
        "approved", "card_declined", "cancelled_on_reader", "reader_busy", "reader_offline",
        "outcome_unknown", "stripe_unreachable", "payment_timed_out", "authorisation_too_slow"}


def test_a_crash_point_named_in_the_environment_kills_the_process() -> None:
    code = ("from kiosk.payments.crashpoints import crashpoint\n"
            "crashpoint('before_post:create')\n"
            "crashpoint('after_post:create')\n"
            "print('survived')\n")
    env = dict(os.environ, KIOSK_CRASH_AT="after_post:create")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == -signal.SIGKILL
    assert "survived" not in done.stdout


def test_a_crash_point_with_a_count_fires_on_that_hit_only() -> None:
    code = ("from kiosk.payments.crashpoints import crashpoint\n"
            "crashpoint('before_commit:paid'); print('one', flush=True)\n"
            "crashpoint('before_commit:paid'); print('two', flush=True)\n")
    env = dict(os.environ, KIOSK_CRASH_AT="before_commit:paid#2")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == -signal.SIGKILL
    assert done.stdout.split() == ["one"]


def test_every_crash_point_name_is_documented() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "PAYMENTS.md").read_text(encoding="utf-8")
    assert [name for name in CRASHPOINTS if f"`{name}`" not in docs] == []


def test_the_http_probe_answers_as_the_library_probe(rig: PaymentRig) -> None:
    # The probe that runs before the stripe library is loaded (plain urllib) must tell the
    # same things: online, offline, unreachable, and a refused key with its code.
    connection = StripeConnection(API_KEY, rig.emulator.url)
    assert http_probe(connection, rig.reader_id, 5) == Availability(True, "ok")
    assert http_probe(connection, "", 5) == Availability(False, "no_reader_configured")

    rig.emulator.inject(Fault(kind="reader_offline", method="GET", path=r"/terminal/readers/"))
    assert http_probe(connection, rig.reader_id, 5) == Availability(False, "reader_offline")
    rig.emulator.inject(Fault(kind="error_500_before", method="GET", path=r"/terminal/readers/"))
    assert http_probe(connection, rig.reader_id, 5) == Availability(False, "stripe_unreachable")
    rig.emulator.inject(Fault(kind="drop_after", method="GET", path=r"/terminal/readers/"))
    assert http_probe(connection, rig.reader_id, 5) == Availability(False, "stripe_unreachable")

    missing = http_probe(connection, "tmr_NoSuchReader", 5)
    assert missing == Availability(False, "stripe_unreachable:resource_missing")
    assert missing == library_probe(API_KEY, rig, "tmr_NoSuchReader")
    refused = http_probe(StripeConnection("not-a-key", rig.emulator.url), rig.reader_id, 5)
    assert not refused.available and refused.reason.startswith("stripe_unreachable:")
    assert refused == library_probe("not-a-key", rig, rig.reader_id)


def library_probe(api_key: str, rig: PaymentRig, reader_id: str) -> Availability:
    """What the probe through the stripe library answers."""
    client = build_client(api_key, rig.emulator.url, request_timeout_s=5, max_network_retries=0)
    return probe(StripeGateway(client), reader_id)


def test_the_http_probe_of_a_closed_port_is_unreachable() -> None:
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    connection = StripeConnection(API_KEY, f"http://127.0.0.1:{port}")
    assert http_probe(connection, "tmr_Any", 2) == Availability(False, "stripe_unreachable")
