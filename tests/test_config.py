"""The settings file: what loads, and how every kind of mistake is reported to the shop owner."""

from __future__ import annotations

import copy
import dataclasses
import json
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, get_type_hints

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.config import (
    ConfigError,
    FilePrinterSettings,
    NetworkPrinterSettings,
    SerialPrinterSettings,
    Settings,
    UsbPrinterSettings,
    VirtualPrinterSettings,
    demo_settings,
    load_settings,
    setting_description,
    settings_from_mapping,
)
from kiosk.config.tables import SettingsTable
from kiosk.core.shop_rules import CartLimits, TaxClass, TaxMode, TaxRounding

EXAMPLE_FILE = Path(__file__).resolve().parents[1] / "assets" / "kiosk.example.toml"

MINIMAL: dict[str, Any] = {
    "kiosk_id": "lane-1",
    "shop": {
        "name": "Corner Shop",
        "currency": "EUR",
        "locale": "de_DE",
        "time_zone": "Europe/Berlin",
    },
    "tax": {"classes": {"standard": {"rate_percent": "19"}}},
}


def toml_value(value: Any) -> str:
    """Write one scalar or array as TOML (Decimal as a TOML float)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(value)


def toml_text(data: dict[str, Any], table: str = "") -> str:
    """Write nested dicts as TOML tables and lists of dicts as arrays of tables."""
    scalars = [
        f"{json.dumps(k) if not k.replace('_', '').isalnum() else k} = {toml_value(v)}"
        for k, v in data.items()
        if not isinstance(v, dict) and not (isinstance(v, list) and v and isinstance(v[0], dict))
    ]
    lines = ([f"[{table}]"] if table and scalars else []) + scalars
    for key, value in data.items():
        name = key if key.replace("_", "").isalnum() else json.dumps(key)
        inner = f"{table}.{name}" if table else name
        if isinstance(value, dict):
            lines.append(toml_text(value, inner))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                lines.append(f"[[{inner}]]")
                lines.extend(f"{k} = {toml_value(v)}" for k, v in item.items())
    return "\n".join(lines) + "\n"


def write_config(tmp_path: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as kiosk.toml in ``tmp_path`` and return its path."""
    path = tmp_path / "kiosk.toml"
    path.write_text(toml_text(data), encoding="utf-8")
    return path


def with_value(dotted: str, value: Any) -> dict[str, Any]:
    """Return MINIMAL with the key at ``dotted`` (tables created as needed) set to ``value``."""
    data = copy.deepcopy(MINIMAL)
    *tables, last = dotted.split(".")
    table = data
    for name in tables:
        table = table.setdefault(name, {})
    table[last] = value
    return data


def without(dotted: str) -> dict[str, Any]:
    """Return MINIMAL without the key at ``dotted``."""
    data = copy.deepcopy(MINIMAL)
    *tables, last = dotted.split(".")
    table = data
    for name in tables:
        table = table[name]
    del table[last]
    return data


def config_error_for(tmp_path: Path, data: dict[str, Any]) -> ConfigError:
    """Load ``data`` from a real file and return the ConfigError it must raise."""
    with pytest.raises(ConfigError) as caught:
        load_settings(write_config(tmp_path, data), environ={})
    return caught.value


# --- files that load ---------------------------------------------------------------------------


def test_a_file_with_only_the_kiosk_id_and_the_shop_loads_with_defaults(tmp_path: Path) -> None:
    data = copy.deepcopy(MINIMAL)
    del data["tax"]
    settings = load_settings(write_config(tmp_path, data), environ={})

    assert settings.kiosk_id == "lane-1"
    assert settings.shop.currency == "EUR"
    assert settings.shop.languages == ("de",)
    assert isinstance(settings.printer, VirtualPrinterSettings)
    assert settings.scanner.port == "virtual"
    assert settings.stripe.api_base == "embedded"
    assert settings.payments.provider == "stripe"  # a file without [payments] keeps Stripe
    assert settings.display.reader_position == "right"
    assert settings.backoffice.url == ""
    assert settings.timeouts.payment_idle_s == 120
    assert settings.state_dir == Path("/var/lib/kiosk")
    assert settings.tax_policy().classes == {}


