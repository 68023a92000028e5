"""The audit log: rows go in, read back in order, and can never be changed or removed."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from kiosk.store import audit
from kiosk.store.db import open_database

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "kiosk.db", records_money=True)
    yield database
    database.close()


def test_recorded_entries_read_back_in_order_with_their_details(db: Database) -> None:
    first = audit.record(db, at=T0, action="staff.pin_check", outcome="ok", staff_number=1001)
    second = audit.record(
        db,
        at=T0 + timedelta(seconds=5),
        action="sale.void",
        outcome="ok",
        staff_number=1002,
        detail={"sale_id": "abc", "total_minor": 1299},
    )
    found = audit.entries(db)
    assert [entry.id for entry in found] == [first, second]
    assert found[0].at == T0 and found[0].detail is None and found[0].staff_number == 1001
    assert found[1].action == "sale.void" and found[1].outcome == "ok"
    assert found[1].detail == {"sale_id": "abc", "total_minor": 1299}
    assert found[1].at == T0 + timedelta(seconds=5)


def test_entries_since_a_moment_leave_out_older_rows(db: Database) -> None:
    audit.record(db, at=T0, action="a.old", outcome="ok")
    audit.record(db, at=T0 + timedelta(minutes=1), action="a.edge", outcome="ok")
    audit.record(db, at=T0 + timedelta(minutes=2), action="a.new", outcome="ok")
    recent = audit.entries(db, since=T0 + timedelta(minutes=1))
    assert [entry.action for entry in recent] == ["a.edge", "a.new"]


def test_timestamps_are_stored_in_utc_with_a_z(db: Database) -> None:
    audit.record(db, at=T0, action="a.b", outcome="ok")
    (stored,) = db.conn.execute("SELECT at FROM audit_log").fetchone()
    assert stored == "2026-11-26T12:00:00.000000Z"


def test_an_audit_row_cannot_be_updated(db: Database) -> None:
    row_id = audit.record(db, at=T0, action="staff.pin_check", outcome="wrong_pin")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_log SET outcome = 'ok' WHERE id = ?", [row_id])
    assert [entry.outcome for entry in audit.entries(db)] == ["wrong_pin"]


def test_an_audit_row_cannot_be_deleted(db: Database) -> None:
    audit.record(db, at=T0, action="staff.pin_check", outcome="wrong_pin")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit_log")
    assert len(audit.entries(db)) == 1


def test_an_audit_row_cannot_be_replaced_by_an_insert_over_its_id(db: Database) -> None:
    row_id = audit.record(db, at=T0, action="staff.pin_check", outcome="wrong_pin")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute(
            "INSERT OR REPLACE INTO audit_log (id, at, action, outcome) VALUES (?, ?, ?, ?)",
            [row_id, "2026-11-26T12:00:00.000000Z", "staff.pin_check", "ok"],
        )
    assert [entry.outcome for entry in audit.entries(db)] == ["wrong_pin"]


def test_an_audit_row_written_inside_a_rolled_back_transaction_disappears_with_it(
    db: Database,
) -> None:
    with pytest.raises(RuntimeError), db.atomic():
        audit.record(db, at=T0, action="sale.pay", outcome="ok")
        raise RuntimeError("the sale failed")
    assert audit.entries(db) == []


def test_an_audit_row_needs_an_action_and_an_outcome(db: Database) -> None:
    with pytest.raises(ValueError):
        audit.record(db, at=T0, action="", outcome="ok")
    assert audit.entries(db) == []


def test_every_audit_row_is_also_an_event_for_the_back_office(tmp_path: Path) -> None:
    db = open_database(tmp_path / "kiosk.db")
    row_id = audit.record(
        db, at=datetime(2026, 11, 26, 12, 0, tzinfo=UTC), action="staff.pin_check",
        outcome="wrong_pin", staff_number=3, detail={"tries_left": 4},
    )
    (topic, sale_id, payload, created_at) = db.execute(
        "SELECT topic, sale_id, payload, created_at FROM outbox"
    ).fetchone()
    assert (topic, sale_id) == ("audit.recorded", None)
    assert json.loads(payload) == {
        "audit_id": row_id, "at": created_at, "staff_number": 3, "action": "staff.pin_check",
        "outcome": "wrong_pin", "detail": {"tries_left": 4},
    }


def test_the_audit_log_refuses_deletes_unless_retention_is_pruning(tmp_path: Path) -> None:
    db = open_database(tmp_path / "kiosk.db")
    audit.record(db, at=datetime(2026, 11, 26, 12, 0, tzinfo=UTC), action="a.b", outcome="ok")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit_log")
    with db.atomic():
        db.execute("INSERT INTO meta (key, value) VALUES ('audit_pruning', '1')")
        db.execute("DELETE FROM audit_log")
        db.execute("DELETE FROM meta WHERE key = 'audit_pruning'")
    assert db.execute("SELECT COUNT(*) FROM audit_log").fetchone() == (0,)
