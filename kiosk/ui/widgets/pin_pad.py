"""The staff PIN pad: staff number, then PIN, on a 12-key pad (used wherever staff confirm).

The PIN is only held in this widget until OK is pressed; it is never shown (dots only) and
never logged. ``on_submit(staff_number, pin)`` is dispatched with both; the pad then clears
itself. The owner shows the outcome in ``message``.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

MAX_STAFF_DIGITS = 6
MAX_PIN_DIGITS = 12


class PinPad(BoxLayout):
    """Collects a staff number and a PIN; dispatches ``on_submit(staff_number, pin)``."""

    stage = StringProperty("number")
    """``number`` while the staff number is typed, then ``pin``."""
    number_text = StringProperty("")
    pin_length = NumericProperty(0)
    message = StringProperty("")

    __events__ = ("on_submit",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pin = ""

    def press(self, key: str) -> None:
        """A key of the pad: a digit, ``clear`` or ``ok``."""
        if key == "clear":
            self.clear()
        elif key == "ok":
            self._confirm()
        elif key.isdigit():
            if self.stage == "number" and len(self.number_text) < MAX_STAFF_DIGITS:
                self.number_text += key
            elif self.stage == "pin" and len(self._pin) < MAX_PIN_DIGITS:
                self._pin += key
                self.pin_length = len(self._pin)

    def clear(self) -> None:
        """Forget what was typed and start again at the staff number."""
        self.stage = "number"
        self.number_text = ""
        self._pin = ""
        self.pin_length = 0

    def _confirm(self) -> None:
        if self.stage == "number":
            if self.number_text:
                self.stage = "pin"
            return
        if not self._pin:
            return
        number, pin = int(self.number_text), self._pin
        self.clear()
        self.dispatch("on_submit", number, pin)

    def on_submit(self, staff_number: int, pin: str) -> None:
        """Default handler (the owner binds its own)."""
