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
* refunds are capped at what was captured (and a second full refund finds nothing left);
* an authorisation cancelled at the provider is final: its sale ends ``abandoned``, an
  anomaly is synced and staff are told until they acknowledge it; it never blocks the
  reader for the next sale;
* a request that may have acted (its answer lost) stays "maybe executed" even when the
  library's retry then found the provider refusing connections;
* recovery never releases an authorisation the kiosk recorded: it captures it;
* "the card wins" in both capture modes: a sale that ends without staff voiding it while its
  card is authorised is paid; a sale staff void releases the authorisation (an anomaly).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import pytest
from sqlite_utils import Database

from kiosk.payments.lost_authorisations import authorisations_lost
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

    def live_payments(self, sale_id: str) -> int:
        """How many of the sale's payment objects at the provider are neither taken nor
        cancelled (a card could still pay them)."""
        ...

    def refunded_minor(self, sale_id: str) -> int:
        """What the provider has refunded of the sale (minor units)."""
        ...

    def pay_in_a_dying_process(self, sale_id: str, total_minor: int, crash_at: str) -> None:
        """Pay the sale from another kiosk process on the same store that is killed
        (SIGKILL) at the crash point ``crash_at``; returns once it died."""

    def authorise_then_capture(self) -> None:
        """From now on (providers and dying processes made afterwards) the provider first
        authorises the card and the kiosk captures it in a second step."""

    def authorisations_count_as_old(self) -> None:
        """From now on (providers made afterwards) every authorisation counts as older than
        the provider's capture age limit."""

    def cancel_authorisation_at_provider(self, sale_id: str) -> None:
        """Someone cancels the sale's uncaptured authorisation at the provider (its
        dashboard), or it expired there."""

    def fail_next_lookup(self) -> None:
        """The next look-up of one payment by its id fails (lists of payments still answer)."""

    def lose_answer_then_refuse_connections(self) -> None:
        """Providers made afterwards retry failed requests; the next request that hands the
        payment to the reader acts, is never answered, and then the provider refuses every
        connection for a few seconds (so the library's retries end with "refused")."""

    def read(self, job: Callable[[Database], Any]) -> Any:
        """Run ``job`` on the kiosk's store and return its result."""
        ...


def pay(contract: ContractFixture, provider: CardProvider, sale_id: str,
        total_minor: int) -> tuple[str, str, str]:
    """Start a payment and wait for the event that ends the try."""
    seen = contract.events.count()
    provider.pay(sale_id, total_minor)
    return contract.events.wait_for_end(sale_id, after=seen)


def close_sale(db: Database, sale_id: str, state: str, reason: str) -> None:
    """Close the sale unpaid as the kiosk's own sale writer does, in its own commit."""
    with db.conn:
        db.execute("UPDATE sales SET state = ?, close_reason = ? WHERE id = ?",
                   [state, reason, sale_id])


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


def test_an_authorisation_cancelled_at_the_provider_ends_its_sale_and_blocks_no_other(
    contract: ContractFixture,
) -> None:
    contract.authorise_then_capture()
    contract.customer_taps()
    stuck = contract.new_sale(AMOUNT)
    contract.pay_in_a_dying_process(stuck, AMOUNT, "after_commit:authorised")
    contract.cancel_authorisation_at_provider(stuck)

    contract.restart()
    provider = contract.provider()
    later = [contract.new_sale(AMOUNT + 100), contract.new_sale(AMOUNT + 200)]
    for sale_id, amount in zip(later, (AMOUNT + 100, AMOUNT + 200), strict=True):
        assert pay(contract, provider, sale_id, amount)[0] == "paid", sale_id
        assert contract.charges(sale_id) == [amount]

    assert contract.sale_state(stuck) == "abandoned"
    assert contract.charges(stuck) == []
    assert provider.unfinished_sales(WAIT_S) == ()
    lost = contract.read(authorisations_lost)
    assert [(notice.sale_id, notice.amount_minor) for notice in lost] == [(stuck, AMOUNT)]
    events = contract.read(lambda db: [row[0] for row in db.execute(
        "SELECT payload FROM outbox WHERE topic = 'audit.recorded'").fetchall()])
    assert any('"payment.authorisation_lost"' in payload and f'"amount_minor": {AMOUNT}'
               in payload for payload in events), events


