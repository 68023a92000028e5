"""The customer screens, one module and one ``.kv`` file each (``kiosk/ui/kv/<name>.kv``).

Screen classes hold only what their ``.kv`` needs beyond the app's properties; the words and
the data are the app's (``app.tr``, ``app.cart_rows``...), the decisions the facade's and
``kiosk.ui.customer_view``'s. A screen is registered once, by its name in
``kiosk.ui.navigation.CUSTOMER_SCREENS``: its class is ``<Name>Screen`` in one of
``SCREEN_MODULES`` (``needs_attendant`` -> ``NeedsAttendantScreen``) and its rules ``kv/<name>.kv``.
"""

from __future__ import annotations

from kivy.uix.screenmanager import Screen

from kiosk.ui.navigation import CUSTOMER_SCREENS
from kiosk.ui.screens import attendant, shopping, simple

SCREEN_MODULES = (simple, shopping, attendant)
"""The modules the customer screens' classes live in."""


def class_name(screen: str) -> str:
    """The class name of customer screen ``screen``: ``thank_you`` -> ``ThankYouScreen``."""
    return "".join(part.capitalize() for part in screen.split("_")) + "Screen"


def screen_classes() -> dict[str, type[Screen]]:
    """Every customer screen's class by its name in ``kiosk.ui.navigation.CUSTOMER_SCREENS``
    (a name without its class raises ``LookupError``)."""
    classes: dict[str, type[Screen]] = {}
    for name in CUSTOMER_SCREENS:
        found = [getattr(module, class_name(name)) for module in SCREEN_MODULES
                 if hasattr(module, class_name(name))]
        if not found:
            raise LookupError(f"the customer screen {name!r} has no class "
                              f"{class_name(name)} in kiosk.ui.screens")
        classes[name] = found[0]
    return classes
