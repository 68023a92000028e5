"""The kiosk's log: one event a line, to stderr only, with secrets and card numbers removed.

`configure_logging` replaces whatever handlers the root logger has with one handler on stderr
(the kiosk writes no log files of its own: under systemd, stderr is the journal).

- **Under systemd** (``$JOURNAL_STREAM`` names this process's stderr, or ``journal=True``)
  each event is one logfmt line without a timestamp (the journal adds it), led by the
  syslog priority in angle brackets, which journald turns into the entry's priority
  (``SyslogLevelPrefix=`` is on by default)::

      <6>level=info logger=kiosk.app msg="sale 1234 paid" sale=1234 total_minor=1250

  A traceback stays on the same line, as ``exc="Traceback ...\\n..."`` with its line breaks
  escaped, so journald keeps it in the event (and at its priority).
- **On a terminal**, for people: ``time level logger: message key=value``; a traceback
  follows on the next lines, as Python prints it.

Structured fields: pass them as ``extra=fields(key=value, ...)``, which is
``extra={"fields": {...}}``: ``log.info("sale %s paid", number, extra=fields(sale=number,
total_minor=1250))``. Keys are written as given (characters other than letters, digits,
``_ . -`` become ``_``); a value is written bare unless it is empty or holds a space, a quote,
``=``, a backslash or a control character, then it is double-quoted with ``\\" \\\\ \\n \\r
\\t`` escapes (logfmt).

A `SecretScrubber` filter on that handler rewrites every event before it is written: the
message after ``%`` formatting, the fields, the traceback and the stack. It replaces Stripe
secret and restricted keys (``sk_live_...``, ``sk_test_...``, ``rk_...``), bearer tokens
(``Bearer xyz``), the password of a URL (``postgresql://user:pw@host``), and the actual
values of the configured secrets (`register_secrets`, `register_configured_secrets`) with
``[redacted]``, and card numbers (15 to 19 digits passing the Luhn check, also in groups of
four) with ``[card]``. A card's brand and last 4 digits are fine to log. Runs of 13 and 14
digits are left alone: they are EAN-13 and GTIN-14 barcodes, which the log must show (one in
ten passes the Luhn check by chance), and today's cards have 15 digits or more.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
import time
import traceback
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TextIO

from kiosk.config.secrets import BACKOFFICE_TOKEN, MACHINE_KEYS, STRIPE_API_KEY, Secrets

REDACTED = "[redacted]"
"""What a secret is replaced with."""

CARD = "[card]"
"""What a card number is replaced with."""

MIN_SECRET_LENGTH = 6
"""Registered secrets shorter than this (characters) are not scrubbed: replacing every
occurrence of a two-letter word would garble the log, and so short a value is no secret."""

FIELDS = "fields"
"""The ``extra`` key whose dict holds an event's structured fields."""

SYSLOG_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}
"""Python's levels as syslog priorities (debug 7, info 6, warning 4, error 3, critical 2)."""

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def fields(**values: object) -> dict[str, object]:
    """An event's structured fields, for ``extra=``: ``log.info("paid", extra=fields(sale=7))``."""
    return {FIELDS: values}


def syslog_priority(level: int) -> int:
    """The syslog priority (0 emergency .. 7 debug) of a Python logging level."""
    for threshold in (logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO):
        if level >= threshold:
            return SYSLOG_PRIORITY[threshold]
    return SYSLOG_PRIORITY[logging.DEBUG]


# ---- logfmt ------------------------------------------------------------------------------

_BARE_VALUE = re.compile(r'[^\s"=\\\x00-\x1f\x7f]+')
_KEY_CHARACTER = re.compile(r"[^A-Za-z0-9_.\-]")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile(r'[\\"\x00-\x1f\x7f]')


def logfmt_value(value: object) -> str:
    """One value as logfmt: bare when it can be, else double-quoted with escapes.

    ``None`` is written as ``""``, booleans as ``true``/``false``.
    """
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    if _BARE_VALUE.fullmatch(text):
        return text
    escaped = _NEEDS_ESCAPE.sub(
        lambda match: _ESCAPES.get(match[0], f"\\u{ord(match[0]):04x}"), text
    )
    return f'"{escaped}"'


def logfmt_key(key: str) -> str:
    """A field name as a logfmt key: letters, digits and ``_ . -``; anything else is ``_``."""
    return _KEY_CHARACTER.sub("_", key) or "_"


def logfmt_pairs(pairs: Iterable[tuple[str, object]]) -> str:
    """``key=value`` pairs joined by single spaces."""
    return " ".join(f"{logfmt_key(key)}={logfmt_value(value)}" for key, value in pairs)


