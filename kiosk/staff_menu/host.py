"""What the staff menu may use of the kiosk: the host its parts are given.

The facade (``kiosk.app.Kiosk``) builds one `MenuHost` when it builds the menu and hands it
to every part; the menu never sees the facade itself, so ``kiosk.staff_menu`` never imports
``kiosk.app``. The host is a frozen record of callables and values rather than a ``Protocol``
the facade implements: the facade keeps its own names (its store writes and start-up are
private and move on their own), the one place that maps them to the menu's words is where the
host is built, and a test builds a host from a real store and a few lambdas without a facade.
Where something the menu calls already exists as an object (the card payments, the decisions
on the customer's sale), the host holds it through a small ``Protocol`` owned here.

Everything the host offers is called on the main thread, except ``post`` and ``sync_now``,
which are safe from any thread.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlite_utils import Database

from kiosk.notices import Notice

if TYPE_CHECKING:
    from kiosk.config import Settings
    from kiosk.core.checkout import Checkout
    from kiosk.core.shop_rules import ScanRules, TaxPolicy
    from kiosk.payments.recovery import ReconcileReport
    from kiosk.payments.refunds import RefundResult
    from kiosk.receipts.jobs import ReceiptDesk
    from kiosk.store.products import ProductCatalog
    from kiosk.sync.relay import SyncStatus

T = TypeVar("T")

Listener = Callable[[Notice], None]
"""Something told every notice, on the main thread."""


class StoreWrite(Protocol):
    """Run a write on the store worker; a failure is logged and shown to staff
    (``StoreTrouble``) on the main thread, and a ``retry`` job (idempotent) is submitted
    again on the next tick."""

    def __call__(
        self, job: Callable[[Database], T], what: str, *, retry: bool = False
    ) -> Future[T]: ...


class StoreSubmit(Protocol):
    """Run a job on the store worker; its failure goes to the caller only (a refused catalog
    file is an answer for staff, not a store trouble)."""

    def __call__(self, job: Callable[[Database], T]) -> Future[T]: ...


class WhenDone(Protocol):
    """Call ``then(result)`` on the main thread once ``future`` succeeds (a failed write has
    already been reported by `StoreWrite`)."""

    def __call__(self, future: Future[T], then: Callable[[T], Any]) -> None: ...


class SaleDecisions(Protocol):
    """Staff decisions on the customer's sale, carried out by the facade's checkout (which
    audits each decision it applies and refuses one from a staff member not signed in)."""

    def price_item(self, staff_number: int, unit_price_minor: int, tax_class: str) -> None:
        """Add the item of the open call at this price and tax class."""

    def override_limit(self, staff_number: int) -> None:
        """Allow the item that broke a cart limit."""

    def leave_out(self, staff_number: int) -> None:
        """Close the open call without the item."""

    def void_line(self, staff_number: int, line_id: int) -> None:
        """Remove a line of the cart."""


class CardPayments(Protocol):
    """The calls the staff menu makes to the card-payment side."""

    def refund(
        self, sale_id: str, amount_minor: int | None, requested_by: int | None
    ) -> Future[RefundResult]:
        """Refund ``amount_minor`` (``None``: all that is left) of a paid sale."""

    def reconcile(self, since: datetime, timeout_s: float = ...) -> ReconcileReport:
        """Settle the payments in doubt since ``since`` (blocking; call it off the main
        thread)."""

    def reader_status(self) -> dict[str, Any]:
        """The reader as the provider sees it (blocking)."""

    def show_test_cart(self, currency: str) -> Future[str]:
        """Show a one-line test cart on the reader."""

    def clear_reader_display(self) -> Future[str]:
        """Clear the reader's display."""


@dataclass(frozen=True)
class MenuHost:
    """Exactly what the staff menu's parts may use (see the module docstring)."""

    settings: Settings
    """The shop's settings as read at start (the menu shows them, never writes them)."""
    config_path: Path | None
    """The config file the settings were read from, if any."""
    tax_policy: TaxPolicy
    """The shop's tax classes (pricing an unknown item, checking a catalog file)."""
    scan_rules: ScanRules
    """How scans are read (the scanner test reads them as a customer's scan would be)."""

    clock: Callable[[], datetime]
    """Now, aware UTC."""
    post: Callable[[Callable[[], None]], None]
    """Run a callable on the main thread (safe from any thread)."""
    emit: Callable[[Notice], None]
    """Tell the screens (every listener) a notice."""
    listen: Callable[[Listener], None]
    """Tell ``listener`` every notice from now on."""
    stop_listening: Callable[[Listener], None]
    """Stop telling a listener given to ``listen``."""
    refused_before_start: Callable[[], bool]
    """Refuse an action while the kiosk starts or after its start failed (a notice says
    why); True when refused."""

    write: StoreWrite
    """Write through the store worker (with retry)."""
    submit: StoreSubmit
    """Run a job on the store worker, its failure the caller's alone."""
    when_done: WhenDone
    """Be told on the main thread when a store job succeeded."""
    read_connection: Callable[[], Database | None]
    """The main thread's read connection (``None`` until the kiosk has started)."""
    product_catalog: Callable[[], ProductCatalog]
    """The catalog the customer's scans are looked up in (the kiosk has started)."""

    checkout: Callable[[], Checkout]
    """The customer's session as it stands (immutable)."""
    decisions: SaleDecisions
    """Staff decisions on the customer's sale."""

    scanner_state: Callable[[], str]
    """``connected``, ``disconnected``, ``stopped``..."""
    receipt_desk: Callable[[], ReceiptDesk | None]
    """The receipt print queue (reprints, test page), when receipts are on."""
    card_payments: Callable[[], CardPayments | None]
    """The card-payment side (refunds, reconcile, reader), when card payments run."""
    payments_available: Callable[[], tuple[bool, str]]
    """(card payments can be taken now, why not)."""
    sync_status: Callable[[], SyncStatus | None]
    """Where back-office sync stands, or ``None`` while sync is off."""
    sync_now: Callable[[], None]
    """Ask for a sync pass now (safe from any thread; never waits)."""

    def reader(self) -> Database:
        """The main thread's read connection; raises ``RuntimeError`` before the start."""
        reader = self.read_connection()
        if reader is None:
            raise RuntimeError("the kiosk has not started")
        return reader

    def sale_open(self) -> bool:
        """True while a customer's sale is open or a card payment may still complete."""
        checkout = self.checkout()
        return checkout.sale_id is not None or checkout.payment_pending
