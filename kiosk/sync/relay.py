"""The outbox relay: sends the kiosk's outbox to its back office, in order, on its own thread.

Every paid sale, succeeded refund and audit row leaves an outbox row in the same transaction
that recorded it (``kiosk.store.schema``). The relay reads unacknowledged rows in ``id`` order,
up to ``batch_size`` at a time, posts them as one ``kiosk.wire.Batch`` and marks the rows the
back office acknowledged (accepted, already had, or ignored) in one store-worker transaction.
A pass stops at the first batch that fails, so a refund never reaches the back office before
its sale; the rows of an unanswered batch stay unacknowledged and are sent again later, which
is safe because the back office deduplicates on (kiosk id, event id).

Only topics the back office understands are sent (``kiosk.sync.topics.TopicGate``): the base
topics always, a newer one once the back office has named it. Rows of a topic it has not named
wait in the outbox without holding up the others, and are sent oldest first once it does. So
the back office receives the events of each topic in outbox order, and the events of all the
topics it understands in outbox order among themselves; a waiting topic's events arrive after
later events of other topics.

Threads: the relay never writes on its own connection: every write goes through the
``StoreWorker`` it is given (one writer per process: never "database is locked"); it reads on
a connection it opens in the thread that reads (WAL: reads never wait for the writer). It never
runs on the UI thread and never holds up a payment: a payment's outbox row is already
committed when the relay hears of it (`OutboxRelay.send_now`).

While the back office is unreachable or refuses a batch, the relay waits before the next pass:
exponential backoff with full jitter (`Backoff`). A refused batch (409 conflict, 400
malformed) is logged as an error: staff must look, because the kiosk never rewrites a paid
sale. Its state (last success, last error) is kept in ``sync_state`` so it survives restarts,
and `sync_status` reads it with the queue's size for ``kiosk sync status``.
"""

from __future__ import annotations

import json
import logging
import random as random_module
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from sqlite_utils import Database

from kiosk.core.timestamps import parse_utc_iso, utc_now_iso
from kiosk.store.db import immediate_transaction, open_database
from kiosk.store.worker import StoreWorker
from kiosk.sync.http import (
    MAX_BATCH_REPLY_BYTES,
    MAX_REQUEST_TIMEOUT_S,
    AnswerTooLarge,
    NoCompleteAnswer,
    check_backoffice_url,
    fetch_answer,
    make_client,
)
from kiosk.sync.topics import CAPABILITIES_MAX_AGE_S, TopicGate
from kiosk.wire import (
    EVENTS_PATH,
    MAX_BATCH,
    MINOR_VERSION,
    BatchReply,
    ErrorReply,
    Event,
    ProtocolError,
    encode_batch,
    stored_event_problem,
    valid_kiosk_id,
)

__all__ = [
    "MAX_REQUEST_TIMEOUT_S",
    "Backoff",
    "OutboxRelay",
    "PassResult",
    "SyncStatus",
    "check_backoffice_url",
    "make_client",
    "pending_events",
    "sync_status",
    "unsent_topics",
]

log = logging.getLogger(__name__)

WAIT_SLICE_S = 1.0
"""The longest the relay's thread waits without turning its loop (and so its heartbeat), in
seconds, while idle or backing off."""

STORE_WAIT_S = 10.0
"""How long a pass waits for the store worker to record an answer, in seconds."""

LAST_SUCCESS_AT = "last_success_at"
LAST_ERROR = "last_error"
LAST_ERROR_AT = "last_error_at"


# ----------------------------------------------------------------------------- status


@dataclass(frozen=True)
class SyncStatus:
    """Where sync stands: the rows still to send and what the last passes found.

    ``last_error`` is a sentence for staff (never a token); it stays after later successes,
    so compare ``last_error_at`` with ``last_success_at`` to tell whether it still holds.
    """

    pending: int
    """Outbox rows the back office has not acknowledged yet."""
    oldest_pending_at: datetime | None
    """When the oldest of them was written (aware UTC), ``None`` when nothing is pending."""
    last_success_at: datetime | None
    """When a batch was last acknowledged (aware UTC)."""
    last_error: str | None
    """Why the latest failed pass stopped."""
    last_error_at: datetime | None
    """When that was (aware UTC)."""


