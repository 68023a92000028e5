"""Starting and closing the kiosk's services: the store, card payments, receipts and sync.

A start opens the store worker (the database's integrity check), reads the open sales and
closes those a customer will not get back (`kiosk.core.open_sales` decides which), then
`open_for_scans` opens the main thread's reader connection, restores the session (the cart kept,
or the sale paid while the kiosk restarted) and takes scans (`EarlyScans`: those that came
earlier first). The payment side (with payment recovery), the receipt desk and sync start once
it has run (their imports would compete with the main thread for Python's lock), on the same
thread, and `finish_on_main` ends the start. Only a sale left with an
unfinished card payment changes the order: payment recovery runs before any cart is restored
(it may record the sale paid or hand it back to its customer). `start_off_main` runs the slow
steps on whichever thread starts the kiosk; `close_services` stops everything in reverse order.

The steps reach the main thread through `MainThreadSteps` (at once for ``Kiosk.start``, posted
for ``Kiosk.start_in_background``). The facade (``kiosk.app.Kiosk``) is the `StartingKiosk`
these steps fill in; this module never imports it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlite_utils import Database

from kiosk.config import ConfigError, Secrets, Settings, load_secrets
from kiosk.core.barcodes import load_check_tables
from kiosk.core.cart import Cart, CartLine
from kiosk.core.checkout import Checkout
from kiosk.core.checkout_events import CheckoutTimers, Event, PaymentCheckNeeded
from kiosk.core.checkout_states import PaymentPhase
from kiosk.core.open_sales import choose_open_sale
from kiosk.core.shop_rules import CartLimits, TaxPolicy
from kiosk.notices import (
    Notice,
    PaymentRecovery,
    PaymentsAvailability,
    ReceiptPrinted,
    ReceiptUnavailable,
)
from kiosk.receipts.ereceipt import ereceipt_url
from kiosk.refusals import KioskRefusal
from kiosk.store.db import StoreError, open_database
from kiosk.store.keys import StoreKeys, keys_from_secrets
from kiosk.store.products import ProductCatalog
from kiosk.store.sales import OpenSale, SaleBook
from kiosk.store.worker import StoreWorker

if TYPE_CHECKING:  # loaded on the start-up thread, after the first screen is drawn
    from kiosk.devices.printer import ReceiptPrinter
    from kiosk.payments.provider import CardProvider, ProviderOptions
    from kiosk.payments.reports import RecoveryReport
    from kiosk.receipts.jobs import ReceiptDesk
    from kiosk.sim.virtual_printer import VirtualPrinter
    from kiosk.sync.relay import OutboxRelay

log = logging.getLogger(__name__)

VIRTUAL_PRINTER_FOLDER = "virtual-printer"
"""Where the virtual printer saves each job (raw bytes, text, PNG), in the state directory."""

START_STORE_TIMEOUT_S = 30.0
"""How long a start waits for each answer of the store worker, in seconds."""

MAIN_THREAD_WAIT_TURN_S = 0.1
"""How often the start thread, waiting for the main thread, looks whether the kiosk closes."""

CLOSE_START_MARGIN_S = 15.0
"""Seconds ``close`` waits for a background start beyond the payment recovery's own budget."""

CLOSE_SYNC_MARGIN_S = 5.0
"""Seconds ``close`` waits for the sync relay beyond its request timeout (a batch in flight)."""

EARLY_SCANS_KEPT = 8
"""Scans kept while the kiosk starts, handled once it takes scans; later ones are refused."""


@dataclass(frozen=True)
class StartReport:
    """What ``Kiosk.start`` found: the open sale it restored, those it closed as abandoned,
    and what payment recovery did (``None`` without card payments)."""

    restored_sale_id: str | None
    abandoned_sale_ids: tuple[str, ...]
    payment_recovery: RecoveryReport | None = None


@dataclass(frozen=True)
class StartFound:
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
    abandoned: tuple[tuple[str, str], ...] = ()
    """The sales recorded abandoned, each with its reason (the payment side is told too)."""
    recovered_late: bool = False
    """Payment recovery ran after the kiosk took scans (no payment was left unfinished): its
    paid screen or payment check applies only if no sale is on screen by then."""


