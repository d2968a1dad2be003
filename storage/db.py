"""Connection, pragmas and schema migrations. No business logic here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from storage.errors import ArchiveMissing, StoreError
from storage.normalize import normalize, opens, text_key
from storage.posts import category_token

log = logging.getLogger(__name__)

# Each step is one SQL script, run in one transaction with the version bump.
UPDATE_FROM_0_TO_1 = """
        CREATE TABLE categories (
            site TEXT NOT NULL,
            wp_id INTEGER NOT NULL,
            slug TEXT NOT NULL,
            name TEXT NOT NULL,
            parent INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (site, wp_id),
            UNIQUE (site, slug)
        ) WITHOUT ROWID;

        CREATE TABLE tags (
            site TEXT NOT NULL,
            wp_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            PRIMARY KEY (site, wp_id)
        ) WITHOUT ROWID;

        CREATE TABLE posts (
            id INTEGER PRIMARY KEY,
            site TEXT NOT NULL,
            wp_id INTEGER,
            guid TEXT,
            url TEXT NOT NULL,
            title TEXT NOT NULL,
            author TEXT,
            published TEXT,
            modified TEXT,
            excerpt TEXT NOT NULL,
            content TEXT NOT NULL,
            lang TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            digest TEXT NOT NULL,
            categories_known INTEGER NOT NULL,
            rank_key INTEGER NOT NULL UNIQUE
        );
        CREATE UNIQUE INDEX posts_wp_id ON posts (site, wp_id) WHERE wp_id IS NOT NULL;
        CREATE INDEX posts_guid ON posts (site, guid);
        CREATE INDEX posts_url ON posts (site, url);

        CREATE TABLE post_categories (
            post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
            category INTEGER NOT NULL,
            PRIMARY KEY (post_id, category)
        ) WITHOUT ROWID;
        CREATE INDEX post_categories_category ON post_categories (category, post_id);

        CREATE TABLE post_tags (
            post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            PRIMARY KEY (post_id, name)
        ) WITHOUT ROWID;

        CREATE INDEX posts_site_rank ON posts (site, rank_key);

        -- rowid is posts.rank_key, which grows with the publication time, so the newest
        -- matches of a query come first when FTS5 walks its index backwards. ``cats`` holds
        -- a token per category of the post and per ancestor (c4 c11), so a category filter
        -- is part of the MATCH. (No prefix index: it triples the cost of indexing, and
        -- prefixes of three letters or more are cheap without one.)
        CREATE VIRTUAL TABLE posts_fts USING fts5 (
            title, body, cats, tokenize = 'unicode61 remove_diacritics 2'
        );

        CREATE TABLE site_state (
            site TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (site, key)
        ) WITHOUT ROWID;

        CREATE TABLE chats (
            chat_id INTEGER PRIMARY KEY,
            type TEXT NOT NULL,
            language TEXT,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        );

        CREATE TABLE subscriptions (
            chat_id INTEGER NOT NULL REFERENCES chats (chat_id)
                ON DELETE CASCADE ON UPDATE CASCADE,
            site TEXT NOT NULL,
            slug TEXT NOT NULL,  -- '*' follows every post of the site
            PRIMARY KEY (chat_id, site, slug)
        ) WITHOUT ROWID;
        CREATE INDEX subscriptions_slug ON subscriptions (site, slug);

        -- One row per chat and post: the primary key is what makes an alert go out once.
        CREATE TABLE outbox (
            chat_id INTEGER NOT NULL REFERENCES chats (chat_id)
                ON DELETE CASCADE ON UPDATE CASCADE,
            post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
            status TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | failed
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            message_id INTEGER,
            error TEXT,
            PRIMARY KEY (chat_id, post_id)
        ) WITHOUT ROWID;
        CREATE INDEX outbox_pending ON outbox (status, post_id) WHERE status = 'pending';
        -- The sender asks after every pass when the next postponed row is due.
        CREATE INDEX outbox_postponed ON outbox (not_before)
            WHERE status = 'pending' AND not_before IS NOT NULL;
