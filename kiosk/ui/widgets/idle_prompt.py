"""The timeout prompts (``kv/idle_prompt.kv``): the inactivity prompt ("Are you still there?"
and a countdown) and the other timeouts' "Do you need more time?"."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.properties import BooleanProperty, StringProperty
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


class TimeoutWarningPrompt(ModalView):
    """"Do you need more time?" over a screen whose timeout is ending (the card wait, the
    receipt choice, the QR code: ``kiosk.ui.timeout_warnings``); a touch beside the panel
    asks for more time as the button does."""

    background = StringProperty("")
    """No image behind the panel (see ``IdlePrompt.background``)."""
    beside = BooleanProperty(False)
    """The panel stands beside the screen's content, undimmed (the QR code's warning)."""

    def on_touch_down(self, touch: Any) -> bool:
        """A touch beside the panel means "more time"; the panel's button answers alone."""
        if not self.ids.box.collide_point(*touch.pos):
            App.get_running_app().timeouts.more_time()
        return bool(super().on_touch_down(touch))
