"""``kiosk reader register|status`` and ``kiosk reconcile``: the card reader and the payments.

They talk to the Stripe API of ``[stripe] api_base`` with the secret key from the environment
(``KIOSK_STRIPE_API_KEY``) or the systemd credential ``stripe-api-key``; with ``"embedded"``
they use the kiosk's own emulator and its objects in the state directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kiosk.cli.common import (
    EXIT_FAILED,
    config_option,
    database_path,
    exclusive_state,
    machine_keys,
    settings_or_exit,
)
from kiosk.config import ConfigError, Settings, load_secrets
from kiosk.core.checkout_states import PaymentPhase
from kiosk.payments.provider import ProviderUnavailable
from kiosk.payments.registry import build_provider
from kiosk.payments.reports import ReconcileReport
from kiosk.payments.stripe.failures import StripeFailure
from kiosk.payments.stripe.setup import EMBEDDED_API_KEY, payment_settings
from kiosk.sim.card_readers import SIMULATORS

if TYPE_CHECKING:
    import stripe
from kiosk.store.worker import StoreWorker


class _Quiet:
    """Payment reports nobody watches: the commands print their own results."""

    def payment_phase(self, sale_id: str, phase: PaymentPhase) -> None:
        """Ignored."""

    def payment_paid(self, sale_id: str) -> None:
        """Ignored."""

    def payment_declined(self, sale_id: str, code: str) -> None:
        """Ignored."""

    def payment_cancelled(self, sale_id: str) -> None:
        """Ignored."""

    def payment_unresolved(self, sale_id: str, code: str) -> None:
        """Ignored."""

    def payments_available(self, available: bool, reason: str) -> None:
        """Ignored."""


@contextmanager
def stripe_client(settings: Settings) -> Iterator[stripe.StripeClient]:
    """A client for ``[stripe] api_base``; the embedded emulator runs for the block.

    The stripe library (and the emulator) are loaded here: the ``kiosk`` command loads
    them only for a command that talks to Stripe."""
    from kiosk.payments.stripe.api import build_client
    from kiosk.sim.stripe_emulator import StripeEmulator

    config = payment_settings(settings, settings.stripe.reader_id)
    if settings.stripe.api_base == "embedded":
        emulator = StripeEmulator(state_path=Path(settings.state_dir) / "stripe-emulator.json")
        try:
            yield build_client(EMBEDDED_API_KEY, emulator.start(),
                               request_timeout_s=config.request_timeout_s,
                               max_network_retries=config.max_network_retries)
        finally:
            emulator.stop()
        return
    try:
        secrets = load_secrets(os.environ)
    except ConfigError as error:
        click.echo(f"kiosk: {error}", err=True)
        raise SystemExit(EXIT_FAILED) from None
    if secrets.stripe_api_key is None:
        click.echo("kiosk: no Stripe secret key: set KIOSK_STRIPE_API_KEY or the "
                   "stripe-api-key credential.", err=True)
        raise SystemExit(EXIT_FAILED)
    yield build_client(secrets.stripe_api_key.get_secret_value(), settings.stripe.api_base,
                       request_timeout_s=config.request_timeout_s,
                       max_network_retries=config.max_network_retries)


@click.group()
def reader() -> None:
    """Register and check the Stripe Terminal card reader."""


@reader.command("register")
@config_option
@click.argument("code")
@click.option("--location", "location_id", required=True, help="The Terminal location (tml_...).")
@click.option("--label", default="Kiosk reader", show_default=True, help="The reader's name.")
def register_command(config_path: Path, code: str, location_id: str, label: str) -> None:
    """Register a reader by its registration CODE (simulated-wpe in test mode)."""
    settings = settings_or_exit(config_path)
    from kiosk.payments.stripe.api import register_reader

    with stripe_client(settings) as client:
        try:
            registered = register_reader(client, code, location_id, label)
        except StripeFailure as failure:
            click.echo(f"kiosk: the reader was not registered: {failure}", err=True)
            raise SystemExit(EXIT_FAILED) from None
    click.echo(f"Registered {registered.get('device_type')} reader {registered['id']} "
               f"({registered.get('label')}) at {registered.get('location')}.")
    click.echo(f'Put it in the configuration: [stripe] reader_id = "{registered["id"]}"')


@reader.command("status")
@config_option
def status_command(config_path: Path) -> None:
    """Show the configured reader as Stripe sees it (online, its current action)."""
    settings = settings_or_exit(config_path)
    reader_id = settings.stripe.reader_id
    if not reader_id and settings.stripe.api_base != "embedded":
        click.echo("kiosk: [stripe] reader_id is not set; register one first.", err=True)
        raise SystemExit(EXIT_FAILED)
    import stripe

    with stripe_client(settings) as client:
        try:
            readers = (
                [client.v1.terminal.readers.retrieve(reader_id).to_dict()] if reader_id
                else [r.to_dict() for r in client.v1.terminal.readers.list().data]
            )
        except stripe.StripeError as error:
            click.echo(f"kiosk: Stripe answered: {error.user_message or error}", err=True)
            raise SystemExit(EXIT_FAILED) from None
    if not readers:
        click.echo("No reader is registered: kiosk reader register CODE --location ID")
    for found in readers:
        action = found.get("action") or {}
        doing = f"{action.get('type')} {action.get('status')}" if action else "idle"
        click.echo(f"{found['id']}  {found.get('label')}  {found.get('device_type')}  "
                   f"{found.get('status')}  serial {found.get('serial_number')}  {doing}")


def describe(report: ReconcileReport) -> list[str]:
    """The reconcile report as lines: what was checked, found and fixed."""
    lines = [
        f"checked {report.checked} local payment(s) and {report.intents_checked} "
        f"PaymentIntent(s) since {report.since:%Y-%m-%d %H:%M} UTC ({report.ours} ours)",
    ]
    for title, items in (
        ("recorded paid", report.paid),
        ("adopted", report.adopted),
        ("captured", report.captured),
        ("cancelled", report.cancelled),
        ("still in doubt (call staff)", report.unresolved),
        ("of other installs, left alone", report.foreign),
        ("errors", report.errors),
    ):
        if items:
            lines.append(f"{title}: {', '.join(items)}")
    lines += [f"resolved {sale}: {state}" for sale, state in report.resolved.items()]
    lines += [f"refund {refund}: {state}" for refund, state in report.refunds.items()]
    lines += [f"ANOMALY: {anomaly}" for anomaly in report.anomalies]
    if report.timed_out:
        lines.append("ran out of time before everything was checked; run it again")
    return lines


@click.command("reconcile")
@config_option
@click.option("--days", type=click.IntRange(1, 90), default=7, show_default=True,
              help="Look at PaymentIntents created this many days back.")
def reconcile_command(config_path: Path, days: int) -> None:
    """Check local payments against Stripe and fix what the rules allow; print it all."""
    settings = settings_or_exit(config_path)
    with exclusive_state(settings):
        store = StoreWorker(database_path(settings), records_money=True,
                            keys=machine_keys(config_path))
        try:
            try:
                provider = build_provider(settings, load_secrets(os.environ), store, _Quiet(),
                                          lambda: datetime.now(UTC), simulators=SIMULATORS)
            except ProviderUnavailable as unavailable:
                click.echo(f"kiosk: card payments are off ({unavailable.reason}).", err=True)
                raise SystemExit(EXIT_FAILED) from None
            provider.start()
            try:
                since = datetime.now(UTC) - timedelta(days=days)
                report = provider.reconcile(since)
            finally:
                provider.stop()
        finally:
            store.close()
    for line in describe(report):
        click.echo(line)
    if not report.settled or report.anomalies:
        raise SystemExit(EXIT_FAILED)
