"""/subscribe, /unsubscribe, /mysubs, /categories and the category picker."""

from __future__ import annotations

import re

from telegram import Update
from telegram.error import BadRequest

from bot import render, texts
from bot.context import BotContext
from bot.render import e
from handlers.common import (
    Gettext,
    chat_language,
    chat_type,
    gettext,
    is_not_modified,
    refuse_non_admin,
    reply,
)
from storage import ALL, Category, CategoryTree

# sub:t:<category id>:<view>  toggle | sub:a:<view>  all reports | sub:v:<view>  open a view
# sub:d  done. A view is 0 (top level) or the id of a top-level category.
CALLBACK = re.compile(r"^sub:(?:t:(\d{1,12}):(\d{1,12})|a:(\d{1,12})|v:(\d{1,12})|d)$")


class Unresolved(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def resolve(words: list[str], tree: CategoryTree, _: Gettext) -> list[str]:
    """Slugs for what a user typed: slugs, ids, names, 'all'.

    Names may have spaces ("Political prisoners"), so the longest run of words that names a
    category wins; commas separate names explicitly.
    """
    text = " ".join(words)
    if "," in text:
        runs = [[p.strip()] for p in text.split(",") if p.strip()]
    else:
        runs = [words]
    slugs: list[str] = []
    for run in runs:
        i = 0
        while i < len(run):
            for j in range(len(run), i, -1):
                candidate = " ".join(run[i:j])
                found = [] if candidate.lower() == "all" else tree.find(candidate)
                if candidate.lower() == "all" or found:
                    break
            if candidate.lower() == "all":
                slugs.append(ALL)
            elif len(found) == 1:
                slugs.append(found[0].slug)
            else:
                raise Unresolved(_problem(candidate, found, tree, _))
            i = j
    return list(dict.fromkeys(slugs))


def _problem(part: str, found: list[Category], tree: CategoryTree, _: Gettext) -> str:
    if found:
        labels = ", ".join(f"{tree.label(c.wp_id)} ({c.slug})" for c in found)
        return e(_(texts.AMBIGUOUS_CATEGORY).format(name=part, labels=labels))
    lines = [e(_(texts.UNKNOWN_CATEGORY).format(name=render.clip(part, 60)))]
    close = tree.close_matches(part)
    if close:
        lines.append(e(_(texts.DID_YOU_MEAN).format(names=", ".join(c.slug for c in close))))
    lines.append(e(_(texts.SEE_CATEGORIES)))
    return "\n".join(lines)


def outcome(
    asked: list[str], changed: list[str], did: str, did_not: str, tree: CategoryTree, _: Gettext
) -> str:
    """What changed and what was already so, naming categories only."""
    lines = []
    if changed:
        lines.append(_(did).format(names=render.names(changed, tree, _)))
    unchanged = [s for s in asked if s not in changed]
    if unchanged:
        lines.append(_(did_not).format(names=render.names(unchanged, tree, _)))
    return e("\n".join(lines))


async def subscribe(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    _ = gettext(update)
    if not context.args:
        await show_picker(update, context)
        return
    if await refuse_non_admin(update, context):
        return
    tree = context.tree
    try:
        slugs = resolve(context.args, tree, _)
    except Unresolved as exc:
        await reply(update, context, exc.text)
        return
    site = context.services.site_key
    added = await context.store.subscribe(
        chat.id, chat_type(chat), site, slugs, chat_language(update)
    )
    text = outcome(slugs, added, texts.SUBSCRIBED, texts.ALREADY_SUBSCRIBED, tree, _)
    await reply(update, context, text)


async def unsubscribe(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    _ = gettext(update)
    if not context.args:
        await reply(update, context, e(_(texts.UNSUBSCRIBE_USAGE)))
        return
    if await refuse_non_admin(update, context):
        return
    tree = context.tree
    site = context.services.site_key
    if [a.lower() for a in context.args] == ["all"]:
        await context.store.unsubscribe(chat.id, site, None)
        await reply(update, context, e(_(texts.UNSUBSCRIBED_ALL)))
        return
    try:
        slugs = resolve(context.args, tree, _)
    except Unresolved as exc:
        await reply(update, context, exc.text)
        return
    removed = await context.store.unsubscribe(chat.id, site, slugs)
    text = outcome(slugs, removed, texts.UNSUBSCRIBED, texts.NOT_SUBSCRIBED, tree, _)
    await reply(update, context, text)


async def mysubs(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    site = context.services.site_key
    subs = [s for s in await context.store.subscriptions(chat.id) if s.site == site]
    await reply(update, context, render.subscriptions(subs, context.tree, gettext(update)))


async def categories(update: Update, context: BotContext) -> None:
    await reply(update, context, render.category_list(context.tree, gettext(update)))


async def followed(context: BotContext, chat_id: int) -> set[str]:
    site = context.services.site_key
    return {s.slug for s in await context.store.subscriptions(chat_id) if s.site == site}


async def show_picker(update: Update, context: BotContext, intro: str | None = None) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    text, markup = render.picker(
        context.tree, await followed(context, chat.id), 0, gettext(update)
    )
    await reply(update, context, f"{intro}\n\n{text}" if intro else text, markup)


async def picker_callback(update: Update, context: BotContext) -> None:
    query = update.callback_query
    chat = update.effective_chat
    if query is None:
        return
    _ = gettext(update)
    m = CALLBACK.match(query.data or "")
    tree = context.tree
    if m is None or chat is None or query.message is None:
        await query.answer(_(texts.STALE_BUTTON), show_alert=True)
        return
    toggle, all_view, open_view = m[1], m[3], m[4]
    view = int(m[2] or all_view or open_view or 0)
    if (view and view not in tree.by_id) or (toggle and int(toggle) not in tree.by_id):
        await query.answer(_(texts.STALE_BUTTON), show_alert=True)
        return
    if open_view is None and await refuse_non_admin(update, context):
        return
    site = context.services.site_key
    following = await followed(context, chat.id)
    toast = None
    if toggle or all_view is not None:
        slug = tree.by_id[int(toggle)].slug if toggle else ALL
        name = render.names([slug], tree, _)
        if slug in following:
            await context.store.unsubscribe(chat.id, site, [slug])
            following.discard(slug)
            toast = _(texts.TOAST_UNFOLLOW).format(category=name)
        else:
            await context.store.subscribe(
                chat.id, chat_type(chat), site, [slug], chat_language(update)
            )
            following.add(slug)
            toast = _(texts.TOAST_FOLLOW).format(category=name)
    try:
        if m[0] == "sub:d":
            names = render.names(sorted(following), tree, _)
            done = (
                _(texts.PICKER_DONE).format(names=names)
                if following
                else _(texts.PICKER_DONE_NONE)
            )
            await query.edit_message_text(e(done))
        else:
            text, markup = render.picker(tree, following, view, _)
            if open_view is not None:
                await query.edit_message_text(text, reply_markup=markup)
            else:
                await query.edit_message_reply_markup(markup)
    except BadRequest as exc:
        if not is_not_modified(exc):
            raise
    await query.answer(render.clip(toast, 190) if toast else None)
