"""The staff menu's "Today's sales" page: the list, one sale in detail, copies and refunds.

The list shows this kiosk's sales of the shop's day, newest first (number, time, total,
state, refunded, card). A tap opens the sale: its lines, the card payment, refunds and
receipts, "Print a copy" (a copy marked COPY) and, for managers, "Refund...": the money pad
starts at what is left to refund; "Refund all that is left" or "Refund this amount" asks the
facade, and the outcome is shown in words. Attendants read "Managers only" instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kivy.factory import Factory
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from kiosk.notices import Notice, ReceiptPrinted, ReceiptUnavailable
from kiosk.ui.i18n import N_
from kiosk.ui.staff.page import StaffPage

SALE_STATES = {
    "open": N_("Open"),
    "locked": N_("Paying"),
    "paid": N_("Paid"),
    "abandoned": N_("Abandoned"),
    "voided": N_("Voided"),
}
"""A sale's stored state, in words."""

PAYMENT_STATES = {
    "locked": N_("being started"),
    "intent_created": N_("waiting for the card"),
    "processing": N_("on the reader"),
    "authorised": N_("authorised, not captured"),
    "paid": N_("paid"),
    "abandoned": N_("not paid"),
}
"""A card payment attempt's state, in words."""

REFUND_STATES = {
    "requested": N_("requested"),
    "submitted": N_("with the bank"),
    "succeeded": N_("refunded"),
    "failed": N_("failed"),
}

RECEIPT_STATES = {
    "awaiting_choice": N_("waiting for the customer's choice"),
    "queued": N_("waiting to print"),
    "printing": N_("printing"),
    "printed": N_("printed"),
    "retrying": N_("not printed yet, trying again"),
    "unprinted": N_("not printed"),
    "reprinted": N_("printed as a copy"),
    "failed": N_("not printed"),
    "qr": N_("QR code instead"),
    "none": N_("not wanted"),
    "timed_out": N_("not chosen"),
}
"""A print job's state, in words."""

PRINT_OUTCOMES = {
    "printed": N_("The copy was printed."),
    "offline": N_("The printer is offline. Nothing was printed."),
    "paper_out": N_("The printer is out of paper. Nothing was printed."),
    "cover_open": N_("The printer's cover is open. Nothing was printed."),
    "error": N_("The printer reports an error. Nothing was printed."),
    "not_paid": N_("This sale was not paid: there is no receipt to copy."),
    "no_printer": N_("This kiosk has no receipt printer."),
    "not_allowed": N_("You may not do this."),
    "failed": N_("The copy could not be printed."),
}
"""What staff read after "Print a copy", by the facade's code."""

REFUND_OUTCOMES = {
    "refunded": N_("Refunded {amount}. The refund slip is printing."),
    "pending": N_("The refund of {amount} is with the bank. The slip prints once it is done."),
    "released": N_("The card was only authorised: the authorisation was cancelled instead."),
    "exceeds_captured": N_("That is more than is left to refund ({left})."),
    "nothing_left": N_("Nothing is left to refund on this sale."),
    "bad_amount": N_("Enter an amount above zero."),
    "sale_not_paid": N_("This sale was not paid by card."),
    "failed": N_("The refund did not go through. Nothing was refunded."),
    "outcome_unknown": N_(
        "The refund's outcome is not known yet. The kiosk checks it; look at the sale again "
        "in a few minutes."
    ),
    "not_allowed": N_("Managers only."),
    "card_payments_unavailable": N_("Card payments are not available: no refund can be made now."),
    "refund_in_progress": N_(
        "A refund of this sale is still waiting for the bank's answer. Look at the sale again "
        "once it has answered."
    ),
}
"""What staff read after a refund, by the facade's code."""


VIEWS = ("list", "detail", "refund")
"""The page's views: today's sales, one sale, the refund pad."""


def words_for(app: Any, table: Mapping[str, str], code: str, **values: object) -> str:
    """The translated sentence for ``code`` in ``table`` (filled with ``values``); a code
    without one reads "Not done: <code>", so staff can still quote it."""
    msgid = table.get(code)
    if msgid is None:
        return str(app.tr("Not done: {code}", code=code))
    return str(app.tr(msgid, **values))


