"""The checkout's vocabulary: the events it takes and the effects it returns (its states and
reasons are in `kiosk.core.checkout_states`).

Plain values only, shared by the machine (``kiosk.core.checkout``, which re-exports every
public name here as its own interface) and by whoever feeds it events or carries out its
effects. Every event carries ``at``, an aware UTC ``datetime``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.core.barcodes import Scan
from kiosk.core.cart import Cart, CartLine, CartOutcome
from kiosk.core.catalog import Product
from kiosk.core.checkout_states import (
    AbandonReason,
    AttendantReason,
    PaymentPhase,
    ReceiptChoice,
    Refusal,
)
from kiosk.core.tax import Totals

UNLISTED_ITEM_NAME = "Unlisted item"
"""The name of a line staff priced for a scan the catalog does not know."""

STAFF_DECISION_REASONS = frozenset(
    {AttendantReason.UNKNOWN_ITEM, AttendantReason.WEIGHED_ITEM, AttendantReason.LIMIT_REACHED}
)
"""Attendant calls about an item, closed by a staff decision (price it, override the limit,
leave it out) rather than by a PIN alone."""


@dataclass(frozen=True, kw_only=True)
class RefusedItem:
    """What an item call (``STAFF_DECISION_REASONS``) is about.

    A refused scan: ``scan`` and the ``product`` the catalog found for it (``None``: unknown).
    A refused quantity change: line ``line_id`` set to ``quantity`` items.
    """

    scan: Scan | None = None
    product: Product | None = None
    line_id: int | None = None
    quantity: int | None = None

    @property
    def code(self) -> str | None:
        """The catalog code of a refused scan (the product's, else the scan's GTIN)."""
        if self.product is not None:
            return self.product.code
        return self.scan.gtin if self.scan is not None else None


@dataclass(frozen=True)
class CheckoutTimers:
    """The checkout's timeouts, in seconds.

    ``idle_prompt_after_s``: no activity while shopping before "are you still there?".
    ``idle_abandon_after_s``: further time on that prompt before the sale is abandoned.
    ``card_wait_s``: no activity while the reader waits for a card before the payment is
    cancelled and the customer is back at the cart. ``receipt_choice_s``: time on the paid
    screen before it returns to attract without a receipt choice.
    """

    idle_prompt_after_s: float = 60
    idle_abandon_after_s: float = 30
    card_wait_s: float = 120
    receipt_choice_s: float = 30

    def stretched(self, factor: float) -> CheckoutTimers:
        """These timers, each ``factor`` times longer (an accessibility mode's extra time)."""
        if factor == 1.0:
            return self
        return CheckoutTimers(
            idle_prompt_after_s=self.idle_prompt_after_s * factor,
            idle_abandon_after_s=self.idle_abandon_after_s * factor,
            card_wait_s=self.card_wait_s * factor,
            receipt_choice_s=self.receipt_choice_s * factor,
        )


# ---------------------------------------------------------------------------------- events


@dataclass(frozen=True, kw_only=True)
class ItemScanned:
    """The scanner read ``scan``; the catalog found ``product`` (``None``: not found).

    ``new_sale_id`` (a UUID made by the facade) becomes the sale id if this scan starts a sale.
    """

    at: datetime
    scan: Scan
    product: Product | None
    new_sale_id: str


@dataclass(frozen=True, kw_only=True)
class QuantityChanged:
    """The customer set the quantity of line ``line_id`` to ``quantity`` items."""

    at: datetime
    line_id: int
    quantity: int


@dataclass(frozen=True, kw_only=True)
class LineRemoved:
    """The customer removed line ``line_id``."""

    at: datetime
    line_id: int


@dataclass(frozen=True, kw_only=True)
class LinePutBack:
    """The customer undid the removal of ``line`` from sale ``sale_id``: the line goes back
    as it was (ignored once that sale has moved on, see ``kiosk.core.checkout``)."""

    at: datetime
    sale_id: str
    line: CartLine


@dataclass(frozen=True, kw_only=True)
class PayPressed:
    """The customer pressed Pay."""

    at: datetime


@dataclass(frozen=True, kw_only=True)
class BackToCartPressed:
    """The customer left the card screen to go back to the cart."""

    at: datetime


@dataclass(frozen=True, kw_only=True)
class AttendantApproved:
    """Staff member ``staff_number`` approved the matter ``reason`` the customer waits for."""

    at: datetime
    staff_number: str
    reason: AttendantReason


@dataclass(frozen=True, kw_only=True)
class AttendantDismissed:
    """The attendant call was closed without approval (item removed, customer went back)."""

    at: datetime


@dataclass(frozen=True, kw_only=True)
class ItemPriced:
    """Staff member ``staff_number`` priced the item of an unknown-item or weighed-item call:
    one item at ``unit_price_minor`` (minor units) in tax class ``tax_class``."""

    at: datetime
    staff_number: str
    unit_price_minor: int
    tax_class: str


@dataclass(frozen=True, kw_only=True)
class LimitOverridden:
    """Staff member ``staff_number`` let the refused scan or quantity change of a
    limit-reached call through, past the cart's limits this once."""

    at: datetime
    staff_number: str


@dataclass(frozen=True, kw_only=True)
class LineVoided:
    """Staff member ``staff_number`` removed line ``line_id`` for the customer."""

    at: datetime
    staff_number: str
    line_id: int


@dataclass(frozen=True, kw_only=True)
class ItemLeftOut:
    """Staff member ``staff_number`` closed an item call with the item left out of the cart."""

    at: datetime
    staff_number: str


@dataclass(frozen=True, kw_only=True)
class HelpRequested:
    """The customer pressed Help."""

    at: datetime


@dataclass(frozen=True, kw_only=True)
class PaymentCheckNeeded:
    """Start-up recovery could not settle an earlier payment: staff must check it before
    anyone shops here (the kiosk waits for an attendant, with no sale of its own)."""

    at: datetime


@dataclass(frozen=True, kw_only=True)
class CustomerActive:
    """The customer touched the screen."""

    at: datetime


@dataclass(frozen=True, kw_only=True)
class PaymentPhaseChanged:
    """The payment side reports the reader's phase."""

    at: datetime
    phase: PaymentPhase


@dataclass(frozen=True, kw_only=True)
class PaymentSucceeded:
    """The payment side reports the sale's payment succeeded (the money is taken)."""

    at: datetime


@dataclass(frozen=True, kw_only=True)
class PaymentDeclined:
    """The payment side reports a decline; ``code`` is the decline code for the UI."""

    at: datetime
    code: str


@dataclass(frozen=True, kw_only=True)
class PaymentUnresolved:
    """The payment side cannot tell yet whether the card was charged (an authorisation that
    takes too long, Stripe out of reach mid-payment); ``code`` says why. The sale stays in
    PAYING with its cart frozen and staff are called, until a success, decline or
    cancellation settles it."""

    at: datetime
    code: str


@dataclass(frozen=True, kw_only=True)
class PaymentCancelled:
    """The payment side reports the waiting payment was cancelled (by the reader or by us)."""

    at: datetime


@dataclass(frozen=True, kw_only=True)
class ReceiptChosen:
    """The customer chose how to get the receipt of the paid sale."""

    at: datetime
    choice: ReceiptChoice


@dataclass(frozen=True, kw_only=True)
class SessionFinished:
    """The customer is done with the paid screen (pressed Done)."""

    at: datetime


@dataclass(frozen=True, kw_only=True)
class CancelSale:
    """The customer (or the attendant for them) cancels the whole sale."""

    at: datetime


@dataclass(frozen=True, kw_only=True)
class Tick:
    """Time passes: the facade sends one every second or so; timers fire on ticks only.
    ``stretch``: every customer timer runs that many times longer (accessibility modes)."""

    at: datetime
    stretch: float = 1.0


Event = (
    ItemScanned
    | QuantityChanged
    | LineRemoved
    | LinePutBack
    | PayPressed
    | BackToCartPressed
    | AttendantApproved
    | AttendantDismissed
    | ItemPriced
    | LimitOverridden
    | LineVoided
    | ItemLeftOut
    | HelpRequested
    | PaymentCheckNeeded
    | CustomerActive
    | PaymentPhaseChanged
    | PaymentSucceeded
    | PaymentDeclined
    | PaymentUnresolved
    | PaymentCancelled
    | ReceiptChosen
    | SessionFinished
    | CancelSale
    | Tick
)

# Events that prove a customer is at the kiosk.
_CUSTOMER_EVENTS = (
    ItemScanned,
    QuantityChanged,
    LineRemoved,
    LinePutBack,
    PayPressed,
    BackToCartPressed,
    HelpRequested,
    CustomerActive,
    CancelSale,
)

# --------------------------------------------------------------------------------- effects


@dataclass(frozen=True)
class SaleStarted:
    """A sale began: the facade records sale ``sale_id`` as open."""

    sale_id: str
    at: datetime


@dataclass(frozen=True)
class CartChanged:
    """The cart changed: the facade persists it. ``line_id`` is the line added, changed or
    removed (upsert it if ``cart.line(line_id)`` exists, else delete it); ``None`` means the
    whole cart was replaced (persist every line)."""

    sale_id: str
    cart: Cart
    line_id: int | None


@dataclass(frozen=True)
class StartPayment:
    """Take ``amount_minor`` (minor units) by card for sale ``sale_id``; ``totals`` for the
    reader display and the receipt."""

    sale_id: str
    amount_minor: int
    totals: Totals


@dataclass(frozen=True)
class CancelWaitingPayment:
    """Cancel the reader action still waiting for a card; report ``PaymentCancelled`` when done
    (or ``PaymentPhaseChanged(authorising)`` / ``PaymentSucceeded`` if a card came first)."""

    sale_id: str


@dataclass(frozen=True)
class CallAttendant:
    """Light the attendant call for ``reason``; ``sale_id`` is ``None`` before a sale starts."""

    reason: AttendantReason
    sale_id: str | None


Detail = tuple[tuple[str, str | int], ...]
"""Facts about a staff decision for its audit row: (name, value) pairs, money in minor units."""


@dataclass(frozen=True)
class ApprovalGiven:
    """One staff decision at the kiosk, for the audit log (exactly one per decision).

    Staff member ``staff_number`` did ``action`` for sale ``sale_id`` (``None``: no sale) at
    ``at``, while the customer waited for ``reason`` (``None``: no call was open). ``action``
    is ``approve.<reason>``, ``price_item``, ``override_limit``, ``void_line`` or
    ``leave_out``; ``detail`` holds its facts (line, code, price, tax class, quantity...).
    ``cart`` is the cart the decision made when it changed the cart (``None`` otherwise): the
    facade commits it with the audit row in one transaction; the ``CartChanged`` that follows
    writes the same cart again.
    """

    sale_id: str | None
    staff_number: str
    reason: AttendantReason | None
    at: datetime
    action: str
    detail: Detail = ()
    cart: Cart | None = None


@dataclass(frozen=True)
class SaleAbandoned:
    """Sale ``sale_id`` ends unpaid for ``reason``: the facade records it as abandoned."""

    sale_id: str
    reason: AbandonReason
    at: datetime


@dataclass(frozen=True)
class SalePaid:
    """Sale ``sale_id`` is paid: ``amount_minor`` (minor units) for the lines of ``cart``."""

    sale_id: str
    amount_minor: int
    cart: Cart
    at: datetime


@dataclass(frozen=True)
class ShowIdlePrompt:
    """Ask "are you still there?"."""


@dataclass(frozen=True)
class SessionEnded:
    """The paid sale's screen is closed; ``receipt`` is the customer's choice, or ``None``
    when they finished or walked away without choosing."""

    sale_id: str
    receipt: ReceiptChoice | None


@dataclass(frozen=True)
class Refused:
    """The event was refused and changed nothing; ``code`` says why, for the UI."""

    code: CartOutcome | Refusal


Effect = (
    SaleStarted
    | CartChanged
    | StartPayment
    | CancelWaitingPayment
    | CallAttendant
    | ApprovalGiven
    | SaleAbandoned
    | SalePaid
    | ShowIdlePrompt
    | SessionEnded
    | Refused
)
