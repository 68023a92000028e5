"""python-escpos's printer database is parsed once and cached, and no process litters /tmp."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

IMPORT_PRINTER = "import kiosk.devices.printer, kiosk.receipts.escpos_render"


def run_python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ESCPOS_CAPABILITIES_PICKLE_DIR",
                                                            "CACHE_DIRECTORY")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["TMPDIR"] = str(tmp_path / "tmp")
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
        check=True,
    )


def test_the_first_import_fills_the_cache_and_leaves_no_temporary_folder(tmp_path: Path) -> None:
    run_python(IMPORT_PRINTER, tmp_path)
    cached = list((tmp_path / "cache" / "kiosk" / "escpos").glob("*.capabilities.pickle"))
    assert len(cached) == 1
    assert list((tmp_path / "tmp").iterdir()) == []


def test_later_imports_read_the_cache_and_still_leave_nothing_behind(tmp_path: Path) -> None:
    run_python(IMPORT_PRINTER, tmp_path)
    (cached,) = (tmp_path / "cache" / "kiosk" / "escpos").glob("*.capabilities.pickle")
    first = cached.stat().st_mtime_ns
    shown = run_python(
        IMPORT_PRINTER + "; import os; print(os.environ['ESCPOS_CAPABILITIES_PICKLE_DIR'])",
        tmp_path,
    )
    assert shown.stdout.strip() == str(cached.parent)
    assert cached.stat().st_mtime_ns == first  # read, not written again
    assert list((tmp_path / "tmp").iterdir()) == []
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no staging files left
