"""Audio guidance on the touchscreen: feeds ``kiosk.ui.guidance`` and speaks what it says.

``KioskApp`` hands every ``CustomerView`` it draws to `GuidanceOnScreen.view_changed` and
every short message to `message_shown`; at the end of the frame (a Clock trigger, so one
notice's screen, cart and message are spoken together and in order) the sentences of
``guidance.what_to_say`` go to the voice, then the messages. Nothing is spoken while
``app.modes.audio_guidance`` is off. A touch anywhere or a key press interrupts the voice
(this module binds the window's ``on_touch_down`` and ``on_key_down`` itself).

The voice (``kiosk.devices.speech.Speech`` on ``[audio]``'s device, or its twin
``kiosk.sim.virtual_speech.VirtualSpeech`` for ``"virtual"``) is made when guidance is first
turned on, so the first frame loads none of it. Volume and rate are the shop's
(``[audio] volume_percent``, ``rate_wpm``) moved by the customer's steps, which are
``Modes`` fields: they return to the shop's with every other mode when the sale ends.

Private listening: with no headphone device and the loudspeaker not allowed, guidance cannot
be turned on (`available` is False; the panel says why). Where the hardware reports the
headphone socket (``[audio] headphone_card``), a thread reads it every `HEADPHONE_POLL_S`;
plugging headphones in opens the accessibility panel with a note offering guidance, and the
offer is spoken into the headphones.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.event import EventDispatcher
from kivy.properties import BooleanProperty

from kiosk.ui.i18n import N_

if TYPE_CHECKING:  # the voice and the sentences load when guidance is first used, not for
    # the first frame
    from kiosk.config.audio import AudioSettings
    from kiosk.devices.speech import SpeechOutput
    from kiosk.ui.accessibility import Modes
    from kiosk.ui.customer_view import CustomerView

log = logging.getLogger(__name__)

VOLUME_STEP = 10
"""One press of the volume's - or +, percent."""
RATE_STEP = 20
"""One press of the speed's - or +, words per minute."""
HEADPHONE_POLL_S = 1.0
"""How often the headphone socket is read, seconds (one ``amixer`` run each time)."""
NOT_AVAILABLE = N_(
    "Audio guidance needs headphones, and this checkout has no headphone socket set up. "
    "Please ask staff for help."
)
"""What the panel says under "Audio guidance" when it cannot be turned on."""


def speech_levels(modes: Modes, audio: AudioSettings) -> tuple[int, int]:
    """The (volume percent, words per minute) guidance speaks with in ``modes``: the shop's
    moved by the customer's steps, within the voice's ranges."""
    from kiosk.devices.speech import RATE_RANGE, VOLUME_RANGE, clamp

    return (
        clamp(audio.volume_percent + modes.speech_volume_step * VOLUME_STEP, VOLUME_RANGE),
        clamp(audio.rate_wpm + modes.speech_rate_step * RATE_STEP, RATE_RANGE),
    )


def open_speech(audio: AudioSettings) -> SpeechOutput | None:
    """The voice for ``audio``'s output: the twin for ``"virtual"``, espeak-ng on the ALSA
    device otherwise, None when guidance may not speak."""
    output = audio.guidance_output()
    if not output:
        return None
    if output == "virtual":
        from kiosk.sim.virtual_speech import VirtualSpeech

        return VirtualSpeech(volume_percent=audio.volume_percent, rate_wpm=audio.rate_wpm)
    from kiosk.devices.speech import Speech

    return Speech(output, volume_percent=audio.volume_percent, rate_wpm=audio.rate_wpm)