@pytest.mark.parametrize("position", ["left", "right", "below"])
def test_the_card_reader_stands_left_or_right_of_the_screen_or_below_it(
    tmp_path: Path, position: str
) -> None:
    path = write_config(tmp_path, with_value("display.reader_position", position))
    assert load_settings(path, environ={}).display.reader_position == position


@pytest.mark.parametrize(("given", "inches"), [(0, "0"), ("10.1", "10.1"), (24, "24")])
def test_the_screen_diagonal_is_given_in_inches_or_taken_from_the_resolution(
    tmp_path: Path, given: object, inches: str
) -> None:
    path = write_config(tmp_path, with_value("display.diagonal_in", given))
    assert load_settings(path, environ={}).display.diagonal_in == Decimal(inches)


def test_the_example_file_loads_cleanly(tmp_path: Path) -> None:
    settings = load_settings(EXAMPLE_FILE, environ={})

    assert settings.kiosk_id == "lane-1"
    assert settings.shop.address == ("1 High Street", "Springfield")
    assert settings.tax_policy().classes["standard"].rate == Decimal("0.19")
    assert settings.cart_limits().max_cart_total_minor == 50_000
    assert settings.scan_rules().layout_for("22") is not None


@pytest.mark.parametrize("seconds", [15, 900])
def test_the_staff_menu_timeout_accepts_its_bounds(tmp_path: Path, seconds: int) -> None:
    settings = load_settings(write_config(tmp_path, with_value("staff.menu_timeout_s", seconds)),
                             environ={})

    assert settings.staff.menu_timeout_s == seconds


def test_the_staff_menu_and_the_usb_stick_have_defaults(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, MINIMAL), environ={})

    assert settings.staff.menu_timeout_s == 90
    assert settings.catalog.usb_mount_path == Path("/media/kiosk-usb")


def all_settings_models() -> list[type[SettingsTable]]:
    """Return Settings and every table reachable from it (printer variants included)."""
    found: list[type[SettingsTable]] = [Settings]
    for model in found:
        for annotation in get_type_hints(model).values():
            found.extend(m for m in _nested_models(annotation) if m not in found)
    return found


def field_names(model: type[SettingsTable]) -> list[str]:
    """The keys of one settings table."""
    return [field.name for field in dataclasses.fields(model)]


def _nested_models(annotation: Any) -> list[type[SettingsTable]]:
    if isinstance(annotation, type) and issubclass(annotation, SettingsTable):
        return [annotation]
    found: list[type[SettingsTable]] = []
    for argument in getattr(annotation, "__args__", ()):
        found.extend(_nested_models(argument))
    return found


def test_the_example_file_mentions_every_setting() -> None:
    text = EXAMPLE_FILE.read_text(encoding="utf-8")
    missing = [
        f"{model.__name__}.{name}"
        for model in all_settings_models()
        for name in field_names(model)
        if not any(
            spelling in text for spelling in (f"{name} =", f"[{name}", f".{name}]", f".{name}.")
        )
    ]

    assert missing == []


def test_every_setting_is_documented() -> None:
    models = all_settings_models()
    undocumented = [
        f"{model.__name__}.{name}"
        for model in models
        for name in field_names(model)
        if not setting_description(model, name)
    ]

    assert len(models) == 26  # Settings, 17 tables, 6 printers, a tax class, a barcode layout
    assert undocumented == []


def test_demo_settings_are_valid_and_keep_their_data_in_the_given_directory(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path / "demo-data")

    assert settings.state_dir == tmp_path / "demo-data"
    assert settings.shop.name == "Demo Corner Shop"
    assert set(settings.tax_policy().classes) == {"standard", "reduced"}
    layouts = [settings.scan_rules().layout_for(prefix) for prefix in ("20", "21", "22")]
    assert [layout.value if layout else None for layout in layouts] == ["price", "price", "weight"]
    assert isinstance(settings.printer, VirtualPrinterSettings)
    assert settings.scanner.port == "virtual"
    assert settings.stripe.api_base == "embedded"
    # the demo's settings survive a round trip through validation unchanged
    assert Settings.from_mapping(settings.as_mapping()) == settings
    assert Settings.from_mapping(json.loads(json.dumps(settings.as_mapping()))) == settings


