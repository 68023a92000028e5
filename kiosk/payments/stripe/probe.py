"""The availability probe: can Stripe be reached, and is the reader online?

The terminal's worker calls it every ``probe_s`` seconds while idle and tells the facade
about changes, so a customer learns that card payments are unavailable before scanning.
`http_probe` asks with the standard library only (``GET /v1/terminal/readers/{id}``), so the
probe never loads the stripe library; `probe` asks through a gateway already built.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException
from typing import TYPE_CHECKING
from urllib.parse import quote

from kiosk.payments.outcomes import Outcome
from kiosk.payments.stripe.failures import INVALID_STATE_CODES, FailureKind, StripeFailure

if TYPE_CHECKING:
    from kiosk.payments.stripe.api import StripeGateway

log = logging.getLogger(__name__)

PROBE_MIN_S = 600.0
"""The shortest idle probe interval a configuration gets (seconds): 6 reader reads an idle
hour, so with the orphan sweep's 4 list calls an idle kiosk with nothing unresolved reads
Stripe at most 12 times an hour (docs/PAYMENTS.md, "Read traffic")."""

_REFUSED_STATUSES = frozenset({400, 401, 403, 404})
"""HTTP statuses that mean Stripe refused the request (REJECTED or NOT_ALLOWED)."""

_NOT_A_REFUSAL = frozenset({
    "terminal_reader_busy", "terminal_reader_offline", "terminal_reader_timeout",
    "idempotency_key_in_use",
}) | INVALID_STATE_CODES
"""Error codes of a 400 that `kiosk.payments.stripe.api.classify` does not call a refusal."""


@dataclass(frozen=True)
class Availability:
    """Whether card payments can be taken now, and why not (an outcome code, or ``ok``)."""

    available: bool
    reason: str


@dataclass(frozen=True)
class StripeConnection:
    """Where and as whom the kiosk talks to Stripe: ``api_base`` (an emulator URL or
    Stripe's own) and the secret ``api_key``. Never logged."""

    api_key: str
    api_base: str

    def __repr__(self) -> str:
        return f"StripeConnection(api_base={self.api_base!r})"


def probe(gateway: StripeGateway, reader_id: str) -> Availability:
    """Retrieve the reader once: reachable and ``online`` means available."""
    if not reader_id:
        return Availability(False, "no_reader_configured")
    try:
        reader = gateway.retrieve_reader(reader_id)
    except StripeFailure as failure:
        if failure.kind in (FailureKind.REJECTED, FailureKind.NOT_ALLOWED):
            why = failure.code or "refused"
            return Availability(False, f"{Outcome.STRIPE_UNREACHABLE.value}:{why}")
        return Availability(False, Outcome.STRIPE_UNREACHABLE.value)
    if reader.get("status") != "online":
        return Availability(False, Outcome.READER_OFFLINE.value)
    return Availability(True, "ok")


def http_probe(connection: StripeConnection, reader_id: str, timeout_s: float) -> Availability:
    """`probe` over plain HTTP (``urllib``): the same answers, without the stripe library.

    ``timeout_s`` (seconds) bounds the one request.
    """
    if not reader_id:
        return Availability(False, "no_reader_configured")
    url = f"{connection.api_base.rstrip('/')}/v1/terminal/readers/{quote(reader_id, safe='')}"
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {connection.api_key}"}, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            reader = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        code = _error_code(error)
        if error.code in _REFUSED_STATUSES and code not in _NOT_A_REFUSAL:
            why = code or "refused"
            return Availability(False, f"{Outcome.STRIPE_UNREACHABLE.value}:{why}")
        log.info("probe: Stripe answered %s", error.code)
        return Availability(False, Outcome.STRIPE_UNREACHABLE.value)
    except (OSError, HTTPException, ValueError) as error:
        log.info("probe: Stripe cannot be reached: %s", type(error).__name__)
        return Availability(False, Outcome.STRIPE_UNREACHABLE.value)
    if not isinstance(reader, dict) or reader.get("status") != "online":
        return Availability(False, Outcome.READER_OFFLINE.value)
    return Availability(True, "ok")


def _error_code(error: urllib.error.HTTPError) -> str | None:
    """Stripe's ``error.code`` from an error answer's JSON body, if there is one."""
    try:
        body = json.loads(error.read() or b"{}")
    except (OSError, ValueError):
        return None
    code = body.get("error", {}).get("code") if isinstance(body, dict) else None
    return str(code) if code else None
