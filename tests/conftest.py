"""Shared test set-up: hypothesis profiles and the no-skipped-tests rule.

``tests/run.sh`` runs the suite on two pytest-xdist workers with ``--dist loadfile``: each
module whole in one worker (its module fixtures, such as the wheel built in the source tree,
made once). The Kivy window's tests run in both workers, each worker with its own window on
the one Xvfb screen: they touch and read their own window, so the windows may overlap.
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
