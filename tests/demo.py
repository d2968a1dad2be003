"""See the bot work without a token: ``make demo`` (or ``python -m tests.demo`` in a clone).

The demo starts the test fakes on 127.0.0.1: the two editions of the site, each a WordPress
with its fixture reports (``tests/fakes/wordpress.py``: the English one, then the Persian one
on its own port), and a Telegram Bot API server (``tests/fakes/telegram.py``). Then it runs the
real bot, ``python -m bot run``, against them with a database in a temporary folder, plays a
short conversation as an English-speaking user, then another as a user whose Telegram app is
in Persian, and prints them as a chat transcript. No token, no network and no ``.env`` are
needed; everything is stopped and removed at the end.

Each step waits for what it needs to see (a reply, an alert) for at most ``STEP_TIMEOUT``
seconds. When one does not happen, the demo prints the bot's output and one line saying which
step failed, and exits with 1. CI runs it through ``tests/test_demo.py``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields
from pathlib import Path
from typing import IO

from bot.config import Settings
from bot.site.editions import site_key
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.fakes.wordpress import FakeWordPress

REPO = Path(__file__).resolve().parent.parent
# The fake Bot API accepts only this token. It is not a real one, and the bot must never
# print it: tests/test_demo.py checks that the part after the colon is nowhere in the output.
DEMO_TOKEN = "5550001:demo-secret-never-printed"
USER_ID = 424242  # the English-speaking user
FA_USER_ID = 434343  # the user whose Telegram app is in Persian
FA_LANGUAGE_CODE = "fa-IR"
STEP_TIMEOUT = 20.0
WIDTH = 88
INDENT = " " * len("bot: ")

NEW_REPORT_TITLE = "Two Prisoners Executed in Ghezel Hesar Prison at Dawn"
WATCHED_NAME = "Narges Mohammadi"
WATCHED_REPORT_TITLE = "Nobel Laureate Denied Medical Care"
WATCHED_REPORT_TEXT = (
    "<p>Narges Mohammadi was again refused transfer to a hospital, her family said on Monday.</p>"
)
NEW_REPORT_TEXT = (
    "<p>Two prisoners convicted of drug-related offences were executed at dawn on Tuesday in "
    "Ghezel Hesar Prison in Karaj, according to informed sources. Their families were allowed "
    "a last visit the day before but were not told the date of the execution.</p>"
)

# The Persian edition's report, in its category اعدام (Executions), and the search after it.
FA_CATEGORY = "اعدام"
FA_REPORT_TITLE = "اعدام دو زندانی در زندان قزل‌حصار کرج در سحرگاه سه‌شنبه"
FA_REPORT_TEXT = (
    "<p>به گزارش منابع مطلع، دو زندانی که به اتهام‌های مرتبط با مواد مخدر به اعدام محکوم شده "
    "بودند، سحرگاه روز سه‌شنبه در زندان قزل‌حصار کرج اعدام شدند. خانواده‌های این دو زندانی "
    "یک روز پیش از اجرای حکم برای آخرین ملاقات به زندان فراخوانده شده بودند، اما از زمان "
    "اجرای حکم مطلع نشدند.</p>"
)
FA_SEARCH = "قزل‌حصار"

BOT_COMMAND = (sys.executable, "-m", "bot", "run")


class StepFailed(Exception):
    """A step of the script did not happen; the message says which."""


def bot_environment(
    tg: FakeTelegram, wp: FakeWordPress, wp_fa: FakeWordPress, database: Path
) -> dict[str, str]:
    """The environment of the bot: the fakes, a fresh database, a poll every second."""
    # Settings the user may have exported for their own bot must not reach the demo's.
    ours = {f.name.upper() for f in fields(Settings)}
    env = {k: v for k, v in os.environ.items() if k not in ours}
    env.update(
        TELEGRAM_BOT_TOKEN=DEMO_TOKEN,
        TELEGRAM_API_URL=tg.url,
        SITE_URL=wp.url,
        SITE_URL_FA=wp_fa.url,
        DATABASE_PATH=str(database),
        POLL_INTERVAL="1",
        LOG_LEVEL="INFO",
        # This clone's code, even where another copy of hrm-bot is installed.
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p),
        PYTHONUNBUFFERED="1",
    )
    return env


def query(database: Path, sql: str, *args: object) -> list[tuple[object, ...]] | None:
    """The rows of ``sql`` in the bot's database; None while it has no file or tables yet."""
    # Read-only: the demo must never create the database before the bot does.
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            return db.execute(sql, args).fetchall()
    except sqlite3.OperationalError:  # no file or no tables yet
        return None


