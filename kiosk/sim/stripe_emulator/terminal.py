"""Terminal locations and simulated readers: actions, card presentment and timed events.

A reader's current action lives on the reader object as Stripe shows it (`action`: type,
status, failure_code...). What the action is waiting for lives in `Account.reader_work`:
`waiting` (for a card: a new process_payment_intent replaces it), `authorising` (a card was
presented: the reader is busy until the issuer answers), `stuck` (the reader lost its
connection: in progress until cancel_action). Times are emulator-clock seconds.
"""

from __future__ import annotations

import secrets
from typing import Any

from kiosk.sim.stripe_emulator import cards, payment_intents
from kiosk.sim.stripe_emulator.errors import StripeError, invalid, invalid_state, reader_error
from kiosk.sim.stripe_emulator.objects import Account, find, page

REGISTRATION_CODES = {"simulated-wpe": "simulated_wisepos_e",
                      "simulated-s700": "simulated_stripe_s700"}
"""Registration codes of simulated readers and the device type Stripe reports for each."""
BUSY = "terminal_reader_busy"
OFFLINE = "terminal_reader_offline"
TIMEOUT = "terminal_reader_timeout"
NOT_IN_PROGRESS = "terminal_reader_action_not_in_progress"
CUSTOMER_CANCELED = "customer_canceled"
"""The failure code of an action the customer cancelled on the reader (a reader failure)."""


