"""The keys that are never in the database: the PIN pepper and the audit-chain key.

Both come from systemd credentials (``pin-pepper``, ``audit-key``; see
``kiosk.config.secrets``), created on the machine's first start, so a copy of ``kiosk.db``
(or a backup of it) holds neither. A connection that may write staff PINs or audit rows has
the keys attached (`attach_keys`, done by ``open_database(..., keys=...)``); code below it
finds them with `keys_of`. The database keeps a check value of each key (an HMAC of a fixed
text, never the key): a database restored onto a machine with other keys is recognised
instead of every PIN counting as wrong.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from sqlite_utils import Database

from kiosk.config.secrets import Secrets, SecretStr

PIN_PEPPER_CHECK = "pin_pepper_check"
"""The ``meta`` key holding the check value of the pepper the PIN hashes are wrapped with."""

AUDIT_KEY_CHECK = "audit_key_check"
"""The ``meta`` key holding the check value of the key the audit chain is sealed with."""


@dataclass(frozen=True, repr=False)
class StoreKeys:
    """The PIN pepper and the audit-chain key, as bytes; ``repr`` never shows them."""

    pin_pepper: bytes
    audit_key: bytes

    def __repr__(self) -> str:
        return "StoreKeys(**********)"

    @classmethod
    def from_texts(cls, pin_pepper: SecretStr, audit_key: SecretStr) -> StoreKeys:
        """The keys from the credentials' texts (any text; hashed into 32-byte keys)."""
        return cls(
            pin_pepper=_key_bytes("pin-pepper", pin_pepper.get_secret_value()),
            audit_key=_key_bytes("audit-key", audit_key.get_secret_value()),
        )

    def pepper_check(self) -> str:
        """The check value of the pepper stored in ``meta`` (reveals nothing of the key)."""
        return hmac.new(self.pin_pepper, b"kiosk pin pepper check v1", "sha256").hexdigest()

    def audit_check(self) -> str:
        """The check value of the audit key stored in ``meta``."""
        return hmac.new(self.audit_key, b"kiosk audit key check v1", "sha256").hexdigest()


def keys_from_secrets(secrets: Secrets) -> StoreKeys | None:
    """The store's keys when both the pepper and the audit key are configured, else ``None``."""
    if secrets.pin_pepper is None or secrets.audit_key is None:
        return None
    return StoreKeys.from_texts(secrets.pin_pepper, secrets.audit_key)


def _key_bytes(purpose: str, text: str) -> bytes:
    return hashlib.sha256(f"kiosk {purpose} v1\0{text}".encode()).digest()


_ATTACHED: WeakKeyDictionary[Database, StoreKeys] = WeakKeyDictionary()


def attach_keys(db: Database, keys: StoreKeys) -> None:
    """Let code using ``db`` wrap PINs and seal audit rows with ``keys``."""
    _ATTACHED[db] = keys


def keys_of(db: Database) -> StoreKeys | None:
    """The keys attached to ``db``, or ``None`` (a connection that only reads, or a tool run
    by a user who may not read the credentials)."""
    return _ATTACHED.get(db)


def meta_value(db: Database, key: str) -> str | None:
    """One ``meta`` value, or ``None``."""
    row = db.conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def set_meta(db: Database, key: str, value: str) -> None:
    """Set one ``meta`` value (inside the caller's transaction, if any)."""
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
