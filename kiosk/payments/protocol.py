"""The states of the write-ahead payment protocol and how its idempotency keys are named.

A sale has at most one payment attempt row and (normally) one PaymentIntent. The attempt's
state says what was committed before the Stripe call it guards (see docs/PAYMENTS.md):

=================  ===========================================================================
state              meaning
=================  ===========================================================================
``new``            no PaymentIntent and nothing in flight (a create was refused or never sent)
``locked``         the sale is locked; a create with ``create_key`` may have been sent
``intent_created`` the PaymentIntent exists; no reader action is ours to wait for
``processing``     ``process_payment_intent`` with ``process_key`` may have been sent
``authorised``     the PaymentIntent awaits capture; capture with ``capture_key``
``paid``           the PaymentIntent succeeded; the sale is paid (final)
``abandoned``      the sale was abandoned or voided; the PaymentIntent is cancelled if not final
=================  ===========================================================================

Keys are ``{sale_id}:{operation}:{n}`` where ``n`` is the attempt's counter, bumped (and
committed) only after the kiosk looked at the PaymentIntent and the reader.
"""

from __future__ import annotations

from enum import StrEnum


class AttemptState(StrEnum):
    """Where a sale's card payment is, as committed in ``payment_attempts.state``."""

    NEW = "new"
    LOCKED = "locked"
    INTENT_CREATED = "intent_created"
    PROCESSING = "processing"
    AUTHORISED = "authorised"
    PAID = "paid"
    ABANDONED = "abandoned"


class RefundState(StrEnum):
    """Where a refund is, as committed in ``refunds.state``.

    ``requested``: the row and its key are committed; the POST may have been sent.
    ``submitted``: Stripe accepted the refund but it is still pending. ``succeeded`` and
    ``failed`` are final.
    """

    REQUESTED = "requested"
    SUBMITTED = "submitted"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Operation(StrEnum):
    """The Stripe POSTs the kiosk makes; each names its idempotency key and crash points."""

    CREATE = "create"
    UPDATE = "update"
    DISPLAY = "display"
    PROCESS = "process"
    CANCEL_ACTION = "cancel_action"
    CAPTURE = "capture"
    CANCEL = "cancel"
    REFUND = "refund"


class IntentStatus(StrEnum):
    """Stripe's PaymentIntent statuses that the protocol distinguishes."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


FINAL_INTENT_STATUSES = frozenset({IntentStatus.SUCCEEDED, IntentStatus.CANCELED})
"""A PaymentIntent in one of these never changes again."""

UNRESOLVED_STATES = frozenset(
    {AttemptState.LOCKED, AttemptState.PROCESSING, AttemptState.AUTHORISED}
)
"""Attempt states in which a Stripe call may be in flight: recovery must settle them."""

ORPHAN_WINDOW_DAYS = 7
"""How far back (days) recovery lists PaymentIntents to find ones not recorded here."""

ADOPT_WINDOW_S = 300
"""Seconds before ``locked_at`` from which a lost create's PaymentIntent is looked for."""

KEY_LIFETIME_S = 24 * 3600
"""Seconds Stripe keeps an idempotency key; an older key is never replayed."""


def idempotency_key(sale_id: str, operation: Operation | str, n: int) -> str:
    """The persisted idempotency key of one Stripe POST: ``{sale_id}:{operation}:{n}``."""
    return f"{sale_id}:{Operation(operation).value}:{n}"
