"""Mending a leak in Kivy 2.3's ScrollView that a kiosk selling all day would feel.

``ScrollView.update_from_scroll`` shows the scroll bar in its active colour by binding
``bar_color`` to the bar (``fbind``) on every call, and a trigger half a second after the last
call unbinds it once. A list that changes several times within half a second (the cart's
RecycleView on each scan, the demo strip under a tap) adds a binding on each call and loses
one: over a day the ScrollView holds thousands of identical bindings, each called on every
change of ``bar_color``. `steady_scroll_bars` makes each call drop the previous binding
before Kivy adds its own, so there is never more than one.
"""

from __future__ import annotations

from typing import Any

_MENDED = "_kiosk_one_bar_binding"


def steady_scroll_bars() -> None:
    """Mend ``ScrollView.update_from_scroll`` (and so every RecycleView's) once per process;
    call before the first ScrollView is made (its update trigger keeps the method it found)."""
    from kivy.uix.scrollview import ScrollView

    kivy_update = ScrollView.update_from_scroll
    if getattr(kivy_update, _MENDED, False):
        return

    def update_from_scroll(self: ScrollView, *largs: Any) -> None:
        self.funbind("bar_color", self._change_bar_color)  # Kivy binds it again, once
        kivy_update(self, *largs)

    update_from_scroll.__doc__ = kivy_update.__doc__
    setattr(update_from_scroll, _MENDED, True)
    ScrollView.update_from_scroll = update_from_scroll
