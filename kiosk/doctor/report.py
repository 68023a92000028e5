"""The doctor's answer as a whole, printed as a table or as JSON, with every secret scrubbed.

The table has one row per check, ``CHECK  RESULT  DETAIL``, and a ``hint:`` line under each
warning and failure. The JSON form is one object: ``ok`` (no failure), ``summary`` (how many
checks passed, warned and failed) and ``checks`` (``name``, ``status``, ``detail``, ``hint``
each). Before anything is printed, the configured secrets' values and anything shaped like a
Stripe key or a bearer token are replaced by ``[redacted]``: no check means to print one, and
this makes sure none slips through in a quoted error message.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field

from kiosk.doctor.result import CheckResult, Status

REDACTED = "[redacted]"
_SECRET_SHAPES = re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9_*]+|(?i:bearer)\s+\S+")
_STATUS_WIDTH = 6


@dataclass(frozen=True)
class DoctorReport:
    """Every row of one doctor run, config first.

    ``config_readable`` is False when the configuration could not be loaded (only its row is
    there then). ``secrets`` holds the values to scrub from the output.
    """

    results: tuple[CheckResult, ...]
    config_readable: bool
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @property
    def failed(self) -> bool:
        """True when any check failed."""
        return any(result.status is Status.FAIL for result in self.results)

    def counts(self) -> dict[str, int]:
        """How many checks passed, warned and failed: ``{"pass": n, "warn": n, "fail": n}``."""
        seen = Counter(result.status for result in self.results)
        return {status.value: seen[status] for status in Status}

    def redact(self, text: str) -> str:
        """``text`` with every secret value, Stripe key and bearer token replaced."""
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, REDACTED)
        return _SECRET_SHAPES.sub(REDACTED, text)

    def table(self) -> str:
        """The report as a text table with a hint line under each warning and failure."""
        width = max(len("CHECK"), *(len(result.name) for result in self.results))
        indent = " " * (width + 2 + _STATUS_WIDTH + 2)
        lines = [f"{'CHECK':<{width}}  {'RESULT':<{_STATUS_WIDTH}}  DETAIL"]
        for result in self.results:
            first, *more = result.detail.splitlines() or [""]
            lines.append(f"{result.name:<{width}}  {result.status.value:<{_STATUS_WIDTH}}  {first}")
            lines.extend(indent + line for line in more)
            if result.hint and result.status is not Status.PASS:
                lines.append(f"{indent}hint: {result.hint}")
        counts = self.counts()
        lines.append("")
        checks = "1 check" if len(self.results) == 1 else f"{len(self.results)} checks"
        lines.append(
            f"{checks}: {counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail"
        )
        return self.redact("\n".join(lines))

    def json(self) -> str:
        """The report as one JSON object (see the module docstring)."""
        checks = [
            {key: self.redact(value) for key, value in result.as_json().items()}
            for result in self.results
        ]
        document = {"ok": not self.failed, "summary": self.counts(), "checks": checks}
        return json.dumps(document, indent=2, ensure_ascii=False)
