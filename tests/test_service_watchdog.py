"""The watchdog pings systemd only while every worker loop of a real kiosk turns.

A real headless ``Kiosk`` (the demo shop on a real SQLite file, as in tests/test_app.py) and
a real notify socket. The watchdog's clock is injected where a stale heartbeat is needed, so
no test waits out the 60 s limit; the short real waits below are bounded by a guard (waiting
for a loop to turn), never asserted on.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from notify_support import NotifySocket
from sqlite_utils import Database

from kiosk.app import Kiosk
from kiosk.config import Secrets, SecretStr, Settings, demo_settings
from kiosk.config.settings import SerialPrinterSettings
from kiosk.devices.printer import SERIAL_WRITE_TIMEOUT_S, build_transport
from kiosk.devices.scanner import ScannerState
from kiosk.main_queue import MainQueue
from kiosk.service import MainLoopPings, Notifier, Watchdog, ping_period_s
from kiosk.service.watchdog import HEALTHY_STATUS
from kiosk.sim.demo_shop import prepare_demo
from kiosk.store.db import open_database

STALE_S = 60.0
"""The default ``[service] heartbeat_stale_s``."""

GUARD_S = 20.0
"""Seconds a test waits for a loop to turn before it fails (a guard, not a timing)."""


class SetClock:
    """The watchdog's monotonic clock, set by the test (seconds, ``time.monotonic``'s scale)."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition()`` holds; fail after `GUARD_S` seconds."""
    deadline = time.monotonic() + GUARD_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {GUARD_S} s")
        time.sleep(0.02)


def demo_shop(state: Path, *, backoffice_url: str = "") -> Settings:
    settings = demo_settings(state, backoffice_url=backoffice_url)
    db = open_database(Path(settings.state_dir) / "kiosk.db")
    prepare_demo(db, settings, now=datetime(2026, 11, 1, tzinfo=UTC), work_dir=state.parent)
    db.close()
    return settings


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[NotifySocket]:
    listener = NotifySocket(path=tmp_path / "notify")
    yield listener
    listener.close()


@pytest.fixture
def notifier(systemd: NotifySocket) -> Iterator[Notifier]:
    sender = Notifier(systemd.address)
    yield sender
    sender.close()


@pytest.fixture
def queue() -> MainQueue:
    return MainQueue()


@pytest.fixture
def kiosk(tmp_path: Path, queue: MainQueue) -> Iterator[Kiosk]:
    shop = Kiosk(demo_shop(tmp_path / "state"), post_to_main=queue.post, card_payments=False)
    shop.start()
    yield shop
    shop.close()


# ------------------------------------------------------------------ a real kiosk


def test_a_healthy_kiosk_gets_a_watchdog_ping_on_every_beat(
    kiosk: Kiosk, notifier: Notifier, systemd: NotifySocket
) -> None:
    watchdog = Watchdog(notifier, kiosk.heartbeats, stale_after_s=STALE_S)

    assert {"store", "printer"} <= set(kiosk.heartbeats())
    assert [watchdog.beat(), watchdog.beat(), watchdog.beat()] == [True, True, True]
    assert watchdog.check() == {}
    assert systemd.pending() == [["WATCHDOG=1"]] * 3


