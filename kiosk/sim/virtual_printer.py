"""The virtual receipt printer: a network ESC/POS printer on loopback that saves what it prints.

Selected by ``[printer] transport = "virtual"``. It listens on TCP like a network printer on
port 9100 (tests use port 0), serves one connection at a time, and treats everything one
connection sends as one job: when the client closes, the job's raw bytes are saved as
``folder/<n>.bin`` with a text rendering ``<n>.txt`` and a PNG preview ``<n>.png``. Only the
newest ``kept`` jobs (`KEPT_JOBS`) stay, in ``jobs`` and as files: a demo that prints all day
long grows neither its memory nor its folder.

The real-time status requests DLE EOT n (n = 1 printer, 2 offline cause, 4 paper sensor) are
answered inline with the bit values of the ESC/POS spec (the ones python-escpos's
``is_online()`` and ``paper_status()`` read) and are not part of the printed content. Like a
real printer it recognises them anywhere in the stream, even inside image data.

Faults: `go_offline`, `paper_out`, `cover_open` (status answers change and nothing is
printed), `slow` (reads slowly) and `die_mid_job` (the next job's connection is closed after
a number of bytes; what arrived is saved with ``partial=True``).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)

MONO_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
"""The preview font when installed; otherwise PIL's built-in font."""

CODE_PAGES = {0: "cp437", 2: "cp850", 16: "cp1252", 19: "cp858"}
"""ESC t n: the code pages the text rendering understands (n: Python codec)."""

_BASE = 0x12  # bits 1 and 4 are fixed to 1 in every DLE EOT answer

KEPT_JOBS = 50
"""Jobs a virtual printer keeps by default (in memory and as files); older ones go."""


@dataclass(frozen=True)
class PrintedJob:
    """One received job: its number (from 1), the raw ESC/POS bytes without status requests,
    the rendered text, the PNG preview path, and whether the connection died mid-job."""

    number: int
    raw: bytes
    text: str
    png: Path
    partial: bool = False


