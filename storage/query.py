"""The search query language, parsed by our own code into FTS5 expressions.

Users type words, "quoted phrases", ``-word`` to exclude, ``word*`` for a prefix, and the
filters ``category:SLUG``, ``edition:en|fa``, ``since:DATE`` and ``until:DATE``. Every piece
of text ends up inside an FTS5 string literal, so nothing a user types is FTS5 syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import jdatetime  # type: ignore[import-untyped, unused-ignore]

from storage.errors import InvalidQueryError
from storage.models import SearchQuery, Term
from storage.normalize import normalize

MAX_QUERY_CHARS = 200
MAX_TERMS = 16
# Shorter prefixes match so many words that merging their index entries costs hundreds of
# milliseconds on a large archive; "ex*" is searched as the word "ex".
MIN_PREFIX_CHARS = 3
EDITIONS = ("en", "fa")

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_FILTER = re.compile(r"^(category|cat|edition|since|until):(.+)$", re.IGNORECASE)
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_DATE = re.compile(r"^(\d{4})(?:[-/](\d{1,2}))?(?:[-/](\d{1,2}))?$")
# Gregorian years from here on; a year below is Solar Hijri (1403 is 2024-25).
_FIRST_GREGORIAN_YEAR = 1700
# Outside these, a year is more likely a number to search for than a date.
_GREGORIAN_YEARS = range(1970, 2101)
_SOLAR_HIJRI_YEARS = range(1348, 1480)  # 1969-2101
# The zone, not a fixed +03:30: Iran kept summer time (+04:30) until 2022.
_TEHRAN = ZoneInfo("Asia/Tehran")


def _has_token_chars(text: str) -> bool:
    # FTS5's unicode61 keeps letters and digits, and splits on everything else.
    return any(ch.isalnum() for ch in text)


def _solar_hijri(year: int, month: int, day: int) -> date:
    # jdatetime checks the month and the day (30 Esfand only in leap years): ValueError.
    gregorian: date = jdatetime.date(year, month, day).togregorian()
    return gregorian


def date_bound(text: str, *, end: bool) -> datetime | None:
    """A date filter's bound: the start of the day, month or year named, or for ``end`` the
    start of the next one (exclusive).

    Each calendar's day is the one the bot shows in it: a Gregorian date starts at midnight
    UTC, a Solar Hijri one at midnight in Tehran, where Persian readers see reports dated
    (bot.i18n.calendar). So a report shown as ۱ فروردین ۱۴۰۳ is found by since:1403-01-01,
    though that bound is 3.5 hours before since:2024-03-20's.
    """
    m = _DATE.match(normalize(text))
    if not m:
        return None
    year, month, day = int(m[1]), int(m[2] or 1), int(m[3] or 1)
    if year < _FIRST_GREGORIAN_YEAR:
        if year not in _SOLAR_HIJRI_YEARS:
            return None
        try:
            start = _solar_hijri(year, month, day)
            if end and m[3]:
                start += timedelta(days=1)
            elif end and m[2]:
                start = _solar_hijri(year + month // 12, month % 12 + 1, 1)
            elif end:
                start = _solar_hijri(year + 1, 1, 1)
        except ValueError:
            return None
        return datetime(start.year, start.month, start.day, tzinfo=_TEHRAN).astimezone(UTC)
    if year not in _GREGORIAN_YEARS:
        return None
    try:
        first = datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None
    if not end:
        return first
    # ``until`` names a period; the bound is the start of the next one, exclusive.
    if m[3]:
        return first + timedelta(days=1)
    if m[2]:
        if first.month == 12:
            return first.replace(year=year + 1, month=1)
        return first.replace(month=first.month + 1)
    return first.replace(year=year + 1)


@dataclass(frozen=True, slots=True)
class _Word:
    text: str  # as typed, without a leading "-" and with any "*"
    negate: bool

    @property
    def star(self) -> bool:
        return self.text.endswith("*")

    @property
    def stem(self) -> str:
        return self.text.rstrip("*")


def _word(raw: str) -> _Word:
    if raw.startswith("-") and len(raw) > 1:
        return _Word(raw[1:], True)
    return _Word(raw, False)


def _joins(left: _Word, right: _Word) -> bool:
    """Whether normalize() glues the two words into one, as it would in the text: «زندان ها»
    typed as two words is the one word زندانها in the index."""
    if left.star or right.negate or not left.text or not right.stem:
        return False
    apart = len(normalize(left.text).split()) + len(normalize(right.stem).split())
    return len(normalize(f"{left.text} {right.stem}").split()) < apart


def _term(word: _Word) -> Term:
    if word.star:
        stem = normalize(word.stem)
        # Counted once folded: tatweel, vowel marks and ZWNJs are no letters.
        if sum(ch.isalnum() for ch in stem) >= MIN_PREFIX_CHARS:
            return Term(stem, prefix=True)
    return Term(normalize(word.text))


def parse_query(text: str) -> SearchQuery:
    """Read a user's query; raise InvalidQueryError only for an empty or over-long one, or
    one with nothing to search for (only punctuation, or only excluded words)."""
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidQueryError("too_long", MAX_QUERY_CHARS)
    # SQLite reads strings up to a NUL, and no control character is worth searching for.
    text = _CONTROL.sub(" ", text)
    if not text.strip():
        raise InvalidQueryError("empty")
    terms: list[Term] = []
    excluded: list[Term] = []
    category: str | None = None
    edition: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    ignored: list[str] = []

    def add(term: Term, negate: bool) -> None:
        if _has_token_chars(term.text) and len(terms) + len(excluded) < MAX_TERMS:
            (excluded if negate else terms).append(term)

    words: list[_Word] = []  # plain words in a row, glued where their affixes join

    def flush() -> None:
        for w in words:
            add(_term(w), w.negate)
        words.clear()

    for m in _TOKEN.finditer(text):
        negate, phrase, raw = m[1], m[2], m[3]
        if phrase is not None:
            flush()
            add(Term(" ".join(normalize(phrase).split()), phrase=True), bool(negate))
            continue
        assert raw is not None
        f = _FILTER.match(raw)
        if f:
            flush()
            key, value = f[1].lower(), f[2]
            if key in ("category", "cat"):
                category = value.strip().lower()
                continue
            if key == "edition":
                if value.lower() in EDITIONS:
                    edition = value.lower()
                    continue
                ignored.append(raw)
            else:
                bound = date_bound(value, end=key == "until")
                if bound is None:
                    ignored.append(raw)
                elif key == "since":
                    since = bound
                    continue
                else:
                    until = bound
                    continue
        word = _word(raw)
        if not normalize(word.text):
            continue  # only ZWNJs or vowel marks: a space, as in the text
        if words and _joins(words[-1], word):
            words[-1] = _Word(f"{words[-1].text} {word.text}", words[-1].negate)
        else:
            words.append(word)
    flush()
    if not terms and excluded:
        raise InvalidQueryError("no_terms")
    if not terms and category is None and edition is None and since is None and until is None:
        raise InvalidQueryError("no_terms")
    return SearchQuery(
        terms=tuple(dict.fromkeys(terms)),
        excluded=tuple(dict.fromkeys(excluded)),
        category=category,
        edition=edition,
        since=since,
        until=until,
        ignored=tuple(ignored),
    )


def _literal(term: Term) -> str:
    quoted = '"' + term.text.replace('"', '""') + '"'
    return quoted + " *" if term.prefix else quoted


def to_fts(query: SearchQuery) -> str | None:
    """The FTS5 MATCH expression for a parsed query; None when it has no words."""
    if not query.terms:
        return None
    expr = " AND ".join(_literal(t) for t in query.terms)
    for t in query.excluded:
        expr = f"({expr}) NOT {_literal(t)}"
    return expr
