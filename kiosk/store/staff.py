"""Staff members and their PINs: who may open the maintenance menu, and the lockout rules.

A PIN is at least six digits. Only its scrypt hash (wrapped with the PIN pepper, a key that is
not in the database: ``kiosk.store.pin_pepper``), a random salt and the hash parameters are
stored; the PIN itself is never stored, logged or written to the audit log. After five wrong
PINs in a row a staff member is locked out for 30 seconds, then 60, 120 ... up to five minutes
for each further lockout; a correct PIN clears the count, and a manager can clear a lockout.
A lockout is also an alert: a ``staff.locked_out`` outbox event for the back office, written
with it, and a notice at the top of the staff menu (`recent_lockouts`).
Every check, PIN change and lockout clearance writes an audit row. Time is always passed in
(``now``, timezone-aware), so the rules are testable without waiting.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlite_utils import Database

from kiosk.core.pins import PinOutcome
from kiosk.core.timestamps import parse_utc_iso, utc_now_iso
from kiosk.store import audit
from kiosk.store.db import StoreError, immediate_transaction
from kiosk.store.keys import keys_of
from kiosk.store.pin_pepper import PepperState, pepper_state, take_over, wrap, wrap_existing

log = logging.getLogger(__name__)

MAX_WRONG_PINS = 5
"""Wrong PINs in a row that lock a staff member out."""

FIRST_LOCKOUT_S = 30
"""Length of the first lockout in seconds; each further lockout doubles it."""

MAX_LOCKOUT_S = 300
"""Longest lockout in seconds."""

MIN_PIN_DIGITS = 6
FIRST_STAFF_NUMBER = 1001

# Stored with every hash, so the cost can be raised later: old hashes keep verifying with
# their own parameters and are re-hashed with these on the next correct PIN.
PIN_HASH_PARAMS: dict[str, Any] = {"alg": "scrypt", "n": 2**14, "r": 8, "p": 1, "dklen": 32}
_SALT_BYTES = 16

_STAFF_COLUMNS = (
    "number, name, role, active, pin_hash, pin_salt, pin_params, failed_attempts, "
    "locked_until, lockouts, pin_peppered"
)

LOCKOUT_TOPIC = "staff.locked_out"
"""The outbox topic of a lockout alert (``kiosk.wire.LOCKOUT_TOPIC``)."""


class StaffRole(StrEnum):
    """What a staff member may do: attendants approve and help, managers also administer."""

    ATTENDANT = "attendant"
    MANAGER = "manager"


class PinRejected(ValueError):
    """A new PIN does not follow the rules; ``reason`` is ``too_short`` or ``not_digits``."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class PepperMissing(StoreError):
    """The PIN hashes are peppered and this process has no pepper: it cannot set a PIN."""


class UnknownStaff(LookupError):
    """No staff member has this number."""

    def __init__(self, number: int) -> None:
        self.number = number
        super().__init__(f"no staff member with number {number}")


class NotAllowed(PermissionError):
    """The staff member asking is not allowed to do this (not an active manager)."""


@dataclass(frozen=True)
class StaffMember:
    """A person who can open the maintenance menu. ``number`` is what they type to log in."""

    number: int
    name: str
    role: StaffRole
    active: bool
    has_pin: bool


@dataclass(frozen=True)
class PinCheck:
    """The answer to a PIN check.

    ``staff`` is set when the number is known. ``locked_until`` (aware UTC) is set while the
    staff member is locked out, including on the wrong PIN that started the lockout, whose
    outcome is ``locked``. ``tries_left`` counts wrong PINs still allowed before a lockout
    (0 while locked); it is ``None`` when the question does not apply.
    """

    outcome: PinOutcome
    staff: StaffMember | None = None
    locked_until: datetime | None = None
    tries_left: int | None = None

    @property
    def ok(self) -> bool:
        """True when the PIN was right and the staff member may proceed."""
        return self.outcome is PinOutcome.OK


@dataclass(frozen=True)
class Lockout:
    """A lockout that started at ``at`` (aware UTC) and lasts until ``until``."""

    staff_number: int
    at: datetime
    until: datetime


