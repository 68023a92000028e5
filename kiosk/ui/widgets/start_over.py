"""Start over asks once, the same way everywhere: "Empty the cart and start over?"

The cart's Start over button and the one on the "Are you still there?" prompt both call
`ask_start_over`: one question over the screen (``kv/start_over.kv``) with "Keep shopping"
and "Yes, start over". Only "Yes, start over" empties the cart (``app.start_over``); "Keep
shopping", a touch beside the question or `START_OVER_ASK_S` without an answer keep it.

A double tap never answers: for `START_OVER_MIN_GAP_S` after the question appears every touch
on it is ignored, so the second tap of a double tap on Start over (which may land where "Yes,
start over" now is) does nothing. The question does not count as the customer being there:
on the idle prompt the countdown runs on beneath it, and when the sale ends (walked away,
started over) or the screen changes, the question goes with it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import StringProperty
from kivy.uix.modalview import ModalView

START_OVER_ASK_S = 10.0
"""How long the question waits for an answer before it goes (the cart kept), seconds."""
START_OVER_MIN_GAP_S = 0.6
"""Touches on the question this soon after it appeared are ignored (a double tap), seconds."""

RULES = Path(__file__).resolve().parent.parent / "kv" / "start_over.kv"
"""The question's looks, loaded the first time it is asked (not for the first frame)."""

_rules_loaded = False


class StartOverQuestion(ModalView):
    """"Empty the cart and start over?" over the screen, until answered (or `START_OVER_ASK_S`)."""

    background = StringProperty("")
    """No image behind the panel (the panel draws itself; see ``IdlePrompt.background``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._asked_at = time.monotonic()
        self._app: Any = App.get_running_app()
        self._expiry: Any = None

    def on_open(self) -> None:
        """Asked: start the wait for an answer; the question follows the screen and the app."""
        self._asked_at = time.monotonic()
        self._expiry = Clock.schedule_once(lambda _dt: self.close(), START_OVER_ASK_S)
        self._app.bind(current_screen=self._on_screen, on_stop=self._on_app_stop)

    def on_touch_down(self, touch: Any) -> bool:
        """A touch right after the question appeared is ignored; one beside it keeps shopping;
        the buttons answer."""
        if time.monotonic() - self._asked_at < START_OVER_MIN_GAP_S:
            return True  # the second tap of a double tap answers nothing
        if not self.ids.box.collide_point(*touch.pos):
            self.keep_shopping()
            return True
        return bool(super().on_touch_down(touch))

    def start_over(self) -> None:
        """"Yes, start over": the sale is cancelled and the cart emptied."""
        self.close()
        self._app.start_over()

    def keep_shopping(self) -> None:
        """"Keep shopping": the cart stays, and the customer is still there (the idle prompt,
        if up, closes as after "Yes, continue")."""
        self.close()
        self._app.still_here()

    def close(self) -> None:
        """Take the question away (no answer given)."""
        if self.parent is not None:
            self.dismiss(animation=False)

    def on_dismiss(self) -> None:
        """Gone: no timer or binding of the question outlives it."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        self._app.unbind(current_screen=self._on_screen, on_stop=self._on_app_stop)

    def _on_screen(self, _app: Any, screen: str) -> None:
        if screen != "shopping":  # the sale ended (walked away, started over) or moved on
            self.close()

    def _on_app_stop(self, *_args: Any) -> None:
        self.close()


def open_question() -> StartOverQuestion | None:
    """The question on show, if any."""
    for widget in Window.children:
        if isinstance(widget, StartOverQuestion):
            return widget
    return None


def ask_start_over() -> StartOverQuestion:
    """Ask "Empty the cart and start over?" (once: a question on show already is kept)."""
    global _rules_loaded
    asked = open_question()
    if asked is not None:
        return asked
    if not _rules_loaded:
        Builder.load_file(str(RULES))
        _rules_loaded = True
    question = StartOverQuestion()
    question.open(animation=False)
    return question
