"""The short message under a screen's heading: a refused scan, a stopped payment, an age check.

A message lasts `MESSAGE_S` and belongs to one screen: the one on show when it was said, or,
for a session step's own message, the screen that step leads to. When another screen comes,
the message goes ("That barcode could not be read" is never shown under "This item is not in
our catalog", nor on the help screen, nor back on the cart later). A language switch says
it again in the new language (`ScreenMessage.retell`), for the time it has left.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.clock import Clock

from kiosk.ui.customer_view import Message
from kiosk.ui.i18n import Translator

MESSAGE_S = 6.0
"""How long a short message (a refused scan, a refused change) stays on screen, seconds."""


class ScreenMessage:
    """The message on show; ``show(text, error)`` puts it into the app's properties (an empty
    text clears them)."""

    def __init__(self, show: Callable[[str, bool], None]) -> None:
        self._show = show
        self._said: Message | None = None
        self._text = ""
        self._screen: str | None = None
        """The screen the message belongs to (``None``: the next one shown)."""
        self._expiry: Any = None

    def say(self, message: Message, screen: str | None) -> None:
        """Show ``message`` on ``screen`` (``None``: the next screen shown) for `MESSAGE_S`."""
        self._said = message
        self._text = message.text
        self._screen = screen
        self._show(message.text, message.error)
        if self._expiry is not None:
            self._expiry.cancel()
        self._expiry = Clock.schedule_once(lambda _dt: self.clear(), MESSAGE_S)

    def clear(self) -> None:
        """Take the message away now."""
        self._said = None
        self._text = ""
        self._screen = None
        self._show("", False)
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None

    def screen_shown(self, name: str) -> None:
        """Screen ``name`` is (about to be) on show: a message of another screen goes."""
        if not self._text:
            return
        if self._screen is None:
            self._screen = name
        elif self._screen != name:
            self.clear()

    def retell(self, tr: Translator) -> None:
        """The language changed: show the message on show (if any) in ``tr``'s language."""
        if self._said is not None and self._text:
            self._said = self._said.in_language(tr)
            self._text = self._said.text
            self._show(self._said.text, self._said.error)
