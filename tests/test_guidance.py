"""What audio guidance says, without a window: each screen's heading and instructions, each
scan with its price and the total, the card steps and their outcome, the choices of the
screens where buttons decide, in English and German."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kiosk.ui.customer_view import (
    AttendantView,
    CartLine,
    CustomerView,
    Situation,
    attendant_view,
    customer_view,
    payment_view,
)
from kiosk.ui.guidance import Place, screen_sentences, what_to_say
from kiosk.ui.i18n import Translator

EN = Translator("en", "en_IE", "EUR")
DE = Translator("de", "en_IE", "EUR")
SHOP = Place("Demo Corner Shop")
WATER = CartLine(1, "Mineral water 1.5 l", "", 1, "€0.89", False, False)
LAGER = CartLine(2, "Lager beer 0.5 l", "", 1, "€1.49", False, True)


def screen(name: str, tr: Translator = EN, **fields: object) -> CustomerView:
    """The view-model with ``name`` on show and ``fields`` replaced."""
    return replace(customer_view(None, Situation(), tr), screen=name, **fields)  # type: ignore[arg-type]


def cart(*lines: CartLine, total: str, tr: Translator = EN) -> CustomerView:
    """The cart screen holding ``lines``."""
    return screen("shopping", tr, lines=lines, item_count=len(lines), total_text=total)


def paying(mode: str, tr: Translator = EN, **situation: object) -> CustomerView:
    """The card screen in ``mode``."""
    shown = payment_view(None, Situation(payment_mode=mode, **situation), tr)  # type: ignore[arg-type]
    return screen("payment", tr, payment=shown, total_text="€2.38")


def test_the_attract_screen_welcomes_and_says_how_to_start() -> None:
    assert what_to_say(None, screen("attract"), EN, SHOP) == (
        "Welcome to Demo Corner Shop",
        "Scan an item to start.",
        "Hold each barcode under the scanner. Pay by card at the end.",
    )


def test_the_first_scan_names_the_item_with_its_price_then_the_total() -> None:
    assert what_to_say(screen("attract"), cart(WATER, total="€0.89"), EN, SHOP) == (
        "Your cart", "Mineral water 1.5 l, €0.89.", "Total €0.89.",
    )


def test_each_later_scan_says_only_what_changed_and_the_new_total() -> None:
    one = cart(WATER, total="€0.89")
    two = cart(WATER, LAGER, total="€2.38")
    assert what_to_say(one, two, EN, SHOP) == ("Lager beer 0.5 l, €1.49.", "Total €2.38.")
    more = cart(replace(WATER, quantity=2, amount="€1.78"), LAGER, total="€3.27")
    assert what_to_say(two, more, EN, SHOP) == (
        "Mineral water 1.5 l, 2 in your cart, €1.78.", "Total €3.27.",
    )
    assert what_to_say(two, two, EN, SHOP) == (), "nothing new, nothing said"


def test_a_removed_line_is_named_and_an_empty_cart_says_so() -> None:
    two = cart(WATER, LAGER, total="€2.38")
    assert what_to_say(two, cart(WATER, total="€0.89"), EN, SHOP) == (
        "Removed: Lager beer 0.5 l", "Total €0.89.",
    )
    assert what_to_say(cart(WATER, total="€0.89"), cart(total="€0.00"), EN, SHOP) == (
        "Removed: Mineral water 1.5 l", "Your cart is empty. Scan an item to add it.",
    )


def test_back_on_the_cart_it_is_summed_up_and_the_next_step_named() -> None:
    two = cart(WATER, LAGER, total="€2.38")
    declined = replace(paying("declined"), lines=two.lines)  # the same sale's lines
    assert screen_sentences(two, EN, SHOP, before=declined) == (
        "Your cart", "2 items in your cart.", "Total €2.38.", "Scan your next item, or press Pay.",
    )


def test_the_card_screen_says_where_the_reader_is_the_pin_and_the_beeps() -> None:
    said = what_to_say(cart(WATER, LAGER, total="€2.38"), paying("waiting", reader_position="left"),
                       EN, SHOP)
    assert said == (
        "Amount to pay: €2.38.",
        "Tap or insert your card on the reader to your left.",
        "Follow the instructions on the reader.",
        "If the reader asks for your PIN, enter it on the reader's keypad, not on this screen.",
        "The reader beeps once when it has read your card. Several beeps mean the card could "
        "not be read: try again.",
    )


def test_each_step_of_the_payment_and_a_decline_with_its_choices_is_spoken() -> None:
    waiting = paying("waiting")
    authorising = paying("authorising")
    assert what_to_say(waiting, authorising, EN, SHOP) == (
        "Approving your payment. Please keep your card at the reader.",
    )
    declined = paying("declined", payment_code="insufficient_funds", explaining_decline=True)
    assert what_to_say(authorising, declined, EN, SHOP) == (
        "Payment not completed",
        "The card was declined: not enough funds. Try another card.",
        "Your choices:", "Try another card", "Back to the cart",
    )
    offline = paying("declined", payment_code="reader_offline", explaining_decline=True)
    assert what_to_say(authorising, offline, EN, SHOP)[-2:] == ("Your choices:", "Back to the cart")


@pytest.mark.parametrize(("qr", "choices"), [
    (False, ("Print receipt", "No receipt")),
    (True, ("Print receipt", "QR code receipt", "No receipt")),
])
def test_approval_and_the_receipt_choice_name_every_option(
    qr: bool, choices: tuple[str, ...]
) -> None:
    paid = screen("paid", total_text="€2.38")
    assert what_to_say(paying("authorising"), paid, EN, Place("Shop", qr_receipts=qr)) == (
        "Payment approved", "You paid €2.38.", "How would you like your receipt?",
        "Your choices:", *choices,
    )


def test_an_age_check_says_staff_will_check_and_the_way_back() -> None:
    subject = "Lager beer 0.5 l"
    call = screen("needs_attendant", attendant=attendant_view("age_check", EN, subject))
    assert what_to_say(cart(LAGER, total="€1.49"), call, EN, SHOP) == (
        "An age check is needed", subject,
        "Your cart has an age-restricted item. A member of staff will check your ID, "
        "then you can pay.",
        "Staff is on the way.", "Your choices:", "Back to the cart",
    )


def test_a_payment_check_offers_no_way_back() -> None:
    check = attendant_view("payment_check", EN)
    assert isinstance(check, AttendantView) and not check.withdraw_shown
    said = screen_sentences(screen("needs_attendant", attendant=check), EN, SHOP)
    assert said[-1] == "Staff is on the way."


def test_thank_you_and_a_receipt_that_prints_later_are_spoken() -> None:
    thanks = customer_view(None, Situation(thanking=True, receipt_status="printing"), EN)
    assert what_to_say(screen("paid"), thanks, EN, SHOP) == (
        "Thank you for shopping with us!", "Your receipt is printing. Please take it.",
    )
    printed = customer_view(None, Situation(thanking=True, receipt_status="printed"), EN)
    assert what_to_say(thanks, printed, EN, SHOP) == ("Please take your receipt.",)


def test_the_inactivity_prompt_asks_and_names_its_answers() -> None:
    one = cart(WATER, total="€0.89")
    assert what_to_say(one, replace(one, idle_prompt=True), EN, SHOP) == (
        "Are you still there?", "Your choices:", "Yes, continue", "Start over",
    )


def test_staff_screens_are_never_spoken() -> None:
    assert what_to_say(cart(WATER, total="€0.89"), screen("staff_menu"), EN, SHOP) == ()


def test_guidance_speaks_german_from_the_catalog() -> None:
    price = DE.money(89)
    assert price == "0,89\xa0€"
    water = replace(WATER, amount=price)
    assert what_to_say(screen("attract", DE), cart(water, total=price, tr=DE), DE, SHOP) == (
        "Ihr Warenkorb", f"Mineral water 1.5 l, {price}.", f"Gesamt {price}.",
    )
    declined = paying("declined", DE, payment_code="card_declined", explaining_decline=True)
    said = what_to_say(paying("authorising", DE), declined, DE, SHOP)
    assert said[0] != "Payment not completed" and "Ihre Möglichkeiten:" in said
