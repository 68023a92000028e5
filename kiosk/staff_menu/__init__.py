"""The staff maintenance menu, as the facade offers it to the screens: ``Kiosk.staff``.

A staff member opens it with their number and PIN; attendants approve, help, reprint, test
devices and look at the lists; managers also refund, import catalogs, open and close the
kiosk, change the runtime settings, restart the app, reboot or power off the machine and
leave the app. Every staff action writes exactly one row to the append-only audit log. The
parts: `access` (PIN, timeout), `sales_desk` (approvals, sales, refunds, copies),
`device_tests`, `kiosk_controls`.
"""

from __future__ import annotations

from kiosk.staff_menu.kiosk_controls import EXIT_LEFT_BY_STAFF, EXIT_RESTART, KioskControls
from kiosk.staff_menu.session import ACTIONS, MANAGER_ONLY, StaffSession

__all__ = [
    "ACTIONS",
    "EXIT_LEFT_BY_STAFF",
    "EXIT_RESTART",
    "MANAGER_ONLY",
    "StaffMenu",
    "StaffSession",
]


class StaffMenu(KioskControls):
    """The staff menu of one kiosk (see the module docstring); everything on the main
    thread, slow answers through ``then`` callbacks run there too."""
