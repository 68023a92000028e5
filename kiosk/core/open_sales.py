"""Which open sale a starting kiosk gives back to its customer, and which it closes.

A kiosk that stops with a cart on screen (a power cut, a crash, a restart) finds that sale still
open in its database when it starts again. `choose_open_sale` decides, from plain values and the
time of the start, which one to restore and why each of the others is recorded as abandoned:

- the sales are judged newest first;
- an empty sale is abandoned (``empty_at_start``);
- a sale older than ``max_age_s``, or changed "in the future" (a clock not to be trusted, as on
  a Raspberry Pi without a real-time clock before NTP), is abandoned (``expired_at_start``);
- a sale with a line whose tax class is no longer configured is abandoned
  (``tax_class_gone_at_start``): its totals cannot be worked out;
- the first sale left is restored, and any later one is abandoned (``superseded_at_start``).

Pure: no I/O, no clock reads (``now`` is passed in).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

EMPTY = "empty_at_start"
"""The abandon reason of an open sale without lines."""
EXPIRED = "expired_at_start"
"""The abandon reason of an open sale older than allowed, or last changed after ``now``."""
TAX_CLASS_GONE = "tax_class_gone_at_start"
"""The abandon reason of an open sale with a line in a tax class no longer configured."""
SUPERSEDED = "superseded_at_start"
"""The abandon reason of a good open sale older than the one restored."""


class TaxedLine(Protocol):
    """A line of an open sale, as far as the rule needs it."""

    @property
    def tax_class(self) -> str:
        """The line's tax class (a key of the shop's tax policy)."""
        ...


class OpenSaleFacts(Protocol):
    """An open sale, as far as the rule needs it (``kiosk.store.sales.OpenSale`` is one)."""

    @property
    def sale_id(self) -> str:
        """The sale's id."""
        ...

    @property
    def updated_at(self) -> datetime:
        """When the sale last changed (aware UTC)."""
        ...

    @property
    def lines(self) -> Sequence[TaxedLine]:
        """The sale's lines."""
        ...


S = TypeVar("S", bound=OpenSaleFacts)


@dataclass(frozen=True)
class OpenSaleChoice(Generic[S]):
    """What a start does with the open sales: the one to restore (if any) and, for each of
    the others, its id and why it is recorded as abandoned (in the order judged)."""

    restored: S | None
    abandoned: tuple[tuple[str, str], ...]


def choose_open_sale(
    open_sales: Iterable[S], *, now: datetime, max_age_s: float, tax_classes: Collection[str]
) -> OpenSaleChoice[S]:
    """Judge ``open_sales`` (newest change first) at ``now`` (aware UTC): restore the first
    non-empty sale no older than ``max_age_s`` seconds whose lines are all in ``tax_classes``;
    abandon every other one with its reason (see the module's docstring)."""
    restored: S | None = None
    abandoned: list[tuple[str, str]] = []
    for sale in open_sales:
        reason = _abandon_reason(sale, now, max_age_s, tax_classes)
        if reason is None and restored is None:
            restored = sale
        else:
            abandoned.append((sale.sale_id, reason or SUPERSEDED))
    return OpenSaleChoice(restored=restored, abandoned=tuple(abandoned))


def _abandon_reason(
    sale: OpenSaleFacts, now: datetime, max_age_s: float, tax_classes: Collection[str]
) -> str | None:
    """Why ``sale`` cannot be restored, or ``None`` when it can."""
    age_s = (now - sale.updated_at).total_seconds()
    if not sale.lines:
        return EMPTY
    if not 0 <= age_s <= max_age_s:
        return EXPIRED
    if any(line.tax_class not in tax_classes for line in sale.lines):
        return TAX_CLASS_GONE
    return None
