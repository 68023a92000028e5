"""Scheduled backups: ``[backup]`` settings, rotation by count and by age (the time read from
each copy's name), foreign files left alone, and ``kiosk db backup --rotate`` end to end.

Every file is a real file under ``tmp_path``. ``tmp_path`` is on the same file system as the
test database, so the command's "same card" warning is expected in the end-to-end runs.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from cli_support import BASE_CONFIG, Shop, import_sample, run_kiosk, write_config

from kiosk.config import ConfigError, settings_from_mapping
from kiosk.doctor.storage_checks import DISK_FAIL_BELOW_PERCENT
from kiosk.store.maintenance import (
    MIN_FREE_PERCENT_AFTER_BACKUP,
    backup_file_name,
    backup_time,
    free_percent_after_copy,
    last_backup,
    on_same_file_system,
    rotate_backups,
)

NOW = datetime(2026, 11, 26, 3, 30, 0, tzinfo=UTC)

SAME_CARD = "the backup is on the same card as the database: a dead card loses both"


def make_backups(folder: Path, *ages: timedelta, now: datetime = NOW) -> list[Path]:
    """One backup file per age (before ``now``), named as the kiosk names them."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for age in ages:
        path = folder / backup_file_name(now - age)
        path.write_bytes(b"SQLite format 3\x00")
        paths.append(path)
    return paths


def names(folder: Path) -> set[str]:
    """The names of everything in ``folder``."""
    return {path.name for path in folder.iterdir()}


def days(*counts: float) -> list[timedelta]:
    """Ages of so many days."""
    return [timedelta(days=count) for count in counts]


# ---- the settings ------------------------------------------------------------------------

SHOP: dict[str, Any] = {
    "kiosk_id": "lane-1",
    "shop": {"name": "Corner Shop", "currency": "EUR", "locale": "de_DE",
             "time_zone": "Europe/Berlin"},
}


def test_backups_default_to_a_stick_fourteen_copies_and_thirty_days() -> None:
    backup = settings_from_mapping(SHOP).backup

    assert backup.destination == Path("/media/kiosk-backup")
    assert (backup.keep_count, backup.keep_days, backup.interval_hours) == (14, 30, 24)


@pytest.mark.parametrize(
    ("key", "value"),
    [("keep_count", 0), ("keep_count", 366), ("keep_days", 0), ("keep_days", 3651),
     ("interval_hours", 0), ("interval_hours", 169), ("destination", "backups")],
)
def test_backup_settings_out_of_bounds_are_refused_by_name(key: str, value: object) -> None:
    with pytest.raises(ConfigError) as refused:
        settings_from_mapping({**SHOP, "backup": {key: value}})

    assert f"backup.{key}" in str(refused.value)


def test_backup_settings_accept_their_bounds() -> None:
    backup = settings_from_mapping({**SHOP, "backup": {
        "destination": "/mnt/nas/kiosk", "keep_count": 365, "keep_days": 1, "interval_hours": 168,
    }}).backup

    assert (backup.destination, backup.keep_count, backup.keep_days, backup.interval_hours) == (
        Path("/mnt/nas/kiosk"), 365, 1, 168
    )


# ---- rotation ----------------------------------------------------------------------------


def test_rotation_keeps_the_newest_copies_up_to_the_count(tmp_path: Path) -> None:
    backups = make_backups(tmp_path, *days(0, 1, 2, 3, 4))

    deleted = rotate_backups(tmp_path, keep_count=3, keep_days=30, now=NOW)

    assert sorted(deleted) == sorted(backups[3:])
    assert names(tmp_path) == {path.name for path in backups[:3]}


def test_rotation_deletes_copies_older_than_the_days_kept(tmp_path: Path) -> None:
    backups = make_backups(tmp_path, *days(1, 10, 29.9, 30.1, 50))

    deleted = rotate_backups(tmp_path, keep_count=14, keep_days=30, now=NOW)

    assert sorted(deleted) == sorted(backups[3:])
    assert names(tmp_path) == {path.name for path in backups[:3]}


def test_the_newest_copy_stays_however_old_it_is(tmp_path: Path) -> None:
    newest, older = make_backups(tmp_path, *days(90, 120))

    deleted = rotate_backups(tmp_path, keep_count=14, keep_days=30, now=NOW)

    assert deleted == [older]
    assert names(tmp_path) == {newest.name}


def test_rotation_goes_by_the_time_in_the_name_not_the_files_mtime(tmp_path: Path) -> None:
    newest, middle, oldest = make_backups(tmp_path, *days(1, 2, 3))
    # Copied back from another stick: the oldest copy now has the newest mtime.
    os.utime(oldest, (NOW.timestamp(), NOW.timestamp()))
    os.utime(newest, (NOW.timestamp() - 9e6, NOW.timestamp() - 9e6))

    deleted = rotate_backups(tmp_path, keep_count=2, keep_days=30, now=NOW)

    assert deleted == [oldest]
    assert names(tmp_path) == {newest.name, middle.name}


