"""The availability probe, crash points and outcome codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from payments_support import PaymentRig, rig

from kiosk.payments.crashpoints import CRASHPOINTS
from kiosk.payments.outcomes import Outcome
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
