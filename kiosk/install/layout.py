"""What goes where on an installed kiosk: every file, folder and unit `kiosk install-service`
manages, as the absolute paths systemd sees, and their mapping into a root directory.

The files themselves ship in the wheel: ``systemd/`` as the package ``kiosk.systemd``, the udev
rules of ``hardware/`` through symbolic links there (the wheel holds copies), all read through
``importlib.resources``, so an installed wheel works like a checkout. A :class:`Layout` maps
a path of the kiosk (``/etc/kiosk/kiosk.toml``) into its root directory: ``/`` on the kiosk,
a temporary folder in the tests.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path, PurePosixPath

from kiosk.config.secrets import BACKOFFICE_TOKEN, MACHINE_KEYS, STRIPE_API_KEY

SYSTEMD_PACKAGE = "kiosk.systemd"
"""The package holding the files of the top-level ``systemd/`` folder."""

SERVICE_USER = "kiosk"
"""The system user (and its primary group) the services run as."""

UNIT_DIR = PurePosixPath("/etc/systemd/system")
KIOSK_UNIT = "kiosk.service"
KEYS_UNIT = "kiosk-keys.service"
"""Makes the machine's own PIN pepper and audit key on its first start (``kiosk keys
create``); ``kiosk.service`` wants it and starts after it."""
BACKUP_UNIT = "kiosk-backup.service"
BACKUP_TIMER = "kiosk-backup.timer"
UNITS_TO_ENABLE = (KIOSK_UNIT, BACKUP_TIMER)
"""Started at boot: the app, and the timer that starts the nightly backup."""

COMMAND = PurePosixPath("/usr/local/bin/kiosk")
"""The command the units run (``ExecStart=``): the kiosk of the environment installed from."""

COMMAND_MARKER = "# Written by `kiosk install-service`"
"""The second line of a command file the installer wrote (and may replace or remove)."""

CONFIG_DIR = PurePosixPath("/etc/kiosk")
CONFIG_FILE = CONFIG_DIR / "kiosk.toml"
CONFIG_TEMPLATE = "kiosk.example.toml"
"""The asset a new ``kiosk.toml`` is copied from (``assets/kiosk.example.toml``)."""

CONFIG_MODE = 0o640
"""``kiosk.toml``: root may write it, the kiosk's group may read it."""

CREDENTIALS_DIR = CONFIG_DIR / "credentials"
CREDENTIALS = (STRIPE_API_KEY.credential, BACKOFFICE_TOKEN.credential)
"""The secrets systemd may hand to the app, by credential name (``kiosk.config.secrets``)."""

MACHINE_CREDENTIALS = tuple(source.credential for source in MACHINE_KEYS)
"""The keys each machine makes on its first start (``kiosk-keys.service``), never the
installer: always loaded (the keys unit makes them before the app starts)."""

CREDENTIALS_DROP_IN = UNIT_DIR / f"{KIOSK_UNIT}.d" / "credentials.conf"
"""``LoadCredential=`` for each secret file present (systemd 252 fails on a missing one)."""

STATE_DIR = PurePosixPath("/var/lib/kiosk")
CACHE_DIR = PurePosixPath("/var/cache/kiosk")
DATABASE_NAME = "kiosk.db"
"""The database's name in the state directory (as ``kiosk.cli.common.DATABASE_NAME``)."""

USB_MOUNT_POINT = PurePosixPath("/media/kiosk-usb")
BACKUP_DESTINATION = PurePosixPath("/media/kiosk-backup")

PURGED_DIRS = (CONFIG_DIR, STATE_DIR, CACHE_DIR)
"""The kiosk's own data, removed by ``uninstall-service --purge`` only."""

POLKIT_DAEMONS = (
    PurePosixPath("/usr/lib/polkit-1/polkitd"),
    PurePosixPath("/usr/libexec/polkitd"),
)
"""Where Debian and other distributions keep polkitd (the reboot rule needs it)."""


