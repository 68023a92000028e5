"""The shopping screen: the cart, its totals, Pay, Help and Start over."""

from __future__ import annotations

import time
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

START_OVER_CONFIRM_S = 5.0
"""How long "Start over" waits for the confirming second tap, seconds."""
START_OVER_MIN_GAP_S = 0.6
"""A confirming tap must come at least this long after the first (not a double tap)."""


class CartRow(BoxLayout):
    """One cart line in the cart list (a RecycleView row; data from ``app.cart_rows``)."""

    line_id = NumericProperty(0)
    name = StringProperty("")
    detail = StringProperty("")
    quantity = NumericProperty(1)
    amount = StringProperty("")
    fixed = BooleanProperty(False)
    age_restricted = BooleanProperty(False)
    odd = BooleanProperty(False)


class ShoppingScreen(Screen):
    """``kv/shopping.kv``; "Start over" asks for a second tap before emptying the cart."""

    confirming_start_over = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._confirm_event: Any = None
        self._asked_at = 0.0

    def start_over(self) -> None:
        """First tap: ask to confirm. Second tap within a few seconds: cancel the sale."""
        if not self.confirming_start_over:
            self.confirming_start_over = True
            self._asked_at = time.monotonic()
            self._confirm_event = Clock.schedule_once(self._forget_confirm, START_OVER_CONFIRM_S)
            return
        if time.monotonic() - self._asked_at < START_OVER_MIN_GAP_S:
            return  # the second tap of a double tap is not a confirmation
        self._forget_confirm()
        App.get_running_app().start_over()

    def _forget_confirm(self, *_args: object) -> None:
        self.confirming_start_over = False
        if self._confirm_event is not None:
            self._confirm_event.cancel()
            self._confirm_event = None

    def on_leave(self, *_args: object) -> None:
        """A pending confirmation never carries over to the next visit."""
        self._forget_confirm()
