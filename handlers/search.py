"""/search and its Previous/Next buttons. Queries are never stored or logged."""

from __future__ import annotations

import math
import re

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.context import BotContext
from bot.delivery import render
from bot.errors import InvalidQueryError
from bot.i18n import texts
from handlers.common import Gettext, command_text, gettext, is_not_modified, reply
from storage import SearchQuery, parse_query

PER_PAGE = 5
MAX_OFFSET = 995  # deep pages cost a long walk of the index, and nobody reads them
CALLBACK = re.compile(r"^s:([A-Za-z0-9_-]{8}):(\d{1,4})$")


def refusal(exc: InvalidQueryError, context: BotContext, _: Gettext) -> str:
    if exc.reason == "too_long":
        return render.e(_(texts.SEARCH_TOO_LONG).format(limit=_.number(exc.limit)))
    usage = render.search_usage(context.bot.username, _)
    if exc.reason == "no_terms":
        return f"{render.e(_(texts.SEARCH_NO_TERMS))}\n\n{usage}"
    return usage


def category_problem(query: SearchQuery, context: BotContext, _: Gettext) -> str | None:
    """A category filter must name one category in some edition searched."""
    if query.category is None:
        return None
    trees = context.services.trees(query.edition).values()
    if any(len(tree.find(query.category)) == 1 for tree in trees):
        return None
    name = render.clip(query.category, 60)
    return render.e(_(texts.SEARCH_UNKNOWN_CATEGORY).format(name=name))


async def search(update: Update, context: BotContext) -> None:
    _ = await gettext(update, context)
    user = update.effective_user
    text = command_text(update)
    if not text.strip():
        await reply(update, context, render.search_usage(context.bot.username, _))
        return
    if user is not None:
        wait = context.services.search_limit.check(user.id)
        if wait:
            seconds = math.ceil(wait)
            await reply(
                update,
                context,
                render.e(_(texts.SEARCH_SLOW_DOWN).format(seconds=_.number(seconds))),
            )
            return
    try:
        query = parse_query(text)
    except InvalidQueryError as exc:
        await reply(update, context, refusal(exc, context, _))
        return
    problem = category_problem(query, context, _)
    if problem:
        await reply(update, context, problem)
        return
    key = context.services.search_keys.put(text)
    body, markup = await _page(context, query, text, key, 0, _)
    if query.ignored:
        ignored = _(texts.SEARCH_IGNORED).format(filters=" ".join(query.ignored))
        body = f"{body}\n\n<i>{render.e(render.clip(ignored, 200))}</i>"
    await reply(update, context, body, markup)


async def _page(
    context: BotContext, query: SearchQuery, text: str, key: str, offset: int, _: Gettext
) -> tuple[str, InlineKeyboardMarkup | None]:
    page = await context.store.search(
        context.services.trees(query.edition), query, limit=PER_PAGE, offset=offset
    )
    more = page.more and offset + PER_PAGE <= MAX_OFFSET
    body = render.search_page(page, context.services.tree_of, text, offset, _)
    return body, render.search_keyboard(key, offset, more, PER_PAGE, _)


async def page_callback(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is None:
        return
    _ = await gettext(update, context)
    m = CALLBACK.match(query.data or "")
    text = context.services.search_keys.get(m[1]) if m else None
    if m is None or text is None or query.message is None:
        await query.answer(_(texts.SEARCH_EXPIRED), show_alert=True)
        return
    offset = min(int(m[2]), MAX_OFFSET)
    user = update.effective_user
    wait = context.services.search_limit.check(user.id) if user is not None else 0.0
    if wait:
        seconds = math.ceil(wait)
        await query.answer(
            _(texts.SEARCH_SLOW_DOWN).format(seconds=_.number(seconds)), show_alert=True
        )
        return
    body, markup = await _page(context, parse_query(text), text, m[1], offset, _)
    try:
        await query.edit_message_text(body, reply_markup=markup)
    except BadRequest as exc:
        if not is_not_modified(exc):
            raise
    await query.answer()
