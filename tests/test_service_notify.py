"""sd_notify without libsystemd: datagrams on a real notify socket, and the watchdog interval."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from notify_support import NotifySocket

from kiosk.service.notify import Notifier, socket_address, watchdog_interval_s


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[NotifySocket]:
    listener = NotifySocket(path=tmp_path / "notify")
    yield listener
    listener.close()


def test_ready_watchdog_status_and_stopping_arrive_as_one_datagram_each(
    systemd: NotifySocket,
) -> None:
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": systemd.address})

    assert notifier.enabled
    assert notifier.ready(status="showing attract")
    assert notifier.watchdog()
    assert notifier.status("watchdog withheld: sync silent 75 s")
    assert notifier.stopping()

    assert systemd.pending() == [
        ["READY=1", "STATUS=showing attract"],
        ["WATCHDOG=1"],
        ["STATUS=watchdog withheld: sync silent 75 s"],
        ["STOPPING=1"],
    ]
    notifier.close()


def test_a_status_is_sent_on_one_line_even_when_given_several(systemd: NotifySocket) -> None:
    notifier = Notifier(systemd.address)

    notifier.stopping(status="stopping:\nfinishing   writes")

    assert systemd.pending() == [["STOPPING=1", "STATUS=stopping: finishing writes"]]
    notifier.close()


def test_extend_timeout_asks_for_more_microseconds(systemd: NotifySocket) -> None:
    notifier = Notifier(systemd.address)

    notifier.extend_timeout(45_000_000)

    assert systemd.pending() == [["EXTEND_TIMEOUT_USEC=45000000"]]
    with pytest.raises(ValueError):
        notifier.extend_timeout(0)
    notifier.close()


def test_an_abstract_namespace_address_reaches_its_socket() -> None:
    name = f"kiosk-test-{uuid.uuid4().hex}"
    listener = NotifySocket(abstract_name=name)
    try:
        notifier = Notifier.from_environment({"NOTIFY_SOCKET": f"@{name}"})

        assert socket_address(f"@{name}") == b"\0" + name.encode()
        assert notifier.ready()
        assert listener.pending() == [["READY=1"]]
        notifier.close()
    finally:
        listener.close()


def test_without_a_notify_socket_every_call_does_nothing() -> None:
    notifier = Notifier.from_environment({})

    assert not notifier.enabled
    assert [notifier.ready("x"), notifier.watchdog(), notifier.status("x"),
            notifier.stopping(), notifier.extend_timeout(1)] == [False] * 5
    assert not Notifier("").enabled


def test_a_socket_nobody_listens_on_fails_quietly_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier(str(tmp_path / "gone"))

    with caplog.at_level(logging.DEBUG, logger="kiosk.service.notify"):
        sent = [notifier.ready(), notifier.watchdog(), notifier.watchdog()]

    assert sent == [False, False, False]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "READY=1" in warnings[0].getMessage()
    assert getattr(warnings[0], "fields", {})["event"] == "notify_failed"
    notifier.close()


def test_a_notifier_sends_again_once_the_socket_is_back(tmp_path: Path) -> None:
    notifier = Notifier(str(tmp_path / "notify"))
    assert not notifier.watchdog()  # systemd's socket is not there (yet)

    listener = NotifySocket(path=tmp_path / "notify")
    try:
        assert notifier.watchdog()
        assert listener.pending() == [["WATCHDOG=1"]]
    finally:
        listener.close()
        notifier.close()


def test_the_watchdog_interval_comes_from_watchdog_usec_in_seconds() -> None:
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) \
        == 30.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "500000", "WATCHDOG_PID": "4242"}, pid=4242) \
        == 0.5


def test_a_watchdog_meant_for_another_process_is_not_ours() -> None:
    other = str(os.getpid() + 1)

    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": other}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "main"}) is None


@pytest.mark.parametrize("value", ["", "0", "-5", "soon", "1.5"])
def test_no_or_a_meaningless_watchdog_usec_means_no_watchdog(value: str) -> None:
    assert watchdog_interval_s({"WATCHDOG_USEC": value}) is None
    assert watchdog_interval_s({}) is None
