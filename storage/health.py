"""What the operators hear of: the conditions behind health alerts, and notices.

A notice is a text message to one chat (an operator's), kept until Telegram accepts it like an
alert; its key names the event, so that each event's message is queued once per chat, across
restarts too. A condition (an edition's outage or silence, a burst of failed alerts) is a row
that lives while the condition lasts: the operators' messages are queued in the transaction
that marks it notified, so they are queued exactly once.

Nothing here decides when a condition begins or ends: bot.ops.health does.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.outbox import Delivery
from storage.posts import from_text, to_text

OUTAGE = "outage"
SILENCE = "silence"
DELIVERIES = "deliveries"


@dataclass(frozen=True, slots=True)
class Notice(Delivery):
    """A notice as the sender sends it: the chat's settings, the event's key, the text."""

    key: str = ""
    text: str = ""


@dataclass(frozen=True, slots=True)
class Condition:
    site: str  # '' for the deliveries, which are no edition's
    kind: str  # OUTAGE | SILENCE | DELIVERIES
    since: datetime
    detail: str = ""
    notified: bool = False

    @property
    def key(self) -> str:
        """The event's name, the key of its notices: one per condition and beginning."""
        return f"{self.kind}:{self.site}:{to_text(self.since)}"


async def condition(db: aiosqlite.Connection, site: str, kind: str) -> Condition | None:
    async with db.execute(
        "SELECT since, detail, notified_at FROM health WHERE site = ? AND kind = ?",
        (site, kind),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    since = from_text(row[0])
    assert since is not None
    return Condition(site, kind, since, row[1], row[2] is not None)


async def open_condition(
    db: aiosqlite.Connection, site: str, kind: str, since: datetime, detail: str
) -> Condition:
    """The condition, begun now at ``since`` or earlier; its detail follows the latest until
    the operators are told."""
    await db.execute(
        "INSERT INTO health (site, kind, since, detail) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (site, kind) DO UPDATE SET detail = excluded.detail "
        "WHERE health.notified_at IS NULL",
        (site, kind, to_text(since), detail),
    )
    found = await condition(db, site, kind)
    assert found is not None
    return found


async def queue_notices(
    db: aiosqlite.Connection, key: str, texts: Sequence[tuple[int, str]], now: datetime
) -> None:
    """One notice per (chat, text) under ``key``; a chat that has it already keeps it."""
    await db.executemany(
        "INSERT OR IGNORE INTO notices (chat_id, key, text, created_at) VALUES (?, ?, ?, ?)",
        [(chat_id, key, text, to_text(now)) for chat_id, text in texts],
    )


async def notify(
    db: aiosqlite.Connection,
    found: Condition,
    texts: Sequence[tuple[int, str]],
    now: datetime,
) -> bool:
    """Mark the condition notified and queue its notices; False when it was already (or has
    ended meanwhile)."""
    cur = await db.execute(
        "UPDATE health SET notified_at = ? WHERE site = ? AND kind = ? AND since = ? "
        "AND notified_at IS NULL",
        (to_text(now), found.site, found.kind, to_text(found.since)),
    )
    marked = cur.rowcount > 0
    await cur.close()
    if marked:
        await queue_notices(db, found.key, texts, now)
    return marked


async def close(
    db: aiosqlite.Connection,
    found: Condition,
    key: str,
    texts: Sequence[tuple[int, str]],
    now: datetime,
) -> bool:
    """End the condition, queueing ``texts`` under ``key`` (a recovery, when the operators
    were told of its beginning); False when it had ended already."""
    cur = await db.execute(
        "DELETE FROM health WHERE site = ? AND kind = ? AND since = ?",
        (found.site, found.kind, to_text(found.since)),
    )
    ended = cur.rowcount > 0
    await cur.close()
    if ended and texts:
        await queue_notices(db, key, texts, now)
    return ended


async def started(db: aiosqlite.Connection, ids: Collection[int]) -> dict[int, str | None]:
    """Of these user ids, those whose private chat with the bot is stored and active: their
    language by id."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    async with db.execute(
        f"SELECT chat_id, language FROM chats WHERE chat_id IN ({marks}) "
        "AND type = 'private' AND active = 1",
        tuple(ids),
    ) as cur:
        return {int(r[0]): r[1] for r in await cur.fetchall()}


# -- what the conditions are judged on ------------------------------------------------------


async def failed_alerts(db: aiosqlite.Connection, since: datetime) -> tuple[int, str | None]:
    """Alerts that ended as failed since then, and their most common error."""
    async with db.execute(
        "SELECT error, count(*) FROM outbox INDEXED BY outbox_failed "
        "WHERE status = 'failed' AND failed_at >= ? GROUP BY error "
        "ORDER BY count(*) DESC, error",
        (to_text(since),),
    ) as cur:
        rows = list(await cur.fetchall())
    if not rows:
        return 0, None
    return sum(int(r[1]) for r in rows), rows[0][0]


async def last_new_post(db: aiosqlite.Connection, site: str) -> datetime | None:
    """When the site's newest stored post was first seen (ids grow as posts are stored)."""
    async with db.execute(
        "SELECT first_seen FROM posts WHERE site = ? ORDER BY id DESC LIMIT 1", (site,)
    ) as cur:
        row = await cur.fetchone()
    return from_text(row[0]) if row else None


async def days_with_posts(
    db: aiosqlite.Connection, site: str, start: datetime, end: datetime
) -> int:
    """Days (UTC) from ``start`` to ``end`` on which the site published a post (first seen,
    for a post without a date)."""
    async with db.execute(
        "SELECT count(DISTINCT substr(coalesce(published, first_seen), 1, 10)) FROM posts "
        "WHERE site = ? AND coalesce(published, first_seen) >= ? "
        "AND coalesce(published, first_seen) <= ?",
        (site, to_text(start), to_text(end)),
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


# -- sending --------------------------------------------------------------------------------

_CHAT = "c.type, c.language, c.discreet, c.timezone, c.quiet_start, c.quiet_end"


async def due(db: aiosqlite.Connection, now: datetime, limit: int) -> list[Notice]:
    async with db.execute(
        f"SELECT n.chat_id, {_CHAT}, n.attempts, n.key, n.text FROM notices n "
        "JOIN chats c ON c.chat_id = n.chat_id "
        "WHERE n.status = 'pending' AND c.active = 1 "
        "AND (n.not_before IS NULL OR n.not_before <= ?) "
        "ORDER BY n.created_at, n.chat_id LIMIT ?",
        (to_text(now), limit),
    ) as cur:
        return [
            Notice(r[0], 0, r[1], r[2], r[7], bool(r[3]), r[4], r[5], r[6], key=r[8], text=r[9])
            for r in await cur.fetchall()
        ]


SENT = (
    "UPDATE notices SET status = 'sent', sent_at = ?, error = NULL, attempts = attempts + 1 "
    "WHERE chat_id = ? AND key = ?"
)
POSTPONE = (
    "UPDATE notices SET not_before = ?, error = ?, attempts = attempts + ? "
    "WHERE chat_id = ? AND key = ?"
)
FAIL = (
    "UPDATE notices SET status = 'failed', error = ?, attempts = attempts + 1 "
    "WHERE chat_id = ? AND key = ?"
)
