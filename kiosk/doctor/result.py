"""What one doctor check answers: a :class:`CheckResult` with a pass, warn or fail status.

A check never raises: the runner (:mod:`kiosk.doctor.checks`) turns an unexpected exception
into a failed result carrying its message. ``hint`` says what a technician can do about a
warning or a failure; it is empty when everything is fine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class Status(StrEnum):
    """How a check came out."""

    PASS = "pass"
    """Works as it should."""
    WARN = "warn"
    """Works, but something needs a look (the kiosk still sells)."""
    FAIL = "fail"
    """Broken: the kiosk cannot work as configured until it is fixed."""


@dataclass(frozen=True)
class CheckResult:
    """The answer of one check: a row of the doctor's table.

    ``name`` is the row's label ("database"), ``detail`` what was found, ``hint`` what to do
    (set for warnings and failures).
    """

    name: str
    status: Status
    detail: str
    hint: str = ""

    def as_json(self) -> dict[str, str]:
        """The result as a JSON object: name, status, detail and hint."""
        return {key: str(value) for key, value in asdict(self).items()}


def passed(name: str, detail: str) -> CheckResult:
    """A passing result."""
    return CheckResult(name, Status.PASS, detail)


def warned(name: str, detail: str, hint: str) -> CheckResult:
    """A warning with what to do about it."""
    return CheckResult(name, Status.WARN, detail, hint)


def failed(name: str, detail: str, hint: str) -> CheckResult:
    """A failure with what to do about it."""
    return CheckResult(name, Status.FAIL, detail, hint)
