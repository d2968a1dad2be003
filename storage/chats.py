"""Chats and what they follow. Only ids, type, language and subscriptions are kept."""

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
    cur = await db.execute(
        "DELETE FROM outbox WHERE chat_id = ? AND status = 'pending'", (chat_id,)
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
        "INSERT OR IGNORE INTO outbox (chat_id, post_id, status, attempts, not_before, "
        "created_at, sent_at, message_id, error) SELECT ?, post_id, status, attempts, "
        "not_before, created_at, sent_at, message_id, error FROM outbox WHERE chat_id = ?",
        (new, old),
    )
    await db.execute("DELETE FROM chats WHERE chat_id = ?", (old,))
