"""WCAG 2.x colour contrast, and the text colour a shop's accent colour takes.

Pure arithmetic on ``"#RRGGBB"`` strings, shared by the settings check (``[shop]
accent_colour`` is refused when no text colour is readable on it) and the UI's theme
(``kiosk.ui.theme``), which puts the accent into its palettes. WCAG asks for 4.5:1 for body
text (AA) and 7:1 for the enhanced level (AAA, the high-contrast mode's palette).
"""

from __future__ import annotations

from dataclasses import dataclass

AA_TEXT = 4.5
"""WCAG AA's minimum contrast for body text."""
AAA_TEXT = 7.0
"""WCAG AAA's minimum contrast for body text (the high-contrast mode)."""

WHITE = "#FFFFFF"
NEAR_BLACK = "#17202B"
"""The theme's near-black text colour: the dark choice for text on a light accent."""
LIGHT_SCREEN = "#F3F4F6"
"""The normal theme's screen background (``kiosk.ui.theme.THEME.background``, the darkest
light colour the accent is read on as text: the attract screen's call to scan)."""
LIGHT_ROW = "#E9EDF2"
"""Every other cart row (``THEME.surface_alt``), under the freshly scanned line's tint."""
MUTED_TEXT = "#4F5B69"
"""The grey of secondary text (``THEME.text_muted``), also on the freshly scanned line."""
FRESH_TINT = 0.14
"""The alpha of the accent tint on the freshly scanned cart line (``theme.TINTED_TEXT``).

These three repeat the theme's values here, below both the settings and the UI, so the
settings can judge a colour at load; ``tests/test_ui_shop_colour.py`` holds them equal."""


def channels(hex_colour: str) -> tuple[int, int, int]:
    """The 0..255 red, green and blue of ``"#RRGGBB"``; ``ValueError`` for anything else."""
    digits = hex_colour[1:] if hex_colour.startswith("#") else ""
    if len(digits) != 6 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise ValueError(f"expected a colour such as '#1D4ED8', not {hex_colour!r}")
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def relative_luminance(hex_colour: str) -> float:
    """WCAG relative luminance: linearised sRGB channels weighted by the eye's sensitivity."""
    linear = []
    for channel in channels(hex_colour):
        value = channel / 255
        linear.append(value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = linear
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(foreground: str, background: str) -> float:
    """The WCAG 2.x contrast ratio of two ``"#RRGGBB"`` colours: 1.0 (same) to 21.0 (black/white).

    WCAG asks for at least 4.5 for body text and 3.0 for large text (24 px, or 18.7 px bold).
    """
    lighter, darker = sorted(
        (relative_luminance(foreground), relative_luminance(background)), reverse=True
    )
    return (lighter + 0.05) / (darker + 0.05)


def blend(top: str, alpha: float, base: str) -> str:
    """The ``"#RRGGBB"`` colour seen where ``top`` is drawn at ``alpha`` (0..1) over ``base``."""
    mixed = (
        round(alpha * upper + (1 - alpha) * lower)
        for upper, lower in zip(channels(top), channels(base), strict=True)
    )
    return "#" + "".join(f"{part:02X}" for part in mixed)


def text_colour_on(
    fill: str, minimum: float = AA_TEXT, choices: tuple[str, str] = (WHITE, NEAR_BLACK)
) -> str | None:
    """The text colour of ``choices`` (white or near-black) readable on ``fill`` at
    ``minimum``: the one with the higher contrast; ``None`` when neither reaches it."""
    best = max(choices, key=lambda text: contrast_ratio(text, fill))
    return best if contrast_ratio(best, fill) >= minimum else None


@dataclass(frozen=True)
class AccentVerdict:
    """What the kiosk makes of a shop's accent colour.

    ``text`` is the colour of text on the accent (the Pay button's label), ``None`` when the
    colour is refused; ``reason`` then says why in the shop owner's words, naming colours of
    the same hue that would work.
    """

    text: str | None
    reason: str = ""


def judge_accent(accent: str) -> AccentVerdict:
    """Whether ``accent`` can be the shop's accent colour in the normal theme.

    It must carry readable text (white or near-black at 4.5:1, WCAG AA); because the screens
    also write headlines in it on the light background, be readable itself there (4.5:1
    against ``LIGHT_SCREEN``); and, as the freshly scanned cart line is tinted with it
    (``FRESH_TINT``), keep the muted text on that line readable (4.5:1).
    """
    why = _accent_problem(accent)
    if why is None:
        return AccentVerdict(text_colour_on(accent))
    return AccentVerdict(None, f"{why}; a shade such as {suggest_shade(accent)} works")


def _accent_problem(accent: str) -> str | None:
    """Why ``accent`` cannot be the accent colour, or ``None`` when it can."""
    if text_colour_on(accent) is None:
        return (
            f"neither white ({contrast_ratio(WHITE, accent):.1f}:1) nor near-black "
            f"({contrast_ratio(NEAR_BLACK, accent):.1f}:1) text reaches {AA_TEXT}:1 on it "
            "(WCAG AA)"
        )
    as_text = contrast_ratio(accent, LIGHT_SCREEN)
    if as_text < AA_TEXT:
        return (
            f"it is too light for the headlines written in it on the light screen "
            f"({as_text:.1f}:1 against {LIGHT_SCREEN}, {AA_TEXT}:1 needed, WCAG AA)"
        )
    tinted = contrast_ratio(MUTED_TEXT, blend(accent, FRESH_TINT, LIGHT_ROW))
    if tinted < AA_TEXT:
        return (
            f"it is so dark that the grey text on the freshly scanned cart line, tinted with "
            f"it, falls to {tinted:.1f}:1 ({AA_TEXT}:1 needed, WCAG AA)"
        )
    return None


def suggest_shade(colour: str) -> str:
    """The accepted colour nearest to ``colour`` along its own hue: its channels scaled down
    together (darker) or mixed with white (lighter), one per cent at a time."""
    red, green, blue = channels(colour)
    for step in range(101):
        darker = "#" + "".join(
            f"{round(part * (100 - step) / 100):02X}" for part in (red, green, blue)
        )
        for shade in (darker, blend(WHITE, step / 100, colour)):
            if _accent_problem(shade) is None:
                return shade
    return "#1D4ED8"
