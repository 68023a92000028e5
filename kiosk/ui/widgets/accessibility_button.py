"""The top bar's accessibility button, and the accessibility modes put on screen.

The button (looks in ``kv/root.kv``) shows on every customer screen but while a card is read
(``CustomerView.accessibility_offered``) and opens the modes' panel
(``kiosk.ui.widgets.accessibility_panel``, loaded with its rules on the first touch, not for the
first frame). `apply_modes` is the one way modes change: the app's ``modes``, its colours and
the window's clear colour change together, so the whole window switches at once.
"""

from __future__ import annotations

from typing import Any

from kivy.core.window import Window

from kiosk.ui.accessibility import Modes, colours_of
from kiosk.ui.icons import icon, register_icon_font
from kiosk.ui.widgets.basic import TouchButton


class AccessibilityButton(TouchButton):
    """Opens the accessibility panel over the screen."""

    def on_release(self) -> None:
        """Show the modes (the panel's module loads now, the first time)."""
        from kiosk.ui.widgets.accessibility_panel import open_panel

        open_panel()


def label_of(word: str) -> str:
    """The button's words (Kivy markup): the accessibility icon, then ``word``."""
    return f"[font={register_icon_font()}]{icon('accessibility_new')}[/font] {word}"


def apply_modes(app: Any, modes: Modes) -> None:
    """Put ``modes`` on screen: ``app.modes``, ``app.colours`` (every kv rule reads them) and
    the window's background; nothing happens when they are on already."""
    if modes == app.modes:
        return
    app.modes = modes
    app.colours = colours_of(modes)
    Window.clearcolor = app.colours["background"]
