"""The checks of the kiosk's own hardware: the barcode scanner and the receipt printer.

The scanner check only looks: the configured port must be a character device this user can
open read-only (it is opened without becoming the controlling terminal and closed at once; a
port the running kiosk holds exclusively counts as present). The printer check asks a real
printer for its state with the same status requests as a receipt (DLE EOT), each answer
within `kiosk.doctor.context.PRINTER_TIMEOUT_S` seconds; nothing is printed.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import serial

from kiosk.config.settings import PrinterSettings
from kiosk.devices.printer import open_printer
from kiosk.devices.printer_status import PrinterStatus
from kiosk.doctor.result import CheckResult, failed, passed, warned

if TYPE_CHECKING:
    from kiosk.doctor.context import DoctorContext

SCANNER = "scanner"
PRINTER = "printer"

USB_DEVICES = Path("/sys/bus/usb/devices")
"""Where Linux lists the plugged-in USB devices (idVendor, idProduct files)."""

SCANNER_HINT = (
    "Is the scanner plugged in, and in serial (USB-COM / USB CDC) mode rather than keyboard "
    "mode? Is the udev rule installed (`ls -l /dev/kiosk-scanner`)? See hardware/SCANNERS.md."
)
PRINTER_GUIDE = "See hardware/PRINTERS.md."


def check_scanner(context: DoctorContext) -> CheckResult:
    """``[scanner] port`` is the virtual twin, or a serial device present and openable."""
    port = context.settings.scanner.port
    if port == "virtual":
        return passed(SCANNER, "virtual scanner (on-screen test barcodes)")
    if "://" in port:
        return _check_serial_url(port, context.network_timeout_s)
    path = Path(port)
    if not path.exists():
        dangling = " (a link to a device that is gone)" if path.is_symlink() else ""
        return failed(SCANNER, f"{port} does not exist{dangling}", SCANNER_HINT)
    mode = path.stat().st_mode
    if not stat.S_ISCHR(mode):
        return failed(
            SCANNER,
            f"{port} is not a serial device",
            'Set [scanner] port to the scanner\'s serial device, normally "/dev/kiosk-scanner" '
            "(hardware/SCANNERS.md).",
        )
    shown = _with_target(path)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    except PermissionError:
        return failed(
            SCANNER,
            f"{shown}: present, but this user may not open it",
            "The kiosk's user must be in the group that owns the port (normally dialout: "
            "`sudo usermod -aG dialout kiosk`); check with `sudo -u kiosk kiosk doctor`.",
        )
    except OSError as error:
        if error.errno == errno.EBUSY:
            return passed(SCANNER, f"{shown}: present and in use (the running kiosk holds it)")
        return failed(SCANNER, f"{shown}: cannot be opened ({error.strerror})", SCANNER_HINT)
    os.close(descriptor)
    return passed(SCANNER, f"{shown}: serial device present")


def _check_serial_url(url: str, timeout_s: float) -> CheckResult:
    try:
        port = serial.serial_for_url(url, timeout=timeout_s, write_timeout=timeout_s)
    except (serial.SerialException, OSError, ValueError) as error:
        return failed(SCANNER, f"{url} cannot be opened ({error})", SCANNER_HINT)
    port.close()
    return passed(SCANNER, f"{url}: opened")


def _with_target(path: Path) -> str:
    target = path.resolve()
    return f"{path} -> {target}" if target != path else str(path)


def check_printer(context: DoctorContext) -> CheckResult:
    """The printer of ``[printer] transport`` is present and answers its status requests."""
    settings = context.settings.printer
    if settings.transport == "virtual":
        return passed(PRINTER, "virtual printer (receipts saved in the state directory)")
    if settings.transport == "none":
        return warned(
            PRINTER,
            "no printer: receipts are offered as QR codes only",
            "Set [printer] transport if this kiosk has a receipt printer. " + PRINTER_GUIDE,
        )
    absent = _absent(settings)
    if absent is not None:
        return absent
    printer = open_printer(settings, timeout_s=context.printer_timeout_s)
    if printer is None:  # "none" was handled above; kept for the type checker
        return warned(PRINTER, "no printer", PRINTER_GUIDE)
    where = _where(settings)
    if settings.transport == "file":
        return passed(PRINTER, f"{where} present (a file printer cannot report paper or cover)")
    status = printer.status(timeout_s=context.printer_timeout_s)
    return _judge(status, where, settings, context.printer_timeout_s)


def _absent(settings: PrinterSettings) -> CheckResult | None:
    """A failure when the printer's device is plainly not there; ``None`` otherwise."""
    if settings.transport == "serial" and "://" not in settings.port:
        port = Path(settings.port)
        if not port.exists():
            return failed(
                PRINTER,
                f"serial printer {settings.port} does not exist",
                "Is the printer plugged in and switched on? Is the udev rule installed "
                "(`ls -l /dev/kiosk-printer`)? " + PRINTER_GUIDE,
            )
    if settings.transport == "file":
        path = Path(settings.path)
        if not path.exists():
            return failed(
                PRINTER,
                f"file printer {path} does not exist",
                "Is the printer plugged in and switched on (a USB printer appears as "
                "/dev/usb/lp0)? " + PRINTER_GUIDE,
            )
        if not os.access(path, os.W_OK):
            return failed(
                PRINTER,
                f"file printer {path}: this user may not write to it",
                "The kiosk's user must be in the group that owns it (normally lp: "
                "`sudo usermod -aG lp kiosk`). " + PRINTER_GUIDE,
            )
    if settings.transport == "usb" and usb_device_plugged(
        settings.vendor_id, settings.product_id
    ) is False:
        return failed(
            PRINTER,
            f"no USB device {settings.vendor_id:04x}:{settings.product_id:04x} is plugged in",
            "Is the printer plugged in and switched on? `lsusb` lists what is connected; "
            "vendor_id and product_id must match it. " + PRINTER_GUIDE,
        )
    return None


