"""Giving the heap that Python and Kivy freed back to the system, at calm moments.

Drawing a cart re-renders its lines' labels on every scan (SDL surfaces, pixel buffers) and a
start imports a few hundred modules; both free a lot of memory in small pieces that glibc's
allocator keeps for later instead of returning it. On the benchmark's 20-item sale that was
about 10 MiB of a 216 MiB kiosk (`bench/startup.py`, measured with ``malloc_trim`` at the
end). ``malloc_trim(0)`` hands those free pages back; it runs on its own short-lived thread
(a foreign call releases the GIL, so no Python thread waits for it) when a sale is paid and
once the kiosk has started. Where the C library has no ``malloc_trim`` (musl, macOS) nothing
happens.

Large blocks get a mapping of their own (`keep_large_blocks_mapped`, at the start of the
touchscreen). glibc serves a block of 128 KiB or more with its own ``mmap``, returned to the
system when freed, but each time such a block is freed it raises that threshold to the
block's size (up to 32 MiB), so from then on blocks of that size come from the heap. A
buffer that is built and freed again and again while it grows (the demo's embedded Stripe
emulator writes its whole state as one JSON text after every change) then leaves a hole a
little too small for the next one each time, and the heap grows with every sale: 270 to
380 KiB a sale in the demo (`bench/long_run.py --emulator-in-kiosk`), about 60 KiB with the
threshold fixed (the emulator keeps every object it made). ``mallopt(M_MMAP_THRESHOLD,
...)`` fixes the threshold (and turns off glibc's adjusting of its trim threshold too); a
block of that size then costs an ``mmap`` and a ``munmap``, a few microseconds against the
time spent filling it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter number for the mmap threshold (``<malloc.h>``)."""
LARGE_BLOCK_BYTES = 128 * 1024
"""Blocks from this size up get their own mapping: glibc's default before it adjusts it."""


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or ``None`` where the C library has none."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        library = ctypes.CDLL(name)
    except OSError:
        return None
    trim = getattr(library, "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    function: Callable[[int], int] = trim
    return function


def keep_large_blocks_mapped(threshold: int = LARGE_BLOCK_BYTES) -> bool:
    """From now on, have the C library serve every block of ``threshold`` bytes or more with
    a mapping of its own, handed back to the system when it is freed (see the module
    docstring); return False where it cannot (no glibc ``mallopt``)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))


def resident_kib(pid: int | str = "self") -> int | None:
    """The resident set of process ``pid`` (default: this one) in KiB (``VmRSS`` of
    ``/proc/<pid>/status``), or ``None`` where there is no such file or line."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def give_back_freed_memory(reason: str) -> int | None:
    """Return the heap's free pages to the system now (blocking, a few milliseconds); return
    how many KiB the resident set shrank by, or ``None`` where this C library cannot.
    ``reason`` names the moment in the debug log."""
    trim = _malloc_trim()
    if trim is None:
        return None
    before = resident_kib()
    trim(0)
    after = resident_kib()
    if before is None or after is None:
        return 0
    log.debug("gave back freed memory (%s): %d KiB, resident %d KiB", reason, before - after,
              after)
    return before - after


def give_back_freed_memory_soon(reason: str) -> threading.Thread:
    """Run `give_back_freed_memory` on a daemon thread (the caller never waits); return it."""
    thread = threading.Thread(
        target=give_back_freed_memory, args=(reason,), name="give-back-memory", daemon=True
    )
    thread.start()
    return thread
