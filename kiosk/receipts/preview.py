"""A PNG picture of a receipt as the thermal printer would print it.

It draws the same rows as the ESC/POS rendering (:func:`kiosk.receipts.text_render.
receipt_rows`) in a monospace font on a strip of paper as wide as the printer's (576 dots on
80 mm, 384 dots on 58 mm, 203 dpi), tall rows stretched to double height, and the sale id as a
real QR code. Used for the documentation and by the virtual printer.
"""

from __future__ import annotations

import io
from pathlib import Path

import barcode
import qrcode
from PIL import Image, ImageDraw, ImageFont

from kiosk.core.receipt import Receipt
from kiosk.receipts.escpos_render import DOTS_BY_PAPER_MM
from kiosk.receipts.text_render import columns_for, receipt_rows
from kiosk.resources import asset

LOGO_ASSET = "receipt-logo.png"
"""The shop's optional receipt logo among the shipped assets."""

_FONT_NAMES = ("DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf")
_SYSTEM_FONTS = Path("/usr/share/fonts/truetype/dejavu")
_MARGIN = 24
_ROW_DOTS = 24


def _font(bold: bool, size: int) -> ImageFont.FreeTypeFont:
    name = _FONT_NAMES[1] if bold else _FONT_NAMES[0]
    system = _SYSTEM_FONTS / name
    if system.is_file():
        return ImageFont.truetype(str(system), size)
    # python-barcode (installed with python-escpos) ships the regular face.
    return ImageFont.truetype(str(Path(barcode.__file__).parent / "fonts" / _FONT_NAMES[0]), size)


def shipped_logo() -> bytes | None:
    """Return the shop's receipt logo (PNG bytes) from the assets, or ``None`` if none ships."""
    try:
        return asset(LOGO_ASSET).read_bytes()
    except FileNotFoundError:
        return None


def _fit_size(columns: int, width_dots: int, bold: bool) -> int:
    size = 30
    while size > 8 and _font(bold, size).getlength("M" * columns) > width_dots:
        size -= 1
    return size


def _text_row(text: str, *, bold: bool, tall: bool, size: int, width: int) -> Image.Image:
    font = _font(bold, size)
    row = Image.new("L", (width, _ROW_DOTS), 255)
    ImageDraw.Draw(row).text((0, _ROW_DOTS // 2), text, font=font, fill=0, anchor="lm")
    if tall:
        row = row.resize((width, _ROW_DOTS * 2))
    return row


def _qr(text: str, width: int) -> Image.Image:
    code = qrcode.QRCode(border=2, box_size=6)
    code.add_data(text)
    code.make(fit=True)
    picture = code.make_image(fill_color="black", back_color="white").get_image().convert("L")
    row = Image.new("L", (width, picture.height), 255)
    row.paste(picture, ((width - picture.width) // 2, 0))
    return row


def _logo(logo: bytes, width: int) -> Image.Image:
    picture = Image.open(io.BytesIO(logo)).convert("L")
    if picture.width > width:
        picture = picture.resize((width, max(1, picture.height * width // picture.width)))
    row = Image.new("L", (width, picture.height + _ROW_DOTS // 2), 255)
    row.paste(picture, ((width - picture.width) // 2, 0))
    return row


def render_preview_png(
    receipt: Receipt, path: Path, *, paper_width_mm: int, logo: bytes | None = None
) -> Path:
    """Draw ``receipt`` as printed on ``paper_width_mm`` (58 or 80) paper into the PNG file
    ``path`` and return ``path``. ``logo`` (PNG bytes) is drawn at the top when given."""
    columns = columns_for(paper_width_mm)
    width = DOTS_BY_PAPER_MM[paper_width_mm]
    size = min(_fit_size(columns, width, False), _fit_size(columns, width, True))
    parts: list[Image.Image] = []
    if logo is not None:
        parts.append(_logo(logo, width))
    for row in receipt_rows(receipt, width_chars=columns):
        if row.kind == "qr":
            parts.append(_qr(row.text, width))
        else:
            parts.append(
                _text_row(row.text, bold=row.bold, tall=row.tall, size=size, width=width)
            )
    height = sum(part.height for part in parts) + 2 * _MARGIN
    paper = Image.new("L", (width + 2 * _MARGIN, height), 255)
    top = _MARGIN
    for part in parts:
        paper.paste(part, (_MARGIN, top))
        top += part.height
    path.parent.mkdir(parents=True, exist_ok=True)
    paper.save(path, format="PNG", optimize=True)
    return path
