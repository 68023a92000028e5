"""The checkout state machine: every transition, the attendant, age check, payment and timers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from stdnum import ean

from kiosk.core.barcodes import Scan, parse_scan
from kiosk.core.cart import Cart, CartLine, CartOutcome
from kiosk.core.catalog import Product, plu_code
from kiosk.core.checkout import Checkout
from kiosk.core.checkout_events import (
    ApprovalGiven,
    AttendantApproved,
    AttendantDismissed,
    BackToCartPressed,
    CallAttendant,
    CancelSale,
    CancelWaitingPayment,
    CartChanged,
    CheckoutTimers,
    CustomerActive,
    Effect,
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
    PayPressed,
    QuantityChanged,
    ReceiptChosen,
    Refused,
    SaleAbandoned,
    SalePaid,
    SaleStarted,
    SessionEnded,
    SessionFinished,
    ShowIdlePrompt,
    StartPayment,
    Tick,
)
from kiosk.core.checkout_states import (
    AbandonReason,
    AttendantReason,
    CheckoutState,
    PaymentPhase,
    ReceiptChoice,
    Refusal,
)
from kiosk.core.shop_rules import (
    CartLimits,
    ScanRules,
    TaxClass,
    TaxMode,
    TaxPolicy,
    VariableMeasureLayout,
)

POLICY = TaxPolicy(
    {
        "standard": TaxClass("standard", Decimal("0.20")),
        "reduced": TaxClass("reduced", Decimal("0.05")),
    },
    TaxMode.INCLUSIVE,
)
RULES = ScanRules(variable_measure=(VariableMeasureLayout(prefixes=("21",), value="price"),))
TIMERS = CheckoutTimers(
    idle_prompt_after_s=60, idle_abandon_after_s=30, card_wait_s=120, receipt_choice_s=30
)
LIMITS = CartLimits(max_quantity_per_line=5, max_lines=3, max_cart_total_minor=10_000)

MILK = Product("04006381333931", "Milk 1 l", 129, "reduced")
BREAD = Product("00036000291452", "Bread", 250, "reduced")
WINE = Product("05901234123457", "Red wine", 899, "standard", min_age=18)
WHISKY = Product("00012345678905", "Whisky", 3499, "standard", min_age=21)
APPLES = Product("09501101530003", "Apples (loose)", 0, "reduced", sold_by_weight=True,
                 unit_price_per_kg_minor=299)  # fmt: skip
GIFT = Product("04012345000009", "Gift card", 2000, "exempt")
CHEESE = Product(plu_code("01234"), "Cheese counter", 0, "reduced")

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SALE = "6f1c3a52-0d0e-4d5e-9a43-1b2c3d4e5f60"
OTHER_SALE = "0b7f1f2e-1111-4222-8333-944455556666"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def scan_of(product: Product) -> Scan:
    return parse_scan(product.code.encode() + b"\r", RULES)


def price_scan(price_minor: int) -> Scan:
    twelve = f"2101234{price_minor:05d}"
    return parse_scan((twelve + ean.calc_check_digit(twelve)).encode(), RULES)


def scanned(
    product: Product | None, seconds: float = 0, scan: Scan | None = None, sale: str = SALE
) -> ItemScanned:
    if scan is None:
        assert product is not None
        scan = scan_of(product)
    return ItemScanned(at=at(seconds), scan=scan, product=product, new_sale_id=sale)


def fresh() -> Checkout:
    return Checkout.start(POLICY, LIMITS, TIMERS)


def run(machine: Checkout, *events: Event) -> tuple[Checkout, list[Effect]]:
    """Feed events one by one; return the final machine and every effect in order."""
    effects: list[Effect] = []
    for event in events:
        machine, produced = machine.handle(event)
        effects.extend(produced)
    return machine, effects


def shopping(*products: Product) -> Checkout:
    machine, _ = run(fresh(), *(scanned(product) for product in products))
    assert machine.state is CheckoutState.SHOPPING
    return machine


def paying(*products: Product) -> Checkout:
    machine, _ = run(shopping(*products), PayPressed(at=at(1)))
    assert machine.state is CheckoutState.PAYING
    return machine


# ------------------------------------------------------------------------ starting a sale


def test_a_new_checkout_waits_on_the_attract_screen_with_no_sale() -> None:
    machine = fresh()
    assert machine.state is CheckoutState.ATTRACT
    assert machine.sale_id is None
    assert machine.cart.is_empty
    assert machine.cart.limits == LIMITS


def test_the_first_scan_starts_a_sale_and_goes_shopping() -> None:
    machine, effects = fresh().handle(scanned(MILK, 5))
    assert machine.state is CheckoutState.SHOPPING
    assert machine.sale_id == SALE
    assert effects == [SaleStarted(SALE, at(5)), CartChanged(SALE, machine.cart, 1)]
    assert [line.code for line in machine.cart.lines] == [MILK.code]


def test_an_unknown_first_item_still_starts_a_sale_and_calls_an_attendant() -> None:
    machine, effects = fresh().handle(scanned(None, scan=scan_of(MILK)))
    assert machine.state is CheckoutState.NEEDS_ATTENDANT
    assert machine.attendant_reason is AttendantReason.UNKNOWN_ITEM
    assert machine.sale_id == SALE
    assert machine.cart.is_empty
    assert effects == [SaleStarted(SALE, at(0)), CallAttendant(AttendantReason.UNKNOWN_ITEM, SALE)]


def test_the_new_sale_id_of_later_scans_is_not_used() -> None:
    machine, effects = run(fresh(), scanned(MILK), scanned(BREAD, 1, sale=OTHER_SALE))
    assert machine.sale_id == SALE
    assert not any(isinstance(effect, SaleStarted) and effect.sale_id == OTHER_SALE
                   for effect in effects)  # fmt: skip


def test_a_repeat_scan_reports_the_line_it_changed() -> None:
    machine, effects = run(shopping(MILK, BREAD), scanned(MILK, 2))
    assert effects == [CartChanged(SALE, machine.cart, 1)]
    assert machine.last_outcome is CartOutcome.QUANTITY_INCREASED


# ----------------------------------------------------------------------- the attendant


def test_an_unknown_item_sends_the_customer_to_the_attendant_and_stays_out_of_the_cart() -> None:
    machine, effects = shopping(MILK).handle(scanned(None, 3, scan=scan_of(BREAD)))
    assert machine.state is CheckoutState.NEEDS_ATTENDANT
    assert effects == [CallAttendant(AttendantReason.UNKNOWN_ITEM, SALE)]
    machine, effects = machine.handle(AttendantDismissed(at=at(20)))
    assert machine.state is CheckoutState.SHOPPING
    assert machine.attendant_reason is None
    assert effects == []
    assert [line.code for line in machine.cart.lines] == [MILK.code]


def test_a_product_with_a_tax_class_the_shop_lacks_is_treated_as_unknown() -> None:
    machine, effects = shopping(MILK).handle(scanned(GIFT, 3))
    assert effects == [CallAttendant(AttendantReason.UNKNOWN_ITEM, SALE)]
    assert machine.state is CheckoutState.NEEDS_ATTENDANT
    assert machine.attendant_reason is AttendantReason.UNKNOWN_ITEM
    assert machine.last_outcome is CartOutcome.ITEM_NOT_FOUND
    assert len(machine.cart.lines) == 1


def test_a_loose_item_scanned_without_a_weight_goes_to_the_attendant() -> None:
    machine, effects = shopping(MILK).handle(scanned(APPLES, 3))
    assert machine.state is CheckoutState.NEEDS_ATTENDANT
    assert effects == [CallAttendant(AttendantReason.WEIGHED_ITEM, SALE)]
    assert machine.last_outcome is CartOutcome.WEIGHED_ITEM_NEEDS_SCALE


def test_a_scan_past_a_cart_limit_goes_to_the_attendant_and_names_the_limit() -> None:
    machine, effects = shopping(MILK, BREAD, WINE).handle(scanned(WHISKY, 3))
    assert machine.state is CheckoutState.NEEDS_ATTENDANT
    assert machine.attendant_reason is AttendantReason.LIMIT_REACHED
    assert machine.last_outcome is CartOutcome.LIMIT_LINES
    assert effects == [CallAttendant(AttendantReason.LIMIT_REACHED, SALE)]
    assert len(machine.cart.lines) == 3


def test_a_quantity_past_the_limit_goes_to_the_attendant_and_the_cart_is_unchanged() -> None:
    before = shopping(MILK)
    machine, effects = before.handle(QuantityChanged(at=at(3), line_id=1, quantity=6))
    assert machine.state is CheckoutState.NEEDS_ATTENDANT
    assert machine.last_outcome is CartOutcome.LIMIT_QUANTITY_PER_LINE
    assert machine.cart == before.cart
    assert effects == [CallAttendant(AttendantReason.LIMIT_REACHED, SALE)]


def test_an_attendant_approval_returns_to_shopping_and_is_recorded() -> None:
    machine, _ = shopping(MILK).handle(HelpRequested(at=at(3)))
    approval = AttendantApproved(at=at(30), staff_number="0042", reason=AttendantReason.HELP)
    machine, effects = machine.handle(approval)
    assert machine.state is CheckoutState.SHOPPING
    assert effects == [
        ApprovalGiven(SALE, "0042", AttendantReason.HELP, at(30), "approve.help")
    ]


def test_an_approval_alone_never_closes_an_item_call() -> None:
    waiting, _ = shopping(MILK).handle(scanned(APPLES, 3))
    approval = AttendantApproved(
        at=at(30), staff_number="0042", reason=AttendantReason.WEIGHED_ITEM
    )
    assert waiting.handle(approval) == (waiting, [])


def test_an_approval_for_another_reason_is_ignored() -> None:
    waiting, _ = shopping(MILK).handle(scanned(APPLES, 3))
    approval = AttendantApproved(at=at(30), staff_number="0042", reason=AttendantReason.AGE_CHECK)
    assert waiting.handle(approval) == (waiting, [])


def test_the_cart_is_locked_while_the_customer_waits_for_the_attendant() -> None:
    waiting, _ = shopping(MILK).handle(scanned(APPLES, 3))
    for event in (
        scanned(BREAD, 4),
        QuantityChanged(at=at(4), line_id=1, quantity=2),
        LineRemoved(at=at(4), line_id=1),
    ):
        machine, effects = waiting.handle(event)
        assert effects == [Refused(CartOutcome.CART_LOCKED)]
        assert machine.cart == waiting.cart
        assert machine.state is CheckoutState.NEEDS_ATTENDANT


def test_help_calls_the_attendant_and_dismissing_returns_to_shopping() -> None:
    machine, effects = shopping(MILK).handle(HelpRequested(at=at(3)))
    assert machine.state is CheckoutState.NEEDS_ATTENDANT
    assert effects == [CallAttendant(AttendantReason.HELP, SALE)]
    machine, _ = machine.handle(AttendantDismissed(at=at(9)))
    assert machine.state is CheckoutState.SHOPPING


def test_help_on_the_attract_screen_starts_no_sale_and_returns_to_attract() -> None:
    machine, effects = fresh().handle(HelpRequested(at=at(0)))
    assert machine.state is CheckoutState.NEEDS_ATTENDANT
    assert effects == [CallAttendant(AttendantReason.HELP, None)]
    machine, effects = machine.handle(AttendantDismissed(at=at(9)))
    assert machine.state is CheckoutState.ATTRACT
    assert machine.sale_id is None
    assert effects == []


def test_help_while_paying_calls_the_attendant_and_the_payment_carries_on() -> None:
    machine, effects = paying(MILK).handle(HelpRequested(at=at(5)))
    assert machine.state is CheckoutState.PAYING
    assert effects == [CallAttendant(AttendantReason.HELP, SALE)]


# ------------------------------------------------------------------------- the cart


def test_changing_a_quantity_and_removing_a_line_are_persisted_line_by_line() -> None:
    machine, effects = shopping(MILK, BREAD).handle(
        QuantityChanged(at=at(2), line_id=2, quantity=3)
    )
    assert effects == [CartChanged(SALE, machine.cart, 2)]
    line = machine.cart.line(2)
    assert line is not None
    assert line.amount_minor == 750
    machine, effects = machine.handle(LineRemoved(at=at(3), line_id=1))
    assert effects == [CartChanged(SALE, machine.cart, 1)]
    assert machine.cart.line(1) is None


def test_setting_a_quantity_to_its_current_value_persists_nothing() -> None:
    before = shopping(MILK)
    machine, effects = before.handle(QuantityChanged(at=at(2), line_id=1, quantity=1))
    assert effects == []
    assert machine.cart == before.cart
    assert machine.last_outcome is CartOutcome.QUANTITY_CHANGED


def test_the_default_timers_are_a_minute_half_a_minute_and_two_minutes() -> None:
    timers = CheckoutTimers()
    assert (timers.idle_prompt_after_s, timers.idle_abandon_after_s, timers.card_wait_s) == (
        60,
        30,
        120,
    )


def test_a_bad_quantity_or_missing_line_is_refused_in_place() -> None:
    before = shopping(MILK)
    machine, effects = before.handle(QuantityChanged(at=at(2), line_id=1, quantity=0))
    assert effects == [Refused(CartOutcome.BAD_QUANTITY)]
    assert (machine.state, machine.cart) == (CheckoutState.SHOPPING, before.cart)
    machine, effects = machine.handle(LineRemoved(at=at(3), line_id=9))
    assert effects == [Refused(CartOutcome.LINE_NOT_FOUND)]
    assert machine.cart == before.cart


def removed(machine: Checkout, line_id: int, seconds: float = 3) -> tuple[Checkout, CartLine]:
    """``machine`` after the customer removed line ``line_id``, and the line as it was."""
    line = machine.cart.line(line_id)
    assert line is not None
    after, _ = machine.handle(LineRemoved(at=at(seconds), line_id=line_id))
    return after, line


def test_an_undone_removal_puts_the_line_back_and_saves_the_cart() -> None:
    before, _ = shopping(MILK, WINE, BREAD).handle(QuantityChanged(at=at(2), line_id=2, quantity=2))
    machine, wine = removed(before, 2)
    machine, effects = machine.handle(LinePutBack(at=at(4), sale_id=SALE, line=wine))
    assert machine.cart == before.cart
    assert effects == [CartChanged(SALE, machine.cart, 2)]
    assert machine.last_outcome is CartOutcome.PUT_BACK
    assert machine.totals() == before.totals()
    machine, effects = machine.handle(PayPressed(at=at(5)))  # the wine still needs its check
    assert effects == [CallAttendant(AttendantReason.AGE_CHECK, SALE)]


def test_an_undo_on_the_idle_prompt_is_the_customer_back() -> None:
    machine, milk = removed(shopping(MILK, BREAD), 1)
    idle, effects = machine.handle(Tick(at=at(3 + TIMERS.idle_prompt_after_s)))
    assert idle.state is CheckoutState.IDLE_PROMPT and effects == [ShowIdlePrompt()]
    machine, effects = idle.handle(LinePutBack(at=at(70), sale_id=SALE, line=milk))
    assert machine.state is CheckoutState.SHOPPING
    assert [line.line_id for line in machine.cart.lines] == [1, 2]


def test_an_undo_after_the_sale_moved_on_does_nothing() -> None:
    def changes_nothing(machine: Checkout, event: LinePutBack) -> None:
        after, effects = machine.handle(event)  # at most a touch that restarts a timer
        assert effects == []
        assert (after.state, after.sale_id, after.cart) == (
            machine.state, machine.sale_id, machine.cart
        )

    machine, milk = removed(shopping(MILK, BREAD), 1)
    undo = LinePutBack(at=at(9), sale_id=SALE, line=milk)
    twice, _ = machine.handle(undo)
    changes_nothing(twice, undo)  # a second Undo: the line is back already
    paying_now, _ = machine.handle(PayPressed(at=at(4)))
    changes_nothing(paying_now, undo)
    paid, _ = paying_now.handle(PaymentSucceeded(at=at(5)))
    changes_nothing(paid, undo)
    gone, _ = machine.handle(CancelSale(at=at(4)))
    changes_nothing(gone, undo)
    next_sale, _ = run(gone, scanned(MILK, 5, sale=OTHER_SALE))
    changes_nothing(next_sale, undo)
    # its line 1 is another milk: never two lines with one id
    changes_nothing(next_sale, LinePutBack(at=at(9), sale_id=OTHER_SALE, line=milk))


def test_an_undo_past_a_limit_is_refused_in_place_without_calling_staff() -> None:
    machine, bread = removed(shopping(MILK, BREAD), 2)
    machine, _ = run(machine, scanned(WINE, 4), scanned(WHISKY, 5))  # the third line of 3
    after, effects = machine.handle(LinePutBack(at=at(6), sale_id=SALE, line=bread))
    assert effects == [Refused(CartOutcome.LIMIT_LINES)]
    assert (after.state, after.cart) == (CheckoutState.SHOPPING, machine.cart)


# --------------------------------------------------------------------------- paying


def test_pay_with_an_empty_cart_does_nothing() -> None:
    emptied, _ = shopping(MILK).handle(LineRemoved(at=at(2), line_id=1))
    machine, effects = emptied.handle(PayPressed(at=at(3)))
    assert effects == []
    assert machine.state is CheckoutState.SHOPPING
    assert machine.cart.is_empty


def test_pay_locks_the_cart_and_asks_for_the_total() -> None:
    machine, effects = shopping(MILK, BREAD).handle(PayPressed(at=at(4)))
    assert machine.state is CheckoutState.PAYING
    assert machine.payment_phase is PaymentPhase.WAITING_FOR_CARD
    totals = machine.cart.totals(POLICY)
    assert effects == [StartPayment(SALE, 379, totals)]
    assert totals.total_minor == 379


def test_a_cart_worth_nothing_cannot_be_paid_by_card() -> None:
    machine, _ = run(fresh(), scanned(CHEESE, scan=price_scan(0)))
    after, effects = machine.handle(PayPressed(at=at(3)))
    assert effects == [Refused(Refusal.NOTHING_TO_PAY)]
    assert after.state is CheckoutState.SHOPPING


def test_the_cart_cannot_change_while_paying() -> None:
    before = paying(MILK)
    for event in (
        scanned(BREAD, 4),
        QuantityChanged(at=at(4), line_id=1, quantity=2),
        LineRemoved(at=at(4), line_id=1),
    ):
        machine, effects = before.handle(event)
        assert effects == [Refused(CartOutcome.CART_LOCKED)]
        assert machine.cart == before.cart
        assert machine.state is CheckoutState.PAYING


def test_a_decline_unlocks_the_cart_and_keeps_the_code_for_the_screen() -> None:
    machine, effects = paying(MILK).handle(PaymentDeclined(at=at(9), code="insufficient_funds"))
    assert machine.state is CheckoutState.SHOPPING
    assert machine.payment_code == "insufficient_funds"
    assert effects == []
    machine, effects = machine.handle(scanned(BREAD, 10))
    assert len(machine.cart.lines) == 2
    machine, effects = machine.handle(PayPressed(at=at(11)))
    assert effects == [StartPayment(SALE, 379, machine.cart.totals(POLICY))]
    assert machine.payment_code is None


def test_a_cancelled_payment_returns_to_the_cart() -> None:
    machine, effects = paying(MILK).handle(PaymentCancelled(at=at(9)))
    assert effects == []
    assert machine.state is CheckoutState.SHOPPING
    assert machine.payment_code == "cancelled"
    assert not machine.payment_pending


def test_going_back_to_the_cart_while_waiting_for_a_card_cancels_the_reader_action() -> None:
    machine, effects = paying(MILK).handle(BackToCartPressed(at=at(5)))
    assert machine.state is CheckoutState.SHOPPING
    assert effects == [CancelWaitingPayment(SALE)]


def test_an_unsettled_payment_at_start_waits_for_staff_before_anyone_shops() -> None:
    start = Checkout.start(POLICY, LIMITS, TIMERS)
    machine, effects = start.handle(PaymentCheckNeeded(at=at(0)))
    assert machine.state is CheckoutState.NEEDS_ATTENDANT
    assert machine.attendant_reason is AttendantReason.PAYMENT_CHECK
    assert effects == [CallAttendant(AttendantReason.PAYMENT_CHECK, None)]
    refused, _ = machine.handle(scanned(BREAD, 1))
    assert refused.state is CheckoutState.NEEDS_ATTENDANT and refused.cart.is_empty
    checked, _ = machine.handle(AttendantDismissed(at=at(5)))
    assert checked.state is CheckoutState.ATTRACT
    shopping_now, _ = shopping(MILK).handle(PaymentCheckNeeded(at=at(9)))
    assert shopping_now.state is CheckoutState.SHOPPING  # only ever from the attract screen


def test_pay_is_refused_until_the_last_card_wait_is_cancelled_then_pays_again() -> None:
    back, _ = paying(MILK).handle(BackToCartPressed(at=at(5)))
    assert back.payment_pending
    again, effects = back.handle(PayPressed(at=at(6)))
    assert effects == [Refused(Refusal.PAYMENT_IN_PROGRESS)]
    assert again.state is CheckoutState.SHOPPING
    cancelled, _ = again.handle(PaymentCancelled(at=at(7)))
    assert not cancelled.payment_pending
    paying_again, effects = cancelled.handle(PayPressed(at=at(8)))
    assert paying_again.state is CheckoutState.PAYING
    assert [type(effect) for effect in effects] == [StartPayment]


def test_going_back_is_refused_once_a_card_is_being_authorised() -> None:
    authorising, _ = paying(MILK).handle(
        PaymentPhaseChanged(at=at(5), phase=PaymentPhase.AUTHORISING)
    )
    machine, effects = authorising.handle(BackToCartPressed(at=at(6)))
    assert effects == [Refused(Refusal.PAYMENT_IN_PROGRESS)]
    assert machine.state is CheckoutState.PAYING
    assert machine.payment_phase is PaymentPhase.AUTHORISING


def test_a_successful_payment_marks_the_sale_paid() -> None:
    before = paying(MILK, BREAD)
    machine, effects = before.handle(PaymentSucceeded(at=at(20)))
    assert machine.state is CheckoutState.PAID
    assert effects == [SalePaid(SALE, 379, before.cart, at(20))]


def test_the_sale_cannot_be_cancelled_while_paying() -> None:
    machine, effects = paying(MILK).handle(CancelSale(at=at(5)))
    assert effects == [Refused(Refusal.PAYMENT_IN_PROGRESS)]
    assert machine.state is CheckoutState.PAYING


# -------------------------------------------------------------------------- age check


def test_pay_with_an_age_restricted_item_asks_the_attendant_for_an_age_check() -> None:
    machine, effects = shopping(MILK, WINE).handle(PayPressed(at=at(4)))
    assert machine.state is CheckoutState.NEEDS_ATTENDANT
    assert machine.attendant_reason is AttendantReason.AGE_CHECK
    assert effects == [CallAttendant(AttendantReason.AGE_CHECK, SALE)]


def test_one_age_approval_covers_the_whole_sale() -> None:
    machine, _ = shopping(WINE).handle(PayPressed(at=at(4)))
    approval = AttendantApproved(at=at(30), staff_number="0007", reason=AttendantReason.AGE_CHECK)
    machine, effects = machine.handle(approval)
    assert machine.state is CheckoutState.SHOPPING
    assert machine.age_approved_by == "0007"
    assert effects == [
        ApprovalGiven(SALE, "0007", AttendantReason.AGE_CHECK, at(30), "approve.age_check")
    ]
    machine, effects = run(machine, scanned(WHISKY, 31), PayPressed(at=at(32)))
    assert machine.state is CheckoutState.PAYING
    assert effects[-1] == StartPayment(SALE, 899 + 3499, machine.cart.totals(POLICY))


def test_a_dismissed_age_check_asks_again_at_the_next_pay() -> None:
    machine, _ = shopping(WINE).handle(PayPressed(at=at(4)))
    machine, _ = machine.handle(AttendantDismissed(at=at(30)))
    assert machine.state is CheckoutState.SHOPPING
    machine, effects = machine.handle(PayPressed(at=at(31)))
    assert machine.attendant_reason is AttendantReason.AGE_CHECK
    assert effects == [CallAttendant(AttendantReason.AGE_CHECK, SALE)]


def test_removing_the_restricted_item_lets_the_customer_pay_without_a_check() -> None:
    machine, _ = shopping(MILK, WINE).handle(PayPressed(at=at(4)))
    machine, _ = run(machine, AttendantDismissed(at=at(30)), LineRemoved(at=at(31), line_id=2))
    machine, effects = machine.handle(PayPressed(at=at(32)))
    assert machine.state is CheckoutState.PAYING
    assert isinstance(effects[0], StartPayment)


# ------------------------------------------------------------------ after the payment


def test_choosing_a_receipt_ends_the_session_on_the_attract_screen() -> None:
    paid, _ = paying(MILK).handle(PaymentSucceeded(at=at(20)))
    machine, effects = paid.handle(ReceiptChosen(at=at(25), choice=ReceiptChoice.PRINT))
    assert machine.state is CheckoutState.ATTRACT
    assert machine.sale_id is None
    assert machine.cart.is_empty
    assert effects == [SessionEnded(SALE, ReceiptChoice.PRINT)]


def test_finishing_the_session_without_a_receipt_returns_to_attract() -> None:
    paid, _ = paying(MILK).handle(PaymentSucceeded(at=at(20)))
    machine, effects = paid.handle(SessionFinished(at=at(22)))
    assert machine.state is CheckoutState.ATTRACT
    assert effects == [SessionEnded(SALE, None)]


def test_the_paid_screen_times_out_to_attract_without_a_receipt_choice() -> None:
    paid, _ = paying(MILK).handle(PaymentSucceeded(at=at(20)))
    assert paid.handle(Tick(at=at(49))) == (paid, [])
    machine, effects = paid.handle(Tick(at=at(50)))
    assert machine.state is CheckoutState.ATTRACT
    assert effects == [SessionEnded(SALE, None)]


def test_the_cart_is_locked_on_the_paid_screen() -> None:
    paid, _ = paying(MILK).handle(PaymentSucceeded(at=at(20)))
    machine, effects = paid.handle(scanned(BREAD, 21, sale=OTHER_SALE))
    assert effects == [Refused(CartOutcome.CART_LOCKED)]
    # Only the receipt choice's time starts again: the customer is there ("More time").
    assert machine == replace(paid, waiting_since=at(21))


# --------------------------------------------------------------------------- cancelling


def test_the_customer_can_cancel_the_whole_sale() -> None:
    machine, effects = shopping(MILK, BREAD).handle(CancelSale(at=at(7)))
    assert machine.state is CheckoutState.ATTRACT
    assert machine.cart.is_empty
    assert machine.sale_id is None
    assert effects == [SaleAbandoned(SALE, AbandonReason.CUSTOMER_CANCELLED, at(7))]


def test_the_sale_can_be_cancelled_while_waiting_for_the_attendant() -> None:
    waiting, _ = fresh().handle(scanned(None, scan=scan_of(MILK)))
    machine, effects = waiting.handle(CancelSale(at=at(7)))
    assert machine.state is CheckoutState.ATTRACT
    assert effects == [SaleAbandoned(SALE, AbandonReason.CUSTOMER_CANCELLED, at(7))]


def test_after_a_cancelled_sale_the_next_scan_starts_a_new_sale() -> None:
    cancelled, _ = shopping(MILK).handle(CancelSale(at=at(7)))
    machine, effects = cancelled.handle(scanned(BREAD, 8, sale=OTHER_SALE))
    assert machine.sale_id == OTHER_SALE
    assert effects[0] == SaleStarted(OTHER_SALE, at(8))
    assert [line.code for line in machine.cart.lines] == [BREAD.code]


# ------------------------------------------------------------------------- inactivity


def test_an_idle_customer_is_asked_whether_they_are_still_there() -> None:
    machine = shopping(MILK)  # last activity at 0 s
    assert machine.handle(Tick(at=at(59.9))) == (machine, [])
    machine, effects = machine.handle(Tick(at=at(60)))
    assert machine.state is CheckoutState.IDLE_PROMPT
    assert effects == [ShowIdlePrompt()]


def test_a_touch_on_the_idle_prompt_returns_to_shopping_and_restarts_the_timer() -> None:
    machine, _ = shopping(MILK).handle(Tick(at=at(60)))
    machine, effects = machine.handle(CustomerActive(at=at(70)))
    assert machine.state is CheckoutState.SHOPPING
    assert effects == []
    assert machine.handle(Tick(at=at(129))) == (machine, [])
    assert machine.handle(Tick(at=at(130)))[0].state is CheckoutState.IDLE_PROMPT


def test_activity_while_shopping_postpones_the_idle_prompt() -> None:
    machine, effects = run(shopping(MILK), CustomerActive(at=at(50)), Tick(at=at(100)))
    assert machine.state is CheckoutState.SHOPPING
    assert effects == []


def test_a_scan_on_the_idle_prompt_returns_to_shopping_and_adds_the_item() -> None:
    machine, _ = shopping(MILK).handle(Tick(at=at(60)))
    machine, effects = machine.handle(scanned(BREAD, 65))
    assert machine.state is CheckoutState.SHOPPING
    assert effects == [CartChanged(SALE, machine.cart, 2)]


def test_an_unanswered_idle_prompt_abandons_the_sale() -> None:
    machine, _ = shopping(MILK).handle(Tick(at=at(60)))
    assert machine.handle(Tick(at=at(89))) == (machine, [])
    machine, effects = machine.handle(Tick(at=at(90)))
    assert machine.state is CheckoutState.ATTRACT
    assert machine.cart.is_empty
    assert machine.sale_id is None
    assert effects == [SaleAbandoned(SALE, AbandonReason.IDLE_TIMEOUT, at(90))]


def test_a_clock_that_steps_back_fires_no_timer() -> None:
    machine = shopping(MILK)
    assert machine.handle(Tick(at=at(-3600))) == (machine, [])


def test_the_attract_screen_and_the_attendant_wait_have_no_timers() -> None:
    assert fresh().handle(Tick(at=at(10_000))) == (fresh(), [])
    waiting, _ = shopping(MILK).handle(HelpRequested(at=at(1)))
    assert waiting.handle(Tick(at=at(10_000))) == (waiting, [])


def test_a_customer_who_never_presents_a_card_is_sent_back_to_the_cart() -> None:
    machine = paying(MILK)  # waiting for a card since 1 s
    assert machine.handle(Tick(at=at(120))) == (machine, [])
    machine, effects = machine.handle(Tick(at=at(121)))
    assert machine.state is CheckoutState.SHOPPING
    assert effects == [CancelWaitingPayment(SALE)]


def test_a_touch_while_waiting_for_a_card_restarts_the_card_wait() -> None:
    machine, _ = paying(MILK).handle(CustomerActive(at=at(100)))
    assert machine.handle(Tick(at=at(219))) == (machine, [])
    assert machine.handle(Tick(at=at(220)))[0].state is CheckoutState.SHOPPING


def test_a_card_being_authorised_never_times_out_and_completes_the_sale() -> None:
    machine, _ = paying(MILK).handle(PaymentPhaseChanged(at=at(30), phase=PaymentPhase.AUTHORISING))
    machine, effects = run(machine, Tick(at=at(600)), Tick(at=at(7200)))
    assert machine.state is CheckoutState.PAYING
    assert effects == []
    machine, effects = machine.handle(PaymentSucceeded(at=at(7201)))
    assert machine.state is CheckoutState.PAID
    assert isinstance(effects[-1], SalePaid)


# ------------------------------------------------------------- a card that comes too late


def test_a_card_presented_as_the_wait_timed_out_still_completes_the_sale_for_the_paid_cart() -> (
    None
):
    paid_cart = paying(MILK).cart
    machine, effects = run(
        paying(MILK),
        Tick(at=at(121)),  # card wait over: cancel sent, back to the cart
        scanned(BREAD, 122),  # the customer adds something meanwhile
        PaymentPhaseChanged(at=at(123), phase=PaymentPhase.AUTHORISING),  # the cancel lost
    )
    assert machine.state is CheckoutState.PAYING
    assert machine.payment_phase is PaymentPhase.AUTHORISING
    assert machine.cart == paid_cart
    assert effects[-1] == CartChanged(SALE, paid_cart, None)
    machine, effects = machine.handle(PaymentSucceeded(at=at(130)))
    assert machine.state is CheckoutState.PAID
    assert effects == [SalePaid(SALE, 129, paid_cart, at(130))]


def test_a_late_success_after_going_back_to_the_cart_marks_the_sale_paid() -> None:
    before = paying(MILK, BREAD)
    machine, effects = run(
        before,
        BackToCartPressed(at=at(5)),
        LineRemoved(at=at(6), line_id=2),
        PaymentSucceeded(at=at(7)),
    )
    assert machine.state is CheckoutState.PAID
    assert machine.cart == before.cart
    assert effects[-2:] == [
        CartChanged(SALE, before.cart, None),
        SalePaid(SALE, 379, before.cart, at(7)),
    ]


def test_a_sale_with_a_payment_still_pending_is_not_abandoned_until_it_is_settled() -> None:
    machine, _ = run(paying(MILK), BackToCartPressed(at=at(5)))
    assert machine.payment_pending
    machine, effects = machine.handle(CancelSale(at=at(6)))
    assert effects == [Refused(Refusal.PAYMENT_IN_PROGRESS)]
    machine, _ = run(machine, Tick(at=at(70)), Tick(at=at(500)))
    assert machine.state is CheckoutState.IDLE_PROMPT
    machine, effects = run(machine, PaymentCancelled(at=at(501)), Tick(at=at(502)))
    assert not machine.payment_pending
    assert machine.state is CheckoutState.ATTRACT
    assert effects == [SaleAbandoned(SALE, AbandonReason.IDLE_TIMEOUT, at(502))]


def test_a_late_decline_after_going_back_changes_nothing_but_the_code() -> None:
    back, _ = run(paying(MILK), BackToCartPressed(at=at(5)))
    machine, effects = back.handle(PaymentDeclined(at=at(6), code="card_declined"))
    assert effects == []
    assert machine.state is CheckoutState.SHOPPING
    assert machine.payment_code == "card_declined"
    assert not machine.payment_pending


# -------------------------------------------------------------------------- restoring


def restored_lines() -> list[CartLine]:
    return [
        CartLine(1, MILK.code, MILK.name, 2, 129, None, "reduced", None, 258),
        CartLine(3, WINE.code, WINE.name, 1, 899, None, "standard", 18, 899),
    ]


def test_a_restored_cart_resumes_shopping_in_its_sale() -> None:
    machine = Checkout.restore(SALE, Cart.restore(restored_lines()), at(0), POLICY, LIMITS, TIMERS)
    assert machine.state is CheckoutState.SHOPPING
    assert machine.sale_id == SALE
    assert machine.cart.limits == LIMITS
    machine, effects = machine.handle(scanned(BREAD, 1, sale=OTHER_SALE))
    assert effects == [CartChanged(SALE, machine.cart, 4)]


def test_a_sale_paid_during_a_restart_waits_for_the_receipt_choice_then_ends() -> None:
    machine = Checkout.restore_paid(
        SALE, Cart.restore(restored_lines()), at(0), POLICY, LIMITS, TIMERS
    )
    assert machine.state is CheckoutState.PAID
    assert machine.sale_id == SALE and len(machine.cart.lines) == 2
    refused, effects = machine.handle(scanned(BREAD, 1, sale=OTHER_SALE))
    assert refused.state is CheckoutState.PAID and refused.cart == machine.cart
    ended, effects = machine.handle(Tick(at=at(31)))
    assert ended.state is CheckoutState.ATTRACT
    assert effects == [SessionEnded(SALE, None)]


def test_a_restored_sale_needs_a_new_age_check() -> None:
    machine = Checkout.restore(SALE, Cart.restore(restored_lines()), at(0), POLICY, LIMITS, TIMERS)
    machine, effects = machine.handle(PayPressed(at=at(1)))
    assert effects == [CallAttendant(AttendantReason.AGE_CHECK, SALE)]


def test_a_restored_cart_with_a_tax_class_no_longer_configured_goes_to_the_attendant() -> None:
    line = CartLine(1, GIFT.code, GIFT.name, 1, 2000, None, "exempt", None, 2000)
    machine = Checkout.restore(SALE, Cart.restore([line]), at(0), POLICY, LIMITS, TIMERS)
    assert machine.totals() is None
    machine, effects = machine.handle(PayPressed(at=at(1)))
    assert machine.state is CheckoutState.NEEDS_ATTENDANT
    assert effects == [CallAttendant(AttendantReason.UNKNOWN_ITEM, SALE)]


def test_a_restored_checkout_goes_idle_from_its_restore_time() -> None:
    machine = Checkout.restore(SALE, Cart.restore(restored_lines()), at(0), POLICY, LIMITS, TIMERS)
    machine, effects = machine.handle(Tick(at=at(60)))
    assert effects == [ShowIdlePrompt()]


# ------------------------------------------------------------------ events out of place


def test_events_that_do_not_apply_to_the_state_are_ignored() -> None:
    approval = AttendantApproved(at=at(1), staff_number="1", reason=AttendantReason.HELP)
    attract = fresh()
    for event in (
        PayPressed(at=at(1)),
        PaymentSucceeded(at=at(1)),
        PaymentDeclined(at=at(1), code="x"),
        PaymentCancelled(at=at(1)),
        PaymentPhaseChanged(at=at(1), phase=PaymentPhase.AUTHORISING),
        ReceiptChosen(at=at(1), choice=ReceiptChoice.QR),
        SessionFinished(at=at(1)),
        CancelSale(at=at(1)),
        CustomerActive(at=at(1)),
        BackToCartPressed(at=at(1)),
        QuantityChanged(at=at(1), line_id=1, quantity=2),
        LineRemoved(at=at(1), line_id=1),
        AttendantDismissed(at=at(1)),
        approval,
    ):
        assert attract.handle(event) == (attract, []), event
    busy = shopping(MILK)
    for event in (
        PaymentSucceeded(at=at(1)),
        PaymentPhaseChanged(at=at(1), phase=PaymentPhase.AUTHORISING),
        SessionFinished(at=at(1)),
        AttendantDismissed(at=at(1)),
        approval,
    ):
        assert busy.handle(event) == (busy, []), event


# ------------------------------------------------------------------------ any event order


class CheckoutInAnyOrder(RuleBasedStateMachine):
    """A customer, an attendant and a payment terminal doing anything, in any order.

    Each rule sends one event; the invariants hold after every one of them.
    """

    def __init__(self) -> None:
        super().__init__()
        self.machine = fresh()
        self.now = T0
        self.open_sale: str | None = None
        self.asked: dict[str, int] = {}
        self.paid_sales: set[str] = set()
        self.scans = 0
        self.removed: tuple[str, CartLine] | None = None

    def new_sale_id(self) -> str:
        """A fresh id for every scan, as the facade makes a UUID for each."""
        self.scans += 1
        return f"sale-{self.scans}"

    def send(self, event: Event) -> None:
        before = self.machine
        self.machine, effects = before.handle(event)
        for effect in effects:
            if isinstance(effect, SaleStarted):
                assert self.open_sale is None
                self.open_sale = effect.sale_id
            elif isinstance(effect, SaleAbandoned):
                assert effect.sale_id == self.open_sale
                self.open_sale = None
            elif isinstance(effect, SalePaid):
                assert effect.sale_id == self.open_sale
                assert effect.sale_id not in self.paid_sales
                assert effect.amount_minor == self.asked[effect.sale_id]
                assert effect.cart.totals(POLICY).total_minor == effect.amount_minor
                self.paid_sales.add(effect.sale_id)
                self.open_sale = None
            elif isinstance(effect, StartPayment):
                assert effect.sale_id == self.open_sale
                assert effect.amount_minor > 0
                assert effect.amount_minor == self.machine.cart.totals(POLICY).total_minor
                self.asked[effect.sale_id] = effect.amount_minor
            elif isinstance(effect, CartChanged):
                assert effect.sale_id == self.machine.sale_id
                assert effect.cart == self.machine.cart
            elif isinstance(effect, Refused):
                assert self.machine.cart == before.cart

    def later(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    @rule(product=st.sampled_from([MILK, BREAD, WINE, WHISKY, APPLES, GIFT, None]))
    def scan_an_item(self, product: Product | None) -> None:
        scan = scan_of(product or MILK)
        self.send(
            ItemScanned(
                at=self.later(2), scan=scan, product=product, new_sale_id=self.new_sale_id()
            )
        )

    @rule(price=st.integers(min_value=0, max_value=4000))
    def scan_a_priced_label(self, price: int) -> None:
        scan = price_scan(price)
        self.send(
            ItemScanned(at=self.later(2), scan=scan, product=CHEESE, new_sale_id=self.new_sale_id())
        )

    @rule(line_id=st.integers(0, 5), quantity=st.integers(-1, 7))
    def change_a_quantity(self, line_id: int, quantity: int) -> None:
        self.send(QuantityChanged(at=self.later(1), line_id=line_id, quantity=quantity))

    @rule(line_id=st.integers(0, 5))
    def remove_a_line(self, line_id: int) -> None:
        line = self.machine.cart.line(line_id)
        if line is not None and self.machine.sale_id is not None:
            self.removed = (self.machine.sale_id, line)
        self.send(LineRemoved(at=self.later(1), line_id=line_id))

    @rule()
    def undo_the_last_removal(self) -> None:
        if self.removed is not None:
            sale_id, line = self.removed
            self.send(LinePutBack(at=self.later(1), sale_id=sale_id, line=line))

    @rule()
    def press_pay(self) -> None:
        self.send(PayPressed(at=self.later(1)))

    @rule()
    def go_back_to_the_cart(self) -> None:
        self.send(BackToCartPressed(at=self.later(1)))

    @rule(matching=st.booleans(), reason=st.sampled_from(list(AttendantReason)))
    def attendant_approves(self, matching: bool, reason: AttendantReason) -> None:
        if matching and self.machine.attendant_reason is not None:
            reason = self.machine.attendant_reason
        self.send(AttendantApproved(at=self.later(10), staff_number="0042", reason=reason))

    @rule()
    def attendant_dismisses(self) -> None:
        self.send(AttendantDismissed(at=self.later(10)))

    @rule()
    def ask_for_help(self) -> None:
        self.send(HelpRequested(at=self.later(1)))

    @rule()
    def touch_the_screen(self) -> None:
        self.send(CustomerActive(at=self.later(1)))

    @rule(phase=st.sampled_from(list(PaymentPhase)))
    def reader_changes_phase(self, phase: PaymentPhase) -> None:
        self.send(PaymentPhaseChanged(at=self.later(1), phase=phase))

    @rule()
    def payment_succeeds(self) -> None:
        self.send(PaymentSucceeded(at=self.later(3)))

    @rule()
    def payment_is_declined(self) -> None:
        self.send(PaymentDeclined(at=self.later(3), code="card_declined"))

    @rule()
    def payment_is_cancelled(self) -> None:
        self.send(PaymentCancelled(at=self.later(1)))

    @rule(choice=st.sampled_from(list(ReceiptChoice)))
    def choose_a_receipt(self, choice: ReceiptChoice) -> None:
        self.send(ReceiptChosen(at=self.later(2), choice=choice))

    @rule()
    def finish_the_session(self) -> None:
        self.send(SessionFinished(at=self.later(1)))

    @rule()
    def cancel_the_sale(self) -> None:
        self.send(CancelSale(at=self.later(1)))

    @rule(seconds=st.sampled_from([0.5, 29, 31, 59, 61, 121, 3600, -30]))
    def time_passes(self, seconds: float) -> None:
        self.send(Tick(at=self.later(seconds)))

    @invariant()
    def the_machine_is_consistent(self) -> None:
        machine = self.machine
        ids = [line.line_id for line in machine.cart.lines]
        assert ids == sorted(set(ids))  # scan order, never two lines with one id
        if machine.state is CheckoutState.PAYING:
            assert not machine.cart.is_empty
            assert machine.payment_pending
            assert machine.payment_phase is not None
        if machine.state is CheckoutState.ATTRACT:
            assert machine.sale_id is None
            assert machine.cart.is_empty
        elif machine.state is not CheckoutState.NEEDS_ATTENDANT:
            assert machine.sale_id is not None
        if machine.state is CheckoutState.NEEDS_ATTENDANT:
            assert machine.attendant_reason is not None
        if machine.state is not CheckoutState.PAID:
            assert machine.sale_id == self.open_sale
        assert len(machine.cart.lines) <= LIMITS.max_lines
        assert machine.cart.amount_minor <= LIMITS.max_cart_total_minor


CheckoutInAnyOrder.TestCase.settings = settings(stateful_step_count=60)
test_the_checkout_handles_any_events_in_any_order = CheckoutInAnyOrder.TestCase
