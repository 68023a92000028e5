"""The kiosk database schema as named, ordered sqlite-utils migrations.

Each migration runs in a transaction together with the record that it was applied, so a
power cut leaves it either fully applied or still pending. A migration is never edited once
released: a schema change is a new function appended below.

Conventions: money columns end in ``_minor`` (integer minor units), timestamps are UTC text
ending in ``Z``, weights are grams (``weight_g``). Tables are STRICT, so a wrong type is an
error rather than a silently stored string.
"""

from __future__ import annotations

import json
import uuid

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("kiosk")

_INITIAL_SCHEMA = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE products (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
    tax_class TEXT NOT NULL,
    min_age INTEGER,
    sold_by_weight INTEGER NOT NULL DEFAULT 0 CHECK (sold_by_weight IN (0, 1)),
    unit_price_per_kg_minor INTEGER,
    department TEXT,
    source TEXT NOT NULL CHECK (source IN ('csv', 'backoffice')),
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE sale_numbers (
    kiosk_id TEXT PRIMARY KEY,
    last_number INTEGER NOT NULL
) STRICT;

CREATE TABLE sales (
    id TEXT PRIMARY KEY,
    number INTEGER NOT NULL,
    kiosk_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'locked', 'paid', 'abandoned', 'voided')),
    currency TEXT NOT NULL,
    language TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT,
    subtotal_minor INTEGER NOT NULL DEFAULT 0,
    tax_minor INTEGER NOT NULL DEFAULT 0,
    total_minor INTEGER NOT NULL DEFAULT 0,
    age_approved_by INTEGER REFERENCES staff(number),
    close_reason TEXT,
    UNIQUE (kiosk_id, number)
) STRICT;
CREATE INDEX sales_by_state ON sales(state);
CREATE INDEX sales_by_created_at ON sales(created_at);

CREATE TABLE sale_lines (
    sale_id TEXT NOT NULL REFERENCES sales(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_minor INTEGER NOT NULL,
    weight_g INTEGER,
    tax_class TEXT NOT NULL,
    tax_rate TEXT NOT NULL,
    line_total_minor INTEGER NOT NULL,
    min_age INTEGER,
    PRIMARY KEY (sale_id, position)
) STRICT;

CREATE TABLE payment_attempts (
    id TEXT PRIMARY KEY,
    sale_id TEXT NOT NULL REFERENCES sales(id),
    n INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    payment_intent_id TEXT,
    reader_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    detail TEXT
) STRICT;
CREATE INDEX payment_attempts_by_sale ON payment_attempts(sale_id);
CREATE INDEX payment_attempts_by_state ON payment_attempts(state);

CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    sale_id TEXT NOT NULL REFERENCES sales(id),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    state TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    stripe_refund_id TEXT,
    requested_by INTEGER REFERENCES staff(number),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    error TEXT
) STRICT;
CREATE INDEX refunds_by_sale ON refunds(sale_id);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    sale_id TEXT,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    acked_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
) STRICT;
CREATE INDEX outbox_unacked ON outbox(id) WHERE acked_at IS NULL;
CREATE INDEX outbox_by_sale ON outbox(sale_id);

CREATE TABLE print_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sale_id TEXT REFERENCES sales(id),
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    copy INTEGER NOT NULL DEFAULT 0,
    data BLOB,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
) STRICT;
CREATE INDEX print_jobs_by_state ON print_jobs(state);
CREATE INDEX print_jobs_by_sale ON print_jobs(sale_id);

