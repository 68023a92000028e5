"""Retention: pruning what the back office already has, so the kiosk's SD card does not fill.

``prune`` runs on the store worker (``store.submit(lambda db: prune(db, retention, now))``),
one transaction per step, and never removes anything the back office has not acknowledged:

1. acknowledged outbox rows older than ``acknowledged_outbox_days`` (by ``acked_at``);
2. closed sales (paid, abandoned, voided) older than ``synced_sales_days`` (by ``closed_at``),
   with their lines, payment attempt, refunds and print jobs, unless the sale still has an
   unacknowledged outbox row, an unsettled refund (requested or submitted), a payment
   attempt still in flight or a print job not yet finished;
3. the printed bytes (``print_jobs.data``) of finished jobs older than ``print_data_days``;
   jobs waiting, queued, printing or retrying keep theirs;
4. the oldest staff audit rows: those older than ``audit_days`` whose ``audit.recorded``
   event is not waiting to be sent, up to the first row that is younger or still waiting
   (the log is a chain: only its start is ever cut). A keyed checkpoint (the last deleted
   row's id and chain hash, ``kiosk.store.audit_chain``) is stored in the same transaction,
   and the chain continues from it, so deleting rows without the audit key breaks the chain
   for ``kiosk audit verify``. A sealed log is not pruned by a connection without the key.
   The delete trigger lets a delete through only while ``meta.audit_pruning = '1'``, which
   this step sets, uses and removes in one transaction;
5. an incremental vacuum, which gives the freed pages back to the file system.

"Acknowledged" is judged by the absence of an unacknowledged outbox row: every sale's
``sale.paid`` event is written in the transaction that marks it paid, and every audit row's
event in the transaction that writes the row, so an event that is no longer in the outbox was
acknowledged and then pruned by step 1 (which keeps its rows for fewer days than sales and
audit rows are kept).

The vacuum needs the database in ``auto_vacuum = INCREMENTAL`` mode. Databases created before
retention existed are in mode NONE: the first ``prune`` switches them, which takes one full
``VACUUM`` (it rewrites the whole file once, needs as much free space as the file's size and
holds the write lock meanwhile; it cannot run inside a transaction). Later runs only free
pages with ``PRAGMA incremental_vacuum``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from kiosk.config.settings import RetentionSettings
from kiosk.core.timestamps import utc_now_iso
from kiosk.store.audit_chain import chain_started, checkpoint, set_checkpoint
from kiosk.store.db import immediate_transaction
from kiosk.store.keys import keys_of

log = logging.getLogger(__name__)

AUTO_VACUUM_INCREMENTAL = 2
"""``PRAGMA auto_vacuum`` value of incremental mode (0 is NONE, 1 is FULL)."""

UNSETTLED_REFUND_STATES = ("requested", "submitted")
"""Refund states that may still change: their sale is kept."""

ATTEMPT_IN_FLIGHT_STATES = ("locked", "intent_created", "processing", "authorised")
"""Payment attempt states recovery may still act on: their sale is kept."""

FINISHED_PRINT_STATES = (
    "printed", "reprinted", "failed", "unprinted", "qr", "none", "timed_out",
)
"""Print job states after which the job's bytes are never sent again (a reprint renders a
new copy); any other state keeps the job's bytes."""

_UNACKED_SALES = (
    "SELECT sale_id FROM outbox WHERE acked_at IS NULL AND sale_id IS NOT NULL"
)
_UNACKED_AUDIT_IDS = (
    "SELECT json_extract(payload, '$.audit_id') FROM outbox "
    "WHERE acked_at IS NULL AND topic = 'audit.recorded' "
    "AND json_extract(payload, '$.audit_id') IS NOT NULL"
)


@dataclass(frozen=True)
class PruneReport:
    """What one ``prune`` removed: ``outbox_rows`` deleted, ``sales`` deleted (with their
    lines, attempts, refunds and print jobs), ``print_data`` jobs whose bytes were dropped,
    ``audit_rows`` deleted, and ``vacuumed_pages`` the database file shrank by."""

    outbox_rows: int
    sales: int
    print_data: int
    audit_rows: int
    vacuumed_pages: int


def prune(
    db: Database,
    retention: RetentionSettings,
    now: datetime,
    *,
    vacuum_pages: int = 0,
    max_sales: int | None = None,
) -> PruneReport:
    """Remove what the back office acknowledged and retention no longer keeps, then vacuum.

    ``now`` is aware; ages are whole days before it. ``vacuum_pages`` caps the pages one
    incremental vacuum frees (0: all free pages); ``max_sales`` caps the sales one call
    deletes (a caller on the store worker prunes a backlog in several jobs, so payments get
    their turn in between: ``report.sales == max_sales`` means more may be left). Must run
    on the connection that owns writes (the store worker's) with no transaction open: the
    one-time switch to incremental auto-vacuum cannot run inside one.
    """
    if db.conn.in_transaction:
        raise RuntimeError("prune must start outside a transaction (VACUUM cannot run in one)")
    outbox_rows = _prune_outbox(db, _cutoff(now, retention.acknowledged_outbox_days))
    sales = _prune_sales(db, _cutoff(now, retention.synced_sales_days), max_sales)
    print_data = _drop_print_data(db, _cutoff(now, retention.print_data_days))
    audit_rows = _prune_audit(db, _cutoff(now, retention.audit_days))
    vacuumed = vacuum(db, max_pages=vacuum_pages)
    report = PruneReport(outbox_rows, sales, print_data, audit_rows, vacuumed)
    if outbox_rows or sales or print_data or audit_rows or vacuumed:
        log.info("retention: %s", report)
    return report


