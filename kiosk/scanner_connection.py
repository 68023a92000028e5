"""The kiosk's barcode scanner: which port it reads, its driver, and its state on screen.

`ScannerConnection` starts the serial driver (``kiosk.devices.scanner``) on ``[scanner] port``,
or on the virtual scanner of ``kiosk.sim`` for ``"virtual"``, and hands every frame and every
change of the connection to the main thread through ``post_to_main``. While the scanner is
unplugged the driver keeps retrying and the kiosk keeps running. The driver's modules
(pyserial, the serial link) load when the scanner is first connected or its state first asked:
the facade is built without them, after the first frame, on the way to the first scan.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.config import Settings

if TYPE_CHECKING:  # the driver loads when connected, the virtual scanner only when chosen
    from kiosk.devices.scanner import ScannerOptions, ScannerState, SerialScanner
    from kiosk.sim.virtual_scanner import VirtualScanner

VIRTUAL_SCANNER_LINK = "virtual-scanner"
"""The virtual scanner's stable link, in the state directory."""


def scanner_options(settings: Settings, port: str) -> ScannerOptions:
    """The driver's options from the ``[scanner]`` table, opening ``port``."""
    from kiosk.devices.scanner import ScannerOptions

    config = settings.scanner
    return ScannerOptions(
        port=port,
        baudrate=config.baudrate,
        bytesize=config.bytesize,
        parity=config.parity,
        stopbits=config.stopbits,
        frame_end=config.frame_end,
        idle_gap_ms=config.idle_gap_ms,
        max_frame_bytes=config.max_frame_bytes,
        double_scan_window_ms=config.double_scan_window_ms,
    )


class ScannerConnection:
    """One kiosk's scanner. ``on_frame(raw)`` and ``on_state_change(state)`` run on the main
    thread (through ``post_to_main``); ``on_state_change`` only when the state differs from
    the last one reported."""

    def __init__(
        self,
        settings: Settings,
        *,
        post_to_main: Callable[[Callable[[], None]], None],
        on_frame: Callable[[bytes], None],
        on_state_change: Callable[[ScannerState], None],
    ) -> None:
        self._settings = settings
        self._post = post_to_main
        self._on_frame = on_frame
        self._on_state_change = on_state_change
        self._scanner: SerialScanner | None = None
        self._virtual_scanner: VirtualScanner | None = None
        self._state: ScannerState | None = None

    @property
    def state(self) -> ScannerState:
        """The scanner's connection as last reported on the main thread (stopped until then)."""
        if self._state is None:
            from kiosk.devices.scanner import ScannerState

            return ScannerState.STOPPED
        return self._state

    def connect(self, port: str | None = None) -> str:
        """Start reading the scanner (stopping one already read); return the path it opens.
        ``port`` overrides ``[scanner] port``; ``"virtual"`` starts the virtual scanner."""
        from kiosk.devices.scanner import SerialScanner

        self.stop()
        path = port or self._settings.scanner.port
        if path == "virtual":
            from kiosk.sim.virtual_scanner import VirtualScanner

            # Behind a stable link, as udev gives a real scanner, so a replug keeps the path.
            link = Path(self._settings.state_dir) / VIRTUAL_SCANNER_LINK
            self._virtual_scanner = VirtualScanner(link)
            path = self._virtual_scanner.path
        options = scanner_options(self._settings, path)
        self._scanner = SerialScanner(
            options,
            on_frame=lambda frame: self._post(lambda: self._on_frame(frame)),
            on_state=lambda state: self._post(lambda: self._changed(state)),
        )
        self._scanner.start()
        return path

    def stop(self) -> None:
        """Stop the driver and the virtual scanner, if they run."""
        if self._scanner is not None:
            self._scanner.stop()
            self._scanner = None
        if self._virtual_scanner is not None:
            self._virtual_scanner.close()
            self._virtual_scanner = None

    @property
    def virtual_scanner(self) -> VirtualScanner | None:
        """The virtual scanner, when the port is ``"virtual"`` (demo and tests)."""
        return self._virtual_scanner

    @property
    def heartbeat(self) -> float | None:
        """The driver loop's last turn (``time.monotonic()``), ``None`` when not reading."""
        return self._scanner.heartbeat if self._scanner is not None else None

    def _changed(self, state: ScannerState) -> None:
        if state != self.state:
            self._state = state
            self._on_state_change(state)
