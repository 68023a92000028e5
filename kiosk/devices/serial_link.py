"""One serial link: open a device by a stable path, read it in frames, survive unplugging.

`SerialLink` owns one daemon thread. It opens the port with pyserial (a stable path such as
``/dev/serial/by-id/...`` or a udev symlink like ``/dev/kiosk-scanner``, opened with
``exclusive=True``), cuts what it reads into frames (`kiosk.devices.frames.FrameAssembler`,
built from the device's `Framing`) and hands each frame to its `LinkListener`, together with
every change of `LinkState` and every frame it had to discard. `SerialLink.write` sends bytes
the other way (a weighing scale must be asked for a weight). The listener's methods run on the
link's thread. Device drivers sit on top: `kiosk.devices.scanner.SerialScanner` adds the
double-scan filter; a scale would add its request and its weight parser.

Hot-plug. pyserial has no reconnect: an unplugged port still says it is open and its read
raises (``SerialException`` "device reports readiness to read but returned no data", or
``OSError``). The link then closes the port, reports ``DISCONNECTED`` and tries to reopen the
same path with a backoff of ``backoff_initial_s`` doubling up to ``backoff_max_s``. Between
attempts it looks at the path every ``path_poll_s`` seconds: when the path comes back (from
missing to present), it tries at once instead of waiting out the backoff. So once the device
reappears, the link is connected again within about ``path_poll_s`` (0.1 s by default), well
inside a second, whatever stage the backoff has reached. The loop also notices a path that
disappears while the port is open. The first failure and the recovery are logged, one line
each; the retries in between are not.

No frame is lost or delivered twice by the link: each frame is handed over as soon as its
terminator is read, before the next read, and the assembler is reset on disconnect. In idle
framing the bytes pending at the unplug are a complete frame and are delivered before
``DISCONNECTED``; in line framing a partial line without its terminator is dropped. (Bytes
still in the kernel's buffer when the device vanishes are gone with the device.)

Times: framing, backoff and the heartbeat read the injected ``clock`` (``time.monotonic`` by
default, which the watchdog compares heartbeats with); waits go through the injected ``sleep``
(by default a wait that `SerialLink.stop` interrupts), so tests can drive the backoff without
sleeping. Reads block for at most ``read_timeout_s`` of real time (pyserial's timeout).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

import serial

from kiosk.devices.frames import Framing

log = logging.getLogger(__name__)

# What pyserial raises when a port cannot be opened or the device went away. ValueError is
# an impossible line setting; retrying is harmless and keeps the thread alive for the watchdog.
_PORT_ERRORS = (serial.SerialException, OSError, ValueError)


RETURNED_PATH_FAST_S = 2.0
"""Seconds after a port path (re)appears during which opens are retried every poll."""


class LinkState(StrEnum):
    """Where a serial link's connection is."""

    CONNECTING = "connecting"
    """Started; the port has not been opened yet."""
    CONNECTED = "connected"
    """The port is open and being read."""
    DISCONNECTED = "disconnected"
    """The error state: the port could not be opened or was lost; retrying with backoff.
    `SerialLink.last_error` says why."""
    STOPPED = "stopped"
    """Not started yet, or stopped: the port is closed and the thread has ended."""


class LinkDown(ConnectionError):
    """`SerialLink.write` could not send: the port is not open, or the write failed."""


@dataclass(frozen=True)
class SerialLine:
    """Where the device is and its line settings.

    ``port`` is a device path (best a stable one: ``/dev/serial/by-id/...`` or a udev
    symlink); ``baudrate`` in bits per second; ``bytesize`` data bits; ``parity`` "N", "E",
    "O", "M" or "S"; ``stopbits`` 1, 1.5 or 2.
    """

    port: str
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1


