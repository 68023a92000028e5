"""The application facade: the one object the UI, the console, the CLI and the tests drive.

``Kiosk`` owns the customer's session (a pure ``Checkout`` from ``kiosk.core.checkout``), turns
the machine's effects into work (database writes on the store worker, card payments, notices
for the screen) and hands every result back to the main thread through ``post_to_main``.

Threads: every public method runs on the main thread (Kivy's, or the host loop draining a
``MainQueue``). Database writes that fsync run on the store worker; product lookups read on
the main thread's own connection (WAL readers never wait for the writer). ``start`` blocks
its caller; ``start_in_background`` runs the same slow steps (store check, payment recovery)
on a thread so the first screen draws at once. Nothing here imports kivy, so the facade runs
headless in tests and benchmarks.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlite_utils import Database

from kiosk.config import ConfigError, Secrets, Settings, load_secrets
from kiosk.core.barcodes import BarcodeError, parse_scan
from kiosk.core.cart import Cart, CartLine
from kiosk.core.checkout import (
    STAFF_DECISION_REASONS,
    ApprovalGiven,
    AttendantApproved,
    AttendantDismissed,
    AttendantReason,
    BackToCartPressed,
    CallAttendant,
    CancelSale,
    CancelWaitingPayment,
    CartChanged,
    Checkout,
    CheckoutState,
    CheckoutTimers,
    CustomerActive,
    Effect,
    Event,
    HelpRequested,
    ItemLeftOut,
    ItemPriced,
    ItemScanned,
    LimitOverridden,
    LineRemoved,
    LineVoided,
    PaymentCancelled,
    PaymentCheckNeeded,
    PaymentDeclined,
    PaymentPhase,
    PaymentPhaseChanged,
    PaymentSucceeded,
    PaymentUnresolved,
    PayPressed,
    QuantityChanged,
    ReceiptChoice,
    ReceiptChosen,
    Refused,
    SaleAbandoned,
    SaleStarted,
    SessionEnded,
    SessionFinished,
    ShowIdlePrompt,
    StartPayment,
    Tick,
)
from kiosk.core.tax import TaxError, Totals
from kiosk.devices.scanner import ScannerOptions, ScannerState, SerialScanner
from kiosk.notices import (
    AttendantCalled,
    CartRefused,
    IdlePromptShown,
    Notice,
    PaymentRecovery,
    PaymentsAvailability,
    ReceiptPrinted,
    ReceiptUnavailable,
    SaleEnded,
    ScannerStateChanged,
    ScanRejected,
    SessionChanged,
    StaffChecked,
    StoreTrouble,
)
from kiosk.payments.cards import DEMO_CARD_DEFAULT, card_minimum_minor, demo_card_number
from kiosk.receipts.ereceipt import ereceipt_url
from kiosk.sim.virtual_scanner import VirtualScanner
from kiosk.staff_menu import StaffMenu
from kiosk.store import audit
from kiosk.store.db import StoreError, open_database
from kiosk.store.products import CatalogRowError, ProductCatalog
from kiosk.store.sales import OpenSale, SaleBook
from kiosk.store.staff import PinCheck, PinOutcome, StaffRoster
from kiosk.store.worker import StoreWorker

if TYPE_CHECKING:  # loaded on the start-up thread, after the first screen is drawn
    from kiosk.payments.provider import CardProvider, ProviderOptions
    from kiosk.payments.reports import RecoveryReport
    from kiosk.receipts.jobs import ReceiptDesk
    from kiosk.sim.stripe_emulator import StripeEmulator
    from kiosk.sim.virtual_printer import VirtualPrinter
    from kiosk.sync.relay import OutboxRelay, SyncStatus

log = logging.getLogger(__name__)

T = TypeVar("T")

DATABASE_NAME = "kiosk.db"
VIRTUAL_PRINTER_FOLDER = "virtual-printer"
"""Where the virtual printer saves each job (raw bytes, text, PNG), in the state directory."""
BELOW_CARD_MINIMUM = "below_card_minimum"
"""The refusal code of Pay when the total is below the currency's card minimum."""

PAYMENTS_UNAVAILABLE = "card_payments_unavailable"
"""The decline code the session gets when no card reader is configured or reachable."""

KIOSK_STARTING = "kiosk_starting"
"""The refusal code of customer and staff actions while ``start_in_background`` runs."""

KIOSK_CLOSED = "kiosk_closed"
"""The refusal code of a scan on the attract screen while staff have closed the kiosk."""

KIOSK_OUT_OF_ORDER = "kiosk_out_of_order"
"""The refusal code of customer and staff actions after ``start_in_background`` failed."""

START_STORE_TIMEOUT_S = 30.0
"""How long a start waits for each answer of the store worker, in seconds."""

MAIN_THREAD_WAIT_TURN_S = 0.1
"""How often the start thread, waiting for the main thread, looks whether the kiosk closes."""

CLOSE_START_MARGIN_S = 15.0
"""Seconds ``close`` waits for a background start beyond the payment recovery's own budget."""

CLOSE_SYNC_MARGIN_S = 5.0
"""Seconds ``close`` waits for the sync relay beyond its request timeout (a batch in flight)."""

