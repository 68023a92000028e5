"""Manual check: the kiosk's payment code against REAL Stripe test mode (not run by CI).

CI has no internet, so this is a script, not a test. It runs the same facade and payment
service as the kiosk, changing only the base address (and using your test key):

    STRIPE_SECRET_KEY=sk_test_... .venv/bin/python tests/stripe_test_mode_check.py

It creates (or reuses) a Terminal location named "kiosk check", registers a simulated reader
(``simulated-wpe``), sells one item through ``Kiosk``, presents a test card with Stripe's test
helper and waits until the sale is recorded paid. Then it prints the PaymentIntent and runs a
reconcile. Everything happens in test mode; no real money moves.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import stripe

from kiosk.app import Kiosk
from kiosk.config import Secrets, SecretStr, demo_settings
from kiosk.core.checkout_states import CheckoutState
from kiosk.main_queue import MainQueue
from kiosk.sim.demo_shop import prepare_demo
from kiosk.store.db import open_database

REAL_API = "https://api.stripe.com"
API_BASE = os.environ.get("KIOSK_CHECK_API_BASE", REAL_API)
"""Real Stripe unless overridden, e.g. with a ``kiosk sim stripe`` URL to rehearse the script."""
JUICE = b"5012345001012\r"  # 1.89 EUR in the demo catalog


def main() -> int:
    """Run the check; 0 when the sale was paid and reconciles cleanly."""
    key = os.environ.get("STRIPE_SECRET_KEY", "")
    if not key.startswith(("sk_test_", "rk_test_")):
        print("Set STRIPE_SECRET_KEY to a test-mode key (sk_test_... or rk_test_...).")
        return 2
    client = stripe.StripeClient(key, base_addresses={"api": API_BASE}, max_network_retries=2)
    locations = [
        loc for loc in client.v1.terminal.locations.list({"limit": 100}).data
        if loc.display_name == "kiosk check"
    ]
    location = locations[0] if locations else client.v1.terminal.locations.create({
        "display_name": "kiosk check",
        "address": {"line1": "1 Demo Street", "city": "Dublin", "country": "IE",
                    "postal_code": "D01 F5P2"},
    })
    reader = client.v1.terminal.readers.create(
        {"registration_code": "simulated-wpe", "location": location.id, "label": "kiosk check"}
    )
    print(f"location {location.id}, simulated reader {reader.id}")

    with tempfile.TemporaryDirectory(prefix="kiosk-stripe-check-") as tmp:
        base = demo_settings(Path(tmp) / "state")
        stripe_settings = replace(
            base.stripe, api_base=API_BASE, reader_id=reader.id, location_id=location.id
        )
        settings = replace(base, stripe=stripe_settings)
        db = open_database(Path(settings.state_dir) / "kiosk.db")
        prepare_demo(db, settings, now=datetime.now(UTC), work_dir=Path(tmp))
        db.close()

        main_queue = MainQueue()
        secrets = Secrets(stripe_api_key=SecretStr(key), backoffice_token=None)
        kiosk = Kiosk(settings, post_to_main=main_queue.post, secrets=secrets)
        kiosk.start()
        try:
            kiosk.scan(JUICE)
            kiosk.pay()
            main_queue.run_until(lambda: kiosk.checkout.state is CheckoutState.PAYING, 30)
            main_queue.run_until(lambda: bool(client.v1.terminal.readers.retrieve(
                reader.id).action), 60)
            client.v1.test_helpers.terminal.readers.present_payment_method(reader.id)
            main_queue.run_until(lambda: kiosk.checkout.state is CheckoutState.PAID, 120)
            sale_id = kiosk.checkout.sale_id
            print(f"sale {sale_id} paid")
            service = kiosk.payment_service
            assert service is not None
            report = service.reconcile(datetime.now(UTC) - timedelta(hours=1))
            print(f"reconcile: settled={report.settled} anomalies={report.anomalies}")
            return 0 if report.settled and not report.anomalies else 1
        finally:
            kiosk.close()
            if API_BASE == REAL_API:
                client.v1.terminal.readers.delete(reader.id)


if __name__ == "__main__":
    sys.exit(main())
