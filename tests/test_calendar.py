"""Dates and numbers for a chat's language: Solar Hijri and Persian digits, or ISO and ASCII."""

from __future__ import annotations

import time as clock
import unicodedata
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone

import jdatetime  # type: ignore[import-untyped]
import pytest
from babel.numbers import format_decimal

from bot.i18n.calendar import MONTHS, format_date, is_persian, localize_number, persian_digits

PERSIAN = str.maketrans({str(d): chr(0x06F0 + d) for d in range(10)})


def at(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def jalali(day: date) -> str:
    """What jdatetime says the day is, written out independently of bot.calendar."""
    j = jdatetime.date.fromgregorian(date=day)
    return f"{j.day} {jdatetime.date.j_months_fa[j.month - 1]} {j.year}".translate(PERSIAN)


# -- dates ------------------------------------------------------------------------------------


def test_the_example_of_the_issue() -> None:
    assert format_date(at(2026, 12, 1), "fa") == "۱۰ آذر ۱۴۰۵"
    assert format_date(at(2026, 12, 1), "en") == "2026-12-01"


@pytest.mark.parametrize("language", ["fa", "fa-IR", "FA", "Fa-ir"])
def test_persian_in_any_spelling_gets_solar_hijri(language: str) -> None:
    assert format_date(at(2026, 12, 1), language) == "۱۰ آذر ۱۴۰۵"


@pytest.mark.parametrize("language", ["en", "en-US", "de", "ps", "far", "", None])
def test_every_other_language_gets_the_iso_date(language: str | None) -> None:
    assert format_date(at(2026, 12, 1), language) == "2026-12-01"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # Nowruz after the leap year 1403: Esfand has its 30th day.
        (date(2025, 3, 20), "۳۰ اسفند ۱۴۰۳"),
        (date(2025, 3, 21), "۱ فروردین ۱۴۰۴"),
        # Nowruz after the common year 1402: Esfand ends on the 29th.
        (date(2024, 3, 19), "۲۹ اسفند ۱۴۰۲"),
        (date(2024, 3, 20), "۱ فروردین ۱۴۰۳"),
        # The Gregorian new year falls in Dey.
        (date(2025, 12, 31), "۱۰ دی ۱۴۰۴"),
        (date(2026, 1, 1), "۱۱ دی ۱۴۰۴"),
        # The first half of the year has 31-day months, the second 30.
        (date(2026, 9, 22), "۳۱ شهریور ۱۴۰۵"),
        (date(2026, 9, 23), "۱ مهر ۱۴۰۵"),
        (date(2027, 2, 19), "۳۰ بهمن ۱۴۰۵"),
    ],
)
def test_landmarks_of_the_solar_hijri_year(day: date, expected: str) -> None:
    assert format_date(at(day.year, day.month, day.day), "fa") == expected
    assert jalali(day) == expected


@pytest.mark.parametrize("year", range(1395, 1415))
def test_the_last_day_of_every_year_matches_jdatetime(year: int) -> None:
    nowruz = jdatetime.date(year + 1, 1, 1).togregorian()
    last = nowruz - timedelta(days=1)
    text = format_date(datetime.combine(last, time(12), UTC), "fa")
    leap = jdatetime.date(year, 1, 1).isleap()
    assert text == f"{30 if leap else 29} اسفند {year}".translate(PERSIAN)
    first = format_date(datetime.combine(nowruz, time(12), UTC), "fa")
    assert first == f"1 فروردین {year + 1}".translate(PERSIAN)


def test_every_day_of_fifty_years_matches_jdatetime() -> None:
    day, end = date(1990, 1, 1), date(2040, 12, 31)
    while day <= end:
        assert format_date(datetime.combine(day, time(12), UTC), "fa") == jalali(day), day
        day += timedelta(days=1)


def test_month_names_are_jdatetimes() -> None:
    assert list(MONTHS) == jdatetime.date.j_months_fa


# -- whose day it is --------------------------------------------------------------------------


def test_a_persian_readers_day_is_tehrans() -> None:
    # Tehran is UTC+03:30: 20:30 UTC is midnight there.
    assert format_date(at(2026, 11, 30, 20, 29), "fa") == "۹ آذر ۱۴۰۵"
    assert format_date(at(2026, 11, 30, 20, 30), "fa") == "۱۰ آذر ۱۴۰۵"
    assert format_date(at(2026, 11, 30, 22, 0), "fa") == "۱۰ آذر ۱۴۰۵"
    # English stays on UTC, as the bot always showed it.
    assert format_date(at(2026, 11, 30, 22, 0), "en") == "2026-11-30"


