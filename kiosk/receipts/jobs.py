"""The receipt desk: one thread that prints receipts, retries them briefly, and reprints copies.

When a sale is paid the payment code stores a ``print_jobs`` row (kind ``receipt``, state
``awaiting_choice``). The customer's choice arrives through :meth:`ReceiptDesk.choose`:

* ``"print"``: the receipt is rendered, its ESC/POS bytes stored in ``print_jobs.data`` and the
  state ``printing`` committed *before* a byte is sent; then ``printed``.
* ``"qr"``, ``"none"``: nothing is printed; the state becomes ``qr`` or ``none``.
* ``"timeout"``: the customer chose nothing within ``[timeouts] receipt_choice_s``; an
  unattended kiosk prints nothing then (state ``timed_out``), so no receipt is left lying at
  the kiosk for the next customer to take.

A failed print (offline, paper out, cover open, error) never touches the sale: it stays paid.
The job becomes ``retrying`` and is tried again every ``retry_every_s`` seconds, but only until
``retry_window_s`` seconds (``[printer] retry_window_s``) after the job was created (the moment
of payment), so a late receipt never prints in front of the next customer; after that it is
``unprinted`` and listed for staff (:meth:`ReceiptDesk.unprinted`). A job that failed part-way
through (``PrinterError.mid_job``, or a power cut while ``printing``) is printed again whole,
marked REPRINT. A staff or CLI reprint (:meth:`ReceiptDesk.reprint`) is a new job with
``copy = 1``, marked COPY; it is not retried (staff see the result at once) and a successful
copy settles the sale's ``unprinted`` jobs (state ``reprinted``). The staff menu's printer
test page (:meth:`ReceiptDesk.print_test_page`) and status check
(:meth:`ReceiptDesk.printer_status`) run on the same thread, so they never cut into a receipt;
the test page is not a print job (nothing is stored for it).

Job states: ``awaiting_choice``, ``printing``, ``printed``, ``retrying``, ``unprinted``,
``reprinted``, ``failed`` (a copy that did not print), ``qr``, ``none``, ``timed_out``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlite_utils import Database

from kiosk.config import Settings
from kiosk.core.receipt import Receipt
from kiosk.core.timestamps import parse_utc_iso, utc_now_iso
from kiosk.devices.printer_status import PrinterError, PrinterStatus
from kiosk.store import audit
from kiosk.store.db import immediate_transaction
from kiosk.store.receipts import receipt_for_sale, refund_slip_for
from kiosk.store.worker import StoreWorker

if TYPE_CHECKING:  # the driver loads python-escpos: see `receipt_bytes`
    from kiosk.devices.printer import ReceiptPrinter

log = logging.getLogger(__name__)

__all__ = ["CHOICES", "PrintEvents", "ReceiptDesk", "UnprintedReceipt", "receipt_bytes",
           "record_copy_done", "record_copy_started"]

SLIP_CHECK_S = 1.0
"""Seconds between two looks for refund slips waiting to be printed."""

CHOICES = ("print", "qr", "none", "timeout")
"""What the customer can answer on the receipt screen ("timeout": no answer in time)."""

_CHOICE_STATES = {"qr": "qr", "none": "none", "timeout": "timed_out"}


class PrintEvents(Protocol):
    """What the receipt desk reports; called on the print thread (the facade posts them to
    its main thread)."""

    def receipt_printed(self, sale_id: str) -> None:
        """The customer's receipt was printed (called after the ``printed`` commit)."""

    def receipt_failed(self, sale_id: str, status: str, will_retry: bool) -> None:
        """Printing failed with ``status`` (a `PrinterStatus` value); ``will_retry`` is False
        once the job has gone to the staff's unprinted list. The sale stays paid."""


@dataclass(frozen=True)
class UnprintedReceipt:
    """A receipt that could not be printed within the retry window, for the staff menu.

    ``paid_at`` is aware, in UTC; ``last_error`` is the printer status of the last failure.
    """

    job_id: int
    sale_id: str
    sale_number: int
    paid_at: datetime
    last_error: str


