"""A standalone emulator process (``kiosk sim stripe``): serve until SIGINT or SIGTERM."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from kiosk.sim.stripe_emulator.emulator import StripeEmulator


def serve(port: int = 0, state_path: Path | None = None) -> None:
    """Run a standalone emulator on 127.0.0.1:`port` until SIGINT or SIGTERM.

    The first line printed is the base URL. Uses the emulator's own clock, so
    POST /_emulator/clock can move it forward.
    """
    emulator = StripeEmulator(clock=None, state_path=state_path)
    url = emulator.start(port=port)
    print(url, flush=True)
    finished = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        finished.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        finished.wait()  # a signal handler sets it; lock waits are interruptible
    finally:
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.stdout.flush()
