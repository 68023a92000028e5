"""Install the kiosk as a systemd service, or take it away again (`kiosk install-service`,
`kiosk uninstall-service`).

One run puts everything in place, in order: the ``kiosk`` user and its groups
(``systemd-sysusers``), the folders (``systemd-tmpfiles --create``), ``kiosk.toml`` from the
template when there is none (a configuration is never overwritten), the command the units run
(``/usr/local/bin/kiosk``), the units, the journald, polkit and udev files, the credentials
drop-in, the enabled units, and the first manager when asked for. Every step reports
``created``, ``updated`` or ``unchanged``: a second run changes nothing and says so.

The root directory is ``/`` on a kiosk (root privileges needed; systemd and udev are reloaded
afterwards). Any other root gets the same tree with the tools' ``--root`` options and nothing
is reloaded, triggered or started: that is how the tests install into a temporary folder.
Uninstalling removes what the install added and keeps ``/etc/kiosk`` and ``/var/lib/kiosk``
(and the ``kiosk`` user) unless asked to purge the data.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path, PurePosixPath

from sqlite_utils import Database

from kiosk.config import ConfigError, load_secrets
from kiosk.install.layout import (
    BACKUP_DESTINATION,
    BACKUP_TIMER,
    BACKUP_UNIT,
    COMMAND,
    COMMAND_MARKER,
    CONFIG_FILE,
    CONFIG_MODE,
    CONFIG_TEMPLATE,
    CREDENTIALS,
    CREDENTIALS_DIR,
    CREDENTIALS_DROP_IN,
    DATABASE_NAME,
    JOURNALD,
    KIOSK_UNIT,
    MACHINE_CREDENTIALS,
    POLKIT_DAEMONS,
    PURGED_DIRS,
    SERVICE_USER,
    STATE_DIR,
    SYSTEM_FILES,
    SYSUSERS,
    TMPFILES,
    UDEV_RULES,
    UNITS,
    UNITS_TO_ENABLE,
    USB_MOUNT_POINT,
    Layout,
    ShippedFile,
    tmpfiles_directories,
)
from kiosk.resources import asset
from kiosk.store.db import immediate_transaction, open_database
from kiosk.store.instance_lock import LOCK_FILE_NAME, InstanceLock, KioskAlreadyRunning
from kiosk.store.keys import StoreKeys, keys_from_secrets
from kiosk.store.staff import PinRejected, StaffMember, StaffRole, StaffRoster

TOOL_TIMEOUT_S = 120.0
"""The longest one systemd tool may take (seconds) before the install gives up."""

READ_TIMEOUT_S = 5.0
"""Seconds to wait for a running kiosk's write lock when only reading its staff list."""

ACCOUNT_FILES = tuple(
    PurePosixPath(f"/etc/{name}") for name in ("passwd", "group", "shadow", "gshadow")
)
HIDDEN_FROM_THE_SERVICE = tuple(
    PurePosixPath(path) for path in ("/home", "/root", "/run/user", "/tmp", "/var/tmp")
)
"""Folders kiosk.service cannot see (ProtectHome=, PrivateTmp=): the kiosk cannot live there."""

DIRECTORY_MODE = 0o755
"""Mode of a missing parent folder the installer creates (``/etc/udev/rules.d`` ...)."""


class InstallError(RuntimeError):
    """The install or uninstall cannot go on; the message says why and what to do."""


class Outcome(StrEnum):
    """What one step did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    ENABLED = "enabled"
    DISABLED = "disabled"
    REMOVED = "removed"
    KEPT = "kept"
    ABSENT = "absent"
    RAN = "ran"


@dataclass(frozen=True)
class Step:
    """One thing the installer looked at, and what it did to it."""

    outcome: Outcome
    what: str
    """A path on the kiosk, a unit or a command."""
    note: str = ""


Report = Callable[[Step], None]


@dataclass
class Done:
    """What a run did: its steps in order, and what the technician should do next."""

    steps: list[Step] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when any step changed the machine (not ``unchanged``, ``kept``, ``absent``)."""
        return any(step.outcome not in _STILL for step in self.steps)


