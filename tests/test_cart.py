"""The cart: scans, repeat scans, weighed and price-embedded items, quantities and limits."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from stdnum import ean

from kiosk.core.barcodes import Scan, parse_scan
from kiosk.core.cart import Cart, CartLine, CartOutcome, weighed_amount_minor
from kiosk.core.catalog import Product, plu_code
from kiosk.core.shop_rules import (
    CartLimits,
    ScanRules,
    TaxClass,
    TaxMode,
    TaxPolicy,
    VariableMeasureLayout,
)

RULES = ScanRules(
    variable_measure=(
        VariableMeasureLayout(prefixes=("21",), value="price"),
        VariableMeasureLayout(prefixes=("22",), value="weight"),
    )
)
POLICY = TaxPolicy(
    {
        "standard": TaxClass("standard", Decimal("0.20")),
        "reduced": TaxClass("reduced", Decimal("0.05")),
    },
    TaxMode.INCLUSIVE,
)

MILK = Product("04006381333931", "Milk 1 l", 129, "reduced")
BREAD = Product("00036000291452", "Bread", 250, "reduced")
WINE = Product("05901234123457", "Red wine", 899, "standard", min_age=18)
WHISKY = Product("00012345678905", "Whisky", 3499, "standard", min_age=21)
APPLES = Product(
    "09501101530003",
    "Apples (loose)",
    0,
    "reduced",
    sold_by_weight=True,
    unit_price_per_kg_minor=299,
)
CHEESE = Product(plu_code("01234"), "Cheese counter", 0, "reduced")
HAM = Product(plu_code("05678"), "Ham (by weight)", 0, "reduced", sold_by_weight=True,
              unit_price_per_kg_minor=1999)  # fmt: skip
PLAIN_PRODUCTS = (MILK, BREAD, WINE, WHISKY)


def in_store_code(prefix: str, item: str, value: int) -> bytes:
    """An in-store EAN-13 with prefix, 5 item digits and 5 value digits."""
    twelve = f"{prefix}{item}{value:05d}"
    return (twelve + ean.calc_check_digit(twelve)).encode()


def scan_of(product: Product) -> Scan:
    return parse_scan(product.code.encode() + b"\r\n", RULES)


def price_scan(price_minor: int, item: str = "01234") -> Scan:
    return parse_scan(in_store_code("21", item, price_minor), RULES)


def weight_scan(weight_g: int, item: str = "05678") -> Scan:
    return parse_scan(in_store_code("22", item, weight_g), RULES)


def added(cart: Cart, scan: Scan, product: Product | None) -> Cart:
    new_cart, outcome = cart.add_scan(scan, product)
    assert outcome in (CartOutcome.ADDED, CartOutcome.QUANTITY_INCREASED), outcome
    return new_cart


def test_scanning_an_item_adds_a_line_with_the_product_details() -> None:
    cart, outcome = Cart().add_scan(scan_of(WINE), WINE)
    assert outcome is CartOutcome.ADDED
    assert cart.lines == (
        CartLine(
            line_id=1,
            code=WINE.code,
            name="Red wine",
            quantity=1,
            unit_price_minor=899,
            weight_g=None,
            tax_class="standard",
            min_age=18,
            amount_minor=899,
        ),
    )


def test_scanning_the_same_item_again_adds_one_to_its_line() -> None:
    cart = added(Cart(), scan_of(MILK), MILK)
    cart = added(cart, scan_of(BREAD), BREAD)
    cart, outcome = cart.add_scan(scan_of(MILK), MILK)
    assert outcome is CartOutcome.QUANTITY_INCREASED
    assert [(line.code, line.quantity, line.amount_minor) for line in cart.lines] == [
        (MILK.code, 2, 258),
        (BREAD.code, 1, 250),
    ]


def test_a_price_embedded_scan_makes_a_new_line_each_time_at_the_embedded_price() -> None:
    cart = added(Cart(), price_scan(347), CHEESE)
    cart, outcome = cart.add_scan(price_scan(347), CHEESE)
    assert outcome is CartOutcome.ADDED
    assert [(line.line_id, line.quantity, line.amount_minor) for line in cart.lines] == [
        (1, 1, 347),
        (2, 1, 347),
    ]
    assert cart.lines[0].unit_price_minor == 347
    assert cart.lines[0].code == "plu:01234"


def test_a_weighed_scan_is_priced_from_the_weight_rounded_half_up() -> None:
    # 1234 g at 19.99 a kg is 24.66766 -> 2467; 500 g at 19.99 is 9.995 -> 1000 (half up).
    cart = added(Cart(), weight_scan(1234), HAM)
    cart, outcome = cart.add_scan(weight_scan(500), HAM)
    assert outcome is CartOutcome.ADDED
    assert [(line.weight_g, line.unit_price_minor, line.amount_minor) for line in cart.lines] == [
        (1234, 1999, 2467),
        (500, 1999, 1000),
    ]


def test_a_weighed_amount_rounds_half_a_minor_unit_up() -> None:
    assert weighed_amount_minor(1500, 333) == 500  # 499.5
    assert weighed_amount_minor(1499, 333) == 499  # 499.167
    assert weighed_amount_minor(0, 333) == 0


def test_a_plain_scan_of_an_item_sold_by_weight_needs_the_scale_and_changes_nothing() -> None:
    cart = added(Cart(), scan_of(MILK), MILK)
    after, outcome = cart.add_scan(scan_of(APPLES), APPLES)
    assert outcome is CartOutcome.WEIGHED_ITEM_NEEDS_SCALE
    assert after is cart


def test_a_weight_scan_of_an_item_without_a_price_per_kilogram_needs_the_scale() -> None:
    after, outcome = Cart().add_scan(weight_scan(250, item="01234"), CHEESE)
    assert outcome is CartOutcome.WEIGHED_ITEM_NEEDS_SCALE
    assert after.is_empty


def test_an_item_not_in_the_catalog_is_reported_and_not_added() -> None:
    cart = added(Cart(), scan_of(MILK), MILK)
    after, outcome = cart.add_scan(scan_of(BREAD), None)
    assert outcome is CartOutcome.ITEM_NOT_FOUND
    assert after is cart


def test_a_repeat_scan_past_the_quantity_limit_is_refused_and_the_cart_is_unchanged() -> None:
    cart = Cart(limits=CartLimits(max_quantity_per_line=2))
    cart = added(added(cart, scan_of(MILK), MILK), scan_of(MILK), MILK)
    after, outcome = cart.add_scan(scan_of(MILK), MILK)
    assert outcome is CartOutcome.LIMIT_QUANTITY_PER_LINE
    assert outcome.is_limit
    assert after is cart
    assert cart.lines[0].quantity == 2


def test_a_new_line_past_the_line_limit_is_refused() -> None:
    cart = Cart(limits=CartLimits(max_lines=2))
    cart = added(added(cart, scan_of(MILK), MILK), scan_of(BREAD), BREAD)
    after, outcome = cart.add_scan(scan_of(WINE), WINE)
    assert outcome is CartOutcome.LIMIT_LINES
    assert after is cart
    # A repeat scan of an item already in the cart makes no new line and is fine.
    assert cart.add_scan(scan_of(MILK), MILK)[1] is CartOutcome.QUANTITY_INCREASED


def test_an_item_that_would_pass_the_cart_total_limit_is_refused() -> None:
    cart = Cart(limits=CartLimits(max_cart_total_minor=1000))
    cart = added(cart, scan_of(WINE), WINE)  # 899
    after, outcome = cart.add_scan(scan_of(MILK), MILK)  # 899 + 129 > 1000
    assert outcome is CartOutcome.LIMIT_CART_TOTAL
    assert after is cart
    assert cart.add_scan(price_scan(101), CHEESE)[1] is CartOutcome.ADDED  # exactly 1000


def test_changing_a_quantity_reprices_the_line() -> None:
    cart = added(Cart(), scan_of(BREAD), BREAD)
    cart, outcome = cart.change_quantity(1, 4)
    assert outcome is CartOutcome.QUANTITY_CHANGED
    assert (cart.lines[0].quantity, cart.lines[0].amount_minor) == (4, 1000)
    cart, outcome = cart.change_quantity(1, 1)
    assert (cart.lines[0].quantity, cart.lines[0].amount_minor) == (1, 250)


def test_a_quantity_below_one_is_refused() -> None:
    cart = added(Cart(), scan_of(BREAD), BREAD)
    for quantity in (0, -3):
        after, outcome = cart.change_quantity(1, quantity)
        assert outcome is CartOutcome.BAD_QUANTITY
        assert after is cart


def test_changing_the_quantity_of_a_missing_line_is_reported() -> None:
    cart = added(Cart(), scan_of(BREAD), BREAD)
    after, outcome = cart.change_quantity(99, 2)
    assert outcome is CartOutcome.LINE_NOT_FOUND
    assert after is cart


def test_the_quantity_of_a_weighed_or_price_embedded_line_is_fixed() -> None:
    cart = added(added(Cart(), weight_scan(1234), HAM), price_scan(347), CHEESE)
    for line_id in (1, 2):
        after, outcome = cart.change_quantity(line_id, 2)
        assert outcome is CartOutcome.QUANTITY_FIXED
        assert after is cart


def test_raising_a_quantity_past_a_limit_is_refused_and_names_the_limit() -> None:
    cart = Cart(limits=CartLimits(max_quantity_per_line=5, max_cart_total_minor=1000))
    cart = added(cart, scan_of(BREAD), BREAD)
    assert cart.change_quantity(1, 6) == (cart, CartOutcome.LIMIT_QUANTITY_PER_LINE)
    assert cart.change_quantity(1, 5) == (cart, CartOutcome.LIMIT_CART_TOTAL)  # 1250
    assert cart.change_quantity(1, 4)[1] is CartOutcome.QUANTITY_CHANGED  # 1000


def test_lowering_a_quantity_is_allowed_even_in_a_cart_already_over_its_limits() -> None:
    line = CartLine(1, BREAD.code, "Bread", 10, 250, None, "reduced", None, 2500)
    cart = Cart.restore([line], CartLimits(max_quantity_per_line=5, max_cart_total_minor=1000))
    lowered, outcome = cart.change_quantity(1, 8)
    assert outcome is CartOutcome.QUANTITY_CHANGED
    assert lowered.amount_minor == 2000


def test_removing_a_line_takes_it_out_and_its_id_is_not_reused() -> None:
    cart = added(added(Cart(), scan_of(MILK), MILK), scan_of(BREAD), BREAD)
    cart, outcome = cart.remove_line(2)
    assert outcome is CartOutcome.REMOVED
    assert [line.line_id for line in cart.lines] == [1]
    cart = added(cart, scan_of(WINE), WINE)
    assert [line.line_id for line in cart.lines] == [1, 3]


def test_removing_a_missing_line_is_reported() -> None:
    cart = added(Cart(), scan_of(MILK), MILK)
    assert cart.remove_line(7) == (cart, CartOutcome.LINE_NOT_FOUND)


def test_a_removed_line_is_put_back_exactly_as_it_was_in_its_place() -> None:
    cart = added(added(added(Cart(), scan_of(MILK), MILK), scan_of(WINE), WINE),
                 weight_scan(750), HAM)  # fmt: skip
    cart, _ = cart.change_quantity(2, 3)
    wine = cart.line(2)
    assert wine is not None
    removed, _ = cart.remove_line(2)
    back, outcome = removed.put_back(wine)
    assert outcome is CartOutcome.PUT_BACK and outcome.changed_cart
    assert back == cart  # the same line (quantity, price, age) between the same neighbours
    assert back.max_min_age == 18
    assert added(back, scan_of(BREAD), BREAD).lines[-1].line_id == 4  # no id given twice


def test_a_line_is_not_put_back_twice_nor_into_a_cart_that_never_had_it() -> None:
    cart = added(added(Cart(), scan_of(MILK), MILK), scan_of(BREAD), BREAD)
    bread = cart.line(2)
    assert bread is not None
    assert cart.put_back(bread) == (cart, CartOutcome.LINE_IN_CART)
    stranger = CartLine(9, BREAD.code, "Bread", 1, 250, None, "reduced", None, 250)
    assert cart.put_back(stranger) == (cart, CartOutcome.LINE_NOT_FOUND)


def test_putting_a_line_back_keeps_to_the_limits_the_rest_of_the_cart_grew_into() -> None:
    limits = CartLimits(max_quantity_per_line=10, max_lines=2, max_cart_total_minor=1100)
    cart = added(added(Cart(limits=limits), scan_of(MILK), MILK), scan_of(BREAD), BREAD)
    bread = cart.line(2)
    assert bread is not None
    removed, _ = cart.remove_line(2)
    grown, _ = removed.change_quantity(1, 7)  # 903 of 1100
    assert grown.put_back(bread) == (grown, CartOutcome.LIMIT_CART_TOTAL)
    full = added(removed, scan_of(WINE), WINE)
    assert full.put_back(bread) == (full, CartOutcome.LIMIT_LINES)


def test_the_cart_totals_come_from_the_tax_rules() -> None:
    cart = added(added(Cart(), scan_of(WINE), WINE), weight_scan(1000), HAM)
    totals = cart.totals(POLICY)
    assert totals.total_minor == 899 + 1999
    assert [entry.tax_class for entry in totals.breakdown] == ["standard", "reduced"]
    assert totals.tax_minor == 150 + 95  # 899 / 6 = 149.83; 1999 * 5 / 105 = 95.19


def test_the_cart_knows_its_highest_age_restriction() -> None:
    cart = added(Cart(), scan_of(MILK), MILK)
    assert cart.max_min_age is None
    cart = added(cart, scan_of(WINE), WINE)
    assert cart.max_min_age == 18
    cart = added(cart, scan_of(WHISKY), WHISKY)
    assert cart.max_min_age == 21
    assert cart.remove_line(3)[0].max_min_age == 18


def test_a_cart_is_restored_from_its_persisted_lines_and_keeps_numbering_after_them() -> None:
    original = added(added(added(Cart(), scan_of(MILK), MILK), scan_of(BREAD), BREAD),
                     weight_scan(750), HAM)  # fmt: skip
    restored = Cart.restore(reversed(original.lines), original.limits)
    assert restored == original
    restored = added(restored, scan_of(MILK), MILK)
    assert restored.lines[0].quantity == 2
    restored = added(restored, scan_of(WINE), WINE)
    assert restored.lines[-1].line_id == 4


def test_a_restored_cart_can_be_told_its_next_line_id() -> None:
    line = CartLine(2, MILK.code, "Milk 1 l", 1, 129, None, "reduced", None, 129)
    cart = Cart.restore([line], next_line_id=7)
    assert added(cart, scan_of(BREAD), BREAD).lines[-1].line_id == 7
    assert Cart.restore([]).next_line_id == 1


# A random shopper: scans, quantity changes and removals against small limits.
operations = st.lists(
    st.one_of(
        st.tuples(st.just("scan"), st.sampled_from(PLAIN_PRODUCTS)),
        st.tuples(st.just("price"), st.integers(min_value=0, max_value=99_999)),
        st.tuples(st.just("weight"), st.integers(min_value=0, max_value=99_999)),
        st.tuples(st.just("unknown"), st.sampled_from(PLAIN_PRODUCTS)),
        st.tuples(
            st.just("quantity"),
            st.tuples(st.integers(min_value=0, max_value=8), st.integers(-2, 12)),
        ),
        st.tuples(st.just("remove"), st.integers(min_value=0, max_value=8)),
    ),
    max_size=40,
)
limits = st.builds(
    CartLimits,
    max_quantity_per_line=st.integers(min_value=1, max_value=10),
    max_lines=st.integers(min_value=1, max_value=6),
    max_cart_total_minor=st.integers(min_value=0, max_value=100_000),
)


@given(steps=operations, cart_limits=limits)
def test_a_random_shopper_never_breaks_a_limit_and_every_line_adds_up(
    steps: list[tuple[str, object]], cart_limits: CartLimits
) -> None:
    cart = Cart(limits=cart_limits)
    seen_ids: list[int] = []
    for kind, argument in steps:
        before = cart
        if kind == "scan":
            assert isinstance(argument, Product)
            cart, outcome = cart.add_scan(scan_of(argument), argument)
        elif kind == "price":
            assert isinstance(argument, int)
            cart, outcome = cart.add_scan(price_scan(argument), CHEESE)
        elif kind == "weight":
            assert isinstance(argument, int)
            cart, outcome = cart.add_scan(weight_scan(argument), HAM)
        elif kind == "unknown":
            assert isinstance(argument, Product)
            cart, outcome = cart.add_scan(scan_of(argument), None)
        elif kind == "quantity":
            assert isinstance(argument, tuple)
            cart, outcome = cart.change_quantity(*argument)
        else:
            assert isinstance(argument, int)
            cart, outcome = cart.remove_line(argument)

        if outcome.changed_cart:
            assert cart != before or outcome is CartOutcome.QUANTITY_CHANGED
        else:
            assert cart is before
        assert len(cart.lines) <= cart_limits.max_lines
        assert cart.amount_minor <= cart_limits.max_cart_total_minor
        for line in cart.lines:
            assert 1 <= line.quantity <= cart_limits.max_quantity_per_line
            if line.weight_g is not None:
                assert line.amount_minor == weighed_amount_minor(
                    line.weight_g, line.unit_price_minor
                )
            else:
                assert line.amount_minor == line.quantity * line.unit_price_minor
            if line.line_id not in seen_ids:
                seen_ids.append(line.line_id)
        ids = [line.line_id for line in cart.lines]
        assert ids == sorted(set(ids))
        assert all(line_id < cart.next_line_id for line_id in ids)
        totals = cart.totals(POLICY)
        assert totals.total_minor == cart.amount_minor
        assert totals.total_minor == totals.subtotal_minor + totals.tax_minor
    assert seen_ids == sorted(seen_ids)
    assert Cart.restore(cart.lines, cart_limits, cart.next_line_id) == cart
