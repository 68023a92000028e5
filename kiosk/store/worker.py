"""A thread that owns one database connection and runs submitted jobs on it, in order.

This is how the UI thread stays free of fsync: the facade submits writes here and gets a
`concurrent.futures.Future` back. The loop turns at least every ``idle_turn_s`` seconds even
when idle and records the time of each turn in `StoreWorker.heartbeat`, so a watchdog can tell
the thread is alive. A job that raises fails only its own future.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from sqlite_utils import Database

from kiosk.store.db import Refusal, StoreError, open_database
from kiosk.store.keys import StoreKeys

log = logging.getLogger(__name__)

T = TypeVar("T")

_Job = tuple[Callable[[Database], Any], "Future[Any]"]
_STOP = None


class StoreWorker:
    """Runs jobs ``job(db)`` one after another on a connection opened in its own thread.

    The constructor returns once the connection is open (and raises what `open_database`
    raised if it could not be). ``idle_turn_s`` is the longest the loop waits for work
    before turning anyway, in seconds. ``keys`` (the PIN pepper and the audit key) let the
    connection wrap PINs and seal audit rows (``open_database``).
    """

    def __init__(
        self,
        path: Path,
        *,
        records_money: bool = True,
        name: str = "store",
        check: bool = True,
        busy_timeout_ms: int = 5000,
        idle_turn_s: float = 0.5,
        keys: StoreKeys | None = None,
    ) -> None:
        self.path = Path(path)
        self._keys = keys
        self.name = name
        self._records_money = records_money
        self._check = check
        self._busy_timeout_ms = busy_timeout_ms
        self._idle_turn_s = idle_turn_s
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closing = False
        self._submit_lock = threading.Lock()
        self._heartbeat = time.monotonic()
        self._opened = threading.Event()
        self._open_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"kiosk-{name}", daemon=True)
        self._thread.start()
        self._opened.wait()
        if self._open_error is not None:
            self._thread.join()
            raise self._open_error

    @property
    def heartbeat(self) -> float:
        """``time.monotonic()`` (seconds) of the loop's latest turn."""
        return self._heartbeat

    @property
    def running(self) -> bool:
        """True while the worker thread is alive."""
        return self._thread.is_alive()

    def submit(self, job: Callable[[Database], T]) -> Future[T]:
        """Queue ``job`` to run on the worker's connection; the future gets its result or error."""
        future: Future[T] = Future()
        with self._submit_lock:
            if self._closing:
                raise StoreError(f"store worker {self.name!r} is closed")
            self._jobs.put((job, future))
        return future

    def close(self, timeout_s: float = 5) -> None:
        """Run every job already queued, then close the connection and stop the thread.

        Waits up to ``timeout_s`` seconds and raises `TimeoutError` if the thread is still
        busy then. Submitting after `close` raises `StoreError`. Calling it twice is harmless.
        """
        with self._submit_lock:
            if not self._closing:
                self._closing = True
                self._jobs.put(_STOP)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise TimeoutError(
                f"store worker {self.name!r} did not finish within {timeout_s} s"
            )

    def __enter__(self) -> StoreWorker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self) -> None:
        try:
            db = open_database(
                self.path,
                records_money=self._records_money,
                busy_timeout_ms=self._busy_timeout_ms,
                check=self._check,
                keys=self._keys,
            )
        except BaseException as exc:
            self._open_error = exc
            self._closing = True
            self._opened.set()
            return
        self._opened.set()
        try:
            self._loop(db)
        finally:
            db.close()
            self._fail_leftovers()

    def _loop(self, db: Database) -> None:
        while True:
            self._heartbeat = time.monotonic()
            try:
                item = self._jobs.get(timeout=self._idle_turn_s)
            except queue.Empty:
                continue
            if item is _STOP:
                return
            job, future = item
            if future.set_running_or_notify_cancel():
                self._run_job(db, job, future)

    def _run_job(self, db: Database, job: Callable[[Database], Any], future: Future[Any]) -> None:
        try:
            result = job(db)
        except Exception as exc:
            if isinstance(exc, Refusal):
                log.info("store worker %r: job refused: %s", self.name, exc)
            else:
                log.exception("store worker %r: job %r failed", self.name, job)
            if db.conn.in_transaction:
                db.rollback()
            future.set_exception(exc)
            return
        except BaseException as exc:  # SystemExit and the like stop the worker, after telling
            future.set_exception(exc)
            raise
        if db.conn.in_transaction:
            # Work left uncommitted would silently join the next job's transaction.
            db.rollback()
            log.error("store worker %r: job %r left a transaction open; rolled back",
                      self.name, job)
            future.set_exception(StoreError("the job left a transaction open; rolled back"))
            return
        future.set_result(result)

    def _fail_leftovers(self) -> None:
        with self._submit_lock:
            self._closing = True
        while True:
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                return
            if item is not _STOP:
                _, future = item
                if future.set_running_or_notify_cancel():
                    future.set_exception(StoreError(f"store worker {self.name!r} stopped"))
