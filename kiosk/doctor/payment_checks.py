"""The doctor's card-payment row: what staff must deal with that payment recovery found.

A lost authorisation (cancelled at the provider; the sale ended abandoned) until a staff
member acknowledged it in the staff menu, and an orphan sweep that stopped at its page limit
(older PaymentIntents of this install were not looked at: run ``kiosk reconcile``). Read from
the database, read-only; nothing is asked of the provider here.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from kiosk.doctor.result import CheckResult, passed, warned
from kiosk.doctor.storage_checks import read_only
from kiosk.payments.alerts import payment_alerts

if TYPE_CHECKING:
    from kiosk.doctor.context import DoctorContext

PAYMENTS = "card payments"


def check_payment_alerts(context: DoctorContext) -> CheckResult | None:
    """Lost authorisations not acknowledged and an unfinished orphan sweep; ``None`` without
    a readable database (the database row says why)."""
    if not context.database.exists():
        return None
    try:
        with read_only(context.database) as db:
            alerts = payment_alerts(db)
    except sqlite3.Error:
        return None
    if not alerts:
        return passed(PAYMENTS, "no lost authorisation; the last orphan sweep finished")
    problems: list[str] = []
    hints: list[str] = []
    if alerts.lost:
        total = sum(lost.amount_minor for lost in alerts.lost)
        problems.append(
            f"{len(alerts.lost)} authorisation(s) cancelled at the provider "
            f"({total} minor units), sale(s) ended abandoned"
        )
        hints.append("Staff menu, payments: acknowledge each after checking with the customer.")
    if alerts.sweep_unfinished is not None:
        sweep = alerts.sweep_unfinished
        problems.append(
            f"the orphan sweep stopped after {sweep.pages} page(s) at {sweep.at} "
            f"(window from {sweep.since}): older PaymentIntents not looked at"
        )
        hints.append("Run `kiosk reconcile` to compare every PaymentIntent.")
    return warned(PAYMENTS, "; ".join(problems), " ".join(hints))
