"""The accessibility modes put on screen: the one way ``app.modes`` changes.

`apply_modes` changes the app's ``modes``, its ``colours`` (every ``.kv`` rule reads
``app.colours[...]``), its text sizes (larger text, ``kiosk.ui.sizes_on_screen``) and the
window's clear colour together, so the whole window switches at once. The decisions (which
modes, their palette, when they end) are ``kiosk.ui.accessibility``'s.
"""

from __future__ import annotations

from typing import Any

from kivy.core.window import Window

from kiosk.ui.accessibility import Modes, colours_of
from kiosk.ui.sizes_on_screen import apply_sizes


def apply_modes(app: Any, modes: Modes) -> None:
    """Put ``modes`` on screen: ``app.modes``, ``app.colours`` and the window's background;
    nothing happens when they are on already."""
    if modes == app.modes:
        return
    larger_before = app.modes.larger_text
    app.modes = modes
    app.colours = colours_of(modes, app.settings.shop.accent_colour)
    if modes.larger_text != larger_before:
        apply_sizes(app)
    Window.clearcolor = app.colours["background"]
