"""Operation without touch: a USB keypad or keyboard moves a focus ring and presses buttons.

`KeyNavigation` listens to the window's keys (``KioskApp.on_start`` starts it; it stops
with the app), lets ``kiosk.ui.key_router`` decide what each press means (one press, one action;
held keys and chords do nothing twice; a keyboard scanner's Enter is no press) and carries it
out on the widgets:

- **what can be focused**: every visible, enabled button (Kivy's ``ButtonBehavior``: touch
  buttons, language buttons, toggles) of the open question or panel (the topmost
  ``ModalView``), else of the screen on show with the top bar after the screen's own
  controls and the demo strip last; hidden means disabled, opacity 0 anywhere above it, no
  size, or outside the window or the scrolled list that holds it;
- **in what order**: reading order (``kiosk.ui.focus_order``); a widget may declare its own
  with a ``focus_order`` attribute (read after siblings of a lower one) and the place the
  focus starts with ``focus_default`` (otherwise the first accent button: Pay, "Yes,
  continue", "Keep shopping", "Print receipt");
- **where the focus goes by itself**: into a question or panel when it opens, back to where
  it was when it closes; to the new screen's start when the screen changes; to the nearest
  button when the focused one goes (a removed line). Moving past the last visible line of the
  cart scrolls the list on; a focused button is scrolled fully into view;
- **the ring** (``kiosk.ui.widgets.focus_ring``) shows from the first key on and follows the
  focused button; a touch hides it until the next key. The key that shows it neither moves
  nor presses: the customer first sees where they are;
- **Back** presses the screen's or question's way back ("Keep shopping", "Yes, continue",
  "Back to the cart", "Done"); **Help** presses the top bar's Help; **F2** opens the
  accessibility panel (and closes it again).

Every action counts as the customer being there, as a touch does (``activity``).
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.metrics import dp
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.modalview import ModalView
from kivy.uix.screenmanager import Screen
from kivy.uix.scrollview import ScrollView
from kivy.uix.stencilview import StencilView
from kivy.uix.widget import Widget
from kivy.weakproxy import WeakProxy

from kiosk.ui.focus_order import (
    Focusable,
    Node,
    Rect,
    first_focus,
    nearest,
    reading_order,
    step,
    visible_part,
)
from kiosk.ui.key_router import Action, KeyRouter
from kiosk.ui.widgets.focus_ring import FocusRing

log = logging.getLogger(__name__)

BACK_IDS = ("keep_shopping_button", "continue_button", "back_button", "done_button")
"""The ways back, by kv id, in order of preference: a question's "Keep shopping", the idle
prompt's "Yes, continue", the card screen's "Back to the cart", a panel's or the thank-you
screen's "Done"."""
FOLLOW_S = 0.05
"""While the ring shows, how often it checks where the focused button is (seconds)."""
SCROLL_SETTLE_S = 0.05
"""After scrolling the cart on, the wait before the focus moves (its rows are laid out)."""
SCROLL_WAITS = 4
"""After scrolling the cart on, how often (every `SCROLL_SETTLE_S`) the focus looks again for
the next line before it leaves the cart (on a slow machine the rows of the new place are laid
out a frame or two later)."""
LOOK_AGAIN_S = 0.25
"""While the focus waits for its place on a new screen, how often it looks again (seconds)."""
REMEMBERED = 8
"""Screens and questions whose last focus is remembered (to return to after a question)."""


