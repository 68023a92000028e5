"""The back office follows each kiosk's audit chain as batches arrive and raises alerts.

The events are a real kiosk database's outbox rows (audit rows sealed with a real key), stored
in the real back-office stores (SQLite, and PostgreSQL with ``postgres``); ``kiosk hq alerts``
lists what was raised.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from audit_support import database_with_audit_rows
from cli_support import invoke
from hq_support import postgres_dsn, postgres_schema

from kiosk.config.secrets import SecretStr
from kiosk.hq.storage import HQStore
from kiosk.hq.stores import open_store
from kiosk.store.db import open_database
from kiosk.store.keys import StoreKeys
from kiosk.store.staff import MAX_WRONG_PINS, StaffRole, StaffRoster
from kiosk.wire import Batch, Event

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
KEYS = StoreKeys.from_texts(SecretStr("a" * 64), SecretStr("b" * 64))
KIOSK = "lane-1"

StoreOpener = Callable[[], HQStore]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HQStore]:
    if request.param == "sqlite":
        with open_store(database=tmp_path / "hq.db") as opened:
            yield opened
        return
    with postgres_schema(postgres_dsn()) as dsn, open_store(dsn=dsn) as opened:
        yield opened


def _kiosk(tmp_path: Path, rows: int = 6) -> Path:
    return database_with_audit_rows(tmp_path / "kiosk.db", KEYS, rows)


def _outbox(path: Path) -> list[Event]:
    """The kiosk's unsent events as the relay sends them (outbox order)."""
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT event_id, topic, sale_id, created_at, payload FROM outbox ORDER BY id"
        ).fetchall()
    return [Event(row[0], row[1], row[2], row[3], json.loads(row[4])) for row in rows]


def _send(store: HQStore, events: list[Event], size: int = 2) -> None:
    for start in range(0, len(events), size):
        store.store_batch(Batch(KIOSK, tuple(events[start : start + size])), T0)


def test_an_intact_chain_raises_no_alert_across_batches(store: HQStore, tmp_path: Path) -> None:
    _send(store, _outbox(_kiosk(tmp_path)))
    assert store.alerts() == []


def test_a_row_deleted_on_the_kiosk_before_sync_is_a_gap(store: HQStore, tmp_path: Path) -> None:
    events = _outbox(_kiosk(tmp_path))
    del events[3]  # row 4 and its event gone (the attacker holds the file, not the key)
    _send(store, events)
    [alert] = store.alerts()
    assert (alert.kiosk_id, alert.kind, alert.audit_id) == (KIOSK, "audit_gap", 5)
    assert alert.detail == "rows 4 to 4 never arrived"


def test_a_changed_and_rechained_row_breaks_the_chain(store: HQStore, tmp_path: Path) -> None:
    events = _outbox(_kiosk(tmp_path))
    forged = dict(events[2].payload, outcome="wrong_pin", chain_hash="f" * 64)
    events[2] = Event(events[2].event_id, events[2].topic, None, events[2].created_at, forged)
    _send(store, events)
    [alert] = store.alerts(KIOSK)
    assert (alert.kind, alert.audit_id) == ("audit_chain_broken", 4)
    assert alert.raised_at is not None


def test_an_older_database_restored_on_the_kiosk_is_reported(
    store: HQStore, tmp_path: Path
) -> None:
    events = _outbox(_kiosk(tmp_path))
    _send(store, events)
    replayed = [
        Event(f"{event.event_id[:-4]}beef", event.topic, None, event.created_at, event.payload)
        for event in events[4:]
    ]
    _send(store, replayed)
    # One alert where the ids go back; the chain is followed on from the replayed row.
    assert [(alert.kind, alert.audit_id) for alert in store.alerts()] == [("audit_chain_broken", 5)]


def test_a_lockout_event_is_an_alert(store: HQStore, tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    db = open_database(path, keys=KEYS)
    try:
        roster = StaffRoster(db)
        member = roster.add("Alex", StaffRole.ATTENDANT, T0)
        roster.set_pin(member.number, "482913", T0)
        for _ in range(MAX_WRONG_PINS):
            roster.check_pin(member.number, "000000", T0)
    finally:
        db.close()
    _send(store, _outbox(path), size=50)
    assert [(alert.kind, alert.detail) for alert in store.alerts()] == [
        (
            "staff_locked_out",
            f"staff {member.number} locked out until "
            "2026-11-26T09:00:30.000000Z after 5 wrong PINs",
        )
    ]
    assert store.event_counts(KIOSK)["staff.locked_out"] == 1


def test_kiosk_hq_alerts_reports_a_broken_chain(tmp_path: Path) -> None:
    database = tmp_path / "hq.db"
    events = _outbox(_kiosk(tmp_path))
    del events[1]
    with open_store(database=database) as store:
        _send(store, events)
    result = invoke(["hq", "alerts", "--db", str(database)])
    assert result.exit_code == 1
    assert f"{KIOSK}  audit_gap  rows 2 to 2 never arrived" in result.output
    clean = tmp_path / "clean.db"
    with open_store(database=clean):
        pass  # an empty back office: its tables made, no batch stored
    result = invoke(["hq", "alerts", "--db", str(clean)])
    assert (result.exit_code, result.output.strip()) == (0, "No alerts.")
