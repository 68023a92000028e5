"""Package data: the top-level assets/ folder, shipped in the wheel as ``kiosk.assets``."""
