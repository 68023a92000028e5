"""``kiosk sim stripe``: run the local Stripe emulator on its own, for tests and the demo."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def sim() -> None:
    """Run the simulated devices and services standalone."""


@sim.command("stripe")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--state", "state_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Keep the emulator's objects in this file across restarts.")
def stripe_command(port: int, state_path: Path | None) -> None:
    """Serve the Stripe API emulator on loopback; prints its URL first (Ctrl-C stops)."""
    from kiosk.sim.stripe_emulator import serve  # loads stripe: only for this command

    serve(port=port, state_path=state_path)
