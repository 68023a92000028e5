"""Building Stripe Terminal, the card provider, from the configuration (``[stripe]``).

``[stripe] api_base = "embedded"`` runs on the Stripe emulator the caller's ``simulator``
starts (``kiosk.sim.card_readers``; payment code never imports the emulator) with its
simulated reader, whose automatic customer taps a test card shortly after each payment starts,
so the demo pays with no one at the reader (the demo panel picks which card from
`kiosk.payments.cards.DEMO_CARDS`). Any other ``api_base`` talks to that Stripe API with the
secret key from the environment or a systemd credential, and the configured reader.
Neither loads the stripe library: the terminal does on its first request that needs it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.config import Secrets, Settings
from kiosk.payments.provider import (
    CardProvider,
    PaymentEvents,
    ProviderOptions,
    ProviderUnavailable,
)
from kiosk.payments.settings import PaymentSettings
from kiosk.payments.stripe.probe import PROBE_MIN_S, StripeConnection
from kiosk.store.worker import StoreWorker

log = logging.getLogger(__name__)

EMBEDDED_API_KEY = "sk_test_embedded_emulator"
"""The key the kiosk uses with its embedded emulator (a test key; no real money moves)."""


def options(settings: Settings) -> ProviderOptions:
    """What the facade needs to know of Stripe Terminal before it runs (see
    `ProviderOptions`); reads ``[stripe]`` only."""
    stripe = settings.stripe
    return ProviderOptions(
        block_sales_when_unavailable=stripe.block_sales_when_unavailable,
        request_budget_s=2 * stripe.request_timeout_s * (1 + stripe.max_network_retries),
        demo_cards=stripe.api_base == "embedded",
    )


def payment_settings(settings: Settings, reader_id: str) -> PaymentSettings:
    """The payment service's settings from the kiosk's."""
    stripe, timeouts = settings.stripe, settings.timeouts
    return PaymentSettings(
        kiosk_id=settings.kiosk_id,
        currency=settings.shop.currency,
        reader_id=reader_id,
        capture=stripe.capture,
        poll_interval_s=stripe.poll_interval_ms / 1000,
        # The customer-facing card wait is the checkout's (it restarts on every touch); the
        # service's own wait is only the backstop for a payment nobody drives any more.
        payment_idle_s=max(timeouts.payment_idle_s, timeouts.payment_max_s),
        authorisation_wait_s=timeouts.authorisation_wait_s,
        payment_max_s=timeouts.payment_max_s,
        probe_s=max(float(stripe.probe_s), PROBE_MIN_S),  # the idle read budget
        capture_max_age_s=stripe.capture_max_age_s,
        request_timeout_s=stripe.request_timeout_s,
        max_network_retries=stripe.max_network_retries,
        recovery_s=timeouts.recovery_s,
    )


def connection_for(settings: Settings, secrets: Secrets) -> StripeConnection:
    """The Stripe API and key of a real (not embedded) configuration; `ProviderUnavailable`
    without a key or a reader."""
    if secrets.stripe_api_key is None:
        log.warning("card payments are off: no Stripe secret key in the environment "
                    "(KIOSK_STRIPE_API_KEY) or credentials (stripe-api-key)")
        raise ProviderUnavailable("no_stripe_key")
    if not settings.stripe.reader_id:
        log.warning("card payments are off: [stripe] reader_id is not set")
        raise ProviderUnavailable("no_reader_configured")
    return StripeConnection(secrets.stripe_api_key.get_secret_value(),
                            settings.stripe.api_base)


def build(
    settings: Settings,
    secrets: Secrets,
    store: StoreWorker,
    events: PaymentEvents,
    clock: Callable[[], datetime],
    *,
    simulator: Callable[[Path], tuple[Any, str]] | None = None,
) -> CardProvider:
    """Build Stripe Terminal for ``settings`` (not started, not recovered), or raise
    `ProviderUnavailable` saying why not.

    ``clock`` is the facade's, so payment rows and sale rows share one idea of now.
    ``simulator(state_dir)`` starts the embedded emulator and returns it with its reader id
    (needed for ``api_base = "embedded"``).
    """
    from kiosk.payments.stripe.terminal import StripeTerminal

    emulator = None
    if settings.stripe.api_base == "embedded":
        if simulator is None:
            raise ProviderUnavailable("no_simulator")
        emulator, reader_id = simulator(Path(settings.state_dir))
        connection = StripeConnection(EMBEDDED_API_KEY, emulator.url)
    else:
        connection = connection_for(settings, secrets)
        reader_id = settings.stripe.reader_id
    return StripeTerminal(connection=connection, store=store,
                          settings=payment_settings(settings, reader_id), events=events,
                          clock=clock, emulator=emulator)
