"""Reboot or power off the kiosk's computer, for the staff menu, through systemd-logind.

logind's D-Bus API (``org.freedesktop.login1.Manager.Reboot`` / ``PowerOff`` with
``interactive = false``) is called with systemd's own ``busctl`` command-line tool, because no
D-Bus binding for Python is installed. ``busctl`` runs without a shell and with a timeout.
logind asks polkit whether the kiosk's user may do it; the polkit rule installed with the
kiosk service allows it without a password. Without that rule logind refuses, and the refusal
comes back as a `MachineError` whose message a technician can act on.

Restarting only the app is not done here: the app exits with its restart code and systemd
starts it again.
"""

from __future__ import annotations

import math
import shutil
import subprocess

__all__ = ["MachineError", "power_off", "reboot"]

LOGIND_SERVICE = "org.freedesktop.login1"
LOGIND_OBJECT = "/org/freedesktop/login1"
LOGIND_INTERFACE = "org.freedesktop.login1.Manager"

_REFUSALS = ("interactive authentication required", "access denied", "not allowed",
             "permission denied", "not authorized", "accessdenied")
_NO_BUS = ("failed to connect to bus", "connection refused")


class MachineError(RuntimeError):
    """Rebooting or powering off failed; the message says why in a technician's words."""


def reboot(*, timeout_s: float = 10.0) -> None:
    """Ask logind to reboot the computer now (no password prompt).

    Returns once logind accepted; the reboot itself follows. Raises `MachineError` when
    ``busctl`` is missing, logind refuses or does not answer within ``timeout_s`` seconds.
    """
    _ask_logind("Reboot", "reboot", timeout_s)


def power_off(*, timeout_s: float = 10.0) -> None:
    """Ask logind to power the computer off now (no password prompt).

    Returns once logind accepted. Raises `MachineError` when ``busctl`` is missing, logind
    refuses or does not answer within ``timeout_s`` seconds.
    """
    _ask_logind("PowerOff", "power off", timeout_s)


def _ask_logind(method: str, doing: str, timeout_s: float) -> None:
    busctl = shutil.which("busctl")
    if busctl is None:
        raise MachineError(f"cannot {doing}: the busctl command is missing (it comes with "
                           "systemd; is this a systemd system?)")
    wait_s = max(1, math.ceil(timeout_s))
    command = [busctl, "--system", "--quiet", f"--timeout={wait_s}", "call",
               LOGIND_SERVICE, LOGIND_OBJECT, LOGIND_INTERFACE, method, "b", "false"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              timeout=wait_s + 2, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise MachineError(f"cannot {doing}: logind did not answer within {wait_s} s") from None
    except OSError as error:
        raise MachineError(f"cannot {doing}: busctl could not be run: {error}") from None
    if done.returncode == 0:
        return
    said = " ".join((done.stderr or done.stdout or "").split()) or f"exit code {done.returncode}"
    lowered = said.lower()
    if any(word in lowered for word in _REFUSALS):
        raise MachineError(f"cannot {doing}: logind refused: {said} (the polkit rule from "
                           "`kiosk install-service` is missing?)")
    if any(word in lowered for word in _NO_BUS):
        raise MachineError(f"cannot {doing}: the system D-Bus cannot be reached: {said}")
    raise MachineError(f"cannot {doing}: logind refused: {said}")
