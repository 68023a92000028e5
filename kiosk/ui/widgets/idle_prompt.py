"""The inactivity prompt: "Are you still there?" and a countdown (``kv/idle_prompt.kv``)."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.properties import StringProperty
from kivy.uix.modalview import ModalView


class IdlePrompt(ModalView):
    """Shown while the session is in IDLE_PROMPT; any answer or touch closes it."""

    background = StringProperty("")
    """No image behind the panel (the panel draws itself). Kivy's default names its theme
    atlas, which the base style would load (a 512x512 texture, 1 MiB) before the ``.kv``
    rule could clear it."""

    def on_touch_down(self, touch: Any) -> bool:
        """A touch beside the panel means "still here"; the panel's buttons answer alone."""
        if not self.ids.box.collide_point(*touch.pos):
            App.get_running_app().still_here()
        return bool(super().on_touch_down(touch))
