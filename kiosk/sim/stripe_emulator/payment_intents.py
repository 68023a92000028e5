"""PaymentIntents and their charges: create, update, list, capture, cancel, and authorisation.

The state rules follow Stripe's for card-present payments (see docs/STRIPE_EMULATOR.md):
a PaymentIntent waits in `requires_payment_method` until a reader authorises a card; an
approval moves it to `requires_capture` (capture_method manual) or `succeeded` (automatic)
with a charge; a decline leaves it in `requires_payment_method` with `last_payment_error`;
a cancelled PaymentIntent is final. Amounts are integer minor units.
"""

from __future__ import annotations

import secrets
from typing import Any

from kiosk.sim.stripe_emulator import cards
from kiosk.sim.stripe_emulator.errors import StripeError, invalid, invalid_state
from kiosk.sim.stripe_emulator.objects import Account, created_filter, find, page

CANCELLABLE = {"requires_payment_method", "requires_capture", "requires_confirmation",
               "requires_action"}
AMOUNT_EDITABLE = {"requires_payment_method", "requires_confirmation", "requires_action"}


def create(account: Account, params: dict[str, Any], now: float) -> dict[str, Any]:
    """POST /v1/payment_intents: a new PaymentIntent in `requires_payment_method`."""
    currency = cards.check_currency(params["currency"])
    amount = params["amount"]
    cards.check_amount(amount, currency)
    methods = params.get("allowed_payment_method_types") or ["card"]
    intent_id = account.new_id("pi")
    intent: dict[str, Any] = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_received": 0,
        "allowed_payment_method_types": params.get("allowed_payment_method_types"),
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": params.get("capture_method", "automatic_async"),
        "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
        "confirmation_method": params.get("confirmation_method", "automatic"),
        "created": int(now),
        "currency": currency,
        "customer": params.get("customer"),
        "description": params.get("description"),
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": _merged_metadata({}, params.get("metadata")),
        "next_action": None,
        "payment_method": None,
        "payment_method_types": list(methods),
        "receipt_email": params.get("receipt_email"),
        "statement_descriptor": params.get("statement_descriptor"),
        "statement_descriptor_suffix": params.get("statement_descriptor_suffix"),
        "status": "requires_payment_method",
    }
    account.payment_intents[intent_id] = intent
    return intent


def retrieve(account: Account, intent_id: str) -> dict[str, Any]:
    """GET /v1/payment_intents/{id}."""
    return find(account.payment_intents, "payment_intent", intent_id)


