"""The card-provider contract: what any `CardProvider` must do, whoever moves the money.

A provider's test module imports these tests and defines one fixture, ``contract``, returning
a `ContractFixture` for its own implementation (its simulator, its crash driver, its way of
losing an answer). Nothing here names a provider. The behaviours pinned down:

* a card tapped pays the sale once, and only after it is recorded paid is it reported paid;
* exactly once under crashes: a kiosk killed at each write-ahead step of a payment (the
  neutral `kiosk.payments.crashpoints` commit points) recovers, at its next start, to exactly
  one charge of the sale's amount and a sale recorded paid;
* recovery at start settles or hands back: a payment left in flight without a card is handed
  back to the customer (the sale reopens, nothing is charged), never left locked;
* an unknown outcome (the provider acted, its answer was lost) is never reported as a
  decline: the kiosk looks first, and the sale ends paid;
* an unreachable provider is never a card decline, and charges nothing;
* refunds are capped at what was captured (and a second full refund finds nothing left).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import pytest

from kiosk.payments.outcomes import Outcome
from kiosk.payments.provider import CardProvider

WAIT_S = 20.0
"""Upper bound (seconds) for one refund or recovery answer; tests never assert speed."""

AMOUNT = 1250
"""What a paying sale costs in these tests (minor units; approved by every simulator)."""

WRITE_AHEAD_CRASHES = tuple(
    f"{when}_commit:{step}"
    for step in ("locked", "intent_created", "processing", "paid")
    for when in ("before", "after")
)
"""The commit points of a plain card payment (`kiosk.payments.attempts` steps) a kiosk may
die at; ``kiosk.payments.crashpoints.CRASHPOINTS`` names them."""


class Events(Protocol):
    """The recorded `PaymentEvents` of the fixture's provider."""

    def wait_for_end(self, sale_id: str, *, after: int = 0) -> tuple[str, str, str]:
        """The event that ends a try: (kind, sale id, value); kind is ``paid``,
        ``declined``, ``cancelled`` or ``unresolved``."""
        ...

    def count(self) -> int:
        """How many events were seen so far."""
        ...


class ContractFixture(Protocol):
    """What a provider's test module gives the contract (its ``contract`` fixture)."""

    events: Events

    def provider(self) -> CardProvider:
        """A started provider on the fixture's store (stopped by the fixture)."""
        ...

    def restart(self) -> None:
        """Stop every provider and reopen the store: what a restart of the kiosk does."""

    def new_sale(self, total_minor: int) -> str:
        """Record an open sale of ``total_minor``; return its id."""
        ...

    def sale_state(self, sale_id: str) -> str:
        """The sale's state in the store (``open``, ``locked``, ``paid``...)."""
        ...

    def customer_taps(self) -> None:
        """From now on the simulated customer taps an approved card on each payment."""

    def customer_never_taps(self) -> None:
        """From now on nobody taps a card."""

    def lose_next_answer(self) -> None:
        """The provider executes the next request that hands the payment to the reader, but
        its answer is lost (a dropped connection or a timeout)."""

    def provider_unreachable(self) -> None:
        """The provider cannot be reached at all until the fixture is torn down."""

    def charges(self, sale_id: str) -> list[int]:
        """The amounts the provider holds as taken for the sale (captured or authorised),
        one entry per payment object: exactly-once means one entry."""
        ...

    def refunded_minor(self, sale_id: str) -> int:
        """What the provider has refunded of the sale (minor units)."""
        ...

    def pay_in_a_dying_process(self, sale_id: str, total_minor: int, crash_at: str) -> None:
        """Pay the sale from another kiosk process on the same store that is killed
        (SIGKILL) at the crash point ``crash_at``; returns once it died."""


def pay(contract: ContractFixture, provider: CardProvider, sale_id: str,
        total_minor: int) -> tuple[str, str, str]:
    """Start a payment and wait for the event that ends the try."""
    seen = contract.events.count()
    provider.pay(sale_id, total_minor)
    return contract.events.wait_for_end(sale_id, after=seen)


def eventually(check: Callable[[], Any], what: str) -> None:
    """Wait (polling) up to `WAIT_S` for ``check()`` to be true."""
    import time

    deadline = time.monotonic() + WAIT_S
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


