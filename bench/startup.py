"""Benchmark of start-up: process start to the first screen drawn, memory after a sale, and
how soon a scan reaches the cart.

Each side runs as a fresh child process (``python bench/startup.py --child kiosk|bare``), in
the same Kivy configuration (``configure_kivy(kiosk_mode=False, size=(1280, 800))``), each
with a fresh temporary ``KIVY_HOME`` and ``TMPDIR``; the rounds alternate kiosk and bare, so
drift in the machine's speed hits both alike. The kiosk's modules are compiled to bytecode
first (untimed), as installing the wheel does:

- kiosk: the demo shop (``demo_mapping`` on a data folder whose catalog and staff the parent
  imported *before* the clock starts, copied fresh for each round) in
  ``run_touchscreen(settings, kiosk_mode=False, size=(1280, 800))`` with the demo panel off
  (``demo=None``: what a shop's kiosk draws with ``kiosk run``). As on a shop's kiosk, no
  twin runs in its process: card payments go to a Stripe emulator in the parent (a fresh
  one each round, whose customer taps an approved card 2 s after each payment starts) with
  a test key from the environment, and receipts to a file printer (python-escpos);
  ``--twins-in-process`` gives it the demo's embedded emulator and virtual printer instead.
  Once the attract screen is drawn (``on_first_frame``) it prints ``first-frame attract``.
  ``EARLY_SCAN_S`` (50 ms) after that frame it scans one item (through the virtual
  scanner's pty if it is open, else through the facade, which keeps it until it takes
  scans) and times it, from when it was due (a step the busy main thread runs late does
  not hide the wait), to the new cart line, or reports it lost (refused while starting).
  Once the kiosk is ready it scans the other items one at a time through the pty, each
  timed (the steady state: their median), pays,
  waits for the PAID state, draws a few frames, reads ``VmRSS`` and stops;
- bare: a Kivy ``App`` whose root is a ``Label``. It prints ``first-frame`` after the
  window's first flip; then adds 20 ``Label`` widgets to a ``BoxLayout`` (one per frame, as
  the kiosk adds its 20 cart lines), draws a few frames, reads ``VmRSS`` and stops.

The clock runs in this (parent) process, from just before ``subprocess.Popen`` to the moment
the child's ``first-frame`` line arrives on its stdout, the same for both sides; memory is
the child's resident set (``VmRSS`` of ``/proc/self/status``) at the end. Figures are the
median (and minimum) over the rounds.

Targets: the kiosk's first frame within 1.2x the bare app's, its memory within 1.4x, and
the scan 50 ms after the first frame within 20 ms of the steady-state scan.

``--memory-table`` runs one round in which each child traces its allocations (tracemalloc:
figures are larger than untraced) and prints where its memory is: by package of the
allocating file (``module code`` is what importing allocates: code objects), by kind
(Python objects, Kivy textures, SQLite's memory and page cache from ``sqlite3_status``,
mapped files, anonymous memory), by mapped file and by compiled code per package.

Needs a display and no sound card: ``SDL_AUDIODRIVER=dummy xvfb-run -a .venv/bin/python
bench/startup.py [--rounds N] [--json] [--memory-table] [--twins-in-process]``
(``SDL_AUDIODRIVER`` defaults to ``dummy``). Prints a table, or one JSON object with
``--json``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Nothing of kiosk or Kivy is imported at the top: the bare child must not pay for them.

TARGET_RATIO = 1.2
"""The kiosk may take at most this many times the bare app's time to its first frame."""
RSS_TARGET_RATIO = 1.4
"""The kiosk may use at most this many times the bare app's memory after the sale."""
WINDOW_SIZE = (1280, 800)
"""The window both sides draw (pixels): the reference 10-inch screen."""
SALE_ITEMS = 20
"""Items scanned in the kiosk's sale (labels added by the bare app)."""
SETTLE_FRAMES = 5
"""Frames drawn after the last change, before memory is read."""
CHILD_TIMEOUT_S = 120.0
"""A child that has not finished by then is killed and the benchmark fails."""
EMULATOR_API_KEY = "sk_test_startup_benchmark"
"""The secret key the kiosk child sends to the parent's Stripe emulator (a test key)."""
APPROVED_CARD = "4242424242424242"
"""The test card the simulated customer taps (Stripe's approved Visa)."""
CARD_TAP_AFTER_S = 2.0
"""Seconds after a payment starts when the simulated customer taps the card."""
SALE_TIMEOUT_S = 60.0
"""A kiosk child whose sale has not reached PAID by then fails (before the parent kills it)."""
EARLY_SCAN_S = 0.05
"""The first scan is sent this long after the first frame (seconds)."""
SCAN_TIMEOUT_S = 20.0
"""A scan that has neither reached the cart nor been refused by then counts as lost."""
SCANNER_WAIT_S = 5.0
"""After the kiosk is ready, how long scans wait for the virtual scanner to open."""
SCAN_TARGET_EXTRA_MS = 20.0
"""The early scan may take at most this much longer than a steady-state one."""
FIRST_FRAME = "first-frame"
FIRST_FRAME_CPU = "cpu-at-first-frame"
RSS = "rss-kib"
SCAN_EARLY = "scan-early"
SCAN_STEADY = "scan-steady"
MEMORY_TABLE = "memory-table"
MEMORY_TABLE_VARIABLE = "KIOSK_BENCH_MEMORY_TABLE"
"""Set in a child's environment: it traces its allocations and reports where they are."""
MEMORY_TABLE_ROWS = 18
"""Packages listed in the memory table (the largest; the rest are summed)."""

