"""SerialScanner against real pyserial on pseudo-terminals, including unplug and replug.

The scanner is a pty pair: the test writes to the master, the driver opens the slave by path
(or by a symlink in tmp_path, standing in for the udev symlink /dev/kiosk-scanner). Both ends
are put in raw mode so the line discipline does not turn CR into LF. Unplugging closes the
master, which is what pyserial sees when a USB scanner goes away: the read raises. Callbacks go
into one queue, so the order of scans and state changes is checked too. Waits are on that
queue (or on a condition) with generous timeouts; nothing asserts how fast anything was.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.devices.scanner import ScannerOptions, ScannerState, SerialScanner

CODE = b"4006381333931"
OTHER = b"5901234123457"
THIRD = b"96385074"
LAST = b"0012345678905"

LOGGER = "kiosk.devices.scanner"
Event = tuple[str, object]


class ScannerPty:
    """A pseudo-terminal standing in for a plugged-in scanner."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.plugged = True

    def write(self, data: bytes) -> None:
        """Send bytes as the scanner would."""
        view = memoryview(data)
        while view:
            written = os.write(self.master, view)
            view = view[written:]

    def unplug(self) -> None:
        """Pull the cable: both ends of the pty go away."""
        if self.plugged:
            self.plugged = False
            os.close(self.master)
            os.close(self.slave)