CREATE TABLE staff (
    number INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('attendant', 'manager')),
    pin_hash BLOB,
    pin_salt BLOB,
    pin_params TEXT,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    lockouts INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    staff_number INTEGER,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT
) STRICT;
CREATE INDEX audit_log_by_at ON audit_log(at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
"""


@MIGRATIONS()
def m001_initial(db: Database) -> None:
    """Create every table of the first release and give the database its install id."""
    db.executescript(_INITIAL_SCHEMA)
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('install_id', ?)", [uuid.uuid4().hex]
    )


_PAYMENT_COLUMNS = (
    # The persisted idempotency keys of the Stripe POSTs guarded by the protocol.
    "create_key TEXT",
    "update_key TEXT",
    "display_key TEXT",
    "process_key TEXT",
    "cancel_action_key TEXT",
    "capture_key TEXT",
    "cancel_key TEXT",
    "capture_method TEXT",
    "intent_status TEXT",
    "intent_amount_minor INTEGER",
    "locked_at TEXT",
    "process_sent_at TEXT",
    "outcome TEXT",
    "decline_code TEXT",
    "charge_id TEXT",
    "card TEXT",
    "captured_minor INTEGER NOT NULL DEFAULT 0",
    "paid_at TEXT",
)


@MIGRATIONS()
def m002_payments(db: Database) -> None:
    """Add what the payment protocol commits: keys, intent state, card details, refund links.

    One attempt row per sale (the sale's single PaymentIntent), so a unique index on
    ``payment_attempts.sale_id``; refunds remember the PaymentIntent they refund.
    """
    for column in _PAYMENT_COLUMNS:
        db.execute(f"ALTER TABLE payment_attempts ADD COLUMN {column}")
    db.execute(
        "CREATE UNIQUE INDEX payment_attempts_one_per_sale ON payment_attempts(sale_id)"
    )
    db.execute(
        "CREATE INDEX payment_attempts_by_intent ON payment_attempts(payment_intent_id)"
    )
    db.execute("ALTER TABLE refunds ADD COLUMN payment_intent_id TEXT")
    db.execute("ALTER TABLE refunds ADD COLUMN refund_status TEXT")
    db.execute("CREATE INDEX refunds_by_state ON refunds(state)")


@MIGRATIONS()
def m003_refund_slips(db: Database) -> None:
    """Name the refund a ``refund_slip`` print job is for (a sale may have several)."""
    db.execute("ALTER TABLE print_jobs ADD COLUMN refund_id TEXT REFERENCES refunds(id)")


_SYNC_SCHEMA = """
CREATE TABLE sync_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN (SELECT value FROM meta WHERE key = 'audit_pruning') IS NOT '1'
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
"""


@MIGRATIONS()
def m004_sync(db: Database) -> None:
    """What background sync needs: its state (``sync_state``), an outbox event for every
    audit row (earlier rows too: each audit row is an event of its own), and a way for
    retention to prune old audit rows.

    The audit log stays append-only for everything else: deleting is refused unless
    ``meta.audit_pruning`` is ``'1'``, which only the retention step sets, inside the same
    transaction as its delete (``kiosk.store.retention``).
    """
    db.executescript(_SYNC_SCHEMA)
    rows = db.execute(
        "SELECT id, at, staff_number, action, outcome, detail FROM audit_log ORDER BY id"
    ).fetchall()
    for row in rows:
        db.execute(
            "INSERT INTO outbox (event_id, topic, sale_id, payload, created_at) "
            "VALUES (?, 'audit.recorded', NULL, ?, ?)",
            [str(uuid.uuid4()), audit_payload_json(*row), row[1]],
        )


def audit_payload_json(
    audit_id: int, at: str, staff_number: int | None, action: str, outcome: str,
    detail: str | None, *, chain: tuple[str, str] | None = None,
) -> str:
    """The outbox payload (JSON text) of one audit row; ``chain`` (the previous row's hash
    and this row's) adds ``prev_hash`` and ``chain_hash`` for the back office's check."""
    payload = {
        "audit_id": audit_id,
        "at": at,
        "staff_number": staff_number,
        "action": action,
        "outcome": outcome,
        "detail": None if detail is None else json.loads(detail),
    }
    if chain is not None:
        payload["prev_hash"], payload["chain_hash"] = chain
    return json.dumps(payload, sort_keys=True)


@MIGRATIONS()
def m005_retention_indexes(db: Database) -> None:
    """Indexes retention needs: the print jobs of a refund (pruning a sale's refunds would
    otherwise scan every print job once per sale)."""
    db.execute("CREATE INDEX print_jobs_by_refund ON print_jobs(refund_id)")


_STAFF_MENU_SCHEMA = """
CREATE TABLE runtime_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    changed_by INTEGER
) STRICT;

CREATE TABLE reader_inspections (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    staff_number INTEGER NOT NULL,
    reader_serial TEXT,
    serial_matches INTEGER NOT NULL CHECK (serial_matches IN (0, 1)),
    no_tampering INTEGER NOT NULL CHECK (no_tampering IN (0, 1)),
    note TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX reader_inspections_by_at ON reader_inspections(at);

CREATE TRIGGER reader_inspections_no_update BEFORE UPDATE ON reader_inspections
BEGIN
    SELECT RAISE(ABORT, 'reader_inspections is append-only');
END;

CREATE TRIGGER reader_inspections_no_delete BEFORE DELETE ON reader_inspections
BEGIN
    SELECT RAISE(ABORT, 'reader_inspections is append-only');
END;
"""


@MIGRATIONS()
def m006_staff_menu(db: Database) -> None:
    """What the staff menu keeps: the settings staff may change at the kiosk
    (``runtime_settings``, the value as JSON text) and the card-reader inspections
    (``reader_inspections``), which are evidence for a PCI DSS assessor and therefore
    append-only like the audit log (triggers refuse UPDATE and DELETE)."""
    db.executescript(_STAFF_MENU_SCHEMA)


_SEALED_SECRETS_SCHEMA = """
ALTER TABLE staff ADD COLUMN pin_peppered INTEGER NOT NULL DEFAULT 0
    CHECK (pin_peppered IN (0, 1));
ALTER TABLE audit_log ADD COLUMN chain_hash TEXT;

DROP TRIGGER audit_log_no_update;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (
    OLD.chain_hash IS NULL AND NEW.id IS OLD.id AND NEW.at IS OLD.at
    AND NEW.staff_number IS OLD.staff_number AND NEW.action IS OLD.action
    AND NEW.outcome IS OLD.outcome AND NEW.detail IS OLD.detail
)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
"""


@MIGRATIONS()
def m007_sealed_secrets(db: Database) -> None:
    """Secrets that survive a copied database (``kiosk.store.sealing``): a flag per staff
    member whose PIN hash is wrapped with the pin pepper, and each audit row's keyed chain
    hash. The audit log stays append-only: the one update allowed sets the chain hash of a
    row written before the kiosk had its audit key, once, changing nothing else. Wrapping
    the existing PIN hashes and sealing the existing audit rows needs the keys, which a
    migration does not have: the kiosk does it when it first opens the database with them."""
    db.executescript(_SEALED_SECRETS_SCHEMA)
