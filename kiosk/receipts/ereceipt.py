"""The e-receipt: the address of a sale's receipt on the back office, shown as a QR code.

The address comes from ``[backoffice] receipt_url_template`` (``{base_url}`` and ``{sale_id}``)
and always holds the sale's UUID, never its per-kiosk number: numbers are guessable, UUIDs are
not. Without a back office (``[backoffice] url = ""``) there is no e-receipt and the screen hides
the QR code.
"""

from __future__ import annotations

from pathlib import Path

from kiosk.config import Settings


def ereceipt_url(settings: Settings, sale_id: str) -> str | None:
    """Return the e-receipt address of sale ``sale_id`` (a UUID), or ``None`` when no back
    office is configured (the QR code is then hidden). Raises ``ValueError`` if ``sale_id`` is
    not a UUID (a sale number must never end up in the address)."""
    if not settings.backoffice.url:
        return None
    import uuid  # here: the window imports this module before its first frame

    canonical = str(uuid.UUID(sale_id))
    return settings.backoffice.receipt_url(canonical) or None


def qr_png(url: str, path: Path) -> Path:
    """Draw ``url`` as a QR code (black on white, 10 pixels per module, 4-module quiet zone)
    into the PNG file ``path`` for the screen, and return ``path``."""
    import qrcode  # only when a QR code is drawn: it costs memory the start-up does not need

    code = qrcode.QRCode(border=4, box_size=10)
    code.add_data(url)
    code.make(fit=True)
    picture = code.make_image(fill_color="black", back_color="white").get_image()
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path, format="PNG")
    return path
