"""``kiosk install-service`` and ``kiosk uninstall-service``: the kiosk as a systemd service.

Both print one line per step (``created``, ``updated``, ``unchanged``, ...), then what the
technician should do next. They need root on the machine itself; ``--root DIR`` works on a
folder instead (nothing is reloaded or started there), which is how the tests run them.
"""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.cli.common import EXIT_FAILED, utc_now
from kiosk.cli.staff import read_pin
from kiosk.install import (
    Done,
    InstallError,
    Layout,
    Step,
    install_service,
    this_kiosk_command,
    uninstall_service,
)

ROOT_OPTION = click.option(
    "--root",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    default=Path("/"),
    show_default=True,
    help="Work on this folder as the root directory instead of the machine (for a test or "
    "an image): nothing is reloaded, triggered or started.",
)


def echo_step(step: Step) -> None:
    """Print one step: its outcome, what it concerns, and a note."""
    note = f"  ({step.note})" if step.note else ""
    click.echo(f"{step.outcome.value:<9}  {step.what}{note}")


def echo_advice(done: Done) -> None:
    """Print what to do next, one paragraph each."""
    for advice in done.advice:
        click.echo("")
        click.echo(advice)


@click.command("install-service")
@ROOT_OPTION
@click.option("--manager", "manager_name", metavar="NAME",
              help="Create the first manager, NAME, with a PIN read from the terminal or "
              "one line of stdin (skipped when a manager exists).")
@click.option("--no-enable", is_flag=True, help="Do not enable the units at boot.")
def install_service_command(root: Path, manager_name: str | None, no_enable: bool) -> None:
    """Install the kiosk as a systemd service (user, folders, config, rules, units); idempotent."""
    layout = Layout(root)
    try:
        done = install_service(
            layout,
            program=this_kiosk_command(),
            now=utc_now(),
            manager=manager_name,
            read_pin=lambda: read_pin(f"PIN for {manager_name} (at least 6 digits): ",
                                      confirm=True),
            enable=not no_enable,
            report=echo_step,
        )
    except InstallError as error:
        click.echo(f"kiosk: {error}", err=True)
        raise SystemExit(EXIT_FAILED) from None
    echo_advice(done)
    click.echo("")
    click.echo("Installed." if done.changed else "Already installed: nothing changed.")


@click.command("uninstall-service")
@ROOT_OPTION
@click.option("--purge", is_flag=True,
              help="Also delete /etc/kiosk (configuration, secrets) and /var/lib/kiosk (the "
              "database).")
def uninstall_service_command(root: Path, purge: bool) -> None:
    """Remove the kiosk's service, rules and units; keep its data unless --purge."""
    try:
        done = uninstall_service(Layout(root), purge=purge, report=echo_step)
    except InstallError as error:
        click.echo(f"kiosk: {error}", err=True)
        raise SystemExit(EXIT_FAILED) from None
    echo_advice(done)
    click.echo("")
    click.echo("Uninstalled." if done.changed else "Nothing to remove.")