@dataclass(frozen=True)
class LinkTiming:
    """How a link waits, in seconds.

    ``backoff_initial_s`` / ``backoff_max_s``: the reopen backoff (doubling from the first to
    the second); ``read_timeout_s``: the longest a read blocks; ``path_poll_s``: how often the
    port path is checked (while disconnected, to reopen as soon as it returns; while
    connected, to notice it vanish); ``write_timeout_s``: the longest a write blocks (flow
    control held by a jammed device). Impossible values raise `ValueError`.
    """

    backoff_initial_s: float = 0.5
    backoff_max_s: float = 5.0
    read_timeout_s: float = 0.05
    path_poll_s: float = 0.1
    write_timeout_s: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.backoff_initial_s <= self.backoff_max_s:
            raise ValueError("the backoff must satisfy 0 < backoff_initial_s <= backoff_max_s")
        if self.read_timeout_s <= 0 or self.path_poll_s <= 0 or self.write_timeout_s <= 0:
            raise ValueError("read_timeout_s, path_poll_s and write_timeout_s must be positive")


class LinkListener(Protocol):
    """What a device driver hears from its link; every call comes from the link's thread.

    An exception raised here is logged and the link goes on.
    """

    def on_frame(self, frame: bytes) -> None:
        """A complete frame (terminator stripped)."""

    def on_state(self, state: LinkState) -> None:
        """The link moved to ``state``."""

    def on_discard(self, reason: str) -> None:
        """Bytes were dropped: ``"overlong: ..."`` or ``"no_terminator: ..."``."""


