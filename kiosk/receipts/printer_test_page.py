"""The printer test page a technician prints from the staff menu.

A short page that shows at a glance whether the printer is set up as ``kiosk.toml`` says: the
shop and kiosk, the local time, the paper width and code page, a ruler exactly one line wide
(a wrapped or cut-short ruler means the paper width is wrong), the shop's currency sign and a
few accented letters of the configured code page (question marks or other letters mean the
printer uses another code page). It is built like a receipt, through
:func:`kiosk.receipts.escpos_render.code_page_printer`, and ends with a cut.
"""

from __future__ import annotations

from datetime import datetime

from babel.numbers import get_currency_symbol

from kiosk.config import Settings
from kiosk.receipts.escpos_render import code_page_printer, transliterate
from kiosk.receipts.text_render import columns_for

__all__ = ["TITLE", "page_bytes", "ruler"]

TITLE = "PRINTER TEST"
"""The first line of the page (tests and technicians look for it)."""

ACCENTED = "ÄÖÜäöüßéèêëàâçñåøæ"
"""Letters tried on the page; only those the configured code page has are printed."""

_MOST_ACCENTS = 12


def ruler(width: int) -> str:
    """A ruler line of exactly ``width`` characters: ``----+----1----+----2...``."""
    marks = []
    for column in range(1, width + 1):
        if column % 10 == 0:
            marks.append(str(column // 10 % 10))
        elif column % 5 == 0:
            marks.append("+")
        else:
            marks.append("-")
    return "".join(marks)


def page_bytes(settings: Settings, *, at_local: datetime, status: str) -> bytes:
    """The ESC/POS bytes of the test page for the configured printer.

    ``at_local`` is the time printed (aware, in the shop's time zone); ``status`` is what the
    printer said about itself before the page (a `PrinterStatus` value). Raises
    :class:`kiosk.receipts.escpos_render.CodePageUnknown` when the configured code page is
    unknown.
    """
    paper_mm = settings.printer.paper_width_mm
    code_page = settings.printer.code_page
    width = columns_for(paper_mm)
    printer, can_print = code_page_printer(code_page)

    def fit(text: str) -> str:
        return transliterate(text, can_print)[:width]

    currency = settings.shop.currency
    sign = get_currency_symbol(currency, locale=settings.shop.locale)
    accents = "".join(letter for letter in ACCENTED if can_print(letter))[:_MOST_ACCENTS]
    printer.set(align="left", bold=True, double_height=True, normal_textsize=False)
    printer.textln(TITLE)
    printer.set(bold=False, normal_textsize=True)
    for line in (
        settings.shop.name,
        f"Kiosk: {settings.kiosk_id}",
        f"Time: {at_local.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        f"Paper: {paper_mm} mm, {width} columns",
        f"Code page: {code_page}",
        f"Printer status: {status}",
    ):
        printer.textln(fit(line))
    printer.textln(ruler(width))
    printer.textln(fit(f"Currency: {sign} ({currency})"))
    printer.textln(f"Accents: {accents}" if accents else fit(f"Accents: none in {code_page}"))
    printer.textln("")
    printer.cut()
    return bytes(printer.output)

