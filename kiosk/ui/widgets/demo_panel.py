"""The demo panel (``kiosk demo`` only): scan sample items, pick the card, see the demo staff.

Sample items go through the virtual scanner, the same serial path a real scanner's frames
take. The card choice tells the embedded Stripe emulator's simulated customer which test card
to tap after Pay. The demo staff numbers and PINs are shown here, and nowhere outside demo.
"""

from __future__ import annotations

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.ui.i18n import N_

DEMO_CARD_LABELS = {
    "approved": N_("Card OK"),
    "declined": N_("Card declined"),
    "insufficient_funds": N_("No funds"),
}

ROLE_WORDS = {"attendant": N_("attendant"), "manager": N_("manager")}


class DemoPanel(BoxLayout):
    """A strip under the screens with the demo's shortcuts (layout in ``kv/demo_panel.kv``)."""

    staff_text = StringProperty("")

    def on_kv_post(self, _base_widget: object) -> None:
        """Add one button per sample item and per demo card."""
        app = App.get_running_app()
        info = app.demo_info
        for label, barcode in info.barcodes:
            button = Factory.DemoButton(text=label)
            button.bind(on_release=lambda _b, code=barcode: app.scan_demo_item(code))
            self.ids.item_buttons.add_widget(button)
        cards = self.ids.card_buttons
        for kind, label in DEMO_CARD_LABELS.items():
            button = Factory.DemoCardButton(text=app.tr(label))
            button.bind(on_release=lambda _b, kind=kind: app.choose_demo_card(kind))
            cards.add_widget(button)

        def refresh(*_args: object) -> None:
            for button, (kind, label) in zip(
                reversed(cards.children), DEMO_CARD_LABELS.items(), strict=True
            ):
                button.text = app.tr(label)
                button.role = "accent" if kind == app.demo_card else "neutral"
            self.staff_text = "  \u00b7  ".join(
                app.tr("Demo {role}: {number}, PIN {pin}",
                       role=app.tr(ROLE_WORDS.get(role, role)), number=number, pin=pin)
                for role, number, pin in reversed(info.staff)
            )

        app.bind(demo_card=refresh, tr=refresh)
        refresh()
