"""The card-payment seam: what the facade and the staff menu ask of any card provider.

`CardProvider` holds the calls the kiosk really makes (pay a sale, cancel the wait, abandon,
refund, recovery at start, reconcile, the reader's status and display test, availability,
the worker's heartbeat, start and stop); `PaymentEvents` is what a provider reports back (on
its own thread). The value types (`ReaderCart`, `ReaderDisplayTest`, `ProviderOptions`, the
reports of `kiosk.payments.reports`, the outcome codes of `kiosk.payments.outcomes`) are
provider-neutral. A provider is picked by ``[payments] provider`` through
`kiosk.payments.registry`; Stripe Terminal's lives in `kiosk.payments.stripe`.

Importing this module loads no provider library.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from kiosk.core.cart import CartLine
from kiosk.core.checkout_states import PaymentPhase
from kiosk.core.tax import Totals
from kiosk.payments.refunds import RefundResult
from kiosk.payments.reports import ReconcileReport, RecoveryReport


class PaymentEvents(Protocol):
    """What the payment thread reports; called on the payment thread."""

    def payment_phase(self, sale_id: str, phase: PaymentPhase) -> None:
        """The reader waits for a card, or a presented card is being authorised."""

    def payment_paid(self, sale_id: str) -> None:
        """The sale is recorded paid (called after the paid commit)."""

    def payment_declined(self, sale_id: str, code: str) -> None:
        """The try ended without payment; ``code`` is an `Outcome` value."""

    def payment_cancelled(self, sale_id: str) -> None:
        """The waiting payment was withdrawn (by the kiosk or at the reader)."""

    def payment_unresolved(self, sale_id: str, code: str) -> None:
        """The card may still be charged (``code``: why it is not known yet); the sale stays
        locked and staff are needed. A later ``payment_paid`` or ``payment_cancelled``
        (after recovery) settles it."""

    def payments_available(self, available: bool, reason: str) -> None:
        """Card payments became available or unavailable (``reason``: why)."""


@dataclass(frozen=True)
class ReaderCartLine:
    """One line on the reader's display: ``amount_minor`` per item, ``quantity`` items."""

    description: str
    amount_minor: int
    quantity: int


@dataclass(frozen=True)
class ReaderCart:
    """The cart shown on the reader while paying; amounts in minor units."""

    lines: tuple[ReaderCartLine, ...]
    tax_minor: int
    total_minor: int

    @classmethod
    def from_cart(cls, lines: Iterable[CartLine], totals: Totals) -> ReaderCart:
        """Build the display from the cart's lines and totals."""
        shown = []
        for line in lines:
            quantity = line.quantity if line.weight_g is None else 1
            if quantity > 0 and line.amount_minor % quantity == 0:
                shown.append(ReaderCartLine(line.name[:100], line.amount_minor // quantity,
                                            quantity))
            else:
                shown.append(ReaderCartLine(line.name[:100], line.amount_minor, 1))
        return cls(tuple(shown), totals.tax_minor, totals.total_minor)


class ReaderDisplayTest(StrEnum):
    """How the staff menu's reader display test ended (`PaymentService.show_test_cart`,
    `PaymentService.clear_reader_display`); the codes never change once released."""

    SHOWN = "shown"
    """The test cart is on the reader's screen."""
    CLEARED = "cleared"
    """The reader's screen is back to its splash screen (also when nothing was shown)."""
    READER_BUSY = "reader_busy"
    """A payment is under way on this kiosk (Stripe was not asked), or Stripe says the reader
    is busy with another action. A payment is never cancelled by the test."""
    READER_OFFLINE = "reader_offline"
    """Stripe says the reader is offline, or it did not answer in time."""
    STRIPE_UNREACHABLE = "stripe_unreachable"
    """Stripe could not be reached, or refused the request (the reason is logged)."""
    NO_READER = "no_reader"
    """No reader is configured, or Stripe does not know the configured reader id."""


TEST_CART_LINE = "Test"
"""The one line of the reader display test's cart (1 minor unit, such as 0.01 EUR)."""


class ProviderUnavailable(Exception):
    """A provider cannot run with this configuration (no key, no reader...); ``reason`` is
    what the facade reports as payments' availability (``no_stripe_key``...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ProviderOptions:
    """What the facade needs to know of the configured provider before (or without) it runs.

    ``block_sales_when_unavailable``: refuse new sales while card payments are unavailable.
    ``request_budget_s``: the longest one provider request may take, retries included
    (seconds; the facade waits this much beyond recovery's budget for a start to finish).
    ``demo_cards``: the provider runs on a simulator whose customer taps a demo card
    (`CardProvider.set_demo_card`).
    """

    block_sales_when_unavailable: bool = False
    request_budget_s: float = 30.0
    demo_cards: bool = False


class CardProvider(Protocol):
    """A card provider: one worker thread that takes card payments on one reader.

    Every payment is written ahead in ``payment_attempts`` (`kiosk.payments.attempts`) so
    that a crash at any step recovers to exactly one charge; an answer that did not arrive is
    never reported as a decline; refunds never exceed what was captured.
    """

    @property
    def heartbeat(self) -> float:
        """``time.monotonic()`` (seconds) of the worker loop's latest turn."""
        ...

    @property
    def available(self) -> tuple[bool, str]:
        """The latest availability check: (card payments available, reason)."""
        ...

    def start(self) -> None:
        """Start the worker thread (once)."""

    def stop(self, timeout_s: float = 5) -> None:
        """Stop the worker thread (and any simulator the provider runs)."""

    def pay(self, sale_id: str, amount_minor: int, display: ReaderCart | None = None) -> None:
        """Take ``amount_minor`` (minor units) by card for the sale; returns at once."""

    def start_payment(self, sale_id: str, amount_minor: int, totals: Totals,
                      lines: Iterable[CartLine] = ()) -> None:
        """`pay` with the reader display built from the cart (the facade's shape)."""

    def cancel_waiting(self, sale_id: str) -> None:
        """Withdraw the payment if the reader still waits for a card (idempotent)."""

    def abandon(self, sale_id: str, reason: str) -> None:
        """The sale is abandoned (or ``voided``): record that, release what it holds."""

    def unfinished_sales(self, timeout_s: float) -> tuple[str, ...]:
        """The sales whose payment a stop left unfinished, oldest first (read locally)."""
        ...

    def recover(self, timeout_s: float) -> RecoveryReport:
        """Settle every unfinished payment now (at start: before any cart is restored);
        blocks up to about ``timeout_s`` seconds. A sale is settled paid or handed back."""
        ...

    def reconcile(self, since: datetime, timeout_s: float = 120.0) -> ReconcileReport:
        """Compare local attempts with the provider's payments since ``since`` (UTC)."""
        ...

    def refund(self, sale_id: str, amount_minor: int | None, requested_by: int | None,
               *, refund_id: str | None = None) -> Future[RefundResult]:
        """Refund ``amount_minor`` (``None``: all that is left) of a paid sale."""
        ...

    def reader_status(self) -> dict[str, Any]:
        """The reader as the provider sees it, plus ``available`` and ``reason``."""
        ...

    def show_test_cart(self, currency: str) -> Future[str]:
        """Show a one-line test cart on the reader; a `ReaderDisplayTest` code."""
        ...

    def clear_reader_display(self) -> Future[str]:
        """Clear the reader's screen after `show_test_cart`; a `ReaderDisplayTest` code."""
        ...

    def set_demo_card(self, kind: str) -> None:
        """Simulators only: the simulated customer taps the demo card ``kind`` (a key of
        `kiosk.payments.cards.DEMO_CARDS`); ``RuntimeError`` on a real reader."""
