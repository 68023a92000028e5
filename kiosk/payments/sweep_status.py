"""How the last sweep for orphan payments ended, for the staff menu and ``kiosk doctor``.

A provider's recovery looks up its own unfinished payments by id; payments the kiosk never
recorded (a create whose answer was lost long ago, a crash before the first commit) are
found by a slow, bounded sweep of the provider's recent payments. A sweep that stops at its
page limit before reaching the end leaves older payments unseen: that is recorded here (one
``meta`` row, `META_KEY`, JSON) so staff and the doctor can say so. Functions take a store
connection (the worker's, or a read-only one for the doctor).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from sqlite_utils import Database

from kiosk.store.db import immediate_transaction

META_KEY = "payments.orphan_sweep"
"""The ``meta`` key of the last sweep's status."""


@dataclass(frozen=True)
class SweepStatus:
    """The last orphan sweep: ``finished`` (it reached the end of its window) or stopped at
    its page limit; ``at``: when it ended and ``since``: the start of the window it covered
    (UTC ISO-8601); ``pages``: list calls it made; ``next_since``: where the next sweep
    starts (the start of the last finished sweep, minus a margin)."""

    finished: bool
    at: str
    since: str
    pages: int
    next_since: str


def record(db: Database, status: SweepStatus) -> None:
    """Store ``status`` as the last sweep's."""
    with immediate_transaction(db):
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
            "SET value = excluded.value",
            [META_KEY, json.dumps(asdict(status))],
        )


def last(db: Database) -> SweepStatus | None:
    """The last sweep's status, or ``None`` before the first one (or if unreadable)."""
    row = db.conn.execute("SELECT value FROM meta WHERE key = ?", [META_KEY]).fetchone()
    if row is None:
        return None
    try:
        return SweepStatus(**json.loads(row[0]))
    except (TypeError, ValueError):
        return None


def unfinished(db: Database) -> SweepStatus | None:
    """The last sweep's status when it could not finish (staff must be told), else ``None``."""
    status = last(db)
    return status if status is not None and not status.finished else None
