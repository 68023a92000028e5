"""The catalog pull: fetch the back office's catalog when it changed, and apply it.

One conditional request, ``GET /api/v1/catalog`` with ``If-None-Match`` set to the ETag kept
in ``sync_state`` (``catalog_etag``): ``304 Not Modified`` means the kiosk is up to date; a
``200`` carries the whole feed (``kiosk.wire.CatalogFeed``). The feed is applied only
when the shop's catalog source is the back office (``[catalog] source = "backoffice"``); with
a CSV catalog the pull only reports what the back office offers and changes nothing.

The feed's products (``kiosk.store.catalog_feed``) and the new ETag, version and time of the
check are written in one transaction of one store-worker job: a kiosk never believes it has a
catalog version it did not apply. Carts in progress keep the prices they were scanned at.
Every failure comes back as ``PullResult.error``, a sentence for staff that never contains
the token. The request has one deadline from sending to the last byte of the feed, and the feed
a size cap (``kiosk.sync.http.fetch_answer``); waits for the store worker are sliced so the
sync thread's heartbeat stays fresh while a large catalog is applied (`await_store`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import httpx
from sqlite_utils import Database

from kiosk.config import Settings
from kiosk.core.timestamps import utc_now_iso
from kiosk.store.catalog_feed import CatalogFeedRejected, apply_catalog_feed, describe_problem
from kiosk.store.db import immediate_transaction
from kiosk.store.worker import StoreWorker
from kiosk.sync.http import (
    MAX_CATALOG_BYTES,
    MAX_REQUEST_TIMEOUT_S,
    Answer,
    AnswerTooLarge,
    NoCompleteAnswer,
    fetch_answer,
)
from kiosk.wire import CATALOG_PATH, CatalogFeed, ErrorReply, ProtocolError

log = logging.getLogger(__name__)

CATALOG_ETAG = "catalog_etag"
CATALOG_VERSION = "catalog_version"
CATALOG_CHECKED_AT = "catalog_checked_at"
"""``sync_state`` keys: the ETag to send next time, the applied version, the last check."""

STORE_WAIT_S = 60.0
"""Seconds a pull waits for the store worker to apply a feed (a large catalog included)."""
STORE_SLICE_S = 1.0
"""Seconds between two heartbeats while waiting for the store worker."""

T = TypeVar("T")


def await_store(
    future: Future[T],
    timeout_s: float,
    *,
    beat: Callable[[], None] | None = None,
    slice_s: float = STORE_SLICE_S,
) -> T:
    """The result of a store-worker job, waited for up to ``timeout_s`` seconds in slices of
    ``slice_s`` seconds, calling ``beat()`` before each slice (the waiting thread's heartbeat
    stays fresh however long the job takes). Raises ``TimeoutError`` when the job is not done
    in time, or the job's own exception."""
    deadline = time.monotonic() + timeout_s
    while True:
        if beat is not None:
            beat()
        left = deadline - time.monotonic()
        done, _ = wait([future], timeout=max(0.0, min(slice_s, left)))
        if done:
            return future.result()
        if left <= slice_s:
            raise TimeoutError(f"the store worker did not finish within {timeout_s:g} s")


@dataclass(frozen=True)
class PullResult:
    """How one pull went.

    ``changed``: a new catalog was applied. ``products``: products written from the feed when
    it was applied, or the feed's size when it was fetched but not applied (see ``note``);
    ``None`` when no feed came (unchanged or failed). ``version``: the catalog version the
    kiosk now has, or the one the back office offers when it was not applied. ``error``: why
    the pull failed, a sentence. ``note``: why a fetched catalog was not applied, a sentence.
    """

    changed: bool
    products: int | None
    version: str | None
    error: str | None
    note: str | None = None


def pull_catalog(
    client: httpx.Client,
    store: StoreWorker,
    settings: Settings,
    now: datetime,
    *,
    timeout_s: float | None = None,
    beat: Callable[[], None] | None = None,
) -> PullResult:
    """Fetch the catalog from the back office ``client`` talks to (see
    ``kiosk.sync.http.make_client``) and apply it through ``store`` when it changed and the
    shop's catalog source is the back office. ``now`` (aware) stamps the rows and the check.

    ``timeout_s``: the deadline of the whole request, feed included (seconds; by default the
    client's read timeout). ``beat``: called at least every `STORE_SLICE_S` seconds while the
    pull waits for the store worker (the caller's heartbeat). Never raises for a network,
    protocol or catalog problem: see ``PullResult.error``.
    """
    stamp = utc_now_iso(now)
    deadline_s = timeout_s or client.timeout.read or MAX_REQUEST_TIMEOUT_S
    try:
        etag, applied_version = await_store(store.submit(_read_state), STORE_WAIT_S, beat=beat)
    except Exception as error:
        return PullResult(False, None, None, f"cannot read the sync state: {error}")
    response = _fetch(client, etag, deadline_s)
    if isinstance(response, str):
        return PullResult(False, None, applied_version, response)
    if response.status_code == 304:
        return _checked(store, _record_check(stamp), applied_version, beat)
    if response.status_code == 404 and settings.catalog.source != "backoffice":
        # A shop with its own CSV catalog needs none from the back office.
        return PullResult(False, None, applied_version, None,
                          note="the back office offers no catalog")
    if response.status_code != 200:
        return PullResult(False, None, applied_version, _refusal(response))
    try:
        feed = CatalogFeed.decode(response.content)
    except ProtocolError as error:
        return PullResult(False, None, applied_version,
                          f"the back office sent something else than a catalog: {error.message}")
    if settings.catalog.source != "backoffice":
        return PullResult(
            False, len(feed.products), feed.version, None,
            note=(f"the back office offers catalog version {feed.version} "
                  f"({len(feed.products)} products); not applied: the catalog source "
                  f"setting is {settings.catalog.source!r}"),
        )
    new_etag = response.headers.get("ETag") or f'"{feed.version}"'
    if feed.version == applied_version:  # a back office that ignores If-None-Match
        return _checked(store, _record_check(stamp, etag=new_etag), applied_version, beat)
    return _apply(store, _apply_job(feed, settings, now, new_etag, stamp), feed,
                  applied_version, beat)


