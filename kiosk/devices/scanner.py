"""The serial barcode scanner driver: reads scans from a serial port and survives unplugging.

`SerialScanner` owns one daemon thread. It opens the configured port with pyserial (a stable
path such as ``/dev/serial/by-id/...`` or the udev symlink ``/dev/kiosk-scanner``, opened with
``exclusive=True``), cuts what it reads into frames (`kiosk.devices.frames.FrameAssembler`),
holds back double-fires (`kiosk.core.double_scan.DoubleScanFilter`) and hands each scan to
``on_frame``. Connection changes go to ``on_state``. Both callbacks run on the reader thread;
the facade wraps them with its ``post_to_main``. Nothing here imports kivy or kiosk.config: the
facade converts ``[scanner]`` settings into `ScannerOptions`.

Hot-plug. pyserial has no reconnect: an unplugged port still says it is open and its read
raises (``SerialException`` "device reports readiness to read but returned no data", or
``OSError``). The driver then closes the port, reports ``DISCONNECTED`` and tries to reopen
the same path with a backoff of ``backoff_initial_s`` doubling up to ``backoff_max_s``. Between
attempts it looks at the path every ``path_poll_s`` seconds: when the path comes back (from
missing to present), it tries at once instead of waiting out the backoff. So once the device
reappears, the scanner is connected again within about ``path_poll_s`` (0.1 s by default), well
inside a second, whatever stage the backoff has reached. The loop also notices a path that
disappears while the port is open. The first failure and the recovery are logged, one line
each; the retries in between are not.

No scan is lost or delivered twice by the driver: each frame is handed over as soon as its
terminator is read, before the next read, and the assembler is reset on disconnect. In idle
mode the bytes pending at the unplug are a complete scan and are delivered before
``DISCONNECTED``; in line mode a partial line without its terminator is dropped. (Bytes still
in the kernel's buffer when the device vanishes are gone with the device.)

Times: the double-scan filter reads the injected ``monotonic`` clock; framing, backoff and the
heartbeat use ``time.monotonic()`` (the watchdog compares heartbeats with it).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import serial

from kiosk.core.double_scan import DoubleScanFilter
from kiosk.devices.frames import FrameAssembler

log = logging.getLogger(__name__)

# What pyserial raises when a port cannot be opened or the device went away. ValueError is
# an impossible line setting; retrying is harmless and keeps the thread alive for the watchdog.
_PORT_ERRORS = (serial.SerialException, OSError, ValueError)


RETURNED_PATH_FAST_S = 2.0
"""Seconds after a port path (re)appears during which opens are retried every poll."""


class ScannerState(StrEnum):
    """Where the scanner's connection is."""

    CONNECTING = "connecting"
    """Started; the port has not been opened yet."""
    CONNECTED = "connected"
    """The port is open and being read."""
    DISCONNECTED = "disconnected"
    """The port could not be opened or was lost; retrying with backoff."""
    STOPPED = "stopped"
    """Not started yet, or stopped: the port is closed and the thread has ended."""


@dataclass(frozen=True)
class ScannerOptions:
    """The serial line and framing of the scanner (the ``[scanner]`` table, converted).

    ``port`` is a device path; ``baudrate`` in bits per second; ``bytesize`` data bits;
    ``parity`` "N", "E", "O", "M" or "S"; ``stopbits`` 1, 1.5 or 2; ``frame_end`` "line" (CR,
    LF or CRLF) or "idle" (silence of ``idle_gap_ms`` milliseconds); ``max_frame_bytes`` the
    longest scan kept; ``double_scan_window_ms`` the window in milliseconds within which the
    same code counts once (0: off).
    """

    port: str
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    frame_end: str = "line"
    idle_gap_ms: int = 50
    max_frame_bytes: int = 256
    double_scan_window_ms: int = 300


