"""The payment overhead benchmark keeps running: three sales, one JSON object of figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_payment_overhead_benchmark_runs_three_sales_and_prints_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "payment_overhead.py"), "--sales", "3",
         "--json"],
        capture_output=True, text=True, check=True, timeout=120, cwd=ROOT)
    figures = json.loads(result.stdout)
    assert figures["sales"] == 3
    for key in ("emulator_latency_ms", "poll_interval_ms", "baseline_round_trip_ms_p50",
                "tap_to_paid_ms_p50", "tap_to_paid_ms_p95", "tap_to_paid_ms_max",
                "tap_to_paid_target_ms", "tap_to_paid_ratio", "api_calls_ratio"):
        assert figures[key] > 0, key
    assert figures["posts_per_sale_max"] == 3  # display, create, process
    assert figures["api_calls_per_sale_max"] >= figures["api_calls_excluding_polls_before_tap_max"]
    assert figures["api_calls_target"] == 6
    assert isinstance(figures["tap_to_paid_ok"], bool)
    assert isinstance(figures["api_calls_ok"], bool)
    assert "counted" in figures
