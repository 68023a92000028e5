"""What a recovery pass reports, whatever the card provider: the sales it settled, those
still in doubt, money found without a sale. The facade, the staff menu and ``kiosk
reconcile`` read these; a provider's recovery fills them in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class RecoveryReport:
    """What one recovery pass did.

    ``checked``: local attempts looked at. ``resolved``: sale id -> the state it settled in.
    ``unresolved``: sales still in doubt (staff are told). ``paid``: sales recorded paid by
    this pass. ``adopted``: PaymentIntent ids found at Stripe and tied to their sale.
    ``cancelled``: PaymentIntent ids cancelled. ``anomalies``: what staff must check (money
    taken with no sale, a sale paid twice). ``foreign``: PaymentIntents of other installs
    (reported, never touched). ``refunds``: refund id -> state settled. ``errors``: what failed.
    ``timed_out``: the time budget ran out before everything was looked at.
    """

    checked: int = 0
    resolved: dict[str, str] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)
    paid: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    captured: list[str] = field(default_factory=list)
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    refunds: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    timed_out: bool = False

    @property
    def settled(self) -> bool:
        """True when nothing is left in doubt."""
        return not self.unresolved and not self.timed_out


@dataclass
class ReconcileReport(RecoveryReport):
    """What ``kiosk reconcile`` checked, found and fixed since ``since`` (UTC).

    ``intents_checked``: PaymentIntents listed at Stripe since then; ``ours``: those carrying
    this database's install id.
    """

    since: datetime | None = None
    intents_checked: int = 0
    ours: int = 0
