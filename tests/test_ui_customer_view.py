"""What each customer screen shows (``kiosk.ui.customer_view``), checked without a window.

Sessions are built with the real checkout state machine (scans, Pay, the reader's answers) and
wrapped in the ``SessionChanged`` notice the facade sends; the view, the session steps and the
reactions to notices are then read as plain dataclasses: the screen, the cart's lines and
totals, the payment's mode, the banners, the messages and sounds.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import get_args, get_type_hints

import pytest

from kiosk.config import DisplaySettings
from kiosk.core.barcodes import check_digit, parse_scan
from kiosk.core.catalog import Product
from kiosk.core.checkout import Checkout
from kiosk.core.checkout_events import (
    BackToCartPressed,
    CancelSale,
    CheckoutTimers,
    Event,
    HelpRequested,
    ItemScanned,
    LinePutBack,
    LineRemoved,
    PaymentCancelled,
    PaymentCheckNeeded,
    PaymentDeclined,
    PaymentPhaseChanged,
    PaymentSucceeded,
    PaymentUnresolved,
    PayPressed,
    QuantityChanged,
    Tick,
)
from kiosk.core.checkout_states import AttendantReason, CheckoutState, PaymentPhase
from kiosk.core.shop_rules import CartLimits, ScanRules, TaxClass, TaxMode, TaxPolicy
from kiosk.notices import (
    AttendantCalled,
    CartRefused,
    ScanRejected,
    SessionChanged,
    StaffChecked,
    StoreTrouble,
)
from kiosk.refusals import KioskRefusal
from kiosk.ui.customer_view import (
    LANGUAGE_RESET_S,
    READER_POSITIONS,
    THANK_YOU_TOUCH_GRACE_S,
    AttendantView,
    CartLine,
    CustomerView,
    Message,
    NoticeBoard,
    SessionStep,
    Situation,
    attendant_view,
    customer_view,
    decline_text,
    language_choices,
    language_expired,
    reaction_to,
    session_step,
    staff_check_text,
    touch_ends_thank_you,
)
from kiosk.ui.i18n import Translator
from kiosk.ui.undo_offer import offer_lasts, removal, removed_now

POLICY = TaxPolicy(
    {"standard": TaxClass("standard", Decimal("0.20")),
     "reduced": TaxClass("reduced", Decimal("0.05"))},
    TaxMode.INCLUSIVE,
)
LIMITS = CartLimits(max_quantity_per_line=9, max_lines=9, max_cart_total_minor=100_000)
TIMERS = CheckoutTimers(
    idle_prompt_after_s=60, idle_abandon_after_s=30, card_wait_s=120, receipt_choice_s=30
)
MILK = Product("04006381333931", "Milk 1 l", 129, "reduced")
WINE = Product("05901234123457", "Red wine", 899, "standard", min_age=18)
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SALE = "6f1c3a52-0d0e-4d5e-9a43-1b2c3d4e5f60"

EN = Translator("en", "en_GB", "EUR")
DE = Translator("de", "en_GB", "EUR")
NOTHING = Situation()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def scanned(product: Product) -> ItemScanned:
    scan = parse_scan(product.code.encode() + b"\r", ScanRules())
    return ItemScanned(at=at(0), scan=scan, product=product, new_sale_id=SALE)


def run(checkout: Checkout, *events: Event) -> Checkout:
    for event in events:
        checkout, _effects = checkout.handle(event)
    return checkout


def session(checkout: Checkout, number: int | None = 7) -> SessionChanged:
    """The notice the facade sends for ``checkout`` (the store's sale number once recorded)."""
    return SessionChanged(checkout, checkout.totals(), number)


def attract() -> Checkout:
    return Checkout.start(POLICY, LIMITS, TIMERS)


def shopping(*products: Product) -> Checkout:
    return run(attract(), *(scanned(product) for product in products))


def paying(*products: Product) -> Checkout:
    checkout = run(shopping(*products), PayPressed(at=at(1)))
    assert checkout.state is CheckoutState.PAYING
    return checkout


def view(checkout: Checkout | None, situation: Situation = NOTHING,
         tr: Translator = EN) -> CustomerView:
    return customer_view(session(checkout) if checkout is not None else None, situation, tr)


def step(before: Checkout | None, now: Checkout, *, explaining_decline: bool = False,
         left_payment: bool = False, thanking: bool = False) -> SessionStep:
    return session_step(
        session(before) if before is not None else None, session(now),
        explaining_decline=explaining_decline, left_payment=left_payment, thanking=thanking,
        tr=EN,
    )


# --- the screens ----------------------------------------------------------------------------


def test_before_the_first_session_the_attract_screen_shows_an_empty_cart() -> None:
    shown = view(None)
    assert shown.screen == "attract"
    assert shown.lines == () and shown.item_count == 0
    assert (shown.subtotal_text, shown.tax_text, shown.total_text) == ("", "", "")
    assert shown.sale_number_text == "" and shown.attendant_reason == ""
    assert shown.banners == () and not shown.idle_prompt
    assert (shown.payment.mode, shown.payment.code) == ("waiting", "")
    assert shown.payment.retry_possible and not shown.payment.pending


def test_the_shopping_screen_lists_each_line_with_its_detail_and_the_totals() -> None:
    checkout = run(shopping(MILK, WINE), QuantityChanged(at=at(1), line_id=1, quantity=3))
    shown = view(checkout)
    assert shown.screen == "shopping"
    assert shown.lines == (
        CartLine(1, "Milk 1 l", f"3 x {EN.money(129)}", 3, EN.money(387), False, False),
        CartLine(2, "Red wine", "", 1, EN.money(899), False, True),
    )
    assert shown.item_count == 4
    totals = checkout.totals()
    assert totals is not None
    assert shown.total_text == EN.money(1286) == EN.money(totals.total_minor)
    assert shown.tax_text == EN.money(totals.tax_minor)
    assert shown.subtotal_text == EN.money(totals.subtotal_minor)
    assert shown.taxes_included and shown.sale_number_text == "7"


def test_an_emptied_cart_stays_on_the_shopping_screen_with_zero_totals() -> None:
    shown = view(run(shopping(MILK), LineRemoved(at=at(1), line_id=1)))
    assert shown.screen == "shopping"
    assert shown.lines == () and shown.item_count == 0
    assert shown.total_text == EN.money(0)


def test_the_cart_is_written_in_the_customers_language() -> None:
    checkout = run(shopping(MILK), QuantityChanged(at=at(1), line_id=1, quantity=2))
    english, german = view(checkout).lines[0], view(checkout, tr=DE).lines[0]
    assert english.amount == "€2.58" and german.amount == "2,58\xa0€"
    assert german.detail == DE("{quantity} x {price}", quantity=2, price=DE.money(129))
    assert german.detail != english.detail


def test_an_age_check_shows_the_needs_attendant_screen_with_its_reason() -> None:
    checkout = run(shopping(WINE), PayPressed(at=at(1)))
    shown = view(checkout)
    assert shown.screen == "needs_attendant"
    assert shown.attendant_reason == AttendantReason.AGE_CHECK.value
    assert shown.lines[0].age_restricted
    assert shown.attendant == AttendantView(
        title="An age check is needed",
        body="Your cart has an age-restricted item. A member of staff will check your ID, "
             "then you can pay.",
        withdraw_text="Back to the cart",
        withdraw_shown=True,
        staff_hint="Staff: enter your number and PIN to approve the age check.",
        subject="Red wine",
    )


def test_the_needs_attendant_screen_names_the_item_the_call_is_about() -> None:
    unknown = ItemScanned(at=at(1), scan=parse_scan(b"4006381333931\r", ScanRules()),
                          product=None, new_sale_id=SALE)
    assert view(run(shopping(MILK), unknown)).attendant.subject == "Barcode 4006381333931"
    too_many = run(shopping(MILK), QuantityChanged(at=at(1), line_id=1, quantity=10))
    assert too_many.attendant_reason is AttendantReason.LIMIT_REACHED
    assert view(too_many).attendant.subject == "Milk 1 l: 10 items"
    assert view(too_many, tr=DE).attendant.subject == DE.ntr(
        "{name}: {n} item", "{name}: {n} items", 10, name="Milk 1 l")
    bases = [f"059012341230{digit}" for digit in "0123"]
    many_restricted = [replace(WINE, code=base + check_digit(base), name=f"Wine {base[-1]}")
                       for base in bases]
    age_check = run(shopping(MILK, *many_restricted), PayPressed(at=at(1)))
    assert view(age_check).attendant.subject == "Wine 0, Wine 1 and 2 more"
    help_call = run(shopping(MILK), HelpRequested(at=at(1)))
    assert help_call.attendant_reason is AttendantReason.HELP
    assert view(help_call).attendant.subject == ""


@pytest.mark.parametrize("reason", [*AttendantReason, None], ids=str)
def test_every_attendant_call_has_a_title_a_way_back_and_a_hint_for_staff(
    reason: AttendantReason | None,
) -> None:
    shown = attendant_view(reason.value if reason is not None else "", EN)
    assert shown.title and shown.withdraw_text and shown.staff_hint.startswith("Staff:")
    assert shown.withdraw_shown is (reason is not AttendantReason.PAYMENT_CHECK), (
        "only a payment being checked must wait for staff")
    assert attendant_view(reason.value if reason else "", DE).title != shown.title


def test_the_checking_closed_and_thank_you_screens_say_what_is_going_on() -> None:
    assert view(None, Situation(recovery="checking")).checking == NoticeBoard(
        "Checking the last payment...", "This takes a moment. Please wait.", busy=True)
    stuck = view(None, Situation(recovery="call_staff")).checking
    assert stuck.title == "Please call staff" and not stuck.busy
    assert view(None, Situation(closed=True)).closed.title == "This checkout is closed"
    broken = view(None, Situation(closed=True, start_failed=True)).closed
    assert broken.title == "This checkout is out of order"
    assert broken.body == "Please use another checkout. Staff has been told."


@pytest.mark.parametrize(
    ("status", "qr", "words"),
    [
        ("printing", False, "Your receipt is printing. Please take it."),
        ("printed", False, "Please take your receipt."),
        ("unavailable", False, "The receipt could not be printed. Please ask staff for a copy."),
        ("unavailable", True,
         "The receipt could not be printed. Scan the QR code, or ask staff for a copy."),
        ("", True, "Scan the QR code with your phone to see your receipt."),
        ("", False, ""),
    ],
)
def test_the_thank_you_screen_says_where_the_receipt_is(status: str, qr: bool,
                                                        words: str) -> None:
    shown = view(None, Situation(thanking=True, receipt_status=status, qr_shown=qr))
    assert shown.screen == "thank_you"
    assert shown.thank_you == NoticeBoard("Thank you for shopping with us!", words)


def test_paying_follows_the_readers_phase() -> None:
    checkout = paying(MILK)
    waiting = view(checkout)
    assert waiting.screen == "payment"
    assert waiting.payment.mode == "waiting" and waiting.payment.pending
    assert waiting.payment.status == "Tap or insert your card on the reader to your right."
    assert waiting.payment.detail == "Follow the instructions on the reader."
    assert waiting.payment.buttons_shown and not waiting.payment.retry_shown
    assert not waiting.payment.busy and waiting.payment.cue_shown
    authorising = run(checkout, PaymentPhaseChanged(at=at(2), phase=PaymentPhase.AUTHORISING))
    shown = view(authorising).payment
    assert shown.mode == "authorising" and shown.busy
    assert shown.status.startswith("Approving your payment")
    assert shown.detail == "" and not shown.buttons_shown, "no way back while authorising"
    assert not shown.cue_shown, "the wheel turns in the cue's place"


@pytest.mark.parametrize(
    ("position", "arrow", "english", "german"),
    [
        ("left", "arrow_back", "Tap or insert your card on the reader to your left.",
         "Halten Sie Ihre Karte an das Kartenterminal links von Ihnen, oder stecken Sie sie ein."),
        ("right", "arrow_forward", "Tap or insert your card on the reader to your right.",
         "Halten Sie Ihre Karte an das Kartenterminal rechts von Ihnen, oder stecken Sie sie "
         "ein."),
        ("below", "arrow_downward", "Tap or insert your card on the reader below the screen.",
         "Halten Sie Ihre Karte an das Kartenterminal unter dem Bildschirm, oder stecken Sie "
         "sie ein."),
    ],
)
def test_the_card_screen_points_to_where_the_reader_stands_and_names_the_place(
    position: str, arrow: str, english: str, german: str
) -> None:
    where = Situation(reader_position=position)
    shown = view(paying(MILK), where).payment
    assert (shown.reader_position, shown.reader_arrow) == (position, arrow)
    assert shown.cue_shown and shown.status == english
    in_german = view(paying(MILK), where, DE).payment
    assert in_german.status == german
    assert in_german.detail == "Folgen Sie den Anweisungen auf dem Kartenterminal."
    declined = view(run(paying(MILK), PaymentDeclined(at=at(2), code="card_declined")),
                    replace(where, explaining_decline=True)).payment
    assert not declined.cue_shown and declined.status == "Payment not completed"


def test_every_reader_position_of_the_settings_has_its_words_and_arrow() -> None:
    allowed = get_args(get_args(get_type_hints(DisplaySettings, include_extras=True)
                                ["reader_position"])[0])
    assert set(allowed) == set(READER_POSITIONS)
    assert DisplaySettings().reader_position == Situation().reader_position == "right"


def test_a_payment_in_doubt_is_checked_and_offers_no_other_card() -> None:
    checkout = run(paying(MILK), PaymentUnresolved(at=at(2), code="outcome_unknown"))
    shown = view(checkout)
    assert shown.screen == "payment"
    assert shown.payment == replace(shown.payment, mode="checking", code="outcome_unknown",
                                    retry_possible=False, pending=True)
    assert shown.payment.busy and not shown.payment.buttons_shown
    assert shown.payment.status == EN.say("payment_check")


@pytest.mark.parametrize(
    ("code", "retry"),
    [("card_declined", True), ("insufficient_funds", True), ("reader_offline", False),
     (KioskRefusal.PAYMENTS_UNAVAILABLE.value, False)],
)
def test_a_decline_being_explained_shows_the_payment_screen(code: str, retry: bool) -> None:
    checkout = run(paying(MILK), PaymentDeclined(at=at(2), code=code))
    shown = view(checkout, Situation(explaining_decline=True))
    assert shown.screen == "payment"
    assert (shown.payment.mode, shown.payment.code) == ("declined", code)
    assert shown.payment.retry_possible is retry
    assert shown.payment.retry_shown is retry and shown.payment.buttons_shown
    assert shown.payment.status == "Payment not completed"
    assert shown.payment.detail == decline_text(code, EN)
    assert view(checkout).screen == "shopping", "once explained, the cart is back"


def test_decline_codes_without_their_own_words_read_as_a_plain_decline() -> None:
    assert decline_text("do_not_honor", EN) == EN.say("card_declined")
    assert decline_text("expired_card", EN) == EN.say("expired_card")
    assert decline_text(KioskRefusal.BELOW_CARD_MINIMUM, EN) == EN.say("below_card_minimum")


def test_the_payment_screen_keeps_its_last_mode_while_no_payment_is_on_screen() -> None:
    back = run(paying(MILK), BackToCartPressed(at=at(2)))
    shown = view(back, Situation(payment_mode="authorising", payment_code="x"))
    assert shown.screen == "shopping"
    assert (shown.payment.mode, shown.payment.code) == ("authorising", "x")


def test_a_paid_sale_shows_the_paid_screen_with_what_was_paid() -> None:
    checkout = run(shopping(MILK), QuantityChanged(at=at(1), line_id=1, quantity=2))
    shown = view(run(checkout, PayPressed(at=at(1)), PaymentSucceeded(at=at(2))))
    assert shown.screen == "paid"
    assert shown.total_text == EN.money(258)
    assert shown.sale_number_text == "7"


@pytest.mark.parametrize(
    ("situation", "screen"),
    [
        (Situation(closed=True), "closed"),
        (Situation(start_failed=True), "closed"),
        (Situation(recovery="checking"), "checking"),
        (Situation(recovery="call_staff"), "checking"),
        (Situation(thanking=True), "thank_you"),
        (Situation(staff_login=True), "staff_login"),
        (Situation(staff_menu=True), "staff_menu"),
    ],
    ids=str,
)
def test_the_kiosks_own_circumstances_replace_the_attract_screen(
    situation: Situation, screen: str
) -> None:
    assert view(None, situation).screen == screen
    assert view(attract(), situation).screen == screen


def test_a_sale_in_progress_keeps_its_screen_when_the_kiosk_closes() -> None:
    assert view(shopping(MILK), Situation(closed=True)).screen == "shopping"
    assert view(paying(MILK), Situation(closed=True, recovery="checking")).screen == "payment"


def test_a_card_payment_closes_the_staff_pin_pad() -> None:
    assert view(shopping(MILK), Situation(staff_login=True)).staff_login
    covered = view(paying(MILK), Situation(staff_login=True))
    assert covered.screen == "payment" and not covered.staff_login


def test_the_idle_prompt_is_up_in_its_state_but_never_over_the_staff_menu() -> None:
    idle = run(shopping(MILK), Tick(at=at(100)))
    assert idle.state is CheckoutState.IDLE_PROMPT
    assert view(idle).idle_prompt and view(idle).screen == "shopping"
    assert not view(idle, Situation(staff_menu=True)).idle_prompt
    assert not view(shopping(MILK)).idle_prompt


# --- banners --------------------------------------------------------------------------------


def test_banners_put_card_payments_first_then_the_scanner_then_the_printer() -> None:
    troubles = Situation(payments_down="stripe_unreachable", scanner_down=True,
                         printer_trouble="paper_out")
    roles = [role for role, _words in view(None, troubles).banners]
    assert roles == ["danger", "warning", "warning"]
    words = [text for _role, text in view(None, troubles).banners]
    assert words[0].startswith("Card payments are not available")
    assert "scanner" in words[1]
    assert words[2] == "The receipt printer needs attention. Please ask staff for a receipt."


def test_with_a_back_office_the_printer_banner_offers_a_qr_code() -> None:
    shown = view(None, Situation(printer_trouble="offline", qr_receipts=True))
    assert shown.banners == (("warning", EN(
        "The receipt printer needs attention. Receipts are available as a QR code or from staff."
    )),)


SHOP_LANGUAGES = ("en", "de")


def test_the_top_bar_offers_the_other_languages_on_the_cart() -> None:
    shopping_now = Situation(languages=SHOP_LANGUAGES)
    assert view(shopping(MILK), shopping_now).language_choices == (("de", "Deutsch"),)
    assert view(shopping(MILK), shopping_now, DE).language_choices == (("en", "English"),)


@pytest.mark.parametrize("screen", ["shopping", "needs_attendant", "payment", "paid",
                                    "thank_you", "closed", "checking"])
def test_every_customer_screen_but_the_attract_screen_offers_the_languages(screen: str) -> None:
    for state in (CheckoutState.ATTRACT, CheckoutState.SHOPPING, CheckoutState.PAID):
        assert language_choices(screen, state, SHOP_LANGUAGES, "en") == (("de", "Deutsch"),)


def test_no_language_switch_on_the_attract_screen_nor_for_staff_nor_in_a_one_language_shop(
) -> None:
    assert language_choices("attract", CheckoutState.ATTRACT, SHOP_LANGUAGES, "en") == ()
    for staff_screen in ("staff_login", "staff_menu"):
        assert language_choices(staff_screen, CheckoutState.SHOPPING, SHOP_LANGUAGES, "en") == ()
    assert language_choices("shopping", CheckoutState.SHOPPING, ("en",), "en") == ()
    assert view(None, Situation(languages=SHOP_LANGUAGES)).language_choices == ()
    staff = view(shopping(MILK), Situation(languages=SHOP_LANGUAGES, staff_menu=True))
    assert staff.screen == "staff_menu" and staff.language_choices == ()


def test_no_language_switch_while_a_card_is_being_read() -> None:
    languages = Situation(languages=SHOP_LANGUAGES)
    waiting = paying(MILK)
    authorising = run(waiting, PaymentPhaseChanged(at=at(2), phase=PaymentPhase.AUTHORISING))
    in_doubt = run(waiting, PaymentUnresolved(at=at(2), code="outcome_unknown"))
    for checkout in (waiting, authorising, in_doubt):
        shown = view(checkout, languages)
        assert shown.screen == "payment" and shown.language_choices == ()
    declined = run(waiting, PaymentDeclined(at=at(2), code="card_declined"))
    explained = view(declined, replace(languages, explaining_decline=True))
    assert explained.screen == "payment", "the decline is explained: no card is being read"
    assert explained.language_choices == (("de", "Deutsch"),)
    paid = view(run(waiting, PaymentSucceeded(at=at(3))), languages)
    assert paid.screen == "paid" and paid.language_choices == (("de", "Deutsch"),)


def test_the_accessibility_button_shows_on_customer_screens_but_never_while_a_card_is_read(
) -> None:
    assert view(None).accessibility_offered, "the attract screen offers it"
    assert view(shopping(MILK)).accessibility_offered
    assert view(None, Situation(closed=True)).accessibility_offered
    waiting = paying(MILK)
    authorising = run(waiting, PaymentPhaseChanged(at=at(2), phase=PaymentPhase.AUTHORISING))
    for checkout in (waiting, authorising):
        shown = view(checkout)
        assert shown.screen == "payment" and not shown.accessibility_offered
    declined = run(waiting, PaymentDeclined(at=at(2), code="card_declined"))
    assert view(declined, Situation(explaining_decline=True)).accessibility_offered
    assert view(run(waiting, PaymentSucceeded(at=at(3)))).accessibility_offered, "paid"
    staff = view(shopping(MILK), Situation(staff_menu=True))
    assert staff.screen == "staff_menu" and not staff.accessibility_offered
    login = view(shopping(MILK), Situation(staff_login=True))
    assert login.screen == "staff_login" and not login.accessibility_offered


def test_a_message_on_show_is_said_again_in_the_new_language() -> None:
    rejected = reaction_to(ScanRejected("bad_check_digit"), EN, screen="shopping",
                           staff_login=False).message
    assert rejected is not None
    again = rejected.in_language(DE)
    assert again.text == DE("That barcode could not be read. Please scan it again.")
    assert again.text != rejected.text and again.error
    assert again.in_language(EN).text == rejected.text
    call = reaction_to(AttendantCalled(AttendantReason.HELP, SALE), EN, screen="payment",
                       staff_login=False).message
    assert call is not None and call.in_language(DE) == Message(DE.say("help"), error=False)
    unknown = Message.for_code(EN, "no_such_code")
    assert unknown.in_language(DE).text == DE.say("no_such_code")
    assert Message("Just words").in_language(DE) == Message("Just words"), "no msgid: as said"


def test_banners_follow_the_language() -> None:
    english = view(None, Situation(scanner_down=True), EN).banners
    german = view(None, Situation(scanner_down=True), DE).banners
    assert english[0][0] == german[0][0] == "warning"
    assert english[0][1] != german[0][1]


# --- session steps --------------------------------------------------------------------------


def test_scanning_an_item_plays_its_sound() -> None:
    assert step(None, shopping(MILK)).item_added
    assert step(shopping(MILK), shopping(MILK, WINE)).item_added
    removed = run(shopping(MILK), LineRemoved(at=at(1), line_id=1))
    assert not step(shopping(MILK), removed).item_added


def test_the_first_age_restricted_item_says_at_once_that_staff_will_check_at_pay() -> None:
    said = step(shopping(MILK), shopping(MILK, WINE)).message
    assert said == Message("Staff will check your age before you pay.", error=False)
    assert step(None, shopping(WINE)).message == said
    assert step(shopping(WINE), shopping(WINE, MILK)).message is None  # said once
    assert step(shopping(WINE), shopping(WINE, WINE)).message is None
    assert step(None, shopping(MILK)).message is None


def test_a_declined_card_is_explained_and_a_cancel_is_not() -> None:
    declined = step(paying(MILK), run(paying(MILK), PaymentDeclined(at=at(2), code="x")))
    assert declined.explaining_decline and declined.message is None
    cancelled = step(paying(MILK), run(paying(MILK), PaymentCancelled(at=at(2))))
    assert not cancelled.explaining_decline


def test_a_card_wait_that_ran_out_says_why_the_cart_is_back() -> None:
    timed_out = run(paying(MILK), Tick(at=at(500)))
    assert timed_out.state is CheckoutState.SHOPPING
    said = step(paying(MILK), timed_out)
    assert said.message == Message(
        EN("The card payment was stopped because no card was presented. "
           "Press Pay to try again."), error=False)
    assert step(paying(MILK), timed_out, left_payment=True).message is None, (
        "the customer pressed Back: nothing to explain")


def test_an_explanation_ends_when_the_sale_leaves_the_cart() -> None:
    assert not step(shopping(MILK), paying(MILK), explaining_decline=True).explaining_decline
    assert step(shopping(MILK), shopping(MILK, WINE), explaining_decline=True).explaining_decline


def test_a_new_payment_forgets_that_the_customer_left_the_last_one() -> None:
    assert not step(shopping(MILK), paying(MILK), left_payment=True).left_payment
    assert step(shopping(MILK), shopping(MILK, WINE), left_payment=True).left_payment


def test_a_new_sale_ends_the_thank_you_screen_and_an_abandoned_one_resets_the_language() -> None:
    assert step(None, shopping(MILK), thanking=True).end_thank_you
    abandoned = step(shopping(MILK), attract())
    assert abandoned.reset_language and not abandoned.end_thank_you
    assert not step(shopping(MILK), attract(), thanking=True).reset_language, (
        "a paid sale's thank-you screen resets the language when it ends")
    assert not step(None, attract()).reset_language


def test_a_payment_check_ends_the_start_up_check_screen() -> None:
    check = run(attract(), PaymentCheckNeeded(at=at(1)))
    assert check.attendant_reason is AttendantReason.PAYMENT_CHECK
    assert step(None, check).end_recovery
    assert view(check).screen == "needs_attendant"
    assert not step(None, shopping(MILK)).end_recovery


# --- reactions to notices -------------------------------------------------------------------


def test_an_unreadable_barcode_is_said_with_the_rejected_sound() -> None:
    reaction = reaction_to(ScanRejected("bad_check_digit"), EN, screen="shopping",
                           staff_login=False)
    assert reaction.sound == "scan_rejected"
    assert reaction.message == Message(EN("That barcode could not be read. Please scan it again."))


@pytest.mark.parametrize("code", list(KioskRefusal), ids=str)
def test_a_refusal_is_said_in_words_of_its_own(code: KioskRefusal) -> None:
    reaction = reaction_to(CartRefused(code), EN, screen="attract", staff_login=False)
    assert reaction.sound == "scan_rejected"
    assert reaction.message is not None and reaction.message.error
    assert reaction.message.text == EN.say(code) != EN.say("no_such_code")
    assert reaction.staff_message is None


def test_a_starting_or_broken_kiosk_answers_the_staff_pin_pad_too() -> None:
    for code in (KioskRefusal.KIOSK_STARTING, KioskRefusal.KIOSK_OUT_OF_ORDER):
        reaction = reaction_to(CartRefused(code), EN, screen="staff_login", staff_login=True)
        assert reaction.staff_message == EN.say(code)
    closed = reaction_to(CartRefused(KioskRefusal.KIOSK_CLOSED), EN, screen="staff_login",
                         staff_login=True)
    assert closed.staff_message is None


def test_an_attendant_call_is_said_only_where_the_screen_stays() -> None:
    call = AttendantCalled(AttendantReason.UNKNOWN_ITEM, SALE)
    on_payment = reaction_to(call, EN, screen="payment", staff_login=False)
    assert on_payment.message == Message(EN.say("unknown_item"), error=False)
    assert on_payment.sound == "scan_rejected"
    on_cart = reaction_to(AttendantCalled(AttendantReason.HELP, SALE), EN, screen="shopping",
                          staff_login=False)
    assert on_cart.message is None and on_cart.sound is None


def test_other_notices_make_no_sound_and_say_nothing() -> None:
    reaction = reaction_to(StoreTrouble("disk full"), EN, screen="shopping", staff_login=False)
    assert (reaction.sound, reaction.message, reaction.staff_message) == (None, None, None)


def test_the_staff_pin_pad_says_how_many_tries_are_left_and_until_when_it_is_locked() -> None:
    def local(moment: datetime) -> str:
        return moment.strftime("%H:%M:%S")

    def checked(outcome: str, tries: int | None = None,
                until: datetime | None = None) -> str:
        return staff_check_text(StaffChecked(outcome, 12, tries, until), EN, local)

    assert checked("ok") == ""
    assert checked("wrong_pin", 2) == "Wrong PIN. 2 tries left."
    assert checked("wrong_pin", 1) == "Wrong PIN. 1 try left."
    assert checked("locked", until=at(90)) == "Too many wrong PINs. Locked until 12:01:30."
    assert checked("unknown_staff") == EN.say("unknown_staff")


# --- timers' rules --------------------------------------------------------------------------


def test_a_touch_ends_the_thank_you_screen_but_not_a_double_tap_nor_a_qr_code() -> None:
    assert touch_ends_thank_you(True, False, THANK_YOU_TOUCH_GRACE_S + 0.1)
    assert not touch_ends_thank_you(True, False, THANK_YOU_TOUCH_GRACE_S / 2), "a double tap"
    assert not touch_ends_thank_you(True, True, 10.0), "the QR code stays until Done"
    assert not touch_ends_thank_you(False, False, 10.0)


def test_a_language_chosen_and_left_on_the_attract_screen_expires() -> None:
    later = LANGUAGE_RESET_S + 1
    assert language_expired("attract", "de", "en", later)
    assert language_expired("closed", "de", "en", later), "chosen on the closed screen"
    assert not language_expired("paid", "de", "en", later), "ends with the thank-you screen"
    assert not language_expired("attract", "de", "en", LANGUAGE_RESET_S - 1)
    assert not language_expired("attract", "en", "en", later)
    assert not language_expired("shopping", "de", "en", later), "a sale keeps its language"


# --- Undo after Remove (kiosk.ui.undo_offer) ------------------------------------------------


def test_a_removal_offers_to_put_back_the_line_as_it_was() -> None:
    before = run(shopping(MILK, WINE), QuantityChanged(at=at(1), line_id=2, quantity=3))
    offer = removal(before, 2)
    assert offer is not None
    assert (offer.sale_id, offer.line) == (SALE, before.cart.line(2))
    assert not removed_now(offer, before)  # offered before the removal, shown after it
    after = run(before, LineRemoved(at=at(2), line_id=2))
    assert removed_now(offer, after) and offer_lasts(offer, after)
    assert offer_lasts(offer, run(after, QuantityChanged(at=at(3), line_id=1, quantity=2)))
    assert removal(before, 9) is None  # no such line
    assert removal(paying(MILK), 1) is None  # a locked cart removes nothing


def test_the_undo_offer_ends_with_a_scan_the_cart_closing_the_sale_or_the_line_back() -> None:
    before = shopping(MILK, WINE)
    offer = removal(before, 1)
    assert offer is not None
    after = run(before, LineRemoved(at=at(2), line_id=1))
    assert not offer_lasts(offer, run(after, scanned(WINE)))  # counted up by a scan
    assert not offer_lasts(offer, run(after, scanned(MILK)))  # a new line by a scan
    assert not offer_lasts(offer, run(after, PayPressed(at=at(3))))  # age check: not open
    assert not offer_lasts(offer, run(after, CancelSale(at=at(3))))
    back = run(after, LinePutBack(at=at(3), sale_id=SALE, line=offer.line))
    assert back.cart == before.cart and not offer_lasts(offer, back)
    idle = run(after, Tick(at=at(2 + TIMERS.idle_prompt_after_s)))
    assert idle.state is CheckoutState.IDLE_PROMPT and offer_lasts(offer, idle)
