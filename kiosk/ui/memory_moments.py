"""Giving freed heap back to the system once a new screen is up and the one before is gone.

A sale that is paid leaves the cart's drawing behind and builds the paid screen: both free a
lot of memory in small pieces (label textures' pixel buffers, the kv rules' temporary objects)
that glibc keeps. The screen manager takes the screen before off the window in the tick after
a switch starts (even ``NoTransition`` completes on the clock), which frees more. So
`give_back_once_switched` waits for the switch to complete and the next frame to be drawn,
then hands the free pages back on a thread of their own (`kiosk.service.memory`): no frame
waits for it.
"""

from __future__ import annotations

from typing import Any

from kivy.core.window import Window
from kivy.uix.screenmanager import ScreenManager

from kiosk.service.memory import give_back_freed_memory_soon


def give_back_once_switched(manager: ScreenManager, reason: str) -> None:
    """Give the freed heap back once ``manager`` has finished its switch (if one is under
    way) and the next frame is drawn; ``reason`` names the moment in the log."""

    def drawn(*_args: Any) -> None:
        Window.unbind(on_flip=drawn)
        give_back_freed_memory_soon(reason)

    def switched(*_args: Any) -> None:
        manager.transition.unbind(on_complete=switched)
        Window.bind(on_flip=drawn)

    if manager.transition.is_active:
        manager.transition.bind(on_complete=switched)
    else:
        switched()
