"""The reference back office over HTTP (stdlib ``ThreadingHTTPServer``, one thread per
connection, HTTP/1.1 keep-alive so a kiosk's relay reuses its connection).

Slow or hostile clients cannot tie it up: at most ``MAX_CLIENTS`` connections are served at
once (one more is answered 503 ``server_error`` "busy" at once, unread, and closed: a kiosk's
relay retries a 5xx later); a client has ``REQUEST_DEADLINE_S`` in all to send a request once
its first byte arrived (then the connection is closed); and an API request's bearer token is
checked before its body is read (401 and the connection closed, the body unread).

Routes (protocol in ``kiosk.wire`` and docs/SYNC.md):

- ``POST /api/v1/events``: a batch, with the kiosk's bearer token; stored once per event id.
  Events of a topic the server does not understand (``topics``) are acknowledged as
  ``ignored`` and not kept; it logs each such topic once.
- ``GET /api/v1/capabilities``: the topics it understands, with the token.
- ``GET /api/v1/catalog``: the catalog feed, with the token; ``ETag``/``If-None-Match``.
- ``GET /r/<sale id>``: the e-receipt page (no token: the sale's UUID is the key).
- ``GET /health``: ``{"status": "ok"}`` while the store answers.
- ``/_hq/faults`` (GET, POST, DELETE) and ``GET /_hq/requests``: test controls, only when the
  server was started with faults, and only from loopback (``kiosk.hq.faults``).

Every refused API request gets an ``ErrorReply`` JSON body and stores nothing.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import logging
import signal
import socket
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from kiosk.hq import receipt_page
from kiosk.hq.faults import Fault, FaultBoard
from kiosk.hq.storage import EventConflict, HQStore, HQStoreError
from kiosk.wire import (
    CAPABILITIES_PATH,
    CATALOG_PATH,
    EVENTS_PATH,
    MAX_BODY_BYTES,
    RECEIPT_PATH_PREFIX,
    TOPICS,
    Batch,
    BatchReply,
    Capabilities,
    ErrorReply,
    ProtocolError,
    canonical_json,
)

log = logging.getLogger(__name__)

HEALTH_PATH = "/health"
CONTROL_PREFIX = "/_hq/"
IDLE_TIMEOUT_S = 120.0
"""Seconds an idle keep-alive connection stays open."""
REQUEST_DEADLINE_S = 30.0
"""Seconds a client has to send a whole request (line, headers, body) once it started it."""
MAX_CLIENTS = 64
"""Connections served at once; one more is answered 503 "busy" and closed."""
BUSY_LOG_INTERVAL_S = 60.0
"""Seconds between two log lines about refused connections (a flood logs once a minute)."""
LISTENING = "Back office listening on"
"""The start of the line ``serve`` prints first: ``Back office listening on http://HOST:PORT``."""

_ALLOWED = {
    EVENTS_PATH: ("POST",),
    CATALOG_PATH: ("GET", "HEAD"),
    CAPABILITIES_PATH: ("GET", "HEAD"),
    HEALTH_PATH: ("GET", "HEAD"),
}
_RECEIPT_ALLOWED = ("GET", "HEAD")
_NEEDS_TOKEN = (EVENTS_PATH, CATALOG_PATH, CAPABILITIES_PATH)
_JSON = "application/json"
_HTML = "text/html; charset=utf-8"
_HTML_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


@dataclass
class Reply:
    """An HTTP answer: status, body bytes, content type and extra headers."""

    status: int
    body: bytes = b""
    content_type: str = _JSON
    headers: dict[str, str] = field(default_factory=dict)


def error_reply(status: int, code: str, message: str, event_ids: tuple[str, ...] = ()) -> Reply:
    """A refused request: ``status`` with an ``ErrorReply`` body."""
    return Reply(status, ErrorReply(code, message, event_ids).encode())


def _html(status: int, page: str) -> Reply:
    return Reply(status, page.encode("utf-8"), _HTML, dict(_HTML_HEADERS))


