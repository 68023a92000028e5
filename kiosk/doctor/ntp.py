"""Asking the system whether its clock is NTP-synchronised (``timedatectl``).

The default probe of ``DoctorContext.ntp_synchronised``; the clock check
(:mod:`kiosk.doctor.clock`) reads it through the context, so tests can replace it.
"""

from __future__ import annotations

import subprocess

TIMEDATECTL_TIMEOUT_S = 2.0
"""Seconds ``timedatectl`` may take to answer."""


def timedatectl_ntp_synchronised() -> bool | None:
    """Ask ``timedatectl show -p NTPSynchronized --value``: ``True``/``False``, or ``None``
    when it cannot tell (no timedatectl, or systemd is not running, as in containers)."""
    try:
        done = subprocess.run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=TIMEDATECTL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    answer = done.stdout.strip()
    if done.returncode != 0 or answer not in ("yes", "no"):
        return None
    return answer == "yes"
