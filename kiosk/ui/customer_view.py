"""What a customer sees: pure functions of the session, the notices and the UI's own memory.

``customer_view`` turns the open session (``SessionChanged``: checkout, totals, sale number)
and a ``Situation`` (what the UI knows beyond the session: start-up recovery, closed, the
troubles behind the banners, a decline being explained, the thank-you screen, the staff PIN
pad) into a ``CustomerView``: the screen to show and everything the customer screens display
(cart lines, totals, one small dataclass per screen with its words and buttons, the banners,
the inactivity prompt). ``session_step`` says what a new session means beyond its content (a
decline to explain, a message, the end of the thank-you screen, a language reset, the scan
sound), ``reaction_to`` what a notice about a scan or a refusal makes the customer hear and
read, and ``touch_ends_thank_you`` / ``language_expired`` when the app's timers act.

``kiosk.ui.app.KioskApp`` calls these and copies the result into the Kivy properties the
``.kv`` files bind to; the timers themselves (messages, thank-you, the staff PIN pad, the
language reset) stay there. Nothing here
imports kivy, so every decision is testable without a window (``tests/test_ui_customer_view.py``)
the way ``kiosk.ui.navigation`` is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from kiosk.core.checkout_states import AttendantReason, CheckoutState, PaymentPhase
from kiosk.refusals import KioskRefusal
from kiosk.ui.attendant_subject import attendant_subject
from kiosk.ui.i18n import FACADE_MESSAGES, GENERIC_MESSAGE, LANGUAGES, N_, Translator
from kiosk.ui.navigation import CUSTOMER_SCREENS, STAFF_SCREENS, View, screen_for

if TYPE_CHECKING:  # the attract screen's first frame needs none of the checkout's dataclasses
    from kiosk.core.checkout import Checkout
    from kiosk.notices import Notice, SessionChanged, StaffChecked

DECLINES_WITH_OWN_WORDS = frozenset({
    "insufficient_funds", "expired_card", "incorrect_pin", "pin_try_exceeded",
    "card_declined", "reader_busy", "reader_offline", "payment_timed_out",
    "cancelled_on_reader", KioskRefusal.PAYMENTS_UNAVAILABLE, "stripe_unreachable",
    "outcome_unknown", "authorisation_too_slow", KioskRefusal.BELOW_CARD_MINIMUM,
})
"""Decline codes with a sentence of their own; every other decline reads "declined"."""

NOT_ABOUT_THE_CARD = frozenset({
    "reader_offline", "stripe_unreachable", KioskRefusal.PAYMENTS_UNAVAILABLE, "outcome_unknown",
    "payment_timed_out", "authorisation_too_slow",
})
"""Codes where another card would not help: "Try another card" is not offered."""

ITEM_CALLS = frozenset({
    AttendantReason.UNKNOWN_ITEM, AttendantReason.WEIGHED_ITEM, AttendantReason.LIMIT_REACHED,
})
"""Attendant calls about a scanned item: the scan's "rejected" sound plays."""

NOT_STARTED = frozenset({KioskRefusal.KIOSK_STARTING, KioskRefusal.KIOSK_OUT_OF_ORDER})
"""Refusals that also answer a PIN on the staff PIN pad: the PIN was not even checked."""

PAYMENT_MODES = ("waiting", "authorising", "checking", "declined")
"""What the payment screen shows: waiting for a card, authorising, the bank being checked,
or a decline explained."""

THANK_YOU_QR_S = 30.0
"""How long the thank-you screen stays with a QR e-receipt to scan, seconds."""
THANK_YOU_TOUCH_GRACE_S = 1.0
"""Touches this soon after the receipt choice do not end the thank-you screen (a double tap)."""
LANGUAGE_RESET_S = 60.0
"""Seconds without a touch on a screen without a sale (attract, closed, checking) before it
returns to the shop's language."""
NO_SALE_SCREENS = frozenset({"attract", "closed", "checking"})
"""Customer screens that belong to no sale: a language left there expires."""
LANGUAGE_SWITCH_SCREENS = frozenset(CUSTOMER_SCREENS) - {"attract"}
"""The customer screens whose top bar offers the other languages (the attract screen lists
them all in its own body)."""

