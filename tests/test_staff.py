"""Staff PINs and lockouts, driven by an injected clock: no test waits for real time."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from kiosk.store import audit
from kiosk.store.db import open_database
from kiosk.store.staff import (
    PIN_HASH_PARAMS,
    NotAllowed,
    PinOutcome,
    PinRejected,
    StaffMember,
    StaffRole,
    StaffRoster,
    UnknownStaff,
    lockout_seconds,
)

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
PIN = "482913"
WRONG = "000000"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "kiosk.db"


@pytest.fixture
def db(path: Path) -> Iterator[Database]:
    database = open_database(path, records_money=True)
    yield database
    database.close()


@pytest.fixture
def roster(db: Database) -> StaffRoster:
    return StaffRoster(db)


def attendant_with_pin(roster: StaffRoster, pin: str = PIN) -> StaffMember:
    member = roster.add("Alex", StaffRole.ATTENDANT, T0)
    roster.set_pin(member.number, pin, T0)
    return member


def lock_out(roster: StaffRoster, number: int, at: datetime) -> datetime:
    """Type five wrong PINs at ``at`` and return when the lockout ends."""
    for _ in range(4):
        assert roster.check_pin(number, WRONG, at).outcome is PinOutcome.WRONG_PIN
    fifth = roster.check_pin(number, WRONG, at)
    assert fifth.outcome is PinOutcome.LOCKED and fifth.locked_until is not None
    return fifth.locked_until


def test_staff_numbers_are_given_out_from_1001_upwards(roster: StaffRoster) -> None:
    alex = roster.add("Alex", StaffRole.ATTENDANT, T0)
    sam = roster.add("Sam", "manager", T0)
    assert (alex.number, sam.number) == (1001, 1002)
    assert sam.role is StaffRole.MANAGER
    assert roster.get(1002) == StaffMember(1002, "Sam", StaffRole.MANAGER, True, False)
    assert roster.get(999) is None
    assert [member.name for member in roster.list()] == ["Alex", "Sam"]


def test_an_unknown_role_or_an_empty_name_is_refused(roster: StaffRoster) -> None:
    with pytest.raises(ValueError):
        roster.add("Alex", "owner", T0)
    with pytest.raises(ValueError):
        roster.add("   ", StaffRole.ATTENDANT, T0)
    assert roster.list() == []


def test_the_right_pin_lets_a_staff_member_in(roster: StaffRoster) -> None:
    alex = attendant_with_pin(roster)
    check = roster.check_pin(alex.number, PIN, T0)
    assert check.ok and check.outcome is PinOutcome.OK
    assert check.staff is not None and check.staff.has_pin and check.staff.name == "Alex"
    assert check.locked_until is None


@pytest.mark.parametrize(
    ("pin", "reason"),
    [("12345", "too_short"), ("", "not_digits"), ("12a456", "not_digits"),
     ("١٢٣٤٥٦", "not_digits"), (" 123456", "not_digits")],
)
def test_a_pin_that_is_short_or_not_all_digits_is_rejected_with_a_reason(
    roster: StaffRoster, db: Database, pin: str, reason: str
) -> None:
    alex = roster.add("Alex", StaffRole.ATTENDANT, T0)
    with pytest.raises(PinRejected) as caught:
        roster.set_pin(alex.number, pin, T0)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)
    assert roster.get(alex.number) == alex  # still no PIN
    last = audit.entries(db)[-1]
    assert (last.action, last.outcome, last.detail) == (
        "staff.pin_set", "rejected", {"reason": reason},
    )


def test_setting_a_pin_for_an_unknown_number_fails_and_is_audited(
    roster: StaffRoster, db: Database
) -> None:
    with pytest.raises(UnknownStaff):
        roster.set_pin(4242, PIN, T0)
    last = audit.entries(db)[-1]
    assert (last.action, last.outcome, last.staff_number) == (
        "staff.pin_set", "unknown_staff", 4242,
    )


def test_the_pin_is_stored_as_a_salted_scrypt_hash_with_its_parameters(
    roster: StaffRoster, db: Database
) -> None:
    alex = attendant_with_pin(roster)
    sam = roster.add("Sam", StaffRole.ATTENDANT, T0)
    roster.set_pin(sam.number, PIN, T0)
    rows = db.conn.execute(
        "SELECT pin_hash, pin_salt, pin_params FROM staff ORDER BY number"
    ).fetchall()
    (alex_hash, alex_salt, params), (sam_hash, sam_salt, _) = rows
    assert json.loads(params) == {"alg": "scrypt", "n": 16384, "r": 8, "p": 1, "dklen": 32}
    assert len(alex_salt) == 16 and alex_salt != sam_salt
    assert alex_hash != sam_hash and len(alex_hash) == 32
    assert alex_hash == hashlib.scrypt(PIN.encode(), salt=alex_salt, n=16384, r=8, p=1,
                                       dklen=32)
    assert roster.get(alex.number) is not None


def test_a_wrong_pin_counts_down_the_tries_left(roster: StaffRoster) -> None:
    alex = attendant_with_pin(roster)
    tries = [roster.check_pin(alex.number, WRONG, T0).tries_left for _ in range(4)]
    assert tries == [4, 3, 2, 1]


def test_a_wrong_pin_five_times_locks_the_staff_member_for_thirty_seconds(
    roster: StaffRoster,
) -> None:
    alex = attendant_with_pin(roster)
    until = lock_out(roster, alex.number, T0)
    assert until == T0 + timedelta(seconds=30)
    refused = roster.check_pin(alex.number, PIN, T0 + timedelta(seconds=29))
    assert refused.outcome is PinOutcome.LOCKED
    assert refused.locked_until == until and refused.tries_left == 0
    assert roster.check_pin(alex.number, PIN, T0 + timedelta(seconds=30)).ok


def test_wrong_pins_while_locked_do_not_extend_the_lockout(roster: StaffRoster) -> None:
    alex = attendant_with_pin(roster)
    until = lock_out(roster, alex.number, T0)
    for second in range(1, 20):
        check = roster.check_pin(alex.number, WRONG, T0 + timedelta(seconds=second))
        assert check.outcome is PinOutcome.LOCKED and check.locked_until == until
    after = roster.check_pin(alex.number, WRONG, until)
    assert after.outcome is PinOutcome.WRONG_PIN and after.tries_left == 4


def test_each_further_lockout_doubles_the_delay_up_to_five_minutes(roster: StaffRoster) -> None:
    alex = attendant_with_pin(roster)
    now = T0
    delays = []
    for _ in range(6):
        until = lock_out(roster, alex.number, now)
        delays.append((until - now).total_seconds())
        now = until
    assert delays == [30, 60, 120, 240, 300, 300]
    assert [lockout_seconds(n) for n in range(6)] == [30, 60, 120, 240, 300, 300]
    assert lockout_seconds(1000) == 300


def test_a_right_pin_resets_the_count_and_the_growing_delay(roster: StaffRoster) -> None:
    alex = attendant_with_pin(roster)
    until = lock_out(roster, alex.number, T0)
    until = lock_out(roster, alex.number, until)
    assert roster.check_pin(alex.number, PIN, until).ok
    for _ in range(4):
        roster.check_pin(alex.number, WRONG, until)
    assert roster.check_pin(alex.number, PIN, until).ok  # four wrong, then right: no lockout
    again = lock_out(roster, alex.number, until)
    assert again - until == timedelta(seconds=30)


def test_a_lockout_survives_reopening_the_database(path: Path, db: Database) -> None:
    roster = StaffRoster(db)
    alex = attendant_with_pin(roster)
    until = lock_out(roster, alex.number, T0)
    db.close()
    reopened = open_database(path, records_money=True)
    try:
        roster = StaffRoster(reopened)
        check = roster.check_pin(alex.number, PIN, T0 + timedelta(seconds=10))
        assert check.outcome is PinOutcome.LOCKED and check.locked_until == until
        assert roster.check_pin(alex.number, PIN, until).ok
    finally:
        reopened.close()


def test_wrong_pins_are_counted_per_staff_member(roster: StaffRoster) -> None:
    alex = attendant_with_pin(roster)
    sam = attendant_with_pin(roster, "778899")
    lock_out(roster, alex.number, T0)
    check = roster.check_pin(sam.number, "778899", T0)
    assert check.ok and check.staff is not None and check.staff.number == sam.number


def test_a_manager_can_clear_a_lockout(roster: StaffRoster, db: Database) -> None:
    alex = attendant_with_pin(roster)
    boss = roster.add("Robin", StaffRole.MANAGER, T0)
    lock_out(roster, alex.number, T0)
    roster.clear_lockout(alex.number, by=boss.number, now=T0 + timedelta(seconds=1))
    assert roster.check_pin(alex.number, PIN, T0 + timedelta(seconds=2)).ok
    cleared = [e for e in audit.entries(db) if e.action == "staff.clear_lockout"]
    assert [(e.outcome, e.staff_number, e.detail) for e in cleared] == [
        ("ok", boss.number, {"staff": alex.number})
    ]


def test_a_cleared_lockout_also_resets_the_growing_delay(roster: StaffRoster) -> None:
    alex = attendant_with_pin(roster)
    boss = roster.add("Robin", StaffRole.MANAGER, T0)
    until = lock_out(roster, alex.number, T0)
    until = lock_out(roster, alex.number, until)
    roster.clear_lockout(alex.number, by=boss.number, now=until)
    assert lock_out(roster, alex.number, until) - until == timedelta(seconds=30)


def test_an_attendant_cannot_clear_a_lockout(roster: StaffRoster, db: Database) -> None:
    alex = attendant_with_pin(roster)
    sam = roster.add("Sam", StaffRole.ATTENDANT, T0)
    until = lock_out(roster, alex.number, T0)
    with pytest.raises(NotAllowed):
        roster.clear_lockout(alex.number, by=sam.number, now=T0)
    check = roster.check_pin(alex.number, PIN, T0 + timedelta(seconds=1))
    assert check.outcome is PinOutcome.LOCKED and check.locked_until == until
    last_clear = [e for e in audit.entries(db) if e.action == "staff.clear_lockout"][-1]
    assert last_clear.outcome == "not_allowed" and last_clear.staff_number == sam.number


def test_an_inactive_manager_cannot_clear_a_lockout(roster: StaffRoster) -> None:
    alex = attendant_with_pin(roster)
    boss = roster.add("Robin", StaffRole.MANAGER, T0)
    other_boss = roster.add("Kim", StaffRole.MANAGER, T0)
    roster.set_active(boss.number, False, by=other_boss.number, now=T0)
    lock_out(roster, alex.number, T0)
    with pytest.raises(PermissionError):
        roster.clear_lockout(alex.number, by=boss.number, now=T0)
    assert roster.check_pin(alex.number, PIN, T0).outcome is PinOutcome.LOCKED


def test_clearing_the_lockout_of_an_unknown_number_fails(roster: StaffRoster) -> None:
    boss = roster.add("Robin", StaffRole.MANAGER, T0)
    with pytest.raises(UnknownStaff):
        roster.clear_lockout(5555, by=boss.number, now=T0)


def test_unknown_numbers_missing_pins_and_inactive_staff_are_told_apart(
    roster: StaffRoster,
) -> None:
    boss = roster.add("Robin", StaffRole.MANAGER, T0)
    no_pin = roster.add("Sam", StaffRole.ATTENDANT, T0)
    gone = attendant_with_pin(roster)
    roster.set_active(gone.number, False, by=boss.number, now=T0)
    assert roster.check_pin(9999, PIN, T0).outcome is PinOutcome.UNKNOWN_STAFF
    assert roster.check_pin(9999, PIN, T0).staff is None
    assert roster.check_pin(no_pin.number, PIN, T0).outcome is PinOutcome.NO_PIN
    inactive = roster.check_pin(gone.number, PIN, T0)
    assert inactive.outcome is PinOutcome.INACTIVE and not inactive.ok
    assert inactive.staff is not None and inactive.staff.active is False


def test_an_attendant_cannot_deactivate_staff(roster: StaffRoster) -> None:
    alex = attendant_with_pin(roster)
    sam = roster.add("Sam", StaffRole.ATTENDANT, T0)
    with pytest.raises(NotAllowed):
        roster.set_active(alex.number, False, by=sam.number, now=T0)
    assert roster.check_pin(alex.number, PIN, T0).ok


def test_every_pin_check_is_audited_with_its_outcome(roster: StaffRoster, db: Database) -> None:
    alex = attendant_with_pin(roster)
    roster.check_pin(alex.number, PIN, T0)
    lock_out(roster, alex.number, T0)
    roster.check_pin(alex.number, PIN, T0)
    roster.check_pin(31337, PIN, T0)
    checks = [e for e in audit.entries(db) if e.action == "staff.pin_check"]
    assert [e.outcome for e in checks] == [
        "ok", "wrong_pin", "wrong_pin", "wrong_pin", "wrong_pin", "locked", "locked",
        "unknown_staff",
    ]
    assert all(e.staff_number == alex.number for e in checks[:-1])
    assert checks[-1].staff_number is None and checks[-1].detail == {"claimed_number": 31337}
    assert checks[5].detail is not None and checks[5].detail["lockout_s"] == 30


def test_an_outdated_hash_is_upgraded_on_the_next_right_pin(
    roster: StaffRoster, db: Database
) -> None:
    alex = roster.add("Alex", StaffRole.ATTENDANT, T0)
    weak = {"alg": "scrypt", "n": 2**10, "r": 8, "p": 1, "dklen": 32}
    salt = b"0123456789abcdef"
    weak_hash = hashlib.scrypt(PIN.encode(), salt=salt, n=2**10, r=8, p=1, dklen=32)
    db.execute(
        "UPDATE staff SET pin_hash = ?, pin_salt = ?, pin_params = ? WHERE number = ?",
        [weak_hash, salt, json.dumps(weak), alex.number],
    )
    assert roster.check_pin(alex.number, PIN, T0).ok
    stored_hash, stored_salt, params = db.conn.execute(
        "SELECT pin_hash, pin_salt, pin_params FROM staff"
    ).fetchone()
    assert json.loads(params) == PIN_HASH_PARAMS
    assert stored_salt != salt and stored_hash != weak_hash
    assert roster.check_pin(alex.number, PIN, T0).ok
    assert roster.check_pin(alex.number, "111111", T0).outcome is PinOutcome.WRONG_PIN


def test_the_pin_never_appears_in_the_database_or_the_logs(
    path: Path, db: Database, roster: StaffRoster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    boss = roster.add("Robin", StaffRole.MANAGER, T0)
    alex = attendant_with_pin(roster)
    roster.check_pin(alex.number, PIN, T0)
    lock_out(roster, alex.number, T0)
    roster.check_pin(alex.number, PIN, T0)
    roster.clear_lockout(alex.number, by=boss.number, now=T0)
    with pytest.raises(PinRejected):
        roster.set_pin(alex.number, "48291", T0)  # a prefix of the PIN, rejected
    roster.check_pin(alex.number, PIN, T0)

    tables = [row[0] for row in db.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    )]
    assert "staff" in tables and "audit_log" in tables
    values_seen = 0
    for table in tables:
        for row in db.conn.execute(f'SELECT * FROM "{table}"'):
            for value in row:
                values_seen += 1
                if isinstance(value, str):
                    assert PIN not in value, f"PIN found in {table}"
                    assert "48291" not in value, f"rejected PIN found in {table}"
                elif isinstance(value, bytes):
                    assert PIN.encode() not in value, f"PIN found in {table}"
    assert values_seen > 50
    db.close()
    for suffix in ("", "-wal"):
        file = path.with_name(path.name + suffix)
        if file.exists():
            assert PIN.encode() not in file.read_bytes()
    assert caplog.records, "the lockout should have been logged"
    assert PIN not in caplog.text and "48291" not in caplog.text


def test_a_naive_clock_reading_is_refused(roster: StaffRoster) -> None:
    alex = attendant_with_pin(roster)
    with pytest.raises(ValueError, match="timezone-aware"):
        roster.check_pin(alex.number, PIN, datetime(2026, 11, 26, 9, 0))
    assert roster.check_pin(alex.number, PIN, T0).ok
