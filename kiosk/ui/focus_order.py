"""Which control the keyboard's focus visits next: reading order over rectangles.

Pure (no kivy): the Kivy glue (``kiosk.ui.key_navigation``) describes each focusable control
as a `Focusable`: its rectangle in window coordinates (y grows upwards, as in Kivy) and the
chain of its containers from the screen (or modal) down to itself. Reading order is decided
level by level along those chains, so a column is read to its end before the column beside
it (the cart's lines before the totals' Pay): two siblings side by side (their heights overlap
by at least half of the smaller) are read left to right, otherwise top to bottom. A container
or control that declares an ``order`` (default 0) is read after every sibling of a lower order,
whatever its place: the glue puts the top bar after the screen's own controls that way.

`step` moves to the next or previous control and wraps around at either end; `first_focus`
is where the focus lands on a new screen or modal (the control declared the default, else
the first primary action, else the first control); `nearest` is where it goes when the
focused control disappears (a removed cart line, a rebuilt language switch).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from functools import cmp_to_key

SAME_ROW_OVERLAP = 0.5
"""Two siblings whose vertical spans overlap by at least this share of the smaller height
are side by side (read left to right); otherwise one is above the other."""


@dataclass(frozen=True)
class Rect:
    """A rectangle in window coordinates: ``x``, ``y`` its lower left corner (y upwards)."""

    x: float
    y: float
    width: float
    height: float

    @property
    def top(self) -> float:
        """The upper edge."""
        return self.y + self.height

    @property
    def right(self) -> float:
        """The right edge."""
        return self.x + self.width

    @property
    def center(self) -> tuple[float, float]:
        """The middle point."""
        return self.x + self.width / 2, self.y + self.height / 2

    def overlap(self, other: Rect) -> Rect | None:
        """The part both rectangles cover, or ``None`` when they do not meet."""
        left, right = max(self.x, other.x), min(self.right, other.right)
        bottom, top = max(self.y, other.y), min(self.top, other.top)
        if right <= left or top <= bottom:
            return None
        return Rect(left, bottom, right - left, top - bottom)


@dataclass(frozen=True)
class Node:
    """One level of a control's chain: a container (or the control itself) by ``key``."""

    key: Hashable
    rect: Rect
    order: int = 0
    """Read after every sibling of a lower order (0: by its place)."""


@dataclass(frozen=True)
class Focusable:
    """A control the focus can visit."""

    key: Hashable
    rect: Rect
    path: tuple[Node, ...] = field(default=())
    """Its containers from the outermost down to the control itself (the last node)."""
    primary: bool = False
    """The screen's main action (the accent button: Pay, "Yes, continue")."""
    default: bool = False
    """Declared the place the focus starts on its screen or modal."""


def reading_before(first: Rect, second: Rect) -> int:
    """-1 when ``first`` is read before ``second``, 1 when after, 0 when at the same place."""
    low = min(first.height, second.height)
    shared = min(first.top, second.top) - max(first.y, second.y)
    if low > 0 and shared >= SAME_ROW_OVERLAP * low:  # side by side
        if first.x != second.x:
            return -1 if first.x < second.x else 1
    elif first.top != second.top:
        return -1 if first.top > second.top else 1
    if first.x != second.x:
        return -1 if first.x < second.x else 1
    return 0


def _compare(first: Focusable, second: Focusable) -> int:
    for mine, theirs in zip(first.path, second.path, strict=False):
        if mine.key != theirs.key:
            if mine.order != theirs.order:
                return -1 if mine.order < theirs.order else 1
            return reading_before(mine.rect, theirs.rect)
    return reading_before(first.rect, second.rect)


def reading_order(items: Sequence[Focusable]) -> list[Focusable]:
    """``items`` in the order the focus visits them (see the module's docstring)."""
    return sorted(items, key=cmp_to_key(_compare))


def step(ordered: Sequence[Focusable], current: Hashable | None, forward: bool) -> Focusable | None:
    """The control after (``forward``) or before ``current`` in ``ordered``, wrapping around
    at either end; the first (or last) when ``current`` is not among them; ``None`` when
    there is nothing to visit."""
    if not ordered:
        return None
    keys = [item.key for item in ordered]
    if current not in keys:
        return ordered[0] if forward else ordered[-1]
    index = keys.index(current) + (1 if forward else -1)
    return ordered[index % len(ordered)]


def first_focus(ordered: Sequence[Focusable]) -> Focusable | None:
    """Where the focus starts: among the controls read first (those whose outermost container
    has the lowest declared order: the screen's own, not the top bar's), the first declared
    the default, else the first primary action, else the first (``None``: nothing to focus)."""
    if not ordered:
        return None
    lowest = min(_group(item) for item in ordered)
    group = [item for item in ordered if _group(item) == lowest]
    for wanted in (lambda item: item.default, lambda item: item.primary):
        for item in group:
            if wanted(item):
                return item
    return group[0]


def _group(item: Focusable) -> int:
    return item.path[0].order if item.path else 0


def nearest(ordered: Sequence[Focusable], where: Rect, path: Sequence[Hashable] = ()
            ) -> Focusable | None:
    """The control that takes the place of one that went (at ``where``, in the containers
    ``path``, outermost first): one in the innermost container it shared with it (a cart line
    for a line, the cart for its Undo), there the one whose middle is closest; the earlier on
    a tie; ``None`` when there is none."""
    if not ordered:
        return None
    x, y = where.center

    def shared(item: Focusable) -> int:
        count = 0
        for mine, theirs in zip(path, item.path, strict=False):
            if mine != theirs.key:
                break
            count += 1
        return count

    def distance(item: Focusable) -> tuple[int, float]:
        cx, cy = item.rect.center
        return -shared(item), float((cx - x) ** 2 + (cy - y) ** 2)

    return min(ordered, key=distance)


def visible_part(rect: Rect, clips: Sequence[Rect]) -> Rect | None:
    """What of ``rect`` shows through every clip (the window, each scrolled list it is in),
    or ``None`` when nothing does."""
    shown: Rect | None = rect
    for clip in clips:
        if shown is None:
            return None
        shown = shown.overlap(clip)
    return shown