READER_POSITIONS = ("left", "right", "below")
"""Where the card reader stands, as the customer facing the screen sees it
(``[display] reader_position``)."""
READER_PROMPTS = {
    "left": N_("Tap or insert your card on the reader to your left."),
    "right": N_("Tap or insert your card on the reader to your right."),
    "below": N_("Tap or insert your card on the reader below the screen."),
}
"""The payment screen's headline while the reader waits for a card, naming where it is."""
READER_ARROWS = {"left": "arrow_back", "right": "arrow_forward", "below": "arrow_downward"}
"""The icon (``kiosk.ui.icons``) beside the contactless cue that points at the reader."""

PAYMENT_STATUS = {
    "authorising": N_("Approving your payment. Please keep your card at the reader."),
    "checking": N_("We are checking your payment with the bank. Staff is on the way."),
    "declined": N_("Payment not completed"),
}
"""The payment screen's headline in each mode but waiting (that one names where the reader
is: ``READER_PROMPTS``)."""

ATTENDANT_TITLES = {
    "unknown_item": N_("This item is not in our catalog"),
    "age_check": N_("An age check is needed"),
    "limit_reached": N_("That is more than this checkout allows"),
    "weighed_item": N_("This item needs to be weighed"),
    "help": N_("Help is on the way"),
    "payment_check": N_("Please wait for a member of staff."),
}
"""The needs-attendant screen's title for each reason (others: ``OTHER_ATTENDANT_TITLE``)."""
OTHER_ATTENDANT_TITLE = N_("Please wait for staff")

ATTENDANT_BODIES = {
    "unknown_item": N_(
        "It has not been added to your cart. A member of staff will come and help you."
    ),
    "age_check": N_(
        "Your cart has an age-restricted item. A member of staff will check your ID, "
        "then you can pay."
    ),
    "limit_reached": N_("A member of staff can approve it, or you can carry on without it."),
    "weighed_item": N_(
        "It has not been added to your cart. A member of staff will weigh it for you."
    ),
    "help": N_("A member of staff has been called and will be with you shortly."),
    "payment_check": N_(
        "The last payment at this checkout could not be confirmed. A member of staff needs "
        "to check it before the next sale."
    ),
}
"""What the customer reads under the title, for each reason."""

WITHDRAW_TEXTS = {
    "help": N_("I no longer need help"),
    "age_check": N_("Back to the cart"),
}
"""The customer's way back without staff (others: ``OTHER_WITHDRAW_TEXT``)."""
OTHER_WITHDRAW_TEXT = N_("Continue without this item")

STAFF_HINTS = {
    "age_check": N_("Staff: enter your number and PIN to approve the age check."),
    "limit_reached": N_("Staff: enter your number and PIN to allow it or leave it out."),
    "payment_check": N_(
        "Staff: settle the payment with kiosk reconcile, then enter your number and PIN."
    ),
    "unknown_item": N_("Staff: enter your number and PIN to price the item or leave it out."),
    "weighed_item": N_("Staff: enter your number and PIN to price the item or leave it out."),
}
"""What staff read above the PIN pad, for each reason (others: ``OTHER_STAFF_HINT``)."""
OTHER_STAFF_HINT = N_("Staff: enter your number and PIN to close the call.")

RECEIPT_TEXTS = {
    "printing": N_("Your receipt is printing. Please take it."),
    "printed": N_("Please take your receipt."),
}
"""The thank-you screen's words on the printed receipt, by ``Situation.receipt_status``."""


