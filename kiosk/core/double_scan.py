"""Double-fire protection: the same barcode seen twice in quick succession counts once.

Scanners re-fire: a trigger bounces, a presentation scanner sees the same label on two passes,
a stuck scanner repeats a code. `DoubleScanFilter` holds back a code that equals the previous
one and arrives within ``window_s`` seconds of the last time that code was *seen* (accepted or
rejected). Measuring from the last sighting, not the last acceptance, means a scanner that keeps
re-firing the same code faster than the window is held back for as long as it keeps firing; a
deliberate re-scan (the customer buys two of the same thing) comes after a pause longer than the
window and is accepted.

Only the previous code is remembered: a different code is always accepted, so "A, B, A" are
three items however fast they come. A window of 0 disables the filter.

The filter is pure: time is passed in as ``at_s``, monotonic seconds from any fixed origin.
"""

from __future__ import annotations


class DoubleScanFilter:
    """Decides whether a scanner frame is a new scan or a repeat of the previous one.

    ``window_s`` is the hold-back window in seconds (0 turns the filter off; negative values
    raise `ValueError`).
    """

    def __init__(self, window_s: float) -> None:
        if window_s < 0:
            raise ValueError(f"the double-scan window must not be negative, got {window_s}")
        self.window_s = window_s
        self._last_frame: bytes | None = None
        self._last_seen_s = 0.0

    def accept(self, frame: bytes, at_s: float) -> bool:
        """Return True if ``frame`` seen at ``at_s`` (monotonic seconds) counts as a new scan.

        The same frame as the previous one, less than ``window_s`` seconds after that frame was
        last seen, is a repeat (False) and restarts the window. Anything else is accepted.
        """
        repeat = (
            self.window_s > 0
            and frame == self._last_frame
            and at_s - self._last_seen_s < self.window_s
        )
        self._last_frame = frame
        self._last_seen_s = at_s
        return not repeat
