"""Fault injection: what can go wrong between the kiosk, Stripe and the reader.

A `Fault` matches requests by HTTP method and a regular expression on the path, and fires on
the next `times` matching requests. Kinds:

- `latency`: wait `seconds` (real time) before handling.
- `error_500_before`: 500 `api_error`, nothing done, nothing saved.
- `error_500_after`: act, then answer 500 (saved under the idempotency key).
- `rate_limit_429`: 429 `rate_limit`, nothing done, nothing saved.
- `drop_after`: act, save the response under the key, close the socket without answering.
- `kill_pid_after`: act, save, SIGKILL process `pid`, then answer.
- `act_then_refuse`: act, save the response under the key, never answer (the connection is
  held until the refusal ends, then closed), and refuse every new connection for `seconds`
  (real time: the listening socket is closed, so a retry sees "connection refused").
- `reader_busy`: `terminal_reader_busy`, nothing done.
- `reader_offline`: the reader goes offline (for `seconds` of emulator clock, or until faults
  are cleared); its actions fail with `terminal_reader_offline`.
- `reader_timeout`: `terminal_reader_timeout`, the action is NOT started.
- `reader_timeout_after_acting`: the action IS started, `terminal_reader_timeout` is answered.
- `stuck_action`: act, then the reader's action stays `in_progress` until cancel_action.
- `slow_authorisation`: the next card presented on the reader takes `seconds` to authorise.
- `refund_pending`: a refund created by the request is left `pending`; it succeeds when the
  emulator clock has moved `seconds` past its creation (0: only on a control call).
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass, replace
from typing import Any

KINDS = frozenset({
    "latency", "error_500_before", "error_500_after", "rate_limit_429", "drop_after",
    "reader_busy", "reader_offline", "reader_timeout", "reader_timeout_after_acting",
    "stuck_action", "kill_pid_after", "slow_authorisation", "refund_pending",
    "act_then_refuse",
})
READER_PATH = re.compile(r"/terminal/readers/(tmr_[A-Za-z0-9]+)")


@dataclass(frozen=True)
class Fault:
    """One injected fault; `path` is a regex searched in the request path; `seconds` is for
    latency, slow authorisations, offline spells, pending refunds and refusals; `pid` is for
    kill_pid_after."""

    kind: str
    method: str = "POST"
    path: str = ".*"
    times: int = 1
    seconds: float = 0.0
    pid: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(KINDS)}")
        if self.kind == "kill_pid_after" and self.pid is None:
            raise ValueError("kill_pid_after needs pid")
        if self.times < 1:
            raise ValueError("times must be at least 1")
        re.compile(self.path)

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request."""
        return self.method.upper() == method.upper() and re.search(self.path, path) is not None

    def to_json(self) -> dict[str, Any]:
        """The fault as JSON (the body of POST /_emulator/faults)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        """A fault from JSON; raises ValueError/TypeError on a bad one."""
        return cls(**data)


class FaultBoard:
    """The faults waiting to fire; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Arm a fault."""
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> list[Fault]:
        """The faults that fire for this request (each fires once per request, in order)."""
        fired: list[Fault] = []
        with self._lock:
            kept: list[Fault] = []
            for fault in self._faults:
                if fault.matches(method, path) and fault.kind not in {f.kind for f in fired}:
                    fired.append(fault)
                    if fault.times > 1:
                        kept.append(replace(fault, times=fault.times - 1))
                else:
                    kept.append(fault)
            self._faults = kept
        return fired

    def armed(self) -> list[Fault]:
        """The faults still waiting to fire."""
        with self._lock:
            return list(self._faults)
