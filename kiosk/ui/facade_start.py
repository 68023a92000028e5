"""The facade of the touchscreen, built and started from the first frame on, off the main thread.

Drawing the first screen needs none of the facade's modules (``kiosk.app``: sqlite-utils, the
staff menu, the store...). They load on a thread of their own that `FacadeStart.begin` starts
in the tick after the first frame (once that frame is on screen: a thread importing while it
is swapped to the screen would delay it): the thread imports the facade, builds it
(``make_kiosk``), listens to it and starts it (``Kiosk.start_in_background``: the store opens
on the start thread), while the main thread draws and answers touches.

The main thread reaches the facade through `FacadeStart.kiosk`: it waits for the thread there
if the thread is not done yet (the facade is handed over only once it listens and starts, so
the main thread never sees it half made), and raises what building it raised. An app given a
facade (tests, the demo's console) starts it on the main thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the facade's modules load on the thread, after the first frame
    from kiosk.app import Kiosk

log = logging.getLogger(__name__)


class FacadeStart:
    """Builds the facade with ``make_kiosk`` (unless given one) and ``made(kiosk)`` (listen to
    it), and starts it once with ``start(kiosk)``, on a thread `begin` starts; see the module
    docstring."""

    def __init__(
        self,
        kiosk: Kiosk | None,
        make_kiosk: Callable[[], Kiosk] | None,
        *,
        made: Callable[[Kiosk], None],
        start: Callable[[Kiosk], None],
    ) -> None:
        if kiosk is None and make_kiosk is None:
            raise ValueError("KioskApp needs a kiosk or make_kiosk")
        self._kiosk = kiosk
        self.given = kiosk
        """The facade the app was given (it listens to it when it starts), else ``None``."""
        self._make_kiosk = make_kiosk
        self._made = made
        self._start = start
        self._begun = False
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def begin(self) -> None:
        """Build and start the facade (once): on a thread when it is still to be built, else
        at once on the calling (main) thread."""
        if self._begun:
            return
        self._begun = True
        if self._kiosk is not None:
            self._start(self._kiosk)
            return
        self._thread = threading.Thread(target=self._build, name="kiosk-facade", daemon=True)
        self._thread.start()

    def _build(self) -> None:
        assert self._make_kiosk is not None
        try:
            kiosk = self._make_kiosk()
            self._made(kiosk)
            self._start(kiosk)
        except BaseException as error:  # raised on the main thread when it asks for the facade
            log.error("the kiosk's facade could not be built", exc_info=error)
            self._error = error
            return
        self._kiosk = kiosk

    @property
    def kiosk(self) -> Kiosk:
        """The facade (main thread): waits for the thread building it, or builds it here when
        `begin` has not run yet (`begin` then starts it on this thread)."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise RuntimeError("the kiosk's facade could not be built") from self._error
        if self._kiosk is None:
            assert self._make_kiosk is not None
            self._kiosk = self._make_kiosk()
            self._made(self._kiosk)
        return self._kiosk

    def built(self) -> Kiosk | None:
        """The facade if it was built (waiting for the thread building it), else ``None``:
        what there is to close when the app stops."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        return self._kiosk
