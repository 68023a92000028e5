"""The kiosk's narrow door to Stripe: building the client, the calls it makes, error mapping.

Every POST carries the kiosk's persisted idempotency key (``options={"idempotency_key":
key}``; the library's own key lives in memory only) and passes a crash point just before and
just after it. Every call returns plain dicts. Every failure is raised as `StripeFailure`
with a `FailureKind` that says what the kiosk may conclude: only ``REJECTED``-like kinds are
definite; ``UNKNOWN`` means the request may or may not have been executed, so the caller looks
at Stripe before deciding anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import stripe

from kiosk.payments.crashpoints import crashpoint
from kiosk.payments.protocol import Operation
from kiosk.payments.stripe.failures import INVALID_STATE_CODES, FailureKind, StripeFailure

log = logging.getLogger(__name__)

REAL_API_BASE = "https://api.stripe.com"
"""Stripe's own API address."""


def classify(error: stripe.StripeError) -> StripeFailure:
    """Map a stripe library error to a `StripeFailure` (never says more than is known)."""
    status = error.http_status
    code = error.code
    message = f"{type(error).__name__}: {error.user_message or error._message or ''}"
    if isinstance(error, stripe.CardError):
        decline = getattr(error.error, "decline_code", None) if error.error else None
        return StripeFailure(FailureKind.CARD_DECLINED, message, code=code,
                             decline_code=decline, status=status)
    if isinstance(error, stripe.APIConnectionError):
        cause = error.__cause__ or error.__context__
        refused = isinstance(cause, ConnectionRefusedError) or "refused" in str(error).lower()
        kind = FailureKind.UNREACHABLE if refused else FailureKind.UNKNOWN
        return StripeFailure(kind, message, status=None)
    if isinstance(error, stripe.IdempotencyError):
        return StripeFailure(FailureKind.IDEMPOTENCY, message, code=code, status=status)
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        return StripeFailure(FailureKind.NOT_ALLOWED, message, code=code, status=status)
    if isinstance(error, stripe.InvalidRequestError):
        if code == "terminal_reader_busy":
            kind = FailureKind.READER_BUSY
        elif code == "terminal_reader_offline":
            kind = FailureKind.READER_OFFLINE
        elif code == "terminal_reader_timeout":
            kind = FailureKind.READER_TIMEOUT
        elif code in INVALID_STATE_CODES:
            kind = FailureKind.INVALID_STATE
        elif code == "idempotency_key_in_use":
            kind = FailureKind.UNKNOWN
        else:
            kind = FailureKind.REJECTED
        return StripeFailure(kind, message, code=code, status=status)
    # RateLimitError (429), APIError (5xx, 409 idempotency_key_in_use) and anything else.
    return StripeFailure(FailureKind.UNKNOWN, message, code=code, status=status)


def build_client(api_key: str, api_base: str, *, request_timeout_s: float,
                 max_network_retries: int) -> stripe.StripeClient:
    """Build the `stripe.StripeClient` for ``api_base`` (an emulator URL or Stripe's own).

    ``request_timeout_s`` (seconds) bounds each HTTP request; keep it shorter than the
    watchdog allows. ``max_network_retries`` lets the library retry a failed request with the
    same idempotency key (so a retry never acts twice).
    """
    base = api_base.rstrip("/") or REAL_API_BASE
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": base},
        max_network_retries=max_network_retries,
        http_client=stripe.RequestsClient(timeout=request_timeout_s),
    )


def register_reader(client: stripe.StripeClient, code: str, location_id: str,
                    label: str) -> dict[str, Any]:
    """Register a reader with its registration ``code`` (``simulated-wpe`` in test mode) at
    ``location_id`` and return the reader object (its ``id`` goes into ``[stripe] reader_id``).
    """
    try:
        reader = client.v1.terminal.readers.create(
            {"registration_code": code, "location": location_id, "label": label}
        )
    except stripe.StripeError as error:
        raise classify(error) from error
    return reader.to_dict()


def _maybe_sent(failure: StripeFailure, max_network_retries: int) -> StripeFailure:
    """A POST's failure as the kiosk may read it. stripe-python raises only the last try's
    error: with retries, a "connection refused" may follow a first try that timed out after
    Stripe acted, so no connection error of a POST then means "never sent" (look first)."""
    if failure.kind != FailureKind.UNREACHABLE or max_network_retries <= 0:
        return failure
    return StripeFailure(FailureKind.UNKNOWN, f"{failure} (after retries: maybe executed)",
                         code=failure.code, status=failure.status)