class KeyNavigation:
    """The keys, the focus and the ring for one ``KioskApp``."""

    def __init__(
        self, app: Any, *, activity: Callable[[Any, Any], Any],
        on_burst: Callable[[str], None] | None = None,
        on_key: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``activity(window, None)`` is called for every action (the app's touch handler:
        the customer is there). ``on_burst(text)`` receives what a keyboard-wedge scanner
        typed (default: logged, not scanned: no keyboard scanner is supported yet).
        ``on_key()`` runs at every key going down, before the key is taken from the window's
        other listeners (audio guidance stops its sentence there)."""
        self.app = app
        self.router = KeyRouter(on_burst=on_burst or _log_burst)
        self.ring = FocusRing()
        self._activity = activity
        self._on_key = on_key
        self._clock = clock
        self._focused: weakref.ref[Widget] | None = None
        self._focused_rect: Rect | None = None
        self._scope_key: int | None = None
        self._remembered: dict[int, tuple[weakref.ref[Widget], Any]] = {}
        self._follow_event: Any = None
        self._placed = False
        self._looked_at = -1e9
        self._returning_to: tuple[Any, Any] = (None, None)
        self._focused_path: tuple[Hashable, ...] = ()
        self._anchor: tuple[weakref.ref[Widget], int, str] | None = None
        self._due_event: Any = None

    # ------------------------------------------------------------------------ lifecycle

    @classmethod
    def started(cls, app: Any, *, activity: Callable[[Any, Any], Any],
                on_key: Callable[[], Any] | None = None) -> KeyNavigation:
        """A `KeyNavigation` for ``app``, started now and stopped when the app stops."""
        navigation = cls(app, activity=activity, on_key=on_key)
        navigation.start()
        return navigation

    def start(self) -> None:
        """Listen to the window's keys and touches (until the app stops); the ring goes on
        the window (hidden)."""
        self.app.bind(on_stop=self._on_app_stop)
        Window.bind(on_key_down=self._on_key_down, on_key_up=self._on_key_up,
                    on_textinput=self._on_textinput, on_touch_down=self._on_touch)
        self.app.bind(colours=self._on_colours)
        self._on_colours(self.app, self.app.colours)
        self.ring.attach()

    def _on_app_stop(self, *_args: Any) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop listening; the ring leaves the window."""
        self.app.unbind(on_stop=self._on_app_stop)
        Window.unbind(on_key_down=self._on_key_down, on_key_up=self._on_key_up,
                      on_textinput=self._on_textinput, on_touch_down=self._on_touch)
        self.app.unbind(colours=self._on_colours)
        self._hide()
        if self._due_event is not None:
            self._due_event.cancel()
            self._due_event = None
        self.ring.detach()

    # ------------------------------------------------------------------------ reading

    @property
    def focused(self) -> Widget | None:
        """The button the keys act on (while the ring shows, or last before a touch)."""
        widget = self._focused() if self._focused is not None else None
        if self._anchor is not None and _anchor_of(widget) != self._anchor_key():
            widget = _anchored(self._anchor)  # the list gave its row to another line
            self._focused = weakref.ref(widget) if widget is not None else None
        return widget

    def _anchor_key(self) -> tuple[Widget | None, int, str] | None:
        if self._anchor is None:
            return None
        layout, index, name = self._anchor
        return layout(), index, name

    @property
    def ring_shown(self) -> bool:
        """True while the ring is on screen."""
        return self.ring.rect is not None

    def focusables(self) -> list[Widget]:
        """The buttons the focus visits now, in order."""
        ordered, widgets = self._gather(self._scope())
        return [widgets[item.key] for item in ordered]

    # ------------------------------------------------------------------------ events

    def _on_key_down(self, _window: Any, key: int, _scancode: Any, codepoint: str | None,
                     modifiers: list[str]) -> bool:
        if self._on_key is not None:
            self._on_key()
        self.router.key_down(key, codepoint, modifiers, self._clock())
        return self.router.knows(key)

    def _on_key_up(self, _window: Any, key: int, *_args: Any) -> bool:
        action = self.router.key_up(key, self._clock())
        if action is not None:
            self._act(action)
        self._arm_due()
        return self.router.knows(key)

    def _on_textinput(self, _window: Any, text: str) -> None:
        self.router.text_input(text, self._clock())

    def _on_touch(self, _window: Any, _touch: Any) -> bool:
        self._hide()
        return False

    def _on_colours(self, _app: Any, colours: dict[str, Any]) -> None:
        self.ring.set_colours(colours["focus"], colours["focus_halo"])

    def _arm_due(self) -> None:
        due = self.router.next_due()
        if due is not None and self._due_event is None:
            self._due_event = Clock.schedule_once(self._on_due, max(0.0, due - self._clock()))

    def _on_due(self, _dt: float) -> None:
        self._due_event = None
        for action in self.router.due(self._clock()):
            self._act(action)
        self._arm_due()

    # ------------------------------------------------------------------------ actions

    def _act(self, action: Action) -> None:
        self._activity(Window, None)
        if action in (Action.NEXT, Action.PREVIOUS):
            self._move(action is Action.NEXT)
        elif action is Action.ACTIVATE:
            self._activate()
        elif action is Action.BACK:
            self._press_first(BACK_IDS)
        elif action is Action.HELP:
            if self._scope() is self.app.root:
                self._press(self.app.root.ids.get("help_button"))
        elif action is Action.ACCESSIBILITY:
            self._toggle_accessibility()
        if not self.ring_shown:  # Help, Back, F2 show the ring too: the keys are in use
            self._show(self._resolve()[2])

    def _move(self, forward: bool, *, may_scroll: bool = True, waited: int = 0) -> None:
        was_shown = self.ring_shown
        ordered, widgets, current = self._resolve()
        if not was_shown or current is None:
            self._show(current)
            return
        item = step(ordered, id(current), forward)
        self._placed = False  # the customer's choice from now on
        scroller = _scroller_of(current)
        if scroller is not None and _leaves(scroller, item) and may_scroll:
            _lay_out_now(scroller)  # rows the list has not laid out yet (a slow frame)
            ordered, widgets, current = self._resolve()
            item = step(ordered, id(current), forward) if current is not None else None
        if scroller is not None and _leaves(scroller, item) and (
                _scroll_on(scroller, forward) if may_scroll  # more lines beyond the visible ones
                else waited < SCROLL_WAITS):
            def move_on(_dt: float, scroller: ScrollView = scroller) -> None:
                _lay_out_now(scroller)  # its rows for the new place, even on a slow frame
                self._move(forward, may_scroll=False, waited=waited + 1)

            Clock.schedule_once(move_on, SCROLL_SETTLE_S)  # (on a slow machine the rows of
            return  # the new place may come a frame or two later: it looks again)
        self._show(widgets[item.key] if item is not None else None)

    def _activate(self) -> None:
        was_shown = self.ring_shown
        _ordered, _widgets, current = self._resolve()
        self._show(current)
        if was_shown and current is not None:
            current.trigger_action(duration=0)

    def _press_first(self, ids: tuple[str, ...]) -> None:
        scope = self._scope()
        named = _ids_within(scope)
        for name in ids:
            if self._press(named.get(name)):
                return

    def _press(self, widget: Widget | None) -> bool:
        if isinstance(widget, WeakProxy):  # a kv id
            widget = widget.__self__
        if widget is None or self._describe(widget, self._scope()) is None:
            return False
        widget.trigger_action(duration=0)
        return True

    def _toggle_accessibility(self) -> None:
        scope = self._scope()
        if scope is self.app.root:
            self._press(self.app.root.ids.get("accessibility_button"))
            return
        from kiosk.ui.widgets.accessibility_panel import AccessibilityPanel

        if isinstance(scope, AccessibilityPanel):
            scope.close()

    # ------------------------------------------------------------------------ the focus

    def _scope(self) -> Widget:
        """The open question or panel on top, else the window's content."""
        for widget in Window.children:
            if isinstance(widget, ModalView):
                return widget
        return self.app.root

    def _scope_key_of(self, scope: Widget) -> int:
        if scope is self.app.root:
            return id(self.app.root.screens.current_screen)
        return id(scope)

    def _resolve(self) -> tuple[list[Focusable], dict[Hashable, Widget], Widget | None]:
        """The buttons in order and the one focused now (chosen anew if the screen or the
        question changed, or the focused one went)."""
        scope = self._scope()
        key = self._scope_key_of(scope)
        ordered, widgets = self._gather(scope)
        current = self.focused
        chosen: Focusable | None
        if key != self._scope_key:
            if self._scope_key is not None and current is not None:
                self._remembered[self._scope_key] = (weakref.ref(current), self._anchor)
                while len(self._remembered) > REMEMBERED:
                    del self._remembered[next(iter(self._remembered))]
            self._scope_key = key
            self._returning_to = self._remembered.pop(key, (None, None))
            self._placed = True
        if self._placed:  # no key has moved it here yet: back where it was on this screen,
            back, anchor = self._returning_to  # else at its start (either may show or be
            widget = _anchored(anchor) if anchor is not None else back() if back else None
            chosen = first_focus(ordered) if widget is None or id(widget) not in widgets else None
            current = widget if chosen is None else None  # enabled a moment later)
        elif current is not None and id(current) in widgets:
            chosen = None
        elif self._focused_rect is not None:
            chosen = nearest(ordered, self._focused_rect, self._focused_path)
        else:
            chosen = first_focus(ordered)
        if chosen is not None:
            current = widgets[chosen.key]
        elif current is not None and id(current) not in widgets:
            current = None
        self._focused = weakref.ref(current) if current is not None else None
        return ordered, widgets, current

    def _gather(self, scope: Widget) -> tuple[list[Focusable], dict[Hashable, Widget]]:
        items: list[Focusable] = []
        widgets: dict[Hashable, Widget] = {}
        for widget in scope.walk(restrict=True):
            if isinstance(widget, ButtonBehavior):
                item = self._describe(widget, scope)
                if item is not None:
                    items.append(item)
                    widgets[item.key] = widget
        return reading_order(items), widgets

    def _describe(self, widget: Widget, scope: Widget) -> Focusable | None:
        """``widget`` as a `Focusable` of ``scope``, or ``None`` when it cannot take focus."""
        if widget.disabled or widget.width < 2 or widget.height < 2:
            return None
        chain: list[Widget] = []
        clips = [Rect(0, 0, Window.width, Window.height)]
        node: Any = widget
        while node is not None and node is not scope and node is not Window:
            if node.opacity <= 0:
                return None
            chain.append(node)
            node = node.parent
            if isinstance(node, StencilView):
                clips.append(_window_rect(node))
        if node is not scope or node.opacity <= 0:
            return None
        if any(isinstance(w, Screen) and w.manager is not None and w.manager.current_screen is not w
               for w in chain):
            return None  # the screen going away, still in the manager for a frame
        rect = _window_rect(widget)
        if visible_part(rect, clips) is None:
            return None
        path = tuple(Node(id(w), _window_rect(w), self._order_of(w)) for w in reversed(chain))
        return Focusable(
            id(widget), rect, path, primary=getattr(widget, "role", "") == "accent",
            default=bool(getattr(widget, "focus_default", False)),
        )

    def _order_of(self, widget: Widget) -> int:
        ids = self.app.root.ids  # weak proxies: they compare equal to their widget
        if widget == ids.get("header"):
            return 1  # the top bar after the screen's own buttons
        if widget == ids.get("demo_box"):
            return 2
        return int(getattr(widget, "focus_order", 0))

    # ------------------------------------------------------------------------ the ring

    def _show(self, widget: Widget | None) -> None:
        self._focused = weakref.ref(widget) if widget is not None else None
        anchor = _anchor_of(widget)
        self._anchor = (weakref.ref(anchor[0]), anchor[1], anchor[2]) if anchor else None
        described = self._describe(widget, self._scope()) if widget is not None else None
        self._focused_path = tuple(node.key for node in described.path) if described else ()
        if widget is None:
            self.ring.hide()
            return
        scroller = _scroller_of(widget)
        if scroller is not None:
            _reveal(scroller, widget)
        self._draw(widget)
        if self._follow_event is None:
            self._follow_event = Clock.schedule_interval(lambda _dt: self._follow(), FOLLOW_S)

    def _draw(self, widget: Widget) -> None:
        self._focused_rect = _window_rect(widget)
        self.ring.show(self._focused_rect, dp(14) * float(getattr(self.app, "scale", 1.0)))

    def _follow(self) -> None:
        """Keep the ring on the focused button, or on the one that takes its place. Looking
        at every button (a few milliseconds) happens only when the screen or question changed
        or the button went, and a few times a second while the focus waits for its place (the
        start of a screen whose buttons come a moment later) or for any button at all."""
        scope = self._scope()
        current = self.focused
        now = self._clock()
        if self._scope_key == self._scope_key_of(scope) and (
                now - self._looked_at < LOOK_AGAIN_S if self._placed or current is None
                else True):
            if current is None:
                return
            if self._describe(current, scope) is not None:
                self._draw(current)
                return
        self._looked_at = now
        _ordered, _widgets, current = self._resolve()
        self._show(current)

    def _hide(self) -> None:
        if self._follow_event is not None:
            self._follow_event.cancel()
            self._follow_event = None
        self.ring.hide()


def _window_rect(widget: Widget) -> Rect:
    x, y = widget.to_window(widget.x, widget.y)
    right, top = widget.to_window(widget.right, widget.top)
    return Rect(x, y, right - x, top - y)


def _anchor_of(widget: Widget | None) -> tuple[Widget, int, str] | None:
    """Where a button in a recycled list (the cart) is: the list's layout, the row's data index
    and the button's kv id in the row. A RecycleView hands a row's widgets to another line
    when its data changes: the focus stays with the place, not with the widget."""
    node, child = (widget.parent, widget) if widget is not None else (None, None)
    while node is not None and node is not Window:
        indices = getattr(node, "view_indices", None)
        if isinstance(indices, dict) and child in indices:
            names = [name for name, target in getattr(child, "ids", {}).items() if target == widget]
            return (node, int(indices[child]), names[0]) if names else None
        node, child = node.parent, node
    return None


def _anchored(anchor: tuple[weakref.ref[Widget], int, str]) -> Widget | None:
    """The button at ``anchor`` now (``None`` when its row is out of view or gone)."""
    layout_ref, index, name = anchor
    layout = layout_ref()
    if layout is None:
        return None
    for row, row_index in getattr(layout, "view_indices", {}).items():
        if row_index == index and name in row.ids:
            found = row.ids[name]
            return found.__self__ if isinstance(found, WeakProxy) else found
    return None


def _scroller_of(widget: Widget) -> ScrollView | None:
    node = widget.parent
    while node is not None and node is not Window and not isinstance(node, ScrollView):
        node = node.parent
    return node if isinstance(node, ScrollView) else None


def _reveal(scroller: ScrollView, widget: Widget) -> None:
    """Scroll ``scroller`` so that all of ``widget`` shows (Kivy's ``scroll_to`` fails on a
    RecycleView, whose layout trigger is a plain function)."""
    view, shown = _window_rect(scroller), _window_rect(widget)
    if shown.y < view.y:
        dy = view.y - shown.y + dp(4)
    elif shown.top > view.top:
        dy = view.top - shown.top - dp(4)
    else:
        return
    _sx, step_y = scroller.convert_distance_to_scroll(0, dy)
    scroller.scroll_y = min(1.0, max(0.0, scroller.scroll_y - step_y))


def _lay_out_now(scroller: ScrollView) -> None:
    """Lay out a recycled list's rows for where it is scrolled now (Kivy does it on a later
    frame; until then the rows of the old place are the ones there)."""
    refresh = getattr(scroller, "refresh_views", None)
    if callable(refresh):
        refresh()


def _leaves(scroller: ScrollView, item: Focusable | None) -> bool:
    """True when the focus moving to ``item`` leaves the list ``scroller``."""
    return item is not None and id(scroller) not in {node.key for node in item.path}


def _may_scroll(scroller: ScrollView, forward: bool) -> bool:
    """True when ``scroller`` has lines beyond its view in that direction (down when
    ``forward``)."""
    content = scroller.children[0] if scroller.children else None
    if content is None or content.height <= scroller.height:
        return False
    return scroller.scroll_y > 0 if forward else scroller.scroll_y < 1


def _scroll_on(scroller: ScrollView, forward: bool) -> bool:
    """Scroll ``scroller`` half a view further (down when ``forward``); False when it is at
    that end already or has nothing to scroll."""
    if not _may_scroll(scroller, forward):
        return False
    _sx, step_y = scroller.convert_distance_to_scroll(0, scroller.height / 2)
    scroller.scroll_y = min(1.0, max(0.0, scroller.scroll_y + (-step_y if forward else step_y)))
    return True


def _ids_within(scope: Widget) -> dict[str, Widget]:
    """Every kv id in ``scope`` (its own rule's and those of the rules inside it)."""
    named: dict[str, Widget] = {}
    for widget in scope.walk(restrict=True):
        for name, target in getattr(widget, "ids", {}).items():
            named.setdefault(name, target)
    return named


def _log_burst(text: str) -> None:
    log.info("keys typed as a keyboard scanner types (%d characters, then Enter): not a press; "
             "no keyboard scanner is set up", len(text))
