"""HTTP on loopback for the emulator: Stripe's /v1 paths plus the /_emulator/ control paths.

Stripe paths go to `StripeEmulator.handle`, the control paths under `CONTROL_PREFIX` (JSON, no
API key, not Stripe) to `StripeEmulator.control`. The server knows the emulator only through
the small `Emulated` interface it owns; `standalone.serve` runs an emulator on its own.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

CONTROL_PREFIX = "/_emulator/"
"""Paths under this prefix are the emulator's control paths, not Stripe's."""


@dataclass
class Reply:
    """What the server sends back: status, JSON body, headers; `drop` closes without a reply
    (after holding the connection `hold_s` real seconds without answering)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    hold_s: float = 0.0


class Emulated(Protocol):
    """What the server serves (`StripeEmulator` is one)."""

    def handle(
        self, method: str, path: str, query: str, body: str, headers: dict[str, str]
    ) -> Reply:
        """Answer one Stripe API request (headers with lower-case names)."""
        ...

    def control(self, method: str, path: str, body: str) -> tuple[int, Any]:
        """Answer one control request (a path under `CONTROL_PREFIX`): status and JSON."""
        ...


class _EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: Emulated


class _Handler(BaseHTTPRequestHandler):
    server: _EmulatorServer
    protocol_version = "HTTP/1.0"
    server_version = "kiosk-stripe-emulator"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging (it would show paths only, but keep stderr clean)."""

    def do_GET(self) -> None:
        """Answer a GET."""
        self._dispatch("GET")

    def do_POST(self) -> None:
        """Answer a POST."""
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        """Answer a DELETE."""
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        emulator = self.server.emulator
        if split.path.startswith(CONTROL_PREFIX):
            status, payload = emulator.control(method, split.path, body)
            self._send(status, payload, {})
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply: Reply = emulator.handle(method, split.path, split.query, body, headers)
        if reply.drop:
            if reply.hold_s > 0:
                time.sleep(reply.hold_s)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(reply.status, reply.body, reply.headers)

    def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_{uuid.uuid4().hex[:14]}")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def make_server(emulator: Emulated, host: str, port: int) -> ThreadingHTTPServer:
    """A threading HTTP server bound to host:port that answers for `emulator`."""
    server = _EmulatorServer((host, port), _Handler)
    server.emulator = emulator
    return server
