"""The customer screens' icons: Material Icons (Apache 2.0, ``assets/fonts``) as a font.

An icon is one character of the font registered as `ICON_FONT`; the ``.kv`` files draw it with
``Icon`` (``kv/widgets.kv``) and ``app.icon("contactless")``. A font scales with the screen
like the words around it, takes the theme's colours, and needs no image files per size.
Names are the font's own (its ``codepoints``); only those the screens use are listed.
"""

from __future__ import annotations

import contextlib
import functools
from importlib.resources import as_file

from kivy.core.text import LabelBase

from kiosk.resources import asset

ICON_FONT = "KioskIcons"
"""The name the icon font is registered under (``font_name`` in the ``.kv`` files)."""

CODEPOINTS = {
    "check_circle": 0xE86C,
    "contactless": 0xEA71,
    "credit_card": 0xE870,
    "arrow_back": 0xE5C4,
    "arrow_forward": 0xE5C8,
    "arrow_downward": 0xE5DB,
    "language": 0xE894,
    "accessibility_new": 0xE92C,
    "contrast": 0xEB37,
    "check": 0xE5CA,
    "hearing": 0xE023,
    "volume_up": 0xE050,
    "speed": 0xE9E4,
    "format_size": 0xE245,
    "accessible": 0xE914,
}
"""The icons the screens use, by the font's name for them."""

_files = contextlib.ExitStack()
"""Keeps the font file extracted while it is registered (a zipped install)."""


@functools.cache
def register_icon_font() -> str:
    """Register the icon font with Kivy (once per process); return its name."""
    path = _files.enter_context(as_file(asset("fonts/MaterialIcons-Regular.ttf")))
    LabelBase.register(name=ICON_FONT, fn_regular=str(path))
    return ICON_FONT


def icon(name: str) -> str:
    """The character that draws icon ``name`` in `ICON_FONT`; raise ``KeyError`` for a name
    the screens do not use."""
    return chr(CODEPOINTS[name])
