"""The kiosk's secrets: the Stripe API key, the back-office token, the PIN pepper and the
audit key.

Secrets never come from ``kiosk.toml`` or the repository. Each is read from a systemd
credential first (the file ``$CREDENTIALS_DIRECTORY/<credential>``, set up with
``LoadCredential=``), else from an environment variable. A credential wins because it is the
safer channel: it is not inherited by child processes nor shown by ``systemctl show``.
Values are held as :class:`SecretStr`: ``repr``/``str`` show ``**********``, and nothing here
logs or reports a value.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from secrets import token_hex
from typing import Final

from kiosk.config.errors import ConfigError

log = logging.getLogger(__name__)

_HIDDEN: Final = "**********"


class SecretStr:
    """A secret text that never shows its value: ``repr``, ``str`` and formatting give
    ``**********``. Read it with :meth:`get_secret_value` at the point of use only."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """The secret itself."""
        return self._value

    def __repr__(self) -> str:
        return f"SecretStr('{_HIDDEN}')"

    def __str__(self) -> str:
        return _HIDDEN

    def __format__(self, spec: str) -> str:
        return format(_HIDDEN, spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class SecretSource:
    """Where one secret may come from: a systemd credential name and an environment variable."""

    what: str
    credential: str
    environment_variable: str


STRIPE_API_KEY = SecretSource("the Stripe API key", "stripe-api-key", "KIOSK_STRIPE_API_KEY")
"""The Stripe secret (or restricted) key, ``sk_...`` or ``rk_...``."""

BACKOFFICE_TOKEN = SecretSource(
    "the back-office token", "backoffice-token", "KIOSK_BACKOFFICE_TOKEN"
)
"""The bearer token the kiosk presents to the back office."""

PIN_PEPPER = SecretSource("the PIN pepper", "pin-pepper", "KIOSK_PIN_PEPPER")
"""The key staff PIN hashes are wrapped with (``kiosk.store.pin_pepper``): created on the
machine's first start (``kiosk-keys.service``), never at install, never replaced."""

AUDIT_KEY = SecretSource("the audit key", "audit-key", "KIOSK_AUDIT_KEY")
"""The key of the audit log's chain (``kiosk.store.audit_chain``), created with the pepper."""

MACHINE_KEYS = (PIN_PEPPER, AUDIT_KEY)
"""The keys each machine makes for itself on its first start (`create_missing_keys`)."""


@dataclass(frozen=True, kw_only=True)
class Secrets:
    """The secrets the kiosk needs; either may be ``None`` when not configured.

    Read a value with ``secrets.stripe_api_key.get_secret_value()`` at the point of use only.
    """

    stripe_api_key: SecretStr | None = None
    """The Stripe API key, or ``None`` (the embedded emulator needs none)."""

    backoffice_token: SecretStr | None = None
    """The back-office bearer token, or ``None`` (no back office, or it needs none)."""

    pin_pepper: SecretStr | None = None
    """The PIN pepper, or ``None`` (before the machine's first start; a tool not run as
    root)."""

    audit_key: SecretStr | None = None
    """The audit log's chain key, or ``None`` (as the pepper)."""


def load_secrets(environ: Mapping[str, str], credentials_dir: Path | None = None) -> Secrets:
    """Read the secrets from systemd credentials, else from the environment.

    ``credentials_dir`` defaults to ``$CREDENTIALS_DIRECTORY`` from ``environ`` (none if unset).
    A trailing newline (LF or CRLF) is stripped. An empty environment variable counts as unset;
    an empty or unreadable credential file, or a Stripe publishable key (``pk_...``) where the
    secret key belongs, raises :class:`ConfigError` without showing the value.
    """
    if credentials_dir is None and environ.get("CREDENTIALS_DIRECTORY"):
        credentials_dir = Path(environ["CREDENTIALS_DIRECTORY"])
    stripe_api_key = _read(STRIPE_API_KEY, environ, credentials_dir)
    if stripe_api_key is not None and stripe_api_key.get_secret_value().startswith("pk_"):
        raise ConfigError(
            "this is a publishable key (pk_...); the kiosk needs the secret key (sk_...) "
            "or a restricted key (rk_...)",
            key=_origin_of(STRIPE_API_KEY, environ, credentials_dir),
        )
    return Secrets(
        stripe_api_key=stripe_api_key,
        backoffice_token=_read(BACKOFFICE_TOKEN, environ, credentials_dir),
        pin_pepper=_read(PIN_PEPPER, environ, credentials_dir),
        audit_key=_read(AUDIT_KEY, environ, credentials_dir),
    )


def create_missing_keys(folder: Path) -> list[str]:
    """Write a new random key (64 hex digits, mode 600) for each machine key missing from
    ``folder``; never replace one. Returns the credential names written. Run as root by
    ``kiosk-keys.service`` on the machine's first start (``kiosk keys create``), so kiosks
    cloned from one image do not share keys; the demo keeps its own in its data folder."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = []
    for source in MACHINE_KEYS:
        path = folder / source.credential
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(token_hex(32) + "\n")
            file.flush()
            os.fsync(file.fileno())
        written.append(source.credential)
        log.info("%s: created %s", source.what, path)
    return written


def _read(
    source: SecretSource, environ: Mapping[str, str], credentials_dir: Path | None
) -> SecretStr | None:
    if credentials_dir is not None:
        credential = credentials_dir / source.credential
        if credential.exists():
            try:
                value = _without_newline(credential.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as error:
                raise ConfigError(
                    f"cannot read {source.what} from this systemd credential "
                    f"({type(error).__name__})",
                    key=source.credential,
                    path=credential,
                ) from None
            if not value.strip():
                raise ConfigError(
                    f"the systemd credential for {source.what} is empty",
                    key=source.credential,
                    path=credential,
                )
            log.info("%s: read from systemd credential %s", source.what, source.credential)
            return SecretStr(value)
    value = _without_newline(environ.get(source.environment_variable, ""))
    if value.strip():
        log.info("%s: read from environment variable %s", source.what, source.environment_variable)
        return SecretStr(value)
    log.info(
        "%s: not configured (neither credential %s nor %s is set)",
        source.what,
        source.credential,
        source.environment_variable,
    )
    return None


def _origin_of(
    source: SecretSource, environ: Mapping[str, str], credentials_dir: Path | None
) -> str:
    if credentials_dir is not None and (credentials_dir / source.credential).exists():
        return source.credential
    return source.environment_variable


def _without_newline(value: str) -> str:
    return value.removesuffix("\n").removesuffix("\r")
