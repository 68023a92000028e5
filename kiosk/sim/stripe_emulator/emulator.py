"""The stateful Stripe emulator: one account, its HTTP server, faults, clock and customer.

`StripeEmulator.handle` is the whole life of one API request: authentication, parameter
checks, idempotency, faults, execution under the account lock, saving, recording. The HTTP
server (server.py) only translates to and from HTTP. Times are seconds: the emulator clock
(`clock`, unix seconds) for everything Stripe would see, real time only for `latency` faults
and the background ticker that fires due events (customer taps, slow authorisations).
"""

from __future__ import annotations

import copy
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.sim.stripe_emulator import persistence, refunds, terminal
from kiosk.sim.stripe_emulator.customer import CustomerPlan
from kiosk.sim.stripe_emulator.errors import StripeError
from kiosk.sim.stripe_emulator.faults import READER_PATH, Fault, FaultBoard
from kiosk.sim.stripe_emulator.idempotency import IdempotencyKeys, SavedResponse, fingerprint
from kiosk.sim.stripe_emulator.objects import Account
from kiosk.sim.stripe_emulator.params import check, decode_form
from kiosk.sim.stripe_emulator.routes import find_route
from kiosk.sim.stripe_emulator.server import CONTROL_PREFIX, Reply, make_server

TICK_S = 0.01
_KEY_PREFIXES = ("sk_test_", "rk_test_")


class SettableClock:
    """Real time plus an offset that `advance` moves forward (unix seconds)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Jump `seconds` into the future."""
        with self._lock:
            self._offset += seconds


