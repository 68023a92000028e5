"""Customer screens in English and German: catalogs, money, numbers and facade sentences."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from babel.messages.extract import extract
from babel.messages.pofile import read_po, write_po

from kiosk.console import WORDS
from kiosk.core.money import MoneyError, format_money
from kiosk.resources import asset
from kiosk.ui import catalogs
from kiosk.ui.i18n import (
    FACADE_MESSAGES,
    GENERIC_MESSAGE,
    LANGUAGES,
    N_,
    Translator,
    offered_languages,
)

NBSP = "\xa0"


def english() -> Translator:
    return Translator("en", "de_DE", "EUR")


def german() -> Translator:
    return Translator("de", "de_DE", "EUR")


# --- the shipped catalogs ---------------------------------------------------------------------


def test_the_shipped_catalogs_are_in_step_with_the_code() -> None:
    problems = catalogs.find_problems()
    assert problems == [], "run: python -m kiosk.ui.catalogs update\n" + "\n".join(problems)


def test_the_command_line_check_exits_0_when_the_catalogs_are_in_step(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert catalogs.main(["check"]) == 0
    assert "in step" in capsys.readouterr().out


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_language_ships_its_po_and_compiled_mo_in_the_package(language: str) -> None:
    compiled = asset(f"locale/{language}/LC_MESSAGES/kiosk.mo").read_bytes()
    assert compiled[:4] in (b"\xde\x12\x04\x95", b"\x95\x04\x12\xde")  # the gettext magic
    assert "msgid" in asset(f"locale/{language}/LC_MESSAGES/kiosk.po").read_text("utf-8")


# --- sentences --------------------------------------------------------------------------------


def test_german_changes_the_words_and_english_shows_the_message_id() -> None:
    msgid = FACADE_MESSAGES["card_declined"]
    assert english()(msgid) == msgid
    assert german()(msgid) == (
        "Die Karte wurde abgelehnt. Bitte versuchen Sie eine andere Karte oder wenden Sie "
        "sich an unser Personal."
    )


def test_every_facade_code_of_the_console_has_a_customer_sentence_in_every_language() -> None:
    assert FACADE_MESSAGES.keys() == WORDS.keys()
    for code, msgid in FACADE_MESSAGES.items():
        assert english().say(code) == msgid
        assert german().say(code) != msgid, code


def test_an_unknown_facade_code_gives_the_generic_sentence_and_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="kiosk.ui.i18n"):
        said = english().say("flux_capacitor_empty")
    assert said == "Something went wrong. Please ask staff." == GENERIC_MESSAGE
    assert german().say("flux_capacitor_empty") == (
        "Etwas ist schiefgelaufen. Bitte wenden Sie sich an unser Personal."
    )
    assert any("flux_capacitor_empty" in record.getMessage() for record in caplog.records)


def test_values_fill_the_placeholders_of_a_message() -> None:
    assert english()("Total: {amount}", amount="€3.00") == "Total: €3.00"
    assert english()("No {braces} are touched without values") == (
        "No {braces} are touched without values"
    )


def test_ntr_picks_the_plural_form_and_offers_the_count_as_n() -> None:
    tr = english()
    assert tr.ntr("{n} apple", "{n} apples", 1) == "1 apple"
    assert tr.ntr("{n} apple", "{n} apples", 3) == "3 apples"
    assert tr.ntr("{n} apple in {cart}", "{n} apples in {cart}", 2, cart="the cart") == (
        "2 apples in the cart"
    )


def test_ntr_writes_the_count_with_the_digit_grouping_of_the_language() -> None:
    assert english().ntr("{n} apple", "{n} apples", 1234) == "1,234 apples"
    assert german().ntr("{n} apple", "{n} apples", 1234) == "1.234 apples"  # not in the catalog


def test_n_marks_a_message_without_changing_it() -> None:
    assert N_("Pay") == "Pay"


def test_the_shop_offers_its_configured_languages_that_the_screens_speak_in_its_order() -> None:
    assert offered_languages(["de", "en"], "en_GB") == ("de", "en")
    assert offered_languages(["de_CH", "de-AT", "fr", "en"], "de_CH") == ("de", "en")
    assert offered_languages(["fr"], "de_DE") == ("de",), "none spoken: the locale's language"
    assert offered_languages([], "en_GB") == ("en",)


def test_an_unknown_language_is_refused_with_the_known_ones_named() -> None:
    with pytest.raises(ValueError, match=r"'fr'.*de, en"):
        Translator("fr", "fr_FR", "EUR")


def test_an_unknown_currency_is_refused_when_the_translator_is_made() -> None:
    with pytest.raises(MoneyError):
        Translator("en", "en_GB", "XYZ")


# --- money and numbers --------------------------------------------------------------------------


def test_money_keeps_the_shop_currency_and_writes_the_number_for_the_language() -> None:
    assert english().money(1234) == "€12.34"
    assert german().money(1234).replace(NBSP, " ") == "12,34 €"
    assert english().money(123456) == "€1,234.56"
    assert german().money(123456).replace(NBSP, " ") == "1.234,56 €"


def test_money_in_a_foreign_currency_stays_in_that_currency_in_both_languages() -> None:
    assert Translator("en", "ja_JP", "JPY").money(1234) == "JP¥1,234"
    assert Translator("de", "ja_JP", "JPY").money(1234).replace(NBSP, " ") == "1.234 ¥"


def test_the_shops_own_locale_is_used_when_the_customer_reads_the_shops_language() -> None:
    swiss = Translator("de", "de_CH", "CHF")
    assert swiss.locale == "de_CH"
    assert swiss.money(123456) == format_money(123456, "CHF", "de_CH")
    assert Translator("en", "de_CH", "CHF").locale == "en_GB"
    assert Translator("en", "en_IE", "EUR").locale == "en_IE"


def test_numbers_are_grouped_the_way_the_language_writes_them() -> None:
    assert english().number(1234567) == "1,234,567"
    assert german().number(1234567) == "1.234.567"


# --- the kv extractor ---------------------------------------------------------------------------

KV_SNIPPET = """\
#:kivy 2.3
#:import theme kiosk.ui.theme

