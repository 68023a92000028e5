"""The udev rule and the technicians' notes in hardware/: syntax and agreement with each other.

``udevadm verify`` is not available everywhere (it needs systemd 254 or newer), so the rule
file is parsed here: every rule line must consist only of ``KEY op "value"`` pairs joined by
commas, use match operators on match keys and assignment operators on assignment keys, and
do what the kiosk relies on.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

HARDWARE = Path(__file__).resolve().parent.parent / "hardware"
RULES = HARDWARE / "99-kiosk-scanner.rules"

PAIR = re.compile(
    r'\s*(?P<key>[A-Z_]+(?:\{[^}"]+\})?)\s*(?P<op>==|!=|\+=|-=|:=|=)\s*"(?P<value>[^"]*)"\s*'
)
MATCH_KEYS = {"ACTION", "SUBSYSTEM", "SUBSYSTEMS", "KERNEL", "DRIVERS", "ATTRS"}
ASSIGN_KEYS = {"SYMLINK", "GROUP", "MODE", "OWNER", "ENV"}
HEX4 = re.compile(r"[0-9a-f]{4}")

Rule = list[tuple[str, str, str]]


def parse_rule(line: str) -> Rule:
    """Split one rule line into (key, operator, value); fail on anything else in the line."""
    pairs: Rule = []
    for index, chunk in enumerate(_split_on_commas(line)):
        match = PAIR.fullmatch(chunk)
        assert match, f"cannot parse part {index + 1} {chunk!r} of rule: {line}"
        pairs.append((match["key"], match["op"], match["value"]))
    return pairs


def _split_on_commas(line: str) -> list[str]:
    """Split at commas outside quoted values."""
    parts, current, quoted = [], "", False
    for char in line:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    assert not quoted, f"unbalanced quotes in rule: {line}"
    parts.append(current)
    return parts


def rule_lines(text: str) -> list[str]:
    """The rule lines of a rules file: comments and blank lines out, continuations joined."""
    joined = text.replace("\\\n", "")
    return [
        line.strip()
        for line in joined.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def template_lines(text: str) -> list[str]:
    """Commented-out rules meant to be copied: comment lines that hold a SYMLINK+= rule."""
    return [
        line.lstrip()[1:].strip()
        for line in text.splitlines()
        if line.lstrip().startswith("#") and 'SYMLINK+="kiosk-scanner"' in line
    ]


def base_key(key: str) -> str:
    return key.split("{", 1)[0]


def test_every_rule_line_is_made_of_key_operator_value_pairs_only() -> None:
    lines = rule_lines(RULES.read_text())

    assert len(lines) >= 5
    for line in lines:
        assert parse_rule(line)


def test_match_keys_compare_and_assignment_keys_assign() -> None:
    for line in rule_lines(RULES.read_text()) + template_lines(RULES.read_text()):
        for key, op, _ in parse_rule(line):
            name = base_key(key)
            assert name in MATCH_KEYS | ASSIGN_KEYS, f"unexpected key {key} in: {line}"
            if name in MATCH_KEYS:
                assert op in {"==", "!="}, f"{key} must be matched, not assigned: {line}"
            else:
                assert op in {"=", "+=", ":=", "-="}, f"{key} must be assigned: {line}"


@pytest.mark.parametrize(
    "required",
    [
        ("SUBSYSTEM", "==", "tty"),
        ("SYMLINK", "+=", "kiosk-scanner"),
        ("GROUP", "=", "dialout"),
        ("MODE", "=", "0660"),
        ("ENV{ID_MM_DEVICE_IGNORE}", "=", "1"),
    ],
)
def test_every_rule_and_the_template_give_a_tty_the_kiosk_scanner_link_safely(
    required: tuple[str, str, str],
) -> None:
    text = RULES.read_text()
    for line in rule_lines(text) + template_lines(text):
        assert required in parse_rule(line), f"{required} missing from: {line}"


def test_every_rule_matches_a_four_digit_lowercase_vendor_id_once() -> None:
    vendors = []
    for line in rule_lines(RULES.read_text()):
        ids = [value for key, op, value in parse_rule(line) if key == "ATTRS{idVendor}"]
        assert len(ids) == 1, f"exactly one vendor id per rule: {line}"
        assert HEX4.fullmatch(ids[0]), f"vendor id must be 4 lowercase hex digits: {ids[0]}"
        vendors.append(ids[0])

    assert len(vendors) == len(set(vendors)), "a vendor id is listed twice"


def test_every_vendor_rule_is_preceded_by_a_comment_naming_the_vendor() -> None:
    lines = RULES.read_text().splitlines()
    for number, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):
            comment = lines[number - 1]
            assert re.match(r"#\s+[A-Z][A-Za-z/]+ \(", comment), (
                f"line {number + 1} needs a '# Vendor (...)' comment above it, got {comment!r}"
            )


def test_the_template_line_names_a_product_id_to_fill_in() -> None:
    templates = template_lines(RULES.read_text())

    assert len(templates) == 1
    keys = {key for key, _, _ in parse_rule(templates[0])}
    assert {"ATTRS{idVendor}", "ATTRS{idProduct}"} <= keys


def test_the_parser_refuses_a_rule_with_a_missing_quote_or_stray_text() -> None:
    with pytest.raises(AssertionError):
        parse_rule('SUBSYSTEM=="tty", SYMLINK+="kiosk-scanner')
    with pytest.raises(AssertionError):
        parse_rule('SUBSYSTEM=="tty" SYMLINK+="kiosk-scanner"')


@pytest.mark.parametrize(
    "phrase",
    [
        "sudo cp hardware/99-kiosk-scanner.rules /etc/udev/rules.d/",
        "sudo udevadm control --reload && sudo udevadm trigger",
        "udevadm info -a -n /dev/ttyACM0",
        "lsusb",
        "dialout",
        "kiosk scanner test",
        "/dev/kiosk-scanner",
        "AIM",
        "GS1 DataMatrix",
    ],
)
def test_the_scanner_notes_give_the_technician_each_step(phrase: str) -> None:
    assert phrase in (HARDWARE / "SCANNERS.md").read_text()


def test_the_hardware_readme_lists_every_file_in_the_folder() -> None:
    readme = (HARDWARE / "README.md").read_text()
    files = sorted(path.name for path in HARDWARE.iterdir() if path.is_file())

    assert files
    for name in files:
        assert f"`{name}`" in readme, f"hardware/README.md does not list {name}"
