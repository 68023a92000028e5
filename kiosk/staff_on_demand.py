"""The facade's staff menu, built the first time it is needed.

The staff menu's modules (``kiosk.staff_menu``: sign-in, the sales report, the device tests,
the kiosk controls) are a good part of the facade's import, which lies between the first frame
and the first scan. `StaffMenuOnDemand` builds the menu on first use (a staff member signing in, a
PIN checked, a staff page opened) and answers what the customer's screens and a scan ask
before then without it: is a staff session open (no menu, no session), have staff closed the
kiosk, and the runtime settings staff changed (read from the store as the menu reads them: only
the menu changes them, and once built it answers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from sqlite_utils import Database

from kiosk.store.runtime_settings import RuntimeSettings

if TYPE_CHECKING:  # loaded on first use
    from kiosk.staff_menu import MenuHost, StaffMenu

KIOSK_CLOSED = "kiosk.closed"
"""The runtime setting that says staff closed the kiosk (``kiosk.staff_menu.kiosk_controls``)."""


class StaffMenuOnDemand:
    """A staff menu built with ``make_host()`` on first use; ``reader()`` is the main thread's
    store connection (``None`` before the kiosk has started), ``languages`` the shop's."""

    def __init__(
        self,
        make_host: Callable[[], MenuHost],
        reader: Callable[[], Database | None],
        languages: Sequence[str],
    ) -> None:
        self._make_host = make_host
        self._reader = reader
        self._languages = languages
        self._menu: StaffMenu | None = None

    @cached_property
    def host(self) -> MenuHost:
        """What the staff menu may use of the kiosk (also the PIN check of attendant calls)."""
        return self._make_host()

    @property
    def menu(self) -> StaffMenu:
        """The staff menu, built now if it was not yet."""
        if self._menu is None:
            from kiosk.staff_menu import StaffMenu

            self._menu = StaffMenu(self.host)
        return self._menu

    @property
    def built(self) -> StaffMenu | None:
        """The staff menu if it was built, else ``None`` (then no staff session is open)."""
        return self._menu

    def session_open(self) -> bool:
        """True while a staff session is open (never before the menu is built)."""
        return self._menu is not None and self._menu.session is not None

    def closed(self) -> bool:
        """True while staff have closed the kiosk (`StaffMenu.closed`); False before the kiosk
        has started."""
        if self._menu is not None:
            return self._menu.closed
        reader = self._reader()
        if reader is None:
            return False
        settings = RuntimeSettings(reader, languages=self._languages)
        return bool(settings.get(KIOSK_CLOSED))

    def runtime_values(self) -> dict[str, object]:
        """The value of every setting staff may change at the kiosk, as stored (read without
        building the menu; ``{}`` before the kiosk has started)."""
        if self._menu is not None:
            return {key: value for key, _what, value in self._menu.runtime_settings()}
        reader = self._reader()
        if reader is None:
            return {}
        return dict(RuntimeSettings(reader, languages=self._languages).values())
