"""The reference back office as the kiosks meet it: ``kiosk hq serve`` as a real process on
loopback (port 0), real HTTP through httpx, and its ``token``, ``catalog`` and ``events``
commands run as the real console script.
"""

from __future__ import annotations

import hashlib
import select
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from cli_support import SAMPLE_CATALOG, SAMPLE_PRODUCTS, run_kiosk
from hq_support import (
    KIOSK_ID,
    HQProcess,
    audit_event,
    batch_of,
    postgres_dsn,
    postgres_schema,
    refund_event,
    sale_paid_event,
    start_hq,
)

from kiosk.core.money import format_money
from kiosk.hq.server import make_server
from kiosk.hq.storage import HQStore
from kiosk.hq.stores import open_store
from kiosk.hq.tokens import new_token, token_hash
from kiosk.wire import (
    CATALOG_PATH,
    EVENTS_PATH,
    MAX_BATCH,
    MAX_BODY_BYTES,
    Batch,
    BatchReply,
    CatalogFeed,
    ErrorReply,
    Event,
    canonical_json,
    catalog_version,
)

TIMEOUT_S = 30.0
"""Seconds an HTTP request may take (a guard, not an assertion)."""


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[HQProcess]:
    process = start_hq(tmp_path / "hq")
    yield process
    process.stop()


@pytest.fixture
def faulty_hq(tmp_path: Path) -> Iterator[HQProcess]:
    process = start_hq(tmp_path / "faulty-hq", faults=True)
    yield process
    process.stop()


