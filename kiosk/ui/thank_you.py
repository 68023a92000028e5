"""The thank-you screen's time, and the e-receipt QR code it shows.

``ThankYouTime`` knows whether the thank-you screen is up, since when, and ends it after its
time (``kiosk.ui.app.THANK_YOU_S``, longer with a QR code: ``THANK_YOU_QR_S``) or at a touch
(``kiosk.ui.customer_view.touch_ends_thank_you`` decides). `draw_ereceipt_qr` draws the code
for the sale that just ended, keeping only the current customer's image on disk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.clock import Clock

from kiosk.config import Settings
from kiosk.receipts.ereceipt import ereceipt_url, qr_png
from kiosk.ui.customer_view import THANK_YOU_TOUCH_GRACE_S, touch_ends_thank_you

log = logging.getLogger(__name__)


class ThankYouTime:
    """Whether the thank-you screen is up; ``on_end`` runs when its time is over."""

    def __init__(self, on_end: Callable[[], None]) -> None:
        """``on_end()`` runs on Kivy's clock when the screen's time is up."""
        self.showing = False
        self._since = 0.0
        self._event: Any = None
        self._on_end = on_end

    def begin(self, wait_s: float) -> None:
        """The thank-you screen shows now, for ``wait_s`` seconds."""
        self.showing = True
        self._since = time.monotonic()
        self.wait(wait_s)

    def wait(self, wait_s: float) -> None:
        """End the screen ``wait_s`` seconds from now (instead of when it was due)."""
        self._cancel()
        self._event = Clock.schedule_once(lambda _dt: self._on_end(), wait_s)

    def end(self) -> bool:
        """The screen goes: False when it was not up."""
        if not self.showing:
            return False
        self.showing = False
        self._cancel()
        return True

    def done_allowed(self) -> bool:
        """"Done" may end the screen: not within ``THANK_YOU_TOUCH_GRACE_S`` of its start (the
        second tap of a double tap on the receipt choice)."""
        return time.monotonic() - self._since > THANK_YOU_TOUCH_GRACE_S

    def ended_by_touch(self, qr_shown: bool) -> bool:
        """A touch now ends the screen (``touch_ends_thank_you``)."""
        return touch_ends_thank_you(self.showing, qr_shown, time.monotonic() - self._since)

    def _cancel(self) -> None:
        if self._event is not None:
            self._event.cancel()
            self._event = None


def draw_ereceipt_qr(settings: Settings, sale_id: str) -> str | None:
    """Draw the e-receipt QR code of ``sale_id`` into the state folder and return its path;
    None without an e-receipt address or when the image cannot be written (logged). The
    previous customer's image is deleted first."""
    url = ereceipt_url(settings, sale_id)
    if url is None:
        return None
    folder = Path(settings.state_dir) / "screen"
    for old in folder.glob("ereceipt-*.png"):  # only the current customer's code is kept
        old.unlink(missing_ok=True)
    path = folder / f"ereceipt-{sale_id}.png"
    try:
        qr_png(url, path)
    except OSError as error:
        log.warning("could not draw the e-receipt QR code: %s", error)
        return None
    return str(path)