class EarlyScans:
    """The scans of a start: kept until the kiosk takes scans (the store ready, the session
    restored), then handed over in the order they came."""

    def __init__(self) -> None:
        self.taken = False
        """True while the kiosk takes scans."""
        self._kept: list[bytes] = []

    def keep(self, raw: bytes, *, failed: bool) -> KioskRefusal | None:
        """Keep ``raw`` for when the kiosk takes scans, or say why not: the start ``failed``
        (out of order), or `EARLY_SCANS_KEPT` scans are kept already (still starting)."""
        if failed:
            return KioskRefusal.KIOSK_OUT_OF_ORDER
        if len(self._kept) >= EARLY_SCANS_KEPT:
            return KioskRefusal.KIOSK_STARTING
        self._kept.append(raw)
        return None

    def take(self) -> list[bytes]:
        """From now on scans are taken: the kept ones, oldest first."""
        self.taken = True
        kept, self._kept = self._kept, []
        return kept

    def stop(self) -> None:
        """Take no more scans (the kiosk closes, or its start failed); drop the kept ones."""
        self.taken = False
        if self._kept:
            log.info("%d scan(s) kept while starting were dropped", len(self._kept))
            self._kept = []


class StartCancelled(Exception):
    """The kiosk was closed while a background start was still running."""


class MainThreadSteps:
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
        """Raise `StartCancelled` when the kiosk is closing."""
        if self._closing():
            raise StartCancelled


class StartingKiosk(Protocol):
    """The facade as its start-up and shutdown steps see it (``kiosk.app.Kiosk`` is one).

    The steps fill in the services the facade then uses (the store worker, the reader, the
    receipt desk, the sync relay, the payment side) and the session a start restores; the
    payment thread's reports reach the facade's public payment methods on the main thread.
    """

    settings: Settings
    database: Path
    _secrets: Secrets | None
    _clock: Callable[[], datetime]
    _post: Callable[[Callable[[], None]], None]
    _policy: TaxPolicy
    _limits: CartLimits
    _timers: CheckoutTimers
    _checkout: Checkout
    _sale_number: int | None
    _card_payments: bool
    _cards_load_after_scans: bool
    _receipts: bool
    _closing: bool
    _starting: bool
    _start_error: BaseException | None
    _start_thread: threading.Thread | None
    _scans: EarlyScans
    _worker: StoreWorker | None
    _reader: Database | None
    _catalog: ProductCatalog | None
    _receipt_desk: ReceiptDesk | None
    _virtual_printer: VirtualPrinter | None
    _relay: OutboxRelay | None
    _payments: CardProvider | None
    _payments_available: tuple[bool, str]
    _demo_lock: threading.Lock
    _demo_card: str

    @property
    def checkout(self) -> Checkout:
        """The session as it stands."""
        ...

    @property
    def _card_options(self) -> ProviderOptions: ...

    def _payments_started(self, provider: CardProvider) -> None: ...

    def _store(self) -> StoreWorker: ...

    def scan(self, raw: bytes) -> None:
        """One frame from the scanner."""
        ...

    def _emit(self, notice: Notice) -> None: ...

    def _on_payments_available(self, available: bool, reason: str) -> None: ...

    def _stop_scanner(self) -> None: ...

    def _dispatch(self, event: Event) -> None: ...

    def _emit_session(self) -> None: ...

    def payment_phase(self, phase: PaymentPhase) -> None:
        """The reader's phase changed."""
        ...

    def payment_succeeded(self) -> None:
        """The sale on screen is paid."""
        ...

    def payment_declined(self, code: str) -> None:
        """The card was declined."""
        ...

    def payment_cancelled(self) -> None:
        """The waiting payment was cancelled."""
        ...

    def payment_unresolved(self, code: str) -> None:
        """The card may still be charged."""
        ...

    def sync_now(self) -> None:
        """Ask the sync relay for a pass now."""
        ...


