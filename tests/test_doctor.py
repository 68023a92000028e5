"""``kiosk doctor`` tells a technician what is wrong with a kiosk, and what to do about it.

A healthy demo-like kiosk (virtual devices, the embedded Stripe emulator, a real ``kiosk hq
serve`` with the kiosk's token) passes; each broken part fails its own row with a hint and
exit status 1: a bad config (status 2), a missing scanner, a damaged database, an unreachable
back office, a wrong clock, no manager. The parts are real (SQLite files, server processes,
the Stripe emulator, a pseudo-terminal, the virtual printer); only the disk's free space is
a stand-in, since a test cannot fill a real disk.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
from cli_support import Shop, invoke, run_kiosk
from click.testing import CliRunner
from doctor_support import (
    MANAGER_PIN,
    add_staff,
    backoffice_table,
    certificate_valid_from_2099,
    closed_port,
    healthy_shop,
    shop_config,
    table_rows,
    tls_server,
)
from hq_support import HQProcess, start_hq

from kiosk.cli import cli
from kiosk.config import load_settings
from kiosk.doctor import DoctorContext, Status, run_checks, run_doctor
from kiosk.doctor.checks import Check
from kiosk.doctor.clock import NAME as CLOCK
from kiosk.doctor.clock import check_clock
from kiosk.doctor.config_checks import CREDENTIALS_FOLDER, check_config
from kiosk.doctor.devices import PRINTER, check_printer
from kiosk.doctor.reachability import CARD_READER, check_card_reader
from kiosk.doctor.result import CheckResult, passed
from kiosk.doctor.storage_checks import (
    DISK,
    backup_freshness,
    check_disk,
    newest_backup,
)
from kiosk.hq.tokens import token_hash
from kiosk.sim.stripe_emulator import StripeEmulator
from kiosk.sim.stripe_emulator.faults import Fault
from kiosk.sim.virtual_printer import VirtualPrinter
from kiosk.store.db import open_database
from kiosk.store.maintenance import backup_file_name
from kiosk.store.staff import StaffRole

KIOSK_ID = "lane-1"
CANARY_STRIPE_KEY = "sk_test_CANARY_doctor_4711"
CANARY_REFUSED_KEY = "sk_live_CANARY_doctor_refused_0815"
CANARY_TOKEN = "CANARY-doctor-token-2342"
SCANNER_PORT = '[scanner]\nport = "virtual"'
MARK = "CANARY"
"""The part every canary shares (test paths are lowercase, so it cannot occur by chance)."""


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[HQProcess]:
    """A running reference back office (``kiosk hq serve``) with its own database."""
    with start_hq(tmp_path / "hq") as server:
        yield server


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[StripeEmulator]:
    """A standalone Stripe emulator on loopback, as a real Stripe API stand-in."""
    running = StripeEmulator(state_path=tmp_path / "stripe.json")
    running.start()
    yield running
    running.stop()


def doctor(shop: Shop, home: Path, env: dict[str, str] | None = None, *args: str
           ) -> tuple[int, str, str]:
    """Run the real ``kiosk doctor`` process on ``shop``: (status, stdout, stderr)."""
    done = run_kiosk(["doctor", "--config", str(shop.config), *args], home=home, env=env)
    return done.returncode, done.stdout, done.stderr


def doctor_in_process(shop: Shop, env: dict[str, str] | None = None, *args: str
                      ) -> tuple[int, str]:
    """Run ``kiosk doctor`` through click's CliRunner with exactly ``env`` as the kiosk's
    variables: (status, output)."""
    environment: dict[str, str | None] = {
        "KIOSK_STRIPE_API_KEY": None, "KIOSK_BACKOFFICE_TOKEN": None,
        "CREDENTIALS_DIRECTORY": None, "STATE_DIRECTORY": None, "KIOSK_CONFIG": None,
    }
    environment.update(env or {})
    result = CliRunner().invoke(cli, ["doctor", "--config", str(shop.config), *args],
                                env=environment, catch_exceptions=False)
    return result.exit_code, result.output


def unknown_ntp() -> bool | None:
    """What ``timedatectl`` tells in a container: nothing."""
    return None


# --- the healthy kiosk -----------------------------------------------------------------------


def test_a_healthy_kiosk_passes_every_check_and_exits_0(tmp_path: Path, hq: HQProcess) -> None:
    shop = healthy_shop(tmp_path, extra=backoffice_table(hq.url))
    token = hq.token_for(KIOSK_ID)

    status, out, err = doctor(shop, tmp_path, {"KIOSK_BACKOFFICE_TOKEN": token})

    assert status == 0, out + err
    rows = table_rows(out)
    for name in ("config", "database", "clock", "staff", "scanner", "printer", "card reader",
                 "back office"):
        assert rows[name].status == "pass", (name, rows[name])
    assert "disk" in rows
    assert all(row.status != "fail" for row in rows.values())
    assert "Maria Manager (1001)" in rows["staff"].detail
    assert "back office's clock" in rows["clock"].detail
    assert "accepts the token of kiosk lane-1" in rows["back office"].detail
    assert token not in out + err


def test_the_doctor_only_reads_and_never_creates_a_database(tmp_path: Path) -> None:
    shop = shop_config(tmp_path)

    status, out = doctor_in_process(shop)

    assert status == 1
    rows = table_rows(out)
    assert rows["database"].status == "fail"
    assert f"no database at {shop.database}" in rows["database"].detail
    assert rows["staff"].status == "fail"
    assert not shop.database.exists()


def test_json_output_is_one_object_with_a_summary_and_every_check(tmp_path: Path) -> None:
    shop = healthy_shop(tmp_path)

    status, out = doctor_in_process(shop, None, "--json")

    document = json.loads(out)
    assert set(document) == {"ok", "summary", "checks"}
    assert document["ok"] is (status == 0)
    names = [check["name"] for check in document["checks"]]
    assert names[:9] == ["config", "database", "disk", "clock", "staff", "scanner", "printer",
                         "card reader", "back office"]
    for check in document["checks"]:
        assert set(check) == {"name", "status", "detail", "hint"}
        assert check["status"] in {"pass", "warn", "fail"}
        assert check["detail"]
        assert bool(check["hint"]) is (check["status"] != "pass")
    statuses = [check["status"] for check in document["checks"]]
    assert document["summary"] == {kind: statuses.count(kind) for kind in ("pass", "warn", "fail")}
    back_office = next(c for c in document["checks"] if c["name"] == "back office")
    assert back_office == {
        "name": "back office", "status": "warn", "detail": "not configured: sync is off",
        "hint": back_office["hint"],
    }


# --- configuration ---------------------------------------------------------------------------


def test_a_configuration_that_cannot_be_validated_exits_2_and_names_the_key(
    tmp_path: Path,
) -> None:
    shop = shop_config(tmp_path, replace={'currency = "EUR"': 'currency = "EURO"'})

    status, out = doctor_in_process(shop)

    assert status == 2
    rows = table_rows(out)
    assert list(rows) == ["config"]
    assert rows["config"].status == "fail"
    assert "shop.currency" in rows["config"].detail
    assert "kiosk config check" in rows["config"].hint


def test_a_missing_configuration_file_exits_2_with_its_row(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"

    result = invoke(["doctor", "--config", str(missing)])

    assert result.exit_code == 2
    rows = table_rows(result.output)
    assert rows["config"].status == "fail"
    assert "configuration file not found" in rows["config"].detail


def test_an_unusable_secret_fails_the_config_row_but_the_other_checks_still_run(
    tmp_path: Path,
) -> None:
    shop = healthy_shop(tmp_path)
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "backoffice-token").write_text("\n", encoding="utf-8")

    status, out = doctor_in_process(shop, {"CREDENTIALS_DIRECTORY": str(credentials)})

    assert status == 1
    rows = table_rows(out)
    assert rows["config"].status == "fail"
    assert "backoffice-token" in rows["config"].detail
    assert rows["database"].status == "pass"
    assert rows["staff"].status == "pass"


def test_outside_the_service_the_doctor_reads_the_secret_files_the_service_loads(
    tmp_path: Path, hq: HQProcess
) -> None:
    # `sudo kiosk doctor` has no $CREDENTIALS_DIRECTORY: it reads the files systemd loads the
    # secrets from, the credentials folder next to the configuration (/etc/kiosk/credentials).
    shop = healthy_shop(tmp_path, extra=backoffice_table(hq.url))
    token = hq.token_for(KIOSK_ID)
    credentials = shop.config.parent / CREDENTIALS_FOLDER
    credentials.mkdir(mode=0o700)
    (credentials / "backoffice-token").write_text(token + "\n", encoding="utf-8")

    status, out, err = doctor(shop, tmp_path)

    assert status == 0, out + err
    rows = table_rows(out)
    assert rows["config"].status == "pass"
    assert "back-office token set" in rows["config"].detail
    assert rows["back office"].status == "pass"
    assert token not in out + err


def test_a_user_who_may_not_read_the_secret_files_is_told_to_run_the_doctor_as_root(
    tmp_path: Path,
) -> None:
    shop = healthy_shop(tmp_path)
    credentials = shop.config.parent / CREDENTIALS_FOLDER
    credentials.mkdir(mode=0o700)
    (credentials / "stripe-api-key").write_text(CANARY_STRIPE_KEY, encoding="utf-8")

    outcome = check_config(shop.config, {}, may_read=lambda folder: False)

    assert outcome.settings is not None
    assert outcome.result.status is Status.WARN
    assert f"this user may not read the secrets in {credentials}" in outcome.result.detail
    assert "sudo kiosk doctor" in outcome.result.hint
    assert outcome.secrets.stripe_api_key is None


def test_under_systemd_its_credentials_win_over_the_folder_next_to_the_config(
    tmp_path: Path,
) -> None:
    shop = healthy_shop(tmp_path)
    beside = shop.config.parent / CREDENTIALS_FOLDER
    beside.mkdir()
    (beside / "stripe-api-key").write_text("pk_test_a_publishable_key_would_fail", encoding="utf-8")
    loaded = tmp_path / "loaded-by-systemd"
    loaded.mkdir()
    (loaded / "stripe-api-key").write_text(CANARY_STRIPE_KEY + "\n", encoding="utf-8")

    outcome = check_config(shop.config, {"CREDENTIALS_DIRECTORY": str(loaded)})

    assert outcome.result.status is Status.PASS
    assert outcome.secrets.stripe_api_key is not None
    assert outcome.secrets.stripe_api_key.get_secret_value() == CANARY_STRIPE_KEY


# --- storage ---------------------------------------------------------------------------------


def test_a_damaged_database_fails_with_a_hint_to_restore_a_backup(tmp_path: Path) -> None:
    shop = healthy_shop(tmp_path)
    for suffix in ("-wal", "-shm"):
        Path(str(shop.database) + suffix).unlink(missing_ok=True)
    shop.database.write_bytes(b"this is no SQLite database, just garbage " * 200)

    status, out = doctor_in_process(shop)

    assert status == 1
    rows = table_rows(out)
    assert rows["database"].status == "fail"
    assert rows["database"].detail.startswith("the database is damaged")
    assert "kiosk db backup" in rows["database"].hint
    assert "kiosk db check" in rows["database"].hint
    assert rows["staff"].status == "fail"


def test_pending_migrations_are_a_warning_for_the_next_start(tmp_path: Path) -> None:
    shop = healthy_shop(tmp_path)
    db = open_database(shop.database)
    try:
        (last,) = db.conn.execute(
            "SELECT name FROM _sqlite_migrations ORDER BY id DESC LIMIT 1").fetchone()
        with db.conn:
            db.conn.execute("DELETE FROM _sqlite_migrations WHERE name = ?", [last])
    finally:
        db.close()

    status, out = doctor_in_process(shop)

    rows = table_rows(out)
    assert rows["database"].status == "warn"
    assert f"1 schema migration(s) pending ({last})" in rows["database"].detail
    assert "next start" in rows["database"].hint
    assert status == 0


class DiskReading(NamedTuple):
    """A file system's size and free space in bytes, as `shutil.disk_usage` answers."""

    total: int
    used: int
    free: int


