"""``kiosk run`` and ``kiosk demo`` open the touchscreen and stop cleanly on SIGTERM.

Real processes under the test display (the suite runs in ``xvfb-run``): the command prints
when its first screen is drawn; systemd's stop signal closes the window and the store, and
the state directory's lock is free again.
"""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cli_support import (
    SUBPROCESS_TIMEOUT_S,
    clean_environment,
    import_sample,
    invoke,
    kiosk_executable,
    write_config,
)

ON_SCREEN = "The kiosk is on screen"


def start(
    args: list[str], home: Path, display: str | None = None
) -> tuple[subprocess.Popen[str], queue.SimpleQueue[str]]:
    """Start ``kiosk ARGS`` (on the X ``display``, default the suite's); its output lines
    arrive in the queue."""
    extra = {"SDL_AUDIODRIVER": "dummy"}
    if display is not None:
        extra["DISPLAY"] = display
    process = subprocess.Popen(
        [kiosk_executable(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_environment(home, extra),
    )
    lines: queue.SimpleQueue[str] = queue.SimpleQueue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    return process, lines


def wait_for_line(lines: queue.SimpleQueue[str], fragment: str) -> list[str]:
    """Collect output until a line holds ``fragment`` (a guard against hanging, not timing)."""
    seen: list[str] = []
    deadline = time.monotonic() + SUBPROCESS_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1.0)
        except queue.Empty:
            continue
        seen.append(line)
        if fragment in line:
            return seen
    raise AssertionError(f"no line with {fragment!r}; saw:\n{''.join(seen)}")


def stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=SUBPROCESS_TIMEOUT_S)


def test_kiosk_run_opens_the_attract_screen_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    shop = write_config(tmp_path)
    import_sample(shop)
    process, lines = start(["run", "--config", str(shop.config)], home=tmp_path)
    try:
        seen = wait_for_line(lines, ON_SCREEN)
    finally:
        code = stop(process)
    assert code == 0, "".join(seen)
    assert f"{ON_SCREEN} (attract)." in "".join(seen)
    assert "Traceback" not in "".join(seen)
    # the lock is free once it has stopped: a command that writes works again
    added = invoke(["staff", "add", "--config", str(shop.config), "Ann", "--role", "manager"])
    assert added.exit_code == 0, added.output


def test_kiosk_demo_opens_its_window_at_the_asked_size_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    data = tmp_path / "demo"
    process, lines = start(["demo", "--data-dir", str(data), "--size", "800x480"], home=tmp_path)
    try:
        seen = wait_for_line(lines, ON_SCREEN)
    finally:
        code = stop(process)
    output = "".join(seen)
    assert code == 0, output
    assert "Demo staff" in output and "PIN" in output
    assert "Traceback" not in output
    assert (data / "kiosk.db").exists()


def test_kiosk_demo_refuses_a_window_size_it_cannot_use(tmp_path: Path) -> None:
    result = subprocess.run(
        [kiosk_executable(), "demo", "--data-dir", str(tmp_path / "demo"), "--size", "big"],
        capture_output=True, text=True, env=clean_environment(tmp_path),
        timeout=SUBPROCESS_TIMEOUT_S,
    )
    assert result.returncode == 2
    assert "WIDTHxHEIGHT" in result.stderr
    assert not (tmp_path / "demo").exists()


@contextmanager
def bare_x_screen(width: int, height: int) -> Iterator[str]:
    """A fresh X server of one ``width`` x ``height`` screen and no window manager (the usual
    ``xinit`` kiosk); yields its display name."""
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", "1", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert server.stdout is not None
        number = server.stdout.readline().strip()  # written once the server accepts clients
        assert number.isdigit(), f"Xvfb gave no display number: {number!r}"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=SUBPROCESS_TIMEOUT_S)


def top_level_windows(display: str) -> list[tuple[str, int, int, int, int]]:
    """(name, width, height, x, y) of each top-level window on ``display`` (xwininfo)."""
    tree = subprocess.run(
        ["xwininfo", "-root", "-children", "-display", display],
        capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S, check=True,
    ).stdout
    found = re.findall(r'^\s+0x[0-9a-f]+ "([^"]*)".*?\s(\d+)x(\d+)\+(-?\d+)\+(-?\d+)', tree, re.M)
    return [(name, int(w), int(h), int(x), int(y)) for name, w, h, x, y in found]


def test_kiosk_run_covers_the_whole_screen_without_a_window_manager(tmp_path: Path) -> None:
    shop = write_config(tmp_path)
    import_sample(shop)
    with bare_x_screen(1280, 800) as display:
        process, lines = start(["run", "--config", str(shop.config)], tmp_path, display)
        try:
            seen = wait_for_line(lines, ON_SCREEN)
            windows = top_level_windows(display)
        finally:
            code = stop(process)
    assert code == 0, "".join(seen)
    shop_windows = [window for window in windows if window[0] == "Corner Shop"]
    assert shop_windows == [("Corner Shop", 1280, 800, 0, 0)], windows
