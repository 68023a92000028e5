"""The kiosk's typed settings: one frozen dataclass per table of ``kiosk.toml``.

Every field is documented with its unit (the unit is also in the key's name: ``_s`` seconds,
``_ms`` milliseconds, ``_days`` days, ``_mm`` millimetres). Unknown keys are refused (the
walk of :mod:`kiosk.config.tables`) so a typo cannot pass silently. Only ``kiosk_id`` and the
``[shop]`` table are required; everything else has a default suited to a small shop.

:class:`Settings` also builds the pure core's rule objects (:meth:`Settings.tax_policy`,
:meth:`Settings.cart_limits`, :meth:`Settings.scan_rules`), so ``kiosk.core`` never sees how
settings are stored. Secrets are never part of these tables (see :mod:`kiosk.config.secrets`).
"""

# No `from __future__ import annotations` here: the annotations are made with the classes, so
# the settings walk reads them as they are instead of parsing ninety strings at every start.

import zoneinfo
from dataclasses import field
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
)
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_precision

from kiosk.config import values
from kiosk.config.audio import AudioSettings
from kiosk.config.tables import Check, SettingsTable, Tagged
from kiosk.core.shop_rules import (
    CartLimits,
    ScanRules,
    TaxClass,
    TaxMode,
    TaxPolicy,
    TaxRounding,
    VariableMeasureLayout,
)

if TYPE_CHECKING:
    from kiosk.core.checkout_events import CheckoutTimers

_ROUNDING_MODES = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "half_down": ROUND_HALF_DOWN,
    "up": ROUND_UP,
    "down": ROUND_DOWN,
}


class ShopSettings(SettingsTable):
    """``[shop]``: who the shop is and how it counts money and time. Required."""

    name: Annotated[str, Check(values.text(64, empty_allowed=False))]
    """The shop's name, printed at the top of every receipt."""

    address: tuple[Annotated[str, Check(values.text(64))], ...] = ()
    """Receipt header lines under the name, such as the street and the town."""

    currency: Annotated[str, Check(values.currency_code)]
    """The shop's currency as an ISO 4217 code, such as "EUR"; amounts are kept in its minor
    units (cents). Required: there is no default."""

    locale: Annotated[str, Check(values.locale_name)]
    """The locale used to format money, dates and numbers, such as "de_DE". Required."""

    time_zone: Annotated[str, Check(values.time_zone_name)]
    """The shop's IANA time zone, such as "Europe/Berlin": times are stored in UTC and shown
    in this zone. Required."""

    languages: Annotated[
        tuple[Annotated[str, Check(values.locale_name)], ...],
        Check(values.at_least_one('expected at least one language, such as ["en"]')),
    ] = ()
    """Languages offered on the attract screen, first is the default, such as ["en", "de"];
    default: the language of ``locale`` only."""

    logo: Annotated[str, Check(values.logo_path)] = ""
    """An absolute path to the shop's logo, a PNG or JPEG picture, shown in the customer
    screens' top bar and on the attract screen instead of the shop's name; default: none (the
    name). A missing or unreadable file is logged and the name shows instead."""

    accent_colour: Annotated[str, Check(values.accent_colour)] = ""
    """The shop's colour as "#RRGGBB", used where the screens use their accent (the Pay button,
    primary actions, the call to scan); default: the theme's blue. White or near-black text
    on it must reach 4.5:1 (WCAG AA), it must read as text on the light screen, and grey text
    on its tint (the freshly scanned cart line) must stay readable; the high-contrast mode
    keeps its own colours where this one would break 7:1."""

    @classmethod
    def _prepare(cls, given: dict[str, Any]) -> dict[str, Any]:
        """Without ``languages``, the language of ``locale`` is the only one."""
        if "languages" in given:
            return given
        try:
            language = Locale.parse(str(given.get("locale", "")).replace("-", "_")).language
        except (ValueError, TypeError, UnknownLocaleError):
            return given  # the locale's own check reports the problem
        return {**given, "languages": [language]}

    def zone(self) -> zoneinfo.ZoneInfo:
        """Return the shop's time zone, for showing stored UTC times."""
        return zoneinfo.ZoneInfo(self.time_zone)