def client_for(hq: HQProcess, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.Client(base_url=hq.url, headers=headers, timeout=TIMEOUT_S)


def post_batch(hq: HQProcess, batch: Batch, token: str | None) -> httpx.Response:
    with client_for(hq, token) as client:
        return client.post(EVENTS_PATH, content=batch.encode(),
                           headers={"Content-Type": "application/json"})


def post_body(hq: HQProcess, body: bytes, token: str | None) -> httpx.Response:
    with client_for(hq, token) as client:
        return client.post(EVENTS_PATH, content=body)


def error_of(response: httpx.Response) -> ErrorReply:
    assert response.headers["Content-Type"] == "application/json"
    return ErrorReply.decode(response.content)


# ----------------------------------------------------------------------- events


def test_a_kiosks_sales_refunds_and_audit_rows_are_stored_in_the_order_sent(
    hq: HQProcess,
) -> None:
    sale = sale_paid_event()
    assert sale.sale_id is not None
    events = [sale, refund_event(sale.sale_id, 98), audit_event(1)]
    response = post_batch(hq, batch_of(events), hq.token_for(KIOSK_ID))
    assert response.status_code == 200
    assert BatchReply.decode(response.content) == BatchReply(
        accepted=tuple(e.event_id for e in events))
    stored = hq.events(KIOSK_ID)
    assert [(e["event_id"], e["topic"], e["sale_id"], e["payload"]) for e in stored] == [
        (e.event_id, e.topic, e.sale_id, e.payload) for e in events]


def test_a_resent_batch_is_acknowledged_as_duplicates_and_stored_once(hq: HQProcess) -> None:
    token = hq.token_for(KIOSK_ID)
    batch = batch_of([audit_event(1), audit_event(2)])
    assert post_batch(hq, batch, token).status_code == 200
    again = post_batch(hq, batch, token)
    assert again.status_code == 200
    assert BatchReply.decode(again.content) == BatchReply(
        duplicates=tuple(e.event_id for e in batch.events))
    assert [e["event_id"] for e in hq.events()] == [e.event_id for e in batch.events]


def test_a_different_body_under_a_known_id_is_a_409_conflict_and_nothing_of_the_batch_is_stored(
    hq: HQProcess,
) -> None:
    token = hq.token_for(KIOSK_ID)
    known = audit_event(1)
    post_batch(hq, batch_of([known]), token)
    changed = Event(known.event_id, known.topic, None, known.created_at,
                    {**known.payload, "outcome": "forged"})
    response = post_batch(hq, batch_of([audit_event(2), changed]), token)
    assert response.status_code == 409
    reply = error_of(response)
    assert (reply.error, reply.event_ids) == ("conflict", (known.event_id,))
    assert "nothing of the batch was stored" in reply.message
    assert [(e["event_id"], e["payload"]) for e in hq.events()] == [
        (known.event_id, known.payload)]


@pytest.mark.parametrize("authorization", [
    None, "Bearer", "Bearer not-a-token-of-this-back-office", "Basic bGFuZS0xOnNlY3JldA==",
])
def test_a_missing_or_unknown_token_is_refused_with_401_and_nothing_is_stored(
    hq: HQProcess, authorization: str | None
) -> None:
    hq.token_for(KIOSK_ID)
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = httpx.post(hq.url + EVENTS_PATH, content=batch_of([audit_event(1)]).encode(),
                          headers=headers, timeout=TIMEOUT_S)
    assert response.status_code == 401
    assert error_of(response).error == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert hq.events() == []


def test_the_token_of_another_kiosk_is_refused_with_403_and_nothing_is_stored(
    hq: HQProcess,
) -> None:
    hq.token_for(KIOSK_ID)
    response = post_batch(hq, batch_of([audit_event(1)], KIOSK_ID), hq.token_for("lane-2"))
    assert response.status_code == 403
    reply = error_of(response)
    assert reply.error == "forbidden"
    assert "'lane-2'" in reply.message and "'lane-1'" in reply.message
    assert hq.events() == []


def _event_json(**changes: object) -> dict[str, object]:
    return {**audit_event(1).to_json(), **changes}


def _body(**changes: object) -> bytes:
    value: dict[str, object] = {"version": 1, "kiosk_id": KIOSK_ID, "events": [_event_json()]}
    value.update(changes)
    return canonical_json(value)


_TWICE = _event_json()
MALFORMED = {
    "not JSON": (b"{not json", "not JSON"),
    "not an object": (b"[1, 2]", "JSON object"),
    "another version": (_body(version=2), "version must be 1"),
    "no kiosk id": (_body(kiosk_id=None), "kiosk_id"),
    "no events": (_body(events=[]), "non-empty list"),
    "an event id that is no UUID": (_body(events=[_event_json(event_id="42")]), "not a UUID"),
    "a topic that is no topic name": (
        _body(events=[_event_json(topic="Sale voided")]), "not a topic name"),
    "a sale without its id": (
        _body(events=[_event_json(topic="sale.paid", sale_id=None)]), "needs a sale_id"),
    "a local time": (
        _body(events=[_event_json(created_at="2026-01-31 12:00:00")]), "created_at"),
    "a payload that is no object": (_body(events=[_event_json(payload=[])]), "payload"),
    "a minor version that is no number": (_body(minor="1.1"), "minor"),
    "the same id twice": (_body(events=[_TWICE, _TWICE]), "appears twice"),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_a_malformed_batch_is_refused_with_400_saying_what_is_wrong_and_nothing_is_stored(
    hq: HQProcess, case: str
) -> None:
    body, words = MALFORMED[case]
    response = post_body(hq, body, hq.token_for(KIOSK_ID))
    assert response.status_code == 400
    reply = error_of(response)
    assert reply.error == "malformed"
    assert words in reply.message
    assert hq.events() == []


def test_more_than_a_hundred_events_are_refused_with_413_and_nothing_is_stored(
    hq: HQProcess,
) -> None:
    batch = batch_of([audit_event(n) for n in range(MAX_BATCH + 1)])
    response = post_batch(hq, batch, hq.token_for(KIOSK_ID))
    assert response.status_code == 413
    assert error_of(response).error == "too_large"
    assert hq.events() == []


def test_a_body_over_the_size_limit_is_refused_with_413_unread(hq: HQProcess) -> None:
    response = post_body(hq, b" " * (MAX_BODY_BYTES + 1), hq.token_for(KIOSK_ID))
    assert response.status_code == 413
    assert error_of(response).error == "too_large"
    assert hq.events() == []


def test_a_bad_token_is_refused_before_the_body_is_judged(hq: HQProcess) -> None:
    response = post_body(hq, b"{not json", "wrong")
    assert response.status_code == 401


# ----------------------------------------------------------------------- slow and hostile clients


def connect(url: str) -> socket.socket:
    """A raw TCP connection to the back office at ``url`` (reads and writes time out after
    TIMEOUT_S: a guard)."""
    address = urlsplit(url)
    assert address.hostname is not None and address.port is not None
    return socket.create_connection((address.hostname, address.port), timeout=TIMEOUT_S)


def request_head(token: str, length: int, path: str = EVENTS_PATH) -> bytes:
    """The line and headers of a POST whose body of ``length`` bytes is still to come."""
    return (f"POST {path} HTTP/1.1\r\nHost: hq\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n").encode()


def answer_arrived(connection: socket.socket, wait_s: float = 0.0) -> bool:
    """Whether the server has answered (or closed the connection) within ``wait_s``."""
    return bool(select.select([connection], [], [], wait_s)[0])


def read_until_closed(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    try:
        while part := connection.recv(65536):
            received += part
    except ConnectionResetError:
        pass  # closed with our unread bytes on its side: what came before is all there is
    return received


def test_a_bad_token_is_answered_401_and_the_connection_closed_before_the_body_is_sent(
    hq: HQProcess,
) -> None:
    hq.token_for(KIOSK_ID)
    with connect(hq.url) as connection:
        connection.sendall(request_head("not-a-token-of-this-back-office", MAX_BODY_BYTES))
        assert answer_arrived(connection, TIMEOUT_S)  # not one byte of the body was sent
        answer = read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert b"Connection: close" in answer
    assert b'"error":"unauthorized"' in answer
    assert hq.events() == []


def test_an_eight_megabyte_body_with_a_bad_token_is_refused_before_the_server_reads_it(
    hq: HQProcess,
) -> None:
    chunk = b" " * 65536
    sent = 0
    with connect(hq.url) as connection:
        connection.sendall(request_head("wrong", MAX_BODY_BYTES))
        try:
            while sent < MAX_BODY_BYTES and not answer_arrived(connection):
                connection.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed the connection on the body it never read
        answer = read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert sent < MAX_BODY_BYTES


@contextmanager
def serving(store: HQStore, **options: Any) -> Iterator[str]:
    """``store`` served by a back office on a thread of this process (for ``make_server``
    options the command line does not have); yields its URL."""
    server = make_server(store, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def issue_token(store: HQStore, kiosk_id: str = KIOSK_ID) -> str:
    """A new token of ``kiosk_id``, its hash stored."""
    token = new_token()
    store.add_kiosk(kiosk_id, token_hash(token), datetime.now(UTC))
    return token


@contextmanager
def back_office_in_process(tmp_path: Path, **options: Any) -> Iterator[tuple[str, str]]:
    """A SQLite back office served in this process: ``(url, token of KIOSK_ID)``."""
    with open_store(database=tmp_path / "hq.db") as store:
        token = issue_token(store)
        with serving(store, **options) as url:
            yield url, token


TRICKLE_PAUSE_S = 0.05
"""Seconds between two bytes of a trickling client."""


def trickle(connection: socket.socket, data: bytes) -> int:
    """Send ``data`` a byte at a time until the server closes the connection; the bytes
    sent by then. (A guard: ``data`` is long enough to outlast the deadline many times.)"""
    sent = 0
    for byte in data:
        if answer_arrived(connection, TRICKLE_PAUSE_S):
            break
        try:
            connection.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += 1
    return sent


def test_a_client_trickling_its_body_is_cut_off_at_the_request_deadline(
    tmp_path: Path,
) -> None:
    length = 2000  # 100 s of trickling: far beyond the 1 s deadline
    with back_office_in_process(tmp_path, request_deadline_s=1.0) as (url, token), \
            connect(url) as connection:
        connection.sendall(request_head(token, length))
        sent = trickle(connection, b" " * length)
        assert read_until_closed(connection) == b""  # closed without an answer
    assert sent < length


def test_a_client_trickling_its_headers_is_cut_off_at_the_request_deadline(
    tmp_path: Path,
) -> None:
    with back_office_in_process(tmp_path, request_deadline_s=1.0) as (url, _), \
            connect(url) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: hq\r\n")
        header = b"X-Slow: " + b"a" * 2000
        sent = trickle(connection, header)
        assert read_until_closed(connection) == b""
    assert sent < len(header)


def test_a_back_office_serving_its_most_clients_answers_503_busy_unread_until_one_leaves(
    tmp_path: Path,
) -> None:
    with back_office_in_process(tmp_path, max_clients=2) as (url, token):
        first, second = connect(url), connect(url)
        try:  # two idle connections hold both places
            response = httpx.post(url + EVENTS_PATH, content=b" " * MAX_BODY_BYTES,
                                  headers={"Authorization": f"Bearer {token}"},
                                  timeout=TIMEOUT_S)
            assert response.status_code == 503
            reply = error_of(response)
            assert (reply.error, reply.message) == (
                "server_error", "the back office is busy, try again")
            assert response.headers["Connection"] == "close"
            first.close()
            assert eventually_healthy(url)
        finally:
            first.close()
            second.close()


def eventually_healthy(url: str) -> bool:
    """Whether ``/health`` answers 200 within TIMEOUT_S (a guard)."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if httpx.get(url + "/health", timeout=TIMEOUT_S).status_code == 200:
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize(("method", "path", "status", "allow"), [
    ("GET", "/api/v1/nothing", 404, None),
    ("POST", "/api/v2/events", 404, None),
    ("GET", "/", 404, None),
    ("GET", EVENTS_PATH, 405, "POST"),
    ("PUT", EVENTS_PATH, 405, "POST"),
    ("POST", CATALOG_PATH, 405, "GET, HEAD"),
    ("DELETE", "/r/6f1c1c9e-2f6e-4d6a-9b1c-0e4b9d7f0a11", 405, "GET, HEAD"),
    ("POST", "/_hq/faults", 404, None),
])
def test_a_wrong_path_or_method_gets_404_or_405_with_an_error_reply(
    hq: HQProcess, method: str, path: str, status: int, allow: str | None
) -> None:
    response = httpx.request(method, hq.url + path, content=b"{}", timeout=TIMEOUT_S)
    assert response.status_code == status
    assert error_of(response).error == ("not_found" if status == 404 else "method_not_allowed")
    assert response.headers.get("Allow") == allow


def test_ten_thousand_events_in_batches_of_a_hundred_are_all_stored_once(
    hq: HQProcess,
) -> None:
    batches = [batch_of([audit_event(n * 100 + i) for i in range(100)]) for n in range(100)]
    accepted = 0
    with client_for(hq, hq.token_for(KIOSK_ID)) as client:
        for batch in batches:
            response = client.post(EVENTS_PATH, content=batch.encode())
            assert response.status_code == 200
            accepted += len(BatchReply.decode(response.content).accepted)
    assert accepted == 10_000
    assert hq.event_counts(KIOSK_ID)["audit.recorded"] == 10_000


def test_the_health_check_answers_ok(hq: HQProcess) -> None:
    response = httpx.get(hq.url + "/health", timeout=TIMEOUT_S)
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


# ----------------------------------------------------------------------- tokens and commands


def test_token_add_prints_a_token_once_and_keeps_only_its_hash(
    hq: HQProcess, tmp_path: Path
) -> None:
    assert hq.database is not None
    issued = run_kiosk(["hq", "token", "add", KIOSK_ID, "--db", str(hq.database)],
                       home=tmp_path)
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert len(token) >= 43 and "\n" not in token
    assert token not in issued.stderr
    on_disk = b"".join(path.read_bytes() for path in hq.database.parent.glob("hq.db*"))
    assert token.encode() not in on_disk
    with sqlite3.connect(hq.database) as connection:
        rows = connection.execute("SELECT kiosk_id, token_hash FROM kiosks").fetchall()
    connection.close()
    assert rows == [(KIOSK_ID, hashlib.sha256(token.encode()).hexdigest())]
    assert post_batch(hq, batch_of([audit_event(1)]), token).status_code == 200


def test_a_new_token_for_a_kiosk_retires_its_old_one(hq: HQProcess, tmp_path: Path) -> None:
    assert hq.database is not None
    command = ["hq", "token", "add", KIOSK_ID, "--db", str(hq.database)]
    old = run_kiosk(command, home=tmp_path).stdout.strip()
    renewed = run_kiosk(command, home=tmp_path)
    assert "earlier token no longer works" in renewed.stderr
    assert post_batch(hq, batch_of([audit_event(1)]), old).status_code == 401
    assert post_batch(hq, batch_of([audit_event(2)]), renewed.stdout.strip()).status_code == 200


def test_token_add_refuses_a_kiosk_id_the_protocol_does_not_allow(tmp_path: Path) -> None:
    refused = run_kiosk(["hq", "token", "add", "lane 1!", "--db", str(tmp_path / "hq.db")],
                        home=tmp_path)
    assert refused.returncode == 2
    assert "not a kiosk id" in refused.stderr
    assert refused.stdout == ""


def test_hq_events_counts_what_arrived_per_topic(hq: HQProcess, tmp_path: Path) -> None:
    assert hq.database is not None
    sale = sale_paid_event()
    assert sale.sale_id is not None
    post_batch(hq, batch_of([sale, audit_event(1), audit_event(2)]), hq.token_for(KIOSK_ID))
    counted = run_kiosk(["hq", "events", "--db", str(hq.database)], home=tmp_path)
    assert counted.returncode == 0, counted.stderr
    assert [line.split() for line in counted.stdout.splitlines()] == [
        ["sale.paid", "1"], ["refund.succeeded", "0"], ["audit.recorded", "2"],
        ["staff.locked_out", "0"]]
    other = run_kiosk(["hq", "events", "--kiosk", "lane-9", "--db", str(hq.database)],
                      home=tmp_path)
    assert [line.split()[1] for line in other.stdout.splitlines()] == ["0", "0", "0", "0"]


def test_hq_events_does_not_create_a_missing_database(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    result = run_kiosk(["hq", "events", "--db", str(missing)], home=tmp_path)
    assert result.returncode == 1
    assert "no back office database" in result.stderr
    assert not missing.exists()


def test_the_store_is_named_by_a_file_or_a_dsn_never_both(tmp_path: Path) -> None:
    result = run_kiosk(["hq", "events", "--db", str(tmp_path / "hq.db"), "--dsn",
                        "postgresql://localhost/x"], home=tmp_path)
    assert result.returncode == 2
    assert "not both" in result.stderr


# ----------------------------------------------------------------------- catalog


def import_catalog(hq: HQProcess, csv: Path, home: Path) -> str:
    assert hq.database is not None
    result = run_kiosk(["hq", "catalog", "import", str(csv), "--currency", "EUR",
                        "--db", str(hq.database)], home=home)
    assert result.returncode == 0, result.stderr
    return result.stdout


def get_catalog(hq: HQProcess, etag: str | None = None) -> httpx.Response:
    headers = {"If-None-Match": etag} if etag else {}
    with client_for(hq, hq.token_for(KIOSK_ID)) as client:
        return client.get(CATALOG_PATH, headers=headers)


def test_the_catalog_is_served_with_its_version_as_etag_then_304_until_it_changes(
    hq: HQProcess, tmp_path: Path
) -> None:
    assert get_catalog(hq).status_code == 404
    assert f"{SAMPLE_PRODUCTS} products" in import_catalog(hq, SAMPLE_CATALOG, tmp_path)
    first = get_catalog(hq)
    assert first.status_code == 200
    feed = CatalogFeed.decode(first.content)
    assert (feed.currency, len(feed.products)) == ("EUR", SAMPLE_PRODUCTS)
    assert feed.version == catalog_version("EUR", list(feed.products))
    assert first.headers["ETag"] == f'"{feed.version}"'
    unchanged = get_catalog(hq, first.headers["ETag"])
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert unchanged.headers["ETag"] == first.headers["ETag"]
    changed_csv = tmp_path / "changed.csv"
    changed_csv.write_text(SAMPLE_CATALOG.read_text(encoding="utf-8").replace(
        "Orange juice 1 l,1.89", "Orange juice 1 l,1.79"), encoding="utf-8")
    import_catalog(hq, changed_csv, tmp_path)
    changed = get_catalog(hq, first.headers["ETag"])
    assert changed.status_code == 200
    new_feed = CatalogFeed.decode(changed.content)
    assert new_feed.version != feed.version
    assert changed.headers["ETag"] == f'"{new_feed.version}"'
    juice = next(p for p in new_feed.products if p["name"] == "Orange juice 1 l")
    assert juice["price_minor"] == 179


def test_the_catalog_needs_a_kiosk_token(hq: HQProcess) -> None:
    response = httpx.get(hq.url + CATALOG_PATH, timeout=TIMEOUT_S)
    assert response.status_code == 401
    assert error_of(response).error == "unauthorized"


def test_a_bad_catalog_file_is_refused_whole_and_the_feed_stays_as_it_was(
    hq: HQProcess, tmp_path: Path
) -> None:
    import_catalog(hq, SAMPLE_CATALOG, tmp_path)
    before = get_catalog(hq).headers["ETag"]
    bad = tmp_path / "bad.csv"
    bad.write_text("barcode,name,price,tax_class,min_age\n4006381333931,Water,abc,reduced,\n",
                   encoding="utf-8")
    assert hq.database is not None
    result = run_kiosk(["hq", "catalog", "import", str(bad), "--currency", "EUR",
                        "--db", str(hq.database)], home=tmp_path)
    assert result.returncode == 1
    assert "line 2, column price" in result.stderr
    assert get_catalog(hq).headers["ETag"] == before


def test_a_catalog_with_a_tax_class_the_kiosks_do_not_know_is_refused(
    hq: HQProcess, tmp_path: Path
) -> None:
    assert hq.database is not None
    result = run_kiosk(["hq", "catalog", "import", str(SAMPLE_CATALOG), "--currency", "EUR",
                        "--tax-class", "standard", "--db", str(hq.database)], home=tmp_path)
    assert result.returncode == 1
    assert "unknown tax class 'reduced'" in result.stderr
    assert get_catalog(hq).status_code == 404


# ----------------------------------------------------------------------- e-receipt


def test_the_receipt_page_of_a_stored_sale_shows_its_lines_total_refund_and_card_last_four(
    hq: HQProcess,
) -> None:
    card = {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030,
            "cardholder_name": "JANE Q CUSTOMER", "number": "4242424242424242",
            "fingerprint": "fp_secret_value"}
    lines = [
        {"position": 1, "name": "Orange juice 1 l", "quantity": 2, "unit_price_minor": 189,
         "line_total_minor": 378},
        {"position": 2, "name": "<script>alert(1)</script> & Co", "quantity": 1,
         "unit_price_minor": 250, "line_total_minor": 250},
        {"position": 3, "name": "Bananas", "quantity": 1, "unit_price_minor": 199,
         "weight_g": 1250, "line_total_minor": 249},
    ]
    sale = sale_paid_event(number=17, lines=lines, card=card)
    assert sale.sale_id is not None
    post_batch(hq, batch_of([sale, refund_event(sale.sale_id, 250)]), hq.token_for(KIOSK_ID))
    response = httpx.get(f"{hq.url}/r/{sale.sale_id}", timeout=TIMEOUT_S)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    page = response.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "Receipt 17" in page
    assert "Orange juice 1 l" in page and "2 × €1.89" in page and "1.250 kg" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page
    assert "<script>" not in page
    assert format_money(877, "EUR", "en") in page  # the total
    assert "Refunded 2026-01-31 12:05 UTC" in page
    assert format_money(627, "EUR", "en") in page  # paid after the refund
    assert "Visa •••• 4242" in page
    for secret in ("4242424242424242", "JANE Q CUSTOMER", "fp_secret_value", "2030"):
        assert secret not in page


def test_a_refund_sent_by_another_kiosk_does_not_show_on_the_sales_receipt(
    hq: HQProcess,
) -> None:
    sale = sale_paid_event()
    assert sale.sale_id is not None
    post_batch(hq, batch_of([sale]), hq.token_for(KIOSK_ID))
    forged = post_batch(hq, batch_of([refund_event(sale.sale_id, 287)], "lane-2"),
                        hq.token_for("lane-2"))
    assert forged.status_code == 200  # lane-2 may store its own events...
    page = httpx.get(f"{hq.url}/r/{sale.sale_id}", timeout=TIMEOUT_S).text
    assert "Refunded" not in page  # ...but not put them on lane-1's receipt
    post_batch(hq, batch_of([refund_event(sale.sale_id, 98)]), hq.token_for(KIOSK_ID))
    page = httpx.get(f"{hq.url}/r/{sale.sale_id}", timeout=TIMEOUT_S).text
    assert page.count("Refunded 2026") == 1
    assert format_money(-98, "EUR", "en") in page


def test_the_receipt_page_uses_the_sales_language_for_amounts(hq: HQProcess) -> None:
    sale = sale_paid_event(language="de_DE")
    post_batch(hq, batch_of([sale]), hq.token_for(KIOSK_ID))
    page = httpx.get(f"{hq.url}/r/{sale.sale_id}", timeout=TIMEOUT_S).text
    assert format_money(287, "EUR", "de_DE") in page  # "2,87 €"


def test_a_well_formed_sale_id_not_synced_yet_says_the_receipt_is_on_its_way_and_refreshes(
    hq: HQProcess,
) -> None:
    response = httpx.get(f"{hq.url}/r/6f1c1c9e-2f6e-4d6a-9b1c-0e4b9d7f0a11", timeout=TIMEOUT_S)
    assert response.status_code == 200
    assert "Your receipt is on its way" in response.text
    assert '<meta http-equiv="refresh" content="5">' in response.text


@pytest.mark.parametrize("garbage", [
    "not-a-uuid", "12345", "6f1c1c9e2f6e4d6a9b1c0e4b9d7f0a11",
    "{6f1c1c9e-2f6e-4d6a-9b1c-0e4b9d7f0a11}", "%3Cscript%3E", "",
])
def test_a_receipt_address_without_a_sale_id_is_a_404_page(hq: HQProcess, garbage: str) -> None:
    response = httpx.get(f"{hq.url}/r/{garbage}", timeout=TIMEOUT_S)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "No receipt here" in response.text
    assert "<script>" not in response.text


# ----------------------------------------------------------------------- test faults


def test_faults_exist_only_on_a_back_office_started_with_faults(
    hq: HQProcess, faulty_hq: HQProcess
) -> None:
    refused = httpx.post(f"{hq.url}/_hq/faults", json={"status": 500}, timeout=TIMEOUT_S)
    assert refused.status_code == 404
    assert faulty_hq.fault(status=500, count=1)["faults"][0]["status"] == 500


def test_an_injected_500_fails_the_next_requests_and_stores_nothing(
    faulty_hq: HQProcess,
) -> None:
    token = faulty_hq.token_for(KIOSK_ID)
    batch = batch_of([audit_event(1)])
    faulty_hq.fault(status=500, count=2)
    assert [post_batch(faulty_hq, batch, token).status_code for _ in range(3)] == [500, 500, 200]
    assert len(faulty_hq.events()) == 1
    assert faulty_hq.requests()["POST /api/v1/events"] == 3


def test_a_connection_dropped_after_storing_leaves_the_batch_stored_for_a_duplicate_resend(
    faulty_hq: HQProcess,
) -> None:
    token = faulty_hq.token_for(KIOSK_ID)
    batch = batch_of([audit_event(1), audit_event(2)])
    faulty_hq.fault(drop=True, after=True)
    with pytest.raises(httpx.TransportError):
        post_batch(faulty_hq, batch, token)
    assert len(faulty_hq.events()) == 2
    resent = post_batch(faulty_hq, batch, token)
    assert BatchReply.decode(resent.content).duplicates == tuple(
        e.event_id for e in batch.events)


def test_a_back_office_switched_down_drops_requests_until_it_is_up_again(
    faulty_hq: HQProcess,
) -> None:
    token = faulty_hq.token_for(KIOSK_ID)
    faulty_hq.fault(down=True)
    with pytest.raises(httpx.TransportError):
        post_batch(faulty_hq, batch_of([audit_event(1)]), token)
    faulty_hq.fault(down=False)
    assert post_batch(faulty_hq, batch_of([audit_event(2)]), token).status_code == 200
    assert len(faulty_hq.events()) == 1


def test_a_delayed_request_is_still_answered(faulty_hq: HQProcess) -> None:
    faulty_hq.fault(delay_s=0.2, path="/health")
    assert httpx.get(faulty_hq.url + "/health", timeout=TIMEOUT_S).status_code == 200


def test_a_bad_fault_is_refused_with_400(faulty_hq: HQProcess) -> None:
    response = httpx.post(f"{faulty_hq.url}/_hq/faults", json={"status": 200},
                          timeout=TIMEOUT_S)
    assert response.status_code == 400
    assert "HTTP error status" in error_of(response).message


def test_faults_are_refused_unless_the_back_office_listens_on_loopback(tmp_path: Path) -> None:
    result = run_kiosk(["hq", "serve", "--host", "0.0.0.0", "--faults", "--db",
                        str(tmp_path / "hq.db")], home=tmp_path)
    assert result.returncode == 2
    assert "loopback only" in result.stderr


def test_a_restarted_back_office_keeps_its_port_tokens_and_events(
    faulty_hq: HQProcess,
) -> None:
    token = faulty_hq.token_for(KIOSK_ID)
    post_batch(faulty_hq, batch_of([audit_event(1)]), token)
    url = faulty_hq.url
    faulty_hq.kill()
    with pytest.raises(httpx.ConnectError):
        post_batch(faulty_hq, batch_of([audit_event(2)]), token)
    faulty_hq.restart()
    assert faulty_hq.url == url
    assert post_batch(faulty_hq, batch_of([audit_event(3)]), token).status_code == 200
    assert len(faulty_hq.events()) == 2


# ----------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_a_back_office_on_postgresql_stores_once_refuses_conflicts_and_serves_receipts(
    tmp_path: Path,
) -> None:
    with postgres_schema(postgres_dsn()) as dsn:
        hq = start_hq(tmp_path / "hq", dsn=dsn)
        try:
            token = hq.token_for(KIOSK_ID)
            sale = sale_paid_event()
            batch = batch_of([sale, audit_event(1)])
            assert post_batch(hq, batch, token).status_code == 200
            again = post_batch(hq, batch, token)
            assert len(BatchReply.decode(again.content).duplicates) == 2
            forged = Event(sale.event_id, sale.topic, sale.sale_id, sale.created_at,
                           {**sale.payload, "totals": {}})
            assert post_batch(hq, batch_of([audit_event(2), forged]), token).status_code == 409
            assert [e["event_id"] for e in hq.events()] == [e.event_id for e in batch.events]
            page = httpx.get(f"{hq.url}/r/{sale.sale_id}", timeout=TIMEOUT_S).text
            assert "Orange juice 1 l" in page
        finally:
            hq.stop()


@pytest.mark.postgres
def test_a_postgresql_store_that_does_not_answer_in_time_is_a_503_the_kiosk_retries() -> None:
    import psycopg

    from kiosk.hq.postgres_store import PostgresHQStore

    batch = batch_of([audit_event(1)])
    with postgres_schema(postgres_dsn()) as dsn, \
            PostgresHQStore(dsn, statement_timeout_s=0.3) as store, serving(store) as url, \
            httpx.Client(base_url=url, timeout=TIMEOUT_S,
                         headers={"Authorization": f"Bearer {issue_token(store)}"}) as client:
        with psycopg.connect(dsn) as other:  # holds the events table until it rolls back
            other.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
            stuck = client.post(EVENTS_PATH, content=batch.encode())
            other.rollback()
        assert stuck.status_code == 503
        assert error_of(stuck).error == "server_error"
        assert client.post(EVENTS_PATH, content=batch.encode()).status_code == 200
        assert [e.event_id for e in store.events()] == [batch.events[0].event_id]
