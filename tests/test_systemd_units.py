"""The shipped systemd units and system files: verified by systemd's own tools, and checked
against the code they serve (exit codes, credential names, groups, paths).

``systemd-analyze verify`` runs against a tree made by ``kiosk install-service --root``: with
``--root`` it looks for every unit, and for the command of ``ExecStart=``, inside the tree
(``/usr/local/bin/kiosk``, written by the installer). The units a real system brings
(``multi-user.target``, ``getty@.service`` ...) are copied into the tree from this machine's
``/usr/lib/systemd/system``, as the OS would have them. ``systemd-analyze security
--offline=true`` scores the unit files as shipped. Both come with Debian 12's systemd 252
(``tests/run.sh`` installs the ``systemd`` package).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest
from cli_support import invoke

from kiosk.cli.common import DATABASE_NAME as CLI_DATABASE_NAME
from kiosk.cli.common import EXIT_BAD_CONFIG
from kiosk.config.secrets import BACKOFFICE_TOKEN, STRIPE_API_KEY
from kiosk.config.settings import CatalogSettings
from kiosk.install.layout import (
    BACKUP_DESTINATION,
    COMMAND,
    CREDENTIALS_DIR,
    CREDENTIALS_DROP_IN,
    DATABASE_NAME,
    SERVICE_USER,
    STATE_DIR,
    UNIT_DIR,
    USB_MOUNT_POINT,
    Layout,
)
from kiosk.staff_menu.kiosk_controls import EXIT_LEFT_BY_STAFF, EXIT_RESTART

REPO = Path(__file__).resolve().parent.parent
SYSTEMD = REPO / "systemd"
HOST_UNITS = Path("/usr/lib/systemd/system")
TOOL_TIMEOUT_S = 120
SERVICES = ("kiosk.service", "kiosk-backup.service")
EXPOSURE = re.compile(
    r"Overall exposure level for (?P<unit>\S+): (?P<score>\d+\.\d) (?P<rating>[A-Z]+)")

Unit = dict[str, list[tuple[str, str]]]
"""A unit file: section name -> its (key, value) lines in order (keys may repeat)."""


def read_unit(text: str) -> Unit:
    """Parse systemd's ini syntax: sections, ``Key=value`` lines, comments, repeated keys."""
    unit: Unit = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            unit.setdefault(section, [])
            continue
        key, equals, value = line.partition("=")
        assert equals, f"not a Key=value line: {raw!r}"
        unit[section].append((key.strip(), value.strip()))
    return unit


def values(unit: Unit, section: str, key: str) -> list[str]:
    """Every value of ``key`` in ``section``, in order."""
    return [value for name, value in unit.get(section, []) if name == key]


def one(unit: Unit, section: str, key: str) -> str:
    """The single value of ``key`` in ``section``."""
    found = values(unit, section, key)
    assert len(found) == 1, f"{section}.{key}: expected one value, got {found}"
    return found[0]


def shipped(name: str) -> Unit:
    """A unit file of systemd/ parsed."""
    return read_unit((SYSTEMD / name).read_text(encoding="utf-8"))


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a systemd tool; its status and output are for the test to judge."""
    return subprocess.run(command, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S,
                          check=False, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def installed_tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A tree with the kiosk installed, both secrets present, and the OS's own units."""
    root = tmp_path_factory.mktemp("verify-root")
    assert invoke(["install-service", "--root", str(root)]).exit_code == 0
    layout = Layout(root)
    for name in (STRIPE_API_KEY.credential, BACKOFFICE_TOKEN.credential):
        layout.at(CREDENTIALS_DIR / name).write_text("not-a-real-secret\n")
    result = invoke(["install-service", "--root", str(root)])
    assert f"updated    {CREDENTIALS_DROP_IN}" in result.output
    shutil.copytree(HOST_UNITS, layout.at(PurePosixPath("/usr/lib/systemd/system")),
                    symlinks=True)
    yield root


