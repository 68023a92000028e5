"""Keeping the translation catalogs in step with the UI code (a developer's tool).

``python -m kiosk.ui.catalogs update`` extracts every customer message from ``kiosk/ui``
(``*.py`` and Kivy ``*.kv`` files) with Babel, merges the result into each language's
``assets/locale/<language>/LC_MESSAGES/kiosk.po`` (new messages are added untranslated,
messages no longer in the code are dropped) and compiles each ``kiosk.mo``. It then leaves
translating the new entries to a person.

``python -m kiosk.ui.catalogs check`` changes nothing; it exits 1 and lists what is wrong when
a ``.po`` lacks an extracted message or keeps one the code no longer has, when a language other
than English has an untranslated or fuzzy entry, when a translation's ``{placeholders}`` differ
from its message id's, or when a ``kiosk.mo`` is not the compile of its ``.po``. The tests run
it, so CI fails on a forgotten ``update``.

Messages are marked in the code by the keywords ``tr("...")`` (also ``app.tr(...)``,
``self.tr(...)``), ``ntr("singular", "plural", n)`` and ``N_("...")``; a comment starting with
``Translators:`` just above the call reaches the translator. The tool works on the source tree
(the checkout), not on an installed wheel.
"""

from __future__ import annotations

import argparse
import io
import re
import string
import sys
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract, extract_python
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

import kiosk
from kiosk.ui.i18n import DOMAIN, LANGUAGES, SOURCE_LANGUAGE

KEYWORDS: dict[str, Any] = {"tr": None, "ntr": (1, 2), "N_": None}
"""Babel keyword specs: the function names that mark messages and which arguments are text."""

COMMENT_TAGS = ("Translators:",)
"""Comments starting with this, just above a marked message, are shown to translators."""

PACKAGE_DIR = Path(kiosk.__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
SOURCE_DIR = PACKAGE_DIR / "ui"
"""Where messages are extracted from."""
LOCALE_DIR = PROJECT_ROOT / "assets" / "locale"
"""Where the catalogs live in the checkout (shipped as ``kiosk.assets/locale``)."""

_HEADER_COMMENT = """\
# Messages of the kiosk's customer screens in {language}.
# Maintained with: python -m kiosk.ui.catalogs update
# English is the source language: the message ids are the English text."""

_PO_WIDTH = 100


# --- extraction -----------------------------------------------------------------------------


def kv_as_python(kv_text: str) -> str:
    """Turn Kivy language text into text Python's tokenizer reads, line numbers unchanged.

    The whole file is put inside one pair of parentheses: inside brackets the tokenizer ignores
    indentation and line ends, so rule headers (``<CartRow>:``), widget lines (``Button:``),
    ``property: expression`` lines and indented handler blocks all become a harmless stream of
    tokens in which Babel finds ``tr(...)`` calls exactly as in Python. Kv comments and
    ``#:`` directives stay comments.
    """
    return "(" + kv_text + "\n)\n"


class _ReadableBytes(Protocol):
    """What Babel hands an extraction method: a file open for reading bytes."""

    def read(self, size: int, /) -> bytes:
        """Read up to ``size`` bytes (all of them for -1)."""
        ...


def extract_kv(
    fileobj: _ReadableBytes,
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str | tuple[str, ...], list[str], str | None]]:
    """A Babel extraction method for Kivy ``.kv`` files (same arguments as ``extract_python``).

    Yields what Babel's methods yield (line, function name, the call's arguments, comments,
    whatever Babel's type hints say); ``babel.messages.extract.extract(extract_kv, ...)`` turns
    that into messages.
    """
    encoding = str(options.get("encoding", "utf-8"))
    python_text = kv_as_python(fileobj.read(-1).decode(encoding))
    yield from extract_python(
        io.BytesIO(python_text.encode("utf-8")), keywords, comment_tags, {"encoding": "utf-8"}
    )


def source_files(source_dir: Path = SOURCE_DIR) -> list[Path]:
    """The ``.py`` and ``.kv`` files messages are extracted from, in a stable order."""
    found = [
        path
        for pattern in ("*.py", "*.kv")
        for path in source_dir.rglob(pattern)
        if "__pycache__" not in path.parts
    ]
    return sorted(found)


def extract_messages(source_dir: Path = SOURCE_DIR, root: Path = PROJECT_ROOT) -> Catalog:
    """Every marked message of ``source_dir`` as a template catalog (locations relative to root)."""
    template = Catalog(domain=DOMAIN, project="kiosk", charset="utf-8", fuzzy=False)
    for path in source_files(source_dir):
        method: Any = extract_kv if path.suffix == ".kv" else "python"
        location = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        with path.open("rb") as source:
            for lineno, message, comments, context in extract(
                method, source, keywords=KEYWORDS, comment_tags=COMMENT_TAGS,
                strip_comment_tags=True,
            ):
                flags = ("python-brace-format",) if _has_placeholders(message) else ()
                template.add(
                    message, None, [(location, lineno)], auto_comments=comments,
                    flags=flags, context=context,
                )
    return template


