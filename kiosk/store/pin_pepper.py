"""The PIN pepper: staff PIN hashes that a copy of the database alone cannot check.

A stored PIN hash is HMAC-SHA256(pepper, scrypt hash of the PIN) once the staff member's
``pin_peppered`` flag is set. The pepper is the systemd credential ``pin-pepper``
(``kiosk.store.keys``), never in the database, so guessing PINs against a copied
``kiosk.db`` (or a backup) needs the machine's credential too. The first time the kiosk
opens a database with its pepper, `wrap_existing` wraps every stored hash at once (PINs
nobody uses are protected too) and stores the pepper's check value.

`pepper_state` says whether the stored hashes can be checked here: a database restored onto
a machine with another pepper answers ``other``, and the kiosk asks for new PINs instead of
counting every sign-in as a wrong PIN.
"""

from __future__ import annotations

import hmac
import logging
from enum import StrEnum

from sqlite_utils import Database

from kiosk.store.keys import PIN_PEPPER_CHECK, StoreKeys, keys_of, meta_value, set_meta

log = logging.getLogger(__name__)


class PepperState(StrEnum):
    """Whether this connection can check the stored PIN hashes."""

    NOT_STARTED = "not_started"
    """No hash was ever wrapped (before the kiosk's first start with its pepper)."""
    OK = "ok"
    """The hashes are wrapped with the pepper this connection has."""
    OTHER = "other"
    """The hashes are wrapped with another pepper: staff PINs must be set again."""
    MISSING = "missing"
    """The hashes are wrapped, but this connection has no pepper (not run as root?)."""


def pepper_state(db: Database) -> PepperState:
    """See `PepperState`."""
    stored = meta_value(db, PIN_PEPPER_CHECK)
    if stored is None:
        return PepperState.NOT_STARTED
    keys = keys_of(db)
    if keys is None:
        return PepperState.MISSING
    if hmac.compare_digest(stored, keys.pepper_check()):
        return PepperState.OK
    return PepperState.OTHER


def wrap(pepper: bytes, scrypt_hash: bytes) -> bytes:
    """The stored form of a PIN's scrypt hash under ``pepper``."""
    return hmac.new(pepper, b"kiosk pin v1\0" + scrypt_hash, "sha256").digest()


def wrap_existing(db: Database, keys: StoreKeys) -> int:
    """Wrap every stored PIN hash with the pepper and store its check value, if no pepper was
    ever stored (inside the caller's transaction); returns how many hashes were wrapped.

    A database whose hashes are wrapped already (with this pepper or another) is left
    alone: the other pepper's hashes are replaced only as staff set new PINs."""
    if meta_value(db, PIN_PEPPER_CHECK) is not None:
        return 0
    rows = db.conn.execute(
        "SELECT number, pin_hash FROM staff WHERE pin_hash IS NOT NULL AND pin_peppered = 0"
    ).fetchall()
    for number, pin_hash in rows:
        db.execute(
            "UPDATE staff SET pin_hash = ?, pin_peppered = 1 WHERE number = ?",
            [wrap(keys.pin_pepper, bytes(pin_hash)), number],
        )
    set_meta(db, PIN_PEPPER_CHECK, keys.pepper_check())
    if rows:
        log.info("wrapped %d staff PIN hashes with the PIN pepper", len(rows))
    return len(rows)


def take_over(db: Database, keys: StoreKeys, keep: int) -> int:
    """The database came from a machine with another pepper and staff member ``keep`` gets
    a new PIN: adopt this pepper and remove every other PIN (none can be checked here);
    returns how many were removed. Inside the caller's transaction."""
    cursor = db.execute(
        "UPDATE staff SET pin_hash = NULL, pin_salt = NULL, pin_params = NULL, "
        "pin_peppered = 0 WHERE number != ? AND pin_hash IS NOT NULL",
        [keep],
    )
    set_meta(db, PIN_PEPPER_CHECK, keys.pepper_check())
    return max(cursor.rowcount, 0)
