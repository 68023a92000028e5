"""Saving the emulated account to one JSON file, atomically, and loading it at start.

Written to a temporary file in the same folder, fsynced, renamed over the old file and the
folder fsynced: a crash leaves either the old state or the new one, never half a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kiosk.sim.stripe_emulator.objects import Account


def save(account: Account, path: Path) -> None:
    """Write the whole account to `path` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    data = json.dumps(account.to_json(), separators=(",", ":"))
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def load(path: Path) -> Account:
    """The account saved at `path`, or a new empty one if there is no file yet."""
    if not path.exists():
        return Account()
    return Account.from_json(json.loads(path.read_text(encoding="utf-8")))
