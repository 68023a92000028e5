"""Secrets never leak: canary values in the environment and in a systemd credential must not
show up in any command's output, in the database or in any file of the state directory.

Each test runs the real ``kiosk`` command with the canaries set, then searches everything the
command could have written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import BASE_CONFIG, SAMPLE_CATALOG, import_sample, run_kiosk, write_config

ENV_STRIPE_KEY = "sk_test_CANARY_51xyz"
ENV_BACKOFFICE_TOKEN = "CANARY-TOKEN-77"
CREDENTIAL_STRIPE_KEY = "sk_test_CANARY_CREDENTIAL_93abc"
FILE_STRIPE_KEY = "sk_test_CANARY_IN_THE_FILE_61q"
CANARIES = (ENV_STRIPE_KEY, ENV_BACKOFFICE_TOKEN, CREDENTIAL_STRIPE_KEY, FILE_STRIPE_KEY)
MARK = "CANARY"
"""The part every canary shares (test paths are lowercase, so it cannot occur by chance)."""


@pytest.fixture
def secret_env(tmp_path: Path) -> dict[str, str]:
    """Environment with both secrets in variables and the Stripe key also as a credential."""
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "stripe-api-key").write_text(CREDENTIAL_STRIPE_KEY + "\n", encoding="utf-8")
    return {
        "KIOSK_STRIPE_API_KEY": ENV_STRIPE_KEY,
        "KIOSK_BACKOFFICE_TOKEN": ENV_BACKOFFICE_TOKEN,
        "CREDENTIALS_DIRECTORY": str(credentials),
    }


def assert_no_canary_in_text(*texts: str) -> None:
    """No canary (nor their shared mark) in any of ``texts``."""
    for text in texts:
        assert MARK not in text, text
        for canary in CANARIES:
            assert canary not in text


def assert_no_canary_in_files(directory: Path) -> int:
    """No canary in the bytes of any file under ``directory`` (the database, its WAL, the
    lock file, saved receipts...) except the credentials folder the test itself wrote;
    return how many files were searched."""
    files = [
        path
        for path in directory.rglob("*")
        if path.is_file() and "credentials" not in path.relative_to(directory).parts
    ]
    for path in files:
        data = path.read_bytes()
        assert MARK.encode() not in data, path
        for canary in CANARIES:
            assert canary.encode("utf-8") not in data, path
            assert canary.encode("utf-16-le") not in data, path
    return len(files)


def test_config_check_says_the_secrets_are_set_without_showing_them(
    tmp_path: Path, secret_env: dict[str, str]
) -> None:
    shop = write_config(tmp_path)
    with_credential = run_kiosk(
        ["config", "check", "--config", str(shop.config)], home=tmp_path, env=secret_env
    )
    environment_only = {k: v for k, v in secret_env.items() if k != "CREDENTIALS_DIRECTORY"}
    from_environment = run_kiosk(
        ["config", "check", "--config", str(shop.config)], home=tmp_path, env=environment_only
    )
    for result in (with_credential, from_environment):
        assert result.returncode == 0, result.stderr
        assert "Stripe secret key: set; back-office token: set" in result.stdout
        assert_no_canary_in_text(result.stdout, result.stderr)


def test_preparing_and_running_the_demo_leaks_no_secret(
    tmp_path: Path, secret_env: dict[str, str]
) -> None:
    data_dir = tmp_path / "demo"
    prepared = run_kiosk(
        ["demo", "--data-dir", str(data_dir), "--prepare-only"], home=tmp_path, env=secret_env
    )
    session = run_kiosk(
        ["demo", "--console", "--data-dir", str(data_dir)],
        home=tmp_path,
        env=secret_env,
        stdin="4006381333931\npay\nquit\n",
    )
    assert prepared.returncode == 0, prepared.stderr
    assert session.returncode == 0, session.stderr
    assert "Mineral water" in session.stdout
    assert_no_canary_in_text(prepared.stdout, prepared.stderr, session.stdout, session.stderr)
    assert (data_dir / "kiosk.db").exists()
    assert (data_dir / "kiosk.db-wal").exists() or (data_dir / "kiosk.db").stat().st_size > 0
    assert assert_no_canary_in_files(data_dir) >= 2
    # HOME is tmp_path too: nothing was written anywhere else under it either
    assert assert_no_canary_in_files(tmp_path) >= 2


def test_the_kiosk_commands_on_a_shop_leak_no_secret(
    tmp_path: Path, secret_env: dict[str, str]
) -> None:
    shop = write_config(tmp_path)
    import_sample(shop)
    config = str(shop.config)
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text(
        SAMPLE_CATALOG.read_text(encoding="utf-8").replace("4006381333931", "4006381333932"),
        encoding="utf-8",
    )
    rejected = run_kiosk(
        ["catalog", "import", "--config", config, str(bad_csv)], home=tmp_path, env=secret_env
    )
    checked = run_kiosk(["db", "check", "--config", config], home=tmp_path, env=secret_env)
    ran = run_kiosk(
        ["run", "--console", "--config", config],
        home=tmp_path,
        env=secret_env,
        stdin="4006381333931\npay\nquit\n",
    )
    assert rejected.returncode == 1
    assert "line 2" in rejected.stdout
    assert checked.returncode == 0, checked.stderr
    assert "integrity: ok" in checked.stdout
    assert ran.returncode == 0, ran.stderr
    assert "Mineral water" in ran.stdout
    for result in (rejected, checked, ran):
        assert_no_canary_in_text(result.stdout, result.stderr)
    assert shop.database.exists()
    assert assert_no_canary_in_files(shop.state_dir) >= 2
    assert assert_no_canary_in_files(tmp_path) >= 4


def test_a_bad_config_message_leaks_no_secret(tmp_path: Path, secret_env: dict[str, str]) -> None:
    shop = write_config(tmp_path, BASE_CONFIG.replace("[shop]\n", '[shop]\ncolour = "red"\n'))
    result = run_kiosk(
        ["config", "check", "--config", str(shop.config)], home=tmp_path, env=secret_env
    )
    assert result.returncode == 2
    assert "shop.colour" in result.stderr
    assert_no_canary_in_text(result.stdout, result.stderr)


def test_a_stripe_key_written_in_the_config_file_is_refused_without_showing_it(
    tmp_path: Path, secret_env: dict[str, str]
) -> None:
    text = BASE_CONFIG.replace(
        '[stripe]\napi_base = "embedded"\n',
        f'[stripe]\napi_base = "embedded"\napi_key = "{FILE_STRIPE_KEY}"\n',
    )
    assert FILE_STRIPE_KEY in text
    shop = write_config(tmp_path, text)
    result = run_kiosk(
        ["config", "check", "--config", str(shop.config)], home=tmp_path, env=secret_env
    )
    assert result.returncode == 2
    assert "stripe.api_key" in result.stderr
    assert "KIOSK_STRIPE_API_KEY" in result.stderr
    assert_no_canary_in_text(result.stdout, result.stderr)
    assert not shop.state_dir.exists()


def test_a_stripe_key_pasted_into_another_setting_is_refused_without_showing_it(
    tmp_path: Path, secret_env: dict[str, str]
) -> None:
    text = BASE_CONFIG.replace(
        '[stripe]\napi_base = "embedded"\n',
        f'[stripe]\napi_base = "embedded"\nreader_id = "{FILE_STRIPE_KEY}"\n',
    )
    shop = write_config(tmp_path, text)
    result = run_kiosk(
        ["catalog", "lookup", "--config", str(shop.config), "4006381333931"],
        home=tmp_path,
        env=secret_env,
    )
    assert result.returncode == 2
    assert "stripe.reader_id" in result.stderr
    assert_no_canary_in_text(result.stdout, result.stderr)
