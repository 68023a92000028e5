"""Reading a paid sale, or one of its refunds, from the database into a printable receipt.

Everything printed comes from what the sale stored when it was paid: its lines, its totals and
the card-present details the payment recorded (``payment_attempts.card``). Printing and
reprinting therefore never call Stripe. Times are stored in UTC and printed in the shop's time
zone; the tax breakdown is recomputed exactly from the stored lines and their stored rates,
one entry per rate.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from babel.numbers import format_decimal
from sqlite_utils import Database

from kiosk.config import Settings
from kiosk.core.receipt import (
    CardDetails,
    Receipt,
    ReceiptLine,
    ReceiptMark,
    TaxLine,
    brand_name,
    entry_method_word,
)
from kiosk.core.shop_rules import TaxClass, TaxMode, TaxPolicy
from kiosk.core.tax import TaxableLine, compute_totals
from kiosk.core.timestamps import parse_utc_iso
from kiosk.store.db import Refusal

FOOTER = ("Thank you for shopping with us!", "Please keep this receipt.")
"""The lines printed at the bottom of every receipt."""

_SLIP_STATES = ("submitted", "succeeded")


class ReceiptUnavailable(Refusal):
    """No receipt can be printed: ``reason`` is ``unknown_sale``, ``not_paid``,
    ``unknown_refund`` or ``refund_not_accepted``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def _rate(text: str) -> Decimal:
    try:
        return Decimal(text) if text else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _rate_label(rate: Decimal, labels: Sequence[str], locale: str) -> str:
    for label in labels:
        if label:
            return label
    return f"VAT {format_decimal(rate * 100, format='0.##', locale=locale)}%"


def _taxes(
    rows: Sequence[tuple[Any, ...]], settings: Settings
) -> tuple[tuple[TaxLine, ...], dict[str, str]]:
    """Return the tax lines per rate (highest rate first) and the label of each tax class."""
    rates: dict[str, Decimal] = {}
    for row in rows:
        rates.setdefault(row[5], _rate(row[6]))
    configured = settings.tax_policy()
    policy = TaxPolicy(
        classes={
            code: TaxClass(code=code, rate=rate) for code, rate in sorted(
                rates.items(), key=lambda item: (-item[1], item[0])
            )
        },
        mode=TaxMode(configured.mode),
        rounding=configured.rounding,
        rounding_mode=configured.rounding_mode,
    )
    totals = compute_totals([TaxableLine(row[7], row[5]) for row in rows], policy)
    by_rate: dict[Decimal, list[int]] = {}
    classes_by_rate: dict[Decimal, list[str]] = {}
    for entry in totals.breakdown:
        sums = by_rate.setdefault(entry.rate, [0, 0, 0])
        sums[0] += entry.net_minor
        sums[1] += entry.tax_minor
        sums[2] += entry.gross_minor
        classes_by_rate.setdefault(entry.rate, []).append(entry.tax_class)
    taxes: list[TaxLine] = []
    label_of_class: dict[str, str] = {}
    for rate, (net, tax, gross) in by_rate.items():
        codes = classes_by_rate[rate]
        labels = [
            configured.classes[code].label if code in configured.classes else ""
            for code in codes
        ]
        label = _rate_label(rate, labels, settings.shop.locale)
        taxes.append(TaxLine(label, rate, net, tax, gross))
        label_of_class.update((code, label) for code in codes)
    return tuple(taxes), label_of_class


def _card(text: str | None) -> CardDetails | None:
    if not text:
        return None
    stored: dict[str, Any] = json.loads(text)
    emv: dict[str, Any] = stored.get("receipt") or {}
    return CardDetails(
        brand=brand_name(str(stored.get("brand") or "")),
        last4=str(stored.get("last4") or ""),
        entry_method=entry_method_word(str(stored.get("read_method") or "")),
        application_name=str(emv.get("application_preferred_name") or ""),
        application_id=str(emv.get("dedicated_file_name") or ""),
        authorisation_code=str(emv.get("authorization_code") or ""),
    )


