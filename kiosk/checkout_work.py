"""Turning the checkout's effects into work: writes, payments, receipts and notices.

The checkout (``kiosk.core.checkout``) is pure: handling an event returns the new session and
the effects it asks for. `CheckoutWork` carries each effect out: the sale's writes through the
`SaleWriter`, a card payment started or cancelled on the payment side, the receipt choice to
the receipt desk, and notices for the screen. It runs on the main thread, as the facade does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from kiosk.core.checkout import Checkout
from kiosk.core.checkout_events import (
    ApprovalGiven,
    CallAttendant,
    CancelWaitingPayment,
    CartChanged,
    Effect,
    Refused,
    SaleAbandoned,
    SaleStarted,
    SessionEnded,
    ShowIdlePrompt,
    StartPayment,
)
from kiosk.notices import AttendantCalled, CartRefused, IdlePromptShown, Notice, SaleEnded
from kiosk.sale_writer import SaleWriter

if TYPE_CHECKING:
    from kiosk.payments.provider import CardProvider
    from kiosk.receipts.jobs import ReceiptDesk

log = logging.getLogger(__name__)


class WorkingKiosk(Protocol):
    """What the effects need of the facade (``kiosk.app.Kiosk`` is one): the session, the
    services the start filled in, and where the payment side's answers go."""

    @property
    def checkout(self) -> Checkout:
        """The session as it stands."""
        ...

    @property
    def receipt_desk(self) -> ReceiptDesk | None:
        """The receipt desk, when receipts are on (and the kiosk has started)."""
        ...

    @property
    def payment_service(self) -> CardProvider | None:
        """The card provider, if card payments run."""
        ...

    def payment_declined(self, code: str) -> None:
        """The card was declined, or payments are unavailable."""
        ...

    def payment_cancelled(self) -> None:
        """The waiting payment was cancelled."""
        ...


class CheckoutWork:
    """Carries out the checkout's effects for one kiosk.

    ``sales`` writes the sale; ``post_to_main`` runs a callable on the main thread later (an
    answer must not arrive inside the event that asked for it); ``emit`` tells the screen.
    Without card payments, a payment is declined with ``no_payments_code``.
    """

    def __init__(
        self,
        kiosk: WorkingKiosk,
        sales: SaleWriter,
        *,
        post_to_main: Callable[[Callable[[], None]], None],
        emit: Callable[[Notice], None],
        no_payments_code: str,
    ) -> None:
        self._kiosk = kiosk
        self._sales = sales
        self._post = post_to_main
        self._emit = emit
        self._no_payments_code = no_payments_code

    def carry_out(self, effect: Effect) -> None:
        """Do what ``effect`` asks for."""
        kiosk, payments = self._kiosk, self._kiosk.payment_service
        if isinstance(effect, SaleStarted):
            self._sales.record_sale_opened(effect.sale_id, effect.at)
            if kiosk.receipt_desk is not None:
                kiosk.receipt_desk.next_customer()
        elif isinstance(effect, CartChanged):
            self._sales.save_cart(effect.sale_id, effect.cart)
        elif isinstance(effect, SaleAbandoned):
            sale_id, reason = effect.sale_id, effect.reason.value
            log.info("sale %s abandoned (%s)", sale_id, reason)
            self._sales.abandon(sale_id, reason, effect.at)
            if payments is not None:  # cancels its PaymentIntent, if it has one
                payments.abandon(sale_id, reason)
        elif isinstance(effect, ApprovalGiven):
            self._sales.record_approval(effect)
        elif isinstance(effect, StartPayment):
            if payments is None:
                code = self._no_payments_code
                self._post(lambda: kiosk.payment_declined(code))
            else:
                payments.start_payment(
                    effect.sale_id, effect.amount_minor, effect.totals, kiosk.checkout.cart.lines
                )
        elif isinstance(effect, CancelWaitingPayment):
            if payments is None:
                self._post(kiosk.payment_cancelled)
            else:
                payments.cancel_waiting(effect.sale_id)
        elif isinstance(effect, SessionEnded):
            self._session_ended(effect)
        else:
            self._tell(effect)
        # SalePaid needs no write here: the payment layer commits the paid sale (with its
        # outbox rows) before it reports PaymentSucceeded.

    def _session_ended(self, effect: SessionEnded) -> None:
        desk = self._kiosk.receipt_desk
        if desk is not None:
            choice = effect.receipt.value if effect.receipt is not None else "timeout"
            from kiosk.receipts.jobs import CHOICES as RECEIPT_CHOICES

            if choice not in RECEIPT_CHOICES:  # e-mail receipts: not offered yet
                choice = "none"
            desk.choose(effect.sale_id, choice)
        self._emit(SaleEnded(effect.sale_id, effect.receipt))

    def _tell(self, effect: Effect) -> None:
        """The effects that are only notices for the screen."""
        if isinstance(effect, CallAttendant):
            self._emit(AttendantCalled(effect.reason, effect.sale_id))
        elif isinstance(effect, ShowIdlePrompt):
            self._emit(IdlePromptShown())
        elif isinstance(effect, Refused):
            self._emit(CartRefused(effect.code.value))
