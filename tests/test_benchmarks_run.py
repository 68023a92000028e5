"""Benchmarks are not tests, but they must keep running: each runs small and prints JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_scan_latency_benchmark_runs_small_and_prints_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scan_latency.py"), "--scans", "30", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=ROOT,
    )
    figures = json.loads(result.stdout)
    assert figures["scans"] == 30
    for key in ("p50_ms", "p99_ms", "baseline_p50_ms", "baseline_p99_ms", "p99_ratio"):
        assert figures[key] > 0, key
    assert figures["p99_extra_ms"] == figures["p99_ms"] - figures["baseline_p99_ms"]
