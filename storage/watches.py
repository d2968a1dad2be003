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
from itertools import pairwise

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
        "this that these those not no all"
    )
    + words("و در به از که این آن را با برای تا یا است بود شد هم نیز یک هر همه")
)


@dataclass(frozen=True, slots=True)
class Watch:
    phrase: str  # as typed
    folded: str  # its words, folded, joined by one space


def fold(phrase: str) -> str:
    """The words of a phrase as matched, joined by one space ('' when it has none)."""
    return " ".join(words(phrase))


def only_stop_words(folded: str) -> bool:
    """Common words and numbers alone (a year is in nearly every report)."""
    return all(w in STOP_WORDS or w.isdigit() for w in folded.split())


class WatchIndex:
    """Every chat's phrases. A phrase many chats watch is one entry, and a text is read with
    set operations: its words for the phrases of one word, its pairs of adjacent words for
    the longer ones (a longer phrase is then checked in order only where its first two words
    stand together), so the cost follows the text's length, hardly the number of phrases."""

    def __init__(self, rows: Iterable[tuple[int, str, str]]) -> None:
        # folded phrase -> [(rank, chat id, phrase as that chat typed it)]; the rank keeps
        # each chat's phrases in the order they were added.
        self._watchers: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        for rank, (chat_id, folded, phrase) in enumerate(rows):
            if folded.split():
                self._watchers[folded].append((rank, chat_id, phrase))
        self._singles: set[str] = set()
        # (first word, second word) -> [(the words after them, folded phrase)]
        self._by_pair: dict[tuple[str, str], list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        for folded in self._watchers:
            parts = folded.split()
            if len(parts) == 1:
                self._singles.add(folded)
            else:
                self._by_pair[(parts[0], parts[1])].append((tuple(parts[2:]), folded))
        # A Persian compound is written with a space, a ZWNJ (which folding drops) or
        # nothing: «قزل حصار», «قزل‌حصار». A two-word Persian phrase also matches its words
        # joined, and a one-word phrase two words of the text joined.
        self._joined: dict[str, list[str]] = defaultdict(list)
        for folded in self._watchers:
            parts = folded.split()
            if len(parts) == 2 and not folded.isascii():
                self._joined["".join(parts)].append(folded)
        # ...and the ways a one-word Persian phrase splits in two: (first part, second part)
        # -> [phrase], looked up with the text's pairs of adjacent words.
        self._split: dict[tuple[str, str], list[str]] = defaultdict(list)
        for folded in self._singles:
            if not folded.isascii():
                for i in range(2, len(folded) - 1):
                    self._split[(folded[:i], folded[i:])].append(folded)
        self._pair_keys = frozenset(self._by_pair) | frozenset(self._split)
        self.size = sum(len(w) for w in self._watchers.values())

    def __bool__(self) -> bool:
        return self.size > 0

    def match(self, texts: Iterable[Sequence[str]]) -> dict[int, list[str]]:
        """Chats whose phrases occur in any of the texts (each a list of words), with those
        phrases as typed. A phrase never spans two texts (a title and a body)."""
        found: set[str] = set()
        for text in texts:
            present = set(text)
            found |= self._singles & present
            for word in self._joined.keys() & present:
                found.update(self._joined[word])
            # Pairs of adjacent words are many: made into tuples once, and only kept where
            # they start a phrase or split one.
            for pair in self._pair_keys.intersection(pairwise(text)):
                found.update(self._split.get(pair, ()))
                for rest, folded in self._by_pair.get(pair, ()):
                    if not rest or (folded not in found and _occurs(text, pair, rest)):
                        found.add(folded)
        hits = sorted(w for folded in found for w in self._watchers[folded])
        chats: dict[int, list[str]] = {}
        for _rank, chat_id, phrase in hits:
            chats.setdefault(chat_id, []).append(phrase)
        return chats


def _occurs(tokens: Sequence[str], pair: tuple[str, str], rest: tuple[str, ...]) -> bool:
    """Whether ``pair`` followed by ``rest`` occurs in ``tokens``, adjacent and in order."""
    words_ = list(tokens)
    first, tail = pair[0], [pair[1], *rest]
    n, i = len(tail), -1
    while True:
        try:
            i = words_.index(first, i + 1)
        except ValueError:
            return False
        if words_[i + 1 : i + 1 + n] == tail:
            return True


def still_named(phrases: Sequence[str], texts: Iterable[str]) -> tuple[str, ...]:
    """Those of a chat's phrases that the texts (a corrected report's) still contain."""
    index = WatchIndex((0, fold(p), p) for p in phrases)
    return tuple(index.match([words(t) for t in texts]).get(0, ()))


async def load_index(db: aiosqlite.Connection) -> WatchIndex:
    """Every chat's phrases (whether a chat is active is checked as its alert is queued)."""
    async with db.execute("SELECT chat_id, folded, phrase FROM watches ORDER BY rowid") as cur:
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
