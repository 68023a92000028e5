"""The whole-flow fault soak in CI: at least 100 kills of a real kiosk process, every invariant.

`bench/soak.py` runs the Stripe emulator, the reference back office, the virtual printer and
the kiosk (the facade driven headless) as processes of their own, kills the kiosk at crash
points and random moments while emulator and back-office faults fire, restarts it cleanly,
reconciles, drains sync, and compares Stripe's objects, the kiosk's database, the back
office's events and the receipts. A new seed each run explores new schedules; a failure shows
the seed and the mismatches (``bench/soak.py --seed N`` replays the plans, faults and kill
choices).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KILLS = 100
GUARD_S = 600
"""A guard against a hung soak, seconds; never a timing assertion."""


@pytest.mark.timeout(GUARD_S + 30)
def test_a_hundred_kills_of_the_kiosk_under_faults_leave_every_payment_consistent(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "soak.py"),
            "--kills",
            str(KILLS),
            "--customers",
            "1",
            "--final-customers",
            "10",
            "--idle-window",
            "5",
            "--dir",
            str(tmp_path / "soak"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        cwd=ROOT,
        check=False,
    )
    seed_line = result.stderr.splitlines()[0] if result.stderr else "no seed printed"
    assert result.stdout, f"{seed_line}\n{result.stderr[-3000:]}"
    report = json.loads(result.stdout)
    assert report["kills"] >= KILLS
    assert (
        report["kills_by_kind"].get("crashpoint", 0)
        + report["kills_by_kind"].get("kill_pid_after", 0)
        > 0
    ), report["kills_by_kind"]
    assert report["kills_by_kind"].get("timed", 0) > 0, report["kills_by_kind"]
    assert report["final_customers"] == 10
    assert report["paid"] >= report["final_customers_paid"] > 0
    assert report["clean_exit_codes"] == [0, 0, 0]
    assert report["sync_drained"] is True
    assert report["faults"], "no fault was injected"
    assert report["endurance"]["samples"] > 0
    assert report["mismatches_by_kind"] == {}, f"{seed_line}: {report['mismatch_examples']}"
    assert result.returncode == 0, f"{seed_line}\n{result.stderr[-3000:]}"
