"""The long-run benchmark in small (``bench/long_run.py``): sales through the real screens
must not leave descriptors or memory behind.

It runs the benchmark itself (three processes: the Stripe emulator, the kiosk in a window,
the benchmark) for ``SALES`` sales, a sample every ``EVERY`` after ``WARM_UP`` sales, and
checks what a kiosk selling all day depends on: no descriptor and no thread is left open by a
sale, and the growth per sale after warm-up (a least-squares line through the samples, so
one noisy sample does not decide) is far below the 260 KiB a sale that issue 15 measured.
Memory is asserted, never time: a slow machine only takes longer.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SALES = 40
WARM_UP = 10
EVERY = 5
MAX_KIB_PER_SALE = 100.0
"""The most the kiosk's resident set may grow per sale after warm-up. Issue 15 measured 260;
runs here give 40 to 50 over sales 10 to 40, while SQLite's page caches and the virtual
printer's kept jobs are still filling up to their bounds (1,000 sales: about 6)."""
MAX_PYTHON_BLOCKS_PER_SALE = 150.0
"""The most Python's allocated blocks may grow per sale after warm-up (runs: 30 to 40)."""


@pytest.mark.timeout(300)
def test_forty_sales_through_the_screens_leave_no_descriptor_and_little_memory_behind() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "long_run.py"), f"--sales={SALES}",
         f"--every={EVERY}", f"--warm-up={WARM_UP}", "--json"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    samples = figures["samples"]
    assert [sample["sales"] for sample in samples] == list(range(0, SALES + 1, EVERY))
    assert figures["warm_up_sales"] == WARM_UP
    after_warm_up = [sample for sample in samples if sample["sales"] >= WARM_UP]
    assert {sample["fds"] for sample in after_warm_up} == {after_warm_up[0]["fds"]}, samples
    assert {sample["threads"] for sample in after_warm_up} == {after_warm_up[0]["threads"]}
    assert figures["kib_per_sale_after_warm_up"] < MAX_KIB_PER_SALE, samples
    assert figures["python_blocks_per_sale_after_warm_up"] < MAX_PYTHON_BLOCKS_PER_SALE, samples
