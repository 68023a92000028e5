"""The stable outcome codes of a card payment, as the facade, the UI and staff see them.

The strings never change once released: the UI picks its message by code, staff quote them,
and they are stored in ``payment_attempts.outcome``. ``card_declined`` keeps Stripe's decline
code next to it (``payment_attempts.decline_code``) for staff; the customer only learns that
the card was declined and may try another card on the same PaymentIntent.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """How one try at paying by card ended (or why it could not start)."""

    APPROVED = "approved"
    """The PaymentIntent succeeded: the sale is recorded paid."""

    CARD_DECLINED = "card_declined"
    """The issuer declined the card; the PaymentIntent stays open for another card."""

    CANCELLED = "cancelled"
    """The kiosk withdrew the waiting payment (the customer's Cancel or the card-wait timer)."""

    CANCELLED_ON_READER = "cancelled_on_reader"
    """The payment was cancelled at the reader, or the reader dropped its action."""

    READER_BUSY = "reader_busy"
    """The reader is busy with another action that is not this sale's."""

    READER_OFFLINE = "reader_offline"
    """Stripe reports the reader offline."""

    OUTCOME_UNKNOWN = "outcome_unknown"
    """The result is not known yet (a timeout); the payment is resolved by looking at Stripe
    before anything else happens, never assumed declined."""

    STRIPE_UNREACHABLE = "stripe_unreachable"
    """Stripe cannot be reached or refused the kiosk's requests: card payments unavailable."""

    PAYMENT_TIMED_OUT = "payment_timed_out"
    """Nothing changed for ``payment_max_s``: the payment was withdrawn; call staff."""

    AUTHORISATION_TOO_SLOW = "authorisation_too_slow"
    """A presented card was still authorising after ``authorisation_wait_s``: call staff. The
    payment is not cancelled and is settled by recovery (it may still complete)."""

    SALE_NOT_PAYABLE = "sale_not_payable"
    """The sale is not recorded as open here (closed, unknown, or its saved total differs from
    the amount asked for), so no card is charged."""


CANCELLING_OUTCOMES = frozenset({Outcome.CANCELLED, Outcome.CANCELLED_ON_READER})
"""Outcomes reported to the facade as ``payment_cancelled``; the others are declines."""
