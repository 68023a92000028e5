"""Card facts the kiosk needs before any Stripe code is loaded: the minimum charge per
currency and the demo's test cards. Kept apart from ``kiosk.payment_setup`` so the facade
can check an amount, or the demo panel name a card, without importing stripe at start-up.
"""

from __future__ import annotations

DEMO_CARDS: dict[str, str] = {
    "approved": "4242424242424242",
    "declined": "4000000000000002",
    "insufficient_funds": "4000000000009995",
}
"""The test cards the demo's simulated customer can tap, by kind: approved, declined
(``generic_decline``), declined for ``insufficient_funds``."""

DEMO_CARD_DEFAULT = "approved"
"""The card the embedded emulator's customer taps until the demo panel picks another."""

CARD_MINIMUM_MINOR = {
    "AUD": 50, "CAD": 50, "CHF": 50, "CZK": 1500, "DKK": 250, "EUR": 50, "GBP": 30,
    "HKD": 400, "JPY": 50, "NOK": 300, "NZD": 50, "PLN": 200, "SEK": 300, "SGD": 50,
    "USD": 50,
}
"""Stripe's minimum charge per currency, in minor units (its "minimum charge amount" table);
a currency not listed is assumed to allow 1 minor unit and Stripe has the last word."""


def card_minimum_minor(currency: str) -> int:
    """The smallest amount a card payment may take in ``currency``, in minor units."""
    return CARD_MINIMUM_MINOR.get(currency.upper(), 1)


def demo_card_number(kind: str) -> str:
    """The test card number of the demo card ``kind``; ``ValueError`` for an unknown kind."""
    try:
        return DEMO_CARDS[kind]
    except KeyError:
        raise ValueError(
            f"unknown demo card {kind!r}; expected one of {sorted(DEMO_CARDS)}"
        ) from None
