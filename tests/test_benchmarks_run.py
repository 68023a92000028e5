"""Benchmarks are not tests, but they must keep running: each runs small and prints JSON."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_the_startup_benchmark_runs_one_round_and_prints_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "startup.py"), "--rounds", "1", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        cwd=ROOT,
    )
    figures = json.loads(result.stdout)
    assert figures["rounds"] == 1
    for key in (
        "kiosk_first_frame_s_median",
        "bare_first_frame_s_median",
        "first_frame_ratio",
        "kiosk_rss_mib_median",
        "bare_rss_mib_median",
        "rss_ratio",
        "kiosk_first_frame_cpu_s_median",
        "bare_first_frame_cpu_s_median",
        "first_frame_cpu_ratio",
    ):
        assert figures[key] > 0, key
    assert figures["target"] == 1.2
    assert figures["rss_target"] == 1.4
    assert isinstance(figures["first_frame_within_target"], bool)
    assert isinstance(figures["rss_within_target"], bool)
    # the scan 50 ms after the first frame: its latency, or lost (and why), beside the steady one
    assert figures["scan_steady_ms"] > 0
    assert figures["scan_after_first_frame_lost"] in (0, 1)
    if figures["scan_after_first_frame_lost"]:
        assert figures["scan_after_first_frame_ms"] is None
        assert figures["scan_after_first_frame_refusals"]
    else:
        assert figures["scan_after_first_frame_ms"] > 0
    assert figures["scan_target_extra_ms"] == 20.0
    assert isinstance(figures["scan_within_target"], bool)


def test_the_startup_memory_table_names_the_package_of_each_allocating_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = importlib.util.spec_from_file_location("startup_bench", ROOT / "bench" / "startup.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "startup_bench", bench)  # its dataclasses look it up
    spec.loader.exec_module(bench)
    site = "/venv/lib/python3.11/site-packages"

    assert bench.package_of(f"{site}/kivy/uix/label.py") == "kivy"
    assert bench.package_of(f"{site}/yaml/__init__.py") == "yaml"
    assert bench.package_of(str(ROOT / "kiosk" / "store" / "db.py")) == "kiosk.store"
    assert bench.package_of(str(ROOT / "kiosk" / "app.py")) == "kiosk.app"
    assert bench.package_of("<frozen importlib._bootstrap_external>") == "module code"
    assert bench.package_of("<frozen abc>") == "stdlib"


def test_the_sync_benchmark_drains_a_small_queue_both_ways_and_prints_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sync.py"), "--sales", "300", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=ROOT,
    )
    figures = json.loads(result.stdout)
    assert (figures["sales"], figures["batches"], figures["batch_size"]) == (300, 3, 100)
    for key in ("ours_drain_s", "raw_loop_s", "ours_prepare_s", "ours_sales_per_s",
                "raw_sales_per_s", "ratio", "drain_target_s", "body_bytes_per_batch_mean"):
        assert figures[key] > 0, key
    assert figures["ratio_target"] == 0.8
    assert isinstance(figures["ratio_ok"], bool)
    assert isinstance(figures["drain_ok"], bool)
