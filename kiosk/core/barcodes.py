"""Reading one barcode scan: from the scanner's raw bytes to the catalog's 14-digit GTIN key.

A scanner sends one frame per scan. :func:`parse_scan` turns that frame into a :class:`Scan`
whose ``gtin`` is the canonical 14-digit key the catalog is indexed by, whatever form the
barcode had; :func:`normalize_gtin` gives the same key for a GTIN typed into a catalog file.
Anything unusable raises :class:`BarcodeError`, and only that, with a stable ``reason`` code.

How a frame is read
-------------------

1. Frames longer than :data:`MAX_SCAN_BYTES` are refused (``too_long``).
2. Framing is stripped from both ends: CR, LF, STX (0x02), ETX (0x03), spaces and tabs.
   ASCII GS (0x1D) is never stripped here: it separates GS1 fields.
3. An AIM symbology identifier (``]`` + code letter + modifier) at the start says what the
   scanner read:

   ============  ===========================================================================
   ``]E0``       EAN-13 / UPC-A / UPC-E: 13 digits -> EAN-13, 12 digits -> UPC-A,
                 8 digits -> UPC-E (number system 0 or 1, expanded to UPC-A).
   ``]E3``       EAN-13 with a 2- or 5-digit add-on (15 or 18 digits): the add-on is dropped.
   ``]E4``       EAN-8 (8 digits).
   ``]I0 ]I1``   ITF (Interleaved 2 of 5): 14 digits -> ITF-14.
   ``]C1``       GS1-128 element string.
   ``]e0``       GS1 DataBar element string.
   ``]d2``       GS1 DataMatrix element string.
   others        refused (``unsupported_symbology``): Code 39 ``]A0``, plain Code 128 ``]C0``,
                 QR ``]Q1``, non-GS1 DataMatrix ``]d1``...
   ============  ===========================================================================

4. Without an AIM identifier the symbology is inferred from the number of digits:
   8 -> EAN-8, 12 -> UPC-A, 13 -> EAN-13, 14 -> GTIN-14. An 8-digit UPC-E cannot be told from
   an EAN-8 without its identifier, so it is read as EAN-8. Data that is not all digits
   (text, a URL) is refused as ``unsupported_symbology``.
5. The check digit is validated (python-stdnum); UPC-E is expanded to UPC-A first.
6. GS1 element strings are split with python-stdnum's table of application identifiers:
   a predefined-length AI such as (01), (11), (17) or (3103) takes exactly its digits (a GS
   after it is allowed, not needed); a variable-length AI such as (10) or (21) runs to the
   next GS or the end of the data. A leading GS (standing for FNC1) is allowed. Each field
   must be complete and valid for :func:`stdnum.gs1_128.info` (real dates, check digits),
   else ``bad_gs1``; the GTIN of AI (01) is the key (``bad_check_digit`` if its check digit
   is wrong). No (01), or two different ones, is ``bad_gs1``.
7. An EAN-13 or UPC-A whose 13-digit form starts with 02 or 20-29 and whose prefix has a
   :class:`~kiosk.core.shop_rules.VariableMeasureLayout` in the shop's
   :class:`~kiosk.core.shop_rules.ScanRules` is a variable-measure in-store code: it carries
   an item key and an embedded price (minor units) or weight (grams). Without a layout for
   its prefix it is an ordinary GTIN. GTIN-14, ITF-14 and GS1 forms are never read as
   variable-measure codes.

The key is the GTIN padded with leading zeros to 14 digits, so EAN-8 ``96385074``, UPC-A
``036000291452``, its EAN-13 form ``0036000291452`` and GS1-128 ``]C10100036000291452`` all
give ``00036000291452``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any, Final, Literal

from kiosk.core.shop_rules import ScanRules, VariableMeasureLayout

MAX_SCAN_BYTES: Final = 256
"""Longest raw frame read, in bytes; a GS1 element string fits in well under this."""

GTIN_LENGTH: Final = 14

Reason = Literal[
    "empty",
    "too_long",
    "not_digits",
    "bad_length",
    "bad_check_digit",
    "bad_number_system",
    "unsupported_symbology",
    "bad_gs1",
    "bad_price_check_digit",
]
"""The stable codes a :class:`BarcodeError` carries in ``reason``."""

REASONS: Final[tuple[Reason, ...]] = (
    "empty",
    "too_long",
    "not_digits",
    "bad_length",
    "bad_check_digit",
    "bad_number_system",
    "unsupported_symbology",
    "bad_gs1",
    "bad_price_check_digit",
)

_FRAMING: Final = b"\x02\x03\r\n\t "
_GS: Final = "\x1d"
_DIGITS: Final = frozenset("0123456789")


class BarcodeError(ValueError):
    """A scan or a GTIN that cannot be used, with a stable ``reason`` code.

    ``reason`` is one of :data:`REASONS`:

    - ``empty``: nothing left once the framing is stripped.
    - ``too_long``: the frame is longer than :data:`MAX_SCAN_BYTES`.
    - ``not_digits``: an EAN/UPC/ITF scan or a GTIN that holds something other than digits.
    - ``bad_length``: a number of digits no GTIN form has.
    - ``bad_check_digit``: the GTIN check digit does not match.
    - ``bad_number_system``: an 8-digit UPC-E whose number system is not 0 or 1.
    - ``unsupported_symbology``: a symbology that carries no GTIN (Code 39, QR, plain text).
    - ``bad_gs1``: a malformed GS1 element string, or one without AI (01).
    - ``bad_price_check_digit``: the price/weight check digit of an in-store code does not match.

    ``str(error)`` is a plain-English sentence for logs.
    """

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason


class Symbology(StrEnum):
    """The barcode form a scan was read as."""

    EAN_13 = "ean_13"
    EAN_8 = "ean_8"
    UPC_A = "upc_a"
    UPC_E = "upc_e"
    ITF_14 = "itf_14"
    GTIN_14 = "gtin_14"
    GS1_128 = "gs1_128"
    GS1_DATABAR = "gs1_databar"
    GS1_DATAMATRIX = "gs1_datamatrix"


@dataclass(frozen=True)
class Scan:
    """One usable scan.

    ``gtin`` is the 14-digit catalog key (the whole code, also for variable-measure codes).
    For a variable-measure in-store code, ``item_key`` holds its item digits (leading zeros
    kept) and either ``embedded_price_minor`` (minor units) or ``embedded_weight_g`` (grams)
    holds the value printed into it; otherwise all three are ``None``.
    """

    gtin: str
    symbology: Symbology
    item_key: str | None = None
    embedded_price_minor: int | None = None
    embedded_weight_g: int | None = None

    @property
    def is_variable_measure(self) -> bool:
        """True for an in-store code carrying an item key and a price or weight."""
        return self.item_key is not None


_LENGTH_SYMBOLOGY: Final = {
    8: Symbology.EAN_8,
    12: Symbology.UPC_A,
    13: Symbology.EAN_13,
    14: Symbology.GTIN_14,
}

_GS1_SYMBOLOGY: Final = {
    "]C1": Symbology.GS1_128,
    "]e0": Symbology.GS1_DATABAR,
    "]d2": Symbology.GS1_DATAMATRIX,
}

_EAN_ADD_ON_LENGTHS: Final = (13 + 2, 13 + 5)

if TYPE_CHECKING:
    from types import ModuleType


@cache
def _stdnum(name: str) -> ModuleType:
    """python-stdnum's module ``name``, imported on first use (about 0.1 s with its GS1 table:
    not before the first screen; `load_check_tables` loads them on the start thread)."""
    import importlib

    return importlib.import_module(f"stdnum.{name}")


@cache
def _gs1_ais() -> Any:
    """The GS1 application identifier table python-stdnum ships (and gs1_128 itself uses)."""
    return _stdnum("numdb").get("gs1_ai")


def load_check_tables() -> None:
    """Load python-stdnum's check-digit code, GS1 field checks and table now (the kiosk's start
    thread does while the store worker checks the database, so no scan waits for them)."""
    _stdnum("ean")
    _stdnum("gs1_128")
    _gs1_ais()


def check_digit(digits: str) -> str:
    """The GTIN/EAN check digit (python-stdnum's) of ``digits`` without it."""
    return str(_stdnum("ean").calc_check_digit(digits))


def parse_scan(raw: bytes, rules: ScanRules | None = None) -> Scan:
    """Read one raw scanner frame into a :class:`Scan`.

    ``rules`` are the shop's variable-measure layouts; ``None`` means none. See the module
    docstring for what is accepted. Raises :class:`BarcodeError` and nothing else for any
    bytes.
    """
    if len(raw) > MAX_SCAN_BYTES:
        raise BarcodeError(
            "too_long", f"the scan is {len(raw)} bytes, longer than {MAX_SCAN_BYTES}"
        )
    # latin-1 maps every byte to one character, so no input fails to decode; digits are
    # checked against ASCII 0-9 only.
    text = raw.strip(_FRAMING).decode("latin-1")
    if not text:
        raise BarcodeError("empty", "the scan holds no data")
    if text.startswith("]"):
        aim, data = text[:3], text[3:]
        scan = _read_with_aim(aim, data)
    else:
        scan = _read_digits(text)
    return _with_variable_measure(scan, rules or ScanRules())


def normalize_gtin(code: str) -> str:
    """Return the 14-digit key of an 8, 12, 13 or 14-digit GTIN, such as a catalog barcode.

    Surrounding whitespace is ignored. An 8-digit code is an EAN-8, never a UPC-E.
    Raises :class:`BarcodeError` (``empty``, ``not_digits``, ``bad_length``,
    ``bad_check_digit``).
    """
    digits = code.strip()
    if not digits:
        raise BarcodeError("empty", "the GTIN is empty")
    _require_digits(digits, "the GTIN")
    if len(digits) not in _LENGTH_SYMBOLOGY:
        raise BarcodeError("bad_length", f"a GTIN has 8, 12, 13 or 14 digits, not {len(digits)}")
    _require_check_digit(digits)
    return digits.zfill(GTIN_LENGTH)


def expand_upc_e(code: str) -> str:
    """Expand an 8-digit UPC-E (number system, 6 digits, check digit) to its 12-digit UPC-A.

    The check digit is carried over, not validated. Raises :class:`BarcodeError`
    (``not_digits``, ``bad_length``, ``bad_number_system``).
    """
    _require_digits(code, "the UPC-E")
    if len(code) != 8:
        raise BarcodeError("bad_length", f"a UPC-E has 8 digits, not {len(code)}")
    number_system, d, check = code[0], code[1:7], code[7]
    if number_system not in "01":
        raise BarcodeError(
            "bad_number_system", f"a UPC-E has number system 0 or 1, not {number_system}"
        )
    # The last of the six digits says where the zeros of the manufacturer and product
    # numbers were suppressed (UPC-E zero-suppression rules).
    last = d[5]
    if last in "012":
        manufacturer, product = d[0:2] + last + "00", "00" + d[2:5]
    elif last == "3":
        manufacturer, product = d[0:3] + "00", "000" + d[3:5]
    elif last == "4":
        manufacturer, product = d[0:4] + "0", "0000" + d[4]
    else:
        manufacturer, product = d[0:5], "0000" + last
    return number_system + manufacturer + product + check


def price_check_digit(value: str) -> str:
    """Return the GS1 price/weight verifier digit of a 4- or 5-digit price or weight field.

    Raises ``ValueError`` for any other length: GS1 defines the digit for 4 and 5 digits only.
    """
    if len(value) not in (4, 5) or not set(value) <= _DIGITS:
        raise ValueError(f"a price check digit needs 4 or 5 digits, not {value!r}")
    # GS1 General Specifications section 7.9.3. Each digit d gets a weighted product from
    # one of four weighting factors, all taken modulo 10:
    #   "2-": units digit of 2d minus its tens digit;  "3": units digit of 3d;
    #   "5+": units digit of 5d plus its tens digit;   "5-": units digit of 5d minus tens digit.
    # 4 digits: factors 2-, 2-, 3, 5-; the check digit is the units digit of 3 * sum.
    # 5 digits: factors 5+, 2-, 5-, 5+, 2-; the check digit is the digit whose "5-" product
    # equals (10 - units digit of the sum) mod 10.
    digits = [int(c) for c in value]
    if len(digits) == 4:
        total = _two_minus(digits[0]) + _two_minus(digits[1]) + _three(digits[2])
        total += _five_minus(digits[3])
        return str(total * 3 % 10)
    total = (
        _five_plus(digits[0])
        + _two_minus(digits[1])
        + _five_minus(digits[2])
        + _five_plus(digits[3])
        + _two_minus(digits[4])
    )
    wanted = (10 - total % 10) % 10
    return str(next(d for d in range(10) if _five_minus(d) == wanted))


def _two_minus(d: int) -> int:
    p = 2 * d
    return (p % 10 - p // 10) % 10


def _three(d: int) -> int:
    return 3 * d % 10


def _five_plus(d: int) -> int:
    p = 5 * d
    return (p % 10 + p // 10) % 10


def _five_minus(d: int) -> int:
    p = 5 * d
    return (p % 10 - p // 10) % 10


def _read_with_aim(aim: str, data: str) -> Scan:
    if aim in _GS1_SYMBOLOGY:
        return Scan(gtin=_gs1_gtin(data), symbology=_GS1_SYMBOLOGY[aim])
    if aim == "]E0":
        _require_digits(data, "the EAN/UPC scan")
        if len(data) == 8:
            upc_a = expand_upc_e(data)
            _require_check_digit(upc_a)
            return Scan(gtin=upc_a.zfill(GTIN_LENGTH), symbology=Symbology.UPC_E)
        if len(data) in (12, 13):
            return _checked(data, _LENGTH_SYMBOLOGY[len(data)])
        raise BarcodeError(
            "bad_length", f"an EAN-13/UPC scan has 8, 12 or 13 digits, not {len(data)}"
        )
    if aim == "]E3":
        _require_digits(data, "the EAN with add-on")
        if len(data) not in _EAN_ADD_ON_LENGTHS:
            raise BarcodeError(
                "bad_length",
                f"an EAN-13 with add-on has 15 or 18 digits, not {len(data)}",
            )
        return _checked(data[:13], Symbology.EAN_13)
    if aim == "]E4":
        _require_digits(data, "the EAN-8 scan")
        if len(data) != 8:
            raise BarcodeError("bad_length", f"an EAN-8 has 8 digits, not {len(data)}")
        return _checked(data, Symbology.EAN_8)
    if aim in ("]I0", "]I1"):
        _require_digits(data, "the ITF scan")
        if len(data) != GTIN_LENGTH:
            raise BarcodeError("bad_length", f"an ITF-14 has 14 digits, not {len(data)}")
        return _checked(data, Symbology.ITF_14)
    raise BarcodeError(
        "unsupported_symbology", f"symbology {aim!r} does not carry a GTIN this kiosk reads"
    )


def _read_digits(data: str) -> Scan:
    if not set(data) <= _DIGITS:
        raise BarcodeError("unsupported_symbology", "the scan is text, not a product barcode")
    symbology = _LENGTH_SYMBOLOGY.get(len(data))
    if symbology is None:
        raise BarcodeError(
            "bad_length", f"a product barcode has 8, 12, 13 or 14 digits, not {len(data)}"
        )
    return _checked(data, symbology)


def _checked(digits: str, symbology: Symbology) -> Scan:
    _require_check_digit(digits)
    return Scan(gtin=digits.zfill(GTIN_LENGTH), symbology=symbology)


def _require_digits(data: str, what: str) -> None:
    if not data:
        raise BarcodeError("empty", f"{what} holds no digits")
    if not set(data) <= _DIGITS:
        raise BarcodeError("not_digits", f"{what} holds characters other than digits")


def _require_check_digit(digits: str) -> None:
    if check_digit(digits[:-1]) != digits[-1]:
        raise BarcodeError(
            "bad_check_digit", f"the check digit of {digits} does not match (misread?)"
        )


def _gs1_gtin(data: str) -> str:
    fields = _gs1_fields(data)
    gtin = fields.get("01")
    if gtin is None:
        raise BarcodeError("bad_gs1", "the GS1 element string has no GTIN (AI 01)")
    return gtin


def _gs1_fields(data: str) -> dict[str, str]:
    """Split a GS1 element string into AI -> raw value, validating every field.

    stdnum's AI table gives each AI's format and whether it is variable-length (``fnc1``);
    ``gs1_128.info`` alone would accept a truncated fixed-length field (a bare trailing
    ``17`` reads as a date), so the boundaries are walked here and each field's value is
    then checked by ``gs1_128.info`` on that field alone.
    """
    rest = data[1:] if data.startswith(_GS) else data  # a leading GS stands for FNC1
    if not rest:
        raise BarcodeError("bad_gs1", "the GS1 element string is empty")
    fields: dict[str, str] = {}
    while rest:
        found = _gs1_ais().info(rest)
        ai, spec = found[0] if found else ("", {})
        if not spec or not rest.startswith(ai):
            raise BarcodeError("bad_gs1", f"unknown GS1 application identifier at {rest[:4]!r}")
        rest = rest[len(ai) :]
        if spec.get("fnc1"):
            value, _, rest = rest.partition(_GS)
            if not 1 <= len(value) <= _gs1_max_length(spec["format"]):
                raise BarcodeError("bad_gs1", f"GS1 field ({ai}) has a bad length")
        else:
            # Every predefined-length AI in the table is all digits: "N6", "N14"...
            length = int(spec["format"][1:])
            value, rest = rest[:length], rest[length:]
            if len(value) != length or not set(value) <= _DIGITS:
                raise BarcodeError("bad_gs1", f"GS1 field ({ai}) is not {length} digits")
            if rest.startswith(_GS):  # not required after a fixed-length field, but allowed
                rest = rest[1:]
        if ai == "01":
            _require_check_digit(value)
        if fields.setdefault(ai, value) != value:
            raise BarcodeError("bad_gs1", f"GS1 field ({ai}) appears twice with two values")
        _validate_gs1_field(ai, value)
    return fields


def _validate_gs1_field(ai: str, value: str) -> None:
    try:
        _stdnum("gs1_128").info(ai + value)
    # gs1_128.info raises stdnum's ValidationError for bad check digits and unknown AIs but
    # plain ValueError/ArithmeticError for impossible dates or numbers; stdnum's own
    # validate() wraps every exception the same way, as its input is untrusted.
    except Exception as error:
        raise BarcodeError("bad_gs1", f"GS1 field ({ai}) holds an invalid value") from error


def _gs1_max_length(fmt: str) -> int:
    # "X..20" -> 20, "N13[+X..17]" -> 30, "N6+N..4" -> 10: the last number of each part.
    # A part without a number (the "[-]" sign of AIs 4330-4333) is one character long.
    return sum(
        int(numbers[-1]) if (numbers := re.findall(r"[0-9]+", part)) else 1
        for part in fmt.split("+")
    )


def _with_variable_measure(scan: Scan, rules: ScanRules) -> Scan:
    if scan.symbology not in (Symbology.EAN_13, Symbology.UPC_A) or scan.gtin[0] != "0":
        return scan
    code = scan.gtin[1:]
    layout = rules.layout_for(code[:2])
    if layout is None:
        return scan
    return _variable_measure(scan, code, layout)


def _variable_measure(scan: Scan, code: str, layout: VariableMeasureLayout) -> Scan:
    # shop_rules accepts these layouts, but they cannot be read: they are settings errors,
    # not bad scans, so they raise ValueError rather than BarcodeError.
    if layout.value_digits < 1:
        raise ValueError("a variable-measure layout needs at least one value digit")
    if layout.price_check_digit and layout.value_digits not in (4, 5):
        raise ValueError(
            f"a price check digit needs 4 or 5 value digits, not {layout.value_digits}"
        )
    body = code[2:12]
    item = body[: layout.item_digits]
    value = body[10 - layout.value_digits :]
    if layout.price_check_digit:
        given = body[layout.item_digits]
        if price_check_digit(value) != given:
            raise BarcodeError(
                "bad_price_check_digit",
                f"the price/weight check digit of in-store code {code} does not match",
            )
    amount = int(value)
    if layout.value == "price":
        return Scan(scan.gtin, scan.symbology, item_key=item, embedded_price_minor=amount)
    return Scan(scan.gtin, scan.symbology, item_key=item, embedded_weight_g=amount)
