"""What an attendant call is about, named for the customer and the staff member who comes.

The needs-attendant screen names the item in question under its title: the refused item (with
the quantity asked for, when a quantity change was refused), a barcode the catalog does not
know, or the age-restricted items of an age check. Calls about no item (help, a payment check)
name none. Nothing here imports kivy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.core.checkout_states import AttendantReason
from kiosk.ui.i18n import Translator

if TYPE_CHECKING:  # the attract screen's first frame needs none of the checkout's dataclasses
    from kiosk.core.cart import Cart
    from kiosk.core.checkout import Checkout
    from kiosk.core.checkout_events import RefusedItem

PRINTED_DIGITS = {"ean_13": 13, "ean_8": 8, "upc_a": 12}
"""How many of a scan's 14 GTIN digits are printed under the bars, by symbology (names of
``kiosk.core.barcodes.Symbology``; other forms show all 14)."""

NAMES_SHOWN = 2
"""An age check names at most this many items; the rest are counted ("and 3 more")."""


def attendant_subject(checkout: Checkout, tr: Translator) -> str:
    """The item ``checkout``'s attendant call is about, in ``tr``'s language, or ``""``."""
    if checkout.refused is not None:
        return _refused(checkout.refused, checkout.cart, tr)
    if checkout.attendant_reason is AttendantReason.AGE_CHECK:
        restricted = [line.name for line in checkout.cart.lines if line.min_age is not None]
        return _names(list(dict.fromkeys(restricted)), tr)
    return ""


def _refused(refused: RefusedItem, cart: Cart, tr: Translator) -> str:
    """A refused scan's product or barcode, or a refused quantity change's line."""
    if refused.line_id is not None:
        names = [line.name for line in cart.lines if line.line_id == refused.line_id]
        name = names[0] if names else ""
        if refused.quantity is not None and name:
            return tr.ntr("{name}: {n} item", "{name}: {n} items", refused.quantity, name=name)
        return name
    if refused.product is not None:
        return refused.product.name
    if refused.scan is not None:
        printed = PRINTED_DIGITS.get(str(refused.scan.symbology), len(refused.scan.gtin))
        return tr("Barcode {code}", code=refused.scan.gtin[-printed:])
    return ""


def _names(names: list[str], tr: Translator) -> str:
    """Up to `NAMES_SHOWN` names, and how many more there are."""
    shown = ", ".join(names[:NAMES_SHOWN])
    rest = len(names) - NAMES_SHOWN
    return tr.ntr("{names} and {n} more", "{names} and {n} more", rest, names=shown) if rest > 0 \
        else shown