def test_a_stalled_store_loop_stops_the_pings_names_the_store_and_they_resume_once_released(
    tmp_path: Path, queue: MainQueue, notifier: Notifier, systemd: NotifySocket,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # No receipt desk: its loop waits for the store every second, so a stalled store stalls
    # it too (both would be named). The virtual scanner's loop never waits for the store.
    kiosk = Kiosk(demo_shop(tmp_path / "state"), post_to_main=queue.post, card_payments=False,
                  receipts=False)
    kiosk.start()
    try:
        kiosk.connect_scanner()
        stalled_loop_stops_the_pings(kiosk, notifier, systemd, caplog)
    finally:
        kiosk.close()


def stalled_loop_stops_the_pings(
    kiosk: Kiosk, notifier: Notifier, systemd: NotifySocket, caplog: pytest.LogCaptureFixture
) -> None:
    clock = SetClock()
    watchdog = Watchdog(notifier, kiosk.heartbeats, stale_after_s=STALE_S, clock=clock)
    assert watchdog.beat()
    assert systemd.pending() == [["WATCHDOG=1"]]
    assert set(kiosk.heartbeats()) == {"store", "scanner"}
    busy, release = threading.Event(), threading.Event()

    def stall(_db: Database) -> None:  # a job that never ends on its own: a stuck loop
        busy.set()
        release.wait(GUARD_S)

    job = kiosk.submit_to_store(stall)
    assert busy.wait(GUARD_S)
    stalled_at = kiosk.heartbeats()["store"]
    # The scanner's loop turns on; once it has turned after the stall, put the watchdog's
    # clock just past the limit for the store: every other heartbeat is younger than that.
    wait_until(lambda: kiosk.heartbeats()["scanner"] > stalled_at + 0.2, "the scanner loop turns")
    clock.now = stalled_at + STALE_S + 0.1

    with caplog.at_level(logging.INFO, logger="kiosk.service.watchdog"):
        assert watchdog.check().keys() == {"store"}
        assert [watchdog.beat(), watchdog.beat()] == [False, False]
        withheld = systemd.pending()

        release.set()
        job.result(GUARD_S)
        wait_until(lambda: kiosk.heartbeats()["store"] > stalled_at, "the store loop turns")
        clock.now = time.monotonic()
        assert watchdog.beat()

    assert ["WATCHDOG=1"] not in withheld
    assert withheld == [["STATUS=watchdog withheld: store silent 60 s"]] * 2
    assert systemd.pending() == [[f"STATUS={HEALTHY_STATUS}"], ["WATCHDOG=1"]]
    events = [getattr(record, "fields", {}) for record in caplog.records]
    assert [e["worker"] for e in events if e.get("event") == "watchdog_withheld"] == ["store"]
    assert [e["worker"] for e in events if e.get("event") == "watchdog_worker_fresh"] == [
        "store"
    ]
    assert [e["age_s"] for e in events if e.get("event") == "watchdog_withheld"] == [60.1]


def test_an_unplugged_scanner_keeps_its_loop_turning_and_the_pings_going(
    kiosk: Kiosk, queue: MainQueue, notifier: Notifier, systemd: NotifySocket, tmp_path: Path
) -> None:
    watchdog = Watchdog(notifier, kiosk.heartbeats, stale_after_s=STALE_S)

    kiosk.connect_scanner(str(tmp_path / "no-scanner-plugged-in"))
    queue.run_until(lambda: kiosk.scanner_state is ScannerState.DISCONNECTED, GUARD_S)
    unplugged_at = time.monotonic()
    # Retrying with backoff (0.5 s, 1 s...), the reader loop still turns while it waits.
    wait_until(lambda: kiosk.heartbeats()["scanner"] > unplugged_at + 1.5,
               "the scanner loop turns while the scanner is unplugged")

    assert watchdog.beat()
    assert watchdog.check() == {}
    assert systemd.pending() == [["WATCHDOG=1"]]
    queue.run_pending()
    assert kiosk.scanner_state is ScannerState.DISCONNECTED  # the loop turns; the device is gone


def test_an_offline_printer_and_an_unreachable_back_office_keep_their_loops_turning(
    tmp_path: Path, queue: MainQueue, notifier: Notifier, systemd: NotifySocket
) -> None:
    closed = socket.socket()  # bound, never listening: connections are refused
    closed.bind(("127.0.0.1", 0))
    backoffice = f"http://127.0.0.1:{closed.getsockname()[1]}"
    settings = demo_shop(tmp_path / "state", backoffice_url=backoffice)
    shop = Kiosk(settings, post_to_main=queue.post, card_payments=False,
                 secrets=Secrets(backoffice_token=SecretStr("token-of-the-test-kiosk")))
    try:
        shop.start()
        watchdog = Watchdog(notifier, shop.heartbeats, stale_after_s=STALE_S)
        printer, desk = shop.virtual_printer, shop.receipt_desk
        assert printer is not None and desk is not None
        printer.go_offline()

        assert desk.print_test_page().result(GUARD_S) == "offline"
        wait_until(lambda: getattr(shop.sync_status(), "last_error", None) is not None,
                   "the relay tries the back office")
        failed_at = time.monotonic()
        wait_until(lambda: min(shop.heartbeats().values()) > failed_at + 1.5,
                   "every loop turns after the failures")

        assert set(shop.heartbeats()) == {"store", "printer", "sync"}
        assert watchdog.beat()
        assert systemd.pending() == [["WATCHDOG=1"]]
        status = shop.sync_status()
        assert status is not None and "unreachable" in (status.last_error or "")
    finally:
        shop.close()
        closed.close()


def test_a_serial_printer_that_stops_reading_cannot_hold_its_loop_past_the_limit() -> None:
    # A jammed serial printer holds flow control and stops reading: the port is opened with a
    # write timeout shorter than the heartbeat limit, so the print loop gives up and turns.
    controller, printer_side = os.openpty()
    try:
        port = SerialPrinterSettings(port=os.ttyname(printer_side))
        transport = build_transport(port, timeout_s=2.0)
        transport.open()
        try:
            assert transport.device.write_timeout == SERIAL_WRITE_TIMEOUT_S
        finally:
            transport.close()
    finally:
        os.close(controller)
        os.close(printer_side)

    assert SERIAL_WRITE_TIMEOUT_S < STALE_S


def test_before_the_kiosk_starts_there_are_no_heartbeats_and_the_pings_go_on(
    tmp_path: Path, queue: MainQueue, notifier: Notifier, systemd: NotifySocket
) -> None:
    shop = Kiosk(demo_shop(tmp_path / "state"), post_to_main=queue.post, card_payments=False)
    watchdog = Watchdog(notifier, shop.heartbeats, stale_after_s=STALE_S)

    assert shop.heartbeats() == {}
    assert watchdog.beat()
    assert systemd.pending() == [["WATCHDOG=1"]]


# ------------------------------------------------------------------ the rules alone


def test_only_the_stale_workers_are_named_with_their_ages(notifier: Notifier) -> None:
    clock = SetClock()
    clock.now = 1000.0
    beats = {"store": 999.5, "sync": 925.0, "printer": 930.0}
    watchdog = Watchdog(notifier, lambda: beats, stale_after_s=60, clock=clock)

    assert watchdog.check() == {"printer": 70.0, "sync": 75.0}


def test_each_stale_period_is_logged_once_per_worker_and_status_names_them_all(
    notifier: Notifier, systemd: NotifySocket, caplog: pytest.LogCaptureFixture
) -> None:
    clock = SetClock()
    clock.now = 1000.0
    beats = {"store": 1000.0, "sync": 930.0}
    watchdog = Watchdog(notifier, lambda: beats, stale_after_s=60, clock=clock)

    with caplog.at_level(logging.INFO, logger="kiosk.service.watchdog"):
        assert not watchdog.beat()
        clock.now = 1005.0
        assert not watchdog.beat()  # the same period: no second log line
        beats["store"] = 940.0
        assert not watchdog.beat()  # the store joins: logged once, the sync not again
        beats["sync"] = beats["store"] = 1005.0
        assert watchdog.beat()
        beats["sync"] = 940.0
        clock.now = 1070.0
        beats["store"] = 1070.0
        assert not watchdog.beat()  # a new stale period of the sync

    withheld = [getattr(r, "fields", {}) for r in caplog.records
                if getattr(r, "fields", {}).get("event") == "watchdog_withheld"]
    assert [(f["worker"], f["age_s"]) for f in withheld] == [
        ("sync", 70.0), ("store", 65.0), ("sync", 130.0)
    ]
    assert watchdog.withheld_for == {"sync"}
    assert systemd.pending() == [
        ["STATUS=watchdog withheld: sync silent 70 s"],
        ["STATUS=watchdog withheld: sync silent 75 s"],
        ["STATUS=watchdog withheld: store silent 65 s, sync silent 75 s"],
        [f"STATUS={HEALTHY_STATUS}"],
        ["WATCHDOG=1"],
        ["STATUS=watchdog withheld: sync silent 130 s"],
    ]


def test_outside_systemd_a_fresh_beat_still_counts_as_a_ping() -> None:
    watchdog = Watchdog(Notifier(None), lambda: {"store": time.monotonic()}, stale_after_s=60)

    assert watchdog.beat()


def test_the_pings_come_every_half_of_watchdog_sec() -> None:
    assert ping_period_s({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert ping_period_s({}) is None


def test_the_console_pings_only_when_its_main_loop_runs_the_beat(
    queue: MainQueue, notifier: Notifier, systemd: NotifySocket
) -> None:
    watchdog = Watchdog(notifier, lambda: {"store": time.monotonic()}, stale_after_s=60)
    posted: list[Callable[[], None]] = []
    handed = threading.Event()

    def post(job: Callable[[], None]) -> None:
        posted.append(job)
        queue.post(job)
        handed.set()

    pings = MainLoopPings(watchdog, post, period_s=60)
    pings.start()
    try:
        assert handed.wait(GUARD_S)
        assert systemd.pending() == []  # posted, but the main loop has not run it yet
        assert queue.run_pending() == 1
        assert systemd.pending() == [["WATCHDOG=1"]]
    finally:
        pings.stop()
    assert len(posted) == 1
