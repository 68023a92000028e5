"""Driving the real touchscreen in tests: a Kivy window under Xvfb, real screens, real taps.

Importing this module configures Kivy (as ``kiosk run`` does, in a window) before the first
Kivy import creates the window; every UI test module imports it first. One window serves the
whole test process: each test builds a fresh ``KioskApp`` in it, at the size it asks for,
drives it with touches (``UnitTestTouch`` at a widget's window coordinates) and scanner frames
(the virtual scanner's pseudo-terminal, the real serial path), and saves screenshots under
``test-artifacts/ui/<test>/`` (not committed).

The facade gets a clock the test moves (``KioskDriver.advance``), so inactivity timeouts need
no real waiting; frames are pumped with ``EventLoop.idle()`` until a condition holds.
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
import time
from collections.abc import Callable, Generator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))

from kiosk.ui.kivy_setup import configure_kivy

configure_kivy(kiosk_mode=False, size=(1280, 800))

from kivy.base import EventLoop  # noqa: E402
from kivy.core.window import Window  # noqa: E402
from kivy.lang import global_idmap  # noqa: E402
from kivy.tests.common import UnitTestTouch  # noqa: E402
from kivy.uix.recycleview import views as recycled_rows  # noqa: E402
from kivy.uix.scrollview import ScrollView  # noqa: E402
from kivy.uix.widget import Widget  # noqa: E402

from kiosk.app import Kiosk  # noqa: E402
from kiosk.config import Secrets, Settings, demo_settings  # noqa: E402
from kiosk.sim.demo_shop import demo_barcodes, prepare_demo  # noqa: E402
from kiosk.store.db import open_database  # noqa: E402
from kiosk.ui.app import KioskApp, kivy_post  # noqa: E402
from kiosk.ui.launch import DemoInfo  # noqa: E402
from kiosk.ui.sizing import DEFAULT_DIAGONALS_IN  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "ui"
SIZES = {"1280x800": (1280, 800), "800x480": (800, 480)}
"""The two sizes the journeys are driven at: the 10-inch and the 7-inch landscape screen (the
smallest and the reference; ``SUPPORTED_SIZES`` has them all)."""
SUPPORTED_SIZES = {f"{width}x{height}": (width, height) for width, height in DEFAULT_DIAGONALS_IN}
"""Every supported touchscreen (``kiosk.ui.sizing``): 7-inch (800x480, 1024x600), 10-inch
(1280x800), 15-inch landscape (1920x1080) and a portrait totem (1080x1920); the layout test
visits every customer screen at each."""
SETTLE_FRAMES = 6
"""Frames drawn after a condition holds, so the layout it caused has settled."""
WAIT_S = 20.0
"""The longest a test waits for the kiosk to get somewhere (a guard, not a timing claim)."""

MINERAL_WATER = "4006381333931"
ORANGE_JUICE = "5012345001012"


class FakeClock:
    """The facade's clock: real time plus whatever the test has skipped ahead."""

    def __init__(self) -> None:
        self.skipped = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.skipped


def barcode_of(name_start: str) -> str:
    """The demo catalog barcode of the first sample item whose label starts so."""
    for label, code in demo_barcodes(limit=40):
        if label.startswith(name_start):
            return code
    raise LookupError(name_start)


