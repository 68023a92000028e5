"""Reading scanner frames and catalog GTINs into the 14-digit key: examples for every form."""

from __future__ import annotations

import pytest

from kiosk.core.barcodes import (
    MAX_SCAN_BYTES,
    REASONS,
    BarcodeError,
    Scan,
    Symbology,
    expand_upc_e,
    normalize_gtin,
    parse_scan,
    price_check_digit,
)
from kiosk.core.shop_rules import ScanRules, VariableMeasureLayout

EAN_13 = "5901234123457"
EAN_8 = "96385074"
UPC_A = "036000291452"
GTIN_14 = "10012345678902"
ITF_14 = "15400141288763"
GS1_GTIN = "09506000134352"
GS = b"\x1d"


def weighted_sum_is_valid(code: str) -> bool:
    """The GS1 check: weights 1, 3, 1, 3... from the right, sum divisible by 10."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(reversed(code)))
    return total % 10 == 0


def with_check_digit(body: str) -> str:
    """Append the digit that makes the weighted sum valid."""
    return body + next(c for c in "0123456789" if weighted_sum_is_valid(body + c))


def reason_of(raw: bytes, rules: ScanRules | None = None) -> str:
    with pytest.raises(BarcodeError) as caught:
        parse_scan(raw, rules)
    return caught.value.reason


def test_the_fixture_codes_are_valid_gtins_by_the_weighted_sum() -> None:
    for code in (EAN_13, EAN_8, UPC_A, GTIN_14, ITF_14, GS1_GTIN):
        assert weighted_sum_is_valid(code), code


# --- framing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        EAN_13.encode(),
        EAN_13.encode() + b"\r",
        EAN_13.encode() + b"\n",
        EAN_13.encode() + b"\r\n",
        b"\x02" + EAN_13.encode() + b"\x03",
        b"\x02" + EAN_13.encode() + b"\x03\r\n",
        b"  " + EAN_13.encode() + b" \t\r\n",
        b"\x02]E0" + EAN_13.encode() + b"\x03\r\n",
    ],
)
def test_terminators_and_stx_etx_framing_are_stripped(frame: bytes) -> None:
    assert parse_scan(frame).gtin == "0" + EAN_13


@pytest.mark.parametrize("frame", [b"", b"\r\n", b"\x02\x03", b"   \r\n", b"\x02\x03\r\n"])
def test_a_frame_with_only_framing_is_empty(frame: bytes) -> None:
    assert reason_of(frame) == "empty"


def test_a_frame_longer_than_the_cap_is_too_long() -> None:
    assert reason_of(b"1" * (MAX_SCAN_BYTES + 1)) == "too_long"
    assert reason_of(b"\r\n" * MAX_SCAN_BYTES) == "too_long"


# --- EAN / UPC / ITF without AIM identifiers -------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "symbology", "gtin"),
    [
        (EAN_8, Symbology.EAN_8, "000000" + EAN_8),
        (UPC_A, Symbology.UPC_A, "00" + UPC_A),
        (EAN_13, Symbology.EAN_13, "0" + EAN_13),
        (GTIN_14, Symbology.GTIN_14, GTIN_14),
    ],
)
def test_plain_digits_are_inferred_from_their_count(
    digits: str, symbology: Symbology, gtin: str
) -> None:
    assert parse_scan(digits.encode() + b"\r\n") == Scan(gtin=gtin, symbology=symbology)


def test_upc_a_its_ean_13_form_and_its_gtin_14_form_give_the_same_key() -> None:
    keys = {parse_scan(code.encode()).gtin for code in (UPC_A, "0" + UPC_A, "00" + UPC_A)}
    assert keys == {"00" + UPC_A}


@pytest.mark.parametrize("digits", ["1234567", "1234567890", "123456789012345", "1"])
def test_plain_digits_of_no_gtin_length_are_a_bad_length(digits: str) -> None:
    assert reason_of(digits.encode()) == "bad_length"


@pytest.mark.parametrize("code", [EAN_8, UPC_A, EAN_13, GTIN_14])
def test_a_wrong_check_digit_is_refused(code: str) -> None:
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    assert reason_of(wrong.encode()) == "bad_check_digit"


@pytest.mark.parametrize(
    "frame",
    [b"hello", b"https://example.com/p/123", b"5901234-123457", b"59012341234\xb2"],
)
def test_plain_text_without_an_aim_identifier_is_an_unsupported_symbology(frame: bytes) -> None:
    assert reason_of(frame) == "unsupported_symbology"


# --- AIM identifiers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "symbology", "gtin"),
    [
        (b"]E0" + EAN_13.encode(), Symbology.EAN_13, "0" + EAN_13),
        (b"]E0" + UPC_A.encode(), Symbology.UPC_A, "00" + UPC_A),
        (b"]E00" + UPC_A.encode(), Symbology.EAN_13, "00" + UPC_A),
        (b"]E4" + EAN_8.encode(), Symbology.EAN_8, "000000" + EAN_8),
        (b"]I1" + ITF_14.encode(), Symbology.ITF_14, ITF_14),
        (b"]I0" + ITF_14.encode(), Symbology.ITF_14, ITF_14),
        (b"]E3" + EAN_13.encode() + b"12", Symbology.EAN_13, "0" + EAN_13),
        (b"]E3" + EAN_13.encode() + b"51234", Symbology.EAN_13, "0" + EAN_13),
    ],
)
def test_aim_identifiers_name_the_symbology(frame: bytes, symbology: Symbology, gtin: str) -> None:
    assert parse_scan(frame + b"\r\n") == Scan(gtin=gtin, symbology=symbology)


@pytest.mark.parametrize(
    ("upc_e", "upc_a"),
    [
        ("04252614", "042100005264"),  # last digit 0-2: manufacturer d1 d2 d6 0 0
        ("07654325", "076200005435"),  # last digit 2
        ("19876511", "198100007651"),  # number system 1
        ("01234531", "012300000451"),  # last digit 3: manufacturer d1 d2 d3 0 0
        ("01234048", "012340000008"),  # last digit 4: manufacturer d1 d2 d3 d4 0
        ("01234572", "012345000072"),  # last digit 5-9: product 0 0 0 0 d6
    ],
)
def test_an_eight_digit_e0_scan_is_a_upc_e_expanded_to_upc_a(upc_e: str, upc_a: str) -> None:
    assert weighted_sum_is_valid(upc_a)
    assert expand_upc_e(upc_e) == upc_a
    scan = parse_scan(b"]E0" + upc_e.encode() + b"\r\n")
    assert scan == Scan(gtin="00" + upc_a, symbology=Symbology.UPC_E)
    assert parse_scan(upc_a.encode()).gtin == scan.gtin


def test_a_upc_e_with_a_wrong_check_digit_is_refused() -> None:
    assert reason_of(b"]E004252615") == "bad_check_digit"


def test_a_upc_e_with_number_system_other_than_0_or_1_is_refused() -> None:
    assert reason_of(b"]E024252614") == "bad_number_system"


def test_an_eight_digit_scan_without_an_identifier_is_read_as_ean_8_not_upc_e() -> None:
    assert reason_of(b"04252614") == "bad_check_digit"
    assert parse_scan(EAN_8.encode()).symbology is Symbology.EAN_8


@pytest.mark.parametrize(
    "frame",
    [
        b"]E0" + EAN_13.encode()[:-1] + b"A",
        b"]E4" + b"9638507A",
        b"]I1" + ITF_14.encode()[:5] + b" " + ITF_14.encode()[6:],
        b"]E3" + EAN_13.encode() + b"1x",
    ],
)
def test_non_digits_under_an_ean_upc_or_itf_identifier_are_refused(frame: bytes) -> None:
    assert reason_of(frame) == "not_digits"


@pytest.mark.parametrize(
    "frame",
    [
        b"]E0" + GTIN_14.encode(),
        b"]E0" + b"1234567",
        b"]E4" + EAN_13.encode(),
        b"]I1" + EAN_13.encode(),
        b"]E3" + EAN_13.encode(),
    ],
)
def test_a_digit_count_the_identifier_does_not_allow_is_a_bad_length(frame: bytes) -> None:
    assert reason_of(frame) == "bad_length"


def test_an_identifier_with_no_data_is_empty() -> None:
    assert reason_of(b"]E0\r\n") == "empty"


@pytest.mark.parametrize(
    "frame",
    [
        b"]A0CODE39",
        b"]Q1https://example.com/p/123",
        b"]C0" + EAN_13.encode(),
        b"]d1" + EAN_13.encode(),
        b"]Q3" + b"01" + GS1_GTIN.encode(),
        b"]X0",
        b"]E",
    ],
)
def test_symbologies_that_carry_no_gtin_are_unsupported(frame: bytes) -> None:
    assert reason_of(frame) == "unsupported_symbology"


# --- GS1 element strings ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("aim", "symbology"),
    [
        (b"]C1", Symbology.GS1_128),
        (b"]e0", Symbology.GS1_DATABAR),
        (b"]d2", Symbology.GS1_DATAMATRIX),
    ],
)
@pytest.mark.parametrize(
    "element_string",
    [
        b"01" + GS1_GTIN.encode(),
        GS + b"01" + GS1_GTIN.encode(),
        b"01" + GS1_GTIN.encode() + b"17251231",
        b"01" + GS1_GTIN.encode() + b"17251231" + b"10LOT-42",
        b"01" + GS1_GTIN.encode() + b"10LOT-42" + GS + b"17251231",
        b"01" + GS1_GTIN.encode() + b"3103000150" + b"15250600",
        b"10LOT-42" + GS + b"01" + GS1_GTIN.encode(),
        b"17251231" + b"01" + GS1_GTIN.encode() + b"21SERIAL7" + GS + b"10LOT",
        b"01" + GS1_GTIN.encode() + GS + b"17251231",
        b"01" + GS1_GTIN.encode() + b"21SERIAL7" + GS,
        b"01" + GS1_GTIN.encode() + b"01" + GS1_GTIN.encode(),
        b"01" + GS1_GTIN.encode() + b"10" + b"L" * 20,
        b"01" + GS1_GTIN.encode() + b"17251200",
    ],
)
def test_gs1_element_strings_give_the_gtin_of_ai_01(
    aim: bytes, symbology: Symbology, element_string: bytes
) -> None:
    scan = parse_scan(b"\x02" + aim + element_string + b"\x03\r\n")
    assert scan == Scan(gtin=GS1_GTIN, symbology=symbology)


def test_a_gs1_gtin_is_the_same_key_as_the_ean_13_it_wraps() -> None:
    assert parse_scan(b"]C101" + GS1_GTIN.encode()).gtin == parse_scan(GS1_GTIN[1:].encode()).gtin


def test_a_variable_length_field_without_a_gs_runs_to_its_maximum_length() -> None:
    # (10) is variable-length: without GS the following "01..." is part of the lot number.
    assert reason_of(b"]C110LOT01" + GS1_GTIN.encode()) == "bad_gs1"


@pytest.mark.parametrize(
    "element_string",
    [
        b"",
        GS,
        b"10LOT-42",
        b"01" + GS1_GTIN.encode()[:-2],
        b"01" + GS1_GTIN.encode()[:5] + GS + b"17251231",
        b"01" + GS1_GTIN.encode() + b"17251399",
        b"01" + GS1_GTIN.encode() + b"17",
        b"01" + GS1_GTIN.encode() + GS + GS + b"10LOT",
        b"0A" + GS1_GTIN.encode(),
        b"01" + GS1_GTIN.encode() + b"\xff\xfe",
        b"01" + GS1_GTIN.encode() + b"3103",
        b"01" + GS1_GTIN.encode() + b"10" + GS + b"17251231",
        b"01" + GS1_GTIN.encode() + b"10" + b"L" * 21,
        b"01" + GS1_GTIN.encode() + b"01" + ITF_14.encode(),
        b"(01)" + GS1_GTIN.encode() + b"(17)251231",
    ],
)
def test_malformed_gs1_element_strings_are_refused(element_string: bytes) -> None:
    assert reason_of(b"]C1" + element_string) == "bad_gs1"


def test_a_gs1_gtin_with_a_wrong_check_digit_is_refused() -> None:
    assert reason_of(b"]C101" + GS1_GTIN.encode()[:-1] + b"3") == "bad_check_digit"


# --- variable-measure in-store codes ---------------------------------------------------------

PRICE_5 = VariableMeasureLayout(prefixes=("21",), item_digits=5, value_digits=5, value="price")
PRICE_5_CHECKED = VariableMeasureLayout(
    prefixes=("22",), item_digits=4, value_digits=5, price_check_digit=True, value="price"
)
WEIGHT_5 = VariableMeasureLayout(prefixes=("23", "20"), item_digits=5, value="weight")
PRICE_4_CHECKED = VariableMeasureLayout(
    prefixes=("24", "02"), item_digits=5, value_digits=4, price_check_digit=True
)
RULES = ScanRules(variable_measure=(PRICE_5, PRICE_5_CHECKED, WEIGHT_5, PRICE_4_CHECKED))


def test_an_in_store_code_carries_its_item_key_and_price() -> None:
    scan = parse_scan(b"2112345012346\r\n", RULES)
    assert scan == Scan(
        gtin="02112345012346",
        symbology=Symbology.EAN_13,
        item_key="12345",
        embedded_price_minor=1234,
    )
    assert scan.is_variable_measure


def test_an_in_store_code_carries_its_item_key_and_weight_in_grams() -> None:
    scan = parse_scan(b"]E02312345015006", RULES)
    assert (scan.item_key, scan.embedded_weight_g, scan.embedded_price_minor) == (
        "12345",
        1500,
        None,
    )
    assert scan.gtin == "02312345015006"


def test_the_item_key_keeps_its_leading_zeros() -> None:
    scan = parse_scan(with_check_digit("20" + "00042" + "01500").encode(), RULES)
    assert (scan.item_key, scan.embedded_weight_g) == ("00042", 1500)


def test_a_five_digit_price_with_its_price_check_digit_is_read() -> None:
    scan = parse_scan(b"2212346146856", RULES)
    assert (scan.item_key, scan.embedded_price_minor) == ("1234", 14685)


def test_a_four_digit_price_with_its_price_check_digit_is_read() -> None:
    scan = parse_scan(b"2412345928754", RULES)
    assert (scan.item_key, scan.embedded_price_minor) == ("12345", 2875)


def test_a_upc_a_with_number_system_2_is_read_with_the_layout_of_prefix_02() -> None:
    scan = parse_scan(b"212345928752", RULES)
    assert scan == Scan(
        gtin="00212345928752",
        symbology=Symbology.UPC_A,
        item_key="12345",
        embedded_price_minor=2875,
    )


def test_a_wrong_price_check_digit_is_refused_even_with_a_valid_ean_check_digit() -> None:
    digits = with_check_digit("221234" + "5" + "14685")
    assert reason_of(digits.encode(), RULES) == "bad_price_check_digit"


def test_a_wrong_ean_check_digit_is_refused_before_the_price_is_read() -> None:
    assert reason_of(b"2112345012347", RULES) == "bad_check_digit"


def test_an_in_store_prefix_without_a_layout_is_an_ordinary_gtin() -> None:
    for rules in (None, ScanRules(), ScanRules((PRICE_5_CHECKED,))):
        scan = parse_scan(b"2112345012346", rules)
        assert scan == Scan(gtin="02112345012346", symbology=Symbology.EAN_13)
        assert not scan.is_variable_measure


def test_gtin_14_and_gs1_forms_of_an_in_store_code_are_not_variable_measure() -> None:
    assert parse_scan(b"02112345012346", RULES).item_key is None
    assert parse_scan(b"]C10102112345012346", RULES).item_key is None


def test_a_layout_with_a_price_check_digit_over_six_value_digits_is_refused_as_a_setting() -> None:
    with pytest.raises(ValueError, match="4- or 5-digit values"):
        VariableMeasureLayout(
            prefixes=("25",), item_digits=3, value_digits=6, price_check_digit=True
        )


def test_a_layout_without_value_digits_is_refused_as_a_setting() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        VariableMeasureLayout(prefixes=("25",), item_digits=10, value_digits=0)


@pytest.mark.parametrize(
    ("value", "check"),
    [
        ("2875", "9"),  # GS1 General Specifications 7.9.3, four-digit example
        ("14685", "6"),  # GS1 General Specifications 7.9.3, five-digit example
        ("0000", "0"),
        ("00000", "0"),
    ],
)
def test_the_price_check_digit_matches_the_gs1_examples(value: str, check: str) -> None:
    assert price_check_digit(value) == check


@pytest.mark.parametrize("value", ["123", "123456", "12a4", ""])
def test_a_price_check_digit_exists_only_for_four_or_five_digits(value: str) -> None:
    with pytest.raises(ValueError, match="4 or 5 digits"):
        price_check_digit(value)


# --- normalize_gtin --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "key"),
    [
        (EAN_8, "000000" + EAN_8),
        (UPC_A, "00" + UPC_A),
        (EAN_13, "0" + EAN_13),
        (GTIN_14, GTIN_14),
        (" " + EAN_13 + "\n", "0" + EAN_13),
    ],
)
def test_normalize_gtin_gives_the_same_key_as_a_scan(code: str, key: str) -> None:
    assert normalize_gtin(code) == key
    assert parse_scan(code.encode()).gtin == key


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("5901234123458", "bad_check_digit"),
        ("590123412345", "bad_check_digit"),
        ("59012341234", "bad_length"),
        ("590123412345700", "bad_length"),
        ("5901234-123457", "not_digits"),
        ("59012341234５7", "not_digits"),
    ],
)
def test_normalize_gtin_refuses_what_is_not_a_gtin(code: str, reason: str) -> None:
    with pytest.raises(BarcodeError) as caught:
        normalize_gtin(code)
    assert caught.value.reason == reason


# --- the error type --------------------------------------------------------------------------


def test_a_barcode_error_is_a_value_error_with_a_reason_and_a_plain_message() -> None:
    with pytest.raises(ValueError) as caught:
        parse_scan(b"5901234123458")
    error = caught.value
    assert isinstance(error, BarcodeError)
    assert error.reason in REASONS
    assert "check digit" in str(error)


@pytest.mark.parametrize("frame", [b"]d243336", b"]C143301234567", b"]d24333-"])
def test_gs1_temperature_fields_are_read_or_rejected_never_crash(frame: bytes) -> None:
    try:
        parse_scan(frame)
    except BarcodeError as error:
        assert error.reason in ("bad_gs1", "unsupported_symbology")
