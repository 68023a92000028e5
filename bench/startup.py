"""Benchmark of start-up: process start to the first screen drawn, and memory after a sale.

Each side runs as a fresh child process (``python bench/startup.py --child kiosk|bare``), in
the same Kivy configuration (``configure_kivy(kiosk_mode=False, size=(1280, 800))``), each
with a fresh temporary ``KIVY_HOME`` and ``TMPDIR``; the rounds alternate kiosk and bare, so
drift in the machine's speed hits both alike:

- kiosk: the demo shop (``demo_settings`` on a data folder whose catalog and staff the parent
  imported *before* the clock starts, copied fresh for each round) in
  ``run_touchscreen(settings, kiosk_mode=False, size=(1280, 800))`` with the demo panel off
  (``demo=None``: what a shop's kiosk draws with ``kiosk run``). Once the attract screen is
  drawn (``on_first_frame``) it prints ``first-frame attract``; then, on the main thread
  through the facade, it waits for the background start, scans 20 different items of the
  sample catalog (one per frame), pays (the embedded Stripe emulator taps an approved card
  after 2 s), waits for the PAID state, draws a few frames, reads ``VmRSS`` and stops;
- bare: a Kivy ``App`` whose root is a ``Label``. It prints ``first-frame`` after the
  window's first flip; then adds 20 ``Label`` widgets to a ``BoxLayout`` (one per frame, as
  the kiosk adds its 20 cart lines), draws a few frames, reads ``VmRSS`` and stops.

The clock runs in this (parent) process, from just before ``subprocess.Popen`` to the moment
the child's ``first-frame`` line arrives on its stdout, the same for both sides; memory is
the child's resident set (``VmRSS`` of ``/proc/self/status``) at the end. Figures are the
median (and minimum) over the rounds.

Target: the kiosk within 1.2x the bare app, for the first frame and for memory. Needs a
display and no sound card: ``SDL_AUDIODRIVER=dummy xvfb-run -a .venv/bin/python
bench/startup.py [--rounds N] [--json]`` (``SDL_AUDIODRIVER`` defaults to ``dummy``).
Prints a table, or one JSON object with ``--json``.
"""

from __future__ import annotations

import argparse
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Nothing of kiosk or Kivy is imported at the top: the bare child must not pay for them.

TARGET_RATIO = 1.2
"""The kiosk may take at most this many times the bare app's start-up time and memory."""
WINDOW_SIZE = (1280, 800)
"""The window both sides draw (pixels): the reference 10-inch screen."""
SALE_ITEMS = 20
"""Items scanned in the kiosk's sale (labels added by the bare app)."""
SETTLE_FRAMES = 5
"""Frames drawn after the last change, before memory is read."""
CHILD_TIMEOUT_S = 120.0
"""A child that has not finished by then is killed and the benchmark fails."""
SALE_TIMEOUT_S = 60.0
"""A kiosk child whose sale has not reached PAID by then fails (before the parent kills it)."""
FIRST_FRAME = "first-frame"
RSS = "rss-kib"

_alive: list[object] = []
"""Kivy's Clock and events hold bound methods weakly: the child's drivers are kept here."""


# --------------------------------------------------------------------------------- children


def resident_kib() -> int:
    """This process's resident memory (``VmRSS``), in KiB."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


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


def finish_child() -> None:
    """Draw a few frames, report the resident memory and stop the running app."""
    from kivy.app import App

    def report() -> None:
        say(RSS, resident_kib())
        app = App.get_running_app()
        if app is not None:
            app.stop()

    FrameCountdown(SETTLE_FRAMES, report)


def run_kiosk_child(data_dir: Path, barcodes: list[str]) -> None:
    """The kiosk side: demo shop in ``data_dir``, first frame, a 20-item sale, memory."""
    from kiosk.config import demo_settings
    from kiosk.ui.launch import run_touchscreen

    settings = demo_settings(data_dir)

    def on_first_frame(screen: str) -> None:
        say(FIRST_FRAME, screen)
        from kivy.clock import Clock

        KioskSale(barcodes, Clock.schedule_interval)

    run_touchscreen(settings, kiosk_mode=False, size=WINDOW_SIZE, on_first_frame=on_first_frame)


class KioskSale:
    """Drives one sale through the running app's facade, one step per frame (main thread)."""

    def __init__(self, barcodes: list[str], schedule_interval: Callable[..., Any]) -> None:
        from kivy.app import App

        self.app: Any = App.get_running_app()
        self.barcodes = list(barcodes)
        self.paying = False
        self.started_at = time.monotonic()
        _alive.append(self)
        self.event = schedule_interval(self._step, 0)

    def _step(self, _dt: float) -> bool:
        from kiosk.core.checkout import CheckoutState

        kiosk = self.app.kiosk
        if time.monotonic() - self.started_at > SALE_TIMEOUT_S:
            raise RuntimeError(f"the sale did not finish; state {kiosk.checkout.state}")
        if not kiosk.ready:  # the kiosk starts itself once its first screen is drawn
            return True
        if self.barcodes:
            kiosk.scan(self.barcodes.pop(0).encode())
            return True
        state = kiosk.checkout.state
        if not self.paying:
            lines = len(kiosk.checkout.cart.lines)
            if state is not CheckoutState.SHOPPING or lines != SALE_ITEMS:
                raise RuntimeError(f"expected {SALE_ITEMS} lines while shopping: {lines}, {state}")
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
    """One child's figures: seconds from ``Popen`` to its first frame, and its memory."""

    first_frame_s: float
    rss_kib: int


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


