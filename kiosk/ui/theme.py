"""The kiosk's look: one colour palette, text sizes and touch-target sizes for the screens.

A calm light theme for a shop floor: a neutral grey-white background, white cards, near-black
text, one strong blue accent reserved for the Pay button and other primary actions, green for
success, amber for warnings and red for errors and declined cards. Every pair of colours the UI
puts text on is listed in ``TEXT_PAIRS``, and the tests hold each of them to the WCAG 2.x
contrast minimum for body text (4.5:1). ``HIGH_CONTRAST`` is the accessibility mode's palette
(white and light colours on black, borders drawn in white): every pair of ``TEXT_PAIRS`` and
``TINTED_TEXT`` meets WCAG AAA there (7:1). A shop's own accent colour (``[shop]
accent_colour``) replaces the blue through ``shop_palettes``, with the text colour on it chosen
for contrast; the WCAG arithmetic itself is ``kiosk.core.contrast``'s.

Sizes are given at the 1280x800 reference screen; ``kiosk.ui.sizing`` sets them per screen.
This module imports no kivy: the ``.kv`` files reach it through the app (``rgba`` turns a hex
colour into the 0..1 tuple Kivy wants).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from kiosk.core import contrast


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

# Sizes at the 1280x800 reference screen (the large landscape layout of kiosk.ui.sizing, which
# sets the small-landscape and portrait sizes beside them and holds every size to 20 px text,
# 30 px prices and 9 mm touch targets). Customers stand at arm's length, some without their
# glasses.
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
    red, green, blue = contrast.channels(hex_colour)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")
    return (red / 255, green / 255, blue / 255, alpha)


def accented(palette: Palette, accent: str, minimum: float) -> Palette | None:
    """``palette`` with the shop's ``accent`` colour (``[shop] accent_colour``) and the text
    colour on it (white or near-black, whichever reaches ``minimum``: ``contrast.text_colour_on``;
    black and white in the high-contrast palette), or ``None`` when any pair of ``TEXT_PAIRS``
    or ``TINTED_TEXT`` would then fall below ``minimum`` (4.5:1 for ``THEME``, 7:1 for
    ``HIGH_CONTRAST``): the caller keeps its own accent then."""
    dark = "#000000" if palette is HIGH_CONTRAST else contrast.NEAR_BLACK
    on_accent = contrast.text_colour_on(accent, minimum, (contrast.WHITE, dark))
    if on_accent is None:
        return None
    candidate = replace(palette, accent=accent, on_accent=on_accent)
    colours = asdict(candidate)
    plain = all(
        contrast_ratio(colours[text], colours[ground]) >= minimum for text, ground in TEXT_PAIRS
    )
    tinted = all(
        contrast_ratio(colours[text], blend(colours[tint], alpha, colours[base])) >= minimum
        for text, tint, alpha, base in TINTED_TEXT
    )
    return candidate if plain and tinted else None


def shop_palettes(accent: str) -> tuple[Palette, Palette]:
    """The normal and the high-contrast palette for a shop whose accent colour is ``accent``
    (``""``: the theme's own). The high-contrast palette keeps its yellow when the shop's
    colour would break 7:1 there; the normal one takes any colour the settings accepted
    (``contrast.judge_accent``)."""
    if not accent:
        return THEME, HIGH_CONTRAST
    normal = accented(THEME, accent, contrast.AA_TEXT) or THEME
    return normal, accented(HIGH_CONTRAST, accent, contrast.AAA_TEXT) or HIGH_CONTRAST


contrast_ratio = contrast.contrast_ratio
"""``kiosk.core.contrast.contrast_ratio``: the WCAG ratio of two colours."""
blend = contrast.blend
"""``kiosk.core.contrast.blend``: a colour drawn at an alpha over another."""
