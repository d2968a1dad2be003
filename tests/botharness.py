"""Runs the real Application in-process against the loopback Bot API and WordPress fakes."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from bot.app import build_application
from bot.config import Settings
from bot.context import BotApplication, BotContext
from bot.services import Services
from storage import Stats, Store
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.fakes.wordpress import FakeWordPress

os.environ.setdefault("PTB_TIMEDELTA", "true")

ADMIN = 1001

T = TypeVar("T")

# How long a test watches for something that must NOT happen (a second alert, a hint). It is
# only ever waited after the test has waited for the state that proves the bot did the work
# that would have caused it, so it bounds how late a wrong extra message may come, not how
# slow the bot may be.
QUIET = 0.3


async def wait_until(
    probe: Callable[[], Awaitable[T]],
    check: Callable[[T], bool] = bool,
    *,
    timeout: float = 5.0,
    what: str = "the expected state",
) -> T:
    """Call ``probe`` until ``check`` holds for what it returns, and return that value.

    For state the bot stores (outbox rows, chats, subscriptions): what the fake Bot API saw
    comes before the bot records it, so a test asserts on the store only after waiting for
    the store itself. On a time-out the error shows the last value seen.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if check(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout} s; last seen: {value!r}")
        await asyncio.sleep(0.01)


def wait_until_sync(
    probe: Callable[[], T],
    check: Callable[[T], bool] = bool,
    *,
    timeout: float = 5.0,
    what: str = "the expected state",
) -> T:
    """wait_until for tests that drive the bot as a separate process."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if check(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout} s; last seen: {value!r}")
        time.sleep(0.02)


def read_db(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]] | None:
    """Rows of a read-only query on the database of a bot running as another process; None
    while the file or its schema does not exist yet. Sees committed transactions only."""
    try:
        conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.OperationalError:
        return None
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()


def outbox_counts_in(db: Path) -> dict[str, int] | None:
    """Outbox rows by status, read from the database file of a running bot process."""
    rows = read_db(db, "SELECT status, count(*) FROM outbox GROUP BY status")
    return None if rows is None else dict(rows)


def polled_in(db: Path, site: str) -> bool:
    """Whether a bot process has recorded a finished poll of ``site``."""
    rows = read_db(db, "SELECT 1 FROM site_state WHERE site = ? AND key = 'last_poll'", site)
    return bool(rows)


def fast_settings(tg: FakeTelegram, wp: FakeWordPress, db: Path, **kw: Any) -> Settings:
    """Settings for a fast test run: short timeouts and retries, a quick pace."""
    base = Settings(
        telegram_bot_token=tg.token,
        telegram_api_url=tg.url,
        site_url=wp.url,
        site_url_fa="",  # English only unless a test gives a Persian fake
        database_path=db,
        poll_interval=3600.0,  # tests poll on demand through Running.poll()
        admin_ids=frozenset({ADMIN}),
        fetch_timeout=2.0,
        send_rate=200.0,
        private_chat_interval=0.0,
        send_retry_base=0.1,
        send_retry_max=0.5,
        send_max_attempts=3,
    )
    return replace(base, **kw)


@dataclass
class Running:
    app: BotApplication
    tg: FakeTelegram
    wp: FakeWordPress

    @property
    def services(self) -> Services:
        services = self.app.bot_data[BotContext.SERVICES]
        assert isinstance(services, Services)
        return services

    @property
    def store(self) -> Store:
        return self.services.store

    async def poll(self, edition: str = "en") -> None:
        one = self.services.edition(edition)
        assert one is not None, f"edition {edition} is not followed"
        result = await one.poller.poll()
        assert result.ok, result.errors
        if result.enqueued:
            self.services.sender.wake()

    async def command(self, chat_id: int, text: str, *, user_id: int | None = None) -> SentMessage:
        """Send ``text`` and wait for the bot's next message in that chat."""
        before = len(self.tg.sent(chat_id))
        self.tg.send_text(chat_id, text, user_id=user_id)
        await self.tg.wait_for(lambda: len(self.tg.sent(chat_id)) > before)
        return self.tg.sent(chat_id)[before]

    async def press(self, chat_id: int, message_id: int, data: str, **kw: Any) -> Any:
        """Press a button and wait until the bot answered the callback query."""
        qid = self.tg.press(chat_id, message_id, data, **kw)
        await self.tg.wait_for(
            lambda: any(a.params.get("callback_query_id") == qid for a in self.tg.answers())
        )
        return next(a for a in self.tg.answers() if a.params.get("callback_query_id") == qid)

    async def settle(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait for something the fake Bot API saw (not for what the bot stored)."""
        await self.tg.wait_for(condition, timeout=timeout)

    async def outbox(self) -> dict[str, int]:
        """Outbox rows by status, as committed (never another task's open transaction)."""
        sql = "SELECT status, count(*) FROM outbox GROUP BY status"
        async with self.store.writer.reading() as db, db.execute(sql) as cur:
            return {str(status): int(n) for status, n in await cur.fetchall()}

    async def wait_outbox(self, expected: dict[str, int], timeout: float = 5.0) -> None:
        """Wait until the outbox rows by status are exactly ``expected``."""
        await wait_until(
            self.outbox, lambda got: got == expected, timeout=timeout, what=f"outbox {expected}"
        )

    async def stats(self) -> Stats:
        """The /stats figures, as committed."""
        async with self.store.writer.reading():
            return await self.store.stats(self.services.followed["en"].site)

    async def wait_stats(
        self, check: Callable[[Stats], bool], timeout: float = 5.0, what: str = "the stats"
    ) -> Stats:
        """Wait until ``check`` holds for the /stats figures; returns them."""
        return await wait_until(self.stats, check, timeout=timeout, what=what)


@asynccontextmanager
async def running_bot(
    settings: Settings, tg: FakeTelegram, wp: FakeWordPress
) -> AsyncIterator[Running]:
    """The Application as run_polling runs it, with post_init/post_stop/post_shutdown."""
    app = build_application(settings)
    await app.initialize()
    assert app.post_init is not None and app.post_stop is not None
    await app.post_init(app)
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(
        poll_interval=0.0,
        timeout=1,
        allowed_updates=[
            "message",
            "channel_post",
            "callback_query",
            "inline_query",
            "my_chat_member",
        ],
    )
    try:
        yield Running(app, tg, wp)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.post_stop(app)
        await app.shutdown()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)


@asynccontextmanager
async def polled_bot(
    settings: Settings, tg: FakeTelegram, wp: FakeWordPress
) -> AsyncIterator[Running]:
    """running_bot, once its first poll of the site (SITE_URL's edition) has ended."""
    async with running_bot(settings, tg, wp) as running:
        await first_poll_done(running.store, settings.site)
        yield running


async def first_poll_done(store: Store, site: str, timeout: float = 10.0) -> None:
    async def last_poll() -> object:
        async with store.writer.reading():
            return (await store.get_state(site)).get("last_poll")

    await wait_until(last_poll, timeout=timeout, what="the end of the first poll")
