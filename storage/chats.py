"""Chats, what they follow and how they want it. Only ids, type, language, subscriptions,
watched phrases and delivery settings are kept."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.posts import to_text

ALL = "*"  # the wildcard subscription: every post of a site


@dataclass(frozen=True, slots=True)
class Subscription:
    site: str
    slug: str


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """How a chat wants its alerts. Times are minutes after midnight in ``timezone``."""

    language: str | None = None
    discreet: bool = False
    timezone: str | None = None  # None: the default zone (Asia/Tehran)
    quiet_start: int | None = None
    quiet_end: int | None = None
    digest_at: int | None = None


async def settings(db: aiosqlite.Connection, chat_id: int) -> ChatSettings:
    async with db.execute(
        "SELECT language, discreet, timezone, quiet_start, quiet_end, digest_at FROM chats "
        "WHERE chat_id = ?",
        (chat_id,),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return ChatSettings()
    return ChatSettings(row[0], bool(row[1]), row[2], row[3], row[4], row[5])


async def update_settings(
    db: aiosqlite.Connection, chat_id: int, values: dict[str, object]
) -> None:
    """Set some of a stored chat's settings; the column names are ours."""
    allowed = {"discreet", "timezone", "quiet_start", "quiet_end", "digest_at", "digest_last"}
    if not values or not set(values) <= allowed:
        raise ValueError(f"not chat settings: {sorted(set(values) - allowed)}")
    assignments = ", ".join(f"{name} = ?" for name in values)
    await db.execute(
        f"UPDATE chats SET {assignments} WHERE chat_id = ?", (*values.values(), chat_id)
    )


async def set_digest(
    db: aiosqlite.Connection,
    chat_id: int,
    at: int,
    timezone: str | None,
    made: str,
    *,
    new_zone: bool,
) -> None:
    """A daily digest at ``at``; the digest of the local day ``made`` counts as made (the
    caller's "today or before"), so the first one comes when the time next comes round.

    In the same zone a day already made stays made (one digest a day); in a new zone the
    days are another calendar's, and ``made`` replaces the old zone's day."""
    last = "?" if new_zone else "max(coalesce(digest_last, ''), ?)"
    await db.execute(
        f"UPDATE chats SET digest_at = ?, timezone = ?, digest_last = {last} WHERE chat_id = ?",
        (at, timezone, made, chat_id),
    )


async def release_held(db: aiosqlite.Connection, chat_id: int) -> int:
    """A chat that no longer wants a digest gets what was waiting for the next one as alerts
    (a digest already made still goes out)."""
    cur = await db.execute(
        "UPDATE outbox SET status = 'pending' WHERE chat_id = ? AND status = 'held'", (chat_id,)
    )
    released = max(cur.rowcount, 0)
    await cur.close()
    return released


async def digest_chats(db: aiosqlite.Connection) -> list[tuple[int, str | None, int, str | None]]:
    """(chat id, zone, minute of the day, last digest's day) of active chats with a digest."""
    async with db.execute(
        "SELECT chat_id, timezone, digest_at, digest_last FROM chats "
        "WHERE digest_at IS NOT NULL AND active = 1"
    ) as cur:
        return [(r[0], r[1], r[2], r[3]) for r in await cur.fetchall()]


async def ensure_chat(
    db: aiosqlite.Connection, chat_id: int, chat_type: str, language: str | None, now: datetime
) -> None:
    """Create the chat, or wake it up: writing to the bot again undoes a block.

    ``language`` is a first guess, kept only when the chat has none: a language chosen with
    /language stays.
    """
    await db.execute(
        "INSERT INTO chats (chat_id, type, language, active, created_at) VALUES (?, ?, ?, 1, ?) "
        "ON CONFLICT (chat_id) DO UPDATE SET type = excluded.type, active = 1, "
        "language = coalesce(chats.language, excluded.language)",
        (chat_id, chat_type, language, to_text(now)),
    )


async def set_language(
    db: aiosqlite.Connection, chat_id: int, chat_type: str, language: str, now: datetime
) -> None:
    await db.execute(
        "INSERT INTO chats (chat_id, type, language, active, created_at) VALUES (?, ?, ?, 1, ?) "
        "ON CONFLICT (chat_id) DO UPDATE SET type = excluded.type, language = excluded.language",
        (chat_id, chat_type, language, to_text(now)),
    )


