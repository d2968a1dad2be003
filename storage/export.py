"""Posts for an export, read page by page in publication order: memory stays flat whatever
the size of the archive."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime

import aiosqlite

from storage.models import Post
from storage.posts import get_posts, rank_bound


async def posts(
    db: aiosqlite.Connection,
    categories: Mapping[str, Sequence[int] | None],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 500,
) -> AsyncIterator[Post]:
    """The posts of these sites (site -> category ids, any of which a post must have; None:
    every post), oldest first, published in [since, until)."""
    low = rank_bound(since) if since else 0
    high = rank_bound(until) if until else 1 << 62
    for site, ids in categories.items():
        after = low - 1
        while True:
            filters = ""
            args: list[object] = [site, after, high]
            if ids is not None:
                marks = ",".join("?" * len(ids))
                filters = (
                    " AND EXISTS (SELECT 1 FROM post_categories pc WHERE pc.post_id = p.id "
                    f"AND pc.category IN ({marks}))"
                )
                args += list(ids)
            async with db.execute(
                "SELECT p.id, p.rank_key FROM posts p WHERE p.site = ? AND p.rank_key > ? "
                f"AND p.rank_key < ?{filters} ORDER BY p.rank_key LIMIT ?",
                (*args, page),
            ) as cur:
                rows = [(r[0], r[1]) for r in await cur.fetchall()]
            if not rows:
                break
            for post in await get_posts(db, [r[0] for r in rows]):
                yield post
            after = rows[-1][1]
