"""Giving freed heap back to the system (`kiosk.service.memory`) with glibc's malloc_trim, and
large blocks kept in mappings of their own (the kiosk runs on Debian and Raspberry Pi OS)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kiosk.service.memory import give_back_freed_memory, give_back_freed_memory_soon, resident_kib

ROOT = Path(__file__).resolve().parents[1]


def _fragment_the_heap() -> list[bytes]:
    """Allocate ~64 MiB in 4 KiB blocks through malloc, then free all but every 64th: the
    freed pages sit between live blocks, where glibc keeps them."""
    blocks = [bytes(4096) for _ in range(16_384)]
    kept = blocks[::64]
    del blocks
    return kept


def test_freed_pages_between_live_blocks_go_back_to_the_system() -> None:
    kept = _fragment_the_heap()
    before = resident_kib()
    released = give_back_freed_memory("test")
    after = resident_kib()
    assert before is not None and after is not None
    assert released is not None and released > 16 * 1024  # most of the ~63 MiB freed
    assert after < before
    assert len(kept) == 256  # the live blocks are untouched
    assert all(block == bytes(4096) for block in kept)


def test_the_background_give_back_finishes_on_its_own_thread() -> None:
    kept = _fragment_the_heap()
    before = resident_kib()
    thread = give_back_freed_memory_soon("test")
    assert thread.daemon
    thread.join(timeout=10)
    assert not thread.is_alive()
    after = resident_kib()
    assert before is not None and after is not None and after < before
    assert len(kept) == 256


def test_the_resident_set_is_read_from_proc() -> None:
    resident = resident_kib()
    assert resident is not None and resident > 1024  # a Python process is over 1 MiB


_LARGE_BLOCK_AFTER_A_LARGER_ONE = """
import ctypes, ctypes.util, sys
from kiosk.service.memory import keep_large_blocks_mapped

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "fixed":
    assert keep_large_blocks_mapped()
libc.free(libc.malloc(8 << 20))  # an 8 MiB buffer, freed (glibc's threshold follows it)
mapped_before = libc.mallinfo2().hblks
block = libc.malloc(1 << 20)  # then a 1 MiB one
print(libc.mallinfo2().hblks - mapped_before)
libc.free(block)
"""


def _own_mappings_of_a_large_block(setting: str) -> int:
    """In a fresh Python: free an 8 MiB block, then allocate 1 MiB; return how many mappings
    of their own glibc made for it (1: its own ``mmap``, 0: from the heap)."""
    answer = subprocess.run(
        [sys.executable, "-c", _LARGE_BLOCK_AFTER_A_LARGER_ONE, setting],
        capture_output=True, text=True, check=True, timeout=60, cwd=ROOT,
    )
    return int(answer.stdout)


def test_after_keep_large_blocks_mapped_a_large_block_gets_its_own_mapping_whatever_was_freed(
) -> None:
    assert _own_mappings_of_a_large_block("fixed") == 1


def test_glibc_on_its_own_serves_a_large_block_from_the_heap_after_freeing_a_larger_one() -> None:
    # What the fix is for: the threshold followed the freed 8 MiB block, so the 1 MiB block
    # (a buffer built again, as the demo's emulator builds its state) comes from the heap.
    assert _own_mappings_of_a_large_block("default") == 0
