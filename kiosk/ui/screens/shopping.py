"""The shopping screen: the cart, its totals, Pay, Help and Start over.

After every scan the line it added or counted up is scrolled into view and marked for
`FRESH_MARK_S` (`changed_line` finds it by comparing the cart before and after); a finger
drags the cart. A removed line can be put back for a few seconds ("Removed: <name>  [Undo]",
see ``kiosk.ui.undo_offer``). Start over asks once (``kiosk.ui.widgets.start_over``, the same
question as on the idle prompt).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.ui.undo_offer import UNDO_S, RemovedLine, offer_lasts, removal, removed_now
from kiosk.ui.widgets.product_name import ProductName  # noqa: F401  (kv class, registers on import)

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


def last_scanned(
    shown: Mapping[str, Any], after: Sequence[Mapping[str, Any]], index: int | None
) -> dict[str, Any]:
    """The line the column beside the cart shows large: the one at ``index`` of ``after``
    (new, or counted up), else ``shown`` as it is now in ``after`` (its quantity changed), or
    ``{}`` once that line is gone (removed, the cart emptied)."""
    if index is not None:
        return dict(after[index])
    for row in after:
        if shown and row["line_id"] == shown["line_id"]:
            return dict(row)
    return {}


def fits_beside_totals(
    room: float, others: Sequence[float], spacing: float, needed: float, children: int
) -> bool:
    """True when a column ``room`` high holds its ``others`` (heights) and ``needed`` more,
    with ``spacing`` between each of its ``children``."""
    return sum(others) + spacing * max(0, children - 1) + needed <= room


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

    def remove(self) -> None:
        """Remove: the line goes, and the screen offers to undo it."""
        screen = self._screen()
        if screen is not None:
            screen.remove_line(self.line_id)

    def count_down(self) -> None:
        """"-": one item fewer; a line of one goes as Remove does (with its Undo)."""
        screen = self._screen()
        if screen is not None:
            screen.count_down(self.line_id, self.quantity)

    def _screen(self) -> ShoppingScreen | None:
        holder = self.parent
        while holder is not None and not isinstance(holder, ShoppingScreen):
            holder = holder.parent
        return holder


class ShoppingScreen(Screen):
    """``kv/shopping.kv``: the cart, with Undo for a few seconds after a removal."""

    fresh_line = NumericProperty(-1)
    """The ``line_id`` of the line marked as just scanned (-1: none)."""
    undo_name = StringProperty("")
    """The name of the line the Undo offer would put back ("": no offer on show)."""
    last_item_name = StringProperty("")
    """The last item scanned or counted up, shown large beside the cart (`last_scanned`):
    its name ("": none), its line's amount and detail ("2 x €1.29") and its age badge."""
    last_item_amount = StringProperty("")
    last_item_detail = StringProperty("")
    last_item_age_restricted = BooleanProperty(False)
    last_item_fits = BooleanProperty(True)
    """The column beside the cart has room for the last item (`fits_beside_totals`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fresh_event: Any = None
        self._undo: RemovedLine | None = None
        self._undo_event: Any = None
        self._rows: list[dict[str, Any]] = []
        self._last_item: dict[str, Any] = {}
        app = App.get_running_app()
        if app is not None:  # none while an app stops (a screen built late is never shown)
            self._rows = list(app.cart_rows)
            # built as the first line shows (a scan while the kiosk started): that line is it
            self._show_last_item(dict(self._rows[-1]) if self._rows else {})
            app.bind(cart_rows=self._on_cart_rows, on_stop=self._stop_timers)
        fit = Clock.create_trigger(self._fit_last_item)
        self.ids.side_panel.bind(height=fit)
        self.ids.last_item.bind(minimum_height=fit)

    def _on_cart_rows(self, app: Any, rows: list[dict[str, Any]]) -> None:
        if self._undo is not None and not offer_lasts(self._undo, app.kiosk.checkout):
            self.end_undo()  # a scan, the sale's end...: the offer is over
        index = changed_line(self._rows, rows)
        self._rows = list(rows)
        self._show_last_item(last_scanned(self._last_item, rows, index))
        if index is None:
            return
        self.fresh_line = rows[index]["line_id"]
        if self._fresh_event is not None:
            self._fresh_event.cancel()
        self._fresh_event = Clock.schedule_once(self._forget_fresh, FRESH_MARK_S)
        # after the list has laid out its new rows (next frame)
        Clock.schedule_once(lambda _dt: self._show_line(index, len(rows)))

    def _show_last_item(self, row: dict[str, Any]) -> None:
        self._last_item = row
        self.last_item_name = str(row.get("name", ""))
        self.last_item_amount = str(row.get("amount", ""))
        self.last_item_detail = str(row.get("detail", ""))
        self.last_item_age_restricted = bool(row.get("age_restricted", False))

    def _fit_last_item(self, *_args: object) -> None:
        panel, block = self.ids.side_panel, self.ids.last_item
        if panel.size_hint_y is None:  # portrait: the column grows, the cart gives way
            self.last_item_fits = True
            return
        others = [child.height for child in panel.children if child not in (
            block, self.ids.last_item_rule, self.ids.side_spacer)]
        self.last_item_fits = fits_beside_totals(
            panel.height - panel.padding[1] - panel.padding[3], others, panel.spacing,
            block.minimum_height + self.ids.last_item_rule.height, len(panel.children))

    def _show_line(self, index: int, count: int) -> None:
        cart = self.ids.cart
        rows = cart.layout_manager
        if rows is None or count == 0:
            return
        row_height = rows.height / count  # every CartRow has the same height (the kv)
        cart.scroll_y = scroll_y_showing(index, count, row_height, cart.height, cart.scroll_y)

    def _stop_timers(self, *_args: object) -> None:
        """The app stops: no timer of this screen outlives it (a mark fading later would
        redraw the list of a stopped app)."""
        if self._fresh_event is not None:
            self._fresh_event.cancel()
            self._fresh_event = None
        self.end_undo()

    def _forget_fresh(self, *_args: object) -> None:
        self.fresh_line = -1
        self._fresh_event = None

    # ---------------------------------------------------------------- removal and Undo

    def remove_line(self, line_id: int) -> None:
        """Take line ``line_id`` out of the cart and offer its Undo for `UNDO_S` seconds."""
        app = App.get_running_app()
        offer = removal(app.kiosk.checkout, line_id)
        app.remove_line(line_id)
        if offer is None or not removed_now(offer, app.kiosk.checkout):
            return  # nothing was removed (the cart could not change): nothing to undo
        self.end_undo()  # one offer at a time: the newest removal's
        self._undo = offer
        self.undo_name = offer.line.name
        self._undo_event = Clock.schedule_once(lambda _dt: self.end_undo(), UNDO_S)

    def count_down(self, line_id: int, quantity: int) -> None:
        """"-" on line ``line_id`` of ``quantity`` items: one fewer, or the line removed."""
        if quantity <= 1:
            self.remove_line(line_id)
        else:
            App.get_running_app().change_quantity(line_id, -1)

    def undo_removal(self) -> None:
        """Undo: the removed line goes back as it was (nothing once the offer has ended)."""
        offer = self._undo
        self.end_undo()
        if offer is not None:
            App.get_running_app().kiosk.put_back_line(offer.sale_id, offer.line)

    def end_undo(self) -> None:
        """The Undo offer ends (its time is up, Pay, a scan, the screen left, a new sale)."""
        self._undo = None
        self.undo_name = ""
        if self._undo_event is not None:
            self._undo_event.cancel()
            self._undo_event = None

    def pay(self) -> None:
        """Pay: the Undo offer ends there."""
        self.end_undo()
        App.get_running_app().pay()

    def on_leave(self, *_args: object) -> None:
        """An Undo offer never carries over to the next visit."""
        self.end_undo()
