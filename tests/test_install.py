"""``kiosk install-service`` and ``kiosk uninstall-service`` into a temporary root directory.

The real systemd tools do the work (``systemd-sysusers``, ``systemd-tmpfiles``, ``systemctl``
with ``--root``), so the tree is the one a kiosk gets, only under ``tmp_path``. They set owners
(the ``kiosk`` user of the tree's own ``/etc/passwd``), so these tests run as root, as CI does.
The first manager's PIN comes from stdin, as ``kiosk staff set-pin`` reads it from a pipe.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import pytest
from cli_support import invoke, kiosk_executable, kiosk_running
from click.testing import Result

from kiosk.config import load_settings
from kiosk.core.pins import PinOutcome
from kiosk.install.installer import InstallError, hidden_from_the_service, install_service
from kiosk.install.layout import (
    COMMAND,
    CONFIG_FILE,
    CREDENTIALS_DIR,
    CREDENTIALS_DROP_IN,
    DATABASE_NAME,
    SHIPPED_FILES,
    STATE_DIR,
    SYSTEM_FILES,
    SYSUSERS,
    TMPFILES,
    UNIT_DIR,
    Layout,
)
from kiosk.resources import asset
from kiosk.store.db import open_database
from kiosk.store.staff import StaffRoster

REPO = Path(__file__).resolve().parent.parent
PIN = "246810"
NOBODY = 65534
DEVICE_GROUPS = ("dialout", "video", "render", "input", "lp", "audio")

Entry = tuple[str, int, int, int, bytes]
"""(kind, mode, uid, gid, bytes or link target) of one path in a tree."""


def install(root: Path, *args: str, stdin: str | None = None) -> Result:
    """Run ``kiosk install-service --root ROOT ARGS`` in this process."""
    return invoke(["install-service", "--root", str(root), *args], stdin=stdin)


def uninstall(root: Path, *args: str) -> Result:
    """Run ``kiosk uninstall-service --root ROOT ARGS`` in this process."""
    return invoke(["uninstall-service", "--root", str(root), *args])


def step_lines(output: str) -> list[str]:
    """The step lines of a run's output: everything before the first blank line."""
    return output.split("\n\n", 1)[0].splitlines()


def tree(root: Path) -> dict[str, Entry]:
    """Every path under ``root`` with its kind, mode, owner and content (or link target)."""
    found: dict[str, Entry] = {}
    for folder, dirs, names in os.walk(root):
        for name in (*dirs, *names):
            path = Path(folder) / name
            details = path.lstat()
            if stat.S_ISLNK(details.st_mode):
                kind, content = "link", os.readlink(path).encode()
            elif stat.S_ISDIR(details.st_mode):
                kind, content = "dir", b""
            else:
                kind, content = "file", path.read_bytes()
            found[str(path.relative_to(root))] = (
                kind, stat.S_IMODE(details.st_mode), details.st_uid, details.st_gid, content)
    return found


def account(root: Path, name: str, file: str = "passwd") -> list[str]:
    """The fields of ``name``'s line in the tree's /etc/passwd (or /etc/group)."""
    for line in (root / "etc" / file).read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return fields
    raise AssertionError(f"{name} is not in {file}")


def owner_names(root: Path, path: Path) -> tuple[str, str]:
    """The user and group names of ``path`` as the tree's own account files name them."""
    users = {int(f[2]): f[0] for f in (line.split(":") for line in
                                       (root / "etc/passwd").read_text().splitlines())}
    groups = {int(f[2]): f[0] for f in (line.split(":") for line in
                                        (root / "etc/group").read_text().splitlines())}
    details = path.stat()
    users.setdefault(0, "root")
    groups.setdefault(0, "root")
    return users[details.st_uid], groups[details.st_gid]


