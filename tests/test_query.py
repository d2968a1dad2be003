"""The query language: what users type and what reaches FTS5."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage import InvalidQueryError, SearchQuery, Term, parse_query
from storage.query import to_fts


def test_words_phrases_exclusions_prefixes() -> None:
    q = parse_query('evin "hunger strike" -tehran execut*')
    assert q == SearchQuery(
        terms=(Term("evin"), Term("hunger strike", phrase=True), Term("execut", prefix=True)),
        excluded=(Term("tehran"),),
    )
    assert to_fts(q) == '("evin" AND "hunger strike" AND "execut" *) NOT "tehran"'


def test_filters() -> None:
    q = parse_query("category:Executions since:2024-03 until:2024-12 hanged")
    assert q.category == "executions"
    assert q.since == datetime(2024, 3, 1, tzinfo=UTC)
    assert q.until == datetime(2025, 1, 1, tzinfo=UTC)
    assert q.terms == (Term("hanged"),)
    assert parse_query("until:2024-02-29 x").until == datetime(2024, 3, 1, tzinfo=UTC)
    assert parse_query("since:۱۴۰۳ x").since is None  # not a Gregorian year we accept
    assert parse_query("since:2024 x").since == datetime(2024, 1, 1, tzinfo=UTC)


def test_unreadable_filters_are_searched_as_text() -> None:
    q = parse_query("since:soon evin")
    assert q.since is None and q.ignored == ("since:soon",)
    assert to_fts(q) == '"since:soon" AND "evin"'


@pytest.mark.parametrize(
    ("text", "fts"),
    [
        ('"foo* OR (', '"foo* OR ("'),
        ("NEAR(", '"NEAR("'),
        ("a*", '"a*"'),  # one letter is too short a prefix: searched as text
        ('say "x""y"', '"say" AND "x" AND "y"'),
        ("evin -", '"evin"'),
        ('he said "hi', '"he" AND "said" AND "hi"'),
    ],
)
def test_syntax_is_text(text: str, fts: str) -> None:
    assert to_fts(parse_query(text)) == fts


@pytest.mark.parametrize(("text", "reason"), [("", "empty"), ("  ", "empty"),
                                             ("^ !", "no_terms"), ("-evin", "no_terms"),
                                             ("x" * 201, "too_long")])  # fmt: skip
def test_refusals(text: str, reason: str) -> None:
    with pytest.raises(InvalidQueryError) as e:
        parse_query(text)
    assert e.value.reason == reason


def test_filter_alone_is_a_listing() -> None:
    q = parse_query("category:women")
    assert q.terms == () and to_fts(q) is None


def test_terms_are_normalized() -> None:
    assert parse_query("كتاب ي").terms == (Term("کتاب"), Term("ی"))
    assert parse_query("۱۴۰۳").terms == (Term("1403"),)
