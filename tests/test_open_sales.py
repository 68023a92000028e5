"""choose_open_sale: which open sale a starting kiosk restores, and why it closes the others."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from kiosk.core.open_sales import (
    EMPTY,
    EXPIRED,
    SUPERSEDED,
    TAX_CLASS_GONE,
    choose_open_sale,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MAX_AGE_S = 600.0
TAX_CLASSES = frozenset({"standard", "reduced"})


@dataclass(frozen=True)
class Line:
    tax_class: str


@dataclass(frozen=True)
class Sale:
    sale_id: str
    updated_at: datetime
    lines: tuple[Line, ...]


def sale(sale_id: str, age_s: float, *tax_classes: str) -> Sale:
    """An open sale last changed ``age_s`` seconds before `NOW`, one line per tax class."""
    return Sale(sale_id, NOW - timedelta(seconds=age_s), tuple(Line(c) for c in tax_classes))


CASES = [
    pytest.param([], None, [], id="no open sale: nothing to do"),
    pytest.param([sale("a", 60, "standard")], "a", [], id="a recent cart is restored"),
    pytest.param([sale("a", 60)], None, [("a", EMPTY)], id="an empty sale is abandoned"),
    pytest.param(
        [sale("a", MAX_AGE_S, "standard")], "a", [], id="a cart exactly at the limit is restored"
    ),
    pytest.param(
        [sale("a", MAX_AGE_S + 1, "standard")], None, [("a", EXPIRED)],
        id="a cart older than the limit expires",
    ),
    pytest.param(
        [sale("a", -5, "standard")], None, [("a", EXPIRED)],
        id="a cart from the future is never restored (untrusted clock)",
    ),
    pytest.param([sale("a", 0, "reduced")], "a", [], id="a cart changed this instant is restored"),
    pytest.param(
        [sale("a", 60, "standard", "luxury")], None, [("a", TAX_CLASS_GONE)],
        id="a cart with a tax class no longer configured is abandoned",
    ),
    pytest.param(
        [sale("new", 30, "standard"), sale("old", 90, "reduced")], "new", [("old", SUPERSEDED)],
        id="the newest good cart wins, the older good one is superseded",
    ),
    pytest.param(
        [sale("empty", 10), sale("gone", 20, "luxury"), sale("good", 30, "standard"),
         sale("later", 40, "standard"), sale("stale", 9999, "standard")],
        "good",
        [("empty", EMPTY), ("gone", TAX_CLASS_GONE), ("later", SUPERSEDED), ("stale", EXPIRED)],
        id="bad sales are skipped before the first good one; every other sale has its reason",
    ),
    pytest.param(
        [sale("empty", 9999)], None, [("empty", EMPTY)],
        id="an empty sale reads empty even when it is also too old",
    ),
    pytest.param(
        [sale("old", 9999, "luxury")], None, [("old", EXPIRED)],
        id="a too-old sale reads expired even when its tax class is gone",
    ),
]


@pytest.mark.parametrize(("open_sales", "restored", "abandoned"), CASES)
def test_choose_open_sale(
    open_sales: list[Sale], restored: str | None, abandoned: list[tuple[str, str]]
) -> None:
    choice = choose_open_sale(open_sales, now=NOW, max_age_s=MAX_AGE_S, tax_classes=TAX_CLASSES)
    assert (choice.restored.sale_id if choice.restored else None) == restored
    assert list(choice.abandoned) == abandoned


def test_the_restored_sale_is_the_object_given() -> None:
    good = sale("a", 1, "standard")
    choice = choose_open_sale([good], now=NOW, max_age_s=MAX_AGE_S, tax_classes=TAX_CLASSES)
    assert choice.restored is good
