"""The search query language, parsed by our own code into FTS5 expressions.

Users type words, "quoted phrases", ``-word`` to exclude, ``word*`` for a prefix, and the
filters ``category:SLUG``, ``since:YYYY-MM`` and ``until:YYYY-MM``. Every piece of text ends
up inside an FTS5 string literal, so nothing a user types is FTS5 syntax.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from storage.errors import InvalidQueryError
from storage.models import SearchQuery, Term
from storage.normalize import normalize

MAX_QUERY_CHARS = 200
MAX_TERMS = 16
# Shorter prefixes match so many words that merging their index entries costs hundreds of
# milliseconds on a large archive; "ex*" is searched as the word "ex".
MIN_PREFIX_CHARS = 3

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_FILTER = re.compile(r"^(category|cat|since|until):(.+)$", re.IGNORECASE)
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")


def _has_token_chars(text: str) -> bool:
    # FTS5's unicode61 keeps letters and digits, and splits on everything else.
    return any(ch.isalnum() for ch in text)


def _parse_date(text: str, *, end: bool) -> datetime | None:
    m = _DATE.match(normalize(text))
    if not m:
        return None
    year, month, day = int(m[1]), m[2], m[3]
    if not 1970 <= year <= 2100:
        return None  # e.g. a Solar Hijri year: better searched as text than misread
    try:
        start = datetime(year, int(month or 1), int(day or 1), tzinfo=UTC)
    except ValueError:
        return None
    if not end:
        return start
    # ``until`` names a period; the bound is the start of the next one, exclusive.
    if day:
        return start + timedelta(days=1)
    if month:
        if start.month == 12:
            return start.replace(year=year + 1, month=1)
        return start.replace(month=start.month + 1)
    return start.replace(year=year + 1)


def parse_query(text: str) -> SearchQuery:
    """Read a user's query; raise InvalidQueryError only for an empty or over-long one."""
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidQueryError("too_long", MAX_QUERY_CHARS)
    # SQLite reads strings up to a NUL, and no control character is worth searching for.
    text = _CONTROL.sub(" ", text)
    if not text.strip():
        raise InvalidQueryError("empty")
    terms: list[Term] = []
    excluded: list[Term] = []
    category: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    ignored: list[str] = []
    for m in _TOKEN.finditer(text):
        negate, phrase, word = m[1], m[2], m[3]
        if phrase is not None:
            term = Term(" ".join(normalize(phrase).split()), phrase=True)
            target = excluded if negate else terms
        else:
            assert word is not None
            f = _FILTER.match(word)
            if f:
                key, value = f[1].lower(), f[2]
                if key in ("category", "cat"):
                    category = value.strip().lower()
                    continue
                bound = _parse_date(value, end=key == "until")
                if bound is None:
                    ignored.append(word)
                elif key == "since":
                    since = bound
                else:
                    until = bound
                if bound is not None:
                    continue
            target = terms
            if word.startswith("-") and len(word) > 1:
                word = word[1:]
                target = excluded
            prefix = False
            if word.endswith("*"):
                stem = word.rstrip("*")
                prefix = sum(ch.isalnum() for ch in stem) >= MIN_PREFIX_CHARS
                word = stem if prefix else word
            term = Term(normalize(word), prefix=prefix)
        if _has_token_chars(term.text) and len(terms) + len(excluded) < MAX_TERMS:
            target.append(term)
    if not terms and excluded:
        raise InvalidQueryError("no_terms")
    if not terms and category is None and since is None and until is None:
        raise InvalidQueryError("no_terms")
    return SearchQuery(
        terms=tuple(dict.fromkeys(terms)),
        excluded=tuple(dict.fromkeys(excluded)),
        category=category,
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