@dataclass(frozen=True)
class ShippedFile:
    """One file shipped in the package and the place it is installed at."""

    package: str
    """The package it ships in (``kiosk.systemd``)."""
    name: str
    """Its name in the package (and in ``systemd/`` of the checkout)."""
    target: PurePosixPath
    """Its absolute path on the kiosk."""
    mode: int = 0o644

    def content(self) -> bytes:
        """The file's bytes as shipped."""
        return files(self.package).joinpath(self.name).read_bytes()


SYSUSERS = ShippedFile(SYSTEMD_PACKAGE, "kiosk.sysusers",
                       PurePosixPath("/etc/sysusers.d/kiosk.conf"))
TMPFILES = ShippedFile(SYSTEMD_PACKAGE, "kiosk.tmpfiles",
                       PurePosixPath("/etc/tmpfiles.d/kiosk.conf"))
JOURNALD = ShippedFile(SYSTEMD_PACKAGE, "journald-kiosk.conf",
                       PurePosixPath("/etc/systemd/journald.conf.d/kiosk.conf"))
POLKIT_RULE = ShippedFile(SYSTEMD_PACKAGE, "50-kiosk.rules",
                          PurePosixPath("/etc/polkit-1/rules.d/50-kiosk.rules"))
UNITS = tuple(
    ShippedFile(SYSTEMD_PACKAGE, name, UNIT_DIR / name)
    for name in (KIOSK_UNIT, KEYS_UNIT, BACKUP_UNIT, BACKUP_TIMER)
)
UDEV_RULES = (
    ShippedFile(SYSTEMD_PACKAGE, "99-kiosk-scanner.rules",
                PurePosixPath("/etc/udev/rules.d/99-kiosk-scanner.rules")),
    ShippedFile(SYSTEMD_PACKAGE, "99-kiosk-printer.rules",
                PurePosixPath("/etc/udev/rules.d/99-kiosk-printer.rules")),
    ShippedFile(SYSTEMD_PACKAGE, "99-kiosk-usb.rules",
                PurePosixPath("/etc/udev/rules.d/99-kiosk-usb.rules")),
)
SYSTEM_FILES = (*UNITS, JOURNALD, POLKIT_RULE, *UDEV_RULES)
"""Installed as they ship once the user and the folders exist, removed by uninstall."""

SHIPPED_FILES = (SYSUSERS, TMPFILES, *SYSTEM_FILES)
"""Every shipped file the installer puts in place, in the order it does."""


def tmpfiles_directories() -> tuple[PurePosixPath, ...]:
    """The folders ``kiosk.tmpfiles`` creates, in its order."""
    found = []
    for line in TMPFILES.content().decode("utf-8").splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#") and fields[0] == "d":
            found.append(PurePosixPath(fields[1]))
    return tuple(found)


@dataclass(frozen=True)
class Layout:
    """The kiosk's paths inside one root directory (``/`` on a real kiosk)."""

    root: Path
    """Made absolute: the systemd tools read their file arguments relative to it."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(os.path.abspath(self.root)))

    def at(self, path: PurePosixPath) -> Path:
        """Where the kiosk's absolute ``path`` is in this root."""
        return self.root / path.relative_to("/")

    @property
    def is_this_machine(self) -> bool:
        """True when the root is ``/``: the install is for real (root needed, services
        reloaded); otherwise it is a tree for inspection or tests."""
        return self.root.resolve() == Path("/")

    def kiosk_ids(self) -> tuple[int, int]:
        """The uid and gid of the kiosk user in this root's ``/etc/passwd``.

        Raises ``LookupError`` when the user does not exist (yet).
        """
        passwd = self.at(PurePosixPath("/etc/passwd"))
        if passwd.exists():
            for line in passwd.read_text(encoding="utf-8").splitlines():
                fields = line.split(":")
                if len(fields) >= 4 and fields[0] == SERVICE_USER:
                    return int(fields[2]), int(fields[3])
        raise LookupError(f"no user {SERVICE_USER!r} in {passwd}")
