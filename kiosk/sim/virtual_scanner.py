"""The virtual barcode scanner: a pseudo-terminal that behaves like a serial scanner.

Selected by ``[scanner] port = "virtual"``. The kiosk's real serial driver opens
:attr:`VirtualScanner.path` with pyserial exactly as it opens ``/dev/kiosk-scanner`` on a
kiosk, so the driver under test is the one that runs in the shop. The simulator writes
frames (the code plus a terminator, CR by default) into the master side of the pty and
injects the faults a real scanner shows: a dropped connection (:meth:`~VirtualScanner.unplug`),
silence (:meth:`~VirtualScanner.go_silent`), line noise (:meth:`~VirtualScanner.send_garbage`)
and frames that arrive in pieces (:meth:`~VirtualScanner.split_scan`).

Other programs scan too: whatever they write to :attr:`~VirtualScanner.path` (for example
``echo -ne '4006381333931\\r' > PATH``) is relayed back as scanner output, so the driver
reads it as a frame. The path is logged on every plug-in. Because of that relay, bytes the
driver itself writes to the port also come back as input; pass ``relay_writes=False`` when
testing a driver that sends commands to the scanner (written bytes are then discarded).

Behaviour on writes, so no caller ever needs a ``try``: while plugged, a write never raises.
The simulator holds its own descriptor of the pty's slave side, so the pty stays alive
while the driver closes and reopens the port. Bytes written while no reader has the port
open wait in the pty's input queue; pyserial flushes that queue when it opens the port, so
for the driver they are lost, like scans on a real port nobody listens to. When the queue is
full (nobody has read for a long time) the rest of the write is dropped and a warning is
logged once per plug-in, instead of blocking the caller. Any other ``OSError``
from the pty is logged and the write is dropped. Writes while unplugged, silent or closed are
swallowed: a trigger pulled on a scanner that is not connected sends nothing.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import random
import select
import threading
import time
import tty
from pathlib import Path
from types import TracebackType

logger = logging.getLogger(__name__)

DEFAULT_TERMINATOR = b"\r"
"""The suffix a scanner sends after each code unless configured otherwise: carriage return."""

_LINE_ENDS = frozenset(b"\r\n")
_RELAY_CHUNK = 4096


def garbage_bytes(size: int, *, seed: int = 0, terminator: bytes = DEFAULT_TERMINATOR) -> bytes:
    """Return ``size`` bytes of deterministic binary noise that contain no line end.

    The bytes never include CR, LF or any byte of ``terminator``, so noise never completes
    a frame by itself. The same ``seed`` always gives the same bytes.
    """
    if size < 0:
        raise ValueError(f"garbage size must not be negative, got {size}")
    excluded = _LINE_ENDS | frozenset(terminator)
    alphabet = bytes(b for b in range(256) if b not in excluded)
    rng = random.Random(seed)
    return bytes(rng.choice(alphabet) for _ in range(size))


def frame_parts(frame: bytes, parts: int) -> list[bytes]:
    """Cut ``frame`` into ``parts`` consecutive, non-empty pieces of near-equal length.

    Fewer pieces come back when the frame has fewer bytes than ``parts``; joined together
    the pieces are always the frame.
    """
    if parts < 1:
        raise ValueError(f"a frame is split into at least 1 part, got {parts}")
    count = max(1, min(parts, len(frame)))
    size, extra = divmod(len(frame), count)
    pieces: list[bytes] = []
    start = 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        pieces.append(frame[start:end])
        start = end
    return pieces


class _Pty:
    """One plugged-in connection: the pty pair, and the thread relaying slave writes back."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        try:
            # Raw on both ends: no CR -> LF translation, no echo, no line buffering.
            tty.setraw(self.master)
            tty.setraw(self.slave)
            flags = fcntl.fcntl(self.master, fcntl.F_GETFL)
            fcntl.fcntl(self.master, fcntl.F_SETFL, flags | os.O_NONBLOCK)
            self.slave_name = os.ttyname(self.slave)
            self.wake_read, self.wake_write = os.pipe()
        except BaseException:
            os.close(self.master)
            os.close(self.slave)
            raise
        self.relay: threading.Thread | None = None
        self.warned_full = False

    def close(self) -> None:
        """Stop the relay thread, then close every descriptor (the driver sees a hang-up)."""
        with contextlib.suppress(OSError):
            os.write(self.wake_write, b"x")
        if self.relay is not None and self.relay is not threading.current_thread():
            self.relay.join()
        for fd in (self.master, self.slave, self.wake_read, self.wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)


