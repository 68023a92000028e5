"""What a started kiosk has loaded, and what waits for its first use.

A kiosk that has started and takes scans has not loaded python-escpos (with Pillow's drawing,
qrcode and python-barcode: about 5 MiB, loaded with the first receipt printed) nor built the
staff menu (its modules load when a staff member first needs it); the customer's screens read
what staff stored (closed, the runtime settings) without it. Each check runs in a fresh Python
process, so modules other tests loaded do not count.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

STARTED_KIOSK = """
import json, sys
from datetime import UTC, datetime
from pathlib import Path
from kiosk.app import Kiosk
from kiosk.config import demo_settings
from kiosk.main_queue import MainQueue
from kiosk.sim.demo_shop import prepare_demo
from kiosk.store.db import open_database

state = Path(sys.argv[1])
settings = demo_settings(state)
db = open_database(state / "kiosk.db")
prepare_demo(db, settings, now=datetime(2026, 11, 1, tzinfo=UTC), work_dir=state.parent)
db.close()
queue = MainQueue()
kiosk = Kiosk(settings, post_to_main=queue.post)
kiosk.start()
stored = kiosk.staff_settings
seen = {
    "escpos": "escpos" in sys.modules,
    "staff_menu": "kiosk.staff_menu" in sys.modules,
    "closed": stored.closed(),
    "values": stored.runtime_values(),
}
menu_values = {key: value for key, _what, value in kiosk.staff.runtime_settings()}
seen["menu_values"] = menu_values
seen["menu_closed"] = kiosk.staff.closed
seen["values_after_menu"] = stored.runtime_values()
kiosk.close()
print(json.dumps(seen))
"""


def test_a_started_kiosk_has_loaded_neither_the_printer_driver_nor_the_staff_menu(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", STARTED_KIOSK, str(state)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["escpos"] is False
    assert seen["staff_menu"] is False
    # Read from the store without the menu, the answers are the menu's own.
    assert seen["closed"] is False and seen["menu_closed"] is False
    assert "sound.volume" in seen["values"] and "shop.default_language" in seen["values"]
    assert seen["values"] == seen["menu_values"] == seen["values_after_menu"]
