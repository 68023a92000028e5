"""Cutting a serial device's byte stream into frames (for the scanner, one frame = one scan).

No I/O. `Framing` names the options a device chooses (the scanner takes them from
``[scanner]``; a scale with another framing passes its own); `kiosk.devices.serial_link`
builds its `FrameAssembler` from them. Two framings:

``"line"``
    A frame ends at CR, LF or CRLF. CRLF is one terminator: an LF right after a CR (even when
    the two arrive in different reads) ends nothing. Terminators are stripped and empty frames
    are never returned.
``"idle"``
    For scanners that send no terminator: a frame ends when the line has been silent for
    ``idle_gap_s`` seconds. The caller reads the line with a timeout and, after a read that
    returned nothing, asks `FrameAssembler.flush_if_idle`. `FrameAssembler.feed` never ends an
    idle frame by itself: if the reader thread was held up between two reads, the bytes of one
    scan may be handed over with a gap that never existed on the wire, and only a read that
    came back empty proves the line was silent.

Memory is bounded: the pending frame never holds more than ``max_frame_bytes``. A frame that
grows past that (noise, a flood of garbage, the wrong framing) is discarded up to the next
terminator (line mode) or the next idle gap, and counted in ``dropped_frames``; the frames after
it come through intact.

In line mode a partial line left without a terminator for ``stale_line_s`` seconds (a noise
burst when a scanner is plugged in, half a frame cut off by a glitch) can be dropped too, so it
does not glue itself to the front of the next real scan; it is counted in ``stale_partials``.
`None` (the default) keeps a partial line however long it waits.
"""

from __future__ import annotations

from dataclasses import dataclass

_CR = 0x0D
_LF = 0x0A
FRAME_ENDS = ("line", "idle")


@dataclass(frozen=True)
class Framing:
    """How a device's byte stream is cut into frames: the options of `FrameAssembler`.

    ``frame_end`` is ``"line"`` (CR, LF or CRLF) or ``"idle"`` (a silence of ``idle_gap_s``
    seconds); ``max_frame_bytes`` the longest frame kept; ``stale_line_s`` seconds of silence
    after which a line-mode partial frame is dropped as noise (None: never). Checked when made:
    impossible values raise `ValueError`.
    """

    frame_end: str = "line"
    idle_gap_s: float = 0.05
    max_frame_bytes: int = 256
    stale_line_s: float | None = None

    def __post_init__(self) -> None:
        self.assembler()  # the assembler checks the values

    def assembler(self) -> FrameAssembler:
        """A fresh `FrameAssembler` with these options."""
        return FrameAssembler(
            frame_end=self.frame_end,
            max_frame_bytes=self.max_frame_bytes,
            idle_gap_s=self.idle_gap_s,
            stale_line_s=self.stale_line_s,
        )


class FrameAssembler:
    """Turns chunks of bytes read from a serial device into complete frames.

    ``frame_end`` is ``"line"`` or ``"idle"``; ``max_frame_bytes`` the longest frame kept, in
    bytes (at least 1); ``idle_gap_s`` the silence in seconds that ends an idle-mode frame;
    ``stale_line_s`` the silence in seconds after which a line-mode partial frame is noise
    (None: never). All times are monotonic seconds passed in by the caller.
    """

    def __init__(
        self,
        *,
        frame_end: str,
        max_frame_bytes: int,
        idle_gap_s: float,
        stale_line_s: float | None = None,
    ) -> None:
        if frame_end not in FRAME_ENDS:
            raise ValueError(f"frame_end must be 'line' or 'idle', got {frame_end!r}")
        if max_frame_bytes < 1:
            raise ValueError(f"max_frame_bytes must be at least 1, got {max_frame_bytes}")
        if idle_gap_s <= 0:
            raise ValueError(f"idle_gap_s must be positive, got {idle_gap_s}")
        if stale_line_s is not None and stale_line_s <= 0:
            raise ValueError(f"stale_line_s must be positive or None, got {stale_line_s}")
        self.frame_end = frame_end
        self.max_frame_bytes = max_frame_bytes
        self.idle_gap_s = idle_gap_s
        self.stale_line_s = stale_line_s
        self.dropped_frames = 0
        """Overlong frames discarded since this assembler was made."""
        self.stale_partials = 0
        """Line-mode partial frames dropped after ``stale_line_s`` of silence."""
        self._pending = bytearray()
        self._discarding = False
        self._after_cr = False
        self._last_byte_s: float | None = None

    @property
    def pending_bytes(self) -> int:
        """Bytes of the frame being assembled (never more than ``max_frame_bytes``)."""
        return len(self._pending)

    def feed(self, data: bytes, at_s: float) -> list[bytes]:
        """Take ``data`` read at ``at_s`` (monotonic seconds); return the frames it completes.

        Terminators are stripped; empty and overlong frames are not returned. In idle mode this
        always returns ``[]``: idle frames come out of `flush_if_idle`.
        """
        if not data:
            return []
        self._last_byte_s = at_s
        if self.frame_end == "idle":
            self._take(data)
            return []
        return self._feed_lines(data)

    def flush_if_idle(self, at_s: float) -> bytes | None:
        """Call after a read that found the line silent; ``at_s`` is monotonic seconds.

        Idle mode: returns the pending frame once ``idle_gap_s`` has passed since its last byte
        (None if there is none yet), and ends the discarding of an overlong frame. Line mode:
        always None; drops a partial line silent for ``stale_line_s`` (if set).
        """
        if self._last_byte_s is None:
            return None
        silent_s = at_s - self._last_byte_s
        if self.frame_end == "idle":
            if silent_s < self.idle_gap_s:
                return None
            return self._end_frame()
        if self.stale_line_s is not None and silent_s >= self.stale_line_s:
            if self._pending:
                self.stale_partials += 1
            self._pending.clear()
            self._discarding = False
            self._last_byte_s = None
        return None

    def reset(self) -> bytes | None:
        """Forget everything pending, as when the device is unplugged.

        Line mode: a partial line has no terminator, so it is not a scan: dropped, returns
        None. Idle mode: the pending bytes were a complete scan up to the unplug (the silence
        that follows is the unplug itself): returned, or None if there were none.
        """
        frame = self._end_frame() if self.frame_end == "idle" else None
        self._pending.clear()
        self._discarding = False
        self._after_cr = False
        self._last_byte_s = None
        return frame

    def _feed_lines(self, data: bytes) -> list[bytes]:
        frames: list[bytes] = []
        start = 0
        size = len(data)
        while start < size:
            if self._after_cr:
                self._after_cr = False
                if data[start] == _LF:
                    start += 1
                    continue
            end = _next_terminator(data, start)
            if end < 0:
                self._take(data[start:])
                break
            self._take(data[start:end])
            self._after_cr = data[end] == _CR
            frame = self._end_frame()
            if frame is not None:
                frames.append(frame)
            start = end + 1
        return frames

    def _take(self, chunk: bytes) -> None:
        if self._discarding or not chunk:
            return
        if len(self._pending) + len(chunk) > self.max_frame_bytes:
            self._pending.clear()
            self._discarding = True
            self.dropped_frames += 1
            return
        self._pending += chunk

    def _end_frame(self) -> bytes | None:
        if self._discarding:
            self._discarding = False
            return None
        frame = bytes(self._pending)
        self._pending.clear()
        return frame or None


def _next_terminator(data: bytes, start: int) -> int:
    """Index of the first CR or LF in ``data`` at or after ``start``, or -1."""
    cr = data.find(b"\r", start)
    lf = data.find(b"\n", start)
    if cr < 0:
        return lf
    if lf < 0:
        return cr
    return min(cr, lf)
