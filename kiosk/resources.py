"""Files shipped with the package (the top-level ``assets/`` folder, installed as ``kiosk.assets``).

Always read them through here, never by a path relative to the checkout, so the installed
wheel works the same as a development tree.
"""

from __future__ import annotations

from importlib.resources import as_file, files
from importlib.resources.abc import Traversable
from pathlib import Path

ASSETS_PACKAGE = "kiosk.assets"


def asset(relative: str) -> Traversable:
    """Return a shipped asset, e.g. ``asset("catalog/sample.csv")``; raise if it is missing."""
    node = files(ASSETS_PACKAGE)
    for part in relative.split("/"):
        node = node.joinpath(part)
    if not node.is_file():
        raise FileNotFoundError(f"asset {relative!r} is not in the installed package")
    return node


def asset_text(relative: str) -> str:
    """Return a shipped text asset decoded as UTF-8."""
    return asset(relative).read_text(encoding="utf-8")


def copy_asset(relative: str, dest: Path) -> Path:
    """Copy a shipped asset to ``dest`` (a file path) and return ``dest``."""
    with as_file(asset(relative)) as source:
        dest.write_bytes(Path(source).read_bytes())
    return dest