def update(account: Account, intent_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/payment_intents/{id}: amount only before a card is authorised; metadata merges."""
    intent = retrieve(account, intent_id)
    if intent["status"] == "canceled":
        raise invalid_state(
            "This PaymentIntent's status is canceled, so it can no longer be updated."
        )
    if "amount" in params:
        if intent["status"] not in AMOUNT_EDITABLE:
            raise invalid_state(
                f"You cannot update the amount of a PaymentIntent with status "
                f"{intent['status']}.",
                param="amount",
            )
        cards.check_amount(params["amount"], intent["currency"])
        intent["amount"] = params["amount"]
    for name in ("description", "receipt_email", "statement_descriptor",
                 "statement_descriptor_suffix"):
        if name in params:
            intent[name] = params[name] or None
    if "metadata" in params:
        intent["metadata"] = _merged_metadata(intent["metadata"], params["metadata"])
    return intent


def listing(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """GET /v1/payment_intents: newest first, `created` filter, cursor pagination."""
    items = list(account.payment_intents.values())
    if "customer" in params:
        items = [item for item in items if item.get("customer") == params["customer"]]
    items = created_filter(items, params.get("created"))
    return page(items, params, "/v1/payment_intents")


def capture(account: Account, intent_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/payment_intents/{id}/capture: `requires_capture` -> `succeeded`."""
    intent = retrieve(account, intent_id)
    if intent["status"] != "requires_capture":
        raise invalid_state(
            f"This PaymentIntent could not be captured because it has a status of "
            f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
            f"may be captured: requires_capture."
        )
    capturable = intent["amount_capturable"]
    amount = params.get("amount_to_capture", capturable)
    if amount < 1 or amount > capturable:
        raise invalid(
            f"The amount to capture ({amount}) must be between 1 and the capturable "
            f"amount ({capturable}).",
            code="amount_too_large" if amount > capturable else "parameter_invalid_integer",
            param="amount_to_capture",
        )
    if "metadata" in params:
        intent["metadata"] = _merged_metadata(intent["metadata"], params["metadata"])
    charge = account.charges[intent["latest_charge"]]
    charge["captured"] = True
    charge["amount_captured"] = amount
    charge["amount_refunded"] = charge["amount"] - amount
    intent["amount_capturable"] = 0
    intent["amount_received"] = amount
    intent["status"] = "succeeded"
    return intent


def cancel(account: Account, intent_id: str, params: dict[str, Any], now: float
           ) -> dict[str, Any]:
    """POST /v1/payment_intents/{id}/cancel: final; releases an uncaptured authorisation."""
    intent = retrieve(account, intent_id)
    if intent["status"] not in CANCELLABLE:
        raise invalid_state(
            f"You cannot cancel this PaymentIntent because it has a status of "
            f"{intent['status']}. Only a PaymentIntent with one of the following statuses may "
            f"be canceled: {', '.join(sorted(CANCELLABLE))}."
        )
    if intent["status"] == "requires_capture":
        charge = account.charges[intent["latest_charge"]]
        charge["amount_refunded"] = charge["amount"]
        charge["refunded"] = True
    intent["status"] = "canceled"
    intent["amount_capturable"] = 0
    intent["canceled_at"] = int(now)
    intent["cancellation_reason"] = params.get("cancellation_reason")
    return intent


def authorise(
    account: Account,
    intent: dict[str, Any],
    card_number: str,
    *,
    reader: dict[str, Any],
    tip: int,
    now: float,
) -> str | None:
    """Run the card through the issuer; return the decline code, or None when approved.

    Creates the payment method and the charge (failed or succeeded) and moves the intent:
    approved -> `requires_capture` (manual) or `succeeded`; declined -> back to
    `requires_payment_method` with `last_payment_error`.
    """
    card = cards.TEST_CARDS[card_number]
    if tip:
        intent["amount"] += tip
    decline, verification = cards.amount_outcome(intent["amount"] - tip)
    decline = card.decline_code or decline
    method = _payment_method(account, card, card_number, now)
    charge = _charge(account, intent, card, method, reader, verification, now)
    intent["latest_charge"] = charge["id"]
    if decline is not None:
        code = card.error_code if card.decline_code else "card_declined"
        message = cards.DECLINE_MESSAGES.get(decline, "Your card was declined.")
        charge.update(status="failed", failure_code=code, failure_message=message,
                      outcome={"type": "issuer_declined", "reason": decline,
                               "network_status": "declined_by_network"})
        charge["payment_method_details"]["card_present"]["receipt"][
            "authorization_response_code"] = "5A33"
        intent["status"] = "requires_payment_method"
        intent["payment_method"] = None
        intent["last_payment_error"] = {
            "type": "card_error",
            "code": code,
            "decline_code": decline,
            "message": message,
            "charge": charge["id"],
            "payment_method": method,
            "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
        }
        return decline
    manual = intent["capture_method"] == "manual"
    charge.update(status="succeeded", paid=True, captured=not manual,
                  amount_captured=0 if manual else intent["amount"],
                  outcome={"type": "authorized", "network_status": "approved_by_network"})
    intent["payment_method"] = method["id"]
    intent["last_payment_error"] = None
    if manual:
        intent["status"] = "requires_capture"
        intent["amount_capturable"] = intent["amount"]
    else:
        intent["status"] = "succeeded"
        intent["amount_received"] = intent["amount"]
    return None


def expanded(account: Account, intent: dict[str, Any], expand: list[str]) -> dict[str, Any]:
    """The intent as a response, with `latest_charge` / `payment_method` expanded if asked."""
    shown = dict(intent)
    if "latest_charge" in expand and intent["latest_charge"]:
        shown["latest_charge"] = account.charges[intent["latest_charge"]]
    if "payment_method" in expand and intent["payment_method"]:
        shown["payment_method"] = account.payment_methods[intent["payment_method"]]
    return shown


def check_expand(expand: list[str], allowed: set[str]) -> list[str]:
    """Refuse an `expand` entry the object does not have."""
    for name in expand:
        if name not in allowed:
            raise StripeError(
                400, f"This property cannot be expanded ({name}).",
                code="parameter_invalid_value", param="expand",
            )
    return expand


def _merged_metadata(current: dict[str, str], change: Any) -> dict[str, str]:
    if change is None:
        return dict(current)
    if change == "":
        return {}
    merged = dict(current)
    for key, value in change.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    return merged


def _payment_method(account: Account, card: cards.CardProfile, number: str, now: float
                    ) -> dict[str, Any]:
    method_id = account.new_id("pm")
    method = {
        "id": method_id,
        "object": "payment_method",
        "type": "card_present",
        "created": int(now),
        "livemode": False,
        "card_present": {"brand": card.brand, "last4": number[-4:], "funding": card.funding},
    }
    account.payment_methods[method_id] = method
    return method


def _charge(
    account: Account,
    intent: dict[str, Any],
    card: cards.CardProfile,
    method: dict[str, Any],
    reader: dict[str, Any],
    verification: str,
    now: float,
) -> dict[str, Any]:
    """A new pending charge of ``intent`` for the card the reader read, in ``account``."""
    charge_id = account.new_id("ch")
    charge: dict[str, Any] = {
        "id": charge_id,
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": 0,
        "amount_refunded": 0,
        "captured": False,
        "created": int(now),
        "currency": intent["currency"],
        "description": intent["description"],
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "outcome": None,
        "paid": False,
        "payment_intent": intent["id"],
        "payment_method": method["id"],
        "refunded": False,
        "status": "pending",
        "payment_method_details": {
            "type": "card_present",
            "card_present": _card_present_details(intent, card, method, reader, verification, now),
        },
    }
    account.charges[charge_id] = charge
    return charge


def _card_present_details(
    intent: dict[str, Any],
    card: cards.CardProfile,
    method: dict[str, Any],
    reader: dict[str, Any],
    verification: str,
    now: float,
) -> dict[str, Any]:
    """The charge's ``payment_method_details.card_present``: what the reader read and the
    EMV receipt fields (``verification`` is the cardholder verification method)."""
    number_tail = method["card_present"]["last4"]
    year = 1970 + int(now // 31_557_600) + 3
    return {
        "amount_authorized": intent["amount"],
        "brand": card.brand,
        "capture_before": int(now) + 2 * 86_400,
        "cardholder_name": None,
        "country": "US",
        "emv_auth_data": secrets.token_hex(16).upper(),
        "exp_month": 12,
        "exp_year": year,
        "fingerprint": secrets.token_hex(8),
        "funding": card.funding,
        "generated_card": None,
        "incremental_authorization_supported": False,
        "last4": number_tail,
        "network": card.brand,
        "overcapture_supported": False,
        "read_method": "contactless_emv",
        "reader": reader["id"],
        "location": reader.get("location"),
        "receipt": {
            "account_type": "checking" if card.funding == "debit" else card.funding,
            "application_cryptogram": secrets.token_hex(8).upper(),
            "application_preferred_name": card.application_name,
            "authorization_code": f"{secrets.randbelow(1_000_000):06d}",
            "authorization_response_code": "3030",
            "cardholder_verification_method": verification,
            "dedicated_file_name": card.aid,
            "terminal_verification_results": "0000008000",
            "transaction_status_information": "0000",
        },
    }
