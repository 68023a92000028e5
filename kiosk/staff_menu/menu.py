"""`StaffMenu`: the staff menu the screens, the console and the tests drive, composed of parts.

Each part is given the kiosk's `MenuHost` and the shared `SignedIn` holder, and none knows
another: `MenuAccess` signs staff in and out, `SalesAndRefunds` works on the sale on screen
and today's sales, `DeviceTests` checks the scanner, printer and reader and imports a catalog
from a USB stick, `KioskControls` opens and closes the kiosk, changes settings, restarts,
reboots and shows sync and the audit log. `StaffMenu` only hands each call to its part (the
full description of each call is on the part's method). Everything runs on the main thread;
``then`` callbacks are called there too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kiosk.staff_menu.access import MenuAccess
from kiosk.staff_menu.device_tests import DeviceTests
from kiosk.staff_menu.host import MenuHost
from kiosk.staff_menu.kiosk_controls import KioskControls
from kiosk.staff_menu.sales import SalesAndRefunds
from kiosk.staff_menu.session import StaffSession
from kiosk.staff_menu.signed_in import SignedIn

if TYPE_CHECKING:
    from kiosk.payments.alerts import PaymentAlerts
    from kiosk.payments.awaiting import AwaitingPayment
    from kiosk.receipts.jobs import UnprintedReceipt
    from kiosk.store.audit import AuditEntry
    from kiosk.store.inspections import InspectionStatus
    from kiosk.store.sales_report import SaleDetail, SaleSummary
    from kiosk.store.staff import Lockout, StaffMember
    from kiosk.sync.relay import SyncStatus


class StaffMenu:
    """The staff menu of one kiosk (see the module docstring)."""

    def __init__(self, host: MenuHost) -> None:
        self._signed_in = SignedIn(host)
        self._access = MenuAccess(host, self._signed_in)
        self._sales = SalesAndRefunds(host, self._signed_in)
        self._devices = DeviceTests(host, self._signed_in)
        self._controls = KioskControls(host, self._signed_in)

    # ------------------------------------------------------------- signing in and out

    @property
    def session(self) -> StaffSession | None:
        """The open staff session, or ``None`` while customers have the screen."""
        return self._signed_in.session

    def may(self, action: str) -> bool:
        """True when a staff session is open and its role allows ``action``."""
        return self._signed_in.may(action)

    def log_in(self, staff_number: int, pin: str) -> None:
        """Check a number and PIN and open the menu (`MenuAccess.log_in`)."""
        self._access.log_in(staff_number, pin)

    def open_for_call(self, member: StaffMember) -> None:
        """Open the menu on an attendant call that needs a decision."""
        self._access.open_for_call(member)

    def log_out(self) -> None:
        """"Back to the customer": close the menu (one audit row, outcome ``logout``)."""
        self._access.log_out()

    def touch(self) -> None:
        """A touch while the menu is open: the inactivity timeout starts again."""
        self._signed_in.touch()

    def tick(self) -> None:
        """Close the menu after ``[staff] menu_timeout_s`` without a touch."""
        self._access.tick()

    def settle_call_session(self) -> None:
        """Close a menu opened for an attendant call once the call is settled."""
        self._signed_in.settle_call()

    # ------------------------------------------------------- the sale and today's sales

    @property
    def tax_classes(self) -> list[tuple[str, str]]:
        """(code, label) of the shop's tax classes, for pricing an unknown item."""
        return self._sales.tax_classes

    @property
    def currency(self) -> str:
        """The shop's currency code."""
        return self._sales.currency

    def price_item(self, unit_price_minor: int, tax_class: str) -> None:
        """Add the item of the open call at this price and tax class."""
        self._sales.price_item(unit_price_minor, tax_class)

    def override_limit(self) -> None:
        """Allow the item that broke a cart limit."""
        self._sales.override_limit()

    def leave_out(self) -> None:
        """Close an unknown-item, weighed-item or limit call without the item."""
        self._sales.leave_out()

    def void_line(self, line_id: int) -> None:
        """Remove a line of the customer's cart."""
        self._sales.void_line(line_id)

    def todays_sales(self) -> list[SaleSummary]:
        """This kiosk's sales opened today in the shop's time zone, newest first."""
        return self._sales.todays_sales()

    def sale_detail(self, sale_id: str) -> SaleDetail | None:
        """One sale's lines, payment, refunds and receipts (``None`` if unknown)."""
        return self._sales.sale_detail(sale_id)

    def refundable_minor(self, sale_id: str) -> int:
        """What is left to refund of a paid sale, in minor units (0 if not paid)."""
        return self._sales.refundable_minor(sale_id)

    def refund(
        self, sale_id: str, amount_minor: int | None, then: Callable[[str], None]
    ) -> None:
        """Refund a paid sale to its card (`SalesAndRefunds.refund`)."""
        self._sales.refund(sale_id, amount_minor, then)

    def reprint(self, sale_id: str, then: Callable[[str], None]) -> None:
        """Print a copy (marked COPY) of a paid sale's receipt."""
        self._sales.reprint(sale_id, then)

    def unprinted(self) -> list[UnprintedReceipt]:
        """Receipts that never printed (the customer asked for one), oldest first."""
        return self._sales.unprinted()

    def awaiting_recovery(self) -> list[AwaitingPayment]:
        """Card payments the kiosk could not settle yet, with what it knows about each."""
        return self._sales.awaiting_recovery()

    def check_payments_again(self, then: Callable[[str], None]) -> None:
        """Ask Stripe about the payments in doubt now (reconcile)."""
        self._sales.check_payments_again(then)

    def payment_alerts(self) -> PaymentAlerts:
        """Card-payment alerts that stay until dealt with (`SalesAndRefunds.payment_alerts`)."""
        return self._sales.payment_alerts()

    def acknowledge_lost_authorisation(self, sale_id: str,
                                       then: Callable[[str], None]) -> None:
        """Acknowledge a lost authorisation (`SalesAndRefunds.acknowledge_lost_authorisation`)."""
        self._sales.acknowledge_lost_authorisation(sale_id, then)

    # ------------------------------------------------------------------ device tests

    @property
    def scanner_state(self) -> str:
        """``connected``, ``disconnected`` or ``stopped``."""
        return self._devices.scanner_state

    def start_scanner_test(self) -> None:
        """Staff start the scanner test (one audit row)."""
        self._devices.start_scanner_test()

    def scanner_test_read(self, raw: bytes) -> None:
        """A frame read while the menu is open: tell staff what it is, add nothing."""
        self._devices.scanner_test_read(raw)

    def printer_test(self, then: Callable[[str], None]) -> None:
        """Print a test page; ``then("printed")``, a printer status or ``no_printer``."""
        self._devices.printer_test(then)

    def printer_status(self, then: Callable[[str], None]) -> None:
        """Ask the printer how it is: ``then("ready")``, another status or ``no_printer``."""
        self._devices.printer_status(then)

    def reader_status(self, then: Callable[[dict[str, str]], None]) -> None:
        """The card reader as Stripe sees it, as words for staff."""
        self._devices.reader_status(then)

    def reader_display_test(self, then: Callable[[str], None]) -> None:
        """Show a one-line test cart on the reader: ``then("shown")`` or why not."""
        self._devices.reader_display_test(then)

    def clear_reader_display(self, then: Callable[[str], None]) -> None:
        """Clear the reader's display: ``then("cleared")`` or why not."""
        self._devices.clear_reader_display(then)

    @property
    def usb_mount_path(self) -> str:
        """Where a USB stick with a catalog is mounted (``[catalog] usb_mount_path``)."""
        return self._devices.usb_mount_path

    def usb_catalogs(self) -> tuple[list[str], str]:
        """The catalog files on the USB stick and, when there are none, why."""
        return self._devices.usb_catalogs()

    def import_catalog(
        self, file_name: str, then: Callable[[str, int, list[str]], None]
    ) -> None:
        """Import a catalog file from the USB stick (`DeviceTests.import_catalog`)."""
        self._devices.import_catalog(file_name, then)

    @property
    def _require_mount(self) -> bool:
        """False in tests: CI cannot mount a USB stick (`DeviceTests.require_mount`)."""
        return self._devices.require_mount

    @_require_mount.setter
    def _require_mount(self, required: bool) -> None:
        self._devices.require_mount = required

    # ----------------------------------------------------------------- kiosk controls

    @property
    def closed(self) -> bool:
        """True while staff have closed the kiosk (stored; survives restarts)."""
        return self._controls.closed

    def set_closed(self, closed: bool) -> None:
        """Close the kiosk or open it (`KioskControls.set_closed`)."""
        self._controls.set_closed(closed)

    @property
    def languages(self) -> list[str]:
        """The shop's configured languages."""
        return self._controls.languages

    def runtime_settings(self) -> list[tuple[str, str, object]]:
        """(key, description, value) of every setting staff may change."""
        return self._controls.runtime_settings()

    def change_setting(self, key: str, value: object) -> str:
        """Change a runtime setting (`KioskControls.change_setting`)."""
        return self._controls.change_setting(key, value)

    def config_text(self) -> str:
        """The config file as it was read (read-only), or the settings in effect."""
        return self._controls.config_text()

    def restart_app(self) -> str:
        """Restart the app (`KioskControls.restart_app`)."""
        return self._controls.restart_app()

    def leave_app(self) -> str:
        """Leave the app for the desktop or a shell (`KioskControls.leave_app`)."""
        return self._controls.leave_app()

    def reboot(self, then: Callable[[str], None]) -> None:
        """Reboot the machine through logind (`KioskControls.reboot`)."""
        self._controls.reboot(then)

    def power_off(self, then: Callable[[str], None]) -> None:
        """Turn the machine off through logind (`KioskControls.power_off`)."""
        self._controls.power_off(then)

    def inspection_status(self) -> InspectionStatus:
        """The last card-reader inspection and whether the next one is overdue."""
        return self._controls.inspection_status()

    def recent_lockouts(self) -> list[Lockout]:
        """Staff lockouts of the last 24 hours, newest first (the notice at the top of the
        menu; each was also sent to the back office as a ``staff.locked_out`` event)."""
        return self._controls.recent_lockouts()

    def record_inspection(
        self, *, serial_matches: bool, no_tampering: bool, reader_serial: str | None
    ) -> None:
        """Record a card-reader inspection (PCI DSS 9.5.1)."""
        self._controls.record_inspection(
            serial_matches=serial_matches, no_tampering=no_tampering,
            reader_serial=reader_serial,
        )

    def sync_status(self) -> SyncStatus | None:
        """Where back-office sync stands, or ``None`` while sync is off."""
        return self._controls.sync_status()

    def sync_now(self) -> None:
        """Send what is waiting to the back office now (one audit row, ``sync.now``)."""
        self._controls.sync_now()

    def recent_audit(self, limit: int = 50) -> list[AuditEntry]:
        """The latest audit rows, newest first."""
        return self._controls.recent_audit(limit)
