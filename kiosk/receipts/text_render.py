"""The receipt's layout in fixed-width columns, and its plain-text rendering.

:func:`receipt_rows` decides every printed row once (what it says, bold or tall, where a QR
code goes); the ESC/POS and PNG renderers print those same rows, so the three never disagree.
Columns are characters of the printer's font A: 48 on 80 mm paper, 32 on 58 mm paper. Money is
formatted with Babel in the receipt's locale; the time is the receipt's own (the shop's time
zone). :func:`render_text` is the plain-text form for ``kiosk receipt show`` and logs.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from babel.dates import format_datetime
from babel.numbers import format_decimal

from kiosk.core.money import format_money
from kiosk.core.receipt import Receipt, ReceiptLine

COLUMNS_BY_PAPER_MM = {80: 48, 58: 32}
"""Characters per line of font A for each paper width in millimetres."""

_TAX_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

Fit = Callable[[str], str]


def columns_for(paper_width_mm: int) -> int:
    """Return the characters per line of font A on ``paper_width_mm`` (58 or 80) paper."""
    try:
        return COLUMNS_BY_PAPER_MM[paper_width_mm]
    except KeyError:
        raise ValueError(f"paper width must be 58 or 80 mm, not {paper_width_mm}") from None


@dataclass(frozen=True)
class ReceiptRow:
    """One printed row: ``text`` padded to at most the row's width in characters.

    ``kind="qr"`` rows print ``text`` as a QR code instead; ``tall`` rows are printed double
    height (same width), ``bold`` ones emphasised.
    """

    text: str
    bold: bool = False
    tall: bool = False
    kind: Literal["text", "qr"] = "text"


def _same(text: str) -> str:
    return text


class _Layout:
    def __init__(self, receipt: Receipt, width: int, fit: Fit) -> None:
        self.receipt = receipt
        self.width = width
        self.fit = fit
        self.rows: list[ReceiptRow] = []

    def money(self, minor: int) -> str:
        return self.fit(format_money(minor, self.receipt.currency, self.receipt.locale))

    def add(self, text: str = "", *, bold: bool = False, tall: bool = False) -> None:
        self.rows.append(ReceiptRow(text.rstrip(), bold=bold, tall=tall))

    def centred(self, text: str, *, bold: bool = False, tall: bool = False) -> None:
        for part in textwrap.wrap(self.fit(text), self.width) or [""]:
            self.add(part.center(self.width), bold=bold, tall=tall)

    def rule(self, char: str = "-") -> None:
        self.add(char * self.width)

    def pair(self, left: str, right: str, *, bold: bool = False, tall: bool = False) -> None:
        """``left`` flush left and ``right`` flush right; ``left`` wraps above when both do not
        fit on one line."""
        left, right = self.fit(left), self.fit(right)
        room = self.width - len(right) - 1
        parts = textwrap.wrap(left, max(room, 1)) or [""]
        if room < 1 or len(parts[-1]) > room:
            for part in textwrap.wrap(left, self.width, break_long_words=True):
                self.add(part, bold=bold, tall=tall)
            for part in textwrap.wrap(right, self.width, break_long_words=True):
                self.add(part.rjust(self.width), bold=bold, tall=tall)
            return
        for part in parts[:-1]:
            self.add(part, bold=bold, tall=tall)
        self.add(parts[-1].ljust(room) + " " + right, bold=bold, tall=tall)

    def wrapped(self, text: str, indent: str = "") -> None:
        for part in textwrap.wrap(
            self.fit(text), self.width, subsequent_indent=indent, break_long_words=True
        ):
            self.add(part)


def _tax_letters(receipt: Receipt) -> dict[str, str]:
    return {tax.label: _TAX_LETTERS[i % 26] for i, tax in enumerate(receipt.taxes)}


def _weight_kg(weight_g: int, locale: str) -> str:
    return f"{format_decimal(Decimal(weight_g).scaleb(-3), format='0.000', locale=locale)} kg"


def _line(layout: _Layout, line: ReceiptLine, letter: str) -> None:
    locale = layout.receipt.locale
    right = f"{layout.money(line.amount_minor)} {letter}".rstrip()
    layout.pair(line.name, right)
    if line.weight_g is not None:
        detail = (
            f"{_weight_kg(line.weight_g, locale)} x {layout.money(line.unit_price_minor)}/kg"
        )
        layout.wrapped("  " + detail, indent="    ")
    elif line.quantity != 1:
        layout.wrapped(f"  {line.quantity} x {layout.money(line.unit_price_minor)}", "    ")


def _tax_table(layout: _Layout, letters: dict[str, str]) -> None:
    receipt = layout.receipt
    header = ["", "Net", "Tax", "Gross"]
    body = [
        [
            f"{letters[tax.label]} {layout.fit(tax.label)}",
            layout.money(tax.net_minor),
            layout.money(tax.tax_minor),
            layout.money(tax.gross_minor),
        ]
        for tax in receipt.taxes
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(4)]
    if sum(widths) + 3 <= layout.width:
        first = layout.width - sum(widths[1:]) - 3
        for row in [header, *body]:
            cells = [row[0].ljust(first)] + [row[i].rjust(widths[i]) for i in (1, 2, 3)]
            layout.add(" ".join(cells))
        return
    for tax, row in zip(receipt.taxes, body, strict=True):
        layout.pair(row[0], f"Tax {layout.money(tax.tax_minor)}")
        layout.pair("", f"Net {row[1]}  Gross {row[3]}")


def _card(layout: _Layout) -> None:
    card = layout.receipt.card
    if card is None:
        return
    layout.pair(card.brand or "Card", f"**** {card.last4}" if card.last4 else "")
    if card.entry_method:
        layout.pair("Entry", card.entry_method)
    if card.application_name:
        layout.pair("Application", card.application_name)
    if card.application_id:
        layout.pair("AID", card.application_id)
    if card.authorisation_code:
        layout.pair("Auth. code", card.authorisation_code)


def receipt_rows(receipt: Receipt, *, width_chars: int, fit: Fit = _same) -> tuple[ReceiptRow, ...]:
    """Lay ``receipt`` out in rows of at most ``width_chars`` characters.

    ``fit`` rewrites every piece of text before it is measured (the ESC/POS renderer passes its
    code page transliteration, so wrapping counts the characters that are really printed).
    """
    layout = _Layout(receipt, width_chars, fit)
    letters = _tax_letters(receipt)
    if receipt.mark:
        layout.centred(f"*** {receipt.mark} ***", bold=True, tall=True)
        layout.add()
    layout.centred(receipt.shop_name, bold=True, tall=True)
    for address_line in receipt.address:
        layout.centred(address_line)
    layout.add()
    if receipt.kind == "refund":
        layout.centred("REFUND", bold=True, tall=True)
        layout.add()
    layout.pair(f"Sale no. {receipt.sale_number}", f"Kiosk {receipt.kiosk_id}")
    layout.add(fit(format_datetime(receipt.at_local, "medium", locale=receipt.locale)))
    layout.wrapped(f"Sale id {receipt.sale_id}")
    layout.rule()
    if receipt.kind == "sale":
        for line in receipt.lines:
            _line(layout, line, letters.get(line.tax_label, ""))
        layout.rule()
        layout.pair("TOTAL", layout.money(receipt.total_minor), bold=True, tall=True)
        layout.add()
        if receipt.taxes:
            _tax_table(layout, letters)
            layout.add()
        if receipt.card is not None:
            layout.pair("Paid by card", layout.money(receipt.total_minor), bold=True)
    else:
        assert receipt.refund_minor is not None
        layout.pair("Sale total", layout.money(receipt.total_minor))
        layout.pair("REFUND", layout.money(receipt.refund_minor), bold=True, tall=True)
        layout.add()
        if receipt.card is not None:
            layout.add("Refunded to card", bold=True)
    _card(layout)
    layout.add()
    layout.rows.append(ReceiptRow(receipt.sale_id, kind="qr"))
    layout.add()
    for footer_line in receipt.footer:
        layout.centred(footer_line)
    if receipt.mark:
        layout.add()
        layout.centred(f"*** {receipt.mark} ***", bold=True, tall=True)
    return tuple(layout.rows)


def render_text(receipt: Receipt, *, width_chars: int) -> str:
    """Return ``receipt`` as plain text, no line longer than ``width_chars`` characters.

    The QR code of the sale id is left out (the id itself is printed above it).
    """
    rows = receipt_rows(receipt, width_chars=width_chars)
    return "\n".join(row.text for row in rows if row.kind == "text") + "\n"
