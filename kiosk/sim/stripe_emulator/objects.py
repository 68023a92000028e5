"""The emulated Stripe account: every object it holds, ids, and Stripe's list pages.

`Account` is plain data (dicts of Stripe-shaped JSON objects) so it saves to and loads from
one JSON file as it is. Objects are kept in creation order; lists come newest first, as
Stripe's do. Amounts are integer minor units; `created` is unix seconds from the clock.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field, fields
from typing import Any

from kiosk.sim.stripe_emulator.errors import invalid, missing_resource

_ALPHABET = string.ascii_letters + string.digits
MAX_LIST_LIMIT = 100


@dataclass
class Account:
    """Everything the emulated Stripe account holds.

    `reader_work` is the emulator's private view of each reader (what its current action is
    waiting for, timers in emulator-clock seconds); `taps` are scheduled customer taps;
    `pending_refunds` maps a pending refund's id to when it succeeds (emulator-clock seconds,
    `None`: only on a control call); `idempotency` the saved responses by key.
    """

    locations: dict[str, dict[str, Any]] = field(default_factory=dict)
    readers: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    reader_work: dict[str, dict[str, Any]] = field(default_factory=dict)
    taps: list[dict[str, Any]] = field(default_factory=list)
    customer: dict[str, Any] | None = None
    pending_refunds: dict[str, float | None] = field(default_factory=dict)
    idempotency: dict[str, dict[str, Any]] = field(default_factory=dict)
    sequence: int = 0

    def new_id(self, prefix: str) -> str:
        """A fresh id with Stripe's prefix (`pi`, `ch`, `re`, `tmr`, `tml`, `pm`), unique here."""
        while True:
            self.sequence += 1
            suffix = "".join(secrets.choice(_ALPHABET) for _ in range(24))
            candidate = f"{prefix}_{suffix}"
            if not self._known(candidate):
                return candidate

    def _known(self, object_id: str) -> bool:
        return any(
            object_id in table
            for table in (
                self.locations,
                self.readers,
                self.payment_intents,
                self.charges,
                self.refunds,
                self.payment_methods,
            )
        )

    def to_json(self) -> dict[str, Any]:
        """All state as one JSON-serialisable dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Account:
        """Rebuild an account saved by `to_json`; unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


def find(table: dict[str, dict[str, Any]], kind: str, object_id: str, *, param: str | None = None
         ) -> dict[str, Any]:
    """The object with this id, or a `resource_missing` error (404, or 400 naming `param`)."""
    found = table.get(object_id)
    if found is None:
        raise missing_resource(kind, object_id, param=param)
    return found


def page(
    items: list[dict[str, Any]], params: dict[str, Any], url: str
) -> dict[str, Any]:
    """One Stripe list page: `items` newest first, cut by limit/starting_after/ending_before."""
    limit = params.get("limit", 10)
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise invalid(
            f"Invalid limit: must be between 1 and {MAX_LIST_LIMIT}",
            code="parameter_invalid_integer",
            param="limit",
        )
    ordered = list(reversed(items))
    ids = [item["id"] for item in ordered]
    if "starting_after" in params:
        cursor = params["starting_after"]
        if cursor not in ids:
            raise missing_resource("object", cursor, param="starting_after")
        ordered = ordered[ids.index(cursor) + 1 :]
        chosen = ordered[:limit]
        has_more = len(ordered) > limit
    elif "ending_before" in params:
        cursor = params["ending_before"]
        if cursor not in ids:
            raise missing_resource("object", cursor, param="ending_before")
        ordered = ordered[: ids.index(cursor)]
        chosen = ordered[-limit:]
        has_more = len(ordered) > limit
    else:
        chosen = ordered[:limit]
        has_more = len(ordered) > limit
    return {"object": "list", "url": url, "has_more": has_more, "data": chosen}


def created_filter(items: list[dict[str, Any]], created: Any) -> list[dict[str, Any]]:
    """Keep the objects whose `created` (unix seconds) fits `created` (an int or gt/gte/lt/lte)."""
    if created is None:
        return items
    if isinstance(created, int):
        return [item for item in items if item["created"] == created]
    tests = {
        "gt": lambda value, bound: value > bound,
        "gte": lambda value, bound: value >= bound,
        "lt": lambda value, bound: value < bound,
        "lte": lambda value, bound: value <= bound,
    }
    kept = items
    for name, bound in created.items():
        test = tests[name]
        kept = [item for item in kept if test(item["created"], bound)]
    return kept
