"""The Stripe error the emulator answers with, in Stripe's wire shape.

Every refusal becomes `{"error": {"type", "code", "decline_code", "param", "message",
"doc_url"}}` with the HTTP status Stripe uses for it (400, 401, 402, 404, 409, 429, 500).
"""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    """A refusal with Stripe's error fields; `status` is the HTTP status code."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.decline_code = decline_code

    def body(self) -> dict[str, Any]:
        """The JSON body Stripe sends for this error."""
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param is not None:
            error["param"] = self.param
        if self.decline_code is not None:
            error["decline_code"] = self.decline_code
        return {"error": error}


def invalid(message: str, *, code: str | None = None, param: str | None = None) -> StripeError:
    """A 400 `invalid_request_error`."""
    return StripeError(400, message, code=code, param=param)


def missing_resource(kind: str, object_id: str, *, param: str | None = None) -> StripeError:
    """A `resource_missing` error: 404 for an id in the URL, 400 for an id in a parameter."""
    status = 400 if param else 404
    return StripeError(
        status, f"No such {kind}: '{object_id}'", code="resource_missing", param=param or "id"
    )


def invalid_state(message: str, *, param: str | None = None) -> StripeError:
    """An `intent_invalid_state` error (400): the PaymentIntent's status forbids the request."""
    return StripeError(400, message, code="intent_invalid_state", param=param)


def reader_error(code: str, message: str) -> StripeError:
    """A 400 reader error: terminal_reader_busy, _offline or _timeout."""
    return StripeError(400, message, code=code)
