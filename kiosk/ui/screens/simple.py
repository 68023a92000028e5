"""Screens whose ``.kv`` file says everything: they need no state of their own.

Attract (shop name, "scan an item to start", languages), payment (what to do at the reader),
checking (the last payment at start-up), paid (receipt choice), thank you, and closed.
"""

from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.i18n import LANGUAGES
from kiosk.ui.widgets.basic import TouchButton


class AttractScreen(Screen):
    """Waiting for a customer: ``kv/attract.kv``, plus one button per language of the shop."""

    def on_kv_post(self, _base_widget: object) -> None:
        """Add a button for each language the shop offers (``[shop] languages``), named in
        that language."""
        app = App.get_running_app()
        row = self.ids.languages
        codes = app.offered_languages
        for code in codes:
            button = TouchButton(text=LANGUAGES[code])
            button.bind(on_release=lambda _button, code=code: app.set_language(code))
            row.add_widget(button)

        def mark_chosen(*_args: object) -> None:
            for button, code in zip(reversed(row.children), codes, strict=True):
                button.role = "accent" if code == app.language else "neutral"

        app.bind(language=mark_chosen)
        mark_chosen()


class PaymentScreen(Screen):
    """The card payment and a decline's explanation: ``kv/payment.kv``.

    ``retry_offered`` says "Try another card" has been on this visit of the screen: from then
    on its place stays (hidden while the next card is awaited), so a second tap lands on
    nothing. Before that, "Back to the cart" stands alone in the middle.
    """

    retry_offered = BooleanProperty(False)

    def on_kv_post(self, _base_widget: object) -> None:
        """Follow the payment view: a shown "Try another card" keeps its place."""
        app = App.get_running_app()
        if app is None:  # built by a screen-building tick that ran after the app stopped
            return

        def note_retry(*_args: object) -> None:
            if app.payment_view is not None and app.payment_view.retry_shown:
                self.retry_offered = True

        app.bind(payment_view=note_retry)
        note_retry()

    def on_leave(self, *_args: object) -> None:
        """The next visit starts with "Back to the cart" alone."""
        self.retry_offered = False


class CheckingScreen(Screen):
    """"Checking the last payment..." at start-up: ``kv/checking.kv``."""


class PaidScreen(Screen):
    """Payment approved; how would you like your receipt: ``kv/paid.kv``."""


class ThankYouScreen(Screen):
    """Thank you, the receipt's fate, back to the attract screen: ``kv/thank_you.kv``."""


class ClosedScreen(Screen):
    """Closed by staff, or out of order: ``kv/closed.kv``."""
