"""Local times of day: quiet hours, digest times, time zones. Pure, no I/O but zoneinfo's.

A time is kept as minutes after local midnight; a zone as its IANA name (``Asia/Tehran``),
read through ``zoneinfo``, with the ``tzdata`` package as the source where the system has
no zone files (slim containers, Windows).
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Tehran"
MINUTES_A_DAY = 24 * 60

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_CLOCK = re.compile(r"([01]?\d|2[0-3])[:٫.]([0-5]\d)")
_WINDOW = re.compile(r"(\S+?)\s*[-–—]\s*(\S+)")
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+){0,2}")


def parse_clock(text: str) -> int | None:
    """``20:00`` (Persian digits too) as minutes after midnight; None if it is not one."""
    m = _CLOCK.fullmatch(text.strip().translate(_DIGITS))
    return int(m[1]) * 60 + int(m[2]) if m else None


def parse_window(text: str) -> tuple[int, int] | None:
    """``23:00-07:00`` as (start, end) minutes; None if it is not one, or is empty."""
    m = _WINDOW.fullmatch(text.strip())
    if m is None:
        return None
    start, end = parse_clock(m[1]), parse_clock(m[2])
    if start is None or end is None or start == end:
        return None
    return start, end


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def zone_name(text: str) -> str | None:
    """The IANA name a user typed (in any case: ``europe/berlin``), or None if unknown.

    Only Area/City names and UTC: abbreviations such as EST or CET are zones of fixed
    offset in the database, which would be an hour off for half the year."""
    text = text.strip()
    if not _ZONE_NAME.fullmatch(text) or ("/" not in text and text.upper() != "UTC"):
        return None
    return _zone_names().get(text.lower())


def zone(name: str | None) -> ZoneInfo:
    """A stored zone name's zone; the default for none (or one this system lost)."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def minute_of_day(now: datetime, tz: ZoneInfo) -> int:
    local = now.astimezone(tz)
    return local.hour * 60 + local.minute


def in_window(now: datetime, start: int, end: int, tz: ZoneInfo) -> bool:
    """Whether ``now`` falls in the daily window [start, end), which may span midnight."""
    m = minute_of_day(now, tz)
    return start <= m < end if start < end else m >= start or m < end


def due_day(now: datetime, at: int, tz: ZoneInfo) -> str:
    """The local day of the latest digest time at or before ``now`` (ISO date)."""
    local = now.astimezone(tz)
    day = local.date()
    if local.hour * 60 + local.minute < at:
        day -= timedelta(days=1)
    return day.isoformat()
