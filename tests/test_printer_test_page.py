"""The printer test page and the printer status check, on the real virtual printer over TCP.

The receipt desk runs its own thread with a real store (SQLite in tmp_path); the virtual
printer saves what it prints (raw bytes, text and a PNG) and has fault injection.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.config import Settings, demo_settings
from kiosk.devices.printer import open_printer
from kiosk.receipts.jobs import ReceiptDesk
from kiosk.receipts.printer_test_page import TITLE, page_bytes, ruler
from kiosk.sim.virtual_printer import VirtualPrinter, render_text
from kiosk.store.worker import StoreWorker

NOW = datetime(2026, 11, 26, 12, 0, 5, tzinfo=UTC)
WAIT_S = 10.0
"""Longest a test waits for the print thread (a guard against hanging, not an assertion)."""


class Events:
    """The desk's events; the test page and the status check must report none."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def receipt_printed(self, sale_id: str) -> None:
        self.seen.append(f"printed {sale_id}")

    def receipt_failed(self, sale_id: str, status: str, will_retry: bool) -> None:
        self.seen.append(f"failed {sale_id} {status}")


@dataclass
class Rig:
    desk: ReceiptDesk
    printer: VirtualPrinter
    store: StoreWorker
    events: Events
    settings: Settings

    def print_jobs(self) -> int:
        return int(self.store.submit(
            lambda db: db.execute("SELECT COUNT(*) FROM print_jobs").fetchone()[0]).result())

    def audit_rows(self) -> int:
        return int(self.store.submit(
            lambda db: db.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]).result())


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return demo_settings(tmp_path / "state")


@pytest.fixture
def rig(tmp_path: Path, settings: Settings) -> Iterator[Rig]:
    printer = VirtualPrinter(tmp_path / "printed")
    printer.start("127.0.0.1", 0)
    store = StoreWorker(tmp_path / "kiosk.db", idle_turn_s=0.05)
    events = Events()
    desk = ReceiptDesk(
        store=store, settings=settings,
        printer=lambda: open_printer(settings.printer, virtual_address=printer.address,
                                     timeout_s=1.0),
        events=events, clock=lambda: NOW, idle_turn_s=0.01)
    desk.start()
    try:
        yield Rig(desk, printer, store, events, settings)
    finally:
        desk.stop()
        store.close()
        printer.stop()


def test_the_test_page_is_printed_with_the_shop_the_kiosk_and_the_local_time(rig: Rig) -> None:
    assert rig.desk.print_test_page().result(WAIT_S) == "printed"

    [job] = rig.printer.wait_for_jobs(1, WAIT_S)
    lines = job.text.splitlines()
    assert lines[0] == TITLE
    assert "Demo Corner Shop" in lines
    assert "Kiosk: demo" in lines
    assert "Time: 2026-11-26 12:00:05 GMT" in lines  # Dublin in winter
    assert "Paper: 80 mm, 48 columns" in lines
    assert "Code page: CP858" in lines
    assert "Printer status: ready" in lines
    assert job.png.exists() and job.png.with_suffix(".txt").exists()
    assert not job.partial


def test_the_test_page_shows_a_full_width_ruler_the_currency_and_accents_of_the_code_page(
    rig: Rig,
) -> None:
    rig.desk.print_test_page().result(WAIT_S)

    [job] = rig.printer.wait_for_jobs(1, WAIT_S)
    lines = job.text.splitlines()
    [ruler_line] = [line for line in lines if line.startswith("----+----1")]
    assert len(ruler_line) == 48 and ruler_line.endswith("4----+---")
    assert "Currency: € (EUR)" in lines  # CP858 has the euro sign
    [accents] = [line for line in lines if line.startswith("Accents: ")]
    assert "äöü" in accents and "ß" in accents and "é" in accents


