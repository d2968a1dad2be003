"""Posts, lists and keyboards as Telegram HTML. Everything that is not markup is escaped."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.delivery import timing
from bot.i18n import texts
from storage import (
    ALL,
    Category,
    CategoryTree,
    ChatSettings,
    Post,
    SearchPage,
    Stats,
    Subscription,
    Watch,
)
from storage.normalize import HIT_END, HIT_START

Gettext = texts.Translator

MAX_MESSAGE = 4096
MAX_TITLE = 400
# The site is often blocked in Iran: an alert carries the start of the report itself, longer
# than WordPress's 55-word excerpt, so it is useful without opening the link.
EXCERPT_CHARS = 1000
CHECK, COVERED = "✅ ", "☑️ "
RLM = "\u200f"  # right-to-left mark
LRM = "\u200e"  # left-to-right mark
_COMMAND_FIRST = re.compile(r"(?:<[^>]*>)*/")
_NON_WORD = re.compile(r"\W+")


def e(text: str) -> str:
    return escape(text, quote=False)


def edition_name(key: str, _: Gettext) -> str:
    return _(texts.EDITION_FA if key == "fa" else texts.EDITION_EN)


def hashtag(name: str) -> str:
    return "#" + _NON_WORD.sub("_", name).strip("_")


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary with an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + "…"


def post_date(post: Post, _: Gettext) -> str:
    return _.date(post.published) if post.published else _(texts.UNDATED)


def hashtags(post: Post, tree: CategoryTree) -> str:
    names = [tree.by_id[c].name for c in post.categories if c in tree.by_id]
    tags = " ".join(dict.fromkeys(hashtag(n) for n in names if _NON_WORD.sub("", n)))
    return clip(tags, 300)


def _summary(post: Post) -> str:
    """The start of the text; WordPress's excerpt where there is no text."""
    if post.content.strip():
        return post.content.replace("\n", " ")
    return post.excerpt.removesuffix("[…]").removesuffix("[&#8230;]").strip()