def test_the_year_turns_at_nowruz_midnight_in_tehran() -> None:
    assert format_date(datetime(2025, 3, 20, 20, 29, 59, tzinfo=UTC), "fa") == "۳۰ اسفند ۱۴۰۳"
    assert format_date(at(2025, 3, 20, 20, 30), "fa") == "۱ فروردین ۱۴۰۴"


def test_iran_had_summer_time_until_2022_only() -> None:
    # 19:45 UTC is 00:15 the next day at +04:30 (summer time, until 2022) and 23:15 the same
    # day at +03:30: a fixed offset, or a tz database older than 2022b, fails one of these.
    assert format_date(at(2021, 6, 21, 19, 45), "fa") == "۱ تیر ۱۴۰۰"
    assert format_date(at(2026, 6, 21, 19, 45), "fa") == "۳۱ خرداد ۱۴۰۵"


def test_the_offset_of_the_datetime_given_does_not_matter() -> None:
    tehran = timezone(timedelta(hours=3, minutes=30))
    early = datetime(2026, 12, 1, 1, 0, tzinfo=tehran)  # 2026-11-30 21:30 UTC
    assert format_date(early, "fa") == "۱۰ آذر ۱۴۰۵"
    assert format_date(early, "en") == "2026-11-30"
    new_york = timezone(timedelta(hours=-5))
    assert format_date(datetime(2026, 11, 30, 20, 0, tzinfo=new_york), "en") == "2026-12-01"


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local time zone is New York's, where a naive time would differ."""
    monkeypatch.setenv("TZ", "America/New_York")
    clock.tzset()
    yield
    monkeypatch.undo()
    clock.tzset()


@pytest.mark.usefixtures("far_from_utc")
def test_a_naive_datetime_is_utc() -> None:
    assert format_date(datetime(2026, 11, 30, 22, 0), "fa") == "۱۰ آذر ۱۴۰۵"
    assert format_date(datetime(2026, 11, 30, 22, 0), "en") == "2026-11-30"


# -- digits and numbers -----------------------------------------------------------------------


def test_persian_digits_replace_ascii_digits_only() -> None:
    assert persian_digits("0123456789") == "۰۱۲۳۴۵۶۷۸۹"
    assert persian_digits("since:2024-01, ساعت 9") == "since:۲۰۲۴-۰۱, ساعت ۹"
    assert persian_digits("٣ ۳ abc") == "٣ ۳ abc"  # Arabic-Indic and Persian digits stay
    for ascii_digit, persian in zip("0123456789", persian_digits("0123456789"), strict=True):
        assert unicodedata.digit(persian) == int(ascii_digit)
        assert unicodedata.name(persian).startswith("EXTENDED ARABIC-INDIC DIGIT")


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, "۰"), (7, "۷"), (999, "۹۹۹"), (1000, "۱٬۰۰۰"), (12345, "۱۲٬۳۴۵"),
     (1234567, "۱٬۲۳۴٬۵۶۷"), (-1234, "-۱٬۲۳۴")],
)  # fmt: skip
def test_persian_numbers(n: int, expected: str) -> None:
    assert localize_number(n, "fa") == expected
    assert localize_number(n, "fa-IR") == expected


@pytest.mark.parametrize("n", [0, 5, 42, 999, 1000, 20_000, 123_456, 10**9 + 7])
def test_persian_numbers_are_grouped_as_cldr_says(n: int) -> None:
    # The group sign of Persian digits ("arabext") in CLDR, which ICU and phones use too.
    cldr = format_decimal(n, locale="fa", numbering_system="arabext")
    assert localize_number(n, "fa") == persian_digits(cldr)


@pytest.mark.parametrize("language", ["en", "de", "ps", None])
def test_other_languages_keep_plain_numbers(language: str | None) -> None:
    assert localize_number(1234567, language) == "1234567"
    assert localize_number(0, language) == "0"


@pytest.mark.parametrize(
    ("language", "persian"),
    [("fa", True), ("fa-IR", True), ("FA", True), ("fa-Arab-IR", True), ("ps", False),
     ("far", False), ("en", False), ("", False), (None, False), ("ifa", False)],
)  # fmt: skip
def test_is_persian(language: str | None, persian: bool) -> None:
    assert is_persian(language) is persian
