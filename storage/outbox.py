"""What the sender sends: alerts (one row per chat and post, pending until Telegram accepts
the message), edits of alerts whose post was corrected, and daily digests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.posts import from_text, to_text


@dataclass(frozen=True, slots=True)
class Delivery:
    """How a chat wants its messages: what every kind of outgoing row carries."""

    chat_id: int
    post_id: int  # 0 for a digest
    chat_type: str
    language: str | None
    attempts: int
    discreet: bool = False
    timezone: str | None = None
    quiet_start: int | None = None
    quiet_end: int | None = None
    watched: tuple[str, ...] = ()  # the chat's phrases the post matched
    revision: str = ""  # edits: the revision to show; alerts: the post's revision now
    message_id: int | None = None  # edits: the alert to edit
    day: str = ""  # digests: the chat's local day
    parts_sent: int = 0  # digests: parts already sent


_CHAT = "c.type, c.language, c.discreet, c.timezone, c.quiet_start, c.quiet_end"


def _split(reason: str | None) -> tuple[str, ...]:
    return tuple(reason.split("\n")) if reason else ()


async def due(
    db: aiosqlite.Connection, now: datetime, limit: int, *, after: tuple[int, int] = (0, 0)
) -> list[Delivery]:
    """Pending alerts whose time has come, in post then chat order, after the key ``after``."""
    async with db.execute(
        f"SELECT o.chat_id, o.post_id, {_CHAT}, o.attempts, o.reason, p.digest FROM outbox o "
        "JOIN chats c ON c.chat_id = o.chat_id JOIN posts p ON p.id = o.post_id "
        "WHERE o.status = 'pending' AND (o.not_before IS NULL OR o.not_before <= ?) "
        "AND (o.post_id, o.chat_id) > (?, ?) "
        "ORDER BY o.post_id, o.chat_id LIMIT ?",
        (to_text(now), after[0], after[1], limit),
    ) as cur:
        return [
            Delivery(
                r[0], r[1], r[2], r[3], r[8], bool(r[4]), r[5], r[6], r[7],
                watched=_split(r[9]), revision=r[10],
            )
            for r in await cur.fetchall()
        ]  # fmt: skip


async def due_edits(db: aiosqlite.Connection, now: datetime, limit: int) -> list[Delivery]:
    async with db.execute(
        f"SELECT e.chat_id, e.post_id, {_CHAT}, e.attempts, o.reason, e.revision, o.message_id "
        "FROM edits e JOIN outbox o USING (chat_id, post_id) "
        "JOIN chats c ON c.chat_id = e.chat_id "
        "WHERE e.status = 'pending' AND c.active = 1 "
        "AND (e.not_before IS NULL OR e.not_before <= ?) ORDER BY e.post_id, e.chat_id LIMIT ?",
        (to_text(now), limit),
    ) as cur:
        return [
            Delivery(
                r[0], r[1], r[2], r[3], r[8], bool(r[4]), r[5], r[6], r[7],
                watched=_split(r[9]), revision=r[10], message_id=r[11],
            )
            for r in await cur.fetchall()
        ]  # fmt: skip


async def due_digests(db: aiosqlite.Connection, now: datetime, limit: int) -> list[Delivery]:
    async with db.execute(
        f"SELECT d.chat_id, {_CHAT}, d.attempts, d.day, d.parts_sent FROM digests d "
        "JOIN chats c ON c.chat_id = d.chat_id "
        "WHERE d.status = 'pending' AND c.active = 1 "
        "AND (d.not_before IS NULL OR d.not_before <= ?) ORDER BY d.day, d.chat_id LIMIT ?",
        (to_text(now), limit),
    ) as cur:
        return [
            Delivery(
                r[0], 0, r[1], r[2], r[7], bool(r[3]), r[4], r[5], r[6],
                day=r[8], parts_sent=r[9],
            )
            for r in await cur.fetchall()
        ]  # fmt: skip


async def next_due(db: aiosqlite.Connection) -> datetime | None:
    """When the earliest postponed pending row (alert, edit, digest or notice) becomes due."""
    found: list[datetime] = []
    for sql in (
        # The planner prefers the status index, which means reading every pending row (a
        # fan-out has thousands); the partial index on not_before answers with one probe.
        "SELECT min(not_before) FROM outbox INDEXED BY outbox_postponed "
        "WHERE status = 'pending' AND not_before IS NOT NULL",
        "SELECT min(not_before) FROM edits WHERE status = 'pending'",
        "SELECT min(not_before) FROM digests WHERE status = 'pending'",
        "SELECT min(not_before) FROM notices WHERE status = 'pending'",
    ):
        async with db.execute(sql) as cur:
            row = await cur.fetchone()
        if row and row[0]:
            found.append(from_text(row[0]))  # type: ignore[arg-type]
    return min(found, default=None)


MARK_SENT = (
    "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, error = NULL, "
    "attempts = attempts + 1, revision = ? WHERE chat_id = ? AND post_id = ?"
)
POSTPONE = (
    "UPDATE outbox SET not_before = ?, error = ?, attempts = attempts + ? "
    "WHERE chat_id = ? AND post_id = ?"
)
MARK_FAILED = (
    "UPDATE outbox SET status = 'failed', error = ?, attempts = attempts + 1 "
    "WHERE chat_id = ? AND post_id = ?"
)


def mark_sent(
    chat_id: int, post_id: int, message_id: int, revision: str | None, now: datetime
) -> tuple[object, ...]:
    return (to_text(now), message_id, revision, chat_id, post_id)


def postpone(
    chat_id: int, post_id: int, until: datetime, error: str, *, count_attempt: bool
) -> tuple[object, ...]:
    return (to_text(until), error, int(count_attempt), chat_id, post_id)


def mark_failed(chat_id: int, post_id: int, error: str) -> tuple[object, ...]:
    return (error, chat_id, post_id)


# -- edits ----------------------------------------------------------------------------------


async def edit_done(
    db: aiosqlite.Connection, chat_id: int, post_id: int, revision: str, error: str | None
) -> None:
    """The alert shows ``revision`` now (or could not be edited: ``error`` says why); a newer
    revision queued meanwhile stays pending."""
    await db.execute(
        "UPDATE edits SET status = 'done', error = ?, attempts = attempts + 1 "
        "WHERE chat_id = ? AND post_id = ? AND revision = ?",
        (error, chat_id, post_id, revision),
    )
    await db.execute(
        "UPDATE outbox SET revision = ? WHERE chat_id = ? AND post_id = ?",
        (revision, chat_id, post_id),
    )


POSTPONE_EDIT = (
    "UPDATE edits SET not_before = ?, error = ?, attempts = attempts + ? "
    "WHERE chat_id = ? AND post_id = ?"
)
FAIL_EDIT = (
    "UPDATE edits SET status = 'failed', error = ?, attempts = attempts + 1 "
    "WHERE chat_id = ? AND post_id = ?"
)


# -- digests --------------------------------------------------------------------------------


async def open_digest(db: aiosqlite.Connection, chat_id: int, day: str, now: datetime) -> bool:
    """Close the chat's digest of ``day`` (its local date): the alerts held for it become that
    digest's, to be sent. Once per chat and day; False when there was nothing to make (the
    day's digest was made already, or nothing was held: no message on an empty day)."""
    cur = await db.execute(
        "UPDATE chats SET digest_last = ? WHERE chat_id = ? AND digest_at IS NOT NULL "
        "AND (digest_last IS NULL OR digest_last < ?)",
        (day, chat_id, day),
    )
    opened = cur.rowcount > 0
    await cur.close()
    if not opened:
        return False
    cur = await db.execute(
        "UPDATE outbox SET status = 'digest', digest_day = ? "
        "WHERE chat_id = ? AND status = 'held'",
        (day, chat_id),
    )
    held = cur.rowcount > 0
    await cur.close()
    if held:
        await db.execute(
            "INSERT OR IGNORE INTO digests (chat_id, day, created_at) VALUES (?, ?, ?)",
            (chat_id, day, to_text(now)),
        )
    return held


