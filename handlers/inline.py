"""Inline mode: ``@bot words`` in any chat lists matching reports to share."""

from __future__ import annotations

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode

from bot.context import BotContext
from bot.delivery import render
from bot.errors import InvalidQueryError
from bot.i18n import texts
from handlers.common import gettext
from storage import SearchQuery, parse_query

PER_PAGE = 20
MAX_OFFSET = 980
CACHE_SECONDS = 30  # a new report must show up within a minute
HELP_PARAMETER = "search"


async def inline_query(update: Update, context: BotContext) -> None:
    iq = update.inline_query
    if iq is None:
        return
    _ = await gettext(update, context)
    offset = int(iq.offset) if iq.offset.isdigit() and len(iq.offset) <= 4 else 0
    offset = min(offset, MAX_OFFSET)
    if context.services.inline_limit.check(iq.from_user.id):
        await iq.answer(
            [], cache_time=0, is_personal=True, button=_button(_(texts.INLINE_SLOW_DOWN))
        )
        return
    text = iq.query.strip()
    try:
        query = parse_query(text) if text else SearchQuery()
    except InvalidQueryError:
        await iq.answer([], cache_time=CACHE_SECONDS, button=_button(_(texts.INLINE_REFUSED)))
        return
    services = context.services
    page = await context.store.search(
        services.trees(query.edition), query, limit=PER_PAGE, offset=offset, snippets=False
    )
    results = [
        InlineQueryResultArticle(
            id=str(hit.post.id),
            title=render.clip(hit.post.title, 200),
            description=render.inline_description(hit.post, _),
            url=hit.post.url,
            input_message_content=InputTextMessageContent(
                render.alert(hit.post, services.tree_of(hit.post.site), _),
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            ),
        )
        for hit in page.hits
    ]
    more = page.more and offset + PER_PAGE <= MAX_OFFSET
    # Nothing found: a button into the bot's chat, where /start search explains searching.
    button = _button(_(texts.INLINE_NONE)) if not results and offset == 0 else None
    await iq.answer(
        results,
        cache_time=CACHE_SECONDS,
        is_personal=False,
        # Omitted when there is no more: PTB 22 sends an empty string as "[]".
        next_offset=str(offset + PER_PAGE) if more else None,
        button=button,
    )


def _button(text: str) -> InlineQueryResultsButton:
    return InlineQueryResultsButton(text, start_parameter=HELP_PARAMETER)
