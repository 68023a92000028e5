"""The Stripe paths the emulator serves, each with the stripe-python params type it checks.

`find_route` maps (method, path) to a `Route`; `Route.run` executes it on the account. The
params types are the TypedDicts of the installed stripe-python, so a parameter the kiosk sends
here is one that real Stripe (at that library's API version) knows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stripe.params import (
    ChargeRetrieveParams,
    PaymentIntentCancelParams,
    PaymentIntentCaptureParams,
    PaymentIntentCreateParams,
    PaymentIntentListParams,
    PaymentIntentRetrieveParams,
    PaymentIntentUpdateParams,
    RefundCreateParams,
    RefundListParams,
    RefundRetrieveParams,
)
from stripe.params.terminal import (
    LocationCreateParams,
    LocationListParams,
    ReaderCancelActionParams,
    ReaderCreateParams,
    ReaderListParams,
    ReaderProcessPaymentIntentParams,
    ReaderRetrieveParams,
    ReaderSetReaderDisplayParams,
)
from stripe.params.test_helpers.terminal import ReaderPresentPaymentMethodParams

from kiosk.sim.stripe_emulator import payment_intents, refunds, terminal
from kiosk.sim.stripe_emulator.errors import StripeError
from kiosk.sim.stripe_emulator.objects import Account

Handler = Callable[[Account, str, dict[str, Any], float], dict[str, Any]]
_ID = r"([A-Za-z0-9_]+)"


@dataclass(frozen=True)
class Route:
    """One endpoint: method, path pattern, params type, handler, and whether it writes."""

    method: str
    pattern: re.Pattern[str]
    params_type: type
    handler: Handler
    expandable: frozenset[str] = frozenset()

    @property
    def mutating(self) -> bool:
        """POSTs change the account."""
        return self.method == "POST"


def _intent_view(account: Account, intent: dict[str, Any], params: dict[str, Any]
                 ) -> dict[str, Any]:
    expand = payment_intents.check_expand(
        params.get("expand", []), {"latest_charge", "payment_method"}
    )
    return payment_intents.expanded(account, intent, expand)


def _create_intent(account: Account, _: str, params: dict[str, Any], now: float
                   ) -> dict[str, Any]:
    return _intent_view(account, payment_intents.create(account, params, now), params)


def _retrieve_intent(account: Account, intent_id: str, params: dict[str, Any], _: float
                     ) -> dict[str, Any]:
    return _intent_view(account, payment_intents.retrieve(account, intent_id), params)


def _update_intent(account: Account, intent_id: str, params: dict[str, Any], _: float
                   ) -> dict[str, Any]:
    return _intent_view(account, payment_intents.update(account, intent_id, params), params)


def _list_intents(account: Account, _: str, params: dict[str, Any], __: float
                  ) -> dict[str, Any]:
    listed = payment_intents.listing(account, params)
    expand = [name.removeprefix("data.") for name in params.get("expand", [])]
    listed["data"] = [_intent_view(account, item, {"expand": expand}) for item in listed["data"]]
    return listed


def _capture_intent(account: Account, intent_id: str, params: dict[str, Any], _: float
                    ) -> dict[str, Any]:
    return _intent_view(account, payment_intents.capture(account, intent_id, params), params)


def _cancel_intent(account: Account, intent_id: str, params: dict[str, Any], now: float
                   ) -> dict[str, Any]:
    intent = payment_intents.cancel(account, intent_id, params, now)
    terminal.intent_cancelled(account, intent_id)
    return _intent_view(account, intent, params)


def _retrieve_charge(account: Account, charge_id: str, _: dict[str, Any], __: float
                     ) -> dict[str, Any]:
    return refunds.retrieve_charge(account, charge_id)


def _create_refund(account: Account, _: str, params: dict[str, Any], now: float
                   ) -> dict[str, Any]:
    return refunds.create(account, params, now)


def _retrieve_refund(account: Account, refund_id: str, _: dict[str, Any], __: float
                     ) -> dict[str, Any]:
    return refunds.retrieve(account, refund_id)


def _list_refunds(account: Account, _: str, params: dict[str, Any], __: float
                  ) -> dict[str, Any]:
    return refunds.listing(account, params)


def _create_location(account: Account, _: str, params: dict[str, Any], __: float
                     ) -> dict[str, Any]:
    return terminal.create_location(account, params)


def _list_locations(account: Account, _: str, params: dict[str, Any], __: float
                    ) -> dict[str, Any]:
    return terminal.list_locations(account, params)


def _register_reader(account: Account, _: str, params: dict[str, Any], now: float
                     ) -> dict[str, Any]:
    return terminal.register_reader(account, params, now)


def _retrieve_reader(account: Account, reader_id: str, _: dict[str, Any], __: float
                     ) -> dict[str, Any]:
    return terminal.retrieve_reader(account, reader_id)


def _list_readers(account: Account, _: str, params: dict[str, Any], __: float
                  ) -> dict[str, Any]:
    return terminal.list_readers(account, params)


def _process(account: Account, reader_id: str, params: dict[str, Any], now: float
             ) -> dict[str, Any]:
    return terminal.process_payment_intent(account, reader_id, params, now)


def _display(account: Account, reader_id: str, params: dict[str, Any], now: float
             ) -> dict[str, Any]:
    return terminal.set_reader_display(account, reader_id, params, now)


def _cancel_action(account: Account, reader_id: str, _: dict[str, Any], now: float
                   ) -> dict[str, Any]:
    return terminal.cancel_action(account, reader_id, now)


def _present(account: Account, reader_id: str, params: dict[str, Any], now: float
             ) -> dict[str, Any]:
    return terminal.present_payment_method(account, reader_id, params, now)


def _route(method: str, path: str, params_type: type, handler: Handler) -> Route:
    return Route(method, re.compile(path.replace("{id}", _ID) + "$"), params_type, handler)


ROUTES: tuple[Route, ...] = (
    _route("POST", "/v1/payment_intents", PaymentIntentCreateParams, _create_intent),
    _route("GET", "/v1/payment_intents", PaymentIntentListParams, _list_intents),
    _route("GET", "/v1/payment_intents/{id}", PaymentIntentRetrieveParams, _retrieve_intent),
    _route("POST", "/v1/payment_intents/{id}", PaymentIntentUpdateParams, _update_intent),
    _route("POST", "/v1/payment_intents/{id}/capture", PaymentIntentCaptureParams,
           _capture_intent),
    _route("POST", "/v1/payment_intents/{id}/cancel", PaymentIntentCancelParams,
           _cancel_intent),
    _route("GET", "/v1/charges/{id}", ChargeRetrieveParams, _retrieve_charge),
    _route("POST", "/v1/refunds", RefundCreateParams, _create_refund),
    _route("GET", "/v1/refunds", RefundListParams, _list_refunds),
    _route("GET", "/v1/refunds/{id}", RefundRetrieveParams, _retrieve_refund),
    _route("POST", "/v1/terminal/locations", LocationCreateParams, _create_location),
    _route("GET", "/v1/terminal/locations", LocationListParams, _list_locations),
    _route("POST", "/v1/terminal/readers", ReaderCreateParams, _register_reader),
    _route("GET", "/v1/terminal/readers", ReaderListParams, _list_readers),
    _route("GET", "/v1/terminal/readers/{id}", ReaderRetrieveParams, _retrieve_reader),
    _route("POST", "/v1/terminal/readers/{id}/process_payment_intent",
           ReaderProcessPaymentIntentParams, _process),
    _route("POST", "/v1/terminal/readers/{id}/set_reader_display",
           ReaderSetReaderDisplayParams, _display),
    _route("POST", "/v1/terminal/readers/{id}/cancel_action", ReaderCancelActionParams,
           _cancel_action),
    _route("POST", "/v1/test_helpers/terminal/readers/{id}/present_payment_method",
           ReaderPresentPaymentMethodParams, _present),
)


def find_route(method: str, path: str) -> tuple[Route, str]:
    """The route for a request and the id captured from its path ("" if none)."""
    for route in ROUTES:
        if route.method != method:
            continue
        match = route.pattern.match(path)
        if match:
            return route, match.group(1) if match.groups() else ""
    raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")
