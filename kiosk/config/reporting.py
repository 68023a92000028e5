"""Word pydantic's validation errors for a shop owner, as one :class:`ConfigError`.

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
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from kiosk.config.descriptions import setting_description
from kiosk.config.errors import ConfigError, problem_line
from kiosk.config.settings import PRINTER_TRANSPORTS, PrinterSettingsBase, Settings
from kiosk.config.values import BAD_KEY, BAD_VALUE

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


def config_error(error: ValidationError, path: Path | str | None) -> ConfigError:
    """Return the ``ConfigError`` for a failed validation of :class:`Settings` from ``path``."""
    problems = [explain(details) for details in error.errors(include_url=False)]
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


def explain(details: ErrorDetails) -> Problem:
    """Word one pydantic error about :class:`Settings` input as a :class:`Problem`."""
    kind = details["type"]
    context: dict[str, Any] = dict(details.get("ctx") or {})
    location = tuple(details["loc"])
    given = details.get("input")
    if kind == BAD_VALUE:
        key, _ = _place(location)
        hidden = context.get("hide_value") or location[-1:] == ("[key]",)
        shown = None if hidden else shown_value(given)
        return Problem(key, shown, str(context["expected"]))
    if kind == BAD_KEY:
        key, _ = _place(location + tuple(context["at"]))
        shown = shown_value(context["value"]) if "value" in context else None
        return Problem(key, shown, str(context["problem"]))
    key, table = _place(location)
    if kind == "missing":
        return Problem(key, None, _missing(table, location))
    if kind == "extra_forbidden":
        return Problem(key, None, _unknown(table, str(location[-1])))
    if kind == "union_tag_invalid":
        key = f"{key}.transport"
        expected = str(context.get("expected_tags", "")).replace("'", '"')
        return Problem(key, shown_value(context.get("tag")), f"expected one of {expected}")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return Problem(key, shown_value(given), "expected a table")
    if kind in ("tuple_type", "list_type"):
        return Problem(key, shown_value(given), "expected an array, such as [...]")
    return Problem(key, shown_value(given), str(details["msg"]))


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


def _place(location: tuple[Any, ...]) -> tuple[str, type[BaseModel] | None]:
    """Return the dotted key of a pydantic location and the table model holding its last key.

    Array indexes show as ``[0]``; the printer's transport tag, which pydantic puts in the
    location, is left out because it is not a key of the file.
    """
    key = ""
    model: type[BaseModel] | None = Settings
    table: type[BaseModel] | None = Settings
    expecting = "field"
    item_model: type[BaseModel] | None = None
    for part in location:
        if part == "[key]":
            continue
        if expecting == "tag":
            model = PRINTER_TRANSPORTS.get(str(part))
            expecting = "field"
            continue
        if expecting == "item":
            key += f"[{part}]" if isinstance(part, int) else "." + _key_text(str(part))
            model = item_model
            expecting = "field"
            continue
        table = model
        key = f"{key}.{_key_text(str(part))}" if key else _key_text(str(part))
        field = (
            model.model_fields.get(part) if model is not None and isinstance(part, str) else None
        )
        if field is None:
            model = None
            continue
        annotation = field.annotation
        if field.discriminator is not None:
            expecting = "tag"
        elif get_origin(annotation) in (tuple, list, dict):
            item_model = _model_inside(annotation)
            expecting = "item"
        else:
            model = _model_inside(annotation)
    return key, table


def _key_text(part: str) -> str:
    return part if _BARE_KEY.match(part) else json.dumps(part, ensure_ascii=False)


def _model_inside(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _model_inside(argument)
        if found is not None:
            return found
    return None


def _missing(table: type[BaseModel] | None, location: tuple[Any, ...]) -> str:
    name = str(location[-1])
    field = table.model_fields.get(name) if table is not None else None
    if table is None or field is None:
        return "required key is missing"
    what = "table" if _model_inside(field.annotation) is not None else "key"
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


def _unknown(table: type[BaseModel] | None, name: str) -> str:
    if table is None:
        return "unknown key"
    if issubclass(table, PrinterSettingsBase):
        users = [
            transport
            for transport, model in PRINTER_TRANSPORTS.items()
            if name in model.model_fields
        ]
        if users:
            listed = " or ".join(f'"{transport}"' for transport in users)
            return f"unknown key for this printer; it is only used with transport = {listed}"
    known = sorted(table.model_fields)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6) or [
        # a key written without its unit suffix, such as "card_wait" for "card_wait_s"
        candidate
        for candidate in known
        if len(name) >= 3 and candidate.startswith(name)
    ]
    if close:
        return f'unknown key; did you mean "{close[0]}"?'
    return "unknown key; known keys here: " + ", ".join(known)
