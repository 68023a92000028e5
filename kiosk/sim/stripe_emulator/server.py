"""HTTP on loopback for the emulator: Stripe's /v1 paths plus the /_emulator/ control paths.

Stripe paths go to `StripeEmulator.handle`. The control paths (JSON, no API key, not Stripe):
`POST/DELETE /_emulator/faults`, `POST /_emulator/customer`, `GET /_emulator/requests`,
`GET /_emulator/state`, `POST /_emulator/clock`, `POST /_emulator/readers`,
`POST /_emulator/present`, `POST /_emulator/refunds` (end a pending refund). `serve` runs a
standalone emulator until SIGINT/SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kiosk.sim.stripe_emulator.errors import StripeError
from kiosk.sim.stripe_emulator.faults import Fault

if TYPE_CHECKING:
    from kiosk.sim.stripe_emulator.emulator import Reply, StripeEmulator

CONTROL_PREFIX = "/_emulator/"


class _EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: StripeEmulator


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
            status, payload = _control(emulator, method, split.path, body)
            self._send(status, payload, {})
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply: Reply = emulator.handle(method, split.path, split.query, body, headers)
        if reply.drop:
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


def make_server(emulator: StripeEmulator, host: str, port: int) -> ThreadingHTTPServer:
    """A threading HTTP server bound to host:port that answers for `emulator`."""
    server = _EmulatorServer((host, port), _Handler)
    server.emulator = emulator
    return server


def _control(emulator: StripeEmulator, method: str, path: str, body: str
             ) -> tuple[int, Any]:
    try:
        data = json.loads(body) if body.strip() else {}
    except json.JSONDecodeError as error:
        return 400, {"error": f"body is not JSON: {error}"}
    name = path.removeprefix(CONTROL_PREFIX).strip("/")
    try:
        if (method, name) == ("POST", "faults"):
            for item in data if isinstance(data, list) else [data]:
                emulator.inject(Fault.from_json(item))
            return 200, {"faults": [fault.to_json() for fault in emulator.faults()]}
        if (method, name) == ("DELETE", "faults"):
            emulator.clear_faults()
            return 200, {"faults": []}
        if (method, name) == ("GET", "faults"):
            return 200, {"faults": [fault.to_json() for fault in emulator.faults()]}
        if (method, name) == ("POST", "customer"):
            emulator.customer(**data)
            return 200, {"customer": emulator.state()["customer"]}
        if (method, name) == ("GET", "requests"):
            return 200, {"requests": [request.to_json() for request in emulator.requests()]}
        if (method, name) == ("GET", "state"):
            state = emulator.state()
            state.pop("idempotency", None)
            return 200, state
        if (method, name) == ("POST", "clock"):
            emulator.advance_clock(float(data.get("seconds", 0)))
            return 200, {"now": emulator.now()}
        if (method, name) == ("POST", "readers"):
            return 200, emulator.register_simulated_reader(
                data.get("code", "simulated-wpe"), label=data.get("label", "Kiosk reader"))
        if (method, name) == ("POST", "present"):
            emulator.present_card(data["reader_id"], data.get("card", "4242424242424242"))
            return 200, {"presented": True}
        if (method, name) == ("POST", "refunds"):
            return 200, emulator.finish_refund(data["id"], data.get("status", "succeeded"))
    except StripeError as error:
        return error.status, error.body()
    except (TypeError, ValueError, KeyError, RuntimeError) as error:
        return 400, {"error": str(error)}
    return 404, {"error": f"no control endpoint {method} {path}"}


def serve(port: int = 0, state_path: Path | None = None) -> None:
    """Run a standalone emulator on 127.0.0.1:`port` until SIGINT or SIGTERM.

    The first line printed is the base URL. Uses the emulator's own clock, so
    POST /_emulator/clock can move it forward.
    """
    from kiosk.sim.stripe_emulator.emulator import StripeEmulator

    emulator = StripeEmulator(clock=None, state_path=state_path)
    url = emulator.start(port=port)
    print(url, flush=True)
    finished = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        finished.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        finished.wait()  # a signal handler sets it; lock waits are interruptible
    finally:
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.stdout.flush()
