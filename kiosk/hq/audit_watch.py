"""The back office's watch over each kiosk's audit chain, and the alerts it raises.

A kiosk's ``audit.recorded`` events carry ``prev_hash`` and ``chain_hash`` once its audit
log is sealed (``kiosk.store.audit_chain`` on the kiosk). The back office holds no audit key,
so it cannot recompute a hash; it checks what it can, as each batch is stored: that every
row follows the last one it holds for that kiosk (``audit_id`` one higher: no gap) and names
that row's hash as its ``prev_hash`` (no row changed, inserted or deleted in between, and no
older copy of the database restored). A row that breaks either raises an alert; so does a
row without a hash after the chain started (written without the key), and a
``staff.locked_out`` event. Alerts are stored with the events, in the batch's transaction,
and listed by ``kiosk hq alerts``.

``follow`` is the pure rule; the stores keep each kiosk's head (last audit id and hash) and
the alerts in their own tables (``kiosk.hq.sql_store``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

AUDIT_TOPIC = "audit.recorded"
LOCKOUT_TOPIC = "staff.locked_out"


@dataclass(frozen=True)
class AuditHead:
    """The newest chained audit row the back office holds of one kiosk."""

    audit_id: int
    chain_hash: str


@dataclass(frozen=True)
class Alert:
    """Something staff at the back office must look at.

    ``kind``: ``audit_chain_broken`` (a row does not follow the one before it),
    ``audit_gap`` (rows are missing), ``audit_unsealed`` (a row without a hash after the
    chain started) or ``staff_locked_out``. ``audit_id`` is the row concerned (``None`` for
    a lockout), ``detail`` says what was found."""

    kiosk_id: str
    kind: str
    audit_id: int | None
    detail: str
    raised_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The alert as a JSON-ready dict."""
        return {
            "kiosk_id": self.kiosk_id,
            "kind": self.kind,
            "audit_id": self.audit_id,
            "detail": self.detail,
            "raised_at": None if self.raised_at is None else self.raised_at.isoformat(),
        }


def follow(
    kiosk_id: str, head: AuditHead | None, events: Iterable[tuple[str, dict[str, Any]]]
) -> tuple[AuditHead | None, list[Alert]]:
    """Walk newly stored events ``(topic, payload)`` in the order they came: the kiosk's new
    head and the alerts they raise."""
    alerts: list[Alert] = []
    for topic, payload in events:
        if topic == LOCKOUT_TOPIC:
            alerts.append(Alert(kiosk_id, "staff_locked_out", None, _lockout_text(payload)))
            continue
        if topic != AUDIT_TOPIC or not isinstance(payload.get("audit_id"), int):
            continue
        audit_id, chain_hash = int(payload["audit_id"]), payload.get("chain_hash")
        if not isinstance(chain_hash, str):
            if head is not None:
                alerts.append(
                    Alert(
                        kiosk_id,
                        "audit_unsealed",
                        audit_id,
                        "the row carries no chain hash (written without the audit key)",
                    )
                )
            continue
        if head is not None:
            alert = _break(kiosk_id, head, audit_id, payload.get("prev_hash"))
            if alert is not None:
                alerts.append(alert)
        head = AuditHead(audit_id, chain_hash)
    return head, alerts


def _break(kiosk_id: str, head: AuditHead, audit_id: int, prev_hash: Any) -> Alert | None:
    if audit_id <= head.audit_id:
        return Alert(
            kiosk_id,
            "audit_chain_broken",
            audit_id,
            f"row {audit_id} arrived after row {head.audit_id} (an older copy of "
            "the kiosk's database restored?)",
        )
    if audit_id != head.audit_id + 1:
        return Alert(
            kiosk_id,
            "audit_gap",
            audit_id,
            f"rows {head.audit_id + 1} to {audit_id - 1} never arrived",
        )
    if prev_hash != head.chain_hash:
        return Alert(
            kiosk_id,
            "audit_chain_broken",
            audit_id,
            f"row {audit_id} does not follow row {head.audit_id} (a row changed, "
            "inserted or deleted on the kiosk)",
        )
    return None


def _lockout_text(payload: dict[str, Any]) -> str:
    return (
        f"staff {payload.get('staff_number')} locked out until "
        f"{payload.get('locked_until')} after {payload.get('wrong_pins')} wrong PINs"
    )


def accepted_events(
    payloads: Iterable[tuple[str, str, str]], accepted: Iterable[str]
) -> list[tuple[str, dict[str, Any]]]:
    """``(topic, payload)`` of the rows ``(event id, topic, payload JSON)`` newly stored."""
    new = set(accepted)
    return [
        (topic, json.loads(text))
        for event_id, topic, text in payloads
        if topic in (AUDIT_TOPIC, LOCKOUT_TOPIC) and event_id in new
    ]