def alert(
    post: Post,
    tree: CategoryTree,
    _: Gettext,
    *,
    discreet: bool = False,
    watched: Sequence[str] = (),
    updated: bool = False,
) -> str:
    """One post as one message: title, date and hashtags, a summary, the link.

    A Persian report's lines each start with a right-to-left mark: Telegram sets a line's
    direction from its first letter, and a line that opens with a Latin name, a digit or a
    hashtag would otherwise run left to right, with its punctuation at the wrong end.

    ``discreet``: the first line, all a lock screen or the chat list shows, is a neutral
    "New report"; the title follows. ``watched``: the chat's phrases that brought it.
    ``updated``: the alert is being edited with a correction.
    """
    rtl = RLM if post.lang == "fa" else ""
    ui = RLM if _.language == "fa" else ""
    top: list[str] = []
    if discreet:
        top.append(_(texts.ALERT_NEW_REPORT))
    if updated:
        top.append(f"✏️ {_(texts.ALERT_UPDATED)}")
    first = f"{ui}{e(' · '.join(top))}\n" if top else ""
    head = f"{first}{rtl}<b>{e(clip(post.title, MAX_TITLE))}</b>\n"
    meta = " · ".join(x for x in (post_date(post, _), hashtags(post, tree)) if x)
    why = ""
    if watched:
        phrases = _.join(_.quote(clip(p, 100)) for p in watched[:5])
        why = f"\n{ui}👁 {e(_(texts.ALERT_WATCHED).format(phrases=phrases))}"
    link = f'{rtl}<a href="{escape(post.url, quote=True)}">{e(_(texts.READ_MORE))}</a>'
    budget = MAX_MESSAGE - len(head) - len(meta) - len(why) - len(link) - 20
    summary = clip(_summary(post), min(EXCERPT_CHARS, max(budget, 0)))
    body = f"\n\n{rtl}{e(summary)}" if summary else ""
    return f"{head}{rtl}{e(meta)}{why}{body}\n\n{link}"


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split a long HTML text at line ends so that no piece breaks a tag."""
    out: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit and current:
            out.append(current)
            current = line
        else:
            current = candidate
    if current:
        out.append(current)
    return out


def digest(
    posts: Sequence[Post], tree_of: Callable[[str], CategoryTree], day: str, _: Gettext
) -> list[str]:
    """A chat's reports of one day as few messages as Telegram allows: linked titles and
    dates, grouped by category (each post under its most specific one, groups in the site's
    order), newest first."""
    if not posts:
        return []
    groups: dict[tuple[int, str, int], tuple[str, list[Post]]] = {}
    for post in sorted(posts, key=lambda p: p.published or p.first_seen, reverse=True):
        tree = tree_of(post.site)
        walk = {c.wp_id: (i, depth) for i, (depth, c) in enumerate(tree.walk())}
        own = [c for c in post.categories if c in walk]
        if own:
            best = min(own, key=lambda c: (-walk[c][1], walk[c][0]))
            key, name = (0, post.site, walk[best][0]), tree.by_id[best].name
        else:
            key, name = (1, "", 0), _(texts.DIGEST_OTHER)
        groups.setdefault(key, (name, []))[1].append(post)
    when = datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC).replace(hour=12)
    title = _(texts.DIGEST_TITLE).format(day=_.date(when), count=_.number(len(posts)))
    ui = RLM if _.language == "fa" else ""
    lines = [f"{ui}<b>{e(title)}</b>"]
    for _key, (name, members) in sorted(groups.items()):
        lines += ["", f"{ui}<b>{e(name)}</b>"]
        for post in members:
            # A Persian chat's list reads right to left, English titles included, and its
            # dates are Persian words: each keeps its own direction.
            rtl = RLM if post.lang == "fa" or ui else ""
            link = f'<a href="{escape(post.url, quote=True)}">{e(clip(post.title, 200))}</a>'
            lines.append(f"{rtl}• {link} · {ui}{e(post_date(post, _))}")
    return split_message("\n".join(lines))


def post_line(post: Post, tree: CategoryTree, _: Gettext) -> str:
    """A post as one entry of a list: linked title, date, hashtags."""
    title = f'<a href="{escape(post.url, quote=True)}">{e(clip(post.title, 200))}</a>'
    meta = " · ".join(x for x in (post_date(post, _), hashtags(post, tree)) if x)
    return f"{title}\n{e(meta)}"


def latest(
    posts: Sequence[Post], tree_of: Callable[[str], CategoryTree], heading: str, _: Gettext
) -> str:
    if not posts:
        return e(_(texts.LATEST_NONE))
    lines = [f"<b>{e(heading)}</b>"] + [post_line(p, tree_of(p.site), _) for p in posts]
    return "\n\n".join(lines)


def start_intro(_: Gettext) -> str:
    """Plain text: what the bot does, above the picker."""
    return f"{_(texts.START)}\n\n{_(texts.START_PICK)}"


def help_text(_: Gettext) -> str:
    lines = [f"<b>{e(_(texts.HELP_TITLE))}</b>", ""]
    for command, args, what, example in texts.COMMANDS:
        usage = f"/{command} {_(args)}".rstrip() if args else f"/{command}"
        lines.append(f"<code>{e(usage)}</code>: {e(_(what))}")
        if example != f"/{command}":
            lines.append(
                "    " + e(_(texts.HELP_EXAMPLE)).format(example=f"<code>{e(example)}</code>")
            )
    lines += ["", e(_(texts.HELP_CHANNELS)), "", e(_(texts.HELP_FOOTER))]
    return _directed(lines, _)


def _directed(lines: list[str], _: Gettext) -> str:
    """Lines that open with a Latin command still read right to left in a Persian text, and
    the command itself left to right: without the LRM after the RLM, "/watch" shows as
    "watch/"."""
    if _.language != "fa":
        return "\n".join(lines)
    return "\n".join(
        f"{RLM}{LRM if _COMMAND_FIRST.match(line) else ''}{line}" if line else line
        for line in lines
    )


def category_list(tree: CategoryTree, _: Gettext) -> str:
    if not len(tree):
        return e(_(texts.NO_CATEGORIES))
    lines = [e(_(texts.CATEGORIES)), ""]
    for depth, cat in tree.walk():
        lines.append(f"{'    ' * depth}{e(cat.name)}: <code>{e(cat.slug)}</code>")
    return "\n".join(lines)


def names(slugs: Iterable[str], tree: CategoryTree, _: Gettext) -> str:
    """Categories named for a reply: their path where a name alone is ambiguous."""
    out = []
    for slug in slugs:
        if slug == ALL:
            out.append(_(texts.ALL_REPORTS))
        elif slug in tree.by_slug:
            out.append(tree.label(tree.by_slug[slug].wp_id))
        else:
            out.append(slug)
    return _.join(out)


def subscriptions(subs: Sequence[Subscription], tree: CategoryTree, _: Gettext) -> str:
    if not subs:
        return e(_(texts.MYSUBS_NONE))
    lines = [e(_(texts.MYSUBS))]
    lines += [f"• {e(names([s.slug], tree, _))}" for s in subs]
    return "\n".join(lines)


def _mark(cat: Category, tree: CategoryTree, followed: set[str]) -> str:
    if cat.slug in followed:
        return CHECK
    if any(a.slug in followed for a in tree.ancestors(cat.wp_id)[1:]) or ALL in followed:
        return COVERED
    return ""


def picker(
    tree: CategoryTree,
    followed: set[str],
    view: int,
    _: Gettext,
    edition: str = "en",
    switch: tuple[str, str] | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    """The category picker of one edition: top-level categories, or one branch (``view`` is
    its id); ``switch`` is (edition, label) of a button to the other edition's picker.

    Callback data name categories by (edition, id), never by slug: a Persian slug would not
    fit Telegram's 64 bytes."""
    rows: list[list[InlineKeyboardButton]] = []
    branch = tree.by_id.get(view)
    if branch is None:
        mark = CHECK if ALL in followed else ""
        rows.append(
            [InlineKeyboardButton(mark + _(texts.BUTTON_ALL), callback_data=f"sub:a:{edition}:0")]
        )
        for cat in tree.children(0):
            row = [
                InlineKeyboardButton(
                    _mark(cat, tree, followed) + cat.name,
                    callback_data=f"sub:t:{edition}:{cat.wp_id}:0",
                )
            ]
            if tree.children(cat.wp_id):
                label = _(texts.BUTTON_OPEN).format(category=cat.name)
                row.append(
                    InlineKeyboardButton(label, callback_data=f"sub:v:{edition}:{cat.wp_id}")
                )
            rows.append(row)
        text = _(texts.PICKER)
        if switch is not None:
            rows.append([InlineKeyboardButton(switch[1], callback_data=f"sub:v:{switch[0]}:0")])
    else:
        target = f":{branch.wp_id}"
        rows.append(
            [
                InlineKeyboardButton(
                    _mark(branch, tree, followed) + branch.name,
                    callback_data=f"sub:t:{edition}:{branch.wp_id}{target}",
                )
            ]
        )
        below = [c for _d, c in _subtree(tree, branch.wp_id)]
        for i in range(0, len(below), 2):
            rows.append(
                [
                    InlineKeyboardButton(
                        _mark(c, tree, followed) + c.name,
                        callback_data=f"sub:t:{edition}:{c.wp_id}{target}",
                    )
                    for c in below[i : i + 2]
                ]
            )
        rows.append(
            [InlineKeyboardButton(_(texts.BUTTON_BACK), callback_data=f"sub:v:{edition}:0")]
        )
        text = _(texts.PICKER_BRANCH).format(category=tree.label(branch.wp_id))
    rows.append([InlineKeyboardButton(_(texts.BUTTON_DONE), callback_data="sub:d")])
    return e(text), InlineKeyboardMarkup(rows)