_STILL = {Outcome.UNCHANGED, Outcome.KEPT, Outcome.ABSENT}


def this_kiosk_command() -> Path:
    """The ``kiosk`` command of the Python environment running now (a virtualenv's
    ``bin/kiosk`` next to its ``python``), else the one on ``$PATH``."""
    beside = Path(sys.executable).absolute().with_name("kiosk")
    if beside.is_file():
        return beside
    found = shutil.which("kiosk")
    if found is None:
        raise InstallError("cannot find the kiosk command of this Python environment; "
                           "install the kiosk with pip first")
    return Path(found).absolute()


def hidden_from_the_service(program: Path) -> bool:
    """True when kiosk.service could not run ``program`` (under /home, /root or /tmp)."""
    resolved = PurePosixPath(program.resolve())
    return any(resolved.is_relative_to(folder) for folder in HIDDEN_FROM_THE_SERVICE)


def install_service(
    layout: Layout,
    *,
    program: Path,
    now: datetime,
    manager: str | None = None,
    read_pin: Callable[[], str] | None = None,
    enable: bool = True,
    report: Report | None = None,
) -> Done:
    """Install the kiosk service into ``layout`` and return what was done.

    ``program`` is the kiosk command the units run (see `this_kiosk_command`). With
    ``manager``, a first manager of that name is created with the PIN ``read_pin()``
    returns, unless an active manager exists. ``report`` hears of each step as it is done.
    Raises `InstallError` when a step cannot be done (not root on this machine, a tool
    missing or failing, a PIN refused).
    """
    run = _Run(layout, report)
    run.require_root()
    if layout.is_this_machine and hidden_from_the_service(program):
        raise InstallError(
            f"{program} is under a folder the service cannot see (ProtectHome=, PrivateTmp=); "
            "install the kiosk under /opt, e.g. python3 -m venv /opt/kiosk/venv && "
            "/opt/kiosk/venv/bin/pip install kiosk, and run /opt/kiosk/venv/bin/kiosk "
            "install-service from there")
    run.refuse_a_foreign_command(program)
    run.file(SYSUSERS)
    run.service_user()
    run.file(TMPFILES)
    run.folders()
    run.config()
    run.command(program)
    for shipped in SYSTEM_FILES:
        run.file(shipped)
    run.credentials()
    run.reload_after_install()
    if enable:
        run.enable()
    else:
        run.done.advice.append(
            "The units are not enabled (--no-enable): sudo systemctl enable "
            + " ".join(UNITS_TO_ENABLE))
    run.first_manager(manager, read_pin, now)
    run.polkit_check()
    if layout.is_this_machine:
        run.done.advice.append(
            "Start the kiosk once kiosk.toml is right: sudo systemctl start kiosk "
            "(it starts at every boot); its log: journalctl -u kiosk")
    else:
        run.done.advice.append(
            f"Installed into {layout.root}, not this machine: nothing was reloaded, "
            "triggered or started.")
    return run.done


def uninstall_service(layout: Layout, *, purge: bool = False,
                      report: Report | None = None) -> Done:
    """Remove what `install_service` added from ``layout`` and return what was done.

    The units are stopped (on this machine) and disabled. ``/etc/kiosk``, ``/var/lib/kiosk``
    and the ``kiosk`` user stay unless ``purge``; backups in ``/media/kiosk-backup`` always
    stay. Raises `InstallError` when not root on this machine or a tool fails.
    """
    run = _Run(layout, report)
    run.require_root()
    if layout.is_this_machine:
        run.stop_units()
    run.disable()
    for shipped in (*SYSTEM_FILES, SYSUSERS, TMPFILES):
        run.remove(shipped.target)
    run.remove(CREDENTIALS_DROP_IN)
    run.remove_empty_folder(CREDENTIALS_DROP_IN.parent)
    run.remove_command()
    run.reload_after_uninstall()
    run.remove_empty_folder(USB_MOUNT_POINT)
    if purge:
        for folder in PURGED_DIRS:
            run.remove_tree(folder)
        run.remove_empty_folder(BACKUP_DESTINATION, why_kept="it holds backups: remove "
                                "them yourself if they are no longer needed")
    else:
        for folder in PURGED_DIRS[:2]:
            if layout.at(folder).exists():
                run.step(Outcome.KEPT, str(folder), "your data; --purge removes it")
    run.step(Outcome.KEPT, f"user {SERVICE_USER}",
             f"files may still belong to it; sudo userdel {SERVICE_USER} removes it")
    return run.done


