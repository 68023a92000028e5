"""The sale's writes on the store worker, and their retries after a failed write.

The facade (``kiosk.app``) turns the checkout's effects into work; every one of them that
changes the database goes through a `SaleWriter`: the sale opened, its cart saved, abandoned, a
staff decision recorded. Each write runs on the store worker; a failure is logged and reported
on the main thread as ``StoreTrouble``, and is made good on the next `SaleWriter.retry`:

- a failed cart save leaves the sale *unsaved*: the next retry writes the sale's row and its
  whole current cart again (an older cart never overwrites a newer one);
- a failed idempotent write (an abandon, a staff decision's audit row) is submitted again.

Every method runs on the main thread; answers come back through ``post_to_main``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Any, TypeVar

from sqlite_utils import Database

from kiosk.config import Settings
from kiosk.core.cart import Cart, CartLine
from kiosk.core.checkout_events import ApprovalGiven
from kiosk.core.shop_rules import TaxPolicy
from kiosk.core.tax import TaxError, Totals
from kiosk.notices import Notice, StoreTrouble
from kiosk.store import audit
from kiosk.store.sales import SaleBook
from kiosk.store.worker import StoreWorker

log = logging.getLogger(__name__)

T = TypeVar("T")


class SaleWriter:
    """Writes one kiosk's sales on its store worker and retries what failed.

    The kiosk's id, the shop's currency and first language come from ``settings``; carts are
    totalled with ``policy``. ``store`` returns the store worker (raising ``RuntimeError``
    before the kiosk has started); ``post_to_main`` runs a callable on the main thread; ``emit``
    tells the screen (``StoreTrouble``); ``on_sale_number(sale_id, number)`` runs on the main
    thread once a sale opened has its per-kiosk number.
    """

    def __init__(
        self,
        settings: Settings,
        policy: TaxPolicy,
        *,
        store: Callable[[], StoreWorker],
        post_to_main: Callable[[Callable[[], None]], None],
        emit: Callable[[Notice], None],
        clock: Callable[[], datetime],
        on_sale_number: Callable[[str, int], None],
    ) -> None:
        self._store = store
        self._post = post_to_main
        self._emit = emit
        self._clock = clock
        self._kiosk_id = settings.kiosk_id
        self._currency = settings.shop.currency
        self._language = settings.shop.languages[0]
        self._policy = policy
        self._on_sale_number = on_sale_number
        self._unsaved_sale: str | None = None
        self._writes_to_retry: list[tuple[Callable[[Database], Any], str]] = []

    def retry(self, sale_id: str | None, cart: Cart) -> None:
        """Redo what failed since the last retry (call on each tick): the whole open sale
        ``sale_id`` with its current ``cart`` if a save of it failed, and every failed
        idempotent write."""
        if self._unsaved_sale is not None and self._unsaved_sale == sale_id:
            self.save_whole_sale(sale_id, cart)
        retries, self._writes_to_retry = self._writes_to_retry, []
        for job, what in retries:
            self.write(job, what, retry=True)

    def record_sale_opened(self, sale_id: str, at: datetime) -> None:
        """Record sale ``sale_id`` as opened at ``at``; its number reaches ``on_sale_number``."""
        kiosk_id, currency, language = self._kiosk_id, self._currency, self._language
        future = self.write(
            lambda db: SaleBook(db, kiosk_id).open_sale(
                sale_id, at=at, currency=currency, language=language
            ),
            f"open sale {sale_id}",
        )
        self.when_done(future, lambda number: self._on_sale_number(sale_id, number))

    def save_cart(self, sale_id: str, cart: Cart) -> None:
        """Save ``cart`` as the lines and totals of sale ``sale_id`` (the whole sale is written
        again on the next retry if this fails)."""
        try:
            totals = cart.totals(self._policy)
        except TaxError as error:  # the checkout and start() keep unknown tax classes out
            log.error("cart of sale %s has no tax rate for %s", sale_id, error)
            self._emit(StoreTrouble(f"could not save sale {sale_id}: {error}"))
            return
        kiosk_id, policy, lines = self._kiosk_id, self._policy, cart.lines
        at = self._clock()
        self.write(
            lambda db: SaleBook(db, kiosk_id).save_cart(sale_id, lines, totals, policy, at=at),
            f"save the cart of sale {sale_id}",
            retry_sale=sale_id,
        )

    def save_whole_sale(self, sale_id: str | None, cart: Cart) -> None:
        """Write the open sale again after a failed write: its row, then its whole cart."""
        if sale_id is None:
            return
        self._unsaved_sale = None
        self.record_sale_opened(sale_id, self._clock())
        self.save_cart(sale_id, cart)

    def abandon(self, sale_id: str, reason: str, at: datetime) -> None:
        """Record sale ``sale_id`` as abandoned for ``reason`` (retried until written)."""
        kiosk_id = self._kiosk_id
        self.write(
            lambda db: SaleBook(db, kiosk_id).abandon(sale_id, reason, at=at),
            f"abandon sale {sale_id}",
            retry=True,
        )

    def record_approval(self, effect: ApprovalGiven) -> None:
        """Write the one audit row of a staff decision (``checkout.<action>``) in the same
        transaction as what the decision changed: the cart it made, or the age approval.

        A failed write is retried: the audit row alone on the next tick, while the sale's
        current cart is written whole (an older cart must never overwrite a newer one).
        """
        kiosk_id, policy = self._kiosk_id, self._policy
        staff_number = int(effect.staff_number)
        sale_id = effect.sale_id
        approving = effect.action.startswith("approve.") or effect.action == "override_limit"
        detail: dict[str, Any] = {"sale_id": sale_id, **dict(effect.detail)}
        saved: tuple[tuple[CartLine, ...], Totals] | None = None
        if effect.cart is not None and sale_id is not None:
            try:
                saved = (effect.cart.lines, effect.cart.totals(policy))
            except TaxError:  # the CartChanged that follows reports it; the row still counts
                saved = None

        def record(db: Database) -> None:
            with db.atomic():
                audit.record(
                    db,
                    at=effect.at,
                    action=f"checkout.{effect.action}",
                    outcome="approved" if approving else "ok",
                    staff_number=staff_number,
                    detail=detail,
                )
                if effect.action == "approve.age_check" and sale_id:
                    SaleBook(db, kiosk_id).approve_age(sale_id, staff_number, at=effect.at)

        what = f"record the {effect.action} decision"
        if saved is None or sale_id is None:
            self.write(record, what, retry=True)
            return
        lines, totals = saved

        def change_and_record(db: Database) -> None:
            with db.atomic():
                SaleBook(db, kiosk_id).save_cart(sale_id, lines, totals, policy, at=effect.at)
                record(db)

        def failed(done: Future[None]) -> None:
            if done.exception() is not None:
                self._post(lambda: self._writes_to_retry.append((record, what)))

        self.write(change_and_record, what, retry_sale=sale_id).add_done_callback(failed)

    def write(
        self,
        job: Callable[[Database], T],
        what: str,
        *,
        retry_sale: str | None = None,
        retry: bool = False,
    ) -> Future[T]:
        """Run a write on the store worker; report a failure on the main thread.

        A failed cart save (``retry_sale``) is redone as a whole-sale write on the next retry;
        a failed ``retry`` job (idempotent: abandon, approval) is submitted again then.
        """
        future = self._store().submit(job)

        def failed(error: BaseException) -> None:
            log.error("could not %s: %s", what, error)
            if retry_sale is not None:
                self._unsaved_sale = retry_sale
            if retry:
                self._writes_to_retry.append((job, what))
            self._emit(StoreTrouble(f"could not {what}: {error}"))

        def on_done(done: Future[T]) -> None:
            error = done.exception()
            if error is not None:
                self._post(lambda: failed(error))

        future.add_done_callback(on_done)
        return future

    def when_done(self, future: Future[T], then: Callable[[T], Any]) -> None:
        """Call ``then(result)`` on the main thread once ``future`` succeeds."""
        future.add_done_callback(
            lambda done: self._post(lambda: then(done.result()))
            if done.exception() is None
            else None
        )

    def wait(self, timeout_s: float) -> None:
        """Return once every write submitted before this call has finished (the store worker
        runs its jobs in order); raise ``TimeoutError`` after ``timeout_s`` seconds."""
        self._store().submit(lambda _db: None).result(timeout_s)
