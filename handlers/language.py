"""/language: the language of the chat's replies and alerts, English or Persian."""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import BotContext
from bot.delivery import render
from bot.i18n import texts
from handlers.common import chat_type, gettext, refuse_non_admin, reply, target_chat

CALLBACK = re.compile(r"^lang:(en|fa)$")
# What people type after /language; each language's own name too.
ALIASES = {
    "en": "en",
    "english": "en",
    "fa": "fa",
    "farsi": "fa",
    "persian": "fa",
    "فارسی": "fa",
    "پارسی": "fa",
}
# Each language named in itself, so that whoever cannot read the other finds theirs.
BUTTONS = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("English", callback_data="lang:en"),
            InlineKeyboardButton("فارسی", callback_data="lang:fa"),
        ]
    ]
)


async def language(update: Update, context: BotContext) -> None:
    chat = target_chat(update, context)
    if chat is None:
        return
    _ = await gettext(update, context)
    if not context.args:
        await reply(update, context, render.e(_(texts.LANGUAGE_PROMPT)), BUTTONS)
        return
    choice = ALIASES.get(" ".join(context.args).strip().lower())
    if choice is None:
        await reply(update, context, render.e(_(texts.LANGUAGE_USAGE)))
        return
    if await refuse_non_admin(update, context):
        return
    await context.store.set_language(chat.id, chat_type(chat), choice)
    await reply(update, context, render.e(texts.tr(choice)(texts.LANGUAGE_SET)))


async def language_callback(update: Update, context: BotContext) -> None:
    query = update.callback_query
    chat = target_chat(update, context)
    if query is None:
        return
    m = CALLBACK.match(query.data or "")
    if m is None or chat is None or query.message is None:
        _ = await gettext(update, context)
        await query.answer(_(texts.STALE_BUTTON), show_alert=True)
        return
    if await refuse_non_admin(update, context):
        return
    await context.store.set_language(chat.id, chat_type(chat), m[1])
    await query.edit_message_text(render.e(texts.tr(m[1])(texts.LANGUAGE_SET)))
    await query.answer()
