"""``kiosk sync status`` and ``kiosk sync run``: what staff see, and one pass against the
reference back office started as a real process on loopback."""

from __future__ import annotations

import importlib
import json
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_support import (
    BASE_CONFIG,
    SAMPLE_CATALOG,
    SAMPLE_PRODUCTS,
    Shop,
    kiosk_running,
    write_config,
)
from click.testing import CliRunner, Result
from hq_support import HQProcess, sale_paid_event, start_hq

from kiosk.cli import cli
from kiosk.cli.sync import describe_age
from kiosk.core.timestamps import utc_now_iso
from kiosk.store.db import open_database

# The module, not the click group of the same name that kiosk.cli exports.
sync_cli = importlib.import_module("kiosk.cli.sync")

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
_KIOSK_VARIABLES = ("KIOSK_CONFIG", "STATE_DIRECTORY", "CREDENTIALS_DIRECTORY",
                    "KIOSK_STRIPE_API_KEY", "KIOSK_BACKOFFICE_TOKEN")


def invoke(args: list[str], *, token: str | None = None) -> Result:
    """Run ``kiosk`` in this process with the kiosk's variables unset (and the token set)."""
    env: dict[str, str | None] = dict.fromkeys(_KIOSK_VARIABLES)
    if token is not None:
        env["KIOSK_BACKOFFICE_TOKEN"] = token
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def shop_with(tmp_path: Path, backoffice_url: str = "") -> Shop:
    text = BASE_CONFIG
    if backoffice_url:
        text += f'\n[backoffice]\nurl = "{backoffice_url}"\n'
    return write_config(tmp_path, text)


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr(sync_cli, "utc_now", lambda: NOW)
    return NOW


def add_events(database: Path, *, count: int, created: datetime, acked: bool = False) -> None:
    db = open_database(database)
    try:
        with db.atomic():
            for _ in range(count):
                db.execute(
                    "INSERT INTO outbox (event_id, topic, sale_id, payload, created_at, acked_at) "
                    "VALUES (?, 'audit.recorded', NULL, ?, ?, ?)",
                    [str(uuid.uuid4()), json.dumps({"audit_id": 0}), utc_now_iso(created),
                     utc_now_iso(created) if acked else None],
                )
    finally:
        db.close()


def set_sync_state(database: Path, values: dict[str, str]) -> None:
    with sqlite3.connect(database) as conn:
        conn.executemany("INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)",
                         list(values.items()))
    conn.close()


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0, "0 s"), (45, "45 s"), (180, "3 min"), (3599, "59 min"), (7500, "2 h 5 min"),
     (7200, "2 h"), (86_400, "1 day"), (3 * 86_400 + 4 * 3600 + 59, "3 days 4 h")],
)
def test_ages_are_said_in_words_staff_read_at_a_glance(seconds: int, words: str) -> None:
    assert describe_age(seconds) == words


def test_status_shows_the_pending_count_the_oldest_age_and_the_last_success_and_error(
    tmp_path: Path, fixed_clock: datetime
) -> None:
    shop = shop_with(tmp_path, "https://backoffice.example")
    add_events(shop.database, count=2, created=NOW - timedelta(days=1), acked=True)
    add_events(shop.database, count=4, created=NOW - timedelta(minutes=3, seconds=20))
    add_events(shop.database, count=1, created=NOW - timedelta(seconds=5))
    set_sync_state(shop.database, {
        "last_success_at": utc_now_iso(NOW - timedelta(minutes=10)),
        "last_error": "back office unreachable: connection refused (https://backoffice.example)",
        "last_error_at": utc_now_iso(NOW - timedelta(minutes=2)),
        "catalog_version": "abc123",
        "catalog_checked_at": utc_now_iso(NOW - timedelta(hours=1)),
    })

    result = invoke(["sync", "status", "--config", str(shop.config)])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "Back office: https://backoffice.example" in lines
    assert "Pending: 5 event(s), the oldest waiting for 3 min" in lines
    # Shown in the shop's time zone (Europe/Berlin: UTC+1 in November).
    assert "Last success: 2026-11-26 12:50:00 (10 min ago)" in lines
    assert ("Last error: back office unreachable: connection refused "
            "(https://backoffice.example)") in lines
    assert "  at 2026-11-26 12:58:00 (2 min ago)" in lines
    assert "Catalog: version abc123, last checked 2026-11-26 12:00:00 (1 h ago)" in lines