def has_polled(database: Path, site: str) -> bool:
    """Whether the bot has recorded a successful poll of ``site`` (host:port) in its database."""
    sql = "SELECT 1 FROM site_state WHERE site = ? AND key = 'last_success'"
    return bool(query(database, sql, site))


def all_alerts_sent(database: Path) -> bool:
    """Whether the bot's outbox has no alert left to send (Telegram took every one)."""
    return query(database, "SELECT 1 FROM outbox WHERE status = 'pending' LIMIT 1") == []


def show(message: SentMessage) -> str:
    """A bot message as the user reads it: its text, then its buttons, one row a line."""
    paragraphs = message.text.split("\n")
    lines = [wrap(paragraphs[0], "bot: ")]
    lines += [wrap(paragraph, INDENT) if paragraph else "" for paragraph in paragraphs[1:]]
    for row in (message.reply_markup or {}).get("inline_keyboard", []):
        lines.append(INDENT + " ".join(f"[ {button['text']} ]" for button in row))
    return "\n".join(lines)


def wrap(text: str, first: str, rest: str = INDENT) -> str:
    # Names such as "sub-categories" stay whole.
    return textwrap.fill(
        text, WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    )


class Chat:
    """One user talking to the bot through the fake Bot API, printed as it goes."""

    def __init__(
        self, tg: FakeTelegram, bot: subprocess.Popen[bytes], out: IO[str], user_id: int
    ) -> None:
        self.tg = tg
        self.bot = bot
        self.out = out
        self.user_id = user_id  # a private chat: the chat's id is the user's
        self.shown = 0  # bot messages already printed

    def wait(self, what: str, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT
        while not condition():
            code = self.bot.poll()
            if code is not None:
                raise StepFailed(f"the bot exited with code {code} before {what}")
            if time.monotonic() > deadline:
                raise StepFailed(f"{what} did not happen within {STEP_TIMEOUT:g} s")
            time.sleep(0.02)

    def messages(self) -> list[SentMessage]:
        return self.tg.sent(self.user_id)

    def say(self, text: str) -> None:
        """The user sends ``text``; the bot's answer is printed once it has arrived."""
        self.print(f"you: {text}")
        before = len(self.messages())
        self.tg.send_text(self.user_id, text)
        self.wait(f"the bot's answer to {text}", lambda: len(self.messages()) > before)
        self.print_new_messages()

    def note(self, text: str) -> None:
        self.print(wrap(text, "-- ", "   "))

    def print_new_messages(self) -> None:
        messages = self.messages()
        for message in messages[self.shown :]:
            self.print(show(message))
        self.shown = len(messages)

    def print(self, text: str) -> None:
        print(f"{text}\n", file=self.out, flush=True)


def play(
    chat: Chat, fa_chat: Chat, wp: FakeWordPress, wp_fa: FakeWordPress, database: Path
) -> None:
    """The script: both editions' first polls, the English chat, then the Persian one."""
    chat.note(
        f"The bot is starting; it reads the {len(wp.posts)} reports already on the English "
        f"site and the {len(wp_fa.posts)} on the Persian one."
    )
    # Its first poll of an edition takes what is there as known: only reports published after
    # it are news, so the new reports below must wait for both polls to be recorded.
    for edition, site in (("English", wp), ("Persian", wp_fa)):
        key = site_key(site.url)  # host:port, as the bot keys its state
        polled = functools.partial(has_polled, database, key)
        chat.wait(f"the bot's first poll of the {edition} edition", polled)
    play_english(chat, wp)
    play_persian(fa_chat, wp_fa)
    check_no_persian_alert_for(chat, database)


def check_no_persian_alert_for(chat: Chat, database: Path) -> None:
    """The English-speaking user got nothing after their part, the Persian alert least of all.

    They follow the English edition's Executions only. Once the outbox has no pending row,
    every alert the bot queued has reached the fake Bot API (it records a message before the
    bot marks its row sent), so an alert queued for them would be among their messages.
    """
    chat.wait("the sending of every queued alert", lambda: all_alerts_sent(database))
    if any(FA_REPORT_TITLE in m.text for m in chat.messages()):
        chat.print_new_messages()
        raise StepFailed("the Persian report's alert reached the English-speaking user too")
    if len(chat.messages()) > chat.shown:
        chat.print_new_messages()
        raise StepFailed("the English-speaking user got a message after their part of the chat")
    chat.note(
        "The first user got no alert for the Persian report: they follow English Executions."
    )


def play_english(chat: Chat, wp: FakeWordPress) -> None:
    """Subscribe, see a new report arrive, watch a name, search the archive."""
    chat.say("/start")
    chat.say("/subscribe executions")

    chat.note(f"The site publishes a new report in Executions: “{NEW_REPORT_TITLE}”.")
    wp.add_post(
        title=NEW_REPORT_TITLE,
        content=NEW_REPORT_TEXT,
        categories=[wp.category_id("executions")],
    )
    chat.wait(
        "the alert for the new report",
        lambda: any(NEW_REPORT_TITLE in m.text for m in chat.messages()),
    )
    chat.print_new_messages()

    chat.say(f"/watch {WATCHED_NAME}")
    chat.note(
        "The site publishes a report in Arrests, a category this chat does not follow, that "
        "names her."
    )
    wp.add_post(
        title=WATCHED_REPORT_TITLE,
        content=WATCHED_REPORT_TEXT,
        categories=[wp.category_id("arrests")],
    )
    chat.wait(
        "the alert for the report that names a watched person",
        lambda: any(WATCHED_REPORT_TITLE in m.text for m in chat.messages()),
    )
    chat.print_new_messages()

    chat.say("/search Evin")


def play_persian(chat: Chat, wp_fa: FakeWordPress) -> None:
    """The same in Persian, on the Persian edition, as a user whose app is in Persian."""
    chat.note(f"Now a second user, whose Telegram app is in Persian ({FA_LANGUAGE_CODE}):")
    chat.say("/start")
    chat.say(f"/subscribe {FA_CATEGORY}")

    chat.note(f"The Persian edition publishes a new report in {FA_CATEGORY} (Executions).")
    wp_fa.add_post_in(FA_CATEGORY, title=FA_REPORT_TITLE, content=FA_REPORT_TEXT)
    chat.wait(
        "the alert for the new Persian report",
        lambda: any(FA_REPORT_TITLE in m.text for m in chat.messages()),
    )
    chat.print_new_messages()

    chat.say(f"/search {FA_SEARCH}")


def stop(bot: subprocess.Popen[bytes]) -> int:
    """SIGTERM, as a service manager would send; a bot that hangs is killed."""
    if bot.poll() is None:
        bot.send_signal(signal.SIGTERM)
        try:
            bot.wait(timeout=STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            bot.kill()
            bot.wait()
    return bot.returncode


@contextlib.contextmanager
def running_bot(
    command: Sequence[str], env: dict[str, str], folder: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """The bot as a process in ``folder`` (so no .env is read), its output in a file there."""
    log = folder / "bot-output.txt"
    with log.open("wb") as output:
        bot = subprocess.Popen(
            command, cwd=folder, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            yield bot, log
        finally:
            stop(bot)


def run(
    command: Sequence[str] = BOT_COMMAND, out: IO[str] = sys.stdout, err: IO[str] = sys.stderr
) -> int:
    """The whole demo; the exit code: 0 when every step happened, else 1."""
    with (
        tempfile.TemporaryDirectory(prefix="hrm-bot-demo-") as tmp,
        FakeWordPress.from_fixtures() as wp,
        FakeWordPress.persian() as wp_fa,
        FakeTelegram(token=DEMO_TOKEN) as tg,
    ):
        folder = Path(tmp)
        database = folder / "hrm-bot.sqlite3"
        tg.private(USER_ID, first_name="Demo")
        tg.private(FA_USER_ID, language_code=FA_LANGUAGE_CODE, first_name="Demo")
        env = bot_environment(tg, wp, wp_fa, database)
        with running_bot(command, env, folder) as (bot, log):
            try:
                chats = Chat(tg, bot, out, USER_ID), Chat(tg, bot, out, FA_USER_ID)
                play(*chats, wp, wp_fa, database)
                failure = ""
            except StepFailed as exc:
                failure = str(exc)
            code = stop(bot)
        if not failure and code != 0:
            failure = f"the bot exited with code {code} on SIGTERM instead of 0"
        if not failure and (wp.errors or wp_fa.errors or tg.internal_errors):
            failure = "a fake server had an internal error; its traceback is above"
        if not failure:
            print("-- The bot has stopped. That was the whole demo.", file=out, flush=True)
            return 0
        print("---- the bot's output ----", file=err)
        print(log.read_text("utf-8", errors="replace").rstrip(), file=err)
        print("---- end of the bot's output ----", file=err)
        for edition, site in (("English", wp), ("Persian", wp_fa)):
            for trace in site.errors:  # the fake Bot API prints its own
                print(f"fake WordPress site ({edition}): internal error:\n{trace}", file=err)
        print(f"demo failed: {failure}", file=err, flush=True)
        return 1


if __name__ == "__main__":
    try:
        sys.exit(run())
    except KeyboardInterrupt:  # Ctrl-C: everything is stopped and removed already
        sys.exit(130)
