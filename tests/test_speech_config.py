"""``[audio]``: audio guidance's output (private listening), the headphone socket, and the
jack control that says headphones are plugged in (read from ``amixer``'s real answers)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from test_config import MINIMAL, config_error_for, with_value, write_config

from kiosk.config import demo_settings, load_settings
from kiosk.devices.headphones import headphones_plugged, jack_command, jack_state

PLUGGED = """numid=20,iface=CARD,name='Headphone Jack'
  ; type=BOOLEAN,access=r-------,values=1
  : values=on
"""
"""What ``amixer -c 0 cget name='Headphone Jack'`` prints with headphones in (an Intel HDA
laptop chip; a USB headset's jack reads the same)."""
UNPLUGGED = PLUGGED.replace(": values=on", ": values=off")
NOT_A_SWITCH = """numid=3,iface=MIXER,name='Master Playback Volume'
  ; type=INTEGER,access=rw---R--,values=2,min=0,max=87,step=0
  : values=87,87
"""


def audio(**keys: Any) -> dict[str, Any]:
    """The minimal file with ``[audio]`` holding ``keys``."""
    data = copy.deepcopy(MINIMAL)
    data["audio"] = keys
    return data


def test_guidance_speaks_nowhere_by_default_and_never_on_the_loudspeaker_unasked(
    tmp_path: Path,
) -> None:
    settings = load_settings(write_config(tmp_path, MINIMAL), environ={})
    assert settings.audio.guidance_on_loudspeaker is False
    assert settings.audio.guidance_output() == ""
    assert settings.audio.volume_percent == 80 and settings.audio.rate_wpm == 160


@pytest.mark.parametrize(
    ("keys", "output"),
    [
        ({"guidance_device": "plughw:CARD=Headset,DEV=0"}, "plughw:CARD=Headset,DEV=0"),
        ({"guidance_on_loudspeaker": True}, "default"),
        ({"guidance_on_loudspeaker": True, "loudspeaker_device": "hw:1,0"}, "hw:1,0"),
        ({"guidance_device": "hw:2", "guidance_on_loudspeaker": True}, "hw:2"),
    ],
)
def test_headphones_win_over_an_allowed_loudspeaker(
    tmp_path: Path, keys: dict[str, Any], output: str
) -> None:
    settings = load_settings(write_config(tmp_path, audio(**keys)), environ={})
    assert settings.audio.guidance_output() == output


def test_the_demo_records_its_guidance_with_the_twin(tmp_path: Path) -> None:
    assert demo_settings(tmp_path).audio.guidance_output() == "virtual"


@pytest.mark.parametrize(
    ("key", "written", "expected"),
    [
        ("audio.guidance_device", "plughw:CARD=Head set", "ALSA device name"),
        ("audio.guidance_on_loudspeaker", "yes", "true or false"),
        ("audio.headphone_card", "card 1", "ALSA card"),
        ("audio.volume_percent", 5, "whole number from 10 to 100"),
        ("audio.rate_wpm", 500, "whole number from 100 to 280"),
    ],
)
def test_a_bad_audio_value_names_its_key_and_what_is_expected(
    tmp_path: Path, key: str, written: Any, expected: str
) -> None:
    error = config_error_for(tmp_path, with_value(key, written))
    assert error.key == key
    assert expected in error.problem


def test_an_unknown_audio_key_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    error = config_error_for(tmp_path, with_value("audio.guidance_devise", "hw:1"))
    assert error.key == "audio.guidance_devise"
    assert 'did you mean "guidance_device"?' in error.problem


def test_the_jack_control_says_plugged_in_or_not() -> None:
    assert jack_state(PLUGGED) is True
    assert jack_state(UNPLUGGED) is False
    assert jack_state(NOT_A_SWITCH) is None
    assert jack_state("") is None
    assert jack_command("1", "Headphone Jack") == [
        "amixer", "-c", "1", "cget", "name=Headphone Jack",
    ]


def test_a_card_that_is_not_there_means_not_known_never_an_error(tmp_path: Path) -> None:
    assert headphones_plugged("KioskNoSuchCard", "Headphone Jack") is None  # real amixer
    assert headphones_plugged("0", "Headphone Jack", amixer=str(tmp_path / "amixer")) is None