def test_rotation_never_touches_a_file_that_is_not_a_kiosk_backup(tmp_path: Path) -> None:
    make_backups(tmp_path, *days(0, 100, 200))
    foreign = [
        "kiosk.db",
        "notes.txt",
        "kiosk-latest.db",
        "kiosk-20200101T000000Z.db.bak",
        "kiosk-20200101T000000Z.sqlite",
        "Kiosk-20200101T000000Z.db",
        "kiosk-20201399T000000Z.db",  # shaped like a name, but month 13 is no time
        "shop-20200101T000000Z.db",
    ]
    for name in foreign:
        (tmp_path / name).write_text("not ours", encoding="utf-8")
    (tmp_path / "kiosk-20200102T000000Z.db").mkdir()
    (tmp_path / "kiosk-20200103T000000Z.db").symlink_to(tmp_path / "notes.txt")

    deleted = rotate_backups(tmp_path, keep_count=1, keep_days=1, now=NOW)

    assert len(deleted) == 2
    assert names(tmp_path) == {
        backup_file_name(NOW), *foreign, "kiosk-20200102T000000Z.db", "kiosk-20200103T000000Z.db"
    }
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "not ours"


def test_an_interrupted_backups_leftovers_go_after_a_day_but_not_sooner(tmp_path: Path) -> None:
    stale = backup_file_name(NOW - timedelta(days=2)) + ".partial"
    running = backup_file_name(NOW - timedelta(minutes=5)) + ".partial"
    for name in (stale, stale + "-journal", running, running + "-journal"):
        (tmp_path / name).write_bytes(b"half a copy")

    deleted = rotate_backups(tmp_path, keep_count=14, keep_days=30, now=NOW)

    assert sorted(path.name for path in deleted) == [stale, stale + "-journal"]
    assert names(tmp_path) == {running, running + "-journal"}


