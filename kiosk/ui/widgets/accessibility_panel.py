"""The accessibility panel: one row per mode (``kiosk.ui.accessibility.MODE_ROWS``), each
with its name, what it does and an On/Off switch that says its state in words and with a
mark, never by colour alone (``kv/accessibility_panel.kv``).

A touch on a switch changes the mode at once (``apply_modes``); "Done" or a touch beside the
panel closes it. It goes by itself when the screen changes (the sale ended, a card payment
began) or the app stops, so it never outlives the moment it was opened for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.modalview import ModalView

from kiosk.ui.accessibility import MODE_ROWS
from kiosk.ui.icons import register_icon_font
from kiosk.ui.modes_on_screen import apply_modes

RULES = Path(__file__).resolve().parent.parent / "kv" / "accessibility_panel.kv"
"""The panel's looks, loaded the first time it opens (not for the first frame)."""

_rules_loaded = False


class ModeSwitch(BoxLayout):
    """One mode's row: ``mode`` (a ``Modes`` field), its ``icon_name``, ``name`` and
    ``description`` (msgids, translated in kv)."""

    mode = StringProperty("")
    icon_name = StringProperty("")
    name = StringProperty("")
    description = StringProperty("")
    available = BooleanProperty(True)
    """False: the mode cannot be turned on here (the row below says why)."""

    def toggle(self) -> None:
        """Switch this row's mode on or off, on the whole window at once."""
        app: Any = App.get_running_app()
        if self.available or getattr(app.modes, self.mode):
            apply_modes(app, app.modes.toggled(self.mode))


class AccessibilityPanel(ModalView):
    """The modes over the screen, until "Done", a touch beside it or a change of screen."""

    background = StringProperty("")
    """No image behind the panel (the panel draws itself; see ``IdlePrompt.background``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._app: Any = App.get_running_app()
        for row in MODE_ROWS:
            self.ids.rows.add_widget(ModeSwitch(
                mode=row.mode, icon_name=row.icon, name=row.name, description=row.description,
            ))
            if row.mode == "audio_guidance":  # its reason, note or levels below the rows
                from kiosk.ui.widgets.guidance_settings import GuidanceSettings

                self.ids.rows.children[0].available = self._app.guidance.available
                self.ids.below_rows.add_widget(GuidanceSettings())

    @property
    def switches(self) -> list[ModeSwitch]:
        """The rows, top to bottom."""
        return [row for row in reversed(self.ids.rows.children) if isinstance(row, ModeSwitch)]

    def on_open(self) -> None:
        """Shown: it follows the screen and the app from now on."""
        self._app.bind(current_screen=self._on_screen, on_stop=self._on_app_stop)

    def on_touch_down(self, touch: Any) -> bool:
        """A touch beside the panel closes it; the panel's own buttons answer."""
        if not self.ids.box.collide_point(*touch.pos):
            self.close()
            return True
        return bool(super().on_touch_down(touch))

    def close(self) -> None:
        """Take the panel away (the modes stay as they are)."""
        if self.parent is not None:
            self.dismiss(animation=False)

    def on_dismiss(self) -> None:
        """Gone: no binding of the panel outlives it."""
        self._app.unbind(current_screen=self._on_screen, on_stop=self._on_app_stop)

    def _on_screen(self, _app: Any, _screen: str) -> None:
        self.close()

    def _on_app_stop(self, *_args: Any) -> None:
        self.close()


def open_panel() -> AccessibilityPanel:
    """Show the accessibility panel (once: a panel on show already is kept)."""
    global _rules_loaded
    for widget in Window.children:
        if isinstance(widget, AccessibilityPanel):
            return widget
    if not _rules_loaded:
        register_icon_font()
        Builder.load_file(str(RULES))
        _rules_loaded = True
    panel = AccessibilityPanel()
    panel.open(animation=False)
    return panel
