"""The keyboard's focus ring: a thick outline around the control the keys act on.

Drawn in the window's ``canvas.after``, so it lies over everything the window shows, a
question or panel over the screen included (never behind a modal), in the palette's
``focus`` colour with a thin ``focus_halo`` line inside it (``kiosk.ui.theme``), a little
outside the control so it never covers the control's words. ``kiosk.ui.key_navigation``
says where it goes and when it shows; the ring only draws.
"""

from __future__ import annotations

from collections.abc import Sequence

from kivy.core.window import Window
from kivy.graphics import Color, InstructionGroup, Line
from kivy.metrics import dp

from kiosk.ui.focus_order import Rect

RING_DP = 3.0
"""Half the ring's thickness (Kivy's line width), at the reference size."""
HALO_DP = 1.0
"""Half the halo line's thickness."""
GAP_DP = 3.0
"""Space between the control's edge and the halo."""


class FocusRing:
    """The ring on the window (hidden until `show`)."""

    def __init__(self) -> None:
        self.rect: Rect | None = None
        """Where the ring is drawn (the control's rectangle), ``None`` while hidden."""
        self._group = InstructionGroup()
        self._ring_colour = Color(0, 0, 0, 0)
        self._halo_colour = Color(0, 0, 0, 0)
        self._ring = Line(width=dp(RING_DP))
        self._halo = Line(width=dp(HALO_DP))
        for instruction in (self._ring_colour, self._ring, self._halo_colour, self._halo):
            self._group.add(instruction)
        self._colours: tuple[Sequence[float], Sequence[float]] = ((0, 0, 0, 1), (1, 1, 1, 1))
        self._attached = False

    def attach(self) -> None:
        """Put the ring's drawing on the window (over everything drawn there)."""
        if not self._attached:
            Window.canvas.after.add(self._group)
            self._attached = True

    def detach(self) -> None:
        """Take the ring's drawing off the window."""
        if self._attached:
            Window.canvas.after.remove(self._group)
            self._attached = False

    @property
    def on_top(self) -> bool:
        """True while the ring is the last thing the window draws."""
        after = Window.canvas.after.children
        return self._attached and bool(after) and after[-1] is self._group

    def set_colours(self, ring: Sequence[float], halo: Sequence[float]) -> None:
        """The ring's and the halo's rgba (the palette changed)."""
        self._colours = (ring, halo)
        if self.rect is not None:
            self._paint()

    def show(self, rect: Rect, radius: float) -> None:
        """Draw the ring around ``rect`` (window coordinates), its corners ``radius`` round."""
        if self._attached and Window.canvas.after.children[-1] is not self._group:
            Window.canvas.after.remove(self._group)  # something was added over it: back on top
            Window.canvas.after.add(self._group)
        self.rect = rect
        halo_out = dp(GAP_DP) + dp(HALO_DP)
        ring_out = halo_out + dp(HALO_DP) + dp(RING_DP)
        self._halo.rounded_rectangle = _around(rect, halo_out, radius)
        self._ring.rounded_rectangle = _around(rect, ring_out, radius)
        self._paint()

    def hide(self) -> None:
        """Draw nothing (a touch: touch users do not see the ring)."""
        self.rect = None
        self._ring_colour.rgba = (0, 0, 0, 0)
        self._halo_colour.rgba = (0, 0, 0, 0)

    def _paint(self) -> None:
        ring, halo = self._colours
        self._ring_colour.rgba = tuple(ring)
        self._halo_colour.rgba = tuple(halo)


def _around(rect: Rect, out: float, radius: float) -> tuple[float, float, float, float, float]:
    """Kivy's ``rounded_rectangle`` for a line ``out`` pixels outside ``rect``."""
    return (rect.x - out, rect.y - out, rect.width + 2 * out, rect.height + 2 * out, radius + out)
