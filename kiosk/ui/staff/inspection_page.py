"""The staff menu's card-reader inspection page (PCI DSS 9.5.1).

Staff look at the reader for signs of tampering and compare its serial number with the one
Stripe has registered, then record what they found. Both answers start as "no": staff switch
on what they checked. A failed inspection is recorded too, and the page tells staff to take the
reader out of use. The page shows the last inspection and when the next one is due, in the
danger colour when it is overdue.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, StringProperty

from kiosk.notices import InspectionRecorded, Notice
from kiosk.ui.i18n import N_
from kiosk.ui.staff.audit_page import shop_time
from kiosk.ui.staff.page import StaffPage


class InspectionPage(StaffPage):
    """Card-reader inspection (``kv/staff_inspection.kv``)."""

    page_name = "inspection"
    title = N_("Reader inspection")
    reader_serial = StringProperty("")
    """The registered reader's serial number, as Stripe reports it (empty until known)."""
    serial_text = StringProperty("")
    last_text = StringProperty("")
    due_text = StringProperty("")
    overdue = BooleanProperty(False)
    no_tampering = BooleanProperty(False)
    serial_matches = BooleanProperty(False)
    recording = BooleanProperty(False)
    result_text = StringProperty("")
    result_failed = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._session_opened_at: object = None

    def refresh(self) -> None:
        """Read the inspection duty; ask the reader's serial number once per menu visit."""
        if self.app is None:  # a notice that came while the app stopped
            return
        app = self.app
        staff = app.kiosk.staff
        session = staff.session
        opened_at = session.opened_at if session is not None else None
        if opened_at != self._session_opened_at:
            self._session_opened_at = opened_at
            self.no_tampering = self.serial_matches = False
            self.result_text = ""
            self.result_failed = False
            self.read_serial()
        status = staff.inspection_status()
        last = status.last
        if last is None:
            self.last_text = app.tr("The reader has never been inspected.")
        else:
            words = app.tr("passed") if last.passed else app.tr("failed")
            self.last_text = app.tr(
                "Last inspection: {time} by staff {number}: {outcome}",
                time=shop_time(app, last.at), number=last.staff_number, outcome=words,
            )
        self.overdue = bool(status.overdue)
        if status.due_at is None:
            self.due_text = app.tr("An inspection is overdue.")
        elif status.overdue:
            self.due_text = app.tr("An inspection is overdue (due {time}).",
                                   time=shop_time(app, status.due_at))
        else:
            self.due_text = app.tr("Next inspection due: {time}",
                                   time=shop_time(app, status.due_at))

    def read_serial(self) -> None:
        """Ask Stripe for the registered reader's serial number."""
        self.serial_text = self.app.tr("Asking the reader...")
        self.app.kiosk.staff.reader_status(self._reader_answer)

    def _reader_answer(self, status: dict[str, str]) -> None:
        self.reader_serial = status.get("serial_number", "") or ""
        if self.reader_serial:
            self.serial_text = self.app.tr(
                "Registered serial number: {serial}", serial=self.reader_serial)
        else:
            self.serial_text = self.app.tr("The serial number could not be read.")

    def record(self) -> None:
        """Record the inspection with both answers as they stand (a failed one too)."""
        self.recording = True
        self.result_text = self.app.tr("Recording...")
        self.result_failed = False
        self.app.kiosk.staff.record_inspection(
            serial_matches=self.serial_matches,
            no_tampering=self.no_tampering,
            reader_serial=self.reader_serial or None,
        )

    def on_notice(self, notice: Notice) -> None:
        """Say how the recorded inspection went, then read the duty again."""
        if isinstance(notice, InspectionRecorded):
            tr = self.app.tr
            self.recording = False
            self.result_failed = not notice.passed
            self.result_text = tr("Inspection recorded: passed.") if notice.passed else tr(
                "Inspection recorded: failed. Take the reader out of use and tell the manager.")
            self.no_tampering = self.serial_matches = False
        self.refresh()