@dataclass(frozen=True)
class _StaffRow:
    number: int
    name: str
    role: str
    active: int
    pin_hash: bytes | None
    pin_salt: bytes | None
    pin_params: str | None
    failed_attempts: int
    locked_until: str | None
    lockouts: int
    pin_peppered: int

    def member(self) -> StaffMember:
        return StaffMember(
            number=self.number,
            name=self.name,
            role=StaffRole(self.role),
            active=bool(self.active),
            has_pin=self.pin_hash is not None,
        )


def lockout_seconds(previous_lockouts: int) -> int:
    """Length in seconds of the next lockout after ``previous_lockouts`` lockouts in a row."""
    if previous_lockouts >= 8:  # 30 * 2**8 is far past the cap already
        return MAX_LOCKOUT_S
    return min(FIRST_LOCKOUT_S * 2**previous_lockouts, MAX_LOCKOUT_S)


def _check_new_pin(pin: str) -> None:
    if not (pin.isascii() and pin.isdigit()):
        raise PinRejected("not_digits", "A PIN may contain digits only.")
    if len(pin) < MIN_PIN_DIGITS:
        raise PinRejected("too_short", f"A PIN needs at least {MIN_PIN_DIGITS} digits.")


def _hash_pin(pin: str, salt: bytes, params: dict[str, Any]) -> bytes:
    if params.get("alg") != "scrypt":
        raise StoreError(f"unknown PIN hash algorithm {params.get('alg')!r}")
    n, r, p = int(params["n"]), int(params["r"]), int(params["p"])
    return hashlib.scrypt(
        pin.encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        dklen=int(params["dklen"]),
        maxmem=256 * r * (n + p) + (1 << 20),
    )


def _new_hash(pin: str, pepper: bytes | None) -> tuple[bytes, bytes, str, int]:
    """A new stored hash of ``pin``: (hash, salt, params, peppered), wrapped if ``pepper``."""
    salt = os.urandom(_SALT_BYTES)
    scrypt_hash = _hash_pin(pin, salt, PIN_HASH_PARAMS)
    params = json.dumps(PIN_HASH_PARAMS, sort_keys=True)
    if pepper is None:
        return scrypt_hash, salt, params, 0
    return wrap(pepper, scrypt_hash), salt, params, 1


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got naive {now!r}")


