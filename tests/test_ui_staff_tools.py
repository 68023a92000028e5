"""The staff menu's tool pages on the touchscreen: sync, devices, kiosk, settings, reader
inspection and the audit log.

Staff open the menu as on the kiosk (the header's corner button, staff number and PIN on the
pad), go to a page by its tab and tap its buttons. Every outcome is checked where it lands:
the screen, the facade, the virtual printer, the Stripe emulator's reader, the reference back
office, and the audit log in the kiosk's SQLite file (each action writes exactly one row).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from kivy.app import App
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget
from ui_support import (
    MINERAL_WATER,
    SIZES,
    KioskDriver,
    artifact_folder,
    prepared_demo,
    run_kiosk_ui,
)

from kiosk.config import Settings, demo_settings
from kiosk.resources import asset
from kiosk.sim.demo_backoffice import DemoBackOffice
from kiosk.staff_menu import EXIT_LEFT_BY_STAFF

SETTLE_S = 0.4
"""Real seconds the window keeps running after an audited action, so that a second audit
row written by mistake would have landed before the rows are counted."""


@pytest.fixture(params=list(SIZES))
def kiosk_ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk on screen at each supported screen size."""
    yield from run_kiosk_ui(tmp_path, request.node.name, request.param)


# ---------------------------------------------------------------------------- hands


def demo_staff(ui: KioskDriver, role: str) -> tuple[int, str]:
    """The demo shop's staff member with ``role``: (staff number, PIN)."""
    for staff_role, number, pin in ui.app.demo_info.staff:
        if staff_role == role:
            return int(number), str(pin)
    raise LookupError(f"the demo shop has no {role}")


def tap_in_view(ui: KioskDriver, widget: Widget) -> None:
    """Scroll every scroll view holding ``widget`` until it is in sight, then tap it."""
    parent = widget.parent
    while parent is not None and parent is not parent.parent:  # (the window is its own parent)
        if isinstance(parent, ScrollView):
            parent.scroll_to(widget, padding=10, animate=False)
            ui.frames(3)
        parent = parent.parent
    ui.tap(widget)


def in_sight(scroll: ScrollView, widget: Widget) -> bool:
    """True when all of ``widget`` shows inside the scroll view's window."""
    _x, bottom = widget.to_window(widget.x, widget.y)
    _x, scroll_bottom = scroll.to_window(scroll.x, scroll.y)
    return bool(scroll_bottom <= bottom and bottom + widget.height <= scroll_bottom + scroll.height)


def open_staff_menu(ui: KioskDriver, role: str = "manager") -> None:
    """Tap the corner button, then the staff number, Next, the PIN and OK on the pad."""
    number, pin = demo_staff(ui, role)
    ui.tap(ui.find("staff_button"))
    ui.wait_for_screen("staff_login")
    pad = ui.find("pin_pad", "staff_login")
    keys = {
        str(key.key): key for key in pad.walk(restrict=True)
        if isinstance(getattr(key, "key", None), str) and key.key
    }
    for digit in [*str(number), "ok", *pin, "ok"]:
        ui.tap(keys[digit])
    ui.wait_for_screen("staff_menu")


def menu(ui: KioskDriver) -> Any:
    """The staff menu screen."""
    return ui.app.root.screens.get_screen("staff_menu")


def show_page(ui: KioskDriver, name: str) -> Any:
    """Tap the tab of page ``name`` and return the page once it is on show."""
    tap_in_view(ui, ui.find(f"staff_page_{name}", "staff_menu"))
    ui.wait_for(lambda: menu(ui).page_name == name, f"the {name} page")
    return menu(ui).page


def tap_on_page(ui: KioskDriver, widget_id: str) -> None:
    """Tap the widget ``widget_id`` of the page on show (scrolled into sight first)."""
    tap_in_view(ui, menu(ui).page.ids[widget_id])


def back_to_the_customer(ui: KioskDriver) -> None:
    """Close the staff menu with its "Back to the customer" button."""
    ui.tap(ui.find("back_to_customer", "staff_menu"))
    ui.wait_for(lambda: ui.screen != "staff_menu", "the menu to close")


# ------------------------------------------------------------------------ the audit log


