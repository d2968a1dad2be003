"""/latest."""

from __future__ import annotations

from telegram import Update

from bot import render, texts
from bot.context import BotContext
from handlers.common import gettext, reply
from handlers.subscriptions import Unresolved, resolve
from storage import ALL

LATEST_COUNT = 5


async def latest(update: Update, context: BotContext) -> None:
    _ = gettext(update)
    tree = context.tree
    category = None
    heading = _(texts.LATEST)
    if context.args:
        try:
            slugs = [s for s in resolve(context.args, tree, _) if s != ALL]
        except Unresolved as exc:
            await reply(update, context, exc.text)
            return
        if slugs:
            category = slugs[0]
            heading = _(texts.LATEST_IN).format(category=render.names([category], tree, _))
    posts = await context.store.latest(
        context.services.site_key, tree, category=category, limit=LATEST_COUNT
    )
    await reply(update, context, render.latest(posts, tree, heading, _))