def test_status_of_a_kiosk_that_never_synced_says_so(tmp_path: Path, fixed_clock: datetime) -> None:
    shop = shop_with(tmp_path)
    open_database(shop.database).close()

    result = invoke(["sync", "status", "--config", str(shop.config)])

    assert result.exit_code == 0, result.output
    assert "Back office: none configured" in result.output
    assert "Pending: nothing; the back office has every event" in result.output
    assert "Last success: never" in result.output
    assert "Last error: none" in result.output


def test_status_works_while_the_kiosk_runs_and_changes_nothing(
    tmp_path: Path, fixed_clock: datetime
) -> None:
    shop = shop_with(tmp_path, "https://backoffice.example")
    add_events(shop.database, count=3, created=NOW - timedelta(hours=2, minutes=1))
    before = shop.database.read_bytes()

    with kiosk_running(shop.state_dir):
        result = invoke(["sync", "status", "--config", str(shop.config)])

    assert result.exit_code == 0, result.output
    assert "Pending: 3 event(s), the oldest waiting for 2 h 1 min" in result.output
    with sqlite3.connect(shop.database) as conn:
        assert conn.execute("SELECT count(*) FROM outbox WHERE acked_at IS NULL").fetchone() \
            == (3,)
    conn.close()
    assert shop.database.read_bytes() == before


def test_status_without_a_database_fails_and_creates_none(tmp_path: Path) -> None:
    shop = shop_with(tmp_path)

    result = invoke(["sync", "status", "--config", str(shop.config)])

    assert result.exit_code == 1
    assert "no database" in result.output
    assert not shop.database.exists()


def test_run_without_a_back_office_address_explains_and_fails(tmp_path: Path) -> None:
    shop = shop_with(tmp_path)
    open_database(shop.database).close()

    result = invoke(["sync", "run", "--config", str(shop.config)], token="not-used")

    assert result.exit_code == 1
    assert "no back office is configured" in result.output
    assert "[backoffice] url" in result.output


def test_run_without_a_token_explains_where_it_goes_and_fails(tmp_path: Path) -> None:
    shop = shop_with(tmp_path, "https://backoffice.example")
    open_database(shop.database).close()

    result = invoke(["sync", "run", "--config", str(shop.config)])

    assert result.exit_code == 1
    assert "no back-office token" in result.output
    assert "KIOSK_BACKOFFICE_TOKEN" in result.output


def test_run_refuses_plain_http_to_another_machine_as_bad_configuration(tmp_path: Path) -> None:
    shop = shop_with(tmp_path, "http://backoffice.example")
    open_database(shop.database).close()

    result = invoke(["sync", "run", "--config", str(shop.config)], token="a-token")

    assert result.exit_code == 2
    assert "https://" in result.output
    assert "a-token" not in result.output


def test_run_refuses_with_status_3_while_the_kiosk_runs(tmp_path: Path) -> None:
    shop = shop_with(tmp_path, "https://backoffice.example")
    add_events(shop.database, count=2, created=NOW)

    with kiosk_running(shop.state_dir):
        result = invoke(["sync", "run", "--config", str(shop.config)], token="a-token")

    assert result.exit_code == 3
    assert "the kiosk is running" in result.output
    with sqlite3.connect(shop.database) as conn:
        assert conn.execute("SELECT count(*) FROM outbox WHERE acked_at IS NULL").fetchone() \
            == (2,)
    conn.close()


def test_run_against_an_unreachable_back_office_fails_with_the_reason_and_loses_nothing(
    tmp_path: Path, free_port: int
) -> None:
    shop = shop_with(tmp_path, f"http://127.0.0.1:{free_port}")
    add_events(shop.database, count=3, created=NOW)

    result = invoke(["sync", "run", "--config", str(shop.config)], token="a-token")

    assert result.exit_code == 1
    assert "kiosk: sync stopped: back office unreachable" in result.output
    assert "0 acknowledged" in result.output
    assert "a-token" not in result.output
    with sqlite3.connect(shop.database) as conn:
        assert conn.execute("SELECT count(*) FROM outbox WHERE acked_at IS NULL").fetchone() \
            == (3,)
    conn.close()


@pytest.fixture
def free_port() -> Iterator[int]:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield port


# One pass against the reference back office, started as a real process on loopback.


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[HQProcess]:
    with start_hq(tmp_path / "hq") as server:
        yield server