def test_demo_settings_can_point_at_the_loopback_back_office(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path, backoffice_url="http://127.0.0.1:8765")

    assert settings.backoffice.receipt_url("abc") == "http://127.0.0.1:8765/r/abc"


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path)

    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.kiosk_id = "other"  # type: ignore[misc]
    assert settings.kiosk_id == "demo"


# --- conversions to the core's rules ------------------------------------------------------------


def test_tax_policy_turns_percent_into_a_decimal_fraction_and_keeps_the_mode(
    tmp_path: Path,
) -> None:
    data = with_value("tax.mode", "exclusive")
    data["tax"].update(rounding="per_invoice", rounding_mode="half_even")
    data["tax"]["classes"]["reduced"] = {"rate_percent": "7", "label": "VAT 7%"}
    policy = load_settings(write_config(tmp_path, data), environ={}).tax_policy()

    assert policy.classes["standard"] == TaxClass(code="standard", rate=Decimal("0.19"), label="")
    assert policy.classes["reduced"] == TaxClass(
        code="reduced", rate=Decimal("0.07"), label="VAT 7%"
    )
    assert policy.mode is TaxMode.EXCLUSIVE
    assert policy.rounding is TaxRounding.PER_INVOICE
    assert policy.rounding_mode == ROUND_HALF_EVEN


def test_the_default_tax_rounding_is_per_line_half_up(tmp_path: Path) -> None:
    policy = load_settings(write_config(tmp_path, MINIMAL), environ={}).tax_policy()

    assert policy.mode is TaxMode.INCLUSIVE
    assert policy.rounding is TaxRounding.PER_LINE
    assert policy.rounding_mode == ROUND_HALF_UP


@pytest.mark.parametrize("written", ["7.5", Decimal("7.5")], ids=["string", "toml-float"])
def test_a_tax_rate_written_as_string_or_number_becomes_an_exact_decimal(
    tmp_path: Path, written: Any
) -> None:
    settings = load_settings(
        write_config(tmp_path, with_value("tax.classes.standard.rate_percent", written)),
        environ={},
    )

    rate_percent = settings.tax.classes["standard"].rate_percent
    assert isinstance(rate_percent, Decimal)
    assert rate_percent == Decimal("7.5")
    assert settings.tax_policy().classes["standard"].rate == Decimal("0.075")


@pytest.mark.parametrize(
    ("currency", "total", "minor"),
    [
        ("EUR", "500.00", 50_000),
        ("EUR", "12.5", 1_250),
        ("JPY", "50000", 50_000),
        ("EUR", 80, 8_000),
    ],
)
def test_the_cart_total_limit_becomes_minor_units_of_the_currency(
    tmp_path: Path, currency: str, total: Any, minor: int
) -> None:
    data = with_value("shop.currency", currency)
    data["limits"] = {"max_cart_total": total, "max_quantity_per_line": 5, "max_lines_per_cart": 7}
    limits = load_settings(write_config(tmp_path, data), environ={}).cart_limits()

    assert limits == CartLimits(max_quantity_per_line=5, max_lines=7, max_cart_total_minor=minor)


@pytest.mark.parametrize(("currency", "total"), [("EUR", "500.001"), ("JPY", "100.5")])
def test_a_cart_total_with_more_decimals_than_the_currency_has_is_refused(
    tmp_path: Path, currency: str, total: str
) -> None:
    data = with_value("shop.currency", currency)
    data["limits"] = {"max_cart_total": total}
    error = config_error_for(tmp_path, data)

    assert error.key == "limits.max_cart_total"
    assert f'= "{total}"' in str(error)
    assert f"decimals for {currency}" in error.problem