_alive: list[object] = []
"""Kivy's Clock and events hold bound methods weakly: the child's drivers are kept here."""


# --------------------------------------------------------------------------------- children


def resident_kib() -> int:
    """This process's resident memory (``VmRSS``), in KiB (read after the sale: the module
    loads then, not before either child's first frame)."""
    from kiosk.service.memory import resident_kib as read

    kib = read()
    if kib is None:
        raise RuntimeError("no VmRSS in /proc/self/status")
    return kib


def say(*words: object) -> None:
    """Tell the parent something: one line on stdout, flushed at once."""
    print(*words, flush=True)


class FrameCountdown:
    """Calls ``then`` once ``frames`` more frames have been drawn (Kivy's ``on_flip``)."""

    def __init__(self, frames: int, then: Callable[[], None]) -> None:
        from kivy.core.window import Window

        self.left = frames
        self.then = then
        self.window = Window
        _alive.append(self)
        Window.bind(on_flip=self._on_flip)
        Window.canvas.ask_update()

    def _on_flip(self, *_args: Any) -> None:
        self.left -= 1
        if self.left > 0:
            self.window.canvas.ask_update()
            return
        self.window.unbind(on_flip=self._on_flip)
        self.then()


def package_of(filename: str) -> str:
    """The top-level package an allocating file belongs to (``kiosk.<part>`` for the kiosk's
    own), ``stdlib``, or ``module code`` for what the import system allocates (code objects
    read from ``.pyc`` files)."""
    if filename.startswith("<frozen importlib"):
        return "module code"
    if filename.startswith("<"):
        return "stdlib"
    path = Path(filename)
    kiosk_root = Path(__file__).resolve().parents[1] / "kiosk"
    if path.is_relative_to(kiosk_root):
        parts = path.relative_to(kiosk_root).with_suffix("").parts
        return "kiosk." + parts[0]
    parts = path.parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            rest = parts[parts.index(marker) + 1:]
            return Path(rest[0]).stem if rest else marker
    return "stdlib" if filename.startswith(sys.base_prefix) else "other"


def texture_bytes() -> tuple[int, int]:
    """(count, bytes) of the Kivy textures alive in this process: each GL texture once (a
    region counts as its owner), 4 bytes a pixel as the GPU driver keeps them."""
    import gc

    from kivy.graphics.texture import Texture

    sizes: dict[int, int] = {}
    for thing in gc.get_objects():
        if isinstance(thing, Texture):
            owner = getattr(thing, "owner", None) or thing
            width, height = owner.size
            sizes[id(owner)] = max(sizes.get(id(owner), 0), int(width) * int(height) * 4)
    return len(sizes), sum(sizes.values())


def sqlite_bytes() -> tuple[int, int]:
    """(all memory SQLite allocated, of which its page cache) in this process, from
    ``sqlite3_status64`` of the SQLite library Python's ``sqlite3`` is linked to."""
    import ctypes
    import ctypes.util

    library = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
    figures = []
    for operation in (0, 2):  # SQLITE_STATUS_MEMORY_USED, SQLITE_STATUS_PAGECACHE_OVERFLOW
        current, highest = ctypes.c_int64(), ctypes.c_int64()
        library.sqlite3_status64(operation, ctypes.byref(current), ctypes.byref(highest), 0)
        figures.append(current.value)
    return figures[0], figures[1]


def mapped_bytes() -> dict[str, int]:
    """Resident bytes of this process by mapping (``/proc/self/smaps``): each mapped file
    (shared libraries, fonts, Python's own) by package or name, and ``[anonymous]`` for the
    heap, thread stacks and the GPU driver's buffers."""
    sizes: dict[str, int] = {}
    name = "[anonymous]"
    for line in Path("/proc/self/smaps").read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:
            path = fields[5] if len(fields) > 5 and fields[5].startswith("/") else ""
            name = package_of(path) if "-packages/" in path else Path(path).name
            name = name or "[anonymous]"
        elif fields and fields[0] == "Rss:":
            sizes[name] = sizes.get(name, 0) + int(fields[1]) * 1024
    return sizes


