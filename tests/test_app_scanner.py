"""The facade with its scanner: frames from a real pty reach the cart; unplug and replug."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.app import Kiosk
from kiosk.config import Settings, demo_settings
from kiosk.main_queue import MainQueue
from kiosk.notices import Notice, ScannerStateChanged
from kiosk.sim.demo_shop import prepare_demo
from kiosk.sim.virtual_scanner import VirtualScanner
from kiosk.store.db import open_database

WAIT_S = 10.0
"""A guard against hanging, not a timing assertion."""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = demo_settings(tmp_path / "state")
    db = open_database(Path(settings.state_dir) / "kiosk.db")
    prepare_demo(db, settings, now=datetime(2026, 11, 1, tzinfo=UTC), work_dir=tmp_path)
    db.close()
    return settings


class Shop:
    def __init__(self, settings: Settings) -> None:
        self.queue = MainQueue()
        self.notices: list[Notice] = []
        self.kiosk = Kiosk(settings, post_to_main=self.queue.post, card_payments=False)
        self.kiosk.listen(self.notices.append)
        self.kiosk.start()

    def scanner_states(self) -> list[str]:
        return [n.state for n in self.notices if isinstance(n, ScannerStateChanged)]

    def wait_for(self, done: object) -> None:
        self.queue.run_until(done, WAIT_S)  # type: ignore[arg-type]

    def names(self) -> list[str]:
        return [line.name for line in self.kiosk.checkout.cart.lines]


@pytest.fixture
def shop(settings: Settings) -> Iterator[Shop]:
    shop = Shop(settings)
    yield shop
    shop.kiosk.close()


def test_a_frame_on_the_virtual_scanner_reaches_the_cart(shop: Shop) -> None:
    path = shop.kiosk.connect_scanner()  # [scanner] port = "virtual" in the demo
    virtual = shop.kiosk.virtual_scanner
    assert virtual is not None and path == virtual.path
    shop.wait_for(lambda: shop.kiosk.scanner_state.value == "connected")

    virtual.scan("4006381333931")
    shop.wait_for(lambda: shop.names() == ["Mineral water still 1.5 l"])
    assert "scanner" in shop.kiosk.heartbeats()


def test_an_unplugged_scanner_is_reported_and_a_replugged_one_scans_again(
    shop: Shop, tmp_path: Path
) -> None:
    with VirtualScanner(tmp_path / "kiosk-scanner") as device:
        shop.kiosk.connect_scanner(device.path)
        shop.wait_for(lambda: shop.kiosk.scanner_state.value == "connected")
        device.scan("4006381333931")
        shop.wait_for(lambda: len(shop.names()) == 1)

        device.unplug()
        shop.wait_for(lambda: shop.kiosk.scanner_state.value == "disconnected")
        device.replug()
        shop.wait_for(lambda: shop.kiosk.scanner_state.value == "connected")
        device.scan("5012345001050")
        shop.wait_for(lambda: len(shop.names()) == 2)

    assert shop.names() == ["Mineral water still 1.5 l", "Lager beer 0.5 l"]
    states = shop.scanner_states()
    assert states[-3:] == ["connected", "disconnected", "connected"]
