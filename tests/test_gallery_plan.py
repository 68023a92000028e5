"""The gallery's plan (``tests/gallery.py``), checked without drawing a single picture: what it
covers, that it keeps within its budget, and that the pictures in the repository do too."""

from __future__ import annotations

import gallery

from kiosk.ui.accessibility import MODE_ROWS
from kiosk.ui.navigation import CUSTOMER_SCREENS


def test_the_plan_covers_every_screen_at_each_size_in_english_and_the_small_set_otherwise() -> None:
    runs = gallery.plan()
    names = set(gallery.file_names(runs))

    for screen in CUSTOMER_SCREENS:
        stem = screen.replace("_", "-")
        for size in gallery.SIZES:
            assert f"{stem}-{size}-en.png" in names
        for size in ("800x480", "1280x800"):
            assert f"{stem}-{size}-de.png" in names
            for row in MODE_ROWS:
                assert f"{stem}-{size}-en-{row.mode.replace('_', '-')}.png" in names
    assert len(names) == len(gallery.file_names(runs))  # no picture drawn twice


def test_the_plan_stays_within_120_pictures() -> None:
    assert gallery.MAX_IMAGES == 120
    assert len(gallery.file_names(gallery.plan())) <= gallery.MAX_IMAGES


def test_the_index_shows_every_planned_picture_once() -> None:
    runs = gallery.plan()
    text = gallery.index_text(runs)

    for name in gallery.file_names(runs):
        assert text.count(f"(screens/customer/{name})") == 1, name
    assert gallery.INDEX.read_text(encoding="utf-8") == text + "\n"


def test_the_pictures_in_the_repository_are_the_planned_ones_within_10_mb() -> None:
    pictures = sorted(gallery.OUT.glob("*.png"))

    assert sorted(path.name for path in pictures) == sorted(gallery.file_names(gallery.plan()))
    assert sum(path.stat().st_size for path in pictures) <= gallery.MAX_BYTES == 10 * 1024 * 1024