def usb_device_plugged(vendor_id: int, product_id: int, devices: Path = USB_DEVICES) -> bool | None:
    """Whether a USB device with these ids is plugged in, per sysfs; ``None`` when sysfs
    does not list USB devices here (a container)."""
    if not devices.is_dir():
        return None
    for vendor_file in devices.glob("*/idVendor"):
        try:
            vendor = int(vendor_file.read_text().strip(), 16)
            product = int((vendor_file.parent / "idProduct").read_text().strip(), 16)
        except (OSError, ValueError):
            continue
        if (vendor, product) == (vendor_id, product_id):
            return True
    return False


def _where(settings: PrinterSettings) -> str:
    if settings.transport == "network":
        return f"network printer {settings.host}:{settings.port}"
    if settings.transport == "serial":
        return f"serial printer {settings.port}"
    if settings.transport == "usb":
        return f"USB printer {settings.vendor_id:04x}:{settings.product_id:04x}"
    if settings.transport == "file":
        return f"file printer {settings.path}"
    return f"{settings.transport} printer"


def _judge(
    status: PrinterStatus, where: str, settings: PrinterSettings, timeout_s: float
) -> CheckResult:
    if status is PrinterStatus.READY:
        return passed(PRINTER, f"{where} ready (online, paper in, cover closed)")
    if status is PrinterStatus.UNKNOWN:
        return warned(
            PRINTER,
            f"{where}: no answer to the status request within {timeout_s:g} s",
            "Is it switched on? Some USB printers never answer status requests: then print "
            "a test page from the staff menu (Devices). " + PRINTER_GUIDE,
        )
    if status is PrinterStatus.PAPER_OUT:
        return warned(PRINTER, f"{where}: paper out",
                      "Load a new roll; until then receipts are offered as QR codes only.")
    if status is PrinterStatus.COVER_OPEN:
        return warned(PRINTER, f"{where}: the paper cover is open", "Close the paper cover.")
    if status is PrinterStatus.ERROR:
        return failed(
            PRINTER,
            f"{where} reports an error (cutter jam, print head too hot...)",
            "Switch it off, clear the cutter and the paper path, switch it on again.",
        )
    return failed(PRINTER, f"{where} is offline or does not answer", _offline_hint(settings))


def _offline_hint(settings: PrinterSettings) -> str:
    if settings.transport == "network":
        return (
            f"Is the printer switched on and at {settings.host}, port {settings.port}? Its "
            "self-test page shows its address (hold FEED while switching on). " + PRINTER_GUIDE
        )
    if settings.transport == "serial":
        return (
            f"Is it switched on and its cable in? Does its speed match baudrate = "
            f"{settings.baudrate}? " + PRINTER_GUIDE
        )
    return "Is it switched on and its cable in? " + PRINTER_GUIDE
