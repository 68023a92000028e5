"""The customer's cart: lines added by scans, quantity changes, removals and the shop's limits.

``Cart`` is an immutable value. Every operation returns a new cart together with a
``CartOutcome`` code (never a sentence: the UI turns codes into words). A refused operation
returns the very same cart, so a change that would break a ``CartLimits`` limit leaves the
cart as it was and the outcome names the limit (the UI then sends the customer to an attendant).

How a line's amount (minor units) is made:

* a plain barcoded item: ``quantity * unit_price_minor`` (the product's shelf price); scanning
  the same item again adds one to its existing line;
* a weighed item (a scan with an embedded weight of a product with a price per kilogram):
  ``weight_g * unit_price_minor / 1000`` rounded half-up, where ``unit_price_minor`` is then the
  price of one kilogram; quantity is 1 and cannot be changed;
* a price-embedded scan: the embedded price, which is also ``unit_price_minor``; quantity 1;
* an item staff priced by hand (``add_priced_item``: a scan the catalog does not know, or a
  loose item without a weight): ``quantity * unit_price_minor``, the price staff entered for
  one item; its quantity can change like a barcoded item's (unless its code is a PLU's).

Weighed, price-embedded and staff-priced items always make a new line. The cart total that
``CartLimits.max_cart_total_minor`` bounds is the sum of line amounts (shelf prices, before any
tax added by tax-exclusive pricing).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction

from kiosk.core.barcodes import Scan
from kiosk.core.catalog import Product
from kiosk.core.money import round_fraction
from kiosk.core.shop_rules import CartLimits, TaxPolicy
from kiosk.core.tax import TaxableLine, Totals, compute_totals

GRAMS_PER_KILOGRAM = 1000


class CartOutcome(StrEnum):
    """What happened to a cart operation. Refusals leave the cart unchanged.

    Success: ``ADDED`` (a new line), ``QUANTITY_INCREASED`` (a repeat scan), ``QUANTITY_CHANGED``,
    ``REMOVED``, ``PUT_BACK`` (a removed line back as it was: the customer's Undo).
    Sent to an attendant: ``ITEM_NOT_FOUND`` (no product for the scan),
    ``WEIGHED_ITEM_NEEDS_SCALE`` (a product sold by weight scanned without a weight, or with a
    weight but no price per kilogram), ``LIMIT_QUANTITY_PER_LINE``, ``LIMIT_LINES``,
    ``LIMIT_CART_TOTAL``.
    Refused in place: ``LINE_NOT_FOUND``, ``BAD_QUANTITY`` (below 1), ``QUANTITY_FIXED`` (the
    quantity of a weighed or variable-measure line is always 1), ``CART_LOCKED`` (used by the
    checkout while the cart cannot change, e.g. during payment), ``LINE_IN_CART`` (a line to put
    back is in the cart already).
    """

    ADDED = "added"
    QUANTITY_INCREASED = "quantity_increased"
    QUANTITY_CHANGED = "quantity_changed"
    REMOVED = "removed"
    PUT_BACK = "put_back"
    ITEM_NOT_FOUND = "item_not_found"
    WEIGHED_ITEM_NEEDS_SCALE = "weighed_item_needs_scale"
    LIMIT_QUANTITY_PER_LINE = "limit_quantity_per_line"
    LIMIT_LINES = "limit_lines"
    LIMIT_CART_TOTAL = "limit_cart_total"
    LINE_NOT_FOUND = "line_not_found"
    BAD_QUANTITY = "bad_quantity"
    QUANTITY_FIXED = "quantity_fixed"
    CART_LOCKED = "cart_locked"
    LINE_IN_CART = "line_in_cart"

    @property
    def changed_cart(self) -> bool:
        """True when the operation changed the cart."""
        return self in _CHANGING_OUTCOMES

    @property
    def is_limit(self) -> bool:
        """True when a ``CartLimits`` limit refused the operation."""
        return self in _LIMIT_OUTCOMES


_CHANGING_OUTCOMES = frozenset(
    {
        CartOutcome.ADDED,
        CartOutcome.QUANTITY_INCREASED,
        CartOutcome.QUANTITY_CHANGED,
        CartOutcome.REMOVED,
        CartOutcome.PUT_BACK,
    }
)
_LIMIT_OUTCOMES = frozenset(
    {CartOutcome.LIMIT_QUANTITY_PER_LINE, CartOutcome.LIMIT_LINES, CartOutcome.LIMIT_CART_TOTAL}
)


def weighed_amount_minor(weight_g: int, unit_price_per_kg_minor: int) -> int:
    """Return the price in minor units of ``weight_g`` grams at ``unit_price_per_kg_minor`` a kg.

    Rounded half-up to a whole minor unit (1234 g at 599 per kg -> 739.166 -> 739).
    """
    return round_fraction(Fraction(weight_g * unit_price_per_kg_minor, GRAMS_PER_KILOGRAM))


@dataclass(frozen=True)
class CartLine:
    """One line of the cart.

    ``line_id`` is unique within the sale and never reused by the same cart. ``code`` is the
    product's catalog code. ``unit_price_minor`` is the price of one item, or of one kilogram
    for a weighed line (``weight_g`` is then the weight in grams, else ``None``).
    ``amount_minor`` is what the line costs, in minor units (see the module docstring).
    ``min_age`` is the product's minimum age in years, or ``None``.
    """

    line_id: int
    code: str
    name: str
    quantity: int
    unit_price_minor: int
    weight_g: int | None
    tax_class: str
    min_age: int | None
    amount_minor: int

    @property
    def quantity_is_fixed(self) -> bool:
        """True for weighed and in-store variable-measure (PLU) lines, whose quantity stays 1."""
        return self.weight_g is not None or self.code.startswith("plu:")


@dataclass(frozen=True)
class Cart:
    """An immutable cart: its lines in scan order, the shop's limits, and the next line id.

    Build an empty cart with ``Cart(limits=...)`` and a persisted one with ``Cart.restore``.
    """

    lines: tuple[CartLine, ...] = ()
    limits: CartLimits = field(default_factory=CartLimits)
    next_line_id: int = 1

    @classmethod
    def restore(
        cls,
        lines: Iterable[CartLine],
        limits: CartLimits | None = None,
        next_line_id: int | None = None,
    ) -> Cart:
        """Rebuild a cart from persisted lines (sorted by ``line_id``), for restore-at-start.

        Limits are not re-checked: a restored cart is what the customer had. ``next_line_id``
        defaults to one more than the highest line id.
        """
        ordered = tuple(sorted(lines, key=lambda line: line.line_id))
        highest = max((line.line_id for line in ordered), default=0)
        following = highest + 1 if next_line_id is None else max(next_line_id, highest + 1)
        return cls(lines=ordered, limits=limits or CartLimits(), next_line_id=following)

    @property
    def is_empty(self) -> bool:
        """True when the cart has no lines."""
        return not self.lines

    @property
    def amount_minor(self) -> int:
        """The sum of line amounts in minor units (shelf prices; tax not added)."""
        return sum(line.amount_minor for line in self.lines)

    @property
    def item_count(self) -> int:
        """How many items the customer has: the sum of quantities (a weighed line counts 1)."""
        return sum(line.quantity for line in self.lines)

    @property
    def max_min_age(self) -> int | None:
        """The highest minimum age in years over the cart's lines, or ``None`` if none has one."""
        ages = [line.min_age for line in self.lines if line.min_age is not None]
        return max(ages) if ages else None

    def line(self, line_id: int) -> CartLine | None:
        """Return the line with ``line_id``, or ``None``."""
        for line in self.lines:
            if line.line_id == line_id:
                return line
        return None

    def totals(self, policy: TaxPolicy) -> Totals:
        """Return the sale's totals in minor units under ``policy`` (raises ``TaxError``)."""
        return compute_totals(
            [TaxableLine(line.amount_minor, line.tax_class) for line in self.lines], policy
        )

    def add_scan(self, scan: Scan, product: Product | None) -> tuple[Cart, CartOutcome]:
        """Add the item of ``scan``, found in the catalog as ``product`` (``None``: not found).

        A repeat scan of a plain barcoded item adds one to its line (``QUANTITY_INCREASED``);
        weighed and price-embedded scans always add a new line (``ADDED``).
        """
        if product is None:
            return self, CartOutcome.ITEM_NOT_FOUND
        if scan.embedded_price_minor is not None:
            return self._add_line(
                product,
                unit_price_minor=scan.embedded_price_minor,
                weight_g=scan.embedded_weight_g,
                amount_minor=scan.embedded_price_minor,
            )
        if scan.embedded_weight_g is not None:
            per_kg = product.unit_price_per_kg_minor
            if per_kg is None:
                return self, CartOutcome.WEIGHED_ITEM_NEEDS_SCALE
            return self._add_line(
                product,
                unit_price_minor=per_kg,
                weight_g=scan.embedded_weight_g,
                amount_minor=weighed_amount_minor(scan.embedded_weight_g, per_kg),
            )
        if product.sold_by_weight:
            return self, CartOutcome.WEIGHED_ITEM_NEEDS_SCALE
        for line in self.lines:
            if (
                line.code == product.code
                and not line.quantity_is_fixed
                and line.unit_price_minor == product.price_minor
            ):
                cart, outcome = self.change_quantity(line.line_id, line.quantity + 1)
                if outcome is CartOutcome.QUANTITY_CHANGED:
                    outcome = CartOutcome.QUANTITY_INCREASED
                return cart, outcome
        return self._add_line(
            product,
            unit_price_minor=product.price_minor,
            weight_g=None,
            amount_minor=product.price_minor,
        )

    def add_priced_item(self, product: Product) -> tuple[Cart, CartOutcome]:
        """Add one item priced by hand: a new line of quantity 1 at ``product.price_minor``
        (minor units) with ``product``'s code, name, tax class and minimum age (``ADDED``).

        The cart's limits apply: a line that breaks one is refused with that limit's outcome.
        """
        return self._add_line(
            product,
            unit_price_minor=product.price_minor,
            weight_g=None,
            amount_minor=product.price_minor,
        )

    def change_quantity(self, line_id: int, quantity: int) -> tuple[Cart, CartOutcome]:
        """Set the quantity of a line (``quantity`` at least 1; remove a line with
        ``remove_line``).

        Lowering a quantity is always allowed; raising it is refused when it would pass
        ``max_quantity_per_line`` or ``max_cart_total_minor``.
        """
        line = self.line(line_id)
        if line is None:
            return self, CartOutcome.LINE_NOT_FOUND
        if quantity < 1:
            return self, CartOutcome.BAD_QUANTITY
        if line.quantity_is_fixed and quantity != line.quantity:
            return self, CartOutcome.QUANTITY_FIXED
        if quantity > line.quantity and quantity > self.limits.max_quantity_per_line:
            return self, CartOutcome.LIMIT_QUANTITY_PER_LINE
        changed = replace(line, quantity=quantity, amount_minor=quantity * line.unit_price_minor)
        if line.quantity_is_fixed:
            changed = line
        new_total = self.amount_minor - line.amount_minor + changed.amount_minor
        if new_total > self.amount_minor and new_total > self.limits.max_cart_total_minor:
            return self, CartOutcome.LIMIT_CART_TOTAL
        lines = tuple(changed if each.line_id == line_id else each for each in self.lines)
        return replace(self, lines=lines), CartOutcome.QUANTITY_CHANGED

    def remove_line(self, line_id: int) -> tuple[Cart, CartOutcome]:
        """Remove a line (``REMOVED``), or report ``LINE_NOT_FOUND``."""
        if self.line(line_id) is None:
            return self, CartOutcome.LINE_NOT_FOUND
        lines = tuple(line for line in self.lines if line.line_id != line_id)
        return replace(self, lines=lines), CartOutcome.REMOVED

    def put_back(self, line: CartLine) -> tuple[Cart, CartOutcome]:
        """Put a removed ``line`` back exactly as it was (its id, quantity, price, weight, tax
        class and minimum age) in its place in scan order (``PUT_BACK``).

        Refused with ``LINE_IN_CART`` when the cart has a line with its id, ``LINE_NOT_FOUND``
        for an id this cart never gave out, and by ``max_lines`` and ``max_cart_total_minor``
        (the rest of the cart may have grown since). The line's quantity is not checked again:
        it was in the cart with it (perhaps by a staff override).
        """
        if self.line(line.line_id) is not None:
            return self, CartOutcome.LINE_IN_CART
        if not 0 < line.line_id < self.next_line_id:
            return self, CartOutcome.LINE_NOT_FOUND
        if len(self.lines) >= self.limits.max_lines:
            return self, CartOutcome.LIMIT_LINES
        if self.amount_minor + line.amount_minor > self.limits.max_cart_total_minor:
            return self, CartOutcome.LIMIT_CART_TOTAL
        lines = tuple(sorted((*self.lines, line), key=lambda each: each.line_id))
        return replace(self, lines=lines), CartOutcome.PUT_BACK

    def _add_line(
        self, product: Product, *, unit_price_minor: int, weight_g: int | None, amount_minor: int
    ) -> tuple[Cart, CartOutcome]:
        if self.limits.max_quantity_per_line < 1:
            return self, CartOutcome.LIMIT_QUANTITY_PER_LINE
        if len(self.lines) >= self.limits.max_lines:
            return self, CartOutcome.LIMIT_LINES
        if self.amount_minor + amount_minor > self.limits.max_cart_total_minor:
            return self, CartOutcome.LIMIT_CART_TOTAL
        line = CartLine(
            line_id=self.next_line_id,
            code=product.code,
            name=product.name,
            quantity=1,
            unit_price_minor=unit_price_minor,
            weight_g=weight_g,
            tax_class=product.tax_class,
            min_age=product.min_age,
            amount_minor=amount_minor,
        )
        return (
            replace(self, lines=(*self.lines, line), next_line_id=self.next_line_id + 1),
            CartOutcome.ADDED,
        )
