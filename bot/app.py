"""The composition root of ``hrm-bot run``: one Application, every handler, the services."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TelegramError
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

from bot.config import Settings
from bot.context import BotApplication, BotContext
from bot.delivery import render
from bot.delivery.pacing import PacedLimiter, Pacer
from bot.delivery.sender import Sender, SendPolicy
from bot.errors import AlreadyRunning, HrmBotError, StoreError, TokenRejected, WebhookRejected
from bot.i18n import texts
from bot.logs import REDACT
from bot.ops import health
from bot.ops.metrics import Metrics, StoreFigures
from bot.ops.webhook import Webhook, check_listen, limit_body_size, webhook_of
from bot.searching import RateLimit
from bot.services import Followed, Services
from bot.site.client import SiteClient
from bot.site.editions import editions
from bot.site.poller import Poller, backoff_delay
from handlers import (
    admin,
    channels,
    chats,
    fallback,
    inline,
    language,
    posts,
    privacy,
    search,
    start,
    subscriptions,
    watches,
)
from handlers import settings as chat_settings
from handlers.errors import on_error
from storage import Delivery, Post, Store
from storage.db import make_folder

# PTB 22 warns unless RetryAfter.retry_after is a timedelta; opt in to the new behaviour.
os.environ.setdefault("PTB_TIMEDELTA", "true")

log = logging.getLogger(__name__)


# Waits between tries to reach Telegram at start: a supervisor may start us before the
# network is up, and a minute between tries is gentle enough for a long outage.
REACH_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)


def lock_database(path: Path) -> IO[str]:
    """An exclusive lock beside the database; the OS drops it when the process dies.

    Two bots on one database would send every alert twice, so the second refuses to start.
    """
    make_folder(path)
    lock = f"{path}.lock"
    try:
        handle = open(lock, "a+")  # noqa: SIM115 - held for the process's lifetime
    except OSError as exc:
        raise StoreError(f"cannot create the lock file {lock}: {exc.strerror or exc}") from None
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
    # Group -2, before everything: an operator's /start stores the chat health alerts go to.
    app.add_handler(CommandHandler("start", health.remember_operator, only_messages), group=-2)
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, chats.migrate))
    app.add_handler(ChatMemberHandler(chats.membership, ChatMemberHandler.MY_CHAT_MEMBER))
    # What a channel's settings are made of: these take a channel first in a private chat
    # (/subscribe @channel executions) and may be posted in the channel itself.
    channel_settings = {
        "subscribe": subscriptions.subscribe,
        "unsubscribe": subscriptions.unsubscribe,
        "mysubs": subscriptions.mysubs,
        "watch": watches.watch,
        "unwatch": watches.unwatch,
        "settings": chat_settings.settings,
        "discreet": chat_settings.discreet,
        "quiet": chat_settings.quiet,
        "digest": chat_settings.digest,
        "language": language.language,
        "forget": privacy.forget,
    }
    commands = {
        "start": start.start,
        "help": start.help_command,
        **{name: channels.for_channels(callback) for name, callback in channel_settings.items()},
        "categories": subscriptions.categories,
        "latest": posts.latest,
        "search": search.search,
        "stats": admin.stats,
    }
    for name, callback in commands.items():
        app.add_handler(CommandHandler(name, callback, filters=only_messages))
    app.add_handler(
        MessageHandler(
            filters.UpdateType.CHANNEL_POST & filters.COMMAND,
            channels.channel_commands(channel_settings),
        )
    )
    buttons = {
        r"^sub:": subscriptions.picker_callback,
        r"^lang:": language.language_callback,
        r"^w:": watches.watch_callback,
        r"^set:": chat_settings.settings_callback,
        r"^forget:": privacy.forget_callback,
    }
    for pattern, callback in buttons.items():
        app.add_handler(
            CallbackQueryHandler(channels.for_channel_buttons(callback), pattern=pattern)
        )
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
    metrics = None
    if settings.metrics_port is not None:
        metrics = Metrics([e.key for e in editions(settings)], settings.send_rate)
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
        .rate_limiter(PacedLimiter(pacer, metrics.message_sent if metrics else None))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .build()
    )
    app.bot_data["settings"] = settings
    app.bot_data["pacer"] = pacer
    app.bot_data[METRICS] = metrics
    register_handlers(app)
    return app


METRICS = "metrics"  # the Metrics of a running bot in bot_data; None when METRICS_PORT is off


def _metrics(app: BotApplication) -> Metrics | None:
    metrics = app.bot_data.get(METRICS)
    return metrics if isinstance(metrics, Metrics) else None


def start_metrics(app: BotApplication) -> None:
    """Serve the metrics page when METRICS_PORT is set (once: run() starts it early, so that
    a port in use stops the bot before it waits for Telegram). MetricsError if it cannot."""
    metrics = _metrics(app)
    port: int | None = app.bot_data["settings"].metrics_port
    if metrics is not None and port is not None:
        metrics.serve(port, app.bot_data["settings"].metrics_listen)


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
    start_metrics(app)
    metrics = _metrics(app)
    store = await Store.open(settings.database_path)
    followed: dict[str, Followed] = {}
    for edition in editions(settings):
        client = SiteClient(
            edition.url, timeout=settings.fetch_timeout, max_bytes=settings.max_response_bytes
        )
        poller = Poller(store, client, edition.site, edition.language)
        await poller.load_stored_categories()
        followed[edition.key] = Followed(edition, client, poller)

    def render_alert(post: Post, row: Delivery, updated: bool) -> str:
        return render.alert(
            post,
            services.tree_of(post.site),
            texts.tr(row.language),
            discreet=row.discreet,
            watched=row.watched,
            updated=updated,
        )

    def render_digest(posts: Sequence[Post], row: Delivery) -> list[str]:
        return render.digest(posts, services.tree_of, row.day, texts.tr(row.language))

    sender = Sender(
        app.bot, store, render_alert, send_policy(settings), render_digest, observer=metrics
    )
    services = Services(
        settings,
        store,
        followed,
        app.bot_data["pacer"],
        sender,
        search_limit=RateLimit(settings.search_per_minute),
        inline_limit=RateLimit(settings.inline_per_minute),
    )
    app.bot_data[BotContext.SERVICES] = services
    if metrics is not None:

        async def figures() -> StoreFigures:
            totals = await store.totals()
            posts = {key: totals.posts.get(one.site, 0) for key, one in followed.items()}
            return StoreFigures(posts, totals.pending)

        metrics.attach(asyncio.get_running_loop(), figures)
    try:
        # The default menu in English, and Persian descriptions for Persian Telegram apps.
        await app.bot.set_my_commands([(c, texts.tr("en")(d)) for c, d in texts.MENU])
        await app.bot.set_my_commands(
            [(c, texts.tr("fa")(d)) for c, d in texts.MENU], language_code="fa"
        )
    except TelegramError as exc:
        log.warning("could not set the command menu: %s", exc)
    # Our own task, not application.create_task: Application.stop() would wait for it forever.
    services.sender_task = asyncio.create_task(sender.run(), name="sender")
    if app.job_queue is None:
        raise HrmBotError("the job queue is missing: install python-telegram-bot[job-queue]")
    for key in followed:
        app.job_queue.run_once(_poll_job, when=0, name=f"poll:{key}", data=key)
    health.start(app, services)
    log.info(
        "hrm-bot started: reading %s every %g s; token from %s",
        ", ".join(f.edition.url for f in followed.values()),
        settings.poll_interval,
        settings.sources.get("TELEGRAM_BOT_TOKEN", "the settings"),
    )


async def _poll_job(context: BotContext) -> None:
    """Starts a poll of one edition as a task of ours, so that stopping never waits for a
    slow site, and one edition's slow site never delays the other's polls."""
    key = context.job.data if context.job is not None else None
    one = context.services.edition(str(key))
    if one is None:
        return
    if one.poll_task is not None and not one.poll_task.done():
        return
    one.poll_task = asyncio.create_task(_poll(context, one), name=f"poll:{key}")


async def _poll(context: BotContext, one: Followed) -> None:
    services = context.services
    delay = services.settings.poll_interval
    metrics = _metrics(context.application)  # type: ignore[arg-type]
    started = time.monotonic()
    try:
        result = await one.poller.poll()
        if metrics is not None:
            metrics.poll_done(one.edition.key, result.ok, time.monotonic() - started)
        if result.ok:
            log.info("poll %s: %s", one.edition.key, result.summary())
        else:
            log.warning(
                "poll %s failed (%d in a row): %s",
                one.edition.key,
                result.failures,
                result.errors[0],
            )
        if result.enqueued:
            services.sender.wake()
        delay = backoff_delay(services.settings.poll_interval, result.failures)
        await health.after_poll(context, one, result)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("poll %s: unexpected failure", one.edition.key)
        if metrics is not None:
            metrics.poll_done(one.edition.key, False, time.monotonic() - started)
    queue = context.application.job_queue
    if queue is not None:
        # context.application is typed generically by PTB; it is our BotApplication.
        queue.run_once(
            _poll_job,  # type: ignore[arg-type]
            when=delay,
            name=f"poll:{one.edition.key}",
            data=one.edition.key,
        )


async def _post_stop(app: BotApplication) -> None:
    services = app.bot_data.get(BotContext.SERVICES)
    if not isinstance(services, Services):
        return
    for one in services:
        if one.poll_task is not None:
            one.poll_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await one.poll_task
    await services.sender.stop()
    if services.sender_task is not None:
        services.sender_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await services.sender_task


async def _post_shutdown(app: BotApplication) -> None:
    metrics = _metrics(app)
    if metrics is not None:
        # Before the store closes: a scrape from now on reads nothing of it.
        metrics.detach()
        metrics.stop()
    services = app.bot_data.get(BotContext.SERVICES)
    if isinstance(services, Services):
        for one in services:
            await one.client.aclose()
        await services.store.close()


async def reach_telegram(
    app: BotApplication, api_url: str, webhook: Webhook | None = None
) -> bool:
    """getMe (and setWebhook in webhook mode) until Telegram answers; False when SIGINT or
    SIGTERM came first.

    Network errors, time-outs, 5xx and flood waits are retried with backoff, one log line a
    try. A rejected token cannot get better by waiting: TokenRejected; nor a webhook URL that
    Telegram refuses: WebhookRejected.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        attempt = 0
        while True:
            try:
                # Bot.initialize calls getMe; done once, run_polling does not repeat it.
                await app.bot.initialize()
                if webhook is not None:
                    # Set here first, where a refusal stops the bot with one line: run_webhook
                    # sets it again, the same, but retries a refusal forever and only logs it
                    # at DEBUG, with the bot deaf meanwhile.
                    await app.bot.set_webhook(
                        webhook.url,
                        secret_token=webhook.secret,
                        allowed_updates=Update.ALL_TYPES,
                    )
                return True
            except InvalidToken:
                raise TokenRejected(
                    f"Telegram rejected the bot token (getMe at {api_url} answered "
                    "Unauthorized or Not Found): check TELEGRAM_BOT_TOKEN, as @BotFather gave "
                    "it, and TELEGRAM_API_URL"
                ) from None
            except BadRequest as exc:  # a NetworkError for the library, but final
                raise WebhookRejected(
                    f"Telegram refused WEBHOOK_URL in setWebhook ({_reason(exc)}): check that "
                    "its host name resolves and that it is an https URL on port 443, 80, 88 "
                    "or 8443"
                ) from None
            except (NetworkError, RetryAfter) as exc:
                delay = REACH_DELAYS[min(attempt, len(REACH_DELAYS) - 1)]
                if isinstance(exc, RetryAfter):
                    wait = exc.retry_after
                    seconds = wait.total_seconds() if isinstance(wait, timedelta) else wait
                    delay = max(delay, float(seconds))
                log.warning(
                    "cannot reach Telegram at %s (%s); trying again in %g s",
                    api_url,
                    _reason(exc),
                    delay,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                log.info("stopped while waiting for Telegram")
                return False
            attempt += 1
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def _reason(exc: TelegramError) -> str:
    # A proxy's error page comes back whole in the message ("Parsing the server response
    # b'<html>...' failed"): the status before it says enough.
    text = " ".join(exc.message.split(". Parsing the server response", 1)[0].split())
    if len(text) > 160:
        text = text[:159] + "…"
    return REDACT(f"{exc.__class__.__name__}: {text}")


async def _check_store(path: Path) -> None:
    store = await Store.open(path)
    await store.close()


def run(settings: Settings, **polling: Any) -> None:
    """``hrm-bot run``: long polling, or a webhook when WEBHOOK_URL is set, until SIGINT or
    SIGTERM."""
    lock = lock_database(settings.database_path)
    app: BotApplication | None = None
    webhook = webhook_of(settings)
    try:
        if webhook is not None:
            # Like the store, an address in use will not get better by waiting for Telegram.
            check_listen(webhook.listen, webhook.port)
            # Never logged by us; masked in case a library does. Not a short one: masking
            # every "abc" would garble the logs, and a secret that short guards little anyway.
            if len(webhook.secret) >= 8:
                REDACT.add(webhook.secret)
            limit_body_size()
        app = build_application(settings)
        start_metrics(app)
        # run_polling runs on the current event loop: the first getMe must run on it too, so
        # that the connections it opens are the ones polling uses.
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        reached = False
        try:
            # A database that cannot be used will not get better by waiting for Telegram.
            loop.run_until_complete(_check_store(settings.database_path))
            reached = loop.run_until_complete(
                reach_telegram(app, settings.telegram_api_url, webhook)
            )
        finally:
            if not reached:
                loop.run_until_complete(app.bot.shutdown())
                loop.close()
        if not reached:
            return
        # Pending updates are kept: messages sent while the bot was down get their answers.
        # bootstrap_retries=-1: a network blip between getMe and the first getUpdates (or
        # setWebhook) is retried rather than fatal.
        if webhook is None:
            # Its start deletes any webhook left by a run in webhook mode, or Telegram would
            # refuse getUpdates.
            app.run_polling(
                allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=False,
                bootstrap_retries=-1,
                **polling,
            )
            return
        log.info("%s", webhook.describe())
        app.run_webhook(
            listen=webhook.listen,
            port=webhook.port,
            url_path=webhook.route,
            webhook_url=webhook.url,
            secret_token=webhook.secret,
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
            bootstrap_retries=-1,
            **polling,
        )
    except InvalidToken:
        # Revoked while we ran (or between getMe and polling): the library's message holds
        # the token, so it is not passed on.
        raise TokenRejected("Telegram rejected the bot token: check TELEGRAM_BOT_TOKEN") from None
    finally:
        metrics = _metrics(app) if app is not None else None
        if metrics is not None:
            metrics.stop()  # when the bot stopped before post_shutdown could
        lock.close()
