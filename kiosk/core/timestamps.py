"""The stored form of a moment: UTC text with microseconds, ``2026-11-26T12:00:00.000000Z``.

The kiosk's database and the back office's SQLite store write every timestamp in this form,
so text order is time order. Pure: the moment is passed in, no clock is read here.
"""

from __future__ import annotations

from datetime import UTC, datetime

_ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_now_iso(now: datetime) -> str:
    """Format an aware datetime as the stored UTC form, e.g. ``2026-11-26T12:00:00.000000Z``.

    Naive datetimes are refused: their time zone is a guess.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got naive {now!r}")
    return now.astimezone(UTC).strftime(_ISO_FORMAT)


def parse_utc_iso(text: str) -> datetime:
    """Read a stored UTC timestamp (``...Z``) back as an aware datetime in UTC."""
    return datetime.strptime(text, _ISO_FORMAT).replace(tzinfo=UTC)
