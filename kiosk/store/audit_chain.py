"""The audit log's keyed chain: each row's HMAC over its content and the row before it.

Every audit row carries ``chain_hash`` = HMAC-SHA256(audit key, previous row's hash + the
row's canonical content: id, time, staff number, action, outcome, detail). The key is a
systemd credential (``audit-key``), never in the database, so someone holding only the file
cannot change, delete or insert a row and recompute the chain after it. Retention deletes
the oldest rows and leaves a keyed checkpoint in ``meta`` (the last deleted row's id and
hash, with an HMAC of both) that the chain continues from; a database restored onto a
machine with another audit key gets a checkpoint after its last row, from which the new key
seals on (the rows before it are checked by the back office, which holds them).

`verify` walks the chain and names the first row that breaks it.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from kiosk.store.keys import AUDIT_KEY_CHECK, StoreKeys, meta_value, set_meta

log = logging.getLogger(__name__)

CHECKPOINT = "audit_checkpoint"
"""The ``meta`` key of the checkpoint the chain continues from (JSON: after_id, hash, tag)."""

_COLUMNS = "id, at, staff_number, action, outcome, detail"


def canonical(row: tuple[Any, ...]) -> bytes:
    """The bytes a row's hash covers: its id, time, staff number, action, outcome and detail
    (the stored JSON text) as a compact JSON array."""
    return json.dumps(list(row[:6]), separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(key: bytes, prev: str, row: tuple[Any, ...]) -> str:
    """The chain hash of ``row`` after a row whose hash is ``prev`` (``""`` for the first)."""
    message = b"kiosk audit row v1\0" + prev.encode("ascii") + b"\0" + canonical(row)
    return hmac.new(key, message, "sha256").hexdigest()


def _checkpoint_tag(key: bytes, after_id: int, hash_: str) -> str:
    message = f"kiosk audit checkpoint v1\0{after_id}\0{hash_}".encode("ascii")
    return hmac.new(key, message, "sha256").hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """Where the chain continues from: rows up to ``after_id`` are gone or sealed under an
    earlier key; the next row's hash follows ``hash``."""

    after_id: int
    hash: str
    tag: str


def checkpoint(db: Database) -> Checkpoint | None:
    """The stored checkpoint, or ``None``. A value that does not parse is returned with an
    empty tag, which never verifies."""
    text = meta_value(db, CHECKPOINT)
    if text is None:
        return None
    try:
        found = json.loads(text)
        return Checkpoint(int(found["after_id"]), str(found["hash"]), str(found["tag"]))
    except (ValueError, KeyError, TypeError):
        return Checkpoint(0, "", "")


def set_checkpoint(db: Database, key: bytes, after_id: int, hash_: str) -> None:
    """Store a keyed checkpoint after row ``after_id`` whose hash is ``hash_``."""
    tag = _checkpoint_tag(key, after_id, hash_)
    set_meta(db, CHECKPOINT, json.dumps({"after_id": after_id, "hash": hash_, "tag": tag}))


def chain_started(db: Database) -> bool:
    """True once the audit log is sealed with a key (its check value is stored)."""
    return meta_value(db, AUDIT_KEY_CHECK) is not None


