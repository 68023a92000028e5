"""The store worker: jobs run in order on its own connection, and a failing job hurts no other."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from kiosk.store.db import DatabaseCorrupt, StoreError, open_database
from kiosk.store.worker import StoreWorker

NOW = "2026-11-26T12:00:00.000000Z"


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[StoreWorker]:
    store = StoreWorker(tmp_path / "kiosk.db")
    yield store
    store.close()


def add_note(position: int) -> Callable[[Database], int]:
    def job(db: Database) -> int:
        db.execute(
            "INSERT INTO audit_log (at, action, outcome, detail) VALUES (?, 'test.note', 'ok', ?)",
            [NOW, str(position)],
        )
        return position

    return job


def notes(db: Database) -> list[str]:
    return [row[0] for row in db.conn.execute("SELECT detail FROM audit_log ORDER BY id")]


def test_jobs_run_in_the_order_they_were_submitted(worker: StoreWorker) -> None:
    futures = [worker.submit(add_note(n)) for n in range(50)]
    assert [future.result(timeout=30) for future in futures] == list(range(50))
    assert worker.submit(notes).result(timeout=30) == [str(n) for n in range(50)]


def test_jobs_run_on_the_workers_own_thread_and_money_connection(worker: StoreWorker) -> None:
    def where(db: Database) -> tuple[int, int]:
        return threading.get_ident(), db.conn.execute("PRAGMA synchronous").fetchone()[0]

    thread_id, synchronous = worker.submit(where).result(timeout=30)
    assert thread_id != threading.get_ident()
    assert synchronous == 2  # FULL: this connection records money


def test_a_worker_not_recording_money_uses_normal_sync(tmp_path: Path) -> None:
    with StoreWorker(tmp_path / "kiosk.db", records_money=False, name="reports") as store:
        level = store.submit(lambda db: db.conn.execute("PRAGMA synchronous").fetchone()[0])
        assert level.result(timeout=30) == 1


def test_a_failing_job_fails_its_own_future_and_the_worker_keeps_going(
    worker: StoreWorker, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(db: Database) -> None:
        with db.atomic():
            db.execute(
                "INSERT INTO audit_log (at, action, outcome) VALUES (?, 'half', 'done')", [NOW]
            )
            raise ValueError("printer on fire")

    caplog.set_level(logging.ERROR)
    before = worker.submit(add_note(1))
    failed = worker.submit(broken)
    after = worker.submit(add_note(2))
    assert before.result(timeout=30) == 1
    with pytest.raises(ValueError, match="printer on fire"):
        failed.result(timeout=30)
    assert after.result(timeout=30) == 2
    assert worker.submit(notes).result(timeout=30) == ["1", "2"]
    assert "printer on fire" in caplog.text
    assert worker.running


def test_a_job_that_leaves_a_transaction_open_is_rolled_back_and_reported(
    worker: StoreWorker,
) -> None:
    def forgetful(db: Database) -> str:
        db.begin()
        db.execute("INSERT INTO audit_log (at, action, outcome) VALUES (?, 'lost', 'ok')", [NOW])
        return "done"

    with pytest.raises(StoreError, match="transaction open"):
        worker.submit(forgetful).result(timeout=30)
    assert worker.submit(add_note(7)).result(timeout=30) == 7
    assert worker.submit(notes).result(timeout=30) == ["7"]


def test_closing_runs_every_queued_job_first_and_commits_it(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    store = StoreWorker(path)
    futures = [store.submit(add_note(n)) for n in range(30)]
    store.close()
    assert all(future.done() for future in futures)
    assert [future.result() for future in futures] == list(range(30))
    assert not store.running
    reader = open_database(path)
    try:
        assert notes(reader) == [str(n) for n in range(30)]
    finally:
        reader.close()


def test_submitting_after_close_is_refused(tmp_path: Path) -> None:
    store = StoreWorker(tmp_path / "kiosk.db")
    store.close()
    store.close()  # harmless
    with pytest.raises(StoreError, match="closed"):
        store.submit(notes)


def test_the_heartbeat_keeps_moving_while_the_worker_is_idle(tmp_path: Path) -> None:
    with StoreWorker(tmp_path / "kiosk.db", idle_turn_s=0.002) as store:
        first = store.heartbeat
        turns: set[float] = set()
        deadline = time.monotonic() + 30
        while len(turns) < 3 and time.monotonic() < deadline:
            time.sleep(0.001)
            if store.heartbeat != first:
                turns.add(store.heartbeat)
        assert len(turns) >= 3, "the idle loop never turned"
        assert max(turns) > first


def test_close_gives_up_after_its_timeout_while_a_job_is_stuck(tmp_path: Path) -> None:
    store = StoreWorker(tmp_path / "kiosk.db")
    release = threading.Event()
    started = threading.Event()

    def stuck(db: Database) -> str:
        started.set()
        release.wait(timeout=60)
        return "finished"

    future = store.submit(stuck)
    assert started.wait(timeout=30)
    with pytest.raises(TimeoutError):
        store.close(timeout_s=0.005)
    release.set()
    store.close()
    assert future.result() == "finished"


def test_a_worker_on_a_damaged_database_fails_to_start(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    path.write_bytes(b"not sqlite at all " * 500)
    with pytest.raises(DatabaseCorrupt):
        StoreWorker(path)
