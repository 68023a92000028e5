"""Translations for the customer screens: gettext catalogs, numbers and money in one language.

English is the source language: every message id is the English sentence the customer reads.
The catalogs are ``assets/locale/<language>/LC_MESSAGES/kiosk.po`` with the compiled
``kiosk.mo`` next to each, read through ``kiosk.resources`` so they work from the wheel;
``python -m kiosk.ui.catalogs update`` keeps them in step with the code. English has a
catalog too, with empty translations: gettext then shows the message id itself, and an English
wording can be changed later in the ``.po`` alone.

Money is always in the shop's currency; only the way the number is written follows the
language. It is formatted with the shop's locale when the customer's language is the shop's
own (a Swiss shop showing German uses ``de_CH``), else with ``MONEY_LOCALES`` for that language
(``de_DE``, ``en_GB``). So 12.34 EUR reads "€12.34" in English and "12,34 €" in German.

This module imports no kivy.
"""

from __future__ import annotations

import functools
import gettext
import logging
from collections.abc import Sequence
from decimal import Decimal

from babel import Locale
from babel.numbers import format_decimal

from kiosk.core.money import currency_exponent, format_money
from kiosk.refusals import KioskRefusal
from kiosk.resources import asset

log = logging.getLogger(__name__)

DOMAIN = "kiosk"
"""The gettext domain: the catalog files are called ``kiosk.po`` / ``kiosk.mo``."""

SOURCE_LANGUAGE = "en"
"""The language the message ids are written in; its catalog may leave every entry empty."""

LANGUAGES: dict[str, str] = {"en": "English", "de": "Deutsch"}
"""Languages a customer can choose, each with its own name for itself (for the attract screen)."""

MONEY_LOCALES: dict[str, str] = {"en": "en_GB", "de": "de_DE"}
"""The number format for money when the customer's language is not the shop's own."""


def N_(msgid: str) -> str:
    """Mark a message for extraction without translating it (for tables built at import time).

    Returns ``msgid`` unchanged; translate it later with ``Translator.__call__``.
    """
    return msgid


GENERIC_MESSAGE = N_("Something went wrong. Please ask staff.")
"""What the customer reads for a facade code that has no sentence of its own."""

FACADE_MESSAGES: dict[str, str] = {
    "unknown_item": N_("This item is not in our catalog. Staff is on the way."),
    "age_check": N_("Some items need an age check. Staff is on the way."),
    "limit_reached": N_("That is more than this kiosk allows. Staff is on the way."),
    "weighed_item": N_("This item must be weighed. Staff is on the way."),
    "help": N_("Staff is on the way."),
    "payment_check": N_("We are checking your payment with the bank. Staff is on the way."),
    "line_not_found": N_("There is no such line in the cart."),
    "bad_quantity": N_("The quantity must be 1 or more."),
    "quantity_fixed": N_("The quantity of a weighed item cannot change."),
    "cart_locked": N_("The cart cannot change right now."),
    "limit_quantity_per_line": N_("That is more of one item than this kiosk allows."),
    "limit_lines": N_("The cart is full."),
    "limit_cart_total": N_("That would take the cart over this kiosk's limit."),
    "payment_in_progress": N_("A payment is in progress. Please wait."),
    "nothing_to_pay": N_("There is nothing to pay."),
    KioskRefusal.BELOW_CARD_MINIMUM: N_(
        "This amount is too small for a card payment. Please add an item or ask staff."
    ),
    KioskRefusal.PAYMENTS_UNAVAILABLE: N_(
        "Card payments are not available at this kiosk right now."
    ),
    "card_declined": N_("The card was declined. Try another card, or ask staff."),
    "cancelled_on_reader": N_("The payment was cancelled on the reader."),
    "reader_busy": N_("The card reader is busy. Please try again in a moment."),
    "reader_offline": N_("The card reader is offline. Staff has been told."),
    "outcome_unknown": N_("We are checking what happened to the payment. Please wait for staff."),
    "stripe_unreachable": N_("Card payments are not available right now. Please call staff."),
    "payment_timed_out": N_("The payment took too long and was stopped. Please call staff."),
    "authorisation_too_slow": N_("The card is taking long to authorise. Please call staff."),
    "cancelled": N_("The payment was cancelled."),
    "wrong_pin": N_("Wrong PIN."),
    "locked": N_("Too many wrong PINs: locked for a while."),
    "unknown_staff": N_("Unknown staff number."),
    "no_pin": N_("This staff member has no PIN yet."),
    "inactive": N_("This staff member is not active."),
    "pins_reset_needed": N_(
        "Staff PINs must be set again (this kiosk's data came from another machine). "
        "Ask the technician: kiosk staff set-pin."
    ),
    "pin_key_missing": N_("The kiosk's PIN key is missing. Call the technician."),
    "not_allowed": N_("This staff member may not approve this."),
    KioskRefusal.KIOSK_STARTING: N_("The checkout is starting. Please wait a moment."),
    KioskRefusal.KIOSK_OUT_OF_ORDER: N_(
        "This checkout is out of order. Please use another checkout."
    ),
    KioskRefusal.KIOSK_CLOSED: N_("This checkout is closed. Please use another checkout."),
    "bad_price": N_("The price must be more than zero."),
    "unknown_tax_class": N_("This shop has no such tax class."),
    "no_call": N_("There is no attendant call to answer."),
    "insufficient_funds": N_("The card was declined: not enough funds. Try another card."),
    "expired_card": N_("The card has expired. Try another card."),
    "incorrect_pin": N_("The PIN was wrong. Try again, or use another card."),
    "pin_try_exceeded": N_("Too many wrong PINs for this card. Try another card."),
}
"""The customer's sentence (untranslated English) for every code the facade reports."""


