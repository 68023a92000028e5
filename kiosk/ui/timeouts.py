"""The customer's timeouts: how long they run, and when the screen warns that one is ending.

Timeouts a customer meets, and what this project decided about each:

- **walk-away** (``[timeouts] idle_prompt_after_s``, then ``idle_abandon_after_s``): the
  inactivity prompt is the warning; "Yes, continue" gives the time again, "Start over" empties
  the cart (``kiosk.ui.widgets.idle_prompt.IdlePrompt``).
- **card wait** (``payment_idle_s``): no card at the reader and no touch; the payment is
  withdrawn and the customer is back at the cart. Warned (``"card"``): "More time" is a touch,
  which restarts the facade's wait.
- **receipt choice** (``receipt_choice_s``) on the paid screen: the default applies. Warned
  (``"receipt"``): "More time" restarts it (a touch on the paid screen does too).
- **QR e-receipt** on the thank-you screen (``customer_view.THANK_YOU_QR_S``): the code goes
  away while a phone may still be reaching for it. Warned (``"qr"``): "More time" shows it for
  the whole time again.

Not warned: the plain thank-you screen (a few seconds after the customer is done, nothing of
theirs is lost), the language and modes reset on screens without a sale (no customer's work
is lost: the next one starts in the shop's defaults), the authorisation and payment limits
(``authorisation_wait_s``, ``payment_max_s``: no customer action would help; staff are
called) and the staff PIN pad (staff, not customers).

In an accessibility mode (any ``Modes`` field on) every customer timeout above runs
``MODE_STRETCH`` times longer. Nothing here imports kivy: ``kiosk.ui.timeout_warnings`` puts
the warnings on screen.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from kiosk.ui.accessibility import SHOP_DEFAULTS, Modes

MODE_STRETCH = 2.0
"""How many times longer the customer's timeouts run while any accessibility mode is on.

A customer who listens to audio guidance, moves a focus ring with keys, reads enlarged text
or reaches from a wheelchair takes longer for each step; the shop's timeouts are tuned for
the typical customer (WCAG 2.2.1 "Timing Adjustable", EN 301 549 5.1.3.x / 11.2.2.1, asks
that time limits can be extended: the warnings' "More time" does that on every timeout, and
doubling them in a mode means such a customer meets the warning half as often). Twice as
long keeps the walk-away abandonment of a forgotten cart within a few minutes."""

WARN_S = 20.0
"""A warning comes this many seconds before a timeout ends (WCAG 2.2.1 gives the user at
least 20 s to ask for more time), or half-way through a timeout shorter than twice this."""


def timeout_stretch(modes: Modes) -> float:
    """How many times longer the customer's timeouts run in ``modes``: ``MODE_STRETCH`` when
    any mode is on (whatever modes exist), 1 with the shop's defaults."""
    return 1.0 if modes == SHOP_DEFAULTS else MODE_STRETCH


def warns_after(total_s: float) -> float:
    """Seconds into a timeout of ``total_s`` at which its warning appears."""
    return max(total_s - WARN_S, total_s / 2)


def timed_wait(screen: str, payment_mode: str, qr_shown: bool) -> str | None:
    """Which warned timeout runs on ``screen``: ``"card"`` (the card screen while the reader
    waits for a card: ``payment_mode`` ``"waiting"``), ``"receipt"`` (the paid screen's receipt
    choice), ``"qr"`` (the thank-you screen with a QR code) or ``None`` (none; the walk-away
    has its own prompt)."""
    if screen == "payment" and payment_mode == "waiting":
        return "card"
    if screen == "paid":
        return "receipt"
    if screen == "thank_you" and qr_shown:
        return "qr"
    return None


class TimeoutWatch:
    """The countdown of the warned timeout on screen, on the UI's clock (``now``: seconds).

    ``follow`` is told what runs after every change of screen (a new kind starts the count);
    ``restart`` starts it again ("More time", a touch); ``warning`` says the seconds left once
    inside the warning window.
    """

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self.now = now
        self.kind: str | None = None
        self.total_s = 0.0
        self._started = 0.0

    def follow(self, kind: str | None, total_s: float) -> None:
        """``kind`` (see ``timed_wait``) runs for ``total_s``; the same kind keeps counting."""
        if kind != self.kind:
            self.kind = kind
            self._started = self.now()
        self.total_s = total_s

    def restart(self) -> None:
        """Count the running timeout from its start again."""
        self._started = self.now()

    def warning(self) -> tuple[str, int] | None:
        """``(kind, whole seconds left)`` while the running timeout is in its warning window."""
        if self.kind is None:
            return None
        elapsed = self.now() - self._started
        if elapsed < warns_after(self.total_s):
            return None
        return self.kind, max(0, round(self.total_s - elapsed))
