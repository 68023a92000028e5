"""The accessibility modes without a window: what each mode changes, and when it ends."""

from __future__ import annotations

import dataclasses

import pytest

from kiosk.ui import theme
from kiosk.ui.accessibility import (
    MODE_ROWS,
    SHOP_DEFAULTS,
    Modes,
    colours_of,
    modes_expired,
    palette_of,
)
from kiosk.ui.customer_view import LANGUAGE_RESET_S
from kiosk.ui.icons import CODEPOINTS

HIGH = Modes(high_contrast=True)


def test_each_panel_row_switches_a_real_mode_and_has_an_icon_of_the_font() -> None:
    fields = {field.name for field in dataclasses.fields(Modes)}
    assert [row.mode for row in MODE_ROWS] == [
        "high_contrast", "audio_guidance", "larger_text", "reach"
    ]
    for row in MODE_ROWS:
        assert row.mode in fields
        assert row.icon in CODEPOINTS
        assert row.name and row.description


def test_a_toggle_switches_one_mode_on_and_off_again() -> None:
    assert Modes(high_contrast=False) == SHOP_DEFAULTS
    assert SHOP_DEFAULTS.toggled("high_contrast") == HIGH
    assert HIGH.toggled("high_contrast") == SHOP_DEFAULTS
    with pytest.raises(KeyError):
        SHOP_DEFAULTS.toggled("toggled")


def test_the_shop_defaults_have_every_mode_off_and_each_mode_toggles_alone() -> None:
    for row in MODE_ROWS:
        assert getattr(SHOP_DEFAULTS, row.mode) is False
        on = SHOP_DEFAULTS.toggled(row.mode)
        assert [name for name, value in dataclasses.asdict(on).items() if value] == [row.mode]
        assert on.toggled(row.mode) == SHOP_DEFAULTS
    both = SHOP_DEFAULTS.toggled("larger_text").toggled("reach")
    assert both == Modes(larger_text=True, reach=True)


def test_high_contrast_swaps_the_whole_palette() -> None:
    assert palette_of(SHOP_DEFAULTS) is theme.THEME
    assert palette_of(HIGH) is theme.HIGH_CONTRAST
    colours = colours_of(HIGH)
    assert set(colours) == {field.name for field in dataclasses.fields(theme.Palette)}
    assert colours["background"] == (0.0, 0.0, 0.0, 1.0)
    assert colours_of(SHOP_DEFAULTS)["background"] == theme.rgba(theme.THEME.background)


def test_modes_left_on_a_screen_without_a_sale_expire_like_a_language() -> None:
    later = LANGUAGE_RESET_S + 1
    assert modes_expired("attract", HIGH, later)
    assert modes_expired("closed", HIGH, later)
    assert not modes_expired("attract", HIGH, LANGUAGE_RESET_S - 1)
    assert not modes_expired("attract", SHOP_DEFAULTS, later), "nothing to reset"
    assert not modes_expired("shopping", HIGH, later), "a sale keeps its modes until it ends"
    for row in MODE_ROWS:  # larger text and reach mode end as high contrast does
        assert modes_expired("attract", SHOP_DEFAULTS.toggled(row.mode), later), row.mode
