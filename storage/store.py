"""The one facade the rest of the program uses to reach the database."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from storage import categories, posts, search
from storage.categories import CategoryTree
from storage.db import Writer, connect
from storage.models import Category, Post, PostIn, SearchPage, SearchQuery, UpsertResult


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self.db = db
        self.path = path
        self.writer = Writer(db)

    @classmethod
    async def open(cls, path: Path) -> Store:
        return cls(await connect(path), path)

    async def close(self) -> None:
        await self.db.close()

    # -- site state: poll results, conditional-GET validators, backfill cursor ------------

    async def get_state(self, site: str) -> dict[str, Any]:
        async with self.db.execute(
            "SELECT key, value FROM site_state WHERE site = ?", (site,)
        ) as cur:
            return {k: json.loads(v) for k, v in await cur.fetchall()}

    async def set_state(self, site: str, values: Mapping[str, Any]) -> None:
        async with self.writer.transaction() as db:
            await db.executemany(
                "INSERT INTO site_state (site, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (site, key) DO UPDATE SET value = excluded.value",
                [(site, k, json.dumps(v)) for k, v in values.items()],
            )

    # -- categories and tags ----------------------------------------------------------------

    async def load_tree(self, site: str) -> CategoryTree:
        return await categories.load_tree(self.db, site)

    async def replace_categories(self, site: str, cats: Sequence[Category]) -> CategoryTree:
        async with self.writer.transaction() as db:
            await categories.replace_tree(db, site, cats)
        return CategoryTree(cats)

    async def tag_names(self, site: str, ids: Sequence[int]) -> dict[int, str]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        async with self.db.execute(
            f"SELECT wp_id, name FROM tags WHERE site = ? AND wp_id IN ({marks})",
            (site, *ids),
        ) as cur:
            return {r[0]: r[1] for r in await cur.fetchall()}

    async def add_tags(self, site: str, names: Mapping[int, str]) -> None:
        async with self.writer.transaction() as db:
            await db.executemany(
                "INSERT OR REPLACE INTO tags (site, wp_id, name) VALUES (?, ?, ?)",
                [(site, k, v) for k, v in names.items()],
            )

    # -- posts ------------------------------------------------------------------------------

    async def known(self, site: str, items: Sequence[PostIn]) -> list[bool]:
        return await posts.known(self.db, site, items)

    async def unchanged(self, site: str, items: Sequence[PostIn]) -> list[bool]:
        return await posts.unchanged(self.db, site, items)

    async def upsert_posts(
        self,
        site: str,
        items: Sequence[PostIn],
        *,
        tree: CategoryTree,
        alert: bool,
        now: datetime | None = None,
    ) -> UpsertResult:
        """Store a batch in one transaction; with ``alert``, queue alerts for new posts."""
        async with self.writer.transaction() as db:
            return await posts.upsert(db, site, items, tree=tree, now=now or utcnow(), alert=alert)

    async def get_posts(self, ids: Sequence[int]) -> list[Post]:
        return await posts.get_posts(self.db, ids)

    async def count_posts(self, site: str | None = None) -> int:
        sql, args = "SELECT count(*) FROM posts", ()
        if site is not None:
            sql, args = sql + " WHERE site = ?", (site,)  # type: ignore[assignment]
        async with self.db.execute(sql, args) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def search(
        self,
        site: str | None,
        query: SearchQuery,
        tree: CategoryTree | None,
        *,
        limit: int = 5,
        offset: int = 0,
    ) -> SearchPage:
        return await search.search(
            self.db, site, query, tree, limit=limit, offset=offset, now=utcnow()
        )