def where_memory_is() -> dict[str, Any]:
    """This process's memory by package (tracemalloc, by the file that allocated) and by
    kind (Python objects, module code, textures, SQLite, resident set), in bytes."""
    snapshot = tracemalloc.take_snapshot()
    by_package: dict[str, int] = {}
    for stat in snapshot.statistics("filename"):
        name = package_of(stat.traceback[0].filename)
        by_package[name] = by_package.get(name, 0) + stat.size
    traced, _peak = tracemalloc.get_traced_memory()
    textures, texture_size = texture_bytes()
    sqlite_all, sqlite_pages = sqlite_bytes()
    kinds = {
        "resident set (VmRSS)": resident_kib() * 1024,
        "Python allocations (tracemalloc)": traced,
        "  of which module code (import)": by_package.get("module code", 0),
        f"Kivy textures ({textures})": texture_size,
        "SQLite (sqlite3_status)": sqlite_all,
        "  of which page cache": sqlite_pages,
    }
    mapped = mapped_bytes()
    kinds["mapped files (libraries, fonts)"] = sum(
        size for name, size in mapped.items() if name != "[anonymous]"
    )
    kinds["anonymous (heap, stacks, GL buffers)"] = mapped.get("[anonymous]", 0)
    return {
        "packages": by_package, "kinds": kinds, "modules": len(sys.modules),
        "mapped": mapped, "pyc": compiled_bytes(),
    }


def compiled_bytes() -> dict[str, int]:
    """Bytes of the compiled code (``.pyc``) of every imported module, by top-level package:
    what the import system turned into code objects (about twice as much in memory)."""
    sizes: dict[str, int] = {}
    for name, module in list(sys.modules.items()):
        cached = getattr(module, "__cached__", None)
        if cached and os.path.exists(cached):
            top = name.split(".")[0]
            top = ".".join(name.split(".")[:2]) if top == "kiosk" else top
            sizes[top] = sizes.get(top, 0) + os.path.getsize(cached)
    return sizes


def finish_child() -> None:
    """Draw a few frames, report the resident memory and stop the running app."""
    from kivy.app import App

    def report() -> None:
        if tracemalloc.is_tracing():
            say(MEMORY_TABLE, json.dumps(where_memory_is()))
        say(RSS, resident_kib())
        app = App.get_running_app()
        if app is not None:
            app.stop()

    FrameCountdown(SETTLE_FRAMES, report)


def kiosk_settings(data_dir: Path, stripe_url: str, reader_id: str) -> Any:
    """The demo shop in ``data_dir``; with ``stripe_url``, as a shop's kiosk: card payments
    through that Stripe API (the parent's emulator) and reader, receipts to a file as to a
    printer's device node (python-escpos), no twin in this process."""
    from kiosk.config import demo_mapping, settings_from_mapping

    shop = demo_mapping(data_dir)
    if stripe_url:
        shop["stripe"] = {**shop["stripe"], "api_base": stripe_url, "reader_id": reader_id}
        shop["printer"] = {
            **shop["printer"], "transport": "file", "path": str(data_dir / "printer.out")
        }
    return settings_from_mapping(shop, "benchmark settings")


def run_kiosk_child(data_dir: Path, barcodes: list[str], stripe_url: str, reader_id: str) -> None:
    """The kiosk side: demo shop in ``data_dir``, first frame, a 20-item sale, memory."""
    from kiosk.ui.launch import run_touchscreen

    settings = kiosk_settings(data_dir, stripe_url, reader_id)

    def on_first_frame(screen: str) -> None:
        say(FIRST_FRAME, screen)
        say(FIRST_FRAME_CPU, f"{time.process_time():.4f}")
        KioskSale(barcodes, time.perf_counter())

    run_touchscreen(settings, kiosk_mode=False, size=WINDOW_SIZE, on_first_frame=on_first_frame)


@dataclass
class TimedScan:
    """One scan the benchmark sent, and when (``time.perf_counter``) it reached the cart."""

    code: str
    path: str
    """``pty`` (written on the virtual scanner, the real path) or ``facade`` (``Kiosk.scan``,
    while the scanner is not open yet)."""
    lines_before: int
    sent_at: float
    arrived_at: float | None = None
    lost: str | None = None
    """Why the scan never reached the cart (a refusal code, ``timed out``), else ``None``."""

    @property
    def latency_ms(self) -> float | None:
        """Milliseconds from sending to the new cart line; ``None`` if it never arrived."""
        return None if self.arrived_at is None else (self.arrived_at - self.sent_at) * 1000


