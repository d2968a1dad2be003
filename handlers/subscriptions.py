"""/subscribe, /unsubscribe, /mysubs, /categories and the category picker, for both editions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.context import BotContext
from bot.delivery import render
from bot.delivery.render import e
from bot.i18n import texts
from bot.services import Followed, Services
from handlers.common import (
    Gettext,
    chat_language,
    gettext,
    is_not_modified,
    language,
    refuse_non_admin,
    reply,
    target_chat,
)
from storage import ALL, Category

# sub:t:<edition>:<category id>:<view>  toggle | sub:a:<edition>:<view>  all reports
# sub:v:<edition>:<view>  open a view (and switch edition) | sub:f:<edition>:<id>  follow one
# category (the answer to "which edition?") | sub:d  done. A view is 0 (top level) or the id
# of a top-level category. Buttons sent before there were editions have none: English.
CALLBACK = re.compile(
    r"^sub:(?:"
    r"t:(?:(?P<te>en|fa):)?(?P<toggle>\d{1,12}):(?P<tview>\d{1,12})"
    r"|a:(?:(?P<ae>en|fa):)?(?P<aview>\d{1,12})"
    r"|v:(?:(?P<ve>en|fa):)?(?P<view>\d{1,12})"
    r"|f:(?P<fe>en|fa):(?P<follow>\d{1,12})"
    r"|(?P<done>d))$"
)
PREFIX = re.compile(r"^(en|fa):", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Choice:
    """A category (or every report, ALL) of one edition."""

    edition: str
    slug: str


class Unresolved(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class BothEditions(Exception):
    """A name found in both editions, typed without fa: or en:."""

    def __init__(self, name: str, found: list[tuple[Followed, Category]]) -> None:
        super().__init__(name)
        self.name = name
        self.found = found


def resolve(words: list[str], services: Services, _: Gettext) -> list[Choice]:
    """What a user typed: slugs, ids, names, 'all', each perhaps with fa: or en: before it.

    Names may have spaces ("Political prisoners", «زندانیان سیاسی»), so the longest run of
    words that names a category wins; commas separate names explicitly. Without a prefix a
    name is looked up in every edition, and one found in two is a question, not a guess.
    """
    text = " ".join(words)
    runs = [p.split() for p in text.split(",") if p.strip()] if "," in text else [words]
    choices: list[Choice] = []
    for run in runs:
        i = 0
        while i < len(run):
            scope, first = _scope(run[i], services)
            if scope is None:
                raise Unresolved(_unknown(run[i], services, _))
            for j in range(len(run), i, -1):
                candidate = " ".join([first, *run[i + 1 : j]]).strip()
                if candidate.lower() == "all":
                    choices += [Choice(f.edition.key, ALL) for f in scope]
                    break
                found = [(f, c) for f in scope for c in f.tree.find(candidate)]
                if found:
                    choices.append(_one(candidate, found, _))
                    break
            else:
                raise Unresolved(_unknown(first, services, _))
            i = j
    return list(dict.fromkeys(choices))


def _scope(word: str, services: Services) -> tuple[list[Followed] | None, str]:
    """The editions a word may name, and the word without its prefix."""
    m = PREFIX.match(word)
    if m is None:
        return list(services), word
    one = services.edition(m[1].lower())
    return ([one] if one is not None else None), word[m.end() :]


def _one(name: str, found: list[tuple[Followed, Category]], _: Gettext) -> Choice:
    editions = {f.edition.key for f, _c in found}
    if len(editions) > 1:
        raise BothEditions(name, found)
    one, _c = found[0]
    if len(found) > 1:
        labels = _.join(f"{one.tree.label(c.wp_id)} ({c.slug})" for _f, c in found)
        raise Unresolved(e(_(texts.AMBIGUOUS_CATEGORY).format(name=name, labels=labels)))
    return Choice(one.edition.key, found[0][1].slug)


def _unknown(part: str, services: Services, _: Gettext) -> str:
    lines = [e(_(texts.UNKNOWN_CATEGORY).format(name=render.clip(part, 60)))]
    bare = PREFIX.sub("", part)
    close = [c.slug for f in services for c in f.tree.close_matches(bare)]
    if close:
        lines.append(e(_(texts.DID_YOU_MEAN).format(names=_.join(close[:5]))))
    lines.append(e(_(texts.SEE_CATEGORIES)))
    return "\n".join(lines)


def choice_names(choices: list[Choice], services: Services, _: Gettext) -> str:
    out = []
    for c in choices:
        if c.slug == ALL and len(services.followed) < 2:
            out.append(_(texts.ALL_REPORTS))
        elif c.slug == ALL:
            out.append(_(texts.ALL_REPORTS_OF).format(edition=render.edition_name(c.edition, _)))
        else:
            one = services.edition(c.edition)
            out.append(render.names([c.slug], one.tree, _) if one else c.slug)
    return _.join(out)


def outcome(
    asked: list[Choice],
    changed: list[Choice],
    did: str,
    did_not: str,
    services: Services,
    _: Gettext,
) -> str:
    """What changed and what was already so, naming categories only."""
    lines = []
    if changed:
        lines.append(_(did).format(names=choice_names(changed, services, _)))
    unchanged = [c for c in asked if c not in changed]
    if unchanged:
        lines.append(_(did_not).format(names=choice_names(unchanged, services, _)))
    return e("\n".join(lines))


async def _apply(
    update: Update, context: BotContext, choices: list[Choice], *, follow: bool
) -> list[Choice]:
    """Subscribe or unsubscribe, edition by edition; returns what changed."""
    target = target_chat(update, context)
    assert target is not None
    chat_id, kind = target.id, target.type
    changed: list[Choice] = []
    for one in context.services:
        slugs = [c.slug for c in choices if c.edition == one.edition.key]
        if not slugs:
            continue
        if follow:
            done = await context.store.subscribe(
                chat_id, kind, one.site, slugs, chat_language(update)
            )
        else:
            done = await context.store.unsubscribe(chat_id, one.site, slugs)
        changed += [Choice(one.edition.key, s) for s in done]
    return changed


async def which_edition(
    update: Update, context: BotContext, problem: BothEditions, _: Gettext
) -> None:
    rows = [
        [
            InlineKeyboardButton(
                render.clip(
                    f"{f.tree.label(c.wp_id)} · {render.edition_name(f.edition.key, _)}", 60
                ),
                callback_data=f"sub:f:{f.edition.key}:{c.wp_id}",
            )
        ]
        for f, c in problem.found
    ]
    text = _(texts.WHICH_EDITION).format(name=render.clip(problem.name, 60))
    await reply(update, context, e(text), InlineKeyboardMarkup(rows))


async def subscribe(update: Update, context: BotContext) -> None:
    if update.effective_chat is None:
        return
    _ = await gettext(update, context)
    if not context.args:
        await show_picker(update, context)
        return
    if await refuse_non_admin(update, context):
        return
    try:
        choices = resolve(context.args, context.services, _)
    except Unresolved as exc:
        await reply(update, context, exc.text)
        return
    except BothEditions as exc:
        await which_edition(update, context, exc, _)
        return
    added = await _apply(update, context, choices, follow=True)
    text = outcome(choices, added, texts.SUBSCRIBED, texts.ALREADY_SUBSCRIBED, context.services, _)
    await reply(update, context, text)


async def unsubscribe(update: Update, context: BotContext) -> None:
    target = target_chat(update, context)
    if target is None:
        return
    _ = await gettext(update, context)
    if not context.args:
        await reply(update, context, e(_(texts.UNSUBSCRIBE_USAGE)))
        return
    if await refuse_non_admin(update, context):
        return
    if [a.lower() for a in context.args] == ["all"]:
        for one in context.services:
            await context.store.unsubscribe(target.id, one.site, None)
        await reply(update, context, e(_(texts.UNSUBSCRIBED_ALL)))
        return
    try:
        choices = resolve(context.args, context.services, _)
    except Unresolved as exc:
        await reply(update, context, exc.text)
        return
    except BothEditions as exc:
        # Stopping is no guess: both editions' categories of that name are dropped.
        choices = [Choice(f.edition.key, c.slug) for f, c in exc.found]
    removed = await _apply(update, context, choices, follow=False)
    text = outcome(choices, removed, texts.UNSUBSCRIBED, texts.NOT_SUBSCRIBED, context.services, _)
    await reply(update, context, text)


async def mysubs(update: Update, context: BotContext) -> None:
    target = target_chat(update, context)
    if target is None:
        return
    _ = await gettext(update, context)
    subs = await context.store.subscriptions(target.id)
    sections = []
    for one in context.services:
        mine = [s for s in subs if s.site == one.site]
        if mine:
            sections.append(_titled(one, render.subscriptions(mine, one.tree, _), context, _))
    await reply(update, context, "\n\n".join(sections) or e(_(texts.MYSUBS_NONE)))


def _titled(one: Followed, body: str, context: BotContext, _: Gettext) -> str:
    """A section of one edition, under its name when the bot follows two."""
    if len(context.services.followed) < 2:
        return body
    return f"<b>{e(render.edition_name(one.edition.key, _))}</b>\n{body}"


async def categories(update: Update, context: BotContext) -> None:
    _ = await gettext(update, context)
    sections = [
        _titled(one, render.category_list(one.tree, _), context, _)
        for one in _chat_first(context.services, await language(update, context))
    ]
    if len(sections) > 1:
        sections.append(e(_(texts.EDITION_PREFIX_HINT)))
    await reply(update, context, "\n\n".join(sections))


def _chat_first(services: Services, lang: str) -> list[Followed]:
    """Editions with the one in the chat's language first."""
    return sorted(services, key=lambda f: f.edition.language != lang)


