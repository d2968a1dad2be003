"""Translations: .po files read as they are, English whenever a catalog is missing or broken."""

from __future__ import annotations

import logging
import re
import shutil
import string
import subprocess
import sys
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import texts
from tests.botharness import fast_settings, first_poll_done, running_bot
from tests.conftest import site_key
from tests.fakes.telegram import FakeTelegram
from tests.fakes.wordpress import FakeWordPress

ROOT = Path(__file__).parent.parent
LOCALES = Path(__file__).parent / "data" / "locale"  # one made-up language, "qaa"
QAA_MYSUBS_NONE = "[qaa] Nothing is followed here yet. /subscribe chooses."

HEADER = """msgid ""
msgstr ""
"Language: qaa\\n"
"Content-Type: text/plain; charset=utf-8\\n"

"""


def write_po(root: Path, body: bytes, language: str = "qaa") -> Path:
    path = root / language / "LC_MESSAGES" / "hrm-bot.po"
    path.parent.mkdir(parents=True)
    path.write_bytes(body)
    return path


def entry(msgid: str, msgstr: str) -> str:
    return f'msgid "{msgid}"\nmsgstr "{msgstr}"\n\n'


# -- tr ---------------------------------------------------------------------------------------


def test_translated_texts_are_used() -> None:
    _ = texts.tr("qaa", LOCALES)
    assert _(texts.MYSUBS_NONE) == QAA_MYSUBS_NONE
    assert _(texts.SUBSCRIBED).format(names="Evin") == "[qaa] Evin: followed from now on."
    # Telegram's tags carry a region, in any case.
    assert texts.tr("QAA-x-test", LOCALES)(texts.MYSUBS_NONE) == QAA_MYSUBS_NONE


def test_fuzzy_and_empty_translations_stay_english() -> None:
    _ = texts.tr("qaa", LOCALES)
    assert _(texts.BUTTON_ALL) == "All reports"
    assert _(texts.BUTTON_DONE) == "Done"
    assert _(texts.LATEST) == "The newest reports:"  # not in the catalog at all


@pytest.mark.parametrize("language", [None, "", "en", "de", "fa-IR"])
def test_without_a_catalog_texts_are_english(language: str | None) -> None:
    assert texts.tr(language, LOCALES)(texts.MYSUBS_NONE) == texts.MYSUBS_NONE


def test_the_bot_ships_catalogs_in_its_own_folder() -> None:
    assert texts.LOCALE_DIR == ROOT / "bot" / "i18n" / "locale"
    assert texts.tr("qaa")(texts.MYSUBS_NONE) == texts.MYSUBS_NONE


@pytest.mark.parametrize(("language", "folder"), [(".", "qaa"), ("..", "qaa/LC_MESSAGES")])
def test_a_language_code_is_never_a_path(language: str, folder: str) -> None:
    # Both would reach tests/data/locale/qaa/LC_MESSAGES/hrm-bot.po as paths.
    assert texts.tr(language, LOCALES / folder)(texts.MYSUBS_NONE) == texts.MYSUBS_NONE


BROKEN = {
    # Each would be read, in part at least, by a lenient parser.
    "merge conflict": (
        HEADER + "<<<<<<< ours\n" + entry(texts.MYSUBS_NONE, "[qaa] x") + "=======\n>>>>>>>\n"
    ).encode(),
    "no msgstr": (
        HEADER + f'msgid "{texts.LATEST}"\n\n' + entry(texts.MYSUBS_NONE, "[qaa] x")
    ).encode(),
    "encoding": HEADER.encode() + entry(texts.MYSUBS_NONE, "[qaa] caf\xe9").encode("latin-1"),
    "plural header": (
        HEADER.replace('"Content-Type', '"Plural-Forms: nplurals=2; plural=(n !!! 1);\\n"\n"')
        + entry(texts.MYSUBS_NONE, "[qaa] x")
    ).encode(),
}


