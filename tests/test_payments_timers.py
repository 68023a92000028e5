"""Payment timers on an injected monotonic clock: waits are bounded, authorisations win."""

from __future__ import annotations

from payments_support import PaymentRig, cart, rig

from kiosk.sim.stripe_emulator import Fault

__all__ = ["rig"]


def test_waiting_for_a_card_past_payment_idle_withdraws_the_payment(rig: PaymentRig) -> None:
    service = rig.service(payment_idle_s=30)
    sale_id = rig.new_sale(1000)
    service.pay(sale_id, 1000, cart(1000))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    rig.clock.advance(31)
    assert rig.events.wait_for_end(sale_id) == ("cancelled", sale_id, "")
    assert rig.intents_for(sale_id)[0]["status"] == "requires_payment_method"
    assert rig.sale_state(sale_id) == "open"
    assert len(rig.posts("/cancel_action")) == 1


def test_nothing_changing_for_payment_max_withdraws_with_payment_timed_out(
        rig: PaymentRig) -> None:
    service = rig.service(payment_idle_s=600, payment_max_s=60)
    sale_id = rig.new_sale(1000)
    service.pay(sale_id, 1000, cart(1000))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    rig.clock.advance(61)
    assert rig.events.wait_for_end(sale_id) == ("declined", sale_id, "payment_timed_out")
    assert rig.attempt(sale_id)["outcome"] == "payment_timed_out"
    assert rig.sale_state(sale_id) == "open"


def test_an_authorisation_past_its_wait_calls_staff_without_cancelling(rig: PaymentRig) -> None:
    rig.emulator.customer("tap", after_s=0.0, auth_delay_s=600.0)
    service = rig.service(authorisation_wait_s=20)
    sale_id = rig.new_sale(1000)
    service.pay(sale_id, 1000, cart(1000))
    rig.events.wait_for("phase", sale_id, "authorising")
    rig.clock.advance(21)
    # In doubt, never a decline: a decline would hand the cart back while the card may
    # still be charged.
    assert rig.events.wait_for_end(sale_id) == ("unresolved", sale_id,
                                                "authorisation_too_slow")
    assert rig.posts("/cancel") == []  # neither cancel_action nor a PaymentIntent cancel
    assert rig.attempt(sale_id)["state"] == "processing"
    assert rig.sale_state(sale_id) == "locked"

    rig.emulator.advance_clock(601)  # the issuer answers at last
    report = service.recover(10)
    assert report.paid == [sale_id]
    assert rig.sale_state(sale_id) == "paid"
    rig.events.wait_for("paid", sale_id)  # the kiosk is told: the screen moves on to paid


def test_the_idle_timer_never_cancels_an_authorisation_in_flight(rig: PaymentRig) -> None:
    rig.emulator.customer("tap", after_s=0.0, auth_delay_s=60.0)
    service = rig.service(payment_idle_s=30, authorisation_wait_s=120)
    sale_id = rig.new_sale(1000)
    service.pay(sale_id, 1000, cart(1000))
    rig.events.wait_for("phase", sale_id, "authorising")
    rig.clock.advance(31)
    service.cancel_waiting(sale_id)  # the facade's own card-wait timer
    rig.emulator.advance_clock(61)
    assert rig.events.wait_for_end(sale_id) == ("paid", sale_id, "")
    assert rig.posts("/cancel") == []


def test_a_stuck_reader_action_is_withdrawn_when_the_card_wait_ends(rig: PaymentRig) -> None:
    rig.emulator.inject(Fault(kind="stuck_action", method="POST",
                              path=r"/process_payment_intent$"))
    service = rig.service(payment_idle_s=30)
    sale_id = rig.new_sale(1000)
    service.pay(sale_id, 1000, cart(1000))
    rig.events.wait_for("phase", sale_id, "waiting_for_card")
    rig.clock.advance(31)
    assert rig.events.wait_for_end(sale_id) == ("cancelled", sale_id, "")
    assert rig.emulator.readers()[0]["action"] is None  # withdrawn: cancel_action cleared it