class TaxClassSettings(SettingsTable):
    """``[tax.classes.<code>]``: one tax class that products name in their ``tax_class``."""

    rate_percent: Annotated[
        Decimal, Check(values.decimal_number(Decimal(0), Decimal(100)))
    ]
    """The tax rate in percent, as a string or number such as "19" or "7.5"."""

    label: Annotated[str, Check(values.text(32))] = ""
    """Short name printed on the receipt's tax summary, such as "VAT 19%"."""


class TaxSettings(SettingsTable):
    """``[tax]``: how tax is computed on a sale."""

    mode: Annotated[
        Literal["inclusive", "exclusive"], Check(values.one_of("inclusive", "exclusive"))
    ] = "inclusive"
    """"inclusive" when shelf prices contain tax, "exclusive" when tax is added on top."""

    rounding: Annotated[
        Literal["per_line", "per_invoice"],
        Check(values.one_of("per_line", "per_invoice")),
    ] = "per_line"
    """Where tax is rounded to minor units: on each line, or once per rate on the invoice."""

    rounding_mode: Annotated[
        Literal["half_up", "half_even", "half_down", "up", "down"],
        Check(values.one_of(*_ROUNDING_MODES)),
    ] = "half_up"
    """How a tax amount is rounded to minor units."""

    classes: dict[Annotated[str, Check(values.tax_class_code)], TaxClassSettings] = field(
        default_factory=dict
    )
    """The tax classes by code, such as ``standard`` and ``reduced``. Products whose tax class
    is not listed here cannot be sold."""


class LimitSettings(SettingsTable):
    """``[limits]``: beyond these the customer is sent to an attendant."""

    max_quantity_per_line: Annotated[int, Check(values.whole_number(1, 9999))] = 99
    """The most items of one product on one cart line (a count)."""

    max_lines_per_cart: Annotated[int, Check(values.whole_number(1, 1000))] = 100
    """The most lines on one cart (a count)."""

    max_cart_total: Annotated[
        Decimal, Check(values.decimal_number(Decimal(0), low_allowed=False))
    ] = Decimal("500.00")
    """The highest cart total in major units of the currency, as a string such as "500.00";
    it may not have more decimals than the currency has minor digits."""


class VariableMeasureSettings(SettingsTable):
    """``[[barcodes.variable_measure]]``: one in-store EAN-13 layout carrying price or weight.

    The 13 digits are: prefix (2) + item digits + optional price check digit + value digits
    + the EAN check digit, so ``item_digits + value_digits + price_check_digit`` is 10.
    """

    prefixes: Annotated[
        tuple[Annotated[str, Check(values.in_store_prefix)], ...],
        Check(values.at_least_one('expected at least one prefix, such as ["20"]')),
    ]
    """The two-digit prefixes using this layout, such as ["20", "21"]."""

    item_digits: Annotated[int, Check(values.whole_number(1, 9))] = 5
    """How many digits name the item (its PLU)."""

    value_digits: Annotated[int, Check(values.whole_number(1, 9))] = 5
    """How many digits carry the value (price in minor units, or weight in grams)."""

    price_check_digit: Annotated[bool, Check(values.flag)] = False
    """Whether a price check digit sits between the item and the value."""

    value: Annotated[
        Literal["price", "weight"], Check(values.one_of("price", "weight"))
    ] = "price"
    """What the value digits carry: "price" (minor units) or "weight" (grams)."""

    def _consistent(self) -> None:
        """The item digits, the value digits and the price check digit make ten."""
        check = int(self.price_check_digit)
        if self.item_digits + self.value_digits + check != 10:
            raise values.bad_key(
                ("value_digits",),
                "item_digits + value_digits + price_check_digit must make 10 "
                f"(here {self.item_digits} + {self.value_digits} + {check})",
                self.value_digits,
            )

    def layout(self) -> VariableMeasureLayout:
        """Return the pure core's layout for this table."""
        return VariableMeasureLayout(
            prefixes=self.prefixes,
            item_digits=self.item_digits,
            value_digits=self.value_digits,
            price_check_digit=self.price_check_digit,
            value=self.value,
        )


