"""A terminal front end on the facade: the kiosk without a touchscreen.

Used by ``kiosk run`` and ``kiosk demo`` until the Kivy UI is there, and by technicians on a
headless machine. It reads one command per line (a barcode, or a word such as ``pay``),
prints the cart whenever it changes, and turns the facade's codes into English sentences.
"""

from __future__ import annotations

import getpass
import os
import select
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from kiosk.app import Kiosk
from kiosk.core.checkout_states import CheckoutState, PaymentPhase, ReceiptChoice
from kiosk.core.money import format_money
from kiosk.main_queue import MainQueue
from kiosk.notices import (
    AttendantCalled,
    CartRefused,
    IdlePromptShown,
    Notice,
    PaymentRecovery,
    PaymentsAvailability,
    ReceiptPrinted,
    ReceiptUnavailable,
    SaleEnded,
    ScannerStateChanged,
    ScanRejected,
    SessionChanged,
    StaffChecked,
    StoreTrouble,
)
from kiosk.receipts.ereceipt import ereceipt_url
from kiosk.refusals import KioskRefusal

HELP = """Commands:
  <barcode>          scan it (for example 4006381333931)
  list               show test barcodes
  qty LINE N         set the quantity of cart line LINE to N
  rm LINE            remove cart line LINE
  pay | back         go to payment | back to the cart
  help               call staff
  staff NUMBER       staff answer the call (the PIN is asked without echo)
  cancel             cancel the whole sale
  receipt print|qr|none, done   after payment
  quit               leave (the open cart is kept for the next start)"""

WORDS: dict[str, str] = {
    "unknown_item": "This item is not in our catalog. Staff is on the way.",
    "age_check": "Some items need an age check. Staff is on the way.",
    "limit_reached": "That is more than this kiosk allows. Staff is on the way.",
    "weighed_item": "This item must be weighed. Staff is on the way.",
    "help": "Staff is on the way.",
    "payment_check": "We are checking your payment with the bank. Staff is on the way.",
    "line_not_found": "There is no such line in the cart.",
    "bad_quantity": "The quantity must be 1 or more.",
    "quantity_fixed": "The quantity of a weighed item cannot change.",
    "cart_locked": "The cart cannot change right now.",
    "limit_quantity_per_line": "That is more of one item than this kiosk allows.",
    "limit_lines": "The cart is full.",
    "limit_cart_total": "That would take the cart over this kiosk's limit.",
    "payment_in_progress": "A payment is in progress; please wait.",
    "nothing_to_pay": "There is nothing to pay.",
    "below_card_minimum": (
        "This amount is too small for a card payment. Please add an item or ask staff."
    ),
    KioskRefusal.PAYMENTS_UNAVAILABLE: "Card payments are not available at this kiosk right now.",
    "card_declined": "The card was declined. Try another card, or ask staff.",
    "cancelled_on_reader": "The payment was cancelled on the reader.",
    "reader_busy": "The card reader is busy. Please try again in a moment.",
    "reader_offline": "The card reader is offline. Staff has been told.",
    "outcome_unknown": "We are checking what happened to the payment. Please wait for staff.",
    "stripe_unreachable": "Card payments are not available right now. Please call staff.",
    "payment_timed_out": "The payment took too long and was stopped. Please call staff.",
    "authorisation_too_slow": "The card is taking long to authorise. Please call staff.",
    "cancelled": "The payment was cancelled.",
    "wrong_pin": "Wrong PIN.",
    "locked": "Too many wrong PINs: locked for a while.",
    "unknown_staff": "Unknown staff number.",
    "no_pin": "This staff member has no PIN yet.",
    "inactive": "This staff member is not active.",
    "pins_reset_needed": (
        "Staff PINs must be set again (this kiosk's data came from another machine). "
        "Ask the technician: kiosk staff set-pin."
    ),
    "pin_key_missing": "The kiosk's PIN key is missing. Call the technician.",
    "not_allowed": "This staff member may not approve this.",
    KioskRefusal.KIOSK_STARTING: "The checkout is starting. Please wait a moment.",
    KioskRefusal.KIOSK_OUT_OF_ORDER: "This checkout is out of order. Please use another checkout.",
    KioskRefusal.KIOSK_CLOSED: "This checkout is closed. Please use another checkout.",
    "bad_price": "The price must be more than zero.",
    "unknown_tax_class": "This shop has no such tax class.",
    "no_call": "There is no attendant call to answer.",
    "insufficient_funds": "The card was declined: not enough funds. Try another card.",
    "expired_card": "The card has expired. Try another card.",
    "incorrect_pin": "The PIN was wrong. Try again, or use another card.",
    "pin_try_exceeded": "Too many wrong PINs for this card. Try another card.",
}