async def followed(context: BotContext, chat_id: int, one: Followed) -> set[str]:
    return {s.slug for s in await context.store.subscriptions(chat_id) if s.site == one.site}


def _picker(
    one: Followed, following: set[str], view: int, services: Services, _: Gettext
) -> tuple[str, InlineKeyboardMarkup]:
    others = [f for f in services if f is not one]
    switch = None
    if others:
        other = others[0].edition.key
        switch = (other, _(texts.BUTTON_EDITION).format(edition=render.edition_name(other, _)))
    text, markup = render.picker(one.tree, following, view, _, one.edition.key, switch)
    if others:
        text = f"<b>{e(render.edition_name(one.edition.key, _))}</b>\n{text}"
    return text, markup


async def show_picker(update: Update, context: BotContext, intro: str | None = None) -> None:
    target = target_chat(update, context)
    if target is None:
        return
    _ = await gettext(update, context)
    one = _chat_first(context.services, await language(update, context))[0]
    following = await followed(context, target.id, one)
    text, markup = _picker(one, following, 0, context.services, _)
    await reply(update, context, f"{intro}\n\n{text}" if intro else text, markup)


async def picker_callback(update: Update, context: BotContext) -> None:
    query = update.callback_query
    target = target_chat(update, context)
    if query is None:
        return
    _ = await gettext(update, context)
    m = CALLBACK.match(query.data or "")
    key = (m and (m["te"] or m["ae"] or m["ve"] or m["fe"])) or "en"
    one = context.services.edition(key)
    if m is None or one is None or target is None or query.message is None:
        await query.answer(_(texts.STALE_BUTTON), show_alert=True)
        return
    tree = one.tree
    view = int(m["tview"] or m["aview"] or m["view"] or 0)
    toggle = m["toggle"] or m["follow"]
    if (view and view not in tree.by_id) or (toggle and int(toggle) not in tree.by_id):
        await query.answer(_(texts.STALE_BUTTON), show_alert=True)
        return
    if m["view"] is None and await refuse_non_admin(update, context):
        return
    chat_id, kind = target.id, target.type
    following = await followed(context, chat_id, one)
    toast = None
    if m["follow"]:
        choice = Choice(key, tree.by_id[int(m["follow"])].slug)
        added = await _apply(update, context, [choice], follow=True)
        done = texts.SUBSCRIBED if added else texts.ALREADY_SUBSCRIBED
        await query.edit_message_text(
            e(_(done).format(names=choice_names([choice], context.services, _)))
        )
        await query.answer()
        return
    if toggle or m["aview"] is not None:
        slug = tree.by_id[int(toggle)].slug if toggle else ALL
        name = choice_names([Choice(key, slug)], context.services, _)
        if slug in following:
            await context.store.unsubscribe(chat_id, one.site, [slug])
            following.discard(slug)
            toast = _(texts.TOAST_UNFOLLOW).format(category=name)
        else:
            await context.store.subscribe(chat_id, kind, one.site, [slug], chat_language(update))
            following.add(slug)
            toast = _(texts.TOAST_FOLLOW).format(category=name)
    try:
        if m["done"]:
            await query.edit_message_text(await _summary(context, chat_id, _))
        else:
            text, markup = _picker(one, following, view, context.services, _)
            if m["view"] is not None:
                await query.edit_message_text(text, reply_markup=markup)
            else:
                await query.edit_message_reply_markup(markup)
    except BadRequest as exc:
        if not is_not_modified(exc):
            raise
    await query.answer(render.clip(toast, 190) if toast else None)


async def _summary(context: BotContext, chat_id: int, _: Gettext) -> str:
    """What the chat follows now, in every edition, for the picker's Done."""
    subs = await context.store.subscriptions(chat_id)
    choices = [
        Choice(one.edition.key, s.slug)
        for one in context.services
        for s in subs
        if s.site == one.site
    ]
    if not choices:
        return e(_(texts.PICKER_DONE_NONE))
    return e(_(texts.PICKER_DONE).format(names=choice_names(choices, context.services, _)))
