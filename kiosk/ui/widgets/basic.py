"""The kiosk's basic touch widgets (their looks are in ``kv/widgets.kv``).

Kivy's stock buttons are grey rectangles sized for a mouse; these are large rounded touch
targets in the theme's colours, at least ``app.touch_dp`` high. ``KioskRoot`` is the window's
content (``kv/root.kv``).
"""

from __future__ import annotations

from kivy.animation import Animation
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.ui.icons import register_icon_font


class TouchButton(ButtonBehavior, Label):
    """A large rounded button; ``role`` picks its colours: accent, neutral, danger, success."""

    role = StringProperty("neutral")
    fill = ColorProperty([0, 0, 0, 0])
    shown = BooleanProperty(True)
    """A hidden button keeps its place in the layout but is invisible and cannot be pressed."""
    one_line = BooleanProperty(False)
    """Never wrap: the text keeps its natural width (the ``.kv`` then sizes the button from
    ``texture_size``); otherwise it wraps within the button's width."""

    def on_shown(self, _widget: object, shown: bool) -> None:
        """Hide and disable together (a hidden button must never take a touch)."""
        self.disabled = not shown


class Icon(Label):
    """One icon of the icon font (``text: icon("contactless")``; looks in ``kv/widgets.kv``)."""

    def __init__(self, **kwargs: object) -> None:
        register_icon_font()
        super().__init__(**kwargs)


class Panel(BoxLayout):
    """A rounded card on the background (cart, totals, messages)."""

    fill = ColorProperty([1, 1, 1, 1])


class Banner(Label):
    """A full-width status line: ``role`` is warning or danger."""

    role = StringProperty("warning")


class Moving(Widget):
    """A widget whose ``phase`` runs from 0 to 1 over and over while ``active``.

    Only animated while shown (``active`` is bound to the current screen in kv), so a
    hidden screen never keeps the GPU busy.
    """

    active = BooleanProperty(False)
    phase = NumericProperty(0.0)
    period_s = NumericProperty(1.2)

    def on_active(self, _widget: Widget, active: bool) -> None:
        """Start or stop the motion."""
        Animation.cancel_all(self, "phase")
        if active:
            self.phase = 0.0
            motion = Animation(phase=1.0, duration=self.period_s)
            motion.repeat = True
            motion.start(self)


class BusyWheel(Moving):
    """A turning arc: "something is happening, please wait"."""


class ScanSweep(Moving):
    """A drawn barcode with a red scan line sweeping over it (the attract screen's motion)."""


class KioskRoot(BoxLayout):
    """The window's content: banners, the screens, the demo panel (layout in ``root.kv``)."""

    screens = ObjectProperty(None)
    banner_box = ObjectProperty(None)
    demo_box = ObjectProperty(None)

    reach = BooleanProperty(False)
    """Reach mode (``kiosk.ui.accessibility.Modes.reach``): the top bar and its buttons sit
    in a band at the bottom of the window, above the demo panel, the screens above them."""

    def on_reach(self, _root: object, reach: bool) -> None:
        """Move the bar to the bottom band (reach mode) or back to the top."""
        header = self.ids.header
        self.remove_widget(header)
        # children run from the bottom up: the demo panel's box is children[0]
        self.add_widget(header, index=1 if reach else len(self.children))

    def show_banners(self, _app: object, banners: list[tuple[str, str]]) -> None:
        """One full-width line per status banner (role, words), most important first."""
        self.banner_box.clear_widgets()
        for role, text in banners:
            self.banner_box.add_widget(Banner(role=role, text=text))
