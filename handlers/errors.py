"""The last resort: log the failure (never the message text) and tell the user briefly."""

from __future__ import annotations

import logging
import traceback

from telegram import Update
from telegram.error import TelegramError

from bot.context import BotContext
from bot.delivery import render
from bot.i18n import texts
from handlers.common import user_language

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    kind = "update" if isinstance(update, Update) else "job"
    if isinstance(error, TelegramError):
        log.error("error while handling an %s: %s: %s", kind, error.__class__.__name__, error)
    else:
        # Only where it failed: an exception's message can quote what a user typed.
        where = "".join(traceback.format_tb(error.__traceback__)) if error else ""
        log.error("error while handling an %s: %s\n%s", kind, error.__class__.__name__, where)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    # No store read: the store may be what failed.
    _ = texts.tr(user_language(update))
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(_(texts.SOMETHING_WRONG), show_alert=True)
        else:
            await context.bot.send_message(
                update.effective_chat.id, render.e(_(texts.SOMETHING_WRONG))
            )
    except TelegramError:
        pass  # nothing more to do: it is logged above
