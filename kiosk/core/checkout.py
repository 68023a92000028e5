"""The checkout state machine: one customer's visit, from the first scan to the receipt.

Pure: ``Checkout`` is an immutable value. ``Checkout.handle(event)`` returns the next
``Checkout`` and a list of effects for the facade to carry out (persist the cart, start or
cancel a card payment, call an attendant...). The machine never reads a clock (every event
carries ``at``, an aware UTC ``datetime``; ``Tick`` drives the timers), never generates
randomness (the facade makes the sale's UUID and passes it in ``ItemScanned.new_sale_id``, used
only when that scan starts a sale) and never raises on any event in any state.

::

    ATTRACT --first scan--> SHOPPING --PayPressed--> PAYING --PaymentSucceeded--> PAID
       ^                     | ^  ^                  |  waiting_for_card           |
       |                     | |  |                  |  <-> authorising            |
       |                     | |  +------------------+                             |
       |                     | |   decline, cancel, back to the cart,              |
       |                     | |   card wait timeout (waiting_for_card only)       |
       |                     | |                                                   |
       |                     | +-- AttendantApproved / AttendantDismissed --+      |
       |                     | |   staff decision: ItemPriced,              |      |
       |                     | |   LimitOverridden, ItemLeftOut, LineVoided |      |
       |                     | |                                            |      |
       |                     +-- unknown item, weighed item, limit, --> NEEDS_ATTENDANT
       |                         age check at Pay, Help                     (reason)
       |                                                                           |
       +--- ReceiptChosen / SessionFinished / Tick receipt_choice_s ---------------+
       +--- CancelSale from SHOPPING, IDLE_PROMPT, NEEDS_ATTENDANT (customer_cancelled)
       +--- Tick idle_abandon_after_s on IDLE_PROMPT (idle_timeout)

    SHOPPING --Tick idle_prompt_after_s--> IDLE_PROMPT --any customer event--> SHOPPING

    ============== ===================================== ================ =======================
    state          event                                 next state       effects
    ============== ===================================== ================ =======================
    ATTRACT        ItemScanned                           SHOPPING (*)     SaleStarted, CartChanged
    ATTRACT        HelpRequested                         NEEDS_ATTENDANT  CallAttendant(help)
    ATTRACT        PaymentCheckNeeded                    NEEDS_ATTENDANT  CallAttendant(pay...)
    SHOPPING       ItemScanned, QuantityChanged,         SHOPPING         CartChanged or Refused
                   LineRemoved, LinePutBack (same sale)
    SHOPPING       scan or change refused: unknown,      NEEDS_ATTENDANT  CallAttendant(reason)
                   weighed, limit
    SHOPPING       PayPressed, empty cart                SHOPPING         (none)
    SHOPPING       PayPressed, last payment pending      SHOPPING         Refused
    SHOPPING       PayPressed, restricted, no approval   NEEDS_ATTENDANT  CallAttendant(age_check)
    SHOPPING       PayPressed                            PAYING           StartPayment(total)
    SHOPPING       HelpRequested                         NEEDS_ATTENDANT  CallAttendant(help)
    SHOPPING       Tick after idle_prompt_after_s        IDLE_PROMPT      ShowIdlePrompt
    IDLE_PROMPT    any customer event                    SHOPPING (*)     as in SHOPPING
    IDLE_PROMPT    Tick after idle_abandon_after_s       ATTRACT          SaleAbandoned
    NEEDS_ATT.     AttendantApproved(same reason: age    SHOPPING (**)    ApprovalGiven
                   check, help, payment check)
    NEEDS_ATT.     AttendantDismissed                    SHOPPING (**)    (none)
    NEEDS_ATT.     ItemPriced (unknown or weighed item)  SHOPPING         ApprovalGiven,
                                                                          CartChanged
    NEEDS_ATT.     ItemPriced: bad price or tax class,   NEEDS_ATTENDANT  Refused
                   or the line breaks a limit
    NEEDS_ATT.     LimitOverridden (limit_reached)       SHOPPING         ApprovalGiven,
                                                                          CartChanged
    NEEDS_ATT.     ItemLeftOut (unknown, weighed, limit) SHOPPING         ApprovalGiven
    SHOPPING,      LineVoided                            SHOPPING         ApprovalGiven,
    IDLE_PROMPT                                                           CartChanged
    NEEDS_ATT.     LineVoided                            NEEDS_ATT. or    ApprovalGiven,
                                                         SHOPPING (***)   CartChanged
    PAYING, or     LineVoided                            unchanged        Refused(payment_in_
    payment pending                                                       progress)
    PAID           LineVoided                            unchanged        Refused(cart_locked)
    any            LineVoided of a line not in the cart  unchanged        Refused(line_not_
                                                                          found)
    any            ItemPriced, LimitOverridden,          unchanged        Refused(no_call)
                   ItemLeftOut for no such call
    any open       CancelSale (no payment pending)       ATTRACT          SaleAbandoned
    PAYING         PaymentPhaseChanged                   PAYING           (none)
    PAYING         PaymentDeclined / PaymentCancelled    SHOPPING         (none)
    PAYING         BackToCartPressed, waiting_for_card   SHOPPING         CancelWaitingPayment
    PAYING         Tick after card_wait_s, waiting       SHOPPING         CancelWaitingPayment
    PAYING         PaymentSucceeded                      PAID             SalePaid
    PAYING         HelpRequested                         PAYING           CallAttendant(help)
    PAYING         CancelSale; BackToCart while          PAYING           Refused
                   authorising
    open, payment  PaymentPhaseChanged(authorising)      PAYING           CartChanged (paid cart)
    pending        PaymentSucceeded                      PAID             CartChanged, SalePaid
    PAID           ReceiptChosen / SessionFinished /     ATTRACT          SessionEnded
                   Tick after receipt_choice_s
    ============== ===================================== ================ =======================

    (*) then handled as in SHOPPING.  (**) ATTRACT when no sale was started (Help on ATTRACT).
    (***) SHOPPING when the voided line was the last one the call was about (see below).

Rules:

* The first scan on ATTRACT starts a sale (``SaleStarted``) and goes to SHOPPING, even for an
  unknown item (which then goes on to NEEDS_ATTENDANT).
* A scan whose outcome is ``ITEM_NOT_FOUND`` (also a product whose tax class the shop does not
  have), ``WEIGHED_ITEM_NEEDS_SCALE`` or a ``LIMIT_*`` goes to NEEDS_ATTENDANT with the reason
  ``unknown_item``, ``weighed_item`` or ``limit_reached`` (a quantity change that breaks a
  limit too). The refused item is not in the cart; ``refused`` remembers it (the scan and the
  product found, or the line and the quantity asked for) while the call is open, and only
  then: leaving NEEDS_ATTENDANT by any path clears it.
* Those three calls (``STAFF_DECISION_REASONS``) are closed by a staff decision, never by an
  approval alone (``AttendantApproved`` for them is ignored); the customer may still withdraw
  (``AttendantDismissed``):

  - ``ItemPriced`` (unknown or weighed item): one new line for the refused scan at the price
    staff entered (minor units, > 0, else ``bad_price``) in a tax class of the policy (else
    ``unknown_tax_class``); named after the product when the catalog knew it (a loose item,
    a product whose tax class the shop lacks), else ``UNLISTED_ITEM_NAME``; the code is the
    product's, else the scan's GTIN; the product's minimum age is kept. Its quantity is 1 and
    can change like a barcoded item's: the price is that of one item (a PLU code's stays 1).
    The cart's limits apply: a line that breaks one is refused with that limit's outcome and
    the call stays open (staff may void a line, or leave the item out).
  - ``LimitOverridden`` (limit reached): the refused scan or quantity change is applied with
    the cart's limits lifted for that one operation; later operations meet the limits again.
  - ``ItemLeftOut``: the call closes with the item left out, like the customer's withdrawal
    but recorded for the audit.

  Each one that applies yields exactly one ``ApprovalGiven`` (before its ``CartChanged``, so
  the facade can commit the change and its audit row together); one that finds no such call
  is refused with ``no_call`` and changes nothing.
* ``LineVoided``: staff remove a line for the customer in SHOPPING, IDLE_PROMPT (back to
  SHOPPING) or NEEDS_ATTENDANT: one ``ApprovalGiven`` and ``CartChanged``. Refused while a
  payment is pending or in PAYING (``payment_in_progress``), in PAID (``cart_locked``) and for
  a line the cart does not have (``line_not_found``, also on ATTRACT). In NEEDS_ATTENDANT the
  call stays open unless the voided line was the last one it was about: the last
  age-restricted line of an age check, the line of a refused quantity change, the last line
  without a tax rate of an unknown-item call made at Pay; that call then closes (SHOPPING).
* The age check is asked at Pay: PayPressed with an age-restricted item and no approval goes to
  NEEDS_ATTENDANT(age_check). One ``AttendantApproved(age_check)`` covers the whole sale; it
  returns to SHOPPING and the next PayPressed proceeds. A restored sale needs a new approval.
* PayPressed with an empty cart does nothing. Otherwise: PAYING (waiting_for_card) and
  ``StartPayment(total)``. A cart whose total is zero or less cannot be paid by card:
  ``Refused(NOTHING_TO_PAY)``.
* ``LinePutBack`` (the customer's Undo of a removal) puts the removed line back as it was, in
  its place; the cart's limits apply (refused in place, no call). Once the sale has moved on
  (another sale, a state other than SHOPPING or IDLE_PROMPT) or with the line back already, it
  is ignored: no effects.
* Customer cart changes while NEEDS_ATTENDANT, PAYING or PAID are refused:
  ``Refused(CART_LOCKED)``.
  Other cart refusals (``LINE_NOT_FOUND``, ``BAD_QUANTITY``, ``QUANTITY_FIXED``) are reported the
  same way and change nothing.
* A decline or cancellation goes back to SHOPPING with the cart unlocked; ``payment_code``
  keeps the decline code (or ``"cancelled"``) for the UI.
* While waiting_for_card, ``card_wait_s`` without activity sends ``CancelWaitingPayment`` and
  goes back to SHOPPING. While authorising no timer fires: the sale completes when the result
  comes, even if nobody is there.
* A payment stays *pending* from ``StartPayment`` until the payment side reports a success,
  decline or cancellation. If, after the machine left PAYING (card wait timeout, back to the
  cart), the reader reports ``authorising`` or a success anyway, the card wins: the machine
  returns to PAYING or PAID with the cart as it was when the payment started. While a payment
  is pending the sale cannot be abandoned: CancelSale is refused and the idle timeout waits.
* Inactivity while SHOPPING: after ``idle_prompt_after_s`` -> IDLE_PROMPT + ``ShowIdlePrompt``;
  any customer event returns to SHOPPING; after a further ``idle_abandon_after_s`` ->
  ``SaleAbandoned(idle_timeout)`` and ATTRACT with an empty cart.
* PAID waits for the receipt choice: ReceiptChosen, SessionFinished or ``receipt_choice_s``
  go to ATTRACT with ``SessionEnded``.
* Any other event in any state is ignored: the same ``Checkout`` and no effects.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from kiosk.core.cart import Cart, CartOutcome
from kiosk.core.catalog import Product
from kiosk.core.checkout_events import _CUSTOMER_EVENTS
from kiosk.core.checkout_events import STAFF_DECISION_REASONS as STAFF_DECISION_REASONS
from kiosk.core.checkout_events import UNLISTED_ITEM_NAME as UNLISTED_ITEM_NAME
from kiosk.core.checkout_events import ApprovalGiven as ApprovalGiven
from kiosk.core.checkout_events import AttendantApproved as AttendantApproved
from kiosk.core.checkout_events import AttendantDismissed as AttendantDismissed
from kiosk.core.checkout_events import BackToCartPressed as BackToCartPressed
from kiosk.core.checkout_events import CallAttendant as CallAttendant
from kiosk.core.checkout_events import CancelSale as CancelSale
from kiosk.core.checkout_events import CancelWaitingPayment as CancelWaitingPayment
from kiosk.core.checkout_events import CartChanged as CartChanged
from kiosk.core.checkout_events import CheckoutTimers as CheckoutTimers
from kiosk.core.checkout_events import CustomerActive as CustomerActive
from kiosk.core.checkout_events import Detail as Detail
from kiosk.core.checkout_events import Effect as Effect
from kiosk.core.checkout_events import Event as Event
from kiosk.core.checkout_events import HelpRequested as HelpRequested
from kiosk.core.checkout_events import ItemLeftOut as ItemLeftOut
from kiosk.core.checkout_events import ItemPriced as ItemPriced
from kiosk.core.checkout_events import ItemScanned as ItemScanned
from kiosk.core.checkout_events import LimitOverridden as LimitOverridden
from kiosk.core.checkout_events import LinePutBack as LinePutBack
from kiosk.core.checkout_events import LineRemoved as LineRemoved
from kiosk.core.checkout_events import LineVoided as LineVoided
from kiosk.core.checkout_events import PaymentCancelled as PaymentCancelled
from kiosk.core.checkout_events import PaymentCheckNeeded as PaymentCheckNeeded
from kiosk.core.checkout_events import PaymentDeclined as PaymentDeclined
from kiosk.core.checkout_events import PaymentPhaseChanged as PaymentPhaseChanged
from kiosk.core.checkout_events import PaymentSucceeded as PaymentSucceeded
from kiosk.core.checkout_events import PaymentUnresolved as PaymentUnresolved
from kiosk.core.checkout_events import PayPressed as PayPressed
from kiosk.core.checkout_events import QuantityChanged as QuantityChanged
from kiosk.core.checkout_events import ReceiptChosen as ReceiptChosen
from kiosk.core.checkout_events import Refused as Refused
from kiosk.core.checkout_events import RefusedItem as RefusedItem
from kiosk.core.checkout_events import SaleAbandoned as SaleAbandoned
from kiosk.core.checkout_events import SalePaid as SalePaid
from kiosk.core.checkout_events import SaleStarted as SaleStarted
from kiosk.core.checkout_events import SessionEnded as SessionEnded
from kiosk.core.checkout_events import SessionFinished as SessionFinished
from kiosk.core.checkout_events import ShowIdlePrompt as ShowIdlePrompt
from kiosk.core.checkout_events import StartPayment as StartPayment
from kiosk.core.checkout_events import Tick as Tick
from kiosk.core.checkout_states import AbandonReason
from kiosk.core.checkout_states import AttendantReason as AttendantReason
from kiosk.core.checkout_states import CheckoutState as CheckoutState
from kiosk.core.checkout_states import PaymentPhase as PaymentPhase
from kiosk.core.checkout_states import ReceiptChoice as ReceiptChoice
from kiosk.core.checkout_states import Refusal as Refusal
from kiosk.core.shop_rules import CartLimits, TaxPolicy
from kiosk.core.tax import TaxError, Totals

_SCAN_REASONS: dict[CartOutcome, AttendantReason] = {
    CartOutcome.ITEM_NOT_FOUND: AttendantReason.UNKNOWN_ITEM,
    CartOutcome.WEIGHED_ITEM_NEEDS_SCALE: AttendantReason.WEIGHED_ITEM,
    CartOutcome.LIMIT_QUANTITY_PER_LINE: AttendantReason.LIMIT_REACHED,
    CartOutcome.LIMIT_LINES: AttendantReason.LIMIT_REACHED,
    CartOutcome.LIMIT_CART_TOTAL: AttendantReason.LIMIT_REACHED,
}

_OPEN_STATES = (CheckoutState.SHOPPING, CheckoutState.IDLE_PROMPT)

_PRICED_REASONS = (AttendantReason.UNKNOWN_ITEM, AttendantReason.WEIGHED_ITEM)

_NO_LIMITS = CartLimits(
    max_quantity_per_line=2**62, max_lines=2**62, max_cart_total_minor=2**62
)  # an override lifts the limits for one operation; amounts stay far below 2**62


def _elapsed_s(since: datetime | None, at: datetime) -> float:
    """Seconds from ``since`` to ``at`` (0 when ``since`` is unknown or in the future)."""
    if since is None:
        return 0.0
    return max((at - since).total_seconds(), 0.0)


def _touched_line(before: Cart, after: Cart) -> int | None:
    """The id of the one line that differs between two carts, or ``None`` if none does."""
    old = {line.line_id: line for line in before.lines}
    new = {line.line_id: line for line in after.lines}
    for line_id in sorted(old.keys() | new.keys()):
        if old.get(line_id) != new.get(line_id):
            return line_id
    return None


@dataclass(frozen=True)
class Checkout:
    """One kiosk's checkout: its state, the open sale and its cart, and the shop's rules.

    Build one with ``Checkout.start`` (attract screen) or ``Checkout.restore`` (a cart restored
    at start-up), then feed it events with ``handle``. Fields the UI reads: ``state``,
    ``cart``, ``attendant_reason``, ``refused`` (what an item call is about), ``payment_phase``,
    ``payment_code`` (last decline code or ``"cancelled"``) and ``last_outcome`` (the last
    cart operation's outcome).
    ``waiting_since`` is when the current timer started (last activity, prompt shown, card
    wait started, sale paid).
    """

    policy: TaxPolicy
    limits: CartLimits = field(default_factory=CartLimits)
    timers: CheckoutTimers = field(default_factory=CheckoutTimers)
    state: CheckoutState = CheckoutState.ATTRACT
    sale_id: str | None = None
    cart: Cart = field(default_factory=Cart)
    attendant_reason: AttendantReason | None = None
    refused: RefusedItem | None = None
    age_approved_by: str | None = None
    payment_phase: PaymentPhase | None = None
    payment_pending: bool = False
    payment_cart: Cart | None = None
    payment_amount_minor: int | None = None
    payment_code: str | None = None
    last_outcome: CartOutcome | None = None
    waiting_since: datetime | None = None

    @classmethod
    def start(
        cls,
        policy: TaxPolicy,
        limits: CartLimits | None = None,
        timers: CheckoutTimers | None = None,
    ) -> Checkout:
        """A checkout on the attract screen with an empty cart."""
        limits = limits or CartLimits()
        return cls(
            policy=policy,
            limits=limits,
            timers=timers or CheckoutTimers(),
            cart=Cart(limits=limits),
        )

    @classmethod
    def restore(
        cls,
        sale_id: str,
        cart: Cart,
        at: datetime,
        policy: TaxPolicy,
        limits: CartLimits | None = None,
        timers: CheckoutTimers | None = None,
    ) -> Checkout:
        """A checkout SHOPPING sale ``sale_id`` with a cart restored at start-up at ``at``.

        The restored sale has no age approval and no pending payment (the facade settles
        payments before restoring a cart).
        """
        limits = limits or CartLimits()
        return cls(
            policy=policy,
            limits=limits,
            timers=timers or CheckoutTimers(),
            state=CheckoutState.SHOPPING,
            sale_id=sale_id,
            cart=replace(cart, limits=limits),
            waiting_since=at,
        )

    @classmethod
    def restore_paid(
        cls,
        sale_id: str,
        cart: Cart,
        at: datetime,
        policy: TaxPolicy,
        limits: CartLimits | None = None,
        timers: CheckoutTimers | None = None,
    ) -> Checkout:
        """A checkout PAID for sale ``sale_id``, whose payment start-up recovery settled at
        ``at``: the customer who was at the reader when the kiosk restarted is shown that the
        payment went through and chooses a receipt (or the receipt wait times out)."""
        limits = limits or CartLimits()
        return cls(
            policy=policy,
            limits=limits,
            timers=timers or CheckoutTimers(),
            state=CheckoutState.PAID,
            sale_id=sale_id,
            cart=replace(cart, limits=limits),
            waiting_since=at,
        )

    def totals(self) -> Totals | None:
        """The cart's totals in minor units, or ``None`` if a line's tax class is unknown."""
        try:
            return self.cart.totals(self.policy)
        except TaxError:
            return None

    # ------------------------------------------------------------------------- dispatch

    def handle(self, event: Event) -> tuple[Checkout, list[Effect]]:
        """Apply ``event``; return the next checkout and the effects for the facade, in order.

        Never raises: an event that does not apply to the current state returns ``self`` and
        no effects, or a ``Refused`` effect for a refused cart change or cancellation.
        """
        machine = self
        if isinstance(event, _CUSTOMER_EVENTS):
            machine = machine._touched(event.at)
        if isinstance(event, ItemScanned):
            return machine._on_scan(event)
        if isinstance(event, QuantityChanged):
            return machine._on_cart_change(event.line_id, event.quantity)
        if isinstance(event, LineRemoved):
            return machine._on_cart_change(event.line_id, None)
        if isinstance(event, LinePutBack):
            return machine._on_put_back(event)
        if isinstance(event, PayPressed):
            return machine._on_pay(event.at)
        if isinstance(event, BackToCartPressed):
            return machine._on_back_to_cart(event.at)
        if isinstance(event, AttendantApproved):
            return machine._on_attendant_approved(event)
        if isinstance(event, AttendantDismissed):
            return machine._on_attendant_dismissed(event.at)
        if isinstance(event, ItemPriced):
            return machine._on_item_priced(event)
        if isinstance(event, LimitOverridden):
            return machine._on_limit_overridden(event)
        if isinstance(event, LineVoided):
            return machine._on_line_voided(event)
        if isinstance(event, ItemLeftOut):
            return machine._on_item_left_out(event)
        if isinstance(event, HelpRequested):
            return machine._on_help()
        if isinstance(event, PaymentCheckNeeded):
            if machine.state is not CheckoutState.ATTRACT:
                return machine, []
            return machine._call_attendant(AttendantReason.PAYMENT_CHECK, None, [])
        if isinstance(event, PaymentPhaseChanged):
            return machine._on_payment_phase(event)
        if isinstance(event, PaymentSucceeded):
            return machine._on_payment_succeeded(event.at)
        if isinstance(event, PaymentDeclined):
            return machine._on_payment_failed(event.at, event.code)
        if isinstance(event, PaymentCancelled):
            return machine._on_payment_failed(event.at, "cancelled")
        if isinstance(event, PaymentUnresolved):
            return machine._on_payment_unresolved(event.at, event.code)
        if isinstance(event, ReceiptChosen):
            return machine._on_session_end(event.choice)
        if isinstance(event, SessionFinished):
            return machine._on_session_end(None)
        if isinstance(event, CancelSale):
            return machine._on_cancel_sale(event.at)
        if isinstance(event, Tick):
            return machine._on_tick(event.at, event.stretch)
        # CustomerActive: the touch above is all it does.
        return machine, []

    # ---------------------------------------------------------------------- transitions

    def _touched(self, at: datetime) -> Checkout:
        """Customer activity ("More time" too): leave the idle prompt, restart the timers."""
        if self.state in _OPEN_STATES:
            return replace(self, state=CheckoutState.SHOPPING, waiting_since=at)
        if self.state is CheckoutState.PAID or (self.state, self.payment_phase) == (
            CheckoutState.PAYING, PaymentPhase.WAITING_FOR_CARD
        ):
            return replace(self, waiting_since=at)
        return self

    def _on_scan(self, event: ItemScanned) -> tuple[Checkout, list[Effect]]:
        machine = self
        effects: list[Effect] = []
        if machine.state is CheckoutState.ATTRACT:
            machine = replace(
                machine._reset(),
                state=CheckoutState.SHOPPING,
                sale_id=event.new_sale_id,
                waiting_since=event.at,
            )
            effects.append(SaleStarted(event.new_sale_id, event.at))
        if machine.state is not CheckoutState.SHOPPING:
            return machine, [Refused(CartOutcome.CART_LOCKED)]
        product = event.product
        if product is not None and product.tax_class not in machine.policy.classes:
            cart, outcome = machine.cart, CartOutcome.ITEM_NOT_FOUND
        else:
            cart, outcome = machine.cart.add_scan(event.scan, product)
        refused = RefusedItem(scan=event.scan, product=product)
        return machine._after_cart_operation(cart, outcome, effects, refused)

    def _on_cart_change(self, line_id: int, quantity: int | None) -> tuple[Checkout, list[Effect]]:
        if self.state is CheckoutState.ATTRACT:
            return self, []
        if self.state is not CheckoutState.SHOPPING:
            return self, [Refused(CartOutcome.CART_LOCKED)]
        if quantity is None:
            cart, outcome = self.cart.remove_line(line_id)
            refused = None
        else:
            cart, outcome = self.cart.change_quantity(line_id, quantity)
            refused = RefusedItem(line_id=line_id, quantity=quantity)
        return self._after_cart_operation(cart, outcome, [], refused)

    def _on_put_back(self, event: LinePutBack) -> tuple[Checkout, list[Effect]]:
        if self.state is not CheckoutState.SHOPPING or event.sale_id != self.sale_id:
            return self, []  # the sale has moved on: nothing to undo
        cart, outcome = self.cart.put_back(event.line)
        if outcome.is_limit:  # the rest of the cart grew meanwhile: said in place, no call
            return replace(self, last_outcome=outcome), [Refused(outcome)]
        if not outcome.changed_cart:
            return self, []  # back already (a second Undo), or never a line of this cart
        return self._after_cart_operation(cart, outcome, [], None)

    def _after_cart_operation(
        self,
        cart: Cart,
        outcome: CartOutcome,
        effects: list[Effect],
        refused: RefusedItem | None,
    ) -> tuple[Checkout, list[Effect]]:
        assert self.sale_id is not None  # SHOPPING always has a sale
        if outcome.changed_cart:
            if cart != self.cart:  # setting a quantity to its own value changes nothing
                effects.append(CartChanged(self.sale_id, cart, _touched_line(self.cart, cart)))
            return replace(self, cart=cart, last_outcome=outcome), effects
        reason = _SCAN_REASONS.get(outcome)
        if reason is not None:
            return self._call_attendant(reason, outcome, effects, refused)
        effects.append(Refused(outcome))
        return replace(self, last_outcome=outcome), effects

    def _call_attendant(
        self,
        reason: AttendantReason,
        outcome: CartOutcome | None,
        effects: list[Effect],
        refused: RefusedItem | None = None,
    ) -> tuple[Checkout, list[Effect]]:
        effects.append(CallAttendant(reason, self.sale_id))
        machine = replace(
            self,
            state=CheckoutState.NEEDS_ATTENDANT,
            attendant_reason=reason,
            refused=refused if reason in STAFF_DECISION_REASONS else None,
            last_outcome=outcome or self.last_outcome,
        )
        return machine, effects

    def _on_pay(self, at: datetime) -> tuple[Checkout, list[Effect]]:
        if self.state is not CheckoutState.SHOPPING or self.cart.is_empty:
            return self, []
        if self.payment_pending:
            # The last card wait is still being cancelled at the reader. A second payment now
            # would take the first one's cancellation for its own, and a card tapped on the
            # still-waiting reader would be charged with the cart back on screen.
            return self, [Refused(Refusal.PAYMENT_IN_PROGRESS)]
        if self.cart.max_min_age is not None and self.age_approved_by is None:
            return self._call_attendant(AttendantReason.AGE_CHECK, None, [])
        totals = self.totals()
        if totals is None:
            return self._call_attendant(AttendantReason.UNKNOWN_ITEM, None, [])
        if totals.total_minor <= 0:
            return self, [Refused(Refusal.NOTHING_TO_PAY)]
        assert self.sale_id is not None
        machine = replace(
            self,
            state=CheckoutState.PAYING,
            payment_phase=PaymentPhase.WAITING_FOR_CARD,
            payment_pending=True,
            payment_cart=self.cart,
            payment_amount_minor=totals.total_minor,
            payment_code=None,
            waiting_since=at,
        )
        return machine, [StartPayment(self.sale_id, totals.total_minor, totals)]

    def _on_back_to_cart(self, at: datetime) -> tuple[Checkout, list[Effect]]:
        if self.state is not CheckoutState.PAYING:
            return self, []
        if self.payment_phase is not PaymentPhase.WAITING_FOR_CARD:
            return self, [Refused(Refusal.PAYMENT_IN_PROGRESS)]
        return self._leave_card_wait(at)

    def _leave_card_wait(self, at: datetime) -> tuple[Checkout, list[Effect]]:
        """Back to the cart while the reader action is cancelled; the payment stays pending
        until the payment side reports how it ended."""
        assert self.sale_id is not None
        machine = replace(
            self, state=CheckoutState.SHOPPING, payment_phase=None, waiting_since=at
        )
        return machine, [CancelWaitingPayment(self.sale_id)]

    def _on_attendant_approved(self, event: AttendantApproved) -> tuple[Checkout, list[Effect]]:
        if (
            self.state is not CheckoutState.NEEDS_ATTENDANT
            or event.reason != self.attendant_reason
            or event.reason in STAFF_DECISION_REASONS  # closed by a decision, not a PIN
        ):
            return self, []
        approval = ApprovalGiven(
            self.sale_id, event.staff_number, event.reason, event.at, f"approve.{event.reason}"
        )
        machine = self
        if event.reason == AttendantReason.AGE_CHECK:
            machine = replace(machine, age_approved_by=event.staff_number)
        return machine._leave_attendant(event.at), [approval]

    def _on_attendant_dismissed(self, at: datetime) -> tuple[Checkout, list[Effect]]:
        if self.state is not CheckoutState.NEEDS_ATTENDANT:
            return self, []
        return self._leave_attendant(at), []

    def _leave_attendant(self, at: datetime) -> Checkout:
        state = CheckoutState.SHOPPING if self.sale_id is not None else CheckoutState.ATTRACT
        return replace(self, state=state, attendant_reason=None, refused=None, waiting_since=at)

    # ------------------------------------------------------------------ staff decisions

    def _on_item_priced(self, event: ItemPriced) -> tuple[Checkout, list[Effect]]:
        refused = self.refused
        if (
            self.state is not CheckoutState.NEEDS_ATTENDANT
            or self.attendant_reason not in _PRICED_REASONS
            or refused is None
            or refused.scan is None
        ):
            return self, [Refused(Refusal.NO_CALL)]
        if event.unit_price_minor <= 0:
            return self, [Refused(Refusal.BAD_PRICE)]
        if event.tax_class not in self.policy.classes:
            return self, [Refused(Refusal.UNKNOWN_TAX_CLASS)]
        known = refused.product
        item = Product(
            code=known.code if known is not None else refused.scan.gtin,
            name=known.name if known is not None else UNLISTED_ITEM_NAME,
            price_minor=event.unit_price_minor,
            tax_class=event.tax_class,
            min_age=known.min_age if known is not None else None,
        )
        cart, outcome = self.cart.add_priced_item(item)
        if not outcome.changed_cart:
            return self, [Refused(outcome)]  # a limit: the call stays open
        line = cart.lines[-1]
        detail: Detail = (
            ("call", str(self.attendant_reason)),
            ("line", line.line_id),
            ("code", line.code),
            ("name", line.name),
            ("quantity", line.quantity),
            ("unit_price_minor", line.unit_price_minor),
            ("tax_class", line.tax_class),
        )
        return self._decided(event.at, event.staff_number, "price_item", detail, cart, outcome)

    def _on_limit_overridden(self, event: LimitOverridden) -> tuple[Checkout, list[Effect]]:
        refused = self.refused
        if (
            self.state is not CheckoutState.NEEDS_ATTENDANT
            or self.attendant_reason is not AttendantReason.LIMIT_REACHED
            or refused is None
        ):
            return self, [Refused(Refusal.NO_CALL)]
        unlimited = replace(self.cart, limits=_NO_LIMITS)
        if refused.scan is not None:
            cart, outcome = unlimited.add_scan(refused.scan, refused.product)
        elif refused.line_id is not None and refused.quantity is not None:
            cart, outcome = unlimited.change_quantity(refused.line_id, refused.quantity)
        else:
            return self, [Refused(Refusal.NO_CALL)]
        if not outcome.changed_cart:
            return self, [Refused(outcome)]
        cart = replace(cart, limits=self.cart.limits)
        line = cart.line(_touched_line(self.cart, cart) or 0)
        detail: Detail = (("limit", str(self.last_outcome or "")),)
        if line is not None:
            detail += (("line", line.line_id), ("code", line.code), ("quantity", line.quantity))
        return self._decided(event.at, event.staff_number, "override_limit", detail, cart, outcome)

    def _on_item_left_out(self, event: ItemLeftOut) -> tuple[Checkout, list[Effect]]:
        if (
            self.state is not CheckoutState.NEEDS_ATTENDANT
            or self.attendant_reason not in STAFF_DECISION_REASONS
        ):
            return self, [Refused(Refusal.NO_CALL)]
        detail: Detail = (("call", str(self.attendant_reason)),)
        refused = self.refused
        if refused is not None and refused.code is not None:
            detail += (("code", refused.code),)
        if refused is not None and refused.line_id is not None:
            detail += (("line", refused.line_id), ("quantity", refused.quantity or 0))
        approval = ApprovalGiven(
            self.sale_id, event.staff_number, self.attendant_reason, event.at, "leave_out", detail
        )
        return self._leave_attendant(event.at), [approval]

    def _on_line_voided(self, event: LineVoided) -> tuple[Checkout, list[Effect]]:
        if self.state is CheckoutState.PAID:
            return self, [Refused(CartOutcome.CART_LOCKED)]
        if self.state is CheckoutState.PAYING or self.payment_pending:
            return self, [Refused(Refusal.PAYMENT_IN_PROGRESS)]
        machine = self._touched(event.at)  # staff at the kiosk: leave the idle prompt
        line = machine.cart.line(event.line_id)
        if line is None:
            return machine, [Refused(CartOutcome.LINE_NOT_FOUND)]
        cart, outcome = machine.cart.remove_line(event.line_id)
        reason = machine.attendant_reason
        detail: Detail = (
            ("line", line.line_id),
            ("code", line.code),
            ("name", line.name),
            ("quantity", line.quantity),
            ("amount_minor", line.amount_minor),
        )
        if reason is not None:
            detail = (("call", str(reason)), *detail)
        voided, effects = machine._decided(
            event.at, event.staff_number, "void_line", detail, cart, outcome
        )
        if reason is not None and not machine._call_settled_by_void(cart, event.line_id):
            # The call stays open: back to waiting for staff with the smaller cart.
            voided = replace(
                voided,
                state=CheckoutState.NEEDS_ATTENDANT,
                attendant_reason=reason,
                refused=machine.refused,
                waiting_since=machine.waiting_since,
            )
        return voided, effects

    def _call_settled_by_void(self, cart: Cart, line_id: int) -> bool:
        """True when voiding ``line_id`` (leaving ``cart``) leaves the open call nothing to
        be about: no age-restricted line left for an age check, the line of a refused quantity
        change gone, every line taxable again for an unknown-item call made at Pay."""
        reason = self.attendant_reason
        if reason is AttendantReason.AGE_CHECK:
            return cart.max_min_age is None
        refused = self.refused
        if reason is AttendantReason.LIMIT_REACHED and refused is not None:
            return refused.line_id == line_id
        if reason is AttendantReason.UNKNOWN_ITEM and refused is None:
            return all(line.tax_class in self.policy.classes for line in cart.lines)
        return False

    def _decided(
        self,
        at: datetime,
        staff_number: str,
        action: str,
        detail: Detail,
        cart: Cart,
        outcome: CartOutcome,
    ) -> tuple[Checkout, list[Effect]]:
        """A staff decision changed the cart to ``cart``: close any call, back to SHOPPING;
        the audit effect first, then the cart change."""
        assert self.sale_id is not None  # a cart with lines belongs to a sale
        approval = ApprovalGiven(
            self.sale_id, staff_number, self.attendant_reason, at, action, detail, cart
        )
        changed = CartChanged(self.sale_id, cart, _touched_line(self.cart, cart))
        machine = replace(self._leave_attendant(at), cart=cart, last_outcome=outcome)
        return machine, [approval, changed]

    def _on_help(self) -> tuple[Checkout, list[Effect]]:
        if self.state in (CheckoutState.ATTRACT, CheckoutState.SHOPPING):
            return self._call_attendant(AttendantReason.HELP, None, [])
        if self.state is CheckoutState.PAYING:
            # The payment carries on; someone comes to the kiosk.
            return self, [CallAttendant(AttendantReason.HELP, self.sale_id)]
        return self, []

    def _on_payment_phase(self, event: PaymentPhaseChanged) -> tuple[Checkout, list[Effect]]:
        if self.state is CheckoutState.PAYING:
            return replace(self, payment_phase=event.phase, waiting_since=event.at), []
        if self._payment_left_behind() and event.phase == PaymentPhase.AUTHORISING:
            # A card was presented as we were cancelling: wait for its result.
            machine, effects = self._back_to_payment_cart()
            machine = replace(
                machine,
                state=CheckoutState.PAYING,
                payment_phase=PaymentPhase.AUTHORISING,
                attendant_reason=None,
                refused=None,
                waiting_since=event.at,
            )
            return machine, effects
        return self, []

    def _on_payment_succeeded(self, at: datetime) -> tuple[Checkout, list[Effect]]:
        if self.state is not CheckoutState.PAYING and not self._payment_left_behind():
            return self, []
        machine, effects = self._back_to_payment_cart()
        sale_id = machine.sale_id
        assert sale_id is not None
        amount = machine.payment_amount_minor
        machine = replace(
            machine,
            state=CheckoutState.PAID,
            payment_phase=None,
            payment_pending=False,
            attendant_reason=None,
            refused=None,
            waiting_since=at,
        )
        effects.append(SalePaid(sale_id, amount or 0, machine.cart, at))
        return machine, effects

    def _payment_left_behind(self) -> bool:
        """True when a payment may still complete although the machine left PAYING."""
        return self.payment_pending and self.state in (
            CheckoutState.SHOPPING,
            CheckoutState.IDLE_PROMPT,
            CheckoutState.NEEDS_ATTENDANT,
        )

    def _back_to_payment_cart(self) -> tuple[Checkout, list[Effect]]:
        """Put back the cart the pending payment was started for."""
        paid_cart = self.payment_cart
        if paid_cart is None or paid_cart == self.cart:
            return self, []
        assert self.sale_id is not None
        return replace(self, cart=paid_cart), [CartChanged(self.sale_id, paid_cart, None)]

    def _on_payment_unresolved(self, at: datetime, code: str) -> tuple[Checkout, list[Effect]]:
        if self.state is not CheckoutState.PAYING and not self._payment_left_behind():
            return self, []
        machine, effects = self._back_to_payment_cart()
        assert machine.sale_id is not None
        machine = replace(
            machine,
            state=CheckoutState.PAYING,
            payment_phase=PaymentPhase.AUTHORISING,
            payment_pending=True,
            payment_code=code,
            attendant_reason=None,
            refused=None,
            waiting_since=at,
        )
        return machine, [*effects, CallAttendant(AttendantReason.PAYMENT_CHECK, machine.sale_id)]

    def _on_payment_failed(self, at: datetime, code: str) -> tuple[Checkout, list[Effect]]:
        if self.state is CheckoutState.PAYING:
            machine = replace(
                self,
                state=CheckoutState.SHOPPING,
                payment_phase=None,
                payment_pending=False,
                payment_code=code,
                waiting_since=at,
            )
            return machine, []
        if self._payment_left_behind():
            return replace(self, payment_pending=False, payment_code=code), []
        return self, []

    def _on_session_end(self, choice: ReceiptChoice | None) -> tuple[Checkout, list[Effect]]:
        if self.state is not CheckoutState.PAID:
            return self, []
        assert self.sale_id is not None
        return self._reset(), [SessionEnded(self.sale_id, choice)]

    def _on_cancel_sale(self, at: datetime) -> tuple[Checkout, list[Effect]]:
        if self.state in (CheckoutState.ATTRACT, CheckoutState.PAID):
            return self, []
        if self.state is CheckoutState.PAYING or self.payment_pending:
            return self, [Refused(Refusal.PAYMENT_IN_PROGRESS)]
        if self.sale_id is None:  # help asked on the attract screen
            return self._reset(), []
        return self._reset(), [SaleAbandoned(self.sale_id, AbandonReason.CUSTOMER_CANCELLED, at)]

    def _on_tick(self, at: datetime, stretch: float) -> tuple[Checkout, list[Effect]]:
        elapsed = _elapsed_s(self.waiting_since, at)
        timers = self.timers.stretched(stretch)
        if self.state is CheckoutState.SHOPPING and elapsed >= timers.idle_prompt_after_s:
            return replace(self, state=CheckoutState.IDLE_PROMPT, waiting_since=at), [
                ShowIdlePrompt()
            ]
        if (
            self.state is CheckoutState.IDLE_PROMPT
            and elapsed >= timers.idle_abandon_after_s
            and not self.payment_pending
        ):
            assert self.sale_id is not None
            return self._reset(), [SaleAbandoned(self.sale_id, AbandonReason.IDLE_TIMEOUT, at)]
        if (
            self.state is CheckoutState.PAYING
            and self.payment_phase is PaymentPhase.WAITING_FOR_CARD
            and elapsed >= timers.card_wait_s
        ):
            return self._leave_card_wait(at)
        if self.state is CheckoutState.PAID and elapsed >= timers.receipt_choice_s:
            assert self.sale_id is not None
            return self._reset(), [SessionEnded(self.sale_id, None)]
        return self, []

    def _reset(self) -> Checkout:
        """Back to the attract screen: no sale, an empty cart, the same rules."""
        return Checkout.start(self.policy, self.limits, self.timers)