def start_in_background(
    kiosk: StartingKiosk,
    on_started: Callable[[StartReport], None] | None,
    on_failed: Callable[[BaseException], None] | None,
    no_cards_reason: str,
    on_taking_scans: Callable[[], None] | None = None,
) -> threading.Thread:
    """Run `start_off_main` on a new thread, then `finish_start` (or `start_failed`) on the
    main thread; return the (started) thread. See ``Kiosk.start_in_background``."""
    main = MainThreadSteps(kiosk._post, lambda: kiosk._closing)

    def off_main() -> None:
        try:
            found = start_off_main(
                kiosk, main, START_STORE_TIMEOUT_S, no_cards_reason, on_taking_scans
            )
        except StartCancelled:
            log.info("start cancelled: the kiosk is closing")
            return
        except Exception as error:
            failure = error  # ``error`` is unbound once the except block ends
            kiosk._post(lambda: start_failed(kiosk, failure, on_failed))
            return
        kiosk._post(lambda: finish_start(kiosk, found, on_started, on_failed))

    thread = threading.Thread(target=off_main, name="kiosk-start", daemon=True)
    thread.start()
    return thread


def finish_start(
    kiosk: StartingKiosk,
    found: StartFound,
    on_started: Callable[[StartReport], None] | None,
    on_failed: Callable[[BaseException], None] | None,
) -> None:
    """The main-thread end of a background start (nothing if the kiosk closed meanwhile)."""
    if kiosk._closing:
        return
    try:
        report = finish_on_main(kiosk, found)
    except Exception as error:
        start_failed(kiosk, error, on_failed)
        return
    if on_started is not None:
        on_started(report)


def start_failed(
    kiosk: StartingKiosk, error: BaseException, on_failed: Callable[[BaseException], None] | None
) -> None:
    """A start failed: log it, refuse actions from now on and tell ``on_failed`` (on the main
    thread; nothing if the kiosk closed meanwhile)."""
    if kiosk._closing:
        return
    if isinstance(error, StoreError):
        log.error("the kiosk could not start: %s", error)
    else:
        log.error("the kiosk could not start", exc_info=error)
    kiosk._start_error = error
    kiosk._starting = False
    kiosk._scans.stop()
    if on_failed is not None:
        on_failed(error)


def _store_keys(kiosk: StartingKiosk) -> StoreKeys | None:
    """The PIN pepper and the audit key from the secrets, or ``None`` (logged: PINs stay
    unwrapped and audit rows unsealed until the machine has them; `kiosk doctor` says so)."""
    try:
        keys = keys_from_secrets(kiosk._secrets or load_secrets(os.environ))
    except ConfigError as error:
        log.error("the PIN pepper and audit key cannot be read: %s", error)
        return None
    if keys is None:
        log.warning("no PIN pepper or audit key (systemd credentials pin-pepper, audit-key): "
                    "staff PINs are not peppered and audit rows are not sealed")
    return keys


def start_off_main(
    kiosk: StartingKiosk,
    main: MainThreadSteps,
    timeout_s: float,
    no_cards_reason: str,
    on_taking_scans: Callable[[], None] | None = None,
) -> StartFound:
    """The slow steps of a start, on whichever thread runs them (never the session).

    Opens the store (its integrity check), reads the open sales and records those not to be
    restored as abandoned, has the main thread take scans (`open_for_scans`, then
    ``on_taking_scans``), then starts the payment side (settling unfinished payments), the
    receipt desk and sync. When a card payment was left unfinished, or sales are refused
    while card payments are unavailable, the payment side starts first. Notices go through
    ``main``; without card payments the kiosk is told ``no_cards_reason`` before anyone
    scans. ``timeout_s`` bounds each store answer.
    """
    kiosk._worker = StoreWorker(kiosk.database, records_money=True, keys=_store_keys(kiosk))
    load_check_tables()  # python-stdnum, while the store worker checks the database
    main.check()
    payments_first = kiosk._card_payments and _payments_first(kiosk, timeout_s)
    # Sales are not refused for want of card payments (or the payment side would start
    # first): the first scans need not load the provider's modules to know it.
    kiosk._cards_load_after_scans = kiosk._card_payments and not payments_first
    recovery = _start_payments(kiosk, main, timeout_s) if payments_first else None
    if not kiosk._card_payments:  # told before anyone scans, as when there is no key
        main.run(lambda: kiosk._on_payments_available(False, no_cards_reason))
    main.check()
    found = _settle_open_sales(kiosk, recovery, timeout_s)
    # The rest waits until the kiosk takes scans (the kept ones in the cart): loading the
    # payment side, python-escpos and httpx beside the main thread would slow it down.
    main.run_and_wait(lambda: open_for_scans(kiosk, found, on_taking_scans))
    if kiosk._card_payments and not payments_first:
        main.check()
        found = _recover_late(kiosk, found, _start_payments(kiosk, main, timeout_s), timeout_s)
        kiosk._cards_load_after_scans = False
    main.check()
    if kiosk._receipts:
        start_receipts(kiosk)
    main.check()
    start_sync(kiosk)
    return found


