"""The ``kiosk`` command as a shop owner or technician uses it: real processes, real files.

Cases that depend on what a process sees (exit statuses, stdin that is not a terminal, the
single-instance lock held by another process) run the installed console script; the rest go
through click's CliRunner to keep the file fast.
"""

from __future__ import annotations

import json
import queue
import re
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
import stripe
from cli_support import (
    BASE_CONFIG,
    SAMPLE_CATALOG,
    SAMPLE_PRODUCTS,
    SUBPROCESS_TIMEOUT_S,
    Shop,
    clean_environment,
    import_sample,
    invoke,
    kiosk_executable,
    kiosk_running,
    product_count,
    product_price,
    run_kiosk,
    write_config,
)

from kiosk.cli import cli
from kiosk.core.pins import PinOutcome
from kiosk.sim.virtual_scanner import VirtualScanner
from kiosk.store.db import open_database
from kiosk.store.staff import StaffRole, StaffRoster

MINERAL_WATER = "4006381333931"
MINERAL_WATER_CODE = "04006381333931"
CROISSANT_CODE = "05012345001258"
MANAGER_PIN = "482916"
WRONG_PIN = "000000"


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    """A valid shop config with its state directory in tmp_path (no database yet)."""
    return write_config(tmp_path)


@pytest.fixture
def stocked_shop(shop: Shop) -> Shop:
    """The shop with the sample catalog imported."""
    import_sample(shop)
    return shop


def staff_roster_add(shop: Shop, name: str, role: StaffRole, pin: str | None) -> int:
    """Add a staff member directly in the shop's database; return their number."""
    db = open_database(shop.database)
    try:
        roster = StaffRoster(db)
        number = roster.add(name, role, datetime.now(UTC)).number
        if pin is not None:
            roster.set_pin(number, pin, datetime.now(UTC))
    finally:
        db.close()
    return number


def pin_outcome(shop: Shop, number: int, pin: str) -> PinOutcome:
    """Check a PIN against the shop's database at the real current time."""
    db = open_database(shop.database)
    try:
        return StaffRoster(db).check_pin(number, pin, datetime.now(UTC)).outcome
    finally:
        db.close()


# --- help and configuration -------------------------------------------------------------------


