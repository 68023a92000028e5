"""The kiosk itself from the staff menu: open or closed, restart, reboot or power off, the
settings staff may change, the card-reader inspection, sync and the audit log.

The config file is shown, never written: what staff may change lives in SQLite
(``kiosk.store.runtime_settings``, audited there). Restarting or leaving the app asks the
host to stop with an exit code the service knows (`EXIT_RESTART`, `EXIT_LEFT_BY_STAFF`);
rebooting and powering off go through logind (``kiosk.devices.machine``). None of them is
allowed while a customer's sale is open.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.devices import machine
from kiosk.notices import (
    AppExitRequested,
    InspectionRecorded,
    KioskClosedChanged,
    RuntimeSettingChanged,
)
from kiosk.staff_menu.host import MenuHost
from kiosk.staff_menu.replies import in_thread, on_main, wait
from kiosk.staff_menu.signed_in import SignedIn
from kiosk.store import audit
from kiosk.store.inspections import InspectionStatus, inspection_status, record_inspection
from kiosk.store.runtime_settings import RUNTIME_SETTINGS, RuntimeSettings, SettingRejected
from kiosk.store.staff import Lockout, StaffRoster

if TYPE_CHECKING:
    from kiosk.store.audit import AuditEntry
    from kiosk.sync.relay import SyncStatus

log = logging.getLogger(__name__)

EXIT_LEFT_BY_STAFF = 80
"""Exit code of the app when a manager leaves it: the service does not restart on it
(``RestartPreventExitStatus=80``)."""

EXIT_RESTART = 81
"""Exit code of the app when a manager restarts it: the service starts it again."""


class KioskControls:
    """Open/closed, restart and power, runtime settings, inspection, sync, audit."""

    def __init__(self, host: MenuHost, signed_in: SignedIn) -> None:
        self._host = host
        self._signed_in = signed_in
        self._guard = signed_in.guard
        self._audit = signed_in.audit
        self._closed: bool | None = None
        """The stored open/closed state, read once (only `set_closed` changes it)."""

    # ------------------------------------------------------------------ open, closed

    def _settings_store(self, db: Any) -> RuntimeSettings:
        return RuntimeSettings(db, languages=self._host.settings.shop.languages)

    @property
    def closed(self) -> bool:
        """True while staff have closed the kiosk (stored; survives restarts). False until
        the kiosk has started."""
        if self._closed is None:
            reader = self._host.read_connection()
            if reader is None:
                return False
            self._closed = bool(self._settings_store(reader).get("kiosk.closed"))
        return self._closed

    def set_closed(self, closed: bool) -> None:
        """Close the kiosk (customers see the closed screen once no sale is open, and scans
        start no sale) or open it; managers only. A ``KioskClosedChanged`` notice follows
        once the change is on disk (later, when the store worker was busy)."""

        def applied() -> None:
            self._closed = closed
            self._host.emit(KioskClosedChanged(closed))

        self._change("open_close", "kiosk.closed", closed, applied)

    # -------------------------------------------------------------- runtime settings

    @property
    def languages(self) -> list[str]:
        """The shop's configured languages."""
        return list(self._host.settings.shop.languages)

    def runtime_settings(self) -> list[tuple[str, str, object]]:
        """(key, description, value) of every setting staff may change."""
        values = self._settings_store(self._host.reader()).values()
        return [(key, setting.description, values[key])
                for key, setting in RUNTIME_SETTINGS.items()]

    def change_setting(self, key: str, value: object) -> str:
        """Change a runtime setting (managers only); ``""`` when done, else ``bad_value``,
        ``unknown_setting``, ``not_allowed``, ``pending`` (the store worker is busy: the
        change takes effect once written) or ``failed``. A ``RuntimeSettingChanged`` notice
        follows once the change is on disk."""

        def applied() -> None:
            stored = self._settings_store(self._host.reader()).get(key)
            self._host.emit(RuntimeSettingChanged(key, stored))

        return self._change("change_setting", key, value, applied)

    def _change(
        self, action: str, key: str, value: object, applied: Callable[[], None]
    ) -> str:
        """Store a runtime setting on the store worker and call ``applied()`` on the main
        thread once it is on disk. Waits `WRITE_WAIT_S` for it; a change still queued then
        (the worker busy with a large catalog import...) answers ``pending`` and is applied
        when it lands, never reported as failed while it is about to happen."""
        session = self._guard(action)
        if session is None:
            return "not_allowed"
        staff_number, at = session.staff_number, self._host.clock()
        settings_store = self._settings_store

        def change(db: Any) -> str:
            # A refused value is an answer, not a store failure: the store writes its audit
            # row and the screen gets the code (no StoreTrouble, no error in the log).
            try:
                settings_store(db).change(key, value, by=staff_number, at=at)
            except SettingRejected as rejected:
                return rejected.reason
            return ""

        future = self._host.write(change, f"change the setting {key}")
        try:
            code = wait(future)
        except TimeoutError:
            log.warning("the store worker is busy: %s is changed once it is written", key)
            self._host.when_done(future, lambda late: applied() if late == "" else None)
            return "pending"
        except Exception as error:  # the store failed: the facade has told the screen
            log.error("could not change %s: %s", key, error)
            return "failed"
        if code == "":
            applied()
        return code

    def config_text(self) -> str:
        """The config file as it was read (read-only), or, without one (the demo), the
        settings in effect."""
        path: Path | None = self._host.config_path
        if path is not None:
            try:
                return path.read_text(encoding="utf-8")
            except OSError as error:
                return f"# {path} cannot be read: {error}"
        shown = self._host.settings.as_mapping()
        return "# settings in effect (no config file)\n" + json.dumps(shown, indent=2)

    # ------------------------------------------------------------ restart and power

    def restart_app(self) -> str:
        """Restart the app (managers; not while a sale is open): ``""`` when an
        ``AppExitRequested(EXIT_RESTART)`` follows, else ``sale_open`` / ``not_allowed``."""
        return self._exit("restart_app", EXIT_RESTART)

    def leave_app(self) -> str:
        """Leave the app for the desktop or a technician's shell (managers; not while a sale
        is open): ``""`` when an ``AppExitRequested(EXIT_LEFT_BY_STAFF)`` follows."""
        return self._exit("leave_app", EXIT_LEFT_BY_STAFF)

    def _exit(self, action: str, code: int) -> str:
        session = self._guard(action)
        if session is None:
            return "not_allowed"
        if self._host.sale_open():
            self._audit(f"app.{action}", "sale_open", session.staff_number)
            return "sale_open"
        try:  # on disk before the app goes
            wait(self._audit(f"app.{action}", "ok", session.staff_number,
                                   {"exit_code": code}))
        except Exception as error:
            log.error("could not record %s: %s", action, error)
        self._signed_in.close("closing", audited=False)  # the app.<action> row ends the session
        self._host.emit(AppExitRequested(code))
        return ""

    def reboot(self, then: Callable[[str], None]) -> None:
        """Reboot the machine through logind (managers; not while a sale is open).
        ``then("")`` when logind accepted it, else ``sale_open``, ``not_allowed`` or
        ``failed: <why>``."""
        self._power("reboot", machine.reboot, then)

    def power_off(self, then: Callable[[str], None]) -> None:
        """Turn the machine off through logind; answers as `reboot` does."""
        self._power("power_off", machine.power_off, then)

    def _power(self, action: str, call: Callable[[], None], then: Callable[[str], None]) -> None:
        session = self._guard(action)
        if session is None:
            then("not_allowed")
            return
        staff_number = session.staff_number
        if self._host.sale_open():
            self._audit(f"machine.{action}", "sale_open", staff_number)
            then("sale_open")
            return

        def ask_logind() -> None:
            call()
            # Accepted: systemd now stops the app, perhaps before the main loop turns again.
            # The row goes to the store worker from here, at once, and is waited for: a store
            # worker stopping runs every job already queued, so the row is on disk before the
            # machine goes down.
            try:
                wait(self._audit(f"machine.{action}", "ok", staff_number))
            except Exception as error:  # the facade has told the screen (StoreTrouble)
                log.error("could not record %s: %s", action, error)

        def failed(error: BaseException) -> None:
            self._audit(f"machine.{action}", "failed", staff_number, {"error": str(error)})
            then(f"failed: {error}")

        on_main(self._host.post, in_thread(action, ask_logind), lambda _none: then(""), failed)

    # ---------------------------------------------------------- card-reader inspection

    def inspection_status(self) -> InspectionStatus:
        """The last card-reader inspection and whether the next one is overdue."""
        days = self._host.settings.staff.reader_inspection_interval_days
        return inspection_status(self._host.reader(), now=self._host.clock(), interval_days=days)

    def recent_lockouts(self) -> list[Lockout]:
        """Staff lockouts of the last 24 hours, newest first (the notice atop the menu)."""
        return StaffRoster(self._host.reader()).recent_lockouts(self._host.clock())

    def record_inspection(
        self, *, serial_matches: bool, no_tampering: bool, reader_serial: str | None
    ) -> None:
        """Record a card-reader inspection (PCI DSS 9.5.1); an ``InspectionRecorded`` notice
        follows once it is on disk."""
        session = self._guard("inspection")
        if session is None:
            return
        staff_number, at = session.staff_number, self._host.clock()
        if reader_serial is not None:  # as Stripe reported it: keep what can be stored
            reader_serial = "".join(c for c in reader_serial if c.isprintable())[:64] or None
        future = self._host.write(
            lambda db: record_inspection(
                db, staff_number=staff_number, reader_serial=reader_serial,
                serial_matches=serial_matches, no_tampering=no_tampering, at=at,
            ),
            "record the card-reader inspection",
        )
        self._host.when_done(
            future, lambda inspection: self._host.emit(InspectionRecorded(inspection.passed))
        )

    # ----------------------------------------------------------------- sync, audit

    def sync_status(self) -> SyncStatus | None:
        """Where back-office sync stands, or ``None`` while sync is off."""
        return self._host.sync_status()

    def sync_now(self) -> None:
        """Send what is waiting to the back office now (one audit row, ``sync.now``)."""
        session = self._guard("sync_now")
        if session is None:
            return
        status = self._host.sync_status()
        written = self._audit("sync.now", "off" if status is None else "ok",
                              session.staff_number,
                              None if status is None else {"pending": status.pending})
        # Once the row (and its outbox event) is committed, so this pass sends it too.
        sync_now = self._host.sync_now
        written.add_done_callback(lambda _done: sync_now())

    def recent_audit(self, limit: int = 50) -> list[AuditEntry]:
        """The latest audit rows, newest first."""
        return audit.latest(self._host.reader(), limit)
