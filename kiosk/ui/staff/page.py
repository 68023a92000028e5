"""The base of every staff menu page: a name, a title, who may open it, and a refresh.

The staff menu screen (``kiosk.ui.staff.shell``) lists the pages of ``kiosk.ui.staff.PAGES``
on its left, shows one at a time and calls ``refresh`` whenever the page is shown and after a
notice that may change what it shows. Pages read and act through ``app.kiosk.staff`` (the
facade's ``kiosk.staff_menu.StaffMenu``), never through storage or devices directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.uix.boxlayout import BoxLayout

if TYPE_CHECKING:  # the notices load with the facade, after the first frame
    from kiosk.notices import Notice


class StaffPage(BoxLayout):
    """One page of the staff menu; subclasses set ``page_name`` and ``title`` and fill
    ``refresh``. ``manager_only`` pages are listed for managers only."""

    page_name = "page"
    """The page's name in ``PAGES`` and in tests (``staff_page_<name>`` is its tab's id)."""
    title = "Page"
    """The tab's words, an English msgid (translated with ``app.tr``)."""
    manager_only = False

    @property
    def app(self) -> Any:
        """The running ``KioskApp``."""
        return App.get_running_app()

    def refresh(self) -> None:
        """Read what the page shows again (called when shown and after relevant notices)."""

    def on_notice(self, notice: Notice) -> None:
        """A facade notice arrived while this page is shown; the default refreshes."""
        self.refresh()
