"""Headphones plugged in or not, where the hardware says so: an ALSA jack control.

Many sound chips and USB headsets report their headphone socket as a boolean control
("Headphone Jack") that ``amixer -c CARD cget name='Headphone Jack'`` reads: ``values=on``
with a plug in, ``values=off`` without. `jack_state` reads that answer (tested on fixture
text); `headphones_plugged` runs ``amixer``. A card or control that does not exist, or a
missing ``amixer``, means "not known" (None), never an error: the kiosk keeps selling.
"""

from __future__ import annotations

import re
import subprocess

AMIXER = "amixer"
"""ALSA's mixer program (Debian package ``alsa-utils``)."""
READ_TIMEOUT_S = 2.0
"""``amixer`` answers in milliseconds; a hung one is given up after this."""

_VALUES = re.compile(r"^\s*:\s*values=(\w+)", re.MULTILINE)


def jack_state(amixer_output: str) -> bool | None:
    """What ``amixer cget`` said of a jack control: True (plugged in), False (not), or None
    (no ``: values=`` line, or a value that is not on/off)."""
    found = _VALUES.search(amixer_output)
    if found is None:
        return None
    return {"on": True, "off": False}.get(found.group(1).lower())


def jack_command(card: str, control: str, amixer: str = AMIXER) -> list[str]:
    """The command that reads ``control`` of ALSA card ``card``."""
    return [amixer, "-c", card, "cget", f"name={control}"]


def headphones_plugged(card: str, control: str, amixer: str = AMIXER) -> bool | None:
    """Whether headphones are in ``card``'s socket, by its jack ``control``; None when it
    cannot be read. Blocks for the run of ``amixer``: call it from a worker thread."""
    try:
        answer = subprocess.run(
            jack_command(card, control, amixer), capture_output=True, text=True,
            timeout=READ_TIMEOUT_S, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return jack_state(answer.stdout) if answer.returncode == 0 else None