@dataclass(frozen=True)
class Message:
    """A short sentence on the customer's screen (cleared after a while by the app).

    ``msgid`` is the untranslated sentence (``""``: none), so a language switch can say it
    again in the new language (``in_language``); two messages that read the same are equal."""

    text: str
    error: bool = True
    msgid: str = field(default="", compare=False)

    @classmethod
    def of(cls, tr: Translator, msgid: str, *, error: bool = True) -> Message:
        """The sentence ``msgid`` in ``tr``'s language."""
        return cls(tr(msgid), error, msgid)

    @classmethod
    def for_code(cls, tr: Translator, code: str, *, error: bool = True) -> Message:
        """The sentence for facade code ``code`` (``Translator.say``) in ``tr``'s language."""
        return cls(tr.say(code), error, FACADE_MESSAGES.get(code, GENERIC_MESSAGE))

    def in_language(self, tr: Translator) -> Message:
        """The same message in ``tr``'s language (unchanged without a ``msgid``)."""
        return Message(tr(self.msgid), self.error, self.msgid) if self.msgid else self


@dataclass(frozen=True)
class Situation:
    """What the UI knows beyond the session.

    ``recovery``: ``"checking"`` or ``"call_staff"`` while start-up payment recovery has not
    settled, else ``""``. ``start_failed``, ``closed``, ``explaining_decline``, ``thanking``,
    ``staff_login`` and ``staff_menu`` as in ``kiosk.ui.navigation.View``. ``scanner_down``,
    ``payments_down`` (the reason code) and ``printer_trouble`` (the printer's status) are the
    banners' troubles. ``qr_receipts``: the shop has a back office, so receipts are also
    offered as a QR code. ``taxes_included``: prices include tax. ``payment_mode`` and
    ``payment_code`` are what the payment screen showed last: they stay while no payment is
    on screen. ``receipt_status`` is the paid sale's receipt (``printing``, ``printed``,
    ``unavailable`` or ``""``) and ``qr_shown`` says its QR e-receipt is on the thank-you screen.
    ``reader_position`` is where the card reader stands (one of ``READER_POSITIONS``);
    ``languages`` are the shop's languages in the order it offers them (keys of ``LANGUAGES``).
    """

    recovery: str = ""
    start_failed: bool = False
    closed: bool = False
    explaining_decline: bool = False
    thanking: bool = False
    staff_login: bool = False
    staff_menu: bool = False
    scanner_down: bool = False
    payments_down: str | None = None
    printer_trouble: str | None = None
    qr_receipts: bool = False
    taxes_included: bool = True
    payment_mode: str = "waiting"
    payment_code: str = ""
    receipt_status: str = ""
    qr_shown: bool = False
    reader_position: str = "right"
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class CartLine:
    """One cart line as the shopping screen lists it (the ``CartRow`` widget's data)."""

    line_id: int
    name: str
    detail: str
    """``"1.234 kg at €2.99/kg"``, ``"3 x €1.00"``, or empty for a single item."""
    quantity: int
    amount: str
    fixed: bool
    """The quantity cannot change (a weighed item): no + and - buttons."""
    age_restricted: bool


@dataclass(frozen=True)
class PaymentView:
    """The payment screen: ``mode`` (one of ``PAYMENT_MODES``), the decline or check
    ``code``, whether another card could help (``retry_possible``), and whether a payment may
    still complete (``pending``: Pay and the staff button are held back). ``status`` is the
    headline, ``detail`` the sentence under it; ``busy`` turns the wheel; ``buttons_shown``
    shows "Back to the cart" (and the row "Try another card" sits in), ``retry_shown`` shows
    "Try another card". While the reader waits for a card (``cue_shown``) the contactless cue
    shows with an arrow beside it (``reader_arrow``, an icon name) pointing where the reader
    is (``reader_position``: on the reader's side of the cue; right of it for below)."""

    mode: str
    code: str
    retry_possible: bool
    pending: bool
    status: str = ""
    detail: str = ""
    busy: bool = False
    buttons_shown: bool = False
    retry_shown: bool = False
    cue_shown: bool = False
    reader_position: str = "right"
    reader_arrow: str = READER_ARROWS["right"]


