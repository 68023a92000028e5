"""A main-thread job queue for hosts without Kivy: the CLI, benchmarks and tests.

The facade never touches its session from a worker thread; workers hand results back through
the ``post_to_main`` callable the host provides. Under Kivy that is ``Clock.schedule_once``;
everywhere else it is :meth:`MainQueue.post`, drained by the host's loop with
:meth:`MainQueue.run_pending`.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class MainQueue:
    """Jobs posted from any thread, run in order on the thread that calls ``run_pending``."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()

    def post(self, job: Callable[[], None]) -> None:
        """Queue ``job`` to run on the main thread (safe to call from any thread)."""
        self._jobs.put(job)

    def run_pending(self, wait_s: float = 0.0) -> int:
        """Run every queued job; wait up to ``wait_s`` seconds for the first. Return the count."""
        ran = 0
        try:
            job = self._jobs.get(timeout=wait_s) if wait_s > 0 else self._jobs.get_nowait()
        except queue.Empty:
            return 0
        while True:
            try:
                job()
            except Exception:  # one failed job must not stop the host's loop
                log.exception("a main-thread job failed")
            ran += 1
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return ran

    def run_until(self, done: Callable[[], bool], timeout_s: float = 5.0) -> None:
        """Run jobs until ``done()`` is true; raise ``TimeoutError`` after ``timeout_s`` seconds."""
        deadline = time.monotonic() + timeout_s
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the main queue did not reach the expected state in time")
            self.run_pending(wait_s=min(remaining, 0.05))
