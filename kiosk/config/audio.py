"""``[audio]``: where audio guidance speaks (private listening) and how headphones are seen.

Speech goes to the headphones' ALSA device (``guidance_device``), never to a loudspeaker
unless the shop allows it (``guidance_on_loudspeaker``). Without either, audio guidance
cannot be turned on and the accessibility panel says why
(:func:`kiosk.config.audio.AudioSettings.guidance_output`).
"""

# No `from __future__ import annotations`: the settings walk reads the annotations as made.

from typing import Annotated

from kiosk.config import values
from kiosk.config.tables import Check, SettingsTable

ALSA_DEVICE = values.matching(
    r"[A-Za-z0-9_][A-Za-z0-9_:=,.\-]{0,79}",
    'expected an ALSA device name such as "plughw:CARD=Headset,DEV=0", "default" or '
    '"virtual" (letters, digits and _ : = , . -)',
)
"""Check an ALSA PCM name (as ``aplay -D`` takes it)."""

ALSA_CARD = values.matching(
    r"[A-Za-z0-9_\-]{1,32}",
    'expected an ALSA card index or name such as "1" or "Headphones"',
)
"""Check an ALSA card (as ``amixer -c`` takes it)."""


def _optional(check: object) -> object:
    """``check``, letting ``""`` (not set) through."""

    def checked(value: object) -> object:
        if value == "":
            return value
        return check(value)  # type: ignore[operator]

    return checked


class AudioSettings(SettingsTable):
    """``[audio]``: audio guidance's output and the headphone socket."""

    guidance_device: Annotated[str, Check(_optional(ALSA_DEVICE))] = ""
    """The ALSA device of the headphone socket audio guidance speaks to, such as
    "plughw:CARD=Headset,DEV=0" (a tactile keypad's USB audio; the Raspberry Pi 5 has no
    audio jack); "virtual" records the speech instead (the demo and tests); "" none."""

    guidance_on_loudspeaker: Annotated[bool, Check(values.flag)] = False
    """Whether audio guidance may speak on the loudspeaker (``loudspeaker_device``) when no
    headphone device is set. Off by default: what a customer hears is private."""

    loudspeaker_device: Annotated[str, Check(ALSA_DEVICE)] = "default"
    """The ALSA device of the loudspeaker, used for guidance only when
    ``guidance_on_loudspeaker`` is true and ``guidance_device`` is empty."""

    headphone_card: Annotated[str, Check(_optional(ALSA_CARD))] = ""
    """The ALSA card whose jack control reports headphones plugged in (index or name, as
    ``amixer -c`` takes it); "" when the hardware does not report it."""

    headphone_control: Annotated[str, Check(values.text(64, empty_allowed=False))] = (
        "Headphone Jack"
    )
    """The name of that card's jack control (``amixer -c CARD controls`` lists them)."""

    volume_percent: Annotated[int, Check(values.whole_number(10, 100))] = 80
    """Audio guidance's volume at the start of each sale, percent (customers change it)."""

    rate_wpm: Annotated[int, Check(values.whole_number(100, 280))] = 160
    """Audio guidance's speed at the start of each sale, words per minute."""

    def guidance_output(self) -> str:
        """The ALSA device guidance speaks to (``"virtual"``: the twin), or ``""`` when it
        may not speak at all (no headphones set, loudspeaker not allowed)."""
        if self.guidance_device:
            return self.guidance_device
        return self.loudspeaker_device if self.guidance_on_loudspeaker else ""
