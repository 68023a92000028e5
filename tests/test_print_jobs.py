"""The receipt print-job flow on the real virtual printer over TCP, and ``kiosk receipt``.

Sales are stored as the payment code stores a paid sale (the sale, its lines, the paid attempt
and the ``awaiting_choice`` print job in one go); the window is driven by an injected clock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_support import kiosk_running, write_config
from click.testing import CliRunner
from sqlite_utils import Database

from kiosk.cli.common import settings_or_exit
from kiosk.cli.receipt import VIRTUAL_PRINTER_FOLDER, receipt
from kiosk.config import Settings, demo_settings
from kiosk.core.timestamps import utc_now_iso
from kiosk.devices.printer import open_printer
from kiosk.receipts.jobs import ReceiptDesk, receipt_bytes
from kiosk.receipts.text_render import columns_for, render_text
from kiosk.sim.virtual_printer import VirtualPrinter
from kiosk.store.db import open_database
from kiosk.store.receipts import receipt_for_sale
from kiosk.store.worker import StoreWorker

SALE_ID = "3f1c2b4e-7a8d-4c1e-9f00-abcdef012345"
PAID_AT = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
WAIT_S = 10.0
"""Longest a test waits for the print thread (a guard against hanging, not an assertion)."""


@dataclass
class Clock:
    """An injected UTC clock that only moves when a test moves it."""

    now: datetime = PAID_AT + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Events:
    """Records what the desk reports, thread-safely."""

    printed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str, bool]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def receipt_printed(self, sale_id: str) -> None:
        with self.changed:
            self.printed.append(sale_id)
            self.changed.notify_all()

    def receipt_failed(self, sale_id: str, status: str, will_retry: bool) -> None:
        with self.changed:
            self.failed.append((sale_id, status, will_retry))
            self.changed.notify_all()

    def wait(self, condition: Callable[[], bool]) -> None:
        with self.changed:
            assert self.changed.wait_for(condition, timeout=WAIT_S), "the desk never reported"


def store_paid_sale(db: Database, *, sale_id: str = SALE_ID, kiosk_id: str = "demo",
                    number: int = 42, state: str = "paid", job_state: str = "awaiting_choice",
                    data: bytes | None = None) -> None:
    """Store a sale with two lines as ``record_paid`` leaves it (plus its print job)."""
    stamp = utc_now_iso(PAID_AT)
    db.execute(
        "INSERT INTO sales (id, number, kiosk_id, state, currency, language, created_at, "
        "updated_at, closed_at, subtotal_minor, tax_minor, total_minor) "
        "VALUES (?, ?, ?, ?, 'EUR', 'en', ?, ?, ?, 0, 0, 548)",
        [sale_id, number, kiosk_id, state, "2026-11-26T11:58:00.000000Z", stamp, stamp])
    for position, (name, quantity, unit, amount) in enumerate(
            [("Milk 1l", 2, 99, 198), ("Sourdough loaf", 1, 350, 350)]):
        db.execute(
            "INSERT INTO sale_lines (sale_id, position, code, name, quantity, "
            "unit_price_minor, weight_g, tax_class, tax_rate, line_total_minor) "
            "VALUES (?, ?, ?, ?, ?, ?, NULL, 'reduced', '0.135', ?)",
            [sale_id, position, f"code{position}", name, quantity, unit, amount])
    if state == "paid":
        card = {"brand": "visa", "last4": "4242", "read_method": "contactless_emv"}
        db.execute(
            "INSERT INTO payment_attempts (id, sale_id, state, amount_minor, "
            "payment_intent_id, created_at, updated_at, card, captured_minor, paid_at) "
            "VALUES (?, ?, 'paid', 548, 'pi_1', ?, ?, ?, 548, ?)",
            [f"att-{sale_id}", sale_id, stamp, stamp, json.dumps(card), stamp])
        db.execute(
            "INSERT INTO print_jobs (sale_id, kind, state, data, created_at, updated_at) "
            "VALUES (?, 'receipt', ?, ?, ?, ?)", [sale_id, job_state, data, stamp, stamp])
    db.conn.commit()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return demo_settings(tmp_path / "state")


@pytest.fixture
def printer(tmp_path: Path) -> Iterator[VirtualPrinter]:
    virtual = VirtualPrinter(tmp_path / "printed")
    virtual.start("127.0.0.1", 0)
    yield virtual
    virtual.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StoreWorker]:
    worker = StoreWorker(tmp_path / "kiosk.db", idle_turn_s=0.05)
    worker.submit(store_paid_sale).result()
    yield worker
    worker.close()


@dataclass
class Desk:
    desk: ReceiptDesk
    events: Events
    clock: Clock
    store: StoreWorker
    settings: Settings

    def job(self, sale_id: str = SALE_ID, copy: int = 0) -> tuple[str, int, str | None]:
        """(state, attempts, last_error) of the sale's print job."""
        row = self.store.submit(lambda db: db.execute(
            "SELECT state, attempts, last_error FROM print_jobs WHERE sale_id = ? AND copy = ? "
            "ORDER BY id DESC", [sale_id, copy]).fetchone()).result()
        return str(row[0]), int(row[1]), row[2]

    def wait_for_state(self, state: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while self.job()[0] != state:
            assert time.monotonic() < deadline, f"the job never became {state}: {self.job()}"
            time.sleep(0.005)

    def turns(self, count: int) -> None:
        """Let the print thread turn ``count`` more times."""
        for _ in range(count):
            seen = self.desk.heartbeat
            deadline = time.monotonic() + WAIT_S
            while self.desk.heartbeat == seen:
                assert time.monotonic() < deadline, "the print thread stopped turning"
                time.sleep(0.005)

    def sale_state(self) -> str:
        return str(self.store.submit(lambda db: db.execute(
            "SELECT state FROM sales WHERE id = ?", [SALE_ID]).fetchone()[0]).result())

    def expected(self, mark: str) -> bytes:
        found = self.store.submit(
            lambda db: receipt_for_sale(db, SALE_ID, self.settings, mark=mark)).result()
        return receipt_bytes(found, self.settings)


def make_desk(store: StoreWorker, settings: Settings, printer: VirtualPrinter) -> Desk:
    events, clock = Events(), Clock()
    desk = ReceiptDesk(
        store=store, settings=settings,
        printer=lambda: open_printer(settings.printer, virtual_address=printer.address,
                                     timeout_s=1.0),
        events=events, clock=clock, retry_every_s=0.02, idle_turn_s=0.01)
    return Desk(desk, events, clock, store, settings)


@pytest.fixture
def desk(store: StoreWorker, settings: Settings, printer: VirtualPrinter) -> Iterator[Desk]:
    made = make_desk(store, settings, printer)
    made.desk.start()
    yield made
    made.desk.stop()


def test_choosing_print_sends_exactly_the_rendered_receipt_to_the_printer(
    desk: Desk, printer: VirtualPrinter
) -> None:
    desk.desk.choose(SALE_ID, "print")
    desk.events.wait(lambda: desk.events.printed == [SALE_ID])
    [job] = printer.wait_for_jobs(1, WAIT_S)
    assert job.raw == desk.expected("")
    assert desk.job() == ("printed", 1, None)


@pytest.mark.parametrize(("choice", "state"),
                         [("qr", "qr"), ("none", "none"), ("timeout", "timed_out")])
def test_a_customer_who_does_not_choose_print_gets_nothing_printed(
    desk: Desk, printer: VirtualPrinter, choice: str, state: str
) -> None:
    desk.desk.choose(SALE_ID, choice)
    desk.wait_for_state(state)
    desk.turns(3)
    assert printer.jobs == []
    assert desk.events.printed == [] and desk.events.failed == []


def test_an_unknown_choice_is_refused(desk: Desk) -> None:
    with pytest.raises(ValueError, match="unknown receipt choice"):
        desk.desk.choose(SALE_ID, "email")
    assert desk.job()[0] == "awaiting_choice"


def test_an_offline_printer_back_within_the_window_prints_the_receipt_once(
    desk: Desk, printer: VirtualPrinter
) -> None:
    printer.go_offline()
    desk.desk.choose(SALE_ID, "print")
    desk.events.wait(lambda: bool(desk.events.failed))
    assert desk.events.failed[0] == (SALE_ID, "offline", True)
    assert desk.sale_state() == "paid"
    desk.clock.advance(20)
    printer.come_online()
    desk.events.wait(lambda: desk.events.printed == [SALE_ID])
    [job] = printer.wait_for_jobs(1, WAIT_S)
    desk.turns(3)
    assert len(printer.jobs) == 1
    assert job.raw == desk.expected("")
    state, attempts, last_error = desk.job()
    assert (state, last_error) == ("printed", "offline") and attempts >= 2
    assert desk.sale_state() == "paid"


def test_a_receipt_still_failing_after_the_window_goes_to_staff_and_never_prints_later(
    desk: Desk, printer: VirtualPrinter, settings: Settings
) -> None:
    printer.go_offline()
    desk.desk.choose(SALE_ID, "print")
    desk.events.wait(lambda: bool(desk.events.failed))
    desk.clock.advance(settings.printer.retry_window_s)
    desk.wait_for_state("unprinted")
    printer.come_online()
    desk.turns(10)
    assert printer.jobs == []
    assert desk.events.printed == []
    [unprinted] = desk.desk.unprinted()
    assert (unprinted.sale_id, unprinted.sale_number) == (SALE_ID, 42)
    assert unprinted.paid_at == PAID_AT and unprinted.last_error == "offline"
    assert desk.sale_state() == "paid"


@pytest.mark.parametrize(("fault", "status"), [("paper_out", "paper_out"),
                                               ("cover_open", "cover_open")])
def test_paper_out_and_an_open_cover_are_retried_like_an_offline_printer(
    desk: Desk, printer: VirtualPrinter, fault: str, status: str
) -> None:
    getattr(printer, fault)(True)
    desk.desk.choose(SALE_ID, "print")
    desk.events.wait(lambda: bool(desk.events.failed))
    assert desk.events.failed[0] == (SALE_ID, status, True)
    assert desk.job()[0] in ("retrying", "printing")
    getattr(printer, fault)(False)
    desk.events.wait(lambda: desk.events.printed == [SALE_ID])
    assert [job.raw for job in printer.wait_for_jobs(1, WAIT_S)] == [desk.expected("")]
    assert desk.sale_state() == "paid"


def test_a_job_that_dies_mid_print_is_printed_again_whole_marked_reprint(
    desk: Desk, printer: VirtualPrinter
) -> None:
    printer.die_mid_job(200)
    desk.desk.choose(SALE_ID, "print")
    desk.events.wait(lambda: desk.events.printed == [SALE_ID])
    first, second = printer.wait_for_jobs(2, WAIT_S)
    assert first.partial and len(first.raw) <= 200
    assert not second.partial
    assert second.raw == desk.expected("REPRINT")
    assert b"REPRINT" in second.raw
    assert desk.sale_state() == "paid"


def test_a_staff_reprint_is_a_new_job_marked_copy(desk: Desk, printer: VirtualPrinter) -> None:
    assert desk.desk.reprint(SALE_ID, by=7).result(WAIT_S) == "printed"
    [job] = printer.wait_for_jobs(1, WAIT_S)
    assert job.raw == desk.expected("COPY") and b"COPY" in job.raw
    assert desk.job(copy=1)[0] == "printed"
    assert desk.job(copy=0)[0] == "awaiting_choice"
    audit = desk.store.submit(lambda db: db.execute(
        "SELECT staff_number, action, outcome FROM audit_log").fetchall()).result()
    assert [tuple(row) for row in audit] == [(7, "receipt.reprint", "printed")]


def test_a_reprint_on_an_offline_printer_reports_the_status_and_is_not_retried(
    desk: Desk, printer: VirtualPrinter
) -> None:
    printer.go_offline()
    assert desk.desk.reprint(SALE_ID).result(WAIT_S) == "offline"
    printer.come_online()
    desk.turns(5)
    assert printer.jobs == []
    assert desk.job(copy=1)[:1] == ("failed",)


def test_a_printed_copy_takes_the_receipt_off_the_unprinted_list(
    desk: Desk, printer: VirtualPrinter, settings: Settings
) -> None:
    printer.go_offline()
    desk.desk.choose(SALE_ID, "print")
    desk.events.wait(lambda: bool(desk.events.failed))
    desk.clock.advance(settings.printer.retry_window_s + 1)
    desk.wait_for_state("unprinted")
    printer.come_online()
    assert desk.desk.reprint(SALE_ID).result(WAIT_S) == "printed"
    assert desk.desk.unprinted() == []
    assert desk.job()[0] == "reprinted"


def test_recovery_prints_a_job_cut_off_by_a_power_cut_again_whole_marked_reprint(
    tmp_path: Path, settings: Settings, printer: VirtualPrinter
) -> None:
    with StoreWorker(tmp_path / "crashed.db") as store:
        store.submit(lambda db: store_paid_sale(db, job_state="printing",
                                                data=b"\x1b@half a rec")).result()
        made = make_desk(store, settings, printer)
        made.desk.start()
        try:
            made.events.wait(lambda: made.events.printed == [SALE_ID])
            [job] = printer.wait_for_jobs(1, WAIT_S)
            assert job.raw == made.expected("REPRINT")
        finally:
            made.desk.stop()


def test_recovery_after_the_window_lists_the_cut_off_job_for_staff_without_printing(
    tmp_path: Path, settings: Settings, printer: VirtualPrinter
) -> None:
    with StoreWorker(tmp_path / "crashed.db") as store:
        store.submit(lambda db: store_paid_sale(db, job_state="printing",
                                                data=b"\x1b@half a rec")).result()
        made = make_desk(store, settings, printer)
        made.clock.advance(3600)
        made.desk.recover()
        made.desk.start()
        try:
            made.turns(5)
            assert printer.jobs == []
            assert [r.sale_id for r in made.desk.unprinted()] == [SALE_ID]
        finally:
            made.desk.stop()


# ---------------------------------------------------------------------- kiosk receipt


@pytest.fixture
def shop_db(tmp_path: Path) -> tuple[Path, Path]:
    shop = write_config(tmp_path)
    shop.state_dir.mkdir(parents=True)
    db = open_database(shop.database)
    store_paid_sale(db, kiosk_id="lane-1", number=17)
    store_paid_sale(db, sale_id="9a9a9a9a-0000-4000-8000-000000000001", kiosk_id="lane-1",
                    number=18, state="locked")
    db.close()
    return shop.config, shop.state_dir


def run(args: list[str]) -> tuple[int, str, str]:
    runner = CliRunner(env={"STATE_DIRECTORY": None, "KIOSK_CONFIG": None})
    result = runner.invoke(receipt, args)
    return result.exit_code, result.stdout, result.stderr


def shop_settings(config: Path) -> Settings:
    return settings_or_exit(config)


def test_receipt_show_prints_the_text_receipt_by_number_or_by_id(
    shop_db: tuple[Path, Path]
) -> None:
    config, state_dir = shop_db
    settings = shop_settings(config)
    db = open_database(state_dir / "kiosk.db")
    expected = render_text(receipt_for_sale(db, SALE_ID, settings),
                           width_chars=columns_for(settings.printer.paper_width_mm))
    db.close()
    by_number = run(["show", "17", "--config", str(config)])
    by_id = run(["show", SALE_ID, "--config", str(config)])
    assert by_number == (0, expected + "\n", "")
    assert by_id == by_number
    assert "Sourdough loaf" in expected


def test_receipt_show_refuses_an_unpaid_sale_and_an_unknown_one(
    shop_db: tuple[Path, Path]
) -> None:
    config, _ = shop_db
    code, out, err = run(["show", "18", "--config", str(config)])
    assert (code, out) == (1, "") and "is not paid" in err
    code, out, err = run(["show", "99", "--config", str(config)])
    assert (code, out) == (1, "") and "no sale '99'" in err


def test_receipt_print_saves_a_copy_for_the_virtual_printer_and_records_it(
    shop_db: tuple[Path, Path]
) -> None:
    config, state_dir = shop_db
    code, out, err = run(["print", "17", "--config", str(config)])
    assert code == 0, err
    settings = shop_settings(config)
    db = open_database(state_dir / "kiosk.db")
    expected = receipt_bytes(receipt_for_sale(db, SALE_ID, settings, mark="COPY"), settings)
    jobs = db.execute("SELECT id, state, copy FROM print_jobs WHERE sale_id = ? ORDER BY id",
                      [SALE_ID]).fetchall()
    db.close()
    assert [tuple(job[1:]) for job in jobs] == [("awaiting_choice", 0), ("printed", 1)]
    saved = state_dir / VIRTUAL_PRINTER_FOLDER / f"copy-{jobs[1][0]}.bin"
    assert saved.read_bytes() == expected
    assert f"job {jobs[1][0]}" in out


def test_receipt_print_refuses_while_the_kiosk_runs(shop_db: tuple[Path, Path]) -> None:
    config, state_dir = shop_db
    with kiosk_running(state_dir):
        code, _, err = run(["print", "17", "--config", str(config)])
    assert code == 3 and "the kiosk is running" in err
    with sqlite3.connect(state_dir / "kiosk.db") as conn:
        copies = conn.execute("SELECT COUNT(*) FROM print_jobs WHERE copy = 1").fetchone()[0]
    assert copies == 0


# --- review findings ------------------------------------------------------------------------


def test_a_failing_receipt_is_reported_once_not_on_every_retry(
    desk: Desk, printer: VirtualPrinter
) -> None:
    printer.go_offline()
    desk.desk.choose(SALE_ID, "print")
    desk.events.wait(lambda: bool(desk.events.failed))
    desk.turns(20)  # many retries at 0.02 s
    assert desk.events.failed == [(SALE_ID, "offline", True)]


def test_a_staff_copy_while_the_receipt_is_retrying_ends_the_retries(
    desk: Desk, printer: VirtualPrinter
) -> None:
    printer.paper_out()
    desk.desk.choose(SALE_ID, "print")
    desk.wait_for_state("retrying")
    printer.paper_out(False)
    assert desk.desk.reprint(SALE_ID).result(WAIT_S) == "printed"
    desk.turns(10)
    assert len(printer.jobs) == 1  # the copy only: the customer's job stopped retrying
    assert "COPY" in printer.jobs[0].text


def test_a_new_customer_ends_the_retries_of_the_previous_receipt(
    desk: Desk, printer: VirtualPrinter
) -> None:
    printer.go_offline()
    desk.desk.choose(SALE_ID, "print")
    desk.wait_for_state("retrying")
    desk.desk.next_customer()
    desk.wait_for_state("unprinted")
    printer.come_online()
    desk.turns(10)
    assert printer.jobs == []
    assert [job.sale_id for job in desk.desk.unprinted()] == [SALE_ID]


def test_a_network_printer_that_never_answers_is_offline_not_printed(tmp_path: Path) -> None:
    import socket

    from kiosk.config import demo_settings
    from kiosk.devices.printer_status import PrinterError, PrinterStatus

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts connections, never reads, never answers
    try:
        host, port = silent.getsockname()
        network = demo_settings(tmp_path).as_mapping()["printer"]
        network.update({"transport": "network", "host": host, "port": port})
        from kiosk.config.settings import NetworkPrinterSettings

        printer = open_printer(NetworkPrinterSettings.from_mapping(network), timeout_s=0.3)
        assert printer is not None
        assert printer.status(timeout_s=0.3) is PrinterStatus.OFFLINE
        with pytest.raises(PrinterError) as failed:
            printer.print_bytes(b"\x1b@hello\n")
        assert failed.value.status is PrinterStatus.OFFLINE and not failed.value.mid_job
    finally:
        silent.close()


def test_recovery_reprints_a_cut_off_refund_slip_as_a_refund_slip(
    tmp_path: Path, settings: Settings, printer: VirtualPrinter
) -> None:
    def refunded_sale(db: Database) -> None:
        store_paid_sale(db, job_state="none")
        stamp = utc_now_iso(PAID_AT)
        db.execute(
            "INSERT INTO refunds (id, sale_id, amount_minor, state, idempotency_key, "
            "stripe_refund_id, created_at, updated_at, payment_intent_id) "
            "VALUES ('rf-1', ?, 198, 'succeeded', 'k-1', 're_1', ?, ?, 'pi_1')",
            [SALE_ID, stamp, stamp])
        db.execute(
            "INSERT INTO print_jobs (sale_id, kind, state, data, created_at, updated_at, "
            "refund_id) VALUES (?, 'refund_slip', 'printing', ?, ?, ?, 'rf-1')",
            [SALE_ID, b"\x1b@half a slip", stamp, stamp])
        db.conn.commit()

    with StoreWorker(tmp_path / "crashed-slip.db") as store:
        store.submit(refunded_sale).result()
        made = make_desk(store, settings, printer)
        made.desk.start()
        try:
            [job] = printer.wait_for_jobs(1, WAIT_S)
            assert "REFUND" in job.text and "REPRINT" in job.text
            assert "Milk 1l" not in job.text  # the slip, not the sale's receipt
        finally:
            made.desk.stop()
