"""Word the problems the settings walk found for a shop owner, as one :class:`ConfigError`.

Each problem becomes ``FILE: dotted.key = VALUE: what is wrong / expected``; the first bad key
is the error's ``key``, and up to :data:`MAX_LISTED` problems are listed in the message.
Values that look like secrets are never shown.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from kiosk.config import tables
from kiosk.config.descriptions import setting_description
from kiosk.config.errors import ConfigError, problem_line
from kiosk.config.settings import PRINTER_TRANSPORTS, PrinterSettingsBase
from kiosk.config.tables import InvalidSettings, SettingsTable

MAX_LISTED = 5
"""The most problems one message lists; the rest are counted."""

_MAX_SHOWN_CHARACTERS = 60
_SECRET_LOOKING = re.compile(r"^(sk|rk)_(live|test)_|^whsec_|^bearer\s", re.IGNORECASE)
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Problem:
    """One bad key: its dotted path, its value as written in TOML (or ``None``), what is wrong."""

    key: str
    shown_value: str | None
    problem: str


def config_error(error: InvalidSettings, path: Path | str | None) -> ConfigError:
    """Return the ``ConfigError`` for a failed check of :class:`Settings` from ``path``."""
    problems = [explain(found) for found in error.problems]
    first = problems[0]
    more = [
        problem_line(path, problem.key, problem.shown_value, problem.problem)
        for problem in problems[1:MAX_LISTED]
    ]
    if len(problems) > MAX_LISTED:
        more.append(f"... and {len(problems) - MAX_LISTED} more problems")
    return ConfigError(
        first.problem, key=first.key, path=path, shown_value=first.shown_value, more_problems=more
    )


def explain(found: tables.Problem) -> Problem:
    """Word one problem the settings walk found as a :class:`Problem`."""
    key = dotted_key(found.at)
    shown = None if found.value is tables.NO_VALUE else shown_value(found.value)
    if found.kind in (tables.BAD_VALUE, tables.BAD_KEY):
        return Problem(key, None if found.hide_value else shown, found.detail)
    if found.kind == tables.MISSING:
        return Problem(key, None, _missing(found.table, str(found.at[-1])))
    if found.kind == tables.UNKNOWN_KEY:
        return Problem(key, None, _unknown(found.table, str(found.at[-1])))
    if found.kind == tables.BAD_TAG:
        expected = ", ".join(f'"{choice}"' for choice in found.choices)
        return Problem(key, shown, f"expected one of {expected}")
    if found.kind == tables.NOT_A_TABLE:
        return Problem(key, shown, "expected a table")
    return Problem(key, shown, "expected an array, such as [...]")


def dotted_key(at: tuple[str | int, ...]) -> str:
    """The key at location ``at`` as the file writes it: ``barcodes.variable_measure[1].value``
    (keys that are not bare are quoted)."""
    key = ""
    for part in at:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += ("." if key else "") + _key_text(part)
    return key


def shown_value(value: object) -> str | None:
    """Render ``value`` as written in TOML, shortened; ``None`` for tables and secret-like text."""
    rendered = _toml(value)
    if rendered is None:
        return None
    if len(rendered) > _MAX_SHOWN_CHARACTERS:
        rendered = rendered[: _MAX_SHOWN_CHARACTERS - 3] + "..."
    return rendered


def _toml(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if _SECRET_LOOKING.search(value.strip()):
            return None
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | Decimal | float):
        return str(value)
    if isinstance(value, list | tuple):
        items = [_toml(item) for item in value]
        if any(item is None for item in items):
            return None
        return "[" + ", ".join(item for item in items if item is not None) + "]"
    return None


def _key_text(part: str) -> str:
    return part if _BARE_KEY.match(part) else json.dumps(part, ensure_ascii=False)


def _missing(table: type[SettingsTable] | None, name: str) -> str:
    if table is None or name not in tables.field_names(table):
        return "required key is missing"
    what = "table" if tables.holds_tables(table, name) else "key"
    description = _first_clause(setting_description(table, name))
    return (
        f"required {what} is missing ({description})"
        if description
        else f"required {what} is missing"
    )


def _first_clause(description: str) -> str:
    clause = re.split(r"\.\s|;\s|:\s|\.$", " ".join(description.split()), maxsplit=1)[0]
    if len(clause) > 1 and clause[1].islower():
        clause = clause[0].lower() + clause[1:]
    return clause


def _unknown(table: type[SettingsTable] | None, name: str) -> str:
    if table is None:
        return "unknown key"
    if issubclass(table, PrinterSettingsBase):
        users = [
            transport
            for transport, printer in PRINTER_TRANSPORTS.items()
            if name in tables.field_names(printer)
        ]
        if users:
            listed = " or ".join(f'"{transport}"' for transport in users)
            return f"unknown key for this printer; it is only used with transport = {listed}"
    known = sorted(tables.field_names(table))
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6) or [
        # a key written without its unit suffix, such as "card_wait" for "card_wait_s"
        candidate
        for candidate in known
        if len(name) >= 3 and candidate.startswith(name)
    ]
    if close:
        return f'unknown key; did you mean "{close[0]}"?'
    return "unknown key; known keys here: " + ", ".join(known)