def _stamp_or_none(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_utc_iso(text)
    except ValueError:  # a row written by hand or by an older version: read it as ISO
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            log.warning("unreadable sync timestamp %r", text)
            return None


def sync_status(db: Database) -> SyncStatus:
    """Read where sync stands from the outbox and ``sync_state`` (read-only; any connection,
    also while the kiosk runs)."""
    count, oldest = db.conn.execute(
        "SELECT count(*), min(created_at) FROM outbox WHERE acked_at IS NULL"
    ).fetchone()
    state = dict(
        db.conn.execute(
            "SELECT key, value FROM sync_state WHERE key IN (?, ?, ?)",
            [LAST_SUCCESS_AT, LAST_ERROR, LAST_ERROR_AT],
        ).fetchall()
    )
    return SyncStatus(
        pending=int(count),
        oldest_pending_at=_stamp_or_none(oldest),
        last_success_at=_stamp_or_none(state.get(LAST_SUCCESS_AT)),
        last_error=state.get(LAST_ERROR) or None,
        last_error_at=_stamp_or_none(state.get(LAST_ERROR_AT)),
    )


# ----------------------------------------------------------------------------- batches


@dataclass(frozen=True)
class PendingEvent:
    """One unacknowledged outbox row, ready for the wire: its row id, its event, and the
    event's JSON as sent (the stored payload text spliced in, not decoded and encoded again:
    the back office compares parsed bodies, so spacing does not matter)."""

    row_id: int
    event_id: str
    wire: bytes

    @property
    def event(self) -> Event:
        """The event, decoded and fully checked (for inspection; sending uses ``wire``)."""
        return Event.from_json(json.loads(self.wire))


class UnsendableRow(Exception):
    """An outbox row that cannot become a protocol event (damaged payload or timestamp)."""


def _event_of(row: tuple[int, str, str, str | None, str, str]) -> PendingEvent:
    row_id, event_id, topic, sale_id, payload, created_at = row
    problem = stored_event_problem(event_id, topic, sale_id, created_at, payload)
    if problem is not None:
        raise UnsendableRow(f"outbox row {row_id} cannot be sent: {problem}")
    wire = b"".join((
        b'{"created_at":', json.dumps(created_at).encode(),
        b',"event_id":', json.dumps(event_id).encode(),
        b',"payload":', payload.encode(),
        b',"sale_id":', json.dumps(sale_id).encode(),
        b',"topic":', json.dumps(topic).encode(), b"}",
    ))
    return PendingEvent(row_id, event_id, wire)


def pending_events(
    db: Database,
    *,
    after_id: int = 0,
    limit: int = MAX_BATCH,
    topics: Collection[str] | None = None,
) -> list[PendingEvent]:
    """Up to ``limit`` unacknowledged outbox rows with an id above ``after_id`` (of one of
    ``topics``, when given), oldest (lowest id) first, as protocol events; ``UnsendableRow``
    names a row that cannot be sent."""
    only = ""
    if topics is not None:
        only = f" AND topic IN ({', '.join('?' for _ in topics) or 'NULL'})"
    rows = db.conn.execute(
        "SELECT id, event_id, topic, sale_id, payload, created_at FROM outbox "
        f"WHERE acked_at IS NULL AND id > ?{only} ORDER BY id LIMIT ?",
        [after_id, *(topics or ()), limit],
    ).fetchall()
    return [_event_of(row) for row in rows]


def unsent_topics(db: Database) -> frozenset[str]:
    """The topics of the unacknowledged outbox rows."""
    rows = db.conn.execute("SELECT DISTINCT topic FROM outbox WHERE acked_at IS NULL")
    return frozenset(str(row[0]) for row in rows)


def _set_state(db: Database, values: dict[str, str]) -> None:
    for key, value in values.items():
        db.execute(
            "INSERT INTO sync_state (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )


def _record_acknowledged(event_ids: Sequence[str], stamp: str) -> Callable[[Database], int]:
    """A store-worker job: mark ``event_ids`` acknowledged and note the success, in one
    transaction; returns the rows marked."""

    def job(db: Database) -> int:
        with immediate_transaction(db):
            marked = 0
            if event_ids:
                marks = ", ".join("?" for _ in event_ids)
                cursor = db.execute(
                    f"UPDATE outbox SET acked_at = ? WHERE acked_at IS NULL "
                    f"AND event_id IN ({marks})",
                    [stamp, *event_ids],
                )
                marked = cursor.rowcount
            _set_state(db, {LAST_SUCCESS_AT: stamp})
        return marked

    return job


def _record_failure(row_ids: Sequence[int], error: str, stamp: str) -> Callable[[Database], None]:
    """A store-worker job: count one more attempt on the batch's rows and note the error."""

    def job(db: Database) -> None:
        with immediate_transaction(db):
            if row_ids:
                marks = ", ".join("?" for _ in row_ids)
                db.execute(
                    f"UPDATE outbox SET attempts = attempts + 1, last_error = ? "
                    f"WHERE id IN ({marks})",
                    [error, *row_ids],
                )
            _set_state(db, {LAST_ERROR: error, LAST_ERROR_AT: stamp})

    return job


# ----------------------------------------------------------------------------- backoff


class Backoff:
    """How long to wait after failures in a row: exponential backoff with full jitter.

    After the n-th failure in a row the wait is drawn uniformly from [0, cap] with cap =
    ``min(max_s, initial_s * 2 ** (n - 1))`` (seconds), never below ``initial_s / 10`` so a
    run of small draws cannot turn into a hot loop. ``random`` returns a float in [0, 1)
    (tests inject their own). `reset` after a success starts again from ``initial_s``.
    """

    def __init__(
        self,
        *,
        initial_s: float = 1.0,
        max_s: float = 300.0,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        if not 0 < initial_s <= max_s:
            raise ValueError(f"backoff needs 0 < initial_s <= max_s, got {initial_s}, {max_s}")
        self.initial_s = initial_s
        self.max_s = max_s
        self._random = random
        self._failures = 0

    @property
    def failures(self) -> int:
        """Failures in a row since the last success."""
        return self._failures

    def cap_s(self) -> float:
        """The longest the next wait may be (seconds), given the failures so far plus one."""
        exponent = min(self._failures, 62)  # 2 ** 62 s is far past any max_s
        return min(self.max_s, self.initial_s * 2.0**exponent)

    def failed(self) -> float:
        """Count a failure and return how long to wait before trying again (seconds)."""
        cap = self.cap_s()
        self._failures += 1
        return max(self.initial_s / 10, cap * self._random())

    def reset(self) -> None:
        """A success: the next failure waits about ``initial_s`` again."""
        self._failures = 0


# ----------------------------------------------------------------------------- the relay


@dataclass(frozen=True)
class PassResult:
    """What one pass did: events posted, rows acknowledged, batches posted, and why the pass
    stopped early (``None``: everything pending was sent, or the relay is stopping)."""

    sent: int
    acknowledged: int
    batches: int
    error: str | None


class _Refused(Exception):
    """A batch the back office did not take; ``message`` is the sentence for staff and
    ``staff_must_look`` says the kiosk cannot fix it by retrying (4xx)."""

    def __init__(self, message: str, *, staff_must_look: bool) -> None:
        super().__init__(message)
        self.message = message
        self.staff_must_look = staff_must_look


class OutboxRelay:
    """Sends the outbox to the back office at ``base_url`` as kiosk ``kiosk_id`` (see the
    module docstring).

    ``database`` is the kiosk database (read on the relay's own connections); ``store`` is
    the process's store worker (every write); ``clock`` gives the aware UTC time for stored
    timestamps. ``interval_s``: seconds between passes while nothing is sent (`send_now`
    wakes the thread earlier). ``batch_size``: events per batch (at most ``MAX_BATCH``).
    ``request_timeout_s``: the deadline of each HTTP call, from sending the batch to the last
    byte of the answer (seconds, below `MAX_REQUEST_TIMEOUT_S`).
    ``initial_backoff_s``/``max_backoff_s``: the backoff's first cap and its ceiling (seconds);
    ``random`` draws its jitter. ``transport``: an httpx transport (benchmarks).
    ``after_pass(client, beat)``: the periodic work run on the thread after each successful
    pass (``kiosk.sync.chores.SyncChores``), given the relay's HTTP client and a callable
    that refreshes the relay's heartbeat, to call at least every second while it waits.
    ``minor``: the minor protocol version the kiosk speaks (``kiosk.wire.MINOR_VERSION``; 0
    behaves as a kiosk of version 1.0: no ``minor`` on the wire, base topics only).
    ``capabilities_max_age_s``: how long the back office's list of topics stands while events
    wait for a topic it did not name (``kiosk.sync.topics.TopicGate``).

    Raises ``ValueError`` for a refused address, an empty token, a kiosk id the protocol does
    not allow, or out-of-range numbers.
    """

    def __init__(
        self,
        *,
        database: Path,
        store: StoreWorker,
        kiosk_id: str,
        base_url: str,
        token: str,
        clock: Callable[[], datetime],
        interval_s: float = 30.0,
        batch_size: int = MAX_BATCH,
        request_timeout_s: float = 10.0,
        max_backoff_s: float = 300.0,
        transport: httpx.BaseTransport | None = None,
        initial_backoff_s: float = 1.0,
        random: Callable[[], float] = random_module.random,
        wait_slice_s: float = WAIT_SLICE_S,
        after_pass: Callable[[httpx.Client, Callable[[], None]], None] | None = None,
        minor: int = MINOR_VERSION,
        capabilities_max_age_s: float = CAPABILITIES_MAX_AGE_S,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be 1..{MAX_BATCH}, got {batch_size}")
        if interval_s <= 0 or wait_slice_s <= 0:
            raise ValueError("interval_s and wait_slice_s must be positive")
        if not valid_kiosk_id(kiosk_id):
            raise ValueError(f"{kiosk_id!r} is not a kiosk id the back office accepts")
        self.database = Path(database)
        self.kiosk_id = kiosk_id
        self.base_url = base_url.rstrip("/")
        self.interval_s = interval_s
        self.batch_size = batch_size
        self.request_timeout_s = request_timeout_s
        self._store = store
        self._clock = clock
        self._token = token
        self._client = make_client(base_url, token, request_timeout_s, transport)
        self._backoff = Backoff(initial_s=initial_backoff_s, max_s=max_backoff_s, random=random)
        self._wait_slice_s = wait_slice_s
        self._pass_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._heartbeat = time.monotonic()
        self._thread: threading.Thread | None = None
        self._last_pass: PassResult | None = None
        self._sending = False
        self._stopped = False
        self._after_pass = after_pass
        self.minor = minor
        self._topics = TopicGate(
            self._client, minor=minor, request_timeout_s=request_timeout_s,
            max_age_s=capabilities_max_age_s, scrub=self._scrub,
        )

    # ------------------------------------------------------------------ public API

    @property
    def heartbeat(self) -> float:
        """``time.monotonic()`` (seconds) of the thread's latest loop turn."""
        return self._heartbeat

    @property
    def running(self) -> bool:
        """True while the relay's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def last_pass(self) -> PassResult | None:
        """The result of the latest pass (either thread), ``None`` before the first."""
        return self._last_pass

    @property
    def sending(self) -> bool:
        """True while a batch is on the wire (posted, not yet answered)."""
        return self._sending

    @property
    def backing_off(self) -> bool:
        """True after a failed pass until one succeeds."""
        return self._backoff.failures > 0

    def run_once(self) -> PassResult:
        """One pass on the caller's thread: send every pending row, batch after batch, and
        stop at the first failure (``kiosk sync run``). Waits while the thread is in a pass;
        raises ``RuntimeError`` after `stop`."""
        if self._stopped:
            raise RuntimeError("this sync relay was stopped; make a new one")
        reader = open_database(self.database, check=False)
        try:
            return self._send_pending(reader)
        finally:
            reader.close()

    def start(self) -> None:
        """Start the relay's thread (daemon, named ``kiosk-sync``); its first pass runs at
        once. Calling it again while it runs does nothing; after `stop` it raises
        ``RuntimeError`` (make a new relay)."""
        if self._stopped:
            raise RuntimeError("this sync relay was stopped; make a new one")
        if self.running:
            return
        self._thread = threading.Thread(target=self._run, name="kiosk-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the thread: a request in flight finishes or times out (its rows stay
        unacknowledged and are sent again later), no new batch starts. Waits up to
        ``timeout_s`` seconds; logs a warning if the thread is still busy then. Closes the
        HTTP client once the thread has ended."""
        self._stopped = True
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
            if thread.is_alive():
                log.warning("the sync relay did not stop within %s s", timeout_s)
                return
        self._client.close()

    def send_now(self) -> None:
        """Wake the thread for a pass now (a sale was just paid). While backing off after a
        failure the pass waits for the backoff to end: a busy shop must not hammer a back
        office that is down. Safe from any thread."""
        self._wake.set()

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        reader: Database | None = None
        try:
            while not self._stop.is_set():
                self._heartbeat = time.monotonic()
                self._wake.clear()
                try:
                    if reader is None:
                        reader = open_database(self.database, check=False)
                    result = self._send_pending(reader)
                except Exception as error:  # a bug or a store fault must not end sync
                    log.exception("sync pass failed")
                    result = PassResult(0, 0, 0, self._scrub(f"sync pass failed: {error}"))
                    if reader is not None:
                        reader.close()
                        reader = None
                if result.error is None:
                    self._backoff.reset()
                    self._after_successful_pass()
                    self._wait(self.interval_s, wake=True)
                else:
                    delay = self._backoff.failed()
                    log.info("sync: next try in %.1f s (failure %d in a row)",
                             delay, self._backoff.failures)
                    self._wait(delay, wake=False)
        finally:
            if reader is not None:
                reader.close()

    def _after_successful_pass(self) -> None:
        """The caller's periodic work (catalog pull, retention), never fatal to sync."""
        if self._after_pass is None:
            return
        try:
            self._after_pass(self._client, self._beat)
        except Exception:
            log.exception("sync chores failed; sending goes on")
        self._beat()

    def _beat(self) -> None:
        """Refresh the heartbeat: the thread is alive and doing its work."""
        self._heartbeat = time.monotonic()

    def _wait(self, delay_s: float, *, wake: bool) -> None:
        """Wait ``delay_s`` seconds in slices (the heartbeat stays fresh); ``wake``: a
        `send_now` ends the wait early. A stop always does."""
        deadline = time.monotonic() + delay_s
        while not self._stop.is_set():
            self._heartbeat = time.monotonic()
            remaining = deadline - self._heartbeat
            if remaining <= 0:
                return
            if wake:
                if self._wake.wait(min(self._wait_slice_s, remaining)):
                    return
            else:
                self._stop.wait(min(self._wait_slice_s, remaining))

    # ------------------------------------------------------------------ a pass

    def _send_pending(self, reader: Database) -> PassResult:
        with self._pass_lock:
            result = self._pass(reader)
        self._last_pass = result
        return result

    def _pass(self, reader: Database) -> PassResult:
        # Acknowledgements are committed by the store worker while the next batch is on the
        # wire; every one is waited for before the pass reports (and before a failure is
        # recorded: the worker runs jobs in order).
        outstanding: list[Future[int]] = []

        def settled(result: PassResult) -> PassResult:
            done = sum(future.result(STORE_WAIT_S) for future in outstanding)
            return PassResult(result.sent, done, result.batches, result.error)

        sent = acknowledged = batches = 0
        after_id = 0
        topics: frozenset[str] | None = None
        on_thread = threading.current_thread() is self._thread
        while not (on_thread and self._stop.is_set()):  # stopping: no new batch
            self._heartbeat = time.monotonic()
            try:
                if topics is None:  # once a pass: what the back office understands
                    topics = self._topics.sendable(unsent_topics(reader))
                pending = pending_events(
                    reader, after_id=after_id, limit=self.batch_size, topics=topics)
            except UnsendableRow as damaged:
                message = str(damaged)
                log.error("sync stopped: %s; staff must look at the outbox", message)
                self._note_failure([], message)
                return settled(PassResult(sent, acknowledged, batches, message))
            except sqlite3.Error as error:
                message = f"could not read the outbox: {error}"
                log.error("sync: %s", message)
                return settled(PassResult(sent, acknowledged, batches, message))
            if not pending:
                return settled(PassResult(sent, acknowledged, batches, None))
            body = encode_batch(self.kiosk_id, [item.wire for item in pending], minor=self.minor)
            sent += len(pending)
            batches += 1
            try:
                reply = self._post(body)
            except _Refused as refused:
                self._note_refusal(pending, refused)
                return settled(PassResult(sent, acknowledged, batches, refused.message))
            outstanding.append(self._note_success(pending, reply))
            problem = self._unanswered(pending, reply)
            if problem is not None:
                return settled(PassResult(sent, acknowledged, batches, problem))
            after_id = pending[-1].row_id
        return settled(PassResult(sent, acknowledged, batches, None))

    def _note_refusal(self, pending: Sequence[PendingEvent], refused: _Refused) -> None:
        """Log and record a refused batch; after a 4xx, ask the back office its topics again
        (it may be an older one now)."""
        if refused.staff_must_look:
            log.error("sync: %s; staff must look: retrying alone will not help, and the "
                      "kiosk never changes a recorded sale", refused.message)
            self._topics.forget()
        else:
            log.warning("sync: %s", refused.message)
        self._note_failure([item.row_id for item in pending], refused.message)

    def _unanswered(self, pending: Sequence[PendingEvent], reply: BatchReply) -> str | None:
        """Why the pass must stop after this reply (events it did not acknowledge), or None.
        Events the back office ignored (a topic it does not understand) count as answered."""
        if reply.ignored:
            log.warning("sync: the back office acknowledged %d event(s) of a topic it does not "
                        "understand without keeping them; asking it its topics again",
                        len(reply.ignored))
            self._topics.forget()
        ids = {item.event_id for item in pending}
        answered = ids & reply.acknowledged
        if answered == ids:
            return None
        message = (
            f"the back office acknowledged only {len(answered)} of the "
            f"{len(ids)} events it was sent"
        )
        log.error("sync: %s", message)
        missing = [item.row_id for item in pending if item.event_id not in answered]
        self._note_failure(missing, message)
        return message

    def _post(self, body: bytes) -> BatchReply:
        """POST one batch body; its reply, or `_Refused` saying why not (a sentence)."""
        self._sending = True
        try:
            response = fetch_answer(
                self._client, "POST", EVENTS_PATH, content=body,
                headers={"Content-Type": "application/json"},
                deadline_s=self.request_timeout_s, max_bytes=MAX_BATCH_REPLY_BYTES,
            )
        except NoCompleteAnswer as late:
            raise _Refused(
                f"back office unreachable: {late} from {self.base_url}",
                staff_must_look=False,
            ) from None
        except AnswerTooLarge as large:
            raise _Refused(
                f"back office unusable: {large} in reply to a batch, from {self.base_url}",
                staff_must_look=False,
            ) from None
        except httpx.HTTPError as error:
            raise _Refused(
                self._scrub(f"back office unreachable: {self._describe(error)} "
                            f"({self.base_url})"),
                staff_must_look=False,
            ) from None
        finally:
            self._sending = False
        status = response.status_code
        if status == 200:
            try:
                return BatchReply.decode(response.content)
            except ProtocolError as error:
                raise _Refused(
                    self._scrub(f"back office answered with something else than a batch "
                                f"reply: {error.message}"),
                    staff_must_look=False,
                ) from None
        reply = ErrorReply.decode(response.content)
        detail = self._scrub(f"{reply.error}: {reply.message}".strip(": "))
        if reply.event_ids:
            shown = ", ".join(reply.event_ids[:5])
            more = f" and {len(reply.event_ids) - 5} more" if len(reply.event_ids) > 5 else ""
            detail += f" (events {shown}{more})"
        if status >= 500:
            raise _Refused(
                f"back office failed (HTTP {status}): {detail}", staff_must_look=False
            )
        if status in (401, 403):
            raise _Refused(
                f"back office refused the kiosk's token (HTTP {status}): {detail}",
                staff_must_look=True,
            )
        raise _Refused(
            f"back office refused the batch (HTTP {status}): {detail}", staff_must_look=True
        )

    @staticmethod
    def _describe(error: httpx.HTTPError) -> str:
        text = str(error) or type(error).__name__
        return text[:300]

    def _scrub(self, text: str) -> str:
        """``text`` with the token blanked out, should any message ever echo it."""
        return text.replace(self._token, "[token]") if self._token else text

    def _note_success(
        self, pending: Sequence[PendingEvent], reply: BatchReply
    ) -> Future[int]:
        ids = {item.event_id for item in pending}
        answered = [event_id for event_id in (*reply.accepted, *reply.duplicates, *reply.ignored)
                    if event_id in ids]
        stamp = utc_now_iso(self._clock())
        return self._store.submit(_record_acknowledged(answered, stamp))

    def _note_failure(self, row_ids: Sequence[int], error: str) -> None:
        stamp = utc_now_iso(self._clock())
        try:
            self._store.submit(_record_failure(row_ids, error, stamp)).result(STORE_WAIT_S)
        except Exception as store_error:  # the pass already failed; say so, keep going
            log.error("sync: could not record the failure (%s): %s", error, store_error)
