"""A stand-in for systemd's notify socket: a real AF_UNIX datagram socket tests read from.

The tests of ``kiosk.service`` point ``$NOTIFY_SOCKET`` (or a ``Notifier``) at it and read
each datagram as systemd would: newline-separated ``KEY=value`` assignments.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

GUARD_S = 30.0
"""Seconds a test waits for a datagram before it fails (a guard against hanging, not timing)."""


class NotifySocket:
    """An AF_UNIX ``SOCK_DGRAM`` socket bound at ``path``, or at ``@name`` in the abstract
    namespace; ``address`` is what ``$NOTIFY_SOCKET`` holds for it."""

    def __init__(self, *, path: Path | None = None, abstract_name: str | None = None) -> None:
        if (path is None) == (abstract_name is None):
            raise ValueError("give a path or an abstract name")
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if path is not None:
            self.socket.bind(str(path))
            self.address = str(path)
        else:
            assert abstract_name is not None
            self.socket.bind(b"\0" + abstract_name.encode())
            self.address = "@" + abstract_name
        self.received: list[list[str]] = []
        """Every datagram read so far, as its lines."""

    def receive(self, timeout_s: float = GUARD_S) -> list[str] | None:
        """The next datagram's lines, or None when none arrives within ``timeout_s``."""
        self.socket.settimeout(timeout_s)
        try:
            data = self.socket.recv(4096)
        except TimeoutError:
            return None
        lines = data.decode().split("\n")
        self.received.append(lines)
        return lines

    def pending(self) -> list[list[str]]:
        """Every datagram already queued, without waiting."""
        found: list[list[str]] = []
        while (lines := self.receive(timeout_s=0.01)) is not None:
            found.append(lines)
        return found

    def wait_for(self, wanted: Callable[[list[str]], bool], guard_s: float = GUARD_S
                 ) -> list[list[str]]:
        """Read datagrams until one satisfies ``wanted``; all read, that one last. Fails the
        test after ``guard_s`` seconds."""
        seen: list[list[str]] = []
        deadline = time.monotonic() + guard_s
        while (left := deadline - time.monotonic()) > 0:
            lines = self.receive(timeout_s=left)
            if lines is None:
                break
            seen.append(lines)
            if wanted(lines):
                return seen
        raise AssertionError(f"no such datagram within {guard_s} s; got {seen}")

    def close(self) -> None:
        """Close the socket."""
        self.socket.close()


def has(assignment: str) -> Callable[[list[str]], bool]:
    """A test for a datagram holding ``assignment`` (such as ``"READY=1"``)."""
    return lambda lines: assignment in lines
