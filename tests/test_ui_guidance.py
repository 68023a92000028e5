"""Audio guidance on the real touchscreen: a sale's spoken sequence, in English and German.

The demo kiosk records guidance with the speech twin (``[audio] guidance_device =
"virtual"``). A customer turns guidance on in the accessibility panel, scans water and an
age-restricted beer, pays (staff check the age with their PIN), is declined, pays again with
a good card, chooses no receipt and is thanked; a touch while the age check is being read out
cuts it short and drops the rest. What the customer heard must match the golden list of each
language. The end of the sale turns guidance off and puts volume and rate back to the shop's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from kivy.core.window import Window
from test_ui_undo_and_start_over import layout_problems
from ui_support import (
    MINERAL_WATER,
    ORANGE_JUICE,
    SIZES,
    KioskDriver,
    barcode_of,
    prepared_demo,
    run_kiosk_ui,
    texts_in,
)
from ui_support import open_accessibility_panel as open_panel

from kiosk.config.audio import AudioSettings
from kiosk.sim.virtual_speech import INTERRUPTED, VirtualSpeech
from kiosk.ui.accessibility import SHOP_DEFAULTS
from kiosk.ui.modes_on_screen import apply_modes
from kiosk.ui.widgets.accessibility_panel import AccessibilityPanel
from kiosk.ui.widgets.guidance_settings import GuidanceLevel

LAGER = barcode_of("Lager beer")
AUTHORISING = {
    "en": "Approving your payment. Please keep your card at the reader.",
    "de": "Ihre Zahlung wird freigegeben. Bitte lassen Sie die Karte am Terminal.",
}
"""Said only when a poll of the reader sees it authorising: the emulator may answer sooner."""

READER = {
    "en": [
        "Tap or insert your card on the reader to your right.",
        "Follow the instructions on the reader.",
        "If the reader asks for your PIN, enter it on the reader's keypad, not on this screen.",
        "The reader beeps once when it has read your card. Several beeps mean the card could "
        "not be read: try again.",
    ],
    "de": [
        "Halten Sie Ihre Karte an das Kartenterminal rechts von Ihnen, oder stecken Sie sie ein.",
        "Folgen Sie den Anweisungen auf dem Kartenterminal.",
        "Wenn das Kartenterminal nach Ihrer PIN fragt, geben Sie sie auf der Tastatur des "
        "Kartenterminals ein, nicht auf diesem Bildschirm.",
        "Das Kartenterminal piept einmal, wenn es Ihre Karte gelesen hat. Mehrere Pieptöne "
        "bedeuten, dass die Karte nicht gelesen werden konnte: Versuchen Sie es noch einmal.",
    ],
}
"""The card screen waiting for a card: where the reader is, the PIN, the beeps."""

GOLDEN = {
    "en": [
        "Audio guidance is on. Touch the screen or press a key to stop a sentence.",
        "Welcome to Demo Corner Shop",
        "Scan an item to start.",
        "Hold each barcode under the scanner. Pay by card at the end.",
        "Your cart",
        "Mineral water still 1.5 l, €0.49.",
        "Total €0.49.",
        "Lager beer 0.5 l, €1.19.",
        "Total €1.68.",
        "Staff will check your age before you pay.",
        "An age check is needed",
        INTERRUPTED[1],  # staff touched "Staff": the rest of the age check was dropped
        "Your cart",
        "2 items in your cart.",
        "Total €1.68.",
        "Scan your next item, or press Pay.",
        "Amount to pay: €1.68.",
        *READER["en"],
        "Payment not completed",
        "The card was declined. Try another card, or ask staff.",
        "Your choices:",
        "Try another card",
        "Back to the cart",
        *READER["en"],
        "Payment approved",
        "You paid €1.68.",
        "How would you like your receipt?",
        "Your choices:",
        "Print receipt",
        "No receipt",
        "Thank you for shopping with us!",
    ],
    "de": [
        "Die Sprachführung ist eingeschaltet. Berühren Sie den Bildschirm oder drücken Sie "
        "eine Taste, um einen Satz zu beenden.",
        "Willkommen bei Demo Corner Shop",
        "Scannen Sie einen Artikel, um zu beginnen.",
        "Halten Sie jeden Barcode unter den Scanner. Am Ende zahlen Sie mit Karte.",
        "Ihr Warenkorb",
        "Mineral water still 1.5 l, 0,49\xa0€.",
        "Gesamt 0,49\xa0€.",
        "Lager beer 0.5 l, 1,19\xa0€.",
        "Gesamt 1,68\xa0€.",
        "Das Personal prüft Ihr Alter, bevor Sie bezahlen.",
        "Eine Alterskontrolle ist nötig",
        INTERRUPTED[1],
        "Ihr Warenkorb",
        "2 Artikel im Warenkorb.",
        "Gesamt 1,68\xa0€.",
        "Scannen Sie den nächsten Artikel oder drücken Sie Bezahlen.",
        "Zu zahlen: 1,68\xa0€.",
        *READER["de"],
        "Zahlung nicht abgeschlossen",
        "Die Karte wurde abgelehnt. Bitte versuchen Sie eine andere Karte oder wenden Sie sich "
        "an unser Personal.",
        "Ihre Möglichkeiten:",
        "Andere Karte versuchen",
        "Zurück zum Warenkorb",
        *READER["de"],
        "Zahlung erfolgreich",
        "Sie haben 1,68\xa0€ bezahlt.",
        "Wie möchten Sie Ihren Beleg erhalten?",
        "Ihre Möglichkeiten:",
        "Beleg drucken",
        "Kein Beleg",
        "Vielen Dank für Ihren Einkauf!",
    ],
}
"""What the customer hears in the sale of the test below, in each language."""


@pytest.fixture
def kiosk_ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk on the 10-inch screen."""
    yield from run_kiosk_ui(tmp_path, request.node.name, "1280x800")


