"""The checkout's states and reasons: the enums a screen needs to know where a visit is.

They are apart from the events and effects (`kiosk.core.checkout_events`) so that the
touchscreen's first frame, which only decides which screen to show, loads none of the
checkout's dataclasses (about 0.1 s of a start on a desktop, more on a Raspberry Pi).
"""

from __future__ import annotations

from enum import StrEnum


class CheckoutState(StrEnum):
    """Where the customer's visit is; the UI shows one screen per state."""

    ATTRACT = "attract"
    SHOPPING = "shopping"
    IDLE_PROMPT = "idle_prompt"
    NEEDS_ATTENDANT = "needs_attendant"
    PAYING = "paying"
    PAID = "paid"


class AttendantReason(StrEnum):
    """Why the customer waits for an attendant."""

    UNKNOWN_ITEM = "unknown_item"
    AGE_CHECK = "age_check"
    LIMIT_REACHED = "limit_reached"
    WEIGHED_ITEM = "weighed_item"
    HELP = "help"
    PAYMENT_CHECK = "payment_check"


class PaymentPhase(StrEnum):
    """The sub-phase of PAYING: the reader waits for a card, or a card is being authorised."""

    WAITING_FOR_CARD = "waiting_for_card"
    AUTHORISING = "authorising"


class AbandonReason(StrEnum):
    """Why a sale was abandoned without payment."""

    IDLE_TIMEOUT = "idle_timeout"
    CUSTOMER_CANCELLED = "customer_cancelled"


class ReceiptChoice(StrEnum):
    """How the customer wants the receipt of a paid sale."""

    PRINT = "print"
    QR = "qr"
    EMAIL = "email"
    NONE = "none"


class Refusal(StrEnum):
    """Checkout-level refusals (cart refusals use ``CartOutcome``).

    ``PAYMENT_IN_PROGRESS``: the sale cannot be cancelled or left, nor a new payment started,
    nor a line voided, while a payment may still complete. ``NOTHING_TO_PAY``: the cart's
    total is zero or less. ``BAD_PRICE``: a price staff entered is not above zero.
    ``UNKNOWN_TAX_CLASS``: a tax class staff chose is not one of the shop's. ``NO_CALL``: a
    staff decision (price, override, leave out) found no attendant call it answers (the call
    closed meanwhile, or it is about something else).
    """

    PAYMENT_IN_PROGRESS = "payment_in_progress"
    NOTHING_TO_PAY = "nothing_to_pay"
    BAD_PRICE = "bad_price"
    UNKNOWN_TAX_CLASS = "unknown_tax_class"
    NO_CALL = "no_call"