<PayScreen>:
    name: "pay"
    BoxLayout:
        orientation: "vertical"
        canvas.before:
            Color:
                rgba: app.theme_rgba("background")
        Label:
            # Translators: the big title of the payment screen
            text: app.tr("Pay by card")
            font_size: app.title_sp
        Label:
            text: app.tr.ntr("{n} item", "{n} items", root.count)
        Button:
            text:
                app.tr("Cancel")
            on_release:
                root.cancel()
                app.say(app.tr(
                    "It's cancelled: {reason}", reason="x"))
        Label:
            text: "not for translation"  # tr("in a comment") is not a call
"""


def test_the_kv_extractor_finds_tr_and_ntr_calls_with_their_lines_and_comments() -> None:
    found = list(
        extract(
            catalogs.extract_kv, io.BytesIO(KV_SNIPPET.encode("utf-8")),
            keywords=catalogs.KEYWORDS, comment_tags=catalogs.COMMENT_TAGS,
            strip_comment_tags=True,
        )
    )
    messages = [(lineno, message) for lineno, message, _comments, _context in found]
    assert messages == [
        (13, "Pay by card"),
        (16, ("{n} item", "{n} items")),
        (19, "Cancel"),
        (23, "It's cancelled: {reason}"),
    ]
    assert found[0][2] == ["the big title of the payment screen"]


# --- update and check on a scratch tree -----------------------------------------------------------


def write_source(root: Path, text: str) -> Path:
    ui = root / "ui"
    ui.mkdir(exist_ok=True)
    (ui / "screen.py").write_text(text, encoding="utf-8")
    (ui / "screen.kv").write_text('<Screen>:\n    Label:\n        text: app.tr("From kv")\n')
    return ui


def translate(locale_dir: Path, translations: dict[str, str]) -> None:
    po_file = catalogs.po_path("de", locale_dir)
    with po_file.open("rb") as source:
        catalog = read_po(source, locale="de")
    for message in catalog:
        if message.id in translations:
            message.string = translations[message.id]
    out = io.BytesIO()
    write_po(out, catalog)
    po_file.write_bytes(out.getvalue())


def scratch_problems(tmp_path: Path) -> list[str]:
    return catalogs.find_problems(tmp_path / "locale", tmp_path / "ui", tmp_path)


def scratch_update(tmp_path: Path) -> list[Path]:
    return catalogs.update(tmp_path / "locale", tmp_path / "ui", tmp_path)


def test_update_creates_every_catalog_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    write_source(tmp_path, 'tr("Hello {name}")\n')
    written = scratch_update(tmp_path)
    assert {path.relative_to(tmp_path).as_posix() for path in written} == {
        f"locale/{language}/LC_MESSAGES/kiosk.{kind}" for language in LANGUAGES
        for kind in ("po", "mo")
    }
    assert scratch_update(tmp_path) == []
    po_text = catalogs.po_path("de", tmp_path / "locale").read_text("utf-8")
    assert 'msgid "Hello {name}"' in po_text and 'msgid "From kv"' in po_text
    assert "#: ui/screen.kv" in po_text


def test_check_lists_untranslated_german_but_accepts_english_left_empty(tmp_path: Path) -> None:
    write_source(tmp_path, 'tr("Hello {name}")\n')
    scratch_update(tmp_path)
    problems = scratch_problems(tmp_path)
    assert len(problems) == 2
    assert all("/de/" in problem and "untranslated" in problem for problem in problems)


def test_check_passes_once_german_is_translated_and_compiled(tmp_path: Path) -> None:
    write_source(tmp_path, 'tr("Hello {name}")\n')
    scratch_update(tmp_path)
    translate(tmp_path / "locale", {"Hello {name}": "Hallo {name}", "From kv": "Aus kv"})
    assert any("not the compile" in problem for problem in scratch_problems(tmp_path))
    scratch_update(tmp_path)
    assert scratch_problems(tmp_path) == []


def test_check_finds_a_translation_whose_placeholders_differ(tmp_path: Path) -> None:
    write_source(tmp_path, 'tr("Hello {name}")\n')
    scratch_update(tmp_path)
    translate(tmp_path / "locale", {"Hello {name}": "Hallo {nom}", "From kv": "Aus kv"})
    scratch_update(tmp_path)
    problems = scratch_problems(tmp_path)
    assert any("['nom']" in problem and "does not" in problem for problem in problems)
    assert any("lacks the placeholders ['name']" in problem for problem in problems)


def test_check_finds_missing_and_obsolete_messages_and_update_fixes_both(
    tmp_path: Path,
) -> None:
    write_source(tmp_path, 'tr("Hello {name}")\n')
    scratch_update(tmp_path)
    translate(tmp_path / "locale", {"Hello {name}": "Hallo {name}", "From kv": "Aus kv"})
    scratch_update(tmp_path)
    write_source(tmp_path, 'tr("Goodbye")\n')
    problems = scratch_problems(tmp_path)
    assert any("missing message 'Goodbye'" in problem for problem in problems)
    assert any("obsolete message 'Hello {name}'" in problem for problem in problems)
    scratch_update(tmp_path)
    problems = scratch_problems(tmp_path)
    assert problems == [f"{catalogs.po_path('de', tmp_path / 'locale')}: untranslated message "
                        "'Goodbye'"]
    po_text = catalogs.po_path("de", tmp_path / "locale").read_text("utf-8")
    assert "Hello" not in po_text and 'msgstr "Aus kv"' in po_text


def test_check_finds_a_fuzzy_german_entry(tmp_path: Path) -> None:
    write_source(tmp_path, 'tr("Hello {name}")\n')
    scratch_update(tmp_path)
    translate(tmp_path / "locale", {"Hello {name}": "Hallo {name}", "From kv": "Aus kv"})
    po_file = catalogs.po_path("de", tmp_path / "locale")
    po_file.write_text(
        po_file.read_text("utf-8").replace('msgid "From kv"', '#, fuzzy\nmsgid "From kv"'),
        encoding="utf-8",
    )
    scratch_update(tmp_path)
    assert scratch_problems(tmp_path) == [f"{po_file}: fuzzy translation of 'From kv'"]


def test_the_command_line_check_exits_1_and_prints_the_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_source(tmp_path, 'tr("Hello {name}")\n')
    monkeypatch.setattr(catalogs, "LOCALE_DIR", tmp_path / "locale")
    monkeypatch.setattr(catalogs, "SOURCE_DIR", tmp_path / "ui")
    monkeypatch.setattr(catalogs, "PROJECT_ROOT", tmp_path)
    assert catalogs.main(["check"]) == 1
    out = capsys.readouterr().out
    assert "kiosk.po: missing" in out and "problem(s)" in out
