"""The kiosk's sounds: the shipped WAV files, how they are made, and playing them safely.

This module is also the generator of ``assets/sounds/*.wav``: run
``.venv/bin/python tests/test_ui_sounds.py`` to write them again after changing a sound.
Playing runs Kivy's real SDL2 audio with ``SDL_AUDIODRIVER=dummy`` (run under xvfb-run).
"""

from __future__ import annotations

import io
import itertools
import logging
import math
import os
import struct
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.resources import asset
from kiosk.ui import sounds
from kiosk.ui.sounds import SOUND_NAMES, Sounds

SAMPLE_RATE = 22050
"""Samples per second of the shipped sounds (16-bit mono)."""

SOUNDS_DIR = Path(__file__).resolve().parents[1] / "assets" / "sounds"


# --- the generator ----------------------------------------------------------------------------


def tone(
    seconds: float, partials: list[tuple[float, float]], fade_in: float, fade_out: float
) -> list[float]:
    """Samples (-1..1) of a sum of sines ``(frequency Hz, amplitude)`` with smooth fades.

    The fades are raised-cosine ramps (``fade_in``/``fade_out`` seconds), so the sound starts
    and ends at zero and the speaker does not click.
    """
    count = round(seconds * SAMPLE_RATE)
    samples = []
    for i in range(count):
        t = i / SAMPLE_RATE
        value = sum(amp * math.sin(2 * math.pi * freq * t) for freq, amp in partials)
        samples.append(value * _envelope(i, count, fade_in, fade_out))
    return samples


def _envelope(i: int, count: int, fade_in: float, fade_out: float) -> float:
    """Gain 0..1 at sample ``i`` of ``count``: up over ``fade_in``, down over ``fade_out``."""
    rise = max(1, round(fade_in * SAMPLE_RATE))
    fall = max(1, round(fade_out * SAMPLE_RATE))
    gain = 1.0
    if i < rise:
        gain = 0.5 - 0.5 * math.cos(math.pi * i / rise)
    remaining = count - 1 - i
    if remaining < fall:
        gain = min(gain, 0.5 - 0.5 * math.cos(math.pi * remaining / fall))
    return gain


def scan_ok_samples() -> list[float]:
    """A short bright beep (E6 with a soft octave), 120 ms: a good scan."""
    return tone(0.120, [(1318.5, 0.50), (2637.0, 0.10)], fade_in=0.004, fade_out=0.050)


def scan_rejected_samples() -> list[float]:
    """Two low 100 ms buzzes (G3 with odd harmonics) 100 ms apart, 300 ms in all: a rejection."""
    buzz = tone(0.100, [(196.0, 0.45), (588.0, 0.15), (980.0, 0.09)], 0.008, 0.025)
    gap = [0.0] * round(0.100 * SAMPLE_RATE)
    return buzz + gap + buzz


def wav_bytes(samples: list[float]) -> bytes:
    """A 16-bit mono WAV file of ``samples`` (-1..1)."""
    frames = b"".join(
        struct.pack("<h", max(-32767, min(32767, round(value * 32767)))) for value in samples
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(frames)
    return out.getvalue()


GENERATORS = {"scan_ok": scan_ok_samples, "scan_rejected": scan_rejected_samples}


def write_sounds(folder: Path = SOUNDS_DIR) -> list[Path]:
    """Write every shipped sound into ``folder``; returns the files."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, generate in GENERATORS.items():
        path = folder / f"{name}.wav"
        path.write_bytes(wav_bytes(generate()))
        written.append(path)
    return written


def read_samples(data: bytes) -> tuple[tuple[int, int, int], list[int]]:
    """The (channels, sample width, rate) and the 16-bit samples of a WAV file."""
    with wave.open(io.BytesIO(data), "rb") as wav:
        params = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
        frames = wav.readframes(wav.getnframes())
    return params, [value for (value,) in struct.iter_unpack("<h", frames)]


# --- the shipped files ------------------------------------------------------------------------


@pytest.mark.parametrize("name", SOUND_NAMES)
def test_each_shipped_sound_is_what_the_generator_makes(name: str) -> None:
    shipped_params, shipped = read_samples(asset(f"sounds/{name}.wav").read_bytes())
    made_params, made = read_samples(wav_bytes(GENERATORS[name]()))
    assert shipped_params == made_params == (1, 2, SAMPLE_RATE)
    assert len(shipped) == len(made)
    # A different libm may round a sample the other way; nothing more may differ.
    assert max(abs(a - b) for a, b in zip(shipped, made, strict=True)) <= 1


@pytest.mark.parametrize(("name", "seconds"), [("scan_ok", 0.120), ("scan_rejected", 0.300)])
def test_each_sound_is_short_small_and_starts_and_ends_in_silence(
    name: str, seconds: float
) -> None:
    data = asset(f"sounds/{name}.wav").read_bytes()
    _, samples = read_samples(data)
    assert len(samples) == round(seconds * SAMPLE_RATE)
    assert len(data) < 16_000
    assert abs(samples[0]) <= 1 and abs(samples[-1]) <= 1
    loudest = max(abs(value) for value in samples)
    assert 0.4 * 32767 < loudest < 0.8 * 32767  # clearly audible, never clipping


def test_the_rejected_sound_is_lower_than_the_good_one() -> None:
    def crossings(name: str) -> float:
        _, samples = read_samples(asset(f"sounds/{name}.wav").read_bytes())
        sign_changes = sum(1 for a, b in itertools.pairwise(samples) if (a < 0) != (b < 0))
        return sign_changes / len(samples)

    assert crossings("scan_rejected") < crossings("scan_ok") / 3


# --- playing ----------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def kivy_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A throwaway Kivy home (config, logs) if this module is the first to load Kivy."""
    if "kivy" not in sys.modules:
        os.environ.setdefault("KIVY_HOME", str(tmp_path_factory.mktemp("kivy-home")))
        os.environ.setdefault("KIVY_NO_ARGS", "1")
    yield


def warnings_of_sounds(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == sounds.__name__ and record.levelno >= logging.WARNING
    ]


@pytest.mark.parametrize("name", SOUND_NAMES)
def test_playing_a_sound_on_the_dummy_audio_driver_works_without_a_warning(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert os.environ.get("SDL_AUDIODRIVER") == "dummy", "run with SDL_AUDIODRIVER=dummy"
    player = Sounds()
    player.play(name)
    player.play(name)  # a second scan restarts the sound
    assert not player.silent
    assert warnings_of_sounds(caplog) == []


def test_a_sound_that_does_not_exist_warns_once_and_then_everything_is_silent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    player = Sounds()
    player.play("no_such_sound")
    player.play("no_such_sound")
    player.play("scan_ok")
    assert player.silent
    (warning,) = warnings_of_sounds(caplog)
    assert "no_such_sound" in warning


def test_a_sound_file_kivy_cannot_load_warns_once_and_never_raises(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sounds, "sound_file", lambda name: tmp_path / f"{name}-missing.wav")
    player = Sounds()
    player.play("scan_ok")
    player.play("scan_rejected")
    assert player.silent
    (warning,) = warnings_of_sounds(caplog)
    assert "scan_ok" in warning


def test_sounds_turned_off_play_nothing_and_load_nothing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    looked_up: list[str] = []
    monkeypatch.setattr(sounds, "sound_file", lambda name: looked_up.append(name))
    player = Sounds(enabled=False)
    player.play("scan_ok")
    assert player.silent
    assert looked_up == []
    assert warnings_of_sounds(caplog) == []


if __name__ == "__main__":
    for written in write_sounds():
        print(f"wrote {written} ({written.stat().st_size} bytes)")
