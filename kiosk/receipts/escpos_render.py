"""ESC/POS bytes of a receipt, through python-escpos's ``Dummy`` printer.

The printer's code page (``[printer] code_page``, such as "CP858") is selected once and every
character is encoded into it. A character the code page lacks is transliterated before the
layout measures it (``ß`` -> ``ss``, ``Œ`` -> ``OE``, ``€`` -> ``EUR``, accents dropped), so a
Latin name never prints as ``?`` or as another code page's garbage. The sale id is printed as
a native QR code; an optional logo (PNG bytes) is printed first, centred on the paper.
"""

from __future__ import annotations

import copy
import io
import unicodedata
from collections.abc import Callable

from PIL import Image

from kiosk.core.receipt import Receipt
from kiosk.devices.escpos_cache import import_escpos
from kiosk.receipts.text_render import ReceiptRow, columns_for, receipt_rows

import_escpos()  # before its names: escpos reads its printer database when it is imported
from escpos.printer import Dummy  # noqa: E402

DOTS_BY_PAPER_MM = {80: 576, 58: 384}
"""Printable dots per line (203 dpi) for each paper width in millimetres."""

_QR_MODULE_DOTS = {80: 6, 58: 4}

# Letters and signs that Unicode decomposition does not reduce to ASCII.
_SPELLED_OUT = {
    "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE",
    "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th", "ł": "l", "Ł": "L",
    "ı": "i", "ħ": "h", "Ħ": "H", "ŋ": "ng", "Ŋ": "NG", "ĸ": "k", "ſ": "s", "Ŧ": "T", "ŧ": "t",
    "€": "EUR", "£": "GBP", "¥": "JPY", "‘": "'", "’": "'", "‚": ",", "“": '"', "”": '"',
    "„": '"', "–": "-", "—": "-", "−": "-", "…": "...", "•": "*", "·": ".",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u200b": "",
}


class CodePageUnknown(ValueError):
    """The configured code page is not one the ESC/POS printer profile knows."""


def _printer(code_page: str) -> tuple[Dummy, str, Callable[[str], bool]]:
    printer = Dummy(profile="default")
    encoder = printer.magic.encoder
    try:
        encoding = encoder.get_encoding_name(code_page.upper())
    except (ValueError, LookupError) as error:
        raise CodePageUnknown(f"code page {code_page!r} is unknown: {error}") from None

    def can_print(char: str) -> bool:
        return bool(encoder.can_encode(encoding, char)) and (ord(char) >= 32 or char == "\n")

    return printer, encoding, can_print


def code_page_printer(code_page: str) -> tuple[Dummy, Callable[[str], bool]]:
    """A fresh python-escpos ``Dummy`` printer that has been initialised (ESC @) and told to
    use ``code_page`` (ESC t n), with the test of which characters it can print (for
    :func:`transliterate`). Raises :class:`CodePageUnknown` for a code page the printer
    profile does not know."""
    printer, encoding, can_print = _printer(code_page)
    printer.hw("INIT")
    printer.charcode(encoding)
    return printer, can_print


def transliterate(text: str, can_print: Callable[[str], bool]) -> str:
    """Return ``text`` with every character ``can_print`` refuses replaced by its nearest
    printable spelling: a table for letters such as ``ß`` and ``€``, then the character without
    its accents (Unicode NFKD minus combining marks). A character with no Latin spelling at all
    (another script) becomes ``?``."""
    out: list[str] = []
    for char in text:
        if can_print(char):
            out.append(char)
            continue
        spelled = _SPELLED_OUT.get(char)
        if spelled is None:
            decomposed = unicodedata.normalize("NFKD", char)
            spelled = "".join(c for c in decomposed if not unicodedata.combining(c))
        printable = "".join(c if can_print(c) else _SPELLED_OUT.get(c, "") for c in spelled)
        if not printable and spelled:
            printable = "?"
        out.append(printable)
    return "".join(out)


def _logo(printer: Dummy, logo: bytes, paper_dots: int) -> None:
    # Tell this printer's own copy of the profile how wide the paper is (the default profile
    # does not know, and python-escpos would print a warning on stdout for every image).
    profile_data = copy.deepcopy(printer.profile.profile_data)
    profile_data["media"]["width"]["pixels"] = paper_dots
    printer.profile.profile_data = profile_data
    image = Image.open(io.BytesIO(logo)).convert("L")
    if image.width > paper_dots:
        height = max(1, image.height * paper_dots // image.width)
        image = image.resize((paper_dots, height))
    canvas = Image.new("L", (paper_dots, image.height), 255)
    canvas.paste(image, ((paper_dots - image.width) // 2, 0))
    printer.image(canvas.convert("1"), impl="bitImageRaster")


def _row(printer: Dummy, row: ReceiptRow, style: list[bool], qr_size: int) -> None:
    if row.kind == "qr":
        printer.set(align="center")
        printer.qr(row.text, size=qr_size, native=True)
        printer.set(align="left")
        return
    if [row.bold, row.tall] != style:
        printer.set(bold=row.bold, double_height=row.tall, normal_textsize=not row.tall)
        style[:] = [row.bold, row.tall]
    printer.textln(row.text)


def render_escpos(
    receipt: Receipt, *, paper_width_mm: int, code_page: str, logo: bytes | None = None
) -> bytes:
    """Return the ESC/POS bytes that print ``receipt`` and cut the paper.

    ``paper_width_mm`` is 58 (32 columns) or 80 (48 columns); ``code_page`` is the printer's
    character table such as "CP858" (raises :class:`CodePageUnknown` if the printer profile
    does not know it); ``logo`` is an optional image (PNG bytes) printed centred at the top.
    """
    width = columns_for(paper_width_mm)
    printer, can_print = code_page_printer(code_page)
    if logo is not None:
        printer.set(align="left")
        _logo(printer, logo, DOTS_BY_PAPER_MM[paper_width_mm])
    style = [False, False]
    printer.set(align="left", bold=False, normal_textsize=True)
    rows = receipt_rows(receipt, width_chars=width, fit=lambda text: transliterate(text, can_print))
    for row in rows:
        _row(printer, row, style, _QR_MODULE_DOTS[paper_width_mm])
    printer.set(bold=False, normal_textsize=True)
    printer.cut()
    return bytes(printer.output)
