"""The receipt model: everything printed on a sale receipt or a refund slip, already decided.

A :class:`Receipt` holds no database rows and no settings: it is built once from what the
sale stored when it was paid (see :mod:`kiosk.store.receipts`) and the renderers only lay it
out. Amounts are integers in the currency's minor units (cents); weights are grams; the time
is aware and already in the shop's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

ReceiptKind = Literal["sale", "refund"]
ReceiptMark = Literal["", "REPRINT", "COPY"]
RECEIPT_MARKS: tuple[ReceiptMark, ...] = ("", "REPRINT", "COPY")

_ENTRY_METHODS = {
    "contactless_emv": "Contactless",
    "contactless_magstripe_mode": "Contactless",
    "contact_emv": "Chip",
    "magnetic_stripe_fallback": "Swipe",
    "magnetic_stripe_track2": "Swipe",
}

_BRANDS = {
    "amex": "American Express",
    "diners": "Diners Club",
    "discover": "Discover",
    "eftpos_au": "eftpos",
    "interac": "Interac",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


@dataclass(frozen=True)
class ReceiptLine:
    """One printed sale line.

    ``quantity`` is a count of items (1 for a weighed line); ``unit_price_minor`` is the price
    of one item, or of one kilogram when ``weight_g`` (grams) is set; ``amount_minor`` is what
    the line costs; ``tax_label`` names the :class:`TaxLine` the line belongs to.
    """

    name: str
    quantity: int
    unit_price_minor: int
    weight_g: int | None
    amount_minor: int
    tax_label: str


@dataclass(frozen=True)
class TaxLine:
    """The tax of one rate on the receipt, in minor units: ``net_minor + tax_minor ==
    gross_minor``. ``rate`` is a fraction (``Decimal("0.23")`` for 23 %)."""

    label: str
    rate: Decimal
    net_minor: int
    tax_minor: int
    gross_minor: int


@dataclass(frozen=True)
class CardDetails:
    """The card-present details a receipt must carry, as stored when the sale was paid.

    ``brand`` is the printable brand ("Visa"), ``last4`` the last four digits of the card,
    ``entry_method`` a printable word ("Contactless", "Chip", "Swipe"), ``application_id`` the
    EMV AID ("A0000000031010"), ``authorisation_code`` the issuer's approval code. Fields the
    payment did not report are empty strings.
    """

    brand: str
    last4: str
    entry_method: str
    application_name: str
    application_id: str
    authorisation_code: str


@dataclass(frozen=True)
class Receipt:
    """A sale receipt (``kind="sale"``) or a refund slip (``kind="refund"``).

    ``at_local`` is aware, in the shop's time zone: the time of payment (sale) or of the
    refund. ``total_minor`` is what the sale cost; ``refund_minor`` what a refund slip gives
    back (``None`` on a sale receipt), both in minor units. ``mark`` is printed as a banner:
    ``"REPRINT"`` when a failed print job is printed again whole, ``"COPY"`` on every reprint.
    """

    kind: ReceiptKind
    shop_name: str
    address: tuple[str, ...]
    sale_id: str
    sale_number: int
    kiosk_id: str
    at_local: datetime
    currency: str
    locale: str
    lines: tuple[ReceiptLine, ...]
    taxes: tuple[TaxLine, ...]
    total_minor: int
    card: CardDetails | None
    refund_minor: int | None = None
    mark: ReceiptMark = ""
    footer: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.at_local.tzinfo is None or self.at_local.utcoffset() is None:
            raise ValueError("a receipt's time must be aware, in the shop's time zone")
        if self.mark not in RECEIPT_MARKS:
            raise ValueError(f"unknown receipt mark {self.mark!r}")
        if (self.kind == "refund") != (self.refund_minor is not None):
            raise ValueError("refund_minor is set on refund slips only, and always on them")


def entry_method_word(read_method: str) -> str:
    """Return the printable word for Stripe's ``read_method``: ``contactless_emv`` is
    "Contactless", ``contact_emv`` "Chip", ``magnetic_stripe_*`` "Swipe"."""
    if read_method in _ENTRY_METHODS:
        return _ENTRY_METHODS[read_method]
    if read_method.startswith("magnetic_stripe"):
        return "Swipe"
    return read_method.replace("_", " ").capitalize()


def brand_name(brand: str) -> str:
    """Return the printable card brand for Stripe's brand code (``visa`` is "Visa")."""
    return _BRANDS.get(brand, brand.replace("_", " ").title())
