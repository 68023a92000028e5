"""The staff menu's "This sale" page: the customer's open call and their cart.

While an attendant call is open it says why (an unknown item with its code, an item to weigh,
a limit, an age check, help). An unknown or unweighed item is priced on the money pad in one
of the shop's tax classes ("Add to the cart") or left out; a limit is allowed this once or
the item left out. The cart's lines are listed with a "Remove" button each (not while a
payment is pending). Decisions go to the facade (``kiosk.staff``); its refusals come back as
``CartRefused`` notices and are shown here in words.
"""

from __future__ import annotations

from typing import Any

from kivy.factory import Factory
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.boxlayout import BoxLayout

from kiosk.core.checkout import Checkout
from kiosk.core.checkout_states import AttendantReason, CheckoutState
from kiosk.notices import CartRefused, Notice, SessionChanged, StaffActionDone
from kiosk.ui.i18n import N_
from kiosk.ui.staff.page import StaffPage

PRICED = (AttendantReason.UNKNOWN_ITEM, AttendantReason.WEIGHED_ITEM)
"""Calls answered with a price."""

REFUSALS = {
    "bad_price": N_("Enter a price above zero."),
    "unknown_tax_class": N_("Choose a tax class."),
    "limit_quantity_per_line": N_("That is more of one item than this kiosk allows."),
    "limit_lines": N_("The cart already has as many lines as this kiosk allows."),
    "limit_cart_total": N_("That would take the cart over this kiosk's total limit."),
    "no_call": N_("That call is no longer open."),
    "payment_in_progress": N_("A payment is in progress: the cart cannot change now."),
    "cart_locked": N_("The cart cannot change now."),
    "line_not_found": N_("That line is no longer in the cart."),
    "not_allowed": N_("You may not do this."),
}
"""What staff read when the facade refuses a decision, by code."""

CALL_TITLES = {
    AttendantReason.UNKNOWN_ITEM: N_("Unknown item"),
    AttendantReason.WEIGHED_ITEM: N_("An item to weigh"),
    AttendantReason.LIMIT_REACHED: N_("Over this kiosk's limit"),
    AttendantReason.AGE_CHECK: N_("Age check"),
    AttendantReason.HELP: N_("The customer asked for help"),
    AttendantReason.PAYMENT_CHECK: N_("The last payment is being checked"),
}
"""The call panel's title, by the reason the customer waits."""


class StaffCartRow(BoxLayout):
    """One line of the customer's cart on the sale page (a RecycleView row)."""

    line_id = NumericProperty(0)
    name = StringProperty("")
    detail = StringProperty("")
    amount = StringProperty("")
    removable = BooleanProperty(True)
    odd = BooleanProperty(False)
    page = ObjectProperty(None, allownone=True)
    """The ``SalePage`` the row belongs to (its "Remove" calls ``page.void``)."""


