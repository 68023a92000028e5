"""``kiosk run`` under a notify socket: READY=1 after the first frame, then the watchdog pings,
STOPPING=1 on SIGTERM; the console front end says READY=1 too.

Real processes under the test display (the suite runs in ``xvfb-run``), with Stripe down: the
configured API address is a loopback port that refuses connections, and the secret key and
reader are set, so the payment side really tries (and fails) while the kiosk starts. A real
AF_UNIX datagram socket stands in for systemd's notify socket.

The order of events is read causally, not timed: the process writes "The kiosk is on screen"
to its stdout before it sends READY=1, so when READY=1 is read, the line is already in the
pipe and a read that does not wait finds it there.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_support import (
    BASE_CONFIG,
    SUBPROCESS_TIMEOUT_S,
    Shop,
    clean_environment,
    import_sample,
    kiosk_executable,
    write_config,
)
from notify_support import NotifySocket, has

ON_SCREEN = "The kiosk is on screen"
WATCHDOG_USEC = 2_000_000
"""WatchdogSec=2 for the test: a ping every second."""


class ServiceRun:
    """A ``kiosk`` process, its output and the datagrams it sent, read in one loop."""

    def __init__(self, args: list[str], env: dict[str, str], systemd: NotifySocket,
                 stdin: int | None = subprocess.DEVNULL) -> None:
        self.systemd = systemd
        self.process = subprocess.Popen(
            [kiosk_executable(), *args], stdin=stdin, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=env,
        )
        assert self.process.stdout is not None
        self._stdout = self.process.stdout.fileno()
        os.set_blocking(self._stdout, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._stdout, selectors.EVENT_READ)
        self._selector.register(systemd.socket, selectors.EVENT_READ)
        self.output = bytearray()
        self.datagrams: list[list[str]] = []
        self.output_at_datagram: list[str] = []
        """The output read by the time each datagram was read (same index)."""

    def read_output(self) -> None:
        """Everything the process has written so far (never waits)."""
        while True:
            try:
                chunk = os.read(self._stdout, 65536)
            except BlockingIOError:
                return
            if not chunk:
                self._selector.unregister(self._stdout)
                return
            self.output.extend(chunk)

    def until(self, wanted: Callable[[list[str]], bool]) -> list[str]:
        """Read output and datagrams until a datagram satisfies ``wanted``; return it. Fails
        after ``SUBPROCESS_TIMEOUT_S`` (a guard against hanging, not a timing)."""
        deadline = time.monotonic() + SUBPROCESS_TIMEOUT_S
        while (left := deadline - time.monotonic()) > 0:
            for key, _ in self._selector.select(timeout=min(left, 1.0)):
                if key.fileobj == self._stdout:
                    self.read_output()
                    continue
                lines = self.systemd.receive(timeout_s=0)
                if lines is None:
                    continue
                self.read_output()  # what was written before this datagram was sent
                self.datagrams.append(lines)
                self.output_at_datagram.append(self.text)
                if wanted(lines):
                    return lines
            if self.process.poll() is not None and not self._selector.get_map():
                break
        raise AssertionError(f"no such datagram; got {self.datagrams}; output:\n{self.text}")

    @property
    def text(self) -> str:
        """The output so far."""
        return self.output.decode(errors="replace")

    def stop(self) -> int:
        """SIGTERM, and the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=SUBPROCESS_TIMEOUT_S)

    def close(self) -> None:
        """Make sure the process is gone."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=SUBPROCESS_TIMEOUT_S)
        self._selector.close()


@pytest.fixture
def stripe_down() -> Iterator[int]:
    """A loopback port that refuses connections (bound, never listening): Stripe is down."""
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))
    yield refused.getsockname()[1]
    refused.close()


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[NotifySocket]:
    listener = NotifySocket(path=tmp_path / "notify")
    yield listener
    listener.close()


def shop_with_stripe_down(tmp_path: Path, port: int) -> Shop:
    text = BASE_CONFIG.replace(
        'api_base = "embedded"',
        f'api_base = "http://127.0.0.1:{port}"\nreader_id = "tmr_StripeIsDownForThisTest"',
    )
    assert text != BASE_CONFIG
    shop = write_config(tmp_path, text)
    import_sample(shop)
    return shop


def service_environment(home: Path, systemd: NotifySocket) -> dict[str, str]:
    return clean_environment(home, {
        "SDL_AUDIODRIVER": "dummy",
        "NOTIFY_SOCKET": systemd.address,
        "WATCHDOG_USEC": str(WATCHDOG_USEC),
        "KIOSK_STRIPE_API_KEY": "sk_test_stripe_is_down_for_this_test",
    })


def test_kiosk_run_says_ready_after_its_first_frame_with_stripe_down_then_pings_and_stops(
    tmp_path: Path, stripe_down: int, systemd: NotifySocket
) -> None:
    shop = shop_with_stripe_down(tmp_path, stripe_down)
    run = ServiceRun(["run", "--config", str(shop.config)],
                     service_environment(tmp_path, systemd), systemd)
    try:
        ready = run.until(has("READY=1"))
        written_before_ready = run.output_at_datagram[-1]
        pings = [run.until(has("WATCHDOG=1")) for _ in range(2)]
        code = run.stop()
        stopping = run.until(has("STOPPING=1"))
    finally:
        run.close()

    assert f"{ON_SCREEN} (attract)." in written_before_ready, written_before_ready
    assert ready == ["READY=1", "STATUS=showing attract"]
    assert sum(has("READY=1")(datagram) for datagram in run.datagrams) == 1
    assert pings == [["WATCHDOG=1"]] * 2
    assert stopping[0] == "STOPPING=1"
    assert code == 0, run.text
    assert "Traceback" not in run.text


def test_kiosk_run_console_says_ready_once_its_front_end_is_up_and_stopping_at_the_end(
    tmp_path: Path, stripe_down: int, systemd: NotifySocket
) -> None:
    shop = shop_with_stripe_down(tmp_path, stripe_down)
    run = ServiceRun(["run", "--console", "--config", str(shop.config)],
                     service_environment(tmp_path, systemd), systemd, stdin=subprocess.PIPE)
    try:
        ready = run.until(has("READY=1"))
        written_before_ready = run.output_at_datagram[-1]
        ping = run.until(has("WATCHDOG=1"))
        assert run.process.stdin is not None
        run.process.stdin.close()  # end of input: the console front end quits
        stopping = run.until(has("STOPPING=1"))
        code = run.process.wait(timeout=SUBPROCESS_TIMEOUT_S)
    finally:
        run.close()

    assert ready == ["READY=1", "STATUS=console front end up"]
    assert "Virtual scanner on" in written_before_ready
    assert ping == ["WATCHDOG=1"]
    assert stopping[0] == "STOPPING=1"
    assert code == 0, run.text