def receipt_bytes(receipt: Receipt, settings: Settings) -> bytes:
    """The ESC/POS bytes of ``receipt`` for the configured printer (paper width, code page,
    the shipped logo if any)."""
    # python-escpos (with Pillow, qrcode and python-barcode, about 5 MiB) loads with the first
    # receipt printed, not with the kiosk: many sales end without one.
    from kiosk.receipts.escpos_render import render_escpos
    from kiosk.receipts.preview import shipped_logo

    printer = settings.printer
    return render_escpos(receipt, paper_width_mm=printer.paper_width_mm,
                         code_page=printer.code_page, logo=shipped_logo())


@dataclass(frozen=True)
class _Choose:
    sale_id: str
    choice: str


@dataclass(frozen=True)
class _Reprint:
    sale_id: str
    by: int | None
    future: Future[str]


@dataclass(frozen=True)
class _Call:
    run: Callable[[], Any]
    future: Future[Any]


_STOP = object()


@dataclass(frozen=True)
class _Job:
    id: int
    sale_id: str
    state: str
    copy: bool
    created_at: datetime
    kind: str = "receipt"
    refund_id: str | None = None


class _Failure(Exception):
    def __init__(self, status: str, mid_job: bool) -> None:
        super().__init__(status)
        self.status = status
        self.mid_job = mid_job