def add_paid_sales(database: Path, count: int, created: datetime) -> list[str]:
    """``sale.paid`` outbox rows as the payment code writes them (the payload's shape is the
    reference back office's business, not the relay's)."""
    db = open_database(database)
    sale_ids = [str(uuid.uuid4()) for _ in range(count)]
    try:
        with db.atomic():
            for number, sale_id in enumerate(sale_ids, start=1):
                event = sale_paid_event(sale_id, number=number)
                db.execute(
                    "INSERT INTO outbox (event_id, topic, sale_id, payload, created_at) "
                    "VALUES (?, 'sale.paid', ?, ?, ?)",
                    [event.event_id, sale_id, json.dumps(event.payload), utc_now_iso(created)],
                )
    finally:
        db.close()
    return sale_ids


def test_run_sends_every_pending_event_pulls_the_catalog_and_prunes(
    tmp_path: Path, hq: HQProcess
) -> None:
    shop = shop_with(tmp_path, hq.url)
    shop.config.write_text(
        shop.config.read_text(encoding="utf-8") + '\n[catalog]\nsource = "backoffice"\n',
        encoding="utf-8",
    )
    sale_ids = add_paid_sales(shop.database, 3, datetime.now(UTC))
    add_events(shop.database, count=2, created=datetime.now(UTC))
    imported = invoke(["hq", "catalog", "import", str(SAMPLE_CATALOG), "--currency", "EUR",
                       "--db", str(hq.database)])
    assert imported.exit_code == 0, imported.output

    result = invoke(["sync", "run", "--config", str(shop.config)],
                    token=hq.token_for("lane-1"))

    assert result.exit_code == 0, result.output
    assert "Events: 5 sent in 1 batch(es), 5 acknowledged." in result.output
    assert f"applied, {SAMPLE_PRODUCTS} product(s)." in result.output
    assert "Pruned: 0 sale(s)" in result.output
    assert hq.event_counts("lane-1") == {"sale.paid": 3, "refund.succeeded": 0,
                                         "audit.recorded": 2, "staff.locked_out": 0}
    assert {event["sale_id"] for event in hq.events("lane-1")} >= set(sale_ids)
    with sqlite3.connect(shop.database) as conn:
        assert conn.execute("SELECT count(*) FROM outbox WHERE acked_at IS NULL").fetchone() \
            == (0,)
        assert conn.execute("SELECT count(*) FROM products WHERE source = 'backoffice'") \
            .fetchone() == (SAMPLE_PRODUCTS,)
        assert conn.execute("PRAGMA auto_vacuum").fetchone() == (2,)
    conn.close()

    again = invoke(["sync", "run", "--config", str(shop.config)], token=hq.token_for("lane-1"))
    assert again.exit_code == 0, again.output
    assert "Events: 0 sent" in again.output and "Catalog: unchanged" in again.output
    status = invoke(["sync", "status", "--config", str(shop.config)])
    assert "Pending: nothing" in status.output and "Last success: never" not in status.output


def test_run_with_a_csv_catalog_sends_events_and_leaves_the_catalog_alone(
    tmp_path: Path, hq: HQProcess
) -> None:
    shop = shop_with(tmp_path, hq.url)
    add_paid_sales(shop.database, 1, datetime.now(UTC))

    result = invoke(["sync", "run", "--config", str(shop.config)],
                    token=hq.token_for("lane-1"))

    assert result.exit_code == 0, result.output
    assert "1 acknowledged" in result.output
    assert "Catalog: the back office offers no catalog." in result.output
    assert hq.event_counts("lane-1")["sale.paid"] == 1


def test_run_with_a_token_of_another_kiosk_fails_and_nothing_is_acknowledged(
    tmp_path: Path, hq: HQProcess
) -> None:
    shop = shop_with(tmp_path, hq.url)
    add_paid_sales(shop.database, 2, datetime.now(UTC))
    token = hq.token_for("lane-2")

    result = invoke(["sync", "run", "--config", str(shop.config)], token=token)

    assert result.exit_code == 1
    assert "kiosk: sync stopped: back office refused the kiosk's token (HTTP 403)" \
        in result.output
    assert token not in result.output
    assert hq.event_counts()["sale.paid"] == 0
    with sqlite3.connect(shop.database) as conn:
        assert conn.execute("SELECT count(*) FROM outbox WHERE acked_at IS NULL").fetchone() \
            == (2,)
    conn.close()
