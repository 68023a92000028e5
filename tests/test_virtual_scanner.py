"""The virtual scanner read through real pyserial, the way the kiosk's driver reads it."""

from __future__ import annotations

import logging
import os
import select
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from kiosk.sim.virtual_scanner import VirtualScanner, frame_parts, garbage_bytes

EAN = "4006381333931"


@pytest.fixture
def scanner(tmp_path: Path) -> Iterator[VirtualScanner]:
    with VirtualScanner(tmp_path / "kiosk-scanner") as virtual:
        yield virtual


@pytest.fixture
def reader(scanner: VirtualScanner) -> Iterator[serial.Serial]:
    port = serial.Serial(scanner.path, timeout=1)
    yield port
    port.close()


def read_exactly(port: serial.Serial, size: int) -> bytes:
    """Read ``size`` bytes, however the pty hands them over (up to the port's timeout each)."""
    data = b""
    while len(data) < size:
        chunk = port.read(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def read_fails_or_is_empty(port: serial.Serial) -> bool:
    try:
        return port.read(1) == b""
    except (serial.SerialException, OSError):
        return True


def test_a_scan_arrives_as_the_code_followed_by_a_carriage_return(
    scanner: VirtualScanner, reader: serial.Serial
) -> None:
    scanner.scan(EAN)

    assert reader.read_until(b"\r") == b"4006381333931\r"


def test_scans_arrive_in_order_one_frame_each(
    scanner: VirtualScanner, reader: serial.Serial
) -> None:
    for code in ("96385074", b"5012345678900", "036000291452"):
        scanner.scan(code)

    frames = [reader.read_until(b"\r") for _ in range(3)]

    assert frames == [b"96385074\r", b"5012345678900\r", b"036000291452\r"]


def test_a_port_opened_without_configuration_still_sees_cr_not_lf(
    scanner: VirtualScanner,
) -> None:
    fd = os.open(scanner.path, os.O_RDONLY | os.O_NOCTTY)
    try:
        scanner.scan(EAN)
        received = b""
        while not received.endswith(b"\r"):
            ready, _, _ = select.select([fd], [], [], 1.0)
            assert ready, f"no complete frame, got {received!r}"
            received += os.read(fd, 64)
    finally:
        os.close(fd)

    assert received == b"4006381333931\r"


def test_a_configured_terminator_ends_each_frame(tmp_path: Path) -> None:
    with VirtualScanner(tmp_path / "scanner", terminator=b"\r\n") as scanner:
        port = serial.Serial(scanner.path, timeout=1)
        try:
            scanner.scan(EAN)
            assert port.read_until(b"\n") == b"4006381333931\r\n"
        finally:
            port.close()


def test_write_raw_sends_bytes_unchanged(scanner: VirtualScanner, reader: serial.Serial) -> None:
    scanner.write_raw(b"]E04006381333931\n")

    assert reader.read_until(b"\n") == b"]E04006381333931\n"


def test_garbage_arrives_as_bytes_without_a_carriage_return(
    scanner: VirtualScanner, reader: serial.Serial
) -> None:
    scanner.send_garbage(64, seed=7)

    received = read_exactly(reader, 64)

    assert received == garbage_bytes(64, seed=7)
    assert b"\r" not in received
    assert b"\n" not in received


def test_garbage_followed_by_a_scan_ends_at_that_scans_carriage_return(
    scanner: VirtualScanner, reader: serial.Serial
) -> None:
    scanner.send_garbage(32, seed=1)
    scanner.scan(EAN)

    assert reader.read_until(b"\r") == garbage_bytes(32, seed=1) + b"4006381333931\r"


def test_garbage_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    assert garbage_bytes(256, seed=3) == garbage_bytes(256, seed=3)
    assert garbage_bytes(256, seed=3) != garbage_bytes(256, seed=4)
    assert len(garbage_bytes(0)) == 0


def test_garbage_never_contains_any_byte_of_a_custom_terminator() -> None:
    noise = garbage_bytes(4096, seed=11, terminator=b"\x03")

    assert not set(noise) & {0x03, 0x0D, 0x0A}


def test_a_split_frame_arrives_whole_after_all_its_parts(
    scanner: VirtualScanner, reader: serial.Serial
) -> None:
    scanner.split_scan(EAN, parts=4, pause_s=0.002)

    assert reader.read_until(b"\r") == b"4006381333931\r"


def test_a_frame_is_cut_into_the_asked_number_of_non_empty_parts() -> None:
    frame = b"4006381333931\r"

    pieces = frame_parts(frame, 4)

    assert len(pieces) == 4
    assert all(pieces)
    assert b"".join(pieces) == frame
    assert frame_parts(b"12\r", 10) == [b"1", b"2", b"\r"]


def test_a_frame_cannot_be_cut_into_zero_parts() -> None:
    with pytest.raises(ValueError, match="at least 1 part"):
        frame_parts(b"1\r", 0)


def test_a_silent_scanner_swallows_scans_until_it_resumes(
    scanner: VirtualScanner, reader: serial.Serial
) -> None:
    scanner.go_silent()
    scanner.scan("96385074")
    scanner.write_raw(b"lost\r")
    scanner.send_garbage(16)
    scanner.resume()
    scanner.scan(EAN)

    assert reader.read_until(b"\r") == b"4006381333931\r"
    assert scanner.silent is False


def test_unplugging_makes_the_readers_read_fail_and_removes_the_link(
    scanner: VirtualScanner, reader: serial.Serial, tmp_path: Path
) -> None:
    scanner.unplug()

    assert read_fails_or_is_empty(reader)
    assert not os.path.lexists(tmp_path / "kiosk-scanner")
    assert scanner.plugged is False


def test_scanning_while_unplugged_sends_nothing_and_does_not_raise(
    scanner: VirtualScanner,
) -> None:
    scanner.unplug()
    scanner.scan(EAN)
    scanner.split_scan(EAN)
    scanner.send_garbage()

    assert scanner.plugged is False


def test_replugging_keeps_the_path_and_a_fresh_port_reads_new_scans(
    scanner: VirtualScanner, tmp_path: Path
) -> None:
    path_before = scanner.path
    scanner.unplug()
    scanner.replug()

    assert scanner.plugged is True
    assert scanner.path == path_before == str(tmp_path / "kiosk-scanner")
    assert os.path.islink(scanner.path)
    port = serial.Serial(scanner.path, timeout=1)
    try:
        scanner.scan(EAN)
        assert port.read_until(b"\r") == b"4006381333931\r"
    finally:
        port.close()


def test_a_port_opened_before_the_unplug_stays_dead_after_the_replug(
    scanner: VirtualScanner, reader: serial.Serial
) -> None:
    scanner.unplug()
    scanner.replug()
    scanner.scan(EAN)

    assert read_fails_or_is_empty(reader)


def test_the_pty_survives_the_driver_closing_and_reopening_the_port(
    scanner: VirtualScanner,
) -> None:
    first = serial.Serial(scanner.path, timeout=1)
    first.close()
    scanner.scan("96385074")  # nobody has the port open: pyserial flushes it on open

    second = serial.Serial(scanner.path, timeout=1)
    try:
        scanner.scan(EAN)
        assert second.read_until(b"\r") == b"4006381333931\r"
    finally:
        second.close()


def test_a_scanner_nobody_reads_drops_what_does_not_fit_without_blocking(
    scanner: VirtualScanner, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="kiosk.sim.virtual_scanner")

    scanner.write_raw(b"x" * (1 << 20))
    scanner.scan(EAN)

    assert scanner.plugged is True
    assert any("buffer is full" in record.getMessage() for record in caplog.records)


def test_after_a_full_buffer_a_port_opened_later_reads_new_scans(
    scanner: VirtualScanner,
) -> None:
    scanner.write_raw(b"x" * (1 << 20))
    port = serial.Serial(scanner.path, timeout=1)
    try:
        scanner.scan(EAN)
        assert port.read_until(b"\r") == b"4006381333931\r"
    finally:
        port.close()


def test_another_program_writing_to_the_path_scans_even_while_the_driver_holds_it_exclusively(
    scanner: VirtualScanner,
) -> None:
    port = serial.Serial(scanner.path, timeout=1, exclusive=True)
    try:
        subprocess.run(
            ["sh", "-c", 'printf "4006381333931\\r" > "$1"', "sh", scanner.path],
            check=True,
            timeout=10,
        )
        assert port.read_until(b"\r") == b"4006381333931\r"
    finally:
        port.close()


def test_without_relay_what_others_write_is_not_scanned(tmp_path: Path) -> None:
    with VirtualScanner(tmp_path / "scanner", relay_writes=False) as scanner:
        port = serial.Serial(scanner.path, timeout=1)
        try:
            port.write(b"\x16T\r")
            port.flush()
            scanner.scan(EAN)
            assert port.read_until(b"\r") == b"4006381333931\r"
        finally:
            port.close()


def test_the_path_to_write_frames_to_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kiosk.sim.virtual_scanner")
    link = tmp_path / "kiosk-scanner"

    VirtualScanner(link).close()  # plugged in once: the path is logged

    messages = [record.getMessage() for record in caplog.records]
    assert any("write frames to" in message and str(link) in message for message in messages)


def test_without_a_link_the_path_is_the_pty_itself(tmp_path: Path) -> None:
    with VirtualScanner() as scanner:
        assert scanner.path.startswith("/dev/")
        port = serial.Serial(scanner.path, timeout=1)
        try:
            scanner.scan(EAN)
            assert port.read_until(b"\r") == b"4006381333931\r"
        finally:
            port.close()


def test_a_stale_link_from_an_earlier_run_is_replaced(tmp_path: Path) -> None:
    link = tmp_path / "kiosk-scanner"
    link.symlink_to(tmp_path / "gone")

    with VirtualScanner(link) as scanner:
        assert os.readlink(link).startswith("/dev/")
        assert scanner.plugged is True


def test_a_real_file_at_the_link_path_is_never_replaced(tmp_path: Path) -> None:
    existing = tmp_path / "kiosk-scanner"
    existing.write_text("not a scanner")

    with pytest.raises(FileExistsError):
        VirtualScanner(existing)

    assert existing.read_text() == "not a scanner"


def test_close_is_idempotent_and_removes_the_link(tmp_path: Path) -> None:
    link = tmp_path / "kiosk-scanner"
    scanner = VirtualScanner(link)

    scanner.close()
    scanner.close()

    assert scanner.plugged is False
    assert not os.path.lexists(link)


def test_a_closed_scanner_cannot_be_replugged(tmp_path: Path) -> None:
    scanner = VirtualScanner(tmp_path / "kiosk-scanner")
    scanner.close()

    with pytest.raises(RuntimeError, match="closed"):
        scanner.replug()


def test_unplug_and_replug_twice_in_a_row_are_harmless(scanner: VirtualScanner) -> None:
    scanner.replug()
    scanner.unplug()
    scanner.unplug()
    scanner.replug()

    assert scanner.plugged is True


def test_an_empty_terminator_is_refused() -> None:
    with pytest.raises(ValueError, match="terminator"):
        VirtualScanner(terminator=b"")


def test_unplugging_and_replugging_many_times_leaks_no_file_descriptors(tmp_path: Path) -> None:
    def open_descriptors() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = open_descriptors()
    with VirtualScanner(tmp_path / "kiosk-scanner") as scanner:
        for _ in range(50):
            scanner.unplug()
            scanner.replug()

    assert open_descriptors() == before
