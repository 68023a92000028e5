"""The catalog pull against the reference back office, started as a real process on loopback:
conditional requests, the feed applied atomically (only when the catalog source is the back
office), and every failure reported as a sentence with nothing changed."""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from hq_support import HQProcess, start_hq
from stdnum import ean

from kiosk.config import Settings, demo_settings
from kiosk.config.settings import CatalogSettings
from kiosk.core.timestamps import utc_now_iso
from kiosk.store.worker import StoreWorker
from kiosk.sync.catalog_pull import PullResult, pull_catalog
from kiosk.sync.http import MAX_CATALOG_BYTES, make_client
from kiosk.wire import CATALOG_PATH

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
KIOSK_ID = "demo"  # demo_settings' kiosk id


def gtin(body: str) -> str:
    return "0" + body + ean.calc_check_digit(body)


TEA = gtin("400638133400")
COFFEE = gtin("400638133401")


def product(code: str, name: str, price_minor: int, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "code": code, "name": name, "price_minor": price_minor, "tax_class": "reduced",
        "min_age": None, "sold_by_weight": False, "unit_price_per_kg_minor": None,
        "department": None,
    }
    row.update(fields)
    return row


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[HQProcess]:
    with start_hq(tmp_path / "hq", faults=True) as server:
        yield server


def publish(hq: HQProcess, *products: dict[str, Any], currency: str = "EUR") -> str:
    """Make the back office's catalog exactly ``products``; return its version."""
    with hq.store() as store:
        return store.replace_catalog(currency, list(products), NOW).version


def settings_for(
    tmp_path: Path, hq: HQProcess, source: Literal["csv", "backoffice"] = "backoffice"
) -> Settings:
    settings = demo_settings(tmp_path / "state", backoffice_url=hq.url)
    return replace(settings, catalog=CatalogSettings(source=source))


class Kiosk:
    """The kiosk side of a pull: its store worker, an HTTP client with its token, and what
    the client saw (the status of every answer, the If-None-Match of every request)."""

    def __init__(self, settings: Settings, token: str) -> None:
        self.settings = settings
        self.database = Path(settings.state_dir) / "kiosk.db"
        self.store = StoreWorker(self.database)
        self.statuses: list[int] = []
        self.sent_etags: list[str | None] = []
        self.client = make_client(settings.backoffice.url, token, 5.0)
        self.client.event_hooks["request"].append(
            lambda request: self.sent_etags.append(request.headers.get("If-None-Match")))
        self.client.event_hooks["response"].append(
            lambda response: self.statuses.append(response.status_code))

    def pull(self, now: datetime = NOW) -> PullResult:
        return pull_catalog(self.client, self.store, self.settings, now)

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.database) as conn:
            found = conn.execute(sql, params).fetchall()
        conn.close()
        return found

    def products(self) -> list[tuple[Any, ...]]:
        return self.rows("SELECT code, name, price_minor, source FROM products ORDER BY code")

    def state(self) -> dict[str, str]:
        return dict(self.rows("SELECT key, value FROM sync_state"))

    def close(self) -> None:
        self.client.close()
        self.store.close()


@pytest.fixture
def kiosk(tmp_path: Path, hq: HQProcess) -> Iterator[Kiosk]:
    shop = Kiosk(settings_for(tmp_path, hq), hq.token_for(KIOSK_ID))
    yield shop
    shop.close()


def test_a_first_pull_applies_the_catalog_and_keeps_its_etag(hq: HQProcess, kiosk: Kiosk) -> None:
    version = publish(hq, product(TEA, "Green tea", 249), product(COFFEE, "Coffee", 899))

    result = kiosk.pull()

    assert result == PullResult(changed=True, products=2, version=version, error=None)
    assert kiosk.products() == [
        (TEA, "Green tea", 249, "backoffice"), (COFFEE, "Coffee", 899, "backoffice"),
    ]
    assert kiosk.state() == {
        "catalog_etag": f'"{version}"',
        "catalog_version": version,
        "catalog_checked_at": utc_now_iso(NOW),
    }
    assert kiosk.sent_etags == [None]


def test_an_unchanged_catalog_is_not_downloaded_again(hq: HQProcess, kiosk: Kiosk) -> None:
    version = publish(hq, product(TEA, "Green tea", 249))
    kiosk.pull()

    later = NOW + timedelta(minutes=5)
    result = kiosk.pull(later)

    assert result == PullResult(changed=False, products=None, version=version, error=None)
    assert kiosk.statuses == [200, 304]
    assert kiosk.sent_etags == [None, f'"{version}"']
    assert kiosk.state()["catalog_checked_at"] == utc_now_iso(later)
    assert kiosk.products() == [(TEA, "Green tea", 249, "backoffice")]


