"""Card-reader inspections: staff check the reader for tampering and substitution (PCI DSS
9.5.1), and the kiosk keeps the evidence.

Each inspection is one row of ``reader_inspections``, which is append-only (triggers refuse
UPDATE and DELETE) so an assessor can trust the history; each also writes one audit row in
the same transaction. The next inspection is due ``interval_days`` after the last one that
*passed*: a failed inspection does not reset the clock, because a reader that failed must be
checked again or replaced before it counts as inspected. Time is always passed in
(timezone-aware; stored as UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from kiosk.core.timestamps import parse_utc_iso, utc_now_iso
from kiosk.store import audit
from kiosk.store.db import immediate_transaction

MAX_NOTE_CHARS = 200
"""Longest note (characters) staff may add to an inspection."""

_COLUMNS = "id, at, staff_number, reader_serial, serial_matches, no_tampering, note"


@dataclass(frozen=True)
class Inspection:
    """One recorded inspection of the card reader.

    ``at`` is an aware UTC datetime; ``reader_serial`` the serial number staff compared
    (``None`` when the kiosk could not read it); ``serial_matches``: the reader's serial is
    the expected one; ``no_tampering``: no sign of tampering was found.
    """

    id: int
    at: datetime
    staff_number: int
    reader_serial: str | None
    serial_matches: bool
    no_tampering: bool
    note: str

    @property
    def passed(self) -> bool:
        """True when the serial matched and no tampering was found."""
        return self.serial_matches and self.no_tampering


@dataclass(frozen=True)
class InspectionStatus:
    """Where the inspection duty stands at a moment.

    ``last`` is the latest inspection, passed or failed. ``due_at`` (aware UTC) is when the
    next inspection is due: the last *passed* inspection plus the interval, ``None`` when no
    inspection ever passed. ``overdue`` is True when no inspection ever passed or the moment
    asked about is at or after ``due_at``.
    """

    last: Inspection | None
    due_at: datetime | None
    overdue: bool


def _inspection(row: tuple[Any, ...]) -> Inspection:
    return Inspection(
        id=int(row[0]),
        at=parse_utc_iso(row[1]),
        staff_number=int(row[2]),
        reader_serial=row[3],
        serial_matches=bool(row[4]),
        no_tampering=bool(row[5]),
        note=str(row[6]),
    )


def _check_text(name: str, text: str, longest: int) -> None:
    if len(text) > longest:
        raise ValueError(f"the {name} is {len(text)} characters long; at most {longest} fit")
    if not text.isprintable():
        raise ValueError(f"the {name} may only hold printable characters (no line breaks)")


def record_inspection(
    db: Database,
    *,
    staff_number: int,
    reader_serial: str | None,
    serial_matches: bool,
    no_tampering: bool,
    note: str = "",
    at: datetime,
) -> Inspection:
    """Record an inspection by ``staff_number`` at ``at`` and return it.

    The row and one audit row (``reader.inspection``, outcome ``passed`` or ``failed``, detail
    ``inspection_id``, ``reader_serial``, ``serial_matches``, ``no_tampering``) are committed in
    one transaction. A note longer than `MAX_NOTE_CHARS` or with unprintable characters (and a
    serial with unprintable characters) raises ValueError and writes nothing.
    """
    _check_text("note", note, MAX_NOTE_CHARS)
    if reader_serial is not None:
        _check_text("reader serial", reader_serial, MAX_NOTE_CHARS)
    stamp = utc_now_iso(at)  # refuses a naive datetime before anything is written
    with immediate_transaction(db):
        cursor = db.execute(
            "INSERT INTO reader_inspections (at, staff_number, reader_serial, serial_matches, "
            "no_tampering, note) VALUES (?, ?, ?, ?, ?, ?)",
            [stamp, staff_number, reader_serial, int(serial_matches), int(no_tampering), note],
        )
        inspection_id = cursor.lastrowid
        if inspection_id is None:
            raise RuntimeError("SQLite returned no row id for the inspection")
        inspection = Inspection(
            id=inspection_id, at=parse_utc_iso(stamp), staff_number=staff_number,
            reader_serial=reader_serial, serial_matches=bool(serial_matches),
            no_tampering=bool(no_tampering), note=note,
        )
        audit.record(
            db, at=at, action="reader.inspection",
            outcome="passed" if inspection.passed else "failed",
            staff_number=staff_number,
            detail={"inspection_id": inspection_id, "reader_serial": reader_serial,
                    "serial_matches": inspection.serial_matches,
                    "no_tampering": inspection.no_tampering},
        )
    return inspection


def inspections(db: Database, limit: int = 20) -> list[Inspection]:
    """The latest ``limit`` inspections, newest first."""
    rows = db.conn.execute(
        f"SELECT {_COLUMNS} FROM reader_inspections ORDER BY at DESC, id DESC LIMIT ?",
        [limit],
    )
    return [_inspection(row) for row in rows]


def last_inspection(db: Database) -> Inspection | None:
    """The latest inspection, passed or failed, or ``None`` if the reader was never inspected."""
    found = inspections(db, limit=1)
    return found[0] if found else None


def inspection_status(db: Database, *, now: datetime, interval_days: int) -> InspectionStatus:
    """Whether an inspection is due at ``now`` with one every ``interval_days`` days.

    Only a passed inspection resets the clock (see the module docstring).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got naive {now!r}")
    last = last_inspection(db)
    row = db.conn.execute(
        f"SELECT {_COLUMNS} FROM reader_inspections WHERE serial_matches = 1 "
        "AND no_tampering = 1 ORDER BY at DESC, id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return InspectionStatus(last=last, due_at=None, overdue=True)
    due_at = _inspection(row).at + timedelta(days=interval_days)
    return InspectionStatus(last=last, due_at=due_at, overdue=now >= due_at)
