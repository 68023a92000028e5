"""The customer screens, one module and one ``.kv`` file each (``kiosk/ui/kv/<name>.kv``).

Screen classes hold only what their ``.kv`` needs beyond the app's properties; the words and
the data are the app's (``app.tr``, ``app.cart_rows``...), the decisions the facade's.
"""

from __future__ import annotations

from kivy.uix.screenmanager import Screen

from kiosk.ui.screens.attendant import NeedsAttendantScreen
from kiosk.ui.screens.shopping import ShoppingScreen
from kiosk.ui.screens.simple import (
    AttractScreen,
    CheckingScreen,
    ClosedScreen,
    PaidScreen,
    PaymentScreen,
    ThankYouScreen,
)


def screen_classes() -> dict[str, type[Screen]]:
    """Every screen class by its name in ``kiosk.ui.navigation.SCREENS``."""
    return {
        "attract": AttractScreen,
        "shopping": ShoppingScreen,
        "needs_attendant": NeedsAttendantScreen,
        "payment": PaymentScreen,
        "checking": CheckingScreen,
        "paid": PaidScreen,
        "thank_you": ThankYouScreen,
        "closed": ClosedScreen,
    }
