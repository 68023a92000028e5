"""``kiosk audit``: the audit log as a table in the shop's time zone or as JSON Lines, from a
day or a moment on, also while the kiosk runs; a long log is streamed a page at a time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_support import Shop, invoke, kiosk_running, run_kiosk, write_config

from kiosk.cli.audit import PAGE_ROWS, audit_rows
from kiosk.store import audit
from kiosk.store.db import open_database

# Europe/Berlin (the test shop's zone) is UTC+1 in November.
T0 = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)  # 23:30 local on the 25th
T1 = datetime(2026, 11, 25, 23, 10, tzinfo=UTC)  # 00:10 local on the 26th
T2 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # 09:00 local on the 26th


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    shop = write_config(tmp_path)
    db = open_database(shop.database)
    try:
        audit.record(db, at=T0, action="staff.pin_check", outcome="ok", staff_number=1001)
        audit.record(db, at=T1, action="payment.paid_after_close", outcome="anomaly",
                     detail={"sale_id": "s-1", "was": "abandoned"})
        audit.record(db, at=T2, action="settings.change", outcome="ok", staff_number=1002,
                     detail={"key": "sound.volume", "old": 80, "new": 50,
                             "note": "too loud"})
    finally:
        db.close()
    return shop


def audit_lines(shop: Shop, *extra: str) -> list[str]:
    result = invoke(["audit", "--config", str(shop.config), *extra])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_the_table_shows_local_times_staff_actions_outcomes_and_details(shop: Shop) -> None:
    header, first, second, third = audit_lines(shop)
    assert header.split() == ["time", "staff", "action", "outcome", "detail"]
    assert first.startswith("2026-11-25 23:30:00  1001")
    assert first.split()[3:] == ["staff.pin_check", "ok"]
    assert second.startswith("2026-11-26 00:10:00  -   ")
    assert second.split()[3:] == ["payment.paid_after_close", "anomaly", "sale_id=s-1",
                                  "was=abandoned"]
    assert third.startswith("2026-11-26 09:00:00  1002")
    assert third.endswith('key=sound.volume new=50 note="too loud" old=80')


def test_the_table_columns_line_up(shop: Shop) -> None:
    lines = audit_lines(shop)
    outcome_columns = {line.index(word) for line, word in zip(
        lines, ["outcome", "ok", "anomaly", "ok"], strict=True)}
    assert len(outcome_columns) == 1


def test_json_lines_parse_and_carry_every_field_in_utc(shop: Shop) -> None:
    rows = [json.loads(line) for line in audit_lines(shop, "--json")]
    assert [set(row) for row in rows] == [
        {"id", "at", "staff_number", "action", "outcome", "detail"}] * 3
    assert [row["id"] for row in rows] == sorted(row["id"] for row in rows)
    assert rows[0]["at"] == "2026-11-25T22:30:00.000000Z"
    assert (rows[0]["staff_number"], rows[0]["detail"]) == (1001, None)
    assert rows[1]["staff_number"] is None
    assert rows[2]["detail"] == {"key": "sound.volume", "old": 80, "new": 50,
                                 "note": "too loud"}


def test_since_a_day_starts_at_the_shops_local_midnight(shop: Shop) -> None:
    rows = [json.loads(line) for line in audit_lines(shop, "--json", "--since", "2026-11-26")]
    assert [row["action"] for row in rows] == ["payment.paid_after_close", "settings.change"]


def test_since_a_moment_with_an_offset_leaves_out_older_rows(shop: Shop) -> None:
    rows = [json.loads(line) for line in audit_lines(
        shop, "--json", "--since", "2026-11-26T09:00:00+01:00")]
    assert [row["action"] for row in rows] == ["settings.change"]
    rows = [json.loads(line) for line in audit_lines(
        shop, "--json", "--since", "2026-11-26T08:00:00.000001Z")]
    assert rows == []


def test_a_period_without_rows_says_so(shop: Shop) -> None:
    assert audit_lines(shop, "--since", "2026-12-01") == ["No audit rows in that period."]


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", "2026-11-26T09:00:00"])
def test_a_bad_since_is_a_usage_error_naming_the_option(shop: Shop, since: str) -> None:
    result = invoke(["audit", "--config", str(shop.config), "--since", since])
    assert result.exit_code == 2
    assert "--since" in result.output
    assert "2026-11-25" not in result.output  # nothing of the log was printed


def test_a_missing_database_gives_the_same_error_as_other_read_commands(
    tmp_path: Path,
) -> None:
    shop = write_config(tmp_path)
    result = invoke(["audit", "--config", str(shop.config)])
    assert result.exit_code == 1
    assert "no database at" in result.output
    assert not shop.database.exists()


def test_the_log_can_be_read_while_the_kiosk_runs(shop: Shop, tmp_path: Path) -> None:
    with kiosk_running(shop.state_dir):
        result = run_kiosk(["audit", "--config", str(shop.config), "--json"], home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3


def test_rows_written_later_appear_in_the_order_they_were_written(shop: Shop) -> None:
    db = open_database(shop.database)
    try:
        audit.record(db, at=T2 - timedelta(hours=1), action="late.clock", outcome="ok")
    finally:
        db.close()
    rows = [json.loads(line) for line in audit_lines(shop, "--json")]
    assert [row["action"] for row in rows][-1] == "late.clock"


def test_a_log_of_several_pages_is_printed_whole_in_order_with_its_columns_lined_up(
    shop: Shop,
) -> None:
    db = open_database(shop.database)
    try:
        with db.atomic():
            for number in range(2 * PAGE_ROWS + 7):
                audit.record(db, at=T2 + timedelta(seconds=number), action="staff.pin_check",
                             outcome="ok", staff_number=1001)
            # the widest action comes on the last page: every line is padded for it
            audit.record(db, at=T2 + timedelta(hours=1),
                         action="device.reader_display_clear.with_a_long_name", outcome="ok")
    finally:
        db.close()

    rows = [json.loads(line) for line in audit_lines(shop, "--json")]
    assert len(rows) == 3 + 2 * PAGE_ROWS + 8
    assert [row["id"] for row in rows] == sorted({row["id"] for row in rows})
    header, *lines = audit_lines(shop)
    assert len(lines) == len(rows)
    column = header.index("outcome")
    assert {line[column:].split()[0] for line in lines} == {"ok", "anomaly"}


def test_the_log_is_read_a_page_at_a_time_never_all_at_once(shop: Shop) -> None:
    db = open_database(shop.database)
    later = open_database(shop.database)
    try:
        rows = audit_rows(db, page_rows=2)
        first = next(rows)
        # Written while the first page is out: a page is its own short read, so it is seen
        # (one query holding every row would be a snapshot, and all of them in memory).
        audit.record(later, at=T2, action="written.meanwhile", outcome="ok")
        actions = [first.action, *(entry.action for entry in rows)]
    finally:
        later.close()
        db.close()

    assert actions == ["staff.pin_check", "payment.paid_after_close", "settings.change",
                       "written.meanwhile"]


def test_paging_keeps_to_since(shop: Shop) -> None:
    db = open_database(shop.database)
    try:
        found = [entry.action for entry in audit_rows(db, T1, page_rows=1)]
    finally:
        db.close()

    assert found == ["payment.paid_after_close", "settings.change"]
