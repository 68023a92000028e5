"""Read ``kiosk.toml`` and validate it into :class:`Settings`, or fail with a ConfigError.

Every way the file can be wrong ends in :class:`ConfigError`: missing, unreadable, not
UTF-8, a TOML syntax error (with line and column), a secret written into it, an unknown key
(with a did-you-mean), or a bad value (naming the key, the value and what is expected).
TOML floats are parsed as ``Decimal``, so prices and tax rates never pass through ``float``.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from kiosk.config.errors import ConfigError, problem_line
from kiosk.config.secrets import BACKOFFICE_TOKEN, STRIPE_API_KEY, SecretSource
from kiosk.config.settings import Settings
from kiosk.config.tables import InvalidSettings

log = logging.getLogger(__name__)

DEFAULT_CONFIG_PATH = Path("/etc/kiosk/kiosk.toml")
"""Where the kiosk looks for its settings when ``--config`` is not given."""

_SECRET_WORDS = ("api_key", "apikey", "secret", "token", "password", "passwd", "private_key")
_TOML_POSITION = re.compile(
    r"^(?P<reason>.*?)\s*\(at line (?P<line>\d+), column (?P<column>\d+)\)$"
)


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings file at ``path``; raise ``ConfigError`` if it is bad.

    ``environ`` (default: ``os.environ``) supplies ``$STATE_DIRECTORY``: when systemd sets it,
    its first entry replaces ``paths.state_dir``.
    """
    environment = os.environ if environ is None else environ
    settings = settings_from_mapping(read_toml(path), path)
    state_directory = environment.get("STATE_DIRECTORY", "").split(":")[0]
    if state_directory:
        if not Path(state_directory).is_absolute():
            raise ConfigError(
                "expected an absolute directory from systemd's StateDirectory=",
                key="$STATE_DIRECTORY",
            )
        paths = replace(settings.paths, state_dir=Path(state_directory))
        settings = replace(settings, paths=paths)
    log.info("settings for kiosk %s read from %s", settings.kiosk_id, path)
    return settings


def settings_from_mapping(data: Mapping[str, Any], path: Path | str | None = None) -> Settings:
    """Validate already-parsed TOML data into :class:`Settings`; ``path`` names it in errors."""
    _refuse_secrets(data, path)
    try:
        return Settings.from_mapping(data)
    except InvalidSettings as error:
        from kiosk.config.reporting import config_error  # wording problems: only on a bad file

        raise config_error(error, path) from None


def read_toml(path: Path) -> dict[str, Any]:
    """Parse the TOML file at ``path``, floats as ``Decimal``; raise ``ConfigError`` if unusable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            "configuration file not found; pass --config PATH, or copy "
            "assets/kiosk.example.toml there and edit it",
            path=path,
        ) from None
    except IsADirectoryError:
        raise ConfigError("this is a directory, not a configuration file", path=path) from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(f"cannot read the configuration file: {reason}", path=path) from None
    try:
        document = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"the configuration file is not UTF-8 text (bad byte at offset {error.start})",
            path=path,
        ) from None
    try:
        return tomllib.loads(document, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise _syntax_error(error, path) from None


def _syntax_error(error: tomllib.TOMLDecodeError, path: Path) -> ConfigError:
    message = str(error)
    position = _TOML_POSITION.match(message)
    if position is None:
        return ConfigError(f"invalid TOML: {message}", path=path)
    line, column = int(position["line"]), int(position["column"])
    return ConfigError(
        f"line {line}, column {column}: invalid TOML: {position['reason']}",
        path=path,
        line=line,
        column=column,
    )


def _refuse_secrets(data: Mapping[str, Any], path: Path | str | None) -> None:
    found = _secret_keys(data, ())
    if not found:
        return
    key = found[0]
    sources = _sources_for(key)
    instead = " or ".join(
        f"the environment variable {source.environment_variable} "
        f"or the systemd credential {source.credential}"
        for source in sources
    )
    more = [problem_line(path, other, None, "a secret does not belong here") for other in found[1:]]
    raise ConfigError(
        f"secrets do not belong in the configuration file; remove this key and provide "
        f"{' or '.join(source.what for source in sources)} through {instead}",
        key=key,
        path=path,
        more_problems=more,
    )


def _secret_keys(table: Mapping[str, Any], at: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for name, value in table.items():
        dotted = ".".join((*at, str(name)))
        if any(word in str(name).lower() for word in _SECRET_WORDS):
            found.append(dotted)
        elif isinstance(value, Mapping):
            found.extend(_secret_keys(value, (*at, str(name))))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    found.extend(_secret_keys(item, (*at, f"{name}[{index}]")))
    return found


def _sources_for(dotted: str) -> list[SecretSource]:
    lowered = dotted.lower()
    if "stripe" in lowered:
        return [STRIPE_API_KEY]
    if "backoffice" in lowered or "back_office" in lowered:
        return [BACKOFFICE_TOKEN]
    return [STRIPE_API_KEY, BACKOFFICE_TOKEN]
