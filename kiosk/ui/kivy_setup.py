"""Kivy's settings for a kiosk, applied before the first Kivy import creates the window.

Kivy reads its configuration when ``kivy.core.window`` is first imported, so the kiosk sets
it here, once, at the top of ``kiosk run`` / ``kiosk demo`` and of the UI tests:

- no ``~/.kivy/config.ini`` is read or written (``KIVY_NO_CONFIG``), no Kivy log files
  (``KIVY_NO_FILELOG``); Kivy logs through Python's ``logging`` (``KIVY_LOG_MODE=PYTHON``),
  so everything reaches stdout and, under systemd, the journal;
- Escape never quits, the screensaver never blanks the screen, the cursor is hidden on a
  real kiosk;
- exactly one input provider: the window's own mouse/touch events (SDL2 turns touchscreen
  taps into them). Kivy's default Linux config adds a ``probesysfs`` HID provider too, which
  registers every tap a second time.
"""

from __future__ import annotations

import os

REFERENCE_SIZE = (1280, 800)
"""The 10-inch landscape screen the layout is designed at (pixels)."""


def configure_kivy(*, kiosk_mode: bool, size: tuple[int, int] | None = None) -> None:
    """Set Kivy's environment and configuration; call before importing ``kivy.core.window``.

    ``kiosk_mode`` (``kiosk run``): fullscreen with the cursor hidden. Otherwise (demo, tests)
    a window of ``size`` pixels, default ``REFERENCE_SIZE``.
    """
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONFIG", "1")
    os.environ["KIVY_NO_FILELOG"] = "1"
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    from kivy.config import Config

    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "pause_on_minimize", "0")
    Config.set("kivy", "keyboard_mode", "system")
    Config.set("graphics", "allow_screensaver", "0")
    Config.set("graphics", "multisamples", "0")
    if kiosk_mode:
        Config.set("graphics", "fullscreen", "auto")
        Config.set("graphics", "show_cursor", "0")
        Config.set("graphics", "borderless", "1")
    else:
        width, height = size or REFERENCE_SIZE
        Config.set("graphics", "fullscreen", "0")
        Config.set("graphics", "show_cursor", "1")
        Config.set("graphics", "width", str(width))
        Config.set("graphics", "height", str(height))
    for provider in Config.options("input"):
        Config.remove_option("input", provider)
    Config.set("input", "mouse", "mouse,disable_multitouch")
