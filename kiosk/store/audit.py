"""The append-only audit log: who did what at the kiosk, and how it went.

Rows are only ever inserted; triggers in the schema reject UPDATE and DELETE. Details are
stored as JSON. Never put a secret (a PIN, a card number, an API key) into ``detail``.
Each row is sealed into a keyed chain (``kiosk.store.audit_chain``) when the connection has
the audit key attached (``kiosk.store.keys``); a row written without it stays unsealed, and
``kiosk audit verify`` names it.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from kiosk.core.timestamps import parse_utc_iso, utc_now_iso
from kiosk.store.audit_chain import chain_started, checkpoint, row_hash, start_chain
from kiosk.store.keys import keys_of
from kiosk.store.schema import audit_payload_json

log = logging.getLogger(__name__)


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
    stamp = utc_now_iso(at)
    keys = keys_of(db)
    with db.atomic():  # the row, its seal and its event: all or nothing
        cursor = db.execute(
            "INSERT INTO audit_log (at, staff_number, action, outcome, detail) "
            "VALUES (?, ?, ?, ?, ?)",
            [stamp, staff_number, action, outcome, detail_json],
        )
        row_id = cursor.lastrowid
        if row_id is None:
            raise RuntimeError("SQLite returned no row id for the audit row")
        chain: tuple[str, str] | None = None
        if keys is not None:
            if not chain_started(db):
                start_chain(db, keys)  # seals this row with the earlier ones
            else:
                chain = _seal(
                    db,
                    keys.audit_key,
                    row_id,
                    (row_id, stamp, staff_number, action, outcome, detail_json),
                )
        elif chain_started(db):
            log.warning(
                "audit row %d written without the audit key: it stays unsealed "
                "(kiosk audit verify will name it)",
                row_id,
            )
        # Every audit row is also an event for the back office, committed with it.
        db.execute(
            "INSERT INTO outbox (event_id, topic, sale_id, payload, created_at) "
            "VALUES (?, 'audit.recorded', NULL, ?, ?)",
            [
                str(uuid.uuid4()),
                audit_payload_json(
                    row_id, stamp, staff_number, action, outcome, detail_json, chain=chain
                ),
                stamp,
            ],
        )
    return row_id


def _seal(db: Database, key: bytes, row_id: int, row: tuple[Any, ...]) -> tuple[str, str]:
    """Seal the new row ``row_id`` after the row before it; return (previous hash, hash)."""
    before = db.conn.execute(
        "SELECT chain_hash FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT 1", [row_id]
    ).fetchone()
    prev = str(before[0] or "") if before is not None else _checkpoint_hash(db)
    sealed = row_hash(key, prev, row)
    db.execute("UPDATE audit_log SET chain_hash = ? WHERE id = ?", [sealed, row_id])
    return prev, sealed


def _checkpoint_hash(db: Database) -> str:
    # No row before this one: the chain continues from the checkpoint (or starts).
    found = checkpoint(db)
    return "" if found is None else found.hash


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
