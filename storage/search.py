"""Full-text search over posts with FTS5.

Ranking: for words, bm25 with the title weighted ten times the body, over the newest
CANDIDATES matches (FTS5 walks its rowids, which follow publication time, backwards and
stops there), scaled down gently with age; so a common word costs about what a rare one
does. Phrases and prefixes, whose bm25 would have to check every matching document, and
filters alone list the newest matches first. Category filters are tokens in the index
(each post carries its categories and their ancestors), so they narrow the MATCH itself.
"""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.categories import CategoryTree
from storage.models import SearchHit, SearchPage, SearchQuery
from storage.normalize import HIT_END, HIT_START
from storage.posts import category_token, get_posts, rank_bound, to_text
from storage.query import to_fts

CANDIDATES = 500
TITLE_WEIGHT = 10.0
SNIPPET_TOKENS = 24
# A report a year old needs a bm25 score twice as strong to rank with one from today.
AGE_HALVING_SECONDS = 365 * 24 * 3600.0
TEXT_COLUMNS = "{title body}"


def _category(query: SearchQuery, tree: CategoryTree | None) -> str | bool | None:
    """The index token for the query's category; None without one, False if it is unknown."""
    if query.category is None:
        return None
    found = tree.find(query.category) if tree is not None else []
    if len(found) != 1:
        return False
    return category_token(found[0].wp_id)


def _post_filters(site: str | None, query: SearchQuery) -> tuple[str, list[object]]:
    """Conditions on ``p`` (posts): the site, and dates exactly."""
    where: list[str] = []
    args: list[object] = []
    if site is not None:
        where.append("p.site = ?")
        args.append(site)
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
    site: str | None,
    query: SearchQuery,
    tree: CategoryTree | None,
    *,
    limit: int,
    offset: int = 0,
    now: datetime,
    snippets: bool = True,
) -> SearchPage:
    category = _category(query, tree)
    if category is False:
        return SearchPage((), False)
    words = to_fts(query)
    if words is None and category is None:
        return await _latest(db, site, query, limit=limit, offset=offset)
    parts = [f"{TEXT_COLUMNS} : ({words})"] if words else []
    if category:
        parts.append(f'cats : "{category}"')
    match = " AND ".join(parts)
    cond, args = _post_filters(site, query)
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
            SELECT pid, rk FROM cand
            ORDER BY score / (1.0 + max(0.0, ? - (rk >> 20)) / {AGE_HALVING_SECONDS}), rk DESC
            LIMIT ? OFFSET ?
        """
        params = [match, *range_args, *args, int(now.timestamp()), limit + 1, offset]
    else:
        # The rows come straight from the index walk, so their snippets can be made in the
        # same query: a second MATCH would merge a prefix's index entries all over again.
        snippet = (
            f"snippet(posts_fts, 1, ?, ?, '…', {SNIPPET_TOKENS})" if snippets and words else "''"
        )
        sql = f"""
            SELECT p.id, f.rowid, {snippet} FROM posts_fts f JOIN posts p ON p.rank_key = f.rowid
            WHERE posts_fts MATCH ?{ranges}{cond}
            ORDER BY f.rowid DESC
            LIMIT ? OFFSET ?
        """
        markers = [HIT_START, HIT_END] if snippets and words else []
        params = [*markers, match, *range_args, *args, limit + 1, offset]
    async with db.execute(sql, params) as cur:
        rows = list(await cur.fetchall())
    more = len(rows) > limit
    rows = rows[:limit]
    posts = await get_posts(db, [r[0] for r in rows])
    found: dict[int, str] = {}
    if not ranked:
        found = {r[1]: r[2] or "" for r in rows}
    elif snippets:
        found = await _snippets(db, f"{TEXT_COLUMNS} : ({words})", [r[1] for r in rows])
    hits = tuple(SearchHit(p, found.get(r[1], "")) for p, r in zip(posts, rows, strict=True))
    return SearchPage(hits, more)


async def _snippets(db: aiosqlite.Connection, match: str, keys: list[int]) -> dict[int, str]:
    """Snippets for one page, in one query: the rowid range lets FTS5 look at these rows
    only (each snippet tokenizes a whole body, so they are made for the page alone)."""
    if not keys:
        return {}
    marks = ",".join("?" * len(keys))
    async with db.execute(
        f"SELECT rowid, snippet(posts_fts, 1, ?, ?, '…', {SNIPPET_TOKENS}) FROM posts_fts "
        f"WHERE posts_fts MATCH ? AND rowid BETWEEN ? AND ? AND +rowid IN ({marks})",
        (HIT_START, HIT_END, match, min(keys), max(keys), *keys),
    ) as cur:
        return {r[0]: r[1] or "" for r in await cur.fetchall()}


async def _latest(
    db: aiosqlite.Connection, site: str | None, query: SearchQuery, *, limit: int, offset: int
) -> SearchPage:
    """Newest first, by the (site, rank_key) index; dates narrow the range it walks."""
    cond, args = _post_filters(site, query)
    ranges, range_args = _rank_range(query, "p.rank_key")
    async with db.execute(
        f"SELECT p.id FROM posts p WHERE 1{cond}{ranges} ORDER BY p.rank_key DESC "
        "LIMIT ? OFFSET ?",
        (*args, *range_args, limit + 1, offset),
    ) as cur:
        rows = list(await cur.fetchall())
    posts = await get_posts(db, [r[0] for r in rows[:limit]])
    return SearchPage(tuple(SearchHit(p, "") for p in posts), len(rows) > limit)
