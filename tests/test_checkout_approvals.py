"""Staff decisions in the checkout: pricing an item, overriding a limit, voiding a line,
leaving an item out; what an item call remembers; one audit effect per decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from kiosk.core.barcodes import Scan, parse_scan
from kiosk.core.cart import Cart, CartLine, CartOutcome
from kiosk.core.catalog import Product, plu_code
from kiosk.core.checkout import Checkout
from kiosk.core.checkout_events import (
    STAFF_DECISION_REASONS,
    UNLISTED_ITEM_NAME,
    ApprovalGiven,
    AttendantApproved,
    AttendantDismissed,
    BackToCartPressed,
    CallAttendant,
    CancelSale,
    CartChanged,
    CheckoutTimers,
    Effect,
    Event,
    HelpRequested,
    ItemLeftOut,
    ItemPriced,
    ItemScanned,
    LimitOverridden,
    LineRemoved,
    LineVoided,
    PaymentCancelled,
    PaymentSucceeded,
    PayPressed,
    QuantityChanged,
    Refused,
    RefusedItem,
    StartPayment,
    Tick,
)
from kiosk.core.checkout_states import AttendantReason, CheckoutState, Refusal
from kiosk.core.shop_rules import CartLimits, TaxClass, TaxMode, TaxPolicy

POLICY = TaxPolicy(
    {
        "standard": TaxClass("standard", Decimal("0.20")),
        "reduced": TaxClass("reduced", Decimal("0.05")),
    },
    TaxMode.INCLUSIVE,
)
TIMERS = CheckoutTimers(
    idle_prompt_after_s=60, idle_abandon_after_s=30, card_wait_s=120, receipt_choice_s=30
)
LIMITS = CartLimits(max_quantity_per_line=5, max_lines=3, max_cart_total_minor=10_000)

MILK = Product("04006381333931", "Milk 1 l", 129, "reduced")
BREAD = Product("00036000291452", "Bread", 250, "reduced")
WINE = Product("05901234123457", "Red wine", 899, "standard", min_age=18)
APPLES = Product("09501101530003", "Apples (loose)", 0, "reduced", sold_by_weight=True)
WHISKY = Product("00012345678905", "Whisky", 3499, "standard", min_age=21)
ROLLS = Product("05012345001258", "Rolls", 95, "reduced")
RUM = Product("05012345001074", "Dark rum", 2199, "spirits", min_age=18)  # no such tax class
UNKNOWN_GTIN = "04012345000009"

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SALE = "6f1c3a52-0d0e-4d5e-9a43-1b2c3d4e5f60"
STAFF = "1001"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def scan_of(code: str) -> Scan:
    return parse_scan(code.encode() + b"\r")


def scanned(product: Product | None, seconds: float = 0, code: str | None = None) -> ItemScanned:
    scan = scan_of(code or (product.code if product else UNKNOWN_GTIN))
    return ItemScanned(at=at(seconds), scan=scan, product=product, new_sale_id=SALE)


def run(machine: Checkout, *events: Event) -> tuple[Checkout, list[Effect]]:
    effects: list[Effect] = []
    for event in events:
        machine, produced = machine.handle(event)
        effects.extend(produced)
    return machine, effects


def shopping(*products: Product) -> Checkout:
    machine, _ = run(
        Checkout.start(POLICY, LIMITS, TIMERS), *(scanned(product) for product in products)
    )
    assert machine.state is CheckoutState.SHOPPING
    return machine


def waiting_with_unknown_item(*products: Product) -> Checkout:
    machine, _ = shopping(*products).handle(scanned(None, 3))
    assert machine.attendant_reason is AttendantReason.UNKNOWN_ITEM
    return machine


def priced(price: int = 350, tax_class: str = "standard", seconds: float = 30) -> ItemPriced:
    return ItemPriced(
        at=at(seconds), staff_number=STAFF, unit_price_minor=price, tax_class=tax_class
    )


def approvals(effects: list[Effect]) -> list[ApprovalGiven]:
    return [effect for effect in effects if isinstance(effect, ApprovalGiven)]


# --------------------------------------------------------------- what a call remembers


def test_an_unknown_scan_remembers_the_scan_and_that_no_product_was_found() -> None:
    machine = waiting_with_unknown_item(MILK)
    assert machine.refused == RefusedItem(scan=scan_of(UNKNOWN_GTIN), product=None)
    assert machine.refused.code == UNKNOWN_GTIN


def test_a_refused_quantity_change_remembers_the_line_and_the_quantity_asked_for() -> None:
    machine, _ = shopping(MILK).handle(QuantityChanged(at=at(3), line_id=1, quantity=6))
    assert machine.attendant_reason is AttendantReason.LIMIT_REACHED
    assert machine.refused == RefusedItem(line_id=1, quantity=6)
    assert machine.refused.code is None


def test_help_and_age_check_calls_are_about_no_item() -> None:
    helped, _ = shopping(MILK).handle(HelpRequested(at=at(3)))
    checked, _ = shopping(WINE).handle(PayPressed(at=at(3)))
    assert (helped.refused, checked.refused) == (None, None)


def test_leaving_the_call_in_any_way_forgets_the_refused_item() -> None:
    waiting = waiting_with_unknown_item(MILK)
    withdrawn, _ = waiting.handle(AttendantDismissed(at=at(9)))
    cancelled, _ = waiting.handle(CancelSale(at=at(9)))
    assert withdrawn.refused is None and withdrawn.state is CheckoutState.SHOPPING
    assert cancelled.refused is None and cancelled.state is CheckoutState.ATTRACT


def test_a_late_card_success_during_an_item_call_ends_the_call_and_forgets_the_item() -> None:
    machine, _ = run(
        shopping(MILK),
        PayPressed(at=at(1)),
        BackToCartPressed(at=at(2)),
        scanned(None, 3),
    )
    assert machine.refused is not None
    paid, _ = machine.handle(PaymentSucceeded(at=at(4)))
    assert paid.state is CheckoutState.PAID
    assert (paid.attendant_reason, paid.refused) == (None, None)


# ------------------------------------------------------------------- pricing an item


def test_staff_price_an_unknown_item_onto_one_unlisted_line_and_the_call_closes() -> None:
    waiting = waiting_with_unknown_item(MILK)
    machine, effects = waiting.handle(priced(350, "standard"))

    assert machine.state is CheckoutState.SHOPPING
    assert (machine.attendant_reason, machine.refused) == (None, None)
    line = machine.cart.lines[-1]
    assert line == CartLine(2, UNKNOWN_GTIN, UNLISTED_ITEM_NAME, 1, 350, None, "standard", None,
                            350)
    detail = (
        ("call", "unknown_item"),
        ("line", 2),
        ("code", UNKNOWN_GTIN),
        ("name", UNLISTED_ITEM_NAME),
        ("quantity", 1),
        ("unit_price_minor", 350),
        ("tax_class", "standard"),
    )
    assert effects == [
        ApprovalGiven(SALE, STAFF, AttendantReason.UNKNOWN_ITEM, at(30), "price_item", detail,
                      machine.cart),
        CartChanged(SALE, machine.cart, 2),
    ]


def test_a_loose_item_priced_by_staff_keeps_its_catalog_name_and_code() -> None:
    waiting, _ = shopping(MILK).handle(scanned(APPLES, 3))
    assert waiting.attendant_reason is AttendantReason.WEIGHED_ITEM
    machine, _ = waiting.handle(priced(212, "reduced"))
    line = machine.cart.lines[-1]
    assert (line.code, line.name, line.amount_minor, line.weight_g) == (
        APPLES.code, "Apples (loose)", 212, None,
    )


def test_a_priced_product_keeps_its_minimum_age_so_pay_still_asks_for_an_age_check() -> None:
    waiting, _ = shopping(MILK).handle(scanned(RUM, 3))  # a tax class the shop lacks
    assert waiting.attendant_reason is AttendantReason.UNKNOWN_ITEM
    machine, _ = waiting.handle(priced(2199, "standard"))
    assert (machine.cart.lines[-1].name, machine.cart.lines[-1].min_age) == ("Dark rum", 18)
    machine, effects = machine.handle(PayPressed(at=at(31)))
    assert effects == [CallAttendant(AttendantReason.AGE_CHECK, SALE)]


def test_a_priced_line_is_priced_per_item_and_its_quantity_can_change() -> None:
    machine, _ = waiting_with_unknown_item(MILK).handle(priced(350))
    machine, effects = machine.handle(QuantityChanged(at=at(40), line_id=2, quantity=3))
    line = machine.cart.line(2)
    assert line is not None and (line.quantity, line.amount_minor) == (3, 1050)
    assert effects == [CartChanged(SALE, machine.cart, 2)]


def test_an_in_store_code_priced_by_staff_keeps_a_fixed_quantity() -> None:
    cheese = Product(plu_code("01234"), "Cheese counter", 0, "reduced", sold_by_weight=True)
    waiting, _ = shopping(MILK).handle(
        ItemScanned(at=at(3), scan=scan_of(APPLES.code), product=cheese, new_sale_id=SALE)
    )
    # A PLU product scanned without its weight or price waits for staff as a weighed item.
    assert waiting.attendant_reason is AttendantReason.WEIGHED_ITEM
    machine, _ = waiting.handle(priced(480, "reduced"))
    machine, effects = machine.handle(QuantityChanged(at=at(40), line_id=2, quantity=2))
    assert effects == [Refused(CartOutcome.QUANTITY_FIXED)]


def test_the_same_unknown_code_scanned_again_calls_staff_again() -> None:
    machine, _ = waiting_with_unknown_item(MILK).handle(priced(350))
    machine, effects = machine.handle(scanned(None, 40))
    assert effects == [CallAttendant(AttendantReason.UNKNOWN_ITEM, SALE)]
    assert len(machine.cart.lines) == 2


def test_a_price_of_zero_or_less_is_refused_and_the_call_stays_open() -> None:
    waiting = waiting_with_unknown_item(MILK)
    for price in (0, -350):
        assert waiting.handle(priced(price)) == (waiting, [Refused(Refusal.BAD_PRICE)])


def test_a_tax_class_the_shop_lacks_is_refused_and_the_call_stays_open() -> None:
    waiting = waiting_with_unknown_item(MILK)
    refused = (waiting, [Refused(Refusal.UNKNOWN_TAX_CLASS)])
    assert waiting.handle(priced(350, "spirits")) == refused


def test_a_priced_line_that_breaks_a_limit_is_refused_with_that_limit() -> None:
    full = waiting_with_unknown_item(MILK, BREAD, WINE)  # three lines: the most allowed
    assert full.handle(priced(350)) == (full, [Refused(CartOutcome.LIMIT_LINES)])
    dear = waiting_with_unknown_item(MILK)
    assert dear.handle(priced(9_900)) == (dear, [Refused(CartOutcome.LIMIT_CART_TOTAL)])


def test_pricing_without_a_call_about_a_scan_is_refused_as_no_call() -> None:
    over_limit, _ = shopping(MILK).handle(QuantityChanged(at=at(3), line_id=1, quantity=6))
    restored = Checkout.restore(
        SALE,
        Cart.restore([CartLine(1, RUM.code, RUM.name, 1, 2199, None, "spirits", None, 2199)]),
        at(0), POLICY, LIMITS, TIMERS,
    )
    untaxed, _ = restored.handle(PayPressed(at=at(1)))  # an unknown-item call about no scan
    assert untaxed.attendant_reason is AttendantReason.UNKNOWN_ITEM
    for machine in (Checkout.start(POLICY, LIMITS, TIMERS), shopping(MILK), over_limit, untaxed):
        assert machine.handle(priced()) == (machine, [Refused(Refusal.NO_CALL)])


# --------------------------------------------------------------- overriding a limit


def test_an_override_sets_the_refused_quantity_past_the_limit_this_once() -> None:
    waiting, _ = shopping(MILK).handle(QuantityChanged(at=at(3), line_id=1, quantity=7))
    machine, effects = waiting.handle(LimitOverridden(at=at(30), staff_number=STAFF))

    assert machine.state is CheckoutState.SHOPPING
    line = machine.cart.line(1)
    assert line is not None and (line.quantity, line.amount_minor) == (7, 7 * 129)
    assert machine.cart.limits == LIMITS
    detail = (("limit", "limit_quantity_per_line"), ("line", 1), ("code", MILK.code),
              ("quantity", 7))
    assert effects == [
        ApprovalGiven(SALE, STAFF, AttendantReason.LIMIT_REACHED, at(30), "override_limit",
                      detail, machine.cart),
        CartChanged(SALE, machine.cart, 1),
    ]
    machine, effects = machine.handle(QuantityChanged(at=at(31), line_id=1, quantity=8))
    assert effects == [CallAttendant(AttendantReason.LIMIT_REACHED, SALE)]


def test_an_override_adds_a_scan_past_the_line_limit_and_later_scans_meet_it_again() -> None:
    waiting, _ = shopping(MILK, BREAD, WINE).handle(scanned(WHISKY, 3))
    assert waiting.last_outcome is CartOutcome.LIMIT_LINES
    machine, effects = waiting.handle(LimitOverridden(at=at(30), staff_number=STAFF))
    assert [line.name for line in machine.cart.lines] == ["Milk 1 l", "Bread", "Red wine",
                                                          "Whisky"]
    assert len(approvals(effects)) == 1
    machine, effects = machine.handle(scanned(MILK, 31))  # a repeat scan adds no line
    assert effects == [CartChanged(SALE, machine.cart, 1)]
    machine, effects = machine.handle(scanned(ROLLS, 32))
    assert effects == [CallAttendant(AttendantReason.LIMIT_REACHED, SALE)]
    assert machine.last_outcome is CartOutcome.LIMIT_LINES


def test_an_override_of_a_repeat_scan_raises_that_line_past_the_limit() -> None:
    machine, _ = run(shopping(*[MILK] * 5), scanned(MILK, 3))
    assert machine.attendant_reason is AttendantReason.LIMIT_REACHED
    machine, _ = machine.handle(LimitOverridden(at=at(30), staff_number=STAFF))
    assert [(line.code, line.quantity) for line in machine.cart.lines] == [(MILK.code, 6)]


def test_an_override_without_a_limit_call_is_refused_as_no_call() -> None:
    for machine in (waiting_with_unknown_item(MILK), shopping(MILK)):
        refused = machine.handle(LimitOverridden(at=at(30), staff_number=STAFF))
        assert refused == (machine, [Refused(Refusal.NO_CALL)])


# ------------------------------------------------------------------- leaving it out


def test_leaving_an_unknown_item_out_closes_the_call_and_is_recorded() -> None:
    waiting = waiting_with_unknown_item(MILK)
    machine, effects = waiting.handle(ItemLeftOut(at=at(30), staff_number=STAFF))
    assert machine.state is CheckoutState.SHOPPING
    assert machine.cart == waiting.cart
    assert effects == [
        ApprovalGiven(SALE, STAFF, AttendantReason.UNKNOWN_ITEM, at(30), "leave_out",
                      (("call", "unknown_item"), ("code", UNKNOWN_GTIN))),
    ]


def test_leaving_a_refused_quantity_out_records_the_line_and_the_quantity_asked_for() -> None:
    waiting, _ = shopping(MILK).handle(QuantityChanged(at=at(3), line_id=1, quantity=9))
    machine, effects = waiting.handle(ItemLeftOut(at=at(30), staff_number=STAFF))
    assert machine.cart.line(1) == waiting.cart.line(1)
    (approval,) = approvals(effects)
    assert approval.detail == (("call", "limit_reached"), ("line", 1), ("quantity", 9))


def test_an_unknown_first_item_left_out_leaves_the_customer_shopping_an_empty_cart() -> None:
    waiting, _ = Checkout.start(POLICY, LIMITS, TIMERS).handle(scanned(None))
    machine, _ = waiting.handle(ItemLeftOut(at=at(30), staff_number=STAFF))
    assert machine.state is CheckoutState.SHOPPING and machine.sale_id == SALE
    assert machine.cart.is_empty


def test_leaving_out_is_refused_for_calls_that_are_not_about_an_item() -> None:
    helped, _ = shopping(MILK).handle(HelpRequested(at=at(3)))
    checked, _ = shopping(WINE).handle(PayPressed(at=at(3)))
    for machine in (helped, checked, shopping(MILK)):
        refused = machine.handle(ItemLeftOut(at=at(30), staff_number=STAFF))
        assert refused == (machine, [Refused(Refusal.NO_CALL)])


# ---------------------------------------------------------------------- voiding a line


def test_staff_void_a_line_while_the_customer_shops() -> None:
    before = shopping(MILK, BREAD)
    machine, effects = before.handle(LineVoided(at=at(9), staff_number=STAFF, line_id=1))
    assert machine.state is CheckoutState.SHOPPING
    assert [line.name for line in machine.cart.lines] == ["Bread"]
    detail = (("line", 1), ("code", MILK.code), ("name", "Milk 1 l"), ("quantity", 1),
              ("amount_minor", 129))
    assert effects == [
        ApprovalGiven(SALE, STAFF, None, at(9), "void_line", detail, machine.cart),
        CartChanged(SALE, machine.cart, 1),
    ]


def test_a_void_on_the_idle_prompt_brings_the_customer_back_to_the_cart() -> None:
    idle, _ = shopping(MILK, BREAD).handle(Tick(at=at(60)))
    assert idle.state is CheckoutState.IDLE_PROMPT
    machine, effects = idle.handle(LineVoided(at=at(70), staff_number=STAFF, line_id=2))
    assert machine.state is CheckoutState.SHOPPING
    assert len(approvals(effects)) == 1 and len(machine.cart.lines) == 1


def test_voiding_the_last_restricted_line_closes_the_age_check_and_pay_proceeds() -> None:
    checking, _ = shopping(MILK, WINE).handle(PayPressed(at=at(3)))
    assert checking.attendant_reason is AttendantReason.AGE_CHECK
    machine, effects = checking.handle(LineVoided(at=at(9), staff_number=STAFF, line_id=2))
    assert machine.state is CheckoutState.SHOPPING
    (approval,) = approvals(effects)
    assert approval.reason is AttendantReason.AGE_CHECK
    assert approval.detail[0] == ("call", "age_check")
    machine, effects = machine.handle(PayPressed(at=at(10)))
    assert machine.state is CheckoutState.PAYING
    assert isinstance(effects[0], StartPayment)


def test_voiding_another_line_keeps_the_age_check_open() -> None:
    checking, _ = shopping(MILK, WINE).handle(PayPressed(at=at(3)))
    machine, effects = checking.handle(LineVoided(at=at(9), staff_number=STAFF, line_id=1))
    assert machine.state is CheckoutState.NEEDS_ATTENDANT
    assert machine.attendant_reason is AttendantReason.AGE_CHECK
    assert [line.name for line in machine.cart.lines] == ["Red wine"]
    assert [type(effect) for effect in effects] == [ApprovalGiven, CartChanged]


def test_a_void_during_an_unknown_item_call_makes_room_for_the_priced_item() -> None:
    full = waiting_with_unknown_item(MILK, BREAD, WINE)
    machine, _ = full.handle(LineVoided(at=at(9), staff_number=STAFF, line_id=3))
    assert machine.state is CheckoutState.NEEDS_ATTENDANT
    assert machine.refused == full.refused
    machine, _ = machine.handle(priced(350))
    assert machine.state is CheckoutState.SHOPPING
    assert [line.name for line in machine.cart.lines] == ["Milk 1 l", "Bread", UNLISTED_ITEM_NAME]


def test_voiding_the_line_a_refused_quantity_was_for_closes_the_limit_call() -> None:
    waiting, _ = shopping(MILK, BREAD).handle(QuantityChanged(at=at(3), line_id=1, quantity=6))
    machine, _ = waiting.handle(LineVoided(at=at(9), staff_number=STAFF, line_id=1))
    assert machine.state is CheckoutState.SHOPPING
    assert machine.refused is None
    other, _ = waiting.handle(LineVoided(at=at(9), staff_number=STAFF, line_id=2))
    assert other.state is CheckoutState.NEEDS_ATTENDANT


def test_voiding_the_untaxable_line_closes_the_unknown_item_call_made_at_pay() -> None:
    restored = Checkout.restore(
        SALE,
        Cart.restore([
            CartLine(1, MILK.code, MILK.name, 1, 129, None, "reduced", None, 129),
            CartLine(2, RUM.code, RUM.name, 1, 2199, None, "spirits", None, 2199),
        ]),
        at(0), POLICY, LIMITS, TIMERS,
    )
    untaxed, _ = restored.handle(PayPressed(at=at(1)))
    assert untaxed.attendant_reason is AttendantReason.UNKNOWN_ITEM
    machine, _ = untaxed.handle(LineVoided(at=at(9), staff_number=STAFF, line_id=2))
    assert machine.state is CheckoutState.SHOPPING
    assert machine.totals() is not None


def test_a_void_is_refused_while_a_payment_may_still_complete_and_after_it() -> None:
    paying, _ = shopping(MILK).handle(PayPressed(at=at(1)))
    back, _ = paying.handle(BackToCartPressed(at=at(2)))  # the card wait is being cancelled
    paid, _ = paying.handle(PaymentSucceeded(at=at(3)))
    void = LineVoided(at=at(9), staff_number=STAFF, line_id=1)
    assert paying.handle(void) == (paying, [Refused(Refusal.PAYMENT_IN_PROGRESS)])
    assert back.handle(void) == (back, [Refused(Refusal.PAYMENT_IN_PROGRESS)])
    assert paid.handle(void) == (paid, [Refused(CartOutcome.CART_LOCKED)])
    settled, _ = back.handle(PaymentCancelled(at=at(4)))
    machine, effects = settled.handle(void)
    assert machine.cart.is_empty and len(approvals(effects)) == 1


def test_a_void_of_a_line_the_cart_does_not_have_is_refused() -> None:
    before = shopping(MILK)
    attract = Checkout.start(POLICY, LIMITS, TIMERS)
    for machine in (before, attract):
        after, effects = machine.handle(LineVoided(at=at(9), staff_number=STAFF, line_id=7))
        assert effects == [Refused(CartOutcome.LINE_NOT_FOUND)]
        assert (after.state, after.cart) == (machine.state, machine.cart)


# ------------------------------------------------------------------ the PIN fast path


def test_an_age_check_approval_keeps_its_action_name() -> None:
    checking, _ = shopping(WINE).handle(PayPressed(at=at(3)))
    approval = AttendantApproved(at=at(9), staff_number=STAFF, reason=AttendantReason.AGE_CHECK)
    _, effects = checking.handle(approval)
    assert effects == [
        ApprovalGiven(SALE, STAFF, AttendantReason.AGE_CHECK, at(9), "approve.age_check")
    ]


def test_item_calls_are_exactly_the_ones_a_pin_alone_does_not_close() -> None:
    item_calls = {
        AttendantReason.UNKNOWN_ITEM,
        AttendantReason.WEIGHED_ITEM,
        AttendantReason.LIMIT_REACHED,
    }
    assert item_calls == STAFF_DECISION_REASONS


# -------------------------------------------------------------------- any event order

STAFF_EVENTS = (ItemPriced, LimitOverridden, LineVoided, ItemLeftOut)
LISTED = [MILK, BREAD, WINE, WHISKY, ROLLS]
FOR_STAFF = [APPLES, RUM, None]


class StaffAndCustomerInAnyOrder(RuleBasedStateMachine):
    """A customer scanning and changing the cart while staff decide, in any order."""

    def __init__(self) -> None:
        super().__init__()
        self.machine = Checkout.start(POLICY, LIMITS, TIMERS)
        self.now = T0
        self.overridden: set[str] = set()
        self.scans = 0

    def later(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    def send(self, event: Event) -> None:
        before = self.machine
        self.machine, effects = before.handle(event)
        given = approvals(effects)
        refused = [effect for effect in effects if isinstance(effect, Refused)]
        if isinstance(event, STAFF_EVENTS):
            assert len(given) == (0 if refused else 1), (event, effects)
        elif not isinstance(event, AttendantApproved):
            assert given == []
        if refused:
            assert self.machine.cart == before.cart
        for approval in given:
            assert approval.sale_id == before.sale_id
            if approval.cart is not None:
                assert approval.cart == self.machine.cart
                assert effects.index(approval) < next(
                    index for index, effect in enumerate(effects)
                    if isinstance(effect, CartChanged)
                )
            if approval.action == "override_limit" and approval.sale_id is not None:
                self.overridden.add(approval.sale_id)

    @rule(product=st.sampled_from(LISTED))
    def scan_a_listed_item(self, product: Product) -> None:
        self.scan(product)

    @rule(product=st.sampled_from(FOR_STAFF))
    def scan_an_item_staff_must_see(self, product: Product | None) -> None:
        self.scan(product)

    def scan(self, product: Product | None) -> None:
        self.scans += 1
        code = product.code if product is not None else UNKNOWN_GTIN
        self.send(ItemScanned(
            at=self.later(2), scan=scan_of(code), product=product,
            new_sale_id=f"sale-{self.scans}",
        ))

    @rule(line_id=st.integers(0, 4), quantity=st.sampled_from([-1, 0, 1, 2, 5, 6, 9]))
    def change_a_quantity(self, line_id: int, quantity: int) -> None:
        self.send(QuantityChanged(at=self.later(1), line_id=line_id, quantity=quantity))

    @rule(line_id=st.integers(0, 5))
    def remove_a_line(self, line_id: int) -> None:
        self.send(LineRemoved(at=self.later(1), line_id=line_id))

    @rule()
    def press_pay(self) -> None:
        self.send(PayPressed(at=self.later(1)))

    @rule()
    def go_back_to_the_cart(self) -> None:
        self.send(BackToCartPressed(at=self.later(1)))

    @rule()
    def payment_is_cancelled(self) -> None:
        self.send(PaymentCancelled(at=self.later(1)))

    @rule()
    def payment_succeeds(self) -> None:
        self.send(PaymentSucceeded(at=self.later(1)))

    @rule()
    def ask_for_help(self) -> None:
        self.send(HelpRequested(at=self.later(1)))

    @rule()
    def withdraw_the_call(self) -> None:
        self.send(AttendantDismissed(at=self.later(1)))

    @rule()
    def cancel_the_sale(self) -> None:
        self.send(CancelSale(at=self.later(1)))

    @rule(reason=st.sampled_from(list(AttendantReason)))
    def approve_with_a_pin(self, reason: AttendantReason) -> None:
        self.send(AttendantApproved(at=self.later(5), staff_number=STAFF, reason=reason))

    @rule(price=st.integers(-10, 12_000), tax_class=st.sampled_from(["standard", "spirits"]))
    def staff_price_the_item(self, price: int, tax_class: str) -> None:
        self.send(ItemPriced(
            at=self.later(5), staff_number=STAFF, unit_price_minor=price, tax_class=tax_class
        ))

    @rule()
    def staff_override_the_limit(self) -> None:
        self.send(LimitOverridden(at=self.later(5), staff_number=STAFF))

    @rule(line_id=st.integers(0, 5))
    def staff_void_a_line(self, line_id: int) -> None:
        self.send(LineVoided(at=self.later(5), staff_number=STAFF, line_id=line_id))

    @rule()
    def staff_leave_the_item_out(self) -> None:
        self.send(ItemLeftOut(at=self.later(5), staff_number=STAFF))

    @rule(seconds=st.sampled_from([1, 61, 91, 121, 3600]))
    def time_passes(self, seconds: float) -> None:
        self.send(Tick(at=self.later(seconds)))

    @invariant()
    def an_item_is_remembered_only_while_its_call_is_open(self) -> None:
        machine = self.machine
        if machine.refused is not None:
            assert machine.state is CheckoutState.NEEDS_ATTENDANT
            assert machine.attendant_reason in STAFF_DECISION_REASONS
        if machine.state is CheckoutState.NEEDS_ATTENDANT:
            assert machine.attendant_reason is not None

    @invariant()
    def only_an_override_takes_a_cart_past_its_limits(self) -> None:
        machine = self.machine
        assert machine.cart.limits == LIMITS
        if machine.sale_id is not None and machine.sale_id not in self.overridden:
            assert len(machine.cart.lines) <= LIMITS.max_lines
            assert machine.cart.amount_minor <= LIMITS.max_cart_total_minor
            assert all(line.quantity <= LIMITS.max_quantity_per_line
                       for line in machine.cart.lines)

    @invariant()
    def every_line_has_a_tax_rate_unless_restored(self) -> None:
        assert self.machine.totals() is not None


StaffAndCustomerInAnyOrder.TestCase.settings = settings(stateful_step_count=80)
test_staff_and_customers_in_any_order_keep_the_checkout_consistent = (
    StaffAndCustomerInAnyOrder.TestCase
)