class KioskSale:
    """Drives one sale, one step per frame (main thread): a scan ``EARLY_SCAN_S`` after the
    first frame; once the kiosk is ready, the other items one at a time through the virtual
    scanner's pty, each timed (the steady state); then Pay through the facade."""

    def __init__(self, barcodes: list[str], first_frame_at: float) -> None:
        from kivy.app import App
        from kivy.clock import Clock

        self.app: Any = App.get_running_app()
        self.listening = False
        self.barcodes = list(barcodes)
        self.early: TimedScan | None = None
        self.pending: TimedScan | None = None
        self.steady: list[TimedScan] = []
        self.early_rescanned = False
        self.ready_at: float | None = None
        self.paying = False
        self.started_at = time.monotonic()
        _alive.append(self)
        self.early_at = first_frame_at + EARLY_SCAN_S
        """When the early scan is sent (checked on each frame: Kivy's Clock counts a delay
        from its last tick, which may be older than the first frame)."""
        self.event = Clock.schedule_interval(self._step, 0)

    @property
    def kiosk(self) -> Any:
        """The app's facade (the app builds it in the tick after the first frame: the first
        step runs after that, so the benchmark does not build it earlier)."""
        return self.app.kiosk

    def _lines(self) -> int:
        """Lines in the cart (a scan kept while the kiosk starts lands before it is ready)."""
        return len(self.kiosk.checkout.cart.lines)

    def _send(self, code: str) -> TimedScan:
        """Scan ``code`` the real way (the virtual scanner's pty) once that is open, else
        through the facade."""
        scanner = self.kiosk.virtual_scanner
        on_pty = scanner is not None and str(self.kiosk.scanner_state) == "connected"
        scan = TimedScan(code, "pty" if on_pty else "facade", self._lines(), time.perf_counter())
        self.pending = scan
        if on_pty:
            scanner.scan(code)
        else:
            self.kiosk.scan(code.encode())
        return scan

    def _send_early(self) -> None:
        # Timed from when the scan was due, not from when this step ran: a customer's scan
        # does not wait for the main loop, so a step that runs late (the main thread busy
        # building the facade or a screen) is part of the scan's latency, not before it.
        self.early = self._send(self.barcodes.pop(0))
        self.early.sent_at = min(self.early.sent_at, self.early_at)

    def _on_notice(self, notice: Any) -> None:
        scan = self.pending
        if scan is None:
            return
        if self._lines() > scan.lines_before:
            scan.arrived_at = time.perf_counter()
            self.pending = None
        elif type(notice).__name__ in ("CartRefused", "ScanRejected"):
            scan.lost = str(getattr(notice, "code", getattr(notice, "reason", "refused")))
            self.pending = None

    def _waiting(self) -> bool:
        """True while the early scan is not sent yet or a sent scan has not settled."""
        scan = self.pending
        if scan is not None and time.perf_counter() - scan.sent_at > SCAN_TIMEOUT_S:
            scan.lost, self.pending = "timed out", None
        return self.early is None or self.pending is not None

    def _scanner_settled(self) -> bool:
        """True once the kiosk is ready and its virtual scanner is open (or has had
        ``SCANNER_WAIT_S`` to open: scans then go through the facade)."""
        if not self.kiosk.ready:
            return False
        now = time.monotonic()
        self.ready_at = self.ready_at or now
        connected = str(self.kiosk.scanner_state) == "connected"
        return connected or now - self.ready_at > SCANNER_WAIT_S

    def _step(self, _dt: float) -> bool:
        if time.monotonic() - self.started_at > SALE_TIMEOUT_S:
            raise RuntimeError(f"the sale did not finish; state {self.kiosk.checkout.state}")
        if not self.listening:
            self.listening = True
            self.kiosk.listen(self._on_notice)
        if self.early is None and time.perf_counter() >= self.early_at:
            self._send_early()
        if self._waiting():
            return True
        early = self.early
        assert early is not None
        if early.lost is not None and not self.early_rescanned:
            self.early_rescanned = True
            self.barcodes.insert(0, early.code)  # lost: it is scanned again with the others
        if not self._scanner_settled():
            return True
        if self.barcodes:
            self.steady.append(self._send(self.barcodes.pop(0)))
            return True
        return self._pay_step()

    def _report_scans(self) -> None:
        early = self.early
        assert early is not None
        latency = early.latency_ms
        say(SCAN_EARLY, "lost" if latency is None else f"{latency:.3f}", early.path,
            early.lost or "-")
        times = [ms for ms in (scan.latency_ms for scan in self.steady) if ms is not None]
        if len(times) != len(self.steady):
            lost = [scan.lost for scan in self.steady if scan.lost]
            raise RuntimeError(f"steady-state scans did not reach the cart: {lost}")
        say(SCAN_STEADY, f"{statistics.median(times):.3f}", self.steady[-1].path)

    def _pay_step(self) -> bool:
        from kiosk.core.checkout_states import CheckoutState

        kiosk = self.kiosk
        state = kiosk.checkout.state
        if not self.paying:
            lines = self._lines()
            if state is not CheckoutState.SHOPPING or lines != SALE_ITEMS:
                raise RuntimeError(f"expected {SALE_ITEMS} lines while shopping: {lines}, {state}")
            self._report_scans()
            self.paying = True
            kiosk.pay()
            return True
        if state is CheckoutState.PAID:
            finish_child()
            return False
        if state is not CheckoutState.PAYING:
            raise RuntimeError(f"the payment did not go through: {state}")
        return True


