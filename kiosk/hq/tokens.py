"""Kiosk tokens of the back office: issued at random, kept only as a hash.

A token is 32 random bytes (``secrets.token_urlsafe``), so a plain SHA-256 of it is as good as
a slow password hash: nobody can guess their way back from the hash to a 256-bit secret. The
back office stores the hash, finds a kiosk by it and compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32
"""Random bytes in a token (43 URL-safe characters)."""


def new_token() -> str:
    """A fresh random kiosk token (URL-safe text); show it once, store only ``token_hash``."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """The stored form of ``token``: its SHA-256 as 64 lowercase hex digits."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    """Whether ``token`` is the one ``stored_hash`` was made from (constant-time compare)."""
    return hmac.compare_digest(token_hash(token), stored_hash)
