"""The one error a bad configuration raises: :class:`ConfigError`, worded for a shop owner."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def problem_line(
    path: Path | str | None, key: str | None, shown_value: str | None, problem: str
) -> str:
    """Format one problem as ``PATH: KEY = VALUE: PROBLEM``, leaving out the parts not known.

    ``shown_value`` is already rendered as it would be written in TOML (strings quoted).
    """
    parts = [str(path)] if path is not None else []
    if key is not None:
        parts.append(key if shown_value is None else f"{key} = {shown_value}")
    parts.append(problem)
    return ": ".join(parts)


class ConfigError(Exception):
    """The configuration file (or a secret's source) is missing, unreadable or invalid.

    ``key`` is the dotted path of the first bad key (``tax.classes.standard.rate_percent``),
    or ``None`` when the problem is the whole file; ``problem`` says what is wrong with it and
    what is expected. ``path`` is the file concerned, if any; ``line`` and ``column`` are set
    (1-based) for TOML syntax errors. The message (``str(error)``) holds one line per problem
    and never contains a secret's value. The CLI maps this error to exit status 2.
    """

    def __init__(
        self,
        problem: str,
        *,
        key: str | None = None,
        path: Path | str | None = None,
        shown_value: str | None = None,
        more_problems: Sequence[str] = (),
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.key = key
        self.problem = problem
        self.path = path
        self.line = line
        self.column = column
        first = problem_line(path, key, shown_value, problem)
        super().__init__("\n".join([first, *more_problems]))
