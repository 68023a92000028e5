"""``kiosk config check``: validate the configuration file and summarise it."""

from __future__ import annotations

import os
from pathlib import Path

import click

from kiosk.cli.common import config_option, database_path, settings_or_exit
from kiosk.config import ConfigError, load_secrets


@click.group()
def config() -> None:
    """Check the configuration file."""


@config.command("check")
@config_option
def check_command(config_path: Path) -> None:
    """Validate the configuration (and the secrets' presence) and print a summary."""
    settings = settings_or_exit(config_path)
    try:
        secrets = load_secrets(os.environ)
    except ConfigError as error:
        click.echo(f"kiosk: invalid secret: {error}", err=True)
        raise SystemExit(2) from None
    shop = settings.shop
    click.echo(f"{config_path}: valid.")
    click.echo(f"kiosk {settings.kiosk_id} of {shop.name}")
    click.echo(f"currency {shop.currency}, locale {shop.locale}, time zone {shop.time_zone}")
    rates = settings.tax_policy().classes.items()
    classes = ", ".join(f"{code} {(tax.rate * 100).normalize():f}%" for code, tax in rates)
    click.echo(f"tax {settings.tax.mode}, rounding {settings.tax.rounding}: {classes or 'none'}")
    click.echo(f"database {database_path(settings)}")
    click.echo(f"catalog from {settings.catalog.source}")
    stripe_key = "set" if secrets.stripe_api_key else "not set"
    token = "set" if secrets.backoffice_token else "not set"
    click.echo(f"Stripe secret key: {stripe_key}; back-office token: {token}")
