"""``kiosk keys create``: make this machine's own PIN pepper and audit key, once.

Run as root by ``kiosk-keys.service`` on the machine's first start (before ``kiosk.service``),
never by the installer: kiosks cloned from one image must not share keys. A key that exists
is never replaced (a reinstall keeps it): a new pepper would make every staff PIN unusable,
a new audit key would start the audit chain over.
"""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.config.secrets import create_missing_keys

DEFAULT_FOLDER = Path("/etc/kiosk/credentials")


@click.group("keys")
def keys_command() -> None:
    """This machine's own keys (the PIN pepper and the audit key)."""


@keys_command.command("create")
@click.option(
    "--folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_FOLDER,
    show_default=True,
    help="The credentials folder systemd loads the keys from.",
)
def create_command(folder: Path) -> None:
    """Create each missing key (mode 600); never replace one."""
    written = create_missing_keys(folder)
    if written:
        click.echo(f"Created {', '.join(written)} in {folder}.")
    else:
        click.echo(f"The keys exist already in {folder}; nothing changed.")
