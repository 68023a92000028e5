"""Everything a doctor check may look at: the settings, the secrets and injectable probes.

The clock, the disk space reader and the NTP probe are fields so tests can put a kiosk ten
minutes off a real server, or a disk nearly full, without touching the machine. Network
checks give up after ``network_timeout_s`` seconds, the printer's status after
``printer_timeout_s``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from kiosk.config import Secrets, Settings
from kiosk.doctor.ntp import timedatectl_ntp_synchronised

NETWORK_TIMEOUT_S = 5.0
"""Seconds a network check (Stripe, the back office, a server's clock) may take."""

PRINTER_TIMEOUT_S = 2.0
"""Seconds the printer has to connect and to answer each status request."""

DATABASE_NAME = "kiosk.db"
"""The database file in the state directory (the name `kiosk.cli.common` and the facade use)."""


class DiskSpace(Protocol):
    """What `shutil.disk_usage` answers, in bytes."""

    @property
    def total(self) -> int:
        """Size of the file system in bytes."""
        ...

    @property
    def free(self) -> int:
        """Bytes an unprivileged process may still write."""
        ...


def utc_now() -> datetime:
    """The machine's current time in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class DoctorContext:
    """What the checks run against.

    ``now`` is the kiosk's idea of the current time (aware UTC); ``disk_usage`` reads the
    space of the file system holding a path; ``ntp_synchronised`` says whether the system
    clock is NTP-synchronised (``None``: cannot tell). ``environ`` is the environment the
    secrets came from.
    """

    config_path: Path
    settings: Settings
    secrets: Secrets = field(default_factory=Secrets)
    now: Callable[[], datetime] = utc_now
    disk_usage: Callable[[Path], DiskSpace] = shutil.disk_usage
    ntp_synchronised: Callable[[], bool | None] = timedatectl_ntp_synchronised
    network_timeout_s: float = NETWORK_TIMEOUT_S
    printer_timeout_s: float = PRINTER_TIMEOUT_S

    @property
    def database(self) -> Path:
        """The kiosk's database file in the state directory."""
        return Path(self.settings.state_dir) / DATABASE_NAME

    def secret_values(self) -> tuple[str, ...]:
        """The configured secrets' values, for scrubbing them out of every line printed."""
        values = (
            self.secrets.stripe_api_key,
            self.secrets.backoffice_token,
            self.secrets.pin_pepper,
            self.secrets.audit_key,
        )
        return tuple(value.get_secret_value() for value in values if value is not None)