def create_location(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/terminal/locations."""
    location_id = account.new_id("tml")
    location = {
        "id": location_id,
        "object": "terminal.location",
        "address": params.get("address", {}),
        "configuration_overrides": params.get("configuration_overrides"),
        "display_name": params.get("display_name", ""),
        "livemode": False,
        "metadata": {k: str(v) for k, v in (params.get("metadata") or {}).items()},
        "phone": params.get("phone"),
    }
    account.locations[location_id] = location
    return location


def list_locations(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """GET /v1/terminal/locations."""
    return page(list(account.locations.values()), params, "/v1/terminal/locations")


def register_reader(account: Account, params: dict[str, Any], now: float) -> dict[str, Any]:
    """POST /v1/terminal/readers with a simulated registration code."""
    code = params["registration_code"]
    device_type = REGISTRATION_CODES.get(code)
    if device_type is None:
        raise invalid(
            "The registration code you entered is invalid; use simulated-wpe or simulated-s700.",
            code="parameter_invalid_value",
            param="registration_code",
        )
    location = params.get("location")
    if location is not None:
        find(account.locations, "terminal.location", location, param="location")
    reader_id = account.new_id("tmr")
    serial = f"{code}-{'-'.join(secrets.token_hex(2) for _ in range(4))}"
    reader = {
        "id": reader_id,
        "object": "terminal.reader",
        "action": None,
        "device_sw_version": "",
        "device_type": device_type,
        "ip_address": "0.0.0.0",
        "label": params.get("label") or serial,
        "last_seen_at": int(now * 1000),
        "livemode": False,
        "location": location,
        "metadata": {k: str(v) for k, v in (params.get("metadata") or {}).items()},
        "serial_number": serial,
        "status": "online",
    }
    account.readers[reader_id] = reader
    account.reader_work[reader_id] = _idle_work()
    return reader


def retrieve_reader(account: Account, reader_id: str) -> dict[str, Any]:
    """GET /v1/terminal/readers/{id}."""
    return find(account.readers, "terminal.reader", reader_id)


def list_readers(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """GET /v1/terminal/readers, filtered by location, status, device_type, serial_number."""
    items = list(account.readers.values())
    for name in ("location", "status", "device_type", "serial_number"):
        if name in params:
            items = [item for item in items if item.get(name) == params[name]]
    return page(items, params, "/v1/terminal/readers")


def process_payment_intent(
    account: Account, reader_id: str, params: dict[str, Any], now: float
) -> dict[str, Any]:
    """POST .../process_payment_intent: the reader starts waiting for a card."""
    reader, work = _reachable(account, reader_id, now)
    if work["phase"] in ("authorising", "stuck"):
        raise reader_error(BUSY, "Reader is currently busy processing another request.")
    intent = find(account.payment_intents, "payment_intent", params["payment_intent"],
                  param="payment_intent")
    if intent["status"] != "requires_payment_method":
        raise invalid_state(
            f"This PaymentIntent's status is {intent['status']}; it must be "
            f"requires_payment_method to be processed on a reader.",
            param="payment_intent",
        )
    if "card_present" not in intent["payment_method_types"]:
        raise invalid(
            "This PaymentIntent does not allow card_present; create it with "
            "allowed_payment_method_types[]=card_present.",
            code="parameter_invalid_value",
            param="payment_intent",
        )
    action: dict[str, Any] = {
        "type": "process_payment_intent",
        "status": "in_progress",
        "failure_code": None,
        "failure_message": None,
        "api_error": None,
        "process_payment_intent": {"payment_intent": intent["id"]},
    }
    if "process_config" in params:
        action["process_payment_intent"]["process_config"] = params["process_config"]
    reader["action"] = action
    work.update(phase="waiting", intent=intent["id"], auth_due=None, card=None, tip=0)
    _schedule_customer(account, reader_id, intent["id"], now)
    return reader


def set_reader_display(
    account: Account, reader_id: str, params: dict[str, Any], now: float
) -> dict[str, Any]:
    """POST .../set_reader_display: show the cart; refused while a payment is in progress.

    As on Stripe the display action stays ``in_progress`` until another action replaces it
    or ``cancel_action`` clears it."""
    reader, work = _reachable(account, reader_id, now)
    if work["phase"] is not None:
        raise reader_error(BUSY, "Reader is currently busy processing a payment.")
    cart = params.get("cart")
    if cart is not None:
        cart = dict(cart, currency=cards.check_currency(cart["currency"], "cart[currency]"))
    reader["action"] = {
        "type": "set_reader_display",
        "status": "in_progress",
        "failure_code": None,
        "failure_message": None,
        "api_error": None,
        "set_reader_display": {"type": params["type"], "cart": cart},
    }
    return reader


def cancel_action(account: Account, reader_id: str, now: float) -> dict[str, Any]:
    """POST .../cancel_action: ends an action waiting for a card (or stuck) or a cart display;
    busy while authorising.

    As on Stripe, the reader's ``action`` is null afterwards. With no action in progress the
    reader is returned unchanged.
    """
    reader, work = _reachable(account, reader_id, now)
    action = reader.get("action")
    if work["phase"] is None and action and action.get("type") == "set_reader_display":
        reader["action"] = None
        return reader
    if work["phase"] == "authorising":
        raise reader_error(BUSY, "Reader is busy authorising a card; it cannot be canceled.")
    if work["phase"] in ("waiting", "stuck"):
        reader["action"] = None
        work.update(_idle_work(offline=work["offline"], offline_until=work["offline_until"]))
    return reader


def customer_cancels(account: Account, reader_id: str, now: float) -> None:
    """The customer presses cancel on the reader while it waits for a card: the action fails
    with `CUSTOMER_CANCELED` (a reader failure: ``api_error`` stays null)."""
    work = account.reader_work[reader_id]
    if work["phase"] != "waiting":
        return
    reader = account.readers[reader_id]
    reader["last_seen_at"] = int(now * 1000)
    _fail_action(reader, CUSTOMER_CANCELED, "The customer canceled the payment.")
    work.update(_idle_work(offline=work["offline"], offline_until=work["offline_until"]))


def present_payment_method(
    account: Account,
    reader_id: str,
    params: dict[str, Any],
    now: float,
    *,
    auth_delay_s: float = 0.0,
) -> dict[str, Any]:
    """POST /v1/test_helpers/.../present_payment_method: a card is tapped on the reader."""
    reader, work = _reachable(account, reader_id, now)
    if work["phase"] == "stuck":
        raise reader_error(OFFLINE, "Reader lost its connection and cannot take the card.")
    if work["phase"] == "authorising":
        raise reader_error(BUSY, "Reader is currently busy authorising a card.")
    if work["phase"] != "waiting":
        raise invalid(
            "The reader has no process_payment_intent action in progress to present to.",
            code=NOT_IN_PROGRESS,
        )
    number = (params.get("card_present") or {}).get("number") or "4242424242424242"
    cards.card_profile(number, "card_present[number]")
    intent = account.payment_intents[work["intent"]]
    delay = auth_delay_s or float(work.pop("auth_delay_s", 0.0) or 0.0)
    work.update(card=number, tip=params.get("amount_tip", 0))
    reader["last_seen_at"] = int(now * 1000)
    if delay > 0:
        intent["status"] = "processing"
        work.update(phase="authorising", auth_due=now + delay)
        return reader
    _finish_authorisation(account, reader, work, now)
    return reader


def settle(account: Account, now: float) -> bool:
    """Fire every timed event due by `now` (customer taps, authorisations, reconnections).

    Returns True if anything changed.
    """
    changed = False
    while True:
        event = _next_due(account, now)
        if event is None:
            return changed
        changed = True
        kind, key = event
        if kind == "tap":
            tap = account.taps.pop(key)  # type: ignore[arg-type]
            _customer_taps(account, tap)
        elif kind == "authorisation":
            reader_id = str(key)
            work = account.reader_work[reader_id]
            _finish_authorisation(account, account.readers[reader_id], work, work["auth_due"])
        else:
            work = account.reader_work[str(key)]
            work.update(offline=False, offline_until=None)
            account.readers[str(key)]["status"] = "online"


def set_offline(account: Account, reader_id: str, until: float | None) -> None:
    """Take a reader offline until `until` (emulator-clock seconds) or until set online."""
    work = account.reader_work[reader_id]
    work.update(offline=True, offline_until=until)
    account.readers[reader_id]["status"] = "offline"


def set_online(account: Account, reader_id: str) -> None:
    """Bring a reader back online."""
    work = account.reader_work[reader_id]
    work.update(offline=False, offline_until=None)
    account.readers[reader_id]["status"] = "online"


def make_stuck(account: Account, reader_id: str) -> None:
    """Leave the reader's current action in progress until cancel_action (lost connection).
    An action that has ended (its payment taken, or failed) stays as it ended."""
    reader = account.readers[reader_id]
    work = account.reader_work[reader_id]
    if reader["action"] is None or reader["action"].get("status") != "in_progress":
        return
    reader["action"]["status"] = "in_progress"
    reader["action"]["failure_code"] = None
    reader["action"]["failure_message"] = None
    work.update(phase="stuck", auth_due=None)


def delay_next_authorisation(account: Account, reader_id: str, seconds: float) -> None:
    """The next card presented on this reader takes `seconds` to authorise."""
    account.reader_work[reader_id]["auth_delay_s"] = seconds


def intent_cancelled(account: Account, intent_id: str) -> None:
    """A cancelled PaymentIntent ends the reader action still waiting for a card for it."""
    for reader_id, work in account.reader_work.items():
        if work["phase"] == "waiting" and work["intent"] == intent_id:
            _fail_action(account.readers[reader_id], "payment_intent_canceled",
                         "The PaymentIntent was canceled.")
            work.update(phase=None, intent=None)


def _idle_work(*, offline: bool = False, offline_until: float | None = None) -> dict[str, Any]:
    return {"phase": None, "intent": None, "auth_due": None, "card": None, "tip": 0,
            "offline": offline, "offline_until": offline_until}


def _reachable(account: Account, reader_id: str, now: float
               ) -> tuple[dict[str, Any], dict[str, Any]]:
    reader = retrieve_reader(account, reader_id)
    work = account.reader_work[reader_id]
    if work["offline"]:
        raise reader_error(OFFLINE, "Reader is currently offline, please ensure the reader "
                           "is powered on and connected to the internet.")
    reader["last_seen_at"] = int(now * 1000)
    return reader, work


def _fail_action(reader: dict[str, Any], code: str, message: str,
                 api_error: dict[str, Any] | None = None) -> None:
    """Fail the reader's action: ``api_error`` is the Stripe API error behind it (a decline),
    null for a failure on the reader itself (the customer cancelled)."""
    if reader["action"] is not None:
        reader["action"]["status"] = "failed"
        reader["action"]["failure_code"] = code
        reader["action"]["failure_message"] = message
        reader["action"]["api_error"] = api_error


def _finish_authorisation(account: Account, reader: dict[str, Any], work: dict[str, Any],
                          now: float) -> None:
    intent = account.payment_intents[work["intent"]]
    decline = payment_intents.authorise(
        account, intent, work["card"], reader=reader, tip=work["tip"], now=now
    )
    if decline is None:
        reader["action"]["status"] = "succeeded"
    else:
        error = intent["last_payment_error"]
        api_error = {name: error.get(name) for name in
                     ("type", "code", "message", "decline_code", "doc_url", "param")}
        _fail_action(reader, error["code"], error["message"], api_error)
    work.update(phase=None, auth_due=None, card=None, tip=0)


def _schedule_customer(account: Account, reader_id: str, intent_id: str, now: float) -> None:
    plan = account.customer
    if plan is None or plan["behaviour"] == "never":
        return
    if plan.get("reader_id") not in (None, reader_id):
        return
    account.taps.append({
        "reader": reader_id,
        "intent": intent_id,
        "due_at": now + float(plan["after_s"]),
        "card": plan["card"],
        "auth_delay_s": float(plan.get("auth_delay_s", 0.0)),
        "late": plan["behaviour"] == "late",
        "cancel": plan["behaviour"] == "cancel",
    })


def _customer_taps(account: Account, tap: dict[str, Any]) -> None:
    work = account.reader_work.get(tap["reader"])
    if work is None or work["phase"] != "waiting":
        return
    if not tap["late"] and work["intent"] != tap["intent"]:
        return
    if tap.get("cancel"):
        customer_cancels(account, tap["reader"], tap["due_at"])
        return
    try:
        present_payment_method(
            account, tap["reader"], {"card_present": {"number": tap["card"]}}, tap["due_at"],
            auth_delay_s=tap["auth_delay_s"],
        )
    except StripeError:
        return


def _next_due(account: Account, now: float) -> tuple[str, int | str] | None:
    candidates: list[tuple[float, str, int | str]] = []
    for index, tap in enumerate(account.taps):
        if tap["due_at"] <= now:
            candidates.append((tap["due_at"], "tap", index))
    for reader_id, work in account.reader_work.items():
        if work["phase"] == "authorising" and work["auth_due"] <= now:
            candidates.append((work["auth_due"], "authorisation", reader_id))
        if work["offline"] and work["offline_until"] is not None and work["offline_until"] <= now:
            candidates.append((work["offline_until"], "online", reader_id))
    if not candidates:
        return None
    _, kind, key = min(candidates, key=lambda item: item[0])
    return kind, key
