"""Rebooting and powering off through logind: the exact ``busctl`` call and its failures.

CI cannot reboot itself, so these tests put a recording stand-in named ``busctl`` first on
PATH: a small shell script that writes its arguments to a file and exits 0, or prints what
busctl prints when polkit or the bus says no and exits 1. It is the only stand-in in the
suite: a machine that really reboots cannot be run in a test. Everything else (finding the
program on PATH, running it without a shell, reading its exit code and stderr) is real.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kiosk.devices.machine import MachineError, power_off, reboot

LOGIND = ["org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.login1.Manager"]


def install_busctl(folder: Path, *, exit_code: int = 0, stderr: str = "") -> Path:
    """Write the stand-in ``busctl`` into ``folder``; return the file its arguments go to."""
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / "argv.txt"
    script = folder / "busctl"
    script.write_text(
        "#!/bin/sh\n"
        f"printf '%s\\n' \"$@\" > '{record}'\n"
        + (f"printf '%s\\n' '{stderr}' >&2\n" if stderr else "")
        + f"exit {exit_code}\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return record


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder first on PATH (the rest of PATH keeps /bin/sh and printf reachable)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return folder


def test_reboot_asks_logind_to_reboot_without_a_password_prompt(bin_dir: Path) -> None:
    record = install_busctl(bin_dir)

    reboot(timeout_s=7)

    assert record.read_text(encoding="utf-8").splitlines() == [
        "--system", "--quiet", "--timeout=7", "call", *LOGIND, "Reboot", "b", "false"]


def test_power_off_asks_logind_to_power_off_without_a_password_prompt(bin_dir: Path) -> None:
    record = install_busctl(bin_dir)

    power_off()

    assert record.read_text(encoding="utf-8").splitlines() == [
        "--system", "--quiet", "--timeout=10", "call", *LOGIND, "PowerOff", "b", "false"]


def test_a_fraction_of_a_second_is_rounded_up_to_whole_seconds_for_busctl(
    bin_dir: Path,
) -> None:
    record = install_busctl(bin_dir)

    reboot(timeout_s=0.2)

    assert "--timeout=1" in record.read_text(encoding="utf-8").splitlines()


def test_a_polkit_refusal_names_the_missing_rule(bin_dir: Path) -> None:
    install_busctl(bin_dir, exit_code=1,
                   stderr="Call failed: Interactive authentication required.")

    with pytest.raises(MachineError) as refused:
        reboot()

    assert str(refused.value) == (
        "cannot reboot: logind refused: Call failed: Interactive authentication required. "
        "(the polkit rule from `kiosk install-service` is missing?)")


def test_access_denied_on_power_off_is_reported_as_a_refusal(bin_dir: Path) -> None:
    install_busctl(bin_dir, exit_code=1, stderr="Call failed: Access denied")

    with pytest.raises(MachineError, match=r"^cannot power off: logind refused: "
                                           r"Call failed: Access denied \(the polkit rule"):
        power_off()


def test_a_missing_system_bus_is_reported_as_such(bin_dir: Path) -> None:
    install_busctl(bin_dir, exit_code=1,
                   stderr="Failed to connect to bus: No such file or directory")

    with pytest.raises(MachineError) as failed:
        reboot()

    assert str(failed.value) == ("cannot reboot: the system D-Bus cannot be reached: "
                                 "Failed to connect to bus: No such file or directory")


def test_any_other_failure_quotes_what_busctl_said(bin_dir: Path) -> None:
    install_busctl(bin_dir, exit_code=1, stderr="Call failed: Operation already in progress")

    with pytest.raises(MachineError) as failed:
        power_off()

    assert str(failed.value) == (
        "cannot power off: logind refused: Call failed: Operation already in progress")


def test_a_missing_busctl_is_reported_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    with pytest.raises(MachineError) as missing:
        reboot()

    assert str(missing.value) == ("cannot reboot: the busctl command is missing (it comes with "
                                  "systemd; is this a systemd system?)")
