"""Giving freed heap back to the system (`kiosk.service.memory`) with glibc's malloc_trim (the
kiosk runs on Debian and Raspberry Pi OS)."""

from __future__ import annotations

from kiosk.service.memory import give_back_freed_memory, give_back_freed_memory_soon, resident_kib


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
