"""The short sounds the kiosk plays: a beep for a good scan, a buzz for a rejected one.

The sounds are WAV files shipped in ``assets/sounds/`` (16-bit mono 22050 Hz; the generator
that made them is in ``tests/test_ui_sounds.py``). They are loaded through Kivy's
``SoundLoader`` on first use. A kiosk without a working audio device must still sell, so
nothing here raises: the first failure (no audio device, a missing or unreadable file) logs one
warning and every later ``play`` is silent.
"""

from __future__ import annotations

import contextlib
import logging
from importlib.resources import as_file
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from kiosk.resources import asset

log = logging.getLogger(__name__)

SOUND_NAMES = ("scan_ok", "scan_rejected")
"""The sounds the kiosk has."""


def sound_file(name: str) -> Traversable:
    """The shipped WAV file of sound ``name`` (an ``importlib.resources`` Traversable).

    Raises ``FileNotFoundError`` when there is no such sound.
    """
    return asset(f"sounds/{name}.wav")


class Sounds:
    """Plays the kiosk's sounds; ``enabled=False`` (a shop that wants quiet) plays nothing.

    Call from the UI thread (Kivy's audio is not thread-safe).
    """

    def __init__(self, enabled: bool = True, volume_percent: int = 80) -> None:
        self.enabled = enabled
        self.volume_percent = volume_percent
        """0..100: the runtime setting ``sound.volume`` (0 plays nothing)."""
        self._silent = False
        self._loaded: dict[str, Any] = {}
        # Keeps files extracted from a zipped install alive while their sounds are loaded.
        self._files = contextlib.ExitStack()

    @property
    def silent(self) -> bool:
        """True once sound has failed (or was never enabled): ``play`` then does nothing."""
        return self._silent or not self.enabled or self.volume_percent <= 0

    def play(self, name: str) -> None:
        """Play sound ``name`` (``"scan_ok"``, ``"scan_rejected"``) from the start; never raises."""
        if self.silent:
            return
        try:
            sound = self._loaded.get(name) or self._load(name)
            sound.stop()  # a second scan restarts the beep instead of being lost
            sound.volume = min(self.volume_percent, 100) / 100
            sound.play()
        except Exception as error:  # any audio failure must not stop a sale
            self._silent = True
            log.warning("sounds are off for this run: cannot play %r: %s", name, error)

    def _load(self, name: str) -> Any:
        """Load sound ``name`` with Kivy; raises when it cannot be played."""
        from kivy.core.audio import SoundLoader

        path = Path(self._files.enter_context(as_file(sound_file(name))))
        sound = SoundLoader.load(str(path))
        # A failed load (no audio device, a broken file) gives None or a sound of length 0.
        if sound is None or not sound.length:
            raise OSError(f"Kivy could not load {path} (no audio device or unsupported file)")
        self._loaded[name] = sound
        return sound