def _fetch(client: httpx.Client, etag: str | None, deadline_s: float) -> Answer | str:
    """The back office's answer to the conditional catalog request, or why there is none (a
    sentence)."""
    headers = {"If-None-Match": etag} if etag else {}
    try:
        return fetch_answer(client, "GET", CATALOG_PATH, headers=headers,
                            deadline_s=deadline_s, max_bytes=MAX_CATALOG_BYTES)
    except NoCompleteAnswer as late:
        return (f"back office unreachable: {late} to the catalog request, "
                f"from {client.base_url}")
    except AnswerTooLarge as large:
        return f"back office unusable: {large} for a catalog, from {client.base_url}"
    except httpx.HTTPError as error:
        detail = (str(error) or type(error).__name__)[:300]
        return f"back office unreachable: {detail} ({client.base_url})"


def _apply(
    store: StoreWorker,
    job: Callable[[Database], int],
    feed: CatalogFeed,
    applied_version: str | None,
    beat: Callable[[], None] | None,
) -> PullResult:
    """Run the store-worker ``job`` applying ``feed``; the result of the pull."""
    try:
        written = await_store(store.submit(job), STORE_WAIT_S, beat=beat)
    except CatalogFeedRejected as rejected:
        shown = "; ".join(describe_problem(problem) for problem in rejected.problems[:3])
        more = f" (and {len(rejected.problems) - 3} more)" if len(rejected.problems) > 3 else ""
        return PullResult(
            False, None, applied_version,
            f"the back office's catalog version {feed.version} was refused and nothing "
            f"changed: {len(rejected.problems)} problem(s): {shown}{more}",
        )
    except Exception as error:  # the store failed: nothing was applied (one transaction)
        return PullResult(False, None, applied_version,
                          f"the catalog could not be stored: {error}")
    log.info("catalog version %s applied: %d products", feed.version, written)
    return PullResult(True, written, feed.version, None)


def _checked(
    store: StoreWorker,
    job: Callable[[Database], None],
    version: str | None,
    beat: Callable[[], None] | None,
) -> PullResult:
    """Record an "unchanged" check; the result of the pull."""
    try:
        await_store(store.submit(job), STORE_WAIT_S, beat=beat)
    except Exception as error:
        return PullResult(False, None, version, f"cannot record the catalog check: {error}")
    return PullResult(False, None, version, None)


def _read_state(db: Database) -> tuple[str | None, str | None]:
    state = dict(db.execute(
        "SELECT key, value FROM sync_state WHERE key IN (?, ?)", [CATALOG_ETAG, CATALOG_VERSION]
    ).fetchall())
    return state.get(CATALOG_ETAG), state.get(CATALOG_VERSION)


def _set_state(db: Database, values: dict[str, str]) -> None:
    for key, value in values.items():
        db.execute(
            "INSERT INTO sync_state (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )


def _record_check(stamp: str, *, etag: str | None = None) -> Callable[[Database], None]:
    """A store-worker job: note the time of the check (and the ETag, when given)."""

    def job(db: Database) -> None:
        values = {CATALOG_CHECKED_AT: stamp}
        if etag:
            values[CATALOG_ETAG] = etag
        with immediate_transaction(db):
            _set_state(db, values)

    return job


def _apply_job(
    feed: CatalogFeed, settings: Settings, now: datetime, etag: str, stamp: str
) -> Callable[[Database], int]:
    """A store-worker job: apply ``feed`` and record its ETag, version and the check, in one
    transaction; returns the products written."""
    tax_classes = tuple(settings.tax_policy().classes)
    currency = settings.shop.currency

    def job(db: Database) -> int:
        with immediate_transaction(db):
            written = apply_catalog_feed(
                db, feed, tax_classes=tax_classes, currency=currency, now=now
            )
            _set_state(db, {
                CATALOG_ETAG: etag, CATALOG_VERSION: feed.version, CATALOG_CHECKED_AT: stamp,
            })
        return written

    return job


def _refusal(response: Answer) -> str:
    reply = ErrorReply.decode(response.content)
    detail = f"{reply.error}: {reply.message}".strip(": ")
    status = response.status_code
    if status in (401, 403):
        return f"back office refused the kiosk's token (HTTP {status}): {detail}"
    if status >= 500:
        return f"back office failed (HTTP {status}): {detail}"
    return f"back office refused the catalog request (HTTP {status}): {detail}"
