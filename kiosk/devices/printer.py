"""The receipt printer driver: sends ESC/POS bytes through a python-escpos transport.

`open_printer` turns the ``[printer]`` settings into a `ReceiptPrinter` (or None when the
shop has no printer). The transports are python-escpos's own: ``Serial`` (port, baudrate),
``Usb`` (vendor and product id), ``Network`` (host, port 9100; the virtual printer in
``kiosk.sim.virtual_printer`` is reached the same way on loopback) and ``File`` (a file or a
device node such as ``/dev/usb/lp0``, appended to).

Every call opens a fresh connection and closes it again, so a printer that was switched off
and on between two receipts needs no reconnect logic. Before a job the printer is asked for
its state with the real-time status commands DLE EOT 1 (printer status), DLE EOT 2 (offline
cause) and DLE EOT 4 (paper roll sensor); after the job it is asked again, which also waits
until the printer has taken in every byte. A transport that cannot answer (a plain file,
some USB printers) reports `PrinterStatus.UNKNOWN`, and printing goes ahead.

Nothing here imports kivy or kiosk.config at run time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kiosk.devices.escpos_cache import import_escpos
from kiosk.devices.printer_status import PrinterError, PrinterStatus

import_escpos()  # before its names: escpos reads its printer database when it is imported
from escpos.printer import File, Network, Serial, Usb  # noqa: E402

if TYPE_CHECKING:
    from kiosk.config.settings import PrinterSettings

log = logging.getLogger(__name__)

DLE_EOT = b"\x10\x04"
"""The prefix of the real-time status requests; the next byte is n (1, 2 or 4)."""

STATUS_PRINTER = 1
"""DLE EOT 1: printer status. Bit 3 (0x08) set means offline."""
STATUS_OFFLINE_CAUSE = 2
"""DLE EOT 2: offline cause. Bit 2 cover open, bit 5 stopped at paper end, bit 6 error."""
STATUS_PAPER = 4
"""DLE EOT 4: paper roll sensor. Bits 5 and 6 (0x60) set mean paper end."""

BIT_OFFLINE = 0x08
BIT_COVER_OPEN = 0x04
BIT_PAPER_END_STOP = 0x20
BIT_ERROR = 0x40
BITS_PAPER_END = 0x60


Transport = Any
"""A python-escpos printer object (untyped library)."""


SERIAL_WRITE_TIMEOUT_S = 30.0
"""How long one write to a serial printer may block (flow control held by a jammed printer),
in seconds: below the watchdog's heartbeat limit, and enough for a long receipt with a logo
at 9600 baud."""


class _TimedSerial(Serial):
    """python-escpos's Serial transport with a write timeout (it opens the port without one,
    so a printer that stops reading would block the print loop for good)."""

    def open(self, raise_not_found: bool = True) -> None:
        super().open(raise_not_found)
        if self.device is not None:
            self.device.write_timeout = SERIAL_WRITE_TIMEOUT_S


class _AppendingFile(File):
    """python-escpos's File transport, appending instead of truncating the file."""

    def open(self, raise_not_found: bool = True) -> None:
        try:
            self.device: Any = open(self.devfile, "ab")  # noqa: SIM115 - closed in close()
        except OSError as error:
            self.device = None
            if raise_not_found:
                raise
            log.error("printer file %s cannot be opened: %s", self.devfile, error)


