"""The application facade: the one object the UI, the console, the CLI and the tests drive.

``Kiosk`` owns the customer's session (a pure ``Checkout`` from ``kiosk.core.checkout``) and
offers the public API; the rooms beside it do the work: ``kiosk.startup`` starts and closes the
services (store, payments, receipts, sync), ``kiosk.checkout_work`` turns the checkout's effects
into work, ``kiosk.sale_writer`` writes the sale on the store worker and retries what failed,
``kiosk.scanner_connection`` reads the scanner. Every result comes back to the main thread
through ``post_to_main``.

Threads: every public method runs on the main thread (Kivy's, or the host loop draining a
``MainQueue``). Database writes that fsync run on the store worker; product lookups read on
the main thread's own connection (WAL readers never wait for the writer). ``start`` blocks
its caller; ``start_in_background`` runs the same slow steps (store check, payment recovery)
on a thread so the first screen draws at once. Nothing here imports kivy, so the facade runs
headless in tests and benchmarks.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlite_utils import Database

from kiosk import startup
from kiosk.checkout_work import CheckoutWork
from kiosk.config import Secrets, Settings
from kiosk.core.barcodes import BarcodeError, parse_scan
from kiosk.core.cart import CartLine
from kiosk.core.checkout import Checkout
from kiosk.core.checkout_events import (
    STAFF_DECISION_REASONS,
    AttendantApproved,
    AttendantDismissed,
    BackToCartPressed,
    CancelSale,
    CustomerActive,
    Event,
    HelpRequested,
    ItemLeftOut,
    ItemPriced,
    ItemScanned,
    LimitOverridden,
    LinePutBack,
    LineRemoved,
    LineVoided,
    PaymentCancelled,
    PaymentDeclined,
    PaymentPhaseChanged,
    PaymentSucceeded,
    PaymentUnresolved,
    PayPressed,
    QuantityChanged,
    ReceiptChosen,
    SaleStarted,
    SessionEnded,
    SessionFinished,
    Tick,
)
from kiosk.core.checkout_states import AttendantReason, CheckoutState, PaymentPhase, ReceiptChoice
from kiosk.core.tax import Totals
from kiosk.notices import (
    CartRefused,
    Notice,
    PaymentsAvailability,
    ScannerStateChanged,
    ScanRejected,
    SessionChanged,
    StoreTrouble,
)
from kiosk.payments.cards import DEMO_CARD_DEFAULT, card_minimum_minor, demo_card_number
from kiosk.refusals import KioskRefusal
from kiosk.sale_writer import SaleWriter
from kiosk.scanner_connection import ScannerConnection
from kiosk.scanner_connection import scanner_options as scanner_options  # kiosk.cli.scanner
from kiosk.staff_on_demand import StaffMenuOnDemand
from kiosk.startup import START_STORE_TIMEOUT_S, MainThreadSteps, StartReport
from kiosk.startup import VIRTUAL_PRINTER_FOLDER as VIRTUAL_PRINTER_FOLDER  # kiosk.cli.receipt
from kiosk.store.products import CatalogRowError, ProductCatalog
from kiosk.store.worker import StoreWorker

if TYPE_CHECKING:  # loaded on the start-up thread, after the first screen is drawn
    from kiosk.devices.scanner import ScannerState
    from kiosk.payments.provider import CardProvider, ProviderOptions
    from kiosk.receipts.jobs import ReceiptDesk
    from kiosk.sim.stripe_emulator import StripeEmulator
    from kiosk.sim.virtual_printer import VirtualPrinter
    from kiosk.sim.virtual_scanner import VirtualScanner
    from kiosk.staff_menu import MenuHost, StaffMenu
    from kiosk.store.staff import PinCheck
    from kiosk.sync.relay import OutboxRelay, SyncStatus

log = logging.getLogger(__name__)

T = TypeVar("T")

DATABASE_NAME = "kiosk.db"

# The attendant call a staff PIN approves at once. A help or payment-check call is closed by
# the PIN; an unknown item, a weighed item or a limit opens the staff menu on the call.
APPROVABLE = frozenset({AttendantReason.AGE_CHECK})


def utc_clock() -> datetime:
    """The real clock: the current time in UTC."""
    return datetime.now(UTC)


def new_sale_uuid() -> str:
    """A fresh random sale id (UUID4, canonical text form)."""
    return str(uuid.uuid4())


class Kiosk:
    """One kiosk: its checkout session, its store worker and its listeners.

    ``post_to_main`` runs a callable on the main thread (Kivy: ``lambda f:
    Clock.schedule_once(lambda _dt: f())``; headless: ``MainQueue.post``). ``clock`` returns an
    aware UTC datetime; tests inject their own. With ``receipts`` the receipt desk prints on
    ``[printer]`` (the virtual printer of ``kiosk.sim`` for ``"virtual"``). With
    ``card_payments`` the payment service is built from ``[stripe]`` at ``start()``
    (``secrets`` default to the environment and systemd credentials); without it, or with no
    key or reader configured, Pay reports ``card_payments_unavailable`` and keeps the cart.
    With ``[backoffice] url`` and a back-office token, an outbox relay thread sends paid
    sales, refunds and audit rows to the back office (``kiosk.sync.relay``); without them the
    kiosk sells the same and keeps them.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        post_to_main: Callable[[Callable[[], None]], None],
        clock: Callable[[], datetime] = utc_clock,
        new_sale_id: Callable[[], str] = new_sale_uuid,
        card_payments: bool = True,
        receipts: bool = True,
        secrets: Secrets | None = None,
        database: Path | None = None,
        config_path: Path | None = None,
    ) -> None:
        self.settings = settings
        self.database = database or Path(settings.state_dir) / DATABASE_NAME
        self._post = post_to_main
        self._clock = clock
        self._new_sale_id = new_sale_id
        self._card_payments = card_payments
        self._cards_load_after_scans = False  # see _refuses_sales_without_cards
        self._receipts = receipts
        self._receipt_desk: ReceiptDesk | None = None
        self._relay: OutboxRelay | None = None
        self._virtual_printer: VirtualPrinter | None = None
        self._secrets = secrets
        self._payments: CardProvider | None = None
        self._payments_available: tuple[bool, str] = (False, "not_checked_yet")
        self._policy = settings.tax_policy()
        self._limits = settings.cart_limits()
        self._scan_rules = settings.scan_rules()
        self._timers = settings.checkout_timers()
        self._checkout = Checkout.start(self._policy, self._limits, self._timers)
        self._sale_number: int | None = None
        self._listeners: list[Callable[[Notice], None]] = []
        self._worker: StoreWorker | None = None
        self._reader: Database | None = None
        self._catalog: ProductCatalog | None = None
        self._scanner = ScannerConnection(
            settings, post_to_main=post_to_main, on_frame=self.scan,
            on_state_change=lambda state: self._emit(ScannerStateChanged(state.value)),
        )
        self._sales = SaleWriter(settings, self._policy, store=self._store, clock=clock,
                                 post_to_main=post_to_main, emit=self._emit,
                                 on_sale_number=self._on_sale_number)
        self._work = CheckoutWork(self, self._sales, post_to_main=post_to_main, emit=self._emit,
                                  no_payments_code=KioskRefusal.PAYMENTS_UNAVAILABLE)
        self._starting = False
        self._scans = startup.EarlyScans()
        self._start_error: BaseException | None = None
        self._start_thread: threading.Thread | None = None
        self._closing = False
        self._demo_card = DEMO_CARD_DEFAULT
        self._demo_lock = threading.Lock()
        self.config_path = config_path  # the config file read, if any (the staff menu shows it)
        self._staff = StaffMenuOnDemand(
            self._menu_host, lambda: self._reader, settings.shop.languages)

    @property
    def staff(self) -> StaffMenu:
        """The staff menu (``kiosk.staff_menu``), built on first use (``kiosk.staff_on_demand``)."""
        return self._staff.menu

    @property
    def staff_settings(self) -> StaffMenuOnDemand:
        """What staff set at this kiosk (closed, runtime settings), read without the menu."""
        return self._staff

    def _menu_host(self) -> MenuHost:
        """What the staff menu may use of the kiosk (``kiosk.staff_menu.host``)."""
        from kiosk.staff_menu import MenuHost

        return MenuHost(
            settings=self.settings, config_path=self.config_path, tax_policy=self._policy,
            scan_rules=self._scan_rules, clock=self._clock, post=self._post, emit=self._emit,
            listen=self.listen, stop_listening=self._listeners.remove,
            refused_before_start=self._refused_before_start, write=self._write,
            submit=lambda job: self._store().submit(job), when_done=self._when_done,
            read_connection=lambda: self._reader, product_catalog=self._product_catalog,
            checkout=lambda: self.checkout, decisions=self,
            scanner_state=lambda: self.scanner_state.value,
            receipt_desk=lambda: self.receipt_desk, card_payments=lambda: self.payment_service,
            payments_available=lambda: self.payments_available,
            sync_status=self.sync_status, sync_now=self.sync_now,
        )

    # ----------------------------------------------------------------------- lifecycle

    def start(self, timeout_s: float = START_STORE_TIMEOUT_S) -> StartReport:
        """Open the store, settle unfinished payments, restore a recent open cart and close
        older ones as abandoned; block the caller until all of it is done.

        The console front end and tests use this; the touchscreen uses `start_in_background`
        (the same steps). ``timeout_s`` bounds each wait for the store, in seconds. A cart
        younger than ``timeouts.open_cart_max_age_s`` is restored; other open sales are recorded
        as abandoned. Raises ``DatabaseCorrupt`` when the database fails its check.
        """
        main = MainThreadSteps(None, lambda: self._closing)
        found = startup.start_off_main(self, main, timeout_s, KioskRefusal.PAYMENTS_UNAVAILABLE)
        return startup.finish_on_main(self, found)

    def start_in_background(
        self,
        on_started: Callable[[StartReport], None] | None = None,
        on_failed: Callable[[BaseException], None] | None = None,
        on_taking_scans: Callable[[], None] | None = None,
    ) -> None:
        """Start as `start` does, without blocking: returns at once (call it on the main thread,
        or on the thread that built the facade before the main thread uses it).

        The slow steps run on a thread (`kiosk.startup`); notices and the session reach the
        main thread through ``post_to_main``. `starting` is true meanwhile. Once the store is
        ready and the open cart restored, the kiosk takes scans (kept ones first; a sale left
        mid-payment waits for payment recovery first) and ``on_taking_scans()`` runs (open the
        scanner there); other actions are refused with ``kiosk_starting`` until
        ``on_started(report)`` runs, all started. ``on_failed(error)`` runs instead when the
        start fails (``DatabaseCorrupt``/``StoreError`` for the store, anything else): it is
        logged, and actions are refused with ``kiosk_out_of_order`` from then on.
        """
        if self._starting or self._worker is not None or self._start_thread is not None:
            raise RuntimeError("the kiosk is already started")
        self._starting = True
        self._start_thread = startup.start_in_background(
            self, on_started, on_failed, KioskRefusal.PAYMENTS_UNAVAILABLE, on_taking_scans
        )

    @property
    def starting(self) -> bool:
        """True from `start_in_background` until its ``on_started`` or ``on_failed``."""
        return self._starting

    @property
    def ready(self) -> bool:
        """True once a start has finished and the kiosk takes scans and payments."""
        return not self._starting and self._catalog is not None

    def _payments_started(self, provider: CardProvider) -> None:
        """The card provider runs: keep it, and hand it the demo card chosen meanwhile."""
        with self._demo_lock:
            self._payments = provider
            if self._card_options.demo_cards:
                provider.set_demo_card(self._demo_card)

    def _refuses_sales_without_cards(self) -> bool:
        """True when the card provider refuses new sales without card payments (False, known
        without its modules, while a start loads it after taking scans: such one starts first)."""
        return not self._cards_load_after_scans and self._card_options.block_sales_when_unavailable

    @cached_property
    def _card_options(self) -> ProviderOptions:
        """What the facade needs to know of the configured card provider."""
        from kiosk.payments.registry import provider_options

        return provider_options(self.settings)

    # ------------------------------------------------------------------------- demo

    def set_demo_card(self, kind: str) -> None:
        """Demo only: the embedded emulator's simulated customer taps the card ``kind`` (a key
        of ``DEMO_CARDS``: approved, declined, insufficient_funds) `DEMO_TAP_AFTER_S` seconds
        after each payment starts, from the next payment on (applied on the store worker, in
        order before any later payment; chosen while starting, once the emulator runs).
        Raises ``ValueError`` for an unknown kind and ``RuntimeError`` when card payments do
        not run on the embedded emulator (``[stripe] api_base`` is not ``"embedded"``, or the
        kiosk was made without card payments)."""
        demo_card_number(kind)
        if not (self._card_payments and self._card_options.demo_cards):
            raise RuntimeError(
                "a demo card can be chosen only with the embedded Stripe emulator "
                '([stripe] api_base = "embedded")'
            )
        with self._demo_lock:
            self._demo_card = kind
            if self._payments is not None:
                self._payments.set_demo_card(kind)

    @property
    def demo_card(self) -> str:
        """The demo card the embedded emulator's customer taps (a key of ``DEMO_CARDS``)."""
        return self._demo_card

    def connect_scanner(self, port: str | None = None) -> str:
        """Start reading the barcode scanner; return the path it opens. ``port`` overrides
        ``[scanner] port``; ``"virtual"`` starts the virtual scanner of ``kiosk.sim`` (a
        pseudo-terminal other programs can write frames to) and opens it like a real one.
        Frames and connection changes reach the main thread through ``post_to_main``; while
        the scanner is unplugged the kiosk keeps running and retries."""
        return self._scanner.connect(port)

    @property
    def virtual_scanner(self) -> VirtualScanner | None:
        """The virtual scanner, when ``[scanner] port = "virtual"`` (demo and tests)."""
        return self._scanner.virtual_scanner

    @property
    def scanner_state(self) -> ScannerState:
        """The scanner's connection as last reported on the main thread."""
        return self._scanner.state

    def _on_payments_available(self, available: bool, reason: str) -> None:
        if (available, reason) != self._payments_available:
            self._payments_available = (available, reason)
            self._emit(PaymentsAvailability(available, reason))

    def _stop_scanner(self) -> None:
        self._scanner.stop()

    def close(self) -> None:
        """Stop the scanner, finish pending writes and close the store (the session stays).

        The main thread's reader closes first, so the last connection, which checkpoints the
        WAL into the database file (an fsync), is the worker's. A background start still
        running is stopped at its next step (waiting for payment recovery's budget at most).
        """
        startup.close_services(self)

    def listen(self, listener: Callable[[Notice], None]) -> None:
        """Call ``listener`` on the main thread with every notice from now on."""
        self._listeners.append(listener)

    # ------------------------------------------------------------------------ reading

    @property
    def checkout(self) -> Checkout:
        """The session as it stands (immutable): state, sale id, cart, reasons."""
        return self._checkout

    @property
    def sale_number(self) -> int | None:
        """The per-kiosk number of the open sale, once recorded."""
        return self._sale_number

    @property
    def totals(self) -> Totals | None:
        """The cart's totals in minor units (``None`` if a line's tax class is not configured)."""
        return self._checkout.totals()

    def heartbeats(self) -> dict[str, float]:
        """``time.monotonic()`` of each worker's last loop turn, for the watchdog. "sync" is
        there whenever sync was started (until `close`), also after its thread ended on its
        own: its last heartbeat then goes stale, so the watchdog sees a dead sync thread."""
        beats = {"store": self._worker.heartbeat} if self._worker else {}
        scanner_beat = self._scanner.heartbeat
        if scanner_beat is not None:
            beats["scanner"] = scanner_beat
        if self._payments is not None:
            beats["payments"] = self._payments.heartbeat
        if self._receipt_desk is not None:
            beats["printer"] = self._receipt_desk.heartbeat
        relay = self._relay
        if relay is not None:
            beats["sync"] = relay.heartbeat
        return beats

    def sync_status(self) -> SyncStatus | None:
        """Where back-office sync stands (pending rows, the oldest one's age, last success,
        last error), read on the main thread's connection; ``None`` while sync is off (no
        back office or no token) or before the kiosk has started."""
        if self._relay is None or self._reader is None:
            return None
        from kiosk.sync.relay import sync_status

        return sync_status(self._reader)

    def sync_now(self) -> None:
        """Ask the sync relay for a pass now (after a sale or a refund); nothing while sync
        is off. Safe from any thread; never waits."""
        relay = self._relay
        if relay is not None:
            relay.send_now()

    @property
    def sync_relay(self) -> OutboxRelay | None:
        """The outbox relay while back-office sync runs (``None`` while sync is off)."""
        return self._relay

    def wait_for_writes(self, timeout_s: float) -> None:
        """Return once every database write queued before this call has finished (the store
        worker runs its jobs in order): for the CLI and tests, never the touchscreen. Raises
        ``TimeoutError`` after ``timeout_s`` seconds, ``RuntimeError`` before `start`."""
        self._sales.wait(timeout_s)

    def submit_to_store(self, job: Callable[[Database], T]) -> Future[T]:
        """Run ``job`` with the database on the store worker, after every write queued before
        it (a catalog feed, a maintenance job); its answer or error is the returned future's.
        Raises ``RuntimeError`` before `start`."""
        return self._store().submit(job)

    def read(self, query: Callable[[Database], T]) -> T:
        """Answer ``query`` (a read) on the main thread's own connection, at once: it does not
        wait for queued writes (`wait_for_writes` first to see them). Call it on the main
        thread; raises ``RuntimeError`` before `start`."""
        if self._reader is None:
            raise RuntimeError("Kiosk.start() must be called before the kiosk is used")
        return query(self._reader)

    @property
    def receipt_desk(self) -> ReceiptDesk | None:
        """The receipt desk (reprints, the unprinted list), when receipts are on."""
        return self._receipt_desk

    @property
    def virtual_printer(self) -> VirtualPrinter | None:
        """The virtual printer, when ``[printer] transport = "virtual"`` (demo, tests)."""
        return self._virtual_printer

    @property
    def payments_available(self) -> tuple[bool, str]:
        """(card payments can be taken now, why not): the payment probe's latest answer."""
        return self._payments_available

    @property
    def payment_service(self) -> CardProvider | None:
        """The card provider (refunds, reconcile, reader status), if card payments run."""
        return self._payments

    @property
    def stripe_emulator(self) -> StripeEmulator | None:
        """The embedded Stripe emulator, when ``[stripe] api_base = "embedded"``."""
        payments = self._payments
        if payments is None:
            return None
        emulator: StripeEmulator | None = getattr(payments, "emulator", None)
        return emulator

    # ----------------------------------------------------------------- customer actions

    def scan(self, raw: bytes) -> None:
        """Handle one frame from the scanner: parse it, look it up, add it to the cart.

        While the staff menu is open, a scan never reaches the cart: staff see what it read
        (the scanner test). A scan before the kiosk takes scans is kept for then
        (`kiosk.startup.EarlyScans`)."""
        if not self._scans.taken:
            refusal = self._scans.keep(raw, failed=self._start_error is not None)
            if refusal is not None:
                self._emit(CartRefused(refusal))
            return
        if self._staff.session_open():
            self.staff.scanner_test_read(raw)
            return
        if self._checkout.state is CheckoutState.ATTRACT and self._staff.closed():
            self._emit(CartRefused(KioskRefusal.KIOSK_CLOSED))
            return
        at = self._clock()
        if (
            self._checkout.state is CheckoutState.ATTRACT
            and not self._payments_available[0]
            and self._refuses_sales_without_cards()
        ):
            self._emit(CartRefused(KioskRefusal.PAYMENTS_UNAVAILABLE))
            return
        try:
            scan = parse_scan(raw, self._scan_rules)
        except BarcodeError as error:
            log.info("scan rejected: %s", error.reason)
            self._emit(ScanRejected(error.reason))
            self._dispatch(CustomerActive(at=at))
            return
        except Exception:  # a parser bug must cost one scan, never the kiosk
            log.exception("scan %r could not be parsed", raw[:64])
            self._emit(ScanRejected("unreadable"))
            self._dispatch(CustomerActive(at=at))
            return
        product = None
        try:
            product = self._product_catalog().find_for_scan(scan)
        except CatalogRowError as damaged:
            log.warning("catalog row is damaged, sending the customer to staff: %s", damaged)
        except sqlite3.Error as error:
            log.error("catalog lookup failed, sending the customer to staff: %s", error)
            self._emit(StoreTrouble(f"could not look up a product: {error}"))
        self._dispatch(
            ItemScanned(at=at, scan=scan, product=product, new_sale_id=self._new_sale_id())
        )

    def set_quantity(self, line_id: int, quantity: int) -> None:
        """Set the quantity of a cart line (refused for weighed lines or past a limit)."""
        if self._refused_before_scans():
            return
        self._dispatch(QuantityChanged(at=self._clock(), line_id=line_id, quantity=quantity))

    def remove_line(self, line_id: int) -> None:
        """Remove a cart line."""
        if self._refused_before_scans():
            return
        self._dispatch(LineRemoved(at=self._clock(), line_id=line_id))

    def put_back_line(self, sale_id: str, line: CartLine) -> None:
        """Undo a removal: ``line`` (as it was in the cart) goes back into sale ``sale_id``,
        ignored once that sale has moved on or with the line back already."""
        if not self._refused_before_scans():
            self._dispatch(LinePutBack(at=self._clock(), sale_id=sale_id, line=line))

    def pay(self) -> None:
        """The customer pressed Pay: age check first if needed, then the card payment.

        A total below the card minimum of the shop's currency (Stripe's: 0.50 EUR) is refused
        with ``below_card_minimum`` before anything is sent.
        """
        if self._refused_before_start():
            return
        totals = self._checkout.totals()
        minimum = card_minimum_minor(self.settings.shop.currency)
        if totals is not None and 0 < totals.total_minor < minimum:
            self._dispatch(CustomerActive(at=self._clock()))
            self._emit(CartRefused(KioskRefusal.BELOW_CARD_MINIMUM))
            return
        self._dispatch(PayPressed(at=self._clock()))

    def back_to_cart(self) -> None:
        """The customer left the card screen for the cart."""
        if self._refused_before_start():
            return
        self._dispatch(BackToCartPressed(at=self._clock()))

    def request_help(self) -> None:
        """The customer pressed Help: staff is called."""
        if self._refused_before_start():
            return
        self._dispatch(HelpRequested(at=self._clock()))

    def withdraw_call(self) -> None:
        """The customer goes back to the cart without waiting for staff: the help is no longer
        needed, or they carry on without the refused item (it never entered the cart). An age
        check is not approved by this (Pay asks again); a payment check always waits for staff.
        """
        if self._refused_before_start():
            return
        reason = self._checkout.attendant_reason
        if reason is not None and reason is not AttendantReason.PAYMENT_CHECK:
            log.info("the customer withdrew the attendant call (%s)", reason.value)
            self._dispatch(AttendantDismissed(at=self._clock()))

    def touch(self) -> None:
        """Any touch on the screen: the customer is still there (ignored until the kiosk
        takes scans)."""
        if not self._scans.taken:
            return
        self._dispatch(CustomerActive(at=self._clock()))

    def cancel_sale(self) -> None:
        """The customer cancels the whole sale (refused while a payment may still complete)."""
        if self._refused_before_start():
            return
        self._dispatch(CancelSale(at=self._clock()))

    def choose_receipt(self, choice: ReceiptChoice) -> None:
        """The customer chose how to get the receipt of the paid sale."""
        if self._refused_before_start():
            return
        self._dispatch(ReceiptChosen(at=self._clock(), choice=choice))

    def finish(self) -> None:
        """The customer is done with the paid screen."""
        if self._refused_before_start():
            return
        self._dispatch(SessionFinished(at=self._clock()))

    def tick(self, stretch: float = 1.0) -> None:
        """Let time pass (call about once a second): idle prompts, timeouts, retried writes;
        ``stretch``: the customer's timeouts run that many times longer (accessibility modes).
        Does nothing until the kiosk has started (nothing is timed on the first screen)."""
        if self._starting or self._catalog is None:
            return
        self._sales.retry(self._checkout.sale_id, self._checkout.cart)
        if self._staff.session_open():
            # Staff are at the kiosk: the customer's sale does not time out behind the menu.
            self._dispatch(CustomerActive(at=self._clock()))
        if self._staff.built is not None:
            self._staff.built.tick()
        self._dispatch(Tick(at=self._clock(), stretch=stretch))

    # ------------------------------------------------------------------- staff at the kiosk

    def attend(self, staff_number: int, pin: str) -> None:
        """A staff member answers the attendant call with their number and PIN.

        The PIN is checked on the store worker (with lockout); the answer arrives as a
        ``StaffChecked`` notice. A right PIN approves an age check and closes a help call or a
        payment check; for an unknown item, a weighed item or a limit it only signs the staff
        member in (``_staff_authenticated``): the call stays open until they price the item,
        override the limit or leave the item out.
        """
        if self._refused_before_start():
            return
        # The answer applies to the call staff answered (the customer may have started again).
        call = (self._checkout.sale_id, self._checkout.attendant_reason)
        from kiosk.staff_menu import check_staff_pin

        check_staff_pin(self._staff.host, staff_number, pin,
                        lambda check: self._on_staff_checked(staff_number, check, call))

    def _on_staff_checked(
        self, staff_number: int, check: PinCheck, call: tuple[str | None, AttendantReason | None]
    ) -> None:
        from kiosk.staff_menu import staff_checked

        self._emit(staff_checked(staff_number, check))
        reason = self._checkout.attendant_reason
        if not check.ok or reason is None:
            return
        if call != (self._checkout.sale_id, reason):
            log.info("staff %s answered a call that has since changed; nothing approved",
                     staff_number)
            return
        if reason in STAFF_DECISION_REASONS:  # decided at the staff desk, not by a PIN alone
            self._staff_authenticated(check)
            return
        at = self._clock()
        if reason in APPROVABLE:
            self._dispatch(
                AttendantApproved(at=at, staff_number=str(staff_number), reason=reason)
            )
        else:
            self._dispatch(AttendantDismissed(at=at))

    def _staff_authenticated(self, check: PinCheck) -> None:
        """A right PIN at a call that needs a decision: the staff menu opens on it."""
        if check.staff is not None:
            self.staff.open_for_call(check.staff)

    def _signed_in(self, staff_number: int) -> bool:
        """True when ``staff_number`` has the staff menu open and may decide on the sale; else
        the decision is refused (``not_allowed``): no cart change without a PIN."""
        session = self.staff.session
        if session is not None and session.staff_number == staff_number and session.may(
            "approve"
        ):
            return True
        log.warning("a staff decision for %s was refused: not signed in", staff_number)
        self._emit(CartRefused("not_allowed"))
        return False

    def price_item(self, staff_number: int, unit_price_minor: int, tax_class: str) -> None:
        """Staff member ``staff_number`` (signed in at the staff desk) prices the item of an
        unknown-item or weighed-item call: one line at ``unit_price_minor`` (minor units, one
        item) in ``tax_class``. A bad price, an unknown tax class, a broken limit or no such
        call is refused (``CartRefused``) and the call stays as it was."""
        if self._refused_before_start() or not self._signed_in(staff_number):
            return
        self._dispatch(
            ItemPriced(
                at=self._clock(),
                staff_number=str(staff_number),
                unit_price_minor=unit_price_minor,
                tax_class=tax_class,
            )
        )
        self.staff.settle_call_session()

    def override_limit(self, staff_number: int) -> None:
        """Staff member ``staff_number`` lets the scan or quantity change a limit refused
        through, past the cart's limits this once (refused ``no_call`` without such a call)."""
        if self._refused_before_start() or not self._signed_in(staff_number):
            return
        self._dispatch(LimitOverridden(at=self._clock(), staff_number=str(staff_number)))
        self.staff.settle_call_session()

    def void_line(self, staff_number: int, line_id: int) -> None:
        """Staff member ``staff_number`` removes line ``line_id`` for the customer (refused while
        a payment is in progress or after it). Voiding the last line an open call is about (the
        last age-restricted line of an age check...) closes the call."""
        if self._refused_before_start() or not self._signed_in(staff_number):
            return
        self._dispatch(
            LineVoided(at=self._clock(), staff_number=str(staff_number), line_id=line_id)
        )
        self.staff.settle_call_session()

    def leave_out(self, staff_number: int) -> None:
        """Staff member ``staff_number`` closes an unknown-item, weighed-item or limit call with
        the item left out of the cart (refused ``no_call`` without such a call)."""
        if self._refused_before_start() or not self._signed_in(staff_number):
            return
        self._dispatch(ItemLeftOut(at=self._clock(), staff_number=str(staff_number)))
        self.staff.settle_call_session()

    # ------------------------------------------------------------------- payment reports

    def payment_phase(self, phase: PaymentPhase) -> None:
        """The payment side reports the reader's phase (waiting for a card, authorising)."""
        self._dispatch(PaymentPhaseChanged(at=self._clock(), phase=phase))

    def payment_succeeded(self) -> None:
        """The payment side has recorded the sale as paid."""
        self._dispatch(PaymentSucceeded(at=self._clock()))

    def payment_declined(self, code: str) -> None:
        """The card was declined (``code`` from Stripe) or payments are unavailable."""
        self._dispatch(PaymentDeclined(at=self._clock(), code=code))

    def payment_cancelled(self) -> None:
        """The waiting payment was cancelled."""
        self._dispatch(PaymentCancelled(at=self._clock()))

    def payment_unresolved(self, code: str) -> None:
        """The card may still be charged: stay on the payment screen, cart frozen, staff
        called, until the payment side settles it."""
        self._dispatch(PaymentUnresolved(at=self._clock(), code=code))

    # ----------------------------------------------------------------------- internals

    def _refused_before_start(self) -> bool:
        """Refuse an action (``kiosk_starting``, or ``kiosk_out_of_order`` after a failed
        start) while a background start has not finished; True when refused."""
        if self._starting:
            self._emit(CartRefused(KioskRefusal.KIOSK_STARTING))
            return True
        if self._start_error is not None:
            self._emit(CartRefused(KioskRefusal.KIOSK_OUT_OF_ORDER))
            return True
        return False

    def _refused_before_scans(self) -> bool:
        """Refuse a cart change until the kiosk takes scans (see `_refused_before_start`);
        True when refused."""
        return not self._scans.taken and self._refused_before_start()

    def _dispatch(self, event: Event) -> None:
        before = self._checkout
        self._checkout, effects = before.handle(event)
        for effect in effects:
            if isinstance(effect, (SaleStarted, SessionEnded)):
                self._sale_number = None  # a new sale's number comes from the store, later
            self._work.carry_out(effect)
        if self._checkout is not before:
            self._emit_session()

    def _on_sale_number(self, sale_id: str, number: int) -> None:
        if self._checkout.sale_id == sale_id and self._sale_number != number:
            self._sale_number = number
            self._emit_session()

    def _write(
        self,
        job: Callable[[Database], T],
        what: str,
        *,
        retry_sale: str | None = None,
        retry: bool = False,
    ) -> Future[T]:
        """Run a write on the store worker through the sale writer (`SaleWriter.write`)."""
        return self._sales.write(job, what, retry_sale=retry_sale, retry=retry)

    def _when_done(self, future: Future[T], then: Callable[[T], Any]) -> None:
        """Call ``then(result)`` on the main thread once ``future`` succeeds."""
        self._sales.when_done(future, then)

    def _store(self) -> StoreWorker:
        if self._worker is None:
            raise RuntimeError("Kiosk.start() must be called before the kiosk is used")
        return self._worker

    def _product_catalog(self) -> ProductCatalog:
        if self._catalog is None:
            raise RuntimeError("Kiosk.start() must be called before the kiosk is used")
        return self._catalog

    def _emit_session(self) -> None:
        self._emit(SessionChanged(self._checkout, self._checkout.totals(), self._sale_number))

    def _emit(self, notice: Notice) -> None:
        for listener in list(self._listeners):
            listener(notice)