class ReceiptDesk:
    """Prints receipts on its own daemon thread (see the module docstring).

    ``printer`` opens the receipt printer (``None``: there is none); it is called when a
    receipt is to be printed and again after a failure. ``clock`` gives aware UTC datetimes
    for stored timestamps and the retry window; ``monotonic`` (seconds) paces the retries
    every ``retry_every_s`` seconds. ``idle_turn_s`` is the longest the loop waits between
    turns (seconds).
    """

    def __init__(
        self,
        *,
        store: StoreWorker,
        settings: Settings,
        printer: Callable[[], ReceiptPrinter | None],
        events: PrintEvents,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
        retry_every_s: float = 2.0,
        idle_turn_s: float = 0.1,
    ) -> None:
        self._store = store
        self._settings = settings
        self._open_printer = printer
        self._events = events
        self._clock = clock
        self._monotonic = monotonic
        self._retry_every_s = retry_every_s
        self._idle_turn_s = idle_turn_s
        self._window = timedelta(seconds=settings.printer.retry_window_s)
        self._commands: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._printer: ReceiptPrinter | None = None
        self._next_try: dict[int, float] = {}
        self._next_slip_check = 0.0
        self._heartbeat = monotonic()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ public API

    @property
    def heartbeat(self) -> float:
        """``monotonic()`` (seconds) of the print thread's latest turn."""
        return self._heartbeat

    def start(self) -> None:
        """Start the print thread; it first runs :meth:`recover`."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="kiosk-receipts", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5) -> None:
        """Stop the print thread after the command in hand, waiting up to ``timeout_s``
        seconds; raises `TimeoutError` if it is still busy then."""
        thread = self._thread
        if thread is None:
            return
        self._commands.put(_STOP)
        thread.join(timeout_s)
        if thread.is_alive():
            raise TimeoutError(f"the receipt desk did not stop within {timeout_s} s")
        self._close_printer()

    def choose(self, sale_id: str, choice: str) -> None:
        """Queue the customer's answer for the paid sale ``sale_id``: ``"print"``, ``"qr"``,
        ``"none"`` or ``"timeout"`` (no answer: nothing is printed). Raises ``ValueError`` for
        any other choice."""
        if choice not in CHOICES:
            raise ValueError(f"unknown receipt choice {choice!r}; expected one of {CHOICES}")
        self._commands.put(_Choose(sale_id, choice))

    def next_customer(self) -> None:
        """A new sale has started: receipts still being retried go to the unprinted list now,
        so a late receipt never prints in front of the next customer."""
        future: Future[None] = Future()
        self._commands.put(_Call(self._close_retries, future))

    def _close_retries(self) -> None:
        for job_id in list(self._next_try):
            self._set_state(job_id, "unprinted", expect=("retrying",))

    def reprint(self, sale_id: str, *, by: int | None = None) -> Future[str]:
        """Print a copy (marked COPY) of the paid sale's receipt, for staff number ``by``.

        The future's result is ``"printed"`` or the failure's printer status (such as
        ``"offline"``); it fails with `ReceiptUnavailable` if the sale is unknown or not paid.
        """
        future: Future[str] = Future()
        self._commands.put(_Reprint(sale_id, by, future))
        return future

    def print_test_page(self) -> Future[str]:
        """Print the printer test page (:mod:`kiosk.receipts.printer_test_page`) on the desk's
        thread, between receipts, never in the middle of one.

        The printer is asked for its status first; the future's result is ``"printed"`` or
        the printer's status when it cannot print (such as ``"offline"`` or ``"paper_out"``;
        nothing is printed then). Not audited here: the staff menu writes the audit row.
        """
        future: Future[str] = Future()
        self._commands.put(_Call(self._print_test_page, future))
        return future

    def printer_status(self) -> Future[str]:
        """Ask the printer for its status (DLE EOT) on the desk's thread; the future's result
        is a `PrinterStatus` value (``"offline"`` when there is no printer or it cannot be
        reached)."""
        future: Future[str] = Future()
        self._commands.put(_Call(self._printer_status, future))
        return future

    def unprinted(self) -> list[UnprintedReceipt]:
        """The customer receipts that went to the staff's list, oldest first."""
        return self._store.submit(_unprinted).result()

    def recover(self) -> None:
        """Settle jobs a stop or a power cut left behind (safe to call more than once).

        ``printing`` jobs are printed again whole, marked REPRINT, if still within the retry
        window, else they go to the unprinted list; ``retrying`` jobs past the window go there
        too; ``awaiting_choice`` jobs older than the choice timeout become ``timed_out``.
        """
        now = self._clock()
        jobs = self._store.submit(
            lambda db: _jobs_in(db, ("printing", "retrying", "awaiting_choice"))).result()
        choice_deadline = now - timedelta(seconds=self._settings.timeouts.receipt_choice_s)
        for job in jobs:
            if job.state == "awaiting_choice":
                if job.created_at < choice_deadline:
                    self._set_state(job.id, "timed_out", expect=("awaiting_choice",))
                continue
            if job.copy or not self._in_window(job, now):
                final = "failed" if job.copy else "unprinted"
                self._set_state(job.id, final, expect=(job.state,))
                continue
            if job.state == "printing":
                self._interrupted(job)
            self._next_try[job.id] = self._monotonic()

    def _interrupted(self, job: _Job) -> None:
        data = self._render_job(job, mark="REPRINT")
        stamp = self._stamp()
        self._store.submit(lambda db: _to_retry(db, job.id, data, "interrupted", stamp)).result()

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        try:
            self.recover()
        except Exception:
            log.exception("receipt recovery failed")
        while True:
            self._heartbeat = self._monotonic()
            try:
                command = self._commands.get(timeout=self._idle_turn_s)
            except queue.Empty:
                command = None
            if command is _STOP:
                return
            try:
                if command is not None:
                    self._handle(command)
                self._retry_due()
                self._print_queued_slips()
            except Exception:
                log.exception("receipt desk: %r failed", command)

    def _handle(self, command: object) -> None:
        if isinstance(command, _Choose):
            self._choose(command)
        elif isinstance(command, _Reprint):
            if command.future.set_running_or_notify_cancel():
                try:
                    command.future.set_result(self._reprint(command.sale_id, command.by))
                except Exception as error:
                    command.future.set_exception(error)
        elif isinstance(command, _Call) and command.future.set_running_or_notify_cancel():
            try:
                command.future.set_result(command.run())
            except Exception as error:
                command.future.set_exception(error)

    def _choose(self, command: _Choose) -> None:
        job = self._store.submit(lambda db: _waiting_job(db, command.sale_id)).result()
        if job is None:
            log.warning("receipt choice %r for sale %s: no receipt is waiting for a choice",
                        command.choice, command.sale_id)
            return
        if command.choice != "print":
            self._set_state(job.id, _CHOICE_STATES[command.choice], expect=("awaiting_choice",))
            return
        data = self._render(job.sale_id, mark="")
        self._store.submit(lambda db: _to_printing(db, job.id, data, self._stamp())).result()
        self._print_customer_job(job, data)

    def _retry_due(self) -> None:
        if not self._next_try:
            return
        now_m = self._monotonic()
        for job_id, due in sorted(self._next_try.items(), key=lambda item: item[1]):
            if due > now_m:
                continue
            del self._next_try[job_id]
            self._heartbeat = self._monotonic()  # each retry is bounded; the turn is not
            self._retry(job_id)

    def _retry(self, job_id: int) -> None:
        found = self._store.submit(lambda db: _job(db, job_id)).result()
        if found is None or found.state != "retrying":
            return
        if not self._in_window(found, self._clock()):
            self._set_state(found.id, "unprinted", expect=("retrying",))
            return
        stamp = self._stamp()
        data = self._store.submit(lambda db: _retry_to_printing(db, job_id, stamp)).result()
        if data is not None:
            self._print_customer_job(found, data)

    def _print_customer_job(self, job: _Job, data: bytes) -> None:
        try:
            self._send(data)
        except _Failure as failure:
            self._customer_job_failed(job, failure.status, failure.mid_job)
            return
        self._store.submit(lambda db: _to_final(
            db, job.id, "printed", None, self._stamp())).result()
        if job.kind == "receipt":
            self._events.receipt_printed(job.sale_id)

    def _customer_job_failed(self, job: _Job, status: str, mid_job: bool) -> None:
        stamp = self._stamp()
        will_retry = self._in_window(job, self._clock())
        if will_retry:
            again = self._render_job(job, mark="REPRINT") if mid_job else None
            self._store.submit(lambda db: _to_retry(db, job.id, again, status, stamp)).result()
            self._next_try[job.id] = self._monotonic() + self._retry_every_s
        else:
            self._store.submit(
                lambda db: _to_final(db, job.id, "unprinted", status, stamp)).result()
        # Tell once, when the customer may still be there; retries fail quietly (the staff
        # see the job on the unprinted list when the window closes).
        if job.kind == "receipt" and job.state != "retrying":
            self._events.receipt_failed(job.sale_id, status, will_retry)

    def _reprint(self, sale_id: str, by: int | None) -> str:
        data = self._render(sale_id, mark="COPY")
        job_id = self._store.submit(
            lambda db: record_copy_started(db, sale_id, data, self._stamp())).result()
        error: str | None = None
        try:
            self._send(data)
        except _Failure as failure:
            error = failure.status
        at = self._clock()
        self._store.submit(lambda db: record_copy_done(db, job_id, sale_id, error, by, at)).result()
        return error or "printed"

    # ------------------------------------------------------------------ printing

    def _print_test_page(self) -> str:
        status = self._printer_status()
        if status not in (PrinterStatus.READY, PrinterStatus.UNKNOWN):
            return status
        from kiosk.receipts import printer_test_page

        at_local = self._clock().astimezone(self._settings.shop.zone())
        data = printer_test_page.page_bytes(self._settings, at_local=at_local, status=status)
        try:
            self._send(data)
        except _Failure as failure:
            return failure.status
        return "printed"

    def _printer_status(self) -> str:
        try:
            printer = self._printer or self._open_printer()
        except (OSError, PrinterError) as error:
            log.warning("cannot open the receipt printer: %s", error)
            printer = None
        if printer is None:
            return PrinterStatus.OFFLINE.value
        self._printer = printer
        return printer.status().value

    def _send(self, data: bytes) -> None:
        """Send ``data`` to the printer, or raise `_Failure` with the printer's status."""
        try:
            printer = self._printer or self._open_printer()
        except (OSError, PrinterError) as error:
            log.warning("cannot open the receipt printer: %s", error)
            printer = None
        if printer is None:
            raise _Failure(PrinterStatus.OFFLINE.value, mid_job=False)
        self._printer = printer
        try:
            printer.print_bytes(data)  # checks the printer's status first
        except PrinterError as error:
            self._close_printer()
            raise _Failure(PrinterStatus(error.status).value, error.mid_job) from None
        except OSError as error:
            self._close_printer()
            log.warning("receipt printer connection failed: %s", error)
            raise _Failure(PrinterStatus.OFFLINE.value, mid_job=True) from None

    def _close_printer(self) -> None:
        printer, self._printer = self._printer, None
        if printer is not None:
            try:
                printer.close()
            except OSError:
                log.warning("closing the receipt printer failed", exc_info=True)

    # ------------------------------------------------------------------ helpers

    def _render_job(self, job: _Job, *, mark: str) -> bytes:
        """The bytes of a job: the sale's receipt, or the refund slip it names."""
        if job.kind == "refund_slip" and job.refund_id is not None:
            refund_id = job.refund_id
            slip = self._store.submit(
                lambda db: refund_slip_for(db, refund_id, self._settings, mark=mark)).result()
            return receipt_bytes(slip, self._settings)
        return self._render(job.sale_id, mark=mark)

    def _print_queued_slips(self) -> None:
        """Refund slips are printed as soon as the refund succeeded (staff are at the kiosk)."""
        now_m = self._monotonic()
        if now_m < self._next_slip_check:
            return
        self._next_slip_check = now_m + SLIP_CHECK_S
        for job in self._store.submit(_queued_slips).result():
            self._print_slip(job)

    def _print_slip(self, job: _Job) -> None:
        if not self._in_window(job, self._clock()):  # e.g. settled by recovery at start-up
            self._set_state(job.id, "unprinted", expect=("queued",))
            return
        data = self._render_job(job, mark="")
        self._store.submit(lambda db: _to_printing(db, job.id, data, self._stamp())).result()
        self._print_customer_job(job, data)

    def _render(self, sale_id: str, *, mark: str) -> bytes:
        receipt = self._store.submit(
            lambda db: receipt_for_sale(db, sale_id, self._settings, mark=mark)).result()
        return receipt_bytes(receipt, self._settings)

    def _in_window(self, job: _Job, now: datetime) -> bool:
        return now < job.created_at + self._window

    def _stamp(self) -> str:
        return utc_now_iso(self._clock())

    def _set_state(self, job_id: int, state: str, *, expect: tuple[str, ...]) -> None:
        self._next_try.pop(job_id, None)
        stamp = self._stamp()
        self._store.submit(lambda db: _set_state(db, job_id, state, expect, stamp)).result()


