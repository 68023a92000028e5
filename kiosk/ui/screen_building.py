"""Building the window's screens: the ``.kv`` rules loaded once, each screen built when needed.

The attract screen is built for the first frame; `BUILT_AFTER_FIRST_FRAME` (shopping and
payment: a scan or Pay must not wait for a build) right after it; every other screen when it
is first shown (``KioskApp._show`` adds it before switching to it), which keeps the widgets of
screens a day may never show out of memory. The staff screens' rules load with the first
staff screen, so customers see the kiosk before the staff menu's rules are read.
"""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder
from kivy.uix.screenmanager import ScreenManager

from kiosk.ui.navigation import CUSTOMER_SCREENS, STAFF_SCREENS
from kiosk.ui.screens import screen_classes
from kiosk.ui.staff import STAFF_KV
from kiosk.ui.staff.shell import StaffLoginScreen, StaffMenuScreen

KV_FOLDER = Path(__file__).parent / "kv"

BUILT_AFTER_FIRST_FRAME = ("shopping", "payment")
"""The screens built right after the first frame; the others are built when first shown."""

_kv_loaded = False
_staff_kv_loaded = False


def load_kv() -> None:
    """Load every customer ``.kv`` file once per process (a second load would duplicate the
    rules)."""
    global _kv_loaded
    if _kv_loaded:
        return
    for name in ("widgets", "pin_pad", "demo_panel", "idle_prompt", *CUSTOMER_SCREENS, "root"):
        Builder.load_file(str(KV_FOLDER / f"{name}.kv"))
    _kv_loaded = True


def load_staff_kv() -> None:
    """Load the staff screens' ``.kv`` files once, when a staff screen is first built."""
    global _staff_kv_loaded
    if _staff_kv_loaded:
        return
    for name in ("money_pad", "staff_menu", *STAFF_KV):
        Builder.load_file(str(KV_FOLDER / f"{name}.kv"))
    _staff_kv_loaded = True


def add_screen(manager: ScreenManager, name: str) -> None:
    """Build the screen ``name`` into ``manager`` unless it is there already."""
    if manager.has_screen(name):
        return
    if name in STAFF_SCREENS:
        load_staff_kv()
    classes = {**screen_classes(), "staff_login": StaffLoginScreen,
               "staff_menu": StaffMenuScreen}
    manager.add_widget(classes[name](name=name))
