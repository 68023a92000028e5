"""Where python-escpos keeps its parsed printer database between runs.

On import, python-escpos parses its ``capabilities.json`` as YAML (a third of a second on a
desktop, more on a Raspberry Pi) and pickles the result into ``ESCPOS_CAPABILITIES_PICKLE_DIR``,
by default a fresh ``mkdtemp()`` folder: never found again, and left behind in ``/tmp`` by every
process (it even makes that folder when told to use another). ``import_escpos`` points it at
the kiosk's cache folder when a current pickle is there (read only), and otherwise at a
private temporary folder, removed after the import once its pickle has been moved into the
cache atomically (so a process starting at the same moment never reads half a file).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

PICKLE_DIR_VARIABLE = "ESCPOS_CAPABILITIES_PICKLE_DIR"


def cache_folder() -> Path:
    """The kiosk's cache folder for escpos: ``$CACHE_DIRECTORY`` (systemd), else
    ``$XDG_CACHE_HOME/kiosk``, else ``~/.cache/kiosk``; then ``escpos`` inside it."""
    systemd = os.environ.get("CACHE_DIRECTORY")
    if systemd:
        return Path(systemd.split(":")[0]) / "escpos"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kiosk" / "escpos"


def _capabilities_file() -> Path | None:
    spec = importlib.util.find_spec("escpos")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "capabilities.json"


def import_escpos() -> ModuleType:
    """Import ``escpos.printer`` with its capabilities cached in ``cache_folder()``.

    Does nothing special when ``ESCPOS_CAPABILITIES_PICKLE_DIR`` is already set, or once
    escpos is loaded. A cache that cannot be written only costs the faster start next time.
    """
    if PICKLE_DIR_VARIABLE in os.environ or "escpos.capabilities" in sys.modules:
        return importlib.import_module("escpos.printer")
    import platform

    cache = cache_folder()
    name = f"{platform.python_version()}.capabilities.pickle"
    source = _capabilities_file()
    cached = cache / name
    current = (
        source is not None and cached.exists() and cached.stat().st_mtime >= source.stat().st_mtime
    )
    # escpos calls mkdtemp() on import even when told where its cache is: let that folder,
    # and the pickle it writes when there is no current cache, land in a private folder.
    private = Path(tempfile.mkdtemp(prefix="kiosk-escpos-"))
    os.environ[PICKLE_DIR_VARIABLE] = str(cache if current else private)
    saved_tempdir = tempfile.tempdir
    tempfile.tempdir = str(private)
    try:
        module = importlib.import_module("escpos.printer")
    finally:
        tempfile.tempdir = saved_tempdir
    try:
        fresh = private / name
        if not current and fresh.exists():
            cache.mkdir(parents=True, exist_ok=True)
            staging = cache / f".{name}.{os.getpid()}"
            shutil.copyfile(fresh, staging)
            os.replace(staging, cached)
    except OSError as error:
        log.info("escpos capabilities not cached in %s: %s", cache, error)
    finally:
        os.environ[PICKLE_DIR_VARIABLE] = str(cache)
        shutil.rmtree(private, ignore_errors=True)
    return module
