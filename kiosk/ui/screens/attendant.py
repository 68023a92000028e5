"""The needs-attendant screen: why the customer waits, and the PIN pad staff answer on."""

from __future__ import annotations

from kivy.app import App
from kivy.uix.screenmanager import Screen


class NeedsAttendantScreen(Screen):
    """``kv/needs_attendant.kv``: the reason in words, "staff is on the way", the PIN pad."""

    def on_leave(self, *_args: object) -> None:
        """Never leave a half-typed staff number or PIN, or the last answer, for the next
        call."""
        self.ids.pin_pad.clear()
        App.get_running_app().staff_message = ""