class StaffRoster:
    """The staff table of one database connection: adding people, PINs and lockouts."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, name: str, role: StaffRole | str, now: datetime) -> StaffMember:
        """Add an active staff member without a PIN; numbers are given out as 1001, 1002, ..."""
        _require_aware(now)
        name = name.strip()
        if not name:
            raise ValueError("a staff member needs a name")
        role = StaffRole(role)
        with immediate_transaction(self._db):
            (last,) = self._db.conn.execute("SELECT MAX(number) FROM staff").fetchone()
            number = max(int(last or 0), FIRST_STAFF_NUMBER - 1) + 1
            self._db.execute(
                "INSERT INTO staff (number, name, role, created_at) VALUES (?, ?, ?, ?)",
                [number, name, role.value, utc_now_iso(now)],
            )
            audit.record(self._db, at=now, action="staff.add", outcome="ok",
                         staff_number=number, detail={"role": role.value})
        return StaffMember(number=number, name=name, role=role, active=True, has_pin=False)

    def get(self, number: int) -> StaffMember | None:
        """Return the staff member with this number, or ``None``."""
        row = self._row(number)
        return None if row is None else row.member()

    def set_pin(self, number: int, pin: str, now: datetime) -> None:
        """Give a staff member a new PIN (at least six digits, digits only).

        Raises `PinRejected` for a PIN that breaks the rules and `UnknownStaff` for an unknown
        number; both are audited. A new PIN does not clear a lockout: see `clear_lockout`.
        """
        _require_aware(now)
        try:
            _check_new_pin(pin)
        except PinRejected as rejected:
            audit.record(self._db, at=now, action="staff.pin_set", outcome="rejected",
                         staff_number=number, detail={"reason": rejected.reason})
            raise
        keys = keys_of(self._db)
        pin_hash, salt, params, peppered = _new_hash(
            pin, None if keys is None else keys.pin_pepper
        )
        with immediate_transaction(self._db):
            state = pepper_state(self._db)
            if state is PepperState.MISSING:
                audit.record(self._db, at=now, action="staff.pin_set", outcome="rejected",
                             staff_number=number, detail={"reason": "no_pepper"})
                raise PepperMissing(
                    "the staff PINs are protected by the PIN pepper (systemd credential "
                    "pin-pepper), which this process cannot read: run as root")
            if self._row(number) is not None and keys is not None:
                self._adopt_pepper(state, number, now)
            cursor = self._db.execute(
                "UPDATE staff SET pin_hash = ?, pin_salt = ?, pin_params = ?, "
                "pin_peppered = ? WHERE number = ?",
                [pin_hash, salt, params, peppered, number],
            )
            outcome = "ok" if cursor.rowcount == 1 else "unknown_staff"
            audit.record(self._db, at=now, action="staff.pin_set", outcome=outcome,
                         staff_number=number)
        if outcome != "ok":
            raise UnknownStaff(number)

    def _adopt_pepper(self, state: PepperState, number: int, now: datetime) -> None:
        """Before a new PIN is stored under this connection's pepper (in its transaction)."""
        keys = keys_of(self._db)
        if keys is None:
            return
        if state is PepperState.NOT_STARTED:
            wrap_existing(self._db, keys)
        elif state is PepperState.OTHER:
            removed = take_over(self._db, keys, keep=number)
            log.warning("staff PINs were set under another PIN pepper (a database from "
                        "another machine): %d other PINs removed; they must be set again",
                        removed)
            audit.record(self._db, at=now, action="staff.pins_reset", outcome="ok",
                         staff_number=number, detail={"removed": removed})

    def check_pin(self, number: int, pin: str, now: datetime) -> PinCheck:
        """Check a staff member's PIN at ``now`` and apply the lockout rules.

        While locked out even the right PIN is refused. The fifth wrong PIN in a row answers
        ``locked`` with ``locked_until`` set. A right PIN clears the wrong-PIN count and the
        growing lockout delay.
        """
        _require_aware(now)
        # Hash outside the write transaction: scrypt takes tens of milliseconds and the
        # connection recording money should not wait for it.
        before = self._row(number)
        precomputed: tuple[bytes, str, bytes] | None = None
        if (
            before is not None
            and before.active
            and before.pin_salt is not None
            and before.pin_params
            and isinstance(self._pepper_for(before), bytes)
            and not (before.locked_until and now < parse_utc_iso(before.locked_until))
        ):
            precomputed = (
                before.pin_salt,
                before.pin_params,
                _hash_pin(pin, before.pin_salt, json.loads(before.pin_params)),
            )
        with immediate_transaction(self._db):
            row = self._row(number)
            result, detail = self._decide(number, row, pin, now, precomputed)
            audit.record(
                self._db,
                at=now,
                action="staff.pin_check",
                outcome=result.outcome.value,
                staff_number=None if row is None else number,
                detail=detail,
            )
        if detail.get("lockout_started"):
            log.warning("staff %d locked out until %s after %d wrong PINs",
                        number, detail["locked_until"], MAX_WRONG_PINS)
        return result

    def _decide(
        self,
        number: int,
        row: _StaffRow | None,
        pin: str,
        now: datetime,
        precomputed: tuple[bytes, str, bytes] | None,
    ) -> tuple[PinCheck, dict[str, Any]]:
        """Work out the answer to a PIN check and store its effect (inside the transaction)."""
        if row is None:
            return PinCheck(PinOutcome.UNKNOWN_STAFF), {"claimed_number": number}
        member = row.member()
        if not member.active:
            return PinCheck(PinOutcome.INACTIVE, staff=member), {}
        if row.pin_hash is None or row.pin_salt is None or not row.pin_params:
            return PinCheck(PinOutcome.NO_PIN, staff=member), {}
        locked_until = None if row.locked_until is None else parse_utc_iso(row.locked_until)
        if locked_until is not None and now < locked_until:
            return (
                PinCheck(PinOutcome.LOCKED, staff=member, locked_until=locked_until, tries_left=0),
                {"locked_until": row.locked_until},
            )
        pepper = self._pepper_for(row)
        if not isinstance(pepper, bytes):
            return PinCheck(pepper or PinOutcome.NO_PIN, staff=member), {}
        if precomputed is not None and precomputed[:2] == (row.pin_salt, row.pin_params):
            candidate = precomputed[2]
        else:  # the PIN changed between the first read and the transaction
            candidate = _hash_pin(pin, row.pin_salt, json.loads(row.pin_params))
        if pepper:
            candidate = wrap(pepper, candidate)
        if hmac.compare_digest(candidate, row.pin_hash):
            self._after_right_pin(row, pin)
            return PinCheck(PinOutcome.OK, staff=member), {}
        failed = row.failed_attempts + 1
        if failed < MAX_WRONG_PINS:
            self._db.execute(
                "UPDATE staff SET failed_attempts = ?, locked_until = NULL WHERE number = ?",
                [failed, row.number],
            )
            tries_left = MAX_WRONG_PINS - failed
            return (
                PinCheck(PinOutcome.WRONG_PIN, staff=member, tries_left=tries_left),
                {"tries_left": tries_left},
            )
        delay_s = lockout_seconds(row.lockouts)
        new_locked_until = now + timedelta(seconds=delay_s)
        stored_until = utc_now_iso(new_locked_until)
        self._db.execute(
            "UPDATE staff SET failed_attempts = 0, locked_until = ?, lockouts = lockouts + 1 "
            "WHERE number = ?",
            [stored_until, row.number],
        )
        self._raise_lockout_alert(row.number, now, stored_until, delay_s)
        return (
            PinCheck(PinOutcome.LOCKED, staff=member,
                     locked_until=parse_utc_iso(stored_until), tries_left=0),
            {"lockout_started": True, "locked_until": stored_until, "lockout_s": delay_s},
        )

    def _pepper_for(self, row: _StaffRow) -> bytes | PinOutcome | None:
        """The pepper ``row``'s hash is checked with (``b""``: an unwrapped hash from before
        the pepper), or why it cannot be checked: ``PINS_RESET_NEEDED``, ``PIN_KEY_MISSING``,
        or ``None`` for an unwrapped hash in a peppered database (never accepted: only someone
        editing the file writes one)."""
        state = pepper_state(self._db)
        if not row.pin_peppered:
            if state is PepperState.NOT_STARTED:
                return b""
            log.warning("staff %d has an unwrapped PIN hash in a peppered database: refused",
                        row.number)
            return None
        if state is PepperState.OK:
            keys = keys_of(self._db)
            return None if keys is None else keys.pin_pepper
        if state is PepperState.MISSING:
            return PinOutcome.PIN_KEY_MISSING
        return PinOutcome.PINS_RESET_NEEDED

    def _raise_lockout_alert(self, number: int, now: datetime, until: str, delay_s: int) -> None:
        """The ``staff.locked_out`` event for the back office, in the lockout's transaction."""
        stamp = utc_now_iso(now)
        payload = {"staff_number": number, "at": stamp, "locked_until": until,
                   "lockout_s": delay_s, "wrong_pins": MAX_WRONG_PINS}
        self._db.execute(
            "INSERT INTO outbox (event_id, topic, sale_id, payload, created_at) "
            "VALUES (?, ?, NULL, ?, ?)",
            [str(uuid.uuid4()), LOCKOUT_TOPIC, json.dumps(payload, sort_keys=True), stamp],
        )

    def recent_lockouts(self, now: datetime, hours: int = 24) -> builtins.list[Lockout]:
        """Lockouts that started in the ``hours`` before ``now``, newest first (the staff
        menu's notice)."""
        _require_aware(now)
        rows = self._db.conn.execute(
            "SELECT staff_number, at, json_extract(detail, '$.locked_until') FROM audit_log "
            "WHERE action = 'staff.pin_check' AND at >= ? "
            "AND json_extract(detail, '$.lockout_started') = 1 ORDER BY id DESC",
            [utc_now_iso(now - timedelta(hours=hours))],
        )
        return [Lockout(int(number), parse_utc_iso(at), parse_utc_iso(until))
                for number, at, until in rows if number is not None and until]

    def _after_right_pin(self, row: _StaffRow, pin: str) -> None:
        if row.pin_params is not None and json.loads(row.pin_params) != PIN_HASH_PARAMS:
            keys = keys_of(self._db)
            pepper = keys.pin_pepper if keys is not None and row.pin_peppered else None
            pin_hash, salt, params, peppered = _new_hash(pin, pepper)
            self._db.execute(
                "UPDATE staff SET pin_hash = ?, pin_salt = ?, pin_params = ?, pin_peppered = ? "
                "WHERE number = ?",
                [pin_hash, salt, params, peppered, row.number],
            )
        self._db.execute(
            "UPDATE staff SET failed_attempts = 0, locked_until = NULL, lockouts = 0 "
            "WHERE number = ?",
            [row.number],
        )

    def clear_lockout(self, number: int, by: int, now: datetime) -> None:
        """Clear a staff member's lockout and wrong-PIN count; ``by`` must be an active manager.

        Raises `NotAllowed` when ``by`` is not an active manager and `UnknownStaff` when
        ``number`` is unknown; both are audited. Authenticating ``by`` is the caller's job.
        """
        _require_aware(now)
        with immediate_transaction(self._db):
            outcome = self._clear_lockout(number, by)
            audit.record(self._db, at=now, action="staff.clear_lockout", outcome=outcome,
                         staff_number=by, detail={"staff": number})
        if outcome == "not_allowed":
            raise NotAllowed(f"staff {by} is not an active manager and cannot clear lockouts")
        if outcome == "unknown_staff":
            raise UnknownStaff(number)

    def _clear_lockout(self, number: int, by: int) -> str:
        if not self._is_active_manager(by):
            return "not_allowed"
        cursor = self._db.execute(
            "UPDATE staff SET failed_attempts = 0, locked_until = NULL, lockouts = 0 "
            "WHERE number = ?",
            [number],
        )
        return "ok" if cursor.rowcount == 1 else "unknown_staff"

    def set_active(self, number: int, active: bool, *, by: int, now: datetime) -> None:
        """Deactivate (or reactivate) a staff member; ``by`` must be an active manager.

        An inactive staff member keeps their history but every PIN check answers ``inactive``.
        """
        _require_aware(now)
        with immediate_transaction(self._db):
            if not self._is_active_manager(by):
                outcome = "not_allowed"
            else:
                cursor = self._db.execute(
                    "UPDATE staff SET active = ? WHERE number = ?", [int(active), number]
                )
                outcome = "ok" if cursor.rowcount == 1 else "unknown_staff"
            audit.record(self._db, at=now, action="staff.set_active", outcome=outcome,
                         staff_number=by, detail={"staff": number, "active": active})
        if outcome == "not_allowed":
            raise NotAllowed(f"staff {by} is not an active manager and cannot change staff")
        if outcome == "unknown_staff":
            raise UnknownStaff(number)

    def _is_active_manager(self, number: int) -> bool:
        row = self._row(number)
        return row is not None and bool(row.active) and row.role == StaffRole.MANAGER

    def _row(self, number: int) -> _StaffRow | None:
        found = self._db.conn.execute(
            f"SELECT {_STAFF_COLUMNS} FROM staff WHERE number = ?", [number]
        ).fetchone()
        return None if found is None else _StaffRow(*found)

    def list(self) -> builtins.list[StaffMember]:
        """Return every staff member, active or not, by number."""
        rows = self._db.conn.execute(f"SELECT {_STAFF_COLUMNS} FROM staff ORDER BY number")
        return [_StaffRow(*found).member() for found in rows]
