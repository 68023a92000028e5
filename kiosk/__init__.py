"""kiosk: a self-checkout for small shops.

Layers (imports point downwards only): ``kiosk.ui`` -> ``kiosk.app`` -> ``kiosk.payments``,
``kiosk.devices``, ``kiosk.store``, ``kiosk.sync`` -> ``kiosk.core``. See docs/ARCHITECTURE.md.
"""

__version__ = "0.1.0"
