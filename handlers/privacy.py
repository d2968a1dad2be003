"""/forget: everything stored about a chat goes, after a confirmation."""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import BotContext
from bot.delivery import render
from bot.i18n import texts
from handlers.common import gettext, refuse_non_admin, reply, target_chat

log = logging.getLogger(__name__)


async def forget(update: Update, context: BotContext) -> None:
    if await refuse_non_admin(update, context):
        return
    _ = await gettext(update, context)
    await reply(update, context, render.e(_(texts.FORGET_CONFIRM)), render.forget_keyboard(_))


async def forget_callback(update: Update, context: BotContext) -> None:
    query = update.callback_query
    chat = target_chat(update, context)
    if query is None:
        return
    _ = await gettext(update, context)
    if chat is None or query.message is None or query.data not in ("forget:yes", "forget:no"):
        await query.answer(_(texts.STALE_BUTTON), show_alert=True)
        return
    if await refuse_non_admin(update, context):
        return
    if query.data == "forget:yes":
        await context.store.forget(chat.id)
        context.services.sender.pace.forget(chat.id)
        log.info("forget: a chat asked to be forgotten")
        await query.edit_message_text(render.e(_(texts.FORGOTTEN)))
    else:
        await query.edit_message_text(render.e(_(texts.FORGET_CANCELLED)))
    await query.answer()
