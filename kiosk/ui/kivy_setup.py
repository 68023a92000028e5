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
  registers every tap a second time;
- fullscreen covers the display everywhere: SDL makes a window fullscreen under X11 by asking
  the window manager, and the usual ``xinit`` kiosk has none, so SDL left an 800x600 window in
  the middle of the screen, drawn as if it were the whole screen. On X11 the window is therefore
  created at the screen's size in its top-left corner (`x11_screen_size`) and then made
  fullscreen: with or without a window manager it covers the screen. Under KMS/DRM and Wayland
  SDL's own fullscreen already does.
"""

from __future__ import annotations

import ctypes
import ctypes.util
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
        screen = x11_screen_size()
        if screen is not None:
            Config.set("graphics", "position", "custom")
            Config.set("graphics", "left", "0")
            Config.set("graphics", "top", "0")
            Config.set("graphics", "width", str(screen[0]))
            Config.set("graphics", "height", str(screen[1]))
    else:
        width, height = size or REFERENCE_SIZE
        Config.set("graphics", "position", "auto")
        Config.set("graphics", "fullscreen", "0")
        Config.set("graphics", "show_cursor", "1")
        Config.set("graphics", "width", str(width))
        Config.set("graphics", "height", str(height))
    for provider in Config.options("input"):
        Config.remove_option("input", provider)
    Config.set("input", "mouse", "mouse,disable_multitouch")


def x11_screen_size() -> tuple[int, int] | None:
    """The pixel size of the X display's default screen (``$DISPLAY``), or ``None`` when there
    is no X display to ask (KMS/DRM, Wayland without XWayland) or no Xlib."""
    if not os.environ.get("DISPLAY"):
        return None
    name = ctypes.util.find_library("X11")
    if name is None:
        return None
    try:
        xlib = ctypes.CDLL(name)
    except OSError:
        return None
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    for function in (xlib.XDefaultScreen, xlib.XCloseDisplay):
        function.argtypes = [ctypes.c_void_p]
    for function in (xlib.XDisplayWidth, xlib.XDisplayHeight):
        function.argtypes = [ctypes.c_void_p, ctypes.c_int]
    display = xlib.XOpenDisplay(None)
    if not display:
        return None
    try:
        screen = xlib.XDefaultScreen(display)
        size = int(xlib.XDisplayWidth(display, screen)), int(xlib.XDisplayHeight(display, screen))
    finally:
        xlib.XCloseDisplay(display)
    return size if size[0] > 0 and size[1] > 0 else None