def leaf_commands(group: click.Group, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every command path below ``group`` that is not itself a group."""
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.extend(leaf_commands(command, (*path, name)))
        else:
            found.append((*path, name))
    return found


def test_kiosk_help_lists_every_command_with_a_one_line_description(tmp_path: Path) -> None:
    top = run_kiosk(["--help"], home=tmp_path)
    assert top.returncode == 0, top.stderr
    for name in cli.commands:
        assert re.search(rf"^  {re.escape(name)}\s+\S.*$", top.stdout, re.MULTILINE), (
            f"`kiosk --help` does not describe {name!r}:\n{top.stdout}"
        )
    for group_name, group in cli.commands.items():
        if not isinstance(group, click.Group):
            continue
        shown = invoke([group_name, "--help"])
        assert shown.exit_code == 0
        for name in group.commands:
            assert re.search(rf"^  {re.escape(name)}\s+\S.*$", shown.stdout, re.MULTILINE), (
                f"`kiosk {group_name} --help` does not describe {name!r}:\n{shown.stdout}"
            )
    assert len(leaf_commands(cli, ("kiosk",))) >= 11


@pytest.mark.parametrize(
    ("edit", "key", "value"),
    [
        (lambda text: text.replace('currency = "EUR"\n', ""), "shop.currency", None),
        (
            lambda text: text.replace(
                'name = "Corner Shop"', 'name = "Corner Shop"\ncolour = "red"'
            ),
            "shop.colour",
            None,
        ),
        (
            lambda text: text.replace("Europe/Berlin", "Europe/Atlantis"),
            "shop.time_zone",
            "Europe/Atlantis",
        ),
    ],
    ids=["missing-currency", "unknown-key", "bad-time-zone"],
)
def test_a_bad_config_exits_with_status_2_naming_the_key_and_the_bad_value(
    tmp_path: Path, edit: Callable[[str], str], key: str, value: str | None
) -> None:
    text = edit(BASE_CONFIG)
    assert text != BASE_CONFIG
    shop = write_config(tmp_path, text)
    result = run_kiosk(["config", "check", "--config", str(shop.config)], home=tmp_path)
    assert result.returncode == 2
    assert key in result.stderr
    if value is not None:
        assert value in result.stderr
    if key == "shop.colour":
        assert "unknown key" in result.stderr
    if key == "shop.currency":
        assert "missing" in result.stderr
    assert "valid." not in result.stdout
    assert not shop.state_dir.exists()


def test_a_missing_config_file_exits_with_status_2_and_says_it_is_not_found(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nowhere.toml"
    result = run_kiosk(
        ["catalog", "lookup", "--config", str(missing), MINERAL_WATER], home=tmp_path
    )
    assert result.returncode == 2
    assert str(missing) in result.stderr
    assert "not found" in result.stderr


def test_config_check_on_a_valid_file_says_valid_and_summarises_the_shop(shop: Shop) -> None:
    result = invoke(["config", "check", "--config", str(shop.config)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout
    assert "Corner Shop" in result.stdout
    assert "EUR" in result.stdout and "Europe/Berlin" in result.stdout
    assert str(shop.database) in result.stdout


# --- catalog ------------------------------------------------------------------------------------


def test_the_sample_catalog_imports_and_the_counts_are_printed(shop: Shop) -> None:
    result = run_kiosk(
        ["catalog", "import", "--config", str(shop.config), str(SAMPLE_CATALOG)],
        home=shop.config.parent,
    )
    assert result.returncode == 0, result.stderr
    assert f"Imported {SAMPLE_PRODUCTS} product(s)" in result.stdout
    assert f"{SAMPLE_PRODUCTS} new, 0 updated" in result.stdout
    assert product_count(shop.database) == SAMPLE_PRODUCTS
    assert product_price(shop.database, MINERAL_WATER_CODE) == 49


BAD_CSV = """\
barcode,plu,name,price,tax_class,min_age,sold_by_weight,unit_price_per_kg,department
4006381333931,,Mineral water still 1.5 l,9.99,reduced,,,,Drinks
4006381333932,,Misread water,0.49,reduced,,,,Drinks
5012345001258,,Butter croissant,1.05,reduced,,,,Bakery
5012345001012,,Orange juice 1 l,-1.89,reduced,,,,Drinks
4000000000006,,A brand new product,2.00,standard,,,,Pantry
"""


def test_a_bad_catalog_file_lists_every_bad_line_and_changes_nothing(
    stocked_shop: Shop, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_CSV, encoding="utf-8")
    before = product_count(stocked_shop.database)
    result = run_kiosk(
        ["catalog", "import", "--config", str(stocked_shop.config), str(bad)], home=tmp_path
    )
    assert result.returncode == 1
    assert "nothing was imported" in result.stdout
    line_3 = [line for line in result.stdout.splitlines() if "line 3" in line]
    line_5 = [line for line in result.stdout.splitlines() if "line 5" in line]
    assert line_3 and "check digit" in line_3[0]
    assert line_5 and "negative" in line_5[0].lower()
    assert "line 2" not in result.stdout and "line 4" not in result.stdout
    assert product_count(stocked_shop.database) == before == SAMPLE_PRODUCTS
    # the good rows of the rejected file were not written either
    assert product_price(stocked_shop.database, MINERAL_WATER_CODE) == 49
    assert product_price(stocked_shop.database, CROISSANT_CODE) == 95
    assert product_price(stocked_shop.database, "04000000000006") is None


def test_importing_a_catalog_again_updates_changed_products_and_adds_new_ones(
    stocked_shop: Shop, tmp_path: Path
) -> None:
    update = tmp_path / "update.csv"
    update.write_text(
        "barcode,plu,name,price,tax_class,min_age,sold_by_weight,unit_price_per_kg,department\n"
        "4006381333931,,Mineral water still 1.5 l,0.59,reduced,,,,Drinks\n"
        "4000000000006,,A brand new product,2.00,standard,,,,Pantry\n",
        encoding="utf-8",
    )
    result = invoke(["catalog", "import", "--config", str(stocked_shop.config), str(update)])
    assert result.exit_code == 0, result.output
    assert "1 new, 1 updated" in result.stdout
    assert product_price(stocked_shop.database, MINERAL_WATER_CODE) == 59
    assert product_price(stocked_shop.database, "04000000000006") == 200
    assert product_count(stocked_shop.database) == SAMPLE_PRODUCTS + 1


def test_looking_up_a_known_barcode_shows_the_product_name_and_price(stocked_shop: Shop) -> None:
    result = invoke(["catalog", "lookup", "--config", str(stocked_shop.config), MINERAL_WATER])
    assert result.exit_code == 0, result.output
    assert "Mineral water still 1.5 l" in result.stdout
    assert "0,49" in result.stdout and "€" in result.stdout


def test_looking_up_a_valid_barcode_the_shop_does_not_sell_says_it_is_not_in_the_catalog(
    stocked_shop: Shop,
) -> None:
    result = invoke(["catalog", "lookup", "--config", str(stocked_shop.config), "4000000000006"])
    assert result.exit_code == 1
    assert "not in the catalog" in result.stdout


@pytest.mark.parametrize(
    ("code", "reason"),
    [("4006381333932", "bad_check_digit"), ("hello", "unsupported_symbology")],
)
def test_looking_up_garbage_explains_why_it_is_not_a_usable_barcode(
    stocked_shop: Shop, code: str, reason: str
) -> None:
    result = invoke(["catalog", "lookup", "--config", str(stocked_shop.config), code])
    assert result.exit_code == 1
    assert "not a usable barcode" in result.stdout
    assert f"[{reason}]" in result.stdout


def test_looking_up_an_in_store_price_embedded_code_shows_the_embedded_price(
    stocked_shop: Shop,
) -> None:
    # prefix 20, PLU 00101 (the deli cheese of the sample catalog), price 4.50, check digit 9
    result = invoke(["catalog", "lookup", "--config", str(stocked_shop.config), "2000101004509"])
    assert result.exit_code == 0, result.output
    assert "in-store item 00101" in result.stdout
    assert "embedded price 4,50" in result.stdout
    assert "Gruyère deli cheese" in result.stdout


# --- staff --------------------------------------------------------------------------------------


def test_staff_add_prints_the_new_staff_number(shop: Shop) -> None:
    first = invoke(["staff", "add", "--config", str(shop.config), "Ann", "--role", "manager"])
    second = invoke(["staff", "add", "--config", str(shop.config), "Bob", "--role", "attendant"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "staff number 1001" in first.stdout
    assert "staff number 1002" in second.stdout
    listed = invoke(["staff", "list", "--config", str(shop.config)])
    assert "1001  Ann  manager  (no PIN)" in listed.stdout
    assert "1002  Bob  attendant  (no PIN)" in listed.stdout


def test_a_pin_piped_to_set_pin_is_set_and_never_echoed(shop: Shop) -> None:
    added = run_kiosk(
        ["staff", "add", "--config", str(shop.config), "Ann", "--role", "manager"],
        home=shop.config.parent,
    )
    assert added.returncode == 0, added.stderr
    number = int(re.findall(r"staff number (\d+)", added.stdout)[0])
    result = run_kiosk(
        ["staff", "set-pin", "--config", str(shop.config), str(number)],
        home=shop.config.parent,
        stdin=f"{MANAGER_PIN}\n",
    )
    assert result.returncode == 0, result.stderr
    assert f"PIN set for staff {number}" in result.stdout
    assert MANAGER_PIN not in result.stdout + result.stderr
    assert pin_outcome(shop, number, MANAGER_PIN) is PinOutcome.OK
    assert pin_outcome(shop, number, WRONG_PIN) is PinOutcome.WRONG_PIN
    listed = invoke(["staff", "list", "--config", str(shop.config)])
    assert f"{number}  Ann  manager  (PIN set)" in listed.stdout
    assert MANAGER_PIN.encode() not in shop.database.read_bytes()


def test_a_four_digit_pin_is_refused_with_a_reason(shop: Shop) -> None:
    number = staff_roster_add(shop, "Ann", StaffRole.ATTENDANT, pin=None)
    result = run_kiosk(
        ["staff", "set-pin", "--config", str(shop.config), str(number)],
        home=shop.config.parent,
        stdin="4821\n",
    )
    assert result.returncode == 1
    assert "at least 6 digits" in result.stderr
    assert "4821" not in result.stdout + result.stderr
    assert pin_outcome(shop, number, "4821") is PinOutcome.NO_PIN


def test_set_pin_for_an_unknown_staff_number_fails(shop: Shop) -> None:
    staff_roster_add(shop, "Ann", StaffRole.MANAGER, pin=None)
    result = invoke(["staff", "set-pin", "--config", str(shop.config), "4242"], stdin="123456\n")
    assert result.exit_code == 1
    assert "No staff member has number 4242" in result.stderr


def lock_out(shop: Shop, number: int) -> None:
    """Lock a staff member out with five wrong PINs at the real current time."""
    db = open_database(shop.database)
    try:
        roster = StaffRoster(db)
        now = datetime.now(UTC)
        outcomes = [roster.check_pin(number, WRONG_PIN, now).outcome for _ in range(5)]
    finally:
        db.close()
    assert outcomes == [PinOutcome.WRONG_PIN] * 4 + [PinOutcome.LOCKED]


def test_a_manager_unlocks_a_locked_out_attendant_with_their_pin_on_stdin(shop: Shop) -> None:
    manager = staff_roster_add(shop, "Ann", StaffRole.MANAGER, MANAGER_PIN)
    attendant = staff_roster_add(shop, "Bob", StaffRole.ATTENDANT, "135792")
    lock_out(shop, attendant)
    assert pin_outcome(shop, attendant, "135792") is PinOutcome.LOCKED
    result = run_kiosk(
        [
            "staff",
            "unlock",
            "--config",
            str(shop.config),
            str(attendant),
            "--manager",
            str(manager),
        ],
        home=shop.config.parent,
        stdin=f"{MANAGER_PIN}\n",
    )
    assert result.returncode == 0, result.stderr
    assert f"Lockout cleared for staff {attendant}" in result.stdout
    assert MANAGER_PIN not in result.stdout + result.stderr
    assert pin_outcome(shop, attendant, "135792") is PinOutcome.OK


def test_unlock_with_a_wrong_manager_pin_fails_and_the_lockout_stays(shop: Shop) -> None:
    manager = staff_roster_add(shop, "Ann", StaffRole.MANAGER, MANAGER_PIN)
    attendant = staff_roster_add(shop, "Bob", StaffRole.ATTENDANT, "135792")
    lock_out(shop, attendant)
    result = run_kiosk(
        [
            "staff",
            "unlock",
            "--config",
            str(shop.config),
            str(attendant),
            "--manager",
            str(manager),
        ],
        home=shop.config.parent,
        stdin="999999\n",
    )
    assert result.returncode == 1
    assert "Manager PIN not accepted" in result.stderr
    assert "999999" not in result.stdout + result.stderr
    assert pin_outcome(shop, attendant, "135792") is PinOutcome.LOCKED


def test_an_attendant_cannot_clear_a_lockout_even_with_the_right_pin(shop: Shop) -> None:
    helper_pin = "606060"
    attendant = staff_roster_add(shop, "Cy", StaffRole.ATTENDANT, helper_pin)
    locked = staff_roster_add(shop, "Bob", StaffRole.ATTENDANT, "135792")
    lock_out(shop, locked)
    result = invoke(
        ["staff", "unlock", "--config", str(shop.config), str(locked), "--manager", str(attendant)],
        stdin=f"{helper_pin}\n",
    )
    assert result.exit_code == 1
    assert "Not allowed" in result.stderr
    assert pin_outcome(shop, locked, "135792") is PinOutcome.LOCKED


# --- database -----------------------------------------------------------------------------------


def test_db_check_reports_integrity_ok_and_the_row_counts(stocked_shop: Shop) -> None:
    result = invoke(["db", "check", "--config", str(stocked_shop.config)])
    assert result.exit_code == 0, result.output
    assert "integrity: ok" in result.stdout
    assert f"rows in products: {SAMPLE_PRODUCTS}" in result.stdout


def test_db_check_without_a_database_fails_and_creates_none(shop: Shop) -> None:
    result = invoke(["db", "check", "--config", str(shop.config)])
    assert result.exit_code == 1
    assert "no database yet" in result.stdout
    assert not shop.database.exists()


def test_db_backup_writes_a_copy_that_opens_with_the_products(
    stocked_shop: Shop, tmp_path: Path
) -> None:
    dest = tmp_path / "backups" / "copy.db"
    dest.parent.mkdir()
    result = invoke(["db", "backup", "--config", str(stocked_shop.config), str(dest)])
    assert result.exit_code == 0, result.output
    assert str(dest) in result.stdout
    assert product_count(dest) == SAMPLE_PRODUCTS
    with sqlite3.connect(dest) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    connection.close()


def test_db_backup_onto_an_existing_file_needs_overwrite(
    stocked_shop: Shop, tmp_path: Path
) -> None:
    dest = tmp_path / "copy.db"
    dest.write_bytes(b"keep me")
    refused = invoke(["db", "backup", "--config", str(stocked_shop.config), str(dest)])
    assert refused.exit_code == 1
    assert "--overwrite" in refused.stderr
    assert dest.read_bytes() == b"keep me"
    replaced = invoke(
        ["db", "backup", "--config", str(stocked_shop.config), str(dest), "--overwrite"]
    )
    assert replaced.exit_code == 0, replaced.output
    assert product_count(dest) == SAMPLE_PRODUCTS


# --- a running kiosk ----------------------------------------------------------------------------


def test_commands_that_write_refuse_with_status_3_while_the_kiosk_runs_but_backup_works(
    stocked_shop: Shop, tmp_path: Path
) -> None:
    config = str(stocked_shop.config)
    dest = tmp_path / "while-running.db"
    with kiosk_running(stocked_shop.state_dir):
        imported = run_kiosk(
            ["catalog", "import", "--config", config, str(SAMPLE_CATALOG)], home=tmp_path
        )
        added = run_kiosk(
            ["staff", "add", "--config", config, "Eve", "--role", "manager"], home=tmp_path
        )
        backup = run_kiosk(["db", "backup", "--config", config, str(dest)], home=tmp_path)
        run = run_kiosk(["run", "--config", config], home=tmp_path)
    for refused in (imported, added, run):
        assert refused.returncode == 3, refused.args
        assert "the kiosk is running" in refused.stderr
        assert str(stocked_shop.state_dir) in refused.stderr
    assert "Imported" not in imported.stdout
    assert "Eve" not in invoke(["staff", "list", "--config", config]).stdout
    assert backup.returncode == 0, backup.stderr
    assert product_count(dest) == SAMPLE_PRODUCTS


def test_kiosk_run_with_no_input_starts_and_stops_cleanly(stocked_shop: Shop) -> None:
    result = run_kiosk(
        ["run", "--console", "--config", str(stocked_shop.config)],
        home=stocked_shop.config.parent,
    )
    assert result.returncode == 0, result.stderr
    assert "Commands:" in result.stdout
    assert "Corner Shop: scan an item to start" in result.stdout
    assert "Traceback" not in result.stderr
    # the lock is released once it has stopped: a writing command works again
    added = invoke(
        ["staff", "add", "--config", str(stocked_shop.config), "Ann", "--role", "manager"]
    )
    assert added.exit_code == 0, added.output


# --- demo ---------------------------------------------------------------------------------------


def demo_staff_numbers(output: str) -> list[str]:
    """The staff numbers the demo printed."""
    return re.findall(r"Demo staff (\d+) ", output)


def test_preparing_the_demo_twice_keeps_the_same_staff_and_catalog(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    first = run_kiosk(["demo", "--data-dir", str(data_dir), "--prepare-only"], home=tmp_path)
    second = run_kiosk(["demo", "--data-dir", str(data_dir), "--prepare-only"], home=tmp_path)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert demo_staff_numbers(first.stdout) == demo_staff_numbers(second.stdout)
    assert len(demo_staff_numbers(first.stdout)) == 2
    assert f"{SAMPLE_PRODUCTS} products" in second.stdout
    assert product_count(data_dir / "kiosk.db") == SAMPLE_PRODUCTS
    with sqlite3.connect(data_dir / "kiosk.db") as connection:
        (staff,) = connection.execute("SELECT COUNT(*) FROM staff").fetchone()
    connection.close()
    assert staff == 2
    assert not (tmp_path / "xdg-data").exists()


def test_demo_reset_starts_from_a_fresh_data_folder(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    first = run_kiosk(["demo", "--data-dir", str(data_dir), "--prepare-only"], home=tmp_path)
    assert first.returncode == 0, first.stderr
    other_file = data_dir / "notes.txt"
    other_file.write_text("not the demo's", encoding="utf-8")
    with sqlite3.connect(data_dir / "kiosk.db") as connection:
        connection.execute("DELETE FROM products WHERE code = ?", [MINERAL_WATER_CODE])
    connection.close()
    reset = run_kiosk(
        ["demo", "--data-dir", str(data_dir), "--prepare-only", "--reset"], home=tmp_path
    )
    assert reset.returncode == 0, reset.stderr
    assert other_file.exists()  # --reset replaces the database only, never other files
    assert product_price(data_dir / "kiosk.db", MINERAL_WATER_CODE) == 49
    assert demo_staff_numbers(reset.stdout) == ["1001", "1002"]


def test_a_demo_session_scans_an_item_and_shows_it_in_the_cart(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    result = run_kiosk(
        ["demo", "--console", "--data-dir", str(data_dir)],
        home=tmp_path,
        stdin=f"{MINERAL_WATER}\nquit\n",
    )
    assert result.returncode == 0, result.stderr
    cart = result.stdout.split("--- Sale", 1)
    assert len(cart) == 2, result.stdout
    assert "Mineral water" in cart[1]
    assert "Total €0.49" in cart[1]


def test_kiosk_run_shows_the_open_cart_it_restored_at_start(stocked_shop: Shop) -> None:
    home = stocked_shop.config.parent
    config = str(stocked_shop.config)
    first = run_kiosk(
        ["run", "--console", "--config", config], home=home, stdin="4006381333931\nquit\n"
    )
    assert first.returncode == 0, first.stderr
    again = run_kiosk(["run", "--console", "--config", config], home=home)
    assert again.returncode == 0, again.stderr
    assert "restored the open sale" in again.stdout
    assert "Mineral water" in again.stdout


# --- errors end in one line, never a traceback ---------------------------------------------


def test_unlocking_an_unknown_staff_member_fails_with_one_line(stocked_shop: Shop) -> None:
    config = str(stocked_shop.config)
    manager = staff_roster_add(stocked_shop, "Mia", StaffRole.MANAGER, "135790")
    result = run_kiosk(
        ["staff", "unlock", "--config", config, "4242", "--manager", str(manager)],
        home=stocked_shop.config.parent,
        stdin="135790\n",
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "4242" in result.stderr


def test_a_staff_number_out_of_range_is_a_usage_error(stocked_shop: Shop) -> None:
    result = run_kiosk(
        ["staff", "set-pin", "--config", str(stocked_shop.config), "9" * 25],
        home=stocked_shop.config.parent,
        stdin="123456\n",
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_a_backup_into_a_missing_folder_fails_with_one_line(
    stocked_shop: Shop, tmp_path: Path
) -> None:
    result = run_kiosk(
        ["db", "backup", "--config", str(stocked_shop.config), str(tmp_path / "no" / "x.db")],
        home=tmp_path,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("kiosk: ")


# --- the demo's data folder -----------------------------------------------------------------


def test_demo_reset_refuses_while_the_demo_runs_and_keeps_its_sales(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    prepared = run_kiosk(["demo", "--data-dir", str(data), "--prepare-only"], home=tmp_path)
    assert prepared.returncode == 0, prepared.stderr
    with kiosk_running(data):
        reset = run_kiosk(
            ["demo", "--data-dir", str(data), "--reset", "--prepare-only"], home=tmp_path
        )
    assert reset.returncode == 3
    assert product_count(data / "kiosk.db") == SAMPLE_PRODUCTS


def test_the_demo_never_uses_a_folder_that_is_not_its_own(tmp_path: Path) -> None:
    precious = tmp_path / "documents"
    precious.mkdir()
    (precious / "letter.txt").write_text("keep me", encoding="utf-8")
    result = run_kiosk(
        ["demo", "--data-dir", str(precious), "--reset", "--prepare-only"], home=tmp_path
    )
    assert result.returncode == 1
    assert (precious / "letter.txt").read_text(encoding="utf-8") == "keep me"
    assert not (precious / "kiosk.db").exists()


def test_the_console_handles_lines_that_arrive_together_at_once(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    process = subprocess.Popen(
        [kiosk_executable(), "demo", "--console", "--data-dir", str(data)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_environment(tmp_path),
    )
    assert process.stdin is not None and process.stdout is not None
    seen: queue.SimpleQueue[str] = queue.SimpleQueue()
    threading.Thread(
        target=lambda: [seen.put(line) for line in process.stdout], daemon=True  # type: ignore[union-attr]
    ).start()
    try:
        process.stdin.write("4006381333931\n5012345001050\n")  # one write, two scans
        process.stdin.flush()
        deadline = time.monotonic() + SUBPROCESS_TIMEOUT_S
        while time.monotonic() < deadline:  # a guard against hanging, not a timing assertion
            if "Lager beer" in seen.get(timeout=SUBPROCESS_TIMEOUT_S):
                break
        else:
            raise AssertionError("the second scan was not handled while input stayed open")
    finally:
        process.stdin.close()
        process.wait(timeout=SUBPROCESS_TIMEOUT_S)
    assert process.returncode == 0


# --- kiosk scanner test ---------------------------------------------------------------------


def test_scanner_test_prints_each_frame_and_keeps_going_across_unplug_and_replug(
    stocked_shop: Shop, tmp_path: Path
) -> None:
    with VirtualScanner(tmp_path / "kiosk-scanner") as device:
        process = subprocess.Popen(
            [kiosk_executable(), "scanner", "test", "--config", str(stocked_shop.config),
             "--port", device.path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_environment(tmp_path),
        )
        assert process.stdout is not None
        lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        threading.Thread(
            target=lambda: [lines.put(line) for line in process.stdout],  # type: ignore[union-attr]
            daemon=True,
        ).start()

        def next_line_with(text: str) -> str:
            while True:  # each get() is guarded by a timeout: a hang fails the test
                line = lines.get(timeout=SUBPROCESS_TIMEOUT_S)
                if text in line:
                    return line

        try:
            next_line_with("scanner connected")
            device.scan("4006381333931")
            assert "Mineral water still 1.5 l" in next_line_with("frame")
            device.scan("4006381333932")
            assert "rejected: bad_check_digit" in next_line_with("frame")
            device.scan("4006381333932")  # the scanner fired twice
            assert "double_fire" in next_line_with("discarded")
            device.write_raw(b"4006381333931")  # a scanner set up without its CR suffix
            assert "no_terminator" in next_line_with("discarded")
            device.unplug()
            next_line_with("scanner disconnected")
            device.replug()
            next_line_with("scanner connected")
            device.scan("5012345001050")
            assert "Lager beer" in next_line_with("frame")
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=SUBPROCESS_TIMEOUT_S)
    assert process.returncode == 0


# --- kiosk sim stripe -----------------------------------------------------------------------


def test_sim_stripe_prints_its_url_first_and_keeps_its_objects_in_the_state_file(
    tmp_path: Path,
) -> None:
    state = tmp_path / "stripe.json"

    def serve_once() -> str:
        process = subprocess.Popen(
            [kiosk_executable(), "sim", "stripe", "--port", "0", "--state", str(state)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=clean_environment(tmp_path),
        )
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        try:
            assert url.startswith("http://127.0.0.1:")
            client = stripe.StripeClient(
                "sk_test_cli", base_addresses={"api": url}, max_network_retries=0
            )
            locations = client.v1.terminal.locations.list()
            if not locations.data:
                client.v1.terminal.locations.create(
                    {"display_name": "Shop", "address": {"country": "IE", "line1": "1 Main St",
                                                        "city": "Dublin", "postal_code": "D01"}}
                )
            return str(client.v1.terminal.locations.list().data[0].id)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=SUBPROCESS_TIMEOUT_S)

    first = serve_once()
    assert serve_once() == first  # a restarted emulator finds its objects again


# --- kiosk reader and kiosk reconcile (against the embedded emulator) ------------------------


def test_reader_and_reconcile_commands_work_against_the_embedded_emulator(
    stocked_shop: Shop, tmp_path: Path
) -> None:
    config = str(stocked_shop.config)
    home = tmp_path
    before = run_kiosk(["reader", "status", "--config", config], home=home)
    assert before.returncode == 0, before.stderr
    assert "No reader is registered" in before.stdout

    reconciled = run_kiosk(["reconcile", "--config", config], home=home)
    assert reconciled.returncode == 0, reconciled.stderr
    assert "checked 0 local payment(s)" in reconciled.stdout

    after = run_kiosk(["reader", "status", "--config", config], home=home)
    assert "Demo kiosk reader" in after.stdout and "online" in after.stdout

    state = json.loads((stocked_shop.state_dir / "stripe-emulator.json").read_text())
    (location,) = state["locations"]
    registered = run_kiosk(
        ["reader", "register", "--config", config, "simulated-s700", "--location", location],
        home=home,
    )
    assert registered.returncode == 0, registered.stderr
    assert "reader_id = \"tmr_" in registered.stdout

    with kiosk_running(stocked_shop.state_dir):
        refused = run_kiosk(["reconcile", "--config", config], home=home)
    assert refused.returncode == 3
