"""The append-only audit log: who did what at the kiosk, and how it went.

Rows are only ever inserted; triggers in the schema reject UPDATE and DELETE. Details are
stored as JSON. Never put a secret (a PIN, a card number, an API key) into ``detail``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from kiosk.core.timestamps import parse_utc_iso, utc_now_iso
from kiosk.store.schema import audit_payload_json


@dataclass(frozen=True)
class AuditEntry:
    """One audit row. ``at`` is an aware UTC datetime; ``detail`` the decoded JSON, if any."""

    id: int
    at: datetime
    staff_number: int | None
    action: str
    outcome: str
    detail: dict[str, Any] | None


def record(
    db: Database,
    *,
    at: datetime,
    action: str,
    outcome: str,
    staff_number: int | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one audit row and return its id.

    ``at`` must be timezone-aware (stored as UTC). ``action`` is a dotted name such as
    ``staff.pin_check``; ``outcome`` a short word such as ``ok`` or ``wrong_pin``. Inside an
    open transaction the row becomes part of it; otherwise it is committed at once. An
    ``audit.recorded`` outbox event for the back office is written with it.
    """
    if not action or not outcome:
        raise ValueError("an audit row needs an action and an outcome")
    detail_json = None if detail is None else json.dumps(detail, sort_keys=True)
    with db.atomic():  # the row and its event: both or neither
        cursor = db.execute(
            "INSERT INTO audit_log (at, staff_number, action, outcome, detail) "
            "VALUES (?, ?, ?, ?, ?)",
            [utc_now_iso(at), staff_number, action, outcome, detail_json],
        )
        row_id = cursor.lastrowid
        if row_id is None:
            raise RuntimeError("SQLite returned no row id for the audit row")
        stamp = utc_now_iso(at)
        # Every audit row is also an event for the back office, committed with it.
        db.execute(
            "INSERT INTO outbox (event_id, topic, sale_id, payload, created_at) "
            "VALUES (?, 'audit.recorded', NULL, ?, ?)",
            [
                str(uuid.uuid4()),
                audit_payload_json(row_id, stamp, staff_number, action, outcome, detail_json),
                stamp,
            ],
        )
    return row_id


def entries(db: Database, since: datetime | None = None) -> list[AuditEntry]:
    """Return audit rows in the order they were written, those at or after ``since`` if given."""
    sql = "SELECT id, at, staff_number, action, outcome, detail FROM audit_log"
    params: list[str] = []
    if since is not None:
        # Stored timestamps share one fixed-width UTC format, so text order is time order.
        sql += " WHERE at >= ?"
        params.append(utc_now_iso(since))
    sql += " ORDER BY id"
    return [_entry(row) for row in db.conn.execute(sql, params)]


def latest(db: Database, limit: int = 50) -> list[AuditEntry]:
    """Return the newest ``limit`` audit rows, newest first."""
    rows = db.conn.execute(
        "SELECT id, at, staff_number, action, outcome, detail FROM audit_log "
        "ORDER BY id DESC LIMIT ?",
        [limit],
    )
    return [_entry(row) for row in rows]


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    return AuditEntry(
        id=row[0],
        at=parse_utc_iso(row[1]),
        staff_number=row[2],
        action=row[3],
        outcome=row[4],
        detail=None if row[5] is None else json.loads(row[5]),
    )
