"""Checks for single values of the settings file, each failing with the shop owner's wording.

Every check is a plain function ``value -> value`` used as a :class:`~kiosk.config.tables.Check`
in the annotations of :mod:`kiosk.config.settings`. A failing check raises
:class:`~kiosk.config.tables.BadValue` holding the ``expected`` phrase;
:mod:`kiosk.config.reporting` turns it into a ``ConfigError`` line.
Checks are strict about types: TOML ``true`` is not a number and ``9600.0`` is not a whole
number. Decimal numbers never pass through ``float``: the loader parses TOML floats as
``Decimal`` and strings such as ``"7.5"`` are accepted too.
"""

from __future__ import annotations

import re
import string
import zoneinfo
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import PurePath, PurePosixPath
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError
from babel.numbers import list_currencies

from kiosk.config.tables import NO_VALUE, BadKey, BadValue
from kiosk.core.contrast import judge_accent

_DECIMAL_TEXT = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def bad_value(expected: str, *, hide_value: bool = False) -> BadValue:
    """Return the error for a value that is not what ``expected`` ("expected ...") describes.

    ``hide_value`` keeps the value out of the message (a URL carrying a password, say).
    """
    return BadValue(expected, hide_value=hide_value)


def bad_key(at: tuple[str | int, ...], problem: str, value: Any = NO_VALUE) -> BadKey:
    """Return the error a table-level check raises about its key ``at`` (relative to the table).

    ``value``, when given, is shown in the message next to the key.
    """
    return BadKey(at, problem, value)


def at_least_one(expected: str) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """Check that an array (already checked item by item) is not empty; ``expected`` says
    what it should hold, such as ``'expected at least one prefix, such as ["20"]'``."""

    def check(items: tuple[Any, ...]) -> tuple[Any, ...]:
        if not items:
            raise bad_value(expected)
        return items

    return check


def _is_whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def whole_number(low: int, high: int) -> Callable[[object], int]:
    """Check a TOML integer from ``low`` to ``high`` inclusive (units are in the key's name)."""

    def check(value: object) -> int:
        if not _is_whole(value) or not low <= value <= high:
            raise bad_value(f"expected a whole number from {low} to {high}")
        return value

    return check


def whole_number_in(*allowed: int) -> Callable[[object], int]:
    """Check a TOML integer that is one of ``allowed``."""
    listed = ", ".join(str(number) for number in allowed)

    def check(value: object) -> int:
        if not _is_whole(value) or value not in allowed:
            raise bad_value(f"expected one of {listed}")
        return value

    return check


def decimal_number(
    low: Decimal, high: Decimal | None = None, *, low_allowed: bool = True
) -> Callable[[object], Decimal]:
    """Check a decimal number given as a TOML string (``"7.5"``) or number, within bounds.

    ``high=None`` means no upper bound; ``low_allowed=False`` excludes ``low`` itself.
    Returns a ``Decimal``, never a float.
    """
    if high is not None:
        expected = f"expected a decimal number from {low} to {high}"
    elif low_allowed:
        expected = f"expected a decimal number of at least {low}"
    else:
        expected = f"expected a decimal number greater than {low}"
    expected += ', such as "7.5"'

    def check(value: object) -> Decimal:
        if isinstance(value, str) and _DECIMAL_TEXT.match(value.strip()):
            number = Decimal(value.strip())
        elif isinstance(value, Decimal) or _is_whole(value):
            try:
                number = Decimal(value)
            except InvalidOperation as error:
                raise bad_value(expected) from error
        else:
            raise bad_value(expected)
        if not number.is_finite():
            raise bad_value(expected)
        too_low = number < low if low_allowed else number <= low
        if too_low or (high is not None and number > high):
            raise bad_value(expected)
        return number

    return check


def screen_diagonal(value: object) -> Decimal:
    """Check a touchscreen's diagonal in inches: 0 (take it from the resolution) or a decimal
    number from 4 to 110, such as "10.1"."""
    expected = (
        'expected 0 (from the resolution) or a diagonal in inches from 4 to 110, such as "10.1"'
    )
    try:
        number = decimal_number(Decimal(0), Decimal(110))(value)
    except BadValue as error:
        raise bad_value(expected) from error
    if number != 0 and number < 4:
        raise bad_value(expected)
    return number


