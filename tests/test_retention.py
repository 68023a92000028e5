"""Retention: only what the back office acknowledged is pruned, after its age, and the file
shrinks. Real SQLite files in tmp_path; the clock is the ``now`` given to ``prune``."""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from kiosk.config.settings import RetentionSettings
from kiosk.core.timestamps import utc_now_iso
from kiosk.store import audit
from kiosk.store.db import open_database
from kiosk.store.retention import AUTO_VACUUM_INCREMENTAL, PruneReport, prune
from kiosk.store.worker import StoreWorker

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
RETENTION = RetentionSettings(
    synced_sales_days=90, acknowledged_outbox_days=30, print_data_days=7, audit_days=365
)


def days_ago(days: float) -> str:
    return utc_now_iso(NOW - timedelta(days=days))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "kiosk.db", records_money=True)
    yield database
    database.close()


class Shop:
    """Writes sales and their rows straight into the tables, as the payment code leaves them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.number = 0

    def sale(self, *, state: str = "paid", closed_days_ago: float | None = 100,
             lines: int = 2, name: str = "Apples") -> str:
        self.number += 1
        sale_id = str(uuid.uuid4())
        opened = days_ago((closed_days_ago or 0) + 0.01)
        closed = None if closed_days_ago is None else days_ago(closed_days_ago)
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO sales (id, number, kiosk_id, state, currency, created_at, "
                "updated_at, closed_at, total_minor) VALUES (?, ?, 'lane-1', ?, 'EUR', ?, ?, ?, ?)",
                [sale_id, self.number, state, opened, closed or opened, closed, 199 * lines],
            )
            for position in range(1, lines + 1):
                self.db.execute(
                    "INSERT INTO sale_lines (sale_id, position, code, name, quantity, "
                    "unit_price_minor, tax_class, tax_rate, line_total_minor) "
                    "VALUES (?, ?, ?, ?, 1, 199, 'standard', '0.19', 199)",
                    [sale_id, position, f"0000000000{position:04d}", name],
                )
        return sale_id

    def paid(self, *, closed_days_ago: float = 100, acked_days_ago: float | None = -1,
             lines: int = 2, receipt: bytes | None = b"\x1b@receipt") -> str:
        """A paid sale with its payment attempt, its ``sale.paid`` event and a printed
        receipt; the event acknowledged ``acked_days_ago`` (None: not yet; by default a day
        after the sale)."""
        if acked_days_ago == -1:
            acked_days_ago = closed_days_ago - 1
        sale_id = self.sale(closed_days_ago=closed_days_ago, lines=lines)
        closed = days_ago(closed_days_ago)
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO payment_attempts (id, sale_id, state, amount_minor, created_at, "
                "updated_at) VALUES (?, ?, 'paid', 398, ?, ?)",
                [str(uuid.uuid4()), sale_id, closed, closed],
            )
            self.event("sale.paid", sale_id, {"sale_id": sale_id, "lines": lines},
                       created=closed, acked_days_ago=acked_days_ago)
            self.print_job(sale_id, "printed", created=closed, data=receipt)
        return sale_id

    def refund(self, sale_id: str, *, state: str = "succeeded",
               acked_days_ago: float | None = 80, created_days_ago: float = 85) -> str:
        refund_id = str(uuid.uuid4())
        created = days_ago(created_days_ago)
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO refunds (id, sale_id, amount_minor, state, idempotency_key, "
                "created_at, updated_at) VALUES (?, ?, 100, ?, ?, ?, ?)",
                [refund_id, sale_id, state, str(uuid.uuid4()), created, created],
            )
            if state == "succeeded":
                self.event("refund.succeeded", sale_id, {"refund_id": refund_id},
                           created=created, acked_days_ago=acked_days_ago)
                self.print_job(sale_id, "printed", created=created, data=b"slip",
                               refund_id=refund_id)
        return refund_id

    def event(self, topic: str, sale_id: str | None, payload: dict[str, object], *,
              created: str, acked_days_ago: float | None) -> int:
        acked = None if acked_days_ago is None else days_ago(acked_days_ago)
        cursor = self.db.execute(
            "INSERT INTO outbox (event_id, topic, sale_id, payload, created_at, acked_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [str(uuid.uuid4()), topic, sale_id, json.dumps(payload), created, acked],
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def print_job(self, sale_id: str | None, state: str, *, created: str,
                  data: bytes | None, refund_id: str | None = None) -> int:
        cursor = self.db.execute(
            "INSERT INTO print_jobs (sale_id, kind, state, data, created_at, updated_at, "
            "refund_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [sale_id, "refund_slip" if refund_id else "receipt", state, data, created,
             created, refund_id],
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def ack_audit_events(self, *, days: float) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE outbox SET acked_at = ? WHERE topic = 'audit.recorded'", [days_ago(days)]
            )

    def count(self, table: str, where: str = "1", *params: object) -> int:
        return int(self.db.execute(f"SELECT count(*) FROM {table} WHERE {where}",
                                   list(params)).fetchone()[0])


@pytest.fixture
def shop(db: Database) -> Shop:
    return Shop(db)


def test_acknowledged_outbox_rows_go_after_their_age_and_unacknowledged_ones_never(
    shop: Shop, db: Database
) -> None:
    old_acked = shop.event("audit.recorded", None, {"audit_id": 1}, created=days_ago(40),
                           acked_days_ago=31)
    young_acked = shop.event("audit.recorded", None, {"audit_id": 2}, created=days_ago(40),
                             acked_days_ago=29)
    ancient_pending = shop.event("audit.recorded", None, {"audit_id": 3},
                                 created=days_ago(1000), acked_days_ago=None)

    report = prune(db, RETENTION, NOW)

    assert report.outbox_rows == 1
    left = [row[0] for row in db.execute("SELECT id FROM outbox ORDER BY id")]
    assert left == [young_acked, ancient_pending]
    assert old_acked not in left


def test_a_synced_sale_past_its_age_goes_with_its_lines_attempt_refunds_and_print_jobs(
    shop: Shop, db: Database
) -> None:
    sale_id = shop.paid(closed_days_ago=91)
    shop.refund(sale_id)

    report = prune(db, RETENTION, NOW)

    assert report.sales == 1
    for table in ("sales", "sale_lines", "payment_attempts", "refunds", "print_jobs"):
        assert shop.count(table) == 0, table
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_an_unacknowledged_sale_of_any_age_stays_with_its_lines(shop: Shop, db: Database) -> None:
    sale_id = shop.paid(closed_days_ago=3000, acked_days_ago=None, lines=3)

    report = prune(db, RETENTION, NOW)

    assert report.sales == 0
    assert shop.count("sales", "id = ?", sale_id) == 1
    assert shop.count("sale_lines", "sale_id = ?", sale_id) == 3
    assert shop.count("payment_attempts", "sale_id = ?", sale_id) == 1
    assert shop.count("outbox", "sale_id = ?", sale_id) == 1


def test_a_sale_whose_refund_is_not_yet_acknowledged_stays(shop: Shop, db: Database) -> None:
    sale_id = shop.paid(closed_days_ago=200)
    shop.refund(sale_id, acked_days_ago=None)

    assert prune(db, RETENTION, NOW).sales == 0
    assert shop.count("sales", "id = ?", sale_id) == 1
    assert shop.count("refunds", "sale_id = ?", sale_id) == 1


@pytest.mark.parametrize("refund_state", ["requested", "submitted"])
def test_a_sale_with_an_unsettled_refund_stays(
    shop: Shop, db: Database, refund_state: str
) -> None:
    sale_id = shop.paid(closed_days_ago=200)
    shop.refund(sale_id, state=refund_state)

    assert prune(db, RETENTION, NOW).sales == 0
    assert shop.count("refunds", "sale_id = ? AND state = ?", sale_id, refund_state) == 1


@pytest.mark.parametrize("state", ["open", "locked"])
def test_an_open_or_locked_sale_is_never_pruned(shop: Shop, db: Database, state: str) -> None:
    sale_id = shop.sale(state=state, closed_days_ago=None)
    db.execute("UPDATE sales SET created_at = ?, updated_at = ? WHERE id = ?",
               [days_ago(3000), days_ago(3000), sale_id])
    db.conn.commit()

    assert prune(db, RETENTION, NOW).sales == 0
    assert shop.count("sale_lines", "sale_id = ?", sale_id) == 2


def test_an_acknowledged_sale_younger_than_its_age_stays(shop: Shop, db: Database) -> None:
    young = shop.paid(closed_days_ago=89, acked_days_ago=88)
    old = shop.paid(closed_days_ago=91, acked_days_ago=88)

    assert prune(db, RETENTION, NOW).sales == 1
    assert [row[0] for row in db.execute("SELECT id FROM sales")] == [young]
    assert shop.count("sale_lines", "sale_id = ?", old) == 0


def test_an_abandoned_sale_without_events_goes_after_its_age(shop: Shop, db: Database) -> None:
    old = shop.sale(state="abandoned", closed_days_ago=120)
    young = shop.sale(state="voided", closed_days_ago=10)

    assert prune(db, RETENTION, NOW).sales == 1
    assert shop.count("sales", "id = ?", old) == 0
    assert shop.count("sales", "id = ?", young) == 1


def test_a_paid_sale_whose_acknowledged_event_was_pruned_earlier_goes_too(
    shop: Shop, db: Database
) -> None:
    # Acknowledged events go after 30 days, sales after 90: by then the event is gone.
    sale_id = shop.paid(closed_days_ago=60, acked_days_ago=59)
    first = prune(db, RETENTION, NOW)
    assert (first.outbox_rows, first.sales) == (1, 0)

    later = prune(db, RETENTION, NOW + timedelta(days=31))

    assert later.sales == 1
    assert shop.count("sales", "id = ?", sale_id) == 0


def test_a_sale_with_a_payment_still_in_flight_stays(shop: Shop, db: Database) -> None:
    sale_id = shop.sale(state="abandoned", closed_days_ago=200)
    db.execute(
        "INSERT INTO payment_attempts (id, sale_id, state, amount_minor, created_at, updated_at) "
        "VALUES (?, ?, 'authorised', 398, ?, ?)",
        [str(uuid.uuid4()), sale_id, days_ago(200), days_ago(200)],
    )
    db.conn.commit()

    assert prune(db, RETENTION, NOW).sales == 0
    assert shop.count("sales", "id = ?", sale_id) == 1


def test_print_bytes_of_finished_jobs_go_after_their_age_and_unfinished_jobs_keep_them(
    shop: Shop, db: Database
) -> None:
    sale_id = shop.paid(closed_days_ago=20, acked_days_ago=None, receipt=b"old receipt")
    with db.atomic():
        young = shop.print_job(sale_id, "printed", created=days_ago(6), data=b"young")
        queued = shop.print_job(sale_id, "queued", created=days_ago(30), data=b"queued")
        printing = shop.print_job(sale_id, "printing", created=days_ago(30), data=b"printing")
        retrying = shop.print_job(sale_id, "retrying", created=days_ago(30), data=b"retry")

    report = prune(db, RETENTION, NOW)

    assert report.print_data == 1
    data = dict(db.execute("SELECT id, data FROM print_jobs").fetchall())
    assert sorted(job for job, value in data.items() if value is None) == [
        min(data)  # the receipt printed 20 days ago
    ]
    assert data[young] == b"young" and data[queued] == b"queued"
    assert data[printing] == b"printing" and data[retrying] == b"retry"
    assert shop.count("print_jobs") == 5  # the jobs stay; only their bytes went


def test_old_audit_rows_go_once_their_events_are_acknowledged(shop: Shop, db: Database) -> None:
    old = audit.record(db, at=NOW - timedelta(days=400), action="staff.pin_check", outcome="ok")
    also_old = audit.record(db, at=NOW - timedelta(days=370), action="sale.void", outcome="ok")
    young = audit.record(db, at=NOW - timedelta(days=100), action="staff.pin_check",
                         outcome="ok")
    shop.ack_audit_events(days=20)
    pending = audit.record(db, at=NOW - timedelta(days=500), action="receipt.reprint",
                           outcome="printed")

    report = prune(db, RETENTION, NOW)

    assert report.audit_rows == 2
    assert [entry.id for entry in audit.entries(db)] == [young, pending]
    assert {old, also_old}.isdisjoint(entry.id for entry in audit.entries(db))


def test_the_audit_log_stays_append_only_outside_pruning(shop: Shop, db: Database) -> None:
    row_id = audit.record(db, at=NOW - timedelta(days=400), action="a.b", outcome="ok")
    keep = audit.record(db, at=NOW - timedelta(days=400), action="a.c", outcome="ok")
    db.execute("UPDATE outbox SET acked_at = ? WHERE json_extract(payload, '$.audit_id') = ?",
               [days_ago(1), row_id])
    db.conn.commit()
    prune(db, RETENTION, NOW)

    assert shop.count("meta", "key = 'audit_pruning'") == 0
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit_log WHERE id = ?", [keep])
    db.conn.rollback()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_log SET outcome = 'changed' WHERE id = ?", [keep])
    db.conn.rollback()
    assert [entry.id for entry in audit.entries(db)] == [keep]


def test_a_new_database_is_created_for_incremental_vacuum(db: Database) -> None:
    assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == AUTO_VACUUM_INCREMENTAL


def test_the_first_prune_switches_an_old_database_to_incremental_vacuum(db: Database) -> None:
    db.conn.execute("PRAGMA auto_vacuum = NONE")  # as databases made before sync came
    db.conn.execute("VACUUM")
    assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 0

    prune(db, RETENTION, NOW)

    assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == AUTO_VACUUM_INCREMENTAL
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_pruning_many_rows_gives_the_pages_back_and_the_file_shrinks(
    shop: Shop, db: Database, tmp_path: Path
) -> None:
    prune(db, RETENTION, NOW)  # the one-time switch to incremental vacuum
    for _ in range(300):
        shop.paid(closed_days_ago=120, acked_days_ago=100, lines=5, receipt=b"\x00" * 2000)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages_before = db.execute("PRAGMA page_count").fetchone()[0]
    size_before = os.path.getsize(tmp_path / "kiosk.db")

    report = prune(db, RETENTION, NOW)

    assert report.sales == 300 and report.outbox_rows == 300
    assert report.vacuumed_pages > 0
    assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0
    pages_after = db.execute("PRAGMA page_count").fetchone()[0]
    assert pages_before - pages_after == report.vacuumed_pages
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert os.path.getsize(tmp_path / "kiosk.db") < size_before / 2


def test_a_backlog_is_pruned_a_few_sales_per_call_oldest_first(shop: Shop, db: Database) -> None:
    for days in (130, 120, 110, 100, 95):
        shop.paid(closed_days_ago=days, acked_days_ago=days - 1)
    first = prune(db, RETENTION, NOW, max_sales=2)
    assert first.sales == 2
    oldest_left = db.execute("SELECT min(closed_at) FROM sales").fetchone()[0]
    assert oldest_left == utc_now_iso(NOW - timedelta(days=110))
    assert prune(db, RETENTION, NOW, max_sales=2).sales == 2
    assert prune(db, RETENTION, NOW, max_sales=2).sales == 1
    assert db.execute("SELECT COUNT(*) FROM sales").fetchone() == (0,)


def test_deleted_rows_leave_free_pages_that_the_incremental_vacuum_returns(
    shop: Shop, db: Database
) -> None:
    prune(db, RETENTION, NOW)
    for _ in range(100):
        shop.sale(state="open", closed_days_ago=None, lines=20, name="x" * 150)
    with db.atomic():
        db.execute("DELETE FROM sale_lines")
    free_before = db.execute("PRAGMA freelist_count").fetchone()[0]
    assert free_before > 0

    report = prune(db, RETENTION, NOW)

    assert report.vacuumed_pages >= free_before
    assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0


def test_prune_runs_as_a_job_of_the_store_worker(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    with StoreWorker(path) as store:
        shop = Shop(store.submit(lambda db: db).result(5))
        store.submit(lambda db: shop.paid(closed_days_ago=91)).result(5)

        report = store.submit(lambda db: prune(db, RETENTION, NOW)).result(30)
        left = store.submit(lambda db: shop.count("sales")).result(5)

    assert isinstance(report, PruneReport)
    assert (report.sales, report.outbox_rows, left) == (1, 1, 0)


def test_prune_refuses_to_start_inside_a_transaction(db: Database) -> None:
    db.execute("BEGIN")
    with pytest.raises(RuntimeError, match="outside a transaction"):
        prune(db, RETENTION, NOW)
    db.conn.rollback()


def test_the_incremental_vacuum_can_be_capped_to_a_number_of_pages(
    shop: Shop, db: Database
) -> None:
    prune(db, RETENTION, NOW)
    for _ in range(50):
        shop.sale(state="open", closed_days_ago=None, lines=20, name="x" * 150)
    with db.atomic():
        db.execute("DELETE FROM sale_lines")
    free_before = db.execute("PRAGMA freelist_count").fetchone()[0]
    assert free_before > 10

    report = prune(db, RETENTION, NOW, vacuum_pages=10)

    assert report.vacuumed_pages == 10
    assert db.execute("PRAGMA freelist_count").fetchone()[0] == free_before - 10