class GuidanceOnScreen(EventDispatcher):
    """The app's audio guidance (``app.guidance``)."""

    available = BooleanProperty(False)
    """Guidance can be turned on: it has headphones, or the loudspeaker is allowed."""
    headphones_in = BooleanProperty(False)
    """The socket reports headphones plugged in (never True without ``headphone_card``)."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self._app = app
        self._audio: AudioSettings = app.settings.audio
        self.available = bool(self._audio.guidance_output())
        self.speech: SpeechOutput | None = None
        """The voice, once guidance was first turned on."""
        self._spoken: CustomerView | None = None
        self._latest: CustomerView | None = None
        self._messages: list[str] = []
        self._was_on = False
        self._speak_soon = Clock.create_trigger(lambda _dt: self._speak_changes())
        self._stop_polling = threading.Event()
        app.bind(modes=self._on_modes, language=self._on_language,
                 on_start=self._on_start, on_stop=self._on_stop)

    @property
    def on(self) -> bool:
        """Guidance is on for this customer."""
        return bool(self._app.modes.audio_guidance)

    # ------------------------------------------------------------------ the app's hooks

    def view_changed(self, view: CustomerView) -> None:
        """The app drew ``view``: its news is spoken at the end of the frame."""
        self._latest = view
        if self.on:
            self._speak_soon()
        else:
            self._spoken = view

    def message_shown(self, text: str) -> None:
        """A short message shows: spoken after the screen's sentences (``""``: it went)."""
        if text and self.on:
            self._messages.append(text)
            self._speak_soon()

    def interrupt(self, *_args: Any) -> bool:
        """Stop the sentence being spoken and drop the rest (a touch, a key); never takes
        the touch or key from the screen."""
        if self.speech is not None:
            self.speech.interrupt()
        self._messages.clear()
        return False

    def headphones_changed(self, plugged: bool) -> None:
        """The socket says headphones went in (or out): offer guidance on the screen and
        in the headphones."""
        if plugged == self.headphones_in:
            return
        self.headphones_in = plugged
        log.info("headphones %s", "plugged in" if plugged else "unplugged")
        app = self._app
        if plugged and self.available and not self.on and app.accessibility_offered:
            from kiosk.ui.guidance import HEADPHONES_OFFERED
            from kiosk.ui.widgets.accessibility_panel import open_panel

            open_panel()
            voice = self._voice()
            if voice is not None:
                voice.say(app.tr(HEADPHONES_OFFERED), app.language)

    def step(self, volume: int = 0, rate: int = 0) -> None:
        """The customer moved the volume or the speed ``volume``/``rate`` steps."""
        modes = self._app.modes
        from kiosk.ui.modes_on_screen import apply_modes

        apply_modes(self._app, replace(
            modes, speech_volume_step=modes.speech_volume_step + volume,
            speech_rate_step=modes.speech_rate_step + rate,
        ))

    def levels(self) -> tuple[int, int]:
        """(volume percent, words per minute) for the customer now."""
        return speech_levels(self._app.modes, self._audio)

    # ------------------------------------------------------------------ what happens

    def _on_modes(self, _app: Any, modes: Modes) -> None:
        was_on, self._was_on = self._was_on, modes.audio_guidance
        if not modes.audio_guidance:
            self.interrupt()
            return
        voice = self._voice()
        if voice is None:
            return
        volume, rate = speech_levels(modes, self._audio)
        changed = (volume, rate) != (voice.volume_percent, voice.rate_wpm)
        voice.volume_percent, voice.rate_wpm = volume, rate
        tr = self._app.tr
        from kiosk.ui.guidance import GUIDANCE_ON

        if not was_on:
            self._messages.clear()
            self._spoken = None  # just turned on: the whole screen
            voice.say(tr(GUIDANCE_ON), self._app.language)
            self._speak_soon()
        elif changed:
            voice.interrupt()  # the new level, heard at once
            voice.say(tr("Volume {volume} percent, speed {rate} words a minute.",
                         volume=tr.number(volume), rate=tr.number(rate)), self._app.language)

    def _on_language(self, _app: Any, _language: str) -> None:
        if self.on:
            self.interrupt()
            self._spoken = None  # the whole screen again, in the new language
            self._speak_soon()

    def _speak_changes(self) -> None:
        now = self._latest
        voice = self._voice() if self.on else None
        if now is None or voice is None:
            self._messages.clear()
            return
        from kiosk.ui.guidance import Place, what_to_say

        app = self._app
        place = Place(app.shop_name, bool(app.settings.backoffice.url))
        sentences = [*what_to_say(self._spoken, now, app.tr, place), *self._messages]
        self._spoken = now
        self._messages.clear()
        for sentence in sentences:
            voice.say(sentence, app.language)

    def _voice(self) -> SpeechOutput | None:
        """The voice (made on first use); None where guidance may not speak (the panel
        refuses to turn it on there; anything else that does is heard by nobody)."""
        if self.speech is None:
            self.speech = open_speech(self._audio)
        return self.speech

    # ------------------------------------------------------------------ app start and stop

    def _on_start(self, *_args: Any) -> None:
        Window.bind(on_touch_down=self.interrupt, on_key_down=self.interrupt)
        card = self._audio.headphone_card
        if card:
            threading.Thread(
                target=self._poll_headphones, args=(card, self._audio.headphone_control),
                name="headphones", daemon=True,
            ).start()

    def _on_stop(self, *_args: Any) -> None:
        Window.unbind(on_touch_down=self.interrupt, on_key_down=self.interrupt)
        self._stop_polling.set()
        self._speak_soon.cancel()
        if self.speech is not None:
            self.speech.close()

    def _poll_headphones(self, card: str, control: str) -> None:
        """Read the headphone socket until the app stops (on its own thread)."""
        from kiosk.devices.headphones import headphones_plugged

        while not self._stop_polling.wait(HEADPHONE_POLL_S):
            plugged = headphones_plugged(card, control)
            if plugged is not None:
                Clock.schedule_once(lambda _dt, now=plugged: self.headphones_changed(now))