def _payments_first(kiosk: StartingKiosk, timeout_s: float) -> bool:
    """True when the payment side must start before the kiosk takes scans: a card payment
    was left unfinished (recovery may record its sale paid or hand it back before any cart
    is restored), or sales are refused while card payments are unavailable."""
    if kiosk.settings.stripe.block_sales_when_unavailable:
        return True
    from kiosk.payments import attempts  # the attempts' rows only: no Stripe library

    return bool(kiosk._store().submit(attempts.unresolved).result(timeout_s))


def _recover_late(
    kiosk: StartingKiosk,
    found: StartFound,
    recovery: RecoveryReport | None,
    timeout_s: float,
) -> StartFound:
    """After a recovery that ran once the kiosk took scans: tell the payment side of the
    sales recorded abandoned, and find a sale recovery recorded paid."""
    if kiosk._payments is not None:  # cancels a PaymentIntent left on an abandoned sale
        for sale_id, reason in found.abandoned:
            kiosk._payments.abandon(sale_id, reason)
    found = replace(found, payment_recovery=recovery, recovered_late=True)
    if recovery is not None and recovery.paid and found.restored is None:
        found = replace(found, recovered_paid=_paid_sale(kiosk, recovery.paid[-1], timeout_s))
    return found


def _paid_sale(
    kiosk: StartingKiosk, paid_id: str, timeout_s: float
) -> tuple[str, tuple[CartLine, ...], int | None]:
    """A sale recorded paid: its id, lines and number."""
    kiosk_id = kiosk.settings.kiosk_id
    lines, number = kiosk._store().submit(
        lambda db: (
            SaleBook(db, kiosk_id).lines(paid_id),
            SaleBook(db, kiosk_id).number_of(paid_id),
        )
    ).result(timeout_s)
    return paid_id, lines, number


def _settle_open_sales(
    kiosk: StartingKiosk, recovery: RecoveryReport | None, timeout_s: float
) -> StartFound:
    """Choose the open sale to restore, record the others abandoned, and find the sale
    recovery recorded paid while its customer was at the reader."""
    worker = kiosk._store()
    kiosk_id = kiosk.settings.kiosk_id
    open_sales = worker.submit(lambda db: SaleBook(db, kiosk_id).open_sales()).result(
        timeout_s
    )
    now = kiosk._clock()
    choice = choose_open_sale(
        open_sales,
        now=now,
        max_age_s=kiosk.settings.timeouts.open_cart_max_age_s,
        tax_classes=kiosk._policy.classes.keys(),
    )
    restored, abandoned = choice.restored, choice.abandoned

    def close_abandoned(db: Database) -> None:
        book = SaleBook(db, kiosk_id)
        for sale_id, reason in abandoned:
            book.abandon(sale_id, reason, at=now)

    worker.submit(close_abandoned).result(timeout_s)
    for sale_id, reason in abandoned:
        log.info("sale %s recorded as abandoned at start (%s)", sale_id, reason)
        if kiosk._payments is not None:  # cancels a PaymentIntent recovery handed back
            kiosk._payments.abandon(sale_id, reason)
    recovered_paid = None
    if recovery is not None and recovery.paid and restored is None:
        # The kiosk restarted while its customer was paying, and the payment went
        # through: show them so (the paid screen), rather than a silent attract screen.
        recovered_paid = _paid_sale(kiosk, recovery.paid[-1], timeout_s)
    return StartFound(
        restored=restored,
        abandoned_sale_ids=tuple(sale_id for sale_id, _ in abandoned),
        at=now,
        payment_recovery=recovery,
        recovered_paid=recovered_paid,
        abandoned=tuple(abandoned),
    )


