"""The composition root of ``hrm-bot run``: one Application, every handler, the services."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import IO, Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot import render, texts
from bot.config import Settings
from bot.context import BotApplication, BotContext
from bot.errors import HrmBotError
from bot.pacing import PacedLimiter, Pacer
from bot.poller import Poller, backoff_delay
from bot.searching import RateLimit
from bot.sender import Sender, SendPolicy
from bot.services import Services
from bot.site import SiteClient
from handlers import admin, chats, fallback, inline, posts, privacy, search, start, subscriptions
from handlers.errors import on_error
from storage import Post, Store

# PTB 22 warns unless RetryAfter.retry_after is a timedelta; opt in to the new behaviour.
os.environ.setdefault("PTB_TIMEDELTA", "true")

log = logging.getLogger(__name__)


class AlreadyRunning(HrmBotError):
    """Another hrm-bot holds the lock of this database."""


def lock_database(path: Path) -> IO[str]:
    """An exclusive lock beside the database; the OS drops it when the process dies.

    Two bots on one database would send every alert twice, so the second refuses to start.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(f"{path}.lock", "a+")  # noqa: SIM115 - held for the process's lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AlreadyRunning(
            f"another hrm-bot is already running on {path}; stop it first "
            "(two would send every alert twice)"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def register_handlers(app: BotApplication) -> None:
    """Every handler, in one place; within a group the first match wins."""
    only_messages = filters.UpdateType.MESSAGE
    # Group -1 runs first: over-long commands are refused before any command sees them.
    app.add_handler(MessageHandler(filters.COMMAND & only_messages, fallback.too_long), group=-1)
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, chats.migrate))
    app.add_handler(ChatMemberHandler(chats.membership, ChatMemberHandler.MY_CHAT_MEMBER))
    commands = {
        "start": start.start,
        "help": start.help_command,
        "subscribe": subscriptions.subscribe,
        "unsubscribe": subscriptions.unsubscribe,
        "mysubs": subscriptions.mysubs,
        "categories": subscriptions.categories,
        "latest": posts.latest,
        "search": search.search,
        "forget": privacy.forget,
        "stats": admin.stats,
    }
    for name, callback in commands.items():
        app.add_handler(CommandHandler(name, callback, filters=only_messages))
    app.add_handler(CallbackQueryHandler(subscriptions.picker_callback, pattern=r"^sub:"))
    app.add_handler(CallbackQueryHandler(privacy.forget_callback, pattern=r"^forget:"))
    app.add_handler(CallbackQueryHandler(search.page_callback, pattern=r"^s:"))
    app.add_handler(CallbackQueryHandler(fallback.stale_callback))
    app.add_handler(InlineQueryHandler(inline.inline_query))
    # After the known commands: anything else that looks like a command.
    app.add_handler(MessageHandler(filters.COMMAND & only_messages, fallback.unknown_command))
    app.add_handler(
        MessageHandler(
            only_messages & ~filters.COMMAND & ~filters.StatusUpdate.ALL, fallback.not_understood
        )
    )
    app.add_error_handler(on_error)


def build_application(settings: Settings) -> BotApplication:
    if not settings.telegram_bot_token:
        raise HrmBotError("TELEGRAM_BOT_TOKEN is not set")
    pacer = Pacer(settings.send_rate)
    app: BotApplication = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(f"{settings.telegram_api_url}/bot")
        .base_file_url(f"{settings.telegram_api_url}/file/bot")
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .context_types(ContextTypes(context=BotContext))
        .rate_limiter(PacedLimiter(pacer))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .build()
    )
    app.bot_data["settings"] = settings
    app.bot_data["pacer"] = pacer
    register_handlers(app)
    return app


def send_policy(settings: Settings) -> SendPolicy:
    return SendPolicy(
        private_interval=settings.private_chat_interval,
        group_per_minute=settings.group_messages_per_minute,
        max_attempts=settings.send_max_attempts,
        retry_base=settings.send_retry_base,
        retry_max=settings.send_retry_max,
    )


async def _post_init(app: BotApplication) -> None:
    settings: Settings = app.bot_data["settings"]
    store = await Store.open(settings.database_path)
    site = SiteClient(
        settings.site_url, timeout=settings.fetch_timeout, max_bytes=settings.max_response_bytes
    )
    poller = Poller(store, site, settings.site)
    await poller.load_stored_categories()

    def render_alert(post: Post, language: str | None) -> str:
        return render.alert(post, poller.tree, texts.tr(language))

    sender = Sender(app.bot, store, render_alert, send_policy(settings))
    services = Services(
        settings,
        store,
        site,
        poller,
        app.bot_data["pacer"],
        sender,
        search_limit=RateLimit(settings.search_per_minute),
        inline_limit=RateLimit(settings.inline_per_minute),
    )
    app.bot_data[BotContext.SERVICES] = services
    try:
        await app.bot.set_my_commands([(c, texts.tr(None)(d)) for c, d in texts.MENU])
    except TelegramError as exc:
        log.warning("could not set the command menu: %s", exc)
    # Our own task, not application.create_task: Application.stop() would wait for it forever.
    services.sender_task = asyncio.create_task(sender.run(), name="sender")
    if app.job_queue is None:
        raise HrmBotError("the job queue is missing: install python-telegram-bot[job-queue]")
    app.job_queue.run_once(_poll_job, when=0, name="poll")
    log.info("hrm-bot started: polling %s every %g s", settings.site_url, settings.poll_interval)


async def _poll_job(context: BotContext) -> None:
    """Starts a poll as a task of ours, so that stopping never waits for a slow site."""
    services = context.services
    if services.poll_task is not None and not services.poll_task.done():
        return
    services.poll_task = asyncio.create_task(_poll(context), name="poll")


async def _poll(context: BotContext) -> None:
    services = context.services
    delay = services.settings.poll_interval
    try:
        result = await services.poller.poll()
        if result.enqueued:
            services.sender.wake()
        delay = backoff_delay(services.settings.poll_interval, result.failures)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("poll: unexpected failure")
    queue = context.application.job_queue
    if queue is not None:
        # context.application is typed generically by PTB; it is our BotApplication.
        queue.run_once(_poll_job, when=delay, name="poll")  # type: ignore[arg-type]


async def _post_stop(app: BotApplication) -> None:
    services = app.bot_data.get(BotContext.SERVICES)
    if not isinstance(services, Services):
        return
    if services.poll_task is not None:
        services.poll_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await services.poll_task
    await services.sender.stop()
    if services.sender_task is not None:
        services.sender_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await services.sender_task


async def _post_shutdown(app: BotApplication) -> None:
    services = app.bot_data.get(BotContext.SERVICES)
    if isinstance(services, Services):
        await services.site.aclose()
        await services.store.close()


def run(settings: Settings, **polling: Any) -> None:
    """``hrm-bot run``: long polling until SIGINT or SIGTERM."""
    lock = lock_database(settings.database_path)
    try:
        app = build_application(settings)
        # Pending updates are kept: messages sent while the bot was down get their answers.
        app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False, **polling)
    finally:
        lock.close()
