"""The payment attempts of sales in SQLite: each protocol step as one committed transaction.

Every function here takes the store worker's connection (it runs as a job on
`kiosk.store.worker.StoreWorker`, whose connection has ``synchronous=FULL``) and commits one
``BEGIN IMMEDIATE`` transaction, or only reads. The payment code commits a step here *before*
the Stripe call it guards, so after a crash the row says what may have been sent.

A sale has one attempt row (unique ``sale_id``). Amounts are in minor units; timestamps are
UTC ISO-8601 strings ending in "Z".
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from kiosk.core.timestamps import utc_now_iso
from kiosk.payments.protocol import (
    UNRESOLVED_STATES,
    AttemptState,
    IntentStatus,
    Operation,
    idempotency_key,
)
from kiosk.store import audit
from kiosk.store.db import immediate_transaction

ENDED_WITHOUT_PAYMENT = ("abandoned", "voided")
"""Sale states that close a sale unpaid: a PaymentIntent still live for such a sale must be
settled by the rule for abandoned sales (`kiosk.payments.stripe.recovery`)."""

_COLUMNS = (
    "id, sale_id, n, state, amount_minor, payment_intent_id, reader_id, created_at, "
    "updated_at, detail, create_key, update_key, display_key, process_key, "
    "cancel_action_key, capture_key, cancel_key, capture_method, intent_status, "
    "intent_amount_minor, locked_at, process_sent_at, outcome, decline_code, charge_id, card, "
    "captured_minor, paid_at"
)


@dataclass(frozen=True)
class PaymentAttempt:
    """One sale's card payment as committed (see `kiosk.payments.protocol.AttemptState`).

    ``amount_minor`` is what the customer was last asked to pay; ``intent_amount_minor`` the
    PaymentIntent's amount as last set; ``captured_minor`` what was captured (minor units).
    ``card`` holds the card-present details for the receipt. ``sale_state`` is the sale's.
    """

    id: str
    sale_id: str
    n: int
    state: AttemptState
    amount_minor: int
    payment_intent_id: str | None
    reader_id: str | None
    created_at: str
    updated_at: str
    detail: str | None
    create_key: str | None
    update_key: str | None
    display_key: str | None
    process_key: str | None
    cancel_action_key: str | None
    capture_key: str | None
    cancel_key: str | None
    capture_method: str | None
    intent_status: str | None
    intent_amount_minor: int | None
    locked_at: str | None
    process_sent_at: str | None
    outcome: str | None
    decline_code: str | None
    charge_id: str | None
    card: dict[str, Any] | None
    captured_minor: int
    paid_at: str | None
    sale_state: str

    @property
    def unresolved(self) -> bool:
        """True when a Stripe call may be in flight or a result is not yet recorded."""
        if self.state in UNRESOLVED_STATES:
            return True
        if self.state == AttemptState.INTENT_CREATED and self.sale_state in (
                "locked", *ENDED_WITHOUT_PAYMENT):
            return True  # (a sale ended while its PaymentIntent waited for another try)
        return (
            self.state == AttemptState.ABANDONED
            and self.payment_intent_id is not None
            and self.intent_status not in (IntentStatus.CANCELED, IntentStatus.SUCCEEDED)
        )


class SaleNotPayable(Exception):
    """The sale cannot be paid: not recorded, closed, or its saved total is another amount."""

    def __init__(self, sale_id: str, why: str) -> None:
        self.sale_id = sale_id
        self.why = why
        super().__init__(f"sale {sale_id} cannot be paid: {why}")


def _attempt(row: tuple[Any, ...]) -> PaymentAttempt:
    values = list(row)
    card_index = 25
    values[3] = AttemptState(values[3])
    values[card_index] = json.loads(values[card_index]) if values[card_index] else None
    return PaymentAttempt(*values)


def get(db: Database, sale_id: str) -> PaymentAttempt | None:
    """The sale's attempt, or ``None`` if it never tried to pay by card."""
    row = db.execute(
        f"SELECT {_prefixed()}, s.state FROM payment_attempts a JOIN sales s "
        "ON s.id = a.sale_id WHERE a.sale_id = ?", [sale_id]).fetchone()
    return None if row is None else _attempt(row)


def by_intent(db: Database, intent_id: str) -> PaymentAttempt | None:
    """The attempt that holds PaymentIntent ``intent_id``, or ``None``."""
    row = db.execute(
        f"SELECT {_prefixed()}, s.state FROM payment_attempts a JOIN sales s "
        "ON s.id = a.sale_id WHERE a.payment_intent_id = ?", [intent_id]).fetchone()
    return None if row is None else _attempt(row)


