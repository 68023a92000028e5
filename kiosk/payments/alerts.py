"""What staff must see about card payments until it is dealt with (the staff menu, ``kiosk
doctor``): authorisations the provider cancelled (until a staff member acknowledges each,
`kiosk.payments.lost_authorisations`) and an orphan sweep that could not finish
(`kiosk.payments.sweep_status`). Read-only; works on any connection.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from kiosk.payments import sweep_status
from kiosk.payments.lost_authorisations import LostAuthorisation, authorisations_lost
from kiosk.payments.sweep_status import SweepStatus


@dataclass(frozen=True)
class PaymentAlerts:
    """``lost``: lost authorisations not yet acknowledged, oldest first;
    ``sweep_unfinished``: the last orphan sweep when it stopped at its page limit."""

    lost: tuple[LostAuthorisation, ...]
    sweep_unfinished: SweepStatus | None

    def __bool__(self) -> bool:
        return bool(self.lost) or self.sweep_unfinished is not None


def payment_alerts(db: Database) -> PaymentAlerts:
    """The card-payment alerts staff must see now."""
    return PaymentAlerts(
        lost=tuple(authorisations_lost(db)), sweep_unfinished=sweep_status.unfinished(db)
    )
