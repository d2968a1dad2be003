"""/latest."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.delivery import render
from bot.i18n import texts
from handlers.common import gettext, language, reply
from handlers.subscriptions import BothEditions, Choice, Unresolved, resolve
from storage import ALL

LATEST_COUNT = 5


async def latest(update: Update, context: BotContext) -> None:
    _ = await gettext(update, context)
    services = context.services
    sites = services.trees()
    category = None
    heading = _(texts.LATEST)
    if context.args:
        try:
            choices = [c for c in resolve(context.args, services, _) if c.slug != ALL]
        except Unresolved as exc:
            await reply(update, context, exc.text)
            return
        except BothEditions as exc:
            # A name of both editions: the one in the chat's language.
            lang = await language(update, context)
            f, c = next(((f, c) for f, c in exc.found if f.edition.language == lang), exc.found[0])
            choices = [Choice(f.edition.key, c.slug)]
        if choices:
            chosen = choices[0]
            one = services.edition(chosen.edition)
            if one is not None:
                category = chosen.slug
                sites = {one.site: one.tree}
                heading = _(texts.LATEST_IN).format(category=render.names([category], one.tree, _))
    posts = await context.store.latest(sites, category=category, limit=LATEST_COUNT)
    await reply(update, context, render.latest(posts, services.tree_of, heading, _))
