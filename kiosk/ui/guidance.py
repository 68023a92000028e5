"""What audio guidance says: pure functions of the customer view-model, in the customer's
language.

``what_to_say(before, now, tr, place)`` compares the ``CustomerView`` guidance last spoke
with the one now on screen and gives the sentences to speak, in order:

- a screen that comes (or the whole screen again after a language switch, or when guidance
  is turned on): its heading and instructions (``screen_sentences``), with its choices named
  where buttons decide what happens next (a decline, the receipt choice, an attendant call),
  so every step works without sight;
- on the cart: each item scanned, with its price, then the total; a line removed;
- on the card screen: each new step of the payment (where the reader is, tap or insert,
  the PIN on the reader, what its beeps mean; approving; declined and why);
- the inactivity prompt when it comes up.

The app's short messages (a refused scan, "Staff will check your age before you pay") are
spoken as they show, after the screen's own sentences (``kiosk.ui.guidance_on_screen``).
Every sentence is a catalog msgid translated through the ``Translator``, so German
guidance is in the German catalog. Nothing here imports kivy; the sentences are tested
without a window (``tests/test_guidance.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.ui.customer_view import CartLine, CustomerView, PaymentView
from kiosk.ui.i18n import N_, Translator

GUIDANCE_ON = N_("Audio guidance is on. Touch the screen or press a key to stop a sentence.")
"""Said when the customer turns guidance on, before the screen's sentences."""
HEADPHONES_OFFERED = N_(
    "Headphones are plugged in. Audio guidance is available: turn it on in the "
    "accessibility panel on the screen."
)
"""Said (and shown) when headphones are plugged in while guidance is off."""

READER_STEPS = (
    N_("If the reader asks for your PIN, enter it on the reader's keypad, not on this screen."),
    N_("The reader beeps once when it has read your card. Several beeps mean the card could "
       "not be read: try again."),
)
"""What the card screen says after where the reader is: the PIN and the reader's beeps."""

CHOICES = N_("Your choices:")
"""Said before the names of the buttons that decide what happens next."""


@dataclass(frozen=True)
class Place:
    """What guidance needs beyond the view: the shop's ``name`` (the welcome) and whether
    receipts are also offered as a QR code (``qr_receipts``: the paid screen's buttons)."""

    shop: str
    qr_receipts: bool = False


def what_to_say(
    before: CustomerView | None, now: CustomerView, tr: Translator, place: Place
) -> tuple[str, ...]:
    """The sentences for going from ``before`` (``None``: nothing said yet, or say the whole
    screen again) to ``now``; none for staff screens and for what did not change."""
    if now.screen in ("staff_login", "staff_menu"):
        return ()
    if before is None or before.screen != now.screen:
        said = screen_sentences(now, tr, place, before)
    elif now.screen == "shopping":
        said = cart_sentences(before, now, tr)
    elif now.screen == "payment" and before.payment.mode != now.payment.mode:
        said = payment_sentences(now.payment, now.total_text, tr, heading=False)
    elif now.screen == "needs_attendant" and before.attendant != now.attendant:
        said = screen_sentences(now, tr, place, before)
    elif now.screen == "thank_you" and before.thank_you.body != now.thank_you.body:
        said = _texts(now.thank_you.body)
    else:
        said = ()
    if now.idle_prompt and (before is None or not before.idle_prompt):
        said += idle_prompt_sentences(tr)
    return said


def screen_sentences(
    view: CustomerView, tr: Translator, place: Place, before: CustomerView | None = None
) -> tuple[str, ...]:
    """The heading and instructions of ``view``'s screen (on the cart, the scan that brought
    the customer there, if any)."""
    screen = view.screen
    if screen == "attract":
        return (
            tr("Welcome to {shop}", shop=place.shop), tr("Scan an item to start."),
            tr("Hold each barcode under the scanner. Pay by card at the end."),
        )
    if screen == "shopping":
        return (tr("Your cart"), *cart_sentences(before, view, tr, summary=True))
    if screen == "payment":
        return payment_sentences(view.payment, view.total_text, tr, heading=True)
    if screen == "paid":
        choices = [tr("Print receipt")]
        if place.qr_receipts:
            choices.append(tr("QR code receipt"))
        choices.append(tr("No receipt"))
        return (
            tr("Payment approved"), tr("You paid {total}.", total=view.total_text),
            tr("How would you like your receipt?"), tr(CHOICES), *choices,
        )
    if screen == "needs_attendant":
        attendant = view.attendant
        way_back = [tr(CHOICES), attendant.withdraw_text] if attendant.withdraw_shown else []
        return (*_texts(attendant.title, attendant.subject, attendant.body),
                tr("Staff is on the way."), *way_back)
    board = {"thank_you": view.thank_you, "checking": view.checking, "closed": view.closed}
    if screen in board:
        return _texts(board[screen].title, board[screen].body)
    return ()


def cart_sentences(
    before: CustomerView | None, now: CustomerView, tr: Translator, *, summary: bool = False
) -> tuple[str, ...]:
    """Each line scanned, counted up or removed since ``before``, then the total; with
    ``summary`` and no such change, what the cart holds (or that it is empty)."""
    old = {line.line_id: line for line in before.lines} if before is not None else {}
    said = [item_sentence(line, old.get(line.line_id), tr) for line in now.lines]
    changed = [sentence for sentence in said if sentence]
    kept = {line.line_id for line in now.lines}
    changed += [tr("Removed: {name}", name=line.name)
                for line_id, line in old.items() if line_id not in kept]
    if not now.lines:
        return (*changed, tr("Your cart is empty. Scan an item to add it.")) \
            if changed or summary else ()
    if changed:
        return (*changed, tr("Total {total}.", total=now.total_text))
    if summary:
        return (
            tr.ntr("{n} item in your cart.", "{n} items in your cart.", now.item_count),
            tr("Total {total}.", total=now.total_text),
            tr("Scan your next item, or press Pay."),
        )
    return ()


def item_sentence(line: CartLine, before: CartLine | None, tr: Translator) -> str:
    """What a line scanned (``before`` is None) or counted up says: its name and price;
    ``""`` for a line that did not grow."""
    if before is None:
        return tr("{name}, {amount}.", name=line.name, amount=line.amount)
    if line.quantity > before.quantity:
        return tr("{name}, {quantity} in your cart, {amount}.",
                  name=line.name, quantity=tr.number(line.quantity), amount=line.amount)
    return ""


def payment_sentences(
    payment: PaymentView, total: str, tr: Translator, *, heading: bool
) -> tuple[str, ...]:
    """The card screen in ``payment``'s mode (with the amount, as ``heading``): waiting names
    where the reader is and what to do there; a decline says why and the choices."""
    said = [tr("Amount to pay: {total}.", total=total)] if heading else []
    said += _texts(payment.status, payment.detail)
    if payment.mode == "waiting":
        said += [tr(step) for step in READER_STEPS]
    elif payment.mode == "declined":
        said.append(tr(CHOICES))
        if payment.retry_shown:
            said.append(tr("Try another card"))
        said.append(tr("Back to the cart"))
    return tuple(said)


def idle_prompt_sentences(tr: Translator) -> tuple[str, ...]:
    """The inactivity prompt: the question and its two answers."""
    return (tr("Are you still there?"), tr(CHOICES), tr("Yes, continue"), tr("Start over"))


def _texts(*texts: str) -> tuple[str, ...]:
    return tuple(text for text in texts if text)
