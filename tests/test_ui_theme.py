"""The colour theme stays readable and the sizes stay large enough for a shop floor."""

from __future__ import annotations

import dataclasses

import pytest

from kiosk.ui import theme
from kiosk.ui.theme import TEXT_PAIRS, THEME, Palette, contrast_ratio, rgba

WCAG_BODY_TEXT = 4.5


def test_every_colour_pair_the_ui_puts_text_on_has_at_least_4_5_to_1_contrast() -> None:
    too_faint = [
        f"{foreground} {getattr(THEME, foreground)} on {background} "
        f"{getattr(THEME, background)}: "
        f"{contrast_ratio(getattr(THEME, foreground), getattr(THEME, background)):.2f}:1"
        for foreground, background in TEXT_PAIRS
        if contrast_ratio(getattr(THEME, foreground), getattr(THEME, background)) < WCAG_BODY_TEXT
    ]
    assert too_faint == [], "text colour pairs below 4.5:1:\n" + "\n".join(too_faint)


def test_the_text_pairs_name_real_palette_colours_and_cover_every_on_colour() -> None:
    fields = {field.name for field in dataclasses.fields(Palette)}
    named = {name for pair in TEXT_PAIRS for name in pair}
    assert named <= fields
    on_colours = {name for name in fields if name.startswith("on_")}
    assert {(name, name.removeprefix("on_")) for name in on_colours} <= set(TEXT_PAIRS)


def test_every_palette_colour_is_a_six_digit_hex_colour() -> None:
    for field in dataclasses.fields(Palette):
        value = getattr(THEME, field.name)
        red, green, blue, alpha = rgba(value)
        assert all(0.0 <= part <= 1.0 for part in (red, green, blue)), field.name
        assert alpha == 1.0


@pytest.mark.parametrize(
    ("foreground", "background", "expected"),
    [
        ("#000000", "#FFFFFF", 21.0),
        ("#FFFFFF", "#000000", 21.0),
        ("#3A7BD5", "#3A7BD5", 1.0),
        ("#777777", "#FFFFFF", 4.48),
        ("#767676", "#FFFFFF", 4.54),
    ],
)
def test_the_contrast_ratio_matches_the_wcag_reference_values(
    foreground: str, background: str, expected: float
) -> None:
    assert contrast_ratio(foreground, background) == pytest.approx(expected, abs=0.01)


def test_rgba_turns_hex_into_kivy_fractions() -> None:
    assert rgba("#FF8000") == (1.0, 128 / 255, 0.0, 1.0)
    assert rgba("#ff8000", 0.5)[3] == 0.5


@pytest.mark.parametrize("bad", ["FF8000", "#FFF", "#GG0000", "#FF80001", ""])
def test_rgba_rejects_anything_but_hash_and_six_hex_digits(bad: str) -> None:
    with pytest.raises(ValueError, match="colour"):
        rgba(bad)


def test_sizes_at_the_reference_screen_respect_the_minimums_for_customers() -> None:
    assert theme.TOUCH_TARGET_DP >= 48
    assert theme.BODY_SP >= 24
    assert theme.PRICE_SP >= 36
    assert theme.SMALL_SP >= 24
    assert theme.TITLE_SP > theme.PRICE_SP > theme.BODY_SP >= theme.SMALL_SP
