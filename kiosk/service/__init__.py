"""The kiosk as a systemd service: readiness, status and the watchdog over sd_notify.

`Notifier` (``kiosk.service.notify``) speaks sd_notify over ``$NOTIFY_SOCKET`` without
libsystemd; `Watchdog` (``kiosk.service.watchdog``) pings systemd's watchdog from the UI loop
only while every worker loop's heartbeat is fresh. ``kiosk run`` wires both: ``READY=1`` once
the first screen is drawn, ``WATCHDOG=1`` every half of ``WatchdogSec``, ``STOPPING=1`` when
the app stops. Nothing here imports kivy: the UI and the console both use it.
"""

from kiosk.service.notify import Notifier, watchdog_interval_s
from kiosk.service.watchdog import MainLoopPings, Watchdog, ping_period_s

__all__ = ["MainLoopPings", "Notifier", "Watchdog", "ping_period_s", "watchdog_interval_s"]
