"""/stats, for the user ids in ADMIN_IDS only."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update

from bot.context import BotContext
from bot.delivery import render
from bot.i18n import texts
from bot.ops import stats_chart
from handlers.common import Gettext, gettext, reply

log = logging.getLogger(__name__)


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
    await send_chart(update, context, _)


async def send_chart(update: Update, context: BotContext, _: Gettext) -> None:
    """The chart after the text: drawn in a worker thread, so the bot answers others
    meanwhile. One that cannot be made or sent is a log line; the text went out already."""
    chat = update.effective_chat
    if chat is None:
        return
    editions = [(one.site, render.edition_name(one.edition.key, _)) for one in context.services]
    try:
        monthly = await context.store.posts_per_month([site for site, _name in editions])
        daily = await context.store.alerts_per_day()
        png = await asyncio.to_thread(stats_chart.render_png, monthly, daily, editions)
        await context.bot.send_photo(chat.id, png, filename="stats.png")
    except Exception as exc:
        log.warning("no /stats chart: %s: %s", exc.__class__.__name__, exc)
