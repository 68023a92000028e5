"""The kiosk process of the fault soak (`bench/soak.py`): the real facade, driven headless.

Usage::

    KIOSK_STRIPE_API_KEY=... KIOSK_BACKOFFICE_TOKEN=... soak_kiosk.py CONFIG PLAN_JSON
    soak_kiosk.py --fork-server

With ``--fork-server`` it loads the kiosk's modules once and forks one kiosk process per order
read on stdin (see `fork_server`): each run is still a process of its own that the soak
SIGKILLs, but none spends a second importing, so the soak's kills per minute double.

It loads ``CONFIG`` (a ``kiosk.toml``) like ``kiosk run`` does, builds `kiosk.app.Kiosk` with a
`MainQueue` as its main thread (no Kivy), starts it (store check, payment recovery, the cart
restored, the receipt desk, the sync relay), then plays the plan: the restored sale, customers
at the reader, staff refunds, an idle spell; then closes the kiosk cleanly and exits 0. The
soak SIGKILLs it at any moment before that (or a crash point of `kiosk.payments.crashpoints`
does, from ``KIOSK_CRASH_AT``).

The plan (JSON) has ``restored`` (``pay`` or ``cancel``: what the customer of a restored cart
does), ``customers`` (each ``{"kind": "approve|decline|walk_away|cancel", "items": [barcode,
...], "receipt": "print|none|qr", "then": "pay|cancel"}``, ``then`` being what a declined
customer does next), ``refunds`` (each ``{"sale_id", "amount": minor or null (all that is
left), "twice": bool}``: a manager signs in to the staff menu and refunds, tapping twice when
asked) and ``idle_s`` (seconds of real time the kiosk then idles).

The customer at the reader is set on the Stripe emulator through its control endpoint
(``POST /_emulator/customer``) before each Pay. Each step is reported as one JSON line on
stdout, flushed at once (``{"step": "pay", "customer": 2}``...), so the soak knows what the
process was doing when it killed it. The clock is real time plus an offset that only a
customer who walks away moves forward (the card wait and the idle timers pass at once).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.app import Kiosk
from kiosk.config import load_settings
from kiosk.core.checkout_states import CheckoutState, PaymentPhase, ReceiptChoice
from kiosk.main_queue import MainQueue

TAP_AFTER_S = 0.2
"""Seconds (emulator clock) after a payment starts when the customer taps."""
APPROVED_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
STEP_WAIT_S = 25.0
"""The longest wait for one step (a guard against hanging; the soak's kill comes earlier)."""
WAIT_AT_READER_S = 0.4
"""Seconds a customer who will not pay looks at the reader before leaving or cancelling."""
TICK_S = 0.5
"""Seconds between two ticks of the facade while waiting."""
MANAGER = 1002
"""The demo shop's manager (kiosk.sim.demo_shop.DEMO_STAFF)."""


def say(**message: Any) -> None:
    """One JSON line on stdout, flushed (the soak reads it while this process runs)."""
    sys.stdout.write(json.dumps({**message, "at": round(time.time(), 3)}) + "\n")
    sys.stdout.flush()


class ShiftedClock:
    """Real UTC time plus an offset that `advance` moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward."""
        self.offset += timedelta(seconds=seconds)


class Driver:
    """The facade, its main queue and the plan's steps."""

    def __init__(
        self, kiosk: Kiosk, queue: MainQueue, clock: ShiftedClock, stripe_url: str, manager_pin: str
    ) -> None:
        self.kiosk = kiosk
        self.queue = queue
        self.clock = clock
        self.stripe_url = stripe_url
        self.manager_pin = manager_pin
        self.phase: PaymentPhase | None = None

    def until(self, done: Callable[[], bool], timeout_s: float = STEP_WAIT_S) -> bool:
        """Run the main queue (ticking the facade) until ``done()``; False after the timeout."""
        deadline = time.monotonic() + timeout_s
        next_tick = time.monotonic() + TICK_S
        while not done():
            now = time.monotonic()
            if now >= deadline:
                return False
            if now >= next_tick:
                self.kiosk.tick()
                next_tick = now + TICK_S
            self.queue.run_pending(wait_s=0.05)
            self._report_phase()
        return True

    def _report_phase(self) -> None:
        """Say when the card payment's phase changes (waiting for the card, authorising)."""
        phase = self.kiosk.checkout.payment_phase
        if phase != self.phase:
            self.phase = phase
            if phase is not None:
                say(step=phase.value)

    def state(self) -> CheckoutState:
        """The checkout's state now."""
        return self.kiosk.checkout.state

    def customer_at_reader(self, behaviour: str, card: str = APPROVED_CARD) -> None:
        """Tell the emulator how the next customer at the reader behaves."""
        body = json.dumps({"behaviour": behaviour, "card": card, "after_s": TAP_AFTER_S})
        request = urllib.request.Request(
            f"{self.stripe_url}/_emulator/customer",
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()

    def pay_once(self) -> str:
        """Press Pay and wait until the try ends: ``paid``, ``shopping`` (back at the cart),
        or the state it was stuck in."""
        self.kiosk.pay()
        self.until(lambda: self.state() is not CheckoutState.SHOPPING, 3.0)
        self.until(lambda: self.state() is not CheckoutState.PAYING)
        return self.state().value

    def receipt_and_done(self, choice: str) -> None:
        """On the paid screen: choose the receipt, then Done until the session ends."""
        self.kiosk.choose_receipt(ReceiptChoice(choice))
        self.until(lambda: False, 0.2)
        for _ in range(20):
            if self.state() is not CheckoutState.PAID:
                return
            self.kiosk.finish()
            self.until(lambda: self.state() is not CheckoutState.PAID, 0.3)

    def walk_away(self) -> None:
        """The customer leaves: time passes until the kiosk gives up on the sale."""
        for _ in range(40):
            if self.kiosk.checkout.sale_id is None:
                return
            self.clock.advance(5.0)
            self.kiosk.tick()
            self.until(lambda: False, 0.1)

    def cancel(self) -> None:
        """The customer goes back to the cart and cancels the sale."""
        if self.state() is CheckoutState.PAYING:
            self.kiosk.back_to_cart()
        self.until(lambda: not self.kiosk.checkout.payment_pending, 15.0)
        self.kiosk.cancel_sale()
        self.until(lambda: self.kiosk.checkout.sale_id is None, 5.0)

    def finish_sale(self, kind: str, receipt: str, then: str = "pay") -> None:
        """Pay the sale on screen as customer ``kind`` would, and end it (``then``: after a
        decline, ``pay`` with another card or ``cancel``)."""
        if kind in ("approve", "decline"):
            self.customer_at_reader("tap", DECLINED_CARD if kind == "decline" else APPROVED_CARD)
        else:
            self.customer_at_reader("never")
        say(step="pay", kind=kind, sale_id=self.kiosk.checkout.sale_id)
        if kind in ("walk_away", "cancel"):
            self.kiosk.pay()
            self.until(lambda: False, WAIT_AT_READER_S)  # looks at the reader, does not tap
            say(step=kind)
            self.walk_away() if kind == "walk_away" else self.cancel()
        else:
            ended = self.pay_once()
            if kind == "decline" and ended == CheckoutState.SHOPPING.value:
                if then == "pay":
                    self.customer_at_reader("tap", APPROVED_CARD)  # another card, same intent
                    say(step="pay_again", sale_id=self.kiosk.checkout.sale_id)
                    self.pay_once()
                else:
                    say(step="cancel")
                    self.cancel()
        if self.state() is CheckoutState.PAID:
            say(step="paid", sale_id=self.kiosk.checkout.sale_id)
            say(step="receipt", choice=receipt)
            self.receipt_and_done(receipt)
        elif self.kiosk.checkout.sale_id is not None and self.state() is CheckoutState.SHOPPING:
            say(step="gave_up", code=self.kiosk.checkout.payment_code)
            self.cancel()  # the payment did not go through: the customer leaves the cart
        say(step="ended", state=self.state().value)

    def customer(self, number: int, plan: dict[str, Any]) -> None:
        """One customer: scan the items, then pay as their kind does."""
        say(step="scan", customer=number)
        for code in plan["items"]:
            lines = len(self.kiosk.checkout.cart.lines)
            self.kiosk.scan(f"{code}\r\n".encode())
            self.until(self._more_lines_than(lines), 5.0)
        self.finish_sale(plan["kind"], plan.get("receipt", "print"), plan.get("then", "pay"))

    def _more_lines_than(self, lines: int) -> Callable[[], bool]:
        """Whether the cart has more than ``lines`` lines (a scan arrived)."""
        return lambda: len(self.kiosk.checkout.cart.lines) > lines

    def restored(self, what: str) -> None:
        """A cart restored at start (or a sale still on screen): pay it or cancel it."""
        if self.kiosk.checkout.sale_id is None:
            return
        say(step="restored", what=what, state=self.state().value)
        if self.state() is CheckoutState.PAID:
            self.receipt_and_done("print")
        elif what == "pay" and self.kiosk.checkout.cart.lines:
            self.finish_sale("approve", "print")
        else:
            self.cancel()

    def refund(self, sale_id: str, amount: int | None, twice: bool) -> None:
        """A manager signs in and refunds ``amount`` (None: all that is left), maybe twice."""
        menu = self.kiosk.staff
        if menu.session is None:
            say(step="sign_in")
            menu.log_in(MANAGER, self.manager_pin)
            self.until(lambda: menu.session is not None, 10.0)
        answers: list[str] = []
        say(step="refund", sale_id=sale_id, amount=amount, twice=twice)
        for _ in range(2 if twice else 1):
            menu.refund(sale_id, amount, answers.append)
        self.until(lambda: len(answers) >= (2 if twice else 1))
        say(step="refunded", sale_id=sale_id, answers=answers)

    def idle(self, seconds: float) -> None:
        """Nobody at the kiosk for ``seconds`` (real time): ticks, sync, probes, recovery."""
        if seconds > 0:
            say(step="idle", seconds=seconds)
            self.until(lambda: False, seconds)


def main(argv: list[str]) -> int:
    """Start the kiosk, play the plan, close cleanly; exit 0."""
    config, plan = Path(argv[0]), json.loads(argv[1])
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    settings = load_settings(config)
    queue, clock = MainQueue(), ShiftedClock()
    kiosk = Kiosk(settings, post_to_main=queue.post, clock=clock, config_path=config)
    say(step="starting", pid=os.getpid())
    report = kiosk.start()
    say(step="started", restored=report.restored_sale_id, abandoned=len(report.abandoned_sale_ids))
    driver = Driver(
        kiosk, queue, clock, settings.stripe.api_base, os.environ.get("SOAK_MANAGER_PIN", "")
    )
    try:
        driver.until(lambda: kiosk.checkout.state is not CheckoutState.PAYING)
        driver.restored(plan.get("restored", "cancel"))
        for number, customer in enumerate(plan.get("customers", [])):
            driver.customer(number, customer)
        for refund in plan.get("refunds", []):
            driver.refund(refund["sale_id"], refund.get("amount"), bool(refund.get("twice")))
        driver.idle(float(plan.get("idle_s", 0)))
    finally:
        say(step="closing")
        kiosk.close()
    say(step="closed")
    return 0


# ------------------------------------------------------------------------- the fork server

PRELOADED = (
    "stripe",
    "kiosk.payments.stripe.terminal",
    "kiosk.payments.stripe.api",
    "kiosk.payments.stripe.recovery",
    "kiosk.receipts.jobs",
    "kiosk.sync.relay",
    "kiosk.staff_menu",
    "kiosk.devices.printer",
)
"""Modules the kiosk loads after its first screen (start-up, the first payment, the staff
menu); the fork server loads them once, so no run pays for them."""


def child(order: dict[str, Any]) -> None:
    """In a forked child: take the order's files and environment, run `main`, exit."""
    code = 1
    try:
        for fd, path, mode in (
            (1, order["stdout"], os.O_WRONLY),
            (2, order["stderr"], os.O_WRONLY),
        ):
            opened = os.open(path, mode | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(opened, fd)
            os.close(opened)
        nothing = os.open(os.devnull, os.O_RDONLY)
        os.dup2(nothing, 0)
        os.close(nothing)
        os.environ.clear()
        os.environ.update(order["environment"])
        code = main([order["config"], json.dumps(order["plan"])])
    except BaseException:  # the run is over either way; the soak reads the log
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def reap() -> None:
    """Report every child that ended: ``{"exit": pid, "code": exit code}`` (-9: SIGKILL)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        sys.stdout.write(
            json.dumps({"exit": pid, "code": os.waitstatus_to_exitcode(status)}) + "\n"
        )
        sys.stdout.flush()


def fork_server() -> int:
    """Serve the soak: load the kiosk's modules once, then for each order (one JSON line on
    stdin: config, plan, environment, stdout and stderr files) fork a kiosk process and answer
    ``{"pid": pid}``; report each exit. One thread only, so forking is safe."""
    import importlib
    import select

    import kiosk.app  # noqa: F401  (loaded before the first fork)

    for name in PRELOADED:
        importlib.import_module(name)
    sys.stdout.write(json.dumps({"ready": os.getpid()}) + "\n")
    sys.stdout.flush()
    pending = b""
    while True:
        ready, _, _ = select.select([0], [], [], 0.05)
        reap()
        if not ready:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            return 0
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            order = json.loads(line)
            pid = os.fork()
            if pid == 0:
                child(order)
            sys.stdout.write(json.dumps({"pid": pid}) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(fork_server() if sys.argv[1:] == ["--fork-server"] else main(sys.argv[1:]))
