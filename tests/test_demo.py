"""`make demo`, the smoke test of the whole bot: the real bot against the fakes, as a chat."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.i18n import texts
from bot.i18n.calendar import format_date
from tests import demo
from tests.fakes.telegram import FakeTelegram

REPO = Path(__file__).resolve().parent.parent


def test_demo_shows_the_whole_conversation_and_exits_zero() -> None:
    # The Persian alert is dated the day it is published, in Tehran: one of these two.
    days = {format_date(datetime.now(UTC), "fa")}
    # As `make demo` runs it: the venv's python, from the clone's root.
    proc = subprocess.run(
        [sys.executable, "-m", "tests.demo"],
        cwd=REPO,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )
    days.add(format_date(datetime.now(UTC), "fa"))
    printed = proc.stdout + proc.stderr
    assert proc.returncode == 0, printed
    assert "Traceback" not in printed
    assert demo.DEMO_TOKEN.split(":", 1)[1] not in printed
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()

    def line_from(start: int, text: str) -> int:
        """The index of the first line from ``start`` on that starts with ``text``."""
        found = [i for i in range(start, len(lines)) if lines[i].startswith(text)]
        assert found, f"no line starting with {text!r} after line {start}:\n{proc.stdout}"
        return found[0]

    start = line_from(0, "you: /start")
    subscribe = line_from(start, "you: /subscribe executions")
    assert lines[start + 2].startswith("bot: This bot brings you the reports")
    assert start < line_from(start, "     [ All reports ]") < subscribe
    assert lines[subscribe + 2] == "bot: Now following: Executions."
    alert = line_from(subscribe, f"bot: {demo.NEW_REPORT_TITLE}")
    watch = line_from(alert, f"you: /watch {demo.WATCHED_NAME}")
    assert lines[alert + 1].endswith(" · #Executions")
    assert alert < line_from(alert, "     Read the full report") < watch
    # A report in a category the chat does not follow, brought by the watched name.
    watched = line_from(watch, f"bot: {demo.WATCHED_REPORT_TITLE}")
    assert lines[watched + 1].endswith(" · #Arrests")
    assert lines[watched + 2] == f"     👁 Watched: “{demo.WATCHED_NAME}”"
    search = line_from(watched, "you: /search Evin")
    assert lines[search + 2] == "bot: Reports 1–1 for: Evin"
    persian = line_from(search, "-- Now a second user, whose Telegram app is in Persian (fa-IR)")
    answer = " ".join(line.strip() for line in lines[search + 2 : persian])
    assert "Judiciary Denies Medical Furlough to Ailing Political Prisoner in Evin" in answer

    # The second user's app is in Persian: the bot answers in Persian, from its catalog, and
    # its picker opens on the Persian edition, with a button to the English one.
    fa = texts.tr("fa")
    fa_start = line_from(persian, "you: /start")
    fa_subscribe = line_from(fa_start, f"you: /subscribe {demo.FA_CATEGORY}")
    first_words = " ".join(fa(texts.START).split()[:4])
    assert first_words.startswith("این ربات")  # the catalog's text, not the English one
    assert lines[fa_start + 2].startswith(f"bot: {first_words} ")
    edition = line_from(fa_start, f"     {fa(texts.EDITION_FA)}")
    other = fa(texts.BUTTON_EDITION).format(edition=fa(texts.EDITION_EN))
    assert edition < line_from(edition, f"     [ {fa(texts.BUTTON_ALL)} ]") < fa_subscribe
    assert edition < line_from(edition, f"     [ {other} ]") < fa_subscribe
    subscribed = fa(texts.SUBSCRIBED).format(names=demo.FA_CATEGORY)
    assert subscribed.startswith("از این پس")
    assert lines[fa_subscribe + 2] == f"bot: {subscribed}"

    # Its alert: every line right to left (RLM), a Solar Hijri date and a Persian hashtag.
    fa_alert = line_from(fa_subscribe, f"bot: \u200f{demo.FA_REPORT_TITLE}")
    fa_search = line_from(fa_alert, f"you: /search {demo.FA_SEARCH}")
    day, hashtag = lines[fa_alert + 1].removeprefix("     \u200f").split(" · ")
    assert day in days and hashtag == f"#{demo.FA_CATEGORY}"
    assert fa_alert < line_from(fa_alert, f"     \u200f{fa(texts.READ_MORE)}") < fa_search
    # The search finds it, with the fixture reports about the same prison.
    results = fa(texts.SEARCH_RESULTS).format(
        first=fa.number(1), last=fa.number(5), query=demo.FA_SEARCH
    )
    assert lines[fa_search + 2] == f"bot: {results}"
    nothing = line_from(fa_search, "-- The first user got no alert for the Persian report")
    assert f"     {demo.FA_REPORT_TITLE}" in lines[fa_search + 2 : nothing]

    # The English-speaking user follows the English edition only. The demo waits until the
    # bot has sent every queued alert, then checks their messages for the Persian one (see
    # check_no_persian_alert_for): nothing from it reached them, and the transcript shows
    # the Persian title twice only, in the alert and in the search answer.
    assert proc.stdout.count(demo.FA_REPORT_TITLE) == 2
    assert lines[nothing + 1 :] == ["", "-- The bot has stopped. That was the whole demo."]


def test_a_bot_that_dies_is_one_clear_line_after_its_output() -> None:
    out, err = io.StringIO(), io.StringIO()
    crash = "import sys; print('the bot cannot start'); sys.exit(3)"
    assert demo.run([sys.executable, "-c", crash], out=out, err=err) == 1
    assert "the bot cannot start" in err.getvalue()
    last = err.getvalue().splitlines()[-1]
    died = "the bot exited with code 3 before the bot's first poll of the English edition"
    assert last == f"demo failed: {died}"


def test_a_bot_that_never_answers_is_stopped_and_its_folder_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "STEP_TIMEOUT", 0.5)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    out, err = io.StringIO(), io.StringIO()
    silent = "import os, time; print('pid', os.getpid(), flush=True); time.sleep(60)"
    assert demo.run([sys.executable, "-c", silent], out=out, err=err) == 1
    last = err.getvalue().splitlines()[-1]
    assert last == (
        "demo failed: the bot's first poll of the English edition did not happen within 0.5 s"
    )
    pid = int(err.getvalue().split("pid ", 1)[1].split()[0])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def english_chat() -> Iterator[demo.Chat]:
    """The English-speaking user's chat as the demo plays it, with a stand-in for the bot."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with FakeTelegram(token=demo.DEMO_TOKEN) as tg:
            tg.private(demo.USER_ID, first_name="Demo", known=True)  # it has started the bot
            yield demo.Chat(tg, sleeper, io.StringIO(), demo.USER_ID)
    finally:
        sleeper.kill()
        sleeper.wait()


