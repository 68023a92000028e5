"""The sales book: open sales and their cart lines, as the facade persists them.

A sale row is written when the first item is scanned (with its per-kiosk sale number), its
lines are rewritten whole on every cart change, and it is closed as abandoned when the
customer walks away. Payment states belong to the payment layer (``kiosk.payments``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from kiosk.core.cart import CartLine
from kiosk.core.shop_rules import TaxPolicy
from kiosk.core.tax import Totals
from kiosk.core.timestamps import parse_utc_iso, utc_now_iso
from kiosk.store.db import immediate_transaction


@dataclass(frozen=True)
class OpenSale:
    """A sale still open in the database: its id, number, last change (UTC) and lines."""

    sale_id: str
    number: int
    updated_at: datetime
    lines: tuple[CartLine, ...]
    age_approved_by: int | None


class SaleBook:
    """Reads and writes sales and sale lines on one connection (one thread)."""

    def __init__(self, db: Database, kiosk_id: str) -> None:
        self.db = db
        self.kiosk_id = kiosk_id

    def open_sale(self, sale_id: str, *, at: datetime, currency: str, language: str) -> int:
        """Record a new open sale and return its per-kiosk sale number (1, 2, ...).

        Idempotent: recording a sale id that is already there returns its number.
        """
        stamp = utc_now_iso(at)
        with immediate_transaction(self.db):
            existing = self.db.execute(
                "SELECT number FROM sales WHERE id = ?", [sale_id]
            ).fetchone()
            if existing is not None:
                return int(existing[0])
            self.db.execute(
                "INSERT INTO sale_numbers (kiosk_id, last_number) VALUES (?, 1) "
                "ON CONFLICT (kiosk_id) DO UPDATE SET last_number = last_number + 1",
                [self.kiosk_id],
            )
            (number,) = self.db.execute(
                "SELECT last_number FROM sale_numbers WHERE kiosk_id = ?", [self.kiosk_id]
            ).fetchone()
            self.db.execute(
                "INSERT INTO sales (id, number, kiosk_id, state, currency, language, "
                "created_at, updated_at) VALUES (?, ?, ?, 'open', ?, ?, ?, ?)",
                [sale_id, number, self.kiosk_id, currency, language, stamp, stamp],
            )
        return int(number)

    def save_cart(
        self,
        sale_id: str,
        lines: tuple[CartLine, ...],
        totals: Totals,
        policy: TaxPolicy,
        *,
        at: datetime,
    ) -> None:
        """Replace the open sale's lines and totals with the cart's, in one transaction.

        Writing the whole cart (at most ``max_lines`` rows) keeps the stored sale complete even
        after an earlier write failed.
        """
        rows = [
            (
                sale_id,
                line.line_id,
                line.code,
                line.name,
                line.quantity,
                line.unit_price_minor,
                line.weight_g,
                line.tax_class,
                str(policy.classes[line.tax_class].rate) if line.tax_class in policy.classes
                else "",
                line.amount_minor,
                line.min_age,
            )
            for line in lines
        ]
        with self.db.atomic():
            self._require_open(sale_id)
            self.db.execute("DELETE FROM sale_lines WHERE sale_id = ?", [sale_id])
            self.db.conn.executemany(
                "INSERT INTO sale_lines (sale_id, position, code, name, quantity, "
                "unit_price_minor, weight_g, tax_class, tax_rate, line_total_minor, min_age) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            self.db.execute(
                "UPDATE sales SET subtotal_minor = ?, tax_minor = ?, total_minor = ?, "
                "updated_at = ? WHERE id = ?",
                [totals.subtotal_minor, totals.tax_minor, totals.total_minor, utc_now_iso(at),
                 sale_id],
            )

    def approve_age(self, sale_id: str, staff_number: int, *, at: datetime) -> None:
        """Record which staff member checked the customer's age for this sale."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE sales SET age_approved_by = ?, updated_at = ? WHERE id = ?",
                [staff_number, utc_now_iso(at), sale_id],
            )

    def abandon(self, sale_id: str, reason: str, *, at: datetime) -> None:
        """Close an open sale as abandoned for ``reason``; a closed sale is left as it is."""
        stamp = utc_now_iso(at)
        with self.db.atomic():
            self.db.execute(
                "UPDATE sales SET state = 'abandoned', close_reason = ?, closed_at = ?, "
                "updated_at = ? WHERE id = ? AND state = 'open'",
                [reason, stamp, stamp, sale_id],
            )

    def open_sales(self) -> list[OpenSale]:
        """Every sale of this kiosk still open, newest change first, with its lines."""
        sales = self.db.execute(
            "SELECT id, number, updated_at, age_approved_by FROM sales "
            "WHERE state = 'open' AND kiosk_id = ? ORDER BY updated_at DESC, number DESC",
            [self.kiosk_id],
        ).fetchall()
        return [
            OpenSale(
                sale_id=sale_id,
                number=number,
                updated_at=parse_utc_iso(updated_at),
                lines=self.lines(sale_id),
                age_approved_by=approved_by,
            )
            for sale_id, number, updated_at, approved_by in sales
        ]

    def lines(self, sale_id: str) -> tuple[CartLine, ...]:
        """The stored lines of a sale, in line order."""
        rows = self.db.execute(
            "SELECT position, code, name, quantity, unit_price_minor, weight_g, tax_class, "
            "min_age, line_total_minor FROM sale_lines WHERE sale_id = ? ORDER BY position",
            [sale_id],
        ).fetchall()
        return tuple(
            CartLine(
                line_id=position,
                code=code,
                name=name,
                quantity=quantity,
                unit_price_minor=unit_price,
                weight_g=weight_g,
                tax_class=tax_class,
                min_age=min_age,
                amount_minor=amount,
            )
            for position, code, name, quantity, unit_price, weight_g, tax_class, min_age, amount
            in rows
        )

    def number_of(self, sale_id: str) -> int | None:
        """The per-kiosk number of a sale, or ``None`` if there is no such sale."""
        row = self.db.execute("SELECT number FROM sales WHERE id = ?", [sale_id]).fetchone()
        return None if row is None else int(row[0])

    def state_of(self, sale_id: str) -> str | None:
        """The stored state of a sale ('open', 'abandoned', ...), or ``None`` if unknown."""
        row = self.db.execute("SELECT state FROM sales WHERE id = ?", [sale_id]).fetchone()
        return None if row is None else str(row[0])

    def _require_open(self, sale_id: str) -> None:
        state = self.state_of(sale_id)
        if state != "open":
            raise SaleClosed(sale_id, state)


class SaleClosed(Exception):
    """A cart change arrived for a sale that is not open (closed, or never recorded)."""

    def __init__(self, sale_id: str, state: str | None) -> None:
        self.sale_id = sale_id
        self.state = state
        super().__init__(f"sale {sale_id} is {state or 'not recorded'}, not open")
