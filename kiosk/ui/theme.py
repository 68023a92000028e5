"""The kiosk's look: one colour palette, text sizes and touch-target sizes for the screens.

A calm light theme for a shop floor: a neutral grey-white background, white cards, near-black
text, one strong blue accent reserved for the Pay button and other primary actions, green for
success, amber for warnings and red for errors and declined cards. Every pair of colours the UI
puts text on is listed in ``TEXT_PAIRS``, and the tests hold each of them to the WCAG 2.x
contrast minimum for body text (4.5:1). ``HIGH_CONTRAST`` is the accessibility mode's palette
(white and light colours on black, borders drawn in white): every pair of ``TEXT_PAIRS`` and
``TINTED_TEXT`` meets WCAG AAA there (7:1).

Sizes are given at the 1280x800 reference screen; the UI scales them down on smaller screens.
This module imports no kivy: the ``.kv`` files reach it through the app (``rgba`` turns a hex
colour into the 0..1 tuple Kivy wants).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Palette:
    """Named colours as ``"#RRGGBB"`` strings; ``on_X`` is the text colour to use on ``X``."""

    background: str
    """Behind everything: the screen itself."""
    surface: str
    """Cards and panels (the cart, dialogs)."""
    surface_alt: str
    """Every other cart row, so long carts stay readable."""
    text: str
    """Body text, prices and titles."""
    text_muted: str
    """Secondary text: unit prices, hints, the sale number."""
    accent: str
    """The brand colour: the Pay button and primary actions; also link-like text."""
    on_accent: str
    success: str
    """Paid, scanned, done."""
    on_success: str
    warning: str
    """Staff is on the way, a check is needed."""
    on_warning: str
    danger: str
    """Errors, a declined card, cancel-the-sale."""
    on_danger: str
    outline: str
    """Borders and dividers; never used for text."""
    focus: str
    """The keyboard's focus ring (``kiosk.ui.widgets.focus_ring``): drawn around the control
    the keys act on, with a thin `focus_halo` line inside it."""
    focus_halo: str
    """The focus ring's inner line: where the ring lies on a colour close to `focus`, the halo
    still stands out (``FOCUS_GROUNDS``)."""


THEME = Palette(
    background="#F3F4F6",
    surface="#FFFFFF",
    surface_alt="#E9EDF2",
    text="#17202B",
    text_muted="#4F5B69",
    accent="#1D4ED8",
    on_accent="#FFFFFF",
    success="#15803D",
    on_success="#FFFFFF",
    warning="#F5B324",
    on_warning="#17202B",
    danger="#C42B2B",
    on_danger="#FFFFFF",
    outline="#D3D8DF",
    focus="#C026D3",
    focus_halo="#FFFFFF",
)
"""The palette the kiosk uses."""

HIGH_CONTRAST = Palette(
    background="#000000",
    surface="#1C1C1C",
    surface_alt="#303030",
    text="#FFFFFF",
    text_muted="#E6E6E6",
    accent="#FFE033",
    on_accent="#000000",
    success="#4EE07A",
    on_success="#000000",
    warning="#FFB347",
    on_warning="#000000",
    danger="#FFA8A8",
    on_danger="#000000",
    outline="#FFFFFF",
    focus="#00E5FF",
    focus_halo="#000000",
)
"""The high-contrast mode's palette (``kiosk.ui.accessibility``): light on black, a yellow
accent, every text pair at least 7:1 (WCAG AAA); outlines in white, so every button and the
panels' dividers stand out from the black."""

