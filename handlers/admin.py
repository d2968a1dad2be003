"""/stats, for the user ids in ADMIN_IDS only."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.delivery import render
from bot.i18n import texts
from handlers.common import gettext, reply


async def stats(update: Update, context: BotContext) -> None:
    _ = await gettext(update, context)
    user = update.effective_user
    if user is None or user.id not in context.services.settings.admin_ids:
        await reply(update, context, render.e(_(texts.ADMINS_ONLY)))
        return
    sections = []
    figures = None
    for one in context.services:
        figures = await context.store.stats(one.site)
        state = await context.store.get_state(one.site)
        name = render.edition_name(one.edition.key, _)
        sections.append((name, figures, state.get("last_poll"), one.tree))
    assert figures is not None  # the English edition is always followed
    await reply(update, context, render.stats(figures, sections, _))
