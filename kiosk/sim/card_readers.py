"""The simulated card readers the kiosk runs in this process, one per card provider.

``[stripe] api_base = "embedded"`` starts the local Stripe emulator (its objects kept in the
state directory) with one simulated reader registered once. The facade hands `SIMULATORS` to
`kiosk.payments.registry`, which gives a provider its own twin when the configuration asks
for one; production payment code never imports this package. Importing this module loads
no simulator.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.sim.stripe_emulator import StripeEmulator

DEMO_READER_LABEL = "Demo kiosk reader"
"""The label of the embedded emulator's one simulated reader."""


def start_embedded_stripe(state_dir: Path) -> tuple[StripeEmulator, str]:
    """Start the embedded Stripe emulator on loopback; return it and its (one) simulated
    reader id (registered on the first start, found again on the next). The emulator (and
    the stripe library its request checks use) is loaded here, not at import."""
    from kiosk.sim.stripe_emulator import StripeEmulator

    emulator = StripeEmulator(state_path=state_dir / "stripe-emulator.json")
    emulator.start()
    readers = [r for r in emulator.readers() if r.get("label") == DEMO_READER_LABEL]
    reader = readers[0] if readers else emulator.register_simulated_reader(
        "simulated-wpe", label=DEMO_READER_LABEL
    )
    return emulator, str(reader["id"])


SIMULATORS: dict[str, Callable[[Path], tuple[Any, str]]] = {"stripe": start_embedded_stripe}
"""``[payments] provider`` name -> how to start its simulated reader in the state directory
(returns the simulator and its reader id)."""
