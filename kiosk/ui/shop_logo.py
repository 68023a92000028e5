"""The shop's logo (``[shop] logo``): the picture the top bar and the attract screen show.

A logo that is missing or is no PNG or JPEG never stops the kiosk: it is logged once, at
start, and the screens show the shop's name instead (``logo_source`` answers ``""``).
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
"""The first bytes of a PNG and of a JPEG file."""


def logo_source(path: str) -> str:
    """``path`` if it names a readable PNG or JPEG file, else ``""`` (no logo, or one that
    cannot be shown: logged as a warning naming the file and why)."""
    if not path:
        return ""
    try:
        with Path(path).open("rb") as picture:
            head = picture.read(8)
    except OSError as error:
        log.warning("the shop's logo %s cannot be read (%s): the shop's name shows instead",
                    path, error.strerror or error)
        return ""
    if not head.startswith(SIGNATURES):
        log.warning("the shop's logo %s is not a PNG or JPEG picture: the shop's name shows "
                    "instead", path)
        return ""
    return path
