"""The one facade the rest of the program uses to reach the database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from storage import categories, chats, export, health, outbox, posts, search, watches
from storage.categories import CategoryTree
from storage.chats import ChatSettings, Subscription
from storage.db import Writer, connect, connect_read_only
from storage.figures import (
    DailyAlerts,
    MonthlyPosts,
    Totals,
    alerts_per_day,
    posts_per_month,
    totals,
)
from storage.health import Condition
from storage.models import Category, Post, PostIn, SearchPage, SearchQuery, UpsertResult
from storage.outbox import Delivery
from storage.watches import Watch, WatchIndex


@dataclass(frozen=True, slots=True)
class Stats:
    posts: int
    chats: int
    inactive_chats: int
    subscriptions: dict[str, int]  # slug ('*' for all) -> chats following it
    pending: int
    failed: int
    sent: int
    # Active chats by kind: "private", "group" (supergroups too) and "channel".
    kinds: dict[str, int] = field(default_factory=dict)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self.db = db
        self.path = path
        self.writer = Writer(db)
        # Every chat's phrases, read once and kept until they change: (the database's
        # data_version when read, the index). Our own writes drop it; data_version tells of
        # another process's.
        self._watch_index: tuple[int, WatchIndex] | None = None

    @classmethod
    async def open(cls, path: Path, *, create: bool = True) -> Store:
        """Open the archive; with ``create=False`` a missing file is ArchiveMissing."""
        return cls(await connect(path, create=create), path)

    @classmethod
    async def open_read_only(cls, path: Path) -> Store:
        """Open an existing archive of this program's schema to read it, changing nothing
        (no folder, file, migration or journal mode); ArchiveMissing when there is none."""
        return cls(await connect_read_only(path), path)

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

    async def modified_times(self, site: str, wp_ids: Sequence[int]) -> dict[int, datetime | None]:
        return await posts.modified_times(self.db, site, wp_ids)

    async def upsert_posts(
        self,
        site: str,
        items: Sequence[PostIn],
        *,
        tree: CategoryTree,
        alert: bool,
        now: datetime | None = None,
    ) -> UpsertResult:
        """Store a batch in one transaction; with ``alert``, queue alerts for new posts (and
        edits of the alerts of corrected ones)."""
        async with self.writer.transaction() as db:
            index = await self._watches(db) if alert else None
            return await posts.upsert(
                db, site, items, tree=tree, now=now or utcnow(), alert=alert, watches=index
            )

    async def _watches(self, db: aiosqlite.Connection) -> WatchIndex:
        async with db.execute("PRAGMA data_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        if self._watch_index is None or self._watch_index[0] != version:
            self._watch_index = (version, await watches.load_index(db))
        return self._watch_index[1]

    async def get_posts(self, ids: Sequence[int]) -> list[Post]:
        return await posts.get_posts(self.db, ids)

    async def count_posts(self, site: str | None = None) -> int:
        where, args = ("WHERE site = ?", (site,)) if site is not None else ("", ())
        async with self.db.execute(f"SELECT count(*) FROM posts {where}", args) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def has_posts(self, site: str) -> bool:
        """Whether the site has any post: unlike a count, one index probe."""
        async with self.db.execute("SELECT 1 FROM posts WHERE site = ? LIMIT 1", (site,)) as cur:
            return await cur.fetchone() is not None

    async def search(
        self,
        sites: Mapping[str, CategoryTree] | str | None,
        query: SearchQuery,
        tree: CategoryTree | None = None,
        *,
        limit: int = 5,
        offset: int = 0,
        snippets: bool = True,
    ) -> SearchPage:
        """Search the posts of ``sites``, each mapped to its category tree: the caller picks
        them (for ``edition:``, the sites of that edition). Results of all of them come in
        one order and one paging. A category filter is read in each site's tree and keeps
        the sites where it names one category.

        The older form still works: one site key and its tree, or None and no category
        filter for every site.
        """
        if isinstance(sites, str):
            sites = {sites: tree if tree is not None else CategoryTree(())}
        return await search.search(
            self.db,
            sites,
            query,
            limit=limit,
            offset=offset,
            now=utcnow(),
            snippets=snippets,
        )

    async def latest(
        self, sites: Mapping[str, CategoryTree], *, category: str | None = None, limit: int = 5
    ) -> list[Post]:
        """The newest posts of these sites, of one category (a slug of one of their trees)."""
        page = await self.search(sites, SearchQuery(category=category), limit=limit)
        return [h.post for h in page.hits]

    # -- chats and subscriptions ----------------------------------------------------------

    async def ensure_chat(self, chat_id: int, chat_type: str, language: str | None) -> None:
        async with self.writer.transaction() as db:
            await chats.ensure_chat(db, chat_id, chat_type, language, utcnow())

    async def subscriptions(self, chat_id: int) -> list[Subscription]:
        return await chats.subscriptions(self.db, chat_id)

    async def chat_language(self, chat_id: int) -> str | None:
        """The language stored for a chat (chosen, or guessed when it was created)."""
        return await chats.language(self.db, chat_id)

    async def set_language(self, chat_id: int, chat_type: str, language: str) -> None:
        async with self.writer.transaction() as db:
            await chats.set_language(db, chat_id, chat_type, language, utcnow())

    async def subscribe(
        self,
        chat_id: int,
        chat_type: str,
        site: str,
        slugs: Sequence[str],
        language: str | None = None,
    ) -> list[str]:
        async with self.writer.transaction() as db:
            await chats.ensure_chat(db, chat_id, chat_type, language, utcnow())
            return await chats.subscribe(db, chat_id, site, slugs)

    async def unsubscribe(self, chat_id: int, site: str, slugs: Sequence[str] | None) -> list[str]:
        async with self.writer.transaction() as db:
            return await chats.unsubscribe(db, chat_id, site, slugs)

    # -- watched phrases ------------------------------------------------------------------

    async def watches(self, chat_id: int) -> list[Watch]:
        return await watches.list_watches(self.db, chat_id)

    async def watch(
        self,
        chat_id: int,
        chat_type: str,
        phrase: str,
        folded: str,
        *,
        limit: int,
        language: str | None = None,
    ) -> bool | None:
        """Watch a phrase: False when watched already, None when the chat has ``limit``.
        ``language``: a new chat's first guess, as for ensure_chat."""
        async with self.writer.transaction() as db:
            await chats.ensure_chat(db, chat_id, chat_type, language, utcnow())
            if await watches.count(db, chat_id) >= limit:
                return None
            added = await watches.add(db, chat_id, phrase, folded, utcnow())
        self._watch_index = None
        return added

    async def unwatch(self, chat_id: int, folded: str | None) -> list[str]:
        """Stop watching one phrase (by its folded words) or all (None); the phrases removed."""
        async with self.writer.transaction() as db:
            removed = await watches.remove(db, chat_id, folded)
        self._watch_index = None
        return removed

    # -- delivery settings -----------------------------------------------------------------

    async def chat_settings(self, chat_id: int) -> ChatSettings:
        return await chats.settings(self.db, chat_id)

    async def update_settings(
        self, chat_id: int, chat_type: str, language: str | None = None, **values: object
    ) -> None:
        """Set some of: discreet, timezone, quiet_start, quiet_end, digest_at, digest_last
        (``language``: a new chat's first guess). Turning the digest off sends what was held
        for it as alerts."""
        async with self.writer.transaction() as db:
            await chats.ensure_chat(db, chat_id, chat_type, language, utcnow())
            await chats.update_settings(db, chat_id, values)
            if "digest_at" in values and values["digest_at"] is None:
                await chats.release_held(db, chat_id)

    async def set_digest(
        self,
        chat_id: int,
        chat_type: str,
        at: int,
        timezone: str | None,
        made: str,
        language: str | None = None,
        *,
        new_zone: bool = False,
    ) -> None:
        """A daily digest at ``at`` minutes past local midnight in ``timezone``; the one of
        day ``made`` counts as made already (see chats.set_digest for ``new_zone``)."""
        async with self.writer.transaction() as db:
            await chats.ensure_chat(db, chat_id, chat_type, language, utcnow())
            await chats.set_digest(db, chat_id, at, timezone, made, new_zone=new_zone)

    async def digest_chats(self) -> list[tuple[int, str | None, int, str | None]]:
        return await chats.digest_chats(self.db)

    async def open_digest(self, chat_id: int, day: str) -> bool:
        """Make the chat's digest of ``day`` from what was held for it (once per day)."""
        async with self.writer.transaction() as db:
            return await outbox.open_digest(db, chat_id, day, utcnow())

    async def forget(self, chat_id: int) -> bool:
        async with self.writer.transaction() as db:
            found = await chats.forget(db, chat_id)
        # After the commit, before any other task runs: an index read meanwhile is dropped.
        self._watch_index = None
        # Move the deletion from the write-ahead log into the (zeroed) file now; best effort,
        # since a long read elsewhere can hold the log back.
        async with self.writer.reading() as db:
            await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return found

    async def reactivate(self, chat_id: int) -> None:
        async with self.db.execute(
            "SELECT 1 FROM chats WHERE chat_id = ? AND active = 0", (chat_id,)
        ) as cur:
            if await cur.fetchone() is None:
                return  # the usual case costs no write
        async with self.writer.transaction() as db:
            await db.execute("UPDATE chats SET active = 1 WHERE chat_id = ?", (chat_id,))

    async def deactivate(self, chat_id: int) -> int:
        async with self.writer.transaction() as db:
            return await chats.deactivate(db, chat_id)

    async def migrate_chat(self, old: int, new: int) -> None:
        async with self.writer.transaction() as db:
            await chats.migrate(db, old, new)
        self._watch_index = None  # the phrases moved to the new id

    # -- outbox ---------------------------------------------------------------------------

    async def due_deliveries(
        self, limit: int, *, after: tuple[int, int] = (0, 0), now: datetime | None = None
    ) -> list[Delivery]:
        # Under the writer's lock: the connection is shared, and rows a poll has queued but
        # not yet committed must not be sent (the poll could still roll back).
        async with self.writer.reading() as db:
            return await outbox.due(db, now or utcnow(), limit, after=after)

    async def next_due(self) -> datetime | None:
        return await outbox.next_due(self.db)

    async def due_edits(self, limit: int, *, now: datetime | None = None) -> list[Delivery]:
        async with self.writer.reading() as db:
            return await outbox.due_edits(db, now or utcnow(), limit)

    async def due_digests(self, limit: int, *, now: datetime | None = None) -> list[Delivery]:
        async with self.writer.reading() as db:
            return await outbox.due_digests(db, now or utcnow(), limit)

    async def digest_items(self, chat_id: int, day: str) -> list[int]:
        return await outbox.digest_items(self.db, chat_id, day)

    # One statement each, so each runs as its own small transaction: a delivery is recorded
    # as soon as Telegram accepts it, at the cost of one trip to the database thread.

    async def mark_sent(
        self, chat_id: int, post_id: int, message_id: int, revision: str | None = None
    ) -> None:
        """``revision``: the post's revision the message showed (a newer one stored since
        gets the message edited)."""
        await self.writer.execute(
            outbox.MARK_SENT, outbox.mark_sent(chat_id, post_id, message_id, revision, utcnow())
        )

    async def postpone(
        self, chat_id: int, post_id: int, until: datetime, error: str, *, count_attempt: bool
    ) -> None:
        await self.writer.execute(
            outbox.POSTPONE,
            outbox.postpone(chat_id, post_id, until, error, count_attempt=count_attempt),
        )

    async def mark_failed(self, chat_id: int, post_id: int, error: str) -> None:
        await self.writer.execute(outbox.MARK_FAILED, outbox.mark_failed(chat_id, post_id, error))

    async def edit_done(
        self, chat_id: int, post_id: int, revision: str, error: str | None = None
    ) -> None:
        async with self.writer.transaction() as db:
            await outbox.edit_done(db, chat_id, post_id, revision, error)

    async def postpone_edit(
        self, chat_id: int, post_id: int, until: datetime, error: str, *, count_attempt: bool
    ) -> None:
        await self.writer.execute(
            outbox.POSTPONE_EDIT,
            outbox.postpone(chat_id, post_id, until, error, count_attempt=count_attempt),
        )

    async def fail_edit(self, chat_id: int, post_id: int, error: str) -> None:
        await self.writer.execute(outbox.FAIL_EDIT, (error, chat_id, post_id))

    async def digest_part_sent(self, chat_id: int, day: str, parts: int) -> None:
        await self.writer.execute(outbox.DIGEST_PART_SENT, (parts, chat_id, day))

    async def digest_sent(self, chat_id: int, day: str, message_id: int | None) -> None:
        async with self.writer.transaction() as db:
            await outbox.digest_sent(db, chat_id, day, message_id, utcnow())

    async def postpone_digest(
        self, chat_id: int, day: str, until: datetime, error: str, *, count_attempt: bool
    ) -> None:
        await self.writer.execute(
            outbox.POSTPONE_DIGEST,
            (posts.to_text(until), error, int(count_attempt), chat_id, day),
        )

    async def fail_digest(self, chat_id: int, day: str, error: str) -> None:
        await self.writer.execute(outbox.FAIL_DIGEST, (error, chat_id, day))

    def export_posts(
        self,
        wanted: Mapping[str, Sequence[int] | None],
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        page: int = 500,
    ) -> AsyncIterator[Post]:
        """Posts for an export, oldest first, a page at a time (see storage.export)."""
        return export.posts(self.db, wanted, since=since, until=until, page=page)

    async def stats(self, site: str) -> Stats:
        async def scalar(sql: str, *args: object) -> int:
            async with self.db.execute(sql, args) as cur:
                row = await cur.fetchone()
            return int(row[0]) if row and row[0] is not None else 0

        async with self.db.execute(
            "SELECT s.slug, count(*) FROM subscriptions s JOIN chats c USING (chat_id) "
            "WHERE s.site = ? AND c.active = 1 GROUP BY s.slug ORDER BY count(*) DESC, s.slug",
            (site,),
        ) as cur:
            subs = {r[0]: r[1] for r in await cur.fetchall()}
        async with self.db.execute("SELECT status, count(*) FROM outbox GROUP BY status") as cur:
            by_status = {r[0]: r[1] for r in await cur.fetchall()}
        kinds = {"private": 0, "group": 0, "channel": 0}
        async with self.db.execute(
            "SELECT CASE WHEN type = 'supergroup' THEN 'group' ELSE type END, count(*) "
            "FROM chats WHERE active = 1 GROUP BY 1"
        ) as cur:
            kinds.update({r[0]: r[1] for r in await cur.fetchall()})
        return Stats(
            posts=await self.count_posts(site),
            chats=await scalar("SELECT count(*) FROM chats WHERE active = 1"),
            inactive_chats=await scalar("SELECT count(*) FROM chats WHERE active = 0"),
            subscriptions=subs,
            pending=by_status.get("pending", 0),
            failed=by_status.get("failed", 0),
            sent=by_status.get("sent", 0),
            kinds=kinds,
        )

    # -- operators: health conditions and notices -----------------------------------------

    async def condition(self, site: str, kind: str) -> Condition | None:
        """The open condition of this kind (health.OUTAGE, SILENCE, DELIVERIES), if any."""
        async with self.writer.reading() as db:
            return await health.condition(db, site, kind)

    async def open_condition(
        self, site: str, kind: str, since: datetime, detail: str = ""
    ) -> Condition:
        """The open condition of this kind, begun at ``since`` unless it was open already."""
        async with self.writer.transaction() as db:
            return await health.open_condition(db, site, kind, since, detail)

    async def notify_condition(self, found: Condition, texts: Sequence[tuple[int, str]]) -> bool:
        """Queue a notice of the condition to each (chat, text), once: False when its
        notices were queued already."""
        async with self.writer.transaction() as db:
            return await health.notify(db, found, texts, utcnow())

    async def close_condition(
        self, found: Condition, key: str = "", texts: Sequence[tuple[int, str]] = ()
    ) -> bool:
        """End the condition, queueing ``texts`` as notices under ``key``, once."""
        async with self.writer.transaction() as db:
            return await health.close(db, found, key, texts, utcnow())

    async def started_chats(self, ids: Collection[int]) -> dict[int, str | None]:
        """Of these user ids, those with an active private chat stored: language by id."""
        return await health.started(self.db, ids)

    async def failed_alerts(self, since: datetime) -> tuple[int, str | None]:
        """Alerts ended as failed since then, and the most common error among them."""
        return await health.failed_alerts(self.db, since)

    async def last_new_post(self, site: str) -> datetime | None:
        return await health.last_new_post(self.db, site)

    async def days_with_posts(self, site: str, start: datetime, end: datetime) -> int:
        return await health.days_with_posts(self.db, site, start, end)

    async def due_notices(self, limit: int, *, now: datetime | None = None) -> list[Delivery]:
        async with self.writer.reading() as db:
            return list(await health.due(db, now or utcnow(), limit))

    async def notice_sent(self, chat_id: int, key: str) -> None:
        await self.writer.execute(health.SENT, (posts.to_text(utcnow()), chat_id, key))

    async def postpone_notice(
        self, chat_id: int, key: str, until: datetime, error: str, *, count_attempt: bool
    ) -> None:
        await self.writer.execute(
            health.POSTPONE, (posts.to_text(until), error, int(count_attempt), chat_id, key)
        )

    async def fail_notice(self, chat_id: int, key: str, error: str) -> None:
        await self.writer.execute(health.FAIL, (error, chat_id, key))

    # -- figures for /stats --------------------------------------------------------------

    async def posts_per_month(
        self, sites: Sequence[str] | None = None, *, months: int = 12, now: datetime | None = None
    ) -> MonthlyPosts:
        """Reports per month of publication for the last ``months`` months (``now``'s month
        last), by site and top-level category; ``sites``: those to show (None: all)."""
        async with self.writer.reading() as db:
            return await posts_per_month(db, sites, now or utcnow(), months)

    async def alerts_per_day(self, *, days: int = 30, now: datetime | None = None) -> DailyAlerts:
        """Alerts sent per day (UTC) for the last ``days`` days, today included."""
        async with self.writer.reading() as db:
            return await alerts_per_day(db, now or utcnow(), days)

    async def totals(self) -> Totals:
        """Reports stored per site and alerts pending, as committed."""
        async with self.writer.reading() as db:
            return await totals(db)