class SerialScanner:
    """A barcode scanner on a serial port, read by its own daemon thread.

    ``on_frame(frame)`` gets each accepted scan (raw bytes, terminator stripped);
    ``on_state(state)`` gets each change of `ScannerState`. ``monotonic`` is the clock of the
    double-scan filter (seconds). ``backoff_initial_s`` / ``backoff_max_s``: the reopen
    backoff in seconds; ``read_timeout_s``: the longest a read blocks, in seconds;
    ``path_poll_s``: how often, in seconds, the port path is checked (while disconnected, to
    reopen as soon as it returns; while connected, to notice it vanish); ``stale_line_s``:
    seconds of silence after which a line-mode partial frame is dropped as noise (None: never).
    """

    def __init__(
        self,
        options: ScannerOptions,
        *,
        on_frame: Callable[[bytes], None],
        on_state: Callable[[ScannerState], None],
        on_discard: Callable[[str], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 5.0,
        read_timeout_s: float = 0.05,
        path_poll_s: float = 0.1,
        stale_line_s: float | None = 1.0,
    ) -> None:
        if not 0 < backoff_initial_s <= backoff_max_s:
            raise ValueError("the backoff must satisfy 0 < backoff_initial_s <= backoff_max_s")
        if read_timeout_s <= 0 or path_poll_s <= 0:
            raise ValueError("read_timeout_s and path_poll_s must be positive")
        self.options = options
        self._on_frame = on_frame
        self._on_state = on_state
        self._on_discard = on_discard
        self._monotonic = monotonic
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        if options.frame_end == "idle":
            # An empty read is what proves the line silent: read often enough to see a gap.
            read_timeout_s = min(read_timeout_s, options.idle_gap_ms / 2000)
        self._read_timeout_s = read_timeout_s
        self._path_poll_s = path_poll_s
        self._next_delay_s = backoff_initial_s
        self._lifecycle = threading.Lock()
        self._assembler = FrameAssembler(
            frame_end=options.frame_end,
            max_frame_bytes=options.max_frame_bytes,
            idle_gap_s=options.idle_gap_ms / 1000,
            stale_line_s=stale_line_s,
        )
        self._double_scans = DoubleScanFilter(options.double_scan_window_ms / 1000)
        self._state = ScannerState.STOPPED
        self._state_lock = threading.Lock()
        self._stopping = threading.Event()
        self._heartbeat = time.monotonic()
        self._retry_delay_s = 0.0
        self._bytes_read = 0
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> ScannerState:
        """The connection state now."""
        return self._state

    @property
    def heartbeat(self) -> float:
        """``time.monotonic()`` (seconds) of the reader loop's latest turn.

        The loop turns at least every ``max(read_timeout_s, path_poll_s)`` seconds, connected
        or not, so a stale heartbeat means the thread is stuck, not that the scanner is gone.
        """
        return self._heartbeat

    @property
    def retry_delay_s(self) -> float:
        """The backoff delay in seconds after the latest failed open (0 before any failure)."""
        return self._retry_delay_s

    @property
    def bytes_read(self) -> int:
        """Bytes read from the port since start, over all connections (for diagnostics).

        Counted once the bytes have gone through framing, so any scan they complete has
        already been handed to ``on_frame``.
        """
        return self._bytes_read

    @property
    def dropped_frames(self) -> int:
        """Overlong frames discarded since the scanner was made."""
        return self._assembler.dropped_frames

    @property
    def running(self) -> bool:
        """True while the reader thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the reader thread (a daemon); the state becomes ``CONNECTING`` at once.

        ``on_state(CONNECTING)`` is called from the caller's thread, before this returns.
        A scanner starts once: starting it again raises `RuntimeError`.
        """
        with self._lifecycle:
            if self._thread is not None or self._stopping.is_set():
                raise RuntimeError("this scanner was already started (or stopped)")
            self._set_state(ScannerState.CONNECTING)
            self._thread = threading.Thread(target=self._run, name="kiosk-scanner", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """End the reader thread (waiting up to ``timeout_s`` seconds); the port is closed.

        Backoff waits and reads are interrupted within ``read_timeout_s``. The state becomes
        ``STOPPED`` (reported from the reader thread as it ends). Stopping twice is harmless.
        """
        with self._lifecycle:
            self._stopping.set()
            thread = self._thread
        if thread is None:
            self._set_state(ScannerState.STOPPED)
            return
        if thread is threading.current_thread():  # stop() from a callback: the loop ends itself
            return
        thread.join(timeout_s)
        if thread.is_alive():
            log.warning("scanner: the reader thread did not end within %.1f s", timeout_s)

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                port = self._connect()
                if port is None:
                    break
                opened_s = time.monotonic()
                read_before = self._bytes_read
                self._read_until_lost(port)
                held = time.monotonic() - opened_s >= self._backoff_max_s
                if held or self._bytes_read > read_before:
                    self._next_delay_s = self._backoff_initial_s
                elif not self._stopping.is_set():
                    # Opened, then lost at once (a flapping cable, a hung-up tty): back off
                    # before opening again instead of spinning.
                    if self._wait_before_retry(self._next_delay_s, path_was_there=True) is None:
                        break
                    self._next_delay_s = min(self._next_delay_s * 2, self._backoff_max_s)
        except Exception:
            log.exception("scanner: the reader thread failed")
        finally:
            self._set_state(ScannerState.STOPPED)

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
            path_was_there = os.path.exists(self.options.port)
            try:
                port = self._open()
            except _PORT_ERRORS as error:
                self._retry_delay_s = delay_s
                self._set_state(ScannerState.DISCONNECTED, reason=str(error))
            else:
                self._set_state(ScannerState.CONNECTED)
                return port
            fast = time.monotonic() < fast_until_s
            came_back = self._wait_before_retry(
                self._path_poll_s if fast else delay_s, path_was_there
            )
            if came_back is None:
                return None
            if came_back:
                fast_until_s = time.monotonic() + RETURNED_PATH_FAST_S
            elif not fast:
                delay_s = min(delay_s * 2, self._backoff_max_s)
            self._next_delay_s = delay_s
        return None

    def _open(self) -> serial.Serial:
        options = self.options
        return serial.Serial(
            port=options.port,
            baudrate=options.baudrate,
            bytesize=options.bytesize,
            parity=options.parity,
            stopbits=options.stopbits,
            timeout=self._read_timeout_s,
            exclusive=True,
        )

    def _wait_before_retry(self, delay_s: float, path_was_there: bool) -> bool | None:
        """Wait ``delay_s`` seconds, or less if the port path comes back.

        Returns True when the path came back, False when the delay ran out, None if stopped.
        ``path_was_there`` tells whether the path existed when the failed attempt began.
        """
        until = time.monotonic() + delay_s
        while True:
            left_s = until - time.monotonic()
            if left_s <= 0:
                return False
            if self._stopping.wait(min(left_s, self._path_poll_s)):
                return None
            self._beat()
            path_is_there = os.path.exists(self.options.port)
            if path_is_there and not path_was_there:
                return True
            path_was_there = path_is_there

    def _read_until_lost(self, port: serial.Serial) -> None:
        """Read frames until the device goes away or the scanner stops; closes the port."""
        lost: str | None = None
        next_path_check_s = time.monotonic() + self._path_poll_s
        try:
            while not self._stopping.is_set():
                self._beat()
                try:
                    data = port.read(max(1, port.in_waiting))
                except _PORT_ERRORS as error:
                    lost = str(error) or type(error).__name__
                    break
                now_s = time.monotonic()
                self._take(data, now_s)
                self._bytes_read += len(data)
                if now_s >= next_path_check_s:
                    next_path_check_s = now_s + self._path_poll_s
                    if not os.path.exists(self.options.port):
                        self._take(_drain(port), time.monotonic())
                        lost = f"{self.options.port} disappeared"
                        break
        finally:
            try:
                port.close()
            except _PORT_ERRORS:
                log.debug("scanner: closing the lost port failed", exc_info=True)
        leftover = self._assembler.reset()
        if lost is None:
            return
        if leftover is not None:
            self._deliver(leftover)
        self._set_state(ScannerState.DISCONNECTED, reason=lost)

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
            self._discard(f"overlong: more than {self.options.max_frame_bytes} bytes, dropped")
        if assembler.stale_partials > stale:
            self._discard("no_terminator: a partial frame without CR or LF was dropped")

    def _discard(self, reason: str) -> None:
        if self._on_discard is None:
            return
        try:
            self._on_discard(reason)
        except Exception:
            log.exception("scanner: on_discard failed")

    def _deliver(self, frame: bytes) -> None:
        if not self._double_scans.accept(frame, self._monotonic()):
            log.debug("scanner: held back a repeat of the previous scan")
            self._discard(f"double_fire: {frame!r} again within the double-scan window")
            return
        try:
            self._on_frame(frame)
        except Exception:
            log.exception("scanner: on_frame failed; the scan is dropped")

    def _set_state(self, state: ScannerState, *, reason: str = "") -> None:
        with self._state_lock:
            before = self._state
            if state == before:
                return
            self._state = state
        if state == ScannerState.DISCONNECTED:
            log.warning("scanner: %s -> %s on %s: %s", before, state, self.options.port, reason)
        elif state == ScannerState.CONNECTED and before == ScannerState.DISCONNECTED:
            log.info("scanner: %s -> %s: %s is back", before, state, self.options.port)
        else:
            log.info("scanner: %s -> %s (%s)", before, state, self.options.port)
        try:
            self._on_state(state)
        except Exception:
            log.exception("scanner: on_state failed")

    def _beat(self) -> None:
        self._heartbeat = time.monotonic()


def _drain(port: serial.Serial) -> bytes:
    """What is still buffered on a port whose path has gone (b"" if the port is dead)."""
    try:
        waiting = port.in_waiting
        return port.read(waiting) if waiting else b""
    except _PORT_ERRORS:
        return b""
