"""The payment service's own settings, built by the facade from ``kiosk.toml``.

A small frozen dataclass so ``kiosk.payments`` depends on no configuration machinery; every
duration is in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class PaymentSettings:
    """What the payment service needs to know; durations in seconds.

    ``kiosk_id``: goes into each PaymentIntent's metadata. ``currency``: ISO 4217 code.
    ``reader_id``: the Terminal reader ("tmr_..."). ``capture``: "automatic" or "manual"
    (manual: the kiosk captures right after it recorded the authorisation).
    ``poll_interval_s``: between two looks at the reader and the PaymentIntent while paying.
    ``payment_idle_s``: longest wait for a card before the payment is withdrawn.
    ``authorisation_wait_s``: longest wait for an authorisation in flight before staff are
    called (the payment is never cancelled blindly). ``payment_max_s``: a payment in which
    nothing changes for this long is withdrawn. ``probe_s``: between two background checks of
    Stripe and the reader. ``capture_max_age_s``: a PaymentIntent awaiting capture longer than
    this is captured (its sale is authorised here) or cancelled by recovery.
    ``request_timeout_s``: one HTTP request. ``max_network_retries``: library retries.
    ``recovery_s``: the time budget of a periodic recovery pass. ``recovery_every_s``: how
    often the idle payment thread runs recovery on its own (0: never).
    """

    kiosk_id: str
    currency: str
    reader_id: str
    capture: Literal["automatic", "manual"] = "automatic"
    poll_interval_s: float = 0.5
    payment_idle_s: float = 120.0
    authorisation_wait_s: float = 90.0
    payment_max_s: float = 300.0
    probe_s: float = 600.0
    capture_max_age_s: float = 3600.0
    request_timeout_s: float = 10.0
    max_network_retries: int = 2
    recovery_s: float = 30.0
    recovery_every_s: float = 300.0