def staff_rows(database: Path) -> list[tuple[str, str, bytes, str]]:
    """(name, role, pin_hash, pin_params) of every staff member, read with plain sqlite3."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT name, role, pin_hash, pin_params FROM staff ORDER BY number").fetchall()
    connection.close()
    return [tuple(row) for row in rows]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty root directory to install into."""
    folder = tmp_path / "root"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A root directory with the kiosk installed once, with a first manager (read-only use)."""
    folder = tmp_path_factory.mktemp("installed")
    result = install(folder, "--manager", "Ada Lovelace", stdin=f"{PIN}\n")
    assert result.exit_code == 0, result.output
    yield folder


# ---------------------------------------------------------------------------------- idempotent


def test_a_second_install_reports_every_step_unchanged_and_leaves_the_tree_byte_identical(
    root: Path,
) -> None:
    first = install(root, "--manager", "Ada Lovelace", stdin=f"{PIN}\n")
    assert first.exit_code == 0, first.output
    assert "created" in first.output and first.output.rstrip().endswith("Installed.")
    before = tree(root)

    second = install(root, "--manager", "Ada Lovelace", stdin=f"{PIN}\n")

    assert second.exit_code == 0, second.output
    lines = step_lines(second.output)
    assert len(lines) == len(step_lines(first.output))
    assert [line for line in lines if not line.startswith("unchanged")] == []
    assert second.output.rstrip().endswith("Already installed: nothing changed.")
    assert tree(root) == before


def test_the_first_run_reports_each_file_and_folder_it_created(root: Path) -> None:
    result = install(root)

    assert result.exit_code == 0, result.output
    lines = step_lines(result.output)
    for target in (*(shipped.target for shipped in SHIPPED_FILES), CONFIG_FILE, COMMAND,
                   CREDENTIALS_DROP_IN, STATE_DIR):
        assert f"created    {target}" in lines, f"{target} not reported as created"
    assert "enabled    kiosk.service" in lines
    assert "enabled    kiosk-backup.timer" in lines


# ---------------------------------------------------------------------------------- the tree


def test_the_kiosk_user_is_a_system_user_in_the_trees_passwd_without_a_login(
    installed: Path,
) -> None:
    name, _, uid, gid, _, home, shell = account(installed, "kiosk")

    assert name == "kiosk"
    assert int(uid) < 1000 and int(gid) < 1000
    assert home == str(STATE_DIR)
    assert shell == "/usr/sbin/nologin"
    assert account(installed, "kiosk", "group")[2] == gid


@pytest.mark.parametrize("group", DEVICE_GROUPS)
def test_the_kiosk_user_is_a_member_of_each_device_group(installed: Path, group: str) -> None:
    members = account(installed, group, "group")[3].split(",")

    assert "kiosk" in members


@pytest.mark.parametrize(
    ("path", "mode", "user", "group"),
    [
        ("/etc/kiosk", 0o750, "root", "kiosk"),
        ("/etc/kiosk/credentials", 0o700, "root", "root"),
        ("/etc/kiosk/kiosk.toml", 0o640, "root", "kiosk"),
        ("/var/lib/kiosk", 0o750, "kiosk", "kiosk"),
        ("/var/lib/kiosk/kiosk.db", 0o600, "kiosk", "kiosk"),
        ("/media/kiosk-usb", 0o755, "root", "root"),
        ("/media/kiosk-backup", 0o750, "kiosk", "kiosk"),
        ("/usr/local/bin/kiosk", 0o755, "root", "root"),
        ("/etc/systemd/system/kiosk.service", 0o644, "root", "root"),
        ("/etc/systemd/system/kiosk.service.d/credentials.conf", 0o644, "root", "root"),
        ("/etc/polkit-1/rules.d/50-kiosk.rules", 0o644, "root", "root"),
        ("/etc/udev/rules.d/99-kiosk-usb.rules", 0o644, "root", "root"),
    ],
)
def test_files_and_folders_get_the_documented_owner_and_mode(
    installed: Path, path: str, mode: int, user: str, group: str
) -> None:
    target = Layout(installed).at(PurePosixPath(path))

    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert owner_names(installed, target) == (user, group)


def test_every_state_file_the_install_made_belongs_to_the_kiosk_user(installed: Path) -> None:
    state = Layout(installed).at(STATE_DIR)

    files = sorted(path.name for path in state.iterdir())
    assert DATABASE_NAME in files
    for path in state.iterdir():
        assert owner_names(installed, path) == ("kiosk", "kiosk"), path.name


def test_every_shipped_file_is_installed_byte_for_byte_from_the_checkout(installed: Path) -> None:
    layout = Layout(installed)
    for shipped in SHIPPED_FILES:
        checkout = (REPO / "systemd" / shipped.name).read_bytes()
        assert shipped.content() == checkout, shipped.name
        assert layout.at(shipped.target).read_bytes() == checkout, shipped.target


@pytest.mark.parametrize("rules", ["99-kiosk-scanner.rules", "99-kiosk-printer.rules"])
def test_the_hardware_udev_rules_are_installed_as_they_are_in_hardware(
    installed: Path, rules: str
) -> None:
    installed_rules = Layout(installed).at(PurePosixPath("/etc/udev/rules.d") / rules)

    assert installed_rules.read_bytes() == (REPO / "hardware" / rules).read_bytes()


@pytest.mark.parametrize(
    ("wants", "unit"),
    [("multi-user.target.wants", "kiosk.service"), ("timers.target.wants", "kiosk-backup.timer")],
)
def test_the_units_are_enabled_by_a_link_in_their_targets_wants_folder(
    installed: Path, wants: str, unit: str
) -> None:
    link = Layout(installed).at(UNIT_DIR / wants / unit)

    assert link.is_symlink()
    assert os.readlink(link) == str(UNIT_DIR / unit)


def test_no_enable_installs_the_units_without_enabling_them(root: Path) -> None:
    result = install(root, "--no-enable")

    assert result.exit_code == 0, result.output
    assert Layout(root).at(UNIT_DIR / "kiosk.service").is_file()
    assert not Layout(root).at(UNIT_DIR / "multi-user.target.wants").exists()
    assert "sudo systemctl enable kiosk.service kiosk-backup.timer" in result.output


def test_the_command_the_units_run_execs_the_kiosk_this_install_came_from(
    installed: Path,
) -> None:
    command = Layout(installed).at(COMMAND)
    script = command.read_text()

    assert script.startswith("#!/bin/sh\n")
    assert script.rstrip().endswith(f'exec {kiosk_executable()} "$@"')
    shown = subprocess.run([str(command), "--version"], capture_output=True, text=True,
                           timeout=60, check=True)
    assert shown.stdout.startswith("kiosk")


def test_a_kiosk_command_not_written_by_the_installer_is_never_replaced(root: Path) -> None:
    foreign = Layout(root).at(COMMAND)
    foreign.parent.mkdir(parents=True)
    foreign.write_text("#!/bin/sh\necho somebody else's kiosk\n")

    result = install(root)

    assert result.exit_code == 1
    assert "was not written by kiosk install-service" in result.output
    assert foreign.read_text() == "#!/bin/sh\necho somebody else's kiosk\n"
    assert sorted(path.name for path in root.iterdir()) == ["usr"]


def test_a_kiosk_installed_under_home_or_tmp_is_refused_for_the_service() -> None:
    assert hidden_from_the_service(Path("/home/pi/kiosk/.venv/bin/kiosk"))
    assert hidden_from_the_service(Path("/root/.local/bin/kiosk"))
    assert hidden_from_the_service(Path("/tmp/venv/bin/kiosk"))
    assert not hidden_from_the_service(Path("/opt/kiosk/venv/bin/kiosk"))
    assert not hidden_from_the_service(Path("/usr/local/bin/kiosk"))


# ---------------------------------------------------------------------------------- config


def test_the_config_written_from_the_template_is_valid_as_it_is(installed: Path) -> None:
    config = Layout(installed).at(CONFIG_FILE)

    assert config.read_bytes() == asset("kiosk.example.toml").read_bytes()
    settings = load_settings(config, environ={})
    assert settings.kiosk_id == "lane-1"


def test_the_first_install_tells_what_to_edit_in_the_new_config(root: Path) -> None:
    result = install(root)

    assert f"Edit {CONFIG_FILE}" in result.output
    for key in ("kiosk_id", "[shop]", "[scanner] port", "[stripe]", "reader_id"):
        assert key in result.output


def test_an_existing_config_is_never_overwritten(root: Path) -> None:
    config = Layout(root).at(CONFIG_FILE)
    config.parent.mkdir(parents=True)
    config.write_text('kiosk_id = "lane-7"\n')

    result = install(root)

    assert result.exit_code == 0, result.output
    assert config.read_text() == 'kiosk_id = "lane-7"\n'
    assert f"unchanged  {CONFIG_FILE}  (yours; never overwritten)" in step_lines(result.output)
    assert "Edit /etc/kiosk/kiosk.toml" not in result.output


# ---------------------------------------------------------------------------------- secrets


def test_without_secrets_the_credentials_drop_in_loads_none_and_says_how_to_add_them(
    installed: Path,
) -> None:
    lines = Layout(installed).at(CREDENTIALS_DROP_IN).read_text().splitlines()

    assert "[Service]" in lines
    # Only the machine's own keys, which kiosk-keys.service makes on the first start.
    assert [line for line in lines if line.startswith("LoadCredential=")] == [
        "LoadCredential=pin-pepper:/etc/kiosk/credentials/pin-pepper",
        "LoadCredential=audit-key:/etc/kiosk/credentials/audit-key"]
    assert not Layout(installed).at(CREDENTIALS_DIR / "pin-pepper").exists()


def test_a_secret_file_present_gets_its_load_credential_line_on_the_next_install(
    root: Path,
) -> None:
    assert install(root).exit_code == 0
    secret = Layout(root).at(CREDENTIALS_DIR / "stripe-api-key")
    secret.write_text("sk_test_not_a_real_key\n")

    result = install(root)

    assert f"updated    {CREDENTIALS_DROP_IN}" in step_lines(result.output)
    lines = Layout(root).at(CREDENTIALS_DROP_IN).read_text().splitlines()
    assert [line for line in lines if line.startswith("LoadCredential=")] == [
        "LoadCredential=stripe-api-key:/etc/kiosk/credentials/stripe-api-key",
        "LoadCredential=pin-pepper:/etc/kiosk/credentials/pin-pepper",
        "LoadCredential=audit-key:/etc/kiosk/credentials/audit-key"]
    assert "backoffice-token missing" in result.output
    assert "sk_test_not_a_real_key" not in result.output


# ---------------------------------------------------------------------------------- manager


def test_the_first_manager_is_stored_with_a_scrypt_hash_of_the_pin_read_from_stdin(
    installed: Path,
) -> None:
    database = Layout(installed).at(STATE_DIR / DATABASE_NAME)

    [(name, role, pin_hash, pin_params)] = staff_rows(database)
    assert (name, role) == ("Ada Lovelace", "manager")
    assert json.loads(pin_params)["alg"] == "scrypt"
    assert len(pin_hash) == 32
    assert PIN.encode() not in database.read_bytes()


def test_the_first_manager_can_open_the_staff_menu_with_that_pin(root: Path) -> None:
    result = install(root, "--manager", "Ada Lovelace", stdin=f"{PIN}\n")
    assert "created    first manager  (Ada Lovelace, staff number 1001)" in result.output

    db = open_database(Layout(root).at(STATE_DIR / DATABASE_NAME))
    try:
        check = StaffRoster(db).check_pin(1001, PIN, datetime(2025, 3, 1, 9, 0, tzinfo=UTC))
    finally:
        db.close()
    assert check.outcome is PinOutcome.OK


def test_an_existing_manager_is_kept_and_no_second_one_is_added(root: Path) -> None:
    install(root, "--manager", "Ada Lovelace", stdin=f"{PIN}\n")

    result = install(root, "--manager", "Grace Hopper", stdin="135790\n")

    assert result.exit_code == 0, result.output
    assert "a manager exists: Ada Lovelace, staff number 1001" in result.output
    names = [row[0] for row in staff_rows(Layout(root).at(STATE_DIR / DATABASE_NAME))]
    assert names == ["Ada Lovelace"]


def test_a_pin_that_breaks_the_rules_adds_nobody_and_fails(root: Path) -> None:
    result = install(root, "--manager", "Ada Lovelace", stdin="12\n")

    assert result.exit_code == 1
    assert "PIN not accepted" in result.output and "nobody was added" in result.output
    assert staff_rows(Layout(root).at(STATE_DIR / DATABASE_NAME)) == []


def test_without_a_manager_the_install_says_kiosk_doctor_fails_until_one_exists(
    root: Path,
) -> None:
    result = install(root)

    assert result.exit_code == 0, result.output
    assert "No manager yet: `kiosk doctor` fails" in result.output
    assert "sudo kiosk install-service --manager NAME" in result.output
    assert not Layout(root).at(STATE_DIR / DATABASE_NAME).exists()


def test_the_manager_is_not_added_while_the_kiosk_holds_its_state_directory(
    root: Path,
) -> None:
    assert install(root).exit_code == 0
    with kiosk_running(Layout(root).at(STATE_DIR)):
        result = install(root, "--manager", "Ada Lovelace", stdin=f"{PIN}\n")

    assert result.exit_code == 1
    assert "stop it first" in result.output


def test_installing_again_beside_the_running_kiosk_to_add_a_secret_works(root: Path) -> None:
    # The documented way to hand a new secret to the service: write the file, run the
    # install again. The kiosk is running then; looking for its manager must not need it
    # stopped, and must leave its database as it is.
    assert install(root, "--manager", "Ada Lovelace", stdin=f"{PIN}\n").exit_code == 0
    layout = Layout(root)
    layout.at(CREDENTIALS_DIR / "stripe-api-key").write_text("sk_test_not_a_real_key\n")
    state = layout.at(STATE_DIR)
    database = state / DATABASE_NAME
    with kiosk_running(state):
        kiosk_connection = open_database(database)  # the kiosk's own, with its WAL files
        try:
            before = sorted(path.name for path in state.iterdir()), database.read_bytes()
            result = install(root)
            after = sorted(path.name for path in state.iterdir()), database.read_bytes()
        finally:
            kiosk_connection.close()

    assert result.exit_code == 0, result.output
    assert f"updated    {CREDENTIALS_DROP_IN}" in result.output
    assert "unchanged  first manager  (a manager exists: Ada Lovelace" in result.output
    assert "No manager yet" not in result.output
    assert after == before


def test_without_a_manager_a_second_install_beside_the_running_kiosk_says_to_add_one(
    root: Path,
) -> None:
    assert install(root).exit_code == 0
    database = Layout(root).at(STATE_DIR / DATABASE_NAME)
    kiosk_connection = open_database(database)
    try:
        with kiosk_running(database.parent):
            result = install(root)
    finally:
        kiosk_connection.close()

    assert result.exit_code == 0, result.output
    assert "No manager yet: `kiosk doctor` fails" in result.output


def test_the_real_command_reads_the_pin_from_a_pipe(root: Path) -> None:
    done = subprocess.run(
        [kiosk_executable(), "install-service", "--root", str(root), "--manager", "Ada"],
        input=f"{PIN}\n", capture_output=True, text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stderr
    assert "created    first manager  (Ada, staff number 1001)" in done.stdout


# ---------------------------------------------------------------------------------- root


def test_installing_on_this_machine_without_root_privileges_is_refused() -> None:
    # A forked child gives up root (when the tests run as root) and tries the real thing.
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        message = "no refusal"
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            install_service(Layout(Path("/")), program=Path("/opt/kiosk/venv/bin/kiosk"),
                            now=datetime(2025, 3, 1, 9, 0, tzinfo=UTC))
        except InstallError as refused:
            message = str(refused)
        except BaseException as other:  # reported to the parent, which fails the test
            message = f"{type(other).__name__}: {other}"
        finally:
            os.write(write_end, message.encode())
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        message = answer.read().decode()
    os.waitpid(child, 0)

    assert "run it as root (sudo)" in message


# ---------------------------------------------------------------------------------- uninstall


def test_uninstall_removes_every_unit_rule_and_drop_in_and_keeps_config_and_data(
    root: Path,
) -> None:
    install(root, "--manager", "Ada Lovelace", stdin=f"{PIN}\n")
    layout = Layout(root)

    result = uninstall(root)

    assert result.exit_code == 0, result.output
    for shipped in (*SYSTEM_FILES, SYSUSERS, TMPFILES):
        assert not layout.at(shipped.target).exists(), shipped.target
    assert not layout.at(CREDENTIALS_DROP_IN.parent).exists()
    assert not layout.at(COMMAND).exists()
    assert not layout.at(UNIT_DIR / "multi-user.target.wants" / "kiosk.service").is_symlink()
    assert not layout.at(UNIT_DIR / "timers.target.wants" / "kiosk-backup.timer").is_symlink()
    assert layout.at(CONFIG_FILE).is_file()
    assert [row[0] for row in staff_rows(layout.at(STATE_DIR / DATABASE_NAME))] == [
        "Ada Lovelace"]
    assert "kept       /var/lib/kiosk  (your data; --purge removes it)" in result.output
    assert account(root, "kiosk")[0] == "kiosk"


def test_uninstall_with_purge_removes_the_configuration_and_the_database(root: Path) -> None:
    install(root, "--manager", "Ada Lovelace", stdin=f"{PIN}\n")
    layout = Layout(root)

    result = uninstall(root, "--purge")

    assert result.exit_code == 0, result.output
    assert not layout.at(CONFIG_FILE.parent).exists()
    assert not layout.at(STATE_DIR).exists()
    assert f"removed    {STATE_DIR}" in step_lines(result.output)


def test_purge_keeps_backups_in_the_backup_destination(root: Path) -> None:
    install(root)
    backup = Layout(root).at(PurePosixPath("/media/kiosk-backup/kiosk-2025-03-01.db"))
    backup.write_bytes(b"a backup")

    result = uninstall(root, "--purge")

    assert backup.read_bytes() == b"a backup"
    assert "kept       /media/kiosk-backup  (it holds backups" in result.output


def test_a_second_uninstall_finds_nothing_to_remove(root: Path) -> None:
    install(root)
    uninstall(root)
    before = tree(root)

    result = uninstall(root)

    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("Nothing to remove.")
    assert tree(root) == before


def test_install_after_uninstall_puts_everything_back_and_keeps_the_manager(root: Path) -> None:
    install(root, "--manager", "Ada Lovelace", stdin=f"{PIN}\n")
    installed_tree = tree(root)
    uninstall(root)

    result = install(root)

    assert result.exit_code == 0, result.output
    assert "a manager exists: Ada Lovelace" in result.output
    assert tree(root) == installed_tree
