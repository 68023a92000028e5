"""The staff PIN pad over a customer's screen: whether it shows, and its time without a touch.

The corner button opens it (``KioskApp.open_staff_login``); after ``wait_s`` seconds without a
touch it closes by itself, so a PIN pad left open never stays in front of the next customer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.clock import Clock


class StaffLoginPad:
    """The staff PIN pad's state; ``on_timeout`` runs when it has waited ``wait_s`` untouched."""

    def __init__(self, wait_s: float, on_timeout: Callable[[], None]) -> None:
        """``wait_s``: seconds without a touch before ``on_timeout()`` runs on Kivy's clock."""
        self.shown = False
        self.wait_s = wait_s
        self._on_timeout = on_timeout
        self._event: Any = None

    def show(self) -> None:
        """The pad shows; its time starts."""
        self.shown = True
        self.touched()

    def hide(self) -> None:
        """The pad goes (its timer with it)."""
        self.shown = False
        self.forget()

    def touched(self) -> None:
        """A touch while the pad shows starts its time again."""
        self.forget()
        if self.shown:
            self._event = Clock.schedule_once(lambda _dt: self._on_timeout(), self.wait_s)

    def forget(self) -> None:
        """Stop the timer (the app stops, or the pad went)."""
        if self._event is not None:
            self._event.cancel()
            self._event = None
