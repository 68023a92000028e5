"""The checks of the secrets that protect the database: the PIN pepper and the audit chain.

Both need the machine's keys (systemd credentials ``pin-pepper`` and ``audit-key``), which
only root may read: run by another user the doctor shows no audit row and says nothing of the
pepper. The database is opened read-only, as by the other storage checks.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from kiosk.doctor.result import CheckResult, failed, passed
from kiosk.doctor.storage_checks import read_only
from kiosk.store.audit_chain import verify
from kiosk.store.keys import attach_keys, keys_from_secrets
from kiosk.store.pin_pepper import PepperState, pepper_state

if TYPE_CHECKING:
    from kiosk.doctor.context import DoctorContext

PINS = "staff PINs"
AUDIT = "audit chain"

PINS_AGAIN_HINT = (
    "This database comes from a machine with another PIN pepper (a restored backup?): staff "
    "PINs must be set again. As root: `sudo kiosk staff set-pin NUMBER` for a manager first; "
    "nobody is locked out meanwhile."
)


def check_pins(context: DoctorContext) -> CheckResult | None:
    """Whether the stored PIN hashes can be checked with this machine's pepper; ``None``
    (no row) before the database exists or was ever peppered, and without the pepper when
    the doctor may not read it."""
    keys = keys_from_secrets(context.secrets)
    if not context.database.exists():
        return None
    try:
        with read_only(context.database) as db:
            if keys is not None:
                attach_keys(db, keys)
            state = pepper_state(db)
    except sqlite3.Error as error:
        return failed(
            PINS,
            f"cannot read the database ({error})",
            "Fix the database first (see the database row).",
        )
    if state is PepperState.OK:
        return passed(PINS, "wrapped with this machine's PIN pepper")
    if state is PepperState.OTHER:
        return failed(PINS, "staff PINs must be set again", PINS_AGAIN_HINT)
    # Not peppered yet (the first start does it), or this user may not read the pepper.
    return None


def check_audit_chain(context: DoctorContext) -> CheckResult | None:
    """The audit log's keyed chain verifies; ``None`` (no row) without the audit key."""
    keys = keys_from_secrets(context.secrets)
    if keys is None or not context.database.exists():
        return None
    try:
        with read_only(context.database) as db:
            report = verify(db, keys)
    except sqlite3.Error as error:
        return failed(
            AUDIT,
            f"cannot read the database ({error})",
            "Fix the database first (see the database row).",
        )
    if report.ok:
        return passed(AUDIT, f"{report.checked} rows verified")
    where = "" if report.broken_id is None else f"row {report.broken_id}: "
    return failed(
        AUDIT,
        f"broken at {where}{report.reason}",
        "Someone changed the database, or it was restored: `sudo kiosk audit "
        "verify` says the same; the back office holds the rows it received.",
    )
