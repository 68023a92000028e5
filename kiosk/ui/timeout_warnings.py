"""The customer's timeout warnings on screen: "Do you need more time?" and the "More time"
button over the screen whose timeout is ending (``kiosk.ui.timeouts`` decides which and
when; ``customer_view.timeout_warning`` words it; the walk-away keeps its own prompt).

``app.timeouts.warning`` holds the warning on show (the walk-away's too), so the words can be
read aloud by audio guidance as well as shown.
"""

from __future__ import annotations

from typing import Any

from kivy.event import EventDispatcher
from kivy.properties import ObjectProperty

from kiosk.ui.customer_view import THANK_YOU_QR_S, CustomerView, timeout_warning
from kiosk.ui.screen_building import load_idle_prompt_kv
from kiosk.ui.timeouts import TimeoutWatch, timed_wait, timeout_stretch
from kiosk.ui.widgets.idle_prompt import TimeoutWarningPrompt


class TimeoutWarnings(EventDispatcher):
    """Follows the screen on show, counts its timeout down and shows the warning in time.

    ``app`` is the ``KioskApp`` (its ``settings``, ``modes``, ``tr``, ``kiosk``, ``qr_source``,
    ``thank_you_s`` and ``idle_countdown``). The kv files read ``app.timeouts.warning``.
    """

    warning: Any = ObjectProperty(None, allownone=True)
    """The ``customer_view.TimeoutWarning`` on show (the walk-away's too), or ``None``."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self._app = app
        self.watch = TimeoutWatch()
        self.prompt: TimeoutWarningPrompt | None = None
        """"Do you need more time?", built the first time a warning shows."""
        # the walk-away prompt's countdown, and the words in the language just chosen
        app.bind(idle_countdown=self._changed, language=self._changed)

    def _changed(self, *_args: Any) -> None:
        self.update()

    def walk_away_s(self) -> int:
        """Seconds the inactivity prompt counts down now (``idle_abandon_after_s``, longer
        in a mode)."""
        return int(self._app.settings.timeouts.idle_abandon_after_s * self.stretch())

    def thank_you_s(self, qr_shown: bool) -> float:
        """Seconds the thank-you screen stays now: longer with a QR code to scan, and longer
        still in a mode; the plain one (nothing to read, nothing lost) stays as it is."""
        if qr_shown:
            return THANK_YOU_QR_S * self.stretch()
        return float(self._app.thank_you_s)

    def stretch(self) -> float:
        """How many times longer the customer's timeouts run now (the modes on)."""
        return timeout_stretch(self._app.modes)

    def shown(self, view: CustomerView) -> None:
        """A screen was shown for ``view``: follow its timeout, if it has one."""
        app = self._app
        kind = timed_wait(view.screen, view.payment.mode, bool(app.qr_source))
        timeouts = app.settings.timeouts
        total = {"card": timeouts.payment_idle_s, "receipt": timeouts.receipt_choice_s,
                 "qr": THANK_YOU_QR_S}.get(kind or "", 0.0) * self.stretch()
        self.watch.follow(kind, total)
        self.update()

    def touched(self) -> None:
        """A touch on the screen: the facade restarts the card wait and the receipt choice,
        so the count does too (the QR code's time runs on until "More time")."""
        if self.watch.kind in ("card", "receipt"):
            self.watch.restart()
            self.update()

    def more_time(self) -> None:
        """The customer asked for more time: the running timeout starts again."""
        app = self._app
        if self.watch.kind == "qr":
            app.thank_you_time.wait(self.thank_you_s(True))  # the thank-you screen's timer
        else:
            app.kiosk.touch()
        self.watch.restart()
        self.update()

    def tick(self) -> None:
        """Once a second: time passes for the facade (its timeouts stretched in a mode), and
        the warning follows."""
        self._app.kiosk.tick(self.stretch())
        self.update()

    def update(self) -> None:
        """The warning's words (``warning``) and its prompt, after any change."""
        app = self._app
        idle = app.idle_countdown > 0
        countdown = ("idle", int(app.idle_countdown)) if idle else self.watch.warning()
        self.warning = timeout_warning(countdown, app.tr)
        wanted = countdown is not None and not idle
        prompt = self.prompt
        if wanted and prompt is None:
            load_idle_prompt_kv()
            prompt = self.prompt = TimeoutWarningPrompt()
        if prompt is not None:
            if wanted and prompt.parent is None:
                prompt.open(animation=False)
            elif not wanted and prompt.parent is not None:
                prompt.dismiss(animation=False)
