"""What every part of the staff menu shares: the facade it belongs to, the open session, the
role check, the one audit row per action and the way slow answers reach the main thread.

The staff menu is part of the facade (``kiosk.app.Kiosk``), split out of it to keep each
module to one job; it uses the facade's store worker, reader connection, clock and notice
listeners, as the facade's own methods do. Everything here runs on the main thread;
``then`` callbacks are always called there too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlite_utils import Database

from kiosk.notices import StaffActionDone
from kiosk.staff_menu.session import StaffSession
from kiosk.store import audit

if TYPE_CHECKING:
    from kiosk.app import Kiosk

log = logging.getLogger(__name__)

T = TypeVar("T")

WRITE_WAIT_S = 10.0
"""How long an action that must be on disk before it takes effect (closing the kiosk,
leaving the app) waits for the store worker, in seconds."""


class MenuBase:
    """The shared state and plumbing of `kiosk.staff_menu.StaffMenu`."""

    def __init__(self, kiosk: Kiosk) -> None:
        self._kiosk = kiosk
        self._session: StaffSession | None = None
        self._touched_at: datetime | None = None

    @property
    def session(self) -> StaffSession | None:
        """The open staff session, or ``None`` while customers have the screen."""
        return self._session

    def may(self, action: str) -> bool:
        """True when a staff session is open and its role allows ``action``."""
        return self._session is not None and self._session.may(action)

    # ------------------------------------------------------------------ plumbing

    def _now(self) -> datetime:
        return self._kiosk._clock()

    def _tidy_up(self) -> dict[str, Any]:
        """Undo what a test left on a device as the menu closes; what was done, for the
        ``staff.menu_close`` row (empty: nothing). Parts of the menu extend it."""
        return {}

    def _sale_open(self) -> bool:
        """True while a customer's sale is open or a card payment may still complete."""
        checkout = self._kiosk.checkout
        return checkout.sale_id is not None or checkout.payment_pending

    def _reader(self) -> Database:
        """The main thread's read connection (the kiosk has started)."""
        reader = self._kiosk._reader
        if reader is None:
            raise RuntimeError("the kiosk has not started")
        return reader

    def _guard(self, action: str) -> StaffSession | None:
        """The session allowed to do ``action``, or ``None`` after refusing it: without a
        session a ``StaffActionDone(action, "not_allowed")`` notice; with the wrong role also
        one audit row (outcome ``not_allowed``)."""
        session = self._session
        if session is not None and session.may(action):
            self._touched_at = self._now()
            return session
        if session is not None:
            self._audit(f"staff.{action}", "not_allowed", session.staff_number)
        self._kiosk._emit(StaffActionDone(action, "not_allowed"))
        return None

    def _audit(
        self,
        action: str,
        outcome: str,
        staff_number: int | None,
        detail: dict[str, Any] | None = None,
    ) -> Future[int]:
        """Write the one audit row of a staff action on the store worker."""
        at = self._now()
        return self._kiosk._write(
            lambda db: audit.record(db, at=at, action=action, outcome=outcome,
                                    staff_number=staff_number, detail=detail),
            f"record the staff action {action}",
            retry=True,
        )

    def _wait(self, future: Future[T]) -> T:
        """Wait for a store job whose result must be on disk before the action goes on."""
        return future.result(WRITE_WAIT_S)

    def _on_main(
        self,
        future: Future[T],
        then: Callable[[T], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        """Call ``then(result)`` or ``failed(error)`` on the main thread once ``future`` ends."""
        post = self._kiosk._post

        def done(ended: Future[T]) -> None:
            error = ended.exception()
            if error is None:
                result = ended.result()
                post(lambda: then(result))
            else:
                post(lambda: failed(error))

        future.add_done_callback(done)

    def _in_thread(self, name: str, job: Callable[[], T]) -> Future[T]:
        """Run a blocking call (a Stripe request, logind) off the main thread."""
        future: Future[T] = Future()

        def run() -> None:
            try:
                future.set_result(job())
            except BaseException as error:  # handed to the caller's ``failed``
                future.set_exception(error)

        threading.Thread(target=run, name=f"staff-{name}", daemon=True).start()
        return future