def busy_reply() -> bytes:
    """The whole HTTP answer to a connection over ``MAX_CLIENTS``: 503 ``server_error``."""
    body = ErrorReply("server_error", "the back office is busy, try again").encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        f"Content-Type: {_JSON}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Retry-After: 1\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class _RequestClock(io.RawIOBase):
    """The socket as the handler reads it: waiting for a request may take ``idle_s``; once its
    first byte arrived, the whole request must arrive within ``deadline_s`` (``TimeoutError``
    after that), however slowly its bytes trickle in. ``restart`` before each request."""

    def __init__(self, connection: socket.socket, idle_s: float, deadline_s: float) -> None:
        super().__init__()
        self._connection = connection
        self._idle_s = idle_s
        self._deadline_s = deadline_s
        self._deadline: float | None = None

    def restart(self) -> None:
        """Wait for a new request: the deadline starts with its first byte."""
        self._deadline = None

    def readable(self) -> bool:
        """Always: this is the reading side of the socket."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Receive into ``buffer`` within what is left of the deadline (the idle wait before a
        request); ``TimeoutError`` once it passed."""
        if self._deadline is None:
            timeout = self._idle_s
        else:
            timeout = self._deadline - time.monotonic()
            if timeout <= 0:
                raise TimeoutError("the request took longer than its deadline")
        self._connection.settimeout(timeout)
        count = self._connection.recv_into(buffer)
        if self._deadline is None and count:
            self._deadline = time.monotonic() + self._deadline_s
        return count