def test_a_changed_catalog_replaces_the_back_office_products(
    hq: HQProcess, kiosk: Kiosk
) -> None:
    publish(hq, product(TEA, "Green tea", 249), product(COFFEE, "Coffee", 899))
    kiosk.pull()
    version = publish(hq, product(TEA, "Green tea", 279))

    result = kiosk.pull(NOW + timedelta(hours=1))

    assert (result.changed, result.products, result.version) == (True, 1, version)
    assert kiosk.products() == [(TEA, "Green tea", 279, "backoffice")]
    assert kiosk.state()["catalog_version"] == version


def test_with_a_csv_catalog_the_pull_only_reports_what_the_back_office_offers(
    tmp_path: Path, hq: HQProcess
) -> None:
    version = publish(hq, product(TEA, "Green tea", 249))
    shop = Kiosk(settings_for(tmp_path, hq, source="csv"), hq.token_for(KIOSK_ID))
    try:
        result = shop.pull()

        assert (result.changed, result.products, result.version, result.error) == (
            False, 1, version, None)
        assert result.note is not None and "'csv'" in result.note
        assert shop.products() == []
        assert shop.state() == {}
    finally:
        shop.close()


def test_a_feed_the_kiosk_cannot_accept_is_reported_and_changes_nothing(
    hq: HQProcess, kiosk: Kiosk
) -> None:
    good = publish(hq, product(TEA, "Green tea", 249))
    kiosk.pull()
    bad = publish(hq, product(TEA, "Green tea", 279),
                  product(COFFEE, "Coffee", 899, tax_class="luxury"))

    result = kiosk.pull(NOW + timedelta(hours=1))

    assert result.changed is False and result.version == good
    assert result.error is not None
    assert f"version {bad} was refused" in result.error
    assert "product 2, tax_class" in result.error and "unknown_tax_class" in result.error
    assert kiosk.products() == [(TEA, "Green tea", 249, "backoffice")]
    assert kiosk.state()["catalog_etag"] == f'"{good}"'  # so the next pull asks again


def test_a_feed_in_another_currency_is_refused(hq: HQProcess, kiosk: Kiosk) -> None:
    publish(hq, product(TEA, "Green tea", 249), currency="USD")

    result = kiosk.pull()

    assert result.error is not None and "currency_mismatch" in result.error
    assert kiosk.products() == [] and kiosk.state() == {}


def test_a_wrong_token_is_reported_without_the_token(tmp_path: Path, hq: HQProcess) -> None:
    publish(hq, product(TEA, "Green tea", 249))
    hq.token_for(KIOSK_ID)
    wrong = "wrong-token-" + "x" * 30
    shop = Kiosk(settings_for(tmp_path, hq), wrong)
    try:
        result = shop.pull()

        assert result.error is not None
        assert result.error.startswith("back office refused the kiosk's token (HTTP 401)")
        assert wrong not in result.error
        assert shop.products() == []
    finally:
        shop.close()


def test_a_server_error_is_reported_and_the_next_pull_succeeds(
    hq: HQProcess, kiosk: Kiosk
) -> None:
    version = publish(hq, product(TEA, "Green tea", 249))
    hq.fault(status=500, count=1, path=CATALOG_PATH)

    failed = kiosk.pull()
    recovered = kiosk.pull()

    assert failed.error is not None and failed.error.startswith("back office failed (HTTP 500)")
    assert (recovered.changed, recovered.version, recovered.error) == (True, version, None)
    assert kiosk.products() == [(TEA, "Green tea", 249, "backoffice")]


def test_an_unreachable_back_office_is_reported(hq: HQProcess, kiosk: Kiosk) -> None:
    hq.stop()

    result = kiosk.pull()

    assert result.error is not None and result.error.startswith("back office unreachable")
    assert hq.url in result.error
    assert kiosk.state() == {}


def test_a_slow_back_office_is_given_up_on_within_the_timeout(
    tmp_path: Path, hq: HQProcess
) -> None:
    publish(hq, product(TEA, "Green tea", 249))
    hq.fault(delay_s=3.0, count=1, path=CATALOG_PATH)
    settings = settings_for(tmp_path, hq)
    shop = Kiosk(settings, hq.token_for(KIOSK_ID))
    shop.client.timeout = httpx.Timeout(0.5)
    try:
        result = shop.pull()

        assert result.error == (
            "back office unreachable: no complete answer within 0.5 s to the catalog "
            f"request, from {hq.url}"
        )
        assert shop.products() == []
    finally:
        shop.close()


