"""``kiosk sync``: where sync with the back office stands, and one sync pass now.

``kiosk sync status`` only reads (it works while the kiosk runs). ``kiosk sync run`` sends the
outbox, pulls the catalog and prunes what retention no longer keeps, so it takes the
single-instance lock and exits with status 3 while the kiosk runs (the running kiosk syncs
by itself). The back-office token comes from ``KIOSK_BACKOFFICE_TOKEN`` or the systemd
credential ``backoffice-token`` and is never printed.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from kiosk.cli.common import (
    EXIT_BAD_CONFIG,
    EXIT_FAILED,
    config_option,
    exclusive_state,
    existing_database,
    machine_keys,
    settings_or_exit,
    utc_now,
)
from kiosk.config import ConfigError, Settings, load_secrets
from kiosk.core.timestamps import parse_utc_iso
from kiosk.store.db import open_database
from kiosk.store.retention import PruneReport, prune
from kiosk.store.worker import StoreWorker
from kiosk.sync.catalog_pull import (
    CATALOG_CHECKED_AT,
    CATALOG_VERSION,
    PullResult,
    pull_catalog,
)
from kiosk.sync.http import make_client
from kiosk.sync.relay import OutboxRelay, PassResult, sync_status

REQUEST_TIMEOUT_S = 10.0
"""Seconds each back-office request of ``kiosk sync run`` may take."""

PRUNE_WAIT_S = 600.0
"""Seconds ``kiosk sync run`` waits for pruning (the first one rewrites the file once)."""


@click.group()
def sync() -> None:
    """Sync with the back office: status, or one pass now."""


def describe_age(seconds: float) -> str:
    """A duration in words for staff: ``45 s``, ``3 min``, ``2 h 5 min``, ``3 days 4 h``."""
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    days, hours = divmod(hours, 24)
    return f"{days} day{'' if days == 1 else 's'}" + (f" {hours} h" if hours else "")


def _when(moment: datetime | None, now: datetime, zone: ZoneInfo) -> str:
    if moment is None:
        return "never"
    local = moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    return f"{local} ({describe_age((now - moment).total_seconds())} ago)"


@sync.command("status")
@config_option
def status_command(config_path: Path) -> None:
    """Show pending events, their age, the last success and error."""
    settings = settings_or_exit(config_path)
    db = open_database(existing_database(settings), check=False)
    try:
        status = sync_status(db)
        catalog = dict(db.execute(
            "SELECT key, value FROM sync_state WHERE key IN (?, ?)",
            [CATALOG_VERSION, CATALOG_CHECKED_AT],
        ).fetchall())
    finally:
        db.close()
    now = utc_now()
    zone = settings.shop.zone()
    click.echo(f"Back office: {settings.backoffice.url or 'none configured'}")
    if status.pending and status.oldest_pending_at is not None:
        age = describe_age((now - status.oldest_pending_at).total_seconds())
        click.echo(f"Pending: {status.pending} event(s), the oldest waiting for {age}")
    else:
        click.echo("Pending: nothing; the back office has every event")
    click.echo(f"Last success: {_when(status.last_success_at, now, zone)}")
    if status.last_error:
        click.echo(f"Last error: {status.last_error}")
        click.echo(f"  at {_when(status.last_error_at, now, zone)}")
    else:
        click.echo("Last error: none")
    checked = catalog.get(CATALOG_CHECKED_AT)
    version = catalog.get(CATALOG_VERSION)
    click.echo(
        f"Catalog: {f'version {version}' if version else 'none from the back office'}, "
        f"last checked {_when(parse_utc_iso(checked) if checked else None, now, zone)}"
    )


def _token_or_exit(settings: Settings, config_path: Path) -> tuple[str, str]:
    """The back office's address and the kiosk's token, or a message and exit status 1."""
    url = settings.backoffice.url
    if not url:
        click.echo(
            f"kiosk: no back office is configured (set [backoffice] url in {config_path}); "
            "there is nothing to sync with.",
            err=True,
        )
        raise SystemExit(EXIT_FAILED)
    try:
        secret = load_secrets(os.environ).backoffice_token
    except ConfigError as error:
        click.echo(f"kiosk: invalid configuration: {error}", err=True)
        raise SystemExit(EXIT_BAD_CONFIG) from None
    if secret is None:
        click.echo(
            "kiosk: no back-office token: set KIOSK_BACKOFFICE_TOKEN or the systemd "
            "credential backoffice-token (issued by `kiosk hq token add KIOSK_ID`).",
            err=True,
        )
        raise SystemExit(EXIT_FAILED)
    return url, secret.get_secret_value()


@sync.command("run")
@config_option
def run_command(config_path: Path) -> None:
    """Sync now: send events, pull the catalog, prune old rows."""
    settings = settings_or_exit(config_path)
    url, token = _token_or_exit(settings, config_path)
    try:
        client = make_client(url, token, REQUEST_TIMEOUT_S)
    except ValueError as error:
        click.echo(f"kiosk: invalid configuration: {error}", err=True)
        raise SystemExit(EXIT_BAD_CONFIG) from None
    errors: list[str] = []
    with client, exclusive_state(settings):
        path = existing_database(settings)
        with StoreWorker(path, name="sync-run", keys=machine_keys(config_path)) as store:
            relay = OutboxRelay(
                database=path, store=store, kiosk_id=settings.kiosk_id, base_url=url,
                token=token, clock=utc_now, interval_s=settings.backoffice.sync_interval_s,
                request_timeout_s=REQUEST_TIMEOUT_S,
            )
            try:
                sent = relay.run_once()
            finally:
                relay.stop()
            _report_pass(sent, errors)
            pulled = pull_catalog(client, store, settings, utc_now())
            _report_pull(pulled, errors)
            retention, now = settings.retention, utc_now()
            pruned = store.submit(lambda db: prune(db, retention, now)).result(PRUNE_WAIT_S)
            _report_prune(pruned)
    if errors:
        for reason in errors:
            click.echo(f"kiosk: sync stopped: {reason}", err=True)
        raise SystemExit(EXIT_FAILED)


def _report_pass(sent: PassResult, errors: list[str]) -> None:
    click.echo(
        f"Events: {sent.sent} sent in {sent.batches} batch(es), "
        f"{sent.acknowledged} acknowledged."
    )
    if sent.error:
        errors.append(sent.error)


def _report_pull(pulled: PullResult, errors: list[str]) -> None:
    if pulled.error:
        click.echo("Catalog: not updated.")
        errors.append(pulled.error)
    elif pulled.changed:
        click.echo(f"Catalog: version {pulled.version} applied, {pulled.products} product(s).")
    elif pulled.note:
        click.echo(f"Catalog: {pulled.note}.")
    else:
        click.echo(f"Catalog: unchanged (version {pulled.version or 'none'}).")


def _report_prune(pruned: PruneReport) -> None:
    click.echo(
        f"Pruned: {pruned.sales} sale(s), {pruned.outbox_rows} outbox row(s), "
        f"{pruned.audit_rows} audit row(s), the bytes of {pruned.print_data} print job(s); "
        f"{pruned.vacuumed_pages} page(s) given back."
    )
