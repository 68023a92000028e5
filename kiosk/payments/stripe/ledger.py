"""The payment ledger: what the live payment flow, recovery and refunds share.

It commits protocol steps through the store worker (with the crash points around each
commit), reads attempts, and settles a PaymentIntent that took the money: ``succeeded`` is
recorded paid; ``requires_capture`` is committed ``authorised`` and then captured with the
persisted key. Runs on the payment thread.

The Stripe gateway (and with it the stripe library) is built on first use, so a kiosk that
takes no card payment never loads the library.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlite_utils import Database

from kiosk.payments import attempts, lost_authorisations
from kiosk.payments.attempts import PaymentAttempt
from kiosk.payments.crashpoints import crashpoint
from kiosk.payments.protocol import AttemptState, IntentStatus, Operation
from kiosk.payments.settings import PaymentSettings
from kiosk.payments.stripe.failures import StripeFailure
from kiosk.store.db import install_id
from kiosk.store.worker import StoreWorker

if TYPE_CHECKING:
    from kiosk.payments.stripe.api import StripeGateway

log = logging.getLogger(__name__)

T = TypeVar("T")


class PaymentLedger:
    """Shared plumbing of the payment thread: store commits, reads and settling a payment.

    Give either ``gateway`` or ``connect`` (builds the gateway on first use).
    ``store_timeout_s`` (seconds) bounds the wait for one store job.
    """

    def __init__(self, *, store: StoreWorker, settings: PaymentSettings,
                 clock: Callable[[], datetime], gateway: StripeGateway | None = None,
                 connect: Callable[[], StripeGateway] | None = None,
                 store_timeout_s: float = 30.0) -> None:
        if gateway is None and connect is None:
            raise ValueError("a gateway or a way to connect one is needed")
        self._gateway = gateway
        self._connect = connect
        self._connecting = threading.Lock()
        self.store = store
        self.settings = settings
        self.clock = clock
        self.store_timeout_s = store_timeout_s
        self._install_id: str | None = None

    @property
    def gateway(self) -> StripeGateway:
        """The Stripe gateway, built (and the stripe library loaded) on first use."""
        if self._gateway is None:
            with self._connecting:
                if self._gateway is None:
                    assert self._connect is not None
                    self._gateway = self._connect()
        return self._gateway

    @property
    def connected(self) -> bool:
        """True once the gateway is built (the stripe library is loaded)."""
        return self._gateway is not None

    @property
    def install_id(self) -> str:
        """This database's install id (read once)."""
        if self._install_id is None:
            self._install_id = self.read(install_id)
        return self._install_id

    def commit(self, step: str, job: Callable[[Database], T]) -> T:
        """Run one protocol commit on the store worker and wait for it (crash points around)."""
        crashpoint(f"before_commit:{step}")
        result = self.store.submit(job).result(self.store_timeout_s)
        crashpoint(f"after_commit:{step}")
        return result

    def note(self, job: Callable[[Database], T]) -> T:
        """Run a bookkeeping write that is no protocol step (no crash points around it), such
        as the orphan sweep's status, and wait for it."""
        return self.store.submit(job).result(self.store_timeout_s)

    def read(self, job: Callable[[Database], T]) -> T:
        """Run a read on the store worker (after every queued write) and return its result."""
        return self.store.submit(job).result(self.store_timeout_s)

    def attempt(self, sale_id: str) -> PaymentAttempt | None:
        """The sale's attempt as committed now."""
        return self.read(lambda db: attempts.get(db, sale_id))

    def metadata(self, sale_id: str) -> dict[str, str]:
        """The PaymentIntent metadata that ties it to this sale, kiosk and database."""
        return {"sale_id": sale_id, "kiosk_id": self.settings.kiosk_id,
                "install_id": self.install_id}

    def is_ours(self, intent: dict[str, Any]) -> bool:
        """True when the PaymentIntent carries this database's install id."""
        return (intent.get("metadata") or {}).get("install_id") == self.install_id

    # ----------------------------------------------------------------- settling

    def record_paid(self, attempt: PaymentAttempt,
                    intent: dict[str, Any]) -> tuple[PaymentAttempt, bool]:
        """Commit ``paid`` (with outbox rows) for a succeeded PaymentIntent.

        Returns the attempt and whether this call recorded it. Fetches the expanded charge
        first if ``intent`` lacks it (best effort: the payment is recorded either way).
        """
        if not isinstance(intent.get("latest_charge"), dict):
            try:
                intent = self.gateway.retrieve_intent(intent["id"])
            except StripeFailure as failure:
                log.warning("recording %s paid without card details: %s", intent["id"], failure)
        at = self.clock()
        kiosk_id = self.settings.kiosk_id
        return self.commit("paid", lambda db: attempts.record_paid(
            db, attempt.id, intent, at=at, kiosk_id=kiosk_id))

    def settle_taken(self, attempt: PaymentAttempt,
                     intent: dict[str, Any]) -> tuple[PaymentAttempt | None, bool]:
        """Settle a PaymentIntent that took the money (``succeeded`` or ``requires_capture``).

        Returns the attempt once paid (``None`` while the capture is unresolved; it stays
        ``authorised`` and is retried with the same key) and whether this call recorded it.
        """
        status = intent.get("status")
        if status == IntentStatus.SUCCEEDED:
            return self.record_paid(attempt, intent)
        if status != IntentStatus.REQUIRES_CAPTURE:
            return None, False
        at = self.clock()
        attempt = self.commit("authorised", lambda db: attempts.record_authorised(
            db, attempt.id, intent, at=at))
        if attempt.state == AttemptState.PAID:
            return attempt, False
        return self.capture(attempt)

    def capture(self, attempt: PaymentAttempt) -> tuple[PaymentAttempt | None, bool]:
        """Capture an ``authorised`` attempt with its persisted key; a fresh key only after an
        error and a look that shows the PaymentIntent still awaits capture. A PaymentIntent
        found cancelled is a lost authorisation: the attempt comes back ``abandoned``."""
        intent_id = attempt.payment_intent_id
        if intent_id is None or attempt.capture_key is None:
            return None, False
        for _ in range(3):
            assert attempt.capture_key is not None
            try:
                intent = self.gateway.capture(intent_id, attempt.capture_key)
            except StripeFailure as failure:
                try:
                    intent = self.gateway.retrieve_intent(intent_id)
                except StripeFailure:
                    log.warning("capture of %s unresolved: %s", intent_id, failure)
                    return None, False
                status = intent.get("status")
                if status == IntentStatus.SUCCEEDED:
                    return self.record_paid(attempt, intent)
                if status == IntentStatus.CANCELED:
                    return self.authorisation_lost(attempt), False
                if status != IntentStatus.REQUIRES_CAPTURE:
                    log.error("capture of %s: the intent is %s", intent_id, status)
                    return None, False
                attempt = self.commit("capture_key", _mint(attempt.id, Operation.CAPTURE,
                                                           self.clock()))
                continue
            if intent.get("status") == IntentStatus.SUCCEEDED:
                return self.record_paid(attempt, intent)
            log.error("capture of %s returned status %s", intent_id, intent.get("status"))
            return None, False
        return None, False

    def authorisation_lost(self, attempt: PaymentAttempt) -> PaymentAttempt:
        """The authorisation was cancelled at Stripe (expired, or by hand in the Dashboard):
        final. The attempt and the sale end ``abandoned`` (`lost_authorisations.LOST_REASON`)
        with a synced anomaly and a staff notice (`kiosk.payments.lost_authorisations`)."""
        at = self.clock()
        log.error("the authorisation of sale %s was cancelled at Stripe; sale abandoned",
                  attempt.sale_id)
        self.commit("abandoned", lambda db: lost_authorisations.record_lost(
            db, attempt.id, at=at))
        lost = self.attempt(attempt.sale_id)
        assert lost is not None
        return lost

    def find_intents_for_sale(self, sale_id: str, since_unix: int) -> list[dict[str, Any]]:
        """PaymentIntents created since ``since_unix`` (unix seconds) whose metadata names
        this sale and this database, newest first (paginated, at most 20 pages)."""
        found: list[dict[str, Any]] = []
        for intent in self.list_intents(since_unix):
            metadata = intent.get("metadata") or {}
            if metadata.get("sale_id") == sale_id and self.is_ours(intent):
                found.append(intent)
        return found

    def list_intents(self, since_unix: int, max_pages: int = 20) -> list[dict[str, Any]]:
        """Every PaymentIntent created since ``since_unix`` (unix seconds), newest first."""
        intents: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(max_pages):
            page = self.gateway.list_intents(since_unix, starting_after=after)
            intents.extend(page.intents)
            if not page.has_more or not page.intents:
                break
            after = page.intents[-1]["id"]
        return intents


def _mint(attempt_id: str, operation: Operation,
          at: datetime) -> Callable[[Database], PaymentAttempt]:
    """The store job that commits a fresh key for ``operation``."""
    return lambda db: attempts.mint_key(db, attempt_id, operation, at=at)