def test_scan_rules_carry_each_variable_measure_layout(tmp_path: Path) -> None:
    data = with_value(
        "barcodes.variable_measure",
        [
            {"prefixes": ["20", "21"], "item_digits": 5, "value_digits": 5},
            {
                "prefixes": ["22"],
                "item_digits": 4,
                "value_digits": 5,
                "price_check_digit": True,
                "value": "weight",
            },
        ],
    )
    rules = load_settings(write_config(tmp_path, data), environ={}).scan_rules()

    by_weight = rules.layout_for("22")
    assert by_weight is not None
    assert (by_weight.item_digits, by_weight.price_check_digit, by_weight.value) == (
        4,
        True,
        "weight",
    )
    assert rules.layout_for("20") is rules.layout_for("21")
    assert rules.layout_for("23") is None


def test_the_state_directory_set_by_systemd_wins_over_the_file(tmp_path: Path) -> None:
    data = with_value("paths.state_dir", "/srv/kiosk")
    path = write_config(tmp_path, data)

    assert load_settings(path, environ={}).state_dir == Path("/srv/kiosk")
    from_systemd = load_settings(path, environ={"STATE_DIRECTORY": "/var/lib/kiosk:/var/lib/other"})
    assert from_systemd.state_dir == Path("/var/lib/kiosk")


def test_a_relative_state_directory_from_systemd_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write_config(tmp_path, MINIMAL), environ={"STATE_DIRECTORY": "kiosk"})

    assert caught.value.key == "$STATE_DIRECTORY"
    assert "absolute" in caught.value.problem


def test_without_an_explicit_environment_the_process_environment_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))

    assert load_settings(write_config(tmp_path, MINIMAL)).state_dir == tmp_path / "state"


def test_languages_default_to_the_language_of_the_locale(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, with_value("shop.locale", "fr_BE")), environ={})

    assert settings.shop.languages == ("fr",)


@pytest.mark.parametrize(
    ("printer", "model"),
    [
        ({"transport": "serial", "port": "/dev/kiosk-printer"}, SerialPrinterSettings),
        ({"transport": "usb", "vendor_id": "0x04b8", "product_id": 514}, UsbPrinterSettings),
        ({"transport": "network", "host": "192.168.1.50"}, NetworkPrinterSettings),
        ({"transport": "file", "path": "/dev/usb/lp0"}, FilePrinterSettings),
    ],
)
def test_each_printer_transport_loads_its_own_keys(
    tmp_path: Path, printer: dict[str, Any], model: type[SettingsTable]
) -> None:
    settings = load_settings(write_config(tmp_path, with_value("printer", printer)), environ={})

    assert type(settings.printer) is model
    if isinstance(settings.printer, UsbPrinterSettings):
        assert (settings.printer.vendor_id, settings.printer.product_id) == (0x04B8, 514)
    if isinstance(settings.printer, NetworkPrinterSettings):
        assert settings.printer.port == 9100


# --- required keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["kiosk_id", "shop", "shop.name", "shop.currency", "shop.locale", "shop.time_zone"]
)
def test_each_required_key_missing_is_named(tmp_path: Path, key: str) -> None:
    error = config_error_for(tmp_path, without(key))

    assert error.key == key
    assert error.problem.startswith("required")
    assert str(error).startswith(f"{tmp_path / 'kiosk.toml'}: {key}: required")


def test_a_serial_printer_without_a_port_is_named(tmp_path: Path) -> None:
    error = config_error_for(tmp_path, with_value("printer", {"transport": "serial"}))

    assert error.key == "printer.port"
    assert "missing" in error.problem


# --- bad values ---------------------------------------------------------------------------------