class VirtualScanner:
    """A serial barcode scanner on a pseudo-terminal, with fault injection.

    ``link_path``, when given, becomes a symlink to the pty's slave (as the udev rule makes
    ``/dev/kiosk-scanner``) and stays the same across :meth:`unplug`/:meth:`replug`; an
    existing symlink there is replaced, any other existing file raises ``FileExistsError``.
    Without it, :attr:`path` is the pty's own name (``/dev/pts/N``), which changes on replug.
    ``terminator`` is the suffix sent after each code (bytes, CR by default).
    ``relay_writes`` decides whether bytes other programs write to :attr:`path` come back
    as scanner output (True) or are drained and discarded (False).

    Safe to call from several threads; usable as a context manager (closes on exit).
    """

    def __init__(
        self,
        link_path: Path | None = None,
        *,
        terminator: bytes = DEFAULT_TERMINATOR,
        relay_writes: bool = True,
    ) -> None:
        if not terminator:
            raise ValueError("a scanner terminator must be at least one byte")
        self.terminator = bytes(terminator)
        self._link = Path(link_path) if link_path is not None else None
        self._relay_writes = relay_writes
        self._lock = threading.Lock()
        self._pty: _Pty | None = None
        self._silent = False
        self._closed = False
        if self._link is not None and self._link.exists() and not self._link.is_symlink():
            raise FileExistsError(f"{self._link} exists and is not a symlink; not replacing it")
        self.path = ""
        self._plug()

    # -- connection -------------------------------------------------------------------

    @property
    def plugged(self) -> bool:
        """True while the scanner is connected (its pty exists)."""
        with self._lock:
            return self._pty is not None

    @property
    def silent(self) -> bool:
        """True while the scanner swallows every frame (see :meth:`go_silent`)."""
        return self._silent

    def unplug(self) -> None:
        """Drop the connection: close the pty (the driver's reads fail) and remove the link.

        Does nothing when already unplugged.
        """
        with self._lock:
            pty, self._pty = self._pty, None
        if pty is None:
            return
        pty.close()
        if self._link is not None and self._link.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                self._link.unlink()
        logger.info("Virtual scanner unplugged (%s)", self.path)

    def replug(self) -> None:
        """Connect again on a new pty; with a link, :attr:`path` stays the same.

        Does nothing when already plugged; raises ``RuntimeError`` after :meth:`close`.
        """
        if self._closed:
            raise RuntimeError("the virtual scanner is closed; create a new one")
        with self._lock:
            if self._pty is not None:
                return
        self._plug()

    def close(self) -> None:
        """Unplug and release everything. Calling it again does nothing."""
        self._closed = True
        self.unplug()

    def __enter__(self) -> VirtualScanner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- what the scanner sends -------------------------------------------------------

    def scan(self, code: str | bytes) -> None:
        """Send one frame, ``code`` followed by the terminator, in a single write.

        A ``str`` code is encoded as ASCII (barcode payloads are ASCII; AIM identifiers
        included), so a non-ASCII string raises ``UnicodeEncodeError``.
        """
        self._write(_as_bytes(code) + self.terminator)

    def write_raw(self, data: bytes) -> None:
        """Send ``data`` exactly as given, e.g. frames with another terminator."""
        self._write(bytes(data))

    def send_garbage(self, size: int = 64, *, seed: int = 0) -> None:
        """Send ``size`` bytes of line noise containing no terminator (same seed, same bytes)."""
        self._write(garbage_bytes(size, seed=seed, terminator=self.terminator))

    def split_scan(self, code: str | bytes, parts: int = 3, pause_s: float = 0.0) -> None:
        """Send one frame as ``parts`` separate writes, ``pause_s`` seconds apart.

        Unplugging or going silent between two parts cuts the frame short, as on a wire.
        """
        if pause_s < 0:
            raise ValueError(f"pause_s must not be negative, got {pause_s}")
        pieces = frame_parts(_as_bytes(code) + self.terminator, parts)
        for index, piece in enumerate(pieces):
            if index and pause_s:
                time.sleep(pause_s)
            self._write(piece)

    def go_silent(self) -> None:
        """Stop answering: every frame, relayed write and noise is swallowed until resume."""
        self._silent = True

    def resume(self) -> None:
        """Answer again after :meth:`go_silent`."""
        self._silent = False

    # -- internals --------------------------------------------------------------------

    def _plug(self) -> None:
        pty = _Pty()
        try:
            if self._link is not None:
                _point_link(self._link, pty.slave_name)
                path = str(self._link)
            else:
                path = pty.slave_name
        except BaseException:
            pty.close()
            raise
        relay = threading.Thread(
            target=self._relay, args=(pty,), name=f"virtual-scanner-relay {path}", daemon=True
        )
        pty.relay = relay
        with self._lock:
            self._pty = pty
            self.path = path
        relay.start()
        logger.info(
            "Virtual scanner plugged in: write frames to %s "
            "(e.g. echo -ne '4006381333931\\r' > %s)",
            path,
            path,
        )

    def _relay(self, pty: _Pty) -> None:
        """Read what programs write to the slave and send it back as scanner output."""
        while True:
            try:
                ready, _, _ = select.select([pty.master, pty.wake_read], [], [])
            except (OSError, ValueError):
                return
            if pty.wake_read in ready:
                return
            try:
                data = os.read(pty.master, _RELAY_CHUNK)
            except BlockingIOError:
                continue
            except OSError:
                return
            if not data:
                return
            if self._relay_writes:
                self._write(data, only_to=pty)

    def _write(self, data: bytes, *, only_to: _Pty | None = None) -> None:
        if not data or self._silent:
            return
        with self._lock:
            pty = self._pty
            if pty is None or (only_to is not None and pty is not only_to):
                logger.debug("Virtual scanner is unplugged; %d bytes not sent", len(data))
                return
            view = memoryview(data)
            while view:
                try:
                    written = os.write(pty.master, view)
                except BlockingIOError:
                    if not pty.warned_full:
                        pty.warned_full = True
                        logger.warning(
                            "Virtual scanner %s: nobody is reading and the pty buffer is full; "
                            "dropping output",
                            self.path,
                        )
                    return
                except OSError as error:
                    logger.warning(
                        "Virtual scanner %s: write failed (%s); %d bytes dropped",
                        self.path,
                        errno.errorcode.get(error.errno or 0, error),
                        len(view),
                    )
                    return
                view = view[written:]


def _as_bytes(code: str | bytes) -> bytes:
    return code.encode("ascii") if isinstance(code, str) else bytes(code)


def _point_link(link: Path, target: str) -> None:
    """Make ``link`` a symlink to ``target`` atomically (replacing an older symlink)."""
    temporary = link.with_name(f".{link.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    os.symlink(target, temporary)
    try:
        os.replace(temporary, link)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
