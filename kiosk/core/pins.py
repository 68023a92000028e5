"""The outcome of checking a staff member's PIN, shared by the staff store that checks it
and the notices that tell the screen (pure: no storage, so drawing the first screen does not
load the store)."""

from __future__ import annotations

from enum import StrEnum


class PinOutcome(StrEnum):
    """The result of checking a PIN."""

    OK = "ok"
    WRONG_PIN = "wrong_pin"
    LOCKED = "locked"
    UNKNOWN_STAFF = "unknown_staff"
    NO_PIN = "no_pin"
    INACTIVE = "inactive"