"""

# The search index is rebuilt from the posts, converting the archive in place: Persian
# affixes are now joined to their word whatever separates them, the forms of heh fold
# together, and a category token names its site, since two sites' WordPress ids collide.
# It reads as upsert_posts wrote it then (storage.posts): a post's categories and their
# ancestors in its site's tree, the tags after the body. hrm_normalize and
# hrm_category_token are the program's own functions, registered by connect(). The table
# is made anew rather than emptied: the same for a version 1 archive, and run on today's
# external-content index (as a test does to compare the two) a DELETE would remove its
# tokens a second time.
UPDATE_FROM_1_TO_2 = """
        DROP TABLE posts_fts;
        CREATE VIRTUAL TABLE posts_fts USING fts5 (
            title, body, cats, tokenize = 'unicode61 remove_diacritics 2'
        );
        WITH RECURSIVE up (post_id, site, category) AS (
            SELECT pc.post_id, p.site, pc.category
            FROM post_categories pc JOIN posts p ON p.id = pc.post_id
            UNION
            SELECT up.post_id, up.site, parent.wp_id
            FROM up
            JOIN categories c ON c.site = up.site AND c.wp_id = up.category
            JOIN categories parent ON parent.site = c.site AND parent.wp_id = c.parent
        ),
        cats (post_id, tokens) AS (
            SELECT post_id, group_concat(hrm_category_token(site, category), ' ')
            FROM up GROUP BY post_id
        ),
        tags (post_id, names) AS (
            SELECT post_id, group_concat(name, ' · ') FROM post_tags GROUP BY post_id
        )
        INSERT INTO posts_fts (rowid, title, body, cats)
        SELECT p.rank_key,
               hrm_normalize(p.title),
               hrm_normalize(
                   CASE WHEN p.content != '' THEN p.content ELSE p.excerpt END
                   || coalesce(char(10) || tags.names, '')
               ),
               coalesce(cats.tokens, '')
        FROM posts p
        LEFT JOIN cats ON cats.post_id = p.id
        LEFT JOIN tags ON tags.post_id = p.id
        ORDER BY p.rank_key;
"""

# Personal alerts: watched phrases, corrections, discreet and quiet delivery, daily digests.
UPDATE_FROM_2_TO_3 = """
        CREATE TABLE watches (
            chat_id INTEGER NOT NULL REFERENCES chats (chat_id)
                ON DELETE CASCADE ON UPDATE CASCADE,
            folded TEXT NOT NULL,  -- the phrase's words as matched (storage.watches.fold)
            phrase TEXT NOT NULL,  -- as typed, to show it back
            created_at TEXT NOT NULL,
            PRIMARY KEY (chat_id, folded)
        );  -- with a rowid: the order phrases were added in

        ALTER TABLE chats ADD COLUMN discreet INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE chats ADD COLUMN timezone TEXT;  -- an IANA name; NULL is Asia/Tehran
        ALTER TABLE chats ADD COLUMN quiet_start INTEGER;  -- minutes after local midnight
        ALTER TABLE chats ADD COLUMN quiet_end INTEGER;
        ALTER TABLE chats ADD COLUMN digest_at INTEGER;  -- minutes after local midnight
        ALTER TABLE chats ADD COLUMN digest_last TEXT;  -- local day of the last digest made

        -- status also takes 'held' (waiting for the chat's next digest) and 'digest' (in the
        -- digest of digest_day, not yet sent).
        ALTER TABLE outbox ADD COLUMN reason TEXT;  -- the watched phrases that matched
        ALTER TABLE outbox ADD COLUMN revision TEXT;  -- posts.digest of the text sent
        ALTER TABLE outbox ADD COLUMN digest_day TEXT;
        CREATE INDEX outbox_held ON outbox (chat_id, digest_day)
            WHERE status IN ('held', 'digest');
        CREATE INDEX outbox_post ON outbox (post_id);

        -- A correction of a post already alerted: one row per alert, the revision it must
        -- show; the key makes it once per chat and revision.
        CREATE TABLE edits (
            chat_id INTEGER NOT NULL,
            post_id INTEGER NOT NULL,
            revision TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',  -- pending | done | failed
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before TEXT,
            created_at TEXT NOT NULL,
            error TEXT,
            PRIMARY KEY (chat_id, post_id),
            FOREIGN KEY (chat_id, post_id) REFERENCES outbox (chat_id, post_id)
                ON DELETE CASCADE ON UPDATE CASCADE
        ) WITHOUT ROWID;
        CREATE INDEX edits_pending ON edits (post_id, chat_id) WHERE status = 'pending';

        -- An alert that went out with a text already replaced meanwhile (the correction came
        -- while it was in flight) gets its edit too.
        CREATE TRIGGER outbox_sent_stale AFTER UPDATE OF status ON outbox
        WHEN new.status = 'sent' AND new.digest_day IS NULL AND new.message_id IS NOT NULL
            AND new.revision IS NOT NULL
            AND new.revision != (SELECT digest FROM posts WHERE id = new.post_id)
        BEGIN
            INSERT INTO edits (chat_id, post_id, revision, created_at)
            SELECT new.chat_id, new.post_id, digest, new.sent_at FROM posts WHERE id = new.post_id
            ON CONFLICT (chat_id, post_id) DO UPDATE SET revision = excluded.revision,
                status = 'pending', attempts = 0, not_before = NULL, error = NULL
            WHERE edits.revision != excluded.revision;
        END;

        -- One row per chat and local day: the key makes a digest go out once.
        CREATE TABLE digests (
            chat_id INTEGER NOT NULL REFERENCES chats (chat_id)
                ON DELETE CASCADE ON UPDATE CASCADE,
            day TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | failed
            parts_sent INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            error TEXT,
            PRIMARY KEY (chat_id, day)
        ) WITHOUT ROWID;
        CREATE INDEX digests_pending ON digests (chat_id) WHERE status = 'pending';