def unresolved(db: Database) -> list[PaymentAttempt]:
    """Every attempt recovery must settle (see `PaymentAttempt.unresolved`), oldest first."""
    rows = db.execute(
        f"SELECT {_prefixed()}, s.state FROM payment_attempts a JOIN sales s "
        "ON s.id = a.sale_id WHERE a.state NOT IN ('paid', 'new') ORDER BY a.created_at"
    ).fetchall()
    return [attempt for attempt in map(_attempt, rows) if attempt.unresolved]


def close_reason(db: Database, sale_id: str) -> str | None:
    """Why the sale was closed (``cancelled``, ``idle_timeout``, ``voided``...), or ``None``
    while it is open, locked or paid."""
    row = db.execute("SELECT close_reason FROM sales WHERE id = ? AND state IN (?, ?)",
                     [sale_id, *ENDED_WITHOUT_PAYMENT]).fetchone()
    return str(row[0] or "abandoned") if row is not None else None


def sale_exists(db: Database, sale_id: str) -> bool:
    """True when a sale with this id is recorded here."""
    return db.execute("SELECT 1 FROM sales WHERE id = ?", [sale_id]).fetchone() is not None


def _prefixed() -> str:
    return ", ".join(f"a.{name.strip()}" for name in _COLUMNS.split(","))


def _require(db: Database, attempt_id: str) -> PaymentAttempt:
    row = db.execute(
        f"SELECT {_prefixed()}, s.state FROM payment_attempts a JOIN sales s "
        "ON s.id = a.sale_id WHERE a.id = ?", [attempt_id]).fetchone()
    if row is None:
        raise LookupError(f"no payment attempt {attempt_id}")
    return _attempt(row)


def _next_key(db: Database, attempt: PaymentAttempt, operation: Operation) -> tuple[int, str]:
    n = attempt.n + 1
    return n, idempotency_key(attempt.sale_id, operation, n)


def lock(db: Database, sale_id: str, amount_minor: int, *, capture_method: str,
         at: datetime) -> PaymentAttempt:
    """Commit ``locked``: the sale (open or locked) is locked for paying ``amount_minor``.

    A first try inserts the attempt with its create key; a later try keeps the PaymentIntent
    (or the unresolved create key) and records the new amount; every try gets a fresh
    display key. An attempt that is paid, processing or authorised is returned unchanged (the
    caller settles it first). Raises `SaleNotPayable` when the sale is not recorded, closed,
    or its saved total differs from ``amount_minor``.
    """
    stamp = utc_now_iso(at)
    with immediate_transaction(db):
        sale = db.execute("SELECT state, total_minor FROM sales WHERE id = ?",
                          [sale_id]).fetchone()
        if sale is None:
            raise SaleNotPayable(sale_id, "not recorded")
        existing = get(db, sale_id)
        if existing is not None and existing.state in (
                AttemptState.PAID, AttemptState.PROCESSING, AttemptState.AUTHORISED):
            return existing
        state, total = sale
        if state not in ("open", "locked"):
            raise SaleNotPayable(sale_id, f"the sale is {state}")
        if total != amount_minor:
            raise SaleNotPayable(sale_id, f"its saved total is {total}, not {amount_minor}")
        db.execute("UPDATE sales SET state = 'locked', updated_at = ? WHERE id = ?",
                   [stamp, sale_id])
        if existing is None:
            attempt_id = str(uuid.uuid4())
            db.execute(
                "INSERT INTO payment_attempts (id, sale_id, n, state, amount_minor, created_at, "
                "updated_at, create_key, display_key, capture_method, locked_at) "
                "VALUES (?, ?, 2, 'locked', ?, ?, ?, ?, ?, ?, ?)",
                [attempt_id, sale_id, amount_minor, stamp, stamp,
                 idempotency_key(sale_id, Operation.CREATE, 1),
                 idempotency_key(sale_id, Operation.DISPLAY, 2), capture_method, stamp])
            return _require(db, attempt_id)
        if existing.state == AttemptState.ABANDONED:
            raise SaleNotPayable(sale_id, "its payment was abandoned")
        n, display_key = _next_key(db, existing, Operation.DISPLAY)
        if existing.state == AttemptState.NEW:
            n += 1
            create_key = idempotency_key(sale_id, Operation.CREATE, n)
            db.execute(
                "UPDATE payment_attempts SET state = 'locked', create_key = ?, locked_at = ?, "
                "capture_method = ? WHERE id = ?",
                [create_key, stamp, capture_method, existing.id])
        db.execute(
            "UPDATE payment_attempts SET n = ?, display_key = ?, amount_minor = ?, "
            "updated_at = ?, outcome = NULL, decline_code = NULL WHERE id = ?",
            [n, display_key, amount_minor, stamp, existing.id])
        return _require(db, existing.id)


