"""Refunds and charge look-ups.

A refund is of a succeeded (captured) payment only; the refunds of a charge never add up to
more than its `amount_captured` (minor units). Refunds succeed at once, as in test mode, unless
the `refund_pending` fault left one `pending`: it then counts against what is left, and
becomes `succeeded` when the emulator clock reaches its due time (`Account.pending_refunds`,
unix seconds; `None`: only `finish`), or `succeeded`/`failed` through `finish`.
"""

from __future__ import annotations

from typing import Any

from kiosk.sim.stripe_emulator.errors import invalid, invalid_state
from kiosk.sim.stripe_emulator.objects import Account, created_filter, find, page


def create(account: Account, params: dict[str, Any], now: float) -> dict[str, Any]:
    """POST /v1/refunds: refund `amount` (default: what is left) of a payment_intent or charge."""
    charge = _charge_for(account, params)
    intent = account.payment_intents.get(charge["payment_intent"] or "")
    if intent is not None and intent["status"] != "succeeded":
        raise invalid_state(
            f"This PaymentIntent has a status of {intent['status']}; only a succeeded "
            f"PaymentIntent can be refunded.",
            param="payment_intent",
        )
    if not charge["captured"]:
        raise invalid(
            f"Charge {charge['id']} has not been captured, so it cannot be refunded.",
            code="charge_not_refundable",
        )
    refunded = sum(
        refund["amount"]
        for refund in account.refunds.values()
        if refund["charge"] == charge["id"] and refund["status"] != "failed"
    )
    left = charge["amount_captured"] - refunded
    if left <= 0:
        raise invalid(
            f"Charge {charge['id']} has already been refunded.",
            code="charge_already_refunded",
        )
    amount = params.get("amount", left)
    if amount < 1:
        raise invalid(
            "This value must be greater than or equal to 1.",
            code="parameter_invalid_integer",
            param="amount",
        )
    if amount > left:
        raise invalid(
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left}).",
            code="amount_too_large",
            param="amount",
        )
    refund_id = account.new_id("re")
    refund = {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "charge": charge["id"],
        "created": int(now),
        "currency": charge["currency"],
        "metadata": {k: str(v) for k, v in (params.get("metadata") or {}).items() if v != ""},
        "payment_intent": charge["payment_intent"],
        "reason": params.get("reason"),
        "status": "succeeded",
    }
    account.refunds[refund_id] = refund
    charge["amount_refunded"] += amount
    charge["refunded"] = refunded + amount >= charge["amount_captured"]
    return refund


def make_pending(account: Account, refund_id: str, due_at: float | None) -> dict[str, Any]:
    """Leave a just-created refund `pending` until `due_at` (emulator-clock unix seconds;
    `None`: until `finish`)."""
    refund = account.refunds[refund_id]
    refund["status"] = "pending"
    account.pending_refunds[refund_id] = due_at
    return refund


def finish(account: Account, refund_id: str, status: str = "succeeded") -> dict[str, Any]:
    """End a pending refund as `succeeded` or `failed` (a failed one gives its amount back to
    the charge); raises `resource_missing` for an unknown id and an invalid-state error for a
    refund that is not pending."""
    if status not in ("succeeded", "failed"):
        raise invalid("status must be succeeded or failed.", code="parameter_invalid_value",
                      param="status")
    refund = find(account.refunds, "refund", refund_id)
    if refund["status"] != "pending":
        raise invalid_state(f"Refund {refund_id} is {refund['status']}, not pending.")
    account.pending_refunds.pop(refund_id, None)
    refund["status"] = status
    if status == "failed":
        refund["failure_reason"] = "unknown"
        charge = account.charges[refund["charge"]]
        charge["amount_refunded"] -= refund["amount"]
        charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
    return refund


def settle(account: Account, now: float) -> bool:
    """Pending refunds whose due time is `now` or earlier succeed; True if any did."""
    due = [refund_id for refund_id, due_at in account.pending_refunds.items()
           if due_at is not None and due_at <= now]
    for refund_id in due:
        finish(account, refund_id, "succeeded")
    return bool(due)


def retrieve(account: Account, refund_id: str) -> dict[str, Any]:
    """GET /v1/refunds/{id}."""
    return find(account.refunds, "refund", refund_id)


def listing(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """GET /v1/refunds: newest first, by `payment_intent` or `charge` if given."""
    items = list(account.refunds.values())
    if "payment_intent" in params:
        find(account.payment_intents, "payment_intent", params["payment_intent"],
             param="payment_intent")
        items = [item for item in items if item["payment_intent"] == params["payment_intent"]]
    if "charge" in params:
        items = [item for item in items if item["charge"] == params["charge"]]
    items = created_filter(items, params.get("created"))
    return page(items, params, "/v1/refunds")


def retrieve_charge(account: Account, charge_id: str) -> dict[str, Any]:
    """GET /v1/charges/{id}."""
    return find(account.charges, "charge", charge_id)


def _charge_for(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    if "charge" in params:
        return find(account.charges, "charge", params["charge"], param="charge")
    if "payment_intent" not in params:
        raise invalid(
            "One of the following params should be provided for this request: "
            "payment_intent or charge.",
            code="parameter_missing",
            param="payment_intent",
        )
    intent = find(account.payment_intents, "payment_intent", params["payment_intent"],
                  param="payment_intent")
    if intent["latest_charge"] is None or intent["status"] != "succeeded":
        raise invalid_state(
            f"This PaymentIntent has a status of {intent['status']}; only a succeeded "
            f"PaymentIntent can be refunded.",
            param="payment_intent",
        )
    return account.charges[intent["latest_charge"]]
