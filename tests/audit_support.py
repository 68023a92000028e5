"""A kiosk database with sealed audit rows, for the audit-chain tests of the kiosk and the
back office."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from kiosk.store import audit
from kiosk.store.db import open_database
from kiosk.store.keys import StoreKeys

AUDIT_T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
"""When the first audit row is written (one more a minute)."""


def database_with_audit_rows(path: Path, keys: StoreKeys, rows: int = 6) -> Path:
    """Create ``path`` as a kiosk database holding ``rows`` audit rows sealed with ``keys``."""
    db = open_database(path, keys=keys)
    try:
        for index in range(rows):
            audit.record(
                db,
                at=AUDIT_T0 + timedelta(minutes=index),
                action="staff.pin_check",
                outcome="ok",
                staff_number=1001,
                detail={"n": index},
            )
    finally:
        db.close()
    return path