def _cutoff(now: datetime, days: int) -> str:
    # Stored timestamps share one fixed-width UTC form, so text order is time order.
    return utc_now_iso(now - timedelta(days=days))


def _prune_outbox(db: Database, cutoff: str) -> int:
    with immediate_transaction(db):
        cursor = db.execute(
            "DELETE FROM outbox WHERE acked_at IS NOT NULL AND acked_at < ?", [cutoff]
        )
        return max(cursor.rowcount, 0)


def _prune_sales(db: Database, cutoff: str, limit: int | None) -> int:
    states = UNSETTLED_REFUND_STATES + ATTEMPT_IN_FLIGHT_STATES + FINISHED_PRINT_STATES
    refund_marks = _marks(UNSETTLED_REFUND_STATES)
    attempt_marks = _marks(ATTEMPT_IN_FLIGHT_STATES)
    print_marks = _marks(FINISHED_PRINT_STATES)
    with immediate_transaction(db):
        ids = [
            (row[0],)
            for row in db.execute(
                "SELECT s.id FROM sales s "
                "WHERE s.state IN ('paid', 'abandoned', 'voided') "
                "AND s.closed_at IS NOT NULL AND s.closed_at < ? "
                f"AND s.id NOT IN ({_UNACKED_SALES}) "
                "AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.sale_id = s.id "
                f"AND r.state IN ({refund_marks})) "
                "AND NOT EXISTS (SELECT 1 FROM payment_attempts a WHERE a.sale_id = s.id "
                f"AND a.state IN ({attempt_marks})) "
                "AND NOT EXISTS (SELECT 1 FROM print_jobs j WHERE j.sale_id = s.id "
                f"AND j.state NOT IN ({print_marks})) "
                "ORDER BY s.closed_at LIMIT ?",
                [cutoff, *states, -1 if limit is None else limit],
            ).fetchall()
        ]
        if not ids:
            return 0
        conn = db.conn
        # Children first: the foreign keys (print_jobs -> refunds -> sales) are enforced.
        conn.executemany("DELETE FROM print_jobs WHERE sale_id = ?", ids)
        conn.executemany(
            "DELETE FROM print_jobs WHERE refund_id IN "
            "(SELECT id FROM refunds WHERE sale_id = ?)",
            ids,
        )
        conn.executemany("DELETE FROM refunds WHERE sale_id = ?", ids)
        conn.executemany("DELETE FROM payment_attempts WHERE sale_id = ?", ids)
        conn.executemany("DELETE FROM sale_lines WHERE sale_id = ?", ids)
        conn.executemany("DELETE FROM sales WHERE id = ?", ids)
        return len(ids)


def _drop_print_data(db: Database, cutoff: str) -> int:
    with immediate_transaction(db):
        cursor = db.execute(
            "UPDATE print_jobs SET data = NULL WHERE data IS NOT NULL AND created_at < ? "
            f"AND state IN ({_marks(FINISHED_PRINT_STATES)})",
            [cutoff, *FINISHED_PRINT_STATES],
        )
        return max(cursor.rowcount, 0)


def _prune_audit(db: Database, cutoff: str) -> int:
    keys = keys_of(db)
    with immediate_transaction(db):
        if keys is None and chain_started(db):
            log.warning("retention: audit rows are not pruned without the audit key")
            return 0
        (kept,) = db.execute(
            f"SELECT MIN(id) FROM audit_log WHERE at >= ? OR id IN ({_UNACKED_AUDIT_IDS})",
            [cutoff],
        ).fetchone()
        last = db.execute(
            "SELECT id, chain_hash FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT 1",
            [kept if kept is not None else 2**63 - 1],
        ).fetchone()
        if last is None:
            return 0
        # The delete trigger allows deletes only while this flag is set; it never outlives
        # the transaction (a failure rolls back the flag with the deletes).
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('audit_pruning', '1') "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )
        cursor = db.execute("DELETE FROM audit_log WHERE id <= ?", [last[0]])
        deleted = max(cursor.rowcount, 0)
        db.execute("DELETE FROM meta WHERE key = 'audit_pruning'")
        if keys is not None and chain_started(db):
            found = checkpoint(db)
            if found is None or found.after_id < last[0]:
                set_checkpoint(db, keys.audit_key, int(last[0]), str(last[1] or ""))
        return deleted


def vacuum(db: Database, *, max_pages: int = 0) -> int:
    """Give free pages back to the file system; return how many pages the file shrank by.

    Switches a database still in ``auto_vacuum = NONE`` to INCREMENTAL first, with one full
    ``VACUUM`` (a one-time rewrite of the whole file). ``max_pages`` caps the pages freed by
    the incremental vacuum (0: all). Must run outside a transaction.
    """
    conn = db.conn
    before = _pragma_int(db, "page_count")
    mode = _pragma_int(db, "auto_vacuum")
    if mode != AUTO_VACUUM_INCREMENTAL:
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        if mode == 0:
            # From NONE the new mode only takes effect after a VACUUM rebuilds the file.
            log.info("retention: switching the database to incremental vacuum (one VACUUM)")
            conn.execute("VACUUM")
    # executescript steps the pragma to the end; a plain execute would free only one page
    # (Python's sqlite3 stops a statement that returns no columns after its first step).
    conn.executescript(f"PRAGMA incremental_vacuum({int(max_pages)});")
    return max(before - _pragma_int(db, "page_count"), 0)


def _pragma_int(db: Database, name: str) -> int:
    return int(db.conn.execute(f"PRAGMA {name}").fetchone()[0])


def _marks(values: tuple[str, ...]) -> str:
    return ", ".join("?" for _ in values)
