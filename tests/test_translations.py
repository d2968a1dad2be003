"""Translations: .po files read as they are, English whenever a catalog is missing or broken."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot import texts
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
    assert texts.LOCALE_DIR == ROOT / "bot" / "locale"
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
    with caplog.at_level(logging.WARNING, logger="bot.texts"):
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
    with caplog.at_level(logging.WARNING, logger="bot.texts"):
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

QAA_USER, EN_USER = 701, 702


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    fake.start()
    fake.private(QAA_USER, language_code="qaa")
    fake.private(EN_USER, language_code="en")
    try:
        yield fake
    finally:
        fake.stop()
        assert not fake.internal_errors, fake.internal_errors


async def test_the_bot_answers_in_the_users_language(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(texts, "LOCALE_DIR", LOCALES)
    async with running_bot(fast_settings(tg, wp, tmp_path / "db.sqlite3"), tg, wp) as bot:
        await first_poll_done(bot.store, site_key(wp.url))
        assert (await bot.command(QAA_USER, "/mysubs")).text == QAA_MYSUBS_NONE
        m = await bot.command(QAA_USER, "/subscribe executions")
        assert m.text == "[qaa] Executions: followed from now on."
        assert (await bot.command(EN_USER, "/mysubs")).text == texts.MYSUBS_NONE


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
    pot = ROOT / "bot" / "locale" / "hrm-bot.pot"
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
    shutil.copytree(LOCALES / "qaa", src / "bot" / "locale" / "qaa")
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
    assert "bot/locale/qaa/LC_MESSAGES/hrm-bot.po" in names
    assert "hrm_bot-0.1.0.dist-info/licenses/LICENSE" in names
    assert "License-Expression: AGPL-3.0-or-later" in metadata.splitlines()
