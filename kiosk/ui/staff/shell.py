"""The staff screens: the PIN pad behind the corner button, and the staff menu around its pages.

``StaffLoginScreen`` (``staff_login``) takes a staff number and PIN and shows each answer in
words; a right PIN opens a staff session in the facade, and the app then shows
``StaffMenuScreen`` (``staff_menu``): who is logged in, a warning while the card reader's
inspection is overdue, "Back to the customer", one tab per page of ``kiosk.ui.staff.PAGES``
(pages for managers only are not listed for attendants) and the page on show. Pages are built
when first shown in a session and dropped when the session ends, so the next staff member
starts afresh. Layout in ``kv/staff_menu.kv``.
"""

from __future__ import annotations

import functools
import importlib
import logging
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.i18n import N_
from kiosk.ui.staff import PAGES
from kiosk.ui.staff.page import StaffPage
from kiosk.ui.widgets.basic import TouchButton

if TYPE_CHECKING:  # the notices load with the facade, after the first frame
    from kiosk.notices import Notice

log = logging.getLogger(__name__)

ROLE_WORDS = {"attendant": N_("Attendant"), "manager": N_("Manager")}
"""The staff roles as the menu's header names them."""

CALL_PAGE = "sale"
"""The page a menu opened at an attendant call starts on."""


@functools.cache
def page_classes() -> dict[str, type[StaffPage]]:
    """Every page class of ``PAGES`` by page name (imported on the first call)."""
    classes: dict[str, type[StaffPage]] = {}
    for name, module_name, class_name in PAGES:
        page_class = getattr(importlib.import_module(module_name), class_name)
        if not (isinstance(page_class, type) and issubclass(page_class, StaffPage)):
            raise TypeError(f"{module_name}.{class_name} is not a StaffPage")
        classes[name] = page_class
    return classes


class StaffLoginScreen(Screen):
    """``staff_login``: "Staff only", the PIN pad and the answer to each PIN, a way back."""

    def on_pre_enter(self, *_args: object) -> None:
        """Start with an empty pad and no answer from before."""
        self.ids.pin_pad.clear()
        App.get_running_app().staff_message = ""

    def on_leave(self, *_args: object) -> None:
        """Never leave a half-typed staff number or PIN on the pad."""
        self.ids.pin_pad.clear()
        App.get_running_app().staff_message = ""


class StaffMenuScreen(Screen):
    """``staff_menu``: the header, the tabs and the page on show."""

    page_name = StringProperty("")
    """The name of the page on show (``""`` while no session is open)."""
    inspection_overdue = BooleanProperty(False)
    lockout_notice = StringProperty("")
    """The notice at the top of the menu about staff lockouts of the last 24 hours
    (translated; ``""`` when there were none)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pages: dict[str, StaffPage] = {}
        self._tabs: dict[str, TouchButton] = {}

    @property
    def page(self) -> StaffPage | None:
        """The page on show, if any."""
        return self._pages.get(self.page_name)

    def open_session(self, reason: str) -> None:
        """A staff session opened (``reason``: ``login`` or ``call``): tabs for the staff
        member's role, then the first page (the sale page for a call)."""
        self.close_session()
        session = App.get_running_app().kiosk.staff.session
        is_manager = session is not None and session.is_manager
        box = self.ids.tabs
        for name, page_class in page_classes().items():
            if page_class.manager_only and not is_manager:
                continue
            tab = Factory.StaffTab()
            tab.msgid = page_class.title
            tab.bind(on_release=lambda _tab, name=name: self.show_page(name))
            box.add_widget(tab)
            self._tabs[name] = tab
            self.ids[f"staff_page_{name}"] = tab
        self.refresh_inspection()
        self.show_page(CALL_PAGE if reason == "call" else next(iter(self._tabs)))

    def close_session(self) -> None:
        """The session ended: forget its pages and tabs."""
        self.ids.page_box.clear_widgets()
        self.ids.tabs.clear_widgets()
        for name in self._tabs:
            self.ids.pop(f"staff_page_{name}", None)
        self._tabs.clear()
        self._pages.clear()
        self.page_name = ""

    def show_page(self, name: str) -> None:
        """Show page ``name`` (built on its first visit in this session) and refresh it."""
        if name not in self._tabs:
            log.warning("the staff menu has no page %r for this staff member", name)
            return
        page = self._pages.get(name)
        if page is None:
            page = page_classes()[name]()
            self._pages[name] = page
        box = self.ids.page_box
        box.clear_widgets()
        box.add_widget(page)
        self.page_name = name
        for tab_name, tab in self._tabs.items():
            tab.role = "accent" if tab_name == name else "neutral"
        page.refresh()

    def refresh_inspection(self) -> None:
        """Read whether the card reader's inspection is overdue (the header's warning) and
        the staff lockouts of the last day (the notice below the header)."""
        app = App.get_running_app()
        status = app.kiosk.staff.inspection_status()
        self.inspection_overdue = bool(status.overdue)
        lockouts = app.kiosk.staff.recent_lockouts()
        if not lockouts:
            self.lockout_notice = ""
            return
        newest, more = lockouts[0], len(lockouts) - 1
        at = app.local_time(newest.at)
        if more == 0:
            self.lockout_notice = app.tr(
                "Locked out after too many wrong PINs: staff {number} at {time}.",
                number=newest.staff_number,
                time=at,
            )
        else:
            self.lockout_notice = app.tr.ntr(
                "Locked out after too many wrong PINs: staff {number} at {time}, and {n} "
                "more lockout in the last 24 hours.",
                "Locked out after too many wrong PINs: staff {number} at {time}, and {n} "
                "more lockouts in the last 24 hours.",
                more,
                number=newest.staff_number,
                time=at,
            )

    def go_to_inspection(self) -> None:
        """The overdue warning was tapped: the inspection page."""
        self.show_page("inspection")

    def on_notice(self, notice: Notice) -> None:
        """A facade notice while the menu is open: to the page on show."""
        from kiosk.notices import InspectionRecorded  # loaded with the facade

        if isinstance(notice, InspectionRecorded):
            self.refresh_inspection()
        page = self.page
        if page is not None:
            page.on_notice(notice)
