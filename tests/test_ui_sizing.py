"""The sizes of the customer screens without a window: the layout class of each supported
screen, the minimum text sizes and 9 mm touch targets, larger text."""

from __future__ import annotations

import pytest

from kiosk.ui.sizing import (
    DEFAULT_DIAGONALS_IN,
    LARGER_TEXT,
    MIN_PRICE_PX,
    MIN_TEXT_PX,
    default_diagonal_in,
    layout_class,
    millimetres_to_px,
    sizes_for,
)

SUPPORTED = [(800, 480), (1024, 600), (1280, 800), (1920, 1080), (1080, 1920)]


def test_each_supported_screen_has_its_layout_class() -> None:
    assert [layout_class(w, h) for w, h in SUPPORTED] == [
        "small", "small", "large", "large", "portrait",
    ]


@pytest.mark.parametrize("size", SUPPORTED, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("larger", [False, True], ids=["normal", "larger-text"])
def test_text_is_never_below_the_minimum_and_touch_targets_are_9_mm(
    size: tuple[int, int], larger: bool
) -> None:
    width, height = size
    sizes = sizes_for(width, height, larger_text=larger)
    least = LARGER_TEXT if larger else 1.0
    assert min(sizes.body, sizes.small) >= MIN_TEXT_PX * least
    assert min(sizes.price, sizes.title) >= MIN_PRICE_PX * least
    nine_mm = millimetres_to_px(9, width, height, DEFAULT_DIAGONALS_IN[size])
    assert sizes.touch_min == pytest.approx(nine_mm)
    assert sizes.touch >= nine_mm


def test_larger_text_is_one_and_a_half_times_the_text_and_titles_grow_to_the_prices() -> None:
    for width, height in SUPPORTED:
        normal, larger = sizes_for(width, height), sizes_for(width, height, larger_text=True)
        for name in ("body", "small", "price"):
            assert getattr(larger, name) == pytest.approx(getattr(normal, name) * 1.5)
        assert larger.title >= max(normal.title, larger.price)


def test_9_mm_on_a_7_inch_800x480_panel_is_47_pixels_and_a_bigger_panel_needs_fewer() -> None:
    assert millimetres_to_px(9, 800, 480, 7.0) == pytest.approx(47.2, abs=0.1)
    assert sizes_for(1920, 1080, 32.0).touch_min < sizes_for(1920, 1080).touch_min
    assert sizes_for(1920, 1080, 32.0).layout == "large"


def test_an_unlisted_resolution_is_taken_as_a_dense_panel() -> None:
    assert default_diagonal_in(1280, 800) == 10.1
    inches = default_diagonal_in(1366, 768)
    assert 9 < inches < 10  # 170 pixels per inch: denser than any listed panel
    assert sizes_for(1366, 768).layout == "large"
