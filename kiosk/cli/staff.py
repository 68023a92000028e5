"""``kiosk staff``: add staff members, set their PINs, list them, clear a lockout.

Commands that write open the database with the PIN pepper and the audit key, read from the
systemd credentials (run as root: ``/etc/kiosk/credentials``), so a PIN set here is wrapped
with the pepper and the audit rows are sealed; without them ``set-pin`` refuses on a kiosk
whose PINs are peppered.

PINs are read with getpass on a terminal, otherwise as one line from standard input; never
from the command line, where they would land in shell history and the process list.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click

from kiosk.cli.common import (
    EXIT_FAILED,
    config_option,
    database_path,
    exclusive_state,
    existing_database,
    machine_keys,
    settings_or_exit,
    utc_now,
)
from kiosk.store.db import open_database
from kiosk.store.keys import attach_keys
from kiosk.store.pin_pepper import PepperState, pepper_state
from kiosk.store.staff import (
    NotAllowed,
    PepperMissing,
    PinOutcome,
    PinRejected,
    StaffRole,
    StaffRoster,
    UnknownStaff,
)


def read_pin(prompt: str, *, confirm: bool) -> str:
    """Read a PIN without echo on a terminal, or one line from a pipe."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    pin = getpass.getpass(prompt)
    if confirm and getpass.getpass("Repeat the PIN: ") != pin:
        click.echo("The two PINs differ; nothing was changed.", err=True)
        raise SystemExit(EXIT_FAILED)
    return pin


@click.group()
def staff() -> None:
    """Manage staff members and their PINs."""


@staff.command("add")
@config_option
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice([role.value for role in StaffRole]),
    required=True,
    help="attendant: approvals, help, reprints; manager: everything.",
)
def add_command(config_path: Path, name: str, role: str) -> None:
    """Add a staff member and print their staff number."""
    settings = settings_or_exit(config_path)
    if not name.strip():
        click.echo("kiosk: a staff member needs a name.", err=True)
        raise SystemExit(EXIT_FAILED)
    with exclusive_state(settings):
        db = open_database(database_path(settings), keys=machine_keys(config_path))
        try:
            member = StaffRoster(db).add(name, StaffRole(role), utc_now())
        finally:
            db.close()
    click.echo(f"Added {member.name} as {member.role} with staff number {member.number}.")
    click.echo(f"Set their PIN with: kiosk staff set-pin {member.number}")


STAFF_NUMBER = click.IntRange(1, 2**62)


@staff.command("set-pin")
@config_option
@click.argument("number", type=STAFF_NUMBER)
def set_pin_command(config_path: Path, number: int) -> None:
    """Set a staff member's PIN (at least 6 digits), read from the terminal or stdin."""
    settings = settings_or_exit(config_path)
    with exclusive_state(settings):
        db = open_database(database_path(settings), keys=machine_keys(config_path))
        try:
            roster = StaffRoster(db)
            if roster.get(number) is None:
                click.echo(f"No staff member has number {number}.", err=True)
                raise SystemExit(EXIT_FAILED)
            pin = read_pin(f"New PIN for staff {number}: ", confirm=True)
            try:
                roster.set_pin(number, pin, utc_now())
            except PinRejected as rejected:
                click.echo(f"PIN not accepted: {rejected}", err=True)
                raise SystemExit(EXIT_FAILED) from None
            except PepperMissing as missing:
                click.echo(f"kiosk: {missing}", err=True)
                raise SystemExit(EXIT_FAILED) from None
        finally:
            db.close()
    click.echo(f"PIN set for staff {number}.")


@staff.command("list")
@config_option
def list_command(config_path: Path) -> None:
    """List staff members with their role and whether a PIN is set."""
    settings = settings_or_exit(config_path)
    db = open_database(existing_database(settings))
    try:
        members = StaffRoster(db).list()
        keys = machine_keys(config_path)
        if keys is not None:
            attach_keys(db, keys)  # only to compare the pepper: this command writes nothing
        reset_needed = pepper_state(db) is PepperState.OTHER
    finally:
        db.close()
    if reset_needed:
        click.echo(
            "Staff PINs must be set again: this database comes from a machine with "
            "another PIN pepper (kiosk staff set-pin NUMBER, as root)."
        )
    if not members:
        click.echo("No staff yet. Add a manager: kiosk staff add NAME --role manager")
        return
    for member in members:
        pin = "PIN set" if member.has_pin else "no PIN"
        active = "" if member.active else ", inactive"
        click.echo(f"{member.number}  {member.name}  {member.role}  ({pin}{active})")


@staff.command("unlock")
@config_option
@click.argument("number", type=STAFF_NUMBER)
@click.option(
    "--manager", "manager_number", type=STAFF_NUMBER, required=True, help="Your staff number."
)
def unlock_command(config_path: Path, number: int, manager_number: int) -> None:
    """Clear a staff member's PIN lockout (a manager confirms with their own PIN)."""
    settings = settings_or_exit(config_path)
    with exclusive_state(settings):
        db = open_database(database_path(settings), keys=machine_keys(config_path))
        try:
            roster = StaffRoster(db)
            pin = read_pin(f"PIN of manager {manager_number}: ", confirm=False)
            if not pin:
                click.echo("No PIN given; nothing was changed.", err=True)
                raise SystemExit(EXIT_FAILED)
            check = roster.check_pin(manager_number, pin, utc_now())
            if check.outcome is not PinOutcome.OK:
                click.echo(f"Manager PIN not accepted ({check.outcome}).", err=True)
                raise SystemExit(EXIT_FAILED)
            try:
                roster.clear_lockout(number, by=manager_number, now=utc_now())
            except (NotAllowed, UnknownStaff) as refused:
                click.echo(f"Not allowed: {refused}", err=True)
                raise SystemExit(EXIT_FAILED) from None
        finally:
            db.close()
    click.echo(f"Lockout cleared for staff {number}.")
