"""Figures for the operators (/stats and `hrm-bot stats`): reports per month by site and
top-level category, and alerts sent per day. Every month and day of the window is in the
result, with zeros where nothing happened. Months and days are UTC."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiosqlite

from storage.models import Category
from storage.posts import to_text


@dataclass(frozen=True, slots=True)
class MonthlyPosts:
    """Reports stored, by the month they were published (first seen, when undated).

    A report counts once under each top-level category above its categories (a report in
    Executions › Women and in Latest News › Prisons counts under Executions and under Latest
    News); one with no category known to its site's tree counts under None.
    """

    months: tuple[str, ...]  # "2026-01", oldest first; the current month last
    # Per site, every one asked for: top-level category -> one count per month. Categories
    # with most reports first, None last; those with none in the window are left out.
    counts: dict[str, dict[Category | None, tuple[int, ...]]]
    reports: dict[str, tuple[int, ...]]  # per site and month: reports, each counted once
    stored: dict[str, int]  # per site: reports stored in all, of any date


@dataclass(frozen=True, slots=True)
class DailyAlerts:
    """Alerts sent (outbox rows marked sent, digests' reports included) per day of sent_at."""

    days: tuple[str, ...]  # "2026-11-02", oldest first; today last
    sent: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Totals:
    """The archive and the outbox as they are now (for the metrics page)."""

    posts: dict[str, int]  # per site: reports stored
    pending: int  # alerts waiting to be sent, postponed ones included


def month_starts(now: datetime, months: int) -> list[datetime]:
    """The first instants of the last ``months`` months (``now``'s month last), then of the
    month after ``now``'s: the window's bounds and its columns."""
    now = now.astimezone(UTC)
    first = now.year * 12 + now.month - 1 - (months - 1)
    return [
        datetime((first + i) // 12, (first + i) % 12 + 1, 1, tzinfo=UTC) for i in range(months + 1)
    ]


_REPORTS = """
    SELECT site, substr(coalesce(published, first_seen), 1, 7), count(*)
    FROM posts
    WHERE coalesce(published, first_seen) >= :start AND coalesce(published, first_seen) < :end
    GROUP BY 1, 2
"""

# Each post of the window with the top-level categories above its categories, walking up the
# site's tree (UNION, not UNION ALL, so a cycle in the tree ends). A category whose parent is
# not in the tree counts as top-level, as CategoryTree shows it.
_MONTHLY = """
    WITH RECURSIVE
    win (id, site, month) AS (
        SELECT id, site, substr(coalesce(published, first_seen), 1, 7)
        FROM posts
        WHERE coalesce(published, first_seen) >= :start
          AND coalesce(published, first_seen) < :end
    ),
    up (post_id, site, category) AS (
        SELECT pc.post_id, win.site, pc.category
        FROM post_categories pc JOIN win ON win.id = pc.post_id
        UNION
        SELECT up.post_id, up.site, c.parent
        FROM up
        JOIN categories c ON c.site = up.site AND c.wp_id = up.category
        WHERE c.parent != 0
    ),
    tops (post_id, category) AS (
        SELECT DISTINCT up.post_id, up.category
        FROM up JOIN categories c ON c.site = up.site AND c.wp_id = up.category
        WHERE NOT EXISTS (
            SELECT 1 FROM categories p WHERE p.site = c.site AND p.wp_id = c.parent
        )
    )
    SELECT win.site, win.month, c.wp_id, c.slug, c.name, c.parent, count(*)
    FROM win
    LEFT JOIN tops ON tops.post_id = win.id
    LEFT JOIN categories c ON c.site = win.site AND c.wp_id = tops.category
    GROUP BY win.site, win.month, c.wp_id
"""


async def posts_per_month(
    db: aiosqlite.Connection, sites: Sequence[str] | None, now: datetime, months: int = 12
) -> MonthlyPosts:
    """The last ``months`` months up to ``now``'s; ``sites``: those to show (None: every site
    with a post stored)."""
    starts = month_starts(now, months)
    labels = tuple(f"{s.year:04d}-{s.month:02d}" for s in starts[:-1])
    column = {label: i for i, label in enumerate(labels)}
    async with db.execute("SELECT site, count(*) FROM posts GROUP BY site") as cur:
        stored = {str(site): int(n) for site, n in await cur.fetchall()}
    wanted = list(sites) if sites is not None else sorted(stored)
    counts: dict[str, dict[Category | None, list[int]]] = {site: {} for site in wanted}
    args = {"start": to_text(starts[0]), "end": to_text(starts[-1])}
    reports = {site: [0] * len(labels) for site in wanted}
    async with db.execute(_REPORTS, args) as cur:
        for site, month, n in await cur.fetchall():
            if site in reports and month in column:
                reports[site][column[month]] = int(n)
    async with db.execute(_MONTHLY, args) as cur:
        for site, month, wp_id, slug, name, parent, n in await cur.fetchall():
            if site not in counts or month not in column:
                continue
            key = None if wp_id is None else Category(int(wp_id), slug, name, int(parent))
            row = counts[site].setdefault(key, [0] * len(labels))
            row[column[month]] += int(n)

    def order(item: tuple[Category | None, list[int]]) -> tuple[int, int, str]:
        cat, row = item
        return (cat is None, -sum(row), cat.name.casefold() if cat else "")

    return MonthlyPosts(
        months=labels,
        counts={
            site: {cat: tuple(row) for cat, row in sorted(rows.items(), key=order)}
            for site, rows in counts.items()
        },
        reports={site: tuple(row) for site, row in reports.items()},
        stored={site: stored.get(site, 0) for site in wanted},
    )


async def alerts_per_day(db: aiosqlite.Connection, now: datetime, days: int = 30) -> DailyAlerts:
    """The last ``days`` days up to ``now``'s (UTC), today included."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    labels = tuple(s.date().isoformat() for s in starts)
    sent = dict.fromkeys(labels, 0)
    async with db.execute(
        "SELECT substr(sent_at, 1, 10), count(*) FROM outbox "
        "WHERE status = 'sent' AND sent_at >= ? AND sent_at < ? GROUP BY 1",
        (to_text(starts[0]), to_text(today + timedelta(days=1))),
    ) as cur:
        for day, n in await cur.fetchall():
            if day in sent:
                sent[day] = int(n)
    return DailyAlerts(days=labels, sent=tuple(sent.values()))


async def totals(db: aiosqlite.Connection) -> Totals:
    async with db.execute("SELECT site, count(*) FROM posts GROUP BY site") as cur:
        posts = {str(site): int(n) for site, n in await cur.fetchall()}
    # Held rows wait for their chat's digest time, not for the sender: not counted.
    async with db.execute("SELECT count(*) FROM outbox WHERE status = 'pending'") as cur:
        row = await cur.fetchone()
    return Totals(posts=posts, pending=int(row[0]) if row else 0)