def _subtree(tree: CategoryTree, root: int) -> list[tuple[int, Category]]:
    out: list[tuple[int, Category]] = []

    def visit(parent: int, depth: int) -> None:
        for c in tree.children(parent):
            out.append((depth, c))
            visit(c.wp_id, depth + 1)

    visit(root, 0)
    return out


def watch_key(folded: str) -> str:
    """A phrase's name in callback data: a phrase may not fit Telegram's 64 bytes."""
    return hashlib.blake2b(folded.encode(), digest_size=6).hexdigest()


def watch_list(watches: Sequence[Watch], _: Gettext) -> tuple[str, InlineKeyboardMarkup | None]:
    if not watches:
        return e(_(texts.WATCH_NONE) + "\n\n" + _(texts.WATCH_USAGE)), None
    rows = [
        [
            InlineKeyboardButton(
                f"✖ {clip(w.phrase, 60)}", callback_data=f"w:rm:{watch_key(w.folded)}"
            )
        ]
        for w in watches
    ]
    lines = [e(_(texts.WATCH_LIST)), ""] + [f"• {e(w.phrase)}" for w in watches]
    return _directed(lines, _), InlineKeyboardMarkup(rows)


def zone_label(settings: ChatSettings) -> str:
    return settings.timezone or timing.DEFAULT_ZONE