def open_for_scans(
    kiosk: StartingKiosk, found: StartFound, on_taking_scans: Callable[[], None] | None = None
) -> None:
    """The main thread's first steps once the store is ready: the reader connection, the
    restored cart (or the sale recovery recorded paid) and its ``SessionChanged``; then the
    kiosk takes scans (those kept first) and ``on_taking_scans()`` runs. Nothing if the kiosk
    closed meanwhile."""
    if kiosk._closing:
        return
    kiosk._reader = open_database(kiosk.database, check=False)
    kiosk._catalog = ProductCatalog(kiosk._reader, tax_classes=kiosk._policy.classes.keys())
    restored = found.restored
    if restored is not None:
        cart = Cart.restore(restored.lines, kiosk._limits)
        kiosk._checkout = Checkout.restore(
            restored.sale_id, cart, found.at, kiosk._policy, kiosk._limits, kiosk._timers
        )
        kiosk._sale_number = restored.number
        log.info("restored open sale %s with %d line(s)", restored.sale_id, len(cart.lines))
        kiosk._emit_session()
    else:
        _show_recovery(kiosk, found)
    for raw in kiosk._scans.take():
        kiosk.scan(raw)
    if on_taking_scans is not None:
        on_taking_scans()


def _show_recovery(kiosk: StartingKiosk, found: StartFound) -> None:
    """With no sale on screen: the sale recovery recorded paid (receipt choice), or the
    payment check staff must do first, or the attract screen's ``SessionChanged``."""
    if found.recovered_paid is not None:
        paid_id, lines, number = found.recovered_paid
        cart = Cart.restore(lines, kiosk._limits)
        kiosk._checkout = Checkout.restore_paid(
            paid_id, cart, found.at, kiosk._policy, kiosk._limits, kiosk._timers
        )
        kiosk._sale_number = number
        log.info("sale %s was paid while the kiosk restarted: receipt choice", paid_id)
    recovery = found.payment_recovery
    if recovery is not None and recovery.unresolved and kiosk._checkout.sale_id is None:
        # Nobody shops here until staff have checked the payment recovery could not
        # settle (it stays locked; the staff menu and reconcile resolve it).
        kiosk._dispatch(PaymentCheckNeeded(at=found.at))
    else:
        kiosk._emit_session()


def finish_on_main(kiosk: StartingKiosk, found: StartFound) -> StartReport:
    """The main thread's last step of a start: what a late payment recovery found is shown
    if no sale is on screen, and the kiosk is started."""
    if found.recovered_late and kiosk._checkout.sale_id is None:
        has_news = found.recovered_paid is not None or (
            found.payment_recovery is not None and found.payment_recovery.unresolved
        )
        if has_news:
            _show_recovery(kiosk, found)
    kiosk._starting = False
    return StartReport(
        restored_sale_id=found.restored.sale_id if found.restored else None,
        abandoned_sale_ids=found.abandoned_sale_ids,
        payment_recovery=found.payment_recovery,
    )


def start_receipts(kiosk: StartingKiosk) -> None:
    """Start the receipt desk (it first settles jobs a power cut left half printed)."""
    # The desk's modules load here, on the start-up thread; python-escpos (the driver, with
    # Pillow, qrcode and python-barcode) only when the first receipt or status needs it.
    from kiosk.receipts.jobs import ReceiptDesk

    config = kiosk.settings.printer
    address = None
    if config.transport == "virtual":
        from kiosk.sim.virtual_printer import VirtualPrinter

        folder = Path(kiosk.settings.state_dir) / VIRTUAL_PRINTER_FOLDER
        kiosk._virtual_printer = VirtualPrinter(folder)
        address = kiosk._virtual_printer.start()

    def printer() -> ReceiptPrinter | None:
        from kiosk.devices.printer import open_printer

        return open_printer(config, virtual_address=address)

    kiosk._receipt_desk = ReceiptDesk(
        store=kiosk._store(),
        settings=kiosk.settings,
        printer=printer,
        events=ReceiptReports(kiosk),
        clock=kiosk._clock,
    )
    kiosk._receipt_desk.start()


