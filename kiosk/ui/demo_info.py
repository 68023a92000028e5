"""What the demo shows on screen: shared by the launcher (``kiosk.ui.launch``) and the app."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoInfo:
    """What the demo shows on screen (demo only): sample barcodes and the demo staff."""

    barcodes: tuple[tuple[str, str], ...]
    """(label, barcode) of each sample item."""
    staff: tuple[tuple[str, int, str], ...]
    """(role, staff number, PIN) of each demo staff member."""