def test_a_back_office_without_a_catalog_is_an_error_only_when_the_kiosk_needs_one(
    tmp_path: Path, hq: HQProcess, kiosk: Kiosk
) -> None:
    needed = kiosk.pull()
    csv_shop = Kiosk(settings_for(tmp_path / "csv", hq, source="csv"), hq.token_for(KIOSK_ID))
    try:
        not_needed = csv_shop.pull()
    finally:
        csv_shop.close()

    assert needed.error is not None and "(HTTP 404)" in needed.error
    assert not_needed.error is None and not_needed.note == "the back office offers no catalog"


class Trickle:
    """A misbehaving back office on loopback (a test double of a bad network peer): it reads
    a request's head, sends ``at_once``, then ``trickled`` one byte every 50 ms and spaces
    after it, until the kiosk hangs up or the test ends."""

    def __init__(self, at_once: bytes, trickled: bytes = b"") -> None:
        self.at_once = at_once
        self.trickled = trickled
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def __enter__(self) -> Trickle:
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(20.0)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(20.0)
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(65536)
            drip = iter(self.trickled)
            conn.sendall(self.at_once)
            while not self._stop.wait(0.05):
                try:
                    conn.sendall(bytes([next(drip, 32)]))
                except OSError:  # the kiosk hung up: what a deadline does
                    return


def trickle_shop(tmp_path: Path, server: Trickle) -> Kiosk:
    settings = demo_settings(tmp_path / "state", backoffice_url=server.url)
    settings = replace(settings, catalog=CatalogSettings(source="backoffice"))
    shop = Kiosk(settings, "kiosk-token")
    shop.client.timeout = httpx.Timeout(1.0)
    return shop


def test_a_back_office_that_trickles_its_catalog_is_given_up_on_at_the_deadline(
    tmp_path: Path,
) -> None:
    with Trickle(b"H", b"TTP/1.1 200 OK\r\nX-Slow: ") as server:
        shop = trickle_shop(tmp_path, server)
        started = time.monotonic()
        try:
            result = shop.pull()
            took_s = time.monotonic() - started
            assert shop.products() == [] and shop.state() == {}
        finally:
            shop.close()
    assert result.error == (
        "back office unreachable: no complete answer within 1 s to the catalog request, "
        f"from {server.url}"
    )
    assert took_s < 3.0  # a generous bound: it ends near its 1 s deadline, not never


def test_a_catalog_larger_than_the_kiosk_takes_is_refused_without_reading_it(
    tmp_path: Path,
) -> None:
    opening = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n{" % (MAX_CATALOG_BYTES + 1))
    with Trickle(opening) as server:
        shop = trickle_shop(tmp_path, server)
        try:
            result = shop.pull()
            assert shop.products() == [] and shop.state() == {}
        finally:
            shop.close()
    assert result.error is not None
    assert result.error.startswith("back office unusable: answer too large")


def test_a_pull_waiting_for_a_busy_store_worker_keeps_its_heartbeat_fresh(
    hq: HQProcess, kiosk: Kiosk
) -> None:
    version = publish(hq, product(TEA, "Green tea", 249))
    busy = threading.Event()
    kiosk.store.submit(lambda db: busy.wait(20.0))  # held: the pull's store jobs wait
    beats: list[float] = []
    results: list[PullResult] = []
    puller = threading.Thread(target=lambda: results.append(pull_catalog(
        kiosk.client, kiosk.store, kiosk.settings, NOW, beat=lambda: beats.append(
            time.monotonic()))))
    puller.start()
    try:
        deadline = time.monotonic() + 20.0  # a guard against hanging
        while len(beats) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(beats) >= 3  # one beat a second while the store worker is held
        assert not results  # ... all the while inside the one pull
    finally:
        busy.set()
        puller.join(20.0)
    assert [(r.changed, r.version) for r in results] == [(True, version)]


def test_a_feed_with_fields_a_newer_back_office_added_is_applied_without_them(
    tmp_path: Path,
) -> None:
    body = json.dumps({
        "version": "newer-1", "currency": "EUR", "shelves": ["A"],
        "products": [product(TEA, "Green tea", 249, deposit_minor=25, shelf="A3")],
    }).encode()
    answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nETag: \"newer-1\"\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body)) + body
    with Trickle(answer) as server:
        shop = trickle_shop(tmp_path, server)
        try:
            result = shop.pull()
            applied = shop.products()
        finally:
            shop.close()
    assert result == PullResult(changed=True, products=1, version="newer-1", error=None)
    assert applied == [(TEA, "Green tea", 249, "backoffice")]
