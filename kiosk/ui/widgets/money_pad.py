"""The money pad: staff type an amount the way a card terminal takes it.

Digits shift in from the right, in minor units: "1", "2", "9" reads 0.01, 0.12, then 1.29
(in a currency with two decimals; yen has none, so the same keys make 129). The amount is
always a whole number of minor units, never a float; the display writes it with the app's
Translator (``app.tr.money``). Layout in ``kv/money_pad.kv``.
"""

from __future__ import annotations

from kivy.properties import NumericProperty
from kivy.uix.boxlayout import BoxLayout

MAX_AMOUNT_DIGITS = 10
"""The most digits an amount may have: 99,999,999.99 in a two-decimal currency. Seven were
too few where a minor unit is worth little (an item at 150,000.00 IDR is 8 digits); the cart's
limits and what was captured bound what the facade accepts, and ten digits still fit the
display at 800x480."""


def typed(amount_minor: int, key: str, max_digits: int = MAX_AMOUNT_DIGITS) -> int:
    """The amount (minor units) after pressing ``key`` on a pad showing ``amount_minor``: a
    digit shifts in from the right (ignored once the amount has ``max_digits`` digits),
    ``clear`` gives 0 and ``delete`` drops the last digit; any other key changes nothing."""
    if key == "clear":
        return 0
    if key == "delete":
        return amount_minor // 10
    if len(key) == 1 and key in "0123456789":
        longer = amount_minor * 10 + int(key)
        return longer if len(str(longer)) <= max_digits else amount_minor
    return amount_minor


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
        self.amount_minor = typed(int(self.amount_minor), key, int(self.max_digits))

    def preset(self, amount_minor: int) -> None:
        """Show ``amount_minor`` (minor units, 0 or more) as if it had been typed."""
        self.amount_minor = max(0, int(amount_minor))
