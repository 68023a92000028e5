"""The needs-attendant screen: why the customer waits, and the PIN pad staff answer on."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.uix.screenmanager import Screen


class NeedsAttendantScreen(Screen):
    """``kv/needs_attendant.kv``: the reason in words, the item in question, "staff is on the
    way"; the staff PIN pad only once staff touch "Staff" on it (`show_staff_pad`: the app's
    ``attendant_pad_shown``), hidden again after the app's ``staff_login_s`` without a touch,
    and when the screen is left."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._hide_event: Any = None
        App.get_running_app().bind(on_stop=lambda *_args: self.hide_staff_pad())

    def show_staff_pad(self) -> None:
        """Staff touched "Staff": show the PIN pad beside the customer's words."""
        App.get_running_app().attendant_pad_shown = True
        self._restart_hide_timer()

    def hide_staff_pad(self) -> None:
        """Hide the PIN pad, and forget what was typed on it."""
        if self._hide_event is not None:
            self._hide_event.cancel()
            self._hide_event = None
        App.get_running_app().attendant_pad_shown = False
        self.ids.pin_pad.clear()

    def on_touch_down(self, touch: Any) -> bool:
        """A touch while the PIN pad is up keeps it up for another ``staff_login_s``."""
        if App.get_running_app().attendant_pad_shown:
            self._restart_hide_timer()
        return bool(super().on_touch_down(touch))

    def _restart_hide_timer(self) -> None:
        if self._hide_event is not None:
            self._hide_event.cancel()
        delay = App.get_running_app().staff_login_s
        self._hide_event = Clock.schedule_once(lambda _dt: self.hide_staff_pad(), delay)

    def on_leave(self, *_args: object) -> None:
        """Never leave a half-typed staff number or PIN, or the last answer, for the next
        call."""
        self.hide_staff_pad()
        App.get_running_app().staff_message = ""
