"""The speech engine's twin: records what audio guidance says, for the demo and the tests.

``[audio] guidance_device = "virtual"`` chooses it (the demo does). It has the interface of
``kiosk.devices.speech.Speech`` (``SpeechOutput``) and its timing in a form a test can hold:
an utterance "is spoken" from when it starts until it ends, and by default each one ends as
soon as it starts (``hold = False``), so everything said is heard. With ``hold = True`` the
first utterance stays in progress and the others wait in the queue, as behind a real voice;
``interrupt`` then stops the one in progress and drops the waiting ones, and ``finish``
ends the one in progress as if it had been spoken to its end.

``heard`` is what the customer heard, in order, each as ``(language, text)``, with
``INTERRUPTED`` where an interrupt cut the voice off. It keeps the newest ``KEPT`` entries,
so a demo running all day does not grow.
"""

from __future__ import annotations

import threading
from collections import deque

from kiosk.devices.speech import RATE_RANGE, VOLUME_RANGE, clamp

INTERRUPTED = ("", "[interrupted]")
"""The mark ``heard`` gets where an utterance was cut off."""
KEPT = 500
"""How many entries ``heard`` keeps."""


class VirtualSpeech:
    """A voice that records instead of speaking (``SpeechOutput``)."""

    def __init__(self, *, volume_percent: int = 80, rate_wpm: int = 160) -> None:
        self.volume_percent = volume_percent
        self.rate_wpm = rate_wpm
        self.hold = False
        """True: an utterance stays in progress until ``finish`` or ``interrupt``."""
        self.heard: deque[tuple[str, str]] = deque(maxlen=KEPT)
        self.dropped: deque[tuple[str, str]] = deque(maxlen=KEPT)
        """Utterances dropped from the queue by an interrupt, never heard."""
        self.settings_heard: deque[tuple[int, int]] = deque(maxlen=KEPT)
        """(volume, rate) each heard utterance was spoken with."""
        self.closed = False
        self._speaking: tuple[str, str] | None = None
        self._waiting: deque[tuple[str, str]] = deque()
        self._lock = threading.Lock()

    @property
    def speaking(self) -> tuple[str, str] | None:
        """The utterance in progress (``(language, text)``), or None."""
        return self._speaking

    @property
    def waiting(self) -> list[tuple[str, str]]:
        """The utterances queued behind the one in progress."""
        with self._lock:
            return list(self._waiting)

    def say(self, text: str, language: str) -> None:
        """Queue ``text`` in ``language``: heard now, unless a held utterance is in progress."""
        if self.closed or not text.strip():
            return
        with self._lock:
            self._waiting.append((language, text))
            self._next()

    def finish(self) -> None:
        """The utterance in progress ends normally; the next one starts."""
        with self._lock:
            self._speaking = None
            self._next()

    def interrupt(self) -> None:
        """Cut off the utterance in progress and drop the queue."""
        with self._lock:
            if self._speaking is not None:
                self.heard.append(INTERRUPTED)
                self._speaking = None
            self.dropped.extend(self._waiting)
            self._waiting.clear()

    def close(self) -> None:
        """Stop for good."""
        self.interrupt()
        self.closed = True

    def _next(self) -> None:
        while self._speaking is None and self._waiting:
            utterance = self._waiting.popleft()
            self.heard.append(utterance)
            self.settings_heard.append(
                (clamp(self.volume_percent, VOLUME_RANGE), clamp(self.rate_wpm, RATE_RANGE))
            )
            if self.hold:
                self._speaking = utterance
