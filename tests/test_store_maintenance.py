"""`kiosk db check` and `kiosk db backup`: health reports and online backups of a live file."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlite_utils import Database

from kiosk.store.db import StoreError, install_id, open_database
from kiosk.store.maintenance import backup_database, check_database

NOW = "2026-11-26T12:00:00.000000Z"
T0 = datetime(2026, 11, 26, 12, 0, 5, tzinfo=UTC)


def write_sale(db: Database, lines: int = 3) -> None:
    """One sale and its lines in one transaction: a copy must hold all of them or none."""
    sale_id = str(uuid.uuid4())
    with db.atomic():
        (number,) = db.conn.execute("SELECT COUNT(*) + 1 FROM sales").fetchone()
        db.execute(
            "INSERT INTO sales (id, number, kiosk_id, state, currency, created_at, updated_at, "
            "total_minor) VALUES (?, ?, 'k1', 'paid', 'EUR', ?, ?, ?)",
            [sale_id, number, NOW, NOW, 100 * lines],
        )
        for position in range(1, lines + 1):
            db.execute(
                "INSERT INTO sale_lines (sale_id, position, code, name, quantity, "
                "unit_price_minor, tax_class, tax_rate, line_total_minor) "
                "VALUES (?, ?, '04012345678901', 'Bread', 1, 100, 'reduced', '0.07', 100)",
                [sale_id, position],
            )


def fill_catalog(db: Database, count: int) -> None:
    with db.atomic():
        for i in range(count):
            db.execute(
                "INSERT INTO products (code, name, price_minor, tax_class, source, updated_at) "
                "VALUES (?, ?, ?, 'standard', 'csv', ?)",
                [f"{i:014d}", f"Product {i} " + "x" * 200, i, NOW],
            )


def counts(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        sales = conn.execute("SELECT COUNT(*) FROM sales").fetchone()[0]
        lines = conn.execute("SELECT COUNT(*) FROM sale_lines").fetchone()[0]
        return sales, lines
    finally:
        conn.close()


def integrity(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


@pytest.fixture
def live(tmp_path: Path) -> tuple[Path, Database]:
    path = tmp_path / "state" / "kiosk.db"
    db = open_database(path, records_money=True)
    write_sale(db)
    write_sale(db)
    return path, db


def test_a_healthy_database_is_reported_with_migrations_counts_and_sizes(
    live: tuple[Path, Database],
) -> None:
    path, db = live
    try:
        report = check_database(path)
        assert report.ok and report.integrity == ["ok"]
        assert report.applied_migrations == [
            "m001_initial", "m002_payments", "m003_refund_slips", "m004_sync",
            "m005_retention_indexes", "m006_staff_menu", "m007_sealed_secrets"
        ]
        assert report.pending_migrations == []
        assert report.row_counts["sales"] == 2 and report.row_counts["sale_lines"] == 6
        assert report.row_counts["audit_log"] == 0
        assert report.journal_mode == "wal"
        assert report.install_id == install_id(db)
        assert report.size_bytes > 0
        text = "\n".join(report.summary_lines())
        assert "integrity: ok" in text and "rows in sales: 2" in text
    finally:
        db.close()


def test_a_damaged_database_is_reported_with_sqlites_findings(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    db = open_database(path)
    fill_catalog(db, 1500)
    db.close()
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(size // 2 // 4096 * 4096)
        handle.write(b"\xff\x00 not a b-tree page " * 600)
    report = check_database(path)
    assert not report.ok
    assert report.integrity and report.integrity != ["ok"]
    assert "DAMAGED" in "\n".join(report.summary_lines())


def test_a_database_from_before_the_migrations_shows_them_pending(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.commit()
    conn.close()
    report = check_database(path)
    assert report.ok
    assert report.applied_migrations == []
    assert report.pending_migrations == [
        "m001_initial", "m002_payments", "m003_refund_slips", "m004_sync",
            "m005_retention_indexes", "m006_staff_menu", "m007_sealed_secrets"
    ]
    assert report.row_counts == {"notes": 0}
    assert report.install_id is None


def test_checking_a_missing_database_fails_without_creating_it(tmp_path: Path) -> None:
    path = tmp_path / "nothing.db"
    with pytest.raises(StoreError, match="no kiosk database"):
        check_database(path)
    assert not path.exists()


def test_a_backup_is_a_complete_single_file_copy(live: tuple[Path, Database]) -> None:
    path, db = live
    dest_dir = path.parent.parent / "usb"
    dest_dir.mkdir()
    try:
        written = backup_database(path, dest_dir / "copy.db")
        assert written == dest_dir / "copy.db"
        assert counts(written) == (2, 6)
        assert integrity(written) == ["ok"]
        assert sorted(p.name for p in dest_dir.iterdir()) == ["copy.db"]  # no .partial, no -wal
        report = check_database(written)
        assert report.journal_mode == "delete"
        assert report.install_id == install_id(db)
    finally:
        db.close()


def test_a_backup_into_a_directory_is_named_after_the_utc_time(
    live: tuple[Path, Database],
) -> None:
    path, db = live
    db.close()
    dest_dir = path.parent.parent / "backups"
    dest_dir.mkdir()
    local = T0.astimezone(timezone(timedelta(hours=2)))
    written = backup_database(path, dest_dir, now=local)
    assert written == dest_dir / "kiosk-20261126T120005Z.db"
    assert counts(written) == (2, 6)
    with pytest.raises(ValueError, match="now"):
        backup_database(path, dest_dir)


def test_a_backup_refuses_to_overwrite_an_existing_file_unless_told(
    live: tuple[Path, Database],
) -> None:
    path, db = live
    dest = path.parent.parent / "copy.db"
    dest.write_bytes(b"yesterday's backup")
    try:
        with pytest.raises(FileExistsError):
            backup_database(path, dest)
        assert dest.read_bytes() == b"yesterday's backup"
        write_sale(db)
        backup_database(path, dest, overwrite=True)
        assert counts(dest) == (3, 9)
        assert not dest.with_name("copy.db.partial").exists()
    finally:
        db.close()


def test_a_backup_to_a_missing_directory_is_refused_rather_than_created(
    live: tuple[Path, Database],
) -> None:
    path, db = live
    db.close()
    dest = path.parent.parent / "not-mounted" / "copy.db"
    with pytest.raises(StoreError, match="does not exist"):
        backup_database(path, dest)
    assert not dest.parent.exists()


def test_a_backup_of_a_missing_database_fails_without_creating_it(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        backup_database(tmp_path / "missing.db", tmp_path / "copy.db")
    assert not (tmp_path / "missing.db").exists() and not (tmp_path / "copy.db").exists()


def test_a_backup_leaves_out_a_transaction_still_being_written(
    live: tuple[Path, Database],
) -> None:
    path, db = live
    dest = path.parent.parent / "copy.db"
    try:
        db.conn.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT INTO sales (id, number, kiosk_id, state, currency, created_at, updated_at) "
            "VALUES ('half-written', 99, 'k1', 'locked', 'EUR', ?, ?)",
            [NOW, NOW],
        )
        # The kiosk holds the write lock mid-sale; the backup must neither wait nor copy it.
        backup_database(path, dest)
        db.execute("UPDATE sales SET state = 'paid' WHERE id = 'half-written'")
        db.conn.execute("COMMIT")
        assert counts(dest) == (2, 6)
        assert counts(path) == (3, 6)
        assert integrity(dest) == ["ok"]
    finally:
        db.close()


def test_a_backup_while_another_connection_keeps_writing_is_consistent(
    live: tuple[Path, Database],
) -> None:
    path, db = live
    fill_catalog(db, 2000)  # a few megabytes, so each copy takes a while
    db.close()
    written = 0
    errors: list[BaseException] = []
    enough = threading.Event()
    stop = threading.Event()

    def keep_selling() -> None:
        nonlocal written
        writer = open_database(path, records_money=True, check=False)
        try:
            while not stop.is_set():
                write_sale(writer)
                written += 1
                if written >= 20:
                    enough.set()
        except BaseException as exc:
            errors.append(exc)
            enough.set()
        finally:
            writer.close()

    thread = threading.Thread(target=keep_selling)
    thread.start()
    copies: list[tuple[Path, int, int]] = []
    try:
        assert enough.wait(timeout=60)
        for n in range(5):
            before = written
            copy = backup_database(path, path.parent.parent / f"copy-{n}.db")
            copies.append((copy, before, written))
    finally:
        stop.set()
        thread.join()
    assert errors == []
    for copy, before, after in copies:
        sales, lines = counts(copy)
        assert integrity(copy) == ["ok"]
        assert lines == 3 * sales, "a sale was copied without all of its lines"
        assert 2 + before <= sales <= 2 + after + 1
    assert counts(path)[0] == 2 + written
