"""The customer's e-receipt as a web page: plain HTML, readable on a phone, built from the
stored ``sale.paid`` event and the sale's ``refund.succeeded`` events.

Every value from an event is escaped. The card shows as its brand and last four digits only,
whatever else the kiosk sent. Amounts are formatted from minor units and the sale's currency in
the sale's language (the words are English). Pure: events in, text out.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

from babel.core import UnknownLocaleError

from kiosk.core.money import format_money
from kiosk.core.receipt import brand_name

REFRESH_S = 5
"""Seconds between reloads of the "on its way" page."""

_LAST4 = re.compile(r"^\d{4}$")
_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
       max-width: 32rem; padding: 1rem; line-height: 1.45; color: #111; background: #fff; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .25rem; }
table { width: 100%; border-collapse: collapse; }
td { padding: .3rem 0; vertical-align: top; }
td.amount { text-align: right; white-space: nowrap; padding-left: 1rem; }
tr.total td { font-weight: bold; font-size: 1.15rem; border-top: 2px solid #111; }
tr.sum td { border-top: 1px solid #bbb; }
.muted { color: #555; font-size: .9rem; }
"""


def receipt_page(sale_paid: Mapping[str, Any], refunds: Sequence[Mapping[str, Any]]) -> str:
    """The receipt page of a sale from the payload of its ``sale.paid`` event and the payloads
    of its ``refund.succeeded`` events (oldest first)."""
    sale = _mapping(sale_paid.get("sale"))
    totals = _mapping(sale_paid.get("totals"))
    payment = _mapping(sale_paid.get("payment"))
    currency = str(sale.get("currency") or payment.get("currency") or "").upper()
    locale = str(sale.get("language") or "en")
    money = _MoneyText(currency, locale)
    number = _text(sale.get("number"))
    heading = f"Receipt {number}" if number else "Receipt"
    parts = [
        f"<h1>{_e(heading)}</h1>",
        f'<p class="muted">{_e(_stamp(sale.get("paid_at")))}'
        + (f" · kiosk {_e(sale.get('kiosk_id'))}" if sale.get("kiosk_id") else "")
        + "</p>",
        "<table>",
    ]
    lines = sale_paid.get("lines")
    for line in lines if isinstance(lines, list) else []:
        parts.append(_line_row(_mapping(line), money))
    subtotal, tax = _minor(totals.get("subtotal_minor")), _minor(totals.get("tax_minor"))
    total = _minor(totals.get("total_minor"))
    inclusive = subtotal is None or subtotal == total  # prices with tax in them
    if not inclusive and subtotal is not None:
        parts.append(_row("Subtotal", money(subtotal), "sum"))
        if tax is not None:
            parts.append(_row("Tax", money(tax)))
    if total is not None:
        parts.append(_row("Total", money(total), "total"))
    if inclusive and tax is not None:
        parts.append(_row("Tax included", money(tax), "muted"))
    parts.append("</table>")
    parts.append(f"<p>{_e(_card_words(payment))}</p>")
    if refunds:
        parts.append("<h2>Refunds</h2><table>")
        refunded = 0
        for refund in refunds:
            amount = _minor(refund.get("amount_minor")) or 0
            refunded += amount
            parts.append(_row(f"Refunded {_stamp(refund.get('succeeded_at'))}", money(-amount)))
        parts.append(_row("Refunded in total", money(refunded), "sum"))
        if total is not None:
            parts.append(_row("Paid after refunds", money(total - refunded), "total"))
        parts.append("</table>")
    parts.append(f'<p class="muted">Sale {_e(sale.get("id"))}</p>')
    return _page(heading, "\n".join(parts))


def pending_page(sale_id: str) -> str:
    """The page for a well-formed sale id the back office has not received yet: the kiosk
    is still sending it, so the page reloads itself every ``REFRESH_S`` seconds."""
    body = (
        "<h1>Your receipt is on its way</h1>"
        "<p>The kiosk is still sending it to us. This page refreshes by itself; "
        "you can also come back to it later.</p>"
        f'<p class="muted">Sale {_e(sale_id)}</p>'
    )
    return _page("Your receipt is on its way", body, refresh_s=REFRESH_S)


def not_found_page() -> str:
    """The page for an address that is not a receipt's (no sale id in it)."""
    body = (
        "<h1>No receipt here</h1>"
        "<p>This address is not a receipt's. Scan the QR code on the kiosk's screen again.</p>"
    )
    return _page("No receipt here", body)


def error_page() -> str:
    """The page shown when the back office cannot show a receipt right now."""
    body = "<h1>Receipt not available</h1><p>Please try again in a minute.</p>"
    return _page("Receipt not available", body, refresh_s=30)


def _page(title: str, body: str, *, refresh_s: int | None = None) -> str:
    refresh = (
        f'<meta http-equiv="refresh" content="{refresh_s}">\n' if refresh_s is not None else ""
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"{refresh}<title>{_e(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


class _MoneyText:
    """Formats minor units in one currency and locale; falls back to English, then to plain
    digits when the currency is unknown."""

    def __init__(self, currency: str, locale: str) -> None:
        self.currency = currency
        self.locale = locale.replace("-", "_")

    def __call__(self, minor: int) -> str:
        for locale in (self.locale, "en"):
            try:
                return format_money(minor, self.currency, locale)
            except (UnknownLocaleError, ValueError, TypeError):  # MoneyError is a ValueError
                continue
        return f"{minor} {self.currency} (minor units)"


def _line_row(line: Mapping[str, Any], money: _MoneyText) -> str:
    name = _text(line.get("name")) or _text(line.get("code"))
    quantity = _minor(line.get("quantity")) or 1
    weight_g = _minor(line.get("weight_g"))
    unit = _minor(line.get("unit_price_minor"))
    if weight_g:
        detail = f"{weight_g / 1000:.3f} kg"
    elif quantity != 1 and unit is not None:
        detail = f"{quantity} × {money(unit)}"
    else:
        detail = ""
    line_total = _minor(line.get("line_total_minor"))
    label = _e(name) + (f'<br><span class="muted">{_e(detail)}</span>' if detail else "")
    amount = money(line_total) if line_total is not None else ""
    return f'<tr><td>{label}</td><td class="amount">{_e(amount)}</td></tr>'


def _row(label: str, amount: str, kind: str = "") -> str:
    css = f' class="{kind}"' if kind else ""
    return f'<tr{css}><td>{_e(label)}</td><td class="amount">{_e(amount)}</td></tr>'


def _card_words(payment: Mapping[str, Any]) -> str:
    """"Paid by card: Visa •••• 4242" from the card's brand and last four digits only."""
    card = _mapping(payment.get("card"))
    brand = card.get("brand")
    last4 = card.get("last4")
    words = "Paid by card"
    if isinstance(brand, str) and brand:
        words += f": {brand_name(brand)}"
    if isinstance(last4, str) and _LAST4.match(last4):
        words += f" •••• {last4}"
    return words


def _stamp(value: Any) -> str:
    """``2026-11-26T12:00:05.123456Z`` as ``2026-11-26 12:00 UTC``; anything else as text."""
    text = _text(value)
    if len(text) >= 16 and text.endswith("Z") and text[10] == "T":
        return f"{text[:10]} {text[11:16]} UTC"
    return text


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _minor(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _e(value: Any) -> str:
    return html.escape(_text(value), quote=True)