def record_intent(db: Database, attempt_id: str, intent: dict[str, Any], *,
                  at: datetime) -> PaymentAttempt:
    """Commit ``intent_created``: the PaymentIntent's id, status and amount."""
    with immediate_transaction(db):
        db.execute(
            "UPDATE payment_attempts SET state = 'intent_created', payment_intent_id = ?, "
            "intent_status = ?, intent_amount_minor = ?, updated_at = ? WHERE id = ?",
            [intent["id"], intent.get("status"), intent.get("amount"), utc_now_iso(at),
             attempt_id])
        return _require(db, attempt_id)


def mint_key(db: Database, attempt_id: str, operation: Operation, *,
             at: datetime) -> PaymentAttempt:
    """Commit a fresh key for ``operation`` (``update``, ``cancel_action``, ``capture``,
    ``cancel``, ``display``): bump ``n`` and store ``{sale_id}:{operation}:{n}``."""
    column = f"{operation.value}_key"
    with immediate_transaction(db):
        attempt = _require(db, attempt_id)
        n, key = _next_key(db, attempt, operation)
        db.execute(
            f"UPDATE payment_attempts SET n = ?, {column} = ?, updated_at = ? WHERE id = ?",
            [n, key, utc_now_iso(at), attempt_id])
        return _require(db, attempt_id)


def record_create_key(db: Database, attempt_id: str, *, at: datetime) -> PaymentAttempt:
    """Commit a fresh create key (after looking: no PaymentIntent was created for the sale)."""
    with immediate_transaction(db):
        attempt = _require(db, attempt_id)
        n, key = _next_key(db, attempt, Operation.CREATE)
        db.execute(
            "UPDATE payment_attempts SET n = ?, create_key = ?, updated_at = ? WHERE id = ?",
            [n, key, utc_now_iso(at), attempt_id])
        return _require(db, attempt_id)


def record_intent_amount(db: Database, attempt_id: str, amount_minor: int, *,
                         at: datetime) -> None:
    """Record that the PaymentIntent's amount is now ``amount_minor``."""
    with immediate_transaction(db):
        db.execute(
            "UPDATE payment_attempts SET intent_amount_minor = ?, updated_at = ? WHERE id = ?",
            [amount_minor, utc_now_iso(at), attempt_id])


def record_processing(db: Database, attempt_id: str, reader_id: str, *,
                      at: datetime) -> PaymentAttempt:
    """Commit ``processing``: reader id, time sent and a fresh process key."""
    stamp = utc_now_iso(at)
    with immediate_transaction(db):
        attempt = _require(db, attempt_id)
        n, key = _next_key(db, attempt, Operation.PROCESS)
        db.execute(
            "UPDATE payment_attempts SET state = 'processing', reader_id = ?, "
            "process_sent_at = ?, process_key = ?, n = ?, updated_at = ? WHERE id = ?",
            [reader_id, stamp, key, n, stamp, attempt_id])
        return _require(db, attempt_id)


def record_authorised(db: Database, attempt_id: str, intent: dict[str, Any], *,
                      at: datetime) -> PaymentAttempt:
    """Commit ``authorised``: the PaymentIntent awaits capture; card details and capture key.

    An attempt already authorised keeps its capture key (a replay must reuse it).
    """
    charge = latest_charge(intent)
    with immediate_transaction(db):
        attempt = _require(db, attempt_id)
        if attempt.state == AttemptState.PAID:
            return attempt
        capture_key = attempt.capture_key
        n = attempt.n
        if attempt.state != AttemptState.AUTHORISED or capture_key is None:
            n, capture_key = _next_key(db, attempt, Operation.CAPTURE)
        db.execute(
            "UPDATE payment_attempts SET state = 'authorised', payment_intent_id = ?, "
            "intent_status = ?, intent_amount_minor = ?, charge_id = ?, card = ?, "
            "capture_key = ?, n = ?, updated_at = ? WHERE id = ?",
            [intent["id"], intent.get("status"), intent.get("amount"),
             charge.get("id") if charge else None, json.dumps(card_details(intent)),
             capture_key, n, utc_now_iso(at), attempt_id])
        return _require(db, attempt_id)