BAD_VALUES: list[tuple[str, Any, str, str]] = [
    # key, value written, value as shown in the message, expectation in the message
    ("tax.classes.standard.rate_percent", "abc", '"abc"', "decimal number from 0 to 100"),
    ("tax.classes.standard.rate_percent", "101", '"101"', "decimal number from 0 to 100"),
    ("tax.classes.standard.rate_percent", True, "true", "decimal number from 0 to 100"),
    ("tax.classes.standard.rate_percent", "1e2", '"1e2"', "decimal number from 0 to 100"),
    ("shop.currency", "XYZ", '"XYZ"', "ISO 4217 currency code"),
    ("shop.currency", "eur", '"eur"', "ISO 4217 currency code"),
    ("shop.locale", "xx_YY", '"xx_YY"', 'locale such as "de_DE"'),
    ("shop.locale", 7, "7", 'locale such as "de_DE"'),
    ("shop.time_zone", "Mars/Olympus", '"Mars/Olympus"', '"Europe/Berlin"'),
    ("shop.time_zone", "../../etc/passwd", '"../../etc/passwd"', '"Europe/Berlin"'),
    ("shop.name", "", '""', "non-empty text"),
    ("shop.languages", [], "[]", "at least one language"),
    ("kiosk_id", "Lane 1", '"Lane 1"', '"lane-1"'),
    ("kiosk_id", "-lane", '"-lane"', '"lane-1"'),
    ("kiosk_id", "a" * 33, '"' + "a" * 33 + '"', "1 to 32"),
    ("tax.mode", "included", '"included"', 'one of "inclusive", "exclusive"'),
    ("tax.rounding", "per_sale", '"per_sale"', 'one of "per_line", "per_invoice"'),
    ("tax.rounding_mode", "bankers", '"bankers"', '"half_even"'),
    ("limits.max_quantity_per_line", 0, "0", "whole number from 1 to 9999"),
    ("limits.max_quantity_per_line", Decimal("9.5"), "9.5", "whole number from 1 to 9999"),
    ("limits.max_quantity_per_line", "99", '"99"', "whole number from 1 to 9999"),
    ("limits.max_cart_total", "-1", '"-1"', "greater than 0"),
    ("scanner.baudrate", 9601, "9601", "one of 1200"),
    ("scanner.parity", "X", '"X"', 'one of "N", "E"'),
    ("scanner.stopbits", 3, "3", "1, 1.5 or 2"),
    ("scanner.port", "COM3", '"COM3"', '"virtual"'),
    ("scanner.idle_gap_ms", 0, "0", "whole number from 1 to 10000"),
    ("printer.paper_width_mm", 72, "72", "one of 58, 80"),
    ("printer.transport", "lpr", '"lpr"', '"virtual", "none", "serial"'),
    ("stripe.api_base", "http://api.stripe.com", '"http://api.stripe.com"', "https://"),
    ("stripe.reader_id", "reader-1", '"reader-1"', '"tmr_"'),
    ("stripe.capture", "later", '"later"', '"automatic", "manual"'),
    ("payments.provider", "sumup", '"sumup"', '"stripe"'),
    ("shop.logo", "logo.png", '"logo.png"', "absolute path"),
    ("shop.logo", "/etc/kiosk/logo.gif", '"/etc/kiosk/logo.gif"', "PNG or JPEG"),
    ("shop.accent_colour", "blue", '"blue"', '"#RRGGBB"'),
    ("shop.accent_colour", "#808080", '"#808080"', "neither white (3.9:1) nor near-black"),
    ("shop.accent_colour", "#FFE033", '"#FFE033"', "a shade such as #7D6E19 works"),
    ("display.reader_position", "above", '"above"', 'one of "left", "right", "below"'),
    ("display.reader_position", "Left", '"Left"', 'one of "left", "right", "below"'),
    ("display.diagonal_in", "3", '"3"', "0 (from the resolution) or a diagonal in inches"),
    ("display.diagonal_in", 200, "200", "from 4 to 110"),
    ("display.diagonal_in", "ten", '"ten"', 'such as "10.1"'),
    ("backoffice.url", "ftp://example.com", '"ftp://example.com"', "https://"),
    ("backoffice.receipt_url_template", "{base_url}/r/{id}", '"{base_url}/r/{id}"', "{sale_id}"),
    ("catalog.source", "erp", '"erp"', '"csv", "backoffice"'),
    ("timeouts.payment_idle_s", 0, "0", "whole number from 10 to 600"),
    ("retention.audit_days", -1, "-1", "whole number from 1 to 3650"),
    # Payment recovery looks back ORPHAN_WINDOW_DAYS (7) at Stripe: sales outlive that.
    ("retention.synced_sales_days", 7, "7", "whole number from 8 to 3650"),
    ("staff.reader_inspection_interval_days", 0, "0", "whole number from 1 to 365"),
    ("staff.menu_timeout_s", 14, "14", "whole number from 15 to 900"),
    ("staff.menu_timeout_s", 901, "901", "whole number from 15 to 900"),
    ("catalog.usb_mount_path", "media/kiosk-usb", '"media/kiosk-usb"', "absolute path"),
    ("paths.state_dir", "var/lib/kiosk", '"var/lib/kiosk"', "absolute path"),
    ("tax", "19%", '"19%"', "expected a table"),
    ("shop.address", "1 High Street", '"1 High Street"', "expected an array"),
]