@dataclass(frozen=True)
class RecordedRequest:
    """One API request as the emulator saw it.

    `status` is what the client received (None if the connection was dropped); `executed`
    whether the request acted on the account; `at` is UTC ISO-8601 ending in "Z".
    """

    method: str
    path: str
    idempotency_key: str | None
    status: int | None
    executed: bool
    at: str
    replayed: bool = False
    faults: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The record as JSON (GET /_emulator/requests)."""
        return {
            "method": self.method, "path": self.path, "idempotency_key": self.idempotency_key,
            "status": self.status, "executed": self.executed, "at": self.at,
            "replayed": self.replayed, "faults": list(self.faults),
        }


class StripeEmulator:
    """A local, stateful stand-in for the Stripe API (Terminal, PaymentIntents, refunds).

    `clock` returns unix seconds; pass None for the emulator's own clock (real time that
    `advance_clock` moves forward). `state_path` is a JSON file loaded at start and rewritten
    after every change.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] | None = time.time,
        state_path: Path | None = None,
    ) -> None:
        self._settable = SettableClock() if clock is None else None
        self._clock: Callable[[], float] = self._settable or clock or time.time
        self._state_path = state_path
        self._lock = threading.RLock()
        self._account = persistence.load(state_path) if state_path else Account()
        self._keys = IdempotencyKeys(self._account.idempotency)
        self._faults = FaultBoard()
        self._recorded: list[RecordedRequest] = []
        self._server: Any = None
        self._serving = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.url = ""

    # ----- life cycle -------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 picks a free port) in daemon threads; return the base URL."""
        serving = self._serve(host, port)
        bound_host, bound_port = self._server.server_address[:2]
        self.url = f"http://{bound_host}:{bound_port}"
        self._stopping.clear()
        ticking = threading.Thread(target=self._tick, name="stripe-emulator-ticker", daemon=True)
        self._threads = [serving, ticking]
        for thread in self._threads:
            thread.start()
        return self.url

    def _serve(self, host: str, port: int) -> threading.Thread:
        """Bind the HTTP server to host:port; the returned thread (not started) serves it."""
        self._server = make_server(self, host, port)
        return threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name="stripe-emulator-http", daemon=True,
        )

    def refuse_connections(self, seconds: float) -> None:
        """Close the listening socket for `seconds` (real time): every new connection is
        refused; then serve again on the same address. Fault `act_then_refuse`."""
        with self._serving:
            server = self._server
            if server is None:
                return
            host, port = server.server_address[:2]
            server.shutdown()
            server.server_close()
            self._server = None

        def reopen() -> None:
            if self._stopping.wait(seconds):
                return
            with self._serving:
                if self._server is None and not self._stopping.is_set():
                    serving = self._serve(host, port)
                    self._threads.append(serving)
                    serving.start()

        threading.Thread(target=reopen, name="stripe-emulator-refusal", daemon=True).start()

    def stop(self) -> None:
        """Stop serving and ticking; the state file is already up to date."""
        self._stopping.set()
        with self._serving:
            if self._server is not None:
                self._server.shutdown()
                self._server.server_close()
                self._server = None
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    def _tick(self) -> None:
        while not self._stopping.wait(TICK_S):
            self.settle()

    def settle(self) -> None:
        """Fire the timed events due on the emulator clock (the ticker calls this)."""
        with self._lock:
            if _settle(self._account, self._clock()):
                self._save()

    # ----- Python control API -----------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Arm a fault (see faults.py for the kinds)."""
        self._faults.add(fault)

    def clear_faults(self) -> None:
        """Disarm every fault and bring readers taken offline by a fault back online."""
        self._faults.clear()
        with self._lock:
            for reader_id in self._account.readers:
                terminal.set_online(self._account, reader_id)
            self._save()

    def faults(self) -> list[Fault]:
        """The faults still armed."""
        return self._faults.armed()

    def customer(
        self,
        behaviour: str = "tap",
        *,
        card: str = "4242424242424242",
        after_s: float = 1.0,
        auth_delay_s: float = 0.0,
        reader_id: str | None = None,
    ) -> None:
        """Put a simulated customer at the reader(s): see customer.py for the behaviours."""
        plan = CustomerPlan(behaviour, card, after_s, auth_delay_s, reader_id)
        with self._lock:
            self._account.customer = plan.to_json()
            self._save()

    def present_card(self, reader_id: str, card: str = "4242424242424242") -> None:
        """Tap `card` on the reader now (what the present_payment_method test helper does)."""
        with self._lock:
            now = self._clock()
            terminal.settle(self._account, now)
            terminal.present_payment_method(
                self._account, reader_id, {"card_present": {"number": card}}, now
            )
            self._save()

    def register_simulated_reader(
        self, code: str = "simulated-wpe", *, label: str = "Kiosk reader"
    ) -> dict[str, Any]:
        """Register a simulated reader (creating a location if there is none); return it."""
        with self._lock:
            if self._account.locations:
                location = next(iter(self._account.locations))
            else:
                location = terminal.create_location(self._account, {
                    "display_name": "Kiosk shop",
                    "address": {"country": "US", "line1": "1 Test Street", "city": "Testville",
                                "postal_code": "00000", "state": "CA"},
                })["id"]
            reader = terminal.register_reader(
                self._account,
                {"registration_code": code, "label": label, "location": location},
                self._clock(),
            )
            self._save()
            return copy.deepcopy(reader)

    def finish_refund(self, refund_id: str, status: str = "succeeded") -> dict[str, Any]:
        """End a refund left `pending` (fault `refund_pending`) as `succeeded` or `failed`."""
        with self._lock:
            refund = refunds.finish(self._account, refund_id, status)
            self._save()
            return copy.deepcopy(refund)

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's own clock forward (only with clock=None) and fire due events."""
        if self._settable is None:
            raise RuntimeError("advance_clock needs the emulator's own clock (clock=None)")
        self._settable.advance(seconds)
        self.settle()

    def now(self) -> float:
        """The emulator clock, unix seconds."""
        return self._clock()

    def requests(self) -> list[RecordedRequest]:
        """Every API request seen since start, oldest first."""
        with self._lock:
            return list(self._recorded)

    def payment_intents(self) -> list[dict[str, Any]]:
        """Every PaymentIntent, oldest first."""
        return self._copy(self._account.payment_intents)

    def refunds(self) -> list[dict[str, Any]]:
        """Every refund, oldest first."""
        return self._copy(self._account.refunds)

    def readers(self) -> list[dict[str, Any]]:
        """Every reader, oldest first."""
        return self._copy(self._account.readers)

    def charges(self) -> list[dict[str, Any]]:
        """Every charge, oldest first."""
        return self._copy(self._account.charges)

    def state(self) -> dict[str, Any]:
        """All objects of the account, as saved to the state file."""
        with self._lock:
            return copy.deepcopy(self._account.to_json())

    def _copy(self, table: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(table.values()))

    def _save(self) -> None:
        if self._state_path is not None:
            persistence.save(self._account, self._state_path)

    # ----- the control paths (JSON over HTTP, see server.py) ------------------------------

    def control(self, method: str, path: str, body: str) -> tuple[int, Any]:
        """Answer one request to a control path under `CONTROL_PREFIX` (JSON, no API key):
        ``POST/GET/DELETE faults``, ``POST customer``, ``GET requests``, ``GET state``,
        ``POST clock``, ``POST readers``, ``POST present``, ``POST refunds`` (end a pending
        refund). Returns the HTTP status and the JSON answer."""
        try:
            data = json.loads(body) if body.strip() else {}
        except json.JSONDecodeError as error:
            return 400, {"error": f"body is not JSON: {error}"}
        name = path.removeprefix(CONTROL_PREFIX).strip("/")
        try:
            answer = self._controlled(method, name, data)
        except StripeError as error:
            return error.status, error.body()
        except (TypeError, ValueError, KeyError, RuntimeError) as error:
            return 400, {"error": str(error)}
        if answer is None:
            return 404, {"error": f"no control endpoint {method} {path}"}
        return 200, answer

    def _controlled(self, method: str, name: str, data: Any) -> Any:
        """The answer of one control request, or None for an unknown one."""
        if (method, name) == ("POST", "faults"):
            for item in data if isinstance(data, list) else [data]:
                self.inject(Fault.from_json(item))
            return {"faults": [fault.to_json() for fault in self.faults()]}
        if (method, name) == ("DELETE", "faults"):
            self.clear_faults()
            return {"faults": []}
        if (method, name) == ("GET", "faults"):
            return {"faults": [fault.to_json() for fault in self.faults()]}
        if (method, name) == ("POST", "customer"):
            self.customer(**data)
            return {"customer": self.state()["customer"]}
        if (method, name) == ("GET", "requests"):
            return {"requests": [request.to_json() for request in self.requests()]}
        if (method, name) == ("GET", "state"):
            state = self.state()
            state.pop("idempotency", None)
            return state
        if (method, name) == ("POST", "clock"):
            self.advance_clock(float(data.get("seconds", 0)))
            return {"now": self.now()}
        if (method, name) == ("POST", "readers"):
            return self.register_simulated_reader(
                data.get("code", "simulated-wpe"), label=data.get("label", "Kiosk reader"))
        if (method, name) == ("POST", "present"):
            self.present_card(data["reader_id"], data.get("card", "4242424242424242"))
            return {"presented": True}
        if (method, name) == ("POST", "refunds"):
            return self.finish_refund(data["id"], data.get("status", "succeeded"))
        return None

    # ----- one API request --------------------------------------------------------------

    def handle(self, method: str, path: str, query: str, body: str, headers: dict[str, str]
               ) -> Reply:
        """Answer one Stripe API request (headers with lower-case names)."""
        key = headers.get("idempotency-key") if method == "POST" else None
        if not _authorised(headers.get("authorization", "")):
            error = StripeError(
                401, "Invalid API Key provided: use a test key (sk_test_... or rk_test_...).",
                type="authentication_error",
            )
            return self._refused(method, path, key, error)
        try:
            route, object_id = find_route(method, path)
            raw = decode_form(body if method == "POST" else query)
            params = check(raw, route.params_type)
        except StripeError as error:
            return self._refused(method, path, key, error)
        digest = fingerprint(method, path, raw)
        if key is not None:
            with self._lock:
                try:
                    saved = self._keys.look_up(key, digest, self._clock())
                except StripeError as error:
                    return self._refused(method, path, key, error)
                if saved is not None:
                    self._record(method, path, key, saved.status, executed=False, replayed=True)
                    return Reply(saved.status, saved.body, {"Idempotent-Replayed": "true"})
                self._keys.reserve(key)
        try:
            return self._run(method, path, key, digest, route, object_id, params)
        finally:
            if key is not None:
                with self._lock:
                    self._keys.release(key)

    def _run(self, method: str, path: str, key: str | None, digest: str, route: Any,
             object_id: str, params: dict[str, Any]) -> Reply:
        fired = {fault.kind: fault for fault in self._faults.take(method, path)}
        names = tuple(fired)
        if "latency" in fired:
            time.sleep(fired["latency"].seconds)
        if "rate_limit_429" in fired:
            error = StripeError(429, "Too many requests hit the API too quickly.",
                                type="invalid_request_error", code="rate_limit")
            return self._refused(method, path, key, error, names)
        if "error_500_before" in fired:
            return self._refused(method, path, key, _api_error(), names)
        with self._lock:
            now = self._clock()
            _settle(self._account, now)
            self._reader_faults(path, fired, now)
            executed = False
            if "reader_busy" in fired:
                response = _error_reply(StripeError(
                    400, "Reader is currently busy processing another request.",
                    code=terminal.BUSY))
            elif "reader_timeout" in fired:
                response = _error_reply(_reader_timeout())
            else:
                executed = True
                try:
                    response = SavedResponse(200, copy.deepcopy(
                        route.handler(self._account, object_id, params, now)))
                except StripeError as error:
                    response = _error_reply(error)
                response = self._after_acting(path, fired, response, now)
            if key is not None:
                self._keys.save(key, digest, response, now)
            if route.mutating:
                self._save()
            if "kill_pid_after" in fired and fired["kill_pid_after"].pid is not None:
                os.kill(fired["kill_pid_after"].pid, signal.SIGKILL)
            refused = fired.get("act_then_refuse")
            dropped = "drop_after" in fired or refused is not None
            self._record(method, path, key, None if dropped else response.status,
                         executed=executed, faults=names)
        if refused is not None:
            self.refuse_connections(refused.seconds)
            return Reply(response.status, response.body, drop=True, hold_s=refused.seconds)
        return Reply(response.status, response.body, drop=dropped)

    def _reader_faults(self, path: str, fired: dict[str, Fault], now: float) -> None:
        targets = self._fault_readers(path)
        if "reader_offline" in fired:
            seconds = fired["reader_offline"].seconds
            for reader_id in targets:
                terminal.set_offline(self._account, reader_id, now + seconds if seconds else None)
        if "slow_authorisation" in fired:
            for reader_id in targets:
                terminal.delay_next_authorisation(
                    self._account, reader_id, fired["slow_authorisation"].seconds)

    def _after_acting(self, path: str, fired: dict[str, Fault], response: SavedResponse,
                      now: float) -> SavedResponse:
        if "refund_pending" in fired and response.status == 200 and \
                response.body.get("object") == "refund":
            seconds = fired["refund_pending"].seconds
            pending = refunds.make_pending(self._account, response.body["id"],
                                           now + seconds if seconds else None)
            response = SavedResponse(200, copy.deepcopy(pending))
        if "stuck_action" in fired and response.status == 200:  # (a refused request
            for reader_id in self._fault_readers(path):  # started no action to get stuck)
                terminal.make_stuck(self._account, reader_id)
        if "reader_timeout_after_acting" in fired:
            return _error_reply(_reader_timeout())
        if "error_500_after" in fired:
            return _error_reply(_api_error())
        return response

    def _fault_readers(self, path: str) -> list[str]:
        match = READER_PATH.search(path)
        if match and match.group(1) in self._account.readers:
            return [match.group(1)]
        return list(self._account.readers)

    def _refused(self, method: str, path: str, key: str | None, error: StripeError,
                 faults: tuple[str, ...] = ()) -> Reply:
        with self._lock:
            self._record(method, path, key, error.status, executed=False, faults=faults)
        return Reply(error.status, error.body())

    def _record(self, method: str, path: str, key: str | None, status: int | None, *,
                executed: bool, replayed: bool = False, faults: tuple[str, ...] = ()) -> None:
        at = datetime.fromtimestamp(self._clock(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self._recorded.append(
            RecordedRequest(method, path, key, status, executed, at, replayed, faults)
        )


def _settle(account: Account, now: float) -> bool:
    """Fire every timed event due by `now`: reader events, then pending refunds."""
    changed = terminal.settle(account, now)
    return refunds.settle(account, now) or changed


def _authorised(header: str) -> bool:
    scheme, _, token = header.partition(" ")
    return scheme == "Bearer" and token.startswith(_KEY_PREFIXES) and len(token) > 8


def _api_error() -> StripeError:
    return StripeError(500, "An unknown error occurred (injected by the emulator).",
                       type="api_error")


def _reader_timeout() -> StripeError:
    return StripeError(400, "The reader did not respond in time; it may or may not have "
                       "received the request.", code=terminal.TIMEOUT)


def _error_reply(error: StripeError) -> SavedResponse:
    return SavedResponse(error.status, error.body())