def run_bare_child() -> None:
    """The baseline: a Kivy App showing a Label, then 20 Labels in a BoxLayout, memory."""
    from kiosk.ui.kivy_setup import configure_kivy

    configure_kivy(kiosk_mode=False, size=WINDOW_SIZE)
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.uix.boxlayout import BoxLayout
    from kivy.uix.label import Label

    class BareApp(App):
        """A window with one Label; after the first frame, 20 more Labels, one per frame."""

        def build(self) -> Label:
            self.box: Any = None
            return Label(text="Welcome")

        def on_start(self) -> None:
            Window.bind(on_flip=self._first_flip)

        def _first_flip(self, *_args: Any) -> None:
            Window.unbind(on_flip=self._first_flip)
            say(FIRST_FRAME)
            say(FIRST_FRAME_CPU, f"{time.process_time():.4f}")
            self.box = BoxLayout(orientation="vertical")
            self.root.add_widget(self.box)
            Clock.schedule_interval(self._add_label, 0)

        def _add_label(self, _dt: float) -> bool:
            count = len(self.box.children)
            if count < SALE_ITEMS:
                self.box.add_widget(Label(text=f"Item {count + 1}  1 x 1.00  1.00"))
                return True
            finish_child()
            return False

    BareApp().run()


# ---------------------------------------------------------------------------------- parent


@dataclass(frozen=True)
class ChildRun:
    """One child's figures: seconds from ``Popen`` to its first frame, its memory, and (the
    kiosk) the latency of its early and steady-state scans."""

    first_frame_s: float
    rss_kib: int
    first_frame_cpu_s: float = 0.0
    """The child's own CPU time (user + system) up to its first frame: less disturbed than
    the wall clock by other work on the machine."""
    scan_early_ms: float | None = None
    """The scan sent ``EARLY_SCAN_S`` after the first frame; ``None`` when it was lost."""
    scan_early_path: str = ""
    scan_early_lost: str = ""
    scan_steady_ms: float | None = None
    memory_table: dict[str, Any] | None = None


def sale_barcodes(count: int = SALE_ITEMS) -> list[str]:
    """``count`` different barcodes of the sample catalog that go straight into the cart
    (no age check, not weighed)."""
    from kiosk.resources import asset_text
    from kiosk.sim.demo_shop import SAMPLE_CATALOG

    rows = csv.DictReader(io.StringIO(asset_text(SAMPLE_CATALOG)))
    codes = [
        row["barcode"] for row in rows
        if row.get("barcode") and not row.get("min_age") and not row.get("sold_by_weight")
    ]
    if len(codes) < count:
        raise RuntimeError(f"the sample catalog has only {len(codes)} plain items")
    return codes[:count]


def prepare_demo_data(data_dir: Path) -> None:
    """The demo shop's catalog and staff in ``data_dir`` (untimed, before the rounds)."""
    from datetime import UTC, datetime

    from kiosk.config import demo_settings
    from kiosk.sim.demo_shop import prepare_demo
    from kiosk.store.db import open_database

    data_dir.mkdir(parents=True)
    settings = demo_settings(data_dir)
    db = open_database(Path(settings.state_dir) / "kiosk.db")
    try:
        prepare_demo(db, settings, now=datetime.now(UTC), work_dir=data_dir)
    finally:
        db.close()


def child_environment(child_dir: Path) -> dict[str, str]:
    """The environment of a child: this one, no sound card needed, and under ``child_dir`` a
    fresh ``KIVY_HOME`` and ``TMPDIR`` (python-escpos leaves a temporary folder behind in
    every process that imports it; here it goes when ``child_dir`` does)."""
    env = dict(os.environ)
    env.setdefault("SDL_AUDIODRIVER", "dummy")
    env["KIVY_NO_ARGS"] = "1"
    for name, folder in (("KIVY_HOME", "kivy-home"), ("TMPDIR", "tmp")):
        (child_dir / folder).mkdir()
        env[name] = str(child_dir / folder)
    return env