# ---------------------------------------------------------------------- store jobs
# Each runs on the store worker's connection and commits what it writes.

_JOB_COLUMNS = "id, sale_id, state, copy, created_at, kind, refund_id"


def _job_from(row: Any) -> _Job:
    return _Job(int(row[0]), str(row[1]), str(row[2]), bool(row[3]), parse_utc_iso(row[4]),
                str(row[5]), row[6])


def _job(db: Database, job_id: int) -> _Job | None:
    row = db.execute(f"SELECT {_JOB_COLUMNS} FROM print_jobs WHERE id = ?", [job_id]).fetchone()
    return None if row is None else _job_from(row)


def _jobs_in(db: Database, states: tuple[str, ...]) -> list[_Job]:
    marks = ", ".join("?" for _ in states)
    rows = db.execute(
        f"SELECT {_JOB_COLUMNS} FROM print_jobs WHERE kind IN ('receipt', 'refund_slip') "
        f"AND state IN ({marks}) ORDER BY id", list(states)).fetchall()
    return [_job_from(row) for row in rows]


def _queued_slips(db: Database) -> list[_Job]:
    rows = db.execute(
        f"SELECT {_JOB_COLUMNS} FROM print_jobs WHERE kind = 'refund_slip' AND state = 'queued' "
        "AND refund_id IS NOT NULL ORDER BY id").fetchall()
    return [_job_from(row) for row in rows]