def run_child(arguments: list[str], work: Path) -> ChildRun:
    """Start one child, time its first frame from just before ``Popen``, read its memory."""
    child_dir = Path(tempfile.mkdtemp(prefix="child-", dir=work))
    errors = work / f"{child_dir.name}.stderr"
    command = [sys.executable, str(Path(__file__).resolve()), "--child", *arguments]
    lines: list[tuple[float, str]] = []
    with errors.open("w", encoding="utf-8") as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True,
            env=child_environment(child_dir),
        )
        assert child.stdout is not None
        stdout = child.stdout

        def read() -> None:
            for line in stdout:
                lines.append((time.perf_counter(), line.strip()))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            code = child.wait(timeout=CHILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            reader.join(timeout=5)
            stdout.close()
    first_frame = next((at for at, line in lines if line.startswith(FIRST_FRAME)), None)
    rss = next((line.split()[1] for _at, line in lines if line.startswith(RSS + " ")), None)
    shutil.rmtree(child_dir, ignore_errors=True)
    if code != 0 or first_frame is None or rss is None:
        tail = errors.read_text(encoding="utf-8", errors="replace")[-3000:]
        what = "timed out" if code is None else f"exited with {code}"
        raise RuntimeError(
            f"child {' '.join(arguments[:1])} {what}; stdout {[line for _at, line in lines]}; "
            f"stderr tail:\n{tail}"
        )
    return ChildRun(first_frame_s=first_frame - started, rss_kib=int(rss))


def run(rounds: int) -> dict[str, Any]:
    """Alternate kiosk and bare children for ``rounds`` rounds; return every figure."""
    kiosk: list[ChildRun] = []
    bare: list[ChildRun] = []
    barcodes = ",".join(sale_barcodes())
    with tempfile.TemporaryDirectory(prefix="kiosk-startup-bench-") as tmp:
        work = Path(tmp)
        template = work / "demo-template"
        prepare_demo_data(template)
        for number in range(rounds):
            data_dir = work / f"demo-{number}"  # a fresh copy: no sale restored from before
            shutil.copytree(template, data_dir)
            sides: list[tuple[list[ChildRun], list[str]]] = [
                (kiosk, ["kiosk", "--data-dir", str(data_dir), "--barcodes", barcodes]),
                (bare, ["bare"]),
            ]
            if number % 2:
                sides.reverse()  # neither side always goes first
            for results, arguments in sides:
                results.append(run_child(arguments, work))
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
    }
    figures["first_frame_ratio"] = (
        figures["kiosk_first_frame_s_median"] / figures["bare_first_frame_s_median"]
    )
    figures["rss_ratio"] = figures["kiosk_rss_mib_median"] / figures["bare_rss_mib_median"]
    figures["first_frame_within_target"] = figures["first_frame_ratio"] <= TARGET_RATIO
    figures["rss_within_target"] = figures["rss_ratio"] <= TARGET_RATIO
    return figures


def print_table(figures: dict[str, Any]) -> None:
    """Print the figures as a table: figure, kiosk, bare Kivy app, ratio, verdict."""
    print(
        f"start-up, {figures['rounds']} rounds (process start -> first frame; "
        f"memory after a {SALE_ITEMS}-item sale), medians (min)"
    )
    print(f"{'figure':<16}{'kiosk':>18}{'bare Kivy':>18}{'ratio':>8}  target <= {TARGET_RATIO}")
    rows = (
        ("first frame (s)", "first_frame_s", "first_frame_ratio", "first_frame_within_target"),
        ("memory (MiB)", "rss_mib", "rss_ratio", "rss_within_target"),
    )
    for label, key, ratio, met in rows:
        ours = f"{figures[f'kiosk_{key}_median']:.3f} ({figures[f'kiosk_{key}_min']:.3f})"
        base = f"{figures[f'bare_{key}_median']:.3f} ({figures[f'bare_{key}_min']:.3f})"
        verdict = "met" if figures[met] else "MISSED"
        print(f"{label:<16}{ours:>18}{base:>18}{figures[ratio]:>8.2f}  {verdict}")


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the benchmark (or one child) and print the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5, help="children started per side")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--child", choices=("kiosk", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--barcodes", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "kiosk":
        if args.data_dir is None:
            parser.error("--child kiosk needs --data-dir")
        run_kiosk_child(args.data_dir, args.barcodes.split(","))
        return 0
    if args.child == "bare":
        run_bare_child()
        return 0
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        parser.error("needs a display: run it under xvfb-run -a")
    figures = run(args.rounds)
    if args.json:
        print(json.dumps(figures))
    else:
        print_table(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
