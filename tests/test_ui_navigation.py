"""Which screen the customer sees (``kiosk.ui.navigation``), checked without a window.

Every combination of checkout state and UI flag leads to a known screen, a sale in progress is
never pushed off its screen, and every screen has a way out: a button in its ``.kv`` file or
something that moves on by itself.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from kiosk.core.checkout import CheckoutState
from kiosk.ui.navigation import SCREENS, View, screen_for

KV_FOLDER = Path(__file__).resolve().parents[1] / "kiosk" / "ui" / "kv"

SALE_IN_PROGRESS = (
    CheckoutState.SHOPPING,
    CheckoutState.IDLE_PROMPT,
    CheckoutState.NEEDS_ATTENDANT,
    CheckoutState.PAYING,
    CheckoutState.PAID,
)
RECOVERIES = (None, "checking", "call_staff")
FLAGS = (False, True)


def every_view() -> list[View]:
    """Every state with every combination of the UI's flags."""
    return [
        View(state, recovery, start_failed, explaining, thanking, closed)
        for state, recovery, start_failed, explaining, thanking, closed in itertools.product(
            CheckoutState, RECOVERIES, FLAGS, FLAGS, FLAGS, FLAGS
        )
    ]


def test_every_state_and_flag_combination_leads_to_a_known_screen() -> None:
    views = every_view()
    assert len(views) == len(CheckoutState) * len(RECOVERIES) * 2**4
    shown = {screen_for(view) for view in views}
    assert shown <= set(SCREENS), shown - set(SCREENS)
    assert shown == set(SCREENS), f"never shown: {set(SCREENS) - shown}"


@pytest.mark.parametrize("state", SALE_IN_PROGRESS, ids=str)
def test_a_sale_in_progress_keeps_its_screen_when_the_kiosk_is_closed_or_checking(
    state: CheckoutState,
) -> None:
    for explaining in FLAGS:
        plain = screen_for(View(state, explaining_decline=explaining))
        for recovery, start_failed, thanking, closed in itertools.product(
            RECOVERIES, FLAGS, FLAGS, FLAGS
        ):
            view = View(state, recovery, start_failed, explaining, thanking, closed)
            assert screen_for(view) == plain, view
        assert plain not in ("attract", "closed", "checking", "thank_you")


def test_the_closed_and_checking_screens_only_ever_replace_the_attract_screen() -> None:
    for view in every_view():
        if screen_for(view) in ("closed", "checking", "thank_you"):
            assert view.state is CheckoutState.ATTRACT, view


def test_the_attract_screen_gives_way_to_closed_then_checking_then_thank_you() -> None:
    attract = CheckoutState.ATTRACT
    assert screen_for(View(attract)) == "attract"
    assert screen_for(View(attract, thanking=True)) == "thank_you"
    assert screen_for(View(attract, recovery="checking", thanking=True)) == "checking"
    assert screen_for(View(attract, recovery="call_staff")) == "checking"
    assert screen_for(View(attract, recovery="checking", closed=True)) == "closed"
    assert screen_for(View(attract, start_failed=True)) == "closed"


@pytest.mark.parametrize("state", [CheckoutState.SHOPPING, CheckoutState.IDLE_PROMPT], ids=str)
def test_a_decline_being_explained_shows_the_payment_screen(state: CheckoutState) -> None:
    assert screen_for(View(state, explaining_decline=True)) == "payment"
    assert screen_for(View(state, explaining_decline=True, closed=True)) == "payment"
    assert screen_for(View(state)) == "shopping"


@pytest.mark.parametrize(
    ("state", "screen"),
    [
        (CheckoutState.PAYING, "payment"),
        (CheckoutState.PAID, "paid"),
        (CheckoutState.NEEDS_ATTENDANT, "needs_attendant"),
    ],
    ids=str,
)
def test_paying_paid_and_waiting_for_staff_each_have_their_own_screen(
    state: CheckoutState, screen: str
) -> None:
    for view in every_view():
        if view.state is state:
            assert screen_for(view) == screen, view


# --- no dead ends ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WayOut:
    """How a customer (or staff) leaves a screen: buttons by kv id, and/or what moves on."""

    buttons: tuple[str, ...] = ()
    automatic: str = ""


WAYS_OUT: dict[str, WayOut] = {
    "attract": WayOut(("languages",), "a scan starts a sale (shopping)"),
    "shopping": WayOut(("pay_button", "start_over"), "inactivity: the idle prompt"),
    "needs_attendant": WayOut(
        ("pin_pad", "withdraw_button"), "staff approves on the PIN pad or the staff menu"
    ),
    "payment": WayOut(("back_button", "retry_button"), "the reader approves (paid) or declines"),
    "checking": WayOut((), "start-up recovery settles (attract) or staff resolves it"),
    "paid": WayOut(("print_button", "qr_button", "no_receipt_button"), ""),
    "thank_you": WayOut(("done_button",), "a timer or any touch returns to attract"),
    "closed": WayOut((), "staff opens the kiosk again (attract)"),
    "idle_prompt": WayOut(("start_over_button", "continue_button"), "the countdown ends"),
}
"""Every screen (and the inactivity prompt) with its ways out."""


def kv_ids(name: str) -> set[str]:
    """The ``id:`` names declared in ``kiosk/ui/kv/<name>.kv``."""
    text = (KV_FOLDER / f"{name}.kv").read_text(encoding="utf-8")
    return set(re.findall(r"^\s*id:\s*(\w+)\s*$", text, flags=re.MULTILINE))


def test_the_way_out_table_covers_every_screen_and_the_idle_prompt() -> None:
    assert set(WAYS_OUT) == {*SCREENS, "idle_prompt"}


@pytest.mark.parametrize("screen", sorted(WAYS_OUT))
def test_no_screen_is_a_dead_end(screen: str) -> None:
    way_out = WAYS_OUT[screen]
    assert way_out.buttons or way_out.automatic, f"{screen} has no way out"
    missing = set(way_out.buttons) - kv_ids(screen)
    assert not missing, f"{screen}.kv has no widget with id {sorted(missing)}"


def test_only_the_screens_a_customer_cannot_act_on_rely_on_leaving_by_themselves() -> None:
    by_themselves = sorted(name for name, way in WAYS_OUT.items() if not way.buttons)
    assert by_themselves == ["checking", "closed"]
