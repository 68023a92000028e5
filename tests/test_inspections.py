"""Card-reader inspections: append-only evidence, one audit row each, and when the next one
is due (only a passed inspection resets the clock)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from kiosk.store import audit
from kiosk.store.db import open_database
from kiosk.store.inspections import (
    MAX_NOTE_CHARS,
    inspection_status,
    inspections,
    last_inspection,
    record_inspection,
)

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ATTENDANT = 1002
SERIAL = "WSC513105011295"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "kiosk.db", records_money=True)
    yield database
    database.close()


def inspect(db: Database, at: datetime, *, passed: bool = True, note: str = "") -> int:
    return record_inspection(db, staff_number=ATTENDANT, reader_serial=SERIAL,
                             serial_matches=True, no_tampering=passed, note=note, at=at).id


def count(db: Database, table: str) -> int:
    (found,) = db.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    return int(found)


def test_a_reader_never_inspected_is_overdue_with_no_due_date(db: Database) -> None:
    status = inspection_status(db, now=T0, interval_days=7)
    assert status.last is None and status.due_at is None and status.overdue
    assert last_inspection(db) is None


def test_a_passed_inspection_makes_the_next_due_after_the_interval(db: Database) -> None:
    inspect(db, T0)
    status = inspection_status(db, now=T0 + timedelta(days=3), interval_days=7)
    assert status.due_at == T0 + timedelta(days=7)
    assert not status.overdue
    assert status.last is not None and status.last.passed


def test_the_inspection_is_overdue_exactly_at_its_due_time_and_not_a_moment_before(
    db: Database,
) -> None:
    inspect(db, T0)
    due = T0 + timedelta(days=7)
    just_before = inspection_status(db, now=due - timedelta(microseconds=1), interval_days=7)
    assert not just_before.overdue
    assert inspection_status(db, now=due, interval_days=7).overdue


def test_a_failed_inspection_does_not_reset_the_clock(db: Database) -> None:
    inspect(db, T0)
    inspect(db, T0 + timedelta(days=6), passed=False)
    status = inspection_status(db, now=T0 + timedelta(days=7), interval_days=7)
    assert status.due_at == T0 + timedelta(days=7)
    assert status.overdue
    assert status.last is not None and not status.last.passed
    assert status.last.at == T0 + timedelta(days=6)


def test_only_failed_inspections_leave_the_reader_overdue_with_no_due_date(
    db: Database,
) -> None:
    inspect(db, T0, passed=False)
    status = inspection_status(db, now=T0 + timedelta(minutes=1), interval_days=7)
    assert status.overdue and status.due_at is None
    assert status.last is not None and not status.last.passed


def test_an_inspection_reads_back_with_what_staff_recorded(db: Database) -> None:
    recorded = record_inspection(db, staff_number=ATTENDANT, reader_serial=None,
                                 serial_matches=False, no_tampering=True,
                                 note="Serial label unreadable", at=T0)
    found = last_inspection(db)
    assert found == recorded
    assert found is not None
    assert (found.reader_serial, found.serial_matches, found.no_tampering) == (
        None, False, True)
    assert found.note == "Serial label unreadable" and not found.passed
    assert found.at == T0 and found.staff_number == ATTENDANT


def test_inspections_are_listed_newest_first_up_to_the_limit(db: Database) -> None:
    ids = [inspect(db, T0 + timedelta(days=day)) for day in range(4)]
    assert [found.id for found in inspections(db)] == list(reversed(ids))
    assert [found.id for found in inspections(db, limit=2)] == [ids[3], ids[2]]


def test_each_inspection_writes_exactly_one_audit_row(db: Database) -> None:
    passed = inspect(db, T0)
    failed = inspect(db, T0 + timedelta(hours=1), passed=False)
    first, second = audit.entries(db)
    assert (first.action, first.outcome, first.staff_number) == (
        "reader.inspection", "passed", ATTENDANT)
    assert first.detail == {"inspection_id": passed, "reader_serial": SERIAL,
                            "serial_matches": True, "no_tampering": True}
    assert (second.outcome, second.detail and second.detail["inspection_id"]) == (
        "failed", failed)
    assert count(db, "audit_log") == 2


def test_an_inspection_cannot_be_changed(db: Database) -> None:
    inspection_id = inspect(db, T0, passed=False)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE reader_inspections SET no_tampering = 1 WHERE id = ?",
                   [inspection_id])
    db.conn.rollback()
    found = last_inspection(db)
    assert found is not None and not found.no_tampering


def test_an_inspection_cannot_be_deleted(db: Database) -> None:
    inspect(db, T0)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM reader_inspections")
    db.conn.rollback()
    assert count(db, "reader_inspections") == 1


@pytest.mark.parametrize(
    "note", ["x" * (MAX_NOTE_CHARS + 1), "first line\nsecond line", "bell\a"])
def test_a_bad_note_is_refused_and_nothing_is_written(db: Database, note: str) -> None:
    with pytest.raises(ValueError):
        inspect(db, T0, note=note)
    assert count(db, "reader_inspections") == 0
    assert count(db, "audit_log") == 0


def test_a_note_of_the_longest_allowed_length_is_kept(db: Database) -> None:
    inspect(db, T0, note="n" * MAX_NOTE_CHARS)
    found = last_inspection(db)
    assert found is not None and len(found.note) == MAX_NOTE_CHARS


def test_an_inspection_at_a_naive_time_is_refused_and_nothing_is_written(
    db: Database,
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        inspect(db, datetime(2026, 11, 26, 9, 0))
    assert count(db, "reader_inspections") == 0 and count(db, "audit_log") == 0