def _is_number(text: str) -> bool:
    """True for a plain decimal number such as ``12`` (not ``²`` or ``-1``)."""
    return text.isascii() and text.isdecimal() and len(text) <= 9


def words(code: str) -> str:
    """The English sentence for a facade code (the code itself if there is none)."""
    return WORDS.get(code, code.replace("_", " "))


class ConsoleFrontEnd:
    """Drives a started ``Kiosk`` from text lines and prints what a customer would see."""

    def __init__(
        self,
        kiosk: Kiosk,
        main_queue: MainQueue,
        *,
        out: TextIO,
        test_barcodes: Sequence[tuple[str, str]] = (),
        read_pin: Callable[[str], str] = getpass.getpass,
        scan_input: Callable[[bytes], None] | None = None,
    ) -> None:
        """``scan_input`` takes typed barcodes; by default straight to ``Kiosk.scan``, in the
        demo into the virtual scanner, so they travel the same way as a real scanner's."""
        self.kiosk = kiosk
        self.scan_input = scan_input or kiosk.scan
        self.main_queue = main_queue
        self.out = out
        self.test_barcodes = test_barcodes
        self.read_pin = read_pin
        self._shown: object = None
        kiosk.listen(self.show)

    def say(self, text: str) -> None:
        """Print one line for the customer."""
        print(text, file=self.out, flush=True)

    def show(self, notice: Notice) -> None:
        """Print a notice from the facade in words."""
        if isinstance(notice, SessionChanged):
            self._show_session(notice)
        elif isinstance(notice, ScanRejected):
            self.say(f"! That barcode could not be read ({notice.reason}). Please scan again.")
        elif isinstance(notice, AttendantCalled):
            self.say(f"! {words(notice.reason)}")
        elif isinstance(notice, IdlePromptShown):
            self.say("? Are you still there? Touch (press Enter) to continue.")
        elif isinstance(notice, CartRefused):
            self.say(f"! {words(notice.code)}")
        elif isinstance(notice, StaffChecked):
            self.say("Staff confirmed." if notice.outcome == "ok" else f"! {words(notice.outcome)}")
        elif isinstance(notice, SaleEnded):
            self.say("Thank you for shopping with us!")
        elif isinstance(notice, ScannerStateChanged):
            if notice.state == "connected":
                self.say("(scanner connected)")
            elif notice.state == "disconnected":
                self.say("! The scanner is not connected. Staff has been told; please wait.")
        elif isinstance(notice, PaymentsAvailability):
            if notice.available:
                self.say("(card payments available)")
            else:
                self.say(f"! Card payments are not available right now ({notice.reason}).")
        elif isinstance(notice, PaymentRecovery):
            if notice.state == "checking":
                self.say("Checking the last payment...")
            elif notice.state == "call_staff":
                self.say("! The last payment could not be checked: please call staff.")
        elif isinstance(notice, ReceiptPrinted):
            self.say("(your receipt is printed: please take it)")
        elif isinstance(notice, ReceiptUnavailable):
            if notice.ereceipt_url:
                self.say(f"! The receipt cannot be printed ({notice.status}). "
                         f"Your e-receipt: {notice.ereceipt_url}")
            else:
                self.say(f"! The receipt cannot be printed right now ({notice.status}).")
        elif isinstance(notice, StoreTrouble):
            self.say("! (staff) the kiosk could not save to its database; see the log.")

    def _show_session(self, notice: SessionChanged) -> None:
        checkout = notice.checkout
        key = (checkout.state, checkout.cart.lines, notice.sale_number, checkout.payment_code,
               checkout.payment_phase)
        if key == self._shown:
            return
        self._shown = key
        shop = self.kiosk.settings.shop
        if checkout.state is CheckoutState.ATTRACT:
            self.say(f"\n=== {shop.name}: scan an item to start (type 'list' for test barcodes)")
            return
        number = f" #{notice.sale_number}" if notice.sale_number else ""
        self.say(f"\n--- Sale{number} [{checkout.state}]")
        for line in checkout.cart.lines:
            amount = format_money(line.amount_minor, shop.currency, shop.locale)
            what = f"{line.weight_g} g" if line.weight_g is not None else f"{line.quantity} x"
            self.say(f"  {line.line_id:>3}  {what:>8}  {line.name:<36} {amount:>12}")
        if notice.totals is not None:
            total = format_money(notice.totals.total_minor, shop.currency, shop.locale)
            tax = format_money(notice.totals.tax_minor, shop.currency, shop.locale)
            self.say(f"  Total {total}  (tax {tax})")
        if checkout.payment_code and checkout.state is CheckoutState.SHOPPING:
            self.say(f"! {words(checkout.payment_code)}")
        if checkout.state is CheckoutState.PAYING:
            if checkout.payment_phase is PaymentPhase.AUTHORISING:
                self.say("  Card read. Authorising, please wait...")
            else:
                self.say("  Please tap, insert or swipe your card on the reader ('back': cancel).")
        elif checkout.state is CheckoutState.PAID:
            self.say("  Paid, thank you! Receipt: 'receipt print', 'receipt qr' or 'done'.")

    def handle(self, line: str) -> bool:
        """Carry out one command line; return False when the customer asked to quit."""
        words_in = line.strip().split()
        if not words_in:
            self.kiosk.touch()
            return True
        command, args = words_in[0].lower(), words_in[1:]
        if command in ("quit", "exit"):
            return False
        if command == "list":
            for label, code in self.test_barcodes:
                self.say(f"  {code}  {label}")
        elif command == "qty" and len(args) == 2 and all(_is_number(a) for a in args):
            self.kiosk.set_quantity(int(args[0]), int(args[1]))
        elif command == "rm" and len(args) == 1 and _is_number(args[0]):
            self.kiosk.remove_line(int(args[0]))
        elif command == "pay":
            self.kiosk.pay()
        elif command == "back":
            self.kiosk.back_to_cart()
        elif command == "help":
            self.kiosk.request_help()
        elif command == "staff" and len(args) == 1 and _is_number(args[0]):
            self.kiosk.attend(int(args[0]), self.read_pin("PIN: "))
        elif command == "cancel":
            self.kiosk.cancel_sale()
        elif command == "receipt" and len(args) == 1 and args[0] in ("print", "qr", "none"):
            sale_id = self.kiosk.checkout.sale_id
            if args[0] == "qr" and sale_id is not None:
                url = ereceipt_url(self.kiosk.settings, sale_id)
                self.say(f"Your e-receipt: {url}" if url else
                         "E-receipts are not available at this shop; choose print or none.")
                if url is None:
                    return True
            self.kiosk.choose_receipt(ReceiptChoice(args[0]))
        elif command == "done":
            self.kiosk.finish()
        elif command in ("?", "commands"):
            self.say(HELP)
        elif len(words_in) == 1:
            self.scan_input(words_in[0].encode("utf-8"))
        else:
            self.say("Unknown command; type ? for the list.")
        return True

    def run(self, stdin: TextIO, tick_s: float = 1.0) -> None:
        """Read commands until ``quit`` or end of input, ticking the facade every ``tick_s``.

        Reads the file descriptor directly (not Python's buffered readline), so every line
        that has arrived is handled at once even when several arrive together.
        """
        self.say(HELP)
        self.main_queue.run_pending()
        fd = stdin.fileno()
        pending = b""
        next_tick = time.monotonic() + tick_s
        running = True
        while running:
            timeout = max(next_tick - time.monotonic(), 0.0)
            ready, _, _ = select.select([fd], [], [], timeout)
            if ready:
                chunk = os.read(fd, 4096)
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                if not chunk:  # end of input: the last line may lack its newline
                    lines.append(pending)
                    running = False
                for raw in lines:
                    if not self.handle(raw.decode("utf-8", errors="replace")):
                        running = False
                        break
                    self.main_queue.run_pending()
            self.main_queue.run_pending(wait_s=0.05)
            if time.monotonic() >= next_tick:
                self.kiosk.tick()
                next_tick = time.monotonic() + tick_s
        self.main_queue.run_pending(wait_s=0.2)
