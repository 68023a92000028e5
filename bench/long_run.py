"""Benchmark of a long day: many sales through the real screens, memory and descriptors.

Three processes, as in a shop with the demo's twins:

- the Stripe emulator in its own process (``python bench/long_run.py --child stripe``, the
  same server as ``kiosk sim stripe``), with one simulated reader and a customer who taps an
  approved card ``CARD_TAP_AFTER_S`` after each payment starts;
- the kiosk (``--child kiosk``): the demo shop in a 1280x800 window with its demo strip, its
  reference back office in-process (sync and the QR e-receipt), its virtual scanner and
  virtual printer, card payments through the emulator's address;
- this process, which starts both, reads what the kiosk reports and prints the figures.

Each sale goes through the screens with taps, never facade calls: three sample items tapped on
the demo strip (they travel through the virtual scanner's pty, as a real scanner's frames
do), Pay, the card screen until the emulator's customer has paid, "QR code receipt" and
"Print receipt" in turn, each waited for (the QR code shown, the receipt printed), then Done
on the thank-you screen, back to the attract screen.

Before the first sale and every ``--every`` sales (50), on the attract screen after a few
frames and a full garbage collection, the kiosk reports its resident memory (``VmRSS``), its
C heap in use and SQLite's part of it, Python's allocated blocks, its open file descriptors
(``/proc/self/fd``) and its threads. This process adds the emulator's memory beside them, a
baseline that grows by design: it keeps every object and request of the day, as Stripe does.

Target: from the first sample at or after ``--warm-up`` sales (50) to the last, the kiosk
grows by less than ``TARGET_GROWTH_MIB`` (10 MiB), and its descriptors not at all. The
figures also give the growth per sale after warm-up, from a least-squares line through the
samples (less sensitive to one noisy sample than last minus first), beside the growth per
sale during warm-up (screens, fonts and caches being filled).

``--trace`` makes the kiosk trace its allocations (tracemalloc: slower, and its resident set
is no longer comparable) and print, at the end, what grew since the first sample after
warm-up: memory by kind, allocations by line, live objects by type, Kivy's textures and
caches, threads and descriptors.

Needs a display and no sound card: ``xvfb-run -a .venv/bin/python bench/long_run.py
[--sales N] [--every N] [--warm-up N] [--json] [--trace]``. Prints a table, or one JSON object with
``--json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# Nothing of kiosk or Kivy is imported at the top: the children import what they need.

WINDOW_SIZE = (1280, 800)
"""The kiosk's window (pixels): the reference 10-inch screen."""
SALES = 1000
"""Sales in a full run."""
SAMPLE_EVERY = 50
"""Sales between two samples of memory and descriptors."""
WARM_UP_SALES = 50
"""Sales before the growth is counted: caches fill, screens and fonts load, pools start."""
TARGET_GROWTH_MIB = 10.0
"""The kiosk may grow at most this much after the warm-up, whatever the number of sales."""
ITEMS_PER_SALE = 3
"""Items tapped on the demo strip in each sale."""
EMULATOR_API_KEY = "sk_test_long_run_benchmark"
"""The secret key the kiosk sends to the emulator (a test key)."""
APPROVED_CARD = "4242424242424242"
"""The test card the emulator's customer taps (Stripe's approved Visa)."""
CARD_TAP_AFTER_S = 0.2
"""Seconds after a payment starts when the emulator's customer taps the card."""
POLL_INTERVAL_MS = 100
"""How often the kiosk looks at the reader while a payment runs (the fastest it allows)."""
STEP_TIMEOUT_S = 30.0
"""A step of a sale (a scan, the payment, a receipt) that has not happened by then fails."""
SETTLE_FRAMES = 10
"""Frames drawn on the attract screen before a sample (the last screen's work is done)."""
SAMPLE = "sample"
DONE = "done"
TRACE = "trace"
TRACE_LINES = 15
"""Lines of each ``--trace`` table."""
MIB = 1048576


# ------------------------------------------------------------------------------ the kiosk


def resident_kib(pid: int | str = "self") -> int:
    """The resident memory (``VmRSS``) of process ``pid`` (default: this one), in KiB."""
    from kiosk.service.memory import resident_kib as read

    kib = read(pid)
    if kib is None:
        raise RuntimeError(f"no VmRSS in /proc/{pid}/status")
    return kib


