"""`hrm-bot run` as a real process: run_polling, signals, the lock, restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.botharness import outbox_counts_in, polled_in, wait_until_sync
from tests.conftest import site_key
from tests.fakes.telegram import FakeTelegram
from tests.fakes.wordpress import FakeWordPress

USERS = (701, 702, 703)


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        for user in USERS:
            fake.private(user)
        yield fake


def env_for(tg: FakeTelegram, wp: FakeWordPress, db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SITE_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=tg.token,
        TELEGRAM_API_URL=tg.url,
        SITE_URL=wp.url,
        SITE_URL_FA="",
        DATABASE_PATH=str(db),
        POLL_INTERVAL="1",
        SEND_RETRY_BASE="0.2",
        LOG_LEVEL="INFO",
        PRIVATE_CHAT_INTERVAL="0",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def start(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def alerts(tg: FakeTelegram, chat: int) -> list[str]:
    return [m.text.split("\n", 1)[0] for m in tg.sent(chat) if "Read the full report" in m.text]


def subscribe_all(tg: FakeTelegram) -> None:
    before = {u: len(tg.sent(u)) for u in USERS}
    for user in USERS:
        tg.send_text(user, "/subscribe all")
    tg.wait_for_sync(lambda: all(len(tg.sent(u)) > before[u] for u in USERS), timeout=15)


def wait_first_poll(proc: subprocess.Popen[str], db: Path, wp: FakeWordPress) -> None:
    """Until the bot has stored the first poll's result: a post added from now on is new.

    Fails at once if the process ends first, and with what it printed either way.
    """
    try:
        wait_until_sync(
            lambda: proc.poll() is not None or polled_in(db, site_key(wp.url)),
            timeout=15,
            what="the first poll",
        )
        assert proc.poll() is None, f"hrm-bot run exited with {proc.returncode}"
    except AssertionError as exc:
        proc.kill()
        out, _ = proc.communicate(timeout=10)
        raise AssertionError(f"{exc}; it printed:\n{out}") from None


def wait_outbox(db: Path, expected: dict[str, int], timeout: float = 15.0) -> None:
    wait_until_sync(
        lambda: outbox_counts_in(db),
        lambda got: got == expected,
        timeout=timeout,
        what=f"outbox {expected}",
    )


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str, float]:
    started = time.monotonic()
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=20)
    return proc.returncode, out, time.monotonic() - started


def test_sigterm_exits_zero_quickly_and_nothing_pending_is_lost(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress
) -> None:
    db = tmp_path / "db.sqlite3"
    env = env_for(tg, wp, db)
    proc = start(env, tmp_path)
    try:
        wait_first_poll(proc, db, wp)
        subscribe_all(tg)
        # Telegram keeps one chat waiting; its alert is still pending at SIGTERM.
        tg.fail("sendMessage", chat_id=USERS[0], error="429", retry_after=3)
        wp.add_post(title="Before the restart")
        tg.wait_for_sync(lambda: all(alerts(tg, u) for u in USERS[1:]), timeout=15)
        code, out, took = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, out
    assert took < 10
    assert "Traceback" not in out
    assert alerts(tg, USERS[0]) == []
    tg.clear_faults()
    proc = start(env, tmp_path)
    try:
        tg.wait_for_sync(lambda: alerts(tg, USERS[0]) == ["Before the restart"], timeout=15)
        # Every row is recorded sent: nothing is left that this run could send again.
        wait_outbox(db, {"sent": 3})
        code, out, _ = stop(proc, signal.SIGINT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, out
    for user in USERS:
        assert alerts(tg, user) == ["Before the restart"]


def test_kill_9_then_restart_delivers_each_alert_once(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress
) -> None:
    db = tmp_path / "db.sqlite3"
    env = env_for(tg, wp, db)
    proc = start(env, tmp_path)
    try:
        wait_first_poll(proc, db, wp)
        subscribe_all(tg)
        # Every alert waits: one chat under flood control, the others' sends fail for now.
        tg.fail("sendMessage", error="429", retry_after=3)
        wp.add_posts(4)
        tg.wait_for_sync(lambda: tg.count("sendMessage", ok=False) >= 3, timeout=15)
    finally:
        proc.kill()  # SIGKILL: no clean-up at all
        proc.communicate(timeout=10)
    assert all(alerts(tg, u) == [] for u in USERS)
    tg.clear_faults()
    proc = start(env, tmp_path)  # the lock died with the process: no refusal
    try:
        tg.wait_for_sync(lambda: all(len(alerts(tg, u)) >= 4 for u in USERS), timeout=20)
        # Every row is recorded sent: nothing is left that this run could send again.
        wait_outbox(db, {"sent": 12})
    finally:
        code, out, _ = stop(proc)
    assert code == 0, out
    for user in USERS:
        assert sorted(alerts(tg, user)) == sorted(set(alerts(tg, user)))
        assert len(alerts(tg, user)) == 4


def test_second_instance_refuses(tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress) -> None:
    db = tmp_path / "db.sqlite3"
    env = env_for(tg, wp, db)
    proc = start(env, tmp_path)
    try:
        wait_first_poll(proc, db, wp)
        second = subprocess.run(
            [sys.executable, "-m", "bot", "run"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        stop(proc)
    assert second.returncode == 1
    assert "another hrm-bot is already running" in second.stderr
    assert "Traceback" not in second.stderr


def test_missing_token_says_where_to_get_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "@BotFather" in proc.stderr and ".env" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_logs_hold_no_message_text_or_token(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress
) -> None:
    db = tmp_path / "db.sqlite3"
    env = env_for(tg, wp, db, LOG_LEVEL="DEBUG")
    proc = start(env, tmp_path)
    try:
        wait_first_poll(proc, db, wp)
        tg.send_text(USERS[0], "/subscribe secret-words-here")
        tg.wait_for_sync(lambda: bool(tg.sent(USERS[0])), timeout=15)
    finally:
        _, out, _ = stop(proc)
    assert "secret-words-here" not in out
    assert tg.token not in out
    assert "DEBUG" in out  # our own debug lines are there, the library's payloads are not
