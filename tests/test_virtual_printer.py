"""The virtual printer: jobs over real TCP, inline status answers, text and PNG, faults."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

from escpos.printer import Dummy, Network
from PIL import Image

from kiosk.sim.virtual_printer import VirtualPrinter, render_text


def _started(tmp_path: Path) -> VirtualPrinter:
    printer = VirtualPrinter(tmp_path / "printed")
    printer.start()
    return printer


def test_a_job_sent_with_python_escpos_is_saved_whole_with_text_and_png(tmp_path: Path) -> None:
    virtual = _started(tmp_path)
    try:
        dummy = Dummy()
        dummy.set(bold=True)
        dummy.text("Corner Shop\n")
        dummy.text("Milk 1l     1.20\n")
        dummy.cut()
        raw = dummy.output
        network = Network(*virtual.address, timeout=5)
        network.open()
        network._raw(raw)
        network.close()

        (job,) = virtual.wait_for_jobs(1, timeout_s=5)
    finally:
        virtual.stop()
    assert job.raw == raw
    assert not job.partial
    assert "Corner Shop\nMilk 1l     1.20\n" in job.text
    assert (tmp_path / "printed" / "1.bin").read_bytes() == raw
    assert "Corner Shop" in (tmp_path / "printed" / "1.txt").read_text()
    assert Image.open(job.png).size[1] > 40


def test_status_requests_are_answered_and_not_printed(tmp_path: Path) -> None:
    virtual = _started(tmp_path)
    try:
        network = Network(*virtual.address, timeout=5)
        network.open()
        assert network.is_online()
        assert network.paper_status() == 2
        network._raw(b"hello\n")
        assert network.is_online()
        network.close()
        (job,) = virtual.wait_for_jobs(1, timeout_s=5)
    finally:
        virtual.stop()
    assert job.raw == b"hello\n"


def test_paper_out_is_reported_the_way_python_escpos_reads_it(tmp_path: Path) -> None:
    virtual = _started(tmp_path)
    virtual.paper_out()
    try:
        network = Network(*virtual.address, timeout=5)
        network.open()
        assert network.paper_status() == 0
        assert not network.is_online()
        network._raw(b"lost\n")
        network.close()
        with socket.create_connection(virtual.address, timeout=5) as probe:
            probe.sendall(b"\x10\x04\x04")
            assert probe.recv(1) == b"\x72"
    finally:
        virtual.stop()
    assert virtual.jobs == []


def test_an_offline_printer_answers_with_the_offline_bit_and_prints_nothing(
    tmp_path: Path,
) -> None:
    virtual = _started(tmp_path)
    virtual.go_offline()
    try:
        network = Network(*virtual.address, timeout=5)
        network.open()
        assert not network.is_online()
        network._raw(b"nothing\n")
        network.close()
        virtual.come_online()
        network.open()
        assert network.is_online()
        network._raw(b"something\n")
        network.close()
        jobs = virtual.wait_for_jobs(1, timeout_s=5)
    finally:
        virtual.stop()
    assert [job.raw for job in jobs] == [b"something\n"]


def test_the_text_rendering_drops_images_and_qr_data_and_follows_the_code_page() -> None:
    dummy = Dummy()
    dummy._raw(b"\x1bt\x13")  # ESC t 19: CP858
    dummy._raw("Total 5,00 €\n".encode("cp858"))
    dummy.qr("https://shop.example/r/ABC", native=True)
    dummy._raw(b"\x1dv0\x00\x01\x00\x02\x00\xff\x0a")  # 1x2 raster image holding a LF byte
    dummy._raw(b"\x1bt\x00")  # ESC t 0: CP437
    dummy._raw("Grüße\n".encode("cp437"))
    dummy.barcode("4006381333931", "EAN13")

    text = render_text(dummy.output)

    assert text.startswith("Total 5,00 €\n")
    assert "shop.example" not in text
    assert "Grüße\n" in text
    assert "4006381333931" not in text.replace("Grüße", "")


def test_a_printer_dying_mid_job_saves_the_cut_off_part_as_partial(tmp_path: Path) -> None:
    virtual = _started(tmp_path)
    virtual.die_mid_job(after_bytes=10)
    try:
        with (
            socket.create_connection(virtual.address, timeout=5) as client,
            contextlib.suppress(OSError),
        ):
            client.sendall(b"0123456789abcdefghij\n")
        (job,) = virtual.wait_for_jobs(1, timeout_s=5)
    finally:
        virtual.stop()
    assert job.partial
    assert job.raw == b"0123456789"


def test_a_printer_printing_all_day_keeps_only_its_newest_jobs_in_memory_and_on_disk(
    tmp_path: Path,
) -> None:
    virtual = VirtualPrinter(tmp_path / "printed", kept=3)
    virtual.start()
    try:
        for number in range(1, 8):
            with socket.create_connection(virtual.address, timeout=5) as client:
                client.sendall(f"receipt {number}\n".encode())
            virtual.wait_for_jobs(number, timeout_s=5)
    finally:
        virtual.stop()
    assert virtual.printed == 7
    assert [job.number for job in virtual.jobs] == [5, 6, 7]
    assert [job.raw for job in virtual.jobs] == [b"receipt 5\n", b"receipt 6\n", b"receipt 7\n"]
    files = sorted(path.name for path in (tmp_path / "printed").iterdir())
    assert files == [f"{number}.{kind}" for number in (5, 6, 7) for kind in ("bin", "png", "txt")]
