"""Stripe's test cards and test amounts for card-present payments, and currency minimums.

What a simulated reader does with a presented card: the card number picks the brand and may
force a decline (Stripe's documented Terminal test cards); otherwise the last two digits of
the amount (in minor units) decide, as with Stripe's physical test card: 01 call_issuer,
05 generic_decline, 55 incorrect_pin, 65 withdrawal_count_limit_exceeded, 75 pin_try_exceeded.
02 and 03 approve after a PIN: offline PIN (02) and online PIN (03) as the cardholder
verification method; other endings approve with no CVM (a contactless tap).
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.sim.stripe_emulator.errors import StripeError


@dataclass(frozen=True)
class CardProfile:
    """A test card: its network, funding, the EMV application (AID) and a forced decline."""

    brand: str
    funding: str
    aid: str
    application_name: str
    decline_code: str | None = None
    error_code: str = "card_declined"


_VISA_AID = "A0000000031010"
_MC_AID = "A0000000041010"

TEST_CARDS: dict[str, CardProfile] = {
    "4242424242424242": CardProfile("visa", "credit", _VISA_AID, "Visa Credit"),
    "4000056655665556": CardProfile("visa", "debit", "A0000000032010", "Visa Debit"),
    "5555555555554444": CardProfile("mastercard", "credit", _MC_AID, "Mastercard"),
    "5200828282828210": CardProfile("mastercard", "debit", "A0000000043060", "Debit Mastercard"),
    "5105105105105100": CardProfile("mastercard", "prepaid", _MC_AID, "Mastercard Prepaid"),
    "378282246310005": CardProfile("amex", "credit", "A00000002501", "American Express"),
    "371449635398431": CardProfile("amex", "credit", "A00000002501", "American Express"),
    "6011111111111117": CardProfile("discover", "credit", "A0000001523010", "Discover"),
    "6011000990139424": CardProfile("discover", "credit", "A0000001523010", "Discover"),
    "3056930009020004": CardProfile("diners", "credit", "A0000001523010", "Diners Club"),
    "36227206271667": CardProfile("diners", "credit", "A0000001523010", "Diners Club"),
    "3566002020360505": CardProfile("jcb", "credit", "A0000000651010", "JCB"),
    "6200000000000005": CardProfile("unionpay", "credit", "A000000333010101", "UnionPay"),
    # Cards that force an error, whatever the amount.
    "4000000000000002": CardProfile("visa", "credit", _VISA_AID, "Visa Credit", "generic_decline"),
    "4000000000009995": CardProfile(
        "visa", "credit", _VISA_AID, "Visa Credit", "insufficient_funds"
    ),
    "4000000000009987": CardProfile("visa", "credit", _VISA_AID, "Visa Credit", "lost_card"),
    "4000000000009979": CardProfile("visa", "credit", _VISA_AID, "Visa Credit", "stolen_card"),
    "4000000000000069": CardProfile(
        "visa", "credit", _VISA_AID, "Visa Credit", "expired_card", "expired_card"
    ),
    "4000000000000119": CardProfile(
        "visa", "credit", _VISA_AID, "Visa Credit", "processing_error", "processing_error"
    ),
}

DECLINING_AMOUNT_ENDINGS: dict[int, str] = {
    1: "call_issuer",
    5: "generic_decline",
    55: "incorrect_pin",
    65: "withdrawal_count_limit_exceeded",
    75: "pin_try_exceeded",
}
PIN_AMOUNT_ENDINGS: dict[int, str] = {2: "offline_pin", 3: "online_pin"}

DECLINE_MESSAGES: dict[str, str] = {
    "call_issuer": "Your card was declined. Please contact your card issuer.",
    "generic_decline": "Your card was declined.",
    "incorrect_pin": "The PIN entered is incorrect.",
    "withdrawal_count_limit_exceeded": "Your card has exceeded its withdrawal limit.",
    "pin_try_exceeded": "The allowable number of PIN tries has been exceeded.",
    "insufficient_funds": "Your card has insufficient funds.",
    "lost_card": "Your card was declined.",
    "stolen_card": "Your card was declined.",
    "expired_card": "Your card has expired.",
    "processing_error": "An error occurred while processing your card. Try again.",
}

# Stripe's minimum charge per currency, in minor units (docs: minimum and maximum amounts).
MINIMUM_CHARGE: dict[str, int] = {
    "usd": 50, "eur": 50, "gbp": 30, "chf": 50, "cad": 50, "aud": 50, "nzd": 50, "sgd": 50,
    "hkd": 400, "jpy": 50, "dkk": 250, "nok": 300, "sek": 300, "pln": 200, "czk": 1500,
    "huf": 17500, "ron": 200, "bgn": 100, "mxn": 1000, "aed": 200, "myr": 200,
}
MAXIMUM_AMOUNT = 99_999_999


def card_profile(number: str, param: str) -> CardProfile:
    """The test card for `number`, or a 400 naming `param` if Stripe does not know it."""
    card = TEST_CARDS.get(number)
    if card is None:
        raise StripeError(
            400,
            f"{number[-4:] if number else 'This'} is not a Stripe test card number.",
            code="parameter_invalid_value",
            param=param,
        )
    return card


def amount_outcome(amount: int) -> tuple[str | None, str]:
    """(decline_code or None, cardholder verification method) for an amount in minor units."""
    ending = amount % 100
    if ending in DECLINING_AMOUNT_ENDINGS:
        return DECLINING_AMOUNT_ENDINGS[ending], "online_pin" if ending in (55, 75) else "none"
    return None, PIN_AMOUNT_ENDINGS.get(ending, "none")


def check_amount(amount: int, currency: str, param: str = "amount") -> None:
    """Refuse an amount (minor units) below the currency's minimum or above Stripe's maximum."""
    if amount < 1:
        raise StripeError(
            400, "This value must be greater than or equal to 1.",
            code="parameter_invalid_integer", param=param,
        )
    minimum = MINIMUM_CHARGE[currency]
    if amount < minimum:
        raise StripeError(
            400,
            f"Amount must be at least {minimum} {currency} minor units.",
            code="amount_too_small",
            param=param,
        )
    if amount > MAXIMUM_AMOUNT:
        raise StripeError(
            400, f"Amount must be no more than {MAXIMUM_AMOUNT}.",
            code="amount_too_large", param=param,
        )


def check_currency(currency: str, param: str = "currency") -> str:
    """The currency code in lower case, or a 400 if the emulator does not know it."""
    code = currency.lower()
    if code not in MINIMUM_CHARGE:
        raise StripeError(
            400, f"Invalid currency: {currency}.", code="parameter_invalid_value", param=param
        )
    return code
