"""What a failed Stripe request tells the kiosk: `StripeFailure` and its `FailureKind`.

Kept apart from `kiosk.payments.stripe.api` so the payment steps, recovery and the probe can
reason about failures without loading the stripe library (only the API module does).
"""

from __future__ import annotations

from enum import StrEnum


class FailureKind(StrEnum):
    """What a failed Stripe request tells the kiosk."""

    UNKNOWN = "unknown"
    """Timeout, dropped connection, 5xx, 409, 429: it may have been executed. Look first."""

    UNREACHABLE = "unreachable"
    """No connection could be made at all (DNS, refused): nothing was executed."""

    CARD_DECLINED = "card_declined"
    """The card was declined (402)."""

    READER_BUSY = "reader_busy"
    """``terminal_reader_busy``: the reader is doing something else (or authorising)."""

    READER_OFFLINE = "reader_offline"
    """``terminal_reader_offline``."""

    READER_TIMEOUT = "reader_timeout"
    """``terminal_reader_timeout``: the reader did not answer; it may still have acted."""

    INVALID_STATE = "invalid_state"
    """``intent_invalid_state`` (or similar): the object is not in a state for this request."""

    IDEMPOTENCY = "idempotency"
    """Our key was used with other parameters: the key is spent, take a fresh one."""

    NOT_ALLOWED = "not_allowed"
    """401/403: the API key is wrong or lacks a permission."""

    REJECTED = "rejected"
    """Any other 400/404: Stripe refused the request; nothing was executed."""


INVALID_STATE_CODES = frozenset(
    {"intent_invalid_state", "payment_intent_unexpected_state", "charge_already_captured",
     "charge_already_refunded", "payment_intent_invalid_parameter"}
)


CUSTOMER_CANCELLED_CODES = frozenset({"customer_canceled", "canceled"})
"""Reader action ``failure_code`` values that mean the customer cancelled on the reader (a
failure of the reader itself: Stripe leaves the action's ``api_error`` null), never a
decline. The one list the live payment flow and recovery both use."""


def ended_by_customer(action: dict[str, object]) -> bool:
    """True when a failed reader action was cancelled by the customer, not declined."""
    return action.get("failure_code") in CUSTOMER_CANCELLED_CODES


class StripeFailure(Exception):
    """A Stripe request failed; ``kind`` says what may be concluded (see `FailureKind`).

    ``code`` is Stripe's error code (``terminal_reader_busy``...), ``decline_code`` the issuer's
    decline code for card errors, ``status`` the HTTP status (``None``: no response).
    """

    def __init__(
        self,
        kind: FailureKind,
        message: str,
        *,
        code: str | None = None,
        decline_code: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.decline_code = decline_code
        self.status = status

    @property
    def maybe_executed(self) -> bool:
        """True when the request may have acted at Stripe (the caller must look first)."""
        return self.kind in (FailureKind.UNKNOWN, FailureKind.READER_TIMEOUT)
