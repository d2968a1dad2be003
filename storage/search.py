"""Full-text search over posts with FTS5, on one site or several.

Ranking: for words, bm25 with the title weighted ten times the body, over the newest
CANDIDATES matches (FTS5 walks its rowids, which follow publication time, backwards and
stops there), scaled down gently with age; so a common word costs about what a rare one
does. Phrases and prefixes, whose bm25 would have to check every matching document, and
filters alone list the newest matches first. Category filters are tokens in the index
(each post carries its categories and their ancestors, named with the post's site), so they
narrow the MATCH itself. Several sites are searched in one query, their posts ordered and
paged together, since rowids order every site's posts on one time line.

Snippets are cut in Python from the text as written (the index holds it folded), so they
keep the ZWNJs, the Arabic letters and the digits of the report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

import aiosqlite

from storage.categories import CategoryTree
from storage.models import Post, SearchHit, SearchPage, SearchQuery
from storage.normalize import HIT_END, HIT_START, Finder, as_written, finder
from storage.posts import category_token, get_posts, indexed_body, rank_bound, to_text
from storage.query import to_fts

CANDIDATES = 500
TITLE_WEIGHT = 10.0
# About the 24 words FTS5's snippet() gave, and the text kept before the first match.
SNIPPET_CHARS = 160
SNIPPET_LEAD = 40
ELLIPSIS = "…"
# A report a year old needs a bm25 score twice as strong to rank with one from today.
AGE_HALVING_SECONDS = 365 * 24 * 3600.0
TEXT_COLUMNS = "{title body}"


def _category_tokens(
    query: SearchQuery, sites: Mapping[str, CategoryTree] | None
) -> dict[str, str] | None:
    """For a category filter, the sites where it names one category, with that category's
    index token; None without a filter. Every site has its own tree: the slug or name is
    looked up in each, never an id carried over from another site."""
    if query.category is None:
        return None
    tokens: dict[str, str] = {}
    for site, tree in (sites or {}).items():
        found = tree.find(query.category)
        if len(found) == 1:
            tokens[site] = category_token(site, found[0].wp_id)
    return tokens


def _post_filters(
    sites: Sequence[str] | None, query: SearchQuery, *, seek: bool = False
) -> tuple[str, list[object]]:
    """Conditions on ``p`` (posts): the sites, and dates exactly. With ``seek``, one site is
    a lookup in the (site, rank_key) index; several are checked on rows read in rank_key
    order instead, which SQLite could not take from that index without sorting them all."""
    where: list[str] = []
    args: list[object] = []
    if sites is not None:
        if len(sites) == 1:
            where.append("p.site = ?")
        else:
            column = "+p.site" if seek else "p.site"
            where.append(f"{column} IN ({','.join('?' * len(sites))})")
        args.extend(sites)
    if query.since is not None:
        where.append("p.published >= ?")
        args.append(to_text(query.since))
    if query.until is not None:
        where.append("p.published < ?")
        args.append(to_text(query.until))
    return "".join(f" AND {w}" for w in where), args


def _rank_range(query: SearchQuery, column: str) -> tuple[str, list[object]]:
    """The same dates as a range of rank keys, which the indexes can seek."""
    cond = ""
    args: list[object] = []
    if query.since is not None:
        cond += f" AND {column} >= ?"
        args.append(rank_bound(query.since))
    if query.until is not None:
        cond += f" AND {column} < ?"
        args.append(rank_bound(query.until))
    return cond, args


async def search(
    db: aiosqlite.Connection,
    sites: Mapping[str, CategoryTree] | None,
    query: SearchQuery,
    *,
    limit: int,
    offset: int = 0,
    now: datetime,
    snippets: bool = True,
) -> SearchPage:
    """Search ``sites`` (each with its category tree; None: every site, and then a category
    filter matches nothing, having no tree to be read in)."""
    tokens = _category_tokens(query, sites)
    keys = list(tokens) if tokens is not None else (None if sites is None else list(sites))
    if keys is not None and not keys:
        return SearchPage((), False)
    words = to_fts(query)
    if words is None and not tokens:
        return await _latest(db, keys, query, limit=limit, offset=offset)
    parts = [f"{TEXT_COLUMNS} : ({words})"] if words else []
    if tokens:
        parts.append("cats : (" + " OR ".join(f'"{t}"' for t in tokens.values()) + ")")
    match = " AND ".join(parts)
    cond, args = _post_filters(keys, query)
    ranges, range_args = _rank_range(query, "f.rowid")
    ranked = bool(words) and not any(t.phrase or t.prefix for t in query.terms)
    if ranked:
        sql = f"""
            WITH cand AS (
                SELECT f.rowid AS rk, p.id AS pid,
                       bm25(posts_fts, {TITLE_WEIGHT}, 1.0, 0.0) AS score
                FROM posts_fts f JOIN posts p ON p.rank_key = f.rowid
                WHERE posts_fts MATCH ?{ranges}{cond}
                ORDER BY f.rowid DESC
                LIMIT {CANDIDATES}
            )
            SELECT pid FROM cand
            ORDER BY score / (1.0 + max(0.0, ? - (rk >> 20)) / {AGE_HALVING_SECONDS}), rk DESC
            LIMIT ? OFFSET ?
        """
        params = [match, *range_args, *args, int(now.timestamp()), limit + 1, offset]
    else:
        sql = f"""
            SELECT p.id FROM posts_fts f JOIN posts p ON p.rank_key = f.rowid
            WHERE posts_fts MATCH ?{ranges}{cond}
            ORDER BY f.rowid DESC
            LIMIT ? OFFSET ?
        """
        params = [match, *range_args, *args, limit + 1, offset]
    async with db.execute(sql, params) as cur:
        rows = list(await cur.fetchall())
    posts = await get_posts(db, [r[0] for r in rows[:limit]])
    found = _snippets(posts, query) if snippets and words else {}
    hits = tuple(SearchHit(p, found.get(p.id, "")) for p in posts)
    return SearchPage(hits, len(rows) > limit)


def _snippets(posts: Sequence[Post], query: SearchQuery) -> dict[int, str]:
    """A snippet of each post's body as written, with the query's words marked."""
    find = finder((t.text, t.prefix) for t in query.terms)
    if find is None:
        return {}
    return {
        p.id: snippet(as_written(indexed_body(p.content, p.excerpt, p.tags)), find) for p in posts
    }


def snippet(text: str, find: Finder) -> str:
    """About SNIPPET_CHARS of ``text`` around the matches of ``find``, cut between words: the
    stretch holding the most different terms, the first of those; matches are wrapped in
    HIT_START and HIT_END. Without a match, the start of the text."""
    if HIT_START in text or HIT_END in text:
        text = text.replace(HIT_START, "").replace(HIT_END, "")
    hits = find.hits(text)
    begin = 0
    if hits:
        best, best_score = 0, (0, 0)
        for i, (start, _, _) in enumerate(hits):
            names: set[int] = set()
            for s, _, name in hits[i:]:
                if s >= start + SNIPPET_CHARS:
                    break
                names.add(name)
            # Different terms first, then how many matches.
            score = (len(names), -i)
            if score > best_score:
                best, best_score = i, score
        anchor = hits[best][0]
        # Some text before the match, more when the text would end before the snippet.
        begin = max(0, min(anchor - SNIPPET_LEAD, len(text) - SNIPPET_CHARS))
        if begin:
            # From the paragraph's start when it is near, else from the next word.
            line = text.rfind("\n", begin, anchor)
            space = re.search(r"\s", text[begin:anchor])
            if line >= 0:
                begin = line + 1
            elif space is not None:
                begin += space.end()
            else:
                begin = anchor
    end = begin + SNIPPET_CHARS
    if end < len(text):
        cut = max(text.rfind(" ", begin, end), text.rfind("\n", begin, end))
        end = cut if cut > begin else end
        # A match the cut would split is kept whole.
        end = max([end, *(e for s, e, _ in hits if s < end < e)])
    out = [ELLIPSIS] if begin else []
    pos = begin
    for s, e, _ in hits:
        if s < begin or s >= end:
            continue
        out += [text[pos:s], HIT_START, text[s:e], HIT_END]
        pos = e
    out.append(text[pos:end].rstrip())
    if end < len(text):
        out.append(ELLIPSIS)
    return "".join(out)


async def _latest(
    db: aiosqlite.Connection,
    sites: Sequence[str] | None,
    query: SearchQuery,
    *,
    limit: int,
    offset: int,
) -> SearchPage:
    """Newest first: by the (site, rank_key) index for one site, by rank_key for several or
    all; dates narrow the range it walks."""
    cond, args = _post_filters(sites, query, seek=True)
    ranges, range_args = _rank_range(query, "p.rank_key")
    async with db.execute(
        f"SELECT p.id FROM posts p WHERE 1{cond}{ranges} ORDER BY p.rank_key DESC "
        "LIMIT ? OFFSET ?",
        (*args, *range_args, limit + 1, offset),
    ) as cur:
        rows = list(await cur.fetchall())
    posts = await get_posts(db, [r[0] for r in rows[:limit]])
    return SearchPage(tuple(SearchHit(p, "") for p in posts), len(rows) > limit)