def _paid_sale(db: Database, sale_id: str) -> tuple[Any, ...]:
    sale = db.execute(
        "SELECT s.number, s.kiosk_id, s.state, s.currency, s.created_at, s.closed_at, "
        "s.total_minor, a.card, a.paid_at FROM sales s "
        "LEFT JOIN payment_attempts a ON a.sale_id = s.id AND a.state = 'paid' "
        "WHERE s.id = ?",
        [sale_id],
    ).fetchone()
    if sale is None:
        raise ReceiptUnavailable("unknown_sale", sale_id)
    if sale[2] != "paid":
        raise ReceiptUnavailable("not_paid", f"sale {sale_id} is {sale[2]}")
    return tuple(sale)


def receipt_for_sale(
    db: Database, sale_id: str, settings: Settings, *, mark: str = ""
) -> Receipt:
    """Return the receipt of the paid sale ``sale_id``, marked ``mark`` ("", "REPRINT" or
    "COPY"). Raises :class:`ReceiptUnavailable` if the sale is unknown or not paid."""
    (number, kiosk_id, _, currency, created_at, closed_at, total, card,
     paid_at) = _paid_sale(db, sale_id)
    rows = db.execute(
        "SELECT position, name, quantity, unit_price_minor, weight_g, tax_class, tax_rate, "
        "line_total_minor FROM sale_lines WHERE sale_id = ? ORDER BY position",
        [sale_id],
    ).fetchall()
    taxes, label_of_class = _taxes(rows, settings)
    lines = tuple(
        ReceiptLine(
            name=row[1],
            quantity=row[2],
            unit_price_minor=row[3],
            weight_g=row[4],
            amount_minor=row[7],
            tax_label=label_of_class.get(row[5], ""),
        )
        for row in rows
    )
    shop = settings.shop
    return Receipt(
        kind="sale",
        shop_name=shop.name,
        address=shop.address,
        sale_id=sale_id,
        sale_number=number,
        kiosk_id=kiosk_id,
        at_local=parse_utc_iso(paid_at or closed_at or created_at).astimezone(shop.zone()),
        currency=currency,
        locale=shop.locale,
        lines=lines,
        taxes=taxes,
        total_minor=total,
        card=_card(card),
        mark=cast(ReceiptMark, mark),
        footer=FOOTER,
    )


def refund_slip_for(
    db: Database, refund_id: str, settings: Settings, *, mark: str = ""
) -> Receipt:
    """Return the refund slip of refund ``refund_id``: the refunded amount, the sale it belongs
    to and the card the money goes back to. Raises :class:`ReceiptUnavailable` if the refund is
    unknown or Stripe has not accepted it (still ``requested``, or ``failed``)."""
    refund = db.execute(
        "SELECT sale_id, amount_minor, state, created_at FROM refunds WHERE id = ?",
        [refund_id],
    ).fetchone()
    if refund is None:
        raise ReceiptUnavailable("unknown_refund", refund_id)
    sale_id, amount, state, refunded_at = refund
    if state not in _SLIP_STATES:
        raise ReceiptUnavailable("refund_not_accepted", f"refund {refund_id} is {state}")
    (number, kiosk_id, _, currency, _, _, total, card, _) = _paid_sale(db, sale_id)
    shop = settings.shop
    return Receipt(
        kind="refund",
        shop_name=shop.name,
        address=shop.address,
        sale_id=sale_id,
        sale_number=number,
        kiosk_id=kiosk_id,
        at_local=parse_utc_iso(refunded_at).astimezone(shop.zone()),
        currency=currency,
        locale=shop.locale,
        lines=(),
        taxes=(),
        total_minor=total,
        card=_card(card),
        refund_minor=amount,
        mark=cast(ReceiptMark, mark),
        footer=FOOTER,
    )