def open_descriptors() -> int:
    """How many file descriptors this process has open (the listing's own one not counted)."""
    return len(os.listdir("/proc/self/fd")) - 1


def say(*words: object) -> None:
    """Tell the parent something: one line on stdout, flushed at once."""
    print(*words, flush=True)


def plain_items(count: int = ITEMS_PER_SALE) -> list[tuple[str, str]]:
    """(label, barcode) of the first ``count`` demo-strip items that go straight into the
    cart (no age check, not weighed, not priced in store)."""
    import csv
    import io

    from kiosk.resources import asset_text
    from kiosk.sim.demo_shop import SAMPLE_CATALOG, demo_barcodes

    plain = {
        row["barcode"] for row in csv.DictReader(io.StringIO(asset_text(SAMPLE_CATALOG)))
        if row.get("barcode") and not row.get("min_age") and not row.get("sold_by_weight")
    }
    items = [(label, code) for label, code in demo_barcodes() if code in plain][:count]
    if len(items) < count:
        raise RuntimeError(f"the demo strip has only {len(items)} plain items")
    return items


@dataclass(frozen=True)
class Plan:
    """What a run does: ``sales`` sales, a sample every ``every`` sales, growth counted from
    the first sample at or after ``warm_up`` sales; ``trace``: say what grew (tracemalloc)."""

    sales: int = SALES
    every: int = SAMPLE_EVERY
    warm_up: int = WARM_UP_SALES
    trace: bool = False
    emulator_in_kiosk: bool = False
    """The demo's embedded emulator in the kiosk's process (as ``kiosk demo`` runs it, its
    customer tapping 2 s after each payment starts) instead of one in its own process."""

    def arguments(self) -> list[str]:
        """The plan as this script's options."""
        return [f"--sales={self.sales}", f"--every={self.every}", f"--warm-up={self.warm_up}",
                *(["--trace"] if self.trace else []),
                *(["--emulator-in-kiosk"] if self.emulator_in_kiosk else [])]


Wait = Callable[[], bool]
"""A condition the shopper waits for, checked once a frame."""


