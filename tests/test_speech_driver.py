"""The speech driver with the real espeak-ng and aplay: it speaks, renders audible WAVs in
every language, stops at once when interrupted, and stays quiet (logging once) without its
engine or its audio device. Its twin records what it is told.

ALSA's ``null`` device plays without a sound card, so the whole pipeline runs in CI.
"""

from __future__ import annotations

import array
import io
import logging
import os
import subprocess
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.devices.speech import RATE_RANGE, VOICES, VOLUME_RANGE, Speech, engine_command
from kiosk.sim.virtual_speech import INTERRUPTED, VirtualSpeech
from kiosk.ui.i18n import LANGUAGES

WAIT_S = 20.0
"""The longest a test waits for the worker to get somewhere (a guard, not a timing claim)."""
SILENCE_RMS = 300
"""A 16-bit WAV whose samples' root mean square stays below this is silence."""
SENTENCES = {
    "en": "Tap or insert your card on the reader to your right.",
    "de": "Halten Sie Ihre Karte an das Lesegerät rechts von Ihnen oder stecken Sie sie ein.",
}
LONG_TEXT = "This is a very long utterance that nobody will listen to the end of. " * 3000


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds (fail after ``WAIT_S``)."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT_S} s for {what}"
        time.sleep(0.01)


def rms_of(wav_bytes: bytes) -> float:
    """The root mean square of a 16-bit mono WAV's samples."""
    with wave.open(io.BytesIO(wav_bytes)) as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1
        samples = array.array("h", wav.readframes(wav.getnframes()))
    assert len(samples) > 0
    return float((sum(s * s for s in samples) / len(samples)) ** 0.5)


def alive(pid: int) -> bool:
    """True while process ``pid`` exists (a reaped process does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def speech() -> Iterator[Speech]:
    """The real driver on ALSA's null device."""
    voice = Speech("null")
    yield voice
    voice.close()


def test_every_language_of_the_screens_has_a_voice_espeak_ng_knows() -> None:
    assert set(VOICES) == set(LANGUAGES)
    listed = subprocess.run(
        ["espeak-ng", "--voices"], capture_output=True, text=True, check=True
    ).stdout
    names = {line.split()[1] for line in listed.splitlines()[1:] if line.split()}
    for voice in VOICES.values():
        assert voice in names, f"espeak-ng has no voice {voice!r}"


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_real_rendering_through_espeak_ng_is_not_silent(language: str) -> None:
    command = engine_command(language, volume_percent=80, rate_wpm=160)
    rendered = subprocess.run(
        command, input=SENTENCES[language].encode(), capture_output=True, check=True
    ).stdout
    assert rendered[:4] == b"RIFF"
    assert rms_of(rendered) > SILENCE_RMS


def test_volume_and_rate_reach_the_engine_within_their_bounds() -> None:
    command = engine_command("de", volume_percent=55, rate_wpm=200)
    assert command[:7] == ["espeak-ng", "-v", "de", "-s", "200", "-a", "110"]
    low = engine_command("en", volume_percent=0, rate_wpm=1)
    assert low[low.index("-s") + 1] == str(RATE_RANGE[0])
    assert low[low.index("-a") + 1] == str(2 * VOLUME_RANGE[0])
    high = engine_command("xx", volume_percent=900, rate_wpm=900)
    assert high[high.index("-v") + 1] == VOICES["en"], "an unknown language speaks English"
    assert high[high.index("-a") + 1] == str(2 * VOLUME_RANGE[1])


def test_say_queues_and_the_worker_speaks_each_utterance_to_its_end(speech: Speech) -> None:
    speech.say("Your cart", "en")
    speech.say("Ihr Warenkorb", "de")
    wait_until(lambda: speech.spoken == 2, "two utterances spoken")
    assert speech.started == 2 and speech.processes == ()


def test_interrupt_kills_a_long_utterance_and_drops_the_queue(speech: Speech) -> None:
    speech.say(LONG_TEXT, "en")
    speech.say("This one was queued and must never be spoken.", "en")
    wait_until(lambda: speech.processes != (), "the long utterance to start")
    pids = speech.processes
    assert len(pids) == 2 and all(alive(pid) for pid in pids)

    speech.interrupt()

    assert speech.processes == ()
    assert not any(alive(pid) for pid in pids), "the engine and the player are gone"
    assert (speech.started, speech.spoken) == (1, 0), "cut off: never counted as spoken"
    speech.say("Pay", "en")
    wait_until(lambda: speech.spoken == 1, "the utterance after the interrupt")
    assert speech.started == 2, "the queued utterance was dropped, never started"


def test_without_the_engine_the_kiosk_keeps_going_silently_and_logs_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no espeak-ng on PATH
    voice = Speech("null")
    with caplog.at_level(logging.WARNING, logger="kiosk.devices.speech"):
        voice.say("Your cart", "en")
        voice.say("Total", "en")
        wait_until(lambda: voice.handled == 2, "both utterances handled")
        voice.interrupt()  # nothing to stop: no harm
        voice.say("Pay", "en")
        wait_until(lambda: voice.handled == 3, "the next utterance handled")
    voice.close()
    warnings = [r.getMessage() for r in caplog.records if r.name == "kiosk.devices.speech"]
    assert len(warnings) == 1 and "cannot run espeak-ng" in warnings[0]
    assert voice.started == 0 and voice.spoken == 0


def test_without_the_audio_device_it_logs_once_and_speaks_when_the_device_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    voice = Speech("kiosk_no_such_device")
    with caplog.at_level(logging.INFO, logger="kiosk.devices.speech"):
        voice.say("Your cart", "en")
        voice.say("Total", "en")
        wait_until(lambda: voice.handled == 2, "both utterances handled")
        voice.device = "null"  # the headset is plugged in again
        voice.say("Pay", "en")
        wait_until(lambda: voice.spoken == 1, "the utterance on the device that is back")
    voice.close()
    messages = [r.getMessage() for r in caplog.records if r.name == "kiosk.devices.speech"]
    assert len(messages) == 2
    assert "silent on 'kiosk_no_such_device'" in messages[0]
    assert messages[1] == "audio guidance speaks again on 'null'"


def test_the_twin_records_what_is_heard_and_what_an_interrupt_drops() -> None:
    twin = VirtualSpeech()
    twin.say("Your cart", "en")
    twin.hold = True
    twin.say("Total €3.00", "en")
    twin.say("Pay", "en")
    assert twin.speaking == ("en", "Total €3.00") and twin.waiting == [("en", "Pay")]
    twin.interrupt()
    twin.say("Zahlen", "de")
    twin.finish()
    assert list(twin.heard) == [
        ("en", "Your cart"), ("en", "Total €3.00"), INTERRUPTED, ("de", "Zahlen"),
    ]
    assert list(twin.dropped) == [("en", "Pay")]
    assert twin.speaking is None
