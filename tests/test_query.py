"""The query language: what users type and what reaches FTS5."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
    assert parse_query("since:2024 x").since == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_query("until:2024/12/31 x").until == datetime(2025, 1, 1, tzinfo=UTC)


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


NOWRUZ_1403 = datetime(2024, 3, 19, 20, 30, tzinfo=UTC)  # midnight in Tehran
NOWRUZ_1404 = datetime(2025, 3, 20, 20, 30, tzinfo=UTC)
MEHR_1403 = datetime(2024, 9, 21, 20, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "since", "until"),
    [
        ("since:1403-01-01", NOWRUZ_1403, None),
        ("since:۱۴۰۳/۰۱/۰۱", NOWRUZ_1403, None),
        ("since:١٤٠٣-١-١", NOWRUZ_1403, None),
        ("since:۱۴۰۳", NOWRUZ_1403, None),
        ("since:1403-07", MEHR_1403, None),
        # Summer time, which Iran kept until 2022: midnight was 19:30 UTC.
        ("since:1400-03-01", datetime(2021, 5, 21, 19, 30, tzinfo=UTC), None),
        # A period's end is the start of the next Solar Hijri day, month or year.
        ("until:1403", None, NOWRUZ_1404),
        ("until:1403-06", None, MEHR_1403),
        ("until:۱۴۰۳/۱۲", None, NOWRUZ_1404),
        ("until:1403-12-30", None, NOWRUZ_1404),  # a leap year's last day
        ("until:1402-12-29", None, NOWRUZ_1403),
        ("since:1403-01-01 until:1403-01-01", NOWRUZ_1403, NOWRUZ_1403 + timedelta(days=1)),
    ],
)
def test_solar_hijri_dates(text: str, since: datetime | None, until: datetime | None) -> None:
    q = parse_query(f"{text} x")
    assert (q.since, q.until, q.ignored, q.terms) == (since, until, (), (Term("x"),))


@pytest.mark.parametrize(
    "bad",
    [
        "since:1404-12-30",  # 1404 is no leap year
        "since:1403-13",
        "since:1403-00",
        "since:1403-07-31",  # the second half of the year has 30-day months
        "until:1200",  # a year no report is from
        "since:1600",
        "since:1403-1-1-1",
        "since:۱۴۰۳.۰۱.۰۱",
    ],
)
def test_unreadable_solar_hijri_dates_are_searched_as_text(bad: str) -> None:
    q = parse_query(f"{bad} x")
    assert (q.since, q.until, q.ignored) == (None, None, (bad,))
    assert q.terms[0] == Term(bad.replace("۱۴۰۳", "1403").replace("۰۱", "01"))


def test_edition_filter() -> None:
    assert parse_query("edition:fa evin").edition == "fa"
    assert parse_query("Edition:EN evin").edition == "en"
    q = parse_query("edition:fa")  # a filter alone lists the edition's newest reports
    assert (q.edition, q.terms) == ("fa", ())
    q = parse_query("edition:de evin")
    assert q.edition is None and q.ignored == ("edition:de",)
    assert to_fts(q) == '"edition:de" AND "evin"'


@pytest.mark.parametrize(
    ("typed", "word"),
    [
        ("زندان‌ها", "زندانها"),
        ("زندان ها", "زندانها"),
        ("زندانها", "زندانها"),
        ("زندان \u200c ها", "زندانها"),
        ("مي شود", "میشود"),
        ("نمی‌ توان", "نمیتوان"),
        ("بیش تر ها", "بیشترها"),
        ("کرده اند", "کردهاند"),
        ("خانه ی", "خانه"),
    ],
)
def test_affixes_typed_apart_are_one_word(typed: str, word: str) -> None:
    assert parse_query(typed).terms == (Term(word),)


def test_words_apart_stay_apart() -> None:
    # Only plain words next to each other are glued: not across a filter, a phrase, an
    # exclusion or a prefix, and not words that are no affixes.
    assert parse_query("زندان since:2024 ها").terms == (Term("زندان"), Term("ها"))
    assert parse_query('زندان "ها"').terms == (Term("زندان"), Term("ها", phrase=True))
    q = parse_query("زندان -ها")
    assert (q.terms, q.excluded) == ((Term("زندان"),), (Term("ها"),))
    assert parse_query("زندان* ها").terms == (Term("زندان", prefix=True), Term("ها"))
    assert parse_query("سرود ای ایران").terms == (Term("سرود"), Term("ای"), Term("ایران"))
    q = parse_query("-می شود زندان ها*")
    assert (q.terms, q.excluded) == ((Term("زندانها", prefix=True),), (Term("میشود"),))


def test_phrases_are_folded_like_the_text() -> None:
    q = parse_query('"زندان ها در ایران" "شده‌است"')
    assert q.terms == (Term("زندانها در ایران", phrase=True), Term("شده است", phrase=True))


def test_short_prefixes_count_letters_once_folded() -> None:
    # Tatweel, vowel marks and ZWNJs pad a one-letter prefix to three characters; it stays a
    # word, or its index entries would all be merged.
    assert parse_query("اـــ*").terms == (Term("ا*"),)
    assert parse_query("ا\u200c\u200cا*").terms == (Term("اا*"),)
    assert parse_query("۱۴*").terms == (Term("14*"),)
    assert parse_query("۱۴۰*").terms == (Term("140", prefix=True),)
