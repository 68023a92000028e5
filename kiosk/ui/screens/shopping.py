"""The shopping screen: the cart, its totals, Pay, Help and Start over.

After every scan the line it added or counted up is scrolled into view and marked for
`FRESH_MARK_S` (`changed_line` finds it by comparing the cart before and after); a finger
drags the cart.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.ui.widgets.product_name import ProductName  # noqa: F401  (kv class, registers on import)

START_OVER_CONFIRM_S = 5.0
"""How long "Start over" waits for the confirming second tap, seconds."""
START_OVER_MIN_GAP_S = 0.6
"""A confirming tap must come at least this long after the first (not a double tap)."""
FRESH_MARK_S = 2.0
"""How long the line a scan added or counted up stays marked, seconds."""


def changed_line(
    before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
) -> int | None:
    """The index in ``after`` of the line that is new or whose quantity grew (the last such
    one), or ``None`` (a line removed or counted down, the cart emptied)."""
    quantities = {row["line_id"]: row["quantity"] for row in before}
    found = None
    for index, row in enumerate(after):
        old = quantities.get(row["line_id"])
        if old is None or row["quantity"] > old:
            found = index
    return found


def scroll_y_showing(index: int, count: int, row_height: float, view_height: float,
                     scroll_y: float) -> float:
    """The ``scroll_y`` (1 top, 0 bottom) that shows row ``index`` of ``count`` rows of
    ``row_height`` whole in a view of ``view_height``, moving as little as possible from
    ``scroll_y``."""
    hidden = count * row_height - view_height  # how far the content can scroll
    if hidden <= 0:
        return 1.0
    top = (1 - scroll_y) * hidden  # the content's offset at the top of the view
    row_top, row_bottom = index * row_height, (index + 1) * row_height
    if row_top < top:
        top = row_top
    elif row_bottom > top + view_height:
        top = row_bottom - view_height
    return min(1.0, max(0.0, 1 - top / hidden))


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
    fresh = BooleanProperty(False)
    """The line the last scan added or counted up (marked for `FRESH_MARK_S`)."""


class ShoppingScreen(Screen):
    """``kv/shopping.kv``; "Start over" asks for a second tap before emptying the cart."""

    confirming_start_over = BooleanProperty(False)
    fresh_line = NumericProperty(-1)
    """The ``line_id`` of the line marked as just scanned (-1: none)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._confirm_event: Any = None
        self._asked_at = 0.0
        self._fresh_event: Any = None
        self._rows: list[dict[str, Any]] = []
        app = App.get_running_app()
        if app is not None:  # none while an app stops (a screen built late is never shown)
            self._rows = list(app.cart_rows)
            app.bind(cart_rows=self._on_cart_rows, on_stop=self._stop_marking)

    def _on_cart_rows(self, _app: object, rows: list[dict[str, Any]]) -> None:
        index = changed_line(self._rows, rows)
        self._rows = list(rows)
        if index is None:
            return
        self.fresh_line = rows[index]["line_id"]
        if self._fresh_event is not None:
            self._fresh_event.cancel()
        self._fresh_event = Clock.schedule_once(self._forget_fresh, FRESH_MARK_S)
        # after the list has laid out its new rows (next frame)
        Clock.schedule_once(lambda _dt: self._show_line(index, len(rows)))

    def _show_line(self, index: int, count: int) -> None:
        cart = self.ids.cart
        rows = cart.layout_manager
        if rows is None or count == 0:
            return
        row_height = rows.height / count  # every CartRow has the same height (the kv)
        cart.scroll_y = scroll_y_showing(index, count, row_height, cart.height, cart.scroll_y)

    def _stop_marking(self, *_args: object) -> None:
        """The app stops: no timer of this screen outlives it (a mark fading later would
        redraw the list of a stopped app)."""
        if self._fresh_event is not None:
            self._fresh_event.cancel()
            self._fresh_event = None

    def _forget_fresh(self, *_args: object) -> None:
        self.fresh_line = -1
        self._fresh_event = None

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
