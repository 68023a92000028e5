"""The sizes of ``kiosk.ui.sizing`` put on screen: the app's size properties, which every
``.kv`` rule reads (``app.body_sp``, ``app.touch_dp``, ``app.layout``...).

`apply_sizes` runs when the window changes size and when the larger-text mode changes
(``kiosk.ui.modes_on_screen``); the decisions are ``kiosk.ui.sizing``'s.
"""

from __future__ import annotations

from typing import Any

from kivy.core.window import Window

from kiosk.ui.sizing import sizes_for


def apply_sizes(app: Any, size: tuple[int, int] | None = None) -> None:
    """Copy the sizes for the window (``size``, default its current size), the panel's
    ``[display] diagonal_in`` and the larger-text mode into ``app``'s properties."""
    width, height = size if size is not None else Window.size
    diagonal = float(app.settings.display.diagonal_in) or None
    sizes = sizes_for(
        int(width), int(height), diagonal, larger_text=bool(app.modes.larger_text)
    )
    app.layout = sizes.layout
    app.portrait = sizes.layout == "portrait"
    app.scale = sizes.scale
    app.body_sp = sizes.body
    app.small_sp = sizes.small
    app.price_sp = sizes.price
    app.title_sp = sizes.title
    app.touch_dp = sizes.touch
    app.gap_dp = sizes.gap
    app.touch_min = sizes.touch_min