@pytest.fixture(params=list(SIZES))
def kiosk_ui_sized(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KioskDriver]:
    """The demo kiosk at each supported screen size."""
    yield from run_kiosk_ui(tmp_path, request.node.name, request.param)


def turn_guidance_on(ui: KioskDriver) -> VirtualSpeech:
    """Open the panel, turn audio guidance on, close it: all by touch. Returns the twin."""
    panel = open_panel(ui)
    row = next(switch for switch in panel.switches if switch.mode == "audio_guidance")


    ui.tap(row.ids.switch)
    assert ui.app.modes.audio_guidance
    ui.screenshot("guidance-on")
    ui.tap(panel.ids.done_button)
    speech = ui.app.guidance.speech
    assert isinstance(speech, VirtualSpeech)
    return speech


def heard(speech: VirtualSpeech, language: str) -> list[str]:
    """What the customer heard, in order (the authorising step left out: see AUTHORISING)."""
    assert all(said_in in (language, "") for said_in, _text in speech.heard)
    return [text for _language, text in speech.heard if text != AUTHORISING[language]]


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_sale_is_spoken_from_the_scan_to_the_thanks_and_a_touch_cuts_it_short(
    kiosk_ui: KioskDriver, language: str
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    if language == "de":
        ui.tap_text("Deutsch")
        ui.wait_for(lambda: ui.app.language == "de", "German")
    speech = turn_guidance_on(ui)

    ui.scan(MINERAL_WATER)
    ui.wait_for(lambda: len(ui.app.cart_rows) == 1, "the water in the cart")
    ui.scan(LAGER)
    ui.wait_for(lambda: len(ui.app.cart_rows) == 2, "the beer in the cart")
    ui.app.choose_demo_card("declined")  # the demo's simulated customer, not a screen touch

    speech.hold = True  # from here a sentence lasts until the next touch
    ui.tap(ui.find("pay_button", "shopping"))
    ui.wait_for_screen("needs_attendant")
    ui.frames(3)
    assert speech.speaking is not None and speech.waiting, "the age check is being read"
    number, pin = ui.demo_staff("attendant")
    ui.type_on_pin_pad(ui.attendant_pin_pad(), number, pin)  # touches: the voice stops
    assert speech.speaking is None and speech.dropped
    speech.hold = False
    ui.wait_for_screen("shopping")

    ui.tap(ui.find("pay_button", "shopping"))
    ui.wait_for(lambda: ui.app.payment_mode == "declined", "the decline explained")
    ui.app.choose_demo_card("approved")
    ui.tap(ui.find("retry_button", "payment"))
    ui.wait_for_screen("paid")
    ui.frames(3)
    ui.tap(ui.find("no_receipt_button", "paid"))
    ui.wait_for_screen("thank_you")
    ui.frames(3)
    spoken = heard(speech, language)
    assert spoken == GOLDEN[language]

    ui.wait_for_screen("attract")
    assert ui.app.modes == SHOP_DEFAULTS, "guidance, volume and rate are the shop's again"
    assert speech.speaking is None and not speech.waiting
    assert INTERRUPTED in speech.heard


def test_volume_and_speed_change_at_once_and_return_to_the_shops_at_walk_away(
    kiosk_ui_sized: KioskDriver,
) -> None:
    ui = kiosk_ui_sized
    ui.wait_for_screen("attract")
    ui.started()
    ui.scan(MINERAL_WATER)
    ui.wait_for_screen("shopping")
    panel = open_panel(ui)
    row = next(switch for switch in panel.switches if switch.mode == "audio_guidance")
    ui.tap(row.ids.switch)
    speech = ui.app.guidance.speech
    assert isinstance(speech, VirtualSpeech)
    levels = {level.kind: level for level in panel.walk(restrict=True)
              if isinstance(level, GuidanceLevel)}
    assert set(levels) == {"volume", "rate"}
    ui.tap(levels["volume"].ids.more_button)
    ui.tap(levels["volume"].ids.more_button)
    ui.tap(levels["rate"].ids.less_button)
    assert texts_in(panel).count("Volume: 100 %") == 1
    assert "Speed: 140 words a minute" in texts_in(panel)
    ui.screenshot("guidance-levels")
    assert layout_problems(panel, ui.app) == []
    assert (speech.volume_percent, speech.rate_wpm) == (100, 140)
    assert speech.settings_heard[-1] == (100, 140)
    assert list(speech.heard)[-1] == ("en", "Volume 100 percent, speed 140 words a minute.")
    ui.tap(panel.ids.done_button)

    ui.advance(ui.settings.timeouts.idle_prompt_after_s + 1)
    ui.wait_for(lambda: ui.app.idle_countdown > 0, "the inactivity prompt")
    ui.frames(3)
    assert list(speech.heard)[-4:] == [
        ("en", "Are you still there?"), ("en", "Your choices:"),
        ("en", "Yes, continue"), ("en", "Start over"),
    ]
    ui.advance(ui.settings.timeouts.idle_abandon_after_s + 1)
    ui.wait_for_screen("attract")
    assert ui.app.modes == SHOP_DEFAULTS
    assert ui.app.guidance.levels() == (80, 160)


DOWN_ARROW = 274
"""SDL's key code of the down arrow (the keypad navigation's "next")."""


def test_a_key_press_stops_the_voice_and_drops_what_was_queued(kiosk_ui: KioskDriver) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    speech = turn_guidance_on(ui)
    speech.hold = True
    ui.scan(MINERAL_WATER)
    ui.wait_for(lambda: speech.waiting != [], "the cart being read out")
    assert speech.speaking == ("en", "Your cart")
    Window.dispatch("on_key_down", 32, 0, " ", [])
    assert speech.speaking is None and speech.waiting == []
    assert list(speech.heard)[-2:] == [("en", "Your cart"), INTERRUPTED]
    assert ("en", "Total €0.49.") in speech.dropped
    # a key the keypad navigation takes (an arrow: it moves the focus ring) stops it too
    ui.scan(ORANGE_JUICE)
    ui.wait_for(lambda: speech.speaking is not None, "the second scan being read out")
    Window.dispatch("on_key_down", DOWN_ARROW, 0, None, [])
    Window.dispatch("on_key_up", DOWN_ARROW, 0)
    assert speech.speaking is None and speech.waiting == []


def test_without_headphones_or_loudspeaker_guidance_cannot_be_turned_on_and_the_panel_says_why(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    settings, demo = prepared_demo(tmp_path / "kiosk")
    quiet = replace(settings, audio=AudioSettings(guidance_device=""))
    for ui in run_kiosk_ui(tmp_path, request.node.name, "800x480", settings=quiet, demo=demo):
        ui.wait_for_screen("attract")
        ui.started()
        panel = open_panel(ui)
        row = next(switch for switch in panel.switches if switch.mode == "audio_guidance")
        assert row.ids.switch.disabled and not row.available
        row.toggle()  # a key or a stray call: still refused
        assert not ui.app.modes.audio_guidance and ui.app.guidance.speech is None
        reason = ("Audio guidance needs headphones, and this checkout has no headphone socket "
                  "set up. Please ask staff for help.")
        assert reason in texts_in(panel)
        ui.screenshot("guidance-not-available")
        apply_modes(ui.app, replace(ui.app.modes, audio_guidance=True))  # round the panel
        ui.scan(MINERAL_WATER)
        ui.wait_for_screen("shopping")
        assert ui.app.guidance.speech is None, "nothing to speak with, and no crash"


def test_headphones_plugged_in_open_the_panel_with_an_offer_on_screen_and_in_the_ear(
    kiosk_ui: KioskDriver,
) -> None:
    ui = kiosk_ui
    ui.wait_for_screen("attract")
    ui.started()
    ui.app.guidance.headphones_changed(True)  # what the socket's reader posts on a plug-in
    ui.frames(3)
    panels = [w for w in Window.children if isinstance(w, AccessibilityPanel)]
    assert len(panels) == 1, "the panel opened by itself"
    assert "Headphones are plugged in: turn audio guidance on above." in texts_in(panels[0])
    speech = ui.app.guidance.speech
    assert isinstance(speech, VirtualSpeech)
    assert list(speech.heard) == [("en", (
        "Headphones are plugged in. Audio guidance is available: turn it on in the "
        "accessibility panel on the screen."))]
    assert not ui.app.modes.audio_guidance, "offered, not forced on"
    ui.screenshot("headphones-offer")


def test_the_buzz_of_a_scan_refused_on_the_paid_screen_has_its_words_there(
    kiosk_ui_sized: KioskDriver,
) -> None:
    ui = kiosk_ui_sized
    ui.wait_for_screen("attract")
    ui.started()
    ui.scan(ORANGE_JUICE)
    ui.wait_for_screen("shopping")
    ui.tap(ui.find("pay_button", "shopping"))
    ui.wait_for_screen("paid")
    ui.scan(MINERAL_WATER)  # the sale is paid: the cart is locked, the scanner buzzes
    ui.wait_for(lambda: ui.shows("The cart cannot change right now."), "the refusal's words")
    assert ui.find("paid_message", "paid").opacity > 0
    ui.screenshot("paid-refused-scan")
    assert layout_problems(ui.app.root.screens.get_screen("paid"), ui.app) == []