class Events:
    """Records the driver's callbacks, in order, from its reader thread."""

    def __init__(self) -> None:
        self.queue: queue.Queue[Event] = queue.Queue()
        self.seen: list[Event] = []

    def on_frame(self, frame: bytes) -> None:
        self.queue.put(("frame", frame))

    def on_state(self, state: ScannerState) -> None:
        self.queue.put(("state", state))

    def wait_for(self, expected: Event, timeout_s: float = 10.0) -> None:
        """Take events until ``expected`` arrives; fail if it does not within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            left_s = deadline - time.monotonic()
            try:
                event = self.queue.get(timeout=max(left_s, 0.001))
            except queue.Empty:
                raise AssertionError(f"{expected} never came; saw {self.seen}") from None
            self.seen.append(event)
            if event == expected:
                return

    def drain(self) -> list[Event]:
        """Everything seen so far, including what is queued and not yet taken."""
        while True:
            try:
                self.seen.append(self.queue.get_nowait())
            except queue.Empty:
                return self.seen

    @property
    def frames(self) -> list[object]:
        return [value for kind, value in self.drain() if kind == "frame"]

    @property
    def states(self) -> list[object]:
        return [value for kind, value in self.drain() if kind == "state"]


class FakeClock:
    """A monotonic clock the test moves by hand (seconds)."""

    def __init__(self, now_s: float = 100.0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


def eventually(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Wait, polling every few ms, until ``condition()`` holds; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        time.sleep(0.002)


def send_and_wait_until_read(pty: ScannerPty, scanner: SerialScanner, data: bytes) -> None:
    """Send bytes and wait until the driver has read and framed them all.

    (The pty's own input count is no proof: the kernel moves bytes from the master to the
    slave's queue asynchronously.)
    """
    expected = scanner.bytes_read + len(data)
    pty.write(data)
    eventually(lambda: scanner.bytes_read >= expected)


def ignore(_: object) -> None:
    """A callback that does nothing."""


def point(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` in one step, as udev does."""
    fresh = link.with_name(link.name + ".new")
    fresh.unlink(missing_ok=True)
    fresh.symlink_to(target)
    os.replace(fresh, link)


@pytest.fixture
def ptys() -> Iterator[list[ScannerPty]]:
    made: list[ScannerPty] = []
    yield made
    for pty in made:
        pty.unplug()


@pytest.fixture
def plug(ptys: list[ScannerPty]) -> Callable[[], ScannerPty]:
    def make() -> ScannerPty:
        pty = ScannerPty()
        ptys.append(pty)
        return pty

    return make


@pytest.fixture
def scanners() -> Iterator[Callable[..., tuple[SerialScanner, Events]]]:
    made: list[SerialScanner] = []

    def make(
        port: str,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        backoff_initial_s: float = 0.05,
        backoff_max_s: float = 0.2,
        stale_line_s: float | None = None,
        **options: Any,
    ) -> tuple[SerialScanner, Events]:
        events = Events()
        scanner = SerialScanner(
            ScannerOptions(port=port, **options),
            on_frame=events.on_frame,
            on_state=events.on_state,
            monotonic=monotonic,
            backoff_initial_s=backoff_initial_s,
            backoff_max_s=backoff_max_s,
            stale_line_s=stale_line_s,
        )
        made.append(scanner)
        scanner.start()
        return scanner, events

    yield make
    for scanner in made:
        scanner.stop(timeout_s=5.0)


Make = Callable[..., tuple[SerialScanner, Events]]


def test_scans_ended_by_cr_lf_or_crlf_arrive_whole_and_once(
    plug: Callable[[], ScannerPty], scanners: Make
) -> None:
    pty = plug()
    scanner, events = scanners(pty.path)
    events.wait_for(("state", ScannerState.CONNECTED))
    pty.write(CODE + b"\r" + OTHER + b"\n" + THIRD + b"\r\n" + b"\r\n\n" + LAST + b"\r\n")
    events.wait_for(("frame", LAST))
    assert events.frames == [CODE, OTHER, THIRD, LAST]
    assert scanner.state == ScannerState.CONNECTED


def test_a_scan_arriving_byte_by_byte_is_one_frame(
    plug: Callable[[], ScannerPty], scanners: Make
) -> None:
    pty = plug()
    scanner, events = scanners(pty.path)
    events.wait_for(("state", ScannerState.CONNECTED))
    for byte in CODE + b"\r\n" + OTHER + b"\r\n":
        send_and_wait_until_read(pty, scanner, bytes([byte]))
    events.wait_for(("frame", OTHER))
    assert events.frames == [CODE, OTHER]


def test_binary_junk_with_nul_and_ff_is_its_own_frame_and_the_next_scan_arrives_intact(
    plug: Callable[[], ScannerPty], scanners: Make
) -> None:
    pty = plug()
    _, events = scanners(pty.path)
    events.wait_for(("state", ScannerState.CONNECTED))
    junk = b"\x00\xff\x00\xfe\x1b\x7f\xff"
    pty.write(junk + b"\r" + CODE + b"\r\n")
    events.wait_for(("frame", CODE))
    assert events.frames == [junk, CODE]


def test_a_flood_of_garbage_is_dropped_and_counted_and_a_good_scan_after_it_arrives(
    plug: Callable[[], ScannerPty], scanners: Make
) -> None:
    pty = plug()
    scanner, events = scanners(pty.path, max_frame_bytes=32)
    events.wait_for(("state", ScannerState.CONNECTED))
    garbage = bytes(byte for byte in range(256) if byte not in (0x0A, 0x0D))
    for _ in range(64):
        pty.write(garbage)
    pty.write(b"\r\n" + CODE + b"\r\n")
    events.wait_for(("frame", CODE))
    assert events.frames == [CODE]
    assert scanner.dropped_frames == 1


def test_idle_mode_ends_a_scan_at_a_pause_even_when_it_arrives_byte_by_byte(
    plug: Callable[[], ScannerPty], scanners: Make
) -> None:
    pty = plug()
    scanner, events = scanners(pty.path, frame_end="idle", idle_gap_ms=500)
    events.wait_for(("state", ScannerState.CONNECTED))
    for byte in CODE:
        send_and_wait_until_read(pty, scanner, bytes([byte]))
    events.wait_for(("frame", CODE))
    pty.write(OTHER)
    events.wait_for(("frame", OTHER))
    assert events.frames == [CODE, OTHER]


def test_a_double_fire_within_the_window_counts_once_and_a_rescan_after_it_counts_again(
    plug: Callable[[], ScannerPty], scanners: Make
) -> None:
    clock = FakeClock(100.0)
    pty = plug()
    _, events = scanners(pty.path, monotonic=clock, double_scan_window_ms=300)
    events.wait_for(("state", ScannerState.CONNECTED))

    pty.write(CODE + b"\r\n" + CODE + b"\r\n" + OTHER + b"\r\n")
    events.wait_for(("frame", OTHER))
    assert events.frames == [CODE, OTHER]

    clock.now_s = 100.2
    pty.write(OTHER + b"\r\n" + CODE + b"\r\n")
    events.wait_for(("frame", CODE))
    assert events.frames == [CODE, OTHER, CODE]

    clock.now_s = 101.0
    pty.write(CODE + b"\r\n")
    events.wait_for(("frame", CODE))
    assert events.frames == [CODE, OTHER, CODE, CODE]


def test_unplug_and_replug_lose_and_double_no_scan_and_log_only_the_failure_and_recovery(
    plug: Callable[[], ScannerPty],
    scanners: Make,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    link = tmp_path / "kiosk-scanner"
    first = plug()
    point(link, first.path)
    scanner, events = scanners(str(link), backoff_initial_s=0.05, backoff_max_s=0.2)
    events.wait_for(("state", ScannerState.CONNECTED))

    first.write(CODE + b"\r" + OTHER + b"\r\n")
    events.wait_for(("frame", OTHER))
    send_and_wait_until_read(first, scanner, b"40063")  # half a scan when the cable is pulled
    first.unplug()
    link.unlink()
    events.wait_for(("state", ScannerState.DISCONNECTED))

    # Let the backoff climb to its cap: several failed retries, none of them logged.
    eventually(lambda: scanner.retry_delay_s == 0.2)
    second = plug()
    point(link, second.path)
    events.wait_for(("state", ScannerState.CONNECTED))
    second.write(THIRD + b"\r\n")
    second.write(LAST + b"\r\n")
    events.wait_for(("frame", LAST))

    assert events.frames == [CODE, OTHER, THIRD, LAST]
    assert events.states == [
        ScannerState.CONNECTING,
        ScannerState.CONNECTED,
        ScannerState.DISCONNECTED,
        ScannerState.CONNECTED,
    ]
    records = [record for record in caplog.records if record.name == LOGGER]
    failures = [record for record in records if record.levelno >= logging.WARNING]
    recoveries = [record for record in records if "is back" in record.getMessage()]
    assert len(failures) == 1
    assert "connected -> disconnected" in failures[0].getMessage()
    assert len(recoveries) == 1
    assert "disconnected -> connected" in recoveries[0].getMessage()


def test_in_idle_mode_the_scan_pending_at_the_unplug_is_delivered_once_before_disconnected(
    plug: Callable[[], ScannerPty], scanners: Make, tmp_path: Path
) -> None:
    link = tmp_path / "kiosk-scanner"
    first = plug()
    point(link, first.path)
    # An idle gap far longer than the test: only the unplug can end these scans.
    scanner, events = scanners(str(link), frame_end="idle", idle_gap_ms=10_000)
    events.wait_for(("state", ScannerState.CONNECTED))
    send_and_wait_until_read(first, scanner, CODE)
    first.unplug()
    events.wait_for(("state", ScannerState.DISCONNECTED))

    second = plug()
    point(link, second.path)
    events.wait_for(("state", ScannerState.CONNECTED))
    send_and_wait_until_read(second, scanner, OTHER)
    second.unplug()
    events.wait_for(("state", ScannerState.DISCONNECTED))

    assert events.drain()[1:] == [
        ("state", ScannerState.CONNECTED),
        ("frame", CODE),
        ("state", ScannerState.DISCONNECTED),
        ("state", ScannerState.CONNECTED),
        ("frame", OTHER),
        ("state", ScannerState.DISCONNECTED),
    ]


def test_a_returning_path_is_opened_at_once_even_when_the_backoff_is_long(
    plug: Callable[[], ScannerPty], scanners: Make, tmp_path: Path
) -> None:
    link = tmp_path / "kiosk-scanner"
    # A 60 s backoff: connecting before it runs out can only come from watching the path.
    scanner, events = scanners(str(link), backoff_initial_s=60.0, backoff_max_s=60.0)
    events.wait_for(("state", ScannerState.DISCONNECTED))
    assert scanner.retry_delay_s == 60.0

    pty = plug()
    point(link, pty.path)
    events.wait_for(("state", ScannerState.CONNECTED), timeout_s=20.0)
    pty.write(CODE + b"\r\n")
    events.wait_for(("frame", CODE))
    assert events.states == [
        ScannerState.CONNECTING,
        ScannerState.DISCONNECTED,
        ScannerState.CONNECTED,
    ]


def test_the_heartbeat_turns_while_disconnected_and_stop_interrupts_the_backoff(
    scanners: Make, tmp_path: Path
) -> None:
    scanner, events = scanners(
        str(tmp_path / "no-scanner-here"), backoff_initial_s=60.0, backoff_max_s=60.0
    )
    events.wait_for(("state", ScannerState.DISCONNECTED))
    beat = scanner.heartbeat
    eventually(lambda: scanner.heartbeat > beat)

    # Were the 60 s wait not interruptible, the thread would outlive this join.
    scanner.stop(timeout_s=10.0)
    assert scanner.running is False
    assert scanner.state == ScannerState.STOPPED
    assert events.states[-1] == ScannerState.STOPPED


def test_a_path_that_vanishes_while_connected_counts_as_an_unplug(
    plug: Callable[[], ScannerPty], scanners: Make, tmp_path: Path
) -> None:
    link = tmp_path / "kiosk-scanner"
    pty = plug()
    point(link, pty.path)
    _, events = scanners(str(link))
    events.wait_for(("state", ScannerState.CONNECTED))
    link.unlink()
    events.wait_for(("state", ScannerState.DISCONNECTED))
    point(link, pty.path)
    events.wait_for(("state", ScannerState.CONNECTED))
    pty.write(CODE + b"\n")
    events.wait_for(("frame", CODE))
    assert events.frames == [CODE]


def test_the_port_is_opened_exclusively_and_a_second_reader_gets_it_once_it_is_free(
    plug: Callable[[], ScannerPty], scanners: Make
) -> None:
    pty = plug()
    first, first_events = scanners(pty.path)
    first_events.wait_for(("state", ScannerState.CONNECTED))
    second, second_events = scanners(pty.path)
    second_events.wait_for(("state", ScannerState.DISCONNECTED))

    first.stop(timeout_s=5.0)
    assert first.state == ScannerState.STOPPED
    second_events.wait_for(("state", ScannerState.CONNECTED))
    pty.write(CODE + b"\r")
    second_events.wait_for(("frame", CODE))
    assert second.state == ScannerState.CONNECTED
    assert first_events.frames == []


def test_a_failing_frame_callback_does_not_stop_the_reader(
    plug: Callable[[], ScannerPty],
) -> None:
    pty = plug()
    received: queue.Queue[bytes] = queue.Queue()

    def on_frame(frame: bytes) -> None:
        if frame == CODE:
            raise RuntimeError("the facade choked")
        received.put(frame)

    connected = threading.Event()

    def on_state(state: ScannerState) -> None:
        if state == ScannerState.CONNECTED:
            connected.set()

    scanner = SerialScanner(ScannerOptions(port=pty.path), on_frame=on_frame, on_state=on_state)
    scanner.start()
    try:
        assert connected.wait(timeout=10.0)
        pty.write(CODE + b"\r\n" + OTHER + b"\r\n")
        assert received.get(timeout=10.0) == OTHER
        assert scanner.running is True
    finally:
        scanner.stop(timeout_s=5.0)


def test_a_scanner_starts_once_and_stopping_an_unstarted_one_marks_it_stopped(
    tmp_path: Path,
) -> None:
    states: list[ScannerState] = []
    never_started = SerialScanner(
        ScannerOptions(port=str(tmp_path / "none")), on_frame=ignore, on_state=states.append
    )
    assert never_started.state == ScannerState.STOPPED
    never_started.stop()
    assert never_started.state == ScannerState.STOPPED
    assert never_started.running is False

    started = SerialScanner(
        ScannerOptions(port=str(tmp_path / "none")),
        on_frame=ignore,
        on_state=states.append,
        backoff_initial_s=60.0,
        backoff_max_s=60.0,
    )
    started.start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            started.start()
    finally:
        started.stop(timeout_s=5.0)
    assert states[0] == ScannerState.CONNECTING
    assert states[-1] == ScannerState.STOPPED
