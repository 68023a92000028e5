"""Under the accessibility panel's "Audio guidance" row: why it cannot be turned on, the
note that headphones are plugged in, or (while guidance is on) its volume and speed with
large - and + buttons (``kv/guidance_settings.kv``).

The levels' rows exist only while guidance is on (hidden rows would still take touches:
Kivy's disabled widgets swallow the touches that land on them). The levels are ``Modes``
fields (``speech_volume_step``, ``speech_rate_step``), so they end with the sale like every
mode; ``app.guidance`` (``kiosk.ui.guidance_on_screen``) turns a press into a step and says
the new level at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import BooleanProperty, OptionProperty
from kivy.uix.boxlayout import BoxLayout

RULES = Path(__file__).resolve().parent.parent / "kv" / "guidance_settings.kv"
"""The rules, loaded with the panel's module (on the first touch of Accessibility)."""


class GuidanceLevel(BoxLayout):
    """The volume's or the speed's row (``kind``: ``"volume"`` or ``"rate"``)."""

    kind = OptionProperty("volume", options=["volume", "rate"])

    def step(self, steps: int) -> None:
        """One press of - (``-1``) or + (``1``)."""
        app: Any = App.get_running_app()
        app.guidance.step(**{self.kind: steps})


class GuidanceSettings(BoxLayout):
    """Audio guidance's reason, note or levels, below its switch."""

    guidance_on = BooleanProperty(False)
    """Follows ``app.modes.audio_guidance`` (kv)."""

    def on_guidance_on(self, _widget: Any, on: bool) -> None:
        """Guidance went on or off: the levels' rows come or go."""
        levels = self.ids.levels
        if on and not levels.children:
            levels.add_widget(GuidanceLevel(kind="volume"))
            levels.add_widget(GuidanceLevel(kind="rate"))
        elif not on:
            levels.clear_widgets()

    @property
    def levels(self) -> list[GuidanceLevel]:
        """The levels' rows on show, top to bottom (none while guidance is off)."""
        return list(reversed(self.ids.levels.children))


Builder.load_file(str(RULES))
