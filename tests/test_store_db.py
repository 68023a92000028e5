"""Opening the kiosk database: pragmas, the boot check, migrations and the schema's rules."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlite_utils import Database

from kiosk.core.timestamps import parse_utc_iso, utc_now_iso
from kiosk.store.db import (
    DatabaseCorrupt,
    StoreError,
    immediate_transaction,
    install_id,
    open_database,
)
from kiosk.store.schema import MIGRATIONS

NOW = "2026-11-26T12:00:00.000000Z"

EXPECTED_TABLES = {
    "meta",
    "runtime_settings",
    "reader_inspections",
    "sync_state",
    "products",
    "sale_numbers",
    "sales",
    "sale_lines",
    "payment_attempts",
    "refunds",
    "outbox",
    "print_jobs",
    "staff",
    "audit_log",
}


def pragma(db: Database, name: str) -> object:
    return db.conn.execute(f"PRAGMA {name}").fetchone()[0]


def insert_sale(db: Database, sale_id: str, number: int, kiosk_id: str = "k1") -> None:
    db.execute(
        "INSERT INTO sales (id, number, kiosk_id, state, currency, created_at, updated_at) "
        "VALUES (?, ?, ?, 'open', 'EUR', ?, ?)",
        [sale_id, number, kiosk_id, NOW, NOW],
    )


def test_the_money_connection_uses_wal_full_sync_foreign_keys_and_a_busy_timeout(
    tmp_path: Path,
) -> None:
    db = open_database(tmp_path / "kiosk.db", records_money=True, busy_timeout_ms=1234)
    try:
        assert pragma(db, "journal_mode") == "wal"
        assert pragma(db, "synchronous") == 2  # FULL
        assert pragma(db, "foreign_keys") == 1
        assert pragma(db, "busy_timeout") == 1234
    finally:
        db.close()


def test_other_connections_use_normal_sync(tmp_path: Path) -> None:
    db = open_database(tmp_path / "kiosk.db")
    try:
        assert pragma(db, "synchronous") == 1  # NORMAL
        assert pragma(db, "journal_mode") == "wal"
        assert pragma(db, "busy_timeout") == 5000
    finally:
        db.close()


def test_opening_creates_the_state_directory_and_every_table(tmp_path: Path) -> None:
    path = tmp_path / "state" / "nested" / "kiosk.db"
    db = open_database(path)
    try:
        assert path.is_file()
        assert set(db.table_names()) == EXPECTED_TABLES | {"_sqlite_migrations", "sqlite_sequence"}
        assert [m.name for m in MIGRATIONS.applied(db)] == [
            "m001_initial", "m002_payments", "m003_refund_slips", "m004_sync",
            "m005_retention_indexes", "m006_staff_menu", "m007_sealed_secrets"
        ]
        assert MIGRATIONS.pending(db) == []
    finally:
        db.close()


def test_the_sales_table_has_exactly_the_agreed_columns(tmp_path: Path) -> None:
    db = open_database(tmp_path / "kiosk.db")
    try:
        columns = [c.name for c in db["sales"].columns]
        assert columns == [
            "id", "number", "kiosk_id", "state", "currency", "language", "created_at",
            "updated_at", "closed_at", "subtotal_minor", "tax_minor", "total_minor",
            "age_approved_by", "close_reason",
        ]
        line_columns = [c.name for c in db["sale_lines"].columns]
        assert line_columns == [
            "sale_id", "position", "code", "name", "quantity", "unit_price_minor", "weight_g",
            "tax_class", "tax_rate", "line_total_minor", "min_age",
        ]
    finally:
        db.close()


def test_opening_twice_applies_migrations_only_once(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    open_database(path).close()
    db = open_database(path)
    try:
        applied = MIGRATIONS.applied(db)
        assert [m.name for m in applied] == [
            "m001_initial", "m002_payments", "m003_refund_slips", "m004_sync",
            "m005_retention_indexes", "m006_staff_menu", "m007_sealed_secrets"
        ]
        assert db.conn.execute("SELECT COUNT(*) FROM meta").fetchone()[0] == 1
    finally:
        db.close()


def test_several_threads_opening_a_fresh_database_at_once_all_succeed(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    barrier = threading.Barrier(4)
    ids: list[str] = []
    errors: list[BaseException] = []

    def open_and_read() -> None:
        barrier.wait()
        try:
            db = open_database(path, records_money=True)
            try:
                ids.append(install_id(db))
            finally:
                db.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_and_read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(ids) == 4 and len(set(ids)) == 1


def test_the_install_id_is_stable_across_reopening_and_differs_between_databases(
    tmp_path: Path,
) -> None:
    first = open_database(tmp_path / "a.db")
    first_id = install_id(first)
    first.close()
    again = open_database(tmp_path / "a.db")
    other = open_database(tmp_path / "b.db")
    try:
        assert install_id(again) == first_id
        assert install_id(other) != first_id
        assert uuid.UUID(hex=first_id).version == 4
        assert first_id == first_id.lower() and len(first_id) == 32
    finally:
        again.close()
        other.close()


def make_damaged_database(path: Path) -> None:
    db = open_database(path)
    with db.atomic():
        for i in range(3000):
            db.execute(
                "INSERT INTO products (code, name, price_minor, tax_class, source, updated_at) "
                "VALUES (?, ?, ?, 'standard', 'csv', ?)",
                [f"{i:014d}", f"Product number {i} with a longish name", i, NOW],
            )
    db.close()
    assert not path.with_name(path.name + "-wal").exists() or (
        path.with_name(path.name + "-wal").stat().st_size == 0
    )
    page_size = 4096
    size = path.stat().st_size
    assert size > 20 * page_size
    with path.open("r+b") as handle:
        handle.seek(size // 2 // page_size * page_size)
        handle.write(b"\xa5\x5a garbage " * (3 * page_size // 10))


def test_a_database_with_garbage_over_some_pages_is_reported_as_corrupt(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kiosk.db"
    make_damaged_database(path)
    with pytest.raises(DatabaseCorrupt) as caught:
        open_database(path)
    message = str(caught.value)
    assert str(path) in message
    assert "kiosk db check" in message and "backup" in message
    assert caught.value.path == path
    assert caught.value.problems and caught.value.problems != ["ok"]


def test_a_file_that_is_not_a_database_is_reported_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    path.write_bytes(b"this is a shopping list, not a database\n" * 200)
    with pytest.raises(DatabaseCorrupt) as caught:
        open_database(path)
    assert str(path) in str(caught.value)


def test_foreign_keys_are_enforced_for_sale_lines(tmp_path: Path) -> None:
    db = open_database(tmp_path / "kiosk.db")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(
                "INSERT INTO sale_lines (sale_id, position, code, name, quantity, "
                "unit_price_minor, tax_class, tax_rate, line_total_minor) "
                "VALUES ('no-such-sale', 1, '00000000000001', 'Milk', 1, 99, 'std', '0.2', 99)"
            )
        assert db.conn.execute("SELECT COUNT(*) FROM sale_lines").fetchone()[0] == 0
    finally:
        db.close()


def test_a_sale_number_is_unique_per_kiosk_but_may_repeat_across_kiosks(tmp_path: Path) -> None:
    db = open_database(tmp_path / "kiosk.db")
    try:
        insert_sale(db, str(uuid.uuid4()), 1, "k1")
        insert_sale(db, str(uuid.uuid4()), 1, "k2")
        with pytest.raises(sqlite3.IntegrityError):
            insert_sale(db, str(uuid.uuid4()), 1, "k1")
        assert db.conn.execute("SELECT COUNT(*) FROM sales").fetchone()[0] == 2
    finally:
        db.close()


def test_a_sale_state_outside_the_known_states_is_refused(tmp_path: Path) -> None:
    db = open_database(tmp_path / "kiosk.db")
    try:
        insert_sale(db, "s1", 1)
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("UPDATE sales SET state = 'half-paid' WHERE id = 's1'")
        assert db.conn.execute("SELECT state FROM sales").fetchone()[0] == "open"
    finally:
        db.close()


def test_strict_tables_refuse_text_in_a_money_column(tmp_path: Path) -> None:
    db = open_database(tmp_path / "kiosk.db")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(
                "INSERT INTO products (code, name, price_minor, tax_class, source, updated_at) "
                "VALUES ('00000000000001', 'Milk', 'one euro', 'std', 'csv', ?)",
                [NOW],
            )
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(
                "INSERT INTO products (code, name, price_minor, tax_class, source, updated_at) "
                "VALUES ('00000000000001', 'Milk', -1, 'std', 'csv', ?)",
                [NOW],
            )
    finally:
        db.close()


def test_deleting_a_sale_deletes_its_lines(tmp_path: Path) -> None:
    db = open_database(tmp_path / "kiosk.db")
    try:
        insert_sale(db, "s1", 1)
        db.execute(
            "INSERT INTO sale_lines (sale_id, position, code, name, quantity, "
            "unit_price_minor, tax_class, tax_rate, line_total_minor) "
            "VALUES ('s1', 1, '00000000000001', 'Milk', 2, 99, 'std', '0.2', 198)"
        )
        db.execute("DELETE FROM sales WHERE id = 's1'")
        assert db.conn.execute("SELECT COUNT(*) FROM sale_lines").fetchone()[0] == 0
    finally:
        db.close()


def test_an_immediate_transaction_rolls_back_everything_when_the_block_fails(
    tmp_path: Path,
) -> None:
    db = open_database(tmp_path / "kiosk.db")
    try:
        with pytest.raises(RuntimeError), immediate_transaction(db):
            insert_sale(db, "s1", 1)
            with immediate_transaction(db):  # nested: a savepoint
                insert_sale(db, "s2", 2)
            raise RuntimeError("power cut")
        assert db.conn.execute("SELECT COUNT(*) FROM sales").fetchone()[0] == 0
        assert not db.conn.in_transaction
        with immediate_transaction(db):
            insert_sale(db, "s3", 3)
        assert db.conn.execute("SELECT id FROM sales").fetchall() == [("s3",)]
    finally:
        db.close()


def test_a_committed_write_is_visible_to_a_second_connection(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    writer = open_database(path, records_money=True)
    reader = open_database(path, check=False)
    try:
        with writer.atomic():
            insert_sale(writer, "s1", 1)
        assert reader.conn.execute("SELECT id FROM sales").fetchall() == [("s1",)]
    finally:
        writer.close()
        reader.close()


def test_timestamps_are_stored_as_utc_text_ending_in_z() -> None:
    paris = timezone(timedelta(hours=1))
    moment = datetime(2026, 11, 26, 13, 0, 0, 250, tzinfo=paris)
    text = utc_now_iso(moment)
    assert text == "2026-11-26T12:00:00.000250Z"
    assert parse_utc_iso(text) == moment
    assert parse_utc_iso(text).tzinfo == UTC


def test_a_naive_datetime_is_refused_as_a_timestamp() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        utc_now_iso(datetime(2026, 11, 26, 12, 0, 0))


def test_a_migration_that_fails_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE audit_log (note TEXT)")  # in the way of m001_initial
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="already exists"):
        open_database(path)
    conn = sqlite3.connect(path)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    assert tables == {"audit_log"}