class SalePage(StaffPage):
    """``kv/staff_sale.kv``: the call panel (left, while a call is open) and the cart."""

    page_name = "sale"
    title = N_("This sale")

    call_open = BooleanProperty(False)
    needs_price = BooleanProperty(False)
    """An unknown or unweighed item waits for its price."""
    limit_call = BooleanProperty(False)
    call_title = StringProperty("")
    call_detail = StringProperty("")
    has_sale = BooleanProperty(False)
    rows = ListProperty([])
    summary_text = StringProperty("")
    """How many lines and the total ("3 lines, total €4.20")."""
    tax_class = StringProperty("")
    """The tax class chosen for the item being priced (a code of ``kiosk.staff.tax_classes``)."""
    message = StringProperty("")
    """The last refusal, in words (cleared by the next decision)."""

    def __init__(self, **kwargs: Any) -> None:
        self._call: tuple[object, ...] | None = None
        self._places: dict[str, tuple[Any, Any, int]] = {}
        super().__init__(**kwargs)  # applies the kv rules, then on_kv_post

    # ------------------------------------------------------------------------ reading

    def refresh(self) -> None:
        """Read the checkout: the open call, the cart, whether lines may be removed."""
        app = self.app
        checkout: Checkout = app.kiosk.checkout
        reason = checkout.attendant_reason
        self.has_sale = checkout.state is not CheckoutState.ATTRACT and checkout.sale_id is not None
        self.call_open = reason is not None and checkout.state is CheckoutState.NEEDS_ATTENDANT
        self.needs_price = self.call_open and reason in PRICED
        self.limit_call = self.call_open and reason is AttendantReason.LIMIT_REACHED
        call = (checkout.sale_id, reason, checkout.refused) if self.call_open else None
        if call != self._call:  # a new call: an empty pad, the item's own tax class
            self._call = call
            self.message = ""
            self.ids.money_pad.preset(0)
            self.tax_class = self._default_tax_class(checkout)
        self._describe_call(checkout)
        self._list_cart(checkout)
        self._place("call_panel", self.call_open)
        self._place("pad_column", self.needs_price)
        self._list_tax_classes()

    def _default_tax_class(self, checkout: Checkout) -> str:
        refused = checkout.refused
        classes = [code for code, _label in self.app.kiosk.staff.tax_classes]
        product = refused.product if refused is not None else None
        if product is not None and product.tax_class in classes:
            return product.tax_class
        return classes[0] if len(classes) == 1 else ""

    def _describe_call(self, checkout: Checkout) -> None:
        tr = self.app.tr
        reason = checkout.attendant_reason
        if not self.call_open or reason is None:
            self.call_title = self.call_detail = ""
            return
        self.call_title = tr(CALL_TITLES.get(reason, N_("The customer is waiting")))
        refused = checkout.refused
        product = refused.product if refused is not None else None
        if reason is AttendantReason.UNKNOWN_ITEM:
            code = refused.code if refused is not None else None
            self.call_detail = tr(
                "Code {code} is not in the catalog. Enter its price and tax class, or leave "
                "it out.", code=code or "?",
            ) if product is None else tr(
                "{name} ({code}) cannot be sold as it is. Enter its price and tax class, or "
                "leave it out.", name=product.name, code=product.code,
            )
        elif reason is AttendantReason.WEIGHED_ITEM:
            self.call_detail = tr(
                "{name} is sold by weight. Weigh it and enter the price, or leave it out.",
                name=product.name if product is not None else tr("The item"),
            )
        elif reason is AttendantReason.LIMIT_REACHED:
            self.call_detail = self._limit_detail(checkout)
        elif reason is AttendantReason.AGE_CHECK:
            self.call_detail = tr(
                "Check the customer's ID and approve on their screen with your PIN, or remove "
                "the age-restricted items."
            )
        elif reason is AttendantReason.HELP:
            self.call_detail = tr("Help the customer, then go back to the customer.")
        else:
            self.call_detail = tr(
                "See Receipts and payments: the payment must be settled before the next sale."
            )

    def _limit_detail(self, checkout: Checkout) -> str:
        tr = self.app.tr
        refused = checkout.refused
        why = tr.say(checkout.last_outcome.value) if checkout.last_outcome is not None else ""
        if refused is not None and refused.product is not None:
            what = refused.product.name
        elif refused is not None and refused.line_id is not None:
            names = [line.name for line in checkout.cart.lines if line.line_id == refused.line_id]
            what = tr("{name}, quantity {quantity}", name=names[0] if names else "?",
                      quantity=refused.quantity)
        else:
            what = tr("The item")
        return tr("{what}: {why} Allow it this once, or leave it out.", what=what, why=why)

    def _list_cart(self, checkout: Checkout) -> None:
        tr = self.app.tr
        money = tr.money
        removable = (
            not checkout.payment_pending
            and checkout.state not in (CheckoutState.PAYING, CheckoutState.PAID)
        )
        rows = []
        for index, line in enumerate(checkout.cart.lines):
            if line.weight_g is not None:
                detail = tr("{weight} kg at {price}/kg", weight=tr.weight_kg(line.weight_g),
                            price=money(line.unit_price_minor))
            elif line.quantity > 1:
                detail = tr("{quantity} x {price}", quantity=line.quantity,
                            price=money(line.unit_price_minor))
            else:
                detail = line.code
            rows.append({
                "line_id": line.line_id,
                "name": line.name,
                "detail": detail,
                "amount": money(line.amount_minor),
                "removable": removable,
                "odd": bool(index % 2),
                "page": self,
            })
        self.rows = rows
        totals = checkout.totals()
        self.summary_text = "" if not rows or totals is None else tr.ntr(
            "{n} line, total {total}", "{n} lines, total {total}", len(rows),
            total=money(totals.total_minor),
        )

    def on_kv_post(self, _base_widget: object) -> None:
        """Remember where the parts shown only sometimes sit in the layout."""
        for name in ("call_panel", "pad_column"):
            widget = self.ids[name].__self__  # kv ids are weak: a part taken out must live on
            self._places[name] = (widget, widget.parent, widget.parent.children.index(widget))

    def _place(self, name: str, shown: bool) -> None:
        """Put part ``name`` back in its place in the layout, or take it out."""
        widget, holder, index = self._places[name]
        if shown and widget.parent is None:
            holder.add_widget(widget, index=min(index, len(holder.children)))
        elif not shown and widget.parent is not None:
            holder.remove_widget(widget)

    def _list_tax_classes(self) -> None:
        box = self.ids.tax_classes
        box.clear_widgets()
        if not self.needs_price:
            return
        for code, label in self.app.kiosk.staff.tax_classes:
            button = Factory.TaxClassButton(text=label)
            button.role = "accent" if code == self.tax_class else "neutral"
            button.bind(on_release=lambda _button, code=code: self.choose_tax_class(code))
            box.add_widget(button)

    # ------------------------------------------------------------------------ deciding

    def choose_tax_class(self, code: str) -> None:
        """Staff chose the tax class of the item being priced."""
        self.tax_class = code
        self._list_tax_classes()

    def add_item(self) -> None:
        """"Add to the cart": the item at the price on the pad, in the chosen tax class."""
        self.message = ""
        self.app.kiosk.staff.price_item(int(self.ids.money_pad.amount_minor), self.tax_class)

    def allow(self) -> None:
        """"Allow it": the item that broke a limit goes into the cart this once."""
        self.message = ""
        self.app.kiosk.staff.override_limit()

    def leave_out(self) -> None:
        """"Leave it out": the call closes without the item."""
        self.message = ""
        self.app.kiosk.staff.leave_out()

    def void(self, line_id: int) -> None:
        """"Remove": take a line out of the customer's cart."""
        self.message = ""
        self.app.kiosk.staff.void_line(line_id)

    def on_notice(self, notice: Notice) -> None:
        """Refusals in words; a changed checkout is read again."""
        if isinstance(notice, CartRefused) or (
            isinstance(notice, StaffActionDone) and notice.code != "ok"
        ):
            self.message = self.refusal_text(notice.code)
        elif isinstance(notice, SessionChanged):
            self.refresh()

    def refusal_text(self, code: str) -> str:
        """Staff's sentence for a refusal code (the customer's sentence for others)."""
        msgid = REFUSALS.get(code)
        return self.app.tr(msgid) if msgid is not None else self.app.tr.say(code)
