"""The staff menu's pages, in menu order, and the ``.kv`` files they need.

Each page is a ``kiosk.ui.staff.page.StaffPage`` in ``kiosk/ui/staff/<name>_page.py`` with its
layout in ``kiosk/ui/kv/staff_<name>.kv``. The shell (``kiosk.ui.staff.shell``) imports a
page's module only when the menu first opens, so the customer's screens never pay for them.
"""

from __future__ import annotations

PAGES: tuple[tuple[str, str, str], ...] = (
    ("sale", "kiosk.ui.staff.sale_page", "SalePage"),
    ("sales", "kiosk.ui.staff.sales_page", "SalesPage"),
    ("receipts", "kiosk.ui.staff.receipts_page", "ReceiptsPage"),
    ("sync", "kiosk.ui.staff.sync_page", "SyncPage"),
    ("devices", "kiosk.ui.staff.devices_page", "DevicesPage"),
    ("kiosk", "kiosk.ui.staff.kiosk_page", "KioskPage"),
    ("settings", "kiosk.ui.staff.settings_page", "SettingsPage"),
    ("inspection", "kiosk.ui.staff.inspection_page", "InspectionPage"),
    ("audit", "kiosk.ui.staff.audit_page", "AuditPage"),
)
"""(page name, module, class) of every staff menu page, in the order of the menu's tabs."""

STAFF_KV: tuple[str, ...] = tuple(f"staff_{name}" for name, _module, _class in PAGES)
"""The ``.kv`` files (names without ``.kv`` in ``kiosk/ui/kv``) of the pages, loaded once with
the customer's screens."""
