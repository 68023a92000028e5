"""Building the card-payment side from the configuration.

``[stripe] api_base = "embedded"`` starts the local Stripe emulator of ``kiosk.sim`` in this
process (its objects kept in the state directory), registers a simulated reader once, and lets
an automatic customer tap a test card shortly after each payment starts, so the demo pays
with no one at the reader (the demo panel picks which card from
`kiosk.payments.cards.DEMO_CARDS`). Any other ``api_base`` talks to that Stripe API with the
secret key from the environment or a systemd credential, and the configured reader.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kiosk.config import Secrets, Settings
from kiosk.payments import attempts
from kiosk.payments.cards import DEMO_CARD_DEFAULT, demo_card_number
from kiosk.payments.service import PaymentEvents, PaymentService, build_client
from kiosk.payments.settings import PaymentSettings
from kiosk.sim.stripe_emulator import StripeEmulator
from kiosk.store.worker import StoreWorker

log = logging.getLogger(__name__)

EMBEDDED_API_KEY = "sk_test_embedded_emulator"
"""The key the kiosk uses with its embedded emulator (a test key; no real money moves)."""

DEMO_TAP_AFTER_S = 2.0
"""Seconds after a payment starts when the embedded emulator's customer taps a card."""

DEMO_READER_LABEL = "Demo kiosk reader"

@dataclass
class CardPaymentsSetup:
    """The payment service, the embedded emulator (if any), or why there is no service."""

    service: PaymentService | None
    emulator: StripeEmulator | None
    unavailable_reason: str = ""

    def stop(self) -> None:
        """Stop the payment thread, then the emulator."""
        if self.service is not None:
            self.service.stop()
        if self.emulator is not None:
            self.emulator.stop()


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
        probe_s=stripe.probe_s,
        capture_max_age_s=stripe.capture_max_age_s,
        request_timeout_s=stripe.request_timeout_s,
        max_network_retries=stripe.max_network_retries,
        recovery_s=timeouts.recovery_s,
    )


def embedded_emulator(state_dir: Path) -> tuple[StripeEmulator, str]:
    """Start the embedded emulator on loopback; return it and its (one) simulated reader id."""
    emulator = StripeEmulator(state_path=state_dir / "stripe-emulator.json")
    emulator.start()
    readers = [r for r in emulator.readers() if r.get("label") == DEMO_READER_LABEL]
    reader = readers[0] if readers else emulator.register_simulated_reader(
        "simulated-wpe", label=DEMO_READER_LABEL
    )
    tap_demo_card(emulator, DEMO_CARD_DEFAULT)
    return emulator, str(reader["id"])


def tap_demo_card(emulator: StripeEmulator, kind: str) -> None:
    """Let the emulator's simulated customer tap the demo card ``kind`` `DEMO_TAP_AFTER_S`
    seconds after each payment starts (the emulator saves this with an fsync: call it off the
    UI thread). ``ValueError`` for an unknown kind."""
    emulator.customer("tap", card=demo_card_number(kind), after_s=DEMO_TAP_AFTER_S)


def unfinished_payments(store: StoreWorker, timeout_s: float) -> tuple[str, ...]:
    """The sales whose card payment a stop left unfinished (recovery must settle them with
    Stripe), oldest first; read on the store worker, waiting up to ``timeout_s`` seconds."""
    found = store.submit(attempts.unresolved).result(timeout_s)
    return tuple(attempt.sale_id for attempt in found)


def set_up_payments(
    settings: Settings,
    secrets: Secrets,
    store: StoreWorker,
    events: PaymentEvents,
    clock: Callable[[], datetime],
) -> CardPaymentsSetup:
    """Start the payment service for ``settings`` (not yet recovered), or say why not.

    ``clock`` is the facade's, so payment rows and sale rows share one idea of now.
    """
    emulator = None
    if settings.stripe.api_base == "embedded":
        emulator, reader_id = embedded_emulator(Path(settings.state_dir))
        api_key, api_base = EMBEDDED_API_KEY, emulator.url
    else:
        if secrets.stripe_api_key is None:
            log.warning("card payments are off: no Stripe secret key in the environment "
                        "(KIOSK_STRIPE_API_KEY) or credentials (stripe-api-key)")
            return CardPaymentsSetup(None, None, "no_stripe_key")
        if not settings.stripe.reader_id:
            log.warning("card payments are off: [stripe] reader_id is not set")
            return CardPaymentsSetup(None, None, "no_reader_configured")
        reader_id = settings.stripe.reader_id
        api_key, api_base = secrets.stripe_api_key.get_secret_value(), settings.stripe.api_base
    config = payment_settings(settings, reader_id)
    client = build_client(api_key, api_base, config)
    service = PaymentService(
        client=client, store=store, settings=config, events=events, clock=clock
    )
    service.start()
    return CardPaymentsSetup(service, emulator)
