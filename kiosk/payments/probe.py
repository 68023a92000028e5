"""The availability probe: can Stripe be reached, and is the reader online?

The payment thread calls `probe` every ``probe_s`` seconds while idle and tells the facade
about changes, so a customer learns that card payments are unavailable before scanning.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.payments.outcomes import Outcome
from kiosk.payments.stripe_api import FailureKind, StripeFailure, StripeGateway


@dataclass(frozen=True)
class Availability:
    """Whether card payments can be taken now, and why not (an outcome code, or ``ok``)."""

    available: bool
    reason: str


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
