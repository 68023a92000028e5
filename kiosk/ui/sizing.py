"""How big things are on the customer screens: text, touch targets and gaps, in pixels.

Three layout classes, each designed for its kind of screen rather than one screen scaled:

- ``small``: a landscape screen less than 700 pixels high (7-inch panels, 800x480 and
  1024x600). The top bar and the cart header are compact and the cart rows are short, so four
  to five cart lines stay in view with text at 20 px and more.
- ``large``: a landscape screen from 700 pixels high (the 10-inch 1280x800 and 15-inch
  1920x1080 panels): the reference look (``kiosk.ui.theme``'s sizes), a little larger on a
  larger screen.
- ``portrait``: a screen higher than wide (1080x1920 kiosk totems): the column beside the
  cart stacks under it, and text is set for reading from arm's length on a large panel.

Whatever the class, customer text is at least ``MIN_TEXT_PX`` (20 px), prices and totals at
least ``MIN_PRICE_PX`` (30 px), and a touch target is at least ``TOUCH_MM`` (9 mm) on the glass:
its pixels come from the panel's diagonal (``[display] diagonal_in``; by default
``default_diagonal_in`` of the resolution). Larger text (``LARGER_TEXT``) multiplies body
text, small text and prices by 1.5; titles, large already, grow to the prices' size at least;
buttons grow with their words.

Pure: no kivy. ``kiosk.ui.sizes_on_screen`` copies a `Sizes` into the app's properties.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kiosk.ui import theme

MIN_TEXT_PX = 20.0
"""The smallest customer text, in pixels."""
MIN_PRICE_PX = 30.0
"""The smallest price or total, in pixels."""
TOUCH_MM = 9.0
"""The smallest side of anything a customer taps, in millimetres on the glass."""
LARGER_TEXT = 1.5
"""How much the larger-text mode enlarges every text."""
SMALL_LANDSCAPE_BELOW_PX = 700
"""A landscape screen lower than this is laid out as ``small``."""

DEFAULT_DIAGONALS_IN: dict[tuple[int, int], float] = {
    (800, 480): 7.0,
    (1024, 600): 7.0,
    (1280, 800): 10.1,
    (1920, 1080): 15.6,
    (1080, 1920): 21.5,
}
"""The panel each supported resolution most often comes on, in inches. Where a resolution
comes in several sizes (1920x1080 from 15.6 to 32 inches) the smallest is taken: it has the
most pixels per millimetre, so 9 mm in pixels is never too few on the larger panels."""
UNKNOWN_PANEL_PPI = 170.0
"""Pixels per inch assumed for a resolution not listed and no ``diagonal_in`` set: as dense
as the densest supported panel (1024x600 at 7 inches), so touch targets are never too small."""


@dataclass(frozen=True)
class Sizes:
    """What the ``.kv`` files size things by, in pixels, for one screen and text mode."""

    layout: str
    """``"small"``, ``"large"`` or ``"portrait"``."""
    body: float
    """Body text: messages, product names, button words."""
    small: float
    """The smallest text: hints, the sale number (never below ``MIN_TEXT_PX``)."""
    price: float
    """Prices, the total and headings."""
    title: float
    """Screen titles."""
    touch: float
    """The side of a touch target (buttons, cart rows' buttons)."""
    gap: float
    """Padding and spacing between things."""
    scale: float
    """How much larger than the reference 1280x800 design corners and pictures are drawn."""
    touch_min: float
    """9 mm on this panel, in pixels: what the layout test holds every touch target to."""


def default_diagonal_in(width: int, height: int) -> float:
    """The diagonal in inches assumed for a ``width`` x ``height`` panel (see
    ``DEFAULT_DIAGONALS_IN`` and ``UNKNOWN_PANEL_PPI``)."""
    known = DEFAULT_DIAGONALS_IN.get((width, height))
    if known is not None:
        return known
    return math.hypot(width, height) / UNKNOWN_PANEL_PPI


def millimetres_to_px(mm: float, width: int, height: int, diagonal_in: float) -> float:
    """``mm`` on the glass of a ``width`` x ``height`` panel ``diagonal_in`` inches across,
    in pixels (square pixels)."""
    pixels_per_inch = math.hypot(width, height) / diagonal_in
    return mm / 25.4 * pixels_per_inch


def layout_class(width: int, height: int) -> str:
    """``"portrait"``, ``"small"`` or ``"large"`` for a window of ``width`` x ``height``."""
    if height > width:
        return "portrait"
    return "small" if height < SMALL_LANDSCAPE_BELOW_PX else "large"


def sizes_for(
    width: int, height: int, diagonal_in: float | None = None, *, larger_text: bool = False
) -> Sizes:
    """The sizes for a ``width`` x ``height`` window on a panel ``diagonal_in`` inches across
    (``None``: ``default_diagonal_in``), with the larger-text mode on or off."""
    diagonal = diagonal_in or default_diagonal_in(width, height)
    touch_min = millimetres_to_px(TOUCH_MM, width, height, diagonal)
    layout = layout_class(width, height)
    if layout == "small":
        factor = _clamp(height / 480, 1.0, 1.3)
        body, small, price, title, touch, gap = (20, 20, 30, 34, 50, 10)
    elif layout == "large":
        factor = _clamp(min(width / 1280, height / 800), 1.0, 1.25)
        body, small, price, title, touch, gap = (
            theme.BODY_SP, theme.SMALL_SP, theme.PRICE_SP, theme.TITLE_SP,
            theme.TOUCH_TARGET_DP, 16,
        )
    else:
        factor = _clamp(width / 1080, 0.75, 1.25)
        body, small, price, title, touch, gap = (28, 24, 40, 56, 72, 16)
    text = LARGER_TEXT if larger_text else 1.0
    body_px = max(MIN_TEXT_PX, body * factor) * text
    return Sizes(
        layout=layout,
        body=body_px,
        small=max(MIN_TEXT_PX, small * factor) * text,
        price=max(MIN_PRICE_PX, price * factor) * text,
        # Titles are large already: in larger text they grow to the prices' size at least
        title=max(MIN_PRICE_PX * text, title * factor, price * factor * text),
        # A button holds a line of body text with room around it
        touch=max(touch_min, touch * factor, body_px * 1.7),
        gap=gap * factor,
        scale=_clamp(min(width, height) / 800, 0.6, 1.5),
        touch_min=touch_min,
    )


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