@pytest.mark.parametrize(
    ("key", "written", "shown", "expected"),
    BAD_VALUES,
    ids=[f"{c[0]}={c[1]!r}" for c in BAD_VALUES],
)
def test_a_bad_value_is_reported_with_its_key_its_value_and_what_is_expected(
    tmp_path: Path, key: str, written: Any, shown: str, expected: str
) -> None:
    error = config_error_for(tmp_path, with_value(key, written))

    assert error.key == key
    assert expected in error.problem
    assert error.problem.startswith("expected")
    assert str(error).startswith(f"{tmp_path / 'kiosk.toml'}: {key} = {shown}: expected")


def test_the_rate_message_reads_as_the_issue_describes(tmp_path: Path) -> None:
    error = config_error_for(tmp_path, with_value("tax.classes.standard.rate_percent", "abc"))

    assert str(error) == (
        f'{tmp_path / "kiosk.toml"}: tax.classes.standard.rate_percent = "abc": '
        'expected a decimal number from 0 to 100, such as "7.5"'
    )


def test_a_bad_item_in_an_array_of_tables_is_named_by_its_index(tmp_path: Path) -> None:
    data = with_value(
        "barcodes.variable_measure",
        [{"prefixes": ["20"]}, {"prefixes": ["21", "30"]}],
    )
    error = config_error_for(tmp_path, data)

    assert error.key == "barcodes.variable_measure[1].prefixes[1]"
    assert '= "30"' in str(error)
    assert '"02" or "20" to "29"' in error.problem


def test_a_variable_measure_layout_must_make_ten_digits(tmp_path: Path) -> None:
    data = with_value("barcodes.variable_measure", [{"prefixes": ["20"], "item_digits": 4}])
    error = config_error_for(tmp_path, data)

    assert error.key == "barcodes.variable_measure[0].value_digits"
    assert "must make 10 (here 4 + 5 + 0)" in error.problem


def test_a_prefix_in_two_layouts_is_refused(tmp_path: Path) -> None:
    data = with_value(
        "barcodes.variable_measure",
        [{"prefixes": ["20", "21"]}, {"prefixes": ["21"], "value": "weight"}],
    )
    error = config_error_for(tmp_path, data)

    assert error.key == "barcodes.variable_measure[1].prefixes"
    assert 'prefix "21" is already used' in error.problem


def test_a_tax_class_code_with_capitals_is_refused(tmp_path: Path) -> None:
    data = copy.deepcopy(MINIMAL)
    data["tax"]["classes"]["Standard-VAT"] = {"rate_percent": "19"}
    error = config_error_for(tmp_path, data)

    assert error.key == "tax.classes.Standard-VAT"
    assert 'lowercase letters, digits and "_"' in error.problem


def test_a_catalog_owned_by_the_back_office_needs_its_address(tmp_path: Path) -> None:
    error = config_error_for(tmp_path, with_value("catalog.source", "backoffice"))

    assert error.key == "catalog.source"
    assert "backoffice.url" in error.problem