def one_of(*allowed: str) -> Callable[[object], str]:
    """Check a TOML string that is one of ``allowed`` (exactly, case matters)."""
    listed = ", ".join(f'"{choice}"' for choice in allowed)

    def check(value: object) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise bad_value(f"expected one of {listed}")
        return value

    return check


def flag(value: object) -> bool:
    """Check a TOML boolean (``true`` or ``false``; strings and numbers are refused)."""
    if not isinstance(value, bool):
        raise bad_value("expected true or false")
    return value


def text(max_length: int, *, empty_allowed: bool = True) -> Callable[[object], str]:
    """Check a TOML string of at most ``max_length`` characters, without control characters."""
    expected = f"expected a text of at most {max_length} characters"
    if not empty_allowed:
        expected = f"expected a non-empty text of at most {max_length} characters"

    def check(value: object) -> str:
        if (
            not isinstance(value, str)
            or len(value) > max_length
            or (not empty_allowed and not value.strip())
            or any(ord(character) < 32 for character in value)
        ):
            raise bad_value(expected)
        return value

    return check


def matching(pattern: str, expected: str) -> Callable[[object], str]:
    """Check a TOML string that matches the regular expression ``pattern`` as a whole."""
    compiled = re.compile(pattern)

    def check(value: object) -> str:
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise bad_value(expected)
        return value

    return check


kiosk_id = matching(
    r"[a-z0-9][a-z0-9-]{0,31}",
    'expected 1 to 32 lowercase letters, digits or "-", starting with a letter or digit, '
    'such as "lane-1"',
)
"""Check the kiosk's id: it appears in Stripe metadata and back-office records."""

tax_class_code = matching(
    r"[a-z0-9_]+",
    'expected a tax class code of lowercase letters, digits and "_", such as "standard"',
)
"""Check a tax class code, the name products use in their ``tax_class`` column."""


def currency_code(value: object) -> str:
    """Check an ISO 4217 currency code that Babel knows, such as ``"EUR"``."""
    if not isinstance(value, str) or value not in list_currencies():
        raise bad_value('expected an ISO 4217 currency code in capitals, such as "EUR" or "GBP"')
    return value


def locale_name(value: object) -> str:
    """Check a locale Babel can parse (``"de_DE"``, ``"en"``) and return its canonical name."""
    expected = 'expected a locale such as "de_DE" or "en_IE"'
    if not isinstance(value, str) or not value:
        raise bad_value(expected)
    try:
        return str(Locale.parse(value.replace("-", "_")))
    except (ValueError, TypeError, UnknownLocaleError) as error:
        raise bad_value(expected) from error


def time_zone_name(value: object) -> str:
    """Check an IANA time zone name, such as ``"Europe/Berlin"``."""
    expected = 'expected an IANA time zone name such as "Europe/Berlin"'
    if not isinstance(value, str) or not value or value.startswith("/"):
        raise bad_value(expected)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise bad_value(expected) from error
    return value


def absolute_path(value: object) -> str:
    """Check an absolute POSIX path such as ``"/var/lib/kiosk"``."""
    if isinstance(value, PurePath):
        value = str(value)
    if not isinstance(value, str) or not PurePosixPath(value).is_absolute() or "\0" in value:
        raise bad_value('expected an absolute path such as "/var/lib/kiosk"')
    return value


def logo_path(value: object) -> str:
    """Check ``""`` (no logo) or an absolute path to a ``.png``, ``.jpg`` or ``.jpeg`` file
    (whether the file is there is the UI's business: a missing logo never stops a kiosk)."""
    if value == "":
        return ""
    path = absolute_path(value)
    if PurePosixPath(path).suffix.lower() not in {".png", ".jpg", ".jpeg"}:
        raise bad_value('expected the absolute path of a PNG or JPEG picture, such as '
                        '"/etc/kiosk/logo.png"')
    return path


def accent_colour(value: object) -> str:
    """Check ``""`` (the theme's colour) or a ``"#RRGGBB"`` colour that text can be read on
    and that can be read as text (``kiosk.core.contrast.judge_accent``); a refusal says why and
    names a shade that works."""
    if value == "":
        return ""
    if not isinstance(value, str) or not re.fullmatch(r"#[0-9A-Fa-f]{6}", value):
        raise bad_value('expected a colour written "#RRGGBB", such as "#1D4ED8"')
    verdict = judge_accent(value.upper())
    if verdict.text is None:
        raise bad_value(f"expected a colour the screens can use readably: {verdict.reason}")
    return value.upper()


