"""The one staff PIN check: staff sign-in to the menu and attendant approvals both use it.

The number is checked against the range a staff number can have, then the PIN on the store
worker with the lockout rules of ``kiosk.store.staff`` (that check writes its own audit row,
``staff.pin_check``); the PIN itself is never kept, logged or audited.
"""

from __future__ import annotations

from collections.abc import Callable

from kiosk.core.pins import PinOutcome
from kiosk.notices import StaffChecked
from kiosk.staff_menu.host import MenuHost
from kiosk.store.staff import PinCheck, StaffRoster

MAX_STAFF_NUMBER = 2**62
"""Staff numbers above this cannot exist (SQLite integers are 64-bit)."""


def check_staff_pin(
    host: MenuHost, staff_number: int, pin: str, then: Callable[[PinCheck], None]
) -> None:
    """Check ``staff_number`` and ``pin``; ``then(check)`` on the main thread with the answer.

    A number that cannot exist is answered at once with a ``StaffChecked`` notice (outcome
    ``unknown_staff``) and ``then`` is not called; a store failure is reported by the host's
    write and ``then`` is not called either."""
    if not 0 < staff_number <= MAX_STAFF_NUMBER:
        host.emit(StaffChecked(PinOutcome.UNKNOWN_STAFF, staff_number, None, None))
        return
    now = host.clock()
    future = host.write(
        lambda db: StaffRoster(db).check_pin(staff_number, pin, now), "check a staff PIN"
    )
    host.when_done(future, then)


def staff_checked(staff_number: int, check: PinCheck) -> StaffChecked:
    """The notice that tells the screen how a PIN check went."""
    return StaffChecked(
        outcome=check.outcome,
        staff_number=staff_number,
        tries_left=check.tries_left,
        locked_until=check.locked_until,
    )