def test_a_back_office_address_with_a_password_is_refused_without_showing_it(
    tmp_path: Path,
) -> None:
    error = config_error_for(
        tmp_path, with_value("backoffice.url", "https://kiosk:hunter2@backoffice.example.com")
    )

    assert error.key == "backoffice.url"
    assert "hunter2" not in str(error)
    assert "without a user name or password" in error.problem


def test_a_value_that_looks_like_a_stripe_key_is_never_shown(tmp_path: Path) -> None:
    error = config_error_for(tmp_path, with_value("stripe.reader_id", "sk_live_CANARY_1234"))

    assert error.key == "stripe.reader_id"
    assert "CANARY" not in str(error)


def test_several_problems_are_listed_and_the_first_is_the_key(tmp_path: Path) -> None:
    data = with_value("kiosk_id", "Lane 1")
    data["shop"].update(currency="eur", locale="xx", time_zone="Nowhere")
    data["scanner"] = {"baudrate": 1, "bytesize": 9, "parity": "Q"}
    error = config_error_for(tmp_path, data)
    lines = str(error).splitlines()

    assert error.key == "kiosk_id"
    assert len(lines) == 6
    assert lines[1].endswith(
        'shop.currency = "eur": expected an ISO 4217 currency code in '
        'capitals, such as "EUR" or "GBP"'
    )
    assert lines[-1] == "... and 2 more problems"


# --- unknown keys -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("stripe.reder_id", "reader_id"),
        ("scaner", "scanner"),
        ("timeouts.payment_idle", "payment_idle_s"),
        ("tax.classes.standard.rate", "rate_percent"),
        ("barcodes.variable_measure", None),
    ],
)
def test_an_unknown_key_is_an_error_with_a_suggestion_when_one_is_close(
    tmp_path: Path, key: str, suggestion: str | None
) -> None:
    if suggestion is None:
        data = with_value("barcodes.variable_measure", [{"prefixes": ["20"], "colour": "red"}])
        key = "barcodes.variable_measure[0].colour"
    else:
        data = with_value(key, 1)
    error = config_error_for(tmp_path, data)

    assert error.key == key
    assert error.problem.startswith("unknown key")
    if suggestion is None:
        assert "known keys here: item_digits, prefixes" in error.problem
    else:
        assert f'did you mean "{suggestion}"?' in error.problem


def test_a_printer_key_of_another_transport_says_which_transport_uses_it(tmp_path: Path) -> None:
    data = with_value("printer", {"transport": "usb", "vendor_id": 1, "product_id": 2, "host": "x"})
    error = config_error_for(tmp_path, data)

    assert error.key == "printer.host"
    assert 'only used with transport = "network"' in error.problem


# --- unusable files -----------------------------------------------------------------------------


def test_a_toml_syntax_error_gives_the_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text('kiosk_id = "lane-1"\n[shop]\nname = "Corner Shop\ncurrency = "EUR"\n')

    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})

    assert caught.value.line == 3
    assert caught.value.column is not None
    assert caught.value.key is None
    assert str(caught.value).startswith(f"{path}: line 3, column ")
    assert "invalid TOML" in str(caught.value)


def test_a_missing_file_is_a_config_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "kiosk.toml"

    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})

    assert str(caught.value).startswith(f"{path}: configuration file not found")


def test_a_directory_instead_of_a_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, environ={})

    assert "not a configuration file" in caught.value.problem


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_bytes(b'kiosk_id = "lane-1"\n[shop]\nname = "Caf\xe9"\n')

    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})

    assert "not UTF-8" in caught.value.problem


# --- secrets in the file ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "instead"),
    [
        ("stripe.api_key", "KIOSK_STRIPE_API_KEY"),
        ("stripe.secret_key", "stripe-api-key"),
        ("backoffice.token", "KIOSK_BACKOFFICE_TOKEN"),
        ("backoffice.password", "backoffice-token"),
        ("shop.password", "KIOSK_BACKOFFICE_TOKEN"),
        ("stripe_api_key", "KIOSK_STRIPE_API_KEY"),
    ],
)
def test_a_secret_in_the_file_is_refused_without_echoing_it(
    tmp_path: Path, key: str, instead: str
) -> None:
    error = config_error_for(tmp_path, with_value(key, "sk_test_CANARY_1234"))

    assert error.key == key
    assert instead in error.problem
    assert "do not belong in the configuration file" in error.problem
    assert "CANARY" not in str(error)
    assert "CANARY" not in repr(error)