def test_rotation_refuses_a_count_or_age_below_one_and_a_naive_time(tmp_path: Path) -> None:
    make_backups(tmp_path, *days(1, 2))

    with pytest.raises(ValueError, match="keep_count"):
        rotate_backups(tmp_path, keep_count=0, keep_days=30, now=NOW)
    with pytest.raises(ValueError, match="keep_days"):
        rotate_backups(tmp_path, keep_count=14, keep_days=0, now=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        rotate_backups(tmp_path, keep_count=14, keep_days=30, now=NOW.replace(tzinfo=None))
    assert len(names(tmp_path)) == 2


# ---- the newest backup -------------------------------------------------------------------


def test_the_last_backup_is_the_newest_by_name_with_its_time(tmp_path: Path) -> None:
    make_backups(tmp_path, *days(3, 1, 2))
    (tmp_path / "kiosk-29991231T000000Z.db.partial").write_bytes(b"")

    assert last_backup(tmp_path) == (
        tmp_path / backup_file_name(NOW - timedelta(days=1)), NOW - timedelta(days=1)
    )


def test_there_is_no_last_backup_in_an_empty_or_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")

    assert last_backup(tmp_path) is None
    assert last_backup(tmp_path / "not-mounted") is None


def test_a_backups_time_is_read_back_from_its_name() -> None:
    assert backup_time(backup_file_name(NOW)) == NOW
    assert backup_time("kiosk-20261126T033000Z.db") == NOW
    assert backup_time("kiosk-20261126T033000Z.db.partial") is None
    assert backup_time("kiosk-20261326T033000Z.db") is None


def test_a_folder_next_to_the_database_is_on_its_file_system(tmp_path: Path) -> None:
    (tmp_path / "backups").mkdir()

    assert on_same_file_system(tmp_path / "backups", tmp_path / "kiosk.db") is True
    assert on_same_file_system(tmp_path / "missing", tmp_path / "kiosk.db") is False


class Usage(NamedTuple):
    """A file system's size and free bytes, as `shutil.disk_usage` answers (a test cannot
    fill a real disk)."""

    total: int
    free: int


def test_the_room_left_after_a_copy_counts_the_database_and_its_wal(tmp_path: Path) -> None:
    database = tmp_path / "kiosk.db"
    database.write_bytes(b"d" * 30_000)
    asked: list[Path] = []

    def disk(path: Path) -> Usage:
        asked.append(path)
        return Usage(total=1_000_000, free=100_000)

    assert free_percent_after_copy(tmp_path, database, disk_usage=disk) == 7.0
    Path(f"{database}-wal").write_bytes(b"w" * 40_000)
    assert free_percent_after_copy(tmp_path, database, disk_usage=disk) == 3.0
    assert asked == [tmp_path, tmp_path]
    assert free_percent_after_copy(
        tmp_path, database, disk_usage=lambda _path: Usage(total=1_000_000, free=10_000)
    ) == 0.0


def test_the_room_left_on_a_real_folder_is_a_percentage_below_the_free_space(
    tmp_path: Path,
) -> None:
    database = tmp_path / "kiosk.db"
    database.write_bytes(b"d" * 4096)
    usage = shutil.disk_usage(tmp_path)

    left = free_percent_after_copy(tmp_path, database)

    assert 0.0 <= left < usage.free * 100 / usage.total


def test_a_backup_on_the_card_stops_where_the_doctor_says_the_sales_lack_room() -> None:
    assert MIN_FREE_PERCENT_AFTER_BACKUP == DISK_FAIL_BELOW_PERCENT


# ---- kiosk db backup --rotate ------------------------------------------------------------


def shop_with_backups(tmp_path: Path, destination: Path, keep_count: int = 14) -> Shop:
    """A shop with the sample catalog whose ``[backup]`` points at ``destination``."""
    shop = write_config(
        tmp_path,
        BASE_CONFIG + f'\n[backup]\ndestination = "{destination}"\nkeep_count = {keep_count}\n',
    )
    import_sample(shop)
    return shop


def products_in(path: Path) -> int:
    """Rows in the products table of a backup."""
    connection = sqlite3.connect(path)
    try:
        (count,) = connection.execute("SELECT COUNT(*) FROM products").fetchone()
    finally:
        connection.close()
    return int(count)


def test_the_scheduled_backup_writes_a_copy_rotates_and_warns_about_the_same_card(
    tmp_path: Path,
) -> None:
    destination = tmp_path / "backup-stick"
    # The command reads the real clock: these copies are 1, 2 and 3 days old by it.
    old = make_backups(destination, *days(1, 2, 3), now=datetime.now(UTC))
    (destination / "holiday-photos.jpg").write_bytes(b"\xff\xd8")
    shop = shop_with_backups(tmp_path, destination, keep_count=2)

    result = run_kiosk(["db", "backup", "--rotate", "--config", str(shop.config)], home=tmp_path)

    assert result.returncode == 0, result.stderr
    assert SAME_CARD in result.stderr
    assert " warning kiosk.cli.db: " in result.stderr
    newest = last_backup(destination)
    assert newest is not None
    assert products_in(newest[0]) == 42
    assert names(destination) == {newest[0].name, old[0].name, "holiday-photos.jpg"}
    assert f"deleted the old backup {old[1].name}" in result.stderr
    assert f"deleted the old backup {old[2].name}" in result.stderr


def test_the_scheduled_backup_takes_dest_as_the_folder_instead_of_the_setting(
    tmp_path: Path,
) -> None:
    shop = shop_with_backups(tmp_path, tmp_path / "not-this-one")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    result = run_kiosk(
        ["db", "backup", "--rotate", "--config", str(shop.config), str(elsewhere)],
        home=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert last_backup(elsewhere) is not None
    assert not (tmp_path / "not-this-one").exists()


def test_a_missing_backup_destination_fails_clearly_and_creates_nothing(tmp_path: Path) -> None:
    destination = tmp_path / "media" / "kiosk-backup"
    shop = shop_with_backups(tmp_path, destination)

    result = run_kiosk(["db", "backup", "--rotate", "--config", str(shop.config)], home=tmp_path)

    assert result.returncode == 1
    assert f"the backup destination {destination} does not exist" in result.stderr
    assert "plug in the backup stick" in result.stderr
    assert not destination.exists()
    assert not (tmp_path / "media").exists()


def test_a_backup_destination_that_is_a_file_fails(tmp_path: Path) -> None:
    destination = tmp_path / "a-file"
    destination.write_text("not a folder", encoding="utf-8")
    shop = shop_with_backups(tmp_path, destination)

    result = run_kiosk(["db", "backup", "--rotate", "--config", str(shop.config)], home=tmp_path)

    assert result.returncode == 1
    assert f"the backup destination {destination} is not a folder" in result.stderr
    assert destination.read_text(encoding="utf-8") == "not a folder"


def test_a_backup_without_dest_or_rotate_is_a_usage_error(tmp_path: Path) -> None:
    shop = shop_with_backups(tmp_path, tmp_path)

    result = run_kiosk(["db", "backup", "--config", str(shop.config)], home=tmp_path)

    assert result.returncode == 2
    assert "give DEST, or --rotate" in result.stderr