class KioskDriver:
    """A running ``KioskApp`` in the test window, and the hands that use it."""

    def __init__(
        self,
        data_dir: Path,
        settings: Settings,
        *,
        size: tuple[int, int],
        shots: Path,
        demo: DemoInfo | None,
        card_payments: bool = True,
        secrets: Secrets | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.settings = settings
        self.clock = FakeClock()
        self.shots = shots
        self._shot_number = 0
        _resize_window(size)
        self.kiosk = Kiosk(
            settings,
            post_to_main=kivy_post,
            clock=self.clock,
            card_payments=card_payments,
            secrets=secrets,
            database=data_dir / "kiosk.db",
        )
        self.app = KioskApp(self.kiosk, settings, demo=demo, thank_you_s=1.0)
        object.__setattr__(global_idmap["app"], "_obj", self.app)  # see ``stop``
        self.app._run_prepare()  # what App.run() does before its loop; the test pumps frames
        self.pump(0.2)

    # ------------------------------------------------------------------ time and frames

    def pump(self, seconds: float = 0.0) -> None:
        """Let the window run for ``seconds`` of real time (at least one frame)."""
        end = time.monotonic() + seconds
        EventLoop.idle()
        while time.monotonic() < end:
            EventLoop.idle()

    def wait_for(self, what: Callable[[], bool], describe: str, timeout_s: float = WAIT_S) -> None:
        """Pump frames until ``what()`` holds; fail with a screenshot if it never does."""
        deadline = time.monotonic() + timeout_s
        while not what():
            if time.monotonic() > deadline:
                path = self.screenshot(f"timeout-{describe}")
                raise AssertionError(
                    f"waited {timeout_s} s for {describe}; screen {self.screen!r}; see {path}"
                )
            EventLoop.idle()
        self.frames(SETTLE_FRAMES)

    def frames(self, count: int) -> None:
        """Draw ``count`` frames (layouts settle over a few frames, whatever the speed)."""
        for _ in range(count):
            EventLoop.idle()

    def wait_for_screen(self, name: str, timeout_s: float = WAIT_S) -> None:
        """Pump until screen ``name`` is showing (transition finished)."""
        manager = self.app.root.screens
        self.wait_for(
            lambda: manager.current == name and not manager.transition.is_active,
            f"the {name} screen",
            timeout_s,
        )

    def advance(self, seconds: float) -> None:
        """Move the facade's clock ``seconds`` ahead and let the kiosk notice (a tick)."""
        self.clock.skipped += timedelta(seconds=seconds)
        self.kiosk.tick()
        self.pump(0.05)

    @property
    def screen(self) -> str:
        """The name of the screen on show."""
        return str(self.app.root.screens.current)

    # ------------------------------------------------------------------------ hands

    def find(self, widget_id: str, screen: str | None = None) -> Widget:
        """A widget by its kv id on ``screen`` (default: the one on show), or in the root."""
        if screen is None and widget_id in self.app.root.ids:
            return self.app.root.ids[widget_id]
        holder = self.app.root.screens.get_screen(screen or self.screen)
        found = _find_id(holder, widget_id)
        if found is None:
            raise LookupError(f"no widget with id {widget_id!r} on {screen or self.screen}")
        return found

    def tap(self, widget: Widget) -> None:
        """Touch the middle of ``widget`` with a finger (down, then up), as on the screen."""
        assert widget.get_root_window() is not None, f"{widget} is not on screen"
        assert not widget.disabled, f"{widget} is disabled"
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.pump(0.02)
        touch.touch_up()
        self.pump(0.05)

    def drag(self, widget: Widget, dy: float, steps: int = 10) -> None:
        """Put a finger on the middle of ``widget``, move it ``dy`` pixels up (negative:
        down) in ``steps`` moves, a frame apart, and lift it."""
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.frames(1)
        for step in range(1, steps + 1):
            touch.touch_move(x, y + dy * step / steps)
            self.frames(1)
        touch.touch_up()
        self.pump(0.05)

    def tap_text(self, text: str) -> None:
        """Tap the on-screen button showing exactly ``text`` (in the current language)."""
        buttons = [
            w for w in self.app.root.walk(restrict=True)
            if getattr(w, "text", None) == text and hasattr(w, "trigger_action")
            and w.get_root_window() is not None and not w.disabled
        ]
        assert buttons, f"no enabled button {text!r} on {self.screen}"
        self.tap(buttons[0])

    def scan(self, barcode: str) -> None:
        """Scan ``barcode`` with the virtual scanner (a frame on its pseudo-terminal)."""
        scanner = self.kiosk.virtual_scanner
        assert scanner is not None, "the virtual scanner is not connected"
        scanner.scan(barcode)

    def started(self) -> None:
        """Wait until the kiosk has started and its scanner is connected."""
        self.wait_for(
            lambda: self.kiosk.ready and self.kiosk.scanner_state.value == "connected",
            "the kiosk to start and the scanner to connect",
        )

    def screenshot(self, name: str) -> Path:
        """Save what the window shows as ``NN-name.png`` in this test's artifact folder."""
        self.pump(0.1)
        self._shot_number += 1
        self.shots.mkdir(parents=True, exist_ok=True)
        stem = self.shots / f"{self._shot_number:02d}-{name}"
        saved = Window.screenshot(str(stem) + ".png")
        produced = Path(saved)  # Kivy appends a counter: keep our own name
        final = stem.with_suffix(".png")
        if produced != final and produced.exists():
            produced.replace(final)
        return final

    def texts(self) -> list[str]:
        """Every non-empty text on screen (labels and buttons), for assertions on words."""
        return [
            str(w.text) for w in self.app.root.walk(restrict=True)
            if isinstance(getattr(w, "text", None), str) and w.text
            and w.get_root_window() is not None and w.opacity > 0
        ]

    def shows(self, fragment: str) -> bool:
        """True when some text on screen contains ``fragment``."""
        return any(fragment in text for text in self.texts())

    # ------------------------------------------------------------------------ staff

    def demo_staff(self, role: str) -> tuple[int, str]:
        """The demo shop's ``attendant`` or ``manager``: (staff number, PIN)."""
        for staff_role, number, pin in self.app.demo_info.staff:
            if staff_role == role:
                return int(number), str(pin)
        raise LookupError(f"the demo shop has no {role}")

    def type_on_pin_pad(self, pad: Widget, staff_number: int, pin: str) -> None:
        """Tap the staff number, Next, the PIN digits and OK on ``pad`` (a PinPad)."""
        keys = {
            str(key.key): key for key in pad.walk(restrict=True)
            if isinstance(getattr(key, "key", None), str) and key.key
        }
        for digit in str(staff_number):
            self.tap(keys[digit])
        self.tap(keys["ok"])  # "Next"
        assert pad.stage == "pin"
        for digit in pin:
            self.tap(keys[digit])
        assert pad.pin_length == len(pin)
        self.tap(keys["ok"])

    def type_on_money_pad(self, pad: Widget, keys: str | list[str]) -> None:
        """Tap ``keys`` on ``pad`` (a MoneyPad): digits, or names such as ``"clear"``."""
        buttons = {
            str(key.key): key for key in pad.walk(restrict=True)
            if isinstance(getattr(key, "key", None), str) and key.key
        }
        for key in keys:
            self.tap(buttons[key])

    def attendant_pin_pad(self) -> Widget:
        """On the needs-attendant screen: touch "Staff" in the top bar, as staff do, and
        return the PIN pad that shows (it is hidden from customers until then; once it shows,
        the button opens the staff menu instead)."""
        assert self.screen == "needs_attendant", self.screen
        if not self.app.attendant_pad_shown:
            self.tap(self.find("staff_button"))
        assert self.app.attendant_pad_shown, "the staff PIN pad did not show"
        return self.find("pin_pad", "needs_attendant")

    def log_in_as(self, role: str, *, pin: str | None = None) -> None:
        """Open the staff menu as the demo ``role`` through the corner button (``pin``: type
        this PIN instead of the right one, and do not wait for the menu)."""
        self.tap(self.find("staff_button"))
        if self.screen == "needs_attendant":  # its own PIN pad first, the menu one touch on
            self.tap(self.find("staff_button"))
        self.wait_for_screen("staff_login")
        number, right_pin = self.demo_staff(role)
        self.type_on_pin_pad(self.find("pin_pad", "staff_login"), number, pin or right_pin)
        if pin is None:
            self.wait_for_screen("staff_menu")

    def staff_page(self, name: str) -> Widget:
        """Tap the staff menu's tab of page ``name`` and return the page on show."""
        tab = self.find(f"staff_page_{name}", "staff_menu")
        self.scroll_into_view(tab)
        self.tap(tab)
        menu = self.app.root.screens.get_screen("staff_menu")
        self.wait_for(lambda: menu.page_name == name, f"the staff page {name}")
        return menu.page

    def scroll_into_view(self, widget: Widget) -> None:
        """Scroll the ScrollView that holds ``widget`` (if any) until it shows it, as a finger
        would before tapping it."""
        holder = widget.parent
        while holder is not None and not isinstance(holder, ScrollView):
            holder = holder.parent
        if holder is not None:
            holder.scroll_to(widget, padding=0, animate=False)
            self.frames(SETTLE_FRAMES)

    def read_database(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows from the kiosk's database, opened read-only."""
        uri = f"file:{self.data_dir / 'kiosk.db'}?mode=ro"
        connection = sqlite3.connect(uri, uri=True)
        try:
            return connection.execute(sql, args).fetchall()
        finally:
            connection.close()

    def audit_rows(self, after_id: int = 0) -> list[tuple[int, int | None, str, str]]:
        """Audit rows written after row ``after_id``: (id, staff number, action, outcome)."""
        return [
            (int(row_id), staff, str(action), str(outcome))
            for row_id, staff, action, outcome in self.read_database(
                "SELECT id, staff_number, action, outcome FROM audit_log WHERE id > ? "
                "ORDER BY id", after_id,
            )
        ]

    def last_audit_id(self) -> int:
        """The id of the newest audit row (0 when there is none)."""
        rows = self.read_database("SELECT COALESCE(MAX(id), 0) FROM audit_log")
        return int(rows[0][0])

    def stop(self) -> None:
        """Stop the app (closes the facade) and clear the window for the next test."""
        self.app.stop()
        self.pump(0.05)
        # Kivy's App.stop removes the window's children while iterating over them, so of two
        # left (an idle prompt still open over the root) it removes one: the stopped app's
        # screens would stay in the window under the next test's.
        for leftover in list(Window.children):
            Window.remove_widget(leftover)
        # Kivy's kv name ``app`` is a proxy that caches the running app. Widgets removed from
        # the window while the app stops re-read it after its on_stop reset, caching the
        # stopped app again; the next test's screens would then read the old app.
        object.__setattr__(global_idmap["app"], "_obj", None)
        # RecycleView keeps rows it no longer shows in a process-wide cache, for any
        # RecycleView of the same row class: rows built for this app (bound to its sizes and
        # words) must not be handed to the next test's app.
        recycled_rows._cached_views.clear()
        recycled_rows._cache_count = 0


def texts_in(widget: Widget) -> list[str]:
    """Every non-empty text shown in ``widget`` (e.g. a question over the window, which
    ``KioskDriver.texts`` does not see: it is not in the root)."""
    return [
        str(w.text) for w in widget.walk(restrict=True)
        if isinstance(getattr(w, "text", None), str) and w.text and w.opacity > 0
    ]


def _resize_window(size: tuple[int, int]) -> None:
    """Give the window ``size`` and wait until SDL has applied it (before building a screen)."""
    Window.size = size
    deadline = time.monotonic() + WAIT_S
    while tuple(Window.size) != size and time.monotonic() < deadline:
        EventLoop.idle()
    assert tuple(Window.size) == size, f"the window stayed {Window.size}, not {size}"


def _find_id(widget: Widget, widget_id: str) -> Widget | None:
    for child in widget.walk(restrict=True):
        ids = getattr(child, "ids", {})
        if widget_id in ids:
            return ids[widget_id]
    return None


def prepared_demo(data_dir: Path) -> tuple[Settings, DemoInfo]:
    """A demo shop in ``data_dir`` (catalog, staff), its settings and its on-screen info."""
    settings = demo_settings(data_dir)
    db = open_database(data_dir / "kiosk.db")
    try:
        report = prepare_demo(db, settings, now=datetime.now(UTC), work_dir=data_dir)
    finally:
        db.close()
    demo = DemoInfo(
        barcodes=tuple(demo_barcodes()),
        staff=tuple((staff.role.value, number, staff.pin) for number, staff in report.staff),
    )
    return settings, demo


def artifact_folder(test_name: str) -> Path:
    """Where a test's screenshots go: ``test-artifacts/ui/<test name>``."""
    return ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", test_name)


def run_kiosk_ui(
    tmp_path: Path, test_name: str, size_name: str, **options: Any
) -> Generator[KioskDriver, None, None]:
    """Generator behind the ``kiosk_ui`` fixture: a demo kiosk on screen, stopped after."""
    data_dir = tmp_path / "kiosk"
    data_dir.mkdir(exist_ok=True)
    settings, demo = prepared_demo(data_dir)
    driver = KioskDriver(
        data_dir,
        options.pop("settings", settings),
        size=SUPPORTED_SIZES[size_name],
        shots=artifact_folder(test_name),
        demo=options.pop("demo", demo),
        **options,
    )
    try:
        yield driver
    finally:
        driver.stop()


def run_kiosk_with_backoffice(tmp_path: Path, test_name: str) -> Generator[KioskDriver, None, None]:
    """A demo kiosk at 1280x800 with the demo's back office (QR code e-receipts), both stopped
    after."""
    from kiosk.sim.demo_backoffice import DemoBackOffice

    data_dir = tmp_path / "kiosk"
    data_dir.mkdir()
    _settings, demo = prepared_demo(data_dir)
    backoffice = DemoBackOffice(data_dir, "demo")
    settings = demo_settings(data_dir, backoffice_url=backoffice.url)
    driver = KioskDriver(
        data_dir, settings, size=(1280, 800), shots=artifact_folder(test_name),
        demo=demo, secrets=backoffice.secrets,
    )
    try:
        yield driver
    finally:
        driver.stop()
        backoffice.stop()


def show_checking_closed_and_a_cart(ui: KioskDriver, look: Callable[[str], None]) -> None:
    """From the attract screen: the checking screen (a payment being checked), the closed
    screen, then the cart with three items; ``look(screen)`` on each."""
    show_checking_and_closed(ui, look)
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    ui.scan(ORANGE_JUICE)
    ui.scan(barcode_of("Espresso beans"))
    ui.wait_for(lambda: len(ui.app.cart_rows) == 3, "three cart lines")
    look("shopping")


def show_checking_and_closed(ui: KioskDriver, look: Callable[[str], None]) -> None:
    """From the attract screen: the checking screen (a payment being checked), then the
    closed screen, back to attract; ``look(screen)`` on each."""
    ui.app.recovery = "checking"
    ui.app._show()
    ui.wait_for_screen("checking")
    look("checking")
    ui.app.recovery = ""
    ui.app._show()
    ui.wait_for_screen("attract")
    ui.app.set_closed(True)
    ui.wait_for_screen("closed")
    look("closed")
    ui.app.set_closed(False)
    ui.wait_for_screen("attract")


def open_accessibility_panel(ui: KioskDriver) -> Any:
    """Tap the top bar's accessibility button; return the panel that opens."""
    from kiosk.ui.widgets.accessibility_panel import AccessibilityPanel

    ui.tap(ui.find("accessibility_button"))
    ui.frames(3)
    panels = [w for w in Window.children if isinstance(w, AccessibilityPanel)]
    assert len(panels) == 1, "the accessibility panel did not open"
    return panels[0]
