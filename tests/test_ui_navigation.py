"""Which screen the kiosk shows (``kiosk.ui.navigation``), checked without a window.

Every combination of checkout state and UI flag leads to a known screen, a sale in progress is
never pushed off its screen by the customer-side flags, the staff screens cover the customer's
(but never a card payment with the PIN pad), and every screen has a way out: a button in its
``.kv`` file or something that moves on by itself.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from kiosk.core.checkout_states import CheckoutState
from kiosk.ui.navigation import CUSTOMER_SCREENS, SCREENS, STAFF_SCREENS, View, screen_for

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


def every_view(*, staff: bool = False) -> list[View]:
    """Every state with every combination of the UI's customer flags (and, with ``staff``,
    of the staff flags too)."""
    staff_flags = FLAGS if staff else (False,)
    return [
        View(state, recovery, start_failed, explaining, thanking, closed, login, menu)
        for state, recovery, start_failed, explaining, thanking, closed, login, menu in (
            itertools.product(
                CheckoutState, RECOVERIES, FLAGS, FLAGS, FLAGS, FLAGS, staff_flags, staff_flags
            )
        )
    ]


def test_every_state_and_flag_combination_leads_to_a_known_screen() -> None:
    views = every_view(staff=True)
    assert len(views) == len(CheckoutState) * len(RECOVERIES) * 2**6
    shown = {screen_for(view) for view in views}
    assert shown <= set(SCREENS), shown - set(SCREENS)
    assert shown == set(SCREENS), f"never shown: {set(SCREENS) - shown}"


def test_the_customer_flags_alone_only_ever_lead_to_customer_screens() -> None:
    shown = {screen_for(view) for view in every_view()}
    assert shown == set(CUSTOMER_SCREENS)
    assert set(SCREENS) == set(CUSTOMER_SCREENS) | set(STAFF_SCREENS)


def test_an_open_staff_session_shows_the_staff_menu_over_every_state_and_flag() -> None:
    for view in every_view(staff=True):
        if view.staff_menu:
            assert screen_for(view) == "staff_menu", view


@pytest.mark.parametrize("state", list(CheckoutState), ids=str)
def test_the_staff_pin_pad_covers_every_customer_screen_but_a_card_payment_and_paid(
    state: CheckoutState,
) -> None:
    for view in every_view(staff=True):
        if view.state is not state or view.staff_menu or not view.staff_login:
            continue
        if state in (CheckoutState.PAYING, CheckoutState.PAID):
            assert screen_for(view) == screen_for(replace(view, staff_login=False)), view
            assert screen_for(view) in ("payment", "paid"), view
        else:
            assert screen_for(view) == "staff_login", view


def test_closing_the_staff_screens_gives_the_customer_their_screen_back() -> None:
    for view in every_view(staff=True):
        customer = replace(view, staff_login=False, staff_menu=False)
        assert screen_for(customer) in CUSTOMER_SCREENS
        assert screen_for(customer) == screen_for(
            View(view.state, view.recovery, view.start_failed, view.explaining_decline,
                 view.thanking, view.closed)
        )


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
    "staff_login": WayOut(("staff_back", "pin_pad"), "30 s without a touch: the customer's screen"),
    "staff_menu": WayOut(
        ("back_to_customer",), "the menu's inactivity timeout, or the call it was opened for closes"
    ),
}
"""Every screen (and the inactivity prompt) with its ways out."""


KV_FILES = {"staff_login": "staff_menu"}
"""Screens whose rules live in another screen's ``.kv`` file."""


def kv_ids(name: str) -> set[str]:
    """The ``id:`` names declared in the ``.kv`` file of screen ``name``."""
    text = (KV_FOLDER / f"{KV_FILES.get(name, name)}.kv").read_text(encoding="utf-8")
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
