"""Test faults of the reference back office: what a kiosk's relay must live through.

Only a server started with ``kiosk hq serve --faults`` (on loopback) has them, set through
``POST /_hq/faults`` from loopback. A ``Fault`` fires on the next ``count`` requests whose path
starts with ``path``:

- ``{"status": 500}``: answer that status (an ``ErrorReply``) instead of handling the request;
- ``{"delay_s": 2.0}``: wait that long (real seconds) before handling it;
- ``{"drop": true}``: close the connection without an answer;
- ``"after": true`` with ``status`` or ``drop``: handle the request (store the batch) first, then
  fail: the kiosk never hears that its batch arrived and sends it again.

``{"down": true}`` drops every request but the control ones until ``{"down": false}`` (to refuse
connections outright, stop the process and start it again on the same port).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, replace
from typing import Any

MAX_DELAY_S = 120.0
"""The longest delay a fault may ask for, in seconds."""


@dataclass(frozen=True)
class Fault:
    """One fault; see the module docstring. ``count`` requests, ``path`` a path prefix."""

    status: int | None = None
    delay_s: float = 0.0
    drop: bool = False
    after: bool = False
    count: int = 1
    path: str = "/api/"

    def __post_init__(self) -> None:
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error status, 400 to 599")
        if not 0 <= self.delay_s <= MAX_DELAY_S:
            raise ValueError(f"delay_s must be from 0 to {MAX_DELAY_S} seconds")
        if self.status is not None and self.drop:
            raise ValueError("a fault either answers a status or drops the connection")
        if self.status is None and not self.drop and not self.delay_s:
            raise ValueError("a fault needs status, delay_s or drop")
        if self.after and self.status is None and not self.drop:
            raise ValueError("after needs status or drop")
        if self.count < 1:
            raise ValueError("count must be at least 1")
        if not self.path.startswith("/"):
            raise ValueError("path must start with /")

    def matches(self, path: str) -> bool:
        """Whether this fault applies to a request for ``path``."""
        return path.startswith(self.path)

    def to_json(self) -> dict[str, Any]:
        """The fault as JSON (as ``POST /_hq/faults`` takes it)."""
        return asdict(self)

    @classmethod
    def from_json(cls, value: Any) -> Fault:
        """A fault from decoded JSON; ``ValueError`` says what is wrong with it."""
        if not isinstance(value, dict):
            raise ValueError("a fault is a JSON object")
        unknown = set(value) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        try:
            return cls(
                status=None if value.get("status") is None else int(value["status"]),
                delay_s=float(value.get("delay_s", 0.0)),
                drop=bool(value.get("drop", False)),
                after=bool(value.get("after", False)),
                count=int(value.get("count", 1)),
                path=str(value.get("path", "/api/")),
            )
        except (TypeError, ValueError) as error:
            raise ValueError(f"bad fault: {error}") from None


class FaultBoard:
    """The faults waiting to fire and the down switch; safe to use from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._down = False

    @property
    def down(self) -> bool:
        """Whether every non-control request is dropped."""
        return self._down

    def set_down(self, down: bool) -> None:
        """Drop every non-control request (True) or stop doing so (False)."""
        self._down = down

    def inject(self, fault: Fault) -> None:
        """Queue ``fault`` after the ones already waiting."""
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        """Forget every waiting fault and come back up."""
        with self._lock:
            self._faults.clear()
            self._down = False

    def take(self, path: str) -> Fault | None:
        """The first waiting fault matching ``path``, counted as fired once, or None."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(path):
                    if fault.count > 1:
                        self._faults[index] = replace(fault, count=fault.count - 1)
                    else:
                        del self._faults[index]
                    return fault
        return None

    def to_json(self) -> dict[str, Any]:
        """The waiting faults and the down switch, as ``GET /_hq/faults`` shows them."""
        with self._lock:
            return {"down": self._down, "faults": [fault.to_json() for fault in self._faults]}
