"""Device checks from the staff menu: the scanner, the printer, the card reader, and a catalog
from a USB stick.

While the menu is open, scans never reach the customer's cart: each one is shown to staff as
a ``ScannerTestRead`` notice (the scanner test). Each test a staff member starts writes one
audit row (``device.<test>``) with its outcome; looking at a status writes none.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from kiosk.core.barcodes import BarcodeError, Scan, parse_scan
from kiosk.devices.usb_stick import UsbStickProblem, catalog_file, catalog_files
from kiosk.notices import ScannerTestRead
from kiosk.staff_menu.host import MenuHost
from kiosk.staff_menu.replies import in_thread, on_main
from kiosk.staff_menu.signed_in import SignedIn
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


def _log_clear(done: Future[str]) -> None:
    """How clearing the reader's test cart at the menu's close went (logged only)."""
    error = done.exception()
    if error is not None or done.result() != "cleared":
        log.warning("the reader's test cart was not cleared: %s", error or done.result())


class DeviceTests:
    """Scanner, printer and reader tests; the catalog import from a USB stick."""

    def __init__(self, host: MenuHost, signed_in: SignedIn) -> None:
        self._host = host
        self._signed_in = signed_in
        self._guard = signed_in.guard
        self._audit = signed_in.audit
        self._test_cart_shown = False
        """The reader display test's cart is on the reader (shown, not cleared since)."""
        self.require_mount = True
        """Tests set this False: CI cannot mount a USB stick (``catalog_files`` explains)."""
        signed_in.on_close(self._tidy_up)

    def _tidy_up(self) -> dict[str, str]:
        """A test cart still on the reader is cleared as the menu closes: the next customer
        must not find "Test 0.01" on the reader. The clear runs on the payment thread before
        any payment the customer starts next, and never cancels a payment (see
        ``CardProvider.clear_reader_display``); it is part of closing the menu, so it has
        no audit row of its own."""
        tidied: dict[str, str] = {}
        service = self._host.card_payments()
        if self._test_cart_shown and service is not None:
            self._test_cart_shown = False
            service.clear_reader_display().add_done_callback(_log_clear)
            tidied["reader_display"] = "cleared"
        return tidied

    # ------------------------------------------------------------------------ scanner

    @property
    def scanner_state(self) -> str:
        """``connected``, ``disconnected`` or ``stopped``."""
        return self._host.scanner_state()

    def start_scanner_test(self) -> None:
        """Staff start the scanner test (one audit row); scans already reach the menu, not
        the cart, for as long as it is open."""
        session = self._guard("scanner_test")
        if session is not None:
            self._audit("device.scanner_test", self.scanner_state, session.staff_number)

    def scanner_test_read(self, raw: bytes) -> None:
        """A frame read while the menu is open: tell staff what it is, add nothing."""
        self._signed_in.touch()
        host = self._host
        try:
            scan = parse_scan(raw, host.scan_rules)
        except BarcodeError as error:
            host.emit(ScannerTestRead("", error.reason))
            return
        except Exception:  # a parser bug costs one read, never the kiosk (as for customers)
            log.exception("scanner test: %r could not be parsed", raw[:64])
            host.emit(ScannerTestRead("", "unreadable"))
            return
        product = None
        try:
            product = host.product_catalog().find_for_scan(scan)
        except CatalogRowError as damaged:
            log.warning("scanner test: damaged catalog row: %s", damaged)
        except sqlite3.Error as error:  # the read is still shown; the lookup is not
            log.error("scanner test: catalog lookup failed: %s", error)
            host.emit(ScannerTestRead(f"{scan.symbology.value} {printed_digits(scan)}",
                                        "lookup_failed"))
            return
        code = f"{scan.symbology.value} {printed_digits(scan)}"
        if product is None:
            host.emit(ScannerTestRead(code, "not_in_catalog"))
        else:
            host.emit(ScannerTestRead(code, "ok", product.name))

    # ------------------------------------------------------------------------ printer

    def printer_test(self, then: Callable[[str], None]) -> None:
        """Print a test page; ``then("printed")``, a printer status or ``no_printer``."""
        session = self._guard("printer_test")
        if session is None:
            then("not_allowed")
            return
        staff_number = session.staff_number
        desk = self._host.receipt_desk()
        if desk is None:
            self._audit("device.printer_test", "no_printer", staff_number)
            then("no_printer")
            return

        def answered(code: str) -> None:
            self._audit("device.printer_test", code, staff_number)
            then(code)

        on_main(self._host.post, desk.print_test_page(), answered,
                lambda _error: answered("failed"))

    def printer_status(self, then: Callable[[str], None]) -> None:
        """Ask the printer how it is: ``then("ready")``, another status or ``no_printer``."""
        desk = self._host.receipt_desk()
        if desk is None:
            then("no_printer")
            return
        on_main(self._host.post, desk.printer_status(), then, lambda _error: then("offline"))

    # ------------------------------------------------------------------------ reader

    def reader_status(self, then: Callable[[dict[str, str]], None]) -> None:
        """The card reader as Stripe sees it, as words for staff: ``reader_id``, ``label``,
        ``status``, ``serial_number``, ``device_type``, ``available``, ``reason`` and
        ``error`` when Stripe could not be asked."""
        service = self._host.card_payments()
        if service is None:
            _available, reason = self._host.payments_available()
            then({"available": "no", "reason": reason or "card_payments_unavailable"})
            return

        def answered(status: dict[str, Any]) -> None:
            words = {key: "" if value is None else str(value) for key, value in status.items()
                     if not isinstance(value, dict | list)}
            words["available"] = "yes" if status.get("available") else "no"
            then(words)

        on_main(self._host.post, in_thread("reader", service.reader_status), answered,
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
        service = self._host.card_payments()

        def answered(code: str) -> None:
            if code == "shown":
                self._test_cart_shown = True
            elif code == "cleared":
                self._test_cart_shown = False
            self._audit(f"device.{action}", code, staff_number)
            if self._signed_in.session is None:  # the menu closed before the reader answered
                self._tidy_up()
            then(code)

        if service is None:
            answered("card_payments_unavailable")
            return
        currency = self._host.settings.shop.currency
        future = service.show_test_cart(currency) if show else service.clear_reader_display()
        on_main(self._host.post, future, answered, lambda _error: answered("stripe_unreachable"))

    # --------------------------------------------------------------- catalog from USB

    @property
    def usb_mount_path(self) -> str:
        """Where a USB stick with a catalog is mounted (``[catalog] usb_mount_path``)."""
        return str(self._host.settings.catalog.usb_mount_path)

    def usb_catalogs(self) -> tuple[list[str], str]:
        """The catalog files on the USB stick and, when there are none, why:
        ``not_mounted``, ``no_catalog`` or ``unreadable``."""
        try:
            files = catalog_files(Path(self.usb_mount_path), require_mount=self.require_mount)
        except UsbStickProblem as problem:
            return [], problem.reason
        return [path.name for path in files], ""

    def _usb_file(self, file_name: str) -> tuple[Path | None, str]:
        """(the path of a catalog file listed on the stick, "") or (None, why not): only a
        listed name, never another path, checked again as it is about to be read."""
        names, problem = self.usb_catalogs()
        if file_name not in names:
            return None, problem or "no_catalog"
        try:
            return catalog_file(Path(self.usb_mount_path), file_name,
                                require_mount=self.require_mount), ""
        except UsbStickProblem as refused:
            return None, refused.reason

    def import_catalog(
        self, file_name: str, then: Callable[[str, int, list[str]], None]
    ) -> None:
        """Import a catalog file from the USB stick (managers; all rows or none, the rules of
        ``kiosk catalog import``). ``then(code, products, problems)``: ``imported`` with the
        number of products in the file, ``rejected`` with the first problems, or
        ``sale_open``, ``not_mounted``, ``no_catalog``, ``too_large``, ``unreadable`` /
        ``not_allowed``. One audit row, ``catalog.import_usb``.

        Refused while a customer's sale is open: the import reads and writes the whole file
        on the store worker, which also records the sale and its payment. The file is checked
        again just before it is read (still listed, a plain file, not a link, at most
        ``kiosk.devices.usb_stick.MAX_CATALOG_BYTES``)."""
        session = self._guard("catalog_import")
        if session is None:
            then("not_allowed", 0, [])
            return
        staff_number = session.staff_number
        path, problem = (None, "sale_open") if self._host.sale_open() else self._usb_file(file_name)
        if path is None:
            self._audit("catalog.import_usb", problem, staff_number, {"file": file_name[:200]})
            then(problem, 0, [])
            return
        settings = self._host.settings
        tax_classes = list(self._host.tax_policy.classes.keys())
        now = self._host.clock()
        future = self._host.submit(
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

        on_main(self._host.post, future, imported, failed)
