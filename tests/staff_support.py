"""A headless kiosk for the staff menu tests: real SQLite, the embedded Stripe emulator when
card payments are on, the virtual printer, a clock the test moves, and the audit log counted.

`StaffShop` is the facade (``kiosk.app.Kiosk``) started on a demo shop, with its main queue
drained by the test (as the touchscreen's Kivy loop would). `Answers` collects what a
``then`` callback of the staff menu was called with. `install_busctl` writes the recording
stand-in for systemd's ``busctl`` (see tests/test_machine.py: a machine that really reboots
cannot run in a test).
"""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.app import Kiosk
from kiosk.config import Settings, demo_settings
from kiosk.main_queue import MainQueue
from kiosk.notices import Notice, StaffMenuChanged
from kiosk.sim.demo_shop import DEMO_STAFF, prepare_demo
from kiosk.sim.stripe_emulator import StripeEmulator
from kiosk.staff_menu import StaffMenu
from kiosk.store.db import open_database

ATTENDANT = 1001
ATTENDANT_PIN = DEMO_STAFF[0].pin
MANAGER = 1002
MANAGER_PIN = DEMO_STAFF[1].pin

WATER = b"4006381333931\r\n"  # Mineral water still 1.5 l, 0.49
JUICE = b"5012345001012\r\n"  # Orange juice 1 l, 1.89
WAIT_S = 20.0
"""A guard against hanging, in seconds; never a timing assertion."""


class Clock:
    """A clock the test moves by hand (aware UTC)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock on by ``seconds``."""
        self.now += timedelta(seconds=seconds)


def demo_shop_settings(tmp_path: Path) -> Settings:
    """The demo shop's settings with its database prepared (catalog, staff) in tmp_path."""
    settings = demo_settings(tmp_path / "state")
    db = open_database(Path(settings.state_dir) / "kiosk.db")
    prepare_demo(db, settings, now=datetime(2026, 11, 1, tzinfo=UTC), work_dir=tmp_path)
    db.close()
    stripe = settings.stripe.model_copy(update={"poll_interval_ms": 100})
    return settings.model_copy(update={"stripe": stripe})


class Answers:
    """A ``then`` callback that keeps every answer it was given (one value, or a tuple)."""

    def __init__(self) -> None:
        self.got: list[Any] = []

    def __call__(self, *answer: Any) -> None:
        self.got.append(answer[0] if len(answer) == 1 else answer)

    @property
    def only(self) -> Any:
        """The one answer (fails the test if there were none or several)."""
        assert len(self.got) == 1, self.got
        return self.got[0]


class StaffShop:
    """A started kiosk with its main queue, its notices and its database at hand."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        *,
        card_payments: bool = False,
        config_path: Path | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.queue = MainQueue()
        self.notices: list[Notice] = []
        self.kiosk = Kiosk(
            settings,
            post_to_main=self.queue.post,
            clock=clock,
            card_payments=card_payments,
            config_path=config_path,
        )
        self.kiosk.listen(self.notices.append)
        self.report = self.kiosk.start()

    @property
    def staff(self) -> StaffMenu:
        return self.kiosk.staff

    @property
    def emulator(self) -> StripeEmulator:
        emulator = self.kiosk.stripe_emulator
        assert emulator is not None
        return emulator

    def settle(self) -> None:
        """Let the store worker finish what it was given and deliver its answers, three times
        (an answer run on the main thread may give the worker more to write)."""
        for _ in range(3):
            self.kiosk.wait_for_writes(WAIT_S)
            self.queue.run_pending()

    def until(self, done: Callable[[], bool]) -> None:
        """Run the main queue until ``done()``; fail after `WAIT_S`."""
        self.queue.run_until(done, WAIT_S)

    def answered(self, answers: Answers) -> Any:
        """Wait for the one answer of a ``then`` callback, then settle its audit row."""
        self.until(lambda: bool(answers.got))
        self.settle()
        return answers.only

    def of(self, kind: type) -> list[Any]:
        """The notices of one kind, in order."""
        return [notice for notice in self.notices if isinstance(notice, kind)]

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        """Query the database file on a fresh connection (after pending writes)."""
        self.kiosk.wait_for_writes(WAIT_S)
        with sqlite3.connect(self.kiosk.database) as conn:
            return conn.execute(sql, params).fetchall()

    def audit_count(self) -> int:
        ((count,),) = self.rows("SELECT COUNT(*) FROM audit_log")
        return int(count)

    def audit_since(self, count: int) -> list[tuple[str, str, int | None]]:
        """(action, outcome, staff_number) of the audit rows after the first ``count``."""
        return [
            (str(action), str(outcome), staff)
            for action, outcome, staff in self.rows(
                "SELECT action, outcome, staff_number FROM audit_log ORDER BY id LIMIT -1 "
                "OFFSET ?", count)
        ]

    def log_in(self, number: int = MANAGER, pin: str = MANAGER_PIN) -> None:
        """Open the staff menu with a right PIN (fails the test if it does not open)."""
        self.staff.log_in(number, pin)
        self.settle()
        assert self.staff.session is not None and self.staff.session.staff_number == number
        assert self.of(StaffMenuChanged)[-1].open

    def close(self) -> None:
        self.kiosk.close()


def install_busctl(folder: Path, *, exit_code: int = 0, stderr: str = "") -> Path:
    """Write the stand-in ``busctl`` into ``folder`` (to be put first on PATH); return the
    file it writes its arguments to, one a line."""
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / "argv.txt"
    script = folder / "busctl"
    script.write_text(
        "#!/bin/sh\n"
        f"printf '%s\\n' \"$@\" > '{record}'\n"
        + (f"printf '%s\\n' '{stderr}' >&2\n" if stderr else "")
        + f"exit {exit_code}\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return record
