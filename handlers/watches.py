"""/watch and /unwatch: alerts of every new report that mentions a name or a place.

Phrases can name a relative: they are never logged, not even their length.
"""

from __future__ import annotations

import re

from telegram import Update
from telegram.error import BadRequest

from bot.context import BotContext
from bot.delivery import render
from bot.delivery.render import e
from bot.i18n import texts
from handlers.common import (
    Gettext,
    chat_language,
    chat_type,
    command_text,
    gettext,
    is_not_modified,
    refuse_non_admin,
    reply,
    target_chat,
)
from storage import MAX_CHARS, MAX_PHRASES, MIN_CHARS, fold, only_stop_words

CALLBACK = re.compile(r"^w:rm:([0-9a-f]{12})$")
_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")
_QUOTES = "\"'“”«»‘’„‹›"
_DOUBLE_QUOTES = re.compile('["“”«»„]')
_SEPARATORS = re.compile("[,،;؛]")
ALL_WORDS = ("all", "همه")


def clean(text: str) -> str:
    """A phrase as typed, without direction marks, extra spaces or quotes (double ones
    anywhere, single ones around it: an apostrophe belongs to a name)."""
    text = " ".join(_DOUBLE_QUOTES.sub(" ", _MARKS.sub("", text)).split())
    while len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return text


def problem(phrase: str, folded: str, _: Gettext) -> str | None:
    """Why a phrase cannot be watched, or None."""
    if len(phrase) > MAX_CHARS:
        return _(texts.WATCH_TOO_LONG).format(max=_.number(MAX_CHARS))
    if _SEPARATORS.search(phrase) and len(folded.split()) > 1:
        return _(texts.WATCH_ONE)
    if not folded:
        return _(texts.WATCH_NO_WORDS)
    if len(folded.replace(" ", "")) < MIN_CHARS:
        return _(texts.WATCH_TOO_SHORT).format(min=_.number(MIN_CHARS))
    if only_stop_words(folded):
        return _(texts.WATCH_STOP_WORDS).format(phrase=render.clip(phrase, 60))
    return None


async def watch(update: Update, context: BotContext) -> None:
    chat = target_chat(update, context)
    if chat is None:
        return
    _ = await gettext(update, context)
    phrase = clean(command_text(update, context))
    if not phrase:
        text, markup = render.watch_list(await context.store.watches(chat.id), _)
        await reply(update, context, text, markup)
        return
    if await refuse_non_admin(update, context):
        return
    folded = fold(phrase)
    refusal = problem(phrase, folded, _)
    if refusal is not None:
        await reply(update, context, e(refusal))
        return
    added = await context.store.watch(
        chat.id, chat_type(chat), phrase, folded, limit=MAX_PHRASES, language=chat_language(update)
    )
    if added is None:
        await reply(update, context, e(_(texts.WATCH_LIMIT).format(max=_.number(MAX_PHRASES))))
    elif added:
        await reply(update, context, e(_(texts.WATCH_ADDED).format(phrase=phrase)))
    else:
        await reply(update, context, e(_(texts.WATCH_ALREADY).format(phrase=phrase)))


async def unwatch(update: Update, context: BotContext) -> None:
    chat = target_chat(update, context)
    if chat is None:
        return
    _ = await gettext(update, context)
    phrase = clean(command_text(update, context))
    if not phrase:
        await reply(update, context, e(_(texts.UNWATCH_USAGE)))
        return
    if await refuse_non_admin(update, context):
        return
    if fold(phrase) in ALL_WORDS:
        removed = await context.store.unwatch(chat.id, None)
        await reply(update, context, e(_(texts.UNWATCHED_ALL if removed else texts.WATCH_NONE)))
        return
    shown = render.clip(phrase, MAX_CHARS)
    removed = await context.store.unwatch(chat.id, fold(phrase))
    if removed:
        await reply(update, context, e(_(texts.UNWATCHED).format(phrase=removed[0])))
    else:
        await reply(update, context, e(_(texts.NOT_WATCHED).format(phrase=shown)))


async def watch_callback(update: Update, context: BotContext) -> None:
    """A phrase's button under the /watch list: stop watching it."""
    query = update.callback_query
    chat = target_chat(update, context)
    if query is None:
        return
    _ = await gettext(update, context)
    m = CALLBACK.match(query.data or "")
    watched = await context.store.watches(chat.id) if chat is not None else []
    found = next((w for w in watched if m and render.watch_key(w.folded) == m[1]), None)
    if chat is None or query.message is None or found is None:
        await query.answer(_(texts.STALE_BUTTON), show_alert=True)
        return
    if await refuse_non_admin(update, context):
        return
    await context.store.unwatch(chat.id, found.folded)
    text, markup = render.watch_list(await context.store.watches(chat.id), _)
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if not is_not_modified(exc):
            raise
    await query.answer(_(texts.TOAST_UNWATCHED).format(phrase=render.clip(found.phrase, 60)))
