"""The built-in settings of ``kiosk demo``: a small Irish corner shop with no real hardware.

Everything points at the twins in ``kiosk.sim`` (virtual scanner and printer, embedded Stripe
emulator) and data lives in the demo's own directory, never the real state directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.config.loading import settings_from_mapping
from kiosk.config.settings import Settings


def demo_settings(data_dir: Path, *, backoffice_url: str = "") -> Settings:
    """Return the demo shop's settings, keeping its data in ``data_dir``.

    ``backoffice_url`` is the loopback address of the reference back office once it listens
    (its port is chosen at start-up); ``""`` leaves the back office off.
    """
    return settings_from_mapping(demo_mapping(data_dir, backoffice_url), "demo settings")


def demo_mapping(data_dir: Path, backoffice_url: str = "") -> dict[str, Any]:
    """The demo shop's settings as ``kiosk.toml`` would hold them (not yet validated): for a
    variant of the demo, such as the start-up benchmark's shop with its twins out of process."""
    return {
        "kiosk_id": "demo",
        "shop": {
            "name": "Demo Corner Shop",
            "address": ["1 Demo Street", "Dublin"],
            "currency": "EUR",
            "locale": "en_IE",
            "time_zone": "Europe/Dublin",
            "languages": ["en", "de"],
        },
        "tax": {
            "mode": "inclusive",
            "rounding": "per_line",
            "rounding_mode": "half_up",
            "classes": {
                "standard": {"rate_percent": "23", "label": "VAT 23%"},
                "reduced": {"rate_percent": "13.5", "label": "VAT 13.5%"},
            },
        },
        "limits": {
            "max_quantity_per_line": 99,
            "max_lines_per_cart": 100,
            "max_cart_total": "500.00",
        },
        "barcodes": {
            "variable_measure": [
                {"prefixes": ["20", "21"], "item_digits": 5, "value_digits": 5, "value": "price"},
                {"prefixes": ["22"], "item_digits": 5, "value_digits": 5, "value": "weight"},
            ]
        },
        "catalog": {"source": "csv"},
        "scanner": {"port": "virtual"},
        "printer": {"transport": "virtual", "paper_width_mm": 80, "code_page": "CP858"},
        "stripe": {"api_base": "embedded", "capture": "automatic"},
        "audio": {"guidance_device": "virtual"},
        "backoffice": {"url": backoffice_url},
        "paths": {"state_dir": str(data_dir.absolute())},
    }
