"""The catalog files on a staff member's USB stick, for the staff menu's catalog import.

The kiosk service's automount rule mounts a stick at ``[catalog] usb_mount_path``. The staff
menu lists the ``.csv`` files at the top level of the stick with `catalog_files`; the import
itself is :func:`kiosk.store.catalog_import.import_catalog_csv`. Only plain files are offered:
no folders, no hidden files (such as the ``._name.csv`` files a Mac leaves behind) and no
symbolic links (a FAT stick has none, and one could point anywhere on the kiosk).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

__all__ = ["UsbStickProblem", "catalog_files"]

Reason = Literal["not_mounted", "no_catalog", "unreadable"]


class UsbStickProblem(Exception):
    """No catalog file can be offered from the stick.

    ``reason`` is ``"not_mounted"`` (no stick at the mount path), ``"no_catalog"`` (a stick,
    but no ``.csv`` file at its top level) or ``"unreadable"`` (the stick cannot be read);
    ``path`` is the mount path. The message names the path in plain words.
    """

    def __init__(self, reason: Reason, path: Path, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        self.path = path


def catalog_files(mount_path: Path, *, max_files: int = 20,
                  require_mount: bool = True) -> list[Path]:
    """The ``.csv`` files (any case of the extension) at the top level of the stick mounted at
    ``mount_path``, sorted by name, at most ``max_files`` of them.

    Raises `UsbStickProblem`: ``not_mounted`` when ``mount_path`` is missing or, with
    ``require_mount``, is not a mount point (the empty folder left when no stick is in);
    ``no_catalog`` when there is no such file; ``unreadable`` when listing the stick fails.
    ``require_mount=False`` is for tests only: a test cannot mount a file system, so it lists
    a plain folder instead.
    """
    if max_files < 1:
        raise ValueError(f"max_files must be at least 1, not {max_files}")
    if not mount_path.exists() or (require_mount and not os.path.ismount(mount_path)):
        raise UsbStickProblem("not_mounted", mount_path,
                              f"no USB stick is mounted at {mount_path}")
    try:
        with os.scandir(mount_path) as entries:
            found = [Path(entry.path) for entry in entries if _is_catalog(entry)]
    except OSError as error:
        why = error.strerror or str(error)
        raise UsbStickProblem("unreadable", mount_path,
                              f"the USB stick at {mount_path} cannot be read: {why}") from error
    if not found:
        raise UsbStickProblem("no_catalog", mount_path,
                              f"the USB stick at {mount_path} has no .csv file at its top level")
    found.sort(key=lambda path: (path.name.casefold(), path.name))
    return found[:max_files]


def _is_catalog(entry: os.DirEntry[str]) -> bool:
    """A visible regular file named ``*.csv`` (not a link, not a folder)."""
    name = entry.name
    if name.startswith(".") or not name.lower().endswith(".csv") or len(name) <= len(".csv"):
        return False
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False