"""

# Health alerts for the operators (ADMIN_IDS): their messages, and the conditions told of.
UPDATE_FROM_3_TO_4 = """
        -- When an alert ended as failed, set by the store itself on every path that fails
        -- one: many failures in an hour are told to the operators.
        ALTER TABLE outbox ADD COLUMN failed_at TEXT;
        CREATE INDEX outbox_failed ON outbox (failed_at) WHERE status = 'failed';
        CREATE TRIGGER outbox_failed_at AFTER UPDATE OF status ON outbox
        WHEN new.status = 'failed' AND old.status != 'failed'
        BEGIN
            UPDATE outbox SET failed_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
            WHERE chat_id = new.chat_id AND post_id = new.post_id;
        END;

        -- A text message to one chat (an operator's); the key names the event, so that each
        -- event's message is queued once per chat, across restarts too.
        CREATE TABLE notices (
            chat_id INTEGER NOT NULL REFERENCES chats (chat_id)
                ON DELETE CASCADE ON UPDATE CASCADE,
            key TEXT NOT NULL,
            text TEXT NOT NULL,  -- as sent (HTML), in the chat's language when it was queued
            status TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | failed
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            error TEXT,
            PRIMARY KEY (chat_id, key)
        ) WITHOUT ROWID;
        CREATE INDEX notices_pending ON notices (chat_id) WHERE status = 'pending';
        -- A chat that blocked the bot has its pending notices dropped, as its alerts are.
        CREATE TRIGGER chats_inactive_notices AFTER UPDATE OF active ON chats
        WHEN new.active = 0
        BEGIN
            DELETE FROM notices WHERE chat_id = new.chat_id AND status = 'pending';
        END;

        -- A condition the operators hear of once: an edition's outage or silence (site is the
        -- edition's), a burst of failed alerts (site ''). The row lives while it lasts.
        CREATE TABLE health (
            site TEXT NOT NULL,
            kind TEXT NOT NULL,  -- outage | silence | deliveries
            since TEXT NOT NULL,  -- when it began
            detail TEXT NOT NULL DEFAULT '',  -- outage: the kind of failure
            notified_at TEXT,  -- when the operators' messages were queued; NULL: not yet
            PRIMARY KEY (site, kind)
        ) WITHOUT ROWID;
"""

# The search index stops keeping a copy of every text: FTS5 reads it from the posts (an
# external-content table), through a view that folds it as the index holds it. A row's
# tokens are removed by reading that view, so it must still show what was indexed when the
# row is deleted: upsert deletes a post's row before it changes the post, its categories or
# its tags, and the trigger does it before a post goes. The category tokens become a column
# of posts, since the tree they are read through can be re-parented by a later fetch.
# hrm_normalize is ours (connect() registers it): a plain sqlite3 can check the file (PRAGMA
# integrity_check), copy and VACUUM it, and search it for rowids, but not read the index's
# columns, which fail with "no such function: hrm_normalize".
UPDATE_FROM_4_TO_5 = """
        ALTER TABLE posts ADD COLUMN cat_tokens TEXT NOT NULL DEFAULT '';
        -- What the index holds now, so that every search finds what it found before.
        UPDATE posts SET cat_tokens = coalesce(
            (SELECT cats FROM posts_fts WHERE rowid = posts.rank_key), '');
        DROP TABLE posts_fts;
        -- An excerpt that only opens the text is not kept (storage.normalize.stored_excerpt).
        UPDATE posts SET excerpt = '' WHERE content != '' AND hrm_opens(content, excerpt);
        -- Links and guids are looked up by a hash of theirs (storage.normalize.text_key): an
        -- index of the strings took a twentieth of the archive.
        ALTER TABLE posts ADD COLUMN url_key INTEGER;
        ALTER TABLE posts ADD COLUMN guid_key INTEGER;
        UPDATE posts SET url_key = hrm_text_key(url), guid_key = hrm_text_key(guid);
        DROP INDEX posts_url;
        DROP INDEX posts_guid;
        CREATE INDEX posts_url_key ON posts (url_key);
        CREATE INDEX posts_guid_key ON posts (guid_key) WHERE guid_key IS NOT NULL;

        -- What the index reads (storage.posts.indexed_body, folded); tags in name order.
        CREATE VIEW posts_fts_source (rank_key, title, body, cats) AS
        SELECT p.rank_key,
               hrm_normalize(p.title),
               hrm_normalize(
                   CASE WHEN p.content != '' THEN p.content ELSE p.excerpt END
                   || coalesce(char(10) || (
                       SELECT group_concat(name, ' · ')
                       FROM (SELECT name FROM post_tags WHERE post_id = p.id ORDER BY name)
                   ), '')
               ),
               p.cat_tokens
        FROM posts p;

        -- rowid is posts.rank_key, as before (see UPDATE_FROM_0_TO_1).
        CREATE VIRTUAL TABLE posts_fts USING fts5 (
            title, body, cats, content = 'posts_fts_source', content_rowid = 'rank_key',
            tokenize = 'unicode61 remove_diacritics 2'
        );

        CREATE TRIGGER posts_fts_delete BEFORE DELETE ON posts
        BEGIN
            DELETE FROM posts_fts WHERE rowid = old.rank_key;
        END;
"""
# Posts indexed a statement at a time, with a progress line each (a minute or so at 100,000).
REINDEX_BATCH = 5000


async def update_from_4_to_5(db: aiosqlite.Connection) -> None:
    async with db.execute("SELECT count(*) FROM posts") as cur:
        row = await cur.fetchone()
    total = int(row[0]) if row else 0
    if total:
        # At WARNING: the one-shot commands show no more, and an operator whose `hrm-bot
        # status` is silent for a minute should know why.
        log.warning(
            "converting the search index of %s posts to read the posts' own text (once)",
            f"{total:,}",
        )
    for statement in _statements(UPDATE_FROM_4_TO_5):
        await db.execute(statement)
    done, last = 0, -1
    while done < total:
        async with db.execute(
            "SELECT count(*), max(rank_key) FROM "
            "(SELECT rank_key FROM posts WHERE rank_key > ? ORDER BY rank_key LIMIT ?)",
            (last, REINDEX_BATCH),
        ) as cur:
            row = await cur.fetchone()
        if not row or not row[0]:
            break
        # In rowid order: FTS5 flushes its in-memory segment whenever rowids go backwards.
        await db.execute(
            "INSERT INTO posts_fts (rowid, title, body, cats) "
            "SELECT rank_key, title, body, cats FROM posts_fts_source "
            "WHERE rank_key > ? AND rank_key <= ? ORDER BY rank_key",
            (last, row[1]),
        )
        done, last = done + int(row[0]), int(row[1])
        log.warning("converting the search index: %s of %s posts", f"{done:,}", f"{total:,}")


def _statements(script: str) -> list[str]:
    """A script's statements, for a step that runs them inside its own transaction
    (executescript would commit it): complete_statement keeps a trigger's body whole."""
    out: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            out.append(pending.strip())
            pending = ""
    if pending.strip():
        out.append(pending.strip())
    return [s for s in out if s and s != ";"]


# Each step is an SQL script, or a coroutine that runs its own statements; either runs in one
# transaction with the version bump.
Step = str | Callable[[aiosqlite.Connection], Awaitable[None]]
MIGRATIONS: list[Step] = [
    UPDATE_FROM_0_TO_1,
    UPDATE_FROM_1_TO_2,
    UPDATE_FROM_2_TO_3,
    UPDATE_FROM_3_TO_4,
    update_from_4_to_5,
]
SCHEMA_VERSION = len(MIGRATIONS)


async def connect(path: Path, *, create: bool = True) -> aiosqlite.Connection:
    """Open (creating parents and schema as needed) and migrate the database at ``path``."""
    if await asyncio.to_thread(path.is_dir):
        # SQLite would fail on it too, but leave aiosqlite's thread to die noisily later.
        raise StoreError(f"cannot open database {path}: it is a folder, not a file")
    if not create and not await asyncio.to_thread(path.is_file):
        raise ArchiveMissing(path)
    make_folder(path)
    try:
        db = await aiosqlite.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open database {path}: {exc}") from exc
    try:
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA busy_timeout = 5000")
        # Before journal_mode, which writes the file's header: a newer hrm-bot's archive is
        # left as it was.
        await schema_version(db, path)
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA foreign_keys = ON")
        # What /forget deletes is overwritten, not left in free pages of the file.
        await db.execute("PRAGMA secure_delete = ON")
        # Migrations that rebuild the search index fold text as the program does.
        await db.create_function("hrm_normalize", 1, normalize, deterministic=True)
        await db.create_function("hrm_category_token", 2, category_token, deterministic=True)
        await db.create_function("hrm_opens", 2, opens, deterministic=True)
        await db.create_function("hrm_text_key", 1, text_key, deterministic=True)
        await migrate(db, path)
    except sqlite3.Error as exc:
        await db.close()
        raise StoreError(f"cannot use database {path}: {exc}") from exc
    except BaseException:
        await db.close()
        raise
    return db


async def connect_read_only(
    path: Path,
    *,
    older: str = "`hrm-bot run` migrates it when it starts",
    newer: str = "a newer hrm-bot wrote it",
) -> aiosqlite.Connection:
    """Open the database at ``path`` to read only: never created, migrated or written, so that
    a frequent check (a container's health check) or a backup cannot race the running bot's
    migration. A schema version other than this program's is refused, with ``older`` or
    ``newer`` for advice."""
    if await asyncio.to_thread(path.is_dir):
        raise StoreError(f"cannot open database {path}: it is a folder, not a file")
    if not await asyncio.to_thread(path.is_file):
        raise ArchiveMissing(path)
    uri = f"{(await asyncio.to_thread(path.absolute)).as_uri()}?mode=ro"
    try:
        db = await aiosqlite.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open database {path}: {exc}") from exc
    try:
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA busy_timeout = 5000")
        async with db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        if version != SCHEMA_VERSION:
            why = older if version < SCHEMA_VERSION else newer
            raise StoreError(
                f"database {path} has schema version {version}, this program "
                f"{SCHEMA_VERSION}: {why}"
            )
    except sqlite3.Error as exc:
        await db.close()
        raise StoreError(f"cannot read database {path}: {exc}") from exc
    except BaseException:
        await db.close()
        raise
    return db


def make_folder(path: Path) -> None:
    """The database's folder, or a StoreError that names it and says why not."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the folder {path.parent} for the database: {exc.strerror or exc}"
        ) from None


async def schema_version(db: aiosqlite.Connection, path: Path | None = None) -> int:
    """The database's schema version, or StoreError if it is newer than this program's: its
    tables may have changed in ways this program would misread, or break."""
    async with db.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        where = f"database {path}" if path else "the database"
        raise StoreError(
            f"{where} has schema version {version}, newer than this program's "
            f"({SCHEMA_VERSION}): it was written by a newer hrm-bot; upgrade hrm-bot"
        )
    return version


async def migrate(db: aiosqlite.Connection, path: Path | None = None) -> None:
    version = await schema_version(db, path)
    for step in range(version, SCHEMA_VERSION):
        migration = MIGRATIONS[step]
        try:
            if isinstance(migration, str):
                # executescript commits anything pending first, so the transaction lives in
                # the script.
                await db.executescript(
                    f"BEGIN IMMEDIATE;\n{migration}\nPRAGMA user_version = {step + 1};\nCOMMIT;"
                )
            else:
                await db.execute("BEGIN IMMEDIATE")
                await migration(db)
                await db.execute(f"PRAGMA user_version = {step + 1}")
                await db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                await db.execute("ROLLBACK")
            raise


class Writer:
    """Serializes write transactions on one connection (one writer per process)."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._lock = asyncio.Lock()

    async def execute(self, sql: str, args: tuple[object, ...]) -> int:
        """One statement as its own transaction (autocommit): one trip to the database thread
        instead of three. Returns the number of rows changed."""
        async with self._lock:
            cur = await self._db.execute(sql, args)
            changed = cur.rowcount
            await cur.close()
            return changed

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """Reads that must not see another task's uncommitted writes on this connection."""
        async with self._lock:
            yield self._db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            # BEGIN runs on the database thread even if we are cancelled while waiting for
            # it; shielded, we know when it ran and can roll it back.
            begin = asyncio.ensure_future(self._db.execute("BEGIN IMMEDIATE"))
            try:
                await asyncio.shield(begin)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await begin
                if self._db.in_transaction:
                    await self._db.execute("ROLLBACK")
                raise
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:
                    await asyncio.shield(self._db.execute("ROLLBACK"))
                raise
            await asyncio.shield(self._db.execute("COMMIT"))