@pytest.mark.parametrize(
    ("free_permille", "expected"),
    [(500, Status.PASS), (200, Status.PASS), (199, Status.WARN), (50, Status.WARN),
     (49, Status.FAIL), (0, Status.FAIL)],
)
def test_free_disk_space_warns_below_20_percent_and_fails_below_5(
    tmp_path: Path, free_permille: int, expected: Status
) -> None:
    """The disk reading is the one stand-in of these tests: CI cannot fill a real disk."""
    shop = healthy_shop(tmp_path)
    total = 1000 * 2**20
    reading = DiskReading(total, 0, total * free_permille // 1000)
    seen: list[Path] = []

    def disk_usage(path: Path) -> DiskReading:
        seen.append(path)
        return reading

    report = run_doctor(shop.config, {}, disk_usage=disk_usage, checks=[(DISK, check_disk)])

    (_config, disk) = report.results
    assert disk.status is expected
    assert f"{free_permille / 10:.1f} % free" in disk.detail
    assert bool(disk.hint) is (expected is not Status.PASS)
    assert seen == [shop.state_dir]


def test_the_disk_of_a_state_directory_not_made_yet_is_its_nearest_parent(tmp_path: Path) -> None:
    """The disk reading is a stand-in (see above); the directories are real."""
    shop = shop_config(tmp_path)
    seen: list[Path] = []

    def disk_usage(path: Path) -> DiskReading:
        seen.append(path)
        return DiskReading(100, 10, 90)

    report = run_doctor(shop.config, {}, disk_usage=disk_usage, checks=[(DISK, check_disk)])

    disk = report.results[1]
    assert (disk.name, disk.status) == ("disk", Status.PASS)
    assert seen == [tmp_path]
    assert disk.detail.endswith(f"on the file system of {shop.state_dir}")
    assert not shop.state_dir.exists()


# --- staff -----------------------------------------------------------------------------------


def test_no_manager_fails_with_a_hint_to_add_one(tmp_path: Path) -> None:
    shop = shop_config(tmp_path)
    add_staff(shop, "Alex Attendant", StaffRole.ATTENDANT, pin=MANAGER_PIN)

    status, out = doctor_in_process(shop)

    assert status == 1
    staff = table_rows(out)["staff"]
    assert staff.status == "fail"
    assert staff.detail == "no active manager with a PIN"
    assert "kiosk staff add NAME --role manager" in staff.hint
    assert "kiosk staff set-pin" in staff.hint


def test_a_manager_without_a_pin_fails_with_a_hint_to_set_one(tmp_path: Path) -> None:
    shop = shop_config(tmp_path)
    number = add_staff(shop, "Pat Newcomer", StaffRole.MANAGER, pin=None)

    status, out = doctor_in_process(shop)

    assert status == 1
    staff = table_rows(out)["staff"]
    assert staff.status == "fail"
    assert f"manager Pat Newcomer ({number}) has no PIN" in staff.detail
    assert f"kiosk staff set-pin {number}" in staff.hint


# --- the scanner -----------------------------------------------------------------------------


def test_a_missing_scanner_fails_with_a_hint_to_plug_it_in(tmp_path: Path) -> None:
    port = tmp_path / "kiosk-scanner"
    shop = healthy_shop(tmp_path, replace={SCANNER_PORT: f'[scanner]\nport = "{port}"'})

    status, out = doctor_in_process(shop)

    assert status == 1
    scanner = table_rows(out)["scanner"]
    assert scanner.status == "fail"
    assert scanner.detail == f"{port} does not exist"
    assert "hardware/SCANNERS.md" in scanner.hint
    assert "USB-COM" in scanner.hint


def test_a_scanner_link_to_a_serial_device_passes(tmp_path: Path) -> None:
    controller, device = os.openpty()
    try:
        link = tmp_path / "kiosk-scanner"
        link.symlink_to(os.ttyname(device))
        shop = healthy_shop(tmp_path, replace={SCANNER_PORT: f'[scanner]\nport = "{link}"'})

        status, out = doctor_in_process(shop)
    finally:
        os.close(device)
        os.close(controller)

    scanner = table_rows(out)["scanner"]
    assert scanner.status == "pass", scanner
    assert scanner.detail.startswith(f"{link} -> /dev/pts/")
    assert status == 0


def test_a_scanner_port_that_is_a_plain_file_fails(tmp_path: Path) -> None:
    port = tmp_path / "not-a-device"
    port.write_text("", encoding="utf-8")
    shop = healthy_shop(tmp_path, replace={SCANNER_PORT: f'[scanner]\nport = "{port}"'})

    status, out = doctor_in_process(shop)

    scanner = table_rows(out)["scanner"]
    assert (status, scanner.status) == (1, "fail")
    assert scanner.detail == f"{port} is not a serial device"


# --- the printer -----------------------------------------------------------------------------


def printer_row(shop: Shop) -> CheckResult:
    """The doctor's printer row for ``shop``."""
    report = run_doctor(shop.config, {}, checks=[(PRINTER, check_printer)])
    return report.results[1]


def network_printer(tmp_path: Path, port: int) -> Shop:
    """A shop whose printer is a network printer on loopback ``port``."""
    return healthy_shop(tmp_path, replace={
        '[printer]\ntransport = "virtual"': f'[printer]\ntransport = "network"\n'
                                             f'host = "127.0.0.1"\nport = {port}',
    })


def test_a_network_printer_that_answers_its_status_passes_and_paper_out_warns(
    tmp_path: Path,
) -> None:
    printer = VirtualPrinter(tmp_path / "printed")
    _host, port = printer.start()
    try:
        shop = network_printer(tmp_path, port)
        ready = printer_row(shop)
        printer.paper_out()
        empty = printer_row(shop)
    finally:
        printer.stop()

    assert ready.status is Status.PASS
    assert ready.detail == (
        f"network printer 127.0.0.1:{port} ready (online, paper in, cover closed)")
    assert empty.status is Status.WARN
    assert empty.detail.endswith("paper out")
    assert "roll" in empty.hint


def test_a_network_printer_nobody_answers_at_fails_with_a_hint(tmp_path: Path) -> None:
    port = closed_port()
    shop = network_printer(tmp_path, port)

    row = printer_row(shop)

    assert row.status is Status.FAIL
    assert row.detail == f"network printer 127.0.0.1:{port} is offline or does not answer"
    assert f"127.0.0.1, port {port}" in row.hint


def test_no_printer_is_a_warning_that_receipts_are_qr_codes_only(tmp_path: Path) -> None:
    shop = healthy_shop(tmp_path, replace={'transport = "virtual"': 'transport = "none"'})

    row = printer_row(shop)

    assert row.status is Status.WARN
    assert "QR codes only" in row.detail


# --- Stripe and the card reader --------------------------------------------------------------


def stripe_shop(tmp_path: Path, api_base: str, reader_id: str) -> Shop:
    """A shop paying through the Stripe API at ``api_base`` with reader ``reader_id``."""
    return healthy_shop(tmp_path, replace={
        'api_base = "embedded"': f'api_base = "{api_base}"\nreader_id = "{reader_id}"',
    })


def card_reader_row(shop: Shop, key: str) -> CheckResult:
    """The doctor's card reader row for ``shop`` with the Stripe key ``key``."""
    report = run_doctor(shop.config, {"KIOSK_STRIPE_API_KEY": key},
                        checks=[(CARD_READER, check_card_reader)])
    return report.results[1]


def test_an_online_reader_passes_and_an_offline_one_fails_with_a_hint(
    tmp_path: Path, emulator: StripeEmulator
) -> None:
    reader = str(emulator.register_simulated_reader(label="Till reader")["id"])
    shop = stripe_shop(tmp_path, emulator.url, reader)

    online = card_reader_row(shop, "sk_test_doctor")
    emulator.inject(Fault("reader_offline", method="GET", path="/terminal/readers/"))
    offline = card_reader_row(shop, "sk_test_doctor")

    assert online.status is Status.PASS
    assert online.detail == f"Stripe answers; reader {reader} (Till reader) is online"
    assert offline.status is Status.FAIL
    assert offline.detail == f"Stripe answers, but reader {reader} (Till reader) is offline"
    assert "Switch the reader on" in offline.hint


def test_a_refused_key_an_unknown_reader_and_no_key_each_fail_with_their_hint(
    tmp_path: Path, emulator: StripeEmulator
) -> None:
    reader = str(emulator.register_simulated_reader()["id"])
    shop = stripe_shop(tmp_path, emulator.url, reader)
    (tmp_path / "other").mkdir()
    unknown = stripe_shop(tmp_path / "other", emulator.url, "tmr_NoSuchReader")

    refused = card_reader_row(shop, "sk_live_not_for_the_emulator")
    missing = card_reader_row(unknown, "sk_test_doctor")
    keyless = run_doctor(shop.config, {}, checks=[(CARD_READER, check_card_reader)]).results[1]

    assert (refused.status, refused.detail) == (
        Status.FAIL, "Stripe refused the API key (HTTP 401)")
    assert "stripe-api-key" in refused.hint
    assert "not_for_the_emulator" not in refused.detail + refused.hint
    assert missing.status is Status.FAIL
    assert missing.detail == "Stripe has no reader tmr_NoSuchReader on this account"
    assert "kiosk reader register" in missing.hint
    assert (keyless.status, keyless.detail) == (
        Status.FAIL, "no Stripe secret key: card payments are off")
    assert "KIOSK_STRIPE_API_KEY" in keyless.hint


def test_an_unreachable_stripe_fails_as_unreachable(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    shop = stripe_shop(tmp_path, base, "tmr_Anything")

    row = card_reader_row(shop, "sk_test_doctor")

    assert row.status is Status.FAIL
    assert row.detail == f"Stripe unreachable at {base} (connection refused)"
    assert "api.stripe.com" in row.hint


# --- the back office -------------------------------------------------------------------------


def test_an_unreachable_back_office_fails_with_a_hint(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    shop = healthy_shop(tmp_path, extra=backoffice_table(url))

    status, out = doctor_in_process(shop, {"KIOSK_BACKOFFICE_TOKEN": "some-token"})

    assert status == 1
    row = table_rows(out)["back office"]
    assert row.status == "fail"
    assert row.detail == f"unreachable at {url} (connection refused)"
    assert "Is the back office running" in row.hint


def test_a_back_office_that_refuses_the_token_fails_with_how_to_issue_one(
    tmp_path: Path, hq: HQProcess
) -> None:
    shop = healthy_shop(tmp_path, extra=backoffice_table(hq.url))

    status, out = doctor_in_process(shop, {"KIOSK_BACKOFFICE_TOKEN": "not-a-token-it-issued"})

    assert status == 1
    row = table_rows(out)["back office"]
    assert (row.status, row.detail) == ("fail", f"{hq.url} refused the token (HTTP 401)")
    assert "kiosk hq token add lane-1" in row.hint
    assert "not-a-token-it-issued" not in out


def test_a_back_office_without_a_token_fails(tmp_path: Path, hq: HQProcess) -> None:
    shop = healthy_shop(tmp_path, extra=backoffice_table(hq.url))

    status, out = doctor_in_process(shop)

    row = table_rows(out)["back office"]
    assert (status, row.status) == (1, "fail")
    assert row.detail == "no back-office token: sync cannot log in"
    assert "KIOSK_BACKOFFICE_TOKEN" in row.hint


# --- the clock -------------------------------------------------------------------------------


def clock_row(shop: Shop, now: datetime) -> CheckResult:
    """The clock row for ``shop`` when the kiosk believes it is ``now`` (NTP status unknown,
    as in a container)."""
    report = run_doctor(shop.config, {}, now=lambda: now, ntp_synchronised=unknown_ntp,
                        checks=[(CLOCK, check_clock)])
    return report.results[1]


def offset_seconds(detail: str) -> int:
    """The whole seconds of the offset the clock row names."""
    found = re.search(r"(\d+) s (ahead of|behind|of)", detail)
    assert found is not None, detail
    return int(found[1])


def test_a_kiosk_clock_ten_minutes_off_the_back_office_fails_with_the_offset(
    tmp_path: Path, hq: HQProcess
) -> None:
    shop = healthy_shop(tmp_path, extra=backoffice_table(hq.url))
    real_now = datetime.now(UTC)

    ahead = clock_row(shop, real_now + timedelta(minutes=10))
    behind = clock_row(shop, real_now - timedelta(minutes=10))
    right = clock_row(shop, datetime.now(UTC))

    assert ahead.status is Status.FAIL
    assert "ahead of the back office's clock (more than 60 s)" in ahead.detail
    assert 540 <= offset_seconds(ahead.detail) <= 660
    assert behind.status is Status.FAIL
    assert "behind the back office's clock" in behind.detail
    assert 540 <= offset_seconds(behind.detail) <= 660
    assert "timedatectl" in ahead.hint
    assert right.status is Status.PASS
    assert right.detail.startswith("within ")
    assert offset_seconds(right.detail) <= 60


def test_the_stripe_emulator_clock_is_used_when_there_is_no_back_office(
    tmp_path: Path, emulator: StripeEmulator
) -> None:
    reader = str(emulator.register_simulated_reader()["id"])
    shop = stripe_shop(tmp_path, emulator.url, reader)

    row = clock_row(shop, datetime.now(UTC) + timedelta(minutes=10))

    assert row.status is Status.FAIL
    assert "ahead of Stripe's clock" in row.detail


def test_a_clock_with_nothing_to_compare_with_is_unknown_not_a_failure(tmp_path: Path) -> None:
    shop = healthy_shop(tmp_path)

    unknown = clock_row(shop, datetime.now(UTC))
    synchronised = run_doctor(shop.config, {}, ntp_synchronised=lambda: True,
                              checks=[(CLOCK, check_clock)]).results[1]

    assert unknown.status is Status.WARN
    assert unknown.detail.startswith("unknown: ")
    assert synchronised.status is Status.PASS
    assert synchronised.detail.startswith("NTP-synchronised")


def test_a_tls_certificate_not_yet_valid_is_reported_as_a_wrong_clock(tmp_path: Path) -> None:
    certificate, key = certificate_valid_from_2099(tmp_path / "tls")
    with tls_server(certificate, key) as url:
        shop = healthy_shop(tmp_path, extra=backoffice_table(url))
        status, out, err = doctor(shop, tmp_path, {
            "KIOSK_BACKOFFICE_TOKEN": "some-token", "SSL_CERT_FILE": str(certificate),
        })

    assert status == 1, out + err
    rows = table_rows(out)
    for name in ("clock", "back office"):
        assert rows[name].status == "fail"
        assert rows[name].detail.startswith(
            "the clock looks wrong (TLS certificate not yet valid)"), rows[name]
        assert "timedatectl" in rows[name].hint
    assert "unreachable" not in rows["back office"].detail


# --- backups ---------------------------------------------------------------------------------


def make_backup(folder: Path, at: datetime) -> Path:
    """A file named as `kiosk db backup` names its copies, made at ``at``."""
    path = folder / backup_file_name(at)
    path.write_bytes(b"SQLite format 3\x00")
    return path


def test_the_newest_backup_is_found_by_the_time_in_its_name(tmp_path: Path) -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    older = make_backup(tmp_path, now - timedelta(days=3))
    newer = make_backup(tmp_path, now - timedelta(hours=5))
    (tmp_path / "holiday-photo.jpg").write_bytes(b"not a backup")
    os.utime(older, (now.timestamp(), now.timestamp()))

    assert newest_backup(tmp_path) == (newer, now - timedelta(hours=5))


def test_backups_warn_when_missing_none_stale_or_on_the_database_card(tmp_path: Path) -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    destination = tmp_path / "stick"
    database = tmp_path / "state" / "kiosk.db"
    elsewhere = Path("/proc") / "kiosk.db"  # /proc is always another file system

    missing = backup_freshness(destination, interval_hours=24, now=now, database=elsewhere)
    destination.mkdir()
    empty = backup_freshness(destination, interval_hours=24, now=now, database=elsewhere)
    make_backup(destination, now - timedelta(days=3))
    stale = backup_freshness(destination, interval_hours=24, now=now, database=elsewhere)
    weekly = backup_freshness(destination, interval_hours=168, now=now, database=elsewhere)
    make_backup(destination, now - timedelta(hours=5))
    fresh = backup_freshness(destination, interval_hours=24, now=now, database=elsewhere)
    same_card = backup_freshness(destination, interval_hours=24, now=now, database=database)

    assert (missing.status, missing.detail) == (
        Status.WARN, f"the backup destination {destination} is missing")
    assert (empty.status, empty.detail) == (Status.WARN, f"no backup in {destination} yet")
    assert stale.status is Status.WARN
    assert stale.detail.startswith("the newest backup is 3 days old")
    assert weekly.status is Status.PASS
    assert fresh.status is Status.PASS
    assert fresh.detail.startswith("the newest backup is 5 h old")
    assert same_card.status is Status.WARN
    assert "same card as the database" in same_card.detail


# --- the runner ------------------------------------------------------------------------------


def test_a_check_that_raises_or_hangs_becomes_a_failed_row_and_one_that_does_not_apply_none(
    tmp_path: Path,
) -> None:
    shop = healthy_shop(tmp_path)
    release = threading.Event()

    def breaks(context: DoctorContext) -> CheckResult:
        raise RuntimeError("the sensor is on fire")

    def hangs(context: DoctorContext) -> CheckResult:
        release.wait(30)
        return passed("hangs", "finally")

    def does_not_apply(context: DoctorContext) -> CheckResult | None:
        return None

    def works(context: DoctorContext) -> CheckResult:
        return passed("works", f"kiosk {context.settings.kiosk_id}")

    checks: list[tuple[str, Check]] = [
        ("breaks", breaks), ("hangs", hangs), ("skipped", does_not_apply), ("works", works)]
    try:
        report = run_doctor(shop.config, {}, checks=checks, deadline_s=0.5)
    finally:
        release.set()

    names = [result.name for result in report.results]
    assert names == ["config", "breaks", "hangs", "works"]
    broken, hung, working = report.results[1:]
    assert broken.status is Status.FAIL
    assert broken.detail == "the check itself failed: RuntimeError: the sensor is on fire"
    assert hung.status is Status.FAIL
    assert hung.detail == "did not finish within 0.5 s"
    assert working == passed("works", "kiosk lane-1")
    assert report.failed


def test_checks_run_side_by_side_but_report_in_their_own_order(tmp_path: Path) -> None:
    shop = healthy_shop(tmp_path)
    context = DoctorContext(config_path=shop.config, settings=load_settings(shop.config, {}))
    first_may_answer = threading.Event()

    def first(context: DoctorContext) -> CheckResult:
        # Answers only once the last check ran: they cannot be running one after the other.
        assert first_may_answer.wait(30)
        return passed("first", "waited for the last")

    def last(context: DoctorContext) -> CheckResult:
        first_may_answer.set()
        return passed("last", "ran while the first waited")

    results = run_checks(context, [("first", first), ("last", last)])

    assert [(result.name, result.status) for result in results] == [
        ("first", Status.PASS), ("last", Status.PASS)]


# --- secrets ---------------------------------------------------------------------------------


def assert_no_canary(*texts: str) -> None:
    """No canary secret (nor their shared mark) in any of ``texts``."""
    for text in texts:
        assert MARK not in text, text
        for canary in (CANARY_STRIPE_KEY, CANARY_REFUSED_KEY, CANARY_TOKEN):
            assert canary not in text


def test_the_doctor_never_prints_the_stripe_key_or_the_back_office_token(
    tmp_path: Path, hq: HQProcess, emulator: StripeEmulator
) -> None:
    reader = str(emulator.register_simulated_reader()["id"])
    with hq.store() as store:
        store.add_kiosk(KIOSK_ID, token_hash(CANARY_TOKEN), datetime.now(UTC))
    shop = healthy_shop(tmp_path, extra=backoffice_table(hq.url), replace={
        'api_base = "embedded"': f'api_base = "{emulator.url}"\nreader_id = "{reader}"',
    })
    accepted = {"KIOSK_STRIPE_API_KEY": CANARY_STRIPE_KEY, "KIOSK_BACKOFFICE_TOKEN": CANARY_TOKEN}
    refused = {"KIOSK_STRIPE_API_KEY": CANARY_REFUSED_KEY,
               "KIOSK_BACKOFFICE_TOKEN": CANARY_TOKEN + "-replaced"}

    good_status, good_out, good_err = doctor(shop, tmp_path, accepted)
    json_status, json_out, json_err = doctor(shop, tmp_path, accepted, "--json")
    bad_status, bad_out, bad_err = doctor(shop, tmp_path, refused)

    assert good_status == 0, good_out + good_err
    rows = table_rows(good_out)
    assert rows["card reader"].status == "pass"
    assert rows["back office"].status == "pass"
    assert "Stripe key set, back-office token set" in rows["config"].detail
    assert json_status == 0
    assert json.loads(json_out)["ok"] is True
    assert bad_status == 1
    bad_rows = table_rows(bad_out)
    assert bad_rows["card reader"].status == "fail"
    assert bad_rows["back office"].status == "fail"
    assert_no_canary(good_out, good_err, json_out, json_err, bad_out, bad_err)


def test_a_secret_quoted_in_an_error_message_is_scrubbed_from_the_report(tmp_path: Path) -> None:
    shop = healthy_shop(tmp_path)

    def quotes_the_token(context: DoctorContext) -> CheckResult:
        raise ValueError(f"server said: bad token {CANARY_TOKEN} and key sk_live_abc123")

    report = run_doctor(shop.config, {"KIOSK_BACKOFFICE_TOKEN": CANARY_TOKEN},
                        checks=[("quotes", quotes_the_token)])

    assert_no_canary(report.table(), report.json())
    assert "sk_live_abc123" not in report.table()
    assert "bad token [redacted] and key [redacted]" in report.table()



def test_an_orphan_sweep_that_could_not_finish_is_a_warning_of_the_card_payments_row(
    tmp_path: Path,
) -> None:
    import sqlite3

    from sqlite_utils import Database

    from kiosk.payments import sweep_status
    from kiosk.payments.sweep_status import SweepStatus

    shop = healthy_shop(tmp_path)
    _status, out = doctor_in_process(shop)
    assert table_rows(out)["card payments"].status == "pass", out
    with sqlite3.connect(shop.database) as connection:
        sweep_status.record(Database(connection), SweepStatus(
            finished=False, at="2026-12-07T10:00:00.000000Z",
            since="2026-11-30T10:00:00.000000Z", pages=5,
            next_since="2026-11-30T10:00:00.000000Z"))

    status, out = doctor_in_process(shop)

    assert status == 0, out  # a warning: the doctor still exits 0
    row = table_rows(out)["card payments"]
    assert row.status == "warn", out
    assert "orphan sweep stopped after 5 page(s)" in row.detail
    assert "kiosk reconcile" in row.hint