# The attendant call a staff PIN approves at once. A help or payment-check call is closed by
# the PIN; an unknown item, a weighed item or a limit opens the staff menu on the call.
APPROVABLE = frozenset({AttendantReason.AGE_CHECK})

MAX_STAFF_NUMBER = 2**62
"""Staff numbers above this cannot exist (SQLite integers are 64-bit)."""


@dataclass(frozen=True)
class StartReport:
    """What ``Kiosk.start`` found: the open sale it restored, those it closed as abandoned,
    and what payment recovery did (``None`` without card payments)."""

    restored_sale_id: str | None
    abandoned_sale_ids: tuple[str, ...]
    payment_recovery: RecoveryReport | None = None


@dataclass(frozen=True)
class _StartFound:
    """What the slow steps of a start found, for its main-thread steps: the open sale to
    restore (if any), those recorded abandoned, the time they were judged at (aware UTC)
    and payment recovery's report."""

    restored: OpenSale | None
    abandoned_sale_ids: tuple[str, ...]
    at: datetime
    payment_recovery: RecoveryReport | None
    recovered_paid: tuple[str, tuple[CartLine, ...], int | None] | None = None
    """A sale recovery recorded paid (its id, lines and number): its customer chooses a
    receipt."""


class _StartCancelled(Exception):
    """The kiosk was closed while a background start was still running."""


