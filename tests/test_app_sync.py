"""The facade with a back office: paid sales reach it, sync has a heartbeat, and a kiosk
without a token sells on.

Real everything: the embedded Stripe emulator takes the card, SQLite files in tmp_path, and
the reference back office runs as a separate process on loopback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hq_support import HQProcess, start_hq
from stdnum import ean

from kiosk.app import Kiosk
from kiosk.config import Secrets, SecretStr, Settings, demo_settings
from kiosk.config.settings import CatalogSettings
from kiosk.core.checkout_states import CheckoutState
from kiosk.main_queue import MainQueue
from kiosk.sim.demo_shop import prepare_demo
from kiosk.sim.stripe_emulator import StripeEmulator
from kiosk.store.db import open_database

JUICE = b"5012345001012\r\n"  # Orange juice 1 l, 1.89
WAIT_S = 20.0
"""A guard against hanging, not a timing assertion."""


def shop_settings(tmp_path: Path, backoffice_url: str) -> Settings:
    base = demo_settings(tmp_path / "state", backoffice_url=backoffice_url)
    db = open_database(Path(base.state_dir) / "kiosk.db")
    prepare_demo(db, base, now=datetime(2026, 11, 1, tzinfo=UTC), work_dir=tmp_path)
    db.close()
    stripe = replace(base.stripe, poll_interval_ms=100)
    return replace(base, stripe=stripe)


class Shop:
    """A started kiosk with card payments on the embedded emulator."""

    def __init__(self, settings: Settings, secrets: Secrets) -> None:
        self.queue = MainQueue()
        self.kiosk = Kiosk(settings, post_to_main=self.queue.post, secrets=secrets,
                           clock=lambda: datetime.now(UTC))
        self.kiosk.start()

    @property
    def emulator(self) -> StripeEmulator:
        emulator = self.kiosk.stripe_emulator
        assert emulator is not None
        return emulator

    def until(self, done: Callable[[], bool]) -> None:
        self.queue.run_until(done, WAIT_S)

    def sell_juice(self) -> str:
        """Scan a juice and pay by card; the paid sale's id."""
        self.emulator.customer("tap", after_s=0.05)
        self.kiosk.scan(JUICE)
        sale_id = self.kiosk.checkout.sale_id
        assert sale_id is not None
        self.kiosk.pay()
        self.until(lambda: self.kiosk.checkout.state is CheckoutState.PAID)
        return sale_id


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[HQProcess]:
    process = start_hq(tmp_path / "hq")
    yield process
    process.stop()


def test_a_paid_sale_reaches_the_back_office_and_sync_has_a_heartbeat(
    tmp_path: Path, hq: HQProcess
) -> None:
    settings = shop_settings(tmp_path, hq.url)
    token = hq.token_for(settings.kiosk_id)
    shop = Shop(settings, Secrets(backoffice_token=SecretStr(token)))
    try:
        assert "sync" in shop.kiosk.heartbeats()
        sale_id = shop.sell_juice()
        shop.until(lambda: any(
            event["topic"] == "sale.paid" and event["sale_id"] == sale_id
            for event in hq.events(settings.kiosk_id)
        ))
        shop.until(lambda: (status := shop.kiosk.sync_status()) is not None
                   and status.pending == 0)
        status = shop.kiosk.sync_status()
        assert status is not None
        assert status.last_success_at is not None
        assert status.oldest_pending_at is None
    finally:
        shop.kiosk.close()
    paid = [event for event in hq.events(settings.kiosk_id) if event["topic"] == "sale.paid"]
    assert [event["sale_id"] for event in paid] == [sale_id]
    assert "sync" not in shop.kiosk.heartbeats()


def test_a_sync_thread_that_ended_on_its_own_still_shows_in_heartbeats_and_goes_stale(
    tmp_path: Path, hq: HQProcess
) -> None:
    settings = shop_settings(tmp_path, hq.url)
    shop = Shop(settings, Secrets(backoffice_token=SecretStr(hq.token_for(settings.kiosk_id))))
    try:
        relay = shop.kiosk.sync_relay
        assert relay is not None
        relay.stop(timeout_s=WAIT_S)  # its thread ends; the kiosk still holds the relay
        assert not relay.running
        last_beat = relay.heartbeat
        shop.sell_juice()  # the kiosk works on; the store worker turns its loop
        beats = shop.kiosk.heartbeats()
        assert beats["sync"] == last_beat  # reported, and no longer moving: stale
        assert beats["store"] > last_beat  # the store worker's heartbeat went on
    finally:
        shop.kiosk.close()
    assert "sync" not in shop.kiosk.heartbeats()  # a deliberate close removes it


def test_a_kiosk_without_a_token_sells_and_says_sync_is_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = shop_settings(tmp_path, "http://127.0.0.1:9")
    with caplog.at_level(logging.WARNING, logger="kiosk.app"):
        shop = Shop(settings, Secrets())
    try:
        sale_id = shop.sell_juice()
        assert "sync" not in shop.kiosk.heartbeats()
        assert shop.kiosk.sync_status() is None
        shop.kiosk.sync_now()  # nothing to wake: harmless
    finally:
        shop.kiosk.close()
    assert any("back-office sync is off" in record.getMessage()
               and "no back-office token" in record.getMessage()
               for record in caplog.records)
    db = open_database(Path(settings.state_dir) / "kiosk.db", check=False)
    try:
        rows = db.execute(
            "SELECT acked_at FROM outbox WHERE sale_id = ? AND topic = 'sale.paid'", [sale_id]
        ).fetchall()
    finally:
        db.close()
    assert rows == [(None,)]


def test_the_running_kiosk_takes_its_catalog_from_the_back_office_and_sells_from_it(
    tmp_path: Path, hq: HQProcess, caplog: pytest.LogCaptureFixture
) -> None:
    base = shop_settings(tmp_path, hq.url)
    settings = replace(base, catalog=CatalogSettings(source="backoffice"))
    tea = "0" + "400638133400" + ean.calc_check_digit("400638133400")
    with hq.store() as store:
        store.replace_catalog("EUR", [{
            "code": tea, "name": "Green tea", "price_minor": 279, "tax_class": "reduced",
            "min_age": None, "sold_by_weight": False, "unit_price_per_kg_minor": None,
            "department": "Drinks",
        }], datetime.now(UTC))
    token = hq.token_for(settings.kiosk_id)
    with caplog.at_level(logging.INFO, logger="kiosk.sync.chores"):
        shop = Shop(settings, Secrets(backoffice_token=SecretStr(token)))
        try:
            # The relay's first pass is followed by the catalog pull and a retention run.
            shop.until(lambda: any("retention:" in r.getMessage() for r in caplog.records))
            shop.kiosk.scan(tea[1:].encode() + b"\r\n")
            (line,) = shop.kiosk.checkout.cart.lines
            assert (line.name, line.unit_price_minor) == ("Green tea", 279)
            shop.kiosk.scan(JUICE)  # the sample catalog's juice is gone: the feed owns it
            assert shop.kiosk.checkout.state is CheckoutState.NEEDS_ATTENDANT
        finally:
            shop.kiosk.close()
    assert any("catalog" in r.getMessage() and "applied" in r.getMessage()
               for r in caplog.records)