def record_paid(db: Database, attempt_id: str, intent: dict[str, Any], *, at: datetime,
                kiosk_id: str) -> tuple[PaymentAttempt, bool]:
    """Commit ``paid`` with the sale, the card details and the outbox rows, in one transaction.

    The outbox gets a ``sale.paid`` event (fresh event UUID, the sale, its lines, totals and
    payment as JSON) and ``print_jobs`` a receipt in ``awaiting_choice``. Returns the attempt
    and whether this call recorded it (``False``: it was already paid).
    """
    stamp = utc_now_iso(at)
    charge = latest_charge(intent)
    captured = int(charge.get("amount_captured") or 0) if charge else 0
    if not captured:
        captured = int(intent.get("amount_received") or intent.get("amount") or 0)
    with immediate_transaction(db):
        attempt = _require(db, attempt_id)
        if attempt.state == AttemptState.PAID:
            return attempt, False
        card = card_details(intent) or attempt.card
        db.execute(
            "UPDATE payment_attempts SET state = 'paid', payment_intent_id = ?, "
            "intent_status = 'succeeded', intent_amount_minor = ?, charge_id = ?, card = ?, "
            "captured_minor = ?, outcome = 'approved', decline_code = NULL, paid_at = ?, "
            "updated_at = ? WHERE id = ?",
            [intent["id"], intent.get("amount"), charge.get("id") if charge else None,
             json.dumps(card), captured, stamp, stamp, attempt_id])
        previous = db.execute("SELECT state FROM sales WHERE id = ?",
                              [attempt.sale_id]).fetchone()[0]
        db.execute(
            "UPDATE sales SET state = 'paid', closed_at = ?, close_reason = NULL, "
            "updated_at = ? WHERE id = ?", [stamp, stamp, attempt.sale_id])
        if previous not in ("open", "locked", "paid"):
            audit.record(db, at=at, action="payment.paid_after_close", outcome="anomaly",
                         detail={"sale_id": attempt.sale_id, "was": previous,
                                 "payment_intent": intent["id"]})
        payload = _sale_paid_payload(db, attempt.sale_id, intent, card, captured, stamp,
                                     kiosk_id)
        db.execute(
            "INSERT INTO outbox (event_id, topic, sale_id, payload, created_at) "
            "VALUES (?, 'sale.paid', ?, ?, ?)",
            [str(uuid.uuid4()), attempt.sale_id, json.dumps(payload, sort_keys=True), stamp])
        db.execute(
            "INSERT INTO print_jobs (sale_id, kind, state, created_at, updated_at) "
            "VALUES (?, 'receipt', 'awaiting_choice', ?, ?)", [attempt.sale_id, stamp, stamp])
        return _require(db, attempt_id), True


def return_to_customer(db: Database, attempt_id: str, *, outcome: str, at: datetime,
                       decline_code: str | None = None,
                       intent_status: str | None = None) -> PaymentAttempt:
    """Commit ``intent_created`` again: the PaymentIntent waits for another try and the sale
    is open (the cart unlocks). Records the outcome (and decline code) of the try."""
    stamp = utc_now_iso(at)
    with immediate_transaction(db):
        attempt = _require(db, attempt_id)
        if attempt.state in (AttemptState.PAID, AttemptState.ABANDONED):
            return attempt
        state = (AttemptState.INTENT_CREATED if attempt.payment_intent_id
                 else AttemptState.NEW)
        db.execute(
            "UPDATE payment_attempts SET state = ?, outcome = ?, decline_code = ?, "
            "intent_status = COALESCE(?, intent_status), updated_at = ? WHERE id = ?",
            [state.value, outcome, decline_code, intent_status, stamp, attempt_id])
        db.execute("UPDATE sales SET state = 'open', updated_at = ? WHERE id = ? "
                   "AND state = 'locked'", [stamp, attempt.sale_id])
        return _require(db, attempt_id)


def unlock_unresolved_create(db: Database, attempt_id: str, *, outcome: str,
                             at: datetime) -> PaymentAttempt:
    """Reopen the sale while the create stays unresolved (state ``locked``): no PaymentIntent
    is on a reader, so the customer cannot be charged; recovery or the next Pay settles it."""
    stamp = utc_now_iso(at)
    with immediate_transaction(db):
        attempt = _require(db, attempt_id)
        db.execute("UPDATE payment_attempts SET outcome = ?, updated_at = ? WHERE id = ?",
                   [outcome, stamp, attempt_id])
        db.execute("UPDATE sales SET state = 'open', updated_at = ? WHERE id = ? "
                   "AND state = 'locked'", [stamp, attempt.sale_id])
        return _require(db, attempt_id)