class BarcodeSettings(SettingsTable):
    """``[barcodes]``: how in-store barcodes are read."""

    variable_measure: tuple[VariableMeasureSettings, ...] = ()
    """In-store variable-measure layouts; a prefix may appear in one layout only."""

    def _consistent(self) -> None:
        """Each prefix is in one layout only."""
        seen: set[str] = set()
        for index, layout in enumerate(self.variable_measure):
            for prefix in layout.prefixes:
                if prefix in seen:
                    raise values.bad_key(
                        ("variable_measure", index, "prefixes"),
                        f'prefix "{prefix}" is already used by an earlier layout',
                        list(layout.prefixes),
                    )
                seen.add(prefix)


class CatalogSettings(SettingsTable):
    """``[catalog]``: who owns the product catalog, and where staff bring a CSV file from."""

    source: Annotated[
        Literal["csv", "backoffice"], Check(values.one_of("csv", "backoffice"))
    ] = "csv"
    """"csv" when staff import a CSV file, "backoffice" when the back office sends it."""

    usb_mount_path: Annotated[Path, Check(values.absolute_path)] = Path(
        "/media/kiosk-usb"
    )
    """Absolute directory where a staff member's USB stick is mounted; the staff menu lists
    the catalog CSV files at its top level for import. The kiosk service's automount rule
    mounts the stick here."""