@pytest.mark.parametrize("body", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_catalog_is_english_with_one_log_line(
    tmp_path: Path,
    body: bytes,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    path = write_po(tmp_path, body)
    with caplog.at_level(logging.WARNING, logger="bot.i18n.texts"):
        for _ in range(3):
            assert texts.tr("qaa", tmp_path)(texts.MYSUBS_NONE) == texts.MYSUBS_NONE
    [record] = caplog.records
    assert record.getMessage().startswith(f"{path} is not used, English instead: ")
    assert capfd.readouterr() == ("", "")  # nothing printed besides the log


def test_translations_with_unknown_placeholders_stay_english(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    body = (
        HEADER
        + entry(texts.MYSUBS_NONE, "[qaa] fine")
        + entry(texts.SUBSCRIBED, "[qaa] {nmes}")  # a typo: .format(names=...) would raise
        + entry(texts.TOAST_FOLLOW, "[qaa] {category")  # .format refuses it
        + entry(texts.STATS_CHATS, "[qaa] {inactive} of {n}")  # reordered: fine
        + entry(texts.BUTTON_DONE, "[qaa] {x}")  # no placeholder in English
    )
    path = write_po(tmp_path, body.encode())
    with caplog.at_level(logging.WARNING, logger="bot.i18n.texts"):
        _ = texts.tr("qaa", tmp_path)
    assert _(texts.MYSUBS_NONE) == "[qaa] fine"
    assert _(texts.STATS_CHATS).format(n=3, inactive=1) == "[qaa] 1 of 3"
    assert _(texts.SUBSCRIBED).format(names="X") == "Now following: X."
    assert _(texts.TOAST_FOLLOW).format(category="X") == "Following X"
    assert _(texts.BUTTON_DONE) == "Done"
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: 3 texts stay English, their translations have unknown placeholders: "
        f"{texts.SUBSCRIBED!r}"
    ]


# -- the running bot --------------------------------------------------------------------------

FA_USER, EN_USER = 701, 702


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    fake.start()
    fake.private(FA_USER, language_code="fa-IR")
    fake.private(EN_USER, language_code="en")
    try:
        yield fake
    finally:
        fake.stop()
        assert not fake.internal_errors, fake.internal_errors


async def test_the_bot_answers_in_the_users_language(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shipped Persian catalog, as a Telegram app set to Persian (fa-IR) asks for it.
    persian = texts.tr("fa")
    assert persian(texts.MYSUBS_NONE) != texts.MYSUBS_NONE
    async with running_bot(fast_settings(tg, wp, tmp_path / "db.sqlite3"), tg, wp) as bot:
        await first_poll_done(bot.store, site_key(wp.url))
        assert (await bot.command(FA_USER, "/mysubs")).text == _plain(persian(texts.MYSUBS_NONE))
        m = await bot.command(FA_USER, "/subscribe executions")
        assert m.text == _plain(persian(texts.SUBSCRIBED).format(names="Executions"))
        assert (await bot.command(EN_USER, "/mysubs")).text == texts.MYSUBS_NONE


def _plain(text: str) -> str:
    """A text as the fake Bot API reports what the user sees (entities stripped)."""
    return text.strip()


# -- the catalog template and the package -----------------------------------------------------


def test_the_template_has_every_text() -> None:
    extracted = {
        message
        for folder in ("bot", "handlers")
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, keywords={"N_": None}
        )
    }
    assert texts.MYSUBS_NONE in extracted
    pot = ROOT / "bot" / "i18n" / "locale" / "hrm-bot.pot"
    with pot.open("rb") as f:
        template = {m.id for m in read_po(f) if m.id}
    assert template == extracted, "texts changed: run `make messages`"
    for po in sorted(pot.parent.glob("*/LC_MESSAGES/hrm-bot.po")):
        with po.open("rb") as f:
            assert {m.id for m in read_po(f) if m.id} == extracted, f"run `make messages`: {po}"


def test_the_wheel_ships_the_catalogs_and_the_license(tmp_path: Path) -> None:
    src = tmp_path / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for folder in ("bot", "handlers", "storage"):
        shutil.copytree(ROOT / folder, src / folder, ignore=skip)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(LOCALES / "qaa", src / "bot" / "i18n" / "locale" / "qaa")
    # Warnings as errors: setuptools warns about the license or the catalogs' folders.
    build = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import sys; from setuptools import build_meta; "
         "print(build_meta.build_wheel(sys.argv[1]))", str(tmp_path / "dist")],
        cwd=src, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    with zipfile.ZipFile(tmp_path / "dist" / build.stdout.split()[-1]) as wheel:
        names = set(wheel.namelist())
        metadata = wheel.read("hrm_bot-0.1.0.dist-info/METADATA").decode()
    assert "bot/i18n/locale/qaa/LC_MESSAGES/hrm-bot.po" in names
    assert "hrm_bot-0.1.0.dist-info/licenses/LICENSE" in names
    assert "License-Expression: AGPL-3.0-or-later" in metadata.splitlines()


# -- the Persian catalog ----------------------------------------------------------------------

FA_PO = ROOT / "bot" / "i18n" / "locale" / "fa" / "LC_MESSAGES" / "hrm-bot.po"
LRM = "\u200e"
# What stays Latin inside a Persian text: {placeholders}, and words in Latin letters such as
# /commands, @{bot}, slugs, keywords (all, fa:) and examples (since:2024-01, iran-hrm.com).
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_LATIN_WORD = re.compile(r"[/@]?[A-Za-z][\w:./|-]*")


def persian_catalog() -> dict[str, str]:
    with FA_PO.open("rb") as f:
        catalog = read_po(f, abort_invalid=True)
    assert catalog.locale_identifier == "fa"
    assert catalog.charset.lower() == "utf-8"
    return {m.id: m.string for m in catalog if m.id and not m.fuzzy}


def persian_words(text: str) -> str:
    """A translation without what stays Latin in it."""
    return _LATIN_WORD.sub(" ", _PLACEHOLDER.sub(" ", text))


def test_every_text_has_a_persian_translation() -> None:
    with (ROOT / "bot" / "i18n" / "locale" / "hrm-bot.pot").open("rb") as f:
        template = {m.id for m in read_po(f) if m.id}
    fa = persian_catalog()
    assert template - fa.keys() == set(), "fuzzy or missing in the Persian catalog"
    assert [msgid for msgid in template if not fa[msgid].strip()] == []


def test_persian_translations_keep_the_placeholders_exactly() -> None:
    formatter = string.Formatter()
    for msgid, msgstr in persian_catalog().items():
        fields = sorted(f for _, f, _, _ in formatter.parse(msgid) if f is not None)
        assert sorted(f for _, f, _, _ in formatter.parse(msgstr) if f is not None) == fields, (
            msgid
        )


def test_numbers_in_persian_translations_use_persian_digits() -> None:
    for msgid, msgstr in persian_catalog().items():
        assert not re.search(r"[0-9]", persian_words(msgstr)), (msgid, msgstr)
    # Latin words keep their digits: the filter stays as the search parser reads it.
    kept = persian_words("نمونه: /search Evin since:2024-01 و ۵ گزارش")
    assert kept.split() == ["نمونه:", "و", "۵", "گزارش"]


def test_persian_translations_use_persian_punctuation() -> None:
    for msgid, msgstr in persian_catalog().items():
        assert not re.search(r"[,;?“”\"]", persian_words(msgstr)), (msgid, msgstr)


def test_commands_in_persian_sentences_read_left_to_right() -> None:
    # In right-to-left text a neutral "/" or "@" before Latin letters is shown on their right
    # ("help/"); a LEFT-TO-RIGHT MARK before it keeps "/help" whole. A slash inside a Latin
    # name (the time zone Europe/Berlin) is not a command's.
    for msgid, msgstr in persian_catalog().items():
        for found in re.finditer(r"(?<![A-Za-z])[/@](?=[A-Za-z{])", msgstr):
            assert found.start() == 0 or msgstr[found.start() - 1] == LRM, (msgid, msgstr)


def test_persian_sentences_start_with_a_persian_word() -> None:
    # Telegram lays out a paragraph by its first letter: a Latin {name} or /command first
    # would set a Persian sentence left to right, its parts in the wrong order.
    for msgid, msgstr in persian_catalog().items():
        if not any(unicodedata.bidirectional(c) == "AL" for c in persian_words(msgstr)):
            continue  # "{category} ›", "[en | fa]": no Persian words, nothing to lay out
        text = _PLACEHOLDER.sub("X", msgstr)
        first = next(c for c in text if unicodedata.bidirectional(c) in ("L", "R", "AL"))
        assert unicodedata.bidirectional(first) == "AL", (msgid, msgstr)


def test_the_bot_speaks_persian() -> None:
    _ = texts.tr("fa")
    assert _(texts.MYSUBS_NONE) == (
        "هنوز هیچ موضوعی در این گفت‌وگو دنبال نمی‌شود. "
        f"برای انتخاب موضوع‌ها {LRM}/subscribe را بفرستید."
    )
    assert _(texts.BUTTON_ALL) == "همهٔ گزارش‌ها"
    assert _(texts.SUBSCRIBED).format(names="اعدام") == "از این پس دنبال می‌شود: اعدام."


@pytest.mark.parametrize("language", ["fa", "fa-IR", "FA", "fa-ir"])
def test_persian_in_any_spelling_gets_the_persian_catalog(language: str) -> None:
    assert texts.tr(language)(texts.BUTTON_CANCEL) == "انصراف"


@pytest.mark.parametrize("language", ["ps", "far", None, "", "en"])
def test_other_languages_are_not_persian(language: str | None) -> None:
    assert texts.tr(language)(texts.BUTTON_CANCEL) == "Cancel"


# -- numbers and dates through tr -------------------------------------------------------------

WHEN = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)  # 1:30 on 10 Azar 1405 in Tehran


