"""A stateful local Stripe API emulator for demo and tests (Terminal, PaymentIntents, refunds).

The real `stripe` package talks to it over HTTP on loopback:
`StripeClient(key, base_addresses={"api": emulator.url})`. See docs/STRIPE_EMULATOR.md.
"""

from kiosk.sim.stripe_emulator.emulator import RecordedRequest, StripeEmulator
from kiosk.sim.stripe_emulator.faults import Fault
from kiosk.sim.stripe_emulator.standalone import serve

__all__ = ["Fault", "RecordedRequest", "StripeEmulator", "serve"]
