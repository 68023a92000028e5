"""Checking catalog CSV rows (the pure half of ``kiosk catalog import``)."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import ean

from kiosk.core.barcodes import BarcodeError, normalize_gtin
from kiosk.core.catalog import Product
from kiosk.core.catalog_rows import RowProblem, row_from_fields, validate_rows
from kiosk.core.money import MoneyError, parse_major

TAX_CLASSES = ("standard", "reduced")
HEADER = "barcode,plu,name,price,tax_class,min_age,sold_by_weight,unit_price_per_kg,department"


def gtin(body: str) -> str:
    """Append the GS1 check digit to ``body``."""
    return body + ean.calc_check_digit(body)


WATER = gtin("400638133393")  # 13 digits
COLA = gtin("501234500103")
PEANUTS_UPC = gtin("03600029145")  # 12-digit UPC-A
GUM_EAN8 = gtin("0123456")


def check(text: str, currency: str = "EUR") -> tuple[list[Product], list[RowProblem]]:
    """Validate CSV text (header on line 1) the way the importer feeds validate_rows."""
    records = list(csv.reader(io.StringIO(text)))
    header = records[0]
    rows = [(line, row_from_fields(header, fields)) for line, fields in enumerate(records[1:], 2)]
    return validate_rows(rows, header, tax_classes=TAX_CLASSES, currency=currency)


def only_problem(text: str) -> RowProblem:
    _, problems = check(text)
    assert len(problems) == 1, problems
    return problems[0]


def test_a_plain_row_becomes_a_product_in_minor_units() -> None:
    products, problems = check(f"{HEADER}\n{WATER},,Mineral water 1.5 l,0.49,reduced,,,,Drinks\n")
    assert problems == []
    assert products == [
        Product(
            code="0" + WATER,
            name="Mineral water 1.5 l",
            price_minor=49,
            tax_class="reduced",
            department="Drinks",
        )
    ]


def test_only_the_required_columns_are_needed() -> None:
    products, problems = check(
        f"barcode,name,price,tax_class,min_age\n{COLA},Cola,1.29,standard,\n"
    )
    assert problems == []
    assert products[0].price_minor == 129
    assert products[0].department is None


def test_upc_a_and_ean_8_barcodes_are_stored_as_14_digit_keys() -> None:
    products, problems = check(
        f"{HEADER}\n{PEANUTS_UPC},,Peanut butter,3.49,reduced,,,,\n"
        f"{GUM_EAN8},,Gum,0.89,standard,,,,\n"
    )
    assert problems == []
    assert [p.code for p in products] == ["00" + PEANUTS_UPC, "000000" + GUM_EAN8]


def test_spaces_around_fields_and_header_names_are_ignored() -> None:
    products, problems = check(
        " barcode , name , price , tax_class , min_age \n"
        f" {COLA} ,  Cola  , 1.5 , standard , 18 \n"
    )
    assert problems == []
    assert products == [Product("0" + COLA, "Cola", 150, "standard", min_age=18)]


def test_an_item_sold_by_weight_is_a_plu_with_a_price_per_kilogram() -> None:
    products, problems = check(f"{HEADER}\n,04011,Bananas,,reduced,,yes,1.69,Fruit\n")
    assert problems == []
    assert products == [
        Product(
            code="plu:04011",
            name="Bananas",
            price_minor=169,
            tax_class="reduced",
            sold_by_weight=True,
            unit_price_per_kg_minor=169,
            department="Fruit",
        )
    ]


@pytest.mark.parametrize("text", ["yes", "YES", "true", "True", "1"])
def test_every_spelling_of_yes_means_sold_by_weight(text: str) -> None:
    products, problems = check(f"{HEADER}\n,00042,Apples,2.49,reduced,,{text},2.49,\n")
    assert problems == []
    assert products[0].sold_by_weight is True


@pytest.mark.parametrize("text", ["no", "No", "false", "FALSE", "0", ""])
def test_every_spelling_of_no_means_sold_by_the_piece(text: str) -> None:
    products, problems = check(f"{HEADER}\n{COLA},,Cola,1.29,standard,,{text},,\n")
    assert problems == []
    assert products[0].sold_by_weight is False


def test_a_price_embedded_plu_keeps_its_leading_zeros() -> None:
    products, problems = check(f"{HEADER}\n,00101,Gruyère deli cheese,0.00,reduced,,no,,Deli\n")
    assert problems == []
    assert products[0].code == "plu:00101"
    assert products[0].name == "Gruyère deli cheese"


def test_prices_are_read_with_the_currency_s_minor_digits() -> None:
    products, problems = check(f"{HEADER}\n{COLA},,Cola,150,standard,,,,\n", currency="JPY")
    assert problems == []
    assert products[0].price_minor == 150


@pytest.mark.parametrize(
    ("barcode", "reason"),
    [
        (WATER[:-1] + str((int(WATER[-1]) + 1) % 10), "bad_check_digit"),
        ("12345", "bad_length"),
        ("40063813339X", "not_digits"),
    ],
)
def test_a_bad_barcode_is_reported_with_its_line_and_reason(barcode: str, reason: str) -> None:
    problem = only_problem(
        f"{HEADER}\n{COLA},,Cola,1.29,standard,,,,\n{barcode},,Water,0.49,reduced,,,,\n"
    )
    assert (problem.line, problem.column, problem.reason) == (3, "barcode", reason)


def test_the_same_product_twice_is_a_duplicate_barcode_naming_the_first_line() -> None:
    problem = only_problem(
        f"{HEADER}\n{PEANUTS_UPC},,Peanut butter,3.49,reduced,,,,\n"
        f"{COLA},,Cola,1.29,standard,,,,\n"
        f"0{PEANUTS_UPC},,Peanut butter again,3.59,reduced,,,,\n"
    )
    assert (problem.line, problem.reason) == (4, "duplicate_barcode")
    assert "line 2" in problem.message


def test_the_same_plu_twice_is_a_duplicate_plu() -> None:
    problem = only_problem(
        f"{HEADER}\n,04011,Bananas,,reduced,,yes,1.69,\n,04011,Bananas,,reduced,,yes,1.79,\n"
    )
    assert (problem.line, problem.column, problem.reason) == (3, "plu", "duplicate_plu")


@pytest.mark.parametrize(
    ("price", "reason"),
    [
        ("-1.00", "negative_price"),
        ('"1,50"', "malformed_price"),
        ("1.505", "malformed_price"),
        ("1e3", "malformed_price"),
        ("abc", "malformed_price"),
        ("", "missing_price"),
        ("1000000.01", "price_out_of_range"),
    ],
)
def test_a_bad_price_is_reported_with_its_reason(price: str, reason: str) -> None:
    problem = only_problem(f"{HEADER}\n{COLA},,Cola,{price},standard,,,,\n")
    assert (problem.line, problem.column, problem.reason) == (2, "price", reason)


def test_an_unknown_tax_class_names_the_shop_s_classes() -> None:
    problem = only_problem(f"{HEADER}\n{COLA},,Cola,1.29,luxury,,,,\n")
    assert (problem.line, problem.column, problem.reason) == (2, "tax_class", "unknown_tax_class")
    assert "reduced, standard" in problem.message


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_name_is_refused(name: str) -> None:
    problem = only_problem(f"{HEADER}\n{COLA},,{name},1.29,standard,,,,\n")
    assert (problem.line, problem.column, problem.reason) == (2, "name", "empty_name")


@pytest.mark.parametrize("name", ["Milk\x00 1 l", "Milk\t1 l", "Milk\x7f"])
def test_a_name_with_a_control_character_is_refused(name: str) -> None:
    problem = only_problem(f"{HEADER}\n{COLA},,{name},1.29,standard,,,,\n")
    assert (problem.line, problem.column, problem.reason) == (2, "name", "control_character")


def test_a_name_longer_than_a_receipt_can_take_is_refused() -> None:
    problem = only_problem(f"{HEADER}\n{COLA},,{'x' * 201},1.29,standard,,,,\n")
    assert problem.reason == "name_too_long"


@pytest.mark.parametrize(
    ("age", "reason"),
    [
        ("0", "min_age_out_of_range"),
        ("100", "min_age_out_of_range"),
        ("18+", "malformed_min_age"),
        ("-1", "malformed_min_age"),
    ],
)
def test_a_minimum_age_must_be_a_whole_number_from_1_to_99(age: str, reason: str) -> None:
    problem = only_problem(f"{HEADER}\n{COLA},,Beer,1.29,standard,{age},,,\n")
    assert (problem.line, problem.column, problem.reason) == (2, "min_age", reason)


def test_ages_16_and_18_are_kept() -> None:
    products, problems = check(
        f"{HEADER}\n{COLA},,Energy drink,1.49,standard,16,,,\n{WATER},,Beer,1.19,standard,18,,,\n"
    )
    assert problems == []
    assert [p.min_age for p in products] == [16, 18]


def test_a_row_with_both_a_barcode_and_a_plu_is_refused() -> None:
    problem = only_problem(f"{HEADER}\n{COLA},04011,Cola,1.29,standard,,,,\n")
    assert (problem.line, problem.reason) == (2, "barcode_and_plu")


def test_a_row_with_neither_barcode_nor_plu_is_refused() -> None:
    problem = only_problem(f"{HEADER}\n,,Cola,1.29,standard,,,,\n")
    assert (problem.line, problem.reason) == (2, "missing_code")


@pytest.mark.parametrize("plu", ["4O11", "12345678901", "-42"])
def test_a_plu_must_be_digits(plu: str) -> None:
    problem = only_problem(f"{HEADER}\n,{plu},Bananas,,reduced,,yes,1.69,\n")
    assert (problem.line, problem.column, problem.reason) == (2, "plu", "bad_plu")


def test_a_weighed_item_needs_its_price_per_kilogram() -> None:
    problem = only_problem(f"{HEADER}\n,04011,Bananas,1.69,reduced,,yes,,\n")
    assert (problem.line, problem.column, problem.reason) == (
        2,
        "unit_price_per_kg",
        "missing_unit_price",
    )


def test_a_price_per_kilogram_on_a_piece_item_is_refused() -> None:
    problem = only_problem(f"{HEADER}\n{COLA},,Cola,1.29,standard,,no,1.29,\n")
    assert problem.reason == "unit_price_without_weight"


def test_a_negative_price_per_kilogram_is_a_negative_price_in_that_column() -> None:
    problem = only_problem(f"{HEADER}\n,04011,Bananas,,reduced,,yes,-1.69,\n")
    assert (problem.column, problem.reason) == ("unit_price_per_kg", "negative_price")


def test_a_weighed_item_with_a_barcode_is_refused() -> None:
    problem = only_problem(f"{HEADER}\n{COLA},,Loose nuts,1.29,standard,,yes,12.90,\n")
    assert (problem.line, problem.reason) == (2, "weight_needs_plu")


def test_an_unreadable_sold_by_weight_is_refused() -> None:
    problem = only_problem(f"{HEADER}\n,04011,Bananas,,reduced,,kg,1.69,\n")
    assert (problem.column, problem.reason) == ("sold_by_weight", "bad_sold_by_weight")


def test_a_row_with_more_fields_than_the_header_is_refused() -> None:
    problem = only_problem(f"{HEADER}\n{COLA},,Cola, 0.5 l,1.29,standard,,,,\n")
    assert (problem.line, problem.column, problem.reason) == (2, None, "too_many_columns")


def test_a_row_with_fewer_fields_than_the_header_is_refused() -> None:
    problem = only_problem(f"{HEADER}\n{COLA},,Cola,1.29,standard\n")
    assert (problem.line, problem.reason) == (2, "too_few_columns")
    assert "min_age" in problem.message


@pytest.mark.parametrize("missing", ["name", "price", "tax_class", "min_age"])
def test_a_header_without_a_required_column_is_refused_on_line_1(missing: str) -> None:
    columns = ("barcode", "name", "price", "tax_class", "min_age")
    header = ",".join(column for column in columns if column != missing)
    problem = only_problem(f"{header}\n")
    assert (problem.line, problem.column, problem.reason) == (1, missing, "missing_column")


def test_a_header_without_barcode_or_plu_is_refused() -> None:
    problem = only_problem("name,price,tax_class,min_age\nCola,1.29,standard,\n")
    assert (problem.line, problem.reason) == (1, "missing_column")
    assert "'barcode' or a 'plu'" in problem.message


def test_a_semicolon_separated_file_gets_a_hint() -> None:
    _, problems = check("barcode;name;price;tax_class;min_age\n")
    assert {p.reason for p in problems} == {"missing_column"}
    assert all("comma-separated" in p.message for p in problems)


def test_an_unknown_or_repeated_column_is_refused() -> None:
    _, problems = check("barcode,name,price,tax_class,min_age,colour,price\n")
    assert [(p.line, p.column, p.reason) for p in problems] == [
        (1, "colour", "unknown_column"),
        (1, "price", "duplicate_column"),
    ]


def test_every_bad_row_is_reported_in_one_pass() -> None:
    _, problems = check(
        f"{HEADER}\n"
        f"{COLA},,Cola,1.29,standard,,,,\n"
        f"{WATER},,,-0.49,vat,150,,,\n"
        f"{COLA},,Cola again,1.29,standard,,,,\n"
    )
    assert [(p.line, p.reason) for p in problems] == [
        (3, "empty_name"),
        (3, "unknown_tax_class"),
        (3, "min_age_out_of_range"),
        (3, "negative_price"),
        (4, "duplicate_barcode"),
    ]
    assert all(str(p).startswith(f"line {p.line}") for p in problems)


def test_an_unknown_currency_is_a_settings_error_not_a_row_problem() -> None:
    with pytest.raises(MoneyError) as raised:
        check(f"{HEADER}\n{COLA},,Cola,1.29,standard,,,,\n", currency="XYZ")
    assert raised.value.reason == "unknown_currency"


# Field texts mixing good, unusual and bad values, to compare the fast path with the full checks.
_BAD_CHECK = WATER[:-1] + str((int(WATER[-1]) + 1) % 10)
_ARABIC_DIGITS = "٤٠٠٦٣٨١٣٣٣٩٣١"
_BARCODES = st.sampled_from(
    ["", WATER, COLA, PEANUTS_UPC, GUM_EAN8, "0" + COLA, "12345", _BAD_CHECK, _ARABIC_DIGITS]
)
_PRICES = st.sampled_from(
    [
        *("", "0", "1", "1.5", "1.50", "0.49", "12.345", "-1", "1,5", "1e2", "001.20"),
        *("1000000.00", "1000000.01", "١.٥", "99999999999999999"),
    ]
)
_AGES = st.sampled_from(["", "1", "16", "18", "018", "0", "99", "100", "x"])
_TAXES = st.sampled_from(["standard", "reduced", "Standard", "vat", ""])
_NAMES = st.sampled_from(["Cola", "Crème fraîche", "", "x" * 200, "x" * 201])
_WEIGHTS = st.sampled_from(["", "no", "NO", "0", "false", "yes", "maybe"])
_UNITS = st.sampled_from(["", "1.69", "-2"])
_PLUS = st.sampled_from(["", "04011", "x"])
_DEPARTMENTS = st.sampled_from(["", "Drinks", "  Deli  "])


@st.composite
def _rows(draw: st.DrawFn) -> list[list[str]]:
    return [
        [
            draw(_BARCODES),
            draw(_PLUS),
            draw(_NAMES),
            draw(_PRICES),
            draw(_TAXES),
            draw(_AGES),
            draw(_WEIGHTS),
            draw(_UNITS),
            draw(_DEPARTMENTS),
        ]
        for _ in range(draw(st.integers(1, 4)))
    ]


def _validate(records: list[list[str]]) -> tuple[list[Product], list[RowProblem]]:
    header = HEADER.split(",")
    rows = [(line, row_from_fields(header, fields)) for line, fields in enumerate(records, 2)]
    return validate_rows(rows, header, tax_classes=TAX_CLASSES, currency="EUR")


@given(_rows())
def test_spaces_around_fields_never_change_the_outcome(records: list[list[str]]) -> None:
    # Padded fields never take the fast path, so this compares it with the full checks.
    padded = [[f" {field} " for field in fields] for fields in records]
    assert _validate(records) == _validate(padded)


@given(_rows())
def test_accepted_rows_agree_with_normalize_gtin_and_parse_major(records: list[list[str]]) -> None:
    products, problems = _validate(records)
    by_code = {product.code: product for product in products}
    lines_with_problems = {problem.line for problem in problems}
    seen: set[str] = set()
    for line, (barcode, _plu, _name, price, *_rest) in enumerate(records, 2):
        try:
            code = normalize_gtin(barcode)
        except BarcodeError:
            continue
        product = by_code.get(code)
        if code not in seen and product is not None and line not in lines_with_problems:
            assert product.price_minor == parse_major(price, "EUR")
        seen.add(code)
    if not problems:
        assert len(products) == len(records)
