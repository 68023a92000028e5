"""``kiosk audit``: print the audit log (who did what at the kiosk), oldest first.

It only reads, so it works while the kiosk runs (it opens the database the way ``kiosk sync
status`` does and never takes the single-instance lock). Times are shown in the shop's time
zone; ``--json`` prints one JSON object per line with the stored UTC time instead.
``kiosk audit verify`` checks the log's keyed chain (``kiosk.store.audit_chain``) with the
audit key and exits 1 naming the first row that breaks it.

The log is streamed in pages of `PAGE_ROWS` rows (by row id, each page its own short read):
a log of millions of rows never sits in memory at once, and a slow reader at the other end of
a pipe never holds a read open for long (which would keep SQLite from checkpointing the WAL
while the kiosk writes). The table's column widths come from one aggregate query first.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlite_utils import Database

from kiosk.cli.common import (
    EXIT_FAILED,
    config_option,
    existing_database,
    machine_keys,
    settings_or_exit,
)
from kiosk.core.timestamps import parse_utc_iso, utc_now_iso
from kiosk.store.audit import AuditEntry
from kiosk.store.audit_chain import verify
from kiosk.store.db import open_database
from kiosk.store.sales_report import day_bounds

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PLAIN_TEXT = re.compile(r"[^\s=\"]+")

PAGE_ROWS = 500
"""Audit rows read per query while the log is printed."""

_HEADER = ("time", "staff", "action", "outcome")
_TIME_WIDTH = len("2026-11-26 09:00:00")


class SinceParam(click.ParamType):
    """``YYYY-MM-DD`` (a day in the shop's time zone) or an ISO 8601 date-time with offset."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> date | datetime:
        """The day (a `date`) or the aware moment (a `datetime`) the text names."""
        if isinstance(value, date):
            return value
        text = str(value).strip()
        try:
            if _DATE.fullmatch(text):
                return date.fromisoformat(text)
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"{value!r} is neither a date (YYYY-MM-DD) nor an ISO 8601 date-time "
                      "such as 2026-11-26T08:00:00+01:00", param, ctx)
        if moment.tzinfo is None or moment.utcoffset() is None:
            self.fail(f"{value!r} has no UTC offset; add one, such as +01:00 or Z", param, ctx)
        return moment


def since_moment(since: date | datetime, zone: ZoneInfo) -> datetime:
    """The aware moment ``--since`` means: a day starts at local midnight in ``zone``."""
    if isinstance(since, datetime):
        return since
    return day_bounds(since, zone)[0]


def detail_text(detail: dict[str, Any] | None) -> str:
    """An audit detail as compact ``key=value`` pairs, keys sorted; text with spaces, quotes
    or ``=`` and anything that is not text are shown as JSON."""
    if not detail:
        return ""
    pairs = []
    for key in sorted(detail):
        value = detail[key]
        if isinstance(value, str) and _PLAIN_TEXT.fullmatch(value) and value.isprintable():
            shown = value
        else:
            shown = json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                               sort_keys=True)
        pairs.append(f"{key}={shown}")
    return " ".join(pairs)


def audit_rows(db: Database, since: datetime | None = None, *,
               page_rows: int = PAGE_ROWS) -> Iterator[AuditEntry]:
    """The audit rows in the order they were written (those at or after ``since`` if given),
    read `PAGE_ROWS` at a time: memory stays flat however long the log is."""
    if page_rows < 1:
        raise ValueError(f"page_rows must be at least 1, not {page_rows}")
    after = 0
    while True:
        sql = ("SELECT id, at, staff_number, action, outcome, detail FROM audit_log "
               "WHERE id > ?")
        params: list[object] = [after]
        if since is not None:
            # Stored timestamps share one fixed-width UTC format, so text order is time order.
            sql += " AND at >= ?"
            params.append(utc_now_iso(since))
        page = db.conn.execute(f"{sql} ORDER BY id LIMIT ?", [*params, page_rows]).fetchall()
        for row in page:
            yield AuditEntry(
                id=int(row[0]), at=parse_utc_iso(row[1]), staff_number=row[2], action=row[3],
                outcome=row[4], detail=None if row[5] is None else json.loads(row[5]),
            )
        if len(page) < page_rows:
            return
        after = int(page[-1][0])