@dataclass(frozen=True)
class AttendantView:
    """The needs-attendant screen: why the customer waits (``title``, ``body``), their way
    back without staff (``withdraw_text``; not offered while a payment is checked), and what
    staff do on the PIN pad (``staff_hint``)."""

    title: str
    body: str
    withdraw_text: str
    withdraw_shown: bool
    staff_hint: str
    subject: str = ""
    """The item the call is about (`kiosk.ui.attendant_subject`), or ``""``."""


@dataclass(frozen=True)
class NoticeBoard:
    """A screen of words only (checking the last payment, closed, thank you): ``title``,
    ``body``, and ``busy`` while something is being done."""

    title: str
    body: str
    busy: bool = False


@dataclass(frozen=True)
class CustomerView:
    """Everything the customer screens show, and which one is up.

    ``screen`` is a name of ``kiosk.ui.navigation.SCREENS``. The cart (``lines``,
    ``item_count``, the totals' texts, empty before a sale) is shown by the shopping, payment
    and paid screens; ``sale_number_text`` by the header; ``attendant_reason`` (an
    ``AttendantReason`` value or ``""``) and ``attendant`` by the needs-attendant screen;
    ``payment``, ``checking``, ``closed`` and ``thank_you`` by the screens of those names (the
    thank-you board's ``body`` says where the receipt is); ``banners`` ((role, words), most
    important first) above every screen. ``idle_prompt``: "are you still there?" is up.
    ``staff_login``: the staff PIN pad stays up (a card payment closes it).
    ``language_choices``: the languages the top bar offers, as (code, own name), the current
    one left out; empty where it offers none (the attract screen, staff screens, a card being
    read, a shop of one language). ``accessibility_offered``: the top bar's accessibility
    button shows (every customer screen, but while a card is read).
    """

    screen: str
    state: CheckoutState
    lines: tuple[CartLine, ...]
    item_count: int
    subtotal_text: str
    tax_text: str
    total_text: str
    taxes_included: bool
    sale_number_text: str
    attendant_reason: str
    payment: PaymentView
    attendant: AttendantView
    checking: NoticeBoard
    closed: NoticeBoard
    thank_you: NoticeBoard
    banners: tuple[tuple[str, str], ...]
    idle_prompt: bool
    staff_login: bool
    language_choices: tuple[tuple[str, str], ...] = ()
    accessibility_offered: bool = False


@dataclass(frozen=True)
class SessionStep:
    """What a new session means beyond its content (``session_step``).

    ``explaining_decline`` and ``left_payment`` are the UI's new memory; ``message`` a
    sentence to show; ``end_recovery``: the attendant screen takes over from the start-up
    check; ``end_thank_you``: a new sale ends the thank-you screen; ``reset_language``: a sale
    was abandoned, the next customer starts in the shop's language; ``item_added``: the
    customer scanned an item (its sound plays, an old message goes).
    """

    explaining_decline: bool
    left_payment: bool
    message: Message | None
    end_recovery: bool
    end_thank_you: bool
    reset_language: bool
    item_added: bool


@dataclass(frozen=True)
class Reaction:
    """What a notice makes the customer hear and read: a ``Sounds`` name, a message, and a
    sentence for the staff PIN pad."""

    sound: str | None = None
    message: Message | None = None
    staff_message: str | None = None


