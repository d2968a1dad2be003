"""Runs the real Application in-process against the loopback Bot API and WordPress fakes."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.app import build_application
from bot.config import Settings
from bot.context import BotApplication, BotContext
from bot.services import Services
from storage import Store
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.fakes.wordpress import FakeWordPress

os.environ.setdefault("PTB_TIMEDELTA", "true")

ADMIN = 1001


def fast_settings(tg: FakeTelegram, wp: FakeWordPress, db: Path, **kw: Any) -> Settings:
    """Settings for a fast test run: short timeouts and retries, a quick pace."""
    base = Settings(
        telegram_bot_token=tg.token,
        telegram_api_url=tg.url,
        site_url=wp.url,
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

    async def poll(self) -> None:
        result = await self.services.poller.poll()
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
        await self.tg.wait_for(condition, timeout=timeout)


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
        allowed_updates=["message", "callback_query", "inline_query", "my_chat_member"],
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


async def first_poll_done(store: Store, site: str) -> None:
    for _ in range(500):
        if (await store.get_state(site)).get("last_poll"):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the first poll did not finish")