def forget_intent(db: Database, attempt_id: str, *, why: str, at: datetime,
                  reopen: bool = True) -> PaymentAttempt:
    """Commit ``new``: the PaymentIntent was cancelled (or never created) and is final; the
    next Pay creates another with a fresh key. Reopens a locked sale when ``reopen``."""
    stamp = utc_now_iso(at)
    with immediate_transaction(db):
        attempt = _require(db, attempt_id)
        if attempt.state == AttemptState.PAID:
            return attempt
        detail = _detail(attempt, {"forgotten_intent": attempt.payment_intent_id, "why": why})
        state = AttemptState.ABANDONED if attempt.state == AttemptState.ABANDONED else \
            AttemptState.NEW
        if state == AttemptState.ABANDONED:
            db.execute("UPDATE payment_attempts SET intent_status = 'canceled', detail = ?, "
                       "updated_at = ? WHERE id = ?", [detail, stamp, attempt_id])
        else:
            db.execute(
                "UPDATE payment_attempts SET state = 'new', payment_intent_id = NULL, "
                "intent_status = NULL, intent_amount_minor = NULL, detail = ?, "
                "updated_at = ? WHERE id = ?", [detail, stamp, attempt_id])
            if reopen:
                db.execute("UPDATE sales SET state = 'open', updated_at = ? WHERE id = ? "
                           "AND state = 'locked'", [stamp, attempt.sale_id])
        return _require(db, attempt_id)


def adopt_intent(db: Database, sale_id: str, intent: dict[str, Any], *,
                 capture_method: str, at: datetime) -> PaymentAttempt:
    """Make ``intent`` the sale's PaymentIntent (recovery found it at Stripe, not here).

    Inserts the attempt if the sale never had one; otherwise points it at this intent.
    """
    stamp = utc_now_iso(at)
    with immediate_transaction(db):
        existing = get(db, sale_id)
        if existing is None:
            attempt_id = str(uuid.uuid4())
            db.execute(
                "INSERT INTO payment_attempts (id, sale_id, n, state, amount_minor, "
                "payment_intent_id, intent_status, intent_amount_minor, created_at, updated_at, "
                "capture_method, detail) VALUES (?, ?, 1, 'intent_created', ?, ?, ?, ?, ?, ?, "
                "?, ?)",
                [attempt_id, sale_id, intent.get("amount"), intent["id"], intent.get("status"),
                 intent.get("amount"), stamp, stamp, capture_method,
                 json.dumps({"adopted": intent["id"]})])
            return _require(db, attempt_id)
        if existing.state == AttemptState.PAID:
            return existing
        db.execute(
            "UPDATE payment_attempts SET payment_intent_id = ?, intent_status = ?, "
            "intent_amount_minor = ?, detail = ?, updated_at = ?, state = CASE WHEN state IN "
            "('new', 'locked') THEN 'intent_created' ELSE state END WHERE id = ?",
            [intent["id"], intent.get("status"), intent.get("amount"),
             _detail(existing, {"adopted": intent["id"],
                                "previous": existing.payment_intent_id}),
             stamp, existing.id])
        return _require(db, existing.id)


def record_abandoned(db: Database, sale_id: str, reason: str, *,
                     at: datetime) -> PaymentAttempt | None:
    """Commit ``abandoned`` with ``reason`` (before the PaymentIntent is cancelled) and close an
    open or locked sale as abandoned (``voided`` when the reason is ``voided``).

    Returns ``None`` when the sale never tried to pay by card (only the sale is closed)."""
    stamp = utc_now_iso(at)
    sale_state = "voided" if reason == "voided" else "abandoned"
    with immediate_transaction(db):
        attempt = get(db, sale_id)
        if attempt is not None and attempt.state == AttemptState.PAID:
            return attempt
        db.execute(
            "UPDATE sales SET state = ?, close_reason = ?, closed_at = ?, updated_at = ? "
            "WHERE id = ? AND state IN ('open', 'locked')",
            [sale_state, reason, stamp, stamp, sale_id])
        if attempt is None:
            return None
        n, cancel_key = _next_key(db, attempt, Operation.CANCEL)
        db.execute(
            "UPDATE payment_attempts SET state = 'abandoned', detail = ?, cancel_key = ?, "
            "n = ?, updated_at = ? WHERE id = ?",
            [_detail(attempt, {"abandoned": reason}), cancel_key, n, stamp, attempt.id])
        return _require(db, attempt.id)