def quiet_value(settings: ChatSettings, _: Gettext) -> str:
    if settings.quiet_start is None or settings.quiet_end is None:
        return _(texts.OFF)
    return _(texts.WINDOW).format(
        start=_.clock(settings.quiet_start), end=_.clock(settings.quiet_end)
    )


def digest_value(settings: ChatSettings, _: Gettext) -> str:
    if settings.digest_at is None:
        return _(texts.OFF)
    return _(texts.AT_TIME).format(time=_.clock(settings.digest_at))


# Hours offered by the settings' buttons; /quiet and /digest take any.
QUIET_PRESETS = ((22 * 60, 7 * 60), (23 * 60, 7 * 60), (0, 8 * 60))
DIGEST_PRESETS = (8 * 60, 12 * 60, 18 * 60, 21 * 60)


def settings_view(
    settings: ChatSettings, language: str, _: Gettext, view: str = "main"
) -> tuple[str, InlineKeyboardMarkup]:
    """The /settings message: every setting, and buttons to change them (``view``: "main",
    or "q" and "g" for the choices of quiet hours and digest times)."""
    lines = [
        f"<b>{e(_(texts.SETTINGS_TITLE))}</b>",
        # The chat's language, named in itself (it may not be the reader's: a channel's).
        e(_(texts.SETTINGS_LANGUAGE).format(value=texts.tr(language)(texts.LANGUAGE_NAME))),
        e(
            _(texts.SETTINGS_DISCREET).format(
                value=_(texts.ON if settings.discreet else texts.OFF)
            )
        ),
        e(_(texts.SETTINGS_QUIET).format(value=quiet_value(settings, _))),
        e(_(texts.SETTINGS_DIGEST).format(value=digest_value(settings, _))),
        e(_(texts.SETTINGS_ZONE).format(zone=zone_label(settings))),
        "",
    ]
    back = [InlineKeyboardButton(_(texts.BUTTON_SETTINGS_BACK), callback_data="set:m")]
    if view == "q":
        lines.append(e(_(texts.QUIET_PICK)))
        rows = [
            [
                InlineKeyboardButton(
                    _(texts.WINDOW).format(start=_.clock(a), end=_.clock(b)),
                    callback_data=f"set:q:{a}-{b}",
                )
            ]
            for a, b in QUIET_PRESETS
        ]
        rows += [[InlineKeyboardButton(_(texts.BUTTON_TURN_OFF), callback_data="set:q:off")], back]
    elif view == "g":
        lines.append(e(_(texts.DIGEST_PICK)))
        times = [
            InlineKeyboardButton(_.clock(t), callback_data=f"set:g:{t}") for t in DIGEST_PRESETS
        ]
        rows = [times, [InlineKeyboardButton(_(texts.BUTTON_TURN_OFF), callback_data="set:g:off")]]
        rows.append(back)
    else:
        lines.append(e(_(texts.SETTINGS_HINT)))
        other = "en" if language == "fa" else "fa"
        switch = texts.tr(other)(texts.BUTTON_LANGUAGE)
        discreet = texts.BUTTON_DISCREET_OFF if settings.discreet else texts.BUTTON_DISCREET_ON
        rows = [
            [InlineKeyboardButton(switch, callback_data=f"set:l:{other}")],
            [
                InlineKeyboardButton(
                    _(discreet), callback_data=f"set:d:{0 if settings.discreet else 1}"
                )
            ],
            [
                InlineKeyboardButton(_(texts.BUTTON_QUIET), callback_data="set:q"),
                InlineKeyboardButton(_(texts.BUTTON_DIGEST), callback_data="set:g"),
            ],
        ]
        if zone_label(settings) != timing.DEFAULT_ZONE:
            rows.append(
                [InlineKeyboardButton(_(texts.BUTTON_ZONE_DEFAULT), callback_data="set:z")]
            )
    return _directed(lines, _), InlineKeyboardMarkup(rows)


def forget_keyboard(_: Gettext) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_(texts.BUTTON_FORGET), callback_data="forget:yes"),
                InlineKeyboardButton(_(texts.BUTTON_CANCEL), callback_data="forget:no"),
            ]
        ]
    )


