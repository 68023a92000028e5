"""Crash points: places where the crash test kills the kiosk to prove recovery works.

``crashpoint(name)`` sends SIGKILL to the own process when the environment variable
``KIOSK_CRASH_AT`` equals ``name`` (or ``name#k``: at the k-th time that point is reached).
Otherwise it costs one dictionary lookup. Every name is listed in `CRASHPOINTS` and in
docs/PAYMENTS.md.
"""

from __future__ import annotations

import os
import signal
import threading

_POSTS = ("create", "update", "display", "process", "cancel_action", "capture", "cancel",
          "refund")
_COMMITS = ("locked", "create_key", "update", "intent_created", "processing",
            "cancel_action", "authorised", "capture_key", "paid", "returned", "abandoned",
            "intent_status", "new", "refund_requested", "refund_submitted",
            "refund_succeeded", "refund_failed")

CRASHPOINTS: tuple[str, ...] = tuple(
    [f"{when}_post:{post}" for post in _POSTS for when in ("before", "after")]
    + [f"{when}_commit:{state}" for state in _COMMITS for when in ("before", "after")]
)
"""Every crash point name the payment code passes."""

_hits: dict[str, int] = {}
_lock = threading.Lock()


def crashpoint(name: str) -> None:
    """Kill this process with SIGKILL if ``KIOSK_CRASH_AT`` names this point (see module)."""
    target = os.environ.get("KIOSK_CRASH_AT")
    if not target or not target.startswith(name):
        return
    if target == name:
        os.kill(os.getpid(), signal.SIGKILL)
        return
    wanted, _, count = target.partition("#")
    if wanted != name or not count.isdigit():
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        hit = _hits[name]
    if hit == int(count):
        os.kill(os.getpid(), signal.SIGKILL)
