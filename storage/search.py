"""Full-text search over posts with FTS5.

Ranking: bm25 with the title weighted ten times the body, over the newest CANDIDATES matches
(FTS5 walks its rowids, which follow publication time, backwards and stops there), scaled
down gently with age. So a common word costs the same as a rare one, and among many matches
the relevant recent reports come first.
"""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.categories import CategoryTree
from storage.models import SearchHit, SearchPage, SearchQuery
from storage.normalize import HIT_END, HIT_START
from storage.posts import get_posts, rank_bound, to_text
from storage.query import to_fts

CANDIDATES = 1000
TITLE_WEIGHT = 10.0
SNIPPET_TOKENS = 24
# A report a year old needs a bm25 score twice as strong to rank with one from today.
AGE_HALVING_SECONDS = 365 * 24 * 3600.0


def _filters(
    site: str | None,
    query: SearchQuery,
    tree: CategoryTree | None,
) -> tuple[list[str], list[object]] | None:
    """SQL conditions on ``p`` (posts); None when the filters can match nothing."""
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
    if query.category is not None:
        found = tree.find(query.category) if tree is not None else []
        if len(found) != 1:
            return None
        ids = sorted(tree.descendants(found[0].wp_id)) if tree is not None else []
        marks = ",".join("?" * len(ids))
        where.append(
            "EXISTS (SELECT 1 FROM post_categories pc WHERE pc.post_id = p.id "
            f"AND pc.category IN ({marks}))"
        )
        args.extend(ids)
    return where, args


async def search(
    db: aiosqlite.Connection,
    site: str | None,
    query: SearchQuery,
    tree: CategoryTree | None,
    *,
    limit: int,
    offset: int = 0,
    now: datetime,
) -> SearchPage:
    filters = _filters(site, query, tree)
    if filters is None:
        return SearchPage((), False)
    where, args = filters
    match = to_fts(query)
    if match is None:
        return await _latest(db, where, args, limit=limit, offset=offset)
    rowid_range: list[str] = []
    range_args: list[object] = []
    if query.since is not None:
        rowid_range.append("AND f.rowid >= ?")
        range_args.append(rank_bound(query.since))
    if query.until is not None:
        rowid_range.append("AND f.rowid < ?")
        range_args.append(rank_bound(query.until))
    cond = "".join(f" AND {w}" for w in where)
    sql = f"""
        WITH cand AS (
            SELECT f.rowid AS rk, p.id AS pid, bm25(posts_fts, {TITLE_WEIGHT}, 1.0) AS score
            FROM posts_fts f JOIN posts p ON p.rank_key = f.rowid
            WHERE posts_fts MATCH ? {" ".join(rowid_range)}{cond}
            ORDER BY f.rowid DESC
            LIMIT {CANDIDATES}
        )
        SELECT pid, rk FROM cand
        ORDER BY score / (1.0 + max(0.0, ? - (rk >> 20)) / {AGE_HALVING_SECONDS}), rk DESC
        LIMIT ? OFFSET ?
    """
    params = [match, *range_args, *args, int(now.timestamp()), limit + 1, offset]
    async with db.execute(sql, params) as cur:
        rows = list(await cur.fetchall())
    more = len(rows) > limit
    rows = rows[:limit]
    posts = await get_posts(db, [r[0] for r in rows])
    snippets = await _snippets(db, match, [r[1] for r in rows])
    hits = tuple(SearchHit(p, snippets.get(r[1], "")) for p, r in zip(posts, rows, strict=True))
    return SearchPage(hits, more)


async def _snippets(db: aiosqlite.Connection, match: str, keys: list[int]) -> dict[int, str]:
    """Snippets for one page only: making them tokenizes the whole body, so it is not cheap."""
    out: dict[int, str] = {}
    for key in keys:
        async with db.execute(
            f"SELECT snippet(posts_fts, 1, ?, ?, '…', {SNIPPET_TOKENS}) "
            "FROM posts_fts WHERE posts_fts MATCH ? AND rowid = ?",
            (HIT_START, HIT_END, match, key),
        ) as cur:
            row = await cur.fetchone()
        if row is not None:
            out[key] = row[0] or ""
    return out


async def _latest(
    db: aiosqlite.Connection, where: list[str], args: list[object], *, limit: int, offset: int
) -> SearchPage:
    cond = f"WHERE {' AND '.join(where)}" if where else ""
    async with db.execute(
        f"SELECT p.id FROM posts p {cond} ORDER BY p.rank_key DESC LIMIT ? OFFSET ?",
        (*args, limit + 1, offset),
    ) as cur:
        rows = list(await cur.fetchall())
    posts = await get_posts(db, [r[0] for r in rows[:limit]])
    return SearchPage(tuple(SearchHit(p, "") for p in posts), len(rows) > limit)
