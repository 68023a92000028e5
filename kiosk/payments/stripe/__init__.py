"""Stripe Terminal (server-driven) as a card provider: `setup.build` is its registry factory.

Only `kiosk.payments.stripe.api` imports the stripe library, and only when a request needs it.
"""