def test_a_lost_answer_followed_by_refused_retries_is_never_taken_for_not_sent(
    contract: ContractFixture,
) -> None:
    contract.customer_taps()
    contract.lose_answer_then_refuse_connections()
    provider = contract.provider()
    sale_id = contract.new_sale(AMOUNT)

    kind, _sale, code = pay(contract, provider, sale_id, AMOUNT)

    assert (kind, code) == ("paid", ""), "the payment was taken for never sent"
    assert contract.sale_state(sale_id) == "paid"
    assert contract.charges(sale_id) == [AMOUNT]


def test_recovery_captures_an_old_authorisation_it_could_not_look_up(
    contract: ContractFixture,
) -> None:
    contract.authorise_then_capture()
    contract.authorisations_count_as_old()
    contract.customer_taps()
    sale_id = contract.new_sale(AMOUNT)
    contract.pay_in_a_dying_process(sale_id, AMOUNT, "before_commit:authorised")

    contract.restart()
    provider = contract.provider()
    contract.fail_next_lookup()
    provider.recover(WAIT_S)
    assert provider.recover(WAIT_S).settled

    assert contract.sale_state(sale_id) == "paid"
    assert contract.charges(sale_id) == [AMOUNT]


@pytest.mark.parametrize("capture", ["at_once", "authorise_then_capture"])
@pytest.mark.parametrize("reason", ["idle_timeout", "expired"])
def test_a_sale_ending_with_its_card_authorised_is_paid_in_both_capture_modes(
    contract: ContractFixture, capture: str, reason: str
) -> None:
    if capture == "authorise_then_capture":
        contract.authorise_then_capture()
    contract.customer_taps()
    sale_id = contract.new_sale(AMOUNT)
    crash_at = "after_commit:authorised" if capture != "at_once" else "before_commit:paid"
    contract.pay_in_a_dying_process(sale_id, AMOUNT, crash_at)

    contract.restart()
    provider = contract.provider()
    provider.abandon(sale_id, reason)
    eventually(lambda: contract.sale_state(sale_id) == "paid",
               "a sale whose card was authorised was not recorded paid")
    assert contract.charges(sale_id) == [AMOUNT]
    assert provider.unfinished_sales(WAIT_S) == ()


def test_a_sale_staff_void_releases_its_authorisation_as_an_anomaly(
    contract: ContractFixture,
) -> None:
    contract.authorise_then_capture()
    contract.customer_taps()
    sale_id = contract.new_sale(AMOUNT)
    contract.pay_in_a_dying_process(sale_id, AMOUNT, "after_commit:authorised")

    contract.restart()
    provider = contract.provider()
    provider.abandon(sale_id, "voided")
    eventually(lambda: provider.unfinished_sales(WAIT_S) == (),
               "the voided sale's payment was never settled")
    assert contract.sale_state(sale_id) == "voided"
    assert contract.charges(sale_id) == []
    anomalies = contract.read(lambda db: [row[0] for row in db.execute(
        "SELECT detail FROM audit_log WHERE action = 'payment.authorisation_voided' "
        "AND outcome = 'anomaly'").fetchall()])
    assert len(anomalies) == 1 and sale_id in anomalies[0], anomalies


@pytest.mark.parametrize("reason", ["cancelled", "voided"])
def test_a_sale_closed_while_its_payment_waited_for_another_try_leaves_nothing_live(
    contract: ContractFixture, reason: str
) -> None:
    """The sale was closed (the customer cancelled, or staff voided it) and the kiosk died
    before the payment side heard of it: the next start settles the waiting payment."""
    contract.customer_never_taps()
    sale_id = contract.new_sale(AMOUNT)
    contract.pay_in_a_dying_process(sale_id, AMOUNT, "after_commit:processing")
    contract.restart()
    contract.provider().recover(WAIT_S)  # handed back: the sale reopens, its payment waits
    assert contract.sale_state(sale_id) == "open" and contract.live_payments(sale_id) == 1
    state = "voided" if reason == "voided" else "abandoned"
    contract.read(lambda db: close_sale(db, sale_id, state, reason))

    contract.restart()
    provider = contract.provider()
    assert provider.unfinished_sales(WAIT_S) == (sale_id,)
    report = provider.recover(WAIT_S)

    assert report.settled, report
    assert contract.live_payments(sale_id) == 0, "a card could still pay a closed sale"
    assert contract.sale_state(sale_id) == state
    assert contract.charges(sale_id) == []
    assert provider.unfinished_sales(WAIT_S) == ()