class VirtualPrinter:
    """A loopback network printer saving each job in ``folder``; see the module docstring."""

    def __init__(self, folder: Path, *, kept: int = KEPT_JOBS) -> None:
        if kept < 1:
            raise ValueError("a virtual printer keeps at least one job")
        self.folder = folder
        self.kept = kept
        self.jobs: list[PrintedJob] = []
        """The newest ``kept`` jobs, oldest first."""
        self.printed = 0
        """Jobs saved since the printer was made (also those no longer kept)."""
        self.address: tuple[str, int] = ("", 0)
        self._lock = threading.Condition()
        self._offline = False
        self._paper_out = False
        self._cover_open = False
        self._seconds_per_kb = 0.0
        self._die_after: int | None = None
        self._stopping = threading.Event()
        self._server: socket.socket | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle

    def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen on ``host``:``port`` (0: any free port) and return the bound address."""
        self.folder.mkdir(parents=True, exist_ok=True)
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(8)
        server.settimeout(0.05)
        self._server = server
        bound = server.getsockname()
        self.address = (str(bound[0]), int(bound[1]))
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name="virtual-printer", daemon=True)
        self._thread.start()
        return self.address

    def stop(self) -> None:
        """Stop listening and end the server thread."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._server is not None:
            self._server.close()
            self._server = None

    def wait_for_jobs(self, count: int, timeout_s: float) -> list[PrintedJob]:
        """Wait up to ``timeout_s`` seconds until ``count`` jobs are saved; return the jobs
        kept."""
        with self._lock:
            self._lock.wait_for(lambda: self.printed >= count, timeout=timeout_s)
            return list(self.jobs)

    # -- faults

    def go_offline(self) -> None:
        """Answer DLE EOT 1 with the offline bit and print nothing until `come_online`."""
        self._offline = True

    def come_online(self) -> None:
        """End `go_offline`."""
        self._offline = False

    def paper_out(self, out: bool = True) -> None:
        """The roll is empty (DLE EOT 4 says paper end; the printer stops): nothing printed."""
        self._paper_out = out

    def cover_open(self, open_: bool = True) -> None:
        """The cover is open (offline, DLE EOT 2 says cover open): nothing printed."""
        self._cover_open = open_

    def slow(self, seconds_per_kb: float) -> None:
        """Read at ``seconds_per_kb`` seconds per 1024 bytes (0: full speed)."""
        self._seconds_per_kb = seconds_per_kb

    def die_mid_job(self, after_bytes: int) -> None:
        """Close the next job's connection after ``after_bytes`` printed bytes."""
        self._die_after = after_bytes

    # -- serving

    def _serve(self) -> None:
        assert self._server is not None
        while not self._stopping.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                self._take_job(connection)

    def _take_job(self, connection: socket.socket) -> None:
        connection.settimeout(0.05)
        content = bytearray()
        held = b""
        die_after, self._die_after = self._die_after, None
        printing = not self._stopped_printer()
        while not self._stopping.is_set():
            chunk_size = 64 if self._seconds_per_kb > 0 else 65536
            try:
                chunk = connection.recv(chunk_size)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            if self._seconds_per_kb > 0:
                time.sleep(self._seconds_per_kb * len(chunk) / 1024)
            data, held = self._answer_queries(connection, held + chunk)
            printing = printing and not self._stopped_printer()
            if printing:
                content += data
            if die_after is not None and len(content) >= die_after:
                del content[die_after:]
                self._save(bytes(content), partial=True)
                connection.shutdown(socket.SHUT_RDWR)
                return
        if printing and content:
            self._save(bytes(content), partial=False)

    def _stopped_printer(self) -> bool:
        return self._offline or self._paper_out or self._cover_open

    def _answer_queries(self, connection: socket.socket, data: bytes) -> tuple[bytes, bytes]:
        """Answer every DLE EOT n in ``data``; return (content, bytes held for the next chunk)."""
        content = bytearray()
        index = 0
        while True:
            found = data.find(b"\x10\x04", index)
            if found < 0 or found + 2 >= len(data):
                break
            content += data[index:found]
            connection.sendall(bytes([self._status_byte(data[found + 2])]))
            index = found + 3
        rest = data[index:]
        for keep in (2, 1):
            if len(rest) >= keep and b"\x10\x04"[:keep] == rest[-keep:]:
                return bytes(content + rest[:-keep]), rest[-keep:]
        return bytes(content + rest), b""

    def _status_byte(self, n: int) -> int:
        if n == 1:
            return _BASE | (0x08 if self._stopped_printer() else 0)
        if n == 2:
            return _BASE | (0x04 if self._cover_open else 0) | (0x20 if self._paper_out else 0)
        if n == 4:
            return _BASE | (0x60 if self._paper_out else 0)
        return _BASE

    def _save(self, raw: bytes, *, partial: bool) -> None:
        with self._lock:
            number = self.printed + 1
        stem = self.folder / str(number)
        text = render_text(raw)
        stem.with_suffix(".bin").write_bytes(raw)
        stem.with_suffix(".txt").write_text(text, encoding="utf-8")
        png = stem.with_suffix(".png")
        render_png(text, png)
        for suffix in (".bin", ".txt", ".png"):  # the job no longer kept
            (self.folder / f"{number - self.kept}{suffix}").unlink(missing_ok=True)
        with self._lock:
            self.jobs.append(PrintedJob(number, raw, text, png, partial))
            del self.jobs[:-self.kept]
            self.printed = number
            self._lock.notify_all()
        log.info(
            "virtual printer saved job %d (%d bytes%s)",
            number,
            len(raw),
            ", partial" if partial else "",
        )


# -- rendering

# ESC x: number of parameter bytes for the fixed-length commands.
_ESC_PARAMS = {
    0x40: 0,
    0x21: 1,
    0x2D: 1,
    0x45: 1,
    0x47: 1,
    0x4D: 1,
    0x61: 1,
    0x64: 1,
    0x65: 1,
    0x4A: 1,
    0x74: 1,
    0x7B: 1,
    0x32: 0,
    0x33: 1,
    0x52: 1,
    0x56: 1,
    0x70: 3,
    0x63: 2,
    0x24: 2,
    0x5C: 2,
    0x20: 1,
    0x25: 1,
    0x3D: 1,
    0x69: 0,
    0x6D: 0,
    0x72: 1,
    0x54: 1,
    0x4C: 0,
    0x53: 0,
    0x3F: 1,
    0x42: 2,
    0x57: 8,
    0x55: 1,
    0x2A: 3,
}
# GS x: number of parameter bytes for the fixed-length commands.
_GS_PARAMS = {
    0x21: 1,
    0x42: 1,
    0x48: 1,
    0x68: 1,
    0x77: 1,
    0x66: 1,
    0x4C: 2,
    0x57: 2,
    0x2F: 1,
    0x61: 1,
    0x72: 1,
    0x49: 1,
    0x62: 1,
    0x50: 2,
    0x5C: 2,
    0x5E: 3,
    0x3A: 0,
    0x45: 1,
    0x24: 2,
    0x54: 1,
}


def _u16(data: bytes, at: int) -> int:
    low = data[at] if at < len(data) else 0
    high = data[at + 1] if at + 1 < len(data) else 0
    return low + 256 * high


