"""The facade's own refusal codes, apart from the notices that carry them, so the screens'
words (`kiosk.ui.i18n`) know them without loading the notices (and the checkout's dataclasses
they carry) before the first frame."""

from __future__ import annotations

from enum import StrEnum


class KioskRefusal(StrEnum):
    """The facade's own refusal codes, carried by ``CartRefused`` (the checkout's are
    ``kiosk.core.checkout.Refusal`` and ``CartOutcome``).

    ``BELOW_CARD_MINIMUM``: Pay with a total below the currency's card minimum.
    ``PAYMENTS_UNAVAILABLE``: no card reader is configured or reachable (also the decline code
    a session gets then). ``KIOSK_STARTING``: customer and staff actions while the background
    start runs. ``KIOSK_CLOSED``: a scan on the attract screen while staff have closed the
    kiosk. ``KIOSK_OUT_OF_ORDER``: customer and staff actions after the start failed.
    """

    BELOW_CARD_MINIMUM = "below_card_minimum"
    PAYMENTS_UNAVAILABLE = "card_payments_unavailable"
    KIOSK_STARTING = "kiosk_starting"
    KIOSK_CLOSED = "kiosk_closed"
    KIOSK_OUT_OF_ORDER = "kiosk_out_of_order"