class SerialLink:
    """A serial device read by its own daemon thread, reopened whenever it comes back.

    ``name`` names the device in log lines and the thread (``kiosk-<name>``); ``logger`` is the
    logger those lines go to (the driver's own, so the journal names the device's module).
    ``clock`` is a monotonic clock in seconds; ``sleep(seconds)`` waits (None: a wait that
    `stop` interrupts).
    """

    def __init__(
        self,
        line: SerialLine,
        listener: LinkListener,
        *,
        framing: Framing | None = None,
        timing: LinkTiming | None = None,
        name: str = "serial",
        logger: logging.Logger = log,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.line = line
        self.framing = framing or Framing()
        timing = timing or LinkTiming()
        if self.framing.frame_end == "idle":
            # An empty read is what proves the line silent: read often enough to see a gap.
            read_timeout_s = min(timing.read_timeout_s, self.framing.idle_gap_s / 2)
            timing = replace(timing, read_timeout_s=read_timeout_s)
        self.timing = timing
        self.name = name
        self._listener = listener
        self._log = logger
        self._clock = clock
        self._sleep = sleep
        self._next_delay_s = timing.backoff_initial_s
        self._lifecycle = threading.Lock()
        self._assembler = self.framing.assembler()
        self._state = LinkState.STOPPED
        self._state_lock = threading.Lock()
        self._port_lock = threading.Lock()
        self._port: serial.Serial | None = None
        self._stopping = threading.Event()
        self._heartbeat = clock()
        self._retry_delay_s = 0.0
        self._bytes_read = 0
        self._last_error = ""
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> LinkState:
        """The connection state now."""
        return self._state

    @property
    def last_error(self) -> str:
        """Why the link went ``DISCONNECTED`` last ("" before any failure)."""
        return self._last_error

    @property
    def heartbeat(self) -> float:
        """``clock()`` (seconds) of the reader loop's latest turn.

        The loop turns at least every ``max(read_timeout_s, path_poll_s)`` seconds, connected
        or not, so a stale heartbeat means the thread is stuck, not that the device is gone.
        """
        return self._heartbeat

    @property
    def retry_delay_s(self) -> float:
        """The backoff delay in seconds after the latest failed open (0 before any failure)."""
        return self._retry_delay_s

    @property
    def bytes_read(self) -> int:
        """Bytes read from the port since start, over all connections (for diagnostics).

        Counted once the bytes have gone through framing, so any frame they complete has
        already been handed to the listener.
        """
        return self._bytes_read

    @property
    def dropped_frames(self) -> int:
        """Overlong frames discarded since the link was made."""
        return self._assembler.dropped_frames

    @property
    def running(self) -> bool:
        """True while the reader thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the reader thread (a daemon); the state becomes ``CONNECTING`` at once.

        ``on_state(CONNECTING)`` is called from the caller's thread, before this returns.
        A link starts once: starting it again raises `RuntimeError`.
        """
        with self._lifecycle:
            if self._thread is not None or self._stopping.is_set():
                raise RuntimeError(f"this {self.name} was already started (or stopped)")
            self._move_to(LinkState.CONNECTING)
            self._thread = threading.Thread(
                target=self._run, name=f"kiosk-{self.name}", daemon=True
            )
            self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """End the reader thread (waiting up to ``timeout_s`` seconds); the port is closed.

        Backoff waits and reads are interrupted within ``read_timeout_s``. The state becomes
        ``STOPPED`` (reported from the reader thread as it ends). Stopping twice is harmless;
        so is stopping from a listener (the loop then ends by itself).
        """
        with self._lifecycle:
            self._stopping.set()
            thread = self._thread
        if thread is None:
            self._move_to(LinkState.STOPPED)
            return
        if thread is threading.current_thread():
            return
        thread.join(timeout_s)
        if thread.is_alive():
            self._log.warning(
                "%s: the reader thread did not end within %.1f s", self.name, timeout_s
            )

    def write(self, data: bytes) -> None:
        """Send ``data`` to the device, from any thread; returns once the kernel has taken it.

        Raises `LinkDown` when the port is not open (not connected yet, unplugged, stopped)
        or the write fails or blocks longer than ``write_timeout_s``. A failed write does not
        change the state: the reader notices a lost device by itself.
        """
        with self._port_lock:
            port = self._port
            if port is None:
                raise LinkDown(f"{self.name}: {self.line.port} is not open ({self._state})")
            try:
                written = port.write(data)
            except _PORT_ERRORS as error:
                message = f"{self.name}: writing to {self.line.port} failed: {error}"
                raise LinkDown(message) from error
        if written is not None and written < len(data):
            raise LinkDown(f"{self.name}: {self.line.port} took {written} of {len(data)} bytes")

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                port = self._connect()
                if port is None:
                    break
                opened_s = self._clock()
                read_before = self._bytes_read
                self._read_until_lost(port)
                held = self._clock() - opened_s >= self.timing.backoff_max_s
                if held or self._bytes_read > read_before:
                    self._next_delay_s = self.timing.backoff_initial_s
                elif not self._stopping.is_set():
                    # Opened, then lost at once (a flapping cable, a hung-up tty): back off
                    # before opening again instead of spinning.
                    if self._wait_before_retry(self._next_delay_s, path_was_there=True) is None:
                        break
                    self._next_delay_s = min(self._next_delay_s * 2, self.timing.backoff_max_s)
        except Exception:
            self._log.exception("%s: the reader thread failed", self.name)
        finally:
            self._move_to(LinkState.STOPPED)

    def _connect(self) -> serial.Serial | None:
        """Open the port, retrying with backoff; None if stopped first.

        For ``RETURNED_PATH_FAST_S`` seconds after the path (re)appears, attempts follow every
        ``path_poll_s`` whatever the backoff: a device node may refuse the first open while
        udev is still setting it up.
        """
        delay_s = self._next_delay_s
        fast_until_s = 0.0
        while not self._stopping.is_set():
            self._beat()
            # Looked at before the attempt, so a path that appears while the attempt fails
            # still counts as "came back" below.
            path_was_there = os.path.exists(self.line.port)
            try:
                port = self._open()
            except _PORT_ERRORS as error:
                self._retry_delay_s = delay_s
                self._move_to(LinkState.DISCONNECTED, reason=str(error))
            else:
                with self._port_lock:
                    self._port = port
                self._move_to(LinkState.CONNECTED)
                return port
            fast = self._clock() < fast_until_s
            came_back = self._wait_before_retry(
                self.timing.path_poll_s if fast else delay_s, path_was_there
            )
            if came_back is None:
                return None
            if came_back:
                fast_until_s = self._clock() + RETURNED_PATH_FAST_S
            elif not fast:
                delay_s = min(delay_s * 2, self.timing.backoff_max_s)
            self._next_delay_s = delay_s
        return None

    def _open(self) -> serial.Serial:
        line = self.line
        return serial.Serial(
            port=line.port,
            baudrate=line.baudrate,
            bytesize=line.bytesize,
            parity=line.parity,
            stopbits=line.stopbits,
            timeout=self.timing.read_timeout_s,
            write_timeout=self.timing.write_timeout_s,
            exclusive=True,
        )

    def _wait_before_retry(self, delay_s: float, path_was_there: bool) -> bool | None:
        """Wait ``delay_s`` seconds, or less if the port path comes back.

        Returns True when the path came back, False when the delay ran out, None if stopped.
        ``path_was_there`` tells whether the path existed when the failed attempt began.
        """
        until = self._clock() + delay_s
        while True:
            left_s = until - self._clock()
            if left_s <= 0:
                return False
            if self._pause(min(left_s, self.timing.path_poll_s)):
                return None
            self._beat()
            path_is_there = os.path.exists(self.line.port)
            if path_is_there and not path_was_there:
                return True
            path_was_there = path_is_there

    def _pause(self, seconds: float) -> bool:
        """Wait ``seconds``; True if the link is stopping (checked after the wait)."""
        if self._sleep is None:
            return self._stopping.wait(seconds)
        self._sleep(seconds)
        return self._stopping.is_set()

    def _read_until_lost(self, port: serial.Serial) -> None:
        """Read frames until the device goes away or the link stops; closes the port."""
        lost: str | None = None
        next_path_check_s = self._clock() + self.timing.path_poll_s
        try:
            while not self._stopping.is_set():
                self._beat()
                try:
                    data = port.read(max(1, port.in_waiting))
                except _PORT_ERRORS as error:
                    lost = str(error) or type(error).__name__
                    break
                now_s = self._clock()
                self._take(data, now_s)
                self._bytes_read += len(data)
                if now_s >= next_path_check_s:
                    next_path_check_s = now_s + self.timing.path_poll_s
                    if not os.path.exists(self.line.port):
                        self._take(_drain(port), self._clock())
                        lost = f"{self.line.port} disappeared"
                        break
        finally:
            with self._port_lock:
                self._port = None
                try:
                    port.close()
                except _PORT_ERRORS:
                    self._log.debug("%s: closing the lost port failed", self.name, exc_info=True)
        leftover = self._assembler.reset()
        if lost is None:
            return
        if leftover is not None:
            self._deliver(leftover)
        self._move_to(LinkState.DISCONNECTED, reason=lost)

    def _take(self, data: bytes, now_s: float) -> None:
        assembler = self._assembler
        dropped, stale = assembler.dropped_frames, assembler.stale_partials
        if data:
            for frame in assembler.feed(data, now_s):
                self._deliver(frame)
        else:
            idle_frame = assembler.flush_if_idle(now_s)
            if idle_frame is not None:
                self._deliver(idle_frame)
        if assembler.dropped_frames > dropped:
            self._discard(f"overlong: more than {self.framing.max_frame_bytes} bytes, dropped")
        if assembler.stale_partials > stale:
            self._discard("no_terminator: a partial frame without CR or LF was dropped")

    def _discard(self, reason: str) -> None:
        try:
            self._listener.on_discard(reason)
        except Exception:
            self._log.exception("%s: on_discard failed", self.name)

    def _deliver(self, frame: bytes) -> None:
        try:
            self._listener.on_frame(frame)
        except Exception:
            self._log.exception("%s: on_frame failed; the frame is dropped", self.name)

    def _move_to(self, state: LinkState, *, reason: str = "") -> None:
        """The one way the state changes: logs "from -> to" and tells the listener."""
        with self._state_lock:
            before = self._state
            if state == before:
                return
            self._state = state
            if state == LinkState.DISCONNECTED:
                self._last_error = reason
        port, name = self.line.port, self.name
        if state == LinkState.DISCONNECTED:
            self._log.warning("%s: %s -> %s on %s: %s", name, before, state, port, reason)
        elif state == LinkState.CONNECTED and before == LinkState.DISCONNECTED:
            self._log.info("%s: %s -> %s: %s is back", name, before, state, port)
        else:
            self._log.info("%s: %s -> %s (%s)", name, before, state, port)
        try:
            self._listener.on_state(state)
        except Exception:
            self._log.exception("%s: on_state failed", name)

    def _beat(self) -> None:
        self._heartbeat = self._clock()


def _drain(port: serial.Serial) -> bytes:
    """What is still buffered on a port whose path has gone (b"" if the port is dead)."""
    try:
        waiting = port.in_waiting
        return port.read(waiting) if waiting else b""
    except _PORT_ERRORS:
        return b""
