"""The catalog files on a staff member's USB stick, for the staff menu's catalog import.

The kiosk service's automount rule mounts a stick at ``[catalog] usb_mount_path``. The staff
menu lists the ``.csv`` files at the top level of the stick with `catalog_files`; the import
itself is :func:`kiosk.store.catalog_import.import_catalog_csv` (parsed by the core's
:func:`kiosk.core.catalog_file.read_catalog`, as every catalog file is). Only plain files are
offered: no folders, no hidden files (such as the ``._name.csv`` files a Mac leaves behind)
and no symbolic links (a FAT stick has none, and one could point anywhere on the kiosk).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Literal

__all__ = ["MAX_CATALOG_BYTES", "UsbStickProblem", "catalog_file", "catalog_files"]

Reason = Literal["not_mounted", "no_catalog", "unreadable", "too_large"]

MAX_CATALOG_BYTES = 64 * 1024 * 1024
"""The largest catalog file taken from a stick, in bytes (the size the kiosk takes from its
back office too). The import reads the whole file into memory on the store worker, which also
records payments: a stick with a multi-gigabyte file must not take the kiosk down."""


class UsbStickProblem(Exception):
    """No catalog file can be offered from the stick.

    ``reason`` is ``"not_mounted"`` (no stick at the mount path), ``"no_catalog"`` (a stick,
    but no ``.csv`` file at its top level, or not the one asked for), ``"unreadable"`` (the
    stick cannot be read) or ``"too_large"`` (a file over `MAX_CATALOG_BYTES`); ``path`` is
    the mount path. The message names the path in plain words.
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
    if not _catalog_name(entry.name):
        return False
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False


def catalog_file(mount_path: Path, name: str, *, max_bytes: int = MAX_CATALOG_BYTES,
                 require_mount: bool = True) -> Path:
    """The catalog file ``name`` at the top level of the stick at ``mount_path``, checked
    again just before it is read: a stick may have changed since it was listed.

    ``name`` must be a plain file name that `catalog_files` would offer (no folder, not
    hidden, ``*.csv``); the file must still be a regular file, not a symbolic link (checked
    without following one), of at most ``max_bytes`` bytes. Raises `UsbStickProblem`:
    ``not_mounted`` as in `catalog_files`, ``no_catalog`` for a name that is not such a
    file, ``too_large``, or ``unreadable``.
    """
    if not mount_path.exists() or (require_mount and not os.path.ismount(mount_path)):
        raise UsbStickProblem("not_mounted", mount_path,
                              f"no USB stick is mounted at {mount_path}")
    if (name in ("", ".", "..") or os.sep in name or (os.altsep and os.altsep in name)
            or "\0" in name or not _catalog_name(name)):
        raise UsbStickProblem("no_catalog", mount_path,
                              f"{name!r} is not a catalog file on the USB stick at {mount_path}")
    path = mount_path / name
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        raise UsbStickProblem("no_catalog", mount_path,
                              f"{name} is no longer on the USB stick at {mount_path}") from None
    except OSError as error:
        why = error.strerror or str(error)
        raise UsbStickProblem("unreadable", mount_path,
                              f"{name} on the USB stick at {mount_path} cannot be read: {why}"
                              ) from error
    if not stat.S_ISREG(found.st_mode):
        raise UsbStickProblem("no_catalog", mount_path,
                              f"{name} on the USB stick at {mount_path} is not a plain file")
    if found.st_size > max_bytes:
        raise UsbStickProblem("too_large", mount_path,
                              f"{name} on the USB stick at {mount_path} is {found.st_size} "
                              f"bytes; a catalog may have at most {max_bytes}")
    return path


def _catalog_name(name: str) -> bool:
    """A name `catalog_files` offers: visible, ``*.csv`` (any case), more than the extension."""
    return (not name.startswith(".") and name.lower().endswith(".csv")
            and len(name) > len(".csv"))