# ----------------------------------------------------------------------------- the tests


def test_a_tapped_card_pays_the_sale_once(contract: ContractFixture) -> None:
    contract.customer_taps()
    provider = contract.provider()
    sale_id = contract.new_sale(AMOUNT)

    assert pay(contract, provider, sale_id, AMOUNT)[0] == "paid"
    assert contract.sale_state(sale_id) == "paid"
    assert contract.charges(sale_id) == [AMOUNT]


@pytest.mark.parametrize("crash_at", WRITE_AHEAD_CRASHES)
def test_a_kiosk_killed_at_a_write_ahead_step_recovers_to_exactly_one_charge(
    contract: ContractFixture, crash_at: str
) -> None:
    contract.customer_taps()
    sale_id = contract.new_sale(AMOUNT)
    contract.pay_in_a_dying_process(sale_id, AMOUNT, crash_at)

    contract.restart()
    provider = contract.provider()
    report = provider.recover(WAIT_S)
    assert report.settled, report
    if contract.sale_state(sale_id) != "paid":  # handed back: the customer pays again
        assert contract.sale_state(sale_id) == "open"
        assert pay(contract, provider, sale_id, AMOUNT)[0] == "paid"

    assert contract.sale_state(sale_id) == "paid"
    assert contract.charges(sale_id) == [AMOUNT]


@pytest.mark.parametrize("crash_at", ["after_commit:locked", "after_commit:processing"])
def test_recovery_at_start_hands_back_a_payment_no_card_was_presented_for(
    contract: ContractFixture, crash_at: str
) -> None:
    contract.customer_never_taps()
    sale_id = contract.new_sale(AMOUNT)
    contract.pay_in_a_dying_process(sale_id, AMOUNT, crash_at)

    contract.restart()
    provider = contract.provider()
    assert provider.unfinished_sales(WAIT_S) == (sale_id,)
    report = provider.recover(WAIT_S)

    assert report.settled, report
    assert contract.sale_state(sale_id) == "open"
    assert provider.unfinished_sales(WAIT_S) == ()
    assert contract.charges(sale_id) == []


def test_a_lost_answer_is_looked_up_and_never_reported_as_a_decline(
    contract: ContractFixture,
) -> None:
    contract.customer_taps()
    provider = contract.provider()
    sale_id = contract.new_sale(AMOUNT)
    contract.lose_next_answer()

    kind, _sale, _code = pay(contract, provider, sale_id, AMOUNT)

    assert kind == "paid"
    assert contract.sale_state(sale_id) == "paid"
    assert contract.charges(sale_id) == [AMOUNT]


def test_an_unreachable_provider_is_not_a_card_decline_and_charges_nothing(
    contract: ContractFixture,
) -> None:
    contract.customer_taps()
    provider = contract.provider()
    sale_id = contract.new_sale(AMOUNT)
    contract.provider_unreachable()

    kind, _sale, code = pay(contract, provider, sale_id, AMOUNT)

    assert (kind, code) != ("declined", Outcome.CARD_DECLINED.value)
    assert kind in ("declined", "unresolved")  # declined here means "not paid, not charged"
    assert contract.sale_state(sale_id) in ("open", "locked")
    assert contract.charges(sale_id) == []


def test_refunds_are_capped_at_what_was_captured(contract: ContractFixture) -> None:
    contract.customer_taps()
    provider = contract.provider()
    sale_id = contract.new_sale(AMOUNT)
    assert pay(contract, provider, sale_id, AMOUNT)[0] == "paid"

    first = provider.refund(sale_id, AMOUNT - 250, None).result(WAIT_S)
    too_much = provider.refund(sale_id, 500, None).result(WAIT_S)
    rest = provider.refund(sale_id, None, None).result(WAIT_S)
    again = provider.refund(sale_id, None, None).result(WAIT_S)

    assert first.code == "refunded"
    assert (too_much.code, too_much.reason) == ("refused", "exceeds_captured")
    assert (rest.code, rest.amount_minor) == ("refunded", 250)
    assert (again.code, again.reason) == ("refused", "nothing_left")
    eventually(lambda: contract.refunded_minor(sale_id) == AMOUNT,
               "the provider refunded more or less than was captured")