TEXT_PAIRS: tuple[tuple[str, str], ...] = (
    ("text", "background"),
    ("text", "surface"),
    ("text", "surface_alt"),
    ("text_muted", "background"),
    ("text_muted", "surface"),
    ("on_accent", "accent"),
    ("on_success", "success"),
    ("on_warning", "warning"),
    ("on_danger", "danger"),
    ("accent", "background"),
    ("danger", "surface"),
    ("text_muted", "surface_alt"),
    ("surface", "text"),
    ("accent", "surface"),
    ("danger", "background"),
    ("danger", "surface_alt"),
    ("success", "background"),
)
"""Every (text colour, background colour) pair of ``Palette`` field names the UI puts text on.

Add a pair here before using a new combination on a screen: the tests check its contrast
(4.5:1 in ``THEME``, 7:1 in ``HIGH_CONTRAST``). Where each is used: text, text_muted on the
background, the panels (surface) and every other cart or staff row (surface_alt); on_X on
buttons, badges, banners and messages filled with X; accent on the background (the attract
screen's call to scan, the item an attendant call is about) and in panels (the accessibility
panel's mode that is on); danger (errors) on the background, in panels and on staff rows;
success on the background (the paid screen); surface on text (the Undo bar).
"""

FOCUS_GROUNDS: tuple[str, ...] = ("background", "surface", "surface_alt", "text")
"""What the focus ring can lie on: the screen, panels, every other cart row, the Undo bar
(filled with the text colour). The tests hold the ring to WCAG's 3:1 for a focus indicator
against each: the `Palette.focus` colour itself, or its `Palette.focus_halo` (which reaches
3:1 against the focus colour too), so the ring shows on every one of them."""

TINTED_TEXT: tuple[tuple[str, str, float, str], ...] = (
    ("text", "accent", 0.14, "surface"),
    ("text", "accent", 0.14, "surface_alt"),
    ("text_muted", "accent", 0.14, "surface"),
    ("text_muted", "accent", 0.14, "surface_alt"),
)
"""Text on a tint: (text colour, tint colour, the tint's alpha, the colour under the tint).
The cart's freshly scanned line is tinted with the accent at 14 % (``kv/shopping.kv``)."""

# Sizes at the 1280x800 reference screen. dp: density-independent pixels; sp: dp scaled by
# the user's font scale. Customers stand at arm's length, some without their glasses.
TOUCH_TARGET_DP = 64
"""Smallest side of anything a customer taps (buttons, cart rows); never below 48 dp."""
BODY_SP = 26
"""Body text: messages, product names; never below 24 sp."""
PRICE_SP = 38
"""Prices and the total; never below 36 sp."""
TITLE_SP = 54
"""Screen titles ("Scan your items", "Pay by card")."""
SMALL_SP = 24
"""The smallest text a customer sees (hints, the sale number); nothing smaller at 1280x800."""


def rgba(hex_colour: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    """Turn ``"#RRGGBB"`` into Kivy's ``(r, g, b, a)`` with each part from 0 to 1.

    Raises ``ValueError`` for anything but six hex digits after the ``#``, or an alpha outside
    0..1.
    """
    red, green, blue = _channels(hex_colour)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")
    return (red / 255, green / 255, blue / 255, alpha)


def contrast_ratio(foreground: str, background: str) -> float:
    """The WCAG 2.x contrast ratio of two ``"#RRGGBB"`` colours: 1.0 (same) to 21.0 (black/white).

    WCAG asks for at least 4.5 for body text and 3.0 for large text (24 px, or 18.7 px bold).
    """
    lighter, darker = sorted(
        (_relative_luminance(foreground), _relative_luminance(background)), reverse=True
    )
    return (lighter + 0.05) / (darker + 0.05)


def blend(top: str, alpha: float, base: str) -> str:
    """The ``"#RRGGBB"`` colour seen where ``top`` is drawn at ``alpha`` (0..1) over ``base``."""
    mixed = (
        round(alpha * upper + (1 - alpha) * lower)
        for upper, lower in zip(_channels(top), _channels(base), strict=True)
    )
    return "#" + "".join(f"{part:02X}" for part in mixed)


def _relative_luminance(hex_colour: str) -> float:
    """WCAG relative luminance: linearised sRGB channels weighted by the eye's sensitivity."""
    linear = []
    for channel in _channels(hex_colour):
        value = channel / 255
        linear.append(value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = linear
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _channels(hex_colour: str) -> tuple[int, int, int]:
    """The 0..255 red, green and blue of ``"#RRGGBB"``."""
    digits = hex_colour[1:] if hex_colour.startswith("#") else ""
    if len(digits) != 6 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise ValueError(f"expected a colour such as '#1D4ED8', not {hex_colour!r}")
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
