"""/start and /help."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.delivery import render
from handlers.common import gettext, reply
from handlers.subscriptions import show_picker


async def start(update: Update, context: BotContext) -> None:
    if context.args == ["search"]:
        # Opened from inline mode's button: the user wanted to search.
        await reply(
            update,
            context,
            render.search_usage(context.bot.username, (await gettext(update, context))),
        )
        return
    chat = update.effective_chat
    if chat is not None:
        # A user who blocked the bot and comes back presses Start: deliver again.
        await context.store.reactivate(chat.id)
    await show_picker(
        update, context, intro=render.e(render.start_intro(await gettext(update, context)))
    )


async def help_command(update: Update, context: BotContext) -> None:
    await reply(update, context, render.help_text(await gettext(update, context)))
