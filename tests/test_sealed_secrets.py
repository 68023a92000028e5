"""Secrets that survive a copied database: peppered staff PINs and the keyed audit chain.

Real SQLite files throughout; the "attacker" works on a copy of ``kiosk.db`` with plain
``sqlite3`` (dropping the triggers, as anyone holding the file can), and ``kiosk audit
verify`` / ``kiosk staff`` run through the CLI with the keys in the ``credentials`` folder
beside the configuration (as root finds them in ``/etc/kiosk/credentials``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from audit_support import database_with_audit_rows
from cli_support import Shop, invoke, run_kiosk, write_config

from kiosk.config import load_settings
from kiosk.config.secrets import SecretStr, create_missing_keys, load_secrets
from kiosk.config.settings import RetentionSettings
from kiosk.doctor.context import DoctorContext
from kiosk.doctor.secrets_checks import check_pins
from kiosk.store import audit
from kiosk.store.audit_chain import CHECKPOINT, verify
from kiosk.store.db import open_database
from kiosk.store.keys import StoreKeys, keys_from_secrets
from kiosk.store.pin_pepper import PepperState, pepper_state, wrap
from kiosk.store.retention import prune
from kiosk.store.staff import LOCKOUT_TOPIC, MAX_WRONG_PINS, PinOutcome, StaffRole, StaffRoster

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
PIN = "482913"
OTHER_PIN = "135790"

KEYS = StoreKeys.from_texts(SecretStr("a" * 64), SecretStr("b" * 64))
OTHER_MACHINE = StoreKeys.from_texts(SecretStr("c" * 64), SecretStr("d" * 64))


def _scrypt(pin: str, salt: bytes, params_json: str) -> bytes:
    params = json.loads(params_json)
    n, r, p = int(params["n"]), int(params["r"]), int(params["p"])
    return hashlib.scrypt(
        pin.encode(),
        salt=salt,
        n=n,
        r=r,
        p=p,
        dklen=int(params["dklen"]),
        maxmem=256 * r * (n + p) + (1 << 20),
    )


def _staff_rows(path: Path) -> dict[int, tuple[bytes, bytes, str, int]]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT number, pin_hash, pin_salt, pin_params, pin_peppered FROM staff "
            "WHERE pin_hash IS NOT NULL"
        ).fetchall()
    return {int(row[0]): (bytes(row[1]), bytes(row[2]), str(row[3]), int(row[4])) for row in rows}


def _kiosk_with_pins(path: Path, keys: StoreKeys | None) -> tuple[int, int, int]:
    """A manager and two attendants with PINs (the second attendant never signs in)."""
    db = open_database(path, keys=keys)
    try:
        roster = StaffRoster(db)
        numbers = []
        for name, role, pin in (
            ("Mia", StaffRole.MANAGER, PIN),
            ("Alex", StaffRole.ATTENDANT, OTHER_PIN),
            ("Sam", StaffRole.ATTENDANT, "975310"),
        ):
            member = roster.add(name, role, T0)
            roster.set_pin(member.number, pin, T0)
            numbers.append(member.number)
    finally:
        db.close()
    return numbers[0], numbers[1], numbers[2]


# ------------------------------------------------------------------------------ PINs


def test_a_copied_database_without_the_pepper_cannot_verify_the_right_pin(tmp_path: Path) -> None:
    kiosk_db = tmp_path / "kiosk.db"
    manager, _, _ = _kiosk_with_pins(kiosk_db, KEYS)
    copy = tmp_path / "stolen.db"
    shutil.copyfile(kiosk_db, copy)

    # Offline: the attacker hashes the right PIN with the stored salt and parameters.
    pin_hash, salt, params, peppered = _staff_rows(copy)[manager]
    assert peppered == 1
    assert _scrypt(PIN, salt, params) != pin_hash
    assert wrap(KEYS.pin_pepper, _scrypt(PIN, salt, params)) == pin_hash  # only with the key

    # Through the kiosk's own code, without the credential: no PIN is accepted, none counted.
    db = open_database(copy)
    try:
        roster = StaffRoster(db)
        for _ in range(MAX_WRONG_PINS + 1):
            assert roster.check_pin(manager, PIN, T0).outcome is PinOutcome.PIN_KEY_MISSING
        assert roster.check_pin(manager, PIN, T0).ok is False
    finally:
        db.close()
    # And on the machine with its pepper the right PIN still works.
    db = open_database(kiosk_db, keys=KEYS)
    try:
        assert StaffRoster(db).check_pin(manager, PIN, T0).ok
    finally:
        db.close()


def test_the_first_start_with_the_pepper_wraps_every_old_hash(tmp_path: Path) -> None:
    kiosk_db = tmp_path / "kiosk.db"
    numbers = _kiosk_with_pins(kiosk_db, keys=None)  # as before the pepper (or at install)
    old = _staff_rows(kiosk_db)
    assert all(row[3] == 0 for row in old.values())
    assert all(
        row[0] == _scrypt(pin, row[1], row[2])
        for row, pin in zip((old[n] for n in numbers), (PIN, OTHER_PIN, "975310"), strict=True)
    )

    open_database(kiosk_db, keys=KEYS).close()

    new = _staff_rows(kiosk_db)
    assert set(new) == set(old) == set(numbers)
    for number in numbers:  # every one, the never-used PIN too
        old_hash, salt, params, _ = old[number]
        assert new[number] == (wrap(KEYS.pin_pepper, old_hash), salt, params, 1)
    db = open_database(kiosk_db, keys=KEYS)
    try:
        roster = StaffRoster(db)
        assert [
            roster.check_pin(n, pin, T0).outcome
            for n, pin in zip(numbers, (PIN, OTHER_PIN, "975310"), strict=True)
        ] == [PinOutcome.OK] * 3
        assert pepper_state(db) is PepperState.OK
    finally:
        db.close()


def test_an_unwrapped_hash_written_into_a_peppered_database_is_refused(tmp_path: Path) -> None:
    kiosk_db = tmp_path / "kiosk.db"
    manager, _, _ = _kiosk_with_pins(kiosk_db, KEYS)
    _, salt, params, _ = _staff_rows(kiosk_db)[manager]
    with sqlite3.connect(kiosk_db) as connection:  # someone puts a known PIN's plain hash in
        connection.execute(
            "UPDATE staff SET pin_hash = ?, pin_peppered = 0 WHERE number = ?",
            [_scrypt("111111", salt, params), manager],
        )
    db = open_database(kiosk_db, keys=KEYS)
    try:
        assert StaffRoster(db).check_pin(manager, "111111", T0).outcome is PinOutcome.NO_PIN
    finally:
        db.close()


def test_a_database_restored_under_another_pepper_asks_for_new_pins_and_locks_nobody_out(
    tmp_path: Path,
) -> None:
    kiosk_db = tmp_path / "kiosk.db"
    manager, attendant, _ = _kiosk_with_pins(kiosk_db, KEYS)
    db = open_database(kiosk_db, keys=OTHER_MACHINE)
    try:
        roster = StaffRoster(db)
        assert pepper_state(db) is PepperState.OTHER
        for _ in range(3 * MAX_WRONG_PINS):
            check = roster.check_pin(manager, PIN, T0)
            assert check.outcome is PinOutcome.PINS_RESET_NEEDED
            assert check.locked_until is None
        row = db.conn.execute(
            "SELECT failed_attempts, locked_until, lockouts FROM staff WHERE number = ?", [manager]
        ).fetchone()
        assert row == (0, None, 0)
        # A new PIN for the manager adopts this machine's pepper; the others must set theirs.
        roster.set_pin(manager, "864209", T0)
        assert pepper_state(db) is PepperState.OK
        assert roster.check_pin(manager, "864209", T0).ok
        assert roster.check_pin(attendant, OTHER_PIN, T0).outcome is PinOutcome.NO_PIN
        actions = [entry.action for entry in audit.entries(db)]
        assert "staff.pins_reset" in actions
    finally:
        db.close()


def _shop_with_credentials(tmp_path: Path) -> tuple[Shop, StoreKeys]:
    shop = write_config(tmp_path)
    create_missing_keys(tmp_path / "credentials")
    keys = keys_from_secrets(load_secrets({}, tmp_path / "credentials"))
    assert keys is not None
    return shop, keys


def test_the_staff_list_and_the_doctor_say_pins_must_be_set_again(tmp_path: Path) -> None:
    shop, _ = _shop_with_credentials(tmp_path)
    shop.state_dir.mkdir(parents=True, exist_ok=True)
    _kiosk_with_pins(shop.state_dir / "kiosk.db", OTHER_MACHINE)  # a backup from elsewhere
    listed = invoke(["staff", "list", "--config", str(shop.config)])
    assert listed.exit_code == 0, listed.output
    assert "Staff PINs must be set again" in listed.output

    settings = load_settings(shop.config, environ={})
    context = DoctorContext(
        settings=settings,
        config_path=shop.config,
        secrets=load_secrets({}, tmp_path / "credentials"),
    )
    row = check_pins(context)
    assert row is not None and row.status.value == "fail"
    assert row.detail == "staff PINs must be set again"

    # kiosk staff set-pin as root (the credentials beside the config) sets a usable PIN.
    result = invoke(["staff", "set-pin", "1001", "--config", str(shop.config)], stdin="864209\n")
    assert result.exit_code == 0, result.output
    assert check_pins(context).status.value == "pass"  # type: ignore[union-attr]


def test_set_pin_without_the_pepper_refuses_on_a_peppered_kiosk(tmp_path: Path) -> None:
    shop = write_config(tmp_path)
    shop.state_dir.mkdir(parents=True, exist_ok=True)
    _kiosk_with_pins(shop.state_dir / "kiosk.db", KEYS)
    result = invoke(["staff", "set-pin", "1001", "--config", str(shop.config)], stdin="864209\n")
    assert result.exit_code == 1
    assert "pin-pepper" in result.output


# ------------------------------------------------------------------------- lockouts


def test_a_lockout_raises_an_event_for_the_back_office_and_a_notice(tmp_path: Path) -> None:
    kiosk_db = tmp_path / "kiosk.db"
    _, attendant, _ = _kiosk_with_pins(kiosk_db, KEYS)
    db = open_database(kiosk_db, keys=KEYS)
    try:
        roster = StaffRoster(db)
        at = T0 + timedelta(hours=1)
        for _ in range(MAX_WRONG_PINS):
            check = roster.check_pin(attendant, "000000", at)
        assert check.outcome is PinOutcome.LOCKED
        events = db.conn.execute(
            "SELECT payload FROM outbox WHERE topic = ?", [LOCKOUT_TOPIC]
        ).fetchall()
        assert [json.loads(row[0]) for row in events] == [
            {
                "staff_number": attendant,
                "at": "2026-11-26T10:00:00.000000Z",
                "locked_until": "2026-11-26T10:00:30.000000Z",
                "lockout_s": 30,
                "wrong_pins": MAX_WRONG_PINS,
            }
        ]
        lockouts = roster.recent_lockouts(at + timedelta(minutes=5))
        assert [(lockout.staff_number, lockout.at) for lockout in lockouts] == [(attendant, at)]
        assert roster.recent_lockouts(at + timedelta(hours=25)) == []
    finally:
        db.close()


# ----------------------------------------------------------------------- audit chain


def _kiosk_with_audit_rows(shop: Shop, keys: StoreKeys, rows: int = 6) -> Path:
    shop.state_dir.mkdir(parents=True, exist_ok=True)
    return database_with_audit_rows(shop.state_dir / "kiosk.db", keys, rows)


def _verify(shop: Shop) -> tuple[int, str]:
    result = invoke(["audit", "verify", "--config", str(shop.config)])
    return result.exit_code, result.output


def _tamper(path: Path, *statements: tuple[str, list[object]]) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TRIGGER audit_log_no_update")
        connection.execute("DROP TRIGGER audit_log_no_delete")
        for sql, parameters in statements:
            connection.execute(sql, parameters)


def _recompute_unkeyed(path: Path) -> None:
    """What an attacker without the key can do: rebuild every hash with plain SHA-256."""
    with sqlite3.connect(path) as connection:
        prev = ""
        rows = connection.execute(
            "SELECT id, at, staff_number, action, outcome, detail FROM audit_log ORDER BY id"
        ).fetchall()
        for row in rows:
            content = json.dumps(list(row), separators=(",", ":")).encode()
            prev = hashlib.sha256(prev.encode() + b"\0" + content).hexdigest()
            connection.execute("UPDATE audit_log SET chain_hash = ? WHERE id = ?", [prev, row[0]])


def test_an_untouched_chain_verifies(tmp_path: Path) -> None:
    shop, keys = _shop_with_credentials(tmp_path)
    _kiosk_with_audit_rows(shop, keys)
    code, output = _verify(shop)
    assert (code, output.strip()) == (0, "Audit chain intact: 6 rows verified.")


@pytest.mark.parametrize("recompute", [False, True], ids=["as_is", "unkeyed_hashes_recomputed"])
def test_verify_finds_a_changed_row(tmp_path: Path, recompute: bool) -> None:
    shop, keys = _shop_with_credentials(tmp_path)
    path = _kiosk_with_audit_rows(shop, keys)
    _tamper(path, ("UPDATE audit_log SET outcome = 'wrong_pin' WHERE id = 3", []))
    if recompute:
        _recompute_unkeyed(path)
    code, output = _verify(shop)
    assert code == 1
    broken_at = "row 1" if recompute else "row 3"  # recomputed: no row's hash is genuine
    assert f"Audit chain BROKEN at {broken_at}: " in output


@pytest.mark.parametrize("recompute", [False, True], ids=["as_is", "unkeyed_hashes_recomputed"])
def test_verify_finds_a_deleted_row(tmp_path: Path, recompute: bool) -> None:
    shop, keys = _shop_with_credentials(tmp_path)
    path = _kiosk_with_audit_rows(shop, keys)
    _tamper(path, ("DELETE FROM audit_log WHERE id = 4", []))
    if recompute:
        _recompute_unkeyed(path)
    code, output = _verify(shop)
    assert code == 1
    if recompute:
        assert "Audit chain BROKEN at row 1: " in output
    else:
        assert "Audit chain BROKEN at row 5: rows 4 to 4 are missing" in output


@pytest.mark.parametrize("recompute", [False, True], ids=["as_is", "unkeyed_hashes_recomputed"])
def test_verify_finds_an_inserted_row(tmp_path: Path, recompute: bool) -> None:
    shop, keys = _shop_with_credentials(tmp_path)
    path = _kiosk_with_audit_rows(shop, keys)
    with sqlite3.connect(path) as connection:
        last = connection.execute("SELECT chain_hash FROM audit_log WHERE id = 6").fetchone()[0]
    _tamper(
        path,
        (
            "INSERT INTO audit_log (at, staff_number, action, outcome, detail, "
            "chain_hash) VALUES ('2026-11-26T09:30:00.000000Z', 1001, "
            "'staff.pin_check', 'ok', NULL, ?)",
            [last],
        ),
    )
    if recompute:
        _recompute_unkeyed(path)
    code, output = _verify(shop)
    assert code == 1
    assert f"Audit chain BROKEN at row {1 if recompute else 7}: " in output


def test_verify_finds_rows_deleted_at_the_end(tmp_path: Path) -> None:
    shop, keys = _shop_with_credentials(tmp_path)
    path = _kiosk_with_audit_rows(shop, keys)
    _tamper(path, ("DELETE FROM audit_log WHERE id >= 5", []))
    code, output = _verify(shop)
    assert code == 1
    assert "row 5: rows 5 to 6 were deleted" in output


def test_verify_without_the_key_says_to_run_as_root(tmp_path: Path) -> None:
    shop = write_config(tmp_path)
    _kiosk_with_audit_rows(shop, KEYS)
    code, output = _verify(shop)
    assert code == 1
    assert "audit-key" in output and "root" in output


# ------------------------------------------------------------------- retention


RETENTION = RetentionSettings(
    acknowledged_outbox_days=1, synced_sales_days=8, print_data_days=1, audit_days=30
)


def test_retention_prunes_by_a_keyed_checkpoint_the_chain_continues_from(tmp_path: Path) -> None:
    shop, keys = _shop_with_credentials(tmp_path)
    path = _kiosk_with_audit_rows(shop, keys, rows=5)
    db = open_database(path, keys=keys)
    try:
        db.execute("UPDATE outbox SET acked_at = ?", ["2026-11-26T12:00:00.000000Z"])
        db.conn.commit()
        report = prune(db, RETENTION, T0 + timedelta(days=31))
        assert report.audit_rows == 5
        checkpoint = json.loads(
            db.conn.execute("SELECT value FROM meta WHERE key = ?", [CHECKPOINT]).fetchone()[0]
        )
        assert checkpoint["after_id"] == 5
        audit.record(db, at=T0 + timedelta(days=31), action="staff.pin_check", outcome="ok")
        assert verify(db, keys).ok
        assert verify(db, keys).before == 5
    finally:
        db.close()
    code, output = _verify(shop)
    assert (code, output.strip()) == (
        0,
        "Audit chain intact: 1 rows verified after the checkpoint at row 5.",
    )


def test_deleting_rows_with_the_pruning_flag_no_longer_passes(tmp_path: Path) -> None:
    shop, keys = _shop_with_credentials(tmp_path)
    path = _kiosk_with_audit_rows(shop, keys)
    with sqlite3.connect(path) as connection:  # what the old flag let anyone do
        connection.execute("INSERT INTO meta (key, value) VALUES ('audit_pruning', '1')")
        connection.execute("DELETE FROM audit_log")
        connection.execute("DELETE FROM meta WHERE key = 'audit_pruning'")
    code, output = _verify(shop)
    assert code == 1
    assert "rows 1 to 6 were deleted" in output
    # A forged checkpoint (without the key) does not help either.
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [
                CHECKPOINT,
                json.dumps(
                    {"after_id": 6, "hash": "0" * 64, "tag": hashlib.sha256(b"x").hexdigest()}
                ),
            ],
        )
    code, output = _verify(shop)
    assert code == 1
    assert "the retention checkpoint is not genuine" in output


def test_a_restored_database_under_another_audit_key_continues_after_a_checkpoint(
    tmp_path: Path,
) -> None:
    kiosk_db = tmp_path / "kiosk.db"
    db = open_database(kiosk_db, keys=KEYS)
    audit.record(db, at=T0, action="staff.pin_check", outcome="ok")
    db.close()
    db = open_database(kiosk_db, keys=OTHER_MACHINE)
    try:
        audit.record(db, at=T0, action="staff.pin_check", outcome="ok")
        report = verify(db, OTHER_MACHINE)
        assert (report.ok, report.checked, report.before) == (True, 1, 1)
        assert not verify(db, KEYS).ok
    finally:
        db.close()


# ------------------------------------------------------------------ where the keys live


def test_keys_create_makes_root_only_keys_once_and_never_replaces_them(tmp_path: Path) -> None:
    folder = tmp_path / "credentials"
    first = invoke(["keys", "create", "--folder", str(folder)])
    assert first.exit_code == 0, first.output
    assert "Created pin-pepper, audit-key" in first.output
    texts = {name: (folder / name).read_text() for name in ("pin-pepper", "audit-key")}
    assert all(len(text.strip()) == 64 for text in texts.values())
    assert texts["pin-pepper"] != texts["audit-key"]
    assert {(folder / name).stat().st_mode & 0o777 for name in texts} == {0o600}

    again = invoke(["keys", "create", "--folder", str(folder)])
    assert again.exit_code == 0 and "nothing changed" in again.output
    assert {name: (folder / name).read_text() for name in texts} == texts
    other = tmp_path / "cloned-machine"
    invoke(["keys", "create", "--folder", str(other)])
    assert (other / "pin-pepper").read_text() != texts["pin-pepper"]


def test_the_demo_keeps_its_own_keys_and_peppers_its_staff(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    prepared = run_kiosk(["demo", "--data-dir", str(data_dir), "--prepare-only"], home=tmp_path)
    assert prepared.returncode == 0, prepared.stderr
    keys = keys_from_secrets(load_secrets({}, data_dir / "credentials"))
    assert keys is not None
    rows = _staff_rows(data_dir / "kiosk.db")
    assert rows and all(row[3] == 1 for row in rows.values())
    db = open_database(data_dir / "kiosk.db", keys=keys)
    try:
        assert pepper_state(db) is PepperState.OK
        assert verify(db, keys).ok
        assert StaffRoster(db).check_pin(min(rows), "246810", T0).ok  # the demo attendant
    finally:
        db.close()
