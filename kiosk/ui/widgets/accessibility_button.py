"""The top bar's accessibility button.

The button (looks in ``kv/root.kv``) shows on every customer screen but while a card is read
(``CustomerView.accessibility_offered``) and opens the modes' panel
(``kiosk.ui.widgets.accessibility_panel``, loaded with its rules on the first touch, not for the
first frame).
"""

from __future__ import annotations

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

