"""The shop's logo and colour on the window: the logo in the top bar and on the attract
screen, the shop's colour on the Pay button with the text colour chosen for it, and a missing
logo logged with the shop's name shown instead."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

# ui_support configures Kivy before anything imports kivy.core.window.
# isort: off
from ui_support import MINERAL_WATER, KioskDriver, run_kiosk_ui

# isort: on

from kiosk.config import demo_settings
from kiosk.ui import theme

LOGO = Path(__file__).resolve().parent.parent / "assets" / "receipt-logo.png"
SHOP_COLOUR = "#0F766E"


def branded(tmp_path: Path, name: str, logo: str) -> Iterator[KioskDriver]:
    """The demo kiosk at 1280x800 with the shop's ``logo`` and ``SHOP_COLOUR``."""
    settings = demo_settings(tmp_path / "kiosk")
    shop = replace(settings.shop, logo=logo, accent_colour=SHOP_COLOUR)
    yield from run_kiosk_ui(tmp_path, name, "1280x800", settings=replace(settings, shop=shop))


@pytest.fixture
def with_logo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """A kiosk whose logo file is there."""
    yield from branded(tmp_path, request.node.name, str(LOGO))


def test_the_logo_shows_in_the_top_bar_and_on_attract_and_the_pay_button_wears_the_shops_colour(
    with_logo: KioskDriver,
) -> None:
    ui = with_logo
    ui.started()
    attract_logo = ui.find("shop_logo", "attract")
    bar_logo = ui.find("shop_logo")
    ui.wait_for(lambda: bar_logo.texture is not None, "the logo to load")
    assert attract_logo.texture is not None and attract_logo.height > 0
    assert attract_logo.source == bar_logo.source == str(LOGO)
    assert bar_logo.width == pytest.approx(bar_logo.height * bar_logo.image_ratio)
    assert "Demo Corner Shop" not in ui.texts()  # the logo stands in for the name
    ui.screenshot("attract-with-logo")

    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    pay = ui.find("pay_button")
    assert tuple(pay.fill) == theme.rgba(SHOP_COLOUR)
    assert tuple(pay.color) == theme.rgba("#FFFFFF")
    assert ui.find("shop_logo").opacity == 1
    ui.screenshot("cart-in-the-shops-colour")


@pytest.fixture
def missing_logo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """A kiosk whose logo file is not there."""
    yield from branded(tmp_path, request.node.name, str(tmp_path / "gone.png"))


def test_a_missing_logo_is_logged_and_the_shops_name_shows_instead(
    missing_logo: KioskDriver, caplog: pytest.LogCaptureFixture
) -> None:
    ui = missing_logo
    ui.started()

    assert ui.app.logo_source == ""
    assert any(
        "gone.png cannot be read" in record.getMessage()
        for record in caplog.get_records("setup")
    )
    assert ui.find("shop_logo").width == 0
    assert "Demo Corner Shop" in ui.texts()
    assert tuple(ui.app.colours["accent"]) == theme.rgba(SHOP_COLOUR)


def test_a_file_that_is_no_picture_is_logged_by_name(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from kiosk.ui.shop_logo import logo_source

    text = tmp_path / "logo.png"
    text.write_text("not a picture")
    with caplog.at_level(logging.WARNING, logger="kiosk.ui.shop_logo"):
        assert logo_source(str(text)) == ""
        assert logo_source(str(tmp_path / "gone.png")) == ""

    assert [record.getMessage() for record in caplog.records] == [
        f"the shop's logo {text} is not a PNG or JPEG picture: the shop's name shows instead",
        f"the shop's logo {tmp_path / 'gone.png'} cannot be read (No such file or directory): "
        "the shop's name shows instead",
    ]
