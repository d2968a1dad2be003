"""Deliveries: one row per (chat, post), pending until Telegram accepts the message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.posts import from_text, to_text


@dataclass(frozen=True, slots=True)
class Delivery:
    chat_id: int
    post_id: int
    chat_type: str
    language: str | None
    attempts: int


async def due(
    db: aiosqlite.Connection, now: datetime, limit: int, *, after: tuple[int, int] = (0, 0)
) -> list[Delivery]:
    """Pending rows whose time has come, in post then chat order, after the key ``after``."""
    async with db.execute(
        "SELECT o.chat_id, o.post_id, c.type, c.language, o.attempts FROM outbox o "
        "JOIN chats c ON c.chat_id = o.chat_id "
        "WHERE o.status = 'pending' AND (o.not_before IS NULL OR o.not_before <= ?) "
        "AND (o.post_id, o.chat_id) > (?, ?) "
        "ORDER BY o.post_id, o.chat_id LIMIT ?",
        (to_text(now), after[0], after[1], limit),
    ) as cur:
        return [Delivery(r[0], r[1], r[2], r[3], r[4]) for r in await cur.fetchall()]


async def next_due(db: aiosqlite.Connection) -> datetime | None:
    """When the earliest postponed pending row becomes due."""
    async with db.execute(
        # The planner prefers the status index, which means reading every pending row (a
        # fan-out has thousands); the partial index on not_before answers with one probe.
        "SELECT min(not_before) FROM outbox INDEXED BY outbox_postponed "
        "WHERE status = 'pending' AND not_before IS NOT NULL"
    ) as cur:
        row = await cur.fetchone()
    return from_text(row[0]) if row and row[0] else None


MARK_SENT = (
    "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, error = NULL, "
    "attempts = attempts + 1 WHERE chat_id = ? AND post_id = ?"
)
POSTPONE = (
    "UPDATE outbox SET not_before = ?, error = ?, attempts = attempts + ? "
    "WHERE chat_id = ? AND post_id = ?"
)
MARK_FAILED = (
    "UPDATE outbox SET status = 'failed', error = ?, attempts = attempts + 1 "
    "WHERE chat_id = ? AND post_id = ?"
)


def mark_sent(chat_id: int, post_id: int, message_id: int, now: datetime) -> tuple[object, ...]:
    return (to_text(now), message_id, chat_id, post_id)


def postpone(
    chat_id: int, post_id: int, until: datetime, error: str, *, count_attempt: bool
) -> tuple[object, ...]:
    return (to_text(until), error, int(count_attempt), chat_id, post_id)


def mark_failed(chat_id: int, post_id: int, error: str) -> tuple[object, ...]:
    return (error, chat_id, post_id)
