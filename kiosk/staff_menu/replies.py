"""How the staff menu's slow answers reach the main thread.

A store job, a Stripe request or a call to logind ends on another thread; the screen hears
the answer through ``then`` callbacks that always run on the main thread. An action that must
be on disk before it takes effect (closing the kiosk, leaving the app) waits for its row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")

WRITE_WAIT_S = 10.0
"""How long an action that must be on disk before it takes effect (closing the kiosk,
leaving the app) waits for the store worker, in seconds."""


def wait(future: Future[T]) -> T:
    """Wait for a store job whose result must be on disk before the action goes on."""
    return future.result(WRITE_WAIT_S)


def on_main(
    post: Callable[[Callable[[], None]], None],
    future: Future[T],
    then: Callable[[T], None],
    failed: Callable[[BaseException], None],
) -> None:
    """Call ``then(result)`` or ``failed(error)`` through ``post`` (on the main thread) once
    ``future`` ends."""

    def done(ended: Future[T]) -> None:
        error = ended.exception()
        if error is None:
            result = ended.result()
            post(lambda: then(result))
        else:
            post(lambda: failed(error))

    future.add_done_callback(done)


def in_thread(name: str, job: Callable[[], T]) -> Future[T]:
    """Run a blocking call (a Stripe request, logind) off the main thread."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(job())
        except BaseException as error:  # handed to the caller's ``failed``
            future.set_exception(error)

    threading.Thread(target=run, name=f"staff-{name}", daemon=True).start()
    return future
