"""Start the touchscreen: Kivy configured for a kiosk, the facade, the app, a clean stop.

Kivy reads its configuration when its window module is first imported, so this module
imports nothing of Kivy at the top: ``run_touchscreen`` configures Kivy first, then imports
the app. The facade (``kiosk.app``, with sqlite-utils) is built by the app on a thread after
its first frame (``make_kiosk``, ``kiosk.ui.facade_start``): drawing the attract screen needs
only Kivy, the configuration and the customer view-model. SIGTERM (systemd stopping the
service) stops the app on the main loop, which closes the facade: pending writes finish and
the open cart stays for the next start. A manager who restarts or leaves the app from the
staff menu stops it the same way; ``run_touchscreen`` then returns the exit code they asked for
(``kiosk.staff_menu.EXIT_RESTART`` or ``EXIT_LEFT_BY_STAFF``), which ``kiosk run`` exits with
so systemd knows what to do.

Under systemd (``Type=notify``, ``kiosk.service``) the window tells systemd how it is through
``kiosk.service``: ``READY=1`` once the first screen is drawn (never before), ``WATCHDOG=1``
on Kivy's Clock every half of ``WatchdogSec`` while every worker loop turns, ``STOPPING=1``
as the app starts to stop (before the facade closes). Outside systemd none of it is sent.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from kiosk.config import Secrets, Settings
from kiosk.service import Notifier, Watchdog, ping_period_s
from kiosk.ui.demo_info import DemoInfo

if TYPE_CHECKING:
    from kiosk.app import Kiosk
    from kiosk.ui.app import KioskApp

log = logging.getLogger(__name__)


def run_touchscreen(
    settings: Settings,
    *,
    kiosk_mode: bool,
    demo: DemoInfo | None = None,
    size: tuple[int, int] | None = None,
    on_first_frame: Callable[[str], None] | None = None,
    secrets: Secrets | None = None,
) -> int:
    """Run the kiosk's window until it is stopped (SIGTERM, the window closed in demo, or a
    manager restarting or leaving the app); return the process's exit code (0, or the staff
    menu's ``AppExitRequested`` code).

    ``kiosk_mode``: fullscreen, cursor hidden (``kiosk run``); otherwise a desktop window of
    ``size`` pixels (``kiosk demo``). ``secrets`` default to the environment and systemd
    credentials (the demo hands over its back office's token).
    """
    from kiosk.service.memory import keep_large_blocks_mapped
    from kiosk.ui.kivy_setup import configure_kivy

    keep_large_blocks_mapped()  # before Kivy, so a day of sales does not grow the heap
    configure_kivy(kiosk_mode=kiosk_mode, size=size)
    from kivy.clock import Clock

    from kiosk.ui.app import KioskApp, kivy_post

    def make_kiosk() -> Kiosk:  # after the first frame: the facade's imports take a while
        from kiosk.app import Kiosk

        return Kiosk(settings, post_to_main=kivy_post, secrets=secrets)

    notifier = Notifier.from_environment()

    def first_frame(screen: str) -> None:
        if on_first_frame is not None:
            on_first_frame(screen)
        notifier.ready(status=f"showing {screen}")

    app = KioskApp(None, settings, demo=demo, on_first_frame=first_frame, make_kiosk=make_kiosk)
    pings = _watchdog_pings(app, notifier, settings)

    def stopping(*_args: Any) -> None:  # bound to on_stop: runs before the facade closes
        for event in pings:
            event.cancel()
        notifier.stopping(status="stopping: finishing pending writes")

    app.bind(on_stop=stopping)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping", signum)
        Clock.schedule_once(lambda _dt: app.stop())

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        app.run()
    finally:
        notifier.close()
    return app.exit_code


def _watchdog_pings(app: KioskApp, notifier: Notifier, settings: Settings) -> list[Any]:
    """Under a systemd watchdog, ping it from the UI loop (a frozen loop stops the pings too)
    while every worker loop turns; return the scheduled pings (none outside systemd)."""
    from kivy.clock import Clock

    period_s = ping_period_s(os.environ)
    if period_s is None:
        return []
    watchdog = Watchdog(
        notifier, lambda: app.kiosk.heartbeats(), stale_after_s=settings.service.heartbeat_stale_s
    )
    return [Clock.schedule_interval(lambda _dt: watchdog.beat(), period_s)]
