"""Money: converting between major units, integer minor units and the text a customer sees.

Every amount the kiosk keeps is an ``int`` in the currency's minor units (cents for EUR, yen for
JPY, fils for KWD). Decimals appear only at the edges: parsing a price typed by staff
(``parse_major``), converting a ``Decimal`` amount (``to_minor``) and formatting for display
(``format_money``). Floats never appear. The number of minor digits of a currency comes from
Babel (CLDR), so JPY has 0, EUR 2 and KWD 3.
"""

from __future__ import annotations

import functools
import re
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from babel.numbers import format_currency, get_currency_precision, is_currency

# SQLite stores integers as signed 64-bit: no amount may be larger than this.
MAX_MINOR = 2**63 - 1

# Major units as staff type them: digits, optionally a "." and more digits. Nothing else.
_MAJOR_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_SCIENTIFIC_TEXT = re.compile(r"[+-]?[0-9]*\.?[0-9]+e[+-]?[0-9]+", re.IGNORECASE)


class MoneyError(ValueError):
    """An amount or currency the kiosk cannot use.

    ``reason`` is a short code for logs and the UI: ``empty``, ``malformed``, ``negative``,
    ``not_finite``, ``exponent``, ``too_many_decimals``, ``too_large`` or ``unknown_currency``.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@functools.lru_cache(maxsize=64)
def currency_exponent(currency: str) -> int:
    """Return how many minor-unit digits ``currency`` (an ISO 4217 code) has: JPY 0, EUR 2, KWD 3.

    Raises ``MoneyError("unknown_currency")`` for a code Babel does not know; codes are
    upper case, as in ISO 4217.
    """
    if not is_currency(currency):
        raise MoneyError("unknown_currency", repr(currency))
    return int(get_currency_precision(currency))


def round_fraction(value: Fraction, rounding: str = ROUND_HALF_UP) -> int:
    """Round an exact fraction to an integer with a ``decimal`` rounding mode (``ROUND_*``).

    The result is exact for any size of numerator and denominator: the fraction is never
    approximated by a float or a finite-precision ``Decimal``. ``ROUND_HALF_UP`` rounds halves
    away from zero (2.5 -> 3, -2.5 -> -3).
    """
    floor = value.numerator // value.denominator
    remainder = value - floor
    if remainder == 0:
        return floor
    # Round a small stand-in instead of the value itself, so that no Decimal precision limit
    # applies: same sign, same last digit of the integer part and the same position relative
    # to one half, hence the same rounding under every decimal rounding mode.
    base = floor % 10 if floor >= 0 else floor % 10 - 10
    if remainder < Fraction(1, 2):
        stand_in = Decimal(base) + Decimal("0.25")
    elif remainder == Fraction(1, 2):
        stand_in = Decimal(base) + Decimal("0.5")
    else:
        stand_in = Decimal(base) + Decimal("0.75")
    return floor - base + int(stand_in.to_integral_value(rounding=rounding))


def to_minor(amount: Decimal, currency: str) -> int:
    """Convert an amount in major units (``Decimal("12.34")`` EUR) to minor units (``1234``).

    The conversion is exact. An amount that is not a whole number of minor units (``12.345``
    EUR, ``1.5`` JPY) raises ``MoneyError("too_many_decimals")``; trailing zeros are fine
    (``Decimal("12.340")`` EUR is 1234). Negative amounts are allowed (refunds); NaN and
    infinities raise ``MoneyError("not_finite")``, and amounts beyond a signed 64-bit integer of
    minor units ``MoneyError("too_large")``.
    """
    exponent = currency_exponent(currency)
    if not amount.is_finite():
        raise MoneyError("not_finite", str(amount))
    if amount.is_zero():
        return 0
    # adjusted() is the power of ten of the leading digit: reject absurd sizes before
    # building big integers from them.
    if amount.adjusted() + exponent > 19:
        raise MoneyError("too_large", str(amount))
    sign, digits, power = amount.as_tuple()
    assert isinstance(power, int)  # finite amounts have an integer exponent
    coefficient = int("".join(str(digit) for digit in digits))
    shift = power + exponent
    if shift >= 0:
        minor = coefficient * 10**shift
    else:
        divisor = 10**-shift
        if coefficient % divisor:
            raise MoneyError("too_many_decimals", f"{amount} {currency}")
        minor = coefficient // divisor
    if minor > MAX_MINOR:
        raise MoneyError("too_large", str(amount))
    return -minor if sign else minor


def parse_major(text: str, currency: str) -> int:
    """Parse a price typed in major units (``"12.34"``) into minor units (``1234`` for EUR).

    Accepted: digits with an optional ``.`` and decimals, surrounding spaces ignored. At most
    as many decimals as the currency has (``"12.5"`` is fine for EUR, ``"12.345"`` is not,
    ``"12.0"`` is not for JPY). Rejected with ``MoneyError``: empty text (``empty``), a minus
    sign (``negative``), ``NaN``/``inf`` (``not_finite``), scientific notation such as ``1e3``
    (``exponent``), anything else such as ``"1,50"``, ``"+1"``, ``".5"`` or ``"1."``
    (``malformed``), too many decimals (``too_many_decimals``) and amounts beyond a signed 64-bit
    integer of minor units (``too_large``).
    """
    exponent = currency_exponent(currency)
    cleaned = text.strip()
    if not cleaned:
        raise MoneyError("empty")
    lowered = cleaned.lower()
    if lowered.lstrip("+-") in ("nan", "snan", "inf", "infinity"):
        raise MoneyError("not_finite", repr(text))
    if cleaned.startswith("-"):
        raise MoneyError("negative", repr(text))
    if _SCIENTIFIC_TEXT.fullmatch(cleaned):
        raise MoneyError("exponent", repr(text))
    if not _MAJOR_TEXT.fullmatch(cleaned):
        raise MoneyError("malformed", repr(text))
    _, _, decimals = cleaned.partition(".")
    if len(decimals) > exponent:
        raise MoneyError("too_many_decimals", f"{text!r}: {currency} has {exponent} decimals")
    if len(cleaned.lstrip("0").partition(".")[0]) + exponent > 19:
        raise MoneyError("too_large", repr(text))
    return to_minor(Decimal(cleaned), currency)


def format_money(minor: int, currency: str, locale: str) -> str:
    """Format an amount in minor units for display, such as ``"€12.34"`` or ``"12,34 €"``.

    ``locale`` (``"en_US"``, ``"de_DE"``...) only changes how the number and symbol are laid
    out; the currency is always ``currency``, so a German screen in a shop selling in JPY still
    shows yen. Raises ``babel.UnknownLocaleError`` for an unknown locale.
    """
    exponent = currency_exponent(currency)
    major = Decimal(minor).scaleb(-exponent)
    return str(format_currency(major, currency, locale=locale))