class ReceiptPrinter:
    """One receipt printer behind a python-escpos transport.

    ``make_transport`` builds a fresh, unopened transport for each call; ``answers_status``
    is False for transports that cannot read (a file); ``timeout_s`` is the time in seconds
    allowed for connecting and for each status answer (the answer after a job waits until
    the printer has read the whole job, so allow for slow printers).
    """

    def __init__(
        self,
        make_transport: Callable[[], Transport],
        *,
        answers_status: bool = True,
        must_answer: bool = False,
        timeout_s: float = 5.0,
        name: str = "printer",
    ) -> None:
        self._make_transport = make_transport
        self._answers_status = answers_status
        self._must_answer = must_answer
        self._timeout_s = timeout_s
        self.name = name

    def status(self, timeout_s: float = 2.0) -> PrinterStatus:
        """Ask the printer for its state; ``timeout_s`` seconds per answer. Never raises."""
        try:
            transport = self._open()
        except Exception as error:  # any failure to connect means offline
            log.info("%s unreachable: %s", self.name, error)
            return PrinterStatus.OFFLINE
        try:
            return self._query(transport, timeout_s)
        finally:
            self._close(transport)

    def print_bytes(self, data: bytes) -> None:
        """Print one job of raw ESC/POS bytes.

        Checks the status first (refuses unless READY or UNKNOWN, nothing printed:
        ``PrinterError(status, mid_job=False)``), sends every byte, then checks again. A lost
        connection or a bad status afterwards raises ``PrinterError(status, mid_job=True)``.
        """
        try:
            transport = self._open()
        except Exception as error:  # any failure to connect means offline
            raise PrinterError(PrinterStatus.OFFLINE, mid_job=False, detail=str(error)) from None
        try:
            before = self._query(transport, self._timeout_s)
            if before not in (PrinterStatus.READY, PrinterStatus.UNKNOWN):
                raise PrinterError(before, mid_job=False)
            try:
                transport._raw(data)
            except OSError as error:
                raise PrinterError(PrinterStatus.OFFLINE, mid_job=True, detail=str(error)) from None
            if before is PrinterStatus.UNKNOWN:
                return
            after = self._query(transport, self._timeout_s)
            if after not in (PrinterStatus.READY, PrinterStatus.UNKNOWN):
                raise PrinterError(after, mid_job=True)
        finally:
            self._close(transport)

    def close(self) -> None:
        """Release the printer. Connections are per call, so there is nothing held open."""

    def _open(self) -> Transport:
        transport = self._make_transport()
        transport.open()
        return transport

    def _close(self, transport: Transport) -> None:
        try:
            transport.close()
        except Exception as error:  # closing a dead connection may fail
            log.debug("%s close failed: %s", self.name, error)

    def _query(self, transport: Transport, timeout_s: float) -> PrinterStatus:
        if not self._answers_status:
            return PrinterStatus.UNKNOWN
        try:
            printer = self._ask(transport, STATUS_PRINTER, timeout_s)
            if printer is None:
                # A network printer always answers DLE EOT: silence means it is not there
                # (a black hole must never count as printed). Others may simply not answer.
                return PrinterStatus.OFFLINE if self._must_answer else PrinterStatus.UNKNOWN
            if printer & BIT_OFFLINE:
                cause = self._ask(transport, STATUS_OFFLINE_CAUSE, timeout_s) or 0
                if cause & BIT_COVER_OPEN:
                    return PrinterStatus.COVER_OPEN
                if cause & BIT_PAPER_END_STOP:
                    return PrinterStatus.PAPER_OUT
                if cause & BIT_ERROR:
                    return PrinterStatus.ERROR
                return PrinterStatus.OFFLINE
            paper = self._ask(transport, STATUS_PAPER, timeout_s)
            if paper is not None and paper & BITS_PAPER_END == BITS_PAPER_END:
                return PrinterStatus.PAPER_OUT
            return PrinterStatus.READY
        except _ConnectionLost:
            return PrinterStatus.OFFLINE
        except OSError as error:
            log.info("%s status failed: %s", self.name, error)
            return PrinterStatus.OFFLINE

    def _ask(self, transport: Transport, n: int, timeout_s: float) -> int | None:
        """Send DLE EOT n and read the one status byte; None when nothing answers in time."""
        _set_read_timeout(transport, timeout_s)
        transport._raw(DLE_EOT + bytes([n]))
        try:
            answer = transport._read()
        except TimeoutError:
            return None
        except OSError:
            raise
        except Exception as error:  # pyusb raises its own timeout errors
            log.debug("%s gave no status: %s", self.name, error)
            return None
        if not answer:
            if isinstance(transport, Network):
                raise _ConnectionLost
            return None
        return int(answer[-1])


class _ConnectionLost(Exception):
    """The network printer closed the connection."""


def _set_read_timeout(transport: Transport, timeout_s: float) -> None:
    device = transport.device
    if isinstance(transport, Network):
        device.settimeout(timeout_s)
    elif isinstance(transport, Serial):
        device.timeout = timeout_s
    elif isinstance(transport, Usb):
        transport.timeout = int(timeout_s * 1000)


def build_transport(
    settings: PrinterSettings,
    *,
    virtual_address: tuple[str, int] | None = None,
    timeout_s: float = 5.0,
) -> Transport | None:
    """The unopened python-escpos transport for ``settings`` (None for "none").

    ``timeout_s`` is the connect and read timeout in seconds.
    """
    if settings.transport == "none":
        return None
    if settings.transport == "virtual":
        if virtual_address is None:
            raise ValueError('[printer] transport = "virtual" needs the virtual printer address')
        host, port = virtual_address
        return Network(host=host, port=port, timeout=timeout_s)
    if settings.transport == "network":
        return Network(host=settings.host, port=settings.port, timeout=timeout_s)
    if settings.transport == "serial":
        return _TimedSerial(devfile=settings.port, baudrate=settings.baudrate, timeout=timeout_s)
    if settings.transport == "usb":
        return Usb(
            idVendor=settings.vendor_id,
            idProduct=settings.product_id,
            timeout=int(timeout_s * 1000),
        )
    if settings.transport == "file":
        return _AppendingFile(devfile=str(settings.path))
    raise ValueError(f"unknown printer transport {settings.transport!r}")


def open_printer(
    settings: PrinterSettings,
    *,
    virtual_address: tuple[str, int] | None = None,
    timeout_s: float = 5.0,
) -> ReceiptPrinter | None:
    """The receipt printer described by ``[printer]``, or None for ``transport = "none"``.

    ``virtual_address`` is the (host, port) of the running virtual printer, needed for
    ``transport = "virtual"``. ``timeout_s`` is the connect and status timeout in seconds.
    Nothing is opened here: each status check and each job opens its own connection.
    """
    if settings.transport == "none":
        return None
    # Build one now so a bad setting fails at start-up, not at the first receipt.
    build_transport(settings, virtual_address=virtual_address, timeout_s=timeout_s)

    def make_transport() -> Transport:
        return build_transport(settings, virtual_address=virtual_address, timeout_s=timeout_s)

    return ReceiptPrinter(
        make_transport,
        answers_status=settings.transport != "file",
        must_answer=settings.transport in ("network", "virtual"),
        timeout_s=timeout_s,
        name=f"{settings.transport} printer",
    )
