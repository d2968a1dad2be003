"""See the bot work without a token: ``make demo`` (or ``python -m tests.demo`` in a clone).

The demo starts the test fakes on 127.0.0.1: a WordPress site with the 20 fixture reports
(``tests/fakes/wordpress.py``) and a Telegram Bot API server (``tests/fakes/telegram.py``).
Then it runs the real bot, ``python -m bot run``, against them with a database in a temporary
folder, plays a short conversation as one user and prints it as a chat transcript. No token,
no network and no ``.env`` are needed; everything is stopped and removed at the end.

Each step waits for what it needs to see (a reply, an alert) for at most ``STEP_TIMEOUT``
seconds. When one does not happen, the demo prints the bot's output and one line saying which
step failed, and exits with 1. CI runs it through ``tests/test_demo.py``.
"""

from __future__ import annotations

import contextlib
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
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.fakes.wordpress import FakeWordPress

REPO = Path(__file__).resolve().parent.parent
# The fake Bot API accepts only this token. It is not a real one, and the bot must never
# print it: tests/test_demo.py checks that the part after the colon is nowhere in the output.
DEMO_TOKEN = "5550001:demo-secret-never-printed"
USER_ID = 424242
STEP_TIMEOUT = 20.0
WIDTH = 88
INDENT = " " * len("bot: ")

NEW_REPORT_TITLE = "Two Prisoners Executed in Ghezel Hesar Prison at Dawn"
NEW_REPORT_TEXT = (
    "<p>Two prisoners convicted of drug-related offences were executed at dawn on Tuesday in "
    "Ghezel Hesar Prison in Karaj, according to informed sources. Their families were allowed "
    "a last visit the day before but were not told the date of the execution.</p>"
)

BOT_COMMAND = (sys.executable, "-m", "bot", "run")


class StepFailed(Exception):
    """A step of the script did not happen; the message says which."""


def bot_environment(tg: FakeTelegram, wp: FakeWordPress, database: Path) -> dict[str, str]:
    """The environment of the bot: the fakes, a fresh database, a poll every second."""
    # Settings the user may have exported for their own bot must not reach the demo's.
    ours = {f.name.upper() for f in fields(Settings)}
    env = {k: v for k, v in os.environ.items() if k not in ours}
    env.update(
        TELEGRAM_BOT_TOKEN=DEMO_TOKEN,
        TELEGRAM_API_URL=tg.url,
        SITE_URL=wp.url,
        SITE_URL_FA="",
        DATABASE_PATH=str(database),
        POLL_INTERVAL="1",
        LOG_LEVEL="INFO",
        # This clone's code, even where another copy of hrm-bot is installed.
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p),
        PYTHONUNBUFFERED="1",
    )
    return env


def has_polled(database: Path) -> bool:
    """Whether the bot has recorded a successful poll of the site in its database."""
    # Read-only: the demo must never create the database before the bot does.
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT 1 FROM site_state WHERE key = 'last_success'").fetchone()
    except sqlite3.OperationalError:  # no file or no tables yet
        return False
    return row is not None


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

    def __init__(self, tg: FakeTelegram, bot: subprocess.Popen[bytes], out: IO[str]) -> None:
        self.tg = tg
        self.bot = bot
        self.out = out
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
        return self.tg.sent(USER_ID)

    def say(self, text: str) -> None:
        """The user sends ``text``; the bot's answer is printed once it has arrived."""
        self.print(f"you: {text}")
        before = len(self.messages())
        self.tg.send_text(USER_ID, text)
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


def play(chat: Chat, wp: FakeWordPress, database: Path) -> None:
    """The script: subscribe, see a new report arrive, search the archive."""
    chat.note(f"The bot is starting; it reads the {len(wp.posts)} reports already on the site.")
    # Its first poll takes what is on the site as known: only reports published after it
    # are news, so the new report below must wait for that poll to be recorded.
    chat.wait("the bot's first poll of the site", lambda: has_polled(database))
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

    chat.say("/search Evin")


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
        FakeTelegram(token=DEMO_TOKEN) as tg,
    ):
        folder = Path(tmp)
        database = folder / "hrm-bot.sqlite3"
        tg.private(USER_ID, first_name="Demo")
        with running_bot(command, bot_environment(tg, wp, database), folder) as (bot, log):
            try:
                play(Chat(tg, bot, out), wp, database)
                failure = ""
            except StepFailed as exc:
                failure = str(exc)
            code = stop(bot)
        if not failure and code != 0:
            failure = f"the bot exited with code {code} on SIGTERM instead of 0"
        if not failure and (wp.errors or tg.internal_errors):
            failure = "a fake server had an internal error; its traceback is above"
        if not failure:
            print("-- The bot has stopped. That was the whole demo.", file=out, flush=True)
            return 0
        print("---- the bot's output ----", file=err)
        print(log.read_text("utf-8", errors="replace").rstrip(), file=err)
        print("---- end of the bot's output ----", file=err)
        for trace in wp.errors:  # the fake Bot API prints its own
            print(f"fake WordPress site: internal error:\n{trace}", file=err)
        print(f"demo failed: {failure}", file=err, flush=True)
        return 1


if __name__ == "__main__":
    try:
        sys.exit(run())
    except KeyboardInterrupt:  # Ctrl-C: everything is stopped and removed already
        sys.exit(130)
