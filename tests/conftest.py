"""Shared test set-up: hypothesis profiles, the no-skipped-tests rule, and the lane of the
tests that open the Kivy window.

``tests/run.sh`` runs the suite on two pytest-xdist workers with ``--dist loadgroup``: every
test of a module that drives the real Kivy window (it imports ``ui_support`` or Kivy) is in the
group ``kivy-window`` and runs in one worker, one test after another, as alone on its window as
before; the other modules (payments, store, sync, back office, the command line), each whole in
one worker, run beside it.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# "ci" is deterministic so a CI failure reproduces; "dev" explores more widely.
settings.register_profile(
    "ci",
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


WINDOW_GROUP = "kivy-window"
_opens_window: dict[str, bool] = {}


def _module_opens_the_window(path: str) -> bool:
    """True when the test module at ``path`` drives the Kivy window (read once per module)."""
    if path not in _opens_window:
        with open(path, encoding="utf-8") as source:
            text = source.read()
        _opens_window[path] = any(
            marker in text for marker in ("from ui_support import", "import kivy", "from kivy")
        )
    return _opens_window[path]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the tests that drive the Kivy window into one xdist group (one worker, in turn),
    and every other module's tests into a group of their own (a module's fixtures, such as
    the wheel built in the source tree, are made once, by one worker)."""
    for item in items:
        path = str(item.path)
        group = WINDOW_GROUP if _module_opens_the_window(path) else item.path.name
        item.add_marker(pytest.mark.xdist_group(group))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when any test was skipped: a skipped test proves nothing."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    skipped = reporter.stats.get("skipped", [])
    if skipped and exitstatus == 0:
        message = f"FAILED: {len(skipped)} test(s) skipped; every test must run."
        reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
