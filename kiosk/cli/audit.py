"""``kiosk audit``: print the audit log (who did what at the kiosk), oldest first.

It only reads, so it works while the kiosk runs (it opens the database the way ``kiosk sync
status`` does and never takes the single-instance lock). Times are shown in the shop's time
zone; ``--json`` prints one JSON object per line with the stored UTC time instead.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from kiosk.cli.common import config_option, existing_database, settings_or_exit
from kiosk.store.audit import AuditEntry, entries
from kiosk.store.db import open_database, utc_now_iso
from kiosk.store.sales_report import day_bounds

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PLAIN_TEXT = re.compile(r"[^\s=\"]+")


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


def table_lines(rows: list[AuditEntry], zone: ZoneInfo) -> list[str]:
    """The audit rows as an aligned table with a header: local time, staff, action, outcome,
    detail."""
    cells = [("time", "staff", "action", "outcome")] + [
        (entry.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
         "-" if entry.staff_number is None else str(entry.staff_number),
         entry.action, entry.outcome)
        for entry in rows
    ]
    widths = [max(len(row[column]) for row in cells) for column in range(4)]
    details = ["detail"] + [detail_text(entry.detail) for entry in rows]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        + f"  {detail}".rstrip()
        for row, detail in zip(cells, details, strict=True)
    ]


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


@click.command("audit")
@config_option
@click.option("--since", type=SinceParam(), default=None,
              help="Only rows from this day (YYYY-MM-DD, the shop's midnight) or moment "
                   "(ISO 8601 with an offset) on.")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per line (JSON Lines) instead of a table.")
def audit_command(config_path: Path, since: date | datetime | None, as_json: bool) -> None:
    """Print the audit log (who did what, and how it went), oldest first."""
    settings = settings_or_exit(config_path)
    zone = settings.shop.zone()
    db = open_database(existing_database(settings), check=False)
    try:
        rows = entries(db, None if since is None else since_moment(since, zone))
    finally:
        db.close()
    if as_json:
        for entry in rows:
            click.echo(json_line(entry))
        return
    if not rows:
        click.echo("No audit rows" + ("" if since is None else " in that period") + ".")
        return
    for line in table_lines(rows, zone):
        click.echo(line)