def language_of(locale: str) -> str:
    """The screens' language for ``locale`` (``"de_CH"`` -> ``"de"``): a key of ``LANGUAGES``,
    English for a language the screens do not speak."""
    language = locale.replace("-", "_").split("_")[0].lower()
    return language if language in LANGUAGES else "en"


def first_language(chosen: str, configured: Sequence[str], locale: str) -> str:
    """The language a new customer starts in: ``chosen``, or (``""``, or one the screens do
    not speak) the first of the shop's ``configured`` languages they speak, else ``locale``'s."""
    for candidate in (chosen, *configured):
        code = candidate.replace("-", "_").split("_")[0].lower()
        if code in LANGUAGES:
            return code
    return language_of(locale)


def offered_languages(configured: Sequence[str], locale: str) -> tuple[str, ...]:
    """The languages a customer can choose, in the shop's order: each of its ``configured``
    languages (``[shop] languages``, ``"de_CH"`` counts as ``"de"``) the screens speak, once;
    the language of ``locale`` when they speak none of them."""
    offered: list[str] = []
    for candidate in configured:
        code = candidate.replace("-", "_").split("_")[0].lower()
        if code in LANGUAGES and code not in offered:
            offered.append(code)
    return tuple(offered) or (language_of(locale),)


@functools.cache
def _catalog(language: str) -> gettext.GNUTranslations:
    """The compiled catalog of ``language``, read once per process."""
    with asset(f"locale/{language}/LC_MESSAGES/{DOMAIN}.mo").open("rb") as compiled:
        return gettext.GNUTranslations(compiled)


def money_locale(language: str, shop_locale: str) -> str:
    """The locale that writes numbers and money for a customer reading ``language``.

    The shop's own locale when it speaks that language, else ``MONEY_LOCALES[language]``.
    """
    if Locale.parse(shop_locale.replace("-", "_")).language == language:
        return shop_locale.replace("-", "_")
    return MONEY_LOCALES[language]


class Translator:
    """Everything a screen shows in one language: translated sentences, numbers and money.

    ``language`` is a key of ``LANGUAGES``; ``shop_locale`` (``"de_DE"``) and ``currency``
    (``"EUR"``) are the shop's settings. Building one is cheap: catalogs are cached per
    language, so switching language is making a new ``Translator``. An unknown language
    raises ``ValueError``; an unknown currency ``kiosk.core.money.MoneyError``.
    """

    def __init__(self, language: str, shop_locale: str, currency: str) -> None:
        if language not in LANGUAGES:
            known = ", ".join(sorted(LANGUAGES))
            raise ValueError(f"unknown language {language!r}; the kiosk knows {known}")
        currency_exponent(currency)  # fail now, not on the first price shown
        self.language = language
        self.currency = currency
        self.locale = money_locale(language, shop_locale)
        """The babel locale numbers and money are written in (``"de_DE"``)."""
        self._catalog = _catalog(language)

    def __call__(self, msgid: str, **values: object) -> str:
        """Translate ``msgid``; with ``values``, fill its ``{placeholders}`` (``str.format``)."""
        text = self._catalog.gettext(msgid)
        return text.format(**values) if values else text

    def ntr(self, singular: str, plural: str, n: int, **values: object) -> str:
        """Translate the form of ``singular``/``plural`` that fits the count ``n``, then fill it.

        ``{n}`` is the count written for the language (``number(n)``: "1,234" or "1.234").
        """
        text = self._catalog.ngettext(singular, plural, n)
        return text.format(n=self.number(n), **values)

    def money(self, minor: int) -> str:
        """An amount in minor units of the shop's currency, written for this language."""
        return format_money(minor, self.currency, self.locale)

    def number(self, n: int) -> str:
        """A whole number written for this language (``1,234`` in English, ``1.234`` in German)."""
        return str(format_decimal(n, locale=self.locale))

    def weight_kg(self, grams: int) -> str:
        """A weight in grams written in kilograms with three decimals ("1.234" / "1,234")."""
        return str(format_decimal(Decimal(grams) / 1000, format="#,##0.000", locale=self.locale))

    def say(self, code: str) -> str:
        """The translated sentence for a facade code (``"card_declined"``).

        An unknown code logs a warning and gives the generic "Something went wrong" sentence.
        """
        msgid = FACADE_MESSAGES.get(code)
        if msgid is None:
            log.warning("no customer sentence for the facade code %r", code)
            msgid = GENERIC_MESSAGE
        return self(msgid)
