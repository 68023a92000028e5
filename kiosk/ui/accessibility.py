"""The customer's accessibility modes: which are on, what they change, and when they end.

A customer turns modes on from the accessibility button in the top bar (its panel lists
`MODE_ROWS`, one row per mode that works; later modes, such as larger text, reach mode and
audio guidance, join as rows when they do). ``Modes`` says which are on; the shop's defaults
(`SHOP_DEFAULTS`: all off) come back when the sale ends (after the thank-you screen), when it is
abandoned (the walk-away timeout, Start over) and, as a language does, after
``LANGUAGE_RESET_S`` without a touch on a screen without a sale (`modes_expired`): the next
customer never inherits someone else's modes. High contrast swaps the palette
(``kiosk.ui.theme.HIGH_CONTRAST``) for the whole window at once (`colours_of`).

Nothing here imports kivy: ``kiosk.ui.widgets.accessibility_button`` puts modes on screen.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from kiosk.ui import theme
from kiosk.ui.customer_view import LANGUAGE_RESET_S, NO_SALE_SCREENS
from kiosk.ui.i18n import N_


@dataclass(frozen=True)
class Modes:
    """The accessibility modes on for the current customer (all off: the shop's defaults)."""

    high_contrast: bool = False
    """Light text on black, WCAG AAA (7:1) for every text (``theme.HIGH_CONTRAST``)."""
    audio_guidance: bool = False
    """Every screen, scan, total and payment step spoken (``kiosk.ui.guidance``)."""
    speech_volume_step: int = 0
    """Guidance's volume in steps from the shop's (``kiosk.ui.guidance_on_screen``)."""
    speech_rate_step: int = 0
    """Guidance's speed in steps from the shop's."""
    larger_text: bool = False
    """Every text 1.5 times its size, the screens reflowed (``kiosk.ui.sizing.LARGER_TEXT``)."""
    reach: bool = False
    """Every control in the lower part of the screen, for customers seated or of short
    stature: the top bar's buttons in a band at the bottom, the content above it."""

    def toggled(self, mode: str) -> Modes:
        """These modes with ``mode`` (a `ModeRow.mode`) switched; ``KeyError`` for a name that
        is no mode."""
        if mode not in {row.mode for row in MODE_ROWS}:
            raise KeyError(mode)
        return replace(self, **{mode: not getattr(self, mode)})


@dataclass(frozen=True)
class ModeRow:
    """One row of the accessibility panel: the ``Modes`` field it switches, its icon (a name
    of ``kiosk.ui.icons.CODEPOINTS``), its name and a sentence on what it does (msgids)."""

    mode: str
    icon: str
    name: str
    description: str


MODE_ROWS: tuple[ModeRow, ...] = (
    ModeRow(
        mode="high_contrast",
        icon="contrast",
        name=N_("High contrast"),
        description=N_("White text on black, for easier reading."),
    ),
    ModeRow(
        mode="audio_guidance",
        icon="hearing",
        name=N_("Audio guidance"),
        description=N_("Everything on the screen is read out through headphones."),
    ),
    ModeRow(
        mode="larger_text",
        icon="format_size",
        name=N_("Larger text"),
        description=N_("All text one and a half times as large."),
    ),
    ModeRow(
        mode="reach",
        icon="accessible",
        name=N_("Easy reach"),
        description=N_("All buttons in the lower part of the screen."),
    ),
)
"""The panel's rows, top to bottom: only modes that work."""

SHOP_DEFAULTS = Modes()
"""Every mode off: how each customer finds the kiosk."""


def palette_of(modes: Modes, accent: str = "") -> theme.Palette:
    """The palette the window shows in ``modes`` for a shop whose accent colour is ``accent``
    (``[shop] accent_colour``; ``""``: the theme's own, see ``theme.shop_palettes``)."""
    normal, high_contrast = theme.shop_palettes(accent)
    return high_contrast if modes.high_contrast else normal


def colours_of(modes: Modes, accent: str = "") -> dict[str, tuple[float, float, float, float]]:
    """``app.colours`` for ``modes`` and the shop's ``accent``: each palette colour by name,
    as Kivy's rgba."""
    return {name: theme.rgba(value) for name, value in asdict(palette_of(modes, accent)).items()}


def modes_expired(screen: str, modes: Modes, idle_s: float) -> bool:
    """Someone turned modes on on a screen without a sale (``NO_SALE_SCREENS``) and walked
    away ``idle_s`` ago: past ``LANGUAGE_RESET_S`` the shop's defaults return (as the language
    does). A sale keeps its modes until it ends (the app resets them then)."""
    return screen in NO_SALE_SCREENS and modes != SHOP_DEFAULTS and idle_s > LANGUAGE_RESET_S