def customer_view(
    session: SessionChanged | None, situation: Situation, tr: Translator
) -> CustomerView:
    """What the customer screens show for ``session`` (``None`` before the first one) in
    ``situation``, in ``tr``'s language."""
    state = session.checkout.state if session is not None else CheckoutState.ATTRACT
    screen = screen_for(View(
        state=state,
        recovery=situation.recovery or None,
        start_failed=situation.start_failed,
        explaining_decline=situation.explaining_decline,
        thanking=situation.thanking,
        closed=situation.closed,
        staff_login=situation.staff_login,
        staff_menu=situation.staff_menu,
    ))
    totals = session.totals if session is not None else None
    money = tr.money
    number = session.sale_number if session is not None else None
    reason = session.checkout.attendant_reason if session is not None else None
    return CustomerView(
        screen=screen,
        state=state,
        lines=cart_lines(session.checkout, tr) if session is not None else (),
        item_count=item_count(session.checkout) if session is not None else 0,
        subtotal_text=money(totals.subtotal_minor) if totals is not None else "",
        tax_text=money(totals.tax_minor) if totals is not None else "",
        total_text=money(totals.total_minor) if totals is not None else "",
        taxes_included=situation.taxes_included,
        sale_number_text="" if number is None else str(number),
        attendant_reason=reason.value if reason is not None else "",
        payment=payment_view(
            session.checkout if session is not None else None, situation, tr
        ),
        attendant=attendant_view(
            reason.value if reason is not None else "", tr,
            attendant_subject(session.checkout, tr) if session is not None else "",
        ),
        checking=checking_board(situation.recovery, tr),
        closed=closed_board(situation.start_failed, tr),
        thank_you=thank_you_board(situation.receipt_status, situation.qr_shown, tr),
        banners=banners(situation, tr),
        idle_prompt=state is CheckoutState.IDLE_PROMPT and screen not in STAFF_SCREENS,
        staff_login=situation.staff_login and screen == "staff_login",
        language_choices=language_choices(screen, state, situation.languages, tr.language),
        accessibility_offered=screen in CUSTOMER_SCREENS and state is not CheckoutState.PAYING,
    )


def language_choices(
    screen: str, state: CheckoutState, languages: tuple[str, ...], current: str
) -> tuple[tuple[str, str], ...]:
    """The languages the top bar offers on ``screen`` in ``state``: the shop's ``languages``
    but the ``current`` one, as (code, own name). None on the attract screen (it lists them
    itself), on staff screens, and while a card is being read (``PAYING``: the reader waits
    for, reads or authorises a card; a decline being explained offers them again)."""
    if screen not in LANGUAGE_SWITCH_SCREENS or state is CheckoutState.PAYING:
        return ()
    return tuple((code, LANGUAGES[code]) for code in languages
                 if code != current and code in LANGUAGES)


def cart_lines(checkout: Checkout, tr: Translator) -> tuple[CartLine, ...]:
    """The cart's lines as the shopping screen lists them, amounts in ``tr``'s format."""
    rows = []
    for line in checkout.cart.lines:
        if line.weight_g is not None:
            detail = tr(
                "{weight} kg at {price}/kg",
                weight=tr.weight_kg(line.weight_g),
                price=tr.money(line.unit_price_minor),
            )
        elif line.quantity > 1:
            detail = tr(
                "{quantity} x {price}", quantity=line.quantity,
                price=tr.money(line.unit_price_minor),
            )
        else:
            detail = ""
        rows.append(CartLine(
            line_id=line.line_id,
            name=line.name,
            detail=detail,
            quantity=line.quantity,
            amount=tr.money(line.amount_minor),
            fixed=line.quantity_is_fixed,
            age_restricted=line.min_age is not None,
        ))
    return tuple(rows)


def item_count(checkout: Checkout) -> int:
    """How many items the cart holds (a weighed line counts once)."""
    return sum(1 if line.weight_g is not None else line.quantity for line in checkout.cart.lines)


