"""``kiosk hq``: the reference back office (serve it, issue kiosk tokens, import its catalog,
count what arrived).

Its data lives in a SQLite file (``--db``, default ``kiosk-hq.db`` in the current folder) or
in PostgreSQL (``--dsn``, better from ``$KIOSK_HQ_DSN`` so the password stays out of the
process list). The back office modules are imported by the commands only, so ``kiosk run``
does not pay for them at start.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kiosk.cli.common import EXIT_BAD_CONFIG, EXIT_FAILED

if TYPE_CHECKING:
    from kiosk.hq.storage import HQStore

DEFAULT_DATABASE = Path("kiosk-hq.db")

F = TypeVar("F", bound=Callable[..., Any])


def store_options(func: F) -> F:
    """Add ``--db PATH`` and ``--dsn DSN`` (one or the other) to a command."""
    func = click.option(
        "--dsn", envvar="KIOSK_HQ_DSN", default=None, metavar="DSN",
        help="PostgreSQL connection string instead of a SQLite file (or $KIOSK_HQ_DSN).",
    )(func)
    return click.option(
        "--db", "database", envvar="KIOSK_HQ_DB", default=None,
        type=click.Path(path_type=Path, dir_okay=False),
        help=f"The back office's SQLite file (or $KIOSK_HQ_DB; default {DEFAULT_DATABASE}).",
    )(func)


def open_hq_store(database: Path | None, dsn: str | None, *, must_exist: bool = False
                  ) -> HQStore:
    """Open the store the options name, or exit: 2 for both options at once, 1 when it
    cannot be opened (or, with ``must_exist``, a SQLite file is missing)."""
    from kiosk.hq.storage import HQStoreError
    from kiosk.hq.stores import open_store

    if database is not None and dsn:
        click.echo("kiosk: give --db or --dsn, not both", err=True)
        raise SystemExit(EXIT_BAD_CONFIG)
    if not dsn:
        database = database or DEFAULT_DATABASE
        if must_exist and not database.exists():
            click.echo(f"kiosk: no back office database at {database}", err=True)
            raise SystemExit(EXIT_FAILED)
    try:
        return open_store(database=None if dsn else database, dsn=dsn or None)
    except HQStoreError as error:
        click.echo(f"kiosk: {error}", err=True)
        raise SystemExit(EXIT_FAILED) from None


def _now() -> datetime:
    return datetime.now(UTC)


@click.group()
def hq() -> None:
    """The reference back office: serve it, issue kiosk tokens, import its catalog."""


@hq.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface; put TLS in front).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port to listen on (0: any free port, printed at start).")
@store_options
@click.option("--faults", is_flag=True,
              help="Accept test faults at /_hq/faults (loopback only; for tests).")
def serve_command(host: str, port: int, database: Path | None, dsn: str | None,
                  faults: bool) -> None:
    """Serve the back office; prints "Back office listening on URL" first (Ctrl-C stops)."""
    from kiosk.hq.server import serve
    from kiosk.logs import configure_logging

    configure_logging(logging.INFO)
    store = open_hq_store(database, dsn)
    try:
        serve(store, host=host, port=port, faults=faults, announce=_announce)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    finally:
        store.close()


def _announce(line: str) -> None:
    click.echo(line)
    sys.stdout.flush()


@hq.group("token")
def token() -> None:
    """Kiosk tokens: each kiosk sends its own."""


@token.command("add")
@click.argument("kiosk_id")
@store_options
def token_add(kiosk_id: str, database: Path | None, dsn: str | None) -> None:
    """Issue KIOSK_ID's token and print it once (only its hash is kept); replaces an older one."""
    from kiosk.hq.tokens import new_token, token_hash
    from kiosk.wire import valid_kiosk_id

    if not valid_kiosk_id(kiosk_id):
        click.echo(f"kiosk: {kiosk_id!r} is not a kiosk id (1-64 letters, digits, . _ -)",
                   err=True)
        raise SystemExit(EXIT_BAD_CONFIG)
    issued = new_token()
    with open_hq_store(database, dsn) as store:
        new = store.add_kiosk(kiosk_id, token_hash(issued), _now())
    click.echo(
        f"Token for kiosk {kiosk_id}{'' if new else ' (its earlier token no longer works)'}; "
        "shown only now. Give it to the kiosk as KIOSK_BACKOFFICE_TOKEN or as the systemd "
        "credential backoffice-token:",
        err=True,
    )
    click.echo(issued)


@hq.group("catalog")
def catalog() -> None:
    """The catalog feed the kiosks pull."""


@catalog.command("import")
@click.argument("path", metavar="FILE.csv",
                type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--currency", required=True, help="ISO code the file's prices are in (EUR).")
@click.option("--tax-class", "tax_classes", multiple=True, metavar="CODE",
              help="A tax class the kiosks know (repeat); without it any code is accepted.")
@store_options
def catalog_import(path: Path, currency: str, tax_classes: tuple[str, ...],
                   database: Path | None, dsn: str | None) -> None:
    """Make the feed exactly FILE.csv's products, all rows or none (docs/CATALOG.md)."""
    from kiosk.core.catalog_file import CatalogRejected
    from kiosk.core.money import MoneyError
    from kiosk.hq.catalog_file import read_feed_products

    currency = currency.upper()
    try:
        products = read_feed_products(path, currency=currency,
                                      tax_classes=set(tax_classes) or None)
    except MoneyError as error:
        click.echo(f"kiosk: unknown currency {currency!r} ({error})", err=True)
        raise SystemExit(EXIT_BAD_CONFIG) from None
    except CatalogRejected as error:
        click.echo(f"kiosk: {error}", err=True)
        raise SystemExit(EXIT_FAILED) from None
    with open_hq_store(database, dsn) as store:
        before = store.catalog_version()
        feed = store.replace_catalog(currency, products, _now())
    change = "unchanged" if feed.version == before else "new version"
    click.echo(f"Catalog feed {feed.version} ({change}): {len(feed.products)} products "
               f"in {feed.currency}.")


@hq.command("events")
@click.option("--kiosk", "kiosk_id", default=None, help="Count one kiosk's events only.")
@store_options
def events_command(kiosk_id: str | None, database: Path | None, dsn: str | None) -> None:
    """Count the stored events per topic."""
    with open_hq_store(database, dsn, must_exist=True) as store:
        counts = store.event_counts(kiosk_id)
    for topic, count in counts.items():
        click.echo(f"{topic:<18} {count}")


@hq.command("alerts")
@click.option("--kiosk", "kiosk_id", default=None, help="One kiosk's alerts only.")
@store_options
def alerts_command(kiosk_id: str | None, database: Path | None, dsn: str | None) -> None:
    """List the alerts raised as kiosks synced (audit chain broken or with a gap, lockouts);
    exits 1 when a kiosk's audit chain is broken."""
    with open_hq_store(database, dsn, must_exist=True) as store:
        alerts = store.alerts(kiosk_id)
    if not alerts:
        click.echo("No alerts.")
        return
    for alert in alerts:
        moment = "" if alert.raised_at is None else alert.raised_at.isoformat(timespec="seconds")
        click.echo(f"{moment}  {alert.kiosk_id}  {alert.kind}  {alert.detail}")
    if any(alert.kind.startswith("audit_") for alert in alerts):
        raise SystemExit(EXIT_FAILED)