def _record_fields(record: logging.LogRecord) -> dict[str, object]:
    found = getattr(record, FIELDS, None)
    return dict(found) if isinstance(found, Mapping) else {}


class JournalFormatter(logging.Formatter):
    """Events for the journal: ``<N>level=... logger=... msg=... key=value``, one line each."""

    def format(self, record: logging.LogRecord) -> str:
        """The event as one logfmt line led by its syslog priority."""
        pairs: list[tuple[str, object]] = [
            ("level", record.levelname.lower()),
            ("logger", record.name),
            ("msg", record.getMessage()),
        ]
        pairs.extend(_record_fields(record).items())
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_info and record.exc_info[0] is not None:
            pairs.append(("exc_type", record.exc_info[0].__name__))
        if record.exc_text:
            pairs.append(("exc", record.exc_text))
        if record.stack_info:
            pairs.append(("stack", record.stack_info))
        return f"<{syslog_priority(record.levelno)}>{logfmt_pairs(pairs)}"


class TerminalFormatter(logging.Formatter):
    """Events for a person at a terminal: ``2026-11-26 13:00:05.123 info kiosk.app: message
    key=value``, in local time; a traceback follows on its own lines."""

    def __init__(self) -> None:
        super().__init__(datefmt="%Y-%m-%d %H:%M:%S")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """The event's local time with milliseconds."""
        stamp = time.strftime(datefmt or "%Y-%m-%d %H:%M:%S", time.localtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}"

    def format(self, record: logging.LogRecord) -> str:
        """The event's line, then its traceback or stack (if any) on the following lines."""
        line = (
            f"{self.formatTime(record, self.datefmt)} {record.levelname.lower()} "
            f"{record.name}: {record.getMessage()}"
        )
        extra = _record_fields(record)
        if extra:
            line += " " + logfmt_pairs(extra.items())
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


# ---- scrubbing ---------------------------------------------------------------------------

_KNOWN_SHAPES = re.compile(
    r"""
      \b[sr]k_(?:live|test)_[0-9A-Za-z_]+          # Stripe secret and restricted keys
    | \brk_[0-9A-Za-z_]{8,}                        # a restricted key of another shape
    """,
    re.VERBOSE,
)
_BEARER = re.compile(r"\b(bearer)(\s+)[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^\s:/@]*:)[^\s/@]+(@)", re.IGNORECASE)
_CARD_NUMBER = re.compile(
    r"""
      (?<![0-9A-Za-z_])
      (?: [0-9]{15,19}                             # one run of digits
        | [0-9]{4}(?P<sep>[ -])[0-9]{4}(?P=sep)[0-9]{4}(?P=sep)[0-9]{1,7}  # 4-4-4-x groups
        | [0-9]{4}(?P<amex>[ -])[0-9]{6}(?P=amex)[0-9]{5}                  # 4-6-5 groups
      )
      (?![0-9A-Za-z_])
    """,
    re.VERBOSE,
)