def run_process(
    arguments: list[str], work: Path, env: dict[str, str]
) -> tuple[int | None, float, list[tuple[float, str]]]:
    """Run one child; return its exit code (``None``: killed after ``CHILD_TIMEOUT_S``), the
    ``perf_counter`` just before ``Popen`` and each stdout line with when it arrived."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", *arguments]
    lines: list[tuple[float, str]] = []
    with (work / f"{Path(env['KIVY_HOME']).parent.name}.stderr").open("w") as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env
        )
        assert child.stdout is not None
        stdout = child.stdout

        def read() -> None:
            for line in stdout:
                lines.append((time.perf_counter(), line.strip()))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            code: int | None = child.wait(timeout=CHILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            reader.join(timeout=5)
            stdout.close()
    return code, started, lines


def run_child(arguments: list[str], work: Path, *, memory_table: bool = False) -> ChildRun:
    """Start one child, time its first frame from just before ``Popen``, read its memory
    (with ``memory_table``, the child traces its allocations and reports where they are)."""
    child_dir = Path(tempfile.mkdtemp(prefix="child-", dir=work))
    env = child_environment(child_dir)
    if memory_table:
        env[MEMORY_TABLE_VARIABLE] = "1"
    if "--stripe-url" in arguments:  # the kiosk reads its Stripe key from the environment
        env["KIOSK_STRIPE_API_KEY"] = EMULATOR_API_KEY
    code, started, lines = run_process(arguments, work, env)
    shutil.rmtree(child_dir, ignore_errors=True)
    said = {line.split()[0]: (at, line.split()[1:]) for at, line in reversed(lines) if line}
    if code != 0 or FIRST_FRAME not in said or RSS not in said:
        errors = work / f"{child_dir.name}.stderr"
        tail = errors.read_text(encoding="utf-8", errors="replace")[-3000:]
        what = "timed out" if code is None else f"exited with {code}"
        raise RuntimeError(
            f"child {' '.join(arguments[:1])} {what}; stdout {[line for _at, line in lines]}; "
            f"stderr tail:\n{tail}"
        )
    early = said.get(SCAN_EARLY, (0.0, ["lost", "", ""]))[1]
    steady = said.get(SCAN_STEADY, (0.0, []))[1]
    table = said.get(MEMORY_TABLE, (0.0, []))[1]
    return ChildRun(
        first_frame_s=said[FIRST_FRAME][0] - started,
        rss_kib=int(said[RSS][1][0]),
        first_frame_cpu_s=float(said.get(FIRST_FRAME_CPU, (0.0, ["0"]))[1][0]),
        scan_early_ms=None if early[0] == "lost" else float(early[0]),
        scan_early_path=early[1],
        scan_early_lost="" if early[2] == "-" else early[2],
        scan_steady_ms=float(steady[0]) if steady else None,
        memory_table=json.loads(" ".join(table)) if table else None,
    )


def scan_figures(kiosk: list[ChildRun]) -> dict[str, Any]:
    """The early and steady-state scan latencies of the kiosk rounds (medians, ms)."""
    early = [run.scan_early_ms for run in kiosk if run.scan_early_ms is not None]
    steady = [run.scan_steady_ms for run in kiosk if run.scan_steady_ms is not None]
    figures: dict[str, Any] = {
        "scan_after_first_frame_ms": statistics.median(early) if early else None,
        "scan_after_first_frame_lost": sum(1 for run in kiosk if run.scan_early_ms is None),
        "scan_after_first_frame_paths": sorted({run.scan_early_path for run in kiosk}),
        "scan_after_first_frame_refusals": sorted(
            {run.scan_early_lost for run in kiosk if run.scan_early_lost}
        ),
        "scan_steady_ms": statistics.median(steady) if steady else None,
        "scan_target_extra_ms": SCAN_TARGET_EXTRA_MS,
    }
    if figures["scan_after_first_frame_ms"] is None or figures["scan_steady_ms"] is None:
        figures["scan_extra_ms"] = None
        figures["scan_within_target"] = False
    else:
        extra = figures["scan_after_first_frame_ms"] - figures["scan_steady_ms"]
        figures["scan_extra_ms"] = extra
        figures["scan_within_target"] = (
            extra <= SCAN_TARGET_EXTRA_MS and not figures["scan_after_first_frame_lost"]
        )
    return figures


def run_rounds(
    rounds: int, *, memory_table: bool = False, twins_in_process: bool = False
) -> tuple[list[ChildRun], list[ChildRun]]:
    """Alternate kiosk and bare children for ``rounds`` rounds; return (kiosk, bare) runs.

    Unless ``twins_in_process``, each kiosk round gets a fresh Stripe emulator in this
    process (a shop's kiosk talks to Stripe over the network; it runs no emulator)."""
    kiosk: list[ChildRun] = []
    bare: list[ChildRun] = []
    barcodes = ",".join(sale_barcodes())
    compile_kiosk()
    with tempfile.TemporaryDirectory(prefix="kiosk-startup-bench-") as tmp:
        work = Path(tmp)
        template = work / "demo-template"
        prepare_demo_data(template)
        for number in range(rounds):
            data_dir = work / f"demo-{number}"  # a fresh copy: no sale restored from before
            shutil.copytree(template, data_dir)
            with stripe_for_round(data_dir, enabled=not twins_in_process) as stripe:
                sides: list[tuple[list[ChildRun], list[str]]] = [
                    (kiosk, ["kiosk", "--data-dir", str(data_dir), "--barcodes", barcodes,
                             *stripe]),
                    (bare, ["bare"]),
                ]
                if number % 2:
                    sides.reverse()  # neither side always goes first
                for results, arguments in sides:
                    results.append(run_child(arguments, work, memory_table=memory_table))
    return kiosk, bare


@contextlib.contextmanager
def stripe_for_round(data_dir: Path, *, enabled: bool) -> Iterator[list[str]]:
    """A Stripe emulator in this process for one kiosk round, with a reader and a customer
    who taps an approved card 2 s after each payment starts (as the demo's does); yields the
    kiosk child's arguments for it (none when not ``enabled``: the child embeds its own)."""
    if not enabled:
        yield []
        return
    from kiosk.sim.stripe_emulator import StripeEmulator

    emulator = StripeEmulator(state_path=data_dir.parent / f"{data_dir.name}-stripe.json")
    url = emulator.start()
    try:
        reader = emulator.register_simulated_reader("simulated-wpe", label="Benchmark reader")
        emulator.customer("tap", card=APPROVED_CARD, after_s=CARD_TAP_AFTER_S)
        yield ["--stripe-url", url, "--reader-id", str(reader["id"])]
    finally:
        emulator.stop()


def compile_kiosk() -> None:
    """Compile the kiosk's modules to bytecode (``__pycache__``), as installing its wheel
    does: a development tree run with ``PYTHONDONTWRITEBYTECODE`` would otherwise compile
    every module from source in every child, which a shop's kiosk never does."""
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "kiosk"), quiet=2)


