"""The serial barcode scanner driver: scans from a serial port, one scan per frame.

`SerialScanner` is a thin driver on `kiosk.devices.serial_link.SerialLink`, which owns the
thread, the port (opened by a stable path such as ``/dev/serial/by-id/...`` or the udev
symlink ``/dev/kiosk-scanner``), the framing, the reconnect after an unplug with its backoff
and path watching, and the heartbeat. The scanner adds what is its own: the ``[scanner]``
options (`ScannerOptions`) and the double-scan filter
(`kiosk.core.double_scan.DoubleScanFilter`), which holds back a double-fire before
``on_frame``. Connection changes go to ``on_state`` (`ScannerState` is the link's
`LinkState`). Both callbacks run on the link's thread; the facade wraps them with its
``post_to_main``. Nothing here imports kivy or kiosk.config: the facade converts ``[scanner]``
settings into `ScannerOptions`.

Log lines (the first failure, the recovery, each "from -> to") go to this module's logger,
prefixed "scanner:".

Times: the double-scan filter reads the injected ``monotonic`` clock; framing, backoff and the
heartbeat use ``time.monotonic()`` (the watchdog compares heartbeats with it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.core.double_scan import DoubleScanFilter
from kiosk.devices.frames import Framing
from kiosk.devices.serial_link import LinkState, LinkTiming, SerialLine, SerialLink

log = logging.getLogger(__name__)

ScannerState = LinkState
"""Where the scanner's connection is: the states of its serial link."""


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

    def serial_line(self) -> SerialLine:
        """The port and line settings, as the serial link takes them."""
        return SerialLine(
            port=self.port,
            baudrate=self.baudrate,
            bytesize=self.bytesize,
            parity=self.parity,
            stopbits=self.stopbits,
        )

    def framing(self, stale_line_s: float | None) -> Framing:
        """The scanner's framing; ``stale_line_s`` as in `SerialScanner`."""
        return Framing(
            frame_end=self.frame_end,
            idle_gap_s=self.idle_gap_ms / 1000,
            max_frame_bytes=self.max_frame_bytes,
            stale_line_s=stale_line_s,
        )


class _ScanListener:
    """Between the link and the scanner's callbacks: holds back double-fires."""

    def __init__(
        self,
        double_scans: DoubleScanFilter,
        monotonic: Callable[[], float],
        on_frame: Callable[[bytes], None],
        on_state: Callable[[ScannerState], None],
        on_discard: Callable[[str], None] | None,
    ) -> None:
        self._double_scans = double_scans
        self._monotonic = monotonic
        self._on_frame = on_frame
        self._on_state = on_state
        self._on_discard = on_discard

    def on_frame(self, frame: bytes) -> None:
        """Hand the scan on, unless it repeats the previous one within the window."""
        if not self._double_scans.accept(frame, self._monotonic()):
            log.debug("scanner: held back a repeat of the previous scan")
            self.on_discard(f"double_fire: {frame!r} again within the double-scan window")
            return
        self._on_frame(frame)

    def on_state(self, state: LinkState) -> None:
        """Hand the state change on."""
        self._on_state(state)

    def on_discard(self, reason: str) -> None:
        """Hand the reason on, when someone asked for discards."""
        if self._on_discard is not None:
            self._on_discard(reason)


class SerialScanner:
    """A barcode scanner on a serial port, read by its serial link's daemon thread.

    ``on_frame(frame)`` gets each accepted scan (raw bytes, terminator stripped);
    ``on_state(state)`` gets each change of `ScannerState`; ``on_discard(reason)`` (optional)
    each dropped frame (overlong, no terminator, double fire). ``monotonic`` is the clock of
    the double-scan filter (seconds). ``backoff_initial_s`` / ``backoff_max_s``: the reopen
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
        self.options = options
        timing = LinkTiming(
            backoff_initial_s=backoff_initial_s,
            backoff_max_s=backoff_max_s,
            read_timeout_s=read_timeout_s,
            path_poll_s=path_poll_s,
        )
        double_scans = DoubleScanFilter(options.double_scan_window_ms / 1000)
        listener = _ScanListener(double_scans, monotonic, on_frame, on_state, on_discard)
        self._link = SerialLink(
            options.serial_line(),
            listener,
            framing=options.framing(stale_line_s),
            timing=timing,
            name="scanner",
            logger=log,
        )

    @property
    def state(self) -> ScannerState:
        """The connection state now."""
        return self._link.state

    @property
    def heartbeat(self) -> float:
        """``time.monotonic()`` (seconds) of the reader loop's latest turn.

        The loop turns at least every ``max(read_timeout_s, path_poll_s)`` seconds, connected
        or not, so a stale heartbeat means the thread is stuck, not that the scanner is gone.
        """
        return self._link.heartbeat

    @property
    def retry_delay_s(self) -> float:
        """The backoff delay in seconds after the latest failed open (0 before any failure)."""
        return self._link.retry_delay_s

    @property
    def bytes_read(self) -> int:
        """Bytes read from the port since start, over all connections (for diagnostics).

        Counted once the bytes have gone through framing, so any scan they complete has
        already been handed to ``on_frame``.
        """
        return self._link.bytes_read

    @property
    def dropped_frames(self) -> int:
        """Overlong frames discarded since the scanner was made."""
        return self._link.dropped_frames

    @property
    def running(self) -> bool:
        """True while the reader thread is alive."""
        return self._link.running

    def start(self) -> None:
        """Start the reader thread (a daemon); the state becomes ``CONNECTING`` at once.

        ``on_state(CONNECTING)`` is called from the caller's thread, before this returns.
        A scanner starts once: starting it again raises `RuntimeError`.
        """
        self._link.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """End the reader thread (waiting up to ``timeout_s`` seconds); the port is closed.

        Backoff waits and reads are interrupted within ``read_timeout_s``. The state becomes
        ``STOPPED`` (reported from the reader thread as it ends). Stopping twice is harmless.
        """
        self._link.stop(timeout_s)
