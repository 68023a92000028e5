"""Secrets: read from systemd credentials or the environment, and never shown anywhere."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from kiosk.config import ConfigError, Secrets, load_secrets, load_settings

CANARY = "sk_test_CANARY_1234"
TOKEN_CANARY = "bo_CANARY_TOKEN_5678"

CONFIG = """\
kiosk_id = "lane-1"

[shop]
name = "Corner Shop"
currency = "EUR"
locale = "de_DE"
time_zone = "Europe/Berlin"

[stripe]
api_base = "https://api.stripe.com"
reader_id = "tmr_FDOt2wlRZEdpd7"

[backoffice]
url = "https://backoffice.example.com"
"""


def credentials(tmp_path: Path, **files: str) -> Path:
    """Create a systemd-style credentials directory holding ``files`` (name -> content)."""
    directory = tmp_path / "credentials"
    directory.mkdir()
    for name, content in files.items():
        (directory / name.replace("_", "-")).write_text(content, encoding="utf-8")
    return directory


def test_secrets_come_from_the_environment(tmp_path: Path) -> None:
    secrets = load_secrets({"KIOSK_STRIPE_API_KEY": CANARY, "KIOSK_BACKOFFICE_TOKEN": TOKEN_CANARY})

    assert secrets.stripe_api_key is not None
    assert secrets.stripe_api_key.get_secret_value() == CANARY
    assert secrets.backoffice_token is not None
    assert secrets.backoffice_token.get_secret_value() == TOKEN_CANARY


def test_a_systemd_credential_wins_over_the_environment(tmp_path: Path) -> None:
    directory = credentials(tmp_path, stripe_api_key="sk_test_from_credential\n")

    secrets = load_secrets({"KIOSK_STRIPE_API_KEY": CANARY}, credentials_dir=directory)

    assert secrets.stripe_api_key is not None
    assert secrets.stripe_api_key.get_secret_value() == "sk_test_from_credential"


def test_the_credentials_directory_is_found_through_the_environment(tmp_path: Path) -> None:
    directory = credentials(tmp_path, backoffice_token=TOKEN_CANARY + "\r\n")

    secrets = load_secrets({"CREDENTIALS_DIRECTORY": str(directory)})

    assert secrets.backoffice_token is not None
    assert secrets.backoffice_token.get_secret_value() == TOKEN_CANARY
    assert secrets.stripe_api_key is None


def test_a_secret_missing_from_the_credentials_falls_back_to_the_environment(
    tmp_path: Path,
) -> None:
    directory = credentials(tmp_path, backoffice_token=TOKEN_CANARY)

    secrets = load_secrets({"KIOSK_STRIPE_API_KEY": CANARY + "\n"}, credentials_dir=directory)

    assert secrets.stripe_api_key is not None
    assert secrets.stripe_api_key.get_secret_value() == CANARY


def test_no_secrets_configured_gives_none_for_each() -> None:
    assert load_secrets({}) == Secrets(stripe_api_key=None, backoffice_token=None)


def test_an_empty_environment_variable_counts_as_unset() -> None:
    secrets = load_secrets({"KIOSK_STRIPE_API_KEY": "", "KIOSK_BACKOFFICE_TOKEN": "\n"})

    assert secrets.stripe_api_key is None
    assert secrets.backoffice_token is None


def test_an_empty_credential_is_an_error_naming_it(tmp_path: Path) -> None:
    directory = credentials(tmp_path, stripe_api_key="\n")

    with pytest.raises(ConfigError) as caught:
        load_secrets({}, credentials_dir=directory)

    assert caught.value.key == "stripe-api-key"
    assert "empty" in caught.value.problem


def test_an_unreadable_credential_is_an_error_naming_it(tmp_path: Path) -> None:
    directory = credentials(tmp_path)
    (directory / "backoffice-token").mkdir()

    with pytest.raises(ConfigError) as caught:
        load_secrets({}, credentials_dir=directory)

    assert caught.value.key == "backoffice-token"
    assert "cannot read the back-office token" in caught.value.problem


def test_a_publishable_stripe_key_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        load_secrets({"KIOSK_STRIPE_API_KEY": "pk_test_CANARY_1234"})

    assert caught.value.key == "KIOSK_STRIPE_API_KEY"
    assert "publishable key" in caught.value.problem
    assert "CANARY" not in str(caught.value)


def test_secrets_never_show_their_values(tmp_path: Path) -> None:
    directory = credentials(tmp_path, stripe_api_key=CANARY)
    secrets = load_secrets({"KIOSK_BACKOFFICE_TOKEN": TOKEN_CANARY}, credentials_dir=directory)

    for shown in (repr(secrets), str(secrets), f"{secrets}", repr(dataclasses.asdict(secrets))):
        assert "CANARY" not in shown
    assert "**********" in repr(secrets)


def test_a_canary_secret_appears_in_no_settings_error_or_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = credentials(tmp_path, backoffice_token=TOKEN_CANARY)
    environ = {
        "KIOSK_STRIPE_API_KEY": CANARY,
        "CREDENTIALS_DIRECTORY": str(directory),
        "STATE_DIRECTORY": "/var/lib/kiosk",
    }
    config = tmp_path / "kiosk.toml"
    config.write_text(CONFIG, encoding="utf-8")
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text(CONFIG + f'token = "{TOKEN_CANARY}"\n', encoding="utf-8")
    leaky_config = tmp_path / "leaky.toml"
    leaky_config.write_text(CONFIG.replace("[stripe]", f'[stripe]\napi_key = "{CANARY}"'))

    with caplog.at_level(logging.DEBUG):
        settings = load_settings(config, environ=environ)
        secrets = load_secrets(environ)
        errors = []
        for path in (bad_config, leaky_config):
            with pytest.raises(ConfigError) as caught:
                load_settings(path, environ=environ)
            errors.append(caught.value)

    assert secrets.stripe_api_key is not None and secrets.backoffice_token is not None
    assert [error.key for error in errors] == ["backoffice.token", "stripe.api_key"]
    shown = [repr(settings), str(settings), repr(secrets), str(secrets), caplog.text]
    shown += [str(error) for error in errors] + [repr(error) for error in errors]
    shown += [record.getMessage() for record in caplog.records]
    assert any("read from systemd credential backoffice-token" in text for text in shown)
    for text in shown:
        assert "CANARY" not in text
