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
    PINS_RESET_NEEDED = "pins_reset_needed"
    """The database came from a machine with another PIN pepper: staff PINs must be set
    again (``kiosk staff set-pin``). Never counted as a wrong PIN."""
    PIN_KEY_MISSING = "pin_key_missing"
    """The PIN hashes are peppered but the pepper (credential ``pin-pepper``) is not
    available to this process. Never counted as a wrong PIN."""