class BackOfficeServer(ThreadingHTTPServer):
    """The HTTP server: the store, the clock, the fault board (None: no test faults), and
    the ``capabilities`` it advertises (the topics whose events it keeps)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        store: HQStore,
        *,
        clock: Callable[[], datetime],
        faults: FaultBoard | None = None,
        request_deadline_s: float = REQUEST_DEADLINE_S,
        max_clients: int = MAX_CLIENTS,
        topics: Collection[str] = TOPICS,
    ) -> None:
        if request_deadline_s <= 0 or max_clients < 1:
            raise ValueError("the request deadline and the client limit must be positive")
        self.store = store
        self.clock = clock
        self.faults = faults
        self.capabilities = Capabilities.of(topics)
        self._ignored_topics: set[str] = set()
        self.request_deadline_s = request_deadline_s
        self.max_clients = max_clients
        self._clients = threading.BoundedSemaphore(max_clients)
        self._busy_logged_at: float | None = None
        self.requests: Counter[str] = Counter()
        self._requests_lock = threading.Lock()
        self._feed_lock = threading.Lock()
        self._feed: tuple[str, bytes] | None = None
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the listening socket."""
        host, port = self.server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection on a thread of its own, or answer 503 "busy" here and close it
        when ``max_clients`` are being served already."""
        if not self._clients.acquire(blocking=False):
            now = time.monotonic()
            if self._busy_logged_at is None or now - self._busy_logged_at >= BUSY_LOG_INTERVAL_S:
                self._busy_logged_at = now
                log.warning("busy: %d connections are being served; refusing more (503) "
                            "from %s", self.max_clients, client_address[0])
            self._refuse_busy(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._clients.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Serve one connection, then free its place."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._clients.release()

    def _refuse_busy(self, request: socket.socket) -> None:
        """Send the 503 without waiting on the client (a fresh socket's buffer holds it), take
        what it already sent (so the close is not a reset that could lose the answer), close."""
        with contextlib.suppress(OSError):
            request.setblocking(False)
            request.send(busy_reply())
            with contextlib.suppress(BlockingIOError):
                request.recv(1 << 16)
        self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (it timed out on a slow answer) is routine: one debug line.
        Anything else is logged with its traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            log.debug("client %s went away: %s", client_address, error)
        else:
            log.exception("unexpected error serving %s", client_address)

    def count(self, what: str) -> None:
        """Count one request (``"POST /api/v1/events"``; receipts as ``"GET /r/"``)."""
        with self._requests_lock:
            self.requests[what] += 1

    def request_counts(self) -> dict[str, int]:
        """Requests seen so far, by method and path."""
        with self._requests_lock:
            return dict(self.requests)

    def note_ignored(self, kiosk_id: str, topics: Collection[str]) -> None:
        """Log, once per topic for the server's life, that events of ``topics`` arrived and
        were acknowledged without being kept."""
        with self._requests_lock:
            new = sorted(set(topics) - self._ignored_topics)
            self._ignored_topics.update(new)
        for topic in new:
            log.warning("kiosk %s sent events of topic %r, which this back office does not "
                        "understand: acknowledged and not kept (logged once per topic)",
                        kiosk_id, topic)

    def encoded_feed(self) -> tuple[str, bytes] | None:
        """``(version, body)`` of the catalog feed, encoded once per version; None before the
        first import."""
        version = self.store.catalog_version()
        if version is None:
            return None
        with self._feed_lock:
            if self._feed is not None and self._feed[0] == version:
                return self._feed
        feed = self.store.catalog()
        if feed is None:
            return None
        encoded = (feed.version, feed.encode())
        with self._feed_lock:
            self._feed = encoded
        return encoded


class _BackOfficeServerV6(BackOfficeServer):
    address_family = socket.AF_INET6


def make_server(
    store: HQStore,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Callable[[], datetime] | None = None,
    faults: bool = False,
    request_deadline_s: float = REQUEST_DEADLINE_S,
    max_clients: int = MAX_CLIENTS,
    topics: Collection[str] = TOPICS,
) -> BackOfficeServer:
    """A back office bound to ``host:port`` (0: any free port), not yet serving.

    ``clock`` stamps received events (default: the system clock in UTC). ``faults`` turns on the
    test controls; they need a loopback ``host`` (``ValueError`` otherwise).
    ``request_deadline_s``: seconds a client has to send a whole request once it started;
    ``max_clients``: connections served at once (more are answered 503 "busy").
    ``topics``: the topics whose events it keeps and advertises (the base topics always;
    ``ValueError`` for a name that is no topic); events of others are acknowledged, not kept.
    """
    if faults and not _is_loopback(host):
        raise ValueError("test faults are for loopback only: use --host 127.0.0.1 or ::1")
    server_class = _BackOfficeServerV6 if ":" in host else BackOfficeServer
    return server_class(
        (host, port),
        store,
        clock=clock or (lambda: datetime.now(UTC)),
        faults=FaultBoard() if faults else None,
        request_deadline_s=request_deadline_s,
        max_clients=max_clients,
        topics=topics,
    )


def serve(
    store: HQStore,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: bool = False,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve until SIGINT or SIGTERM; first ``announce`` "Back office listening on URL"."""
    server = make_server(store, host=host, port=port, faults=faults)
    finished = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        finished.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    thread = threading.Thread(target=server.serve_forever, name="hq-http", daemon=True)
    thread.start()
    try:
        announce(f"{LISTENING} {server.url}")
        finished.wait()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Handler(BaseHTTPRequestHandler):
    server: BackOfficeServer
    protocol_version = "HTTP/1.1"
    server_version = "kiosk-hq"
    timeout = IDLE_TIMEOUT_S
    # Headers and body leave in two writes: with Nagle on, the body waits for the client's
    # delayed ACK (40 ms a request on Linux loopback).
    disable_nagle_algorithm = True

    def setup(self) -> None:
        """The connection's streams; reading goes through the request deadline."""
        super().setup()
        self.rfile.close()  # the socket's own reader: it leaves the socket open
        self._clock = _RequestClock(
            self.connection, IDLE_TIMEOUT_S, self.server.request_deadline_s)
        self.rfile = io.BufferedReader(self._clock)

    def handle_one_request(self) -> None:
        """Read and answer one request (a late one is cut off: the base class closes the
        connection on ``TimeoutError``)."""
        self._clock.restart()
        super().handle_one_request()

    def log_message(self, format: str, *args: Any) -> None:
        """Per-request lines go to the debug log only (a receipt address is a customer's key)."""
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        """Answer a GET."""
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        """Answer a HEAD (a GET without the body)."""
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        """Answer a POST."""
        self._dispatch("POST")

    def do_PUT(self) -> None:
        """Answer a PUT (never allowed on the API)."""
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        """Answer a PATCH (never allowed on the API)."""
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        """Answer a DELETE (test controls only)."""
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        self.server.count(
            f"{method} {RECEIPT_PATH_PREFIX if path.startswith(RECEIPT_PATH_PREFIX) else path}"
        )
        board = self.server.faults
        if path.startswith(CONTROL_PREFIX):
            if board is None or not _is_loopback(self.client_address[0]):
                self._refuse(error_reply(404, "not_found", f"nothing at {path}"), method)
                return
            body = self._read_body()
            if body is not None:
                self._send(_control(self.server, board, method, path, body), method)
            return
        if board is not None and board.down:
            self._drop()
            return
        try:
            kiosk_id = self._admit(method, path)
        except Exception as error:
            self._refuse(_store_failure(method, path, error), method)
            return
        if isinstance(kiosk_id, Reply):
            self._refuse(kiosk_id, method)
            return
        body = self._read_body()
        if body is None:
            return
        fault = None
        if board is not None:
            fault = board.take(path)
            if fault is not None and fault.delay_s:
                time.sleep(fault.delay_s)
            if fault is not None and not fault.after and self._fail(fault, method):
                return
        try:
            reply = self._route(method, path, body, kiosk_id)
        except Exception as error:
            reply = _store_failure(method, path, error)
        if fault is not None and fault.after and self._fail(fault, method):
            return
        self._send(reply, method)

    def _admit(self, method: str, path: str) -> str | Reply | None:
        """Judge a request by its line and headers alone, before its body is read: the reply
        refusing it (404, 405, 401), else the kiosk its token belongs to (None: no token
        needed)."""
        if path.startswith(RECEIPT_PATH_PREFIX):
            return None if method in _RECEIPT_ALLOWED else _not_allowed(
                method, path, _RECEIPT_ALLOWED)
        allowed = _ALLOWED.get(path)
        if allowed is None:
            return error_reply(404, "not_found", f"nothing at {path}")
        if method not in allowed:
            return _not_allowed(method, path, allowed)
        return self._kiosk() if path in _NEEDS_TOKEN else None

    def _refuse(self, reply: Reply, method: str) -> None:
        """Answer a request refused before its body was read, and close the connection (the
        unread body must not be taken for the next request)."""
        self.close_connection = True
        self._send(reply, method)

    def _read_body(self) -> bytes | None:
        """The request body; None when the request was refused here (answer already sent) or
        the client did not send it within the request deadline (connection closed)."""
        if self.headers.get("Transfer-Encoding"):
            self._refuse(error_reply(400, "malformed", "send the body with a Content-Length"),
                         "POST")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._refuse(error_reply(400, "malformed", "the Content-Length is not a number"),
                         "POST")
            return None
        if length > MAX_BODY_BYTES:
            self._refuse(error_reply(
                413, "too_large", f"the body is larger than {MAX_BODY_BYTES} bytes"), "POST")
            return None
        if not length:
            return b""
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            log.debug("%s: the body did not arrive within %g s; closing",
                      self.address_string(), self.server.request_deadline_s)
            self.close_connection = True
            return None
        if len(body) < length:  # the client hung up half-way
            self.close_connection = True
            return None
        return body

    def _route(self, method: str, path: str, body: bytes, kiosk_id: str | None) -> Reply:
        """The answer to an admitted request."""
        if path.startswith(RECEIPT_PATH_PREFIX):
            return self._receipt(path.removeprefix(RECEIPT_PATH_PREFIX))
        if path == EVENTS_PATH:
            assert kiosk_id is not None
            return self._events(kiosk_id, body)
        if path == CATALOG_PATH:
            return self._catalog()
        if path == CAPABILITIES_PATH:
            return Reply(200, self.server.capabilities.encode())
        return self._health()

    def _kiosk(self) -> str | Reply:
        """The kiosk id the request's bearer token belongs to, or the 401 reply."""
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            reply = error_reply(
                401, "unauthorized", "send the kiosk's token as 'Authorization: Bearer TOKEN'")
        else:
            kiosk_id = self.server.store.kiosk_for_token(token)
            if kiosk_id is not None:
                return kiosk_id
            reply = error_reply(
                401, "unauthorized",
                "the token is not one this back office issued (or it was replaced); "
                "issue one with `kiosk hq token add KIOSK_ID`")
        reply.headers["WWW-Authenticate"] = 'Bearer realm="kiosk-hq"'
        return reply

    def _events(self, kiosk_id: str, body: bytes) -> Reply:
        try:
            batch = Batch.decode(body)
        except ProtocolError as error:
            return error_reply(413 if error.code == "too_large" else 400, error.code,
                               error.message)
        if batch.kiosk_id != kiosk_id:
            return error_reply(
                403, "forbidden",
                f"this token is kiosk {kiosk_id!r}'s; the batch says kiosk {batch.kiosk_id!r}")
        understood = self.server.capabilities
        kept = tuple(event for event in batch.events if understood.understands(event.topic))
        ignored = tuple(event for event in batch.events if not understood.understands(event.topic))
        stored = BatchReply()
        try:
            if kept:
                stored = self.server.store.store_batch(
                    Batch(kiosk_id, kept, minor=batch.minor), self.server.clock())
        except EventConflict as conflict:
            return error_reply(
                409, "conflict",
                "these event ids are stored already with a different body; nothing of the "
                "batch was stored",
                conflict.event_ids)
        if ignored:
            self.server.note_ignored(kiosk_id, {event.topic for event in ignored})
        reply = BatchReply(stored.accepted, stored.duplicates,
                           tuple(event.event_id for event in ignored))
        return Reply(200, reply.encode())

    def _catalog(self) -> Reply:
        feed = self.server.encoded_feed()
        if feed is None:
            return error_reply(
                404, "not_found",
                "the back office has no catalog yet; import one with `kiosk hq catalog import`")
        version, body = feed
        headers = {"ETag": f'"{version}"', "Cache-Control": "no-cache"}
        if _etag_matches(self.headers.get("If-None-Match"), version):
            return Reply(304, b"", _JSON, headers)
        return Reply(200, body, _JSON, headers)

    def _receipt(self, sale_text: str) -> Reply:
        sale_id = _sale_id(sale_text)
        if sale_id is None:
            return _html(404, receipt_page.not_found_page())
        try:
            events = self.server.store.sale_events(sale_id)
        except Exception:
            log.exception("reading the events of sale %s failed", sale_id)
            return _html(503, receipt_page.error_page())
        paid = [event for event in events if event.topic == "sale.paid"]
        if not paid:
            return _html(200, receipt_page.pending_page(sale_id))
        refunds = [event.payload for event in events if event.topic == "refund.succeeded"]
        return _html(200, receipt_page.receipt_page(paid[0].payload, refunds))

    def _health(self) -> Reply:
        try:
            self.server.store.catalog_version()
        except Exception as error:
            log.warning("health check: the store does not answer: %s", error)
            return error_reply(503, "server_error", "the back office's store does not answer")
        return Reply(200, canonical_json({"status": "ok"}))

    def _fail(self, fault: Fault, method: str) -> bool:
        """Answer as ``fault`` says; False when it only delays."""
        if fault.drop:
            self._drop()
            return True
        if fault.status is not None:
            self._send(error_reply(fault.status, "server_error",
                                   f"injected fault: status {fault.status}"), method)
            return True
        return False

    def _drop(self) -> None:
        """Close the connection without a word."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, reply: Reply, method: str) -> None:
        self.connection.settimeout(IDLE_TIMEOUT_S)  # a read may have left a short timeout
        self.send_response(reply.status)
        if reply.status != 304:
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if method != "HEAD" and reply.status != 304 and reply.body:
            self.wfile.write(reply.body)


def _store_failure(method: str, path: str, error: Exception) -> Reply:
    """The answer when handling a request failed: 503 when the store is busy or unreachable
    (``HQStoreError``), 500 for anything else (a bug: logged with its traceback)."""
    if isinstance(error, HQStoreError):
        log.warning("%s %s: %s", method, path, error)
        return error_reply(503, "server_error",
                           "the back office's store is busy or unreachable; try again")
    log.error("%s %s failed", method, path, exc_info=error)
    return error_reply(
        500, "server_error", "the back office could not handle this request; try again")


def _not_allowed(method: str, path: str, allowed: tuple[str, ...]) -> Reply:
    reply = error_reply(405, "method_not_allowed",
                        f"{method} is not allowed on {path}; use {' or '.join(allowed)}")
    reply.headers["Allow"] = ", ".join(allowed)
    return reply


def _control(
    server: BackOfficeServer, board: FaultBoard, method: str, path: str, body: bytes
) -> Reply:
    name = path.removeprefix(CONTROL_PREFIX).strip("/")
    if name == "requests" and method == "GET":
        return Reply(200, canonical_json({"requests": server.request_counts()}))
    if name != "faults":
        return error_reply(404, "not_found", f"no control at {path}")
    if method == "DELETE":
        board.clear()
    elif method == "POST":
        try:
            value = json.loads(body or b"{}")
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict) and set(item) == {"down"}:
                    board.set_down(bool(item["down"]))
                else:
                    board.inject(Fault.from_json(item))
        except ValueError as error:
            return error_reply(400, "malformed", str(error))
    elif method != "GET":
        return _not_allowed(method, path, ("GET", "POST", "DELETE"))
    return Reply(200, canonical_json(board.to_json()))


def _etag_matches(header: str | None, version: str) -> bool:
    """Whether an ``If-None-Match`` header names ``version`` (quoted or not, weak or not,
    in a list) or is ``*``."""
    if not header:
        return False
    for tag in header.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        if tag in ("*", version):
            return True
    return False


def _sale_id(text: str) -> str | None:
    """The canonical sale UUID in a receipt address, or None if it does not hold one."""
    text = text.rstrip("/")
    try:
        canonical = str(uuid.UUID(text))
    except ValueError:
        return None
    return canonical if canonical == text.lower() else None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False
