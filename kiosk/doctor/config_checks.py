"""The first check: the configuration file loads and validates, and the secrets can be read.

Every other check needs the settings, so this one also hands them on. A file that cannot be
read or validated leaves only its own row (the CLI exits with status 2); a secret that
cannot be read (an empty credential file, a publishable key) fails the row but the other
checks still run without that secret.

The secrets come from where the service gets them. Under systemd that is
``$CREDENTIALS_DIRECTORY``; a technician's ``sudo kiosk doctor`` has none, so the doctor reads
the files systemd loads them from, the ``credentials`` folder next to the configuration
(``/etc/kiosk/credentials``, root's only). Run by a user who may not read that folder, the
row warns that Stripe and the back office are checked without those secrets.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.config import ConfigError, Secrets, Settings, load_secrets, load_settings
from kiosk.doctor.result import CheckResult, failed, passed, warned

CONFIG = "config"

CREDENTIALS_FOLDER = "credentials"
"""The folder next to ``kiosk.toml`` holding the secret files the service's
``LoadCredential=`` lines read (``/etc/kiosk/credentials``, see ``kiosk install-service``)."""


@dataclass(frozen=True)
class ConfigOutcome:
    """The config row, and the settings and secrets when they could be read."""

    result: CheckResult
    settings: Settings | None
    secrets: Secrets = field(default_factory=Secrets)


def may_read_folder(folder: Path) -> bool:
    """Whether this process may list and read the files of ``folder``."""
    return os.access(folder, os.R_OK | os.X_OK)


def check_config(
    config_path: Path,
    environ: Mapping[str, str],
    *,
    may_read: Callable[[Path], bool] = may_read_folder,
) -> ConfigOutcome:
    """Load ``config_path`` (``$STATE_DIRECTORY`` from ``environ`` applies) and the secrets
    from systemd credentials (or the `credentials_folder` they are loaded from) or
    ``environ``; a bad key is named as `ConfigError` names it. ``may_read`` is the probe
    `credentials_folder` asks."""
    try:
        settings = load_settings(config_path, environ=environ)
    except ConfigError as error:
        return ConfigOutcome(
            failed(
                CONFIG,
                " / ".join(str(error).splitlines()),
                f"Fix the file as the message says; `kiosk config check --config {config_path}` "
                "checks it again (assets/kiosk.example.toml documents each key).",
            ),
            None,
        )
    folder, hidden = credentials_folder(config_path, environ, may_read)
    try:
        secrets = load_secrets(environ, folder)
    except ConfigError as error:  # its message names the source, never the value
        return ConfigOutcome(
            failed(
                CONFIG,
                f"{config_path} is valid, but a secret cannot be used: {error}",
                "Fix the credential file in $CREDENTIALS_DIRECTORY (/etc/kiosk/credentials) or "
                "the environment variable named above.",
            ),
            settings,
        )
    stripe_key = "set" if secrets.stripe_api_key is not None else "not set"
    token = "set" if secrets.backoffice_token is not None else "not set"
    detail = (
        f"{config_path}: kiosk {settings.kiosk_id} of {settings.shop.name}; "
        f"Stripe key {stripe_key}, back-office token {token}"
    )
    if hidden is not None and None in (secrets.stripe_api_key, secrets.backoffice_token):
        return ConfigOutcome(
            warned(
                CONFIG,
                f"{detail}; this user may not read the secrets in {hidden}",
                "Run the doctor as root (`sudo kiosk doctor`): the secrets there are root's "
                "only, and without them Stripe and the back office cannot be checked.",
            ),
            settings,
            secrets,
        )
    return ConfigOutcome(passed(CONFIG, detail), settings, secrets)


def credentials_folder(
    config_path: Path,
    environ: Mapping[str, str],
    may_read: Callable[[Path], bool] = may_read_folder,
) -> tuple[Path | None, Path | None]:
    """Where to read the secret files from, and the folder this user may not read.

    Under systemd (``$CREDENTIALS_DIRECTORY`` set) ``(None, None)``: `load_secrets` uses that
    variable. Otherwise `CREDENTIALS_FOLDER` next to ``config_path``: ``(folder, None)`` when
    ``may_read(folder)``, ``(None, folder)`` when not, ``(None, None)`` when there is none.
    """
    if environ.get("CREDENTIALS_DIRECTORY"):
        return None, None
    folder = Path(config_path).parent / CREDENTIALS_FOLDER
    if not folder.is_dir():
        return None, None
    if may_read(folder):
        return folder, None
    return None, folder
