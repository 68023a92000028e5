"""What a receipt printer says about itself, and the error a job that failed raises.

Apart from the driver (`kiosk.devices.printer`, which loads python-escpos and with it Pillow,
qrcode and python-barcode), so that the receipt desk and the doctor can name a printer's state
before any receipt needs those libraries.
"""

from __future__ import annotations

from enum import StrEnum


class PrinterStatus(StrEnum):
    """What the printer said about itself."""

    READY = "ready"
    """Online with paper."""
    OFFLINE = "offline"
    """Offline, switched off or unreachable."""
    PAPER_OUT = "paper_out"
    """The paper roll is empty."""
    COVER_OPEN = "cover_open"
    """The paper cover is open."""
    ERROR = "error"
    """The printer reports an error (cutter jam, head too hot...)."""
    UNKNOWN = "unknown"
    """The transport cannot answer DLE EOT (a file, some USB printers)."""


class PrinterError(Exception):
    """A job could not be printed.

    ``status`` is what the printer reported (or OFFLINE when it could not be reached);
    ``mid_job`` is True when some bytes may already have been printed (the connection was
    lost during the job or the printer stopped afterwards), so the customer may hold half a
    receipt.
    """

    def __init__(self, status: PrinterStatus, *, mid_job: bool, detail: str = "") -> None:
        self.status = status
        self.mid_job = mid_job
        where = "during the job" if mid_job else "before printing"
        super().__init__(f"printer {status.value} {where}" + (f": {detail}" if detail else ""))
