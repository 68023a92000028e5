"""Device checks from the staff menu: the scanner, the printer, the card reader, and a catalog
from a USB stick.

While the menu is open, scans never reach the customer's cart: each one is shown to staff as
a ``ScannerTestRead`` notice (the scanner test). Each test a staff member starts writes one
audit row (``device.<test>``) with its outcome; looking at a status writes none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.core.barcodes import BarcodeError, Scan, parse_scan
from kiosk.devices.usb_stick import UsbStickProblem, catalog_files
from kiosk.notices import ScannerTestRead
from kiosk.staff_menu.sales_desk import SalesDesk
from kiosk.store.catalog_import import CatalogImportRejected, import_catalog_csv
from kiosk.store.products import CatalogRowError

log = logging.getLogger(__name__)

MAX_PROBLEMS_SHOWN = 5
"""Problems of a refused catalog file listed on screen (the rest are counted)."""


_PRINTED_LENGTH = {"ean_13": 13, "ean_8": 8, "upc_a": 12}
"""Digits printed under a barcode of these forms (the GTIN-14 key pads them with zeros)."""


def printed_digits(scan: Scan) -> str:
    """The digits as printed under the barcode (13 for EAN-13...), else the 14-digit GTIN."""
    length = _PRINTED_LENGTH.get(scan.symbology.value)
    return scan.gtin[-length:] if length else scan.gtin


class DeviceTests(SalesDesk):
    """Scanner, printer and reader tests; the catalog import from a USB stick."""

    # ------------------------------------------------------------------------ scanner

    @property
    def scanner_state(self) -> str:
        """``connected``, ``disconnected`` or ``stopped``."""
        return self._kiosk.scanner_state.value

    def start_scanner_test(self) -> None:
        """Staff start the scanner test (one audit row); scans already reach the menu, not
        the cart, for as long as it is open."""
        session = self._guard("scanner_test")
        if session is not None:
            self._audit("device.scanner_test", self.scanner_state, session.staff_number)

    def scanner_test_read(self, raw: bytes) -> None:
        """A frame read while the menu is open: tell staff what it is, add nothing."""
        self.touch()
        kiosk = self._kiosk
        try:
            scan = parse_scan(raw, kiosk._scan_rules)
        except BarcodeError as error:
            kiosk._emit(ScannerTestRead("", error.reason))
            return
        product = None
        try:
            product = kiosk._product_catalog().find_for_scan(scan)
        except CatalogRowError as damaged:
            log.warning("scanner test: damaged catalog row: %s", damaged)
        code = f"{scan.symbology.value} {printed_digits(scan)}"
        if product is None:
            kiosk._emit(ScannerTestRead(code, "not_in_catalog"))
        else:
            kiosk._emit(ScannerTestRead(code, "ok", product.name))

    # ------------------------------------------------------------------------ printer

    def printer_test(self, then: Callable[[str], None]) -> None:
        """Print a test page; ``then("printed")``, a printer status or ``no_printer``."""
        session = self._guard("printer_test")
        if session is None:
            then("not_allowed")
            return
        staff_number = session.staff_number
        desk = self._kiosk.receipt_desk
        if desk is None:
            self._audit("device.printer_test", "no_printer", staff_number)
            then("no_printer")
            return

        def answered(code: str) -> None:
            self._audit("device.printer_test", code, staff_number)
            then(code)

        self._on_main(desk.print_test_page(), answered, lambda _error: answered("failed"))

    def printer_status(self, then: Callable[[str], None]) -> None:
        """Ask the printer how it is: ``then("ready")``, another status or ``no_printer``."""
        desk = self._kiosk.receipt_desk
        if desk is None:
            then("no_printer")
            return
        self._on_main(desk.printer_status(), then, lambda _error: then("offline"))

    # ------------------------------------------------------------------------ reader

    def reader_status(self, then: Callable[[dict[str, str]], None]) -> None:
        """The card reader as Stripe sees it, as words for staff: ``reader_id``, ``label``,
        ``status``, ``serial_number``, ``device_type``, ``available``, ``reason`` and
        ``error`` when Stripe could not be asked."""
        service = self._kiosk.payment_service
        if service is None:
            _available, reason = self._kiosk.payments_available
            then({"available": "no", "reason": reason or "card_payments_unavailable"})
            return

        def answered(status: dict[str, Any]) -> None:
            words = {key: "" if value is None else str(value) for key, value in status.items()
                     if not isinstance(value, dict | list)}
            words["available"] = "yes" if status.get("available") else "no"
            then(words)

        self._on_main(self._in_thread("reader", service.reader_status), answered,
                      lambda error: then({"available": "no", "error": str(error)}))

    def reader_display_test(self, then: Callable[[str], None]) -> None:
        """Show a one-line test cart on the reader: ``then("shown")`` or why not."""
        self._reader_action("reader_display_test", then, show=True)

    def clear_reader_display(self, then: Callable[[str], None]) -> None:
        """Clear the reader's display (``cancel_action``): ``then("cleared")`` or why not."""
        self._reader_action("reader_display_clear", then, show=False)

    def _reader_action(self, action: str, then: Callable[[str], None], *, show: bool) -> None:
        session = self._guard(action)
        if session is None:
            then("not_allowed")
            return
        staff_number = session.staff_number
        service = self._kiosk.payment_service

        def answered(code: str) -> None:
            self._audit(f"device.{action}", code, staff_number)
            then(code)

        if service is None:
            answered("card_payments_unavailable")
            return
        future = service.show_test_cart(self.currency) if show else service.clear_reader_display()
        self._on_main(future, answered, lambda _error: answered("stripe_unreachable"))

    # --------------------------------------------------------------- catalog from USB

    @property
    def usb_mount_path(self) -> str:
        """Where a USB stick with a catalog is mounted (``[catalog] usb_mount_path``)."""
        return str(self._kiosk.settings.catalog.usb_mount_path)

    def usb_catalogs(self) -> tuple[list[str], str]:
        """The catalog files on the USB stick and, when there are none, why:
        ``not_mounted``, ``no_catalog`` or ``unreadable``."""
        try:
            files = catalog_files(Path(self.usb_mount_path), require_mount=self._require_mount)
        except UsbStickProblem as problem:
            return [], problem.reason
        return [path.name for path in files], ""

    _require_mount = True
    """Tests set this False: CI cannot mount a USB stick (``catalog_files`` explains)."""

    def import_catalog(
        self, file_name: str, then: Callable[[str, int, list[str]], None]
    ) -> None:
        """Import a catalog file from the USB stick (managers; all rows or none, the rules of
        ``kiosk catalog import``). ``then(code, products, problems)``: ``imported`` with the
        number of products in the file, ``rejected`` with the first problems, or
        ``unreadable`` / ``not_allowed``. One audit row, ``catalog.import_usb``."""
        session = self._guard("catalog_import")
        if session is None:
            then("not_allowed", 0, [])
            return
        staff_number = session.staff_number
        names, problem = self.usb_catalogs()
        if file_name not in names:  # only a file listed from the stick, never another path
            self._audit("catalog.import_usb", problem or "unreadable", staff_number,
                        {"file": file_name})
            then(problem or "unreadable", 0, [])
            return
        path = Path(self.usb_mount_path) / file_name
        settings = self._kiosk.settings
        tax_classes = list(self._kiosk._policy.classes.keys())
        now = self._now()
        future = self._kiosk._store().submit(
            lambda db: import_catalog_csv(
                db, path, tax_classes=tax_classes, currency=settings.shop.currency,
                catalog_source=settings.catalog.source, now=now,
            )
        )

        def imported(report: Any) -> None:
            self._audit("catalog.import_usb", "imported", staff_number,
                        {"file": file_name, "rows": report.rows, "inserted": report.inserted,
                         "updated": report.updated})
            then("imported", int(report.rows), [])

        def failed(error: BaseException) -> None:
            if isinstance(error, CatalogImportRejected):
                lines = [
                    (f"line {p.line}: " if p.line else "") + p.message
                    for p in error.problems[:MAX_PROBLEMS_SHOWN]
                ]
                more = len(error.problems) - len(lines)
                if more > 0:
                    lines.append(f"... and {more} more")
                self._audit("catalog.import_usb", "rejected", staff_number,
                            {"file": file_name, "problems": len(error.problems)})
                then("rejected", 0, lines)
                return
            log.warning("catalog import from %s failed: %s", path, error)
            self._audit("catalog.import_usb", "unreadable", staff_number,
                        {"file": file_name, "error": str(error)[:200]})
            then("unreadable", 0, [str(error)[:200]])

        self._on_main(future, imported, failed)