def serial_port(value: object) -> str:
    """Check a serial port: ``"virtual"``, an absolute device path or a pyserial URL."""
    if isinstance(value, str) and (
        value == "virtual" or value.startswith("/") or re.fullmatch(r"[a-z0-9]+://.*", value)
    ):
        return value
    raise bad_value(
        'expected "virtual", a device path such as "/dev/serial/by-id/..." '
        'or a pyserial URL such as "rfc2217://host:port"'
    )


def usb_id(value: object) -> int:
    """Check a USB vendor or product id: an integer or a hex string such as ``"0x04b8"``."""
    expected = 'expected a USB id from 0 to 0xffff, as a number or a hex string such as "0x04b8"'
    number: object = value
    if isinstance(value, str):
        if not re.fullmatch(r"0[xX][0-9a-fA-F]{1,4}", value):
            raise bad_value(expected)
        number = int(value, 16)
    if not _is_whole(number) or not 0 <= number <= 0xFFFF:
        raise bad_value(expected)
    return number


def host_name(value: object) -> str:
    """Check a host name or IP address (no scheme, no port, no spaces)."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9.\-:\[\]]{1,253}", value):
        raise bad_value('expected a host name or IP address such as "192.168.1.50"')
    return value


def web_address(*, empty_allowed: bool, keywords: tuple[str, ...] = ()) -> Callable[[object], str]:
    """Check an ``https://`` address (``http://`` only to this machine), or one of ``keywords``.

    ``empty_allowed`` accepts ``""`` (the feature is off). An address carrying a user name or
    password is refused without showing it: secrets belong in the environment.
    """
    alternatives = [f'"{keyword}"' for keyword in keywords]
    if empty_allowed:
        alternatives.append('"" (none)')
    expected = 'expected an https:// address such as "https://backoffice.example.com"'
    if alternatives:
        expected += " or " + " or ".join(alternatives)

    def check(value: object) -> str:
        if not isinstance(value, str):
            raise bad_value(expected)
        if (value == "" and empty_allowed) or value in keywords:
            return value
        try:
            parts = urlsplit(value)
            host = parts.hostname or ""
        except ValueError as error:
            raise bad_value(expected) from error
        if "@" in parts.netloc:
            raise bad_value(
                "expected an address without a user name or password "
                "(give credentials through the environment, not the file)",
                hide_value=True,
            )
        secure = parts.scheme == "https" or (parts.scheme == "http" and host in _LOOPBACK_HOSTS)
        if not secure or not host or any(character.isspace() for character in value):
            raise bad_value(expected)
        return value.rstrip("/")

    return check


def stripe_object_id(prefix: str, example: str) -> Callable[[object], str]:
    """Check a Stripe object id that starts with ``prefix`` (``"tmr_"``), or ``""`` for none."""
    return matching(
        rf"(|{re.escape(prefix)}[A-Za-z0-9]+)",
        f'expected "" or an id starting with "{prefix}", such as "{example}"',
    )


def receipt_url_template(value: object) -> str:
    """Check the e-receipt address template: only ``{base_url}`` and ``{sale_id}`` placeholders.

    ``{sale_id}`` is required, so each sale gets its own address.
    """
    expected = 'expected a template with {sale_id} such as "{base_url}/r/{sale_id}"'
    if not isinstance(value, str):
        raise bad_value(expected)
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError as error:
        raise bad_value(expected) from error
    if "sale_id" not in names or not names <= {"base_url", "sale_id"}:
        raise bad_value(expected)
    return value


def in_store_prefix(value: object) -> str:
    """Check an in-store EAN-13 prefix: ``"02"`` or ``"20"`` to ``"29"`` (as strings)."""
    if not isinstance(value, str) or not (value == "02" or re.fullmatch(r"2[0-9]", value)):
        raise bad_value('expected an in-store prefix "02" or "20" to "29", as a string')
    return value


def stop_bits(value: object) -> float:
    """Check serial stop bits: 1, 1.5 or 2 (returned as pyserial's float constants)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise bad_value("expected 1, 1.5 or 2")
    if value not in (1, 1.5, 2):
        raise bad_value("expected 1, 1.5 or 2")
    return float(value)
