"""Posts: identity, insert-or-update, the outbox rows their arrival creates, and reads."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import aiosqlite

from storage.categories import CategoryTree
from storage.models import Post, PostIn, UpsertResult
from storage.normalize import opens, stored_excerpt, text_key, words

if TYPE_CHECKING:
    from storage.watches import WatchIndex

RANK_SHIFT = 20  # rank_key = seconds << 20 | (id & 0xFFFFF)
_RANK_LOW = (1 << RANK_SHIFT) - 1
_MAX_PARAMS = 900  # below SQLite's default limit on host parameters
_TAG_SEPARATOR = "\x1f"  # tags are whitespace-folded on the way in, so it cannot occur

POST_COLUMNS = (
    "id, site, wp_id, guid, url, title, author, published, modified, excerpt, content, lang, "
    "first_seen, categories_known, digest"
)
# A post corrected within this time of its alert has the alert edited; a post that gains a
# category within RECHECK of first being seen reaches the chats that follow that category
# and have not had it.
EDIT_WINDOW = timedelta(hours=48)
RECHECK = timedelta(hours=24)


def to_text(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).isoformat(timespec="seconds")


def from_text(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def rank_key(published: datetime | None, first_seen: datetime, post_id: int) -> int:
    """A unique key that orders posts by publication time (first-seen time when undated)."""
    seconds = int((published or first_seen).timestamp())
    return (max(seconds, 0) << RANK_SHIFT) | (post_id & _RANK_LOW)


def rank_bound(dt: datetime) -> int:
    return max(int(dt.timestamp()), 0) << RANK_SHIFT


def digest(item: PostIn) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in (item.title, item.excerpt, item.content):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


def _chunks(values: Sequence[object], size: int = _MAX_PARAMS) -> Iterable[Sequence[object]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


@dataclass(frozen=True, slots=True)
class _Stored:
    id: int
    wp_id: int | None
    guid: str | None
    url: str
    digest: str = ""
    first_seen: str | None = None
    rank_key: int = 0
    categories_known: bool = True
    categories: frozenset[int] = frozenset()
    tags: frozenset[str] = frozenset()


class _Existing:
    """Rows already stored that a batch could refer to, indexed by each identity."""

    def __init__(self) -> None:
        self.by_wp: dict[int, _Stored] = {}
        self.by_guid: dict[str, _Stored] = {}
        self.by_url: dict[str, _Stored] = {}

    def add(self, row: _Stored) -> None:
        if row.wp_id is not None:
            self.by_wp[row.wp_id] = row
        if row.guid is not None:
            self.by_guid.setdefault(row.guid, row)
        self.by_url.setdefault(row.url, row)

    def match(self, item: PostIn) -> _Stored | None:
        if item.wp_id is not None and item.wp_id in self.by_wp:
            return self.by_wp[item.wp_id]
        for row in (
            self.by_guid.get(item.guid) if item.guid is not None else None,
            self.by_url.get(item.url),
        ):
            # A row that has a different WordPress id is another post.
            if row is not None and (item.wp_id is None or row.wp_id is None):
                return row
        return None


_EXISTING_COLUMNS = (
    "id, wp_id, guid, url, digest, first_seen, rank_key, categories_known, "
    "(SELECT group_concat(category) FROM post_categories WHERE post_id = posts.id), "
    f"(SELECT group_concat(name, '{_TAG_SEPARATOR}') FROM post_tags WHERE post_id = posts.id)"
)


def lookup_sql(column: str, count: int) -> str:
    """The stored posts of a site whose ``column`` (wp_id, guid_key or url_key) is one of
    ``count`` values.

    A key's own index, not (site, rank_key), which would read every post of the site (the
    planner has no statistics to tell them apart): "+site" is not looked up in an index.
    """
    site_is = "site = ?" if column == "wp_id" else "+site = ?"
    marks = ",".join("?" * count)
    return f"SELECT {_EXISTING_COLUMNS} FROM posts WHERE {site_is} AND {column} IN ({marks})"


async def _load_existing(
    db: aiosqlite.Connection, site: str, items: Sequence[PostIn]
) -> _Existing:
    existing = _Existing()
    # Links and guids by their keys (text_key): a row that only shares a key is loaded, but
    # _Existing matches the strings themselves.
    for column, values in (
        ("wp_id", [i.wp_id for i in items if i.wp_id is not None]),
        ("guid_key", [text_key(i.guid) for i in items if i.guid is not None]),
        ("url_key", [text_key(i.url) for i in items]),
    ):
        for chunk in _chunks(list(dict.fromkeys(values))):
            async with db.execute(lookup_sql(column, len(chunk)), (site, *chunk)) as cur:
                for r in await cur.fetchall():
                    cats = frozenset(int(c) for c in r[8].split(",")) if r[8] else frozenset()
                    tags = frozenset(r[9].split(_TAG_SEPARATOR)) if r[9] else frozenset()
                    existing.add(
                        _Stored(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), cats, tags)
                    )
    return existing


async def known(db: aiosqlite.Connection, site: str, items: Sequence[PostIn]) -> list[bool]:
    """For each item, whether the store already holds it."""
    existing = await _load_existing(db, site, items)
    return [existing.match(i) is not None for i in items]


async def unchanged(db: aiosqlite.Connection, site: str, items: Sequence[PostIn]) -> list[bool]:
    """For each item, whether the store holds it exactly as it is."""
    existing = await _load_existing(db, site, items)
    return [(row := existing.match(i)) is not None and row.digest == digest(i) for i in items]


async def modified_times(
    db: aiosqlite.Connection, site: str, wp_ids: Sequence[int]
) -> dict[int, datetime | None]:
    """When each stored post among these WordPress ids last changed, as stored."""
    out: dict[int, datetime | None] = {}
    for chunk in _chunks(list(dict.fromkeys(wp_ids))):
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT wp_id, modified FROM posts WHERE site = ? AND wp_id IN ({marks})"
        async with db.execute(sql, (site, *chunk)) as cur:
            for wp_id, modified in await cur.fetchall():
                out[int(wp_id)] = from_text(modified)
    return out


async def upsert(
    db: aiosqlite.Connection,
    site: str,
    items: Sequence[PostIn],
    *,
    tree: CategoryTree,
    now: datetime,
    alert: bool,
    watches: WatchIndex | None = None,
) -> UpsertResult:
    """Store a batch inside the caller's transaction.

    With ``alert``, in the same transaction, so that a post is never stored without its
    alerts (or alerted twice): new posts get one outbox row per active chat that follows
    one of their categories or watches a phrase of their text; posts corrected after their
    alerts went out get an edit of each alert; a post first seen less than RECHECK ago that
    gains a category reaches the chats that follow it and have not had it.
    """
    existing = await _load_existing(db, site, items)
    async with db.execute("SELECT coalesce(max(id), 0) FROM posts") as cur:
        top = await cur.fetchone()
    next_id = int(top[0]) + 1 if top else 1
    first_seen = to_text(now)
    new: list[int] = []
    modified: list[int] = []
    unchanged = 0
    seen: set[int] = set()
    inserts: list[tuple[object, ...]] = []
    # The index reads each post's text from posts (storage.db, UPDATE_FROM_4_TO_5): a post's
    # row goes while the post still holds what was indexed, and comes back from what it holds
    # once the batch is written.
    fts_deletes: list[tuple[int]] = []
    indexed: list[int] = []
    retags: list[tuple[object, ...]] = []
    rewrites: list[tuple[object, ...]] = []
    cat_rows: list[tuple[int, int]] = []
    tag_rows: list[tuple[int, str]] = []
    replaced: list[tuple[int]] = []
    recent = to_text(now - RECHECK) or ""
    # Posts to alert of, and who wants them.
    targets: dict[int, _Target] = {}
    corrected: list[tuple[int, str]] = []

    def texts_of(item: PostIn) -> list[list[str]]:
        """The words phrases are looked for in: title, text, and an excerpt of its own."""
        if not watches:
            return []
        body = indexed_body(item.content, item.excerpt, item.tags)
        texts = [words(item.title), words(body)]
        if item.content and item.excerpt and not opens(item.content, item.excerpt):
            texts.append(words(item.excerpt))
        return texts

    def target(post_id: int, item: PostIn) -> None:
        # '*' follows everything, posts with unresolved categories included.
        slugs = ["*", *sorted(tree.slugs_covering(item.categories))]
        targets[post_id] = _Target(slugs, texts_of(item))

    async def gained(post_id: int, item: PostIn, row: _Stored, text: bool) -> None:
        """A recent post filed under a new category, or corrected to name a watched phrase,
        reaches the chats that follow that category or watch that phrase (only them: a chat
        that began to follow its old categories after it came does not get it)."""
        if (row.first_seen or "") < recent:
            return
        new = tree.slugs_covering(item.categories) - tree.slugs_covering(row.categories)
        slugs = sorted(new) if item.categories_known else []
        texts = before = []
        if text and watches:
            texts = texts_of(item)
            before = await _stored_texts(db, post_id)
        if slugs or texts:
            targets[post_id] = _Target(slugs, texts, before)

    for item in items:
        d = digest(item)
        row = existing.match(item)
        if row is None:
            post_id = next_id
            next_id += 1
            key = rank_key(item.published, now, post_id)
            inserts.append(
                (
                    post_id,
                    site,
                    item.wp_id,
                    item.guid,
                    item.url,
                    item.title,
                    item.author,
                    to_text(item.published),
                    to_text(item.modified),
                    stored_excerpt(item.content, item.excerpt),
                    item.content,
                    item.lang,
                    first_seen,
                    d,
                    int(item.categories_known),
                    key,
                    cat_tokens(site, item.categories, tree),
                    text_key(item.url),
                    text_key(item.guid),
                )
            )
            indexed.append(key)
            new.append(post_id)
            if alert:
                target(post_id, item)
            existing.add(_Stored(post_id, item.wp_id, item.guid, item.url))
        else:
            post_id = row.id
            if post_id in seen:
                # The same post again in one batch (or a guid reused by another link):
                # the first copy wins, so one post never makes two alerts.
                continue
            downgrade = not item.categories_known and row.categories_known
            if row.digest == d:
                unchanged += 1
                if downgrade or (
                    row.categories == frozenset(item.categories)
                    and row.tags == frozenset(item.tags)
                    and row.categories_known == item.categories_known
                    and (row.wp_id is not None or item.wp_id is None)
                ):
                    # The usual poll: nothing to write for a post we hold as it is.
                    seen.add(post_id)
                    continue
                retags.append(
                    (
                        item.wp_id,
                        int(item.categories_known),
                        cat_tokens(site, item.categories, tree),
                        post_id,
                    )
                )
                # The index holds the categories as tokens and the tags as text.
                fts_deletes.append((row.rank_key,))
                indexed.append(row.rank_key)
                if alert:
                    await gained(post_id, item, row, text=False)
            else:
                first = from_text(row.first_seen) or now
                key = rank_key(item.published, first, post_id)
                # When RSS's vaguer categories are not taken, the index keeps the stored ones
                # (and the stored tags).
                kept = replace(item, categories=tuple(row.categories)) if downgrade else item
                fts_deletes.append((row.rank_key,))
                indexed.append(key)
                if alert:
                    corrected.append((post_id, d))
                    # Before the update: the phrases the text named already are known.
                    await gained(post_id, kept, row, text=True)
                rewrites.append(
                    (
                        item.wp_id,
                        item.guid,
                        item.url,
                        item.title,
                        item.author,
                        to_text(item.published),
                        to_text(item.modified),
                        stored_excerpt(item.content, item.excerpt),
                        item.content,
                        item.lang,
                        d,
                        key,
                        cat_tokens(site, kept.categories, tree),
                        text_key(item.url),
                        text_key(item.guid),
                        post_id,
                    )
                )
                modified.append(post_id)
            if downgrade:
                # RSS names are vaguer than the REST ids stored before: keep those.
                seen.add(post_id)
                continue
            replaced.append((post_id,))
        seen.add(post_id)
        cat_rows.extend((post_id, c) for c in dict.fromkeys(item.categories))
        tag_rows.extend((post_id, t) for t in dict.fromkeys(item.tags))

    # First, while the posts still hold what was indexed.
    await db.executemany("DELETE FROM posts_fts WHERE rowid = ?", fts_deletes)
    await db.executemany(
        "INSERT INTO posts (id, site, wp_id, guid, url, title, author, published, modified, "
        "excerpt, content, lang, first_seen, digest, categories_known, rank_key, cat_tokens, "
        "url_key, guid_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        inserts,
    )
    await db.executemany(
        "UPDATE posts SET wp_id = coalesce(wp_id, ?), categories_known = ?, cat_tokens = ? "
        "WHERE id = ?",
        retags,
    )
    await db.executemany(
        "UPDATE posts SET wp_id = coalesce(wp_id, ?), guid = coalesce(guid, ?), "
        "url = ?, title = ?, author = ?, published = ?, modified = ?, excerpt = ?, "
        "content = ?, lang = ?, digest = ?, rank_key = ?, cat_tokens = ?, url_key = ?, "
        "guid_key = coalesce(guid_key, ?) WHERE id = ?",
        rewrites,
    )
    await db.executemany("DELETE FROM post_categories WHERE post_id = ?", replaced)
    await db.executemany("DELETE FROM post_tags WHERE post_id = ?", replaced)
    await db.executemany(
        "INSERT OR IGNORE INTO post_categories (post_id, category) VALUES (?, ?)", cat_rows
    )
    await db.executemany("INSERT OR IGNORE INTO post_tags (post_id, name) VALUES (?, ?)", tag_rows)
    if indexed:
        # In rowid order: FTS5 flushes its in-memory segment whenever rowids go backwards,
        # and a backfill reads newest (highest) first.
        await db.execute(
            "INSERT INTO posts_fts (rowid, title, body, cats) "
            "SELECT rank_key, title, body, cats FROM posts_fts_source "
            "WHERE rank_key IN (SELECT value FROM json_each(?)) ORDER BY rank_key",
            (json.dumps(sorted(indexed)),),
        )
    enqueued = edits = 0
    if targets:
        enqueued = await _enqueue(db, site, targets, watches, now)
    since = now - EDIT_WINDOW
    for post_id, revision in corrected:
        edits += await _queue_edits(db, post_id, revision, since, now)
    return UpsertResult(
        new=tuple(new),
        modified=tuple(modified),
        unchanged=unchanged,
        enqueued=enqueued,
        edits=edits,
    )


async def _queue_edits(
    db: aiosqlite.Connection, post_id: int, revision: str, since: datetime, now: datetime
) -> int:
    """An edit for every alert of the post sent since ``since`` with another revision: once
    per chat and revision (a pending edit of an older revision becomes this one)."""
    cur = await db.execute(
        "INSERT INTO edits (chat_id, post_id, revision, created_at) "
        "SELECT o.chat_id, o.post_id, ?, ? FROM outbox o "
        "JOIN chats c ON c.chat_id = o.chat_id AND c.active = 1 "
        "WHERE o.post_id = ? AND o.status = 'sent' AND o.digest_day IS NULL "
        "AND o.message_id IS NOT NULL AND o.sent_at >= ? "
        "AND (o.revision IS NULL OR o.revision != ?) "
        "ON CONFLICT (chat_id, post_id) DO UPDATE SET revision = excluded.revision, "
        "status = 'pending', attempts = 0, not_before = NULL, error = NULL "
        "WHERE edits.revision != excluded.revision",
        (revision, to_text(now), post_id, to_text(since), revision),
    )
    changed = max(cur.rowcount, 0)
    await cur.close()
    return changed


@dataclass(frozen=True, slots=True)
class _Target:
    """A post to alert of: the subscriptions that want it, and the words of its title, text
    and excerpt for the watched phrases; ``before``, a corrected post's words as they were
    (the phrases they named brought their alerts already, or came too late to)."""

    slugs: list[str]
    texts: list[list[str]]
    before: list[list[str]] = field(default_factory=list)

    def new_matches(self, watches: WatchIndex) -> dict[int, list[str]]:
        found = watches.match(self.texts)
        if not self.before or not found:
            return found
        old = watches.match(self.before)
        fresh = {c: [p for p in ps if p not in old.get(c, ())] for c, ps in found.items()}
        return {c: ps for c, ps in fresh.items() if ps}


async def _stored_texts(db: aiosqlite.Connection, post_id: int) -> list[list[str]]:
    async with db.execute(
        "SELECT title, excerpt, content FROM posts WHERE id = ?", (post_id,)
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return []
    title, excerpt, content = str(row[0]), str(row[1]), str(row[2])
    return [words(title), words(content or excerpt), words(excerpt) if content else []]


# A chat with a daily digest gets its alerts held for it.
_STATUS = "CASE WHEN c.digest_at IS NULL THEN 'pending' ELSE 'held' END"


async def _enqueue(
    db: aiosqlite.Connection,
    site: str,
    targets: dict[int, _Target],
    watches: WatchIndex | None,
    now: datetime,
) -> int:
    total = 0
    created = to_text(now)
    if watches:
        # Phrases first, so that the row says why it came; a chat that also follows a
        # category of the post already has its row, and the inserts below skip it.
        rows = sorted(
            (chat_id, post_id, "\n".join(phrases))
            for post_id, t in targets.items()
            if t.texts
            for chat_id, phrases in t.new_matches(watches).items()
        )
        if rows:
            # One statement for the whole batch: thousands of matches cost one trip to the
            # database thread, and are inserted in the outbox's key order.
            cur = await db.execute(
                "INSERT OR IGNORE INTO outbox (chat_id, post_id, created_at, reason, status) "
                "SELECT c.chat_id, json_extract(m.value, '$[1]'), ?, "
                f"json_extract(m.value, '$[2]'), {_STATUS} FROM json_each(?) m "
                "JOIN chats c ON c.chat_id = json_extract(m.value, '$[0]') AND c.active = 1",
                (created, json.dumps(rows, ensure_ascii=False)),
            )
            total += max(cur.rowcount, 0)
            await cur.close()
    for post_id, t in targets.items():
        slugs = t.slugs
        if not slugs:
            continue
        marks = ",".join("?" * len(slugs))
        cur = await db.execute(
            "INSERT OR IGNORE INTO outbox (chat_id, post_id, created_at, status) "
            f"SELECT DISTINCT s.chat_id, ?, ?, {_STATUS} FROM subscriptions s "
            "JOIN chats c ON c.chat_id = s.chat_id AND c.active = 1 "
            f"WHERE s.site = ? AND s.slug IN ({marks})",
            (post_id, created, site, *slugs),
        )
        total += max(cur.rowcount, 0)
        await cur.close()
    return total


@functools.lru_cache(maxsize=64)
def _site_tag(site: str) -> str:
    return hashlib.blake2b(site.encode(), digest_size=4).hexdigest()


def category_token(site: str, wp_id: int) -> str:
    """The index token of a site's category: two sites' WordPress ids collide, so the token
    names the site too (by a hash of its key: a token is letters and digits only)."""
    return f"c{wp_id}s{_site_tag(site)}"


def indexed_body(content: str, excerpt: str, tags: Sequence[str]) -> str:
    """The body as indexed, unfolded: what snippets are cut from."""
    # Tags name places and people as the site spells them (Qezel Hesar where the text says
    # Ghezel Hesar), so they are searchable with the text.
    body = content or excerpt
    return f"{body}\n{' · '.join(tags)}" if tags else body


def cat_tokens(site: str, categories: Iterable[int], tree: CategoryTree) -> str:
    """The index's ``cats``: a token for each category and each of its ancestors in the tree
    as it is now, stored with the post (posts.cat_tokens) so that the index can always read
    back what it was given."""
    ids = set(categories) | {a.wp_id for a in tree.ancestors_of(categories)}
    return " ".join(sorted(category_token(site, c) for c in ids))


async def get_posts(db: aiosqlite.Connection, ids: Sequence[int]) -> list[Post]:
    """Posts by id, in the order asked; one query (each query is a trip to SQLite's thread)."""
    if not ids:
        return []
    found: dict[int, Post] = {}
    for chunk in _chunks(list(dict.fromkeys(ids))):
        marks = ",".join("?" * len(chunk))
        async with db.execute(
            f"SELECT {POST_COLUMNS}, "
            "(SELECT group_concat(category) FROM post_categories WHERE post_id = posts.id) "
            "AS cats, "
            f"(SELECT group_concat(name, '{_TAG_SEPARATOR}') FROM post_tags "
            "WHERE post_id = posts.id) AS tags "
            f"FROM posts WHERE id IN ({marks})",
            tuple(chunk),
        ) as cur:
            for r in await cur.fetchall():
                cats = sorted(int(c) for c in r["cats"].split(",")) if r["cats"] else []
                tags = sorted(r["tags"].split(_TAG_SEPARATOR)) if r["tags"] else []
                found[r["id"]] = _post(r, tuple(cats), tuple(tags))
    return [found[i] for i in ids if i in found]


def _post(row: aiosqlite.Row, cats: tuple[int, ...], tags: tuple[str, ...]) -> Post:
    return Post(
        id=row["id"],
        site=row["site"],
        wp_id=row["wp_id"],
        guid=row["guid"],
        url=row["url"],
        title=row["title"],
        author=row["author"],
        published=from_text(row["published"]),
        modified=from_text(row["modified"]),
        excerpt=row["excerpt"],
        content=row["content"],
        lang=row["lang"],
        first_seen=from_text(row["first_seen"]) or datetime.now(UTC),
        categories=cats,
        categories_known=bool(row["categories_known"]),
        tags=tags,
        revision=row["digest"],
    )
