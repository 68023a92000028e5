"""The sale on screen and today's sales: approvals, voids, refunds, copies, payments in doubt.

Approvals go through the facade's checkout (each decision it applies writes its one audit
row there, ``checkout.<action>``; one it refuses is audited here). A refund goes through the
payment service, which caps it at what was captured; its slip prints by itself once Stripe
accepts it, and the sync relay is woken at once so the back office hears of it. A copy of a
receipt is marked COPY by the receipt desk, which audits it (``receipt.reprint``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from kiosk.notices import CartRefused, Notice
from kiosk.staff_menu.host import MenuHost
from kiosk.staff_menu.replies import in_thread, on_main
from kiosk.staff_menu.signed_in import SignedIn
from kiosk.store.sales_report import SaleDetail, SaleSummary, sale_detail, todays_sales

if TYPE_CHECKING:
    from kiosk.payments.alerts import PaymentAlerts
    from kiosk.payments.awaiting import AwaitingPayment
    from kiosk.payments.refunds import RefundResult
    from kiosk.payments.reports import ReconcileReport
    from kiosk.receipts.jobs import UnprintedReceipt

log = logging.getLogger(__name__)

RECONCILE_LOOK_BACK = timedelta(days=7)
"""How far back "check with Stripe again" looks for PaymentIntents of this kiosk."""

RECONCILE_BUDGET_S = 60.0
"""How long "check with Stripe again" may take, in seconds."""


class SalesAndRefunds:
    """The sale on screen, today's sales, refunds, copies, the lists staff work through."""

    def __init__(self, host: MenuHost, signed_in: SignedIn) -> None:
        self._host = host
        self._signed_in = signed_in
        self._guard = signed_in.guard
        self._audit = signed_in.audit
        self._refunding: set[str] = set()
        """Sales with a refund asked for and not answered yet (main thread only)."""

    # --------------------------------------------------------------- the sale on screen

    @property
    def tax_classes(self) -> list[tuple[str, str]]:
        """(code, label) of the shop's tax classes, for pricing an unknown item."""
        classes = self._host.tax_policy.classes.values()
        return [
            (tax_class.code, tax_class.label or f"{(tax_class.rate * 100).normalize():f} %")
            for tax_class in classes
        ]

    @property
    def currency(self) -> str:
        """The shop's currency code."""
        return self._host.settings.shop.currency

    def price_item(self, unit_price_minor: int, tax_class: str) -> None:
        """Add the unknown (or unweighed) item of the open call at this price and tax class."""
        self._decide(
            "price_item",
            lambda staff: self._host.decisions.price_item(staff, unit_price_minor, tax_class),
            {"unit_price_minor": unit_price_minor, "tax_class": tax_class},
        )

    def override_limit(self) -> None:
        """Allow the item that broke a cart limit."""
        self._decide("override_limit", self._host.decisions.override_limit, {})

    def leave_out(self) -> None:
        """Close an unknown-item, weighed-item or limit call without the item."""
        self._decide("leave_out", self._host.decisions.leave_out, {})

    def void_line(self, line_id: int) -> None:
        """Remove a line of the customer's cart (refused while a payment is in flight)."""
        self._decide("void_line", lambda staff: self._host.decisions.void_line(staff, line_id),
                     {"line": line_id})

    def _decide(
        self, action: str, decide: Callable[[int], None], asked: dict[str, object]
    ) -> None:
        """Carry out a staff decision on the sale on screen; one audit row either way.

        A decision the checkout applies is audited by the facade with the change it made
        (``checkout.<action>``, one transaction). One it refuses (``no_call``, ``bad_price``,
        a limit...) changes nothing and is audited here under the same action with the
        refusal as its outcome; the ``CartRefused`` notice still reaches the screen. A
        decision that settles the call the menu was opened for closes the menu.
        """
        session = self._guard("approve")
        if session is None:
            return
        host = self._host
        refusals: list[str] = []

        def heard(notice: Notice) -> None:
            if isinstance(notice, CartRefused):
                refusals.append(notice.code)

        # The checkout decides synchronously, on this thread: its refusal is heard here.
        host.listen(heard)
        try:
            decide(session.staff_number)
        finally:
            host.stop_listening(heard)
        if refusals:
            self._audit(f"checkout.{action}", refusals[0], session.staff_number,
                        {"sale_id": host.checkout().sale_id, **asked})
        self._signed_in.settle_call()

    # ------------------------------------------------------------------------ sales

    def todays_sales(self) -> list[SaleSummary]:
        """This kiosk's sales opened today in the shop's time zone, newest first."""
        zone = self._host.settings.shop.zone()
        return todays_sales(self._host.reader(), now=self._host.clock(), zone=zone)

    def sale_detail(self, sale_id: str) -> SaleDetail | None:
        """One sale's lines, payment, refunds and receipts (``None`` if unknown)."""
        return sale_detail(self._host.reader(), sale_id)

    def refundable_minor(self, sale_id: str) -> int:
        """What is left to refund of a paid sale, in minor units (0 if not paid)."""
        # Imported here: kiosk.payments loads stripe, which the first frame must not wait for.
        from kiosk.payments.refunds import refundable_minor

        return refundable_minor(self._host.reader(), sale_id)

    def refund(
        self, sale_id: str, amount_minor: int | None, then: Callable[[str], None]
    ) -> None:
        """Refund ``amount_minor`` (minor units; ``None``: all that is left) of a paid sale
        to its card; managers only. ``then(code)``: ``refunded``, ``pending``, ``released``,
        a refusal (``exceeds_captured``, ``nothing_left``, ``bad_amount``,
        ``sale_not_paid``, ``refund_in_progress``), ``failed`` (Stripe refused it: nothing
        was refunded), ``outcome_unknown`` (also when the refund flow broke off),
        ``not_allowed`` or ``card_payments_unavailable``. One audit row, ``sale.refund``.

        A second refund of a sale whose first one has not answered yet is refused
        (``refund_in_progress``): each request is a new refund at Stripe, so a double tap or
        an impatient retry would otherwise refund the customer twice (within what was
        captured, but twice)."""
        session = self._guard("refund")
        if session is None:
            then("not_allowed")
            return
        service = self._host.card_payments()
        detail: dict[str, object] = {"sale_id": sale_id, "asked_minor": amount_minor}
        if service is None:
            self._audit("sale.refund", "card_payments_unavailable", session.staff_number,
                        dict(detail))
            then("card_payments_unavailable")
            return
        staff_number = session.staff_number
        if sale_id in self._refunding:
            self._audit("sale.refund", "refund_in_progress", staff_number, dict(detail))
            then("refund_in_progress")
            return
        self._refunding.add(sale_id)

        def answered(result: RefundResult) -> None:
            self._refunding.discard(sale_id)
            code = result.reason if result.code == "refused" and result.reason else result.code
            self._audit("sale.refund", code, staff_number, {
                **detail, "amount_minor": result.amount_minor, "refund_id": result.refund_id,
            })
            if result.ok:
                self._host.sync_now()
            then(code)

        def failed(error: BaseException) -> None:
            # The refund flow broke off (the store failed or timed out): maybe before the
            # refund was asked for, maybe after Stripe made it. Never tell staff "nothing was
            # refunded" then: its row, if any, is settled by payment recovery.
            self._refunding.discard(sale_id)
            log.error("refund of sale %s broke off: %s", sale_id, error)
            self._audit("sale.refund", "outcome_unknown", staff_number,
                        {**detail, "error": str(error)[:200]})
            then("outcome_unknown")

        on_main(self._host.post, service.refund(sale_id, amount_minor, staff_number),
                answered, failed)

    def reprint(self, sale_id: str, then: Callable[[str], None]) -> None:
        """Print a copy (marked COPY) of a paid sale's receipt. ``then(code)``: ``printed``,
        a printer status (``offline``...), ``not_paid`` or ``no_printer``. The receipt desk
        writes the audit row of a copy it printed or tried; the others are written here."""
        session = self._guard("reprint")
        if session is None:
            then("not_allowed")
            return
        desk = self._host.receipt_desk()
        staff_number = session.staff_number
        if desk is None:
            self._audit("receipt.reprint", "no_printer", staff_number, {"sale_id": sale_id})
            then("no_printer")
            return

        def failed(error: BaseException) -> None:
            from kiosk.store.receipts import ReceiptUnavailable

            code = "not_paid" if isinstance(error, ReceiptUnavailable) else "failed"
            log.warning("copy of sale %s not printed: %s", sale_id, error)
            self._audit("receipt.reprint", code, staff_number, {"sale_id": sale_id})
            then(code)

        on_main(self._host.post, desk.reprint(sale_id, by=staff_number), then, failed)

    def unprinted(self) -> list[UnprintedReceipt]:
        """Receipts that never printed (the customer asked for one), oldest first."""
        desk = self._host.receipt_desk()
        return [] if desk is None else desk.unprinted()

    def awaiting_recovery(self) -> list[AwaitingPayment]:
        """Card payments the kiosk could not settle yet, with what it knows about each."""
        from kiosk.payments.awaiting import payments_awaiting_recovery

        return payments_awaiting_recovery(self._host.reader())

    def payment_alerts(self) -> PaymentAlerts:
        """Card-payment alerts that stay until dealt with: authorisations the provider
        cancelled (until acknowledged) and an orphan sweep that could not finish."""
        from kiosk.payments.alerts import payment_alerts

        return payment_alerts(self._host.reader())

    def acknowledge_lost_authorisation(self, sale_id: str,
                                       then: Callable[[str], None]) -> None:
        """A staff member saw that the sale's authorisation was lost. ``then(code)``:
        ``acknowledged``, ``nothing_to_acknowledge``, ``failed`` or ``not_allowed``. The
        acknowledgement is an audit row (``payment.authorisation_lost_acknowledged``)."""
        from kiosk.payments.lost_authorisations import acknowledge

        session = self._guard("check_payments")
        if session is None:
            then("not_allowed")
            return
        staff_number, at = session.staff_number, self._host.clock()
        future = self._host.write(
            lambda db: acknowledge(db, sale_id, staff_number=staff_number, at=at),
            "acknowledge a lost authorisation")

        def answered(done: bool) -> None:
            then("acknowledged" if done else "nothing_to_acknowledge")

        def failed(error: BaseException) -> None:
            log.warning("lost authorisation of sale %s not acknowledged: %s", sale_id, error)
            then("failed")

        on_main(self._host.post, future, answered, failed)

    def check_payments_again(self, then: Callable[[str], None]) -> None:
        """Ask Stripe about the payments in doubt now (reconcile). ``then(code)``:
        ``settled``, ``still_unresolved``, ``stripe_unreachable`` or
        ``card_payments_unavailable``. One audit row, ``payment.check_again``."""
        session = self._guard("check_payments")
        if session is None:
            then("not_allowed")
            return
        service = self._host.card_payments()
        staff_number = session.staff_number
        if service is None:
            self._audit("payment.check_again", "card_payments_unavailable", staff_number)
            then("card_payments_unavailable")
            return
        since = self._host.clock() - RECONCILE_LOOK_BACK
        future = in_thread("reconcile", lambda: service.reconcile(since, RECONCILE_BUDGET_S))

        def answered(report: ReconcileReport) -> None:
            if report.settled:
                code = "settled"
            else:
                code = "still_unresolved" if report.unresolved else "stripe_unreachable"
            self._audit("payment.check_again", code, staff_number,
                        {"unresolved": len(report.unresolved), "errors": len(report.errors)})
            then(code)

        def failed(error: BaseException) -> None:
            log.warning("reconcile failed: %s", error)
            self._audit("payment.check_again", "stripe_unreachable", staff_number,
                        {"error": str(error)})
            then("stripe_unreachable")

        on_main(self._host.post, future, answered, failed)