def test_a_persian_translator_writes_persian_numbers_and_dates() -> None:
    _ = texts.tr("fa-IR")
    assert _.language == "fa"
    assert _.number(12345) == "۱۲٬۳۴۵"
    assert _.date(WHEN) == "۱۰ آذر ۱۴۰۵"
    assert _(texts.STATS_POSTS).format(n=_.number(20)) == "گزارش‌های ذخیره‌شده: ۲۰"
    assert _.join(["اعدام", "Women"]) == "اعدام\u200f، Women"  # RLM: the comma stays right


@pytest.mark.parametrize("language", [None, "en", "ps", "de-AT"])
def test_other_translators_write_what_the_bot_always_wrote(language: str | None) -> None:
    _ = texts.tr(language)
    assert _.language == "en"
    assert _.number(12345) == "12345"
    assert _.date(WHEN) == "2026-11-30"
    assert _(texts.STATS_POSTS).format(n=_.number(20)) == "Posts stored: 20"
    assert _.join(["Executions", "Women"]) == "Executions, Women"


def test_without_its_catalog_persian_numbers_and_dates_stay_english() -> None:
    # Persian dates inside English sentences would be neither language.
    _ = texts.tr("fa", LOCALES)  # tests/data/locale has no Persian catalog
    assert _(texts.BUTTON_CANCEL) == "Cancel"
    assert (_.language, _.number(7), _.date(WHEN)) == ("en", "7", "2026-11-30")
    assert texts.tr("qaa", LOCALES).language == "qaa"


def test_a_translator_is_still_a_gettext_function() -> None:
    gettext: Callable[[str], str] = texts.tr("fa")
    assert gettext(texts.BUTTON_CANCEL) == "انصراف"
    assert list(map(texts.tr("en"), [texts.BUTTON_CANCEL])) == ["Cancel"]