def start_sync(kiosk: StartingKiosk) -> None:
    """Start the outbox relay when ``[backoffice] url`` is set and a back-office token
    is configured; otherwise log why sync is off and sell on (the outbox keeps every
    event until sync runs)."""
    backoffice = kiosk.settings.backoffice
    if not backoffice.url:
        return
    try:
        secrets = kiosk._secrets or load_secrets(os.environ)
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
            database=kiosk.database,
            store=kiosk._store(),
            kiosk_id=kiosk.settings.kiosk_id,
            base_url=backoffice.url,
            token=secrets.backoffice_token.get_secret_value(),
            clock=kiosk._clock,
            interval_s=float(backoffice.sync_interval_s),
            after_pass=SyncChores(kiosk._store(), kiosk.settings, kiosk._clock),
        )
    except ValueError as error:
        log.warning("back-office sync is off: %s", error)
        return
    relay.start()
    kiosk._relay = relay
    log.info("back-office sync to %s started", backoffice.url)


def close_services(kiosk: StartingKiosk) -> None:
    """Stop a background start still running, the sync relay, the scanner, the receipt desk,
    the virtual printer and the payment side, then close the reader and the store worker
    (see ``Kiosk.close``)."""
    kiosk._closing = True
    kiosk._starting = False
    kiosk._scans.stop()
    starting = kiosk._start_thread
    if starting is not None and starting is not threading.current_thread():
        network_s = kiosk._card_options.request_budget_s
        starting.join(kiosk.settings.timeouts.recovery_s + network_s + CLOSE_START_MARGIN_S)
        if starting.is_alive():
            log.warning("the kiosk closed while its start was still running")
    if kiosk._relay is not None:  # before the store worker: its acks are store jobs
        relay, kiosk._relay = kiosk._relay, None
        relay.stop(relay.request_timeout_s + CLOSE_SYNC_MARGIN_S)
    kiosk._stop_scanner()
    if kiosk._receipt_desk is not None:
        try:
            kiosk._receipt_desk.stop()
        except TimeoutError:  # a print in hand; its job stays 'printing' for recovery
            log.warning("the receipt desk was still printing at close")
        kiosk._receipt_desk = None
    if kiosk._virtual_printer is not None:
        kiosk._virtual_printer.stop()
        kiosk._virtual_printer = None
    if kiosk._payments is not None:
        kiosk._payments.stop()
        kiosk._payments = None
    if kiosk._reader is not None:
        kiosk._reader.close()
        kiosk._reader = None
    if kiosk._worker is not None:
        kiosk._worker.close()
        kiosk._worker = None


class ReceiptReports:
    """The receipt desk's reports, posted to the facade's main thread as notices."""

    def __init__(self, kiosk: StartingKiosk) -> None:
        self._kiosk = kiosk

    def receipt_printed(self, sale_id: str) -> None:
        """A receipt came out of the printer."""
        self._kiosk._post(lambda: self._kiosk._emit(ReceiptPrinted(sale_id)))

    def receipt_failed(self, sale_id: str, status: str, will_retry: bool) -> None:
        """A receipt could not be printed (its e-receipt link goes to the screen)."""
        url = ereceipt_url(self._kiosk.settings, sale_id)
        notice = ReceiptUnavailable(sale_id, status, will_retry, url)
        self._kiosk._post(lambda: self._kiosk._emit(notice))


# ---------------------------------------------------------------------- card payments
# Moved whole from kiosk/app.py (``Kiosk._start_payments`` and ``_PaymentReports``): ``self``
# of `_start_payments` is the facade.


def _start_payments(
    self: StartingKiosk, main: MainThreadSteps, timeout_s: float
) -> RecoveryReport | None:
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


class _PaymentReports:
    """The payment thread's reports, posted to the facade's main thread.

    A report about another sale than the one on screen (a late answer for a sale the customer
    has left) changes nothing on screen: the payment side has already recorded it.
    """

    def __init__(self, kiosk: StartingKiosk) -> None:
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
