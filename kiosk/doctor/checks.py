"""Running the doctor: the ordered list of checks, each bounded in time, never raising.

The checks run side by side, one daemon thread each, so the slow network ones (up to
`kiosk.doctor.context.NETWORK_TIMEOUT_S` seconds each) cost that time once, not once per
check. A check still running at `CHECK_DEADLINE_S` becomes a failed row (its thread is left
to die with the process); an exception inside a check becomes a failed row with its message.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from kiosk.doctor.clock import NAME as CLOCK
from kiosk.doctor.clock import check_clock
from kiosk.doctor.config_checks import check_config
from kiosk.doctor.context import DiskSpace, DoctorContext, utc_now
from kiosk.doctor.devices import PRINTER, SCANNER, check_printer, check_scanner
from kiosk.doctor.ntp import timedatectl_ntp_synchronised
from kiosk.doctor.payment_checks import PAYMENTS, check_payment_alerts
from kiosk.doctor.reachability import (
    BACK_OFFICE,
    CARD_READER,
    check_backoffice,
    check_card_reader,
)
from kiosk.doctor.report import DoctorReport
from kiosk.doctor.result import CheckResult, failed
from kiosk.doctor.secrets_checks import AUDIT, PINS, check_audit_chain, check_pins
from kiosk.doctor.storage_checks import (
    BACKUPS,
    DATABASE,
    DISK,
    STAFF,
    check_backups,
    check_database,
    check_disk,
    check_staff,
)

Check = Callable[[DoctorContext], CheckResult | None]
"""A check: looks at the context and answers a row, or ``None`` when it does not apply."""

CHECKS: tuple[tuple[str, Check], ...] = (
    (DATABASE, check_database),
    (DISK, check_disk),
    (CLOCK, check_clock),
    (STAFF, check_staff),
    (PINS, check_pins),
    (AUDIT, check_audit_chain),
    (SCANNER, check_scanner),
    (PRINTER, check_printer),
    (CARD_READER, check_card_reader),
    (BACK_OFFICE, check_backoffice),
    (BACKUPS, check_backups),
    (PAYMENTS, check_payment_alerts),
)
"""Every check after the config, in the order of the table."""

CHECK_DEADLINE_S = 20.0
"""Seconds all checks together may take; a check still running then fails."""


def guarded(name: str, check: Check, context: DoctorContext) -> CheckResult | None:
    """Run one check; an exception becomes a failed row named ``name`` with its message."""
    try:
        return check(context)
    except Exception as error:  # a check must never take the doctor down
        return failed(
            name,
            f"the check itself failed: {type(error).__name__}: {error}",
            "Something unexpected is in the way (the message says what); "
            "run the check's own command (`kiosk db check`, `kiosk reader status`...) for more.",
        )


def run_checks(
    context: DoctorContext,
    checks: Sequence[tuple[str, Check]] = CHECKS,
    *,
    deadline_s: float = CHECK_DEADLINE_S,
) -> list[CheckResult]:
    """Run ``checks`` side by side and return their rows in order; each has until
    ``deadline_s`` seconds after the start, else it fails as unfinished."""
    answers: dict[int, CheckResult | None] = {}
    lock = threading.Lock()

    def work(index: int, name: str, check: Check) -> None:
        answer = guarded(name, check, context)
        with lock:
            answers[index] = answer

    threads = [
        threading.Thread(target=work, args=(index, name, check), name=f"doctor-{name}",
                         daemon=True)
        for index, (name, check) in enumerate(checks)
    ]
    for thread in threads:
        thread.start()
    end = time.monotonic() + deadline_s
    results: list[CheckResult] = []
    for index, ((name, _check), thread) in enumerate(zip(checks, threads, strict=True)):
        thread.join(max(0.0, end - time.monotonic()))
        with lock:
            finished = index in answers
            answer = answers.get(index)
        if not finished:
            results.append(failed(
                name,
                f"did not finish within {deadline_s:g} s",
                "Something it waits for hangs (a device, the network, a locked database); "
                "try again, then check that part by hand.",
            ))
        elif answer is not None:
            results.append(answer)
    return results


def run_doctor(
    config_path: Path,
    environ: Mapping[str, str],
    *,
    now: Callable[[], datetime] = utc_now,
    disk_usage: Callable[[Path], DiskSpace] = shutil.disk_usage,
    ntp_synchronised: Callable[[], bool | None] = timedatectl_ntp_synchronised,
    checks: Sequence[tuple[str, Check]] = CHECKS,
    deadline_s: float = CHECK_DEADLINE_S,
) -> DoctorReport:
    """Check the configuration at ``config_path``, then (if it could be read) everything
    else. ``now``, ``disk_usage`` and ``ntp_synchronised`` are the probes of
    `DoctorContext`; ``checks`` and ``deadline_s`` those of `run_checks`."""
    outcome = check_config(config_path, environ)
    if outcome.settings is None:
        return DoctorReport((outcome.result,), config_readable=False)
    context = DoctorContext(
        config_path=config_path,
        settings=outcome.settings,
        secrets=outcome.secrets,
        now=now,
        disk_usage=disk_usage,
        ntp_synchronised=ntp_synchronised,
    )
    results = run_checks(context, checks, deadline_s=deadline_s)
    return DoctorReport(
        (outcome.result, *results), config_readable=True, secrets=context.secret_values()
    )
