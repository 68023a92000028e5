"""One kiosk per state directory: a second process is turned away and told who holds it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.store.instance_lock import LOCK_FILE_NAME, InstanceLock, KioskAlreadyRunning

REPO = Path(__file__).resolve().parent.parent

HOLD_UNTIL_STDIN_CLOSES = """
import sys
from pathlib import Path
from kiosk.store.instance_lock import InstanceLock
with InstanceLock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.read()
"""

TRY_ONCE = """
import sys
from pathlib import Path
from kiosk.store.instance_lock import InstanceLock, KioskAlreadyRunning
try:
    with InstanceLock(Path(sys.argv[1])):
        print("acquired", flush=True)
except KioskAlreadyRunning as exc:
    print(f"refused {exc.pid}", flush=True)
"""


def python(script: str, state_dir: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-c", script, str(state_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A second process holding the lock on ``tmp_path / 'state'`` until its stdin closes."""
    proc = python(HOLD_UNTIL_STDIN_CLOSES, tmp_path / "state")
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)


def test_a_second_process_is_refused_with_the_holders_pid(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(KioskAlreadyRunning) as caught:
        InstanceLock(tmp_path / "state").acquire()
    assert caught.value.pid == holder.pid
    assert str(holder.pid) in str(caught.value)
    assert str(tmp_path / "state") in str(caught.value)


def test_the_lock_is_free_again_once_the_holder_exits(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    holder.communicate("", timeout=30)
    assert holder.returncode == 0
    with InstanceLock(tmp_path / "state") as lock:
        assert lock.held
        assert (tmp_path / "state" / LOCK_FILE_NAME).read_text().strip() == str(os.getpid())


def test_a_killed_holder_leaves_no_stale_lock(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert holder.returncode == -signal.SIGKILL
    with InstanceLock(tmp_path / "state") as lock:
        assert lock.held


def test_another_process_is_refused_while_this_one_holds_the_lock(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with InstanceLock(state):
        refused = python(TRY_ONCE, state)
        out, _ = refused.communicate("", timeout=30)
        assert out.strip() == f"refused {os.getpid()}"
    allowed = python(TRY_ONCE, state)
    out, _ = allowed.communicate("", timeout=30)
    assert out.strip() == "acquired"


def test_a_second_lock_in_the_same_process_is_refused_too(tmp_path: Path) -> None:
    first = InstanceLock(tmp_path)
    first.acquire()
    try:
        with pytest.raises(KioskAlreadyRunning) as caught:
            InstanceLock(tmp_path).acquire()
        assert caught.value.pid == os.getpid()
    finally:
        first.release()
    with InstanceLock(tmp_path) as second:
        assert second.held
    assert not second.held


def test_releasing_clears_the_pid_and_a_double_acquire_is_a_mistake(tmp_path: Path) -> None:
    lock = InstanceLock(tmp_path / "fresh" / "state")
    lock.acquire()
    with pytest.raises(RuntimeError):
        lock.acquire()
    lock.release()
    lock.release()  # harmless
    assert (tmp_path / "fresh" / "state" / LOCK_FILE_NAME).read_text() == ""
    assert not lock.held