def payment_view(
    checkout: Checkout | None, situation: Situation, tr: Translator
) -> PaymentView:
    """The payment screen's mode: from the payment's phase while paying, ``declined`` while a
    decline is explained, else what it showed last (``situation.payment_mode``)."""
    mode, code = situation.payment_mode, situation.payment_code
    if checkout is not None and checkout.state is CheckoutState.PAYING:
        if checkout.payment_code is not None and checkout.payment_pending:
            mode = "checking"
        elif checkout.payment_phase is PaymentPhase.AUTHORISING:
            mode = "authorising"
        else:
            mode = "waiting"
        code = checkout.payment_code or ""
    elif situation.explaining_decline:
        mode = "declined"
        if checkout is not None:
            code = checkout.payment_code or ""
    retry_possible = code not in NOT_ABOUT_THE_CARD
    position = situation.reader_position
    status = tr(PAYMENT_STATUS[mode]) if mode in PAYMENT_STATUS else ""
    if mode == "declined":
        detail = decline_text(code, tr)
    elif mode == "waiting":
        status = tr(READER_PROMPTS[position])
        detail = tr("Follow the instructions on the reader.")
    else:
        detail = ""
    return PaymentView(
        mode=mode,
        code=code,
        retry_possible=retry_possible,
        pending=checkout.payment_pending if checkout is not None else False,
        status=status,
        detail=detail,
        busy=mode in ("authorising", "checking"),
        buttons_shown=mode in ("waiting", "declined"),
        retry_shown=mode == "declined" and retry_possible,
        cue_shown=mode == "waiting",
        reader_position=position,
        reader_arrow=READER_ARROWS[position],
    )


def attendant_view(reason: str, tr: Translator, subject: str = "") -> AttendantView:
    """The needs-attendant screen for ``reason`` (an ``AttendantReason`` value, or ``""``),
    naming ``subject`` (the item the call is about, if any)."""
    return AttendantView(
        title=tr(ATTENDANT_TITLES.get(reason, OTHER_ATTENDANT_TITLE)),
        body=tr(ATTENDANT_BODIES[reason]) if reason in ATTENDANT_BODIES else "",
        withdraw_text=tr(WITHDRAW_TEXTS.get(reason, OTHER_WITHDRAW_TEXT)),
        withdraw_shown=reason != AttendantReason.PAYMENT_CHECK,
        staff_hint=tr(STAFF_HINTS.get(reason, OTHER_STAFF_HINT)),
        subject=subject,
    )


def checking_board(recovery: str, tr: Translator) -> NoticeBoard:
    """The start-up check of the last payment: ``checking``, or (``call_staff``) stuck."""
    if recovery == "checking":
        return NoticeBoard(
            tr("Checking the last payment..."), tr("This takes a moment. Please wait."), True
        )
    return NoticeBoard(tr("Please call staff"), tr(
        "We could not confirm the last payment. A member of staff needs to check it before "
        "this checkout can be used."
    ))


def closed_board(start_failed: bool, tr: Translator) -> NoticeBoard:
    """The closed screen: out of order (the start failed), or closed by staff."""
    if start_failed:
        return NoticeBoard(tr("This checkout is out of order"),
                           tr("Please use another checkout. Staff has been told."))
    return NoticeBoard(tr("This checkout is closed"),
                       tr("Please use another checkout. Thank you."))


def thank_you_board(receipt_status: str, qr_shown: bool, tr: Translator) -> NoticeBoard:
    """The thank-you screen: where the receipt is (printing, printed, could not be printed,
    or a QR code to scan)."""
    if receipt_status in RECEIPT_TEXTS:
        body = tr(RECEIPT_TEXTS[receipt_status])
    elif receipt_status == "unavailable":
        body = tr(
            "The receipt could not be printed. Scan the QR code, or ask staff for a copy."
        ) if qr_shown else tr("The receipt could not be printed. Please ask staff for a copy.")
    elif qr_shown:
        body = tr("Scan the QR code with your phone to see your receipt.")
    else:
        body = ""
    return NoticeBoard(tr("Thank you for shopping with us!"), body)


