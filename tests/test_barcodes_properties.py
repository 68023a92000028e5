"""Properties of scan reading: every form of a GTIN gives one key, misreads are caught.

The check digits and the UPC-E expansion are computed here independently of the module (a
plain weighted sum, and the zero-suppression table written out), so the tests do not
inherit a mistake from the code they test.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from hypothesis import example, given
from hypothesis import strategies as st

from kiosk.core.barcodes import BarcodeError, Scan, parse_scan, price_check_digit
from kiosk.core.shop_rules import ScanRules, VariableMeasureLayout

DIGITS = "0123456789"
GS = b"\x1d"


def check_digit(body: str) -> str:
    """GS1 check digit: weights 3, 1, 3... from the right of the body."""
    total = sum(int(d) * (1 if i % 2 else 3) for i, d in enumerate(reversed(body)))
    return str(-total % 10)


def is_valid(code: str) -> bool:
    return check_digit(code[:-1]) == code[-1]


def gtins(length: int) -> st.SearchStrategy[str]:
    body = st.text(alphabet=DIGITS, min_size=length - 1, max_size=length - 1)
    return body.map(lambda b: b + check_digit(b))


# UPC-E zero suppression, as the table is usually printed: for the last of the six digits,
# the 10 digits of manufacturer + product, built from the six digits "abcdef".
UPC_E_PATTERNS = {
    **{last: "ab{f}0000cde" for last in "012"},
    "3": "abc00000de",
    "4": "abcd00000e",
    **{last: "abcde0000{f}" for last in "56789"},
}


def reference_upc_a(upc_e: str) -> str:
    """The 11 digits (without check digit) a UPC-E's number system and six digits stand for."""
    six = upc_e[1:7]
    pattern = UPC_E_PATTERNS[six[5]].replace("{f}", "f")
    return upc_e[0] + "".join(six["abcdef".index(ch)] if ch.isalpha() else ch for ch in pattern)


def is_canonical_upc_e(upc_e: str) -> bool:
    """True unless the same UPC-A also has a shorter-suppression UPC-E form."""
    six = upc_e[1:7]
    last = six[5]
    if last == "3":
        return six[2] >= "3"
    if last == "4":
        return six[3] != "0"
    if last >= "5":
        return six[4] != "0"
    return True


@st.composite
def upc_e_codes(draw: st.DrawFn) -> str:
    number_system = draw(st.sampled_from("01"))
    six = draw(st.text(alphabet=DIGITS, min_size=6, max_size=6))
    return number_system + six + check_digit(reference_upc_a(number_system + six + "0"))


FRAMINGS = st.sampled_from(
    [
        (b"", b""),
        (b"", b"\r"),
        (b"", b"\n"),
        (b"", b"\r\n"),
        (b"\x02", b"\x03"),
        (b"\x02", b"\x03\r\n"),
        (b" ", b" \t\r\n"),
    ]
)

GS1_AIMS = [b"]C1", b"]e0", b"]d2"]


