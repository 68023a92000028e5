"""A product's name on at most two lines, shortened at its end with an ellipsis.

Kivy's ``Label`` does not do this: ``shorten`` makes the text one line, and ``max_lines`` is
ignored while the height follows the text, so a long name ("White wine Grüner Veltliner
0.75 l (18+)") took three lines in a two-line row and lost its beginning above the row.
`ProductName` lays the name out with Kivy's own text layout at its width and cuts it where
the last allowed line ends. Each fit is remembered (by name, width and font), so a cart that
is drawn again after every scan measures each name once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.core.text import Label as CoreLabel
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.label import Label

ELLIPSIS = "\u2026"

_FITS_REMEMBERED = 2048
"""How many fitted names are remembered (a shop's day of names at a few widths)."""

_fitted: dict[tuple[Any, ...], str] = {}


def fit_to_lines(text: str, lines_of: Callable[[str], int], limit: int) -> str:
    """Return ``text`` if ``lines_of(text)`` is at most ``limit`` lines, else its longest
    beginning that, with an ellipsis at its end, still is."""
    if limit <= 0 or lines_of(text) <= limit:
        return text
    low, high = 0, len(text) - 1  # the longest kept beginning is in [low, high]
    while low < high:
        middle = (low + high + 1) // 2
        if lines_of(text[:middle].rstrip() + ELLIPSIS) <= limit:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ELLIPSIS


class ProductName(Label):
    """Shows ``full_text`` on at most ``line_limit`` lines at the widget's width (its looks,
    font and height are in ``kv/widgets.kv``)."""

    full_text = StringProperty("")
    """The whole name; ``text`` is what fits."""
    line_limit = NumericProperty(2)
    """The most lines the name may take."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fbind("full_text", self._fit)
        self.fbind("width", self._fit)
        self.fbind("font_size", self._fit)
        self.fbind("bold", self._fit)
        self.fbind("font_name", self._fit)
        self.fbind("line_limit", self._fit)
        self._fit()

    def _fit(self, *_args: object) -> None:
        width = int(self.width)
        key = (self.full_text, width, self.font_size, self.bold, self.font_name,
               int(self.line_limit))
        fitted = _fitted.get(key)
        if fitted is None:
            fitted = fit_to_lines(self.full_text, self._measure(), int(self.line_limit))
            if len(_fitted) >= _FITS_REMEMBERED:
                _fitted.clear()
            _fitted[key] = fitted
        self.text = fitted

    def _measure(self) -> Callable[[str], int]:
        """How many lines a text takes at this width, in this font (Kivy's layout); one line's
        height is measured once per fit, not once per try."""
        options = {"font_size": self.font_size, "bold": self.bold, "font_name": self.font_name}
        width = self.width
        one_line = CoreLabel(text="Ag", **options)
        one_line.refresh()
        line_height = max(1, one_line.texture.height)

        def lines_of(text: str) -> int:
            if width <= 1:
                return 1
            laid_out = CoreLabel(text=text, text_size=(width, None), **options)
            laid_out.refresh()
            return max(1, round(laid_out.texture.height / line_height))

        return lines_of
