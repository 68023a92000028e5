"""The staff menu's devices page: test the scanner, the printer and the card reader, and import
a catalog from a USB stick.

Every test goes through the facade (``app.kiosk.staff``); answers that take a while come back
through ``then`` callbacks on the main thread and are shown in words under their buttons.
While the scanner test is on, each scan arrives as a ``ScannerTestRead`` notice instead of
going into the cart; the page keeps the last `SCANNER_READS` of them.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.notices import Notice, ScannerTestRead
from kiosk.ui.i18n import N_
from kiosk.ui.staff.audit_page import code_words
from kiosk.ui.staff.page import StaffPage

SCANNER_READS = 5
"""How many scanner test reads the page shows (the newest first)."""

IMPORT_PROBLEMS_SHOWN = 5
"""How many problem lines of a refused catalog the page shows."""

SCANNER_STATES = {
    "connected": N_("The scanner is connected."),
    "connecting": N_("The scanner is connecting..."),
    "disconnected": N_("The scanner is not connected."),
    "stopped": N_("The scanner is stopped."),
}

PRINTER_WORDS = {
    "printed": N_("The test page was printed."),
    "ready": N_("The printer is ready."),
    "offline": N_("The printer is offline or switched off."),
    "paper_out": N_("The printer is out of paper."),
    "cover_open": N_("The printer's cover is open."),
    "error": N_("The printer reports an error (a paper jam or the cutter)."),
    "unknown": N_("The printer cannot tell its state."),
    "no_printer": N_("No printer is set up at this kiosk."),
    "not_paid": N_("That sale is not paid."),
}

READER_WORDS = {
    "shown": N_("The test is on the reader's screen."),
    "cleared": N_("The reader's screen was cleared."),
    "reader_busy": N_("The reader is busy with a payment."),
    "reader_offline": N_("The reader is offline."),
    "stripe_unreachable": N_("Stripe cannot be reached."),
    "card_payments_unavailable": N_("Card payments are not set up at this kiosk."),
    "no_reader": N_("No card reader is set up at this kiosk."),
    "not_allowed": N_("Managers only."),
}

READER_FIELDS = {
    "label": N_("Name"),
    "reader_id": N_("Reader"),
    "device_type": N_("Model"),
    "serial_number": N_("Serial number"),
    "status": N_("Status"),
    "available": N_("Takes payments"),
    "reason": N_("Why not"),
    "error": N_("Problem"),
}
"""The reader status keys in the order shown, with their words."""

READER_VALUES = {
    "online": N_("online"),
    "offline": N_("offline"),
    "yes": N_("yes"),
    "no": N_("no"),
}

USB_PROBLEMS = {
    "not_mounted": N_("No USB stick at {path}"),
    "no_catalog": N_("No .csv file on the USB stick"),
    "unreadable": N_("The USB stick cannot be read."),
}

IMPORT_WORDS = {
    "rejected": N_("The catalog was not imported:"),
    "not_allowed": N_("Managers only."),
    "unreadable": N_("The file cannot be read."),
    "sale_open": N_("Finish or cancel the customer's sale first."),
    "not_mounted": N_("The USB stick is no longer there."),
    "no_catalog": N_("That file is no longer on the USB stick."),
    "too_large": N_("That file is too large to be a catalog."),
}

SCAN_OUTCOMES = {
    "not_in_catalog": N_("{code}: not in the catalog"),
    "lookup_failed": N_("{code}: the catalog could not be read"),
}


def symbology_shown(code: str) -> str:
    """A scan as the facade names it (``"ean_13 4006381333931"``) with the symbology written
    as on the label: ``"EAN-13 4006381333931"``."""
    symbology, _space, digits = code.partition(" ")
    return f"{symbology.upper().replace('_', '-')} {digits}".strip()


class UsbCatalogRow(BoxLayout):
    """One CSV file on the USB stick and its "Import" button; dispatches ``on_import(name)``."""

    file_name = StringProperty("")
    allowed = BooleanProperty(False)
    """The open session may import (managers); otherwise the button is disabled."""

    __events__ = ("on_import",)

    def on_import(self, file_name: str) -> None:
        """Default handler (the page binds its own)."""


class DevicesPage(StaffPage):
    """Device tests and the USB catalog import (``kv/staff_devices.kv``)."""

    page_name = "devices"
    title = N_("Devices")
    manager = BooleanProperty(False)
    """The open session may import a catalog."""
    scanner_text = StringProperty("")
    scanner_testing = BooleanProperty(False)
    scanner_reads = ListProperty([])
    """The latest scanner test reads in words, newest first."""
    printer_text = StringProperty("")
    reader_text = StringProperty("")
    """The reader's status as "label: value" lines."""
    reader_display_text = StringProperty("")
    usb_path = StringProperty("")
    usb_problem_text = StringProperty("")
    usb_files = ListProperty([])
    import_text = StringProperty("")
    importing = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._session_opened_at: object = None

    # ------------------------------------------------------------------ reading

    def refresh(self) -> None:
        """Read the scanner state, the session's role and the USB stick again."""
        if self.app is None:  # a notice that came while the app stopped
            return
        staff = self.app.kiosk.staff
        session = staff.session
        opened_at = session.opened_at if session is not None else None
        if opened_at != self._session_opened_at:  # a new visit: forget the last one's answers
            self._session_opened_at = opened_at
            self._forget_answers()
        self.manager = bool(staff.may("catalog_import"))
        state = str(getattr(staff.scanner_state, "value", staff.scanner_state))
        self.scanner_text = code_words(self.app, SCANNER_STATES, state)
        self._read_usb()

    def on_notice(self, notice: Notice) -> None:
        """A scanner test read is added to the list; other notices refresh the page."""
        if isinstance(notice, ScannerTestRead):
            self.scanner_reads = [self._read_text(notice), *self.scanner_reads][:SCANNER_READS]
            return
        self.refresh()

    def _forget_answers(self) -> None:
        self.scanner_testing = False
        self.scanner_reads = []
        self.printer_text = self.reader_text = self.reader_display_text = ""
        self.import_text = ""
        self.importing = False

    def _read_text(self, read: ScannerTestRead) -> str:
        tr = self.app.tr
        code = symbology_shown(read.code)
        if read.outcome == "ok":
            return str(tr("{code}: {product}", code=code, product=read.product))
        if read.outcome in SCAN_OUTCOMES:
            return str(tr(SCAN_OUTCOMES[read.outcome], code=code))
        return str(tr("Not read ({reason}) {code}", reason=read.outcome, code=code).strip())

    def _read_usb(self) -> None:
        staff = self.app.kiosk.staff
        files, problem = staff.usb_catalogs()
        self.usb_path = str(staff.usb_mount_path)
        self.usb_problem_text = code_words(
            self.app, USB_PROBLEMS, problem, path=self.usb_path) if problem else ""
        if list(files) != list(self.usb_files):
            self.usb_files = list(files)
            self._list_usb_files()

    def _list_usb_files(self) -> None:
        box = self.ids.usb_files
        box.clear_widgets()
        for name in self.usb_files:
            row = UsbCatalogRow(file_name=name, allowed=self.manager)
            row.bind(on_import=lambda _row, chosen: self.import_catalog(chosen))
            box.add_widget(row)

    def on_manager(self, _page: StaffPage, manager: bool) -> None:
        """Enable or disable every "Import" button with the session's role."""
        box = self.ids.get("usb_files")
        for row in box.children if box is not None else ():
            row.allowed = manager

    # ------------------------------------------------------------------ scanner

    def test_scanner(self) -> None:
        """Scans are read back here instead of going into the cart until the menu closes."""
        self.app.kiosk.staff.start_scanner_test()
        self.scanner_testing = True
        self.scanner_reads = []

    # ------------------------------------------------------------------ printer

    def print_test_page(self) -> None:
        """Print the test page; the outcome shows under the printer's buttons."""
        self.printer_text = self.app.tr("Printing...")
        self.app.kiosk.staff.printer_test(self._printer_answer)

    def check_printer(self) -> None:
        """Ask the printer how it is."""
        self.printer_text = self.app.tr("Asking the printer...")
        self.app.kiosk.staff.printer_status(self._printer_answer)

    def _printer_answer(self, code: str) -> None:
        self.printer_text = code_words(self.app, PRINTER_WORDS, code)

    # ------------------------------------------------------------------ card reader

    def check_reader(self) -> None:
        """Ask Stripe about the registered reader; its fields show as lines."""
        self.reader_text = self.app.tr("Asking the reader...")
        self.app.kiosk.staff.reader_status(self._reader_answer)

    def _reader_answer(self, status: dict[str, str]) -> None:
        tr = self.app.tr
        lines = []
        for key, label in READER_FIELDS.items():
            value = status.get(key)
            if value:
                shown = tr(READER_VALUES[value]) if value in READER_VALUES else value
                lines.append(f"{tr(label)}: {shown}")
        self.reader_text = "\n".join(lines) or tr("The reader gave no answer.")

    def test_reader_display(self) -> None:
        """Show a one-line test cart on the reader's screen."""
        self.reader_display_text = self.app.tr("Asking the reader...")
        self.app.kiosk.staff.reader_display_test(self._reader_display_answer)

    def clear_reader(self) -> None:
        """Clear the reader's screen."""
        self.reader_display_text = self.app.tr("Asking the reader...")
        self.app.kiosk.staff.clear_reader_display(self._reader_display_answer)

    def _reader_display_answer(self, code: str) -> None:
        self.reader_display_text = code_words(self.app, READER_WORDS, code)

    # ------------------------------------------------------------------ catalog

    def import_catalog(self, file_name: str) -> None:
        """Import ``file_name`` from the USB stick (managers); a tap while an import runs
        does nothing (the store worker would import the file twice)."""
        if self.importing:
            return
        self.importing = True
        self.import_text = self.app.tr("Importing {file}...", file=file_name)
        self.app.kiosk.staff.import_catalog(file_name, self._import_answer)

    def _import_answer(self, code: str, imported: int, problems: list[str]) -> None:
        self.importing = False
        tr = self.app.tr
        if code == "imported":
            self.import_text = tr.ntr("Imported {n} product", "Imported {n} products", imported)
        elif code == "rejected":
            self.import_text = "\n".join(
                [tr(IMPORT_WORDS["rejected"]), *problems[:IMPORT_PROBLEMS_SHOWN]])
        else:
            self.import_text = code_words(self.app, IMPORT_WORDS, code)
