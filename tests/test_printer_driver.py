"""The receipt printer driver against the virtual printer, a file, a pty and a USB stub."""

from __future__ import annotations

import os
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest
from escpos.printer import Usb

from kiosk.config.settings import (
    FilePrinterSettings,
    NoPrinterSettings,
    SerialPrinterSettings,
    UsbPrinterSettings,
    VirtualPrinterSettings,
)
from kiosk.devices.printer import ReceiptPrinter, build_transport, open_printer
from kiosk.devices.printer_status import PrinterError, PrinterStatus
from kiosk.sim.virtual_printer import VirtualPrinter

RECEIPT = b"\x1b@Corner Shop\nBread   2.10\n" + b"x" * 3000 + b"\n\x1dVA\x00"


@pytest.fixture
def virtual(tmp_path: Path) -> Iterator[VirtualPrinter]:
    printer = VirtualPrinter(tmp_path / "printed")
    printer.start()
    yield printer
    printer.stop()


def _printer(virtual: VirtualPrinter) -> ReceiptPrinter:
    printer = open_printer(VirtualPrinterSettings(), virtual_address=virtual.address)
    assert printer is not None
    return printer


def test_a_job_arrives_whole_and_the_printer_is_ready(virtual: VirtualPrinter) -> None:
    printer = _printer(virtual)

    assert printer.status() is PrinterStatus.READY
    printer.print_bytes(RECEIPT)

    (job,) = virtual.wait_for_jobs(1, timeout_s=5)
    assert job.raw == RECEIPT
    assert "Corner Shop\nBread   2.10\n" in job.text


def test_an_offline_printer_is_reported_and_refused_before_printing(
    virtual: VirtualPrinter,
) -> None:
    printer = _printer(virtual)
    virtual.go_offline()

    assert printer.status() is PrinterStatus.OFFLINE
    with pytest.raises(PrinterError) as raised:
        printer.print_bytes(RECEIPT)
    assert raised.value.status is PrinterStatus.OFFLINE
    assert raised.value.mid_job is False
    assert virtual.jobs == []


def test_an_unreachable_printer_is_offline_and_never_raises_on_status(tmp_path: Path) -> None:
    gone = VirtualPrinter(tmp_path / "gone")
    address = gone.start()
    gone.stop()
    printer = open_printer(VirtualPrinterSettings(), virtual_address=address, timeout_s=0.5)
    assert printer is not None

    assert printer.status() is PrinterStatus.OFFLINE
    with pytest.raises(PrinterError) as raised:
        printer.print_bytes(b"x\n")
    assert (raised.value.status, raised.value.mid_job) == (PrinterStatus.OFFLINE, False)


def test_paper_out_is_reported_before_printing(virtual: VirtualPrinter) -> None:
    printer = _printer(virtual)
    virtual.paper_out()

    assert printer.status() is PrinterStatus.PAPER_OUT
    with pytest.raises(PrinterError) as raised:
        printer.print_bytes(RECEIPT)
    assert (raised.value.status, raised.value.mid_job) == (PrinterStatus.PAPER_OUT, False)
    assert virtual.jobs == []


def test_an_open_cover_is_reported(virtual: VirtualPrinter) -> None:
    printer = _printer(virtual)
    virtual.cover_open()

    assert printer.status() is PrinterStatus.COVER_OPEN


def test_a_printer_dying_mid_job_raises_mid_job_and_keeps_a_partial_job(
    virtual: VirtualPrinter,
) -> None:
    printer = _printer(virtual)
    virtual.die_mid_job(after_bytes=20)

    with pytest.raises(PrinterError) as raised:
        printer.print_bytes(RECEIPT)

    assert raised.value.mid_job is True
    (job,) = virtual.wait_for_jobs(1, timeout_s=5)
    assert job.partial
    assert job.raw == RECEIPT[:20]


def test_a_slow_printer_still_gets_the_whole_job(virtual: VirtualPrinter) -> None:
    printer = _printer(virtual)
    virtual.slow(seconds_per_kb=0.02)

    printer.print_bytes(RECEIPT)

    (job,) = virtual.wait_for_jobs(1, timeout_s=5)
    assert job.raw == RECEIPT
    assert not job.partial


def test_no_printer_is_opened_for_transport_none() -> None:
    assert open_printer(NoPrinterSettings()) is None


def test_the_file_transport_appends_each_job_and_cannot_answer_status(tmp_path: Path) -> None:
    target = tmp_path / "lp0"
    printer = open_printer(FilePrinterSettings(path=target))
    assert printer is not None

    assert printer.status() is PrinterStatus.UNKNOWN
    printer.print_bytes(b"first\n")
    printer.print_bytes(b"second\n")

    assert target.read_bytes() == b"first\nsecond\n"


def test_the_serial_transport_writes_the_job_to_the_port(tmp_path: Path) -> None:
    controller, device = os.openpty()
    tty.setraw(controller)
    tty.setraw(device)
    try:
        port = os.ttyname(device)
        printer = open_printer(SerialPrinterSettings(port=port, baudrate=9600), timeout_s=0.05)
        assert printer is not None

        printer.print_bytes(b"serial receipt\n")

        received = b""
        while b"serial receipt\n" not in received:
            received += os.read(controller, 1024)
    finally:
        os.close(controller)
        os.close(device)
    # The status requests go first; the printer did not answer them, so none follow.
    assert received.endswith(b"serial receipt\n")
    assert received.startswith(b"\x10\x04\x01")


def test_the_usb_transport_is_built_with_the_vendor_and_product_ids() -> None:
    settings = UsbPrinterSettings(vendor_id=0x04B8, product_id=0x0202)

    transport = build_transport(settings)

    assert isinstance(transport, Usb)
    assert transport.usb_args == {"idVendor": 0x04B8, "idProduct": 0x0202}
    # pyusb is not installed here: python-escpos's close() (also run on garbage collection)
    # would raise for want of it, so the unopened transport gets a no-op close.
    transport.close = lambda: None
