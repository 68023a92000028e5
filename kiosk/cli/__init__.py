"""The ``kiosk`` command: every subcommand, each with a one-line description in --help."""

from __future__ import annotations

import click

from kiosk import __version__
from kiosk.cli.audit import audit_command
from kiosk.cli.catalog import catalog
from kiosk.cli.config import config
from kiosk.cli.db import db
from kiosk.cli.doctor import doctor_command
from kiosk.cli.hq import hq
from kiosk.cli.install import install_service_command, uninstall_service_command
from kiosk.cli.keys import keys_command
from kiosk.cli.payments import reader, reconcile_command
from kiosk.cli.receipt import receipt
from kiosk.cli.scanner import scanner
from kiosk.cli.session import demo_command, run_command
from kiosk.cli.sim import sim
from kiosk.cli.staff import staff
from kiosk.cli.sync import sync
from kiosk.store.db import StoreError
from kiosk.store.staff import NotAllowed, UnknownStaff


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kiosk")
def cli() -> None:
    """kiosk: a self-checkout for small shops."""


cli.add_command(run_command)
cli.add_command(demo_command)
cli.add_command(config)
cli.add_command(catalog)
cli.add_command(staff)
cli.add_command(db)
cli.add_command(scanner)
cli.add_command(sim)
cli.add_command(reader)
cli.add_command(reconcile_command)
cli.add_command(receipt)
cli.add_command(hq)
cli.add_command(sync)
cli.add_command(audit_command)
cli.add_command(doctor_command)
cli.add_command(keys_command)
cli.add_command(install_service_command)
cli.add_command(uninstall_service_command)


def main() -> None:
    """Entry point of the ``kiosk`` console command.

    Errors a command could not foresee in detail (a damaged database, an unknown staff
    number) end it with one line and status 1 rather than a traceback.
    """
    try:
        cli()
    except (StoreError, UnknownStaff, NotAllowed, OSError) as error:
        click.echo(f"kiosk: {error}", err=True)
        raise SystemExit(1) from None
