"""sd_notify without libsystemd: tell systemd that the kiosk is ready, alive or stopping.

Under ``Type=notify`` systemd hands the service the address of a datagram socket in
``$NOTIFY_SOCKET``: a file system path, or ``@name`` for Linux's abstract namespace. Each
message is one datagram of newline-separated ``KEY=value`` assignments (``READY=1``,
``WATCHDOG=1``, ``STATUS=...``, ``STOPPING=1``, ``EXTEND_TIMEOUT_USEC=...``), sent from the
service's main process (``NotifyAccess=main``). That is all `Notifier` does, with a plain
``socket``: no libsystemd, no python-systemd.

Outside systemd (no ``$NOTIFY_SOCKET``) every call is a no-op, so ``kiosk run`` behaves the
same in a terminal. A send never raises and never blocks the caller (the UI loop sends the
watchdog pings): a failure is logged once at warning, later ones at debug.

``$WATCHDOG_USEC`` (and ``$WATCHDOG_PID``) tell the service its ``WatchdogSec=``:
`watchdog_interval_s` reads them as sd_watchdog_enabled(3) does.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping

from kiosk.logs import fields

log = logging.getLogger(__name__)

NOTIFY_SOCKET = "NOTIFY_SOCKET"
"""The environment variable holding the notify socket's address."""

WATCHDOG_USEC = "WATCHDOG_USEC"
"""The environment variable holding ``WatchdogSec=`` in microseconds."""

WATCHDOG_PID = "WATCHDOG_PID"
"""The environment variable naming the process the watchdog applies to (unset: this one)."""


def socket_address(address: str) -> str | bytes:
    """The ``sendto`` address for ``$NOTIFY_SOCKET``: ``@name`` is ``name`` in the abstract
    namespace (a leading NUL byte), anything else a file system path."""
    if address.startswith("@"):
        return b"\0" + address[1:].encode()
    return address


def watchdog_interval_s(environ: Mapping[str, str], pid: int | None = None) -> float | None:
    """``WatchdogSec=`` in seconds, from ``$WATCHDOG_USEC``; ``None`` when there is no watchdog
    for this process: the variable is unset, not a positive whole number, or
    ``$WATCHDOG_PID`` names another process than ``pid`` (default: this one). Ping at least
    every half of it."""
    text = environ.get(WATCHDOG_USEC, "").strip()
    if not text.isdecimal() or int(text) <= 0:
        return None
    owner = environ.get(WATCHDOG_PID, "").strip()
    ours = os.getpid() if pid is None else pid
    if owner and (not owner.isdecimal() or int(owner) != ours):
        return None
    return int(text) / 1_000_000


class Notifier:
    """Sends sd_notify messages to ``address`` (``$NOTIFY_SOCKET``'s value; ``None`` or
    ``""``: not under systemd, every call does nothing and returns False).

    Each method returns True when its datagram was sent. Safe to call from any thread.
    """

    def __init__(self, address: str | None) -> None:
        self.address = address or None
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._warned = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """The notifier for ``$NOTIFY_SOCKET`` of ``environ`` (default: this process's)."""
        return cls((os.environ if environ is None else environ).get(NOTIFY_SOCKET))

    @property
    def enabled(self) -> bool:
        """True when there is a notify socket to send to (running under systemd)."""
        return self.address is not None

    def ready(self, status: str = "") -> bool:
        """``READY=1``: start-up is complete (with ``STATUS=status`` when given)."""
        return self.send("READY=1", *_status(status))

    def watchdog(self) -> bool:
        """``WATCHDOG=1``: the service is alive; systemd's watchdog timer starts again."""
        return self.send("WATCHDOG=1")

    def status(self, text: str) -> bool:
        """``STATUS=text``: one line ``systemctl status`` shows."""
        return self.send(*_status(text))

    def stopping(self, status: str = "") -> bool:
        """``STOPPING=1``: the service is shutting down (the watchdog no longer applies)."""
        return self.send("STOPPING=1", *_status(status))

    def extend_timeout(self, usec: int) -> bool:
        """``EXTEND_TIMEOUT_USEC=usec``: the start (or stop) needs ``usec`` microseconds more
        from now (systemd >= 236). ``ValueError`` unless ``usec`` is positive."""
        if usec <= 0:
            raise ValueError(f"usec must be positive, got {usec}")
        return self.send(f"EXTEND_TIMEOUT_USEC={int(usec)}")

    def send(self, *assignments: str) -> bool:
        """Send ``KEY=value`` assignments as one datagram; False when there is no socket or
        the send failed (logged, never raised)."""
        if self.address is None or not assignments:
            return False
        message = "\n".join(assignments).encode()
        with self._lock:
            try:
                if self._socket is None:
                    self._socket = socket.socket(
                        socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                    )
                    self._socket.setblocking(False)  # a full queue must not stall the UI
                self._socket.sendto(message, socket_address(self.address))
            except OSError as error:
                self._failed(message, error)
                return False
        return True

    def close(self) -> None:
        """Close the socket (a later send opens a new one)."""
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None

    def _failed(self, message: bytes, error: OSError) -> None:
        first = message.split(b"\n", 1)[0].decode(errors="replace")
        details = fields(event="notify_failed", socket=self.address, message=first,
                         error=str(error))
        if self._warned:
            log.debug("sd_notify %s failed again: %s", first, error, extra=details)
            return
        self._warned = True
        log.warning("cannot notify systemd on %s (%s): %s; later failures only at debug",
                    self.address, first, error, extra=details)


def _status(text: str) -> tuple[str, ...]:
    """``STATUS=text`` on one line, or nothing for an empty text."""
    line = " ".join(text.split())
    return (f"STATUS={line}",) if line else ()
