"""SerialLink on real pseudo-terminals: frames in, bytes out, unplug and replug, backoff.

A device is a pty pair in raw mode: the test (or a small device thread) writes to and reads
from the master; the link opens the slave by path, or by a symlink in tmp_path standing in for
a udev symlink. Unplugging closes the master, which is what pyserial sees when a USB device
goes away. Besides the scanner's kind of traffic (frames in only), a line-protocol device that
answers each request line shows the link serving a device that must be asked, as a weighing
scale must. The backoff is checked with an injected clock and sleep, so no test waits it out.
"""

from __future__ import annotations

import logging
import os
import queue
import select
import threading
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.devices.frames import Framing
from kiosk.devices.serial_link import (
    LinkDown,
    LinkState,
    LinkTiming,
    SerialLine,
    SerialLink,
)

LOGGER = "kiosk.devices.serial_link"
WAIT_S = 10.0
"""A guard against hanging, not a timing assertion."""

FAST = LinkTiming(backoff_initial_s=0.05, backoff_max_s=0.2)
"""Short backoffs, so a replug in these tests is picked up at once."""


class DevicePty:
    """A pseudo-terminal standing in for a plugged-in serial device."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.plugged = True

    def write(self, data: bytes) -> None:
        """Send bytes as the device would."""
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view) :]

    def read_exactly(self, size: int) -> bytes:
        """What the link wrote to the device, ``size`` bytes of it."""
        data = b""
        deadline = time.monotonic() + WAIT_S
        while len(data) < size:
            ready, _, _ = select.select([self.master], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                raise AssertionError(f"the device got only {data!r}")
            data += os.read(self.master, size - len(data))
        return data

    def unplug(self) -> None:
        """Pull the cable: both ends of the pty go away."""
        if self.plugged:
            self.plugged = False
            os.close(self.master)
            os.close(self.slave)


class Heard:
    """A `LinkListener` that records what the link says, in order."""

    def __init__(self) -> None:
        self.queue: queue.Queue[tuple[str, object]] = queue.Queue()
        self.seen: list[tuple[str, object]] = []

    def on_frame(self, frame: bytes) -> None:
        self.queue.put(("frame", frame))

    def on_state(self, state: LinkState) -> None:
        self.queue.put(("state", state))

    def on_discard(self, reason: str) -> None:
        self.queue.put(("discard", reason))

    def wait_for(self, expected: tuple[str, object]) -> None:
        """Take events until ``expected`` arrives; fail if it does not within WAIT_S."""
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                event = self.queue.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                raise AssertionError(f"{expected} never came; saw {self.seen}") from None
            self.seen.append(event)
            if event == expected:
                return

    def of_kind(self, kind: str) -> list[object]:
        """Everything of one kind seen so far, including what is still queued."""
        while True:
            try:
                self.seen.append(self.queue.get_nowait())
            except queue.Empty:
                return [value for event_kind, value in self.seen if event_kind == kind]


class LineDevice:
    """A device speaking a line protocol: answers each request line with "<request> OK".

    A thread on the pty's master side, as the firmware of a scale answering "W" would be.
    """

    def __init__(self, pty: DevicePty) -> None:
        self.pty = pty
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self.pty.master], [], [], 0.02)
            if not ready:
                continue
            pending += os.read(self.pty.master, 64)
            while b"\r\n" in pending:
                request, pending = pending.split(b"\r\n", 1)
                self.requests.append(request)
                self.pty.write(request + b" OK\r\n")

    def close(self) -> None:
        """Stop answering (the pty stays as it is)."""
        self._stop.set()
        self._thread.join(WAIT_S)


class AskingDriver:
    """A device driver on the link that asks and waits for the answer (a scale's shape)."""

    def __init__(self, port: str) -> None:
        self.answers: queue.Queue[bytes] = queue.Queue()
        self.connected = threading.Event()
        self.link = SerialLink(
            SerialLine(port, baudrate=19200),
            self,
            framing=Framing(frame_end="line", max_frame_bytes=32),
            timing=FAST,
            name="asker",
        )

    def on_frame(self, frame: bytes) -> None:
        self.answers.put(frame)

    def on_state(self, state: LinkState) -> None:
        if state == LinkState.CONNECTED:
            self.connected.set()

    def on_discard(self, reason: str) -> None:
        """Nothing to do: a dropped answer shows as a missing one."""

    def ask(self, request: bytes) -> bytes:
        """Send one request line; return the answer line."""
        self.link.write(request + b"\r\n")
        return self.answers.get(timeout=WAIT_S)


class FakeTime:
    """An injected clock and sleep: sleeping moves the clock and records the wait."""

    def __init__(self, on_sleep: Callable[[list[float]], None]) -> None:
        self.now_s = 1000.0
        self.sleeps: list[float] = []
        self._on_sleep = on_sleep

    def clock(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now_s += seconds
        self._on_sleep(self.sleeps)


def eventually(condition: Callable[[], bool]) -> None:
    """Wait, polling every few ms, until ``condition()`` holds; fail after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        time.sleep(0.002)


def point(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` in one step, as udev does."""
    fresh = link.with_name(link.name + ".new")
    fresh.unlink(missing_ok=True)
    fresh.symlink_to(target)
    os.replace(fresh, link)


@pytest.fixture
def plug() -> Iterator[Callable[[], DevicePty]]:
    made: list[DevicePty] = []

    def make() -> DevicePty:
        made.append(DevicePty())
        return made[-1]

    yield make
    for pty in made:
        pty.unplug()


@pytest.fixture
def links() -> Iterator[Callable[..., tuple[SerialLink, Heard]]]:
    made: list[SerialLink] = []

    def make(
        port: str, *, framing: Framing | None = None, timing: LinkTiming = FAST
    ) -> tuple[SerialLink, Heard]:
        heard = Heard()
        link = SerialLink(SerialLine(port), heard, framing=framing, timing=timing)
        made.append(link)
        link.start()
        return link, heard

    yield make
    for link in made:
        link.stop(timeout_s=5.0)


Links = Callable[..., tuple[SerialLink, Heard]]


def test_frames_come_in_whole_and_written_bytes_reach_the_device(
    plug: Callable[[], DevicePty], links: Links
) -> None:
    pty = plug()
    link, heard = links(pty.path)
    heard.wait_for(("state", LinkState.CONNECTED))

    pty.write(b"ST,GS,  0.250kg\r\nST,GS,  0.255kg\r\n")
    heard.wait_for(("frame", b"ST,GS,  0.255kg"))
    link.write(b"W\r\n")

    assert heard.of_kind("frame") == [b"ST,GS,  0.250kg", b"ST,GS,  0.255kg"]
    assert pty.read_exactly(3) == b"W\r\n"
    eventually(lambda: link.bytes_read == 34)  # counted just after the frames are handed on


def test_idle_framing_is_chosen_by_the_options(plug: Callable[[], DevicePty], links: Links) -> None:
    pty = plug()
    _, heard = links(pty.path, framing=Framing(frame_end="idle", idle_gap_s=0.2))
    heard.wait_for(("state", LinkState.CONNECTED))
    pty.write(b"\x02 1.234\x03")
    heard.wait_for(("frame", b"\x02 1.234\x03"))
    assert heard.of_kind("frame") == [b"\x02 1.234\x03"]


def test_an_overlong_frame_is_dropped_and_the_listener_is_told(
    plug: Callable[[], DevicePty], links: Links
) -> None:
    pty = plug()
    link, heard = links(pty.path, framing=Framing(max_frame_bytes=8))
    heard.wait_for(("state", LinkState.CONNECTED))
    pty.write(b"far too long for eight\r\nshort\r\n")
    heard.wait_for(("frame", b"short"))
    assert heard.of_kind("frame") == [b"short"]
    assert heard.of_kind("discard") == ["overlong: more than 8 bytes, dropped"]
    assert link.dropped_frames == 1


def test_a_line_device_is_asked_and_answers_through_the_link(
    plug: Callable[[], DevicePty],
) -> None:
    pty = plug()
    device = LineDevice(pty)
    driver = AskingDriver(pty.path)
    driver.link.start()
    try:
        assert driver.connected.wait(WAIT_S)
        assert driver.ask(b"W") == b"W OK"
        assert driver.ask(b"TARE") == b"TARE OK"
        assert device.requests == [b"W", b"TARE"]
    finally:
        driver.link.stop(timeout_s=5.0)
        device.close()


def test_unplug_is_disconnected_logged_once_and_a_replug_reconnects(
    plug: Callable[[], DevicePty],
    links: Links,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    path = tmp_path / "kiosk-device"
    first = plug()
    point(path, first.path)
    link, heard = links(str(path))
    heard.wait_for(("state", LinkState.CONNECTED))

    first.unplug()
    path.unlink()
    heard.wait_for(("state", LinkState.DISCONNECTED))
    with pytest.raises(LinkDown, match="is not open"):
        link.write(b"W\r\n")
    eventually(lambda: link.retry_delay_s == FAST.backoff_max_s)  # several silent retries

    second = plug()
    point(path, second.path)
    heard.wait_for(("state", LinkState.CONNECTED))
    second.write(b"back\n")
    heard.wait_for(("frame", b"back"))

    assert heard.of_kind("state") == [
        LinkState.CONNECTING,
        LinkState.CONNECTED,
        LinkState.DISCONNECTED,
        LinkState.CONNECTED,
    ]
    records = [record for record in caplog.records if record.name == LOGGER]
    failures = [record.getMessage() for record in records if record.levelno >= logging.WARNING]
    recoveries = [record.getMessage() for record in records if "is back" in record.getMessage()]
    assert len(failures) == 1
    assert "serial: connected -> disconnected" in failures[0]
    assert recoveries == [f"serial: disconnected -> connected: {path} is back"]


def test_a_symlink_removed_while_connected_is_an_unplug_and_its_return_a_replug(
    plug: Callable[[], DevicePty], links: Links, tmp_path: Path
) -> None:
    path = tmp_path / "kiosk-device"
    pty = plug()
    point(path, pty.path)
    link, heard = links(str(path))
    heard.wait_for(("state", LinkState.CONNECTED))

    path.unlink()
    heard.wait_for(("state", LinkState.DISCONNECTED))
    assert link.last_error == f"{path} disappeared"
    point(path, pty.path)
    heard.wait_for(("state", LinkState.CONNECTED))
    link.write(b"hello\r\n")
    assert pty.read_exactly(7) == b"hello\r\n"


def test_the_backoff_doubles_from_half_a_second_to_five_and_only_the_first_failure_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    heard = Heard()

    def stop_after_seven(sleeps: list[float]) -> None:
        if len(sleeps) == 7:
            link.stop()  # from the link's own thread: the loop ends by itself

    fake = FakeTime(stop_after_seven)
    # A path poll longer than any delay, so each wait is one sleep of the whole delay.
    timing = LinkTiming(path_poll_s=60.0)
    link = SerialLink(
        SerialLine("/dev/kiosk-no-such-device"),
        heard,
        timing=timing,
        clock=fake.clock,
        sleep=fake.sleep,
    )
    link.start()
    heard.wait_for(("state", LinkState.STOPPED))

    assert fake.sleeps == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert link.retry_delay_s == 5.0
    assert link.heartbeat == 1000.0 + 17.5  # the injected clock, at the seventh attempt
    warnings = [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert heard.of_kind("state") == [
        LinkState.CONNECTING,
        LinkState.DISCONNECTED,
        LinkState.STOPPED,
    ]


def test_a_path_that_appears_is_opened_at_the_next_poll_whatever_the_backoff(
    plug: Callable[[], DevicePty], tmp_path: Path
) -> None:
    path = tmp_path / "kiosk-device"
    pty = plug()
    heard = Heard()

    def plug_in_at_the_third_poll(sleeps: list[float]) -> None:
        if len(sleeps) == 3:
            point(path, pty.path)

    fake = FakeTime(plug_in_at_the_third_poll)
    link = SerialLink(
        SerialLine(str(path)),
        heard,
        timing=LinkTiming(backoff_initial_s=60.0, backoff_max_s=60.0, path_poll_s=0.1),
        clock=fake.clock,
        sleep=fake.sleep,
    )
    link.start()
    try:
        heard.wait_for(("state", LinkState.CONNECTED))
    finally:
        link.stop(timeout_s=5.0)
    assert fake.sleeps == [0.1, 0.1, 0.1]
    assert link.retry_delay_s == 60.0


def test_a_device_that_never_existed_is_disconnected_and_stop_ends_the_wait(
    links: Links, tmp_path: Path
) -> None:
    missing = tmp_path / "never-plugged-in"
    link, heard = links(str(missing), timing=LinkTiming(backoff_initial_s=60.0, backoff_max_s=60.0))
    heard.wait_for(("state", LinkState.DISCONNECTED))
    assert str(missing) in link.last_error
    with pytest.raises(LinkDown):
        link.write(b"W\r\n")
    beat = link.heartbeat
    eventually(lambda: link.heartbeat > beat)  # the loop turns while the device is missing

    link.stop(timeout_s=10.0)  # were the 60 s wait not interruptible, the thread would outlive this
    assert link.running is False
    assert heard.of_kind("state")[-1] == LinkState.STOPPED


def test_a_link_starts_once_and_impossible_timings_are_refused(tmp_path: Path) -> None:
    link = SerialLink(SerialLine(str(tmp_path / "none")), Heard(), timing=LinkTiming(60.0, 60.0))
    link.start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            link.start()
    finally:
        link.stop(timeout_s=5.0)
    assert link.state == LinkState.STOPPED
    with pytest.raises(ValueError, match="backoff"):
        LinkTiming(backoff_initial_s=2.0, backoff_max_s=1.0)
    with pytest.raises(ValueError, match="frame_end"):
        Framing(frame_end="stx")
