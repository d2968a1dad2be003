"""Short hints for what the bot does not understand, and the over-long command guard."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from bot.delivery import render
from bot.i18n import texts
from handlers.common import gettext, reply

MAX_COMMAND_CHARS = 512


async def too_long(update: Update, context: BotContext) -> None:
    """Runs before every other handler: refuses commands no one types by hand."""
    message = update.effective_message
    text = message.text if message is not None else None
    if text and text.startswith("/") and len(text) > MAX_COMMAND_CHARS:
        await reply(update, context, render.e((await gettext(update, context))(texts.TOO_LONG)))
        raise ApplicationHandlerStop


async def unknown_command(update: Update, context: BotContext) -> None:
    await reply(update, context, render.e((await gettext(update, context))(texts.UNKNOWN_COMMAND)))


async def not_understood(update: Update, context: BotContext) -> None:
    """Plain text or media in a private chat gets a hint; groups are left in peace."""
    chat = update.effective_chat
    message = update.effective_message
    if chat is None or message is None or chat.type != ChatType.PRIVATE:
        return
    text = texts.PLAIN_TEXT if message.text else texts.NOT_TEXT
    await reply(update, context, render.e((await gettext(update, context))(text)))


async def stale_callback(update: Update, context: BotContext) -> None:
    """Callback data no handler claims: forged, or from an older version of the bot."""
    query = update.callback_query
    if query is not None:
        await query.answer((await gettext(update, context))(texts.STALE_BUTTON), show_alert=True)
