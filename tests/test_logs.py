"""The kiosk's log: one event a line (logfmt with syslog priorities for the journal, a readable
line on a terminal), and no secret or card number ever written.

Each test that configures the root logger puts the previous set-up back afterwards, so the
rest of the suite logs as before.
"""

from __future__ import annotations

import io
import logging
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.config import Secrets, SecretStr
from kiosk.logs import (
    CARD,
    REDACTED,
    SCRUBBER,
    JournalFormatter,
    SecretScrubber,
    TerminalFormatter,
    configure_logging,
    fields,
    logfmt_pairs,
    logfmt_value,
    luhn_valid,
    register_configured_secrets,
    register_secrets,
    writes_to_journal,
)

REPO = Path(__file__).resolve().parent.parent

VISA_TEST_CARD = "4242424242424242"
"""Stripe's Visa test card number: Luhn-valid."""


@pytest.fixture
def root_logging() -> Iterator[logging.Logger]:
    """The root logger, with its handlers and level restored after the test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def journal_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """What the log wrote to stderr, line by line."""
    return capsys.readouterr().err.splitlines()


# ---- logfmt ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("paid", "paid"),
        (1234, "1234"),
        ("/dev/kiosk-scanner", "/dev/kiosk-scanner"),
        ("sale 1234 paid", '"sale 1234 paid"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("a=b", '"a=b"'),
        ("C:\\kiosk", '"C:\\\\kiosk"'),
        ("two\nlines", '"two\\nlines"'),
        ("tab\there", '"tab\\there"'),
        ("bell\x07", '"bell\\u0007"'),
        ("", '""'),
        (None, '""'),
        (True, "true"),
        (False, "false"),
    ],
)
def test_a_logfmt_value_is_quoted_only_when_it_has_to_be(value: object, written: str) -> None:
    assert logfmt_value(value) == written


def test_field_names_keep_to_the_characters_logfmt_allows() -> None:
    assert logfmt_pairs([("sale id", 7), ("total_minor", 1250), ("a=b", "x")]) == (
        "sale_id=7 total_minor=1250 a_b=x"
    )


def test_fields_is_the_extra_dict_the_formatters_read() -> None:
    assert fields(sale=7, total_minor=1250) == {"fields": {"sale": 7, "total_minor": 1250}}


# ---- the journal format ------------------------------------------------------------------


def test_under_systemd_an_event_is_one_logfmt_line_led_by_its_priority(
    root_logging: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(logging.INFO, journal=True)

    logging.getLogger("kiosk.app").info(
        "sale %s paid", 1234, extra=fields(sale=1234, total_minor=1250, brand="visa")
    )

    assert journal_lines(capsys) == [
        '<6>level=info logger=kiosk.app msg="sale 1234 paid" sale=1234 total_minor=1250 '
        "brand=visa"
    ]


@pytest.mark.parametrize(
    ("level", "prefix", "name"),
    [
        (logging.DEBUG, "<7>", "debug"),
        (logging.INFO, "<6>", "info"),
        (logging.WARNING, "<4>", "warning"),
        (logging.ERROR, "<3>", "error"),
        (logging.CRITICAL, "<2>", "critical"),
    ],
)
def test_each_level_becomes_the_syslog_priority_journald_stores(
    root_logging: logging.Logger,
    capsys: pytest.CaptureFixture[str],
    level: int,
    prefix: str,
    name: str,
) -> None:
    configure_logging(logging.DEBUG, journal=True)

    logging.getLogger("kiosk.devices.scanner").log(level, "port lost")

    assert journal_lines(capsys) == [
        f"{prefix}level={name} logger=kiosk.devices.scanner msg=\"port lost\""
    ]


def test_a_traceback_stays_inside_its_event_on_one_line(
    root_logging: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(logging.INFO, journal=True)

    try:
        raise RuntimeError("the printer went away")
    except RuntimeError:
        logging.getLogger("kiosk.receipts").exception("printing failed", extra=fields(job=3))

    (line,) = journal_lines(capsys)
    assert line.startswith('<3>level=error logger=kiosk.receipts msg="printing failed" job=3 ')
    assert " exc_type=RuntimeError " in line
    assert 'exc="Traceback (most recent call last):\\n' in line
    assert line.endswith('RuntimeError: the printer went away"')


def test_events_below_the_configured_level_are_left_out(
    root_logging: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(logging.WARNING, journal=True)
    log = logging.getLogger("kiosk.sync")

    log.info("round done")
    log.warning("back office unreachable")

    assert journal_lines(capsys) == [
        '<4>level=warning logger=kiosk.sync msg="back office unreachable"'
    ]


# ---- the terminal format -----------------------------------------------------------------


def test_on_a_terminal_an_event_reads_time_level_logger_message_and_fields() -> None:
    record = logging.LogRecord(
        "kiosk.devices.scanner", logging.WARNING, __file__, 1, "scanner lost", None, None
    )
    record.created, record.msecs = 1_795_000_000.25, 250.0
    record.fields = {"port": "/dev/kiosk-scanner", "after_s": 2}

    line = TerminalFormatter().format(record)

    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1_795_000_000.25))
    assert line == (
        f"{stamp}.250 warning kiosk.devices.scanner: scanner lost "
        "port=/dev/kiosk-scanner after_s=2"
    )


def test_the_terminal_format_is_chosen_when_stderr_is_not_the_journal(
    root_logging: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(logging.INFO, environ={})

    logging.getLogger("kiosk.app").info("the kiosk is open")

    (line,) = journal_lines(capsys)
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} info kiosk\.app: the kiosk is open", line
    )


def test_the_journal_format_is_chosen_when_journal_stream_names_stderr(
    root_logging: logging.Logger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "journal-stream"
    with path.open("w", encoding="utf-8") as stream:
        status = path.stat()
        monkeypatch.setattr("sys.stderr", stream)
        configure_logging(
            logging.INFO, environ={"JOURNAL_STREAM": f"{status.st_dev}:{status.st_ino}"}
        )
        logging.getLogger("kiosk.app").info("ready")
        stream.flush()

    assert path.read_text(encoding="utf-8") == '<6>level=info logger=kiosk.app msg=ready\n'


def test_journal_stream_naming_another_file_is_not_this_stderr(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.touch()
    status = other.stat()
    elsewhere = {"JOURNAL_STREAM": f"{status.st_dev}:{status.st_ino}"}
    with (tmp_path / "stderr").open("w", encoding="utf-8") as stream:
        assert writes_to_journal(elsewhere, stream) is False
        assert writes_to_journal({"JOURNAL_STREAM": "garbage"}, stream) is False
        assert writes_to_journal({}, stream) is False
    assert writes_to_journal({"JOURNAL_STREAM": "1:2"}, io.StringIO()) is False


def test_configuring_replaces_the_handler_a_library_installed_on_import(
    root_logging: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    earlier = io.StringIO()
    logging.basicConfig(stream=earlier, level=logging.WARNING, force=True)  # as python-escpos

    configure_logging(logging.INFO, journal=True)
    logging.getLogger("kiosk.app").info("started")

    assert len(root_logging.handlers) == 1
    assert earlier.getvalue() == ""
    assert journal_lines(capsys) == ['<6>level=info logger=kiosk.app msg=started']


def test_the_kiosk_writes_no_log_files_of_its_own() -> None:
    sources = [path for path in (REPO / "kiosk").rglob("*.py")]
    writing_files = [
        path.relative_to(REPO)
        for path in sources
        if re.search(r"\b(?:Rotating|TimedRotating|Watched)?FileHandler\b", path.read_text())
    ]

    assert len(sources) > 50
    assert writing_files == []


# ---- scrubbing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("key sk_live_51HxAbCdEf0123456789 refused", f"key {REDACTED} refused"),
        ("key=sk_test_CANARY_51xyz", f"key={REDACTED}"),
        ("restricted rk_live_51HxAbCdEf0123 and rk_test_abcdef", f"restricted {REDACTED} and "
         f"{REDACTED}"),
        ("Authorization: Bearer eyJhbGciOi.J9-_~+/abc==", f"Authorization: Bearer {REDACTED}"),
        ("authorization: bearer abc123", f"authorization: bearer {REDACTED}"),
        ("dsn postgresql://hq:hunter2@db/hq", f"dsn postgresql://hq:{REDACTED}@db/hq"),
        (f"card {VISA_TEST_CARD} read", f"card {CARD} read"),
        ("card 4242 4242 4242 4242 read", f"card {CARD} read"),
        ("card 4000-0566-5566-5556 read", f"card {CARD} read"),
        ("amex 378282246310005", f"amex {CARD}"),
        ("visa ending in 4242", "visa ending in 4242"),
    ],
)
def test_each_kind_of_secret_is_replaced(text: str, cleaned: str) -> None:
    assert SecretScrubber().scrub(text) == cleaned


def test_order_numbers_and_barcodes_that_fail_the_luhn_check_stay_readable() -> None:
    order = "4242424242424241"  # a card's length, wrong check digit
    barcode = "4006381333931"  # an EAN-13 of the demo shop
    assert not luhn_valid(order) and not luhn_valid(barcode)
    assert luhn_valid(VISA_TEST_CARD)

    text = f"order {order} item {barcode} sale 1234 at 1795000000 pi_3N{VISA_TEST_CARD}xy"

    assert SecretScrubber().scrub(text) == text


def test_a_barcode_that_passes_the_luhn_check_by_chance_stays_readable() -> None:
    barcode = "5012345001036"  # an EAN-13 of the demo shop, Luhn-valid by chance
    gtin = "05012345001036"
    assert luhn_valid(barcode) and luhn_valid(gtin)

    assert SecretScrubber().scrub(f"scan {barcode} gtin {gtin}") == f"scan {barcode} gtin {gtin}"


def test_digit_runs_too_short_or_too_long_for_a_card_are_kept() -> None:
    twelve = "424242424242"  # Luhn-valid, but no card has 12 digits
    twenty = "42424242424242424242"
    assert luhn_valid(twelve) and luhn_valid(twenty)

    assert SecretScrubber().scrub(f"{twelve} {twenty}") == f"{twelve} {twenty}"


def test_a_registered_value_is_replaced_wherever_it_appears() -> None:
    scrubber = SecretScrubber()
    scrubber.register("tok-LOCAL-71 ")

    assert scrubber.scrub("token tok-LOCAL-71, again:tok-LOCAL-71.") == (
        f"token {REDACTED}, again:{REDACTED}."
    )
    assert scrubber.scrub("https://hq/?t=tok-LOCAL-71") == f"https://hq/?t={REDACTED}"


def test_a_registered_value_is_also_replaced_in_its_url_encoded_form() -> None:
    scrubber = SecretScrubber()
    scrubber.register("a b/c+d=e")

    assert scrubber.scrub("GET /sync?token=a%20b%2Fc%2Bd%3De") == f"GET /sync?token={REDACTED}"


def test_a_value_too_short_to_be_a_secret_is_not_registered() -> None:
    scrubber = SecretScrubber()
    scrubber.register("ab")

    assert scrubber.scrub("a table by the door") == "a table by the door"


def test_a_secret_in_the_arguments_is_scrubbed_after_formatting(
    root_logging: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(logging.INFO, journal=True)

    logging.getLogger("kiosk.payments").warning(
        "Stripe said: %s (card %s)", "Invalid API Key provided: sk_live_51Qq9zzz", VISA_TEST_CARD
    )

    assert journal_lines(capsys) == [
        f'<4>level=warning logger=kiosk.payments msg="Stripe said: Invalid API Key provided: '
        f'{REDACTED} (card {CARD})"'
    ]


def test_a_secret_inside_a_traceback_is_scrubbed(
    root_logging: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(logging.INFO, journal=False)
    log = logging.getLogger("kiosk.sync")

    try:
        raise ConnectionError("401 for Authorization: Bearer s3cr3t-token-from-hq")
    except ConnectionError:
        log.exception("sync round failed")

    err = capsys.readouterr().err
    assert "sync round failed" in err
    assert "Traceback (most recent call last):" in err
    assert f"ConnectionError: 401 for Authorization: Bearer {REDACTED}" in err
    assert "s3cr3t" not in err


def test_a_secret_in_a_field_is_scrubbed_and_plain_numbers_stay_numbers() -> None:
    record = logging.LogRecord("kiosk.app", logging.INFO, __file__, 1, "paid", None, None)
    record.fields = {"key": "sk_test_abc123", "pan": int(VISA_TEST_CARD), "sale": 7, "ok": True}

    assert SecretScrubber().filter(record) is True

    assert JournalFormatter().format(record) == (
        f'<6>level=info logger=kiosk.app msg=paid key={REDACTED} pan={CARD} sale=7 ok=true'
    )


def test_an_event_with_arguments_that_do_not_fit_its_message_is_still_written() -> None:
    record = logging.LogRecord(
        "kiosk.app", logging.INFO, __file__, 1, "sale %d of %d", ("one",), None
    )

    assert SecretScrubber().filter(record) is True

    assert record.getMessage() == "'sale %d of %d' (unformattable arguments: TypeError)"


def test_the_configured_secrets_of_the_environment_and_credentials_are_scrubbed(
    root_logging: logging.Logger, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "stripe-api-key").write_text("stripe-from-credential-41\n", encoding="utf-8")
    (credentials / "backoffice-token").write_text("hq-from-credential-42\n", encoding="utf-8")
    environ = {
        "CREDENTIALS_DIRECTORY": str(credentials),
        "KIOSK_STRIPE_API_KEY": "stripe-from-env-43",
        "KIOSK_BACKOFFICE_TOKEN": "hq-from-env-44",
    }
    configure_logging(logging.INFO, journal=True)

    registered = register_configured_secrets(environ)
    logging.getLogger("kiosk.app").info(
        "%s %s %s %s", "stripe-from-credential-41", "hq-from-credential-42",
        "stripe-from-env-43", "hq-from-env-44",
    )

    assert registered == 4
    assert journal_lines(capsys) == [
        f'<6>level=info logger=kiosk.app msg="{REDACTED} {REDACTED} {REDACTED} {REDACTED}"'
    ]


def test_secrets_handed_over_as_a_model_are_scrubbed() -> None:
    register_secrets(Secrets(
        stripe_api_key=SecretStr("stripe-as-model-45"),
        backoffice_token=SecretStr("hq-as-model-46"),
    ))

    assert SCRUBBER.scrub("stripe-as-model-45 / hq-as-model-46") == f"{REDACTED} / {REDACTED}"


def test_a_missing_credential_folder_registers_nothing_and_raises_nothing(tmp_path: Path) -> None:
    assert register_configured_secrets({"CREDENTIALS_DIRECTORY": str(tmp_path / "none")}) == 0


def test_an_exception_nobody_caught_is_logged_scrubbed_not_printed_raw(
    root_logging: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(logging.INFO, journal=True)
    key = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
    try:
        raise RuntimeError(f"bad key {key}")
    except RuntimeError as error:
        sys.excepthook(RuntimeError, error, error.__traceback__)

    (line,) = journal_lines(capsys)
    assert line.startswith('<2>level=critical logger=kiosk.crash msg="uncaught RuntimeError"')
    assert key not in line and "[redacted]" in line
