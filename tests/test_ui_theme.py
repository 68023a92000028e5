"""The colour theme stays readable and the sizes stay large enough for a shop floor."""

from __future__ import annotations

import dataclasses

import pytest

from kiosk.ui import theme
from kiosk.ui.theme import (
    HIGH_CONTRAST,
    TEXT_PAIRS,
    THEME,
    TINTED_TEXT,
    Palette,
    blend,
    contrast_ratio,
    rgba,
)

WCAG_BODY_TEXT = 4.5
WCAG_AAA_TEXT = 7.0
PALETTES = {"normal": (THEME, WCAG_BODY_TEXT), "high contrast": (HIGH_CONTRAST, WCAG_AAA_TEXT)}
"""Each palette and the contrast its text must reach: 4.5:1 (WCAG AA) in the shop's palette,
7:1 (WCAG AAA) in the high-contrast mode's."""


def pairs_on_screen(palette: Palette) -> list[tuple[str, str, str, str]]:
    """Every (text name, background name, text colour, background colour) the screens show:
    `TEXT_PAIRS`, and the text on tints of `TINTED_TEXT` with the tint blended in."""
    plain = [
        (fg, bg, getattr(palette, fg), getattr(palette, bg)) for fg, bg in TEXT_PAIRS
    ]
    tinted = [
        (fg, f"{tint} at {alpha:.0%} over {base}", getattr(palette, fg),
         blend(getattr(palette, tint), alpha, getattr(palette, base)))
        for fg, tint, alpha, base in TINTED_TEXT
    ]
    return plain + tinted


@pytest.mark.parametrize("name", list(PALETTES))
def test_every_text_on_screen_meets_its_palettes_contrast_minimum(name: str) -> None:
    palette, minimum = PALETTES[name]
    too_faint = [
        f"{fg} {fg_colour} on {bg} {bg_colour}: {contrast_ratio(fg_colour, bg_colour):.2f}:1"
        for fg, bg, fg_colour, bg_colour in pairs_on_screen(palette)
        if contrast_ratio(fg_colour, bg_colour) < minimum
    ]
    assert too_faint == [], f"{name}: text below {minimum}:1:\n" + "\n".join(too_faint)


def test_the_tints_name_real_palette_colours_and_blend_as_drawn() -> None:
    fields = {field.name for field in dataclasses.fields(Palette)}
    for fg, tint, alpha, base in TINTED_TEXT:
        assert {fg, tint, base} <= fields
        assert 0.0 < alpha < 1.0
    assert blend("#FFFFFF", 0.5, "#000000") == "#808080"
    assert blend("#1D4ED8", 0.0, "#E9EDF2") == "#E9EDF2"
    assert blend("#1D4ED8", 1.0, "#E9EDF2") == "#1D4ED8"


def test_the_text_pairs_name_real_palette_colours_and_cover_every_on_colour() -> None:
    fields = {field.name for field in dataclasses.fields(Palette)}
    named = {name for pair in TEXT_PAIRS for name in pair}
    assert named <= fields
    on_colours = {name for name in fields if name.startswith("on_")}
    assert {(name, name.removeprefix("on_")) for name in on_colours} <= set(TEXT_PAIRS)


@pytest.mark.parametrize("palette", [THEME, HIGH_CONTRAST])
def test_every_palette_colour_is_a_six_digit_hex_colour(palette: Palette) -> None:
    for field in dataclasses.fields(Palette):
        value = getattr(palette, field.name)
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