def _skip_escape(data: bytes, i: int) -> tuple[int, int | None]:
    """Skip the ESC/GS/FS/DLE command at ``i``; return (next index, new code page or None)."""
    lead = data[i]
    command = data[i + 1] if i + 1 < len(data) else 0
    if lead == 0x10:  # DLE EOT n, DLE ENQ n, DLE DC4 fn m t
        return i + (5 if command == 0x14 else 3), None
    if lead == 0x1B:
        if command == 0x74 and i + 2 < len(data):
            return i + 3, data[i + 2]
        if command == 0x2A:  # ESC * m nL nH d...: bit image
            mode = data[i + 2] if i + 2 < len(data) else 0
            width = _u16(data, i + 3)
            return i + 5 + width * (3 if mode in (32, 33) else 1), None
        if command == 0x44:  # ESC D n... NUL: tab positions
            end = data.find(b"\x00", i + 2)
            return (len(data) if end < 0 else end + 1), None
        if command == 0x26:  # ESC & y c1 c2 [x d...]: user-defined characters
            height = data[i + 2] if i + 2 < len(data) else 0
            first = data[i + 3] if i + 3 < len(data) else 0
            last = data[i + 4] if i + 4 < len(data) else 0
            j = i + 5
            for _ in range(max(0, last - first + 1)):
                columns = data[j] if j < len(data) else 0
                j += 1 + columns * height
            return j, None
        return i + 2 + _ESC_PARAMS.get(command, 1), None
    if lead == 0x1D:
        if command == 0x28:  # GS ( x pL pH ...: QR codes, images, settings
            return i + 5 + _u16(data, i + 3), None
        if command == 0x38:  # GS 8 L p1..p4 ...: large images
            length = _u16(data, i + 3) + 65536 * _u16(data, i + 5)
            return i + 7 + length, None
        if command == 0x76:  # GS v 0 m xL xH yL yH d...: raster image
            return i + 8 + _u16(data, i + 4) * _u16(data, i + 6), None
        if command == 0x2A:  # GS * x y d...: downloaded bit image
            x = data[i + 2] if i + 2 < len(data) else 0
            y = data[i + 3] if i + 3 < len(data) else 0
            return i + 4 + x * y * 8, None
        if command == 0x56:  # GS V m [n]: cut
            mode = data[i + 2] if i + 2 < len(data) else 0
            return i + (4 if mode >= 65 else 3), None
        if command == 0x6B:  # GS k m ...: barcode
            mode = data[i + 2] if i + 2 < len(data) else 0
            if mode <= 6:
                end = data.find(b"\x00", i + 3)
                return (len(data) if end < 0 else end + 1), None
            length = data[i + 3] if i + 3 < len(data) else 0
            return i + 4 + length, None
        return i + 2 + _GS_PARAMS.get(command, 1), None
    # FS
    if command == 0x28:  # FS ( x pL pH ...
        return i + 5 + _u16(data, i + 3), None
    if command in (0x2E, 0x26):  # FS . / FS &: leave / enter kanji mode
        return i + 2, None
    if command == 0x70:  # FS p n m: print stored logo
        return i + 4, None
    return i + 3, None


def render_text(raw: bytes) -> str:
    """The printable text of an ESC/POS job: commands, images and barcode data removed,
    decoded per ESC t n (CP437 until told otherwise), line breaks kept."""
    parts: list[str] = []
    run = bytearray()
    codec = CODE_PAGES[0]
    i = 0
    while i < len(raw):
        byte = raw[i]
        if byte in (0x10, 0x1B, 0x1C, 0x1D):
            parts.append(run.decode(codec, errors="replace"))
            run.clear()
            i, page = _skip_escape(raw, i)
            if page is not None:
                codec = CODE_PAGES.get(page, codec)
            continue
        if byte == 0x0A:
            run.append(byte)
        elif byte == 0x09:
            run.append(0x20)
        elif byte >= 0x20 and byte != 0x7F:
            run.append(byte)
        i += 1
    parts.append(run.decode(codec, errors="replace"))
    return "".join(parts)


def render_png(text: str, path: Path) -> None:
    """Draw ``text`` in a monospace font, black on white, and save it as a PNG at ``path``."""
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont
    if MONO_FONT.exists():
        font = ImageFont.truetype(str(MONO_FONT), 16)
    else:
        font = ImageFont.load_default()
    lines = text.split("\n") or [""]
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    line_height = 20
    width = max(int(probe.textlength(line, font=font)) for line in lines) + 20
    image = Image.new("L", (max(width, 100), line_height * len(lines) + 20), 255)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((10, 10 + number * line_height), line, font=font, fill=0)
    image.save(path, format="PNG")
