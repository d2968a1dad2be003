"""Watched phrases: a chat is alerted of every new post whose text contains one of its phrases.

A phrase is kept twice: as typed (to show it back) and as its folded words (to match). It is
matched against the words of a post as the search index cuts and folds them, so a phrase
matches where a search for it in quotes would. Matching is by an index of every phrase keyed
by its first word: a post's words are read once, whatever the number of phrases.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.normalize import words
from storage.posts import to_text

MAX_PHRASES = 20
MIN_CHARS = 2
MAX_CHARS = 100

# Words too common to watch alone: a phrase of these only would match nearly every report.
STOP_WORDS = frozenset(
    words(
        "a an the of in on at to and or for by with from as is are was were be been it its "
        "this that these those not no"
    )
    + words("و در به از که این آن را با برای تا یا است بود شد هم نیز یک هر")
)


@dataclass(frozen=True, slots=True)
class Watch:
    phrase: str  # as typed
    folded: str  # its words, folded, joined by one space


def fold(phrase: str) -> str:
    """The words of a phrase as matched, joined by one space ('' when it has none)."""
    return " ".join(words(phrase))


def only_stop_words(folded: str) -> bool:
    return all(w in STOP_WORDS for w in folded.split())


class WatchIndex:
    """Every chat's phrases, keyed by their first word; a phrase many chats watch is one
    entry, compared once wherever its first word occurs."""

    def __init__(self, rows: Iterable[tuple[int, str, str]]) -> None:
        # folded phrase -> [(chat id, phrase as that chat typed it)]
        self._watchers: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for chat_id, folded, phrase in rows:
            if folded.split():
                self._watchers[folded].append((chat_id, phrase))
        # first word -> [(the other words, folded phrase)]
        self._by_first: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        for folded in self._watchers:
            first, *rest = folded.split()
            self._by_first[first].append((tuple(rest), folded))
        self.size = sum(len(w) for w in self._watchers.values())

    def __bool__(self) -> bool:
        return self.size > 0

    def match(self, texts: Iterable[Sequence[str]]) -> dict[int, list[str]]:
        """Chats whose phrases occur in any of the texts (each a list of words), with those
        phrases as typed. A phrase never spans two texts (a title and a body)."""
        found: dict[str, None] = {}
        by_first = self._by_first
        for text in texts:
            tokens = tuple(text)
            n = len(tokens)
            for i, token in enumerate(tokens):
                candidates = by_first.get(token)
                if candidates is None:
                    continue
                for rest, folded in candidates:
                    if folded in found:
                        continue
                    if not rest or (
                        i + len(rest) < n and tokens[i + 1 : i + 1 + len(rest)] == rest
                    ):
                        found[folded] = None
        chats: dict[int, dict[str, None]] = {}
        for folded in found:
            for chat_id, phrase in self._watchers[folded]:
                chats.setdefault(chat_id, {})[phrase] = None
        return {chat: list(phrases) for chat, phrases in chats.items()}


async def load_index(db: aiosqlite.Connection) -> WatchIndex:
    """Every chat's phrases (whether a chat is active is checked as its alert is queued)."""
    async with db.execute("SELECT chat_id, folded, phrase FROM watches") as cur:
        return WatchIndex((r[0], r[1], r[2]) for r in await cur.fetchall())


async def list_watches(db: aiosqlite.Connection, chat_id: int) -> list[Watch]:
    async with db.execute(
        "SELECT phrase, folded FROM watches WHERE chat_id = ? ORDER BY rowid",
        (chat_id,),
    ) as cur:
        return [Watch(r[0], r[1]) for r in await cur.fetchall()]


async def add(
    db: aiosqlite.Connection, chat_id: int, phrase: str, folded: str, now: datetime
) -> bool:
    """Add a phrase; False when the chat watches it already (in any spelling)."""
    cur = await db.execute(
        "INSERT OR IGNORE INTO watches (chat_id, folded, phrase, created_at) VALUES (?, ?, ?, ?)",
        (chat_id, folded, phrase, to_text(now)),
    )
    added = cur.rowcount > 0
    await cur.close()
    return added


async def count(db: aiosqlite.Connection, chat_id: int) -> int:
    async with db.execute("SELECT count(*) FROM watches WHERE chat_id = ?", (chat_id,)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def remove(db: aiosqlite.Connection, chat_id: int, folded: str | None) -> list[str]:
    """Remove one phrase (by its folded words), or every phrase with None; returns the
    phrases removed, as typed."""
    sql = "DELETE FROM watches WHERE chat_id = ?"
    args: tuple[object, ...] = (chat_id,)
    if folded is not None:
        sql, args = f"{sql} AND folded = ?", (chat_id, folded)
    async with db.execute(f"{sql} RETURNING phrase", args) as cur:
        return [r[0] for r in await cur.fetchall()]
