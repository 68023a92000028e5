"""The money pad: staff type an amount the way a card terminal takes it.

Digits shift in from the right, in minor units: "1", "2", "9" reads 0.01, 0.12, then 1.29
(in a currency with two decimals; yen has none, so the same keys make 129). The amount is
always a whole number of minor units, never a float; the display writes it with the app's
Translator (``app.tr.money``). Layout in ``kv/money_pad.kv``.
"""

from __future__ import annotations

from kivy.properties import NumericProperty
from kivy.uix.boxlayout import BoxLayout

MAX_AMOUNT_DIGITS = 7
"""The most digits an amount may have (99,999.99 in a two-decimal currency)."""


class MoneyPad(BoxLayout):
    """A display and a 12-key pad (1-9, Clear, 0, Delete); ``amount_minor`` is what it says.

    Bind to ``amount_minor`` to follow the amount; ``preset`` puts an amount in (a refund
    starts at what is left to refund).
    """

    amount_minor = NumericProperty(0)
    """The amount typed so far, in minor units of the shop's currency."""
    max_digits = NumericProperty(MAX_AMOUNT_DIGITS)

    def press(self, key: str) -> None:
        """A key of the pad: a digit, ``clear`` (back to zero) or ``delete`` (the last digit)."""
        amount = int(self.amount_minor)
        if key == "clear":
            self.amount_minor = 0
        elif key == "delete":
            self.amount_minor = amount // 10
        elif key in "0123456789" and len(key) == 1:
            typed = amount * 10 + int(key)
            if len(str(typed)) <= self.max_digits:
                self.amount_minor = typed

    def type_digits(self, digits: str) -> None:
        """Press each digit of ``digits`` in turn (what a finger does, key by key)."""
        for digit in digits:
            self.press(digit)

    def preset(self, amount_minor: int) -> None:
        """Show ``amount_minor`` (minor units, 0 or more) as if it had been typed."""
        self.amount_minor = max(0, int(amount_minor))