def read_database(ui: KioskDriver, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows from the kiosk's database, opened read-only."""
    connection = sqlite3.connect(f"file:{ui.data_dir / 'kiosk.db'}?mode=ro", uri=True)
    try:
        return connection.execute(sql, args).fetchall()
    finally:
        connection.close()


def last_audit_id(ui: KioskDriver) -> int:
    """The id of the newest audit row (0 when there is none)."""
    return int(read_database(ui, "SELECT coalesce(max(id), 0) FROM audit_log")[0][0])


def audit_rows_after(ui: KioskDriver, after_id: int) -> list[tuple[str, str]]:
    """(action, outcome) of the audit rows written after row ``after_id``, oldest first."""
    return [
        (str(action), str(outcome)) for action, outcome in read_database(
            ui, "SELECT action, outcome FROM audit_log WHERE id > ? ORDER BY id", after_id)
    ]


def assert_one_audit_row(ui: KioskDriver, after_id: int, action: str, outcome: str) -> None:
    """Exactly one audit row, (``action``, ``outcome``), was written after ``after_id``."""
    ui.wait_for(lambda: audit_rows_after(ui, after_id) != [], f"the audit row {action}")
    ui.pump(SETTLE_S)
    assert audit_rows_after(ui, after_id) == [(action, outcome)]


# ------------------------------------------------------------------------------ kiosk


@contextmanager
def demo_kiosk(data_dir: Path, test_name: str, size_name: str,
               settings: Settings | None = None, **options: Any) -> Iterator[KioskDriver]:
    """A demo kiosk on screen on ``data_dir`` (prepared once by the caller), stopped after."""
    prepared, demo = prepared_demo(data_dir) if settings is None else (settings, None)
    driver = KioskDriver(
        data_dir, prepared, size=SIZES[size_name], shots=artifact_folder(test_name),
        demo=options.pop("demo", demo), **options,
    )
    try:
        yield driver
    finally:
        driver.stop()


@pytest.mark.parametrize("size_name", list(SIZES))
def test_a_closed_kiosk_shows_customers_the_closed_screen_also_after_a_restart(
    request: pytest.FixtureRequest, tmp_path: Path, size_name: str,
) -> None:
    data_dir = tmp_path / "kiosk"
    data_dir.mkdir()
    with demo_kiosk(data_dir, request.node.name, size_name) as ui:
        settings, demo = ui.settings, ui.app.demo_info
        ui.wait_for_screen("attract")
        ui.started()
        open_staff_menu(ui)
        page = show_page(ui, "kiosk")
        assert ui.shows("The kiosk is open to customers.")
        before = last_audit_id(ui)
        tap_on_page(ui, "open_close")
        ui.wait_for(lambda: page.closed, "the kiosk page to show the kiosk closed")
        assert ui.shows("The kiosk is closed to customers.")
        assert ui.kiosk.staff.closed
        assert_one_audit_row(ui, before, "settings.change", "ok")
        ui.screenshot("kiosk-page-closed")
        assert ui.screen == "staff_menu"  # staff keep their menu: closing is for customers
        back_to_the_customer(ui)
        ui.wait_for_screen("closed")
        assert ui.shows("This checkout is closed")
        ui.screenshot("closed-screen")

    with demo_kiosk(data_dir, request.node.name, size_name, settings, demo=demo) as ui:
        ui.started()
        ui.wait_for_screen("closed")
        assert ui.kiosk.staff.closed
        ui.screenshot("closed-after-restart")
        open_staff_menu(ui)
        page = show_page(ui, "kiosk")
        assert ui.shows("The kiosk is closed to customers.")
        before = last_audit_id(ui)
        tap_on_page(ui, "open_close")
        ui.wait_for(lambda: not page.closed, "the kiosk page to show the kiosk open")
        assert_one_audit_row(ui, before, "settings.change", "ok")
        back_to_the_customer(ui)
        ui.wait_for_screen("attract")
        assert not ui.kiosk.staff.closed


def test_an_attendant_sees_the_kiosk_page_but_cannot_close_the_kiosk(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    open_staff_menu(ui, "attendant")
    page = show_page(ui, "kiosk")
    for button in ("open_close", "restart_app", "reboot", "power_off", "leave_app"):
        assert page.ids[button].disabled, f"{button} is open to an attendant"
    assert ui.shows("Managers only")
    ui.screenshot("kiosk-page-attendant")

    before = last_audit_id(ui)
    ui.kiosk.staff.set_closed(True)  # the facade refuses too, whatever the screen offers
    assert_one_audit_row(ui, before, "staff.open_close", "not_allowed")
    assert not ui.kiosk.staff.closed
    page.refresh()
    assert not page.closed
    back_to_the_customer(ui)
    ui.wait_for_screen("attract")


def test_leaving_the_app_asks_first_then_stops_it_with_the_exit_code_80(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    open_staff_menu(ui)
    page = show_page(ui, "kiosk")
    before = last_audit_id(ui)
    tap_on_page(ui, "leave_app")
    assert page.asking == "leave_app"
    assert ui.shows("Are you sure? Leave the app")
    ui.screenshot("are-you-sure")
    assert audit_rows_after(ui, before) == []  # the first tap only asks
    tap_on_page(ui, "cancel_button")
    assert page.asking == ""
    assert not ui.shows("Are you sure?")

    tap_on_page(ui, "leave_app")
    confirm = page.ids.confirm_button
    ui.wait_for(lambda: in_sight(page.ids.scroll, confirm), "the question scrolled into sight")
    ui.tap(confirm)  # where staff see it, without scrolling by hand
    ui.wait_for(lambda: App.get_running_app() is None, "the app to stop")
    assert ui.app.exit_code == EXIT_LEFT_BY_STAFF
    assert audit_rows_after(ui, before) == [("app.leave_app", "ok")]  # (it ends the session)


def test_restarting_the_app_waits_until_the_customer_sale_is_finished(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    open_staff_menu(ui)
    page = show_page(ui, "kiosk")
    before = last_audit_id(ui)
    tap_on_page(ui, "restart_app")
    tap_on_page(ui, "confirm_button")
    ui.wait_for(lambda: bool(page.answer_text), "the answer")
    assert ui.shows("Finish or cancel the customer's sale first.")
    assert ui.app.exit_code == 0
    assert_one_audit_row(ui, before, "app.restart_app", "sale_open")
    ui.screenshot("sale-open")


# ------------------------------------------------------------------------- inspection


def test_a_passed_inspection_ends_the_overdue_warning_and_is_audited_once(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    open_staff_menu(ui)
    assert menu(ui).inspection_overdue  # the demo reader was never inspected
    ui.tap(ui.find("inspection_warning", "staff_menu"))
    ui.wait_for(lambda: menu(ui).page_name == "inspection", "the inspection page")
    page = menu(ui).page
    assert page.overdue
    assert ui.shows("The reader has never been inspected.")
    assert ui.shows("An inspection is overdue.")
    ui.wait_for(lambda: bool(page.reader_serial), "the reader's serial number")
    emulator = ui.kiosk.stripe_emulator
    assert emulator is not None
    reader = emulator.readers()[0]
    assert page.reader_serial == reader["serial_number"]
    assert ui.shows(f"Registered serial number: {reader['serial_number']}")
    ui.screenshot("inspection-overdue")

    tap_on_page(ui, "no_tampering")
    tap_on_page(ui, "serial_matches")
    assert page.no_tampering and page.serial_matches
    before = last_audit_id(ui)
    tap_on_page(ui, "record")
    ui.wait_for(lambda: ui.shows("Inspection recorded: passed."), "the recorded inspection")
    assert_one_audit_row(ui, before, "reader.inspection", "passed")
    assert not page.overdue
    assert not menu(ui).inspection_overdue
    assert not ui.shows("Card reader inspection overdue")
    assert ui.shows("Next inspection due:")
    assert ui.shows("by staff 1002: passed")
    ui.screenshot("inspection-passed")


def test_a_failed_inspection_is_recorded_with_a_warning_and_stays_overdue(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    open_staff_menu(ui, "attendant")
    page = show_page(ui, "inspection")
    tap_on_page(ui, "serial_matches")  # the serial matches, but the reader was tampered with
    before = last_audit_id(ui)
    tap_on_page(ui, "record")
    ui.wait_for(lambda: page.result_failed, "the recorded inspection")
    assert ui.shows("Take the reader out of use and tell the manager.")
    assert_one_audit_row(ui, before, "reader.inspection", "failed")
    assert page.overdue and menu(ui).inspection_overdue
    ui.screenshot("inspection-failed")


# ------------------------------------------------------------------------------- sync


@pytest.mark.parametrize("size_name", list(SIZES))
def test_sync_now_sends_every_waiting_event_to_the_back_office(
    request: pytest.FixtureRequest, tmp_path: Path, size_name: str,
) -> None:
    data_dir = tmp_path / "kiosk"
    data_dir.mkdir()
    _settings, demo = prepared_demo(data_dir)
    backoffice = DemoBackOffice(data_dir, "demo")
    settings = demo_settings(data_dir, backoffice_url=backoffice.url)
    try:
        with demo_kiosk(data_dir, request.node.name, size_name, settings, demo=demo,
                        secrets=backoffice.secrets) as ui:
            ui.wait_for_screen("attract")
            ui.started()
            open_staff_menu(ui)
            page = show_page(ui, "sync")
            assert page.sync_on
            assert ui.shows("events waiting to be sent") or ui.shows("event waiting to be sent")
            ui.screenshot("sync-before")
            before = last_audit_id(ui)
            tap_on_page(ui, "sync_now")
            ui.wait_for(lambda: page.pending == 0, "nothing left to send")
            assert ui.shows("0 events waiting to be sent")
            assert ui.shows("Last sent:")
            status = ui.kiosk.staff.sync_status()
            assert status is not None and status.pending == 0
            assert_one_audit_row(ui, before, "sync.now", "ok")
            ui.screenshot("sync-done")
    finally:
        backoffice.stop()


def test_without_a_back_office_the_sync_page_says_sync_is_off(kiosk_ui: KioskDriver) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    open_staff_menu(ui, "attendant")
    page = show_page(ui, "sync")
    assert not page.sync_on
    assert ui.shows("Sync is off: no back office is configured.")
    assert page.ids.sync_now.opacity == 0 and page.ids.sync_now.disabled


# ---------------------------------------------------------------------------- devices


def test_the_printer_test_page_comes_out_of_the_printer_and_its_status_is_read(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    printer = ui.kiosk.virtual_printer
    assert printer is not None
    jobs_before = len(printer.jobs)
    open_staff_menu(ui, "attendant")
    page = show_page(ui, "devices")
    before = last_audit_id(ui)
    tap_on_page(ui, "printer_test")
    ui.wait_for(lambda: ui.shows("The test page was printed."), "the test page")
    assert len(printer.jobs) == jobs_before + 1
    assert "Demo Corner Shop" in printer.jobs[-1].text
    assert_one_audit_row(ui, before, "device.printer_test", "printed")

    before = last_audit_id(ui)
    tap_on_page(ui, "printer_status")
    ui.wait_for(lambda: page.printer_text == "The printer is ready.", "the printer's state")
    printer.paper_out()
    tap_on_page(ui, "printer_status")
    ui.wait_for(lambda: page.printer_text == "The printer is out of paper.", "paper out")
    ui.pump(SETTLE_S)
    assert audit_rows_after(ui, before) == []  # looking at a status is not an action
    ui.screenshot("printer-checked")


def test_the_reader_shows_a_test_cart_and_is_cleared_again(kiosk_ui: KioskDriver) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    emulator = ui.kiosk.stripe_emulator
    assert emulator is not None
    open_staff_menu(ui, "attendant")
    page = show_page(ui, "devices")
    tap_on_page(ui, "reader_status")
    ui.wait_for(lambda: "Serial number:" in page.reader_text, "the reader's status")
    reader = emulator.readers()[0]
    assert f"Serial number: {reader['serial_number']}" in page.reader_text
    assert "Status: online" in page.reader_text

    before = last_audit_id(ui)
    tap_on_page(ui, "reader_display_test")
    ui.wait_for(lambda: ui.shows("The test is on the reader's screen."), "the test cart")
    action = emulator.readers()[0]["action"]
    assert action is not None and action["type"] == "set_reader_display"
    assert_one_audit_row(ui, before, "device.reader_display_test", "shown")
    ui.screenshot("reader-test-shown")

    before = last_audit_id(ui)
    tap_on_page(ui, "reader_clear")
    ui.wait_for(lambda: ui.shows("The reader's screen was cleared."), "the cleared reader")
    assert emulator.readers()[0]["action"] is None
    assert_one_audit_row(ui, before, "device.reader_display_clear", "cleared")


def test_the_scanner_test_reads_scans_without_adding_them_to_a_cart(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    open_staff_menu(ui, "attendant")
    page = show_page(ui, "devices")
    assert ui.shows("The scanner is connected.")
    before = last_audit_id(ui)
    tap_on_page(ui, "scanner_test")
    assert_one_audit_row(ui, before, "device.scanner_test", "connected")
    ui.scan(MINERAL_WATER)
    ui.wait_for(lambda: len(page.scanner_reads) == 1, "the scan read back")
    assert page.scanner_reads == [f"EAN-13 {MINERAL_WATER}: Mineral water still 1.5 l"]
    assert ui.kiosk.checkout.cart.lines == ()
    ui.screenshot("scanner-test")


def test_a_manager_imports_a_catalog_from_the_usb_stick(
    request: pytest.FixtureRequest, tmp_path: Path,
) -> None:
    data_dir = tmp_path / "kiosk"
    data_dir.mkdir()
    stick = tmp_path / "stick"
    stick.mkdir()
    _settings, demo = prepared_demo(data_dir)
    base = demo_settings(data_dir)
    settings = replace(base, catalog=replace(base.catalog, usb_mount_path=stick))
    with demo_kiosk(data_dir, request.node.name, "800x480", settings, demo=demo) as ui:
        ui.kiosk.staff._require_mount = False  # a test cannot mount a stick: a plain folder
        ui.wait_for_screen("attract")
        ui.started()
        open_staff_menu(ui)
        page = show_page(ui, "devices")
        assert ui.shows("No .csv file on the USB stick")
        with asset("catalog/sample.csv").open("rb") as sample, (
            stick / "spring.csv").open("wb") as copy:
            shutil.copyfileobj(sample, copy)
        page.refresh()
        ui.frames(3)
        assert page.usb_files == ["spring.csv"]
        before = last_audit_id(ui)
        rows = page.ids.usb_files.children
        assert len(rows) == 1 and rows[0].file_name == "spring.csv"
        import_button = next(w for w in rows[0].walk(restrict=True)
                             if getattr(w, "text", "") == "Import")
        tap_in_view(ui, import_button)
        ui.wait_for(lambda: page.import_text.startswith("Imported"), "the import")
        assert page.import_text == "Imported 42 products"
        assert_one_audit_row(ui, before, "catalog.import_usb", "imported")
        ui.screenshot("catalog-imported")


def test_two_taps_on_import_import_the_catalog_once(
    request: pytest.FixtureRequest, tmp_path: Path,
) -> None:
    data_dir = tmp_path / "kiosk"
    data_dir.mkdir()
    stick = tmp_path / "stick"
    stick.mkdir()
    with asset("catalog/sample.csv").open("rb") as sample, (
            stick / "spring.csv").open("wb") as copy:
        shutil.copyfileobj(sample, copy)
    _settings, demo = prepared_demo(data_dir)
    base = demo_settings(data_dir)
    settings = replace(base, catalog=replace(base.catalog, usb_mount_path=stick))
    with demo_kiosk(data_dir, request.node.name, "1280x800", settings, demo=demo) as ui:
        ui.kiosk.staff._require_mount = False  # a test cannot mount a stick: a plain folder
        ui.wait_for_screen("attract")
        ui.started()
        open_staff_menu(ui)
        page = show_page(ui, "devices")
        before = last_audit_id(ui)

        page.import_catalog("spring.csv")  # two fingers, or a tap and a bounce, in one frame
        page.import_catalog("spring.csv")

        ui.wait_for(lambda: page.import_text.startswith("Imported"), "the import")
        assert_one_audit_row(ui, before, "catalog.import_usb", "imported")


# --------------------------------------------------------------------------- settings


def test_a_manager_turns_the_volume_down_and_the_audit_page_lists_it_first(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    open_staff_menu(ui)
    page = show_page(ui, "settings")
    assert ui.shows("settings in effect")  # the demo has no config file: what is in effect
    volume_before = page.volume
    ui.screenshot("settings")
    before = last_audit_id(ui)
    tap_on_page(ui, "volume_down")
    ui.wait_for(lambda: page.volume == volume_before - 10, "the lower volume")
    assert page.ids.volume.text == f"{volume_before - 10} %"
    values = {key: value for key, _about, value in ui.kiosk.staff.runtime_settings()}
    assert values["sound.volume"] == volume_before - 10
    assert ui.app.sounds.volume_percent == volume_before - 10  # the scan beep follows
    assert_one_audit_row(ui, before, "settings.change", "ok")

    before = last_audit_id(ui)
    german = next(button for button in page.ids.language_buttons.children
                  if button.text == "Deutsch")
    tap_in_view(ui, german)
    ui.wait_for(lambda: page.language == "de", "German first")
    assert german.role == "accent"
    assert_one_audit_row(ui, before, "settings.change", "ok")

    audit = show_page(ui, "audit")
    ui.wait_for(lambda: bool(audit.rows), "the audit rows")
    newest = audit.rows[0]
    assert newest["what"] == "settings.change: ok"
    assert "shop.default_language" in newest["detail"]
    assert newest["who"] == "Staff 1002"
    assert len(audit.rows) <= 50
    ui.screenshot("audit")


def test_an_attendant_sees_the_settings_but_cannot_change_them(kiosk_ui: KioskDriver) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    open_staff_menu(ui, "attendant")
    page = show_page(ui, "settings")
    assert page.ids.volume_down.disabled and page.ids.volume_up.disabled
    assert all(button.disabled for button in page.ids.language_buttons.children)
    assert ui.shows("Managers only")
    before = last_audit_id(ui)
    assert ui.kiosk.staff.change_setting("sound.volume", 0) == "not_allowed"
    assert_one_audit_row(ui, before, "staff.change_setting", "not_allowed")
