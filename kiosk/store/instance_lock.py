"""One kiosk process per state directory, enforced with an advisory lock file.

``<state_dir>/kiosk.lock`` is held with ``fcntl.flock`` for as long as the kiosk runs, and
holds the owner's pid so a second start can say who is in the way. The kernel drops the lock
when the holder exits or is killed, so a crash never leaves a stale lock behind; the file
itself is never deleted (deleting a lock file races with the next process opening it).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

LOCK_FILE_NAME = "kiosk.lock"


class KioskAlreadyRunning(RuntimeError):
    """Another process holds the state directory; ``pid`` is its pid when it could be read."""

    def __init__(self, pid: int | None, state_dir: Path | None = None) -> None:
        self.pid = pid
        self.state_dir = state_dir
        who = f"process {pid}" if pid is not None else "another process"
        where = f" on {state_dir}" if state_dir is not None else ""
        super().__init__(f"A kiosk is already running{where} ({who}).")


class InstanceLock:
    """The single-instance lock on a state directory; use as a context manager."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / LOCK_FILE_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock without waiting; raise `KioskAlreadyRunning` if another holder has it."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this InstanceLock")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise KioskAlreadyRunning(pid, self.state_dir) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except BaseException:
            os.close(fd)  # closing the descriptor drops the lock too
            raise
        self._fd = fd

    def release(self) -> None:
        """Give the lock up; does nothing when it is not held."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
