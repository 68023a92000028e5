"""The few settings staff may change at the kiosk, kept in the database across restarts.

The configuration file is never written: it belongs to whoever installs the kiosk. What staff
may change from the maintenance menu (close the kiosk, the sound volume, the language a new
customer sees first) lives in the ``runtime_settings`` table instead, one row per key with the
value as JSON text. The registry `RUNTIME_SETTINGS` fixes the keys, their kinds and defaults;
anything else is refused. Every change, and every refused change, writes exactly one audit
row; time is passed in (``at``, timezone-aware).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlite_utils import Database

from kiosk.core.timestamps import utc_now_iso
from kiosk.store import audit
from kiosk.store.db import Refusal, immediate_transaction

log = logging.getLogger(__name__)

SettingValue = bool | int | str
"""What a runtime setting holds: a bool, an int or a language code."""

_LONGEST_AUDITED_TEXT = 80
"""Longest key or value text (characters) copied into the audit detail of a refused change."""


@dataclass(frozen=True)
class RuntimeSetting:
    """One setting staff may change at the kiosk.

    ``kind`` is ``bool``, ``int`` (from ``minimum`` to ``maximum`` in steps of ``step``) or
    ``language`` (one of the configured languages, or ``""`` for the first of them).
    ``description`` is one English sentence for the staff menu and the CLI.
    """

    key: str
    kind: str
    default: SettingValue
    description: str
    minimum: int = 0
    maximum: int = 0
    step: int = 1


RUNTIME_SETTINGS: Mapping[str, RuntimeSetting] = MappingProxyType({
    setting.key: setting
    for setting in (
        RuntimeSetting(
            key="kiosk.closed",
            kind="bool",
            default=False,
            description="Staff closed the kiosk: it shows the closed screen, also after a "
                        "restart, until staff open it again.",
        ),
        RuntimeSetting(
            key="sound.volume",
            kind="int",
            default=80,
            description="How loud the kiosk's sounds are, in percent from 0 to 100 in steps "
                        "of 10.",
            minimum=0,
            maximum=100,
            step=10,
        ),
        RuntimeSetting(
            key="shop.default_language",
            kind="language",
            default="",
            description="The language a new customer sees first (empty: the first "
                        "configured language).",
        ),
    )
})
"""Every runtime setting by key; nothing else can be stored."""


class SettingRejected(Refusal, ValueError):
    """A runtime setting cannot be read or changed.

    ``reason`` is ``unknown_setting`` (no such key) or ``bad_value`` (the value does not fit
    the setting); the message names the key and what is wrong.
    """

    def __init__(self, key: str, reason: str, message: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(message)


def _unknown(key: str) -> SettingRejected:
    known = ", ".join(sorted(RUNTIME_SETTINGS))
    return SettingRejected(key, "unknown_setting",
                           f"there is no runtime setting {key[:_LONGEST_AUDITED_TEXT]!r} "
                           f"(known: {known})")


def _validated(setting: RuntimeSetting, value: object,
               languages: Sequence[str]) -> SettingValue:
    """``value`` as the setting stores it, or `SettingRejected` (``bad_value``)."""
    def bad(what: str) -> SettingRejected:
        return SettingRejected(setting.key, "bad_value", f"{setting.key}: {what}")

    if setting.kind == "bool":
        if not isinstance(value, bool):
            raise bad(f"expected true or false, got {_shown(value)}")
        return value
    if setting.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad(f"expected a whole number, got {_shown(value)}")
        if not setting.minimum <= value <= setting.maximum:
            raise bad(f"expected {setting.minimum} to {setting.maximum}, got {value}")
        if (value - setting.minimum) % setting.step:
            raise bad(f"expected a multiple of {setting.step}, got {value}")
        return value
    if setting.kind == "language":
        if not isinstance(value, str):
            raise bad(f"expected a language code, got {_shown(value)}")
        if value and value not in languages:
            allowed = ", ".join(languages) or "none configured"
            raise bad(f"{_shown(value)} is not a configured language ({allowed})")
        return value
    raise bad(f"unknown kind {setting.kind!r}")  # a registry mistake, caught by the tests


def _shown(value: object) -> str:
    """A short, printable description of a value for a message (never the whole of it)."""
    if _json_safe(value):
        return json.dumps(value)
    return f"a {type(value).__name__}"


def _json_safe(value: object) -> bool:
    """True for a value an audit detail may carry as it is: a bool, an int, ``None`` or a
    short printable text."""
    if value is None or isinstance(value, bool | int):
        return True
    return (isinstance(value, str) and len(value) <= _LONGEST_AUDITED_TEXT
            and value.isprintable())


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got naive {at!r}")


class RuntimeSettings:
    """The runtime settings of one database connection.

    ``languages`` are the configured languages a ``language`` setting may name (the first is
    the default). A stored value that no longer fits (a language since removed from the
    configuration) reads as the setting's default and is logged once at warning.
    """

    def __init__(self, db: Database, *, languages: Sequence[str] = ()) -> None:
        self._db = db
        self._languages = tuple(languages)
        self._warned: set[tuple[str, str]] = set()

    def values(self) -> dict[str, SettingValue]:
        """Every registered setting: its stored value, or its default."""
        stored = dict(self._db.conn.execute("SELECT key, value FROM runtime_settings"))
        return {key: self._read(setting, stored.get(key))
                for key, setting in RUNTIME_SETTINGS.items()}

    def get(self, key: str) -> SettingValue:
        """One setting's stored value, or its default; `SettingRejected` for an unknown key."""
        setting = RUNTIME_SETTINGS.get(key)
        if setting is None:
            raise _unknown(key)
        return self._read(setting, self._stored(key))

    def change(self, key: str, value: object, *, by: int, at: datetime) -> SettingValue:
        """Set ``key`` to ``value`` for staff member ``by`` at ``at`` and return the new value.

        The row and one audit row (``settings.change``, outcome ``ok``, detail ``key``,
        ``old``, ``new``) are committed in one transaction; setting the current value again is
        audited the same way. An unknown key or a value that does not fit writes one audit
        row with outcome ``rejected`` (detail: the key, the reason and the value only when it
        is a short plain one) and raises `SettingRejected`.
        """
        _require_aware(at)
        setting = RUNTIME_SETTINGS.get(key)
        try:
            if setting is None:
                raise _unknown(key)
            new = _validated(setting, value, self._languages)
        except SettingRejected as rejected:
            self._record_rejected(key, value, rejected, by=by, at=at)
            raise
        with immediate_transaction(self._db):
            old = self._read(setting, self._stored(key))
            self._db.execute(
                "INSERT INTO runtime_settings (key, value, changed_at, changed_by) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                "changed_at = excluded.changed_at, changed_by = excluded.changed_by",
                [key, json.dumps(new), utc_now_iso(at), by],
            )
            audit.record(self._db, at=at, action="settings.change", outcome="ok",
                         staff_number=by, detail={"key": key, "old": old, "new": new})
        log.info("runtime setting %s changed from %r to %r by staff %d", key, old, new, by)
        return new

    def _record_rejected(self, key: str, value: object, rejected: SettingRejected, *,
                         by: int, at: datetime) -> None:
        shown_key = key if _json_safe(key) else str(key)[:_LONGEST_AUDITED_TEXT]
        detail: dict[str, Any] = {"key": shown_key, "reason": rejected.reason}
        if _json_safe(value):
            detail["value"] = value
        with immediate_transaction(self._db):
            audit.record(self._db, at=at, action="settings.change", outcome="rejected",
                         staff_number=by, detail=detail)

    def _stored(self, key: str) -> str | None:
        row = self._db.conn.execute(
            "SELECT value FROM runtime_settings WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def _read(self, setting: RuntimeSetting, stored: str | None) -> SettingValue:
        if stored is None:
            return setting.default
        try:
            return _validated(setting, json.loads(stored), self._languages)
        except ValueError as problem:  # a SettingRejected, or JSON that does not decode
            if (setting.key, stored) not in self._warned:
                self._warned.add((setting.key, stored))
                log.warning("runtime setting %s: the stored value no longer fits (%s); "
                            "using the default %r", setting.key, problem, setting.default)
            return setting.default
