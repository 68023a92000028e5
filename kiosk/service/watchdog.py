"""The systemd watchdog: ping only while every worker loop of the kiosk still turns.

``WatchdogSec=`` makes systemd restart the kiosk when no ``WATCHDOG=1`` arrives in time. The
UI loop calls `Watchdog.beat` every half of it (Kivy's Clock; ``ping_period_s``), so a frozen
UI loop stops the pings by itself. `Watchdog.beat` also looks at the heartbeat of each worker
loop (``Kiosk.heartbeats()``: ``time.monotonic()`` of each loop's latest turn) and withholds
the ping while one of them is older than ``[service] heartbeat_stale_s``: systemd then
restarts the kiosk once ``WatchdogSec`` has passed since the last ping. While withheld it
says which worker and how old, once per stale period in the log (``event=watchdog_withheld
worker=sync age_s=75.2``) and on every beat in ``STATUS=`` (``systemctl status kiosk``).

A heartbeat proves that a loop turns, not that its device works: an unplugged scanner, an
offline printer or an unreachable back office keep their loops turning (they retry with
backoff and beat while they wait), so they never stop the pings. Only the heartbeats present
count: before the kiosk has started there are none, so the UI pings during start-up, and a
worker joins the check once it runs.

The limit must be longer than the longest call a loop makes without turning. The audit of
each loop (defaults of ``kiosk.toml``; measured on the development machine where noted):

========  ==============  =====================================================  ===========
loop      turns (idle)    longest blocking call in one turn                      bound
========  ==============  =====================================================  ===========
store     0.5 s           one job: each statement waits up to busy_timeout 5 s   ~20 s
                          for a lock; the longest jobs are a catalog applied in  (100,000
                          one transaction (staff's CSV import, a back-office     products on
                          feed of up to 64 MiB) and a retention run (500 sales,  a Pi, est.)
                          4096 pages vacuumed). 100,000 products: 2.2 s here.
scanner   0.1 s           a read (0.05 s); opening the port (a tty opens at      < 1 s
                          once; a pyserial ``rfc2217://`` URL connects within    (5 s for a
                          5 s); backoff waits are sliced by the 0.1 s path poll  URL)
                          and beat.
payments  0.25 s          one Stripe request: ``request_timeout_s`` (10 s) per   31.5 s
                          socket operation, times 1 + ``max_network_retries``    (kiosk.toml
                          (2), plus the library's sleeps (0.5 s, 1 s): 31.5 s.   refuses
                          The loop beats before every request, so a chain of     more than
                          them (the probe, recovery, a pay turn, staff's         the limit)
                          "check with Stripe again") is never one silence.
printer   0.1 s           one job on a network printer: connect 5 s, 2 status    ~30 s a job
                          asks of 5 s, the write (5 s), 2 status asks again. A   (serial:
                          serial printer's write gives up after 30 s             30 s a
                          (``kiosk.devices.printer.SERIAL_WRITE_TIMEOUT_S``).    write)
sync      1 s             one request with a whole-request deadline of           ~30 s
                          ``request_timeout_s`` 10 s (below 15 s), then up to
                          10 s for the store to record the answer and 10 s to
                          record a failure; chores beat while they wait.
========  ==============  =====================================================  ===========

The configuration refuses Stripe timeouts whose one request, with its retries and the
library's pauses, could outlast ``[service] heartbeat_stale_s``
(``kiosk.config.settings.Settings``). Known gap (to be fixed in the loop, not here): the
receipt desk beats once per turn, and several due retries can share a turn, so a printer that
connects but answers slowly could keep it silent for a multiple of one job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from kiosk.logs import fields
from kiosk.service.notify import Notifier, watchdog_interval_s

log = logging.getLogger(__name__)

PING_FRACTION = 0.5
"""Pings are sent every this fraction of ``WatchdogSec`` (sd_watchdog_enabled(3) advises
half), so one late ping never trips the watchdog."""

HEALTHY_STATUS = "running: every worker loop turns"
"""``STATUS=`` once the pings start again after a stale worker."""


def ping_period_s(environ: Mapping[str, str], pid: int | None = None) -> float | None:
    """Seconds between two `Watchdog.beat` calls: half of ``WatchdogSec`` from
    ``$WATCHDOG_USEC``; ``None`` when systemd set no watchdog for this process."""
    interval_s = watchdog_interval_s(environ, pid)
    return None if interval_s is None else interval_s * PING_FRACTION


class Watchdog:
    """Pings systemd's watchdog through ``notifier`` while every heartbeat is fresh.

    ``heartbeats()`` returns each worker's latest loop turn (seconds on ``clock``'s scale,
    ``time.monotonic()`` by default); a heartbeat older than ``stale_after_s`` seconds is
    stale. Call `beat` from the UI loop; it never raises for a send failure.
    """

    def __init__(
        self,
        notifier: Notifier,
        heartbeats: Callable[[], dict[str, float]],
        *,
        stale_after_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if stale_after_s <= 0:
            raise ValueError(f"stale_after_s must be positive, got {stale_after_s}")
        self.notifier = notifier
        self.stale_after_s = stale_after_s
        self._heartbeats = heartbeats
        self._clock = clock
        self._withheld: set[str] = set()

    @property
    def withheld_for(self) -> frozenset[str]:
        """The workers the latest `beat` found stale (empty: it pinged)."""
        return frozenset(self._withheld)

    def check(self) -> dict[str, float]:
        """The stale workers and their heartbeats' ages in seconds (empty: all fresh)."""
        now = self._clock()
        return {
            worker: now - beat
            for worker, beat in sorted(self._heartbeats().items())
            if now - beat > self.stale_after_s
        }

    def beat(self) -> bool:
        """Send ``WATCHDOG=1`` if no heartbeat is stale and return True (also outside systemd,
        where nothing is sent); otherwise withhold it, name the stale workers in ``STATUS=``
        (and once per stale period in the log) and return False."""
        stale = self.check()
        for worker in sorted(stale.keys() - self._withheld):
            age_s = round(stale[worker], 1)
            log.warning(
                "watchdog withheld: the %s loop has not turned for %.1f s (limit %g s)",
                worker, age_s, self.stale_after_s,
                extra=fields(event="watchdog_withheld", worker=worker, age_s=age_s,
                             stale_after_s=self.stale_after_s),
            )
        for worker in sorted(self._withheld - stale.keys()):
            log.info("watchdog: the %s loop turns again", worker,
                     extra=fields(event="watchdog_worker_fresh", worker=worker))
        recovered = bool(self._withheld) and not stale
        self._withheld = set(stale)
        if stale:
            silent = ", ".join(f"{worker} silent {age:.0f} s" for worker, age in stale.items())
            self.notifier.status(f"watchdog withheld: {silent}")
            return False
        if recovered:
            self.notifier.status(HEALTHY_STATUS)
        self.notifier.watchdog()
        return True


class MainLoopPings:
    """Hands `Watchdog.beat` to a host's main loop every ``period_s`` seconds (the console
    front end, which has no Kivy Clock): a daemon thread posts it with ``post`` (such as
    ``MainQueue.post``), so the ping is sent only when the main loop runs it, and a frozen
    main loop stops the pings as the Kivy Clock's would."""

    def __init__(
        self, watchdog: Watchdog, post: Callable[[Callable[[], None]], None], period_s: float
    ) -> None:
        if period_s <= 0:
            raise ValueError(f"period_s must be positive, got {period_s}")
        self.period_s = period_s
        self._watchdog = watchdog
        self._post = post
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start posting (the first beat at once); starting twice does nothing."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="kiosk-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop posting; a beat already posted may still run."""
        self._stopped.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(self.period_s + 1)

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._post(self._beat)
            self._stopped.wait(self.period_s)

    def _beat(self) -> None:
        if not self._stopped.is_set():
            self._watchdog.beat()
