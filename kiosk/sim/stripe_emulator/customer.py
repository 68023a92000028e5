"""The simulated customer standing at the reader.

Once set, the customer answers every `process_payment_intent` (on one reader, or any):

- `tap`: presents `card` `after_s` seconds (emulator clock) after that payment started, if the
  same payment is still waiting for a card then (a cancelled or replaced one is not paid).
- `late`: presents `card` `after_s` seconds after a payment started, on whatever payment the
  reader is waiting for at that moment (a tap after the kiosk gave up and asked again pays the
  new request; with nothing waiting the tap is lost).
- `never`: does not tap; the action stays `in_progress` until cancelled.
- `cancel`: presses cancel on the reader `after_s` seconds after that payment started: the
  action fails with `customer_canceled` (``api_error`` null), the PaymentIntent still needs a
  payment method.

`auth_delay_s` makes the issuer take that long to answer after the tap (the PaymentIntent is
`processing` and the reader busy meanwhile).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from kiosk.sim.stripe_emulator.cards import TEST_CARDS

BEHAVIOURS = frozenset({"tap", "late", "never", "cancel"})


@dataclass(frozen=True)
class CustomerPlan:
    """How the simulated customer behaves; times are seconds on the emulator clock."""

    behaviour: str = "tap"
    card: str = "4242424242424242"
    after_s: float = 1.0
    auth_delay_s: float = 0.0
    reader_id: str | None = None

    def __post_init__(self) -> None:
        if self.behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {sorted(BEHAVIOURS)}")
        if self.card not in TEST_CARDS:
            raise ValueError(f"{self.card} is not a Stripe test card number")
        if self.after_s < 0 or self.auth_delay_s < 0:
            raise ValueError("after_s and auth_delay_s must not be negative")

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON (saved in the account; the body of POST /_emulator/customer)."""
        return asdict(self)