class _ToDict(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


def _plain(obj: _ToDict) -> dict[str, Any]:
    return obj.to_dict()


@dataclass(frozen=True)
class IntentPage:
    """One page of PaymentIntents (newest first) and whether older ones follow."""

    intents: list[dict[str, Any]]
    has_more: bool


class StripeGateway:
    """The Stripe calls of the payment protocol, on one `stripe.StripeClient`.

    Thread-safe as far as the client is; the payment thread is its only caller in practice.
    """

    def __init__(
        self, client: stripe.StripeClient, *, before_request: Callable[[], None] | None = None,
        max_network_retries: int = 0,
    ) -> None:
        self.client = client
        self.max_network_retries = max_network_retries
        """The client's retries: with any, a connection error on a POST is never "not sent"."""
        self._before_request = before_request
        """Called before every request: the payment thread's heartbeat (a chain of requests
        is never one long silence for the watchdog; each request is bounded on its own)."""

    # ------------------------------------------------------------------- reads

    def retrieve_intent(self, intent_id: str) -> dict[str, Any]:
        """The PaymentIntent with its ``latest_charge`` expanded."""
        return self._read(lambda: self.client.v1.payment_intents.retrieve(
            intent_id, {"expand": ["latest_charge"]}))

    def list_intents(self, created_gte: int, *, limit: int = 100,
                     starting_after: str | None = None) -> IntentPage:
        """PaymentIntents created at or after ``created_gte`` (unix seconds), newest first."""
        params: Any = {"created": {"gte": int(created_gte)}, "limit": limit}
        if starting_after:
            params["starting_after"] = starting_after
        page = self._call(lambda: self.client.v1.payment_intents.list(params))
        return IntentPage([_plain(item) for item in page.data], bool(page.has_more))

    def retrieve_reader(self, reader_id: str) -> dict[str, Any]:
        """The Terminal reader with its current ``action``."""
        return self._read(lambda: self.client.v1.terminal.readers.retrieve(reader_id))

    def retrieve_refund(self, refund_id: str) -> dict[str, Any]:
        """One refund."""
        return self._read(lambda: self.client.v1.refunds.retrieve(refund_id))

    def list_refunds(self, intent_id: str) -> list[dict[str, Any]]:
        """The refunds of one PaymentIntent (up to 100, newest first)."""
        page = self._call(lambda: self.client.v1.refunds.list(
            {"payment_intent": intent_id, "limit": 100}))
        return [_plain(item) for item in page.data]

    # ------------------------------------------------------------------- writes

    def create_intent(self, *, amount_minor: int, currency: str, capture_method: str,
                      metadata: dict[str, str], description: str, key: str) -> dict[str, Any]:
        """Create the sale's card-present PaymentIntent (``amount_minor`` in minor units)."""
        params: Any = {
            "amount": amount_minor,
            "currency": currency.lower(),
            # The API version stripe 16 pins calls it allowed_payment_method_types.
            "allowed_payment_method_types": ["card_present"],
            "capture_method": capture_method,
            "metadata": metadata,
            "description": description,
        }
        return self._post(Operation.CREATE, key,
                          lambda opts: self.client.v1.payment_intents.create(params, opts))

    def update_amount(self, intent_id: str, amount_minor: int, key: str) -> dict[str, Any]:
        """Set the PaymentIntent's amount (minor units) before the next try."""
        return self._post(Operation.UPDATE, key, lambda opts: self.client.v1.payment_intents
                          .update(intent_id, {"amount": amount_minor}, opts))

    def set_display(self, reader_id: str, cart: dict[str, Any], key: str) -> dict[str, Any]:
        """Show the cart on the reader (amounts in minor units)."""
        params: Any = {"type": "cart", "cart": cart}
        return self._post(Operation.DISPLAY, key, lambda opts: self.client.v1.terminal.readers
                          .set_reader_display(reader_id, params, opts))

    def process(self, reader_id: str, intent_id: str, key: str) -> dict[str, Any]:
        """Hand the PaymentIntent to the reader; returns the reader."""
        return self._post(Operation.PROCESS, key, lambda opts: self.client.v1.terminal.readers
                          .process_payment_intent(reader_id, {"payment_intent": intent_id},
                                                  opts))

    def cancel_action(self, reader_id: str, key: str) -> dict[str, Any]:
        """Withdraw the reader's current action; returns the reader."""
        return self._post(Operation.CANCEL_ACTION, key, lambda opts: self.client.v1.terminal
                          .readers.cancel_action(reader_id, None, opts))

    def capture(self, intent_id: str, key: str) -> dict[str, Any]:
        """Capture an authorised PaymentIntent in full."""
        return self._post(Operation.CAPTURE, key, lambda opts: self.client.v1.payment_intents
                          .capture(intent_id, {"expand": ["latest_charge"]}, opts))

    def cancel_intent(self, intent_id: str, key: str,
                      reason: str = "abandoned") -> dict[str, Any]:
        """Cancel a PaymentIntent that is not final (releases an authorisation)."""
        return self._post(Operation.CANCEL, key, lambda opts: self.client.v1.payment_intents
                          .cancel(intent_id, {"cancellation_reason": reason}, opts))

    def create_refund(self, intent_id: str, amount_minor: int, metadata: dict[str, str],
                      key: str) -> dict[str, Any]:
        """Refund ``amount_minor`` (minor units) of a succeeded PaymentIntent."""
        params: Any = {"payment_intent": intent_id, "amount": amount_minor,
                       "metadata": metadata}
        return self._post(Operation.REFUND, key,
                          lambda opts: self.client.v1.refunds.create(params, opts))

    # ------------------------------------------------------------------- plumbing

    def _post(self, operation: Operation, key: str, call: Any) -> dict[str, Any]:
        if self._before_request is not None:
            self._before_request()
        crashpoint(f"before_post:{operation.value}")
        try:
            result = call({"idempotency_key": key})
        except stripe.StripeError as error:
            failure = _maybe_sent(classify(error), self.max_network_retries)
            log.warning("stripe %s (key %s) failed: %s", operation.value, key, failure)
            crashpoint(f"after_post:{operation.value}")
            raise failure from error
        crashpoint(f"after_post:{operation.value}")
        return _plain(result)

    def _read(self, call: Any) -> dict[str, Any]:
        return _plain(self._call(call))

    def _call(self, call: Any) -> Any:
        if self._before_request is not None:
            self._before_request()
        try:
            return call()
        except stripe.StripeError as error:
            raise classify(error) from error
