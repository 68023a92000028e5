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

    It must carry readable text (white or near-black at 4.5:1, WCAG AA) and, because the
    screens also write headlines in it on the light background, be readable itself on that
    background (4.5:1 against ``LIGHT_SCREEN``).
    """
    text = text_colour_on(accent)
    as_text = contrast_ratio(accent, LIGHT_SCREEN)
    if text is not None and as_text >= AA_TEXT:
        return AccentVerdict(text)
    on_white = contrast_ratio(WHITE, accent)
    on_dark = contrast_ratio(NEAR_BLACK, accent)
    if text is None:
        why = (
            f"neither white ({on_white:.1f}:1) nor near-black ({on_dark:.1f}:1) text reaches "
            f"{AA_TEXT}:1 on it (WCAG AA)"
        )
    else:
        why = (
            f"it is too light for the headlines written in it on the light screen "
            f"({as_text:.1f}:1 against {LIGHT_SCREEN}, {AA_TEXT}:1 needed, WCAG AA)"
        )
    return AccentVerdict(None, f"{why}; a darker shade such as {suggest_darker(accent)} works")


def suggest_darker(colour: str) -> str:
    """The lightest shade of ``colour`` (its channels scaled down together, so its hue stays)
    that ``judge_accent`` accepts."""
    red, green, blue = channels(colour)
    for step in range(100, -1, -1):
        shade = "#" + "".join(f"{round(part * step / 100):02X}" for part in (red, green, blue))
        if text_colour_on(shade) is not None and contrast_ratio(shade, LIGHT_SCREEN) >= AA_TEXT:
            return shade
    return "#000000"