def _waiting_job(db: Database, sale_id: str) -> _Job | None:
    row = db.execute(
        f"SELECT {_JOB_COLUMNS} FROM print_jobs WHERE sale_id = ? AND kind = 'receipt' "
        "AND state = 'awaiting_choice' AND copy = 0 ORDER BY id LIMIT 1", [sale_id]).fetchone()
    return None if row is None else _job_from(row)


def _set_state(db: Database, job_id: int, state: str, expect: tuple[str, ...],
               stamp: str) -> None:
    marks = ", ".join("?" for _ in expect)
    with immediate_transaction(db):
        db.execute(f"UPDATE print_jobs SET state = ?, updated_at = ? WHERE id = ? "
                   f"AND state IN ({marks})", [state, stamp, job_id, *expect])


def _to_printing(db: Database, job_id: int, data: bytes, stamp: str) -> None:
    with immediate_transaction(db):
        db.execute("UPDATE print_jobs SET state = 'printing', data = ?, "
                   "attempts = attempts + 1, updated_at = ? WHERE id = ?",
                   [data, stamp, job_id])


def _retry_to_printing(db: Database, job_id: int, stamp: str) -> bytes | None:
    with immediate_transaction(db):
        row = db.execute("SELECT data FROM print_jobs WHERE id = ? AND state = 'retrying'",
                         [job_id]).fetchone()
        if row is None or row[0] is None:
            return None
        db.execute("UPDATE print_jobs SET state = 'printing', attempts = attempts + 1, "
                   "updated_at = ? WHERE id = ?", [stamp, job_id])
    return bytes(row[0])


