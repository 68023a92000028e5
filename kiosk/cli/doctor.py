"""``kiosk doctor``: check everything a kiosk needs and print pass, warn or fail for each.

Exit status 0 when nothing failed (warnings allowed), 1 when a check failed, 2 when the
configuration cannot be read or validated (its row is still printed).
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from kiosk.cli.common import EXIT_BAD_CONFIG, EXIT_FAILED, config_option
from kiosk.doctor import run_doctor


@click.command("doctor")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def doctor_command(config_path: Path, as_json: bool) -> None:
    """Check config, database, disk, clock, staff, devices, Stripe and the back office."""
    report = run_doctor(config_path, os.environ)
    click.echo(report.json() if as_json else report.table())
    if not report.config_readable:
        raise SystemExit(EXIT_BAD_CONFIG)
    if report.failed:
        raise SystemExit(EXIT_FAILED)