class _MainThread:
    """How the steps of a start reach the main thread.

    ``start`` runs on it already (``post`` is ``None``: jobs run at once); a background start
    posts them with the host's ``post_to_main`` and can wait until one has run (a notice that
    must be on screen before the next step). ``closing`` says the kiosk is closing: the start
    thread then stops at its next check.
    """

    def __init__(
        self,
        post: Callable[[Callable[[], None]], None] | None,
        closing: Callable[[], bool],
    ) -> None:
        self._post = post
        self._closing = closing

    def run(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the main thread (now, or posted)."""
        if self._post is None:
            job()
        else:
            self._post(job)

    def run_and_wait(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the main thread and return once it has run."""
        if self._post is None:
            job()
            return
        done = threading.Event()

        def run() -> None:
            try:
                job()
            finally:
                done.set()

        self._post(run)
        while not done.wait(MAIN_THREAD_WAIT_TURN_S):
            self.check()

    def check(self) -> None:
        """Raise ``_StartCancelled`` when the kiosk is closing."""
        if self._closing():
            raise _StartCancelled


class _PaymentReports:
    """The payment thread's reports, posted to the facade's main thread.

    A report about another sale than the one on screen (a late answer for a sale the customer
    has left) changes nothing on screen: the payment side has already recorded it.
    """

    def __init__(self, kiosk: Kiosk) -> None:
        self._kiosk = kiosk

    def _for_sale(self, sale_id: str, then: Callable[[], None]) -> None:
        kiosk = self._kiosk
        kiosk._post(lambda: then() if kiosk.checkout.sale_id == sale_id else None)

    def payment_phase(self, sale_id: str, phase: PaymentPhase) -> None:
        self._for_sale(sale_id, lambda: self._kiosk.payment_phase(phase))

    def payment_paid(self, sale_id: str) -> None:
        # Any paid sale, also a late one no longer on screen: its outbox row is committed.
        self._kiosk.sync_now()
        self._for_sale(sale_id, self._kiosk.payment_succeeded)

    def payment_declined(self, sale_id: str, code: str) -> None:
        self._for_sale(sale_id, lambda: self._kiosk.payment_declined(code))

    def payment_cancelled(self, sale_id: str) -> None:
        self._for_sale(sale_id, self._kiosk.payment_cancelled)

    def payment_unresolved(self, sale_id: str, code: str) -> None:
        self._for_sale(sale_id, lambda: self._kiosk.payment_unresolved(code))

    def payments_available(self, available: bool, reason: str) -> None:
        self._kiosk._post(lambda: self._kiosk._on_payments_available(available, reason))


class _ReceiptReports:
    """The receipt desk's reports, posted to the facade's main thread as notices."""

    def __init__(self, kiosk: Kiosk) -> None:
        self._kiosk = kiosk

    def receipt_printed(self, sale_id: str) -> None:
        self._kiosk._post(lambda: self._kiosk._emit(ReceiptPrinted(sale_id)))

    def receipt_failed(self, sale_id: str, status: str, will_retry: bool) -> None:
        url = ereceipt_url(self._kiosk.settings, sale_id)
        notice = ReceiptUnavailable(sale_id, status, will_retry, url)
        self._kiosk._post(lambda: self._kiosk._emit(notice))


def scanner_options(settings: Settings, port: str) -> ScannerOptions:
    """The driver's options from the ``[scanner]`` table, opening ``port``."""
    config = settings.scanner
    return ScannerOptions(
        port=port,
        baudrate=config.baudrate,
        bytesize=config.bytesize,
        parity=config.parity,
        stopbits=config.stopbits,
        frame_end=config.frame_end,
        idle_gap_ms=config.idle_gap_ms,
        max_frame_bytes=config.max_frame_bytes,
        double_scan_window_ms=config.double_scan_window_ms,
    )


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
    ``card_payments`` the payment service is
    built from ``[stripe]`` at ``start()`` (``secrets`` default to the environment and systemd
    credentials); without it, or with no key or reader configured, Pay reports
    ``card_payments_unavailable`` and keeps the cart. With ``[backoffice] url`` and a
    back-office token, an outbox relay thread sends paid sales, refunds and audit rows to the
    back office (``kiosk.sync.relay``); without them the kiosk sells the same and keeps them.
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
        timeouts = settings.timeouts
        self._timers = CheckoutTimers(
            idle_prompt_after_s=timeouts.idle_prompt_after_s,
            idle_abandon_after_s=timeouts.idle_abandon_after_s,
            card_wait_s=timeouts.payment_idle_s,
            receipt_choice_s=timeouts.receipt_choice_s,
        )
        self._checkout = Checkout.start(self._policy, self._limits, self._timers)
        self._sale_number: int | None = None
        self._listeners: list[Callable[[Notice], None]] = []
        self._worker: StoreWorker | None = None
        self._reader: Database | None = None
        self._catalog: ProductCatalog | None = None
        self._unsaved_sale: str | None = None
        self._scanner: SerialScanner | None = None
        self._virtual_scanner: VirtualScanner | None = None
        self._scanner_state = ScannerState.STOPPED
        self._writes_to_retry: list[tuple[Callable[[Database], Any], str]] = []
        self._starting = False
        self._start_error: BaseException | None = None
        self._start_thread: threading.Thread | None = None
        self._closing = False
        self._demo_card = DEMO_CARD_DEFAULT
        self._demo_lock = threading.Lock()
        self.config_path = config_path
        """The config file the settings were read from (the staff menu shows it), if any."""
        self.staff = StaffMenu(self)
        """The staff maintenance menu (``kiosk.staff_menu``)."""

    # ----------------------------------------------------------------------- lifecycle

    def start(self, timeout_s: float = START_STORE_TIMEOUT_S) -> StartReport:
        """Open the store, settle unfinished payments, restore a recent open cart and close
        older ones as abandoned; block the caller until all of it is done.

        The console front end and tests use this; the touchscreen uses `start_in_background`
        (the same steps). ``timeout_s`` bounds each wait for the store, in seconds. A cart
        younger than ``timeouts.open_cart_max_age_s`` is restored; other open sales are recorded
        as abandoned. Raises ``DatabaseCorrupt`` when the database fails its check.
        """
        found = self._start_off_main(_MainThread(None, lambda: self._closing), timeout_s)
        return self._start_on_main(found)

    def start_in_background(
        self,
        on_started: Callable[[StartReport], None] | None = None,
        on_failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Start as `start` does, without blocking: returns at once (call it on the main thread).

        The slow steps (opening and checking the store, the payment side with its embedded
        emulator, payment recovery, reading and closing old open sales, the receipt desk) run
        on a thread; notices and the session reach the main thread through ``post_to_main``.
        `starting` is true meanwhile, and customer and staff actions are refused with
        ``kiosk_starting``. ``on_started(report)`` runs on the main thread after the restored
        cart's ``SessionChanged``; ``on_failed(error)`` runs there instead when the start
        fails (``DatabaseCorrupt``/``StoreError`` for the store, anything else): the error is
        logged and actions are refused with ``kiosk_out_of_order`` from then on.
        """
        if self._starting or self._worker is not None or self._start_thread is not None:
            raise RuntimeError("the kiosk is already started")
        self._starting = True
        main = _MainThread(self._post, lambda: self._closing)

        def off_main() -> None:
            try:
                found = self._start_off_main(main, START_STORE_TIMEOUT_S)
            except _StartCancelled:
                log.info("start cancelled: the kiosk is closing")
                return
            except Exception as error:
                failure = error  # ``error`` is unbound once the except block ends
                self._post(lambda: self._start_failed(failure, on_failed))
                return
            self._post(lambda: self._finish_start(found, on_started, on_failed))

        self._start_thread = threading.Thread(target=off_main, name="kiosk-start", daemon=True)
        self._start_thread.start()

    @property
    def starting(self) -> bool:
        """True from `start_in_background` until its ``on_started`` or ``on_failed``."""
        return self._starting

    @property
    def ready(self) -> bool:
        """True once a start has finished and the kiosk takes scans and payments."""
        return not self._starting and self._catalog is not None

    def _finish_start(
        self,
        found: _StartFound,
        on_started: Callable[[StartReport], None] | None,
        on_failed: Callable[[BaseException], None] | None,
    ) -> None:
        """The main-thread end of a background start (nothing if the kiosk closed meanwhile)."""
        if self._closing:
            return
        try:
            report = self._start_on_main(found)
        except Exception as error:
            self._start_failed(error, on_failed)
            return
        if on_started is not None:
            on_started(report)

    def _start_failed(
        self, error: BaseException, on_failed: Callable[[BaseException], None] | None
    ) -> None:
        if self._closing:
            return
        if isinstance(error, StoreError):
            log.error("the kiosk could not start: %s", error)
        else:
            log.error("the kiosk could not start", exc_info=error)
        self._start_error = error
        self._starting = False
        if on_failed is not None:
            on_failed(error)

    def _start_off_main(self, main: _MainThread, timeout_s: float) -> _StartFound:
        """The slow steps of a start, on whichever thread runs them (never the session).

        Opens the store (its integrity check), starts the payment side and settles unfinished
        payments, starts the receipt desk, reads the open sales and records those not to be
        restored as abandoned. Notices go through ``main``.
        """
        self._worker = StoreWorker(self.database, records_money=True)
        main.check()
        recovery = self._start_payments(main, timeout_s) if self._card_payments else None
        if not self._card_payments:  # told before anyone scans, as when there is no key
            main.run(lambda: self._on_payments_available(False, PAYMENTS_UNAVAILABLE))
        main.check()
        if self._receipts:
            self._start_receipts()
        main.check()
        self._start_sync()
        worker = self._store()
        kiosk_id = self.settings.kiosk_id
        open_sales = worker.submit(lambda db: SaleBook(db, kiosk_id).open_sales()).result(
            timeout_s
        )
        now = self._clock()
        max_age_s = self.settings.timeouts.open_cart_max_age_s
        restored = None
        abandoned: list[tuple[str, str]] = []
        taxed = self._policy.classes.keys()
        for sale in open_sales:  # newest first
            age_s = (now - sale.updated_at).total_seconds()
            if not sale.lines:
                abandoned.append((sale.sale_id, "empty_at_start"))
            elif not 0 <= age_s <= max_age_s:
                # Older than allowed, or "from the future": the clock is not to be trusted
                # (a Raspberry Pi without a real-time clock before NTP), so never restore.
                abandoned.append((sale.sale_id, "expired_at_start"))
            elif any(line.tax_class not in taxed for line in sale.lines):
                abandoned.append((sale.sale_id, "tax_class_gone_at_start"))
            elif restored is None:
                restored = sale
            else:
                abandoned.append((sale.sale_id, "superseded_at_start"))

        def close_abandoned(db: Database) -> None:
            book = SaleBook(db, kiosk_id)
            for sale_id, reason in abandoned:
                book.abandon(sale_id, reason, at=now)

        worker.submit(close_abandoned).result(timeout_s)
        for sale_id, reason in abandoned:
            log.info("sale %s recorded as abandoned at start (%s)", sale_id, reason)
            if self._payments is not None:  # cancels a PaymentIntent recovery handed back
                self._payments.abandon(sale_id, reason)
        recovered_paid = None
        if recovery is not None and recovery.paid and restored is None:
            # The kiosk restarted while its customer was paying, and the payment went
            # through: show them so (the paid screen), rather than a silent attract screen.
            paid_id = recovery.paid[-1]
            lines, number = worker.submit(
                lambda db: (
                    SaleBook(db, kiosk_id).lines(paid_id),
                    SaleBook(db, kiosk_id).number_of(paid_id),
                )
            ).result(timeout_s)
            recovered_paid = (paid_id, lines, number)
        return _StartFound(
            restored=restored,
            abandoned_sale_ids=tuple(sale_id for sale_id, _ in abandoned),
            at=now,
            payment_recovery=recovery,
            recovered_paid=recovered_paid,
        )

    def _start_on_main(self, found: _StartFound) -> StartReport:
        """The main-thread steps of a start: the reader connection, the restored cart and
        the first ``SessionChanged``."""
        self._reader = open_database(self.database, check=False)
        self._catalog = ProductCatalog(self._reader, tax_classes=self._policy.classes.keys())
        restored = found.restored
        if restored is not None:
            cart = Cart.restore(restored.lines, self._limits)
            self._checkout = Checkout.restore(
                restored.sale_id, cart, found.at, self._policy, self._limits, self._timers
            )
            self._sale_number = restored.number
            log.info("restored open sale %s with %d line(s)", restored.sale_id, len(cart.lines))
        elif found.recovered_paid is not None:
            paid_id, lines, number = found.recovered_paid
            cart = Cart.restore(lines, self._limits)
            self._checkout = Checkout.restore_paid(
                paid_id, cart, found.at, self._policy, self._limits, self._timers
            )
            self._sale_number = number
            log.info("sale %s was paid while the kiosk restarted: receipt choice", paid_id)
        self._starting = False
        recovery = found.payment_recovery
        if recovery is not None and recovery.unresolved and self._checkout.sale_id is None:
            # Nobody shops here until staff have checked the payment recovery could not
            # settle (it stays locked; the staff menu and reconcile resolve it).
            self._dispatch(PaymentCheckNeeded(at=found.at))
        else:
            self._emit_session()
        return StartReport(
            restored_sale_id=restored.sale_id if restored else None,
            abandoned_sale_ids=found.abandoned_sale_ids,
            payment_recovery=found.payment_recovery,
        )

    def _start_receipts(self) -> None:
        """Start the receipt desk (it first settles jobs a power cut left half printed)."""
        # Imported here, on the start-up thread: python-escpos takes a noticeable part of a
        # second to load, and the first screen should not wait for it.
        from kiosk.devices.printer import open_printer
        from kiosk.receipts.jobs import ReceiptDesk
        from kiosk.sim.virtual_printer import VirtualPrinter

        config = self.settings.printer
        address = None
        if config.transport == "virtual":
            folder = Path(self.settings.state_dir) / VIRTUAL_PRINTER_FOLDER
            self._virtual_printer = VirtualPrinter(folder)
            address = self._virtual_printer.start()
        self._receipt_desk = ReceiptDesk(
            store=self._store(),
            settings=self.settings,
            printer=lambda: open_printer(config, virtual_address=address),
            events=_ReceiptReports(self),
            clock=self._clock,
        )
        self._receipt_desk.start()

    def _start_sync(self) -> None:
        """Start the outbox relay when ``[backoffice] url`` is set and a back-office token
        is configured; otherwise log why sync is off and sell on (the outbox keeps every
        event until sync runs)."""
        backoffice = self.settings.backoffice
        if not backoffice.url:
            return
        try:
            secrets = self._secrets or load_secrets(os.environ)
        except ConfigError as error:
            log.warning("back-office sync is off: the token could not be read: %s", error)
            return
        if secrets.backoffice_token is None:
            log.warning(
                "back-office sync is off: [backoffice] url is set but no back-office token is "
                "configured (systemd credential backoffice-token or KIOSK_BACKOFFICE_TOKEN); "
                "sales are kept in the outbox until it is"
            )
            return
        # Imported here, on the start-up thread: httpx is slow to load (first frame first).
        from kiosk.sync.chores import SyncChores
        from kiosk.sync.relay import OutboxRelay

        try:
            relay = OutboxRelay(
                database=self.database,
                store=self._store(),
                kiosk_id=self.settings.kiosk_id,
                base_url=backoffice.url,
                token=secrets.backoffice_token.get_secret_value(),
                clock=self._clock,
                interval_s=float(backoffice.sync_interval_s),
                after_pass=SyncChores(self._store(), self.settings, self._clock),
            )
        except ValueError as error:
            log.warning("back-office sync is off: %s", error)
            return
        relay.start()
        self._relay = relay
        log.info("back-office sync to %s started", backoffice.url)

    def _start_payments(self, main: _MainThread, timeout_s: float) -> RecoveryReport | None:
        """Start the configured card provider and settle unfinished payments before any
        cart is restored (recovery may hand a sale back to the customer, or record it paid).

        "Checking the last payment..." (``PaymentRecovery("checking")``) is on the main
        thread before recovery's first request, and only when a payment was left
        unfinished; "settled" or "call_staff" follows it.
        """
        from kiosk.payments.registry import start_card_payments
        from kiosk.sim.card_readers import SIMULATORS

        started = start_card_payments(
            self.settings, self._secrets or load_secrets(os.environ), self._store(),
            _PaymentReports(self), self._clock, started=self._payments_started,
            checking=lambda: main.run_and_wait(lambda: self._emit(PaymentRecovery("checking"))),
            timeout_s=timeout_s, simulators=SIMULATORS,
        )
        if started.provider is None:
            reason = started.unavailable_reason

            def unavailable() -> None:
                self._payments_available = (False, reason)
                self._emit(PaymentsAvailability(False, reason))

            main.run(unavailable)
            return None
        report = started.report
        assert report is not None
        if not started.unfinished and not report.unresolved:
            if not report.settled:
                log.warning("boot recovery ran out of time: %s", report.errors)
            return report
        if report.settled:
            main.run(lambda: self._emit(PaymentRecovery("settled")))
        else:
            log.warning("payments still in doubt after recovery: %s", report.unresolved)
            in_doubt = tuple(report.unresolved)
            main.run(lambda: self._emit(PaymentRecovery("call_staff", in_doubt)))
        return report

    def _payments_started(self, provider: CardProvider) -> None:
        """The card provider runs: keep it, and hand it the demo card chosen meanwhile."""
        with self._demo_lock:
            self._payments = provider
            if self._card_options.demo_cards:
                provider.set_demo_card(self._demo_card)

    @cached_property
    def _card_options(self) -> ProviderOptions:
        """What the facade needs to know of the configured card provider."""
        from kiosk.payments.registry import provider_options

        return provider_options(self.settings)

    # ------------------------------------------------------------------------- demo

    def set_demo_card(self, kind: str) -> None:
        """Demo only: the embedded emulator's simulated customer taps the card ``kind`` (a key
        of ``DEMO_CARDS``: approved, declined, insufficient_funds) `DEMO_TAP_AFTER_S` seconds
        after each payment starts, from the next payment on.

        The emulator saves the choice with an fsync, so it is applied on the store worker, in
        order before any later payment. Chosen while the kiosk is starting, it is applied once
        the emulator runs. Raises ``ValueError`` for an unknown kind and ``RuntimeError`` when
        card payments do not run on the embedded emulator (``[stripe] api_base`` is not
        ``"embedded"``, or the kiosk was made without card payments).
        """
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
        """Start reading the barcode scanner; return the path it opens.

        ``port`` overrides ``[scanner] port``. ``"virtual"`` starts the virtual scanner of
        ``kiosk.sim`` (a pseudo-terminal other programs can write frames to) and opens it like
        a real one. Frames and connection changes reach the main thread through
        ``post_to_main``; while the scanner is unplugged the kiosk keeps running and retries.
        """
        self._stop_scanner()
        path = port or self.settings.scanner.port
        if path == "virtual":
            # Behind a stable link, as udev gives a real scanner, so a replug keeps the path.
            link = Path(self.settings.state_dir) / "virtual-scanner"
            self._virtual_scanner = VirtualScanner(link)
            path = self._virtual_scanner.path
        options = scanner_options(self.settings, path)
        self._scanner = SerialScanner(
            options,
            on_frame=lambda frame: self._post(lambda: self.scan(frame)),
            on_state=lambda state: self._post(lambda: self._on_scanner_state(state)),
        )
        self._scanner.start()
        return path

    @property
    def virtual_scanner(self) -> VirtualScanner | None:
        """The virtual scanner, when ``[scanner] port = "virtual"`` (demo and tests)."""
        return self._virtual_scanner

    @property
    def scanner_state(self) -> ScannerState:
        """The scanner's connection as last reported on the main thread."""
        return self._scanner_state

    def _on_payments_available(self, available: bool, reason: str) -> None:
        if (available, reason) != self._payments_available:
            self._payments_available = (available, reason)
            self._emit(PaymentsAvailability(available, reason))

    def _stop_scanner(self) -> None:
        if self._scanner is not None:
            self._scanner.stop()
            self._scanner = None
        if self._virtual_scanner is not None:
            self._virtual_scanner.close()
            self._virtual_scanner = None

    def _on_scanner_state(self, state: ScannerState) -> None:
        if state != self._scanner_state:
            self._scanner_state = state
            self._emit(ScannerStateChanged(state.value))

    def close(self) -> None:
        """Stop the scanner, finish pending writes and close the store (the session stays in
        the database).

        The main thread's reader closes first, so the last connection, which checkpoints the
        WAL into the database file (an fsync), is the worker's. A background start still
        running is stopped at its next step (waiting for payment recovery's budget at most).
        """
        self._closing = True
        self._starting = False
        starting = self._start_thread
        if starting is not None and starting is not threading.current_thread():
            network_s = self._card_options.request_budget_s
            starting.join(self.settings.timeouts.recovery_s + network_s + CLOSE_START_MARGIN_S)
            if starting.is_alive():
                log.warning("the kiosk closed while its start was still running")
        if self._relay is not None:  # before the store worker: its acks are store jobs
            relay, self._relay = self._relay, None
            relay.stop(relay.request_timeout_s + CLOSE_SYNC_MARGIN_S)
        self._stop_scanner()
        if self._receipt_desk is not None:
            try:
                self._receipt_desk.stop()
            except TimeoutError:  # a print in hand; its job stays 'printing' for recovery
                log.warning("the receipt desk was still printing at close")
            self._receipt_desk = None
        if self._virtual_printer is not None:
            self._virtual_printer.stop()
            self._virtual_printer = None
        if self._payments is not None:
            self._payments.stop()
            self._payments = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._worker is not None:
            self._worker.close()
            self._worker = None

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
        """``time.monotonic()`` of each worker's last loop turn, for the watchdog.

        "sync" is there whenever sync was started (until `close`), also after its thread
        ended on its own: its last heartbeat then goes stale, so the watchdog sees a dead
        sync thread instead of none."""
        beats = {"store": self._worker.heartbeat} if self._worker else {}
        if self._scanner is not None:
            beats["scanner"] = self._scanner.heartbeat
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
        (the scanner test)."""
        if self._refused_before_start():
            return
        if self.staff.session is not None:
            self.staff.scanner_test_read(raw)
            return
        if self._checkout.state is CheckoutState.ATTRACT and self.staff.closed:
            self._emit(CartRefused(KIOSK_CLOSED))
            return
        at = self._clock()
        if (
            self._checkout.state is CheckoutState.ATTRACT
            and self._card_options.block_sales_when_unavailable
            and not self._payments_available[0]
        ):
            self._emit(CartRefused(PAYMENTS_UNAVAILABLE))
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
        if self._refused_before_start():
            return
        self._dispatch(QuantityChanged(at=self._clock(), line_id=line_id, quantity=quantity))

    def remove_line(self, line_id: int) -> None:
        """Remove a cart line."""
        if self._refused_before_start():
            return
        self._dispatch(LineRemoved(at=self._clock(), line_id=line_id))

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
            self._emit(CartRefused(BELOW_CARD_MINIMUM))
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
        """Any touch on the screen: the customer is still there (ignored while starting)."""
        if self._starting or self._catalog is None:
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

    def tick(self) -> None:
        """Let time pass (call about once a second): idle prompts, timeouts, retried writes.

        Does nothing until the kiosk has started (nothing is timed on the first screen)."""
        if self._starting or self._catalog is None:
            return
        if self._unsaved_sale is not None and self._unsaved_sale == self._checkout.sale_id:
            self._save_whole_sale()
        retries, self._writes_to_retry = self._writes_to_retry, []
        for job, what in retries:
            self._write(job, what, retry=True)
        if self.staff.session is not None:
            # Staff are at the kiosk: the customer's sale does not time out behind the menu.
            self._dispatch(CustomerActive(at=self._clock()))
        self.staff.tick()
        self._dispatch(Tick(at=self._clock()))

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
        if not 0 < staff_number <= MAX_STAFF_NUMBER:
            self._emit(StaffChecked(PinOutcome.UNKNOWN_STAFF, staff_number, None, None))
            return
        now = self._clock()
        # The answer applies to the call staff answered, not to whatever is on screen when the
        # worker replies (the customer may have cancelled and started again meanwhile).
        call = (self._checkout.sale_id, self._checkout.attendant_reason)
        future = self._write(
            lambda db: StaffRoster(db).check_pin(staff_number, pin, now), "check a staff PIN"
        )
        self._when_done(future, lambda check: self._on_staff_checked(staff_number, check, call))

    def _on_staff_checked(
        self, staff_number: int, check: PinCheck, call: tuple[str | None, AttendantReason | None]
    ) -> None:
        self._emit(
            StaffChecked(
                outcome=check.outcome,
                staff_number=staff_number,
                tries_left=check.tries_left,
                locked_until=check.locked_until,
            )
        )
        reason = self._checkout.attendant_reason
        if check.outcome is not PinOutcome.OK or reason is None:
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
        if self._refused_before_start():
            return
        if not self._signed_in(staff_number):
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
        if self._refused_before_start():
            return
        if not self._signed_in(staff_number):
            return
        self._dispatch(LimitOverridden(at=self._clock(), staff_number=str(staff_number)))
        self.staff.settle_call_session()

    def void_line(self, staff_number: int, line_id: int) -> None:
        """Staff member ``staff_number`` removes line ``line_id`` for the customer (refused while
        a payment is in progress or after it). Voiding the last line an open call is about (the
        last age-restricted line of an age check...) closes the call."""
        if self._refused_before_start():
            return
        if not self._signed_in(staff_number):
            return
        self._dispatch(
            LineVoided(at=self._clock(), staff_number=str(staff_number), line_id=line_id)
        )
        self.staff.settle_call_session()

    def leave_out(self, staff_number: int) -> None:
        """Staff member ``staff_number`` closes an unknown-item, weighed-item or limit call with
        the item left out of the cart (refused ``no_call`` without such a call)."""
        if self._refused_before_start():
            return
        if not self._signed_in(staff_number):
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
            self._emit(CartRefused(KIOSK_STARTING))
            return True
        if self._start_error is not None:
            self._emit(CartRefused(KIOSK_OUT_OF_ORDER))
            return True
        return False

    def _dispatch(self, event: Event) -> None:
        before = self._checkout
        self._checkout, effects = before.handle(event)
        for effect in effects:
            self._carry_out(effect)
        if self._checkout is not before:
            self._emit_session()

    def _carry_out(self, effect: Effect) -> None:
        if isinstance(effect, SaleStarted):
            self._sale_number = None
            self._record_sale_opened(effect.sale_id, effect.at)
            if self._receipt_desk is not None:
                self._receipt_desk.next_customer()
        elif isinstance(effect, CartChanged):
            self._save_cart(effect.sale_id, effect.cart)
        elif isinstance(effect, SaleAbandoned):
            sale_id, reason, at = effect.sale_id, effect.reason.value, effect.at
            log.info("sale %s abandoned (%s)", sale_id, reason)
            kiosk_id = self.settings.kiosk_id
            self._write(
                lambda db: SaleBook(db, kiosk_id).abandon(sale_id, reason, at=at),
                f"abandon sale {sale_id}",
                retry=True,
            )
            if self._payments is not None:  # cancels its PaymentIntent, if it has one
                self._payments.abandon(sale_id, reason)
        elif isinstance(effect, ApprovalGiven):
            self._record_approval(effect)
        elif isinstance(effect, StartPayment):
            if self._payments is None:
                self._post(lambda: self.payment_declined(PAYMENTS_UNAVAILABLE))
            else:
                self._payments.start_payment(
                    effect.sale_id, effect.amount_minor, effect.totals, self._checkout.cart.lines
                )
        elif isinstance(effect, CancelWaitingPayment):
            if self._payments is None:
                self._post(self.payment_cancelled)
            else:
                self._payments.cancel_waiting(effect.sale_id)
        elif isinstance(effect, CallAttendant):
            self._emit(AttendantCalled(effect.reason, effect.sale_id))
        elif isinstance(effect, ShowIdlePrompt):
            self._emit(IdlePromptShown())
        elif isinstance(effect, Refused):
            self._emit(CartRefused(effect.code.value))
        elif isinstance(effect, SessionEnded):
            self._sale_number = None
            if self._receipt_desk is not None:
                choice = effect.receipt.value if effect.receipt is not None else "timeout"
                from kiosk.receipts.jobs import CHOICES as RECEIPT_CHOICES

                if choice not in RECEIPT_CHOICES:  # e-mail receipts: not offered yet
                    choice = "none"
                self._receipt_desk.choose(effect.sale_id, choice)
            self._emit(SaleEnded(effect.sale_id, effect.receipt))
        # SalePaid needs no write here: the payment layer commits the paid sale (with its
        # outbox rows) before it reports PaymentSucceeded.

    def _record_sale_opened(self, sale_id: str, at: datetime) -> None:
        kiosk_id = self.settings.kiosk_id
        currency = self.settings.shop.currency
        language = self.settings.shop.languages[0]
        future = self._write(
            lambda db: SaleBook(db, kiosk_id).open_sale(
                sale_id, at=at, currency=currency, language=language
            ),
            f"open sale {sale_id}",
        )
        self._when_done(future, lambda number: self._on_sale_number(sale_id, number))

    def _on_sale_number(self, sale_id: str, number: int) -> None:
        if self._checkout.sale_id == sale_id and self._sale_number != number:
            self._sale_number = number
            self._emit_session()

    def _save_cart(self, sale_id: str, cart: Cart) -> None:
        try:
            totals = cart.totals(self._policy)
        except TaxError as error:  # the checkout and start() keep unknown tax classes out
            log.error("cart of sale %s has no tax rate for %s", sale_id, error)
            self._emit(StoreTrouble(f"could not save sale {sale_id}: {error}"))
            return
        kiosk_id, policy, lines = self.settings.kiosk_id, self._policy, cart.lines
        at = self._clock()
        self._write(
            lambda db: SaleBook(db, kiosk_id).save_cart(sale_id, lines, totals, policy, at=at),
            f"save the cart of sale {sale_id}",
            retry_sale=sale_id,
        )

    def _save_whole_sale(self) -> None:
        """Write the open sale again after a failed write: its row, then its whole cart."""
        sale_id = self._checkout.sale_id
        if sale_id is None:
            return
        self._unsaved_sale = None
        self._record_sale_opened(sale_id, self._clock())
        self._save_cart(sale_id, self._checkout.cart)

    def _record_approval(self, effect: ApprovalGiven) -> None:
        """Write the one audit row of a staff decision (``checkout.<action>``) in the same
        transaction as what the decision changed: the cart it made, or the age approval.

        A failed write is retried: the audit row alone on the next tick, while the sale's
        current cart is written whole (an older cart must never overwrite a newer one).
        """
        kiosk_id, policy = self.settings.kiosk_id, self._policy
        staff_number = int(effect.staff_number)
        sale_id = effect.sale_id
        approving = effect.action.startswith("approve.") or effect.action == "override_limit"
        detail: dict[str, Any] = {"sale_id": sale_id, **dict(effect.detail)}
        saved: tuple[tuple[CartLine, ...], Totals] | None = None
        if effect.cart is not None and sale_id is not None:
            try:
                saved = (effect.cart.lines, effect.cart.totals(policy))
            except TaxError:  # the CartChanged that follows reports it; the row still counts
                saved = None

        def record(db: Database) -> None:
            with db.atomic():
                audit.record(
                    db,
                    at=effect.at,
                    action=f"checkout.{effect.action}",
                    outcome="approved" if approving else "ok",
                    staff_number=staff_number,
                    detail=detail,
                )
                if effect.action == "approve.age_check" and sale_id:
                    SaleBook(db, kiosk_id).approve_age(sale_id, staff_number, at=effect.at)

        what = f"record the {effect.action} decision"
        if saved is None or sale_id is None:
            self._write(record, what, retry=True)
            return
        lines, totals = saved

        def change_and_record(db: Database) -> None:
            with db.atomic():
                SaleBook(db, kiosk_id).save_cart(sale_id, lines, totals, policy, at=effect.at)
                record(db)

        def failed(done: Future[None]) -> None:
            if done.exception() is not None:
                self._post(lambda: self._writes_to_retry.append((record, what)))

        self._write(change_and_record, what, retry_sale=sale_id).add_done_callback(failed)

    def _write(
        self,
        job: Callable[[Database], T],
        what: str,
        *,
        retry_sale: str | None = None,
        retry: bool = False,
    ) -> Future[T]:
        """Run a write on the store worker; report a failure on the main thread.

        A failed cart save (``retry_sale``) is redone as a whole-sale write on the next tick;
        a failed ``retry`` job (idempotent: abandon, approval) is submitted again then.
        """
        future = self._store().submit(job)

        def failed(error: BaseException) -> None:
            log.error("could not %s: %s", what, error)
            if retry_sale is not None:
                self._unsaved_sale = retry_sale
            if retry:
                self._writes_to_retry.append((job, what))
            self._emit(StoreTrouble(f"could not {what}: {error}"))

        def on_done(done: Future[T]) -> None:
            error = done.exception()
            if error is not None:
                self._post(lambda: failed(error))

        future.add_done_callback(on_done)
        return future

    def _when_done(self, future: Future[T], then: Callable[[T], Any]) -> None:
        """Call ``then(result)`` on the main thread once ``future`` succeeds."""
        future.add_done_callback(
            lambda done: self._post(lambda: then(done.result()))
            if done.exception() is None
            else None
        )

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
