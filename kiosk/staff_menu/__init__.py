"""The staff maintenance menu, as the facade offers it to the screens: ``Kiosk.staff``.

A staff member opens it with their number and PIN; attendants approve, help, reprint, test
devices and look at the lists; managers also refund, import catalogs, open and close the
kiosk, change the runtime settings, restart the app, reboot or power off the machine and
leave the app. Every staff action writes exactly one row to the append-only audit log.

`StaffMenu` (``menu``) is composed of parts, each given the same `MenuHost` (``host``: what
the menu may use of the kiosk) and the same `SignedIn` holder (``signed_in``): `MenuAccess`
(``access``: PIN, timeout), `SalesAndRefunds` (``sales``: approvals, sales, refunds,
copies), `DeviceTests` (``device_tests``) and `KioskControls` (``kiosk_controls``). The one
staff PIN check, also used by attendant approvals, is ``pin_check``. Nothing here imports
``kiosk.app``.
"""

from __future__ import annotations

from kiosk.staff_menu.host import MenuHost
from kiosk.staff_menu.kiosk_controls import EXIT_LEFT_BY_STAFF, EXIT_RESTART
from kiosk.staff_menu.menu import StaffMenu
from kiosk.staff_menu.pin_check import MAX_STAFF_NUMBER, check_staff_pin, staff_checked
from kiosk.staff_menu.session import ACTIONS, MANAGER_ONLY, StaffSession

__all__ = [
    "ACTIONS",
    "EXIT_LEFT_BY_STAFF",
    "EXIT_RESTART",
    "MANAGER_ONLY",
    "MAX_STAFF_NUMBER",
    "MenuHost",
    "StaffMenu",
    "StaffSession",
    "check_staff_pin",
    "staff_checked",
]