def column_widths(db: Database, since: datetime | None = None) -> tuple[int, int, int, int]:
    """The widths (characters) of the table's time, staff, action and outcome columns for the
    rows `audit_rows` prints, from one aggregate query (no row is kept in memory)."""
    sql = ("SELECT MAX(LENGTH(COALESCE(CAST(staff_number AS TEXT), '-'))), "
           "MAX(LENGTH(action)), MAX(LENGTH(outcome)) FROM audit_log")
    params: list[str] = []
    if since is not None:
        sql += " WHERE at >= ?"
        params.append(utc_now_iso(since))
    staff, action, outcome = db.conn.execute(sql, params).fetchone()
    return (_TIME_WIDTH, max(staff or 0, len("staff")), max(action or 0, len("action")),
            max(outcome or 0, len("outcome")))


def table_lines(rows: Iterable[AuditEntry], zone: ZoneInfo,
                widths: tuple[int, int, int, int]) -> Iterator[str]:
    """The header, then each audit row as a line of the table (local time, staff, action,
    outcome, detail), columns padded to ``widths`` (see `column_widths`); a value wider
    than its column (a row written while the log was read) pushes only its own line."""

    def line(cells: tuple[str, str, str, str], detail: str) -> str:
        return ("  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
                + f"  {detail}".rstrip())

    yield line(_HEADER, "detail")
    for entry in rows:
        yield line((entry.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                    "-" if entry.staff_number is None else str(entry.staff_number),
                    entry.action, entry.outcome), detail_text(entry.detail))


def json_line(entry: AuditEntry) -> str:
    """One audit row as a JSON object on one line (``at`` in the stored UTC form)."""
    return json.dumps({
        "id": entry.id,
        "at": utc_now_iso(entry.at),
        "staff_number": entry.staff_number,
        "action": entry.action,
        "outcome": entry.outcome,
        "detail": entry.detail,
    }, ensure_ascii=False, sort_keys=True)


@click.group("audit", invoke_without_command=True)
@config_option
@click.option("--since", type=SinceParam(), default=None,
              help="Only rows from this day (YYYY-MM-DD, the shop's midnight) or moment "
                   "(ISO 8601 with an offset) on.")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per line (JSON Lines) instead of a table.")
@click.pass_context
def audit_command(ctx: click.Context, config_path: Path, since: date | datetime | None,
                  as_json: bool) -> None:
    """Print the audit log (who did what, and how it went), oldest first; `kiosk audit
    verify` checks its keyed chain."""
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_or_exit(config_path)
    zone = settings.shop.zone()
    moment = None if since is None else since_moment(since, zone)
    db = open_database(existing_database(settings), check=False)
    try:
        rows = audit_rows(db, moment)
        if as_json:
            for entry in rows:
                click.echo(json_line(entry))
            return
        widths = column_widths(db, moment)
        first = next(rows, None)
        if first is None:
            click.echo("No audit rows" + ("" if since is None else " in that period") + ".")
            return
        for text in table_lines(itertools.chain([first], rows), zone, widths):
            click.echo(text)
    finally:
        db.close()


@audit_command.command("verify")
@config_option
def verify_command(config_path: Path) -> None:
    """Check the audit log's keyed chain (needs the audit key: run as root). Exits 1 naming
    the first row that breaks it: changed, inserted or deleted rows."""
    settings = settings_or_exit(config_path)
    keys = machine_keys(config_path)
    if keys is None:
        click.echo("kiosk: the audit key (systemd credential audit-key) cannot be read; run "
                   "as root: sudo kiosk audit verify", err=True)
        raise SystemExit(EXIT_FAILED)
    db = open_database(existing_database(settings), check=False)
    try:
        report = verify(db, keys)
    finally:
        db.close()
    start = f" after the checkpoint at row {report.before}" if report.before else ""
    if report.ok:
        click.echo(f"Audit chain intact: {report.checked} rows verified{start}.")
        return
    where = "" if report.broken_id is None else f"row {report.broken_id}: "
    click.echo(f"Audit chain BROKEN at {where}{report.reason} ({report.checked} rows "
               f"verified before it{start}).", err=True)
    raise SystemExit(EXIT_FAILED)
