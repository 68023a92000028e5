"""The shop's accent colour: which text colour goes on it, when it is refused, and the palettes
it makes (pure: no window)."""

from __future__ import annotations

import itertools
from dataclasses import asdict

import pytest

from kiosk.core import contrast
from kiosk.core.contrast import (
    AA_TEXT,
    AAA_TEXT,
    NEAR_BLACK,
    WHITE,
    contrast_ratio,
    judge_accent,
    suggest_shade,
    text_colour_on,
)
from kiosk.ui import theme
from kiosk.ui.accessibility import SHOP_DEFAULTS, Modes, palette_of


def test_white_text_goes_on_a_dark_colour_and_near_black_on_a_light_one() -> None:
    assert text_colour_on("#0F766E") == WHITE
    assert text_colour_on("#F5B324") == NEAR_BLACK


def test_a_mid_grey_takes_neither_white_nor_near_black_text() -> None:
    assert contrast_ratio(WHITE, "#808080") < AA_TEXT
    assert contrast_ratio(NEAR_BLACK, "#808080") < AA_TEXT
    assert text_colour_on("#808080") is None


def test_a_colour_that_fails_is_refused_with_the_reason_and_a_shade_that_works() -> None:
    verdict = judge_accent("#808080")

    assert verdict.text is None
    assert "neither white (3.9:1) nor near-black (4.2:1)" in verdict.reason
    assert "#6F6F6F works" in verdict.reason
    assert judge_accent("#6F6F6F").text == WHITE


def test_a_light_colour_is_refused_because_the_screens_write_headlines_in_it() -> None:
    verdict = judge_accent("#FFE033")

    assert verdict.text is None
    assert "too light for the headlines" in verdict.reason
    assert judge_accent(suggest_shade("#FFE033")).text is not None


@pytest.mark.parametrize("accent", ["#0F766E", "#1D4ED8", "#7C2D12", "#6D28D9", "#B91C1C"])
def test_an_accepted_colour_becomes_the_accent_and_every_text_pair_still_meets_aa(
    accent: str,
) -> None:
    assert judge_accent(accent).text == WHITE
    normal, _high = theme.shop_palettes(accent)

    assert (normal.accent, normal.on_accent) == (accent, WHITE)
    colours = asdict(normal)
    for text, ground in theme.TEXT_PAIRS:
        assert contrast_ratio(colours[text], colours[ground]) >= AA_TEXT, (text, ground)


def test_the_high_contrast_palette_keeps_its_yellow_when_the_shops_colour_breaks_7_to_1() -> None:
    _normal, high = theme.shop_palettes("#0F766E")

    assert high is theme.HIGH_CONTRAST
    assert contrast_ratio("#0F766E", theme.HIGH_CONTRAST.background) < AAA_TEXT


def test_the_high_contrast_palette_takes_a_shop_colour_that_keeps_7_to_1() -> None:
    high = theme.accented(theme.HIGH_CONTRAST, "#7FFFD4", AAA_TEXT)

    assert high is not None
    assert (high.accent, high.on_accent) == ("#7FFFD4", "#000000")


def test_without_a_shop_colour_the_modes_show_the_themes_own_palettes() -> None:
    assert palette_of(SHOP_DEFAULTS, "") is theme.THEME
    assert palette_of(Modes(high_contrast=True), "") is theme.HIGH_CONTRAST
    assert palette_of(SHOP_DEFAULTS, "#0F766E").accent == "#0F766E"


def test_black_is_refused_because_grey_text_on_the_fresh_cart_line_would_fade() -> None:
    verdict = judge_accent("#000000")

    assert verdict.text is None
    assert "grey text on the freshly scanned cart line" in verdict.reason
    assert "#242424 works" in verdict.reason


def test_the_settings_judge_colours_by_the_themes_own_values() -> None:
    assert theme.THEME.background == contrast.LIGHT_SCREEN
    assert theme.THEME.surface_alt == contrast.LIGHT_ROW
    assert theme.THEME.text_muted == contrast.MUTED_TEXT
    assert theme.THEME.text == contrast.NEAR_BLACK
    assert ("text_muted", "accent", contrast.FRESH_TINT, "surface_alt") in theme.TINTED_TEXT


def test_every_colour_the_settings_accept_keeps_every_text_pair_of_the_theme_at_aa() -> None:
    steps = range(0, 256, 17)
    accepted = [
        colour for colour in (f"#{r:02X}{g:02X}{b:02X}" for r, g, b in
                              itertools.product(steps, steps, steps))
        if judge_accent(colour).text is not None
    ]

    assert len(accepted) > 500
    assert [c for c in accepted if theme.accented(theme.THEME, c, AA_TEXT) is None] == []
    assert all(judge_accent(suggest_shade(c)).text for c in ("#000000", "#FFFFFF", "#808080"))