def outbox(tmp_path: Path, *statuses: str) -> Path:
    database = tmp_path / "hrm-bot.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE outbox (status TEXT NOT NULL)")
        db.executemany("INSERT INTO outbox VALUES (?)", [(s,) for s in statuses])
    return database


def send_as_the_bot(tg: FakeTelegram, chat_id: int, text: str) -> None:
    response = httpx.post(
        f"{tg.base_url}{tg.token}/sendMessage", data={"chat_id": chat_id, "text": text}
    )
    assert response.json()["ok"], response.text


def test_the_persian_alert_reaching_the_english_user_fails_the_demo(
    english_chat: demo.Chat, tmp_path: Path
) -> None:
    database = outbox(tmp_path, "sent", "sent")
    demo.check_no_persian_alert_for(english_chat, database)  # nothing came: it passes
    assert "got no alert for the Persian report" in english_chat.out.getvalue()

    send_as_the_bot(english_chat.tg, demo.USER_ID, f"\u200f{demo.FA_REPORT_TITLE}")
    with pytest.raises(demo.StepFailed, match="Persian report's alert reached the English"):
        demo.check_no_persian_alert_for(english_chat, database)
    assert demo.FA_REPORT_TITLE in english_chat.out.getvalue()  # shown, for whoever reads it


def test_the_english_user_is_checked_only_once_every_alert_is_sent(
    english_chat: demo.Chat, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "STEP_TIMEOUT", 0.3)
    database = outbox(tmp_path, "sent", "pending")
    with pytest.raises(demo.StepFailed, match="sending of every queued alert did not happen"):
        demo.check_no_persian_alert_for(english_chat, database)
