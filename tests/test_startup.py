"""`hrm-bot run` at start-up: a rejected token, Telegram out of reach, one line and no token."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.telegram import FakeTelegram
from tests.fakes.wordpress import FakeWordPress

USER = 801
SECRET = "TEST-token"  # the part of the fake's token "123456:TEST-token" that must never show


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        fake.private(USER)
        yield fake


def bot_env(api_url: str, wp: FakeWordPress, db: Path, token: str, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "SITE_", "DATABASE_", "LOG_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_API_URL=api_url,
        SITE_URL=wp.url,
        SITE_URL_FA="",
        DATABASE_PATH=str(db),
        PYTHONUNBUFFERED="1",
        # Every level: the token must not show even in debug output.
        LOG_LEVEL="DEBUG",
    )
    env.update(extra)
    return env


class Bot:
    """`python -m bot run` with its output in a file, readable while it runs."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.log = cwd / "bot.log"
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )

    @property
    def output(self) -> str:
        return self.log.read_text()

    def wait_output(self, predicate: object, timeout: float = 20) -> None:
        assert callable(predicate)
        deadline = time.monotonic() + timeout
        while not predicate(self.output):
            assert self.proc.poll() is None, f"the bot exited:\n{self.output}"
            assert time.monotonic() < deadline, f"not seen in time:\n{self.output}"
            time.sleep(0.05)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()

    def finish(self, timeout: float = 30) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("token", "path"),
    [
        ("123456:WRONG-token-" + SECRET, ""),  # 401 Unauthorized
        ("123456:" + SECRET, "/prefix"),  # 404: the API root has a path Telegram does not know
    ],
)
def test_rejected_token_is_one_line_and_never_printed(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress, token: str, path: str
) -> None:
    bot = Bot(bot_env(tg.url + path, wp, tmp_path / "db.sqlite3", token), tmp_path)
    code = bot.finish()
    out = bot.output
    if not path:
        assert tg.count("getMe", ok=False) >= 1  # Telegram was really asked, and said no
    assert code == 2, out
    assert SECRET not in out and token not in out
    assert "Traceback" not in out
    lines = [line for line in out.splitlines() if " DEBUG " not in line]
    assert lines == [
        f"hrm-bot: Telegram rejected the bot token (getMe at {tg.url + path} answered "
        "Unauthorized or Not Found): check TELEGRAM_BOT_TOKEN, as @BotFather gave it, "
        "and TELEGRAM_API_URL"
    ]


def test_api_root_ending_in_bot_is_refused_before_any_request(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress
) -> None:
    token = "123456:" + SECRET
    env = bot_env(tg.url + f"/bot{token}", wp, tmp_path / "db.sqlite3", token)
    bot = Bot(env, tmp_path)
    assert bot.finish() == 2
    assert SECRET not in bot.output
    assert bot.output.count("\n") == 1
    assert bot.output.startswith("hrm-bot: TELEGRAM_API_URL must be the Bot API root only")
    assert tg.calls == []


def test_unreachable_telegram_is_retried_with_backoff_until_sigterm(
    tmp_path: Path, wp: FakeWordPress
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    bot = Bot(bot_env(url, wp, tmp_path / "db.sqlite3", "123456:" + SECRET), tmp_path)
    try:
        bot.wait_output(lambda out: out.count("cannot reach Telegram") >= 2)
    finally:
        code = bot.stop()
    out = bot.output
    assert code == 0, out
    assert "Traceback" not in out and SECRET not in out
    tries = [line for line in out.splitlines() if "cannot reach Telegram" in line]
    assert tries[0].endswith("trying again in 1 s")
    assert tries[1].endswith("trying again in 2 s")
    assert f"WARNING bot.app: cannot reach Telegram at {url} (NetworkError: " in tries[0]


def test_telegram_down_at_start_then_up_the_bot_serves(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress
) -> None:
    tg.fail("getMe", error="502", times=2)
    bot = Bot(bot_env(tg.url, wp, tmp_path / "db.sqlite3", tg.token), tmp_path)
    try:
        bot.wait_output(lambda out: out.count("cannot reach Telegram") >= 2)
        tg.send_text(USER, "/start")
        tg.wait_for_sync(lambda: bool(tg.sent(USER)), timeout=20)
        reply = tg.sent(USER)[0]
    finally:
        code = bot.stop()
    assert code == 0, bot.output
    assert reply.text.startswith("This bot brings you the reports")
    assert "Traceback" not in bot.output and SECRET not in bot.output


def test_log_lines_mask_the_token_even_in_tracebacks(tmp_path: Path) -> None:
    script = (
        "import logging\n"
        "from bot import logs\n"
        "logs.configure('DEBUG', secrets=['123456:TEST-token'])\n"
        "try:\n"
        "    raise ValueError('The token `123456:TEST-token` was rejected')\n"
        "except ValueError:\n"
        "    logging.getLogger('x').exception('GET /bot123456:TEST-token/getMe failed')\n"
        "logging.getLogger('x').warning('the secret part alone: %s', 'TEST-token')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    assert SECRET not in proc.stderr
    assert "GET /bot<token>/getMe failed" in proc.stderr
    assert "ValueError: The token `<token>` was rejected" in proc.stderr
    assert "the secret part alone: <token>" in proc.stderr