def record_intent_status(db: Database, attempt_id: str, status: str, *, at: datetime) -> None:
    """Remember the PaymentIntent's last seen status (``canceled`` makes an abandon final)."""
    with immediate_transaction(db):
        db.execute("UPDATE payment_attempts SET intent_status = ?, updated_at = ? WHERE id = ?",
                   [status, utc_now_iso(at), attempt_id])


def record_anomaly(db: Database, what: str, detail: dict[str, Any], *, at: datetime) -> None:
    """Append an audit row ``payment.<what>`` with outcome ``anomaly`` for staff to check."""
    with immediate_transaction(db):
        audit.record(db, at=at, action=f"payment.{what}", outcome="anomaly", detail=detail)


def _detail(attempt: PaymentAttempt, extra: dict[str, Any]) -> str:
    try:
        current = json.loads(attempt.detail) if attempt.detail else {}
    except ValueError:
        current = {"text": attempt.detail}
    if not isinstance(current, dict):
        current = {"value": current}
    current.update(extra)
    return json.dumps(current, sort_keys=True)


# ------------------------------------------------------------------------- card details

_RECEIPT_FIELDS = (
    "application_preferred_name", "dedicated_file_name", "authorization_code",
    "authorization_response_code", "account_type", "cardholder_verification_method",
    "application_cryptogram", "terminal_verification_results", "transaction_status_information",
)


def latest_charge(intent: dict[str, Any]) -> dict[str, Any] | None:
    """The PaymentIntent's expanded ``latest_charge`` (``None`` if absent or not expanded)."""
    charge = intent.get("latest_charge")
    return charge if isinstance(charge, dict) else None


def card_details(intent: dict[str, Any]) -> dict[str, Any] | None:
    """The card-present details a receipt needs (brand, last4, read method, EMV receipt
    fields), from the PaymentIntent's expanded latest charge; ``None`` if there is none."""
    charge = latest_charge(intent)
    if charge is None:
        return None
    method = charge.get("payment_method_details") or {}
    present = method.get("card_present") or {}
    receipt = present.get("receipt") or {}
    details: dict[str, Any] = {
        key: present.get(key)
        for key in ("brand", "last4", "exp_month", "exp_year", "read_method", "network",
                    "funding", "cardholder_name")
        if present.get(key) is not None
    }
    details["receipt"] = {key: receipt[key] for key in _RECEIPT_FIELDS if key in receipt}
    details["charge_id"] = charge.get("id")
    return details


def _sale_paid_payload(db: Database, sale_id: str, intent: dict[str, Any],
                       card: dict[str, Any] | None, captured_minor: int, paid_at: str,
                       kiosk_id: str) -> dict[str, Any]:
    sale = db.execute(
        "SELECT number, kiosk_id, currency, language, created_at, subtotal_minor, tax_minor, "
        "total_minor, age_approved_by FROM sales WHERE id = ?", [sale_id]).fetchone()
    (number, sale_kiosk, currency, language, created_at, subtotal, tax, total,
     approved_by) = sale
    lines = [
        {"position": position, "code": code, "name": name, "quantity": quantity,
         "unit_price_minor": unit_price, "weight_g": weight_g, "tax_class": tax_class,
         "tax_rate": tax_rate, "line_total_minor": line_total, "min_age": min_age}
        for (position, code, name, quantity, unit_price, weight_g, tax_class, tax_rate,
             line_total, min_age) in db.execute(
            "SELECT position, code, name, quantity, unit_price_minor, weight_g, tax_class, "
            "tax_rate, line_total_minor, min_age FROM sale_lines WHERE sale_id = ? "
            "ORDER BY position", [sale_id]).fetchall()
    ]
    charge = latest_charge(intent)
    return {
        "sale": {"id": sale_id, "number": number, "kiosk_id": sale_kiosk or kiosk_id,
                 "currency": currency, "language": language, "created_at": created_at,
                 "paid_at": paid_at, "age_approved_by": approved_by},
        "lines": lines,
        "totals": {"subtotal_minor": subtotal, "tax_minor": tax, "total_minor": total},
        "payment": {"method": "card_present", "payment_intent_id": intent["id"],
                    "charge_id": charge.get("id") if charge else None,
                    "amount_minor": intent.get("amount"), "captured_minor": captured_minor,
                    "currency": intent.get("currency"), "card": card},
    }