# --- robustness ---------------------------------------------------------------------------------

_ANY_VALUE = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.booleans(),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=2),
)
_KEYS = [case[0] for case in BAD_VALUES] + [
    "limits.max_cart_total",
    "printer.vendor_id",
    "printer.host",
    "scanner.stopbits",
    "barcodes.variable_measure",
    "tax.classes",
]


@given(key=st.sampled_from(_KEYS), value=_ANY_VALUE)
def test_any_value_for_any_key_loads_or_raises_a_config_error(key: str, value: Any) -> None:
    data = with_value(key, value)
    if key.startswith("printer.") and key != "printer.transport":
        data["printer"]["transport"] = "usb" if "vendor" in key else "network"
    try:
        settings = settings_from_mapping(data, "kiosk.toml")
    except ConfigError as error:
        assert error.key is not None
        assert str(error).startswith("kiosk.toml: ")
    else:
        assert settings.cart_limits().max_cart_total_minor > 0


def test_sales_are_kept_longer_than_payment_recovery_looks_back() -> None:
    from kiosk.config.settings import RetentionSettings
    from kiosk.payments.protocol import ORPHAN_WINDOW_DAYS

    shortest = {field.name: field for field in dataclasses.fields(RetentionSettings)}[
        "synced_sales_days"]
    assert RetentionSettings(synced_sales_days=ORPHAN_WINDOW_DAYS + 1).synced_sales_days > (
        ORPHAN_WINDOW_DAYS
    )
    with pytest.raises(ValueError):
        RetentionSettings(synced_sales_days=ORPHAN_WINDOW_DAYS)
    assert shortest.default > ORPHAN_WINDOW_DAYS


def test_a_heartbeat_limit_shorter_than_one_stripe_request_with_retries_is_refused(
    tmp_path: Path,
) -> None:
    data = with_value("stripe.request_timeout_s", 20)
    data["service"] = {"heartbeat_stale_s": 60}  # 20 s x 3 tries + pauses is longer

    with pytest.raises(ConfigError) as refused:
        load_settings(write_config(tmp_path, data), environ={})

    assert "service.heartbeat_stale_s" in str(refused.value)
    assert "request_timeout_s" in str(refused.value)


def test_the_card_provider_registry_names_the_key_of_an_unknown_provider() -> None:
    from kiosk.config import PaymentsSettings, demo_settings
    from kiosk.payments.registry import PROVIDERS, provider_options

    assert set(PROVIDERS) == {"stripe"}  # the names PaymentsSettings.provider accepts
    settings = demo_settings(Path("/nonexistent-demo"))
    assert provider_options(settings).demo_cards  # the demo runs on the embedded emulator
    unknown = dataclasses.replace(
        settings, payments=PaymentsSettings.unchecked(provider="sumup"))
    with pytest.raises(ConfigError) as raised:
        provider_options(unknown)
    assert raised.value.key == "payments.provider"
    assert '"sumup"' in str(raised.value) and '"stripe"' in str(raised.value)


def test_the_shops_logo_and_colour_load_and_the_colour_is_written_in_capitals(
    tmp_path: Path,
) -> None:
    data = with_value("shop.logo", "/etc/kiosk/logo.PNG")
    data["shop"]["accent_colour"] = "#0f766e"

    shop = load_settings(write_config(tmp_path, data), environ={}).shop

    assert (shop.logo, shop.accent_colour) == ("/etc/kiosk/logo.PNG", "#0F766E")


def test_without_a_logo_or_a_colour_the_shop_keeps_its_name_and_the_themes_blue(
    tmp_path: Path,
) -> None:
    shop = load_settings(write_config(tmp_path, MINIMAL), environ={}).shop

    assert (shop.logo, shop.accent_colour) == ("", "")
