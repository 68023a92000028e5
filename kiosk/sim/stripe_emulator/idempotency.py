"""Stripe's idempotency keys: saved responses, replays, mismatches and expiry.

A POST with an `Idempotency-Key` that reached execution saves its response (status and
body, errors and 500s included). The same key with the same method, path and parameters
replays it; with anything else it is refused with 400 `idempotency_error`. A key is forgotten
24 hours (emulator-clock seconds) after it was first used. A request refused before execution
(parameter error, 429, 500 before acting, bad key) saves nothing. A key whose first request
is still running answers 409 `idempotency_key_in_use`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from kiosk.sim.stripe_emulator.errors import StripeError

KEY_LIFETIME_S = 24 * 60 * 60


@dataclass(frozen=True)
class SavedResponse:
    """A response saved under a key: HTTP status and JSON body."""

    status: int
    body: dict[str, Any]


def fingerprint(method: str, path: str, params: dict[str, Any]) -> str:
    """A digest of what the request asked for, to compare a reused key's requests."""
    text = json.dumps([method.upper(), path, params], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class IdempotencyKeys:
    """The saved responses by key, stored in the account's `idempotency` dict (persisted)."""

    def __init__(self, records: dict[str, dict[str, Any]]) -> None:
        self._records = records
        self._in_flight: set[str] = set()

    def forget_expired(self, now: float) -> None:
        """Drop keys older than 24 hours."""
        for key in [k for k, r in self._records.items() if now - r["at"] >= KEY_LIFETIME_S]:
            del self._records[key]

    def look_up(self, key: str, digest: str, now: float) -> SavedResponse | None:
        """The saved response to replay, None to execute; raises on a mismatch or key in use."""
        self.forget_expired(now)
        if key in self._in_flight:
            raise StripeError(
                409,
                "There is currently another in-progress request using this Stripe token "
                "(probably means you sent two simultaneous requests with the same key).",
                code="idempotency_key_in_use",
            )
        record = self._records.get(key)
        if record is None:
            return None
        if record["fingerprint"] != digest:
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                type="idempotency_error",
            )
        return SavedResponse(record["status"], record["body"])

    def reserve(self, key: str) -> None:
        """Mark the key's first request as running."""
        self._in_flight.add(key)

    def release(self, key: str) -> None:
        """The key's request finished (saved or refused)."""
        self._in_flight.discard(key)

    def save(self, key: str, digest: str, response: SavedResponse, now: float) -> None:
        """Save the response of an executed request under its key."""
        self._records[key] = {
            "fingerprint": digest,
            "status": response.status,
            "body": response.body,
            "at": now,
        }