class SaleRow(ButtonBehavior, BoxLayout):
    """One sale in the list (a RecycleView row); a tap opens it."""

    sale_id = StringProperty("")
    heading = StringProperty("")
    detail = StringProperty("")
    total = StringProperty("")
    odd = BooleanProperty(False)
    page = ObjectProperty(None, allownone=True)

    def on_release(self) -> None:
        """Open this sale on its page."""
        if self.page is not None:
            self.page.open_sale(self.sale_id)


class SalesPage(StaffPage):
    """``kv/staff_sales.kv``: three views, ``list``, ``detail`` and ``refund``."""

    page_name = "sales"
    title = N_("Today's sales")

    view = StringProperty("list")
    rows = ListProperty([])
    sale_id = StringProperty("")
    sale_heading = StringProperty("")
    left_text = StringProperty("")
    """What is left to refund of the open sale, in words."""
    refundable = BooleanProperty(False)
    may_refund = BooleanProperty(False)
    busy = BooleanProperty(False)
    """A copy or a refund was asked for and has not answered yet."""
    message = StringProperty("")
    message_is_error = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        self._refundable_minor = 0
        self._views: dict[str, Any] = {}
        super().__init__(**kwargs)  # applies the kv rules, then on_kv_post

    # ------------------------------------------------------------------------- views

    def on_kv_post(self, _base_widget: object) -> None:
        """Start on the list."""
        # kv ids are weak references: a view taken out of the page must live on.
        self._views = {name: self.ids[f"{name}_view"].__self__ for name in VIEWS}
        self._show_view("list")

    def _show_view(self, view: str) -> None:
        for name, widget in self._views.items():
            if name == view and widget.parent is None:
                self.add_widget(widget)
            elif name != view and widget.parent is not None:
                self.remove_widget(widget)
        self.view = view

    def refresh(self) -> None:
        """Read the list, or the open sale, again."""
        if self.view == "list" or not self.sale_id:
            self._list_sales()
        else:
            self._read_sale()

    def back_to_list(self) -> None:
        """"Back to the list"."""
        self.sale_id = ""
        self.message = ""
        self._show_view("list")
        self._list_sales()

    def open_sale(self, sale_id: str) -> None:
        """Show one sale in detail."""
        self.sale_id = sale_id
        self.message = ""
        self._show_view("detail")
        self._read_sale()

    # ------------------------------------------------------------------------- the list

    def _list_sales(self) -> None:
        app = self.app
        rows = []
        sales = app.kiosk.staff.todays_sales()  # kiosk.store.sales_report.SaleSummary
        for index, sale in enumerate(sales):
            facts = [app.tr(SALE_STATES.get(sale.state, sale.state))]
            if sale.refunded_minor:
                facts.append(app.tr("refunded {amount}", amount=app.tr.money(sale.refunded_minor)))
            if sale.card:
                facts.append(sale.card)
            rows.append({
                "sale_id": sale.sale_id,
                "heading": app.tr("Sale {number} at {time}", number=sale.number,
                                  time=app.local_time(sale.opened_at)),
                "detail": ", ".join(facts),
                "total": app.tr.money(sale.total_minor),
                "odd": bool(index % 2),
                "page": self,
            })
        self.rows = rows

    # ------------------------------------------------------------------------- one sale

    def _read_sale(self) -> None:
        app = self.app
        staff = app.kiosk.staff
        detail = staff.sale_detail(self.sale_id)  # kiosk.store.sales_report.SaleDetail
        box = self.ids.detail_lines
        box.clear_widgets()
        if detail is None:
            self.sale_heading = app.tr("This sale is no longer on record.")
            self.refundable = False
            return
        summary = detail.summary
        self.sale_heading = app.tr(
            "Sale {number} at {time}: {state}", number=summary.number,
            time=app.local_time(summary.opened_at),
            state=app.tr(SALE_STATES.get(summary.state, summary.state)),
        )
        for line in detail.lines:
            if line.weight_g is not None:
                what = app.tr("{name}, {weight} kg", name=line.name,
                              weight=app.tr.weight_kg(line.weight_g))
            elif line.quantity != 1:
                what = app.tr("{quantity} x {name}", quantity=line.quantity, name=line.name)
            else:
                what = line.name
            self._detail_row(what, app.tr.money(line.amount_minor))
        self._detail_row(app.tr("Total"), app.tr.money(summary.total_minor), bold=True)
        self._detail_payment(detail)
        self._refundable_minor = staff.refundable_minor(self.sale_id)
        self.refundable = self._refundable_minor > 0
        self.may_refund = bool(staff.may("refund"))
        self.left_text = app.tr("Left to refund: {amount}",
                                amount=app.tr.money(self._refundable_minor))

    def _detail_payment(self, detail: Any) -> None:
        app = self.app
        if detail.payment_state is not None:
            state = app.tr(PAYMENT_STATES.get(detail.payment_state, detail.payment_state))
            card = f" ({detail.summary.card})" if detail.summary.card else ""
            self._detail_row(app.tr("Card payment{card}: {state}", card=card, state=state),
                             app.tr.money(detail.captured_minor))
        for refund in detail.refunds:
            self._detail_row(
                app.tr("Refund at {time}: {state}", time=app.local_time(refund.created_at),
                       state=app.tr(REFUND_STATES.get(refund.state, refund.state))),
                app.tr.money(-refund.amount_minor),
            )
        for job in detail.receipts:
            kind = app.tr("Refund slip") if job.kind == "refund_slip" else (
                app.tr("Copy") if job.copy else app.tr("Receipt"))
            state = app.tr(RECEIPT_STATES.get(job.state, job.state))
            if job.last_error and job.state != "printed":
                state = app.tr("{state} ({error})", state=state, error=job.last_error)
            self._detail_row(app.tr("{kind}: {state}", kind=kind, state=state), "")

    def _detail_row(self, what: str, amount: str, *, bold: bool = False) -> None:
        row = Factory.SaleDetailRow()
        row.what, row.amount, row.bold = what, amount, bold
        self.ids.detail_lines.add_widget(row)

    # ------------------------------------------------------------------------ actions

    def print_copy(self) -> None:
        """"Print a copy" of the open sale's receipt (marked COPY)."""
        if self.busy:  # a double tap prints one copy
            return
        sale_id = self.sale_id
        self.busy = True
        self._say(self.app.tr("Printing a copy..."), error=False)

        def answered(code: str) -> None:
            self.busy = False
            self._say(words_for(self.app, PRINT_OUTCOMES, code), error=code != "printed")
            if self.sale_id == sale_id and self.view != "list":
                self._read_sale()

        self.app.kiosk.staff.reprint(sale_id, answered)

    def start_refund(self) -> None:
        """"Refund...": the money pad, preset to what is left to refund."""
        self.message = ""
        self._read_sale()
        self.ids.refund_pad.preset(self._refundable_minor)
        self._show_view("refund")

    def cancel_refund(self) -> None:
        """Back from the refund to the sale."""
        self.message = ""
        self._show_view("detail")
        self._read_sale()

    def refund_all(self) -> None:
        """"Refund all that is left"."""
        self._refund(None)

    def refund_amount(self) -> None:
        """"Refund this amount": what the money pad shows."""
        self._refund(int(self.ids.refund_pad.amount_minor))

    def _refund(self, amount_minor: int | None) -> None:
        if self.busy:  # a second tap before the first refund answered: never a second refund
            return
        sale_id = self.sale_id
        left = self._refundable_minor
        asked = left if amount_minor is None else amount_minor
        self.busy = True
        self._say(self.app.tr("Asking the bank..."), error=False)

        def answered(code: str) -> None:
            self.busy = False
            app = self.app
            self._say(
                words_for(app, REFUND_OUTCOMES, code, amount=app.tr.money(asked),
                          left=app.tr.money(left)),
                error=code not in ("refunded", "pending", "released"),
            )
            if self.sale_id != sale_id:
                return
            if code in ("refunded", "pending", "released", "outcome_unknown"):
                self._show_view("detail")
            self._read_sale()
            if self.view == "refund":
                self.ids.refund_pad.preset(self._refundable_minor)

        self.app.kiosk.staff.refund(sale_id, amount_minor, answered)

    def on_notice(self, notice: Notice) -> None:
        """A receipt printed or failed: the list or the sale may show it."""
        if isinstance(notice, ReceiptPrinted | ReceiptUnavailable) and not self.busy:
            self.refresh()

    def _say(self, text: str, *, error: bool) -> None:
        self.message = text
        self.message_is_error = error
