"""What the facade tells its host (the UI, the console, tests): one small dataclass per event.

Every notice is delivered on the main thread, through the listeners registered with
``Kiosk.listen``. Notices carry codes, never sentences: only the UI turns them into words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.core.checkout import Checkout
from kiosk.core.checkout_states import AttendantReason, ReceiptChoice
from kiosk.core.pins import PinOutcome
from kiosk.core.tax import Totals


@dataclass(frozen=True)
class SessionChanged:
    """The checkout moved on: redraw from ``checkout`` (state, cart, reasons) and ``totals``.

    ``sale_number`` is the per-kiosk number of the open sale once the store has recorded it.
    """

    checkout: Checkout
    totals: Totals | None
    sale_number: int | None


@dataclass(frozen=True)
class ScanRejected:
    """A frame from the scanner was not a usable barcode; ``reason`` is a BarcodeError code."""

    reason: str


@dataclass(frozen=True)
class AttendantCalled:
    """The customer needs an attendant for ``reason`` (light, back office, on-screen call)."""

    reason: AttendantReason
    sale_id: str | None


@dataclass(frozen=True)
class IdlePromptShown:
    """Ask the customer "are you still there?" (a countdown follows)."""


@dataclass(frozen=True)
class CartRefused:
    """A cart change or a request was refused; ``code`` is a CartOutcome, Refusal or
    KioskRefusal value."""

    code: str


@dataclass(frozen=True)
class StaffChecked:
    """The outcome of a staff PIN entered at the kiosk (never the PIN itself).

    ``outcome`` is ``ok`` or why not (wrong_pin, locked, unknown_staff, no_pin, inactive,
    not_allowed for a role that may not approve); ``locked_until`` is set while locked out.
    """

    outcome: PinOutcome | str
    staff_number: int
    tries_left: int | None
    locked_until: datetime | None


@dataclass(frozen=True)
class SaleEnded:
    """The paid sale's screens are done; ``receipt`` is the customer's choice or ``None``."""

    sale_id: str
    receipt: ReceiptChoice | None


@dataclass(frozen=True)
class ScannerStateChanged:
    """The barcode scanner's connection changed: ``state`` is connecting, connected,
    disconnected or stopped (the UI shows a banner while it is not connected)."""

    state: str


@dataclass(frozen=True)
class PaymentsAvailability:
    """Card payments became available or unavailable; ``reason`` is a code such as
    ``stripe_unreachable``, ``reader_offline``, ``no_stripe_key`` (the UI tells customers
    before they scan)."""

    available: bool
    reason: str


@dataclass(frozen=True)
class PaymentRecovery:
    """Unfinished payments at start-up: ``checking`` ("Checking the last payment..."),
    ``settled``, or ``call_staff`` with the sales still in doubt (they stay locked)."""

    state: str
    unresolved_sale_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReceiptPrinted:
    """The receipt of ``sale_id`` came out of the printer."""

    sale_id: str


@dataclass(frozen=True)
class ReceiptUnavailable:
    """The receipt of ``sale_id`` could not be printed (``status``: offline, paper_out...);
    ``will_retry`` while inside the retry window. ``ereceipt_url`` is the QR e-receipt to
    offer instead, or ``None`` when there is no back office (the QR option stays hidden)."""

    sale_id: str
    status: str
    will_retry: bool
    ereceipt_url: str | None


@dataclass(frozen=True)
class StoreTrouble:
    """A database write failed; the kiosk keeps the sale in memory and retries with the next
    change. ``detail`` is for the log and the staff menu, not for customers."""

    detail: str


@dataclass(frozen=True)
class StaffMenuChanged:
    """The staff menu opened (a right PIN) or closed. ``reason``: ``login`` (the corner
    button), ``call`` (a PIN at an attendant call that needs a decision), ``logout`` (back to
    the customer), ``timeout`` (no touch for ``[staff] menu_timeout_s``), ``resolved`` (the
    call the menu was opened for is settled) or ``closing`` (the kiosk stops)."""

    open: bool
    reason: str
    staff_number: int | None = None
    role: str | None = None


@dataclass(frozen=True)
class ScannerTestRead:
    """The scanner test is on: a frame was read and NOT added to the cart. ``code`` is what
    the scan was understood as (or empty), ``outcome`` is ``ok``, ``not_in_catalog`` or the
    rejection reason of the barcode, ``product`` the catalog name when found."""

    code: str
    outcome: str
    product: str = ""


@dataclass(frozen=True)
class KioskClosedChanged:
    """Staff opened or closed the kiosk (stored: it survives restarts)."""

    closed: bool


@dataclass(frozen=True)
class AppExitRequested:
    """A manager restarts or leaves the app: the host stops and the process exits with
    ``code`` (``kiosk.staff_menu.EXIT_RESTART`` or ``EXIT_LEFT_BY_STAFF``)."""

    code: int


@dataclass(frozen=True)
class RuntimeSettingChanged:
    """A manager changed a runtime setting (``sound.volume``, ``shop.default_language``)."""

    key: str
    value: bool | int | str


@dataclass(frozen=True)
class InspectionRecorded:
    """A card-reader inspection was recorded; ``passed`` when no tampering was seen and the
    serial number matched."""

    passed: bool


@dataclass(frozen=True)
class StaffActionDone:
    """A staff action finished: ``action`` (a name of ``kiosk.staff_menu.ACTIONS``) and its
    ``code`` (``ok`` or why not)."""

    action: str
    code: str


Notice = (
    SessionChanged
    | ScanRejected
    | AttendantCalled
    | IdlePromptShown
    | CartRefused
    | StaffChecked
    | SaleEnded
    | ScannerStateChanged
    | PaymentsAvailability
    | PaymentRecovery
    | ReceiptPrinted
    | ReceiptUnavailable
    | StoreTrouble
    | StaffMenuChanged
    | ScannerTestRead
    | KioskClosedChanged
    | AppExitRequested
    | RuntimeSettingChanged
    | InspectionRecorded
    | StaffActionDone
)
