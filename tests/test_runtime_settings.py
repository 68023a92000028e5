"""Runtime settings: defaults, changes that survive a restart, and one audit row per change
or refusal, on a real SQLite file."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from kiosk.store import audit
from kiosk.store.db import open_database
from kiosk.store.runtime_settings import RUNTIME_SETTINGS, RuntimeSettings, SettingRejected

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
LANGUAGES = ("en", "de")
MANAGER = 1001


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "kiosk.db"


@pytest.fixture
def db(path: Path) -> Iterator[Database]:
    database = open_database(path, records_money=True)
    yield database
    database.close()


@pytest.fixture
def settings(db: Database) -> RuntimeSettings:
    return RuntimeSettings(db, languages=LANGUAGES)


def audit_rows(db: Database) -> int:
    (count,) = db.conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()
    return int(count)


def test_every_setting_reads_as_its_default_before_anyone_changed_it(
    settings: RuntimeSettings,
) -> None:
    assert settings.values() == {
        "kiosk.closed": False, "sound.volume": 80, "shop.default_language": "",
    }
    assert settings.get("sound.volume") == 80


def test_every_registered_setting_has_a_kind_a_valid_default_and_a_sentence() -> None:
    for key, setting in RUNTIME_SETTINGS.items():
        assert setting.key == key
        assert setting.kind in ("bool", "int", "language")
        assert setting.description.endswith(".") and setting.description[0].isupper()
    assert RUNTIME_SETTINGS["sound.volume"].default in range(0, 101, 10)


def test_a_change_reads_back_after_the_database_is_reopened(
    path: Path, db: Database, settings: RuntimeSettings,
) -> None:
    assert settings.change("kiosk.closed", True, by=MANAGER, at=T0) is True
    assert settings.change("sound.volume", 30, by=MANAGER, at=T0) == 30
    assert settings.change("shop.default_language", "de", by=MANAGER, at=T0) == "de"
    db.close()
    reopened = open_database(path)
    try:
        assert RuntimeSettings(reopened, languages=LANGUAGES).values() == {
            "kiosk.closed": True, "sound.volume": 30, "shop.default_language": "de",
        }
        row = reopened.conn.execute(
            "SELECT value, changed_at, changed_by FROM runtime_settings "
            "WHERE key = 'sound.volume'").fetchone()
        assert row == ("30", "2026-11-26T09:00:00.000000Z", MANAGER)
    finally:
        reopened.close()


def test_a_change_writes_exactly_one_audit_row_with_the_old_and_new_value(
    db: Database, settings: RuntimeSettings,
) -> None:
    before = audit_rows(db)
    settings.change("sound.volume", 50, by=MANAGER, at=T0)
    assert audit_rows(db) == before + 1
    (entry,) = audit.entries(db)
    assert (entry.action, entry.outcome, entry.staff_number) == (
        "settings.change", "ok", MANAGER)
    assert entry.detail == {"key": "sound.volume", "old": 80, "new": 50}


def test_setting_the_current_value_again_is_still_audited(
    db: Database, settings: RuntimeSettings,
) -> None:
    settings.change("kiosk.closed", True, by=MANAGER, at=T0)
    settings.change("kiosk.closed", True, by=1002, at=T0 + timedelta(minutes=1))
    entries = audit.entries(db)
    assert len(entries) == 2
    assert entries[1].outcome == "ok" and entries[1].staff_number == 1002
    assert entries[1].detail == {"key": "kiosk.closed", "old": True, "new": True}


def test_an_unknown_setting_is_refused_with_one_audit_row(
    db: Database, settings: RuntimeSettings,
) -> None:
    with pytest.raises(SettingRejected) as refused:
        settings.change("printer.port", "/dev/ttyS0", by=MANAGER, at=T0)
    assert refused.value.key == "printer.port"
    assert refused.value.reason == "unknown_setting"
    assert "printer.port" in str(refused.value)
    (entry,) = audit.entries(db)
    assert (entry.action, entry.outcome) == ("settings.change", "rejected")
    assert entry.detail is not None
    assert entry.detail["key"] == "printer.port"
    assert entry.detail["reason"] == "unknown_setting"
    assert db.conn.execute("SELECT COUNT(*) FROM runtime_settings").fetchone() == (0,)


@pytest.mark.parametrize(
    ("key", "value", "what"),
    [
        ("sound.volume", 55, "multiple of 10"),
        ("sound.volume", 101, "0 to 100"),
        ("sound.volume", -10, "0 to 100"),
        ("sound.volume", "loud", "whole number"),
        ("sound.volume", True, "whole number"),
        ("sound.volume", 50.0, "whole number"),
        ("kiosk.closed", 1, "true or false"),
        ("kiosk.closed", "yes", "true or false"),
        ("shop.default_language", "fr", "not a configured language"),
        ("shop.default_language", 7, "language code"),
    ],
)
def test_a_bad_value_is_refused_with_one_audit_row_and_nothing_stored(
    db: Database, settings: RuntimeSettings, key: str, value: object, what: str,
) -> None:
    before = audit_rows(db)
    with pytest.raises(SettingRejected) as refused:
        settings.change(key, value, by=MANAGER, at=T0)
    assert refused.value.reason == "bad_value" and refused.value.key == key
    assert key in str(refused.value) and what in str(refused.value)
    assert audit_rows(db) == before + 1
    (entry,) = audit.entries(db)
    assert entry.outcome == "rejected" and entry.staff_number == MANAGER
    assert entry.detail is not None
    assert (entry.detail["key"], entry.detail["reason"]) == (key, "bad_value")
    assert settings.get(key) == RUNTIME_SETTINGS[key].default


def test_a_refused_value_that_is_not_plain_is_left_out_of_the_audit_detail(
    db: Database, settings: RuntimeSettings,
) -> None:
    with pytest.raises(SettingRejected):
        settings.change("sound.volume", {"level": object()}, by=MANAGER, at=T0)
    with pytest.raises(SettingRejected):
        settings.change("shop.default_language", "x" * 500, by=MANAGER, at=T0)
    first, second = audit.entries(db)
    assert first.detail == {"key": "sound.volume", "reason": "bad_value"}
    assert second.detail == {"key": "shop.default_language", "reason": "bad_value"}


def test_a_refused_plain_value_is_kept_in_the_audit_detail(
    db: Database, settings: RuntimeSettings,
) -> None:
    with pytest.raises(SettingRejected):
        settings.change("sound.volume", 55, by=MANAGER, at=T0)
    (entry,) = audit.entries(db)
    assert entry.detail == {"key": "sound.volume", "reason": "bad_value", "value": 55}


def test_the_empty_language_means_the_first_configured_one_and_is_allowed(
    settings: RuntimeSettings,
) -> None:
    settings.change("shop.default_language", "de", by=MANAGER, at=T0)
    assert settings.change("shop.default_language", "", by=MANAGER, at=T0) == ""
    assert settings.get("shop.default_language") == ""


def test_a_stored_language_no_longer_configured_reads_as_the_default_and_warns_once(
    db: Database, settings: RuntimeSettings, caplog: pytest.LogCaptureFixture,
) -> None:
    settings.change("shop.default_language", "de", by=MANAGER, at=T0)
    english_only = RuntimeSettings(db, languages=("en",))
    with caplog.at_level(logging.WARNING, logger="kiosk.store.runtime_settings"):
        assert english_only.get("shop.default_language") == ""
        assert english_only.values()["shop.default_language"] == ""
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "shop.default_language" in warnings[0].getMessage()


def test_a_damaged_stored_value_reads_as_the_default(
    db: Database, settings: RuntimeSettings,
) -> None:
    with db.atomic():
        db.execute("INSERT INTO runtime_settings (key, value, changed_at) "
                   "VALUES ('sound.volume', 'not json', '2026-11-26T09:00:00.000000Z')")
    assert settings.get("sound.volume") == 80


def test_reading_an_unknown_setting_is_refused_without_an_audit_row(
    db: Database, settings: RuntimeSettings,
) -> None:
    with pytest.raises(SettingRejected) as refused:
        settings.get("no.such")
    assert refused.value.reason == "unknown_setting"
    assert audit_rows(db) == 0


def test_a_change_at_a_naive_time_is_refused_before_anything_is_written(
    db: Database, settings: RuntimeSettings,
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        settings.change("sound.volume", 40, by=MANAGER, at=datetime(2026, 11, 26, 9, 0))
    assert audit_rows(db) == 0
    assert settings.get("sound.volume") == 80


def test_the_change_and_its_audit_row_go_to_the_back_office_outbox_together(
    db: Database, settings: RuntimeSettings,
) -> None:
    settings.change("sound.volume", 20, by=MANAGER, at=T0)
    (payload,) = db.conn.execute(
        "SELECT payload FROM outbox WHERE topic = 'audit.recorded'").fetchone()
    assert json.loads(payload)["detail"] == {"key": "sound.volume", "old": 80, "new": 20}
