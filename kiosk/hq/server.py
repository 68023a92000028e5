"""The reference back office over HTTP (stdlib ``ThreadingHTTPServer``, one thread per
connection, HTTP/1.1 keep-alive so a kiosk's relay reuses its connection).

Routes (protocol in ``kiosk.sync.protocol`` and docs/SYNC.md):

- ``POST /api/v1/events``: a batch, with the kiosk's bearer token; stored once per event id.
- ``GET /api/v1/catalog``: the catalog feed, with the token; ``ETag``/``If-None-Match``.
- ``GET /r/<sale id>``: the e-receipt page (no token: the sale's UUID is the key).
- ``GET /health``: ``{"status": "ok"}`` while the store answers.
- ``/_hq/faults`` (GET, POST, DELETE) and ``GET /_hq/requests``: test controls, only when the
  server was started with faults, and only from loopback (``kiosk.hq.faults``).

Every refused API request gets an ``ErrorReply`` JSON body and stores nothing.
"""

from __future__ import annotations

import contextlib
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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from kiosk.hq import receipt_page
from kiosk.hq.faults import Fault, FaultBoard
from kiosk.hq.storage import EventConflict, HQStore
from kiosk.sync.protocol import (
    CATALOG_PATH,
    EVENTS_PATH,
    MAX_BODY_BYTES,
    RECEIPT_PATH_PREFIX,
    Batch,
    ErrorReply,
    ProtocolError,
    canonical_json,
)

log = logging.getLogger(__name__)

HEALTH_PATH = "/health"
CONTROL_PREFIX = "/_hq/"
IDLE_TIMEOUT_S = 120.0
"""Seconds an idle keep-alive connection stays open."""
LISTENING = "Back office listening on"
"""The start of the line ``serve`` prints first: ``Back office listening on http://HOST:PORT``."""

_ALLOWED = {
    EVENTS_PATH: ("POST",),
    CATALOG_PATH: ("GET", "HEAD"),
    HEALTH_PATH: ("GET", "HEAD"),
}
_RECEIPT_ALLOWED = ("GET", "HEAD")
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


class BackOfficeServer(ThreadingHTTPServer):
    """The HTTP server: the store, the clock, and the fault board (None: no test faults)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        store: HQStore,
        *,
        clock: Callable[[], datetime],
        faults: FaultBoard | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.faults = faults
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
) -> BackOfficeServer:
    """A back office bound to ``host:port`` (0: any free port), not yet serving.

    ``clock`` stamps received events (default: the system clock in UTC). ``faults`` turns on the
    test controls; they need a loopback ``host`` (``ValueError`` otherwise).
    """
    if faults and not _is_loopback(host):
        raise ValueError("test faults are for loopback only: use --host 127.0.0.1 or ::1")
    server_class = _BackOfficeServerV6 if ":" in host else BackOfficeServer
    return server_class(
        (host, port),
        store,
        clock=clock or (lambda: datetime.now(UTC)),
        faults=FaultBoard() if faults else None,
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
        body = self._read_body()
        if body is None:
            return
        board = self.server.faults
        if path.startswith(CONTROL_PREFIX):
            if board is None or not _is_loopback(self.client_address[0]):
                self._send(error_reply(404, "not_found", f"nothing at {path}"), method)
            else:
                self._send(_control(self.server, board, method, path, body), method)
            return
        fault = None
        if board is not None:
            if board.down:
                self._drop()
                return
            fault = board.take(path)
            if fault is not None and fault.delay_s:
                time.sleep(fault.delay_s)
            if fault is not None and not fault.after and self._fail(fault, method):
                return
        try:
            reply = self._route(method, path, body)
        except Exception:
            log.exception("%s %s failed", method, path)
            reply = error_reply(
                500, "server_error", "the back office could not handle this request; try again"
            )
        if fault is not None and fault.after and self._fail(fault, method):
            return
        self._send(reply, method)

    def _read_body(self) -> bytes | None:
        """The request body; None when the request was refused here (answer already sent)."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._send(error_reply(400, "malformed", "send the body with a Content-Length"),
                       "POST")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._send(error_reply(400, "malformed", "the Content-Length is not a number"),
                       "POST")
            return None
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the body stays unread: this connection is done
            self._send(error_reply(
                413, "too_large", f"the body is larger than {MAX_BODY_BYTES} bytes"), "POST")
            return None
        return self.rfile.read(length) if length else b""

    def _route(self, method: str, path: str, body: bytes) -> Reply:
        if path.startswith(RECEIPT_PATH_PREFIX):
            if method not in _RECEIPT_ALLOWED:
                return _not_allowed(method, path, _RECEIPT_ALLOWED)
            return self._receipt(path.removeprefix(RECEIPT_PATH_PREFIX))
        allowed = _ALLOWED.get(path)
        if allowed is None:
            return error_reply(404, "not_found", f"nothing at {path}")
        if method not in allowed:
            return _not_allowed(method, path, allowed)
        if path == EVENTS_PATH:
            return self._events(body)
        if path == CATALOG_PATH:
            return self._catalog()
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

    def _events(self, body: bytes) -> Reply:
        kiosk_id = self._kiosk()
        if isinstance(kiosk_id, Reply):
            return kiosk_id
        try:
            batch = Batch.decode(body)
        except ProtocolError as error:
            return error_reply(413 if error.code == "too_large" else 400, error.code,
                               error.message)
        if batch.kiosk_id != kiosk_id:
            return error_reply(
                403, "forbidden",
                f"this token is kiosk {kiosk_id!r}'s; the batch says kiosk {batch.kiosk_id!r}")
        try:
            stored = self.server.store.store_batch(batch, self.server.clock())
        except EventConflict as conflict:
            return error_reply(
                409, "conflict",
                "these event ids are stored already with a different body; nothing of the "
                "batch was stored",
                conflict.event_ids)
        return Reply(200, stored.encode())

    def _catalog(self) -> Reply:
        kiosk_id = self._kiosk()
        if isinstance(kiosk_id, Reply):
            return kiosk_id
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