class ScannerSettings(SettingsTable):
    """``[scanner]``: the barcode scanner's serial line and how scans are framed."""

    port: Annotated[str, Check(values.serial_port)] = "virtual"
    """"virtual" for the built-in twin, or a stable device path such as "/dev/kiosk-scanner"."""

    baudrate: Annotated[
        int,
        Check(
            values.whole_number_in(1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
        ),
    ] = 9600
    """Line speed in bits per second."""

    bytesize: Annotated[int, Check(values.whole_number_in(5, 6, 7, 8))] = 8
    """Data bits per character."""

    parity: Annotated[
        Literal["N", "E", "O", "M", "S"], Check(values.one_of("N", "E", "O", "M", "S"))
    ] = "N"
    """Parity: "N" none, "E" even, "O" odd, "M" mark, "S" space."""

    stopbits: Annotated[float, Check(values.stop_bits)] = 1.0
    """Stop bits per character: 1, 1.5 or 2."""

    frame_end: Annotated[
        Literal["line", "idle"], Check(values.one_of("line", "idle"))
    ] = "line"
    """How a scan ends: "line" (CR, LF or CRLF) or "idle" (a pause of ``idle_gap_ms``)."""

    idle_gap_ms: Annotated[int, Check(values.whole_number(1, 10_000))] = 50
    """Milliseconds of silence that end a scan when ``frame_end = "idle"``."""

    max_frame_bytes: Annotated[int, Check(values.whole_number(8, 65_536))] = 256
    """Longest accepted scan in bytes; longer input is discarded as noise."""

    double_scan_window_ms: Annotated[int, Check(values.whole_number(0, 10_000))] = 300
    """Milliseconds within which the same code scanned again counts once (0: off)."""


class PrinterSettingsBase(SettingsTable):
    """``[printer]`` keys shared by every transport."""

    paper_width_mm: Annotated[Literal[58, 80], Check(values.whole_number_in(58, 80))] = 80
    """Receipt paper width in millimetres: 58 or 80."""

    code_page: Annotated[
        str,
        Check(
            values.matching(r"[A-Za-z0-9_\-]{1,16}", 'expected a code page name such as "CP858"')
        ),
    ] = "CP858"
    """The printer's character code page, such as "CP858" (Latin-1 with the euro sign)."""

    retry_window_s: Annotated[int, Check(values.whole_number(0, 600))] = 45
    """Seconds after payment during which a failed receipt is retried automatically; later it
    goes to the staff's unprinted list, so a late receipt never prints for the next customer."""


class VirtualPrinterSettings(PrinterSettingsBase):
    """``[printer] transport = "virtual"``: the built-in twin saves each receipt to disk."""

    transport: Literal["virtual"] = "virtual"
    """Selects the virtual printer."""


class NoPrinterSettings(PrinterSettingsBase):
    """``[printer] transport = "none"``: no printer; receipts are offered as QR codes only."""

    transport: Literal["none"] = "none"
    """Selects no printer."""


class SerialPrinterSettings(PrinterSettingsBase):
    """``[printer] transport = "serial"``: a printer on a serial line."""

    transport: Literal["serial"] = "serial"
    """Selects a serial printer."""

    port: Annotated[str, Check(values.serial_port)]
    """A stable device path such as "/dev/kiosk-printer". Required."""

    baudrate: Annotated[
        int, Check(values.whole_number_in(9600, 19200, 38400, 57600, 115200))
    ] = 9600
    """Line speed in bits per second."""


class UsbPrinterSettings(PrinterSettingsBase):
    """``[printer] transport = "usb"``: a USB printer found by its ids."""

    transport: Literal["usb"] = "usb"
    """Selects a USB printer."""

    vendor_id: Annotated[int, Check(values.usb_id)]
    """USB vendor id, a number or a hex string such as "0x04b8". Required."""

    product_id: Annotated[int, Check(values.usb_id)]
    """USB product id, a number or a hex string such as "0x0202". Required."""


class NetworkPrinterSettings(PrinterSettingsBase):
    """``[printer] transport = "network"``: a printer listening on a TCP port."""

    transport: Literal["network"] = "network"
    """Selects a network printer."""

    host: Annotated[str, Check(values.host_name)]
    """The printer's host name or IP address. Required."""

    port: Annotated[int, Check(values.whole_number(1, 65_535))] = 9100
    """The printer's TCP port."""


class FilePrinterSettings(PrinterSettingsBase):
    """``[printer] transport = "file"``: raw ESC/POS bytes appended to a file or device node."""

    transport: Literal["file"] = "file"
    """Selects a file printer."""

    path: Annotated[Path, Check(values.absolute_path)]
    """Absolute path of the file or device node, such as "/dev/usb/lp0". Required."""


PrinterSettings = (
    VirtualPrinterSettings
    | NoPrinterSettings
    | SerialPrinterSettings
    | UsbPrinterSettings
    | NetworkPrinterSettings
    | FilePrinterSettings
)
"""``[printer]``: one table per ``transport``."""

PRINTER_TRANSPORTS: dict[str, type[PrinterSettingsBase]] = {
    "virtual": VirtualPrinterSettings,
    "none": NoPrinterSettings,
    "serial": SerialPrinterSettings,
    "usb": UsbPrinterSettings,
    "network": NetworkPrinterSettings,
    "file": FilePrinterSettings,
}
"""The printer table for each ``transport`` value."""


class DisplaySettings(SettingsTable):
    """``[display]``: the touchscreen and what stands around it."""

    reader_position: Annotated[
        Literal["left", "right", "below"], Check(values.one_of("left", "right", "below"))
    ] = "right"
    """Where the card reader is, seen by the customer facing the screen: "left" or "right"
    of it, or "below" it. The card screen points there with an arrow and names the place
    ("the reader to your right")."""

    diagonal_in: Annotated[Decimal, Check(values.screen_diagonal)] = Decimal(0)
    """The touchscreen's diagonal in inches, such as "10.1": touch targets are made at least
    9 mm on the glass from it. 0 takes it from the resolution: 7 inches for 800x480 and
    1024x600, 10.1 for 1280x800, 15.6 for 1920x1080 and 21.5 for 1080x1920
    (``kiosk.ui.sizing.DEFAULT_DIAGONALS_IN``)."""


class PaymentsSettings(SettingsTable):
    """``[payments]``: which card provider takes card payments."""

    provider: Annotated[Literal["stripe"], Check(values.one_of("stripe"))] = "stripe"
    """The card provider: "stripe" (Stripe Terminal, configured in ``[stripe]``). The names
    are those of ``kiosk.payments.registry.PROVIDERS``."""


class StripeSettings(SettingsTable):
    """``[stripe]``: card payments through a Stripe Terminal reader (server-driven)."""

    api_base: Annotated[
        str, Check(values.web_address(empty_allowed=False, keywords=("embedded",)))
    ] = "embedded"
    """"embedded" for the built-in Stripe emulator, or "https://api.stripe.com"."""

    reader_id: Annotated[
        str, Check(values.stripe_object_id("tmr_", "tmr_FDOt2wlRZEdpd7"))
    ] = ""
    """The Terminal reader's id ("tmr_..."); empty in the demo."""

    location_id: Annotated[
        str, Check(values.stripe_object_id("tml_", "tml_FDOtHwxAAdIJOh"))
    ] = ""
    """The Terminal location's id ("tml_..."); may be empty."""

    request_timeout_s: Annotated[int, Check(values.whole_number(1, 60))] = 10
    """Seconds before one Stripe API request gives up (the outcome is then unknown)."""

    capture: Annotated[
        Literal["automatic", "manual"], Check(values.one_of("automatic", "manual"))
    ] = "automatic"
    """"automatic" captures on authorisation; "manual" captures in a separate step."""

    max_network_retries: Annotated[int, Check(values.whole_number(0, 5))] = 2
    """How often the Stripe library itself retries a failed request (with our idempotency
    key, so a retry never charges twice)."""

    poll_interval_ms: Annotated[int, Check(values.whole_number(100, 2000))] = 500
    """Milliseconds between two looks at the reader and the payment while a payment runs."""

    probe_s: Annotated[int, Check(values.whole_number(5, 3600))] = 600
    """Seconds between two background checks that Stripe and the reader can be reached;
    values below 600 count as 600 (at most 12 Stripe reads an idle hour, docs/PAYMENTS.md)."""

    capture_max_age_s: Annotated[int, Check(values.whole_number(60, 604_800))] = 3600
    """Seconds a payment may wait in "requires_capture" before recovery captures it (its sale
    is recorded here) or cancels it (no sale is)."""

    block_sales_when_unavailable: Annotated[bool, Check(values.flag)] = False
    """Whether the kiosk refuses to start new sales while card payments are unavailable
    (otherwise it only tells the customer before they scan)."""


class BackofficeSettings(SettingsTable):
    """``[backoffice]``: the shop's back office for sync, catalog and e-receipts."""

    url: Annotated[str, Check(values.web_address(empty_allowed=True))] = ""
    """The back office's base address; "" means none (sync off, e-receipts hidden)."""

    receipt_url_template: Annotated[str, Check(values.receipt_url_template)] = (
        "{base_url}/r/{sale_id}"
    )
    """Address of a sale's e-receipt (shown as a QR code); may use {base_url} and {sale_id}."""

    sync_interval_s: Annotated[int, Check(values.whole_number(1, 86_400))] = 30
    """Seconds between sync rounds while nothing is waiting."""

    def receipt_url(self, sale_id: str) -> str:
        """Return the e-receipt address of one sale (empty when there is no back office)."""
        if not self.url:
            return ""
        return self.receipt_url_template.format(base_url=self.url, sale_id=sale_id)


class TimeoutSettings(SettingsTable):
    """``[timeouts]``: how long the kiosk waits for a customer, in seconds."""

    idle_prompt_after_s: Annotated[int, Check(values.whole_number(5, 3600))] = 60
    """Seconds without a touch or scan before "Are you still there?" appears."""

    idle_abandon_after_s: Annotated[int, Check(values.whole_number(5, 3600))] = 30
    """Seconds after that prompt before the cart is abandoned."""

    payment_idle_s: Annotated[int, Check(values.whole_number(10, 600))] = 120
    """Seconds the reader waits for a card (with no touch on the screen) before the payment
    is withdrawn and the customer is back at the cart."""

    authorisation_wait_s: Annotated[int, Check(values.whole_number(5, 600))] = 90
    """Seconds an authorisation in flight (a card was presented) is waited for; it completes
    the sale even if nobody is there. Past this the staff are called."""

    payment_max_s: Annotated[int, Check(values.whole_number(30, 1800))] = 300
    """Seconds after which a payment in which nothing changes is withdrawn and the staff are
    called: polling never runs forever."""

    recovery_s: Annotated[int, Check(values.whole_number(5, 600))] = 30
    """Seconds start-up spends settling an unfinished payment before it shows "please call
    staff" and opens anyway."""

    open_cart_max_age_s: Annotated[int, Check(values.whole_number(0, 86_400))] = 900
    """Seconds: an open cart older than this at start-up is recorded as abandoned."""

    receipt_choice_s: Annotated[int, Check(values.whole_number(5, 600))] = 20
    """Seconds the receipt choice stays on screen before the default applies."""


class RetentionSettings(SettingsTable):
    """``[retention]``: how long old rows are kept, in days, so the SD card does not fill."""

    synced_sales_days: Annotated[int, Check(values.whole_number(8, 3650))] = 90
    """Days a sale is kept after it closed, once the back office has every event of it; at
    least 8, longer than payment recovery looks back at Stripe (7 days), so a recent
    PaymentIntent always finds its sale."""

    acknowledged_outbox_days: Annotated[int, Check(values.whole_number(1, 3650))] = 30
    """Days an acknowledged outbox row is kept."""

    print_data_days: Annotated[int, Check(values.whole_number(1, 3650))] = 7
    """Days the printed bytes of a receipt are kept (for reprints)."""

    audit_days: Annotated[int, Check(values.whole_number(1, 3650))] = 365
    """Days a staff audit row is kept."""


class StaffSettings(SettingsTable):
    """``[staff]``: the maintenance menu: how long it stays open, duties it reminds staff of."""

    reader_inspection_interval_days: Annotated[
        int, Check(values.whole_number(1, 365))
    ] = 7
    """Days between inspections of the card reader for tampering."""

    menu_timeout_s: Annotated[int, Check(values.whole_number(15, 900))] = 90
    """Seconds without a touch after which the staff menu closes itself and the kiosk goes
    back to the customer."""


class BackupSettings(SettingsTable):
    """``[backup]``: where ``kiosk db backup --rotate`` (the nightly kiosk-backup.timer) puts
    the database's copies, and how many it keeps."""

    destination: Annotated[Path, Check(values.absolute_path)] = Path(
        "/media/kiosk-backup"
    )
    """Absolute directory for the dated copies: a USB stick or a network share mounted there,
    not the SD card that holds the database (a dead card would lose both; the backup warns
    when the two share a file system). It must exist: a missing mount point is an error,
    never created on the card."""

    keep_count: Annotated[int, Check(values.whole_number(1, 365))] = 14
    """The most backups kept (a count, the newest first); older ones are deleted."""

    keep_days: Annotated[int, Check(values.whole_number(1, 3650))] = 30
    """Days a backup is kept, by the time in its name; the newest is always kept."""

    interval_hours: Annotated[int, Check(values.whole_number(1, 168))] = 24
    """Hours between two backups: ``kiosk doctor`` warns when the newest is older than twice
    this (at least 2 days). The shipped kiosk-backup.timer runs daily; for another interval
    change its ``OnCalendar=`` in a drop-in too."""


STRIPE_RETRY_PAUSES_S = 12.5
"""The most the stripe library sleeps between the retries of one request, in seconds: its
back-off doubles from 0.5 s and is capped at 5 s a pause (stripe 16), so 5 retries (the most
``max_network_retries`` allows) pause 0.5 + 1 + 2 + 4 + 5 s at most."""


class ServiceSettings(SettingsTable):
    """``[service]``: how the kiosk behaves as a systemd service (``kiosk.service``)."""

    heartbeat_stale_s: Annotated[int, Check(values.whole_number(10, 600))] = 60
    """Seconds a worker loop (store, scanner, payments, printer, sync) may go without a turn
    before the systemd watchdog is no longer pinged (systemd then restarts the kiosk once
    ``WatchdogSec`` has passed). Must be longer than every blocking call of a worker loop
    (see the table in :mod:`kiosk.service.watchdog`): an unplugged scanner, an offline
    printer or an unreachable back office keep their loops turning and never count."""


class PathSettings(SettingsTable):
    """``[paths]``: where the kiosk keeps its data."""

    state_dir: Annotated[Path, Check(values.absolute_path)] = Path("/var/lib/kiosk")
    """Absolute directory for the database and saved receipts. When systemd sets
    $STATE_DIRECTORY, that wins (see :func:`kiosk.config.load_settings`)."""


class Settings(SettingsTable):
    """The whole ``kiosk.toml``, validated.

    Build it with :func:`kiosk.config.load_settings` or :func:`kiosk.config.demo_settings`.
    """

    kiosk_id: Annotated[str, Check(values.kiosk_id)]
    """This kiosk's id, such as "lane-1": in Stripe metadata and back-office records. Required."""

    shop: ShopSettings
    """The shop's name, address, currency, locale and time zone. Required."""

    tax: TaxSettings = field(default_factory=TaxSettings)
    """Tax classes and how tax is computed."""

    limits: LimitSettings = field(default_factory=LimitSettings)
    """Cart limits."""

    barcodes: BarcodeSettings = field(default_factory=BarcodeSettings)
    """In-store barcode layouts."""

    catalog: CatalogSettings = field(default_factory=CatalogSettings)
    """Who owns the catalog and where a USB stick with a catalog is mounted."""

    scanner: ScannerSettings = field(default_factory=ScannerSettings)
    """The barcode scanner."""

    printer: Annotated[
        PrinterSettings, Tagged("transport", PRINTER_TRANSPORTS, default="virtual")
    ] = field(default_factory=VirtualPrinterSettings)
    """The receipt printer; its keys depend on ``transport``."""

    display: DisplaySettings = field(default_factory=DisplaySettings)
    """The touchscreen: where the card reader stands beside it."""

    audio: AudioSettings = field(default_factory=AudioSettings)
    """Audio guidance: its headphone device, the loudspeaker, the headphone socket."""

    payments: PaymentsSettings = field(default_factory=PaymentsSettings)
    """Which card provider runs."""

    stripe: StripeSettings = field(default_factory=StripeSettings)
    """Card payments through Stripe Terminal."""

    backoffice: BackofficeSettings = field(default_factory=BackofficeSettings)
    """The back office."""

    timeouts: TimeoutSettings = field(default_factory=TimeoutSettings)
    """Customer timeouts."""

    retention: RetentionSettings = field(default_factory=RetentionSettings)
    """Data retention."""

    staff: StaffSettings = field(default_factory=StaffSettings)
    """The staff menu and staff duties."""

    backup: BackupSettings = field(default_factory=BackupSettings)
    """Scheduled database backups: destination and rotation."""

    paths: PathSettings = field(default_factory=PathSettings)
    """Directories."""

    service: ServiceSettings = field(default_factory=ServiceSettings)
    """The systemd service: the watchdog's limit for a silent worker."""

    def _consistent(self) -> None:
        """The cart limit fits the currency, a catalog from the back office has its address,
        and the watchdog outwaits a Stripe request."""
        exponent = get_currency_precision(self.shop.currency)
        total = self.limits.max_cart_total
        decimals = total.as_tuple().exponent
        if isinstance(decimals, int) and -decimals > exponent:
            raise values.bad_key(
                ("limits", "max_cart_total"),
                f"expected at most {exponent} decimals for {self.shop.currency}",
                str(total),
            )
        if self.catalog.source == "backoffice" and not self.backoffice.url:
            raise values.bad_key(
                ("catalog", "source"),
                "needs backoffice.url: the back office cannot send the catalog without an address",
                self.catalog.source,
            )
        stripe = self.stripe
        one_request_s = stripe.request_timeout_s * (1 + stripe.max_network_retries)
        if one_request_s + STRIPE_RETRY_PAUSES_S >= self.service.heartbeat_stale_s:
            raise values.bad_key(
                ("service", "heartbeat_stale_s"),
                f"expected more than one Stripe request can take with its retries "
                f"(request_timeout_s x (1 + max_network_retries) = {one_request_s} s, plus "
                f"{STRIPE_RETRY_PAUSES_S:g} s of pauses), or the watchdog would restart the "
                f"kiosk during a slow payment",
                str(self.service.heartbeat_stale_s),
            )

    @property
    def currency_exponent(self) -> int:
        """Digits of the currency's minor unit: 2 for EUR (cents), 0 for JPY."""
        return get_currency_precision(self.shop.currency)

    @property
    def state_dir(self) -> Path:
        """The directory for the database and saved receipts ($STATE_DIRECTORY already applied
        by :func:`kiosk.config.load_settings`)."""
        return self.paths.state_dir

    def tax_policy(self) -> TaxPolicy:
        """Return the core's tax policy: ``rate_percent = "19"`` becomes ``Decimal("0.19")``."""
        return TaxPolicy(
            classes={
                code: TaxClass(
                    code=code, rate=tax_class.rate_percent.scaleb(-2), label=tax_class.label
                )
                for code, tax_class in self.tax.classes.items()
            },
            mode=TaxMode(self.tax.mode),
            rounding=TaxRounding(self.tax.rounding),
            rounding_mode=_ROUNDING_MODES[self.tax.rounding_mode],
        )

    def cart_limits(self) -> CartLimits:
        """Return the core's cart limits, with ``max_cart_total`` in minor units (cents)."""
        total_minor = self.limits.max_cart_total.scaleb(self.currency_exponent)
        return CartLimits(
            max_quantity_per_line=self.limits.max_quantity_per_line,
            max_lines=self.limits.max_lines_per_cart,
            max_cart_total_minor=int(total_minor),
        )

    def checkout_timers(self) -> "CheckoutTimers":
        """Return the checkout's timers from the ``[timeouts]`` table (seconds)."""
        from kiosk.core.checkout_events import CheckoutTimers  # not needed to load a config

        timeouts = self.timeouts
        return CheckoutTimers(
            idle_prompt_after_s=timeouts.idle_prompt_after_s,
            idle_abandon_after_s=timeouts.idle_abandon_after_s,
            card_wait_s=timeouts.payment_idle_s,
            receipt_choice_s=timeouts.receipt_choice_s,
        )

    def scan_rules(self) -> ScanRules:
        """Return the core's scan rules: the in-store variable-measure layouts."""
        return ScanRules(
            variable_measure=tuple(layout.layout() for layout in self.barcodes.variable_measure)
        )
