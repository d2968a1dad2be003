"""Dates and numbers written the way a chat's language writes them.

Persian chats get the Solar Hijri (Jalali) calendar, the one Iran lives by, with Persian
digits: ``۱۰ آذر ۱۴۰۵``. Every other language gets what the bot has always shown: ISO dates
(``2026-12-01``) and plain ASCII numbers. The calendar arithmetic is jdatetime's, not ours.

Pure: no I/O beyond reading the Asia/Tehran zone once, at import.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import jdatetime  # type: ignore[import-untyped]

# A Persian reader's day is Iran's: a report published at 22:00 UTC was published the next
# morning in Tehran, and the Solar Hijri year turns at Nowruz midnight in Tehran. The zone,
# not a fixed +03:30, because Iran kept summer time (+04:30) until 2022 and the archive is
# older than that.
TEHRAN = ZoneInfo("Asia/Tehran")

MONTHS = (
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
)

_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
# U+066C, the Arabic thousands separator: CLDR's (so ICU's, so the reader's own phone's) group
# sign for Persian digits. A Latin comma looks like the Persian comma «،» that separates
# words, and no separator at all makes the large counts of /stats hard to read.
THOUSANDS = "٬"


def is_persian(language: str | None) -> bool:
    """Whether an IETF tag (as Telegram sends it: ``fa``, ``fa-IR``, ``FA``) is Persian."""
    return (language or "").split("-")[0].lower() == "fa"


def persian_digits(text: str) -> str:
    """``text`` with its ASCII digits written as Persian ones; nothing else changes."""
    return text.translate(_PERSIAN_DIGITS)


def localize_number(n: int, language: str | None) -> str:
    """A whole number for a text in ``language``: ``۱۲٬۳۴۵`` in Persian, ``12345`` otherwise.

    English keeps no separator, as the bot's texts always had.
    """
    if not is_persian(language):
        return str(n)
    return persian_digits(f"{n:,}".replace(",", THOUSANDS))


def format_date(when: datetime, language: str | None) -> str:
    """The day of ``when`` for a reader of ``language``.

    Persian: the Solar Hijri date in Tehran's time zone, ``۱۰ آذر ۱۴۰۵``. Any other language:
    the Gregorian date in UTC, ``2026-12-01``. A naive ``when`` is taken as UTC, as the store
    writes every time.
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if not is_persian(language):
        return when.astimezone(UTC).date().isoformat()
    day = jdatetime.date.fromgregorian(date=when.astimezone(TEHRAN).date())
    year, month, mday = int(day.year), int(day.month), int(day.day)
    return persian_digits(f"{mday} {MONTHS[month - 1]} {year}")