class Shopper:
    """Sells ``sales`` times through the screens, one step per frame on Kivy's main thread
    (a script of taps and waits: see the module docstring); reports a sample every
    ``every`` sales and stops the app at the end."""

    def __init__(self, sales: int, every: int, warm_up: int, *, trace: bool) -> None:
        from kivy.app import App
        from kivy.clock import Clock

        self.app: Any = App.get_running_app()
        self.sales = sales
        self.every = every
        self.warm_up = warm_up
        self.trace = trace
        self.items = plain_items()
        self.started = time.monotonic()
        self.waiting: Wait | None = None
        self.what = "the kiosk to start"
        self.since = time.monotonic()
        self.traced: Any = None
        self.script = self._script()
        self.event = Clock.schedule_interval(self._step, 0)

    # -- the loop

    def _step(self, _dt: float) -> bool:
        if self.waiting is not None and not self.waiting():
            if time.monotonic() - self.since > STEP_TIMEOUT_S:
                raise RuntimeError(
                    f"waited {STEP_TIMEOUT_S} s for {self.what}; screen {self._screen()}, "
                    f"state {self.app.kiosk.checkout.state}"
                )
            return True
        try:
            self.waiting = next(self.script)
        except StopIteration:
            say(DONE, f"{time.monotonic() - self.started:.1f}")
            self.app.stop()
            return False
        self.since = time.monotonic()
        return True

    def _until(self, what: str, condition: Wait) -> Iterator[Wait]:
        self.what = what
        yield condition

    def _frames(self, count: int) -> Iterator[Wait]:
        for _ in range(count):
            yield lambda: True

    # -- the script

    def _script(self) -> Iterator[Wait]:
        yield from self._until("the kiosk to start", self._ready)
        yield from self._frames(SETTLE_FRAMES)
        self._sample(0)
        for number in range(1, self.sales + 1):
            yield from self._sale("qr" if number % 2 else "print")
            if number % self.every == 0 or number == self.sales:
                yield from self._frames(SETTLE_FRAMES)
                self._sample(number)

    def _ready(self) -> bool:
        kiosk = self.app.kiosk
        return bool(
            kiosk.ready and str(kiosk.scanner_state) == "connected"
            and self._screen() == "attract" and self.app.root.screens.has_screen("payment")
        )

    def _sale(self, receipt: str) -> Iterator[Wait]:
        app = self.app
        for label, _code in self.items:
            yield from self._scan(label)
        yield from self._tap(lambda: self._button("shopping", "pay_button"), "Pay")
        yield from self._until("the card to be paid", lambda: self._screen() == "paid")
        yield from self._tap(lambda: self._button("paid", f"{receipt}_button"), receipt)
        yield from self._until(
            f"the {receipt} receipt",
            lambda: self._screen() == "thank_you"
            and (bool(app.qr_source) if receipt == "qr" else app.receipt_status == "printed"),
        )
        yield from self._until(  # a tap sooner is the second of a double tap: ignored
            "Done to answer", lambda: app.thank_you_time.done_allowed()
        )
        yield from self._tap(lambda: self._button("thank_you", "done_button"), "Done")
        yield from self._until("the attract screen", lambda: self._screen() == "attract")

    def _scan(self, label: str) -> Iterator[Wait]:
        """Tap the item ``label`` on the demo strip; wait for it in the cart."""
        count = self.app.item_count
        yield from self._tap(lambda: self._demo_button(label), f"item {label}")
        yield from self._until(
            f"{label} in the cart",
            lambda: self.app.item_count == count + 1 and self._screen() == "shopping",
        )

    def _tap(self, find: Callable[[], Any], what: str) -> Iterator[Wait]:
        """Wait until the widget ``find()`` gives is on screen and enabled, then put a finger
        on its middle for a frame."""
        from kivy.tests.common import UnitTestTouch

        found: list[Any] = []

        def tappable() -> bool:
            widget = find()
            if widget is None or widget.disabled or widget.get_root_window() is None:
                return False
            found[:] = [widget]
            return True

        yield from self._until(f"{what} to be tappable", tappable)
        x, y = found[0].to_window(*found[0].center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        yield from self._frames(1)
        touch.touch_up()

    # -- the screens

    def _screen(self) -> str:
        manager = self.app.root.screens
        return "" if manager.transition.is_active else str(manager.current)

    def _button(self, screen: str, widget_id: str) -> Any:
        manager = self.app.root.screens
        if manager.current != screen or not manager.has_screen(screen):
            return None
        for child in manager.get_screen(screen).walk(restrict=True):
            found = getattr(child, "ids", {}).get(widget_id)
            if found is not None:
                return found
        return None

    def _demo_button(self, label: str) -> Any:
        for child in self.app.root.ids.demo_box.walk(restrict=True):
            if getattr(child, "text", None) == label and hasattr(child, "trigger_action"):
                return child
        return None

    # -- the samples

    def _sample(self, sales: int) -> None:
        gc.collect()  # garbage the collector has not reached yet is not growth
        kinds = memory_kinds()
        say(SAMPLE, json.dumps({
            "sales": sales, "rss_mib": kinds["resident"] / MIB, "fds": open_descriptors(),
            "threads": threading.active_count(), "elapsed_s": time.monotonic() - self.started,
            "heap_in_use_mib": kinds["C heap in use"] / MIB, "sqlite_mib": kinds["sqlite"] / MIB,
            "python_blocks": sys.getallocatedblocks(),
        }))
        if not self.trace:
            return
        if self.traced is None and sales >= self.warm_up:
            self.traced = traced_state()
        elif self.traced is not None and sales == self.sales:
            say(TRACE, json.dumps(growth_since(self.traced, traced_state())))


def traced_state() -> dict[str, Any]:
    """What ``--trace`` compares: a tracemalloc snapshot, live objects by type, Kivy's
    textures and caches."""
    import tracemalloc

    from kivy.cache import Cache
    from kivy.graphics.texture import Texture

    gc.collect()
    types: dict[str, int] = {}
    for thing in gc.get_objects():
        name = f"{type(thing).__module__}.{type(thing).__qualname__}"
        types[name] = types.get(name, 0) + 1
    caches = {category: len(Cache._objects.get(category, {})) for category in Cache._categories}
    caches["textures alive"] = sum(
        count for name, count in types.items() if name.endswith(f".{Texture.__qualname__}")
    )
    return {
        "snapshot": tracemalloc.take_snapshot(), "types": types, "caches": caches,
        "kinds": memory_kinds(),
        "threads": sorted(thread.name for thread in threading.enumerate()),
        "fds": sorted(os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
                      if os.path.exists(f"/proc/self/fd/{fd}")),
    }


def memory_kinds() -> dict[str, int]:
    """This process's memory by kind, in bytes: the resident set, what Python allocated
    (tracemalloc), SQLite's own allocations (``sqlite3_status64``), the C heap in use and
    free inside it (glibc's ``mallinfo2``)."""
    import ctypes
    import ctypes.util
    import tracemalloc

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallinfo2.restype = MallInfo2
    heap = libc.mallinfo2()
    sqlite = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
    used, highest = ctypes.c_int64(), ctypes.c_int64()
    sqlite.sqlite3_status64(0, ctypes.byref(used), ctypes.byref(highest), 0)
    return {
        "resident": resident_kib() * 1024,
        "python (tracemalloc)": tracemalloc.get_traced_memory()[0],
        "sqlite": used.value,
        "C heap in use": heap.uordblks + heap.hblkhd,
        "C heap free": heap.fordblks,
    }


def growth_since(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What grew between two ``traced_state`` results: allocations by line (with the
    traceback's frames in the kiosk), object counts by type, Kivy caches, threads, fds."""
    stats = after["snapshot"].compare_to(before["snapshot"], "traceback")
    lines = []
    for stat in stats[:TRACE_LINES]:
        frames = [f"{frame.filename}:{frame.lineno}" for frame in stat.traceback]
        lines.append({"kib": stat.size_diff / 1024, "count": stat.count_diff, "at": frames})
    types = sorted(
        ((after["types"].get(name, 0) - before["types"].get(name, 0), name)
         for name in after["types"]),
        reverse=True,
    )
    return {
        "kinds": {name: [before["kinds"][name], size] for name, size in after["kinds"].items()},
        "allocations": lines,
        "types": [[name, grown] for grown, name in types[:TRACE_LINES]],
        "caches": {name: [before["caches"].get(name, 0), size]
                   for name, size in after["caches"].items()},
        "threads": [before["threads"], after["threads"]],
        "fds": [before["fds"], after["fds"]],
    }


def run_kiosk_child(data_dir: Path, stripe_url: str, reader_id: str, plan: Plan) -> None:
    """The kiosk: the demo shop with its back office in-process, card payments through the
    emulator at ``stripe_url`` (none: the demo's own, embedded); sells through the screens
    as ``plan`` says."""
    from kiosk.config import Secrets, SecretStr, demo_mapping, settings_from_mapping
    from kiosk.sim.demo_backoffice import DemoBackOffice
    from kiosk.sim.demo_shop import demo_barcodes
    from kiosk.ui.launch import DemoInfo, run_touchscreen

    if plan.trace:
        import tracemalloc

        tracemalloc.start(8)
    report = prepare_demo_data(data_dir)
    backoffice = DemoBackOffice(data_dir, "demo")
    shop = demo_mapping(data_dir, backoffice.url)
    shop["stripe"] = {**shop["stripe"], "poll_interval_ms": POLL_INTERVAL_MS}
    if stripe_url:
        shop["stripe"].update(api_base=stripe_url, reader_id=reader_id)
    settings = settings_from_mapping(shop, "long-run benchmark settings")
    secrets = Secrets(stripe_api_key=SecretStr(EMULATOR_API_KEY) if stripe_url else None,
                      backoffice_token=backoffice.secrets.backoffice_token)
    demo = DemoInfo(
        barcodes=tuple(demo_barcodes()),
        staff=tuple((staff.role.value, number, staff.pin) for number, staff in report.staff),
    )
    shopper: list[Shopper] = []  # Kivy's Clock holds its callback weakly: kept here
    try:
        code = run_touchscreen(
            settings, kiosk_mode=False, demo=demo, size=WINDOW_SIZE, secrets=secrets,
            on_first_frame=lambda _screen: shopper.append(
                Shopper(plan.sales, plan.every, plan.warm_up, trace=plan.trace)
            ),
        )
    finally:
        backoffice.stop()
    if code:
        raise SystemExit(code)


def prepare_demo_data(data_dir: Path) -> Any:
    """The demo shop's catalog and staff in ``data_dir`` (as ``kiosk demo`` prepares them);
    return its ``DemoReport``."""
    from datetime import UTC, datetime

    from kiosk.config import demo_settings
    from kiosk.sim.demo_shop import prepare_demo
    from kiosk.store.db import open_database

    settings = demo_settings(data_dir)
    db = open_database(Path(settings.state_dir) / "kiosk.db")
    try:
        return prepare_demo(db, settings, now=datetime.now(UTC), work_dir=data_dir)
    finally:
        db.close()


def run_stripe_child() -> None:
    """The Stripe emulator on its own (``kiosk sim stripe``): prints its URL, serves until
    SIGTERM."""
    from kiosk.sim.stripe_emulator import serve

    serve(port=0)


# --------------------------------------------------------------------------------- parent


@dataclass(frozen=True)
class Sample:
    """The kiosk after ``sales`` sales: resident memory (MiB), open descriptors, threads, the
    seconds since its first frame, the C heap in use (glibc's ``mallinfo2``: Python's objects,
    Kivy's and SDL's buffers, SQLite...) and SQLite's share of it (MiB), Python's allocated
    blocks; and the emulator's resident memory (MiB; ``None`` when it runs in the kiosk)."""

    sales: int
    rss_mib: float
    fds: int
    threads: int
    elapsed_s: float
    heap_in_use_mib: float
    sqlite_mib: float
    python_blocks: int
    emulator_rss_mib: float | None


def child_environment(work: Path) -> dict[str, str]:
    """A child's environment: this one, no sound card needed, a fresh ``KIVY_HOME`` and
    ``TMPDIR`` under ``work``."""
    env = dict(os.environ)
    env.setdefault("SDL_AUDIODRIVER", "dummy")
    env["KIVY_NO_ARGS"] = "1"
    env.setdefault("KIVY_NO_CONSOLELOG", "1")
    for name, folder in (("KIVY_HOME", "kivy-home"), ("TMPDIR", "tmp")):
        (work / folder).mkdir(exist_ok=True)
        env[name] = str(work / folder)
    return env


def child_command(*arguments: str) -> list[str]:
    """The command line of one of this script's children."""
    return [sys.executable, str(Path(__file__).resolve()), "--child", *arguments]


def emulator_control(url: str, name: str, body: dict[str, Any]) -> Any:
    """POST ``body`` to the emulator's control path ``name``; return its JSON answer."""
    request = urllib.request.Request(
        f"{url}/_emulator/{name}", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


class Emulator:
    """The Stripe emulator's process, with its reader and customer set up."""

    def __init__(self, work: Path) -> None:
        self.process = subprocess.Popen(
            child_command("stripe"), stdout=subprocess.PIPE, text=True,
            env=child_environment(work), stderr=subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http"):
            self.stop()
            raise RuntimeError(f"the Stripe emulator did not start: {self.url!r}")
        reader = emulator_control(self.url, "readers", {"label": "Long-run reader"})
        self.reader_id = str(reader["id"])
        emulator_control(self.url, "customer", {
            "behaviour": "tap", "card": APPROVED_CARD, "after_s": CARD_TAP_AFTER_S,
        })

    def rss_mib(self) -> float:
        """The emulator's resident memory, MiB."""
        return resident_kib(self.process.pid) / 1024

    def stop(self) -> None:
        """Stop the emulator's process."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def run_kiosk(work: Path, emulator: Emulator | None, plan: Plan,
              progress: Callable[[Sample], None]) -> tuple[list[Sample], dict[str, Any] | None]:
    """Run the kiosk child as ``plan`` says, on ``emulator`` (``None``: the demo's embedded
    one); return its samples (and with ``plan.trace`` what grew). ``progress`` sees each
    sample as it arrives."""
    data_dir = work / "demo"
    data_dir.mkdir()
    arguments = ["kiosk", "--data-dir", str(data_dir), *plan.arguments()]
    if emulator is not None:
        arguments += ["--stripe-url", emulator.url, "--reader-id", emulator.reader_id]
    stderr_path = work / "kiosk.stderr"
    samples: list[Sample] = []
    traced: dict[str, Any] | None = None
    finished = False
    with stderr_path.open("w") as stderr:
        child = subprocess.Popen(
            child_command(*arguments), stdout=subprocess.PIPE,
            stderr=stderr, text=True, env=child_environment(work),
        )
        assert child.stdout is not None
        for line in child.stdout:
            word, _, rest = line.strip().partition(" ")
            if word == SAMPLE:
                samples.append(Sample(
                    **json.loads(rest),
                    emulator_rss_mib=None if emulator is None else emulator.rss_mib(),
                ))
                progress(samples[-1])
            elif word == TRACE:
                traced = json.loads(rest)
            elif word == DONE:
                finished = True
        code = child.wait()
    if code != 0 or not finished:
        tail = stderr_path.read_text(encoding="utf-8", errors="replace")[-4000:]
        raise RuntimeError(f"the kiosk exited with {code} after {len(samples)} samples:\n{tail}")
    return samples, traced


def slope_per_sale(points: list[tuple[float, float]]) -> float | None:
    """The least-squares slope of ``points`` (x, y); ``None`` with fewer than two x values."""
    if len({x for x, _y in points}) < 2:
        return None
    mean_x = sum(x for x, _y in points) / len(points)
    mean_y = sum(y for _x, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _y in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def figures_of(samples: list[Sample], plan: Plan) -> dict[str, Any]:
    """The run's figures: the curve, the growth after warm-up (memory, descriptors,
    threads), the growth per sale after warm-up (least squares: the kiosk's resident set, C
    heap, SQLite and Python blocks, and the emulator's resident set), the growth per sale
    during warm-up, and the verdict."""
    start = samples[0]
    warm = [sample for sample in samples if sample.sales >= plan.warm_up] or [start]
    first, last = warm[0], warm[-1]

    def per_sale(value: Callable[[Sample], float | None]) -> float | None:
        points = [(sample.sales, value(sample)) for sample in warm]
        return slope_per_sale([(x, y) for x, y in points if y is not None])

    growth = last.rss_mib - first.rss_mib
    fd_growth = last.fds - first.fds
    return {
        "sales": plan.sales,
        "every": plan.every,
        "warm_up_sales": first.sales,
        "samples": [asdict(sample) for sample in samples],
        "growth_after_warm_up_mib": growth,
        "fd_growth_after_warm_up": fd_growth,
        "thread_growth_after_warm_up": last.threads - first.threads,
        "kib_per_sale_after_warm_up": per_sale(lambda sample: sample.rss_mib * 1024),
        "heap_kib_per_sale_after_warm_up": per_sale(lambda sample: sample.heap_in_use_mib * 1024),
        "sqlite_kib_per_sale_after_warm_up": per_sale(lambda sample: sample.sqlite_mib * 1024),
        "python_blocks_per_sale_after_warm_up": per_sale(lambda sample: sample.python_blocks),
        "emulator_kib_per_sale_after_warm_up": per_sale(
            lambda sample: None if sample.emulator_rss_mib is None
            else sample.emulator_rss_mib * 1024
        ),
        "emulator_in_kiosk": plan.emulator_in_kiosk,
        "warm_up_kib_per_sale": (first.rss_mib - start.rss_mib) * 1024 / first.sales
        if first.sales else None,
        "seconds_per_sale": last.elapsed_s / max(1, last.sales),
        "target_growth_mib": TARGET_GROWTH_MIB,
        "within_target": growth < TARGET_GROWTH_MIB and fd_growth <= 0,
    }


def run(plan: Plan, progress: Callable[[Sample], None] = lambda _sample: None) -> dict[str, Any]:
    """Start the emulator and the kiosk, sell as ``plan`` says; return the figures."""
    with tempfile.TemporaryDirectory(prefix="kiosk-long-run-") as tmp:
        work = Path(tmp)
        emulator = None if plan.emulator_in_kiosk else Emulator(work)
        try:
            samples, traced = run_kiosk(work, emulator, plan, progress)
        finally:
            if emulator is not None:
                emulator.stop()
            shutil.rmtree(work / "demo", ignore_errors=True)
    figures = figures_of(samples, plan)
    if traced is not None:
        figures["trace"] = traced
    return figures


def print_sample(sample: Sample) -> None:
    """One line of the curve."""
    print(f"{sample.sales:>7}{sample.rss_mib:>11.1f}{sample.fds:>6}{sample.threads:>9}"
          f"{sample.heap_in_use_mib:>10.1f}{sample.sqlite_mib:>8.1f}"
          f"{sample.python_blocks:>10}{sample.elapsed_s:>9.0f}"
          f"{'-' if sample.emulator_rss_mib is None else f'{sample.emulator_rss_mib:.1f}':>10}",
          flush=True)


def print_header(sales: int) -> None:
    """The curve's title and columns."""
    print(f"long run: {sales} sales through the screens (3 items, Pay, QR and printed "
          "receipts in turn, Done); memory in MiB")
    print(f"{'sales':>7}{'RSS':>11}{'fds':>6}{'threads':>9}{'C heap':>10}{'SQLite':>8}"
          f"{'py blocks':>10}{'seconds':>9}{'emulator':>10}", flush=True)


def print_figures(figures: dict[str, Any]) -> None:
    """The figures under the curve: the growth after warm-up against the target, per sale
    beside the emulator's (which keeps every object by design) and the warm-up's, and
    ``--trace``'s tables."""
    def kib(key: str) -> str:
        value = figures[key]
        return "n/a" if value is None else f"{value:.1f} KiB"

    verdict = "met" if figures["within_target"] else "MISSED"
    print(f"from sale {figures['warm_up_sales']} to sale {figures['sales']}: memory "
          f"{figures['growth_after_warm_up_mib']:+.1f} MiB (target < "
          f"{figures['target_growth_mib']:.0f}), descriptors "
          f"{figures['fd_growth_after_warm_up']:+d} (target 0), threads "
          f"{figures['thread_growth_after_warm_up']:+d}: {verdict}")
    blocks = figures["python_blocks_per_sale_after_warm_up"]
    print(f"per sale after warm-up (least squares): kiosk {kib('kib_per_sale_after_warm_up')} "
          f"(C heap {kib('heap_kib_per_sale_after_warm_up')}, of which SQLite "
          f"{kib('sqlite_kib_per_sale_after_warm_up')}; Python blocks "
          f"{'n/a' if blocks is None else f'{blocks:+.1f}'}), Stripe emulator "
          f"{kib('emulator_kib_per_sale_after_warm_up')}; during warm-up "
          f"{kib('warm_up_kib_per_sale')}; {figures['seconds_per_sale']:.2f} s a sale")
    if figures.get("trace"):
        print_trace(figures["trace"])


def print_trace(trace: dict[str, Any]) -> None:
    """``--trace``'s tables: memory by kind, allocations and objects grown, caches, threads."""
    print("memory by kind (MiB, at the first sample after warm-up -> at the end):")
    for name, (before, after) in trace["kinds"].items():
        print(f"  {name:<22}{before / MIB:>9.1f} ->{after / MIB:>7.1f}"
              f"  ({(after - before) / MIB:+.1f})")
    print("grown since warm-up (tracemalloc, by traceback):")
    for line in trace["allocations"]:
        where = " <- ".join(reversed(line["at"][-4:]))  # the allocating line first
        print(f"  {line['kib']:>9.1f} KiB {line['count']:>+7d}  {where}")
    print("live objects grown, by type:")
    for name, grown in trace["types"]:
        print(f"  {grown:>+8d}  {name}")
    print(f"Kivy caches (before, after): {trace['caches']}")
    print(f"threads: {trace['threads'][0]} -> {trace['threads'][1]}")
    opened = sorted(set(trace["fds"][1]) - set(trace["fds"][0]))
    closed = sorted(set(trace["fds"][0]) - set(trace["fds"][1]))
    print(f"descriptors opened: {opened}; closed: {closed}")


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the benchmark (or one child) and print the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sales", type=int, default=SALES, help="sales to make")
    parser.add_argument("--every", type=int, default=SAMPLE_EVERY,
                        help="sales between two samples")
    parser.add_argument("--warm-up", type=int, default=WARM_UP_SALES,
                        help="sales before the growth is counted")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--trace", action="store_true",
                        help="trace the kiosk's allocations and say what grew after warm-up")
    parser.add_argument("--emulator-in-kiosk", action="store_true",
                        help="the demo's embedded Stripe emulator in the kiosk's process, as "
                        "kiosk demo runs it (slower: its customer taps 2 s after Pay)")
    parser.add_argument("--child", choices=("kiosk", "stripe"), help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--stripe-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--reader-id", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    plan = Plan(sales=args.sales, every=args.every, warm_up=args.warm_up, trace=args.trace,
                emulator_in_kiosk=args.emulator_in_kiosk)
    if args.child == "stripe":
        run_stripe_child()
        return 0
    if args.child == "kiosk":
        run_kiosk_child(args.data_dir, args.stripe_url, args.reader_id, plan)
        return 0
    if args.sales < 1 or args.every < 1 or args.warm_up < 0:
        parser.error("--sales and --every must be at least 1, --warm-up at least 0")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        parser.error("needs a display: run it under xvfb-run -a")
    if args.json:
        print(json.dumps(run(plan)))
        return 0
    print_header(args.sales)
    print_figures(run(plan, progress=print_sample))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