def _has_placeholders(message: str | Sequence[str]) -> bool:
    """True when ``message`` has ``{fields}`` (and is a valid ``str.format`` text)."""
    try:
        return bool(_placeholders_of(message))
    except ValueError:
        return False


# --- update ---------------------------------------------------------------------------------


def po_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    """The ``.po`` file of ``language``."""
    return locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    """The compiled ``.mo`` file of ``language``."""
    return po_path(language, locale_dir).with_suffix(".mo")


def update(
    locale_dir: Path = LOCALE_DIR,
    source_dir: Path = SOURCE_DIR,
    root: Path = PROJECT_ROOT,
    languages: Collection[str] = tuple(LANGUAGES),
) -> list[Path]:
    """Merge the extracted messages into every language's ``.po`` and compile its ``.mo``.

    New messages are added untranslated (no fuzzy guesses), messages gone from the code are
    dropped, translations are kept. Files are only rewritten when their content changes, so
    running it twice changes nothing. Returns the files written.
    """
    template = extract_messages(source_dir, root)
    written: list[Path] = []
    for language in languages:
        po_file = po_path(language, locale_dir)
        catalog = _read_or_create(po_file, language)
        catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        catalog.obsolete.clear()
        po_bytes = _po_bytes(catalog)
        if not po_file.is_file() or po_file.read_bytes() != po_bytes:
            po_file.parent.mkdir(parents=True, exist_ok=True)
            po_file.write_bytes(po_bytes)
            written.append(po_file)
        mo_file = mo_path(language, locale_dir)
        compiled = _mo_bytes(catalog)
        if not mo_file.is_file() or _mo_content(mo_file.read_bytes()) != _mo_content(compiled):
            mo_file.write_bytes(compiled)
            written.append(mo_file)
    return written


def _read_or_create(po_file: Path, language: str) -> Catalog:
    """The catalog in ``po_file``, or a new empty one for ``language``."""
    if po_file.is_file():
        with po_file.open("rb") as source:
            return read_po(source, locale=language, domain=DOMAIN)
    catalog = Catalog(
        locale=language, domain=DOMAIN, project="kiosk", version=kiosk.__version__,
        charset="utf-8", fuzzy=False,
        header_comment=_HEADER_COMMENT.format(language=f"{LANGUAGES.get(language)} ({language})"),
    )
    return catalog


def _po_bytes(catalog: Catalog) -> bytes:
    """The ``.po`` text of ``catalog``: grouped by source file, no line numbers (less churn)."""
    out = io.BytesIO()
    write_po(
        out, catalog, width=_PO_WIDTH, sort_by_file=True, ignore_obsolete=True,
        include_lineno=False,
    )
    return out.getvalue()


def _mo_bytes(catalog: Catalog) -> bytes:
    """The compiled ``.mo`` of ``catalog`` (fuzzy entries left out, as gettext expects)."""
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def _mo_content(mo_bytes: bytes) -> tuple[frozenset[tuple[object, object, object]], str]:
    """What a ``.mo`` means to gettext: its translations and plural rule (not its header dates)."""
    catalog = read_mo(io.BytesIO(mo_bytes))
    translations = frozenset(
        (_hashable(message.id), message.context, _hashable(message.string))
        for message in catalog
        if message.id
    )
    return translations, str(catalog.plural_forms)


def _hashable(value: object) -> object:
    """Lists (plural forms) as tuples, so messages can go in a set."""
    return tuple(value) if isinstance(value, list) else value


# --- check ----------------------------------------------------------------------------------


def find_problems(
    locale_dir: Path = LOCALE_DIR,
    source_dir: Path = SOURCE_DIR,
    root: Path = PROJECT_ROOT,
    languages: Collection[str] = tuple(LANGUAGES),
) -> list[str]:
    """Everything wrong with the catalogs, one line each; empty when they are in step."""
    template = extract_messages(source_dir, root)
    expected = {_key(message) for message in template if message.id}
    problems: list[str] = []
    for language in languages:
        po_file = po_path(language, locale_dir)
        if not po_file.is_file():
            problems.append(f"{po_file}: missing (run: python -m kiosk.ui.catalogs update)")
            continue
        with po_file.open("rb") as source:
            catalog = read_po(source, locale=language, domain=DOMAIN)
        problems.extend(_po_problems(po_file, catalog, expected, language))
        mo_file = mo_path(language, locale_dir)
        if not mo_file.is_file():
            problems.append(f"{mo_file}: missing (run: python -m kiosk.ui.catalogs update)")
        elif _mo_content(mo_file.read_bytes()) != _mo_content(_mo_bytes(catalog)):
            problems.append(
                f"{mo_file}: is not the compile of its .po (run: python -m kiosk.ui.catalogs "
                "update)"
            )
    return problems