def test_the_test_page_is_exactly_the_rendered_page_and_ends_with_a_cut(rig: Rig) -> None:
    rig.desk.print_test_page().result(WAIT_S)

    [job] = rig.printer.wait_for_jobs(1, WAIT_S)
    local = NOW.astimezone(rig.settings.shop.zone())
    assert job.raw == page_bytes(rig.settings, at_local=local, status="ready")
    assert job.raw.endswith(b"\x1dV\x00")  # GS V 0: full cut


def test_the_test_page_is_neither_a_print_job_nor_audited_nor_a_receipt_event(rig: Rig) -> None:
    rig.desk.print_test_page().result(WAIT_S)

    rig.printer.wait_for_jobs(1, WAIT_S)
    assert rig.print_jobs() == 0
    assert rig.audit_rows() == 0
    assert rig.events.seen == []


@pytest.mark.parametrize(("fault", "status"), [("go_offline", "offline"),
                                               ("paper_out", "paper_out"),
                                               ("cover_open", "cover_open")])
def test_a_printer_that_cannot_print_reports_why_and_prints_nothing(
    rig: Rig, fault: str, status: str
) -> None:
    getattr(rig.printer, fault)()

    assert rig.desk.print_test_page().result(WAIT_S) == status
    assert rig.desk.printer_status().result(WAIT_S) == status  # one more turn of the desk
    assert rig.printer.jobs == []


def test_a_printer_that_is_switched_off_is_offline_and_nothing_is_printed(rig: Rig) -> None:
    rig.printer.stop()

    assert rig.desk.print_test_page().result(WAIT_S) == "offline"
    assert rig.desk.printer_status().result(WAIT_S) == "offline"
    assert rig.printer.jobs == []


def test_the_status_of_a_ready_printer_is_ready_and_asking_prints_nothing(rig: Rig) -> None:
    assert rig.desk.printer_status().result(WAIT_S) == "ready"
    assert rig.desk.printer_status().result(WAIT_S) == "ready"
    assert rig.printer.jobs == []


def test_the_status_follows_the_printer_going_offline_and_back(rig: Rig) -> None:
    rig.printer.go_offline()
    assert rig.desk.printer_status().result(WAIT_S) == "offline"

    rig.printer.come_online()
    assert rig.desk.printer_status().result(WAIT_S) == "ready"


def test_a_kiosk_without_a_printer_reports_offline(tmp_path: Path, settings: Settings) -> None:
    store = StoreWorker(tmp_path / "kiosk.db", idle_turn_s=0.05)
    desk = ReceiptDesk(store=store, settings=settings, printer=lambda: None, events=Events(),
                       clock=lambda: NOW, idle_turn_s=0.01)
    desk.start()
    try:
        assert desk.print_test_page().result(WAIT_S) == "offline"
        assert desk.printer_status().result(WAIT_S) == "offline"
    finally:
        desk.stop()
        store.close()


@pytest.mark.parametrize(("paper_mm", "columns"), [(58, 32), (80, 48)])
def test_the_ruler_is_exactly_one_line_of_the_paper(
    tmp_path: Path, paper_mm: int, columns: int
) -> None:
    base = demo_settings(tmp_path / "state")
    settings = replace(base, printer=replace(base.printer, paper_width_mm=paper_mm))

    text = render_text(page_bytes(settings, at_local=NOW, status="ready"))

    assert ruler(columns) in text.splitlines()
    assert f"Paper: {paper_mm} mm, {columns} columns" in text.splitlines()
    assert max(len(line) for line in text.splitlines()) == columns


def test_a_code_page_without_the_euro_sign_spells_the_currency_out(tmp_path: Path) -> None:
    base = demo_settings(tmp_path / "state")
    settings = replace(base, printer=replace(base.printer, code_page="CP437"))

    text = render_text(page_bytes(settings, at_local=NOW, status="ready"))

    assert "Currency: EUR (EUR)" in text.splitlines()
    assert "Code page: CP437" in text.splitlines()
    [accents] = [line for line in text.splitlines() if line.startswith("Accents: ")]
    assert "äöü" in accents  # CP437 has the German umlauts