def verify(root: Path, *units: str) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze verify`` of installed ``units`` inside the tree ``root``."""
    return run(["systemd-analyze", f"--root={root}", "--man=no", "verify", *units])


# ---------------------------------------------------------------------------------- verify


def test_systemd_analyze_verify_accepts_the_installed_units_in_the_tree(
    installed_tree: Path,
) -> None:
    checked = verify(installed_tree, "kiosk.service", "kiosk-keys.service",
                     "kiosk-backup.service", "kiosk-backup.timer")

    assert checked.returncode == 0, checked.stderr
    assert "kiosk" not in checked.stderr


def test_verify_reads_the_credentials_drop_in_with_both_secrets(installed_tree: Path) -> None:
    drop_in = read_unit(Layout(installed_tree).at(CREDENTIALS_DROP_IN).read_text())

    assert values(drop_in, "Service", "LoadCredential") == [
        f"{STRIPE_API_KEY.credential}:{CREDENTIALS_DIR / STRIPE_API_KEY.credential}",
        f"{BACKOFFICE_TOKEN.credential}:{CREDENTIALS_DIR / BACKOFFICE_TOKEN.credential}",
        f"pin-pepper:{CREDENTIALS_DIR / 'pin-pepper'}",
        f"audit-key:{CREDENTIALS_DIR / 'audit-key'}",
    ]
    checked = verify(installed_tree, "kiosk.service")
    assert checked.returncode == 0, checked.stderr


def test_verify_fails_when_the_command_of_exec_start_is_missing_from_the_tree(
    installed_tree: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(installed_tree, broken, symlinks=True)
    Layout(broken).at(COMMAND).unlink()

    checked = verify(broken, "kiosk.service")

    assert checked.returncode != 0
    assert f"Command {COMMAND} is not executable" in checked.stderr


def test_verify_warns_of_a_misspelt_directive_so_the_clean_run_has_no_warning_to_hide(
    installed_tree: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(installed_tree, broken, symlinks=True)
    unit = Layout(broken).at(UNIT_DIR / "kiosk.service")
    unit.write_text(unit.read_text().replace("WatchdogSec=30", "WatchdogSecs=30"))

    checked = verify(broken, "kiosk.service")

    assert "Unknown key 'WatchdogSecs' in section [Service]" in checked.stderr


# ---------------------------------------------------------------------------------- security


@pytest.mark.parametrize("service", SERVICES)
def test_the_security_score_is_ok_with_an_exposure_of_two_or_less(service: str) -> None:
    scored = run(["systemd-analyze", "security", "--offline=true", "--threshold=20",
                  str(SYSTEMD / service)])

    found = EXPOSURE.search(scored.stdout)
    assert found is not None, scored.stdout + scored.stderr
    assert found["unit"] == service
    assert float(found["score"]) <= 2.0
    assert found["rating"] in {"SAFE", "OK"}
    assert scored.returncode == 0, scored.stderr


def test_the_kiosk_service_keeps_the_hardening_the_score_counts_on() -> None:
    service = shipped("kiosk.service")

    expected = {
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
        "PrivateTmp": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes", "RestrictNamespaces": "yes",
        "LockPersonality": "yes", "RestrictRealtime": "yes", "SystemCallArchitectures": "native",
        "CapabilityBoundingSet": "", "UMask": "0077", "DevicePolicy": "closed",
    }
    for key, value in expected.items():
        assert one(service, "Service", key) == value, key
    assert values(service, "Service", "SystemCallFilter")[0] == "@system-service"
    assert one(service, "Service", "RestrictAddressFamilies").split() == [
        "AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"]


@pytest.mark.parametrize(
    "device",
    ["char-drm rw", "char-input r", "char-ttyACM rw", "char-ttyUSB rw", "char-usb_device rw"],
)
def test_the_display_touch_serial_and_usb_printer_devices_stay_allowed(device: str) -> None:
    assert device in values(shipped("kiosk.service"), "Service", "DeviceAllow")


@pytest.mark.parametrize(
    "relaxation",
    ["SupplementaryGroups=", "ReadWritePaths=", "MemoryDenyWriteExecute=no",
     "RestrictAddressFamilies=", "DevicePolicy=closed", "ProcSubset="],
)
def test_every_relaxation_of_the_kiosk_service_is_explained_by_the_comment_above_it(
    relaxation: str,
) -> None:
    lines = (SYSTEMD / "kiosk.service").read_text().splitlines()
    (number,) = [n for n, line in enumerate(lines) if line.startswith(relaxation)]

    assert lines[number - 1].startswith("#"), f"{relaxation} has no comment above it"


def test_each_device_allow_line_names_its_device_in_a_comment_above_it() -> None:
    lines = (SYSTEMD / "kiosk.service").read_text().splitlines()
    for number, line in enumerate(lines):
        if line.startswith("DeviceAllow="):
            above = lines[number - 1]
            assert above.startswith(("#", "DeviceAllow=")), f"{line} is not explained"


# ---------------------------------------------------------------------------------- behaviour


def test_the_kiosk_service_is_notify_with_a_watchdog_and_restarts_always() -> None:
    service = shipped("kiosk.service")

    assert one(service, "Service", "Type") == "notify"
    assert one(service, "Service", "NotifyAccess") == "main"
    assert one(service, "Service", "WatchdogSec") == "30"
    assert one(service, "Service", "Restart") == "always"
    assert one(service, "Service", "RestartSec") == "2"
    assert one(service, "Service", "TimeoutStartSec") == "60"
    assert one(service, "Service", "TimeoutStopSec") == "20"


def test_a_crash_loop_ends_in_a_reboot_after_five_starts_in_five_minutes() -> None:
    service = shipped("kiosk.service")

    assert one(service, "Unit", "StartLimitIntervalSec") == "300"
    assert one(service, "Unit", "StartLimitBurst") == "5"
    assert one(service, "Unit", "StartLimitAction") == "reboot"


def test_leaving_the_app_from_the_staff_menu_or_a_bad_config_is_not_restarted() -> None:
    service = shipped("kiosk.service")

    prevented = one(service, "Service", "RestartPreventExitStatus").split()
    assert prevented == [str(EXIT_LEFT_BY_STAFF), str(EXIT_BAD_CONFIG)]
    assert str(EXIT_RESTART) not in prevented
    assert one(service, "Service", "SuccessExitStatus").split() == [
        str(EXIT_LEFT_BY_STAFF), str(EXIT_RESTART)]


@pytest.mark.parametrize("service", SERVICES)
def test_both_services_run_the_installed_command_as_the_kiosk_user(service: str) -> None:
    unit = shipped(service)

    assert one(unit, "Service", "ExecStart").startswith(f"{COMMAND} ")
    assert one(unit, "Service", "ExecStart").endswith("--config /etc/kiosk/kiosk.toml")
    assert one(unit, "Service", "User") == SERVICE_USER
    assert one(unit, "Service", "Group") == SERVICE_USER
    assert one(unit, "Service", "StateDirectory") == STATE_DIR.name
    assert one(unit, "Service", "StandardOutput") == "journal"


def test_the_backup_service_rotates_and_the_timer_runs_it_nightly_and_after_a_missed_night(
) -> None:
    backup = shipped("kiosk-backup.service")
    timer = shipped("kiosk-backup.timer")

    assert one(backup, "Service", "ExecStart").split()[1:4] == ["db", "backup", "--rotate"]
    assert one(backup, "Service", "Type") == "oneshot"
    assert one(backup, "Unit", "ConditionPathExists") == str(STATE_DIR / DATABASE_NAME)
    assert f"-{BACKUP_DESTINATION}" in values(backup, "Service", "ReadWritePaths")
    assert one(timer, "Timer", "OnCalendar") == "*-*-* 03:30:00"
    assert one(timer, "Timer", "Persistent") == "true"
    assert one(timer, "Install", "WantedBy") == "timers.target"


def test_the_installer_and_the_cli_agree_on_the_database_name() -> None:
    assert DATABASE_NAME == CLI_DATABASE_NAME


def test_the_kiosk_service_drives_the_display_through_kms_drm() -> None:
    environment = " ".join(values(shipped("kiosk.service"), "Service", "Environment")).split()

    assert "SDL_VIDEODRIVER=kmsdrm" in environment
    assert "KIVY_WINDOW=sdl2" in environment
    assert "KIVY_NO_FILELOG=1" in environment
    assert "KIVY_HOME=%C/kiosk/kivy" in environment


def test_the_login_prompt_on_tty1_gives_way_to_the_kiosk() -> None:
    service = shipped("kiosk.service")

    assert "getty@tty1.service" in one(service, "Unit", "Conflicts").split()
    assert any("getty@tty1.service" in after.split() for after in values(service, "Unit",
                                                                         "After"))


# ---------------------------------------------------------------------------------- users, dirs


def test_the_supplementary_groups_are_the_groups_sysusers_makes_the_user_a_member_of() -> None:
    groups = one(shipped("kiosk.service"), "Service", "SupplementaryGroups").split()
    sysusers = [line.split() for line in (SYSTEMD / "kiosk.sysusers").read_text().splitlines()
                if line and not line.startswith("#")]

    assert sysusers[0][:3] == ["u", "kiosk", "-"]
    members = [fields[2] for fields in sysusers if fields[:2] == ["m", "kiosk"]]
    assert members == groups
    assert {"dialout", "video", "render", "input"} <= set(groups)


def test_the_tmpfiles_lines_give_each_folder_its_documented_owner_and_mode() -> None:
    lines = [line.split() for line in (SYSTEMD / "kiosk.tmpfiles").read_text().splitlines()
             if line and not line.startswith("#")]

    assert lines == [
        ["d", "/etc/kiosk", "0750", "root", "kiosk", "-"],
        ["d", "/etc/kiosk/credentials", "0700", "root", "root", "-"],
        ["d", "/var/lib/kiosk", "0750", "kiosk", "kiosk", "-"],
        ["d", str(USB_MOUNT_POINT), "0755", "root", "root", "-"],
        ["d", str(BACKUP_DESTINATION), "0750", "kiosk", "kiosk", "-"],
    ]


def test_the_usb_mount_point_is_the_configs_default_catalog_path() -> None:
    assert CatalogSettings().usb_mount_path == Path(str(USB_MOUNT_POINT))


def test_the_journal_is_capped_for_an_sd_card_and_kept_across_reboots() -> None:
    journald = read_unit((SYSTEMD / "journald-kiosk.conf").read_text())

    assert one(journald, "Journal", "SystemMaxUse") == "64M"
    assert one(journald, "Journal", "MaxRetentionSec") == "1month"
    assert one(journald, "Journal", "Storage") == "persistent"
    assert one(journald, "Journal", "SystemKeepFree") == "1G"


# ---------------------------------------------------------------------------------- polkit, udev


def test_the_polkit_rule_lets_only_the_kiosk_user_reboot_or_power_off() -> None:
    rule = (SYSTEMD / "50-kiosk.rules").read_text()
    code = "\n".join(line for line in rule.splitlines() if not line.lstrip().startswith("//"))

    assert sorted(re.findall(r'"(org\.freedesktop\.[\w.-]+)"', code)) == [
        "org.freedesktop.login1.power-off",
        "org.freedesktop.login1.power-off-multiple-sessions",
        "org.freedesktop.login1.reboot",
        "org.freedesktop.login1.reboot-multiple-sessions",
    ]
    assert re.findall(r'subject\.user\s*===\s*"(\w+)"', code) == [SERVICE_USER]
    assert code.count("polkit.Result.YES") == 1
    assert "polkit.Result.NOT_HANDLED" in code
    assert code.strip().startswith("polkit.addRule(function (action, subject) {")
    assert code.strip().endswith("});")
    for opening, closing in ("()", "{}", "[]"):
        assert code.count(opening) == code.count(closing)


UDEV_PAIR = re.compile(
    r'\s*(?P<key>[A-Z_]+(?:\{[^}"]+\})?)\s*(?P<op>==|!=|\+=|-=|:=|=)\s*"(?P<value>[^"]*)"\s*')


def usb_rules() -> list[dict[str, tuple[str, str]]]:
    """The rule lines of 99-kiosk-usb.rules as key -> (operator, value)."""
    parsed = []
    for line in (SYSTEMD / "99-kiosk-usb.rules").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pairs = re.findall(r'[A-Z_]+(?:\{[^}"]+\})?\s*(?:==|!=|\+=|-=|:=|=)\s*"[^"]*"', line)
        assert ", ".join(pairs) == line.strip(), f"unparsable rule: {line}"
        rule = {}
        for pair in pairs:
            found = UDEV_PAIR.fullmatch(pair)
            assert found is not None
            rule[found["key"]] = (found["op"], found["value"])
        parsed.append(rule)
    return parsed


def test_the_usb_rule_automounts_a_fat_stick_read_only_at_the_catalog_mount_point() -> None:
    rules = usb_rules()

    assert len(rules) == 2
    for rule in rules:
        assert rule["ACTION"] == ("==", "add")
        assert rule["SUBSYSTEM"] == ("==", "block")
        assert rule["ENV{ID_BUS}"] == ("==", "usb")
        assert rule["ENV{ID_FS_TYPE}"] == ("==", "vfat|exfat")
        operator, command = rule["RUN{program}"]
        assert operator == "+="
        words = command.split()
        assert words[0] == "/usr/bin/systemd-mount"
        assert {"--no-block", "--automount=yes", "--bind-device", "--collect"} <= set(words)
        assert words[words.index("-o") + 1].split(",")[0] == "ro"
        assert words[-2:] == ["$devnode", str(USB_MOUNT_POINT)]
    assert rules[0]["ATTR{partition}"] == ("==", "1")


@pytest.mark.parametrize("rules", ["99-kiosk-scanner.rules", "99-kiosk-printer.rules"])
def test_the_hardware_rules_ship_through_links_to_hardware(rules: str) -> None:
    link = SYSTEMD / rules

    assert link.is_symlink()
    assert link.resolve() == (REPO / "hardware" / rules).resolve()


def test_the_systemd_readme_lists_every_file_in_the_folder() -> None:
    readme = (SYSTEMD / "README.md").read_text()
    names = sorted(path.name for path in SYSTEMD.iterdir()
                   if path.is_file() and path.name != "__pycache__")

    for name in names:
        assert f"`{name}`" in readme, f"systemd/README.md does not list {name}"