async def digest_items(db: aiosqlite.Connection, chat_id: int, day: str) -> list[int]:
    """The posts of a chat's digest, oldest first."""
    async with db.execute(
        "SELECT o.post_id FROM outbox o JOIN posts p ON p.id = o.post_id "
        "WHERE o.chat_id = ? AND o.digest_day = ? AND o.status = 'digest' ORDER BY p.rank_key",
        (chat_id, day),
    ) as cur:
        return [r[0] for r in await cur.fetchall()]


DIGEST_PART_SENT = "UPDATE digests SET parts_sent = ?, error = NULL WHERE chat_id = ? AND day = ?"
POSTPONE_DIGEST = (
    "UPDATE digests SET not_before = ?, error = ?, attempts = attempts + ? "
    "WHERE chat_id = ? AND day = ?"
)
FAIL_DIGEST = (
    "UPDATE digests SET status = 'failed', error = ?, attempts = attempts + 1 "
    "WHERE chat_id = ? AND day = ?"
)


async def digest_sent(
    db: aiosqlite.Connection, chat_id: int, day: str, message_id: int | None, now: datetime
) -> None:
    await db.execute(
        "UPDATE digests SET status = 'sent', sent_at = ?, error = NULL "
        "WHERE chat_id = ? AND day = ?",
        (to_text(now), chat_id, day),
    )
    # The alerts went out in the digest: sent, with the digest's (last) message id.
    await db.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ? "
        "WHERE chat_id = ? AND digest_day = ? AND status = 'digest'",
        (to_text(now), message_id, chat_id, day),
    )