def run(rounds: int, *, twins_in_process: bool = False) -> dict[str, Any]:
    """Alternate kiosk and bare children for ``rounds`` rounds; return every figure."""
    kiosk, bare = run_rounds(rounds, twins_in_process=twins_in_process)
    kiosk_s = [one.first_frame_s for one in kiosk]
    bare_s = [one.first_frame_s for one in bare]
    kiosk_mib = [one.rss_kib / 1024 for one in kiosk]
    bare_mib = [one.rss_kib / 1024 for one in bare]
    figures: dict[str, Any] = {
        "rounds": rounds,
        "kiosk_first_frame_s_median": statistics.median(kiosk_s),
        "kiosk_first_frame_s_min": min(kiosk_s),
        "bare_first_frame_s_median": statistics.median(bare_s),
        "bare_first_frame_s_min": min(bare_s),
        "kiosk_rss_mib_median": statistics.median(kiosk_mib),
        "kiosk_rss_mib_min": min(kiosk_mib),
        "bare_rss_mib_median": statistics.median(bare_mib),
        "bare_rss_mib_min": min(bare_mib),
        "target": TARGET_RATIO,
        "rss_target": RSS_TARGET_RATIO,
        "twins_in_process": twins_in_process,
    }
    figures["first_frame_ratio"] = (
        figures["kiosk_first_frame_s_median"] / figures["bare_first_frame_s_median"]
    )
    kiosk_cpu = statistics.median(one.first_frame_cpu_s for one in kiosk)
    bare_cpu = statistics.median(one.first_frame_cpu_s for one in bare)
    figures["kiosk_first_frame_cpu_s_median"] = kiosk_cpu
    figures["bare_first_frame_cpu_s_median"] = bare_cpu
    figures["first_frame_cpu_ratio"] = kiosk_cpu / bare_cpu if bare_cpu else None
    figures["rss_ratio"] = figures["kiosk_rss_mib_median"] / figures["bare_rss_mib_median"]
    figures["first_frame_within_target"] = figures["first_frame_ratio"] <= TARGET_RATIO
    figures["rss_within_target"] = figures["rss_ratio"] <= RSS_TARGET_RATIO
    figures.update(scan_figures(kiosk))
    return figures


def print_table(figures: dict[str, Any]) -> None:
    """Print the figures as a table: figure, kiosk, bare Kivy app, ratio, verdict; then the
    early and steady-state scan latencies."""
    print(
        f"start-up, {figures['rounds']} rounds (process start -> first frame; "
        f"memory after a {SALE_ITEMS}-item sale), medians (min)"
    )
    print(f"{'figure':<16}{'kiosk':>18}{'bare Kivy':>18}{'ratio':>8}  target")
    rows = (
        ("first frame (s)", "first_frame_s", "first_frame_ratio", "first_frame_within_target",
         figures["target"]),
        ("memory (MiB)", "rss_mib", "rss_ratio", "rss_within_target", figures["rss_target"]),
    )
    for label, key, ratio, met, target in rows:
        ours = f"{figures[f'kiosk_{key}_median']:.3f} ({figures[f'kiosk_{key}_min']:.3f})"
        base = f"{figures[f'bare_{key}_median']:.3f} ({figures[f'bare_{key}_min']:.3f})"
        verdict = "met" if figures[met] else "MISSED"
        print(f"{label:<16}{ours:>18}{base:>18}{figures[ratio]:>8.2f}  <= {target} {verdict}")

    if figures["first_frame_cpu_ratio"] is not None:
        cpu = f"{figures['kiosk_first_frame_cpu_s_median']:.3f}"
        base = f"{figures['bare_first_frame_cpu_s_median']:.3f}"
        print(f"{'CPU to frame (s)':<16}{cpu:>18}{base:>18}{figures['first_frame_cpu_ratio']:>8.2f}"
              "  (the child's own CPU time; informative)")

    def ms(value: float | None) -> str:
        return "lost" if value is None else f"{value:.1f}"

    early = figures["scan_after_first_frame_ms"]
    print(
        f"scan -> cart (ms): {EARLY_SCAN_S * 1000:.0f} ms after the first frame {ms(early)} "
        f"(via {'/'.join(figures['scan_after_first_frame_paths'])}; lost in "
        f"{figures['scan_after_first_frame_lost']} of {figures['rounds']} rounds"
        f"{': ' + ', '.join(figures['scan_after_first_frame_refusals']) if early is None else ''}"
        f"), steady state {ms(figures['scan_steady_ms'])}; extra <= {SCAN_TARGET_EXTRA_MS:.0f}: "
        f"{'met' if figures['scan_within_target'] else 'MISSED'}"
    )