def banners(situation: Situation, tr: Translator) -> tuple[tuple[str, str], ...]:
    """The status banners (role, words), most important first: card payments down, the
    scanner unplugged, the receipt printer in trouble."""
    shown = []
    if situation.payments_down is not None:
        shown.append(("danger", tr(
            "Card payments are not available at this checkout right now. "
            "Please use a staffed till."
        )))
    if situation.scanner_down:
        shown.append(("warning", tr("The scanner is not connected. Staff has been told.")))
    if situation.printer_trouble is not None:
        shown.append(("warning", tr(
            "The receipt printer needs attention. Receipts are available as a QR code "
            "or from staff."
        ) if situation.qr_receipts else tr(
            "The receipt printer needs attention. Please ask staff for a receipt."
        )))
    return tuple(shown)


def decline_text(code: str, tr: Translator) -> str:
    """The sentence for a decline code (a generic one for codes without their own)."""
    if code in DECLINES_WITH_OWN_WORDS:
        return tr.say(code)
    return tr.say("card_declined")


def session_step(
    before: SessionChanged | None,
    now: SessionChanged,
    *,
    explaining_decline: bool,
    left_payment: bool,
    thanking: bool,
    tr: Translator,
) -> SessionStep:
    """What the session moving from ``before`` to ``now`` means beyond its content.

    ``explaining_decline``, ``left_payment`` (the customer pressed "Back to the cart" on the
    card screen) and ``thanking`` are the UI's memory before the step. A payment that ends in
    the cart with a code other than ``cancelled`` is a decline to explain; one that ends
    there after waiting for a card that never came says so.
    """
    checkout = now.checkout
    state = checkout.state
    message = None
    was_paying = before is not None and before.checkout.state is CheckoutState.PAYING
    if state is CheckoutState.PAYING and not was_paying:
        left_payment = False
    if before is not None and was_paying:
        code = checkout.payment_code
        explaining_decline = (
            state is CheckoutState.SHOPPING and code is not None and code != "cancelled"
        )
        if (
            state is CheckoutState.SHOPPING
            and not explaining_decline
            and not left_payment
            and before.checkout.payment_phase is PaymentPhase.WAITING_FOR_CARD
        ):  # the reader waited too long for a card: say why the cart is back
            message = Message.of(
                tr, N_("The card payment was stopped because no card was presented. "
                       "Press Pay to try again."),
                error=False,
            )
        left_payment = False
    if state not in (CheckoutState.SHOPPING, CheckoutState.IDLE_PROMPT):
        explaining_decline = False
    end_thank_you = state is not CheckoutState.ATTRACT
    items_before = item_count(before.checkout) if before is not None else 0
    if message is None and _age_check_ahead(before, now):
        message = Message.of(tr, N_("Staff will check your age before you pay."), error=False)
    return SessionStep(
        explaining_decline=explaining_decline,
        left_payment=left_payment,
        message=message,
        end_recovery=checkout.attendant_reason is AttendantReason.PAYMENT_CHECK,
        end_thank_you=end_thank_you,
        reset_language=(  # abandoned, not paid: the next customer starts in the shop's language
            not end_thank_you
            and before is not None
            and before.checkout.state is not CheckoutState.ATTRACT
            and not thanking
        ),
        item_added=item_count(checkout) > items_before
        and state in (CheckoutState.SHOPPING, CheckoutState.IDLE_PROMPT),
    )


def _age_check_ahead(before: SessionChanged | None, now: SessionChanged) -> bool:
    """True when the step added the cart's first age-restricted item (not yet approved):
    the customer learns at once that staff will check their age at Pay."""
    checkout = now.checkout
    if checkout.cart.max_min_age is None or checkout.age_approved_by is not None:
        return False
    return before is None or before.checkout.cart.max_min_age is None


