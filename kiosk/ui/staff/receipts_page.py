"""The staff menu's "Receipts and payments" page: what still needs staff after a sale.

Receipts a customer asked for that never printed (sale number, time, the printer's last
error), each with "Print a copy"; card payments the kiosk could not settle, with what it
knows (sale, state, amount, note) and "Check with Stripe again" (a reconcile now); and the
card-payment alerts that stay until dealt with: an authorisation cancelled at Stripe (its
sale ended; "Seen" acknowledges it) and an orphan sweep that could not finish.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.factory import Factory
from kivy.properties import BooleanProperty, StringProperty

from kiosk.notices import Notice, PaymentRecovery, ReceiptPrinted, ReceiptUnavailable
from kiosk.ui.i18n import N_
from kiosk.ui.staff.page import StaffPage
from kiosk.ui.staff.sales_page import PAYMENT_STATES, PRINT_OUTCOMES, words_for

if TYPE_CHECKING:
    from kiosk.payments.awaiting import AwaitingPayment
    from kiosk.receipts.jobs import UnprintedReceipt

CHECK_OUTCOMES = {
    "settled": N_("Every payment is settled."),
    "still_unresolved": N_("Some payments are still not settled. Try again later."),
    "stripe_unreachable": N_("Stripe could not be reached. Try again later."),
    "card_payments_unavailable": N_("Card payments are not set up at this kiosk."),
    "not_allowed": N_("You may not do this."),
}
"""What staff read after "Check with Stripe again", by the facade's code."""

ACKNOWLEDGE_OUTCOMES = {
    "acknowledged": N_("Noted."),
    "nothing_to_acknowledge": N_("This was already noted."),
    "failed": N_("This could not be saved. Try again."),
    "not_allowed": N_("You may not do this."),
}
"""What staff read after "Seen" on a lost authorisation."""


class ReceiptsPage(StaffPage):
    """``kv/staff_receipts.kv``: unprinted receipts and payments awaiting recovery."""

    page_name = "receipts"
    title = N_("Receipts and payments")

    receipts_text = StringProperty("")
    payments_text = StringProperty("")
    message = StringProperty("")
    message_is_error = BooleanProperty(False)
    checking = BooleanProperty(False)
    """"Check with Stripe again" was pressed and has not answered yet."""

    def refresh(self) -> None:
        """Read both lists again."""
        app = self.app
        staff = app.kiosk.staff
        receipts: list[UnprintedReceipt] = staff.unprinted()
        payments: list[AwaitingPayment] = staff.awaiting_recovery()
        self.receipts_text = app.tr("Every receipt a customer asked for was printed.") if (
            not receipts) else app.tr.ntr(
                "{n} receipt was not printed:", "{n} receipts were not printed:", len(receipts))
        self.payments_text = app.tr("No card payment is waiting to be settled.") if (
            not payments) else app.tr.ntr(
                "{n} card payment is not settled:", "{n} card payments are not settled:",
                len(payments))
        box = self.ids.unprinted_list
        box.clear_widgets()
        for receipt in receipts:
            row = Factory.UnprintedRow()
            row.heading = app.tr("Sale {number}, paid at {time}", number=receipt.sale_number,
                                 time=app.local_time(receipt.paid_at))
            row.detail = app.tr("Last problem: {error}", error=receipt.last_error) if (
                receipt.last_error) else ""
            row.ids.copy_button.bind(
                on_release=lambda _button, sale_id=receipt.sale_id: self.print_copy(sale_id))
            box.add_widget(row)
        box = self.ids.awaiting_list
        box.clear_widgets()
        self._show_alerts(box)
        for payment in payments:
            sale = app.tr("Sale {number}", number=payment.sale_number) if (
                payment.sale_number is not None) else payment.sale_id
            state = app.tr(PAYMENT_STATES.get(payment.attempt_state, payment.attempt_state))
            row = Factory.AwaitingRow()
            row.heading = app.tr("{sale}: {amount}, {state}", sale=sale,
                                 amount=app.tr.money(payment.amount_minor), state=state)
            when = app.local_time(payment.updated_at)
            row.detail = app.tr("{time}. {note}", time=when, note=payment.note) if (
                payment.note) else when
            box.add_widget(row)

    def _show_alerts(self, box: Any) -> None:
        """The card-payment alerts first: they stay until dealt with."""
        app = self.app
        alerts = app.kiosk.staff.payment_alerts()
        for lost in alerts.lost:
            sale = app.tr("Sale {number}", number=lost.sale_number) if (
                lost.sale_number is not None) else lost.sale_id
            row = Factory.LostAuthorisationRow()
            row.heading = app.tr("{sale}: {amount}, authorisation cancelled at Stripe",
                                 sale=sale, amount=app.tr.money(lost.amount_minor))
            row.detail = app.tr(
                "{time}. The sale ended unpaid; nothing was charged. Check with the customer.",
                time=app.local_time(lost.lost_at))
            row.ids.acknowledge_button.bind(
                on_release=lambda _button, sale_id=lost.sale_id: self.acknowledge(sale_id))
            box.add_widget(row)
        if alerts.sweep_unfinished is not None:
            row = Factory.AwaitingRow()
            row.heading = app.tr("The search for unrecorded card payments did not finish")
            row.detail = app.tr("Older payments were not checked. Use \"Check with Stripe "
                                "again\" or kiosk reconcile.")
            box.add_widget(row)

    def acknowledge(self, sale_id: str) -> None:
        """"Seen" on a lost authorisation: it stops being shown (an audit row)."""
        def answered(code: str) -> None:
            self._say(words_for(self.app, ACKNOWLEDGE_OUTCOMES, code),
                      error=code != "acknowledged")
            self.refresh()

        self.app.kiosk.staff.acknowledge_lost_authorisation(sale_id, answered)

    def print_copy(self, sale_id: str) -> None:
        """"Print a copy" of one unprinted receipt."""
        self._say(self.app.tr("Printing a copy..."), error=False)

        def answered(code: str) -> None:
            self._say(words_for(self.app, PRINT_OUTCOMES, code), error=code != "printed")
            self.refresh()

        self.app.kiosk.staff.reprint(sale_id, answered)

    def check_again(self) -> None:
        """"Check with Stripe again": reconcile the payments in doubt now."""
        self.checking = True
        self._say(self.app.tr("Checking with Stripe..."), error=False)

        def answered(code: str) -> None:
            self.checking = False
            self._say(words_for(self.app, CHECK_OUTCOMES, code), error=code != "settled")
            self.refresh()

        self.app.kiosk.staff.check_payments_again(answered)

    def on_notice(self, notice: Notice) -> None:
        """A receipt printed or failed, or start-up recovery moved on: read the lists again."""
        if isinstance(notice, ReceiptPrinted | ReceiptUnavailable | PaymentRecovery):
            self.refresh()

    def _say(self, text: str, *, error: bool) -> None:
        self.message = text
        self.message_is_error = error

