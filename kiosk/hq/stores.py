"""Choosing the back office's store: a SQLite file for one shop, PostgreSQL for a chain.

The registry sits above the backends (``kiosk.hq.sqlite_store``, ``kiosk.hq.postgres_store``),
which know only the interface below them (``kiosk.hq.storage``). Each backend is imported only
when it is chosen, so a shop on SQLite never loads psycopg.
"""

from __future__ import annotations

from pathlib import Path

from kiosk.hq.storage import HQStore


def open_store(database: Path | None = None, dsn: str | None = None) -> HQStore:
    """Open (creating the tables if needed) the back office's store: the SQLite file
    ``database``, or the PostgreSQL database at ``dsn``; exactly one of the two.

    Raises ``HQStoreError`` when it cannot be opened (the message never holds the DSN).
    """
    if (database is None) == (dsn is None):
        raise ValueError("give either a SQLite database path or a PostgreSQL DSN")
    if dsn is not None:
        from kiosk.hq.postgres_store import PostgresHQStore

        return PostgresHQStore(dsn)
    from kiosk.hq.sqlite_store import SQLiteHQStore

    assert database is not None
    return SQLiteHQStore(database)