@st.composite
def gs1_extra_fields(draw: st.DrawFn) -> list[tuple[bytes, bool]]:
    """Other GS1 fields as (AI + value, is variable-length)."""
    date = draw(st.dates(datetime.date(2000, 1, 1), datetime.date(2049, 12, 31)))
    lot = draw(st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-./", min_size=1, max_size=20))
    serial = draw(st.text(alphabet="ABCDEFXYZ0123456789", min_size=1, max_size=20))
    weight = draw(st.integers(min_value=0, max_value=999_999))
    candidates = [
        (b"17" + date.strftime("%y%m%d").encode(), False),
        (b"10" + lot.encode(), True),
        (b"21" + serial.encode(), True),
        (b"3103" + f"{weight:06d}".encode(), False),
    ]
    chosen = draw(st.lists(st.sampled_from(candidates), unique=True, max_size=4))
    return chosen


def gs1_element_string(gtin14: str, extras: list[tuple[bytes, bool]], position: int) -> bytes:
    """Join (01) and the extra fields, with a GS after every variable-length field but the last."""
    fields = list(extras)
    fields.insert(min(position, len(fields)), (b"01" + gtin14.encode(), False))
    parts = []
    for index, (field, variable) in enumerate(fields):
        last = index == len(fields) - 1
        parts.append(field + (GS if variable and not last else b""))
    return b"".join(parts)


def key_forms(gtin14: str) -> list[bytes]:
    """The GTIN-14 forms every GTIN has: plain 14 digits, ITF-14 and (01) in each GS1 carrier."""
    return [
        gtin14.encode(),
        b"]I1" + gtin14.encode(),
        b"]I0" + gtin14.encode(),
        *(aim + b"01" + gtin14.encode() for aim in GS1_AIMS),
        *(aim + GS + b"01" + gtin14.encode() for aim in GS1_AIMS),
    ]


def assert_all_give(frames: list[bytes], key: str, framing: tuple[bytes, bytes]) -> None:
    head, tail = framing
    for frame in frames:
        assert parse_scan(head + frame + tail).gtin == key, frame


@given(gtins(8), FRAMINGS)
def test_every_form_of_an_ean_8_gives_one_key(code: str, framing: tuple[bytes, bytes]) -> None:
    key = "000000" + code
    frames = [code.encode(), b"]E4" + code.encode(), *key_forms(key)]
    assert_all_give(frames, key, framing)


@given(gtins(12), FRAMINGS)
@example("036000291452", (b"", b"\r\n"))
def test_every_form_of_a_upc_a_gives_one_key(code: str, framing: tuple[bytes, bytes]) -> None:
    key = "00" + code
    frames = [
        code.encode(),
        b"]E0" + code.encode(),
        ("0" + code).encode(),
        b"]E0" + ("0" + code).encode(),
        *key_forms(key),
    ]
    assert_all_give(frames, key, framing)


@given(upc_e_codes(), FRAMINGS)
@example("04252614", (b"", b""))
def test_a_upc_e_gives_the_key_of_the_upc_a_it_expands_to(
    upc_e: str, framing: tuple[bytes, bytes]
) -> None:
    upc_a_body = reference_upc_a(upc_e)
    upc_a = upc_a_body + check_digit(upc_a_body)
    key = "00" + upc_a
    assert upc_a[-1] == upc_e[-1]
    assert_all_give([b"]E0" + upc_e.encode(), upc_a.encode(), *key_forms(key)], key, framing)


@given(gtins(13), FRAMINGS)
def test_every_form_of_an_ean_13_gives_one_key(code: str, framing: tuple[bytes, bytes]) -> None:
    key = "0" + code
    frames = [code.encode(), b"]E0" + code.encode(), *key_forms(key)]
    assert_all_give(frames, key, framing)


@given(gtins(14), FRAMINGS)
def test_every_form_of_a_gtin_14_gives_one_key(code: str, framing: tuple[bytes, bytes]) -> None:
    assert_all_give(key_forms(code), code, framing)


@given(
    gtins(14),
    gs1_extra_fields(),
    st.integers(min_value=0, max_value=4),
    st.sampled_from(GS1_AIMS),
    st.booleans(),
)
def test_a_gs1_element_string_gives_the_gtin_of_ai_01_wherever_it_stands(
    code: str,
    extras: list[tuple[bytes, bool]],
    position: int,
    aim: bytes,
    leading_gs: bool,
) -> None:
    element_string = gs1_element_string(code, extras, position)
    frame = aim + (GS if leading_gs else b"") + element_string
    assert parse_scan(frame + b"\r\n").gtin == code


def single_digit_errors(code: str) -> list[str]:
    return [code[:i] + d + code[i + 1 :] for i in range(len(code)) for d in DIGITS if d != code[i]]


def check_changing_transpositions(code: str) -> list[str]:
    """Adjacent swaps the GS1 check digit catches: different digits not five apart.

    Neighbours carry weights 1 and 3, so a swap changes the weighted sum by 2 * (a - b),
    a multiple of 10 only when a and b are equal or differ by 5.
    """
    swaps = []
    for i in range(len(code) - 1):
        a, b = code[i], code[i + 1]
        if a != b and abs(int(a) - int(b)) != 5:
            swaps.append(code[:i] + b + a + code[i + 2 :])
    return swaps


def assert_refused_as_a_misread(frame: bytes) -> None:
    try:
        parse_scan(frame)
    except BarcodeError as error:
        assert error.reason == "bad_check_digit", frame
    else:
        raise AssertionError(f"{frame!r} was accepted")


@given(st.sampled_from([8, 12, 13, 14]).flatmap(gtins))
def test_every_single_digit_error_is_refused(code: str) -> None:
    for wrong in single_digit_errors(code):
        assert_refused_as_a_misread(wrong.encode())


@given(st.sampled_from([8, 12, 13, 14]).flatmap(gtins))
@example("5901234123457")
def test_every_check_changing_adjacent_transposition_is_refused(code: str) -> None:
    for wrong in check_changing_transpositions(code):
        assert not is_valid(wrong)
        assert_refused_as_a_misread(wrong.encode())


@given(upc_e_codes())
@example("04205209")  # last digit 0 -> 3 gives a non-canonical alias of the same UPC-A
def test_a_upc_e_digit_error_is_refused_or_reads_as_another_valid_upc_e(upc_e: str) -> None:
    original = parse_scan(b"]E0" + upc_e.encode())
    for wrong in single_digit_errors(upc_e):
        try:
            scan = parse_scan(b"]E0" + wrong.encode())
        except BarcodeError as error:
            assert error.reason in ("bad_check_digit", "bad_number_system"), wrong
            continue
        expanded = reference_upc_a(wrong)
        assert wrong[0] in "01"
        assert is_valid(expanded + wrong[-1]), wrong
        assert scan.gtin == "00" + expanded + wrong[-1]
        if scan.gtin == original.gtin:
            # Only a non-canonical UPC-E aliases another one: the same item, not a misread.
            assert not (is_canonical_upc_e(upc_e) and is_canonical_upc_e(wrong)), wrong


WEIGHTS_2_MINUS = [0, 2, 4, 6, 8, 9, 1, 3, 5, 7]
WEIGHTS_3 = [0, 3, 6, 9, 2, 5, 8, 1, 4, 7]
WEIGHTS_5_PLUS = [0, 5, 1, 6, 2, 7, 3, 8, 4, 9]
WEIGHTS_5_MINUS = [0, 5, 9, 4, 8, 3, 7, 2, 6, 1]
"""The weighted-product tables printed in GS1 General Specifications 7.9.3."""


def reference_price_check_digit(value: str) -> str:
    d = [int(c) for c in value]
    if len(d) == 4:
        tables = [WEIGHTS_2_MINUS, WEIGHTS_2_MINUS, WEIGHTS_3, WEIGHTS_5_MINUS]
        return str(sum(t[x] for t, x in zip(tables, d, strict=True)) * 3 % 10)
    tables = [WEIGHTS_5_PLUS, WEIGHTS_2_MINUS, WEIGHTS_5_MINUS, WEIGHTS_5_PLUS, WEIGHTS_2_MINUS]
    total = sum(t[x] for t, x in zip(tables, d, strict=True))
    return str(WEIGHTS_5_MINUS.index((10 - total % 10) % 10))


@given(st.sampled_from([4, 5]).flatmap(lambda n: st.text(DIGITS, min_size=n, max_size=n)))
@example("2875")
@example("14685")
def test_the_price_check_digit_matches_the_gs1_tables_and_catches_any_one_changed_digit(
    value: str,
) -> None:
    check = price_check_digit(value)
    assert check == reference_price_check_digit(value)
    for wrong in single_digit_errors(value):
        assert price_check_digit(wrong) != check, wrong


LAYOUTS = ScanRules(
    variable_measure=(
        VariableMeasureLayout(prefixes=("21", "02"), item_digits=5, value_digits=5),
        VariableMeasureLayout(
            prefixes=("22",), item_digits=4, value_digits=5, price_check_digit=True
        ),
        VariableMeasureLayout(
            prefixes=("23",), item_digits=5, value_digits=4, price_check_digit=True, value="weight"
        ),
    )
)


@st.composite
def in_store_codes(draw: st.DrawFn) -> tuple[str, str, int, str]:
    """(EAN-13, item key, value, "price" or "weight") under LAYOUTS."""
    prefix = draw(st.sampled_from(["21", "02", "22", "23"]))
    item_digits, value_digits, checked, kind = {
        "21": (5, 5, False, "price"),
        "02": (5, 5, False, "price"),
        "22": (4, 5, True, "price"),
        "23": (5, 4, True, "weight"),
    }[prefix]
    item = draw(st.text(DIGITS, min_size=item_digits, max_size=item_digits))
    value = draw(st.text(DIGITS, min_size=value_digits, max_size=value_digits))
    verifier = reference_price_check_digit(value) if checked else ""
    body = prefix + item + verifier + value
    return body + check_digit(body), item, int(value), kind


@given(in_store_codes(), FRAMINGS)
def test_an_in_store_code_gives_back_its_item_and_value(
    case: tuple[str, str, int, str], framing: tuple[bytes, bytes]
) -> None:
    code, item, value, kind = case
    head, tail = framing
    scan = parse_scan(head + code.encode() + tail, LAYOUTS)
    assert scan.gtin == "0" + code
    assert scan.item_key == item
    if kind == "price":
        assert (scan.embedded_price_minor, scan.embedded_weight_g) == (value, None)
    else:
        assert (scan.embedded_price_minor, scan.embedded_weight_g) == (None, value)


def assert_only_barcode_errors(read: Callable[[], Scan]) -> None:
    try:
        scan = read()
    except BarcodeError as error:
        assert error.reason
        assert str(error)
        return
    assert len(scan.gtin) == 14
    assert is_valid(scan.gtin)


@given(st.binary(max_size=300))
@example(b"\x00" * 256)
@example(b"\xff\xfe]E0")
def test_arbitrary_bytes_raise_nothing_but_barcode_error(raw: bytes) -> None:
    assert_only_barcode_errors(lambda: parse_scan(raw, LAYOUTS))


@given(
    st.sampled_from([b"", b"]E0", b"]E3", b"]E4", b"]I1", b"]C1", b"]e0", b"]d2", b"]A0"]),
    st.lists(
        st.sampled_from([b"0", b"1", b"2", b"7", b"9", b"01", b"10", b"17", b"21", b"3103", GS]),
        max_size=40,
    ),
    st.binary(max_size=4),
)
def test_barcode_like_garbage_raises_nothing_but_barcode_error(
    aim: bytes, pieces: list[bytes], noise: bytes
) -> None:
    raw = aim + b"".join(pieces) + noise
    assert_only_barcode_errors(lambda: parse_scan(raw, LAYOUTS))

