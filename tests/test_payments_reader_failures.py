"""Reader failures on Stripe Terminal (issue 16, point 6): a customer who cancels on the reader
is a cancel for the live payment flow and for recovery alike (one list of the failure codes
that mean "the customer cancelled", `kiosk.payments.stripe.failures`), never a decline.

Real parts: the emulator on loopback with its simulated customer pressing cancel, the real
`StripeTerminal`, and tests/crash_driver.py as the kiosk process killed before it recorded
the try's end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from payments_support import WAIT_S, PaymentRig, rig

__all__ = ["rig"]

DRIVER = Path(__file__).resolve().parent / "crash_driver.py"
AMOUNT = 1250


def test_a_customer_cancelling_on_the_reader_is_a_cancel_in_the_live_flow(rig: PaymentRig) -> None:
    rig.emulator.customer("cancel", after_s=0.2)
    service = rig.service()
    sale_id = rig.new_sale(AMOUNT)
    seen = rig.events.count()

    service.pay(sale_id, AMOUNT)

    assert rig.events.wait_for_end(sale_id, after=seen)[0] == "cancelled"
    attempt = rig.attempt(sale_id)
    assert (attempt["outcome"], attempt["decline_code"]) == ("cancelled_on_reader", None)
    assert rig.sale_state(sale_id) == "open"


def test_recovery_reads_a_customer_cancelling_on_the_reader_as_a_cancel_not_a_decline(
    rig: PaymentRig,
) -> None:
    rig.emulator.customer("cancel", after_s=0.2)
    sale_id = rig.new_sale(AMOUNT)
    done = subprocess.run(
        [
            sys.executable,
            str(DRIVER),
            str(rig.path),
            rig.emulator.url,
            rig.reader_id,
            sale_id,
            "pay",
            "--amount",
            str(AMOUNT),
        ],
        env={**os.environ, "KIOSK_CRASH_AT": "before_commit:returned"},
        capture_output=True,
        text=True,
        timeout=40,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    assert rig.attempt(sale_id)["state"] == "processing"

    rig.restart_store()
    report = rig.service().recover(WAIT_S)

    assert report.settled, report
    attempt = rig.attempt(sale_id)
    assert (attempt["state"], attempt["outcome"], attempt["decline_code"]) == (
        "intent_created",
        "cancelled",
        None,
    )
    assert rig.sale_state(sale_id) == "open"


def test_the_customer_cancel_codes_are_one_list() -> None:
    from kiosk.payments.stripe.failures import CUSTOMER_CANCELLED_CODES

    assert "customer_canceled" in CUSTOMER_CANCELLED_CODES
    assert "card_declined" not in CUSTOMER_CANCELLED_CODES
