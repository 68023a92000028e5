"""A headless kiosk for the staff menu tests: real SQLite, the embedded Stripe emulator when
card payments are on, the virtual printer, a clock the test moves, and the audit log counted.

`StaffShop` is the facade (``kiosk.app.Kiosk``) started on a demo shop, with its main queue
drained by the test (as the touchscreen's Kivy loop would). `HostedMenu` is the staff menu
without the facade: a small real `MenuHost` (the demo shop's SQLite file, a real store worker,
a main queue) with no card payments, no printer and no sync. `Answers` collects what a
``then`` callback of the staff menu was called with. `install_busctl` writes the recording
stand-in for systemd's ``busctl`` (see tests/test_machine.py: a machine that really reboots
cannot run in a test).
"""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from kiosk.app import Kiosk
from kiosk.config import Settings, demo_settings
from kiosk.core.checkout import Checkout
from kiosk.main_queue import MainQueue
from kiosk.notices import CartRefused, Notice, StaffMenuChanged, StoreTrouble
from kiosk.sim.demo_shop import DEMO_STAFF, prepare_demo
from kiosk.sim.stripe_emulator import StripeEmulator
from kiosk.staff_menu import MenuHost, StaffMenu
from kiosk.store.db import open_database
from kiosk.store.products import ProductCatalog
from kiosk.store.worker import StoreWorker

T = TypeVar("T")

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
    stripe = replace(settings.stripe, poll_interval_ms=100)
    return replace(settings, stripe=stripe)


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


class Decisions:
    """The decisions on the customer's sale as a host without a checkout offers them: there is
    no open call, so each is refused (``no_call``) and kept, as the facade would refuse it."""

    def __init__(self, emit: Callable[[Notice], None]) -> None:
        self._emit = emit
        self.asked: list[tuple[Any, ...]] = []

    def _refuse(self, *asked: Any) -> None:
        self.asked.append(asked)
        self._emit(CartRefused("no_call"))

    def price_item(self, staff_number: int, unit_price_minor: int, tax_class: str) -> None:
        self._refuse("price_item", staff_number, unit_price_minor, tax_class)

    def override_limit(self, staff_number: int) -> None:
        self._refuse("override_limit", staff_number)

    def leave_out(self, staff_number: int) -> None:
        self._refuse("leave_out", staff_number)

    def void_line(self, staff_number: int, line_id: int) -> None:
        self._refuse("void_line", staff_number, line_id)


class HostedMenu:
    """A `StaffMenu` on a small real host: the demo shop's database through a real store
    worker, a read connection on the test's thread, a main queue the test drains; no facade,
    no card payments, no printer, no sync. Close it at the end of the test."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.queue = MainQueue()
        self.notices: list[Notice] = []
        self._listeners: list[Callable[[Notice], None]] = [self.notices.append]
        database = Path(settings.state_dir) / "kiosk.db"
        self.worker = StoreWorker(database)
        self.reader = open_database(database, check=False)
        policy = settings.tax_policy()
        self.checkout = Checkout.start(policy, settings.cart_limits())
        self.decisions = Decisions(self.emit)
        catalog = ProductCatalog(self.reader, tax_classes=policy.classes.keys())
        self.host = MenuHost(
            settings=settings, config_path=None, tax_policy=policy,
            scan_rules=settings.scan_rules(), clock=clock, post=self.queue.post,
            emit=self.emit, listen=self._listeners.append,
            stop_listening=self._listeners.remove, refused_before_start=lambda: False,
            write=self.write, submit=self.worker.submit, when_done=self.when_done,
            read_connection=lambda: self.reader, product_catalog=lambda: catalog,
            checkout=lambda: self.checkout, decisions=self.decisions,
            scanner_state=lambda: "stopped", receipt_desk=lambda: None,
            card_payments=lambda: None, payments_available=lambda: (False, "not_configured"),
            sync_status=lambda: None, sync_now=lambda: None,
        )
        self.menu = StaffMenu(self.host)

    def emit(self, notice: Notice) -> None:
        for listener in list(self._listeners):
            listener(notice)

    def write(
        self, job: Callable[[Database], T], what: str, *, retry: bool = False
    ) -> Future[T]:
        """The store write as the facade does it, without the retry: a failure is a
        ``StoreTrouble`` notice on the main thread."""
        future = self.worker.submit(job)

        def on_done(done: Future[T]) -> None:
            error = done.exception()
            if error is not None:
                self.queue.post(lambda: self.emit(StoreTrouble(f"could not {what}: {error}")))

        future.add_done_callback(on_done)
        return future

    def when_done(self, future: Future[T], then: Callable[[T], Any]) -> None:
        future.add_done_callback(
            lambda done: self.queue.post(lambda: then(done.result()))
            if done.exception() is None else None
        )

    def settle(self) -> None:
        """Let the store worker finish and deliver its answers (see `StaffShop.settle`)."""
        for _ in range(3):
            self.worker.submit(lambda db: None).result(WAIT_S)
            self.queue.run_pending()

    def of(self, kind: type) -> list[Any]:
        """The notices of one kind, in order."""
        return [notice for notice in self.notices if isinstance(notice, kind)]

    def audit(self) -> list[tuple[str, str, int | None]]:
        """(action, outcome, staff_number) of every audit row, oldest first."""
        self.worker.submit(lambda db: None).result(WAIT_S)
        with sqlite3.connect(self.worker.path) as conn:
            rows = conn.execute(
                "SELECT action, outcome, staff_number FROM audit_log ORDER BY id"
            ).fetchall()
        return [(str(action), str(outcome), staff) for action, outcome, staff in rows]

    def close(self) -> None:
        self.reader.close()
        self.worker.close()


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
