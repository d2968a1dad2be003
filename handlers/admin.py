"""/stats, for the user ids in ADMIN_IDS only."""

from __future__ import annotations

from telegram import Update

from bot import render, texts
from bot.context import BotContext
from handlers.common import gettext, reply


async def stats(update: Update, context: BotContext) -> None:
    _ = gettext(update)
    user = update.effective_user
    if user is None or user.id not in context.services.settings.admin_ids:
        await reply(update, context, render.e(_(texts.ADMINS_ONLY)))
        return
    site = context.services.site_key
    figures = await context.store.stats(site)
    state = await context.store.get_state(site)
    await reply(update, context, render.stats(figures, state.get("last_poll"), context.tree, _))
