"""Building the window's screens: the ``.kv`` rules loaded once, each screen built when needed.

The attract screen is built for the first frame (with only the rules it needs,
`FIRST_FRAME_KV`); `BUILT_AFTER_FIRST_FRAME` (shopping and payment: a scan or Pay must not
wait for a build) right after it; every other screen when it is first shown
(``KioskApp._show`` adds it before switching to it), which keeps the widgets of screens a day
may never show out of memory. Each screen's rules load with it; the staff screens' with the
first staff screen, so customers see the kiosk before the staff menu's rules are read.
"""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder
from kivy.uix.screenmanager import ScreenManager

from kiosk.ui.kivy_fixes import steady_scroll_bars
from kiosk.ui.navigation import CUSTOMER_SCREENS, STAFF_SCREENS
from kiosk.ui.screens import screen_classes
from kiosk.ui.staff import STAFF_KV

KV_FOLDER = Path(__file__).parent / "kv"

BUILT_AFTER_FIRST_FRAME = ("shopping", "payment")
"""The screens built right after the first frame; the others are built when first shown."""

FIRST_FRAME_KV = ("widgets", "attract", "root")
"""The ``.kv`` files the first frame needs (the attract screen in the window's root; the demo
panel's rules load only in the demo, `load_demo_kv`, the idle prompt's when it first shows,
`load_idle_prompt_kv`: its countdown formats a number, which loads the language's CLDR data,
about 20 ms)."""

PIN_PAD_SCREENS = frozenset({"needs_attendant"})
"""The customer screens that show the staff PIN pad (their rules need its rules first)."""

_loaded: set[str] = set()


def _load(*names: str) -> None:
    """Load each ``.kv`` file once per process (a second load would duplicate the rules)."""
    for name in names:
        if name not in _loaded:
            Builder.load_file(str(KV_FOLDER / f"{name}.kv"))
            _loaded.add(name)


def load_kv() -> None:
    """Load the rules of the first frame (the others load with their first screen), after
    mending Kivy's ScrollView before any rule builds one (`steady_scroll_bars`)."""
    from kiosk.ui.widgets.accessibility_button import AccessibilityButton  # noqa: F401
    from kiosk.ui.widgets.language_switch import LanguageSwitch  # noqa: F401  (the top bar's)

    steady_scroll_bars()
    _load(*FIRST_FRAME_KV)


def load_idle_prompt_kv() -> None:
    """Load the rules of the "Are you still there?" prompt."""
    _load("idle_prompt")


def load_demo_kv() -> None:
    """Load the demo panel's rules (only the demo shows it)."""
    _load("demo_panel")


def _load_pin_pad() -> None:
    """The PIN pad's widget classes and rules (the staff screens and `PIN_PAD_SCREENS`)."""
    from kiosk.ui.widgets.pin_pad import PinPad  # noqa: F401  (registers its kv classes)

    _load("pin_pad")


def load_screen_kv(name: str) -> None:
    """Load the rules of the customer screen ``name`` (and the PIN pad's, if it shows one)."""
    if name in PIN_PAD_SCREENS:
        _load_pin_pad()
    _load(name)


def load_staff_kv() -> None:
    """Load the staff screens' ``.kv`` files once, when a staff screen is first built (they
    use customer widgets: those rules load first)."""
    from kiosk.ui.widgets.money_pad import MoneyPad  # noqa: F401  (registers its kv classes)

    _load_pin_pad()
    _load(*CUSTOMER_SCREENS, "money_pad", "staff_menu", *STAFF_KV)


def add_screen(manager: ScreenManager, name: str) -> None:
    """Build the screen ``name`` into ``manager`` unless it is there already."""
    if manager.has_screen(name):
        return
    if name in STAFF_SCREENS:
        load_staff_kv()
        from kiosk.ui.staff.shell import StaffLoginScreen, StaffMenuScreen

        classes = {"staff_login": StaffLoginScreen, "staff_menu": StaffMenuScreen}
    else:
        load_screen_kv(name)
        classes = screen_classes()
    manager.add_widget(classes[name](name=name))