def _to_retry(db: Database, job_id: int, data: bytes | None, error: str, stamp: str) -> None:
    with immediate_transaction(db):
        if data is not None:
            db.execute("UPDATE print_jobs SET data = ? WHERE id = ?", [data, job_id])
        db.execute("UPDATE print_jobs SET state = 'retrying', last_error = ?, updated_at = ? "
                   "WHERE id = ?", [error, stamp, job_id])


def _to_final(db: Database, job_id: int, state: str, error: str | None, stamp: str) -> None:
    with immediate_transaction(db):
        db.execute("UPDATE print_jobs SET state = ?, last_error = COALESCE(?, last_error), "
                   "updated_at = ? WHERE id = ?", [state, error, stamp, job_id])


def record_copy_started(db: Database, sale_id: str, data: bytes, stamp: str) -> int:
    """Commit a new copy job (kind ``receipt``, ``copy = 1``) in state ``printing`` holding the
    ESC/POS ``data``, stamped ``stamp`` (stored UTC form); return its id."""
    with immediate_transaction(db):
        cursor = db.execute(
            "INSERT INTO print_jobs (sale_id, kind, state, copy, data, created_at, updated_at, "
            "attempts) VALUES (?, 'receipt', 'printing', 1, ?, ?, ?, 1)",
            [sale_id, data, stamp, stamp])
    assert cursor.lastrowid is not None
    return int(cursor.lastrowid)


def record_copy_done(db: Database, job_id: int, sale_id: str, error: str | None, by: int | None,
               at: datetime) -> None:
    """Commit a copy's outcome (``error``: the printer status, ``None``: printed) and audit it
    as ``receipt.reprint`` by staff number ``by``. A printed copy settles the sale's
    ``unprinted`` jobs (``reprinted``). ``at`` is aware."""
    stamp = utc_now_iso(at)
    with immediate_transaction(db):
        if error is None:
            db.execute("UPDATE print_jobs SET state = 'printed', updated_at = ? WHERE id = ?",
                       [stamp, job_id])
            db.execute("UPDATE print_jobs SET state = 'reprinted', updated_at = ? "
                       "WHERE sale_id = ? AND kind = 'receipt' "
                       "AND state IN ('unprinted', 'retrying')", [stamp, sale_id])
        else:
            db.execute("UPDATE print_jobs SET state = 'failed', last_error = ?, updated_at = ? "
                       "WHERE id = ?", [error, stamp, job_id])
        audit.record(db, at=at, action="receipt.reprint", outcome=error or "printed",
                     staff_number=by, detail={"sale_id": sale_id, "job_id": job_id})


def _unprinted(db: Database) -> list[UnprintedReceipt]:
    rows = db.execute(
        "SELECT j.id, j.sale_id, s.number, COALESCE(a.paid_at, s.closed_at, j.created_at), "
        "COALESCE(j.last_error, '') FROM print_jobs j JOIN sales s ON s.id = j.sale_id "
        "LEFT JOIN payment_attempts a ON a.sale_id = j.sale_id AND a.state = 'paid' "
        "WHERE j.kind IN ('receipt', 'refund_slip') AND j.state = 'unprinted' "
        "ORDER BY j.created_at, j.id"
    ).fetchall()
    return [UnprintedReceipt(int(row[0]), str(row[1]), int(row[2]), parse_utc_iso(row[3]),
                             str(row[4])) for row in rows]