class _Run:
    """One install or uninstall: the layout, the steps so far, what changed."""

    def __init__(self, layout: Layout, report: Report | None) -> None:
        self.layout = layout
        self.done = Done()
        self._report = report
        self._changed: set[PurePosixPath] = set()

    # ------------------------------------------------------------------ bookkeeping

    def step(self, outcome: Outcome, what: str, note: str = "") -> Outcome:
        """Record (and report) one step; return its outcome."""
        done = Step(outcome, what, note)
        self.done.steps.append(done)
        if self._report is not None:
            self._report(done)
        return outcome

    def require_root(self) -> None:
        """Refuse to touch this machine without root privileges."""
        if self.layout.is_this_machine and os.geteuid() != 0:
            raise InstallError("this changes the system: run it as root (sudo), or pass "
                               "--root DIR to install into a folder")

    def tool(self, name: str) -> list[str]:
        """The command line start of a systemd tool, with --root off this machine."""
        path = shutil.which(name)
        if path is None:
            raise InstallError(f"{name} is missing: it comes with systemd "
                               "(sudo apt-get install systemd)")
        if self.layout.is_this_machine:
            return [path]
        return [path, f"--root={self.layout.root}"]

    def call(self, command: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run one tool; raise `InstallError` with what it said when it fails and ``check``."""
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False,
                                  timeout=TOOL_TIMEOUT_S, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise InstallError(f"{shlex.join(command)}: {error}") from None
        if check and done.returncode != 0:
            said = " ".join((done.stderr or done.stdout).split()) or f"exit {done.returncode}"
            raise InstallError(f"{shlex.join(command)} failed: {said}")
        return done

    # ------------------------------------------------------------------ files

    def write(self, target: PurePosixPath, content: bytes, mode: int,
              owner: tuple[int, int] | None = None) -> Outcome:
        """Put ``content`` at ``target`` with ``mode`` (and ``owner``), unless it is there."""
        path = self.layout.at(target)
        existed = path.exists() or path.is_symlink()
        if existed and _same_file(path, content, mode, owner):
            return self.step(Outcome.UNCHANGED, str(target))
        _make_folders(path.parent)
        fresh = path.with_name(f".{path.name}.kiosk-new")
        fresh.write_bytes(content)
        os.chmod(fresh, mode)
        if owner is not None:
            os.chown(fresh, *owner)
        os.replace(fresh, path)
        self._changed.add(target)
        return self.step(Outcome.UPDATED if existed else Outcome.CREATED, str(target))

    def file(self, shipped: ShippedFile) -> Outcome:
        """Install one shipped file as it ships."""
        return self.write(shipped.target, shipped.content(), shipped.mode)

    def remove(self, target: PurePosixPath) -> None:
        """Remove one installed file (reported ``absent`` when it is not there)."""
        path = self.layout.at(target)
        if not (path.exists() or path.is_symlink()):
            self.step(Outcome.ABSENT, str(target))
            return
        path.unlink()
        self._changed.add(target)
        self.step(Outcome.REMOVED, str(target))

    def remove_empty_folder(self, target: PurePosixPath, why_kept: str = "not empty") -> None:
        """Remove a folder if it is empty (and no mount point); say why otherwise."""
        path = self.layout.at(target)
        if not path.is_dir():
            return
        if any(path.iterdir()) or os.path.ismount(path):
            self.step(Outcome.KEPT, str(target), why_kept)
            return
        path.rmdir()
        self.step(Outcome.REMOVED, str(target))

    def remove_tree(self, target: PurePosixPath) -> None:
        """Remove a data folder and everything in it (``--purge``)."""
        path = self.layout.at(target)
        if not path.exists():
            self.step(Outcome.ABSENT, str(target))
            return
        shutil.rmtree(path)
        self.step(Outcome.REMOVED, str(target))

    # ------------------------------------------------------------------ install steps

    def service_user(self) -> None:
        """Create the kiosk user and its group memberships with systemd-sysusers."""
        before = self._account_files()
        self.call([*self.tool("systemd-sysusers"), str(self.layout.at(SYSUSERS.target))])
        after = self._account_files()
        groups = _member_groups(SYSUSERS.content().decode("utf-8"))
        what = f"user {SERVICE_USER} (groups {', '.join(groups)})"
        if after == before:
            self.step(Outcome.UNCHANGED, what)
        else:
            self.step(Outcome.UPDATED if _has_user(before[0]) else Outcome.CREATED, what)

    def _account_files(self) -> tuple[bytes | None, ...]:
        paths = (self.layout.at(path) for path in ACCOUNT_FILES)
        return tuple(path.read_bytes() if path.exists() else None for path in paths)

    def folders(self) -> None:
        """Create the kiosk's folders with systemd-tmpfiles, reporting each one."""
        folders = tmpfiles_directories()
        before = {folder: _folder_state(self.layout.at(folder)) for folder in folders}
        self.call([*self.tool("systemd-tmpfiles"), "--create",
                   str(self.layout.at(TMPFILES.target))])
        for folder in folders:
            after = _folder_state(self.layout.at(folder))
            if after is None:
                raise InstallError(f"systemd-tmpfiles did not create {folder}")
            if after == before[folder]:
                self.step(Outcome.UNCHANGED, str(folder))
            else:
                self.step(Outcome.CREATED if before[folder] is None else Outcome.UPDATED,
                          str(folder))

    def config(self) -> None:
        """Write kiosk.toml from the template, only when there is none."""
        path = self.layout.at(CONFIG_FILE)
        if path.exists():
            self.step(Outcome.UNCHANGED, str(CONFIG_FILE), "yours; never overwritten")
            return
        _, gid = self._kiosk_ids()
        self.write(CONFIG_FILE, asset(CONFIG_TEMPLATE).read_bytes(), CONFIG_MODE, (0, gid))
        self.done.advice.append(
            f"Edit {CONFIG_FILE} (a copy of the example): kiosk_id; [shop] name, address, "
            "currency, locale, time_zone; [tax]; [scanner] port (/dev/kiosk-scanner); "
            "[printer] transport; [stripe] api_base, reader_id, location_id; [backoffice] "
            "url. Then check it: kiosk config check")

    def command(self, program: Path) -> None:
        """Make /usr/local/bin/kiosk run ``program``: a one-line exec, unless it is
        ``program`` itself (a system-wide install)."""
        if self._is_the_program(program):
            self.step(Outcome.UNCHANGED, str(COMMAND), "the kiosk command itself")
            return
        script = (
            "#!/bin/sh\n"
            f"{COMMAND_MARKER}: the kiosk command of the Python environment\n"
            f"# at {program.parent.parent}, which the kiosk's systemd units run. Removed by\n"
            "# `kiosk uninstall-service`.\n"
            f"exec {shlex.quote(str(program))} \"$@\"\n"
        )
        self.write(COMMAND, script.encode("utf-8"), 0o755)

    def refuse_a_foreign_command(self, program: Path) -> None:
        """Refuse, before changing anything, to replace a /usr/local/bin/kiosk that is
        neither ``program`` nor written by the installer."""
        path = self.layout.at(COMMAND)
        if path.exists() and not self._is_the_program(program) and not _written_by_us(path):
            raise InstallError(
                f"{COMMAND} exists and was not written by kiosk install-service; remove it "
                f"(or install the kiosk there) and run again: the units run {COMMAND}")

    def _is_the_program(self, program: Path) -> bool:
        path = self.layout.at(COMMAND)
        return path.exists() and path.resolve() == program.resolve()

    def credentials(self) -> None:
        """Write the drop-in with a LoadCredential= line for each secret file present."""
        present = [name for name in CREDENTIALS
                   if self.layout.at(CREDENTIALS_DIR / name).is_file()]
        lines = [
            f"{COMMAND_MARKER} from the files in {CREDENTIALS_DIR}/.",
            "# systemd 252 does not start a unit whose LoadCredential= file is missing, so only",
            "# the secrets present are listed. Run `sudo kiosk install-service` again after",
            "# adding or removing one.",
            "# The machine's own keys are always loaded: kiosk-keys.service makes them on the",
            "# first start, before the kiosk (never the installer: clones must not share them).",
            "[Service]",
            *(f"LoadCredential={name}:{CREDENTIALS_DIR / name}" for name in present),
            *(f"LoadCredential={name}:{CREDENTIALS_DIR / name}"
              for name in MACHINE_CREDENTIALS),
        ]
        self.write(CREDENTIALS_DROP_IN, ("\n".join(lines) + "\n").encode("utf-8"), 0o644)
        missing = [name for name in CREDENTIALS if name not in present]
        if missing:
            self.done.advice.append(
                "Secrets: " + ", ".join(f"{CREDENTIALS_DIR / name}" for name in missing)
                + " missing (the Stripe secret key; the back-office token, if there is a back "
                "office). Write each as root, mode 600 (sudo install -m 600 /dev/stdin "
                f"{CREDENTIALS_DIR}/NAME, paste, Ctrl-D), then run sudo kiosk "
                "install-service again: it adds them to the service.")

    def reload_after_install(self) -> None:
        """On this machine: make systemd, udev and journald read what changed."""
        if not self.layout.is_this_machine:
            return
        units = {shipped.target for shipped in UNITS} | {CREDENTIALS_DROP_IN}
        if self._changed & units:
            self.call(["systemctl", "daemon-reload"])
            self.step(Outcome.RAN, "systemctl daemon-reload")
        if self._changed & {rule.target for rule in UDEV_RULES}:
            self._reload_udev(trigger=True)
        if JOURNALD.target in self._changed:
            self.call(["systemctl", "restart", "systemd-journald.service"])
            self.step(Outcome.RAN, "systemctl restart systemd-journald")

    def _reload_udev(self, *, trigger: bool) -> None:
        udevadm = shutil.which("udevadm")
        if udevadm is None:
            self.done.advice.append("udevadm is missing: the udev rules apply after a reboot.")
            return
        self.call([udevadm, "control", "--reload"])
        self.step(Outcome.RAN, "udevadm control --reload")
        if trigger:
            # Devices plugged in already get their links and groups now (not their mounts:
            # a stick already in is mounted when it is next plugged in).
            self.call([udevadm, "trigger", "--subsystem-match=tty", "--subsystem-match=usb"])
            self.step(Outcome.RAN, "udevadm trigger (tty, usb)")

    def enable(self) -> None:
        """Enable the units that start at boot (the app and the backup timer)."""
        systemctl = self.tool("systemctl")
        for unit in UNITS_TO_ENABLE:
            state = self.call([*systemctl, "is-enabled", unit], check=False).stdout.strip()
            if state == "enabled":
                self.step(Outcome.UNCHANGED, unit, "enabled")
                continue
            self.call([*systemctl, "enable", unit])
            self.step(Outcome.ENABLED, unit)
            if unit == BACKUP_TIMER and self.layout.is_this_machine:
                self.call(["systemctl", "start", BACKUP_TIMER])
                self.step(Outcome.RAN, f"systemctl start {BACKUP_TIMER}")

    def first_manager(self, name: str | None, read_pin: Callable[[], str] | None,
                      now: datetime) -> None:
        """Create the first manager (``name`` given), or say whether one exists.

        Adding one needs the state directory's lock: refused while the kiosk runs. Only
        looking (no ``name``) reads the running kiosk's database instead, so running the
        install again beside a running kiosk (after adding a secret) works."""
        database = self.layout.at(STATE_DIR / DATABASE_NAME)
        if name is None and not database.exists():
            self.done.advice.append(_NO_MANAGER_YET)
            return
        if name is not None and not name.strip():
            raise InstallError("a manager needs a name")
        try:
            with InstanceLock(database.parent):
                outcome = self._manager_in(database, name, read_pin, now)
        except KioskAlreadyRunning:
            if name is not None:
                raise InstallError("the kiosk is running and holds its database; stop it "
                                   "first (sudo systemctl stop kiosk) and run again") from None
            outcome = self._manager_beside_the_kiosk(database)
        finally:
            self._hand_over(database.parent)
        if outcome is None:
            self.done.advice.append(_NO_MANAGER_YET)

    def _manager_beside_the_kiosk(self, database: Path) -> Outcome | None:
        """Report an active manager in the running kiosk's ``database``, read-only (its WAL
        files exist while it runs, so nothing is created); ``None`` when there is none."""
        connection = sqlite3.connect(database.absolute().as_uri() + "?mode=ro", uri=True,
                                     timeout=READ_TIMEOUT_S)
        try:
            members = StaffRoster(Database(connection)).list()
        except sqlite3.Error as error:
            return self.step(Outcome.UNCHANGED, "first manager",
                             f"the staff list cannot be read ({error}); `kiosk doctor` "
                             "checks it")
        finally:
            connection.close()
        managers = [member for member in members
                    if member.role is StaffRole.MANAGER and member.active]
        if not managers:
            return None
        return self.step(Outcome.UNCHANGED, "first manager", _managers_note(managers))

    def _manager_in(self, database: Path, name: str | None,
                    read_pin: Callable[[], str] | None, now: datetime) -> Outcome | None:
        db = open_database(database, keys=self._machine_keys())
        try:
            roster = StaffRoster(db)
            managers = [member for member in roster.list()
                        if member.role is StaffRole.MANAGER and member.active]
            if managers:
                return self.step(Outcome.UNCHANGED, "first manager", _managers_note(managers))
            if name is None:
                return None
            if read_pin is None:
                raise InstallError("a PIN is needed for the first manager")
            pin = read_pin()
            try:
                with immediate_transaction(db):
                    member = roster.add(name, StaffRole.MANAGER, now)
                    roster.set_pin(member.number, pin, now)
            except PinRejected as rejected:
                raise InstallError(f"PIN not accepted: {rejected}; nobody was added") from None
            return self.step(Outcome.CREATED, "first manager",
                             f"{member.name}, staff number {member.number}")
        finally:
            db.close()

    def _machine_keys(self) -> StoreKeys | None:
        """The machine's PIN pepper and audit key when a reinstall finds them (a first
        install has none yet: the first start makes them and wraps the manager's PIN)."""
        try:
            return keys_from_secrets(load_secrets({}, self.layout.at(CREDENTIALS_DIR)))
        except (ConfigError, OSError):
            return None

    def _hand_over(self, state_dir: Path) -> None:
        """Give the database files this run created as root to the kiosk user."""
        uid, gid = self._kiosk_ids()
        names = (DATABASE_NAME, f"{DATABASE_NAME}-wal", f"{DATABASE_NAME}-shm", LOCK_FILE_NAME)
        for path in (state_dir / name for name in names):
            if path.exists():
                details = path.stat()
                if (details.st_uid, details.st_gid, details.st_mode & 0o7777) != (uid, gid,
                                                                                    0o600):
                    os.chown(path, uid, gid)
                    os.chmod(path, 0o600)

    def _kiosk_ids(self) -> tuple[int, int]:
        try:
            return self.layout.kiosk_ids()
        except LookupError as missing:
            raise InstallError(f"{missing}: systemd-sysusers did not create it") from None

    def polkit_check(self) -> None:
        """Warn when polkitd is missing: without it logind lets only root reboot."""
        if not any(self.layout.at(daemon).exists() for daemon in POLKIT_DAEMONS):
            self.done.advice.append(
                "polkitd is not installed: the staff menu cannot reboot or power off the "
                "machine until it is (sudo apt-get install polkitd).")

    # ------------------------------------------------------------------ uninstall steps

    def stop_units(self) -> None:
        """Stop the app and the backup (units that are not loaded are no error)."""
        self.call(["systemctl", "stop", KIOSK_UNIT, BACKUP_TIMER, BACKUP_UNIT], check=False)
        self.step(Outcome.RAN, f"systemctl stop {KIOSK_UNIT} {BACKUP_TIMER} {BACKUP_UNIT}")

    def disable(self) -> None:
        """Disable the units enabled at install (while their files are still there)."""
        systemctl = self.tool("systemctl")
        for unit in UNITS_TO_ENABLE:
            state = self.call([*systemctl, "is-enabled", unit], check=False).stdout.strip()
            if state != "enabled":
                self.step(Outcome.UNCHANGED, unit, "not enabled")
                continue
            self.call([*systemctl, "disable", unit])
            self.step(Outcome.DISABLED, unit)

    def remove_command(self) -> None:
        """Remove /usr/local/bin/kiosk if the installer wrote it."""
        path = self.layout.at(COMMAND)
        if path.exists() and not _written_by_us(path):
            self.step(Outcome.KEPT, str(COMMAND), "the kiosk command itself")
            return
        self.remove(COMMAND)

    def reload_after_uninstall(self) -> None:
        """On this machine: make systemd, udev and journald forget what was removed."""
        if not self.layout.is_this_machine:
            return
        self.call(["systemctl", "daemon-reload"])
        self.step(Outcome.RAN, "systemctl daemon-reload")
        self._reload_udev(trigger=False)
        if JOURNALD.target in self._changed:
            self.call(["systemctl", "restart", "systemd-journald.service"])
            self.step(Outcome.RAN, "systemctl restart systemd-journald")


_NO_MANAGER_YET = (
    "No manager yet: `kiosk doctor` fails and nobody can open the staff menu until one "
    "exists. Add one: sudo kiosk install-service --manager NAME (asks for a PIN of at "
    "least 6 digits)."
)


def _managers_note(managers: list[StaffMember]) -> str:
    first = managers[0]
    note = f"a manager exists: {first.name}, staff number {first.number}"
    if not any(member.has_pin for member in managers):
        note += f"; no PIN yet: sudo -u {SERVICE_USER} kiosk staff set-pin {first.number}"
    return note


def _same_file(path: Path, content: bytes, mode: int, owner: tuple[int, int] | None) -> bool:
    if path.is_symlink() or not path.is_file():
        return False
    details = path.stat()
    if details.st_mode & 0o7777 != mode:
        return False
    if owner is not None and (details.st_uid, details.st_gid) != owner:
        return False
    return path.read_bytes() == content


def _make_folders(folder: Path) -> None:
    """Create ``folder`` and its missing parents with `DIRECTORY_MODE`, whatever the umask."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
        os.chmod(path, DIRECTORY_MODE)


def _folder_state(path: Path) -> tuple[int, int, int] | None:
    if not path.is_dir():
        return None
    details = path.stat()
    return details.st_mode & 0o7777, details.st_uid, details.st_gid


def _written_by_us(path: Path) -> bool:
    try:
        with path.open("rb") as opened:
            head = opened.read(512)
    except OSError:
        return False
    return COMMAND_MARKER.encode("utf-8") in head


def _member_groups(sysusers: str) -> list[str]:
    groups = []
    for line in sysusers.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] == "m" and fields[1] == SERVICE_USER:
            groups.append(fields[2])
    return groups


def _has_user(passwd: bytes | None) -> bool:
    if passwd is None:
        return False
    return any(line.split(b":", 1)[0] == SERVICE_USER.encode() for line in passwd.splitlines())