def start_chain(db: Database, keys: StoreKeys) -> int:
    """Seal the audit log with ``keys`` if it is not yet (inside the caller's transaction).

    A log never sealed has its rows (written before the kiosk had its key: at install, on
    older versions) sealed in order; returns how many. A log sealed under another key (the
    database was restored onto another machine) gets a checkpoint after its newest row, and
    the new key seals on from there. A log sealed under this key is left alone."""
    stored = meta_value(db, AUDIT_KEY_CHECK)
    if stored == keys.audit_check():
        return 0
    if stored is not None:
        last = db.conn.execute(
            "SELECT id, chain_hash FROM audit_log ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if last is not None:
            set_checkpoint(db, keys.audit_key, int(last[0]), str(last[1] or ""))
        log.warning(
            "the audit log was sealed with another audit key (a database restored "
            "from another machine?): the chain continues after row %s under this "
            "machine's key",
            None if last is None else last[0],
        )
        set_meta(db, AUDIT_KEY_CHECK, keys.audit_check())
        return 0
    prev = tail_hash_before_sealing(db)
    rows = db.conn.execute(
        f"SELECT {_COLUMNS} FROM audit_log WHERE chain_hash IS NULL ORDER BY id"
    ).fetchall()
    for row in rows:
        prev = row_hash(keys.audit_key, prev, row)
        db.execute("UPDATE audit_log SET chain_hash = ? WHERE id = ?", [prev, row[0]])
    set_meta(db, AUDIT_KEY_CHECK, keys.audit_check())
    return len(rows)


def tail_hash_before_sealing(db: Database) -> str:
    """Where sealing a never-sealed log starts: after the checkpoint, if pruning left one."""
    found = checkpoint(db)
    return "" if found is None else found.hash


@dataclass(frozen=True)
class ChainReport:
    """What `verify` found. ``broken_id`` is the first row that breaks the chain (``None``
    when the break is not one row's, such as a wrong key or a forged checkpoint);
    ``reason`` says what is wrong; ``checked`` counts rows that verified; ``before`` is the
    id after which the chain starts (a checkpoint), 0 from the first row."""

    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str = ""
    before: int = 0


def verify(db: Database, keys: StoreKeys) -> ChainReport:
    """Check the whole audit chain with ``keys``; see `ChainReport`."""
    stored = meta_value(db, AUDIT_KEY_CHECK)
    if stored is None:
        sealed = db.conn.execute(
            "SELECT MIN(id) FROM audit_log WHERE chain_hash IS NOT NULL"
        ).fetchone()[0]
        if sealed is not None:
            return ChainReport(False, 0, sealed, "the audit key's check value was removed")
        return ChainReport(
            False,
            0,
            None,
            "the audit log is not sealed yet (the kiosk has not started with its audit key)",
        )
    if not hmac.compare_digest(stored, keys.audit_check()):
        return ChainReport(
            False,
            0,
            None,
            "the audit log is sealed with another audit key (a database from another machine?)",
        )
    found = checkpoint(db)
    prev, after = "", 0
    if found is not None:
        if not hmac.compare_digest(
            found.tag, _checkpoint_tag(keys.audit_key, found.after_id, found.hash)
        ):
            return ChainReport(False, 0, None, "the retention checkpoint is not genuine")
        prev, after = found.hash, found.after_id
    return _walk(db, keys.audit_key, prev, after)


def _walk(db: Database, key: bytes, prev: str, after: int) -> ChainReport:
    checked, last_id = 0, after
    rows = db.conn.execute(
        f"SELECT {_COLUMNS}, chain_hash FROM audit_log WHERE id > ? ORDER BY id", [after]
    )
    for row in rows:
        row_id, stored = int(row[0]), row[6]
        if stored is None:
            return ChainReport(False, checked, row_id, "the row is not sealed", after)
        if not hmac.compare_digest(str(stored), row_hash(key, prev, row)):
            if row_id != last_id + 1:
                reason = (
                    f"rows {last_id + 1} to {row_id - 1} are missing"
                    if row_id > last_id + 1
                    else "the row's id is out of order"
                )
            else:
                reason = "the row was changed or inserted, or the row before it was changed"
            return ChainReport(False, checked, row_id, reason, after)
        prev, last_id, checked = str(stored), row_id, checked + 1
    issued = db.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'").fetchone()
    if issued is not None and int(issued[0]) > last_id:
        return ChainReport(
            False,
            checked,
            last_id + 1,
            f"rows {last_id + 1} to {int(issued[0])} were deleted",
            after,
        )
    return ChainReport(True, checked, before=after)