CARD_DIGITS_MIN = 15
"""The shortest card number the log hides (Amex); shorter runs are barcodes, not cards."""


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check (the check digit of card numbers)."""
    total = 0
    for position, character in enumerate(reversed(digits)):
        digit = int(character)
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _card_or_kept(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match[0])
    if CARD_DIGITS_MIN <= len(digits) <= 19 and luhn_valid(digits):
        return CARD
    return match[0]


class SecretScrubber(logging.Filter):
    """A handler filter that removes secrets and card numbers from every event it passes.

    It renders the message (``%`` arguments applied), the fields, the traceback and the
    stack, replaces what must not be logged, and leaves the event with the cleaned text and
    no arguments. It never drops an event. Thread-safe.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._registered: re.Pattern[str] | None = None

    def register(self, value: str) -> None:
        """Scrub this exact value (and its URL-encoded form) from now on; values shorter than
        `MIN_SECRET_LENGTH` are ignored."""
        value = value.strip()
        if len(value) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            self._values.update({value, urllib.parse.quote(value, safe="")})
            alternatives = sorted(self._values, key=len, reverse=True)
            self._registered = re.compile("|".join(re.escape(v) for v in alternatives))

    def scrub(self, text: str) -> str:
        """``text`` with every secret replaced by `REDACTED` and card numbers by `CARD`."""
        registered = self._registered
        if registered is not None:
            text = registered.sub(REDACTED, text)
        text = _KNOWN_SHAPES.sub(REDACTED, text)
        text = _BEARER.sub(lambda match: f"{match[1]}{match[2]}{REDACTED}", text)
        text = _URL_PASSWORD.sub(lambda match: f"{match[1]}{REDACTED}{match[2]}", text)
        return _CARD_NUMBER.sub(_card_or_kept, text)

    def _scrub_value(self, value: object) -> object:
        if value is None or isinstance(value, bool):
            return value
        text = str(value)
        cleaned = self.scrub(text)
        return value if cleaned == text else cleaned

    def filter(self, record: logging.LogRecord) -> bool:
        """Clean ``record`` in place; always let it through."""
        try:
            message = record.getMessage()
        except Exception as error:  # a bad %-format must not lose the event
            message = f"{record.msg!r} (unformattable arguments: {type(error).__name__})"
        record.msg = self.scrub(message)
        record.args = None
        extra = _record_fields(record)
        if extra:
            setattr(record, FIELDS, {key: self._scrub_value(value) for key, value in extra.items()})
        if record.exc_info and not record.exc_text:
            record.exc_text = _traceback_text(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


def _traceback_text(exc_info: _ExcInfo | tuple[None, None, None]) -> str:
    kind, error, trace = exc_info
    if kind is None or error is None:
        return ""
    return "".join(traceback.format_exception(kind, error, trace)).rstrip("\n")


# ---- the one handler ---------------------------------------------------------------------

SCRUBBER = SecretScrubber()
"""The process's scrubber: on the handler `configure_logging` installs."""


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the moment of each event (so a test harness
    that swaps stderr, and restores it, never leaves the log writing to a closed stream)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        """The current ``sys.stderr``."""
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """Ignored: the stream is always the current ``sys.stderr``."""


def writes_to_journal(environ: Mapping[str, str], stream: TextIO) -> bool:
    """Whether ``stream`` is the journal stream systemd connected (``$JOURNAL_STREAM`` is
    ``device:inode`` of it; a stream redirected elsewhere by the command line is not)."""
    device, _, inode = environ.get("JOURNAL_STREAM", "").partition(":")
    if not (device.isdecimal() and inode.isdecimal()):
        return False
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (status.st_dev, status.st_ino) == (int(device), int(inode))


def configure_logging(
    level: int, *, journal: bool | None = None, environ: Mapping[str, str] | None = None
) -> None:
    """Send the whole process's log to stderr, one event a line, secrets scrubbed.

    ``level`` is the root logger's level (``logging.INFO`` for the kiosk). ``journal``
    chooses the format: ``True`` logfmt with syslog priorities, ``False`` the terminal
    format, ``None`` (default) the journal format exactly when stderr is the journal stream
    (``$JOURNAL_STREAM`` in ``environ``, default ``os.environ``). Every handler the root
    logger had is removed first (python-escpos calls ``logging.basicConfig`` when it is
    imported, which would otherwise keep its own format and level). Calling it again
    replaces the previous set-up.
    """
    if journal is None:
        journal = writes_to_journal(os.environ if environ is None else environ, sys.stderr)
    handler = StderrHandler()
    handler.setFormatter(JournalFormatter() if journal else TerminalFormatter())
    handler.addFilter(SCRUBBER)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


_CRASH_LOG = logging.getLogger("kiosk.crash")


def _log_uncaught(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    """An exception nobody caught: through the log (one event, scrubbed), not raw stderr."""
    _CRASH_LOG.critical("uncaught %s", kind.__name__, exc_info=(kind, error, trace))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None:
        return
    thread = args.thread.name if args.thread is not None else "?"
    _CRASH_LOG.critical("uncaught %s in thread %s", args.exc_type.__name__, thread,
                        exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


def register_secrets(secrets: Secrets | None) -> None:
    """Scrub the actual values of these secrets (the Stripe key, the back-office token)."""
    if secrets is None:
        return
    for secret in (secrets.stripe_api_key, secrets.backoffice_token, secrets.pin_pepper,
                   secrets.audit_key):
        if secret is not None:
            SCRUBBER.register(secret.get_secret_value())


def register_configured_secrets(environ: Mapping[str, str]) -> int:
    """Scrub every value the kiosk could take a secret from: each secret's systemd credential
    file (in ``$CREDENTIALS_DIRECTORY``) and its environment variable, both when both are
    set. Reads quietly and never fails (what cannot be read is no secret to this process);
    returns how many values were registered."""
    found: list[str] = []
    credentials = environ.get("CREDENTIALS_DIRECTORY")
    for source in (STRIPE_API_KEY, BACKOFFICE_TOKEN, *MACHINE_KEYS):
        if credentials:
            with contextlib.suppress(OSError, UnicodeDecodeError):
                found.append((Path(credentials) / source.credential).read_text(encoding="utf-8"))
        found.append(environ.get(source.environment_variable, ""))
    registered = 0
    for value in found:
        value = value.strip()
        if len(value) >= MIN_SECRET_LENGTH:
            SCRUBBER.register(value)
            registered += 1
    return registered