def print_memory_table(kiosk: ChildRun, bare: ChildRun) -> None:
    """Print where each side's memory is, by package and by kind (MiB)."""
    assert kiosk.memory_table is not None and bare.memory_table is not None
    ours, base = kiosk.memory_table, bare.memory_table

    def mib(value: int) -> str:
        return f"{value / 1048576:.1f}"

    print(f"memory after a {SALE_ITEMS}-item sale, traced with tracemalloc (MiB)")
    print(f"{'by package (allocating file)':<34}{'kiosk':>10}{'bare Kivy':>10}")
    packages = sorted(ours["packages"].items(), key=lambda item: -item[1])
    for name, size in packages[:MEMORY_TABLE_ROWS]:
        print(f"{name:<34}{mib(size):>10}{mib(base['packages'].get(name, 0)):>10}")
    listed = {name for name, _size in packages[:MEMORY_TABLE_ROWS]}
    rest = sum(size for name, size in packages[MEMORY_TABLE_ROWS:])
    base_rest = sum(size for name, size in base["packages"].items() if name not in listed)
    print(f"{'(the rest)':<34}{mib(rest):>10}{mib(base_rest):>10}")
    print(f"{'by kind':<34}{'kiosk':>10}{'bare Kivy':>10}")
    for kind, size in ours["kinds"].items():
        base_size = next(
            (value for name, value in base["kinds"].items()
             if name.split(" (")[0] == kind.split(" (")[0]), 0,
        )
        print(f"{kind:<34}{mib(size):>10}{mib(base_size):>10}")
    print(f"{'modules imported':<34}{ours['modules']:>10}{base['modules']:>10}")
    for title, key in (("mapped files (RSS)", "mapped"), ("compiled code (.pyc bytes)", "pyc")):
        print(f"{'by ' + title:<34}{'kiosk':>10}{'bare Kivy':>10}")
        rows = sorted(ours[key].items(), key=lambda item: -item[1])[:MEMORY_TABLE_ROWS]
        for name, size in rows:
            print(f"{name:<34}{mib(size):>10}{mib(base[key].get(name, 0)):>10}")


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the benchmark (or one child) and print the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5, help="children started per side")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--memory-table", action="store_true",
        help="one round, each side tracing its allocations: print where the memory is",
    )
    parser.add_argument("--child", choices=("kiosk", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--barcodes", default="", help=argparse.SUPPRESS)
    parser.add_argument("--stripe-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--reader-id", default="", help=argparse.SUPPRESS)
    parser.add_argument(
        "--twins-in-process", action="store_true",
        help="the kiosk child runs the demo's Stripe emulator and virtual printer itself "
        "(as kiosk demo does) instead of a Stripe API in this process and a file printer",
    )
    args = parser.parse_args(argv)
    if args.child and os.environ.get(MEMORY_TABLE_VARIABLE):
        tracemalloc.start()
    if args.child == "kiosk":
        if args.data_dir is None:
            parser.error("--child kiosk needs --data-dir")
        run_kiosk_child(args.data_dir, args.barcodes.split(","), args.stripe_url, args.reader_id)
        return 0
    if args.child == "bare":
        run_bare_child()
        return 0
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        parser.error("needs a display: run it under xvfb-run -a")
    if args.memory_table:
        kiosk, bare = run_rounds(1, memory_table=True, twins_in_process=args.twins_in_process)
        if args.json:
            print(json.dumps({"kiosk": kiosk[0].memory_table, "bare": bare[0].memory_table}))
        else:
            print_memory_table(kiosk[0], bare[0])
        return 0
    figures = run(args.rounds, twins_in_process=args.twins_in_process)
    if args.json:
        print(json.dumps(figures))
    else:
        print_table(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