async def language(db: aiosqlite.Connection, chat_id: int) -> str | None:
    async with db.execute("SELECT language FROM chats WHERE chat_id = ?", (chat_id,)) as cur:
        row = await cur.fetchone()
    return str(row[0]) if row is not None and row[0] else None


async def subscriptions(db: aiosqlite.Connection, chat_id: int) -> list[Subscription]:
    async with db.execute(
        "SELECT site, slug FROM subscriptions WHERE chat_id = ? ORDER BY site, slug", (chat_id,)
    ) as cur:
        return [Subscription(r[0], r[1]) for r in await cur.fetchall()]


async def subscribe(
    db: aiosqlite.Connection, chat_id: int, site: str, slugs: Iterable[str]
) -> list[str]:
    """Add subscriptions; returns the slugs that were not followed before."""
    added = []
    for slug in dict.fromkeys(slugs):
        cur = await db.execute(
            "INSERT OR IGNORE INTO subscriptions (chat_id, site, slug) VALUES (?, ?, ?)",
            (chat_id, site, slug),
        )
        if cur.rowcount > 0:
            added.append(slug)
        await cur.close()
    return added


async def unsubscribe(
    db: aiosqlite.Connection, chat_id: int, site: str, slugs: Iterable[str] | None
) -> list[str]:
    """Remove subscriptions (all of the site's with None); returns the slugs removed."""
    if slugs is None:
        async with db.execute(
            "DELETE FROM subscriptions WHERE chat_id = ? AND site = ? RETURNING slug",
            (chat_id, site),
        ) as cur:
            return sorted(r[0] for r in await cur.fetchall())
    removed = []
    for slug in dict.fromkeys(slugs):
        cur = await db.execute(
            "DELETE FROM subscriptions WHERE chat_id = ? AND site = ? AND slug = ?",
            (chat_id, site, slug),
        )
        if cur.rowcount > 0:
            removed.append(slug)
        await cur.close()
    return removed


async def forget(db: aiosqlite.Connection, chat_id: int) -> bool:
    """Delete the chat with its subscriptions and deliveries (cascading)."""
    cur = await db.execute("DELETE FROM chats WHERE chat_id = ?", (chat_id,))
    found = cur.rowcount > 0
    await cur.close()
    return found


async def deactivate(db: aiosqlite.Connection, chat_id: int) -> int:
    """Stop delivering to a chat that blocked or removed the bot; returns rows dropped."""
    await db.execute("UPDATE chats SET active = 0 WHERE chat_id = ?", (chat_id,))
    await db.execute("DELETE FROM digests WHERE chat_id = ? AND status = 'pending'", (chat_id,))
    await db.execute("DELETE FROM edits WHERE chat_id = ? AND status = 'pending'", (chat_id,))
    cur = await db.execute(
        "DELETE FROM outbox WHERE chat_id = ? AND status IN ('pending', 'held', 'digest')",
        (chat_id,),
    )
    dropped = cur.rowcount
    await cur.close()
    return dropped


async def migrate(db: aiosqlite.Connection, old: int, new: int) -> None:
    """A group became a supergroup: move everything to the new id."""
    async with db.execute("SELECT 1 FROM chats WHERE chat_id = ?", (new,)) as cur:
        exists = await cur.fetchone() is not None
    if not exists:
        # ON UPDATE CASCADE carries subscriptions and outbox rows along.
        await db.execute(
            "UPDATE chats SET chat_id = ?, type = 'supergroup' WHERE chat_id = ?", (new, old)
        )
        return
    await db.execute(
        "INSERT OR IGNORE INTO subscriptions (chat_id, site, slug) "
        "SELECT ?, site, slug FROM subscriptions WHERE chat_id = ?",
        (new, old),
    )
    await db.execute(
        "INSERT OR IGNORE INTO watches (chat_id, folded, phrase, created_at) "
        "SELECT ?, folded, phrase, created_at FROM watches WHERE chat_id = ?",
        (new, old),
    )
    # The supergroup's own settings stay; alerts waiting for a digest go out as alerts.
    await db.execute(
        "INSERT OR IGNORE INTO outbox (chat_id, post_id, status, attempts, not_before, "
        "created_at, sent_at, message_id, error, reason, revision) SELECT ?, post_id, "
        "CASE WHEN status IN ('held', 'digest') THEN 'pending' ELSE status END, attempts, "
        "not_before, created_at, sent_at, message_id, error, reason, revision "
        "FROM outbox WHERE chat_id = ?",
        (new, old),
    )
    await db.execute("DELETE FROM chats WHERE chat_id = ?", (old,))