def reaction_to(notice: Notice, tr: Translator, *, screen: str, staff_login: bool) -> Reaction:
    """What a refused scan, a refused request or an attendant call makes the customer hear
    and read on ``screen`` (``staff_login``: the staff PIN pad is up); nothing for other
    notices."""
    from kiosk.notices import AttendantCalled, CartRefused, ScanRejected  # a facade exists now

    if isinstance(notice, ScanRejected):
        return Reaction(
            sound="scan_rejected",
            message=Message.of(tr, N_("That barcode could not be read. Please scan it again.")),
        )
    if isinstance(notice, AttendantCalled):
        return Reaction(
            sound="scan_rejected" if notice.reason in ITEM_CALLS else None,
            # the payment screen stays: say that staff are coming
            message=Message.for_code(tr, notice.reason.value, error=False)
            if screen == "payment" else None,
        )
    if isinstance(notice, CartRefused):
        return Reaction(
            sound="scan_rejected",
            message=Message.for_code(tr, notice.code),
            staff_message=tr.say(notice.code)
            if staff_login and notice.code in NOT_STARTED else None,
        )
    return Reaction()


def staff_check_text(
    notice: StaffChecked, tr: Translator, local_time: Callable[[datetime], str]
) -> str:
    """What the staff PIN pad says after a PIN was checked (``""`` when it was right);
    ``local_time`` writes an aware time on the shop's clock, with seconds."""
    if notice.outcome == "ok":
        return ""
    if notice.outcome == "wrong_pin" and notice.tries_left is not None:
        return tr.ntr(
            "Wrong PIN. {n} try left.", "Wrong PIN. {n} tries left.", notice.tries_left
        )
    if notice.outcome == "locked" and notice.locked_until is not None:
        return tr(
            "Too many wrong PINs. Locked until {time}.", time=local_time(notice.locked_until)
        )
    return tr.say(str(notice.outcome))


def touch_ends_thank_you(thanking: bool, qr_shown: bool, since_thanks_s: float) -> bool:
    """A touch ends the thank-you screen, unless a QR code is up (it stays until "Done" or its
    time is up) or the touch comes within ``THANK_YOU_TOUCH_GRACE_S`` of the receipt choice
    (a double tap on the receipt choice must not skip the thank-you screen)."""
    return thanking and not qr_shown and since_thanks_s > THANK_YOU_TOUCH_GRACE_S


def language_expired(screen: str, language: str, default_language: str, idle_s: float) -> bool:
    """Someone chose a language on a screen without a sale (``NO_SALE_SCREENS``) and walked
    away ``idle_s`` ago: past ``LANGUAGE_RESET_S`` the next customer starts in the shop's
    language. A sale keeps its language until it ends (the app resets it then)."""
    return (screen in NO_SALE_SCREENS and language != default_language
            and idle_s > LANGUAGE_RESET_S)


@dataclass(frozen=True)
class TimeoutWarning:
    """A timeout about to end, as the customer reads (and, with audio guidance, hears) it.

    ``kind``: ``"idle"`` (the walk-away prompt), ``"card"``, ``"receipt"`` or ``"qr"``
    (``kiosk.ui.timeouts``); ``title`` and ``text`` the words on screen; ``action`` the label
    of the button that gives more time; ``seconds`` left.
    """

    kind: str
    title: str
    text: str
    action: str
    seconds: int


def timeout_warning(countdown: tuple[str, int] | None, tr: Translator) -> TimeoutWarning | None:
    """The warning for ``countdown`` (a kind and the seconds left, ``None``: no warning)."""
    if countdown is None:
        return None
    kind, n = countdown
    if kind == "idle":
        return TimeoutWarning(kind, tr("Are you still there?"), tr.ntr(
            "Your cart will be emptied in {n} second.",
            "Your cart will be emptied in {n} seconds.", n), tr("Yes, continue"), n)
    if kind == "card":
        text = tr.ntr("No card yet: the payment will be cancelled in {n} second.",
                      "No card yet: the payment will be cancelled in {n} seconds.", n)
    elif kind == "receipt":
        text = tr.ntr("Your receipt choice closes in {n} second.",
                      "Your receipt choice closes in {n} seconds.", n)
    else:
        text = tr.ntr("The QR code goes away in {n} second.",
                      "The QR code goes away in {n} seconds.", n)
    return TimeoutWarning(kind, tr("Do you need more time?"), text, tr("More time"), n)