def _po_problems(
    po_file: Path, catalog: Catalog, expected: set[tuple[object, str | None]], language: str
) -> Iterator[str]:
    """The problems of one read ``.po`` against the extracted message keys."""
    present = {_key(message): message for message in catalog if message.id}
    for key in sorted(expected - present.keys(), key=repr):
        yield f"{po_file}: missing message {_show(key)}"
    for key in sorted(present.keys() - expected, key=repr):
        yield f"{po_file}: obsolete message {_show(key)} (no longer in the code)"
    for message in catalog.obsolete.values():
        yield f"{po_file}: obsolete entry {_show(_key(message))} (#~ lines)"
    for key, message in present.items():
        translated = _is_translated(message)
        if language != SOURCE_LANGUAGE:
            if message.fuzzy:
                yield f"{po_file}: fuzzy translation of {_show(key)}"
            elif not translated:
                yield f"{po_file}: untranslated message {_show(key)}"
        if translated:
            yield from (f"{po_file}: {problem}" for problem in _placeholder_problems(message))


def _key(message: Message) -> tuple[object, str | None]:
    """A message's identity: its id (both forms for plurals) and its context."""
    return _hashable(message.id), message.context


def _show(key: tuple[object, str | None]) -> str:
    """A message key as a reader recognises it."""
    msgid, context = key
    shown = " / ".join(repr(part) for part in msgid) if isinstance(msgid, tuple) else repr(msgid)
    return f"{shown} (context {context!r})" if context else shown


def _is_translated(message: Message) -> bool:
    """True when every form of the message has a translation."""
    if isinstance(message.string, (list, tuple)):
        return all(message.string)
    return bool(message.string)


def _placeholder_problems(message: Message) -> Iterator[str]:
    """Translations whose ``{placeholders}`` are not those of the message id.

    A singular message's translation must use exactly the id's placeholders. For plurals, each
    form may use only placeholders of the two ids (a German singular may say "ein Artikel"
    without ``{n}``), and together the forms must use every placeholder of the ids but ``n``.
    """
    ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
    try:
        wanted = set().union(*(_placeholders_of(msgid) for msgid in ids))
    except ValueError as error:
        yield f"message id {message.id!r} is not a valid format string: {error}"
        return
    forms = message.string if isinstance(message.string, (list, tuple)) else (message.string or "",)
    used: set[str] = set()
    for form in forms:
        try:
            fields = _placeholders_of(form)
        except ValueError as error:
            yield f"translation {form!r} is not a valid format string: {error}"
            continue
        used |= fields
        extra = fields - wanted
        if extra:
            yield (
                f"translation {form!r} of {message.id!r} has placeholders "
                f"{sorted(extra)} the message id does not"
            )
    # A plural's forms may leave out the count ("ein Artikel"), never the other values.
    missing = wanted - used if len(ids) == 1 else wanted - used - {"n"}
    if missing:
        yield f"translation of {message.id!r} lacks the placeholders {sorted(missing)}"


def _placeholders_of(text: str | Sequence[str]) -> set[str]:
    """The field names of a ``str.format`` text (``"{amount} for {n}"`` -> amount, n).

    Raises ``ValueError`` for braces ``str.format`` would reject.
    """
    texts = [text] if isinstance(text, str) else list(text)
    fields: set[str] = set()
    for each in texts:
        for _, field, _, _ in string.Formatter().parse(each):
            if field is not None:
                fields.add(re.split(r"[.\[]", field, maxsplit=1)[0])
    return fields


# --- command line ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``update`` or ``check`` the catalogs; returns the process exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m kiosk.ui.catalogs", description=__doc__.split("\n\n")[0] if __doc__ else ""
    )
    parser.add_argument("action", choices=("update", "check"))
    arguments = parser.parse_args(argv)
    if arguments.action == "update":
        written = update(LOCALE_DIR, SOURCE_DIR, PROJECT_ROOT)
        for path in written:
            print(f"wrote {path.relative_to(PROJECT_ROOT)}")
        if not written:
            print("catalogs already up to date")
        for problem in find_problems(LOCALE_DIR, SOURCE_DIR, PROJECT_ROOT):
            if "untranslated" in problem or "fuzzy" in problem:
                print(f"to translate: {problem}")
        return 0
    problems = find_problems(LOCALE_DIR, SOURCE_DIR, PROJECT_ROOT)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in the translation catalogs")
        return 1
    print("translation catalogs are in step with the code")
    return 0


if __name__ == "__main__":
    sys.exit(main())