def stats(
    s: Stats,
    editions: Sequence[tuple[str, Stats, dict[str, object] | None, CategoryTree]],
    _: Gettext,
) -> str:
    """Figures for the admins: chats and deliveries, then each edition's posts, last poll and
    subscriptions (``editions``: name, the edition's figures, its last poll, its tree)."""
    lines = [
        f"<b>{e(_(texts.STATS_TITLE))}</b>",
        e(_(texts.STATS_CHATS).format(n=_.number(s.chats), inactive=_.number(s.inactive_chats))),
        e(
            _(texts.STATS_CHAT_KINDS).format(
                private=_.number(s.kinds.get("private", 0)),
                groups=_.number(s.kinds.get("group", 0)),
                channels=_.number(s.kinds.get("channel", 0)),
            )
        ),
        e(
            _(texts.STATS_DELIVERIES).format(
                pending=_.number(s.pending), failed=_.number(s.failed), sent=_.number(s.sent)
            )
        ),
    ]
    for name, figures, last_poll, tree in editions:
        lines += [
            "",
            f"<b>{e(name)}</b>",
            e(_(texts.STATS_POSTS).format(n=_.number(figures.posts))),
        ]
        if last_poll:
            errors = last_poll.get("errors") or []
            result = (
                "failed: " + "; ".join(str(x) for x in errors)  # type: ignore[attr-defined]
                if errors
                else f"{last_poll.get('source')}: {last_poll.get('new')} new, "
                f"{last_poll.get('modified')} modified"
            )
            when = last_poll.get("at")
            lines.append(e(_(texts.STATS_LAST_POLL).format(when=when, result=result)))
        else:
            lines.append(e(_(texts.STATS_NEVER)))
        if figures.subscriptions:
            lines.append(e(_(texts.STATS_SUBS)))
            lines += [
                f"• {e(names([slug], tree, _))}: {_.number(n)}"
                for slug, n in figures.subscriptions.items()
            ]
    return "\n".join(lines)


def snippet(text: str) -> str:
    """A search snippet as HTML: escaped, with the matched words in bold."""
    html = e(" ".join(text.split()))
    if html.count(HIT_START) != html.count(HIT_END):
        return html.replace(HIT_START, "").replace(HIT_END, "")
    return html.replace(HIT_START, "<b>").replace(HIT_END, "</b>")


def search_usage(bot_username: str | None, _: Gettext) -> str:
    lines = [e(_(texts.SEARCH_USAGE)), ""]
    for example, what in texts.SEARCH_SYNTAX:
        lines.append(f"<code>{e(example)}</code>: {e(_(what))}")
    if bot_username:
        lines += ["", e(_(texts.INLINE_HINT).format(bot=bot_username))]
    return _directed(lines, _)


def search_page(
    page: SearchPage,
    tree_of: Callable[[str], CategoryTree],
    query: str,
    offset: int,
    _: Gettext,
) -> str:
    """A page of results; ``tree_of`` gives the category tree of a post's site."""
    shown = clip(query, 80)
    if not page.hits:
        return e(_(texts.SEARCH_NONE).format(query=shown))
    first, last = _.number(offset + 1), _.number(offset + len(page.hits))
    lines = [f"<b>{e(_(texts.SEARCH_RESULTS).format(first=first, last=last, query=shown))}</b>"]
    for hit in page.hits:
        post = hit.post
        tree = tree_of(post.site)
        labels = _.join(tree.label(c) for c in post.categories if c in tree.by_id)
        meta = " · ".join(x for x in (post_date(post, _), labels) if x)
        title = f'<a href="{escape(post.url, quote=True)}">{e(clip(post.title, 200))}</a>'
        body = snippet(hit.snippet) if hit.snippet else e(clip(_summary(post), 200))
        lines.append(f"{title}\n{e(meta)}\n{body}")
    return "\n\n".join(lines)


def search_keyboard(
    key: str, offset: int, more: bool, per_page: int, _: Gettext
) -> InlineKeyboardMarkup | None:
    row = []
    if offset > 0:
        row.append(
            InlineKeyboardButton(
                _(texts.BUTTON_PREVIOUS), callback_data=f"s:{key}:{max(offset - per_page, 0)}"
            )
        )
    if more:
        row.append(
            InlineKeyboardButton(
                _(texts.BUTTON_NEXT), callback_data=f"s:{key}:{offset + per_page}"
            )
        )
    return InlineKeyboardMarkup([row]) if row else None


def inline_description(post: Post, _: Gettext) -> str:
    return f"{post_date(post, _)} · {clip(_summary(post), 120)}"
