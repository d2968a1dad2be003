"""Health alerts for the operators, through the real bot, the fakes and a real database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import app as bot_app
from bot.config import Settings
from bot.i18n import texts
from bot.ops import health
from storage.health import OUTAGE
from tests.botharness import (
    ADMIN,
    Running,
    fast_settings,
    first_poll_done,
    polled_bot,
    running_bot,
    wait_until,
)
from tests.conftest import site_key
from tests.fakes.telegram import FakeTelegram
from tests.fakes.wordpress import FakeWordPress

ADMIN_FA, NEVER, USER, BLOCKED = 1002, 1003, 501, 502
PHRASE = "Evin"
HEALTH = ("Health alert", "Recovered", "هشدار فنی", "اختلال برطرف شد")


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        fake.private(ADMIN, language_code="en")
        fake.private(ADMIN_FA, language_code="fa-IR")
        fake.private(NEVER, language_code="en")  # in ADMIN_IDS, never writes to the bot
        fake.private(USER, language_code="en")
        fake.private(BLOCKED, language_code="en")
        yield fake
        assert not fake.internal_errors, fake.internal_errors


def settings_for(tg: FakeTelegram, wp: FakeWordPress, db: Path, **kw: object) -> Settings:
    return fast_settings(tg, wp, db, admin_ids=frozenset({ADMIN, ADMIN_FA, NEVER}), **kw)


@pytest.fixture
async def bot(tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress) -> AsyncIterator[Running]:
    async with polled_bot(settings_for(tg, wp, tmp_path / "db.sqlite3"), tg, wp) as running:
        await start_operators(running)
        yield running


async def start_operators(bot: Running) -> None:
    """The two operators who use the bot send /start; a user follows everything and watches
    a phrase (none of which may show in the operators' messages)."""
    for chat in (ADMIN, ADMIN_FA):
        await bot.command(chat, "/start")
    await bot.command(USER, "/subscribe all")
    await bot.command(USER, f"/watch {PHRASE}")


def health_messages(tg: FakeTelegram, chat_id: int) -> list[str]:
    return [m.text for m in tg.sent(chat_id) if m.text.startswith(HEALTH)]


async def notices(bot: Running) -> list[tuple[int, str, str]]:
    """(chat, key, status) of every notice, as committed."""
    sql = "SELECT chat_id, key, status FROM notices ORDER BY created_at, key, chat_id"
    async with bot.store.writer.reading() as db, db.execute(sql) as cur:
        return [(int(r[0]), str(r[1]), str(r[2])) for r in await cur.fetchall()]


async def wait_sent(bot: Running, n: int) -> list[tuple[int, str, str]]:
    """Until there are ``n`` notices, every one marked sent."""
    return await wait_until(
        lambda: notices(bot),
        lambda rows: len(rows) == n and all(status == "sent" for _, _, status in rows),
        what=f"{n} notices sent",
    )


async def poll_in_app(bot: Running, edition: str = "en") -> None:
    """One poll as the running bot makes it (bot.app._poll, the health hook included)."""
    one = bot.services.edition(edition)
    assert one is not None and bot.app.job_queue is not None
    before = one.poll_task
    if before is not None:
        await before
    bot.app.job_queue.run_once(bot_app._poll_job, when=0, data=edition)

    async def started() -> object:
        return one.poll_task if one.poll_task is not before else None

    task = await wait_until(started, what="the poll's start")
    assert isinstance(task, asyncio.Task)
    await task


async def startup_poll(bot: Running, edition: str = "en") -> None:
    """The end of the poll a bot makes when it starts."""
    one = bot.services.edition(edition)
    assert one is not None

    async def started() -> object:
        return one.poll_task

    await wait_until(started, what="the first poll's start")
    assert one.poll_task is not None
    await one.poll_task


async def failures(bot: Running) -> int:
    state = await bot.store.get_state(site_key(bot.wp.url))
    return int(state.get("failures", 0))


def private(text: str) -> None:
    """Nothing about the users is in an operator's message."""
    assert str(USER) not in text and PHRASE not in text and "executions" not in text


def skipped_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bot.ops.health" and "never started" in r.getMessage()
    ]


# -- outages ----------------------------------------------------------------------------------


async def test_an_outage_is_told_once_and_its_end_once(
    bot: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.ops.health")
    bot.wp.fault("status", "/", status=503)
    for n in range(1, 5):
        await poll_in_app(bot)
        assert await failures(bot) == n
    assert await notices(bot) == []
    await poll_in_app(bot)  # the fifth failure in a row: HEALTH_FAILURES
    rows = await wait_sent(bot, 2)
    assert sorted(chat for chat, _, _ in rows) == [ADMIN, ADMIN_FA]
    [told] = health_messages(bot.tg, ADMIN)
    assert told.startswith(
        "Health alert: polls of the English edition (iran-hrm.com) have failed 5 times in a "
        "row, since "
    )
    assert "UTC. The failure: HTTP status 503." in told
    [persian] = health_messages(bot.tg, ADMIN_FA)
    assert persian.startswith("هشدار فنی: بررسی سایت نسخهٔ انگلیسی (iran-hrm.com) از ساعت ")
    assert "۵ بار پشت سر هم ناموفق" in persian and "خطای HTTP با کد ۵۰۳" in persian
    # More failures tell nothing more.
    await poll_in_app(bot)
    await poll_in_app(bot)
    assert len(await notices(bot)) == 2

    bot.wp.clear_faults()
    await poll_in_app(bot)
    await wait_sent(bot, 4)
    assert health_messages(bot.tg, ADMIN)[1] == (
        "Recovered: polls of the English edition (iran-hrm.com) succeed again. The outage "
        f"began at {told.split('since ', 1)[1].split('. ', 1)[0]} and lasted less than a minute."
    )
    assert health_messages(bot.tg, ADMIN_FA)[1].startswith("اختلال برطرف شد: ")
    await poll_in_app(bot)  # its health hook has run when the poll's task ends
    assert len(await notices(bot)) == 4
    assert len(health_messages(bot.tg, ADMIN)) == len(health_messages(bot.tg, ADMIN_FA)) == 2
    for text in health_messages(bot.tg, ADMIN) + health_messages(bot.tg, ADMIN_FA):
        private(text)
    # The operator who never started the bot is skipped, said once in the log, not per event.
    assert bot.tg.sent(NEVER) == []
    assert skipped_lines(caplog) == [
        "health: 1 of ADMIN_IDS never started the bot (or blocked it): they get no health "
        "alerts until they send it /start (LOG_LEVEL=DEBUG names them)"
    ]


async def test_an_outage_across_a_restart_is_told_once(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress
) -> None:
    settings = settings_for(tg, wp, tmp_path / "db.sqlite3", fetch_timeout=0.2)
    async with running_bot(settings, tg, wp) as bot:
        await first_poll_done(bot.store, site_key(wp.url))
        await start_operators(bot)
        wp.fault("timeout", "/", delay=1.0)
        for _ in range(3):
            await poll_in_app(bot)
        assert await failures(bot) == 3
        assert await notices(bot) == []
    restarted = datetime.now(UTC)
    async with running_bot(settings, tg, wp) as bot:
        await startup_poll(bot)  # the fourth failure
        assert await failures(bot) == 4
        assert await notices(bot) == []
        await poll_in_app(bot)  # the fifth
        await wait_sent(bot, 2)
        [told] = health_messages(tg, ADMIN)
        assert "have failed 5 times in a row" in told
        assert "The failure: a time-out, the site did not answer in time." in told
        # The outage is the one that began before the restart.
        found = await bot.store.condition(site_key(wp.url), OUTAGE)
        assert found is not None and found.notified and found.since < restarted
    async with running_bot(settings, tg, wp) as bot:
        await startup_poll(bot)  # still failing: nothing new to tell
        wp.clear_faults()
        await poll_in_app(bot)
        await wait_sent(bot, 4)
        assert [t.split(":", 1)[0] for t in health_messages(tg, ADMIN)] == [
            "Health alert",
            "Recovered",
        ]
        assert len(health_messages(tg, ADMIN_FA)) == 2
    assert tg.sent(NEVER) == []


# -- failed alerts ----------------------------------------------------------------------------


async def test_many_failed_alerts_in_an_hour_are_told_once(bot: Running) -> None:
    bot.tg.fail("sendMessage", chat_id=USER, error="400", description="Bad Request: bad entity")
    bot.wp.add_posts(21)
    await bot.poll()
    await bot.wait_outbox({"failed": 21}, timeout=10.0)
    checker = health.of(bot.app.bot_data)
    assert checker is not None
    await checker.check()
    await wait_sent(bot, 2)
    [told] = health_messages(bot.tg, ADMIN)
    assert told == (
        "Health alert: 21 alerts ended as failed in the last hour (chats that blocked the bot "
        "are not counted). The most common error: Bad entity"
    )
    [persian] = health_messages(bot.tg, ADMIN_FA)
    assert "۲۱ اعلان ناموفق" in persian
    await checker.check()
    assert len(await notices(bot)) == 2
    private(told)


async def test_twenty_failed_alerts_and_blocked_chats_are_not_told(bot: Running) -> None:
    await bot.command(BLOCKED, "/subscribe all")
    bot.tg.block(BLOCKED)  # its alerts are dropped, not failed
    bot.tg.fail("sendMessage", chat_id=USER, error="400", description="Bad Request: bad entity")
    bot.wp.add_posts(20)
    await bot.poll()
    await bot.wait_outbox({"failed": 20}, timeout=10.0)
    assert (await bot.stats()).inactive_chats == 1
    checker = health.of(bot.app.bot_data)
    assert checker is not None
    await checker.check()
    assert await notices(bot) == []


# -- silence ----------------------------------------------------------------------------------


async def test_an_edition_silent_for_three_days_is_told_once(bot: Running) -> None:
    # A post every 16 hours until 73 hours ago, and nothing since: as if the site's feed had
    # been stuck for three days while polls succeeded.
    now = datetime.now(UTC)
    async with bot.store.writer.transaction() as db:
        async with db.execute("SELECT id FROM posts ORDER BY id DESC") as cur:
            ids = [int(r[0]) for r in await cur.fetchall()]
        for i, post_id in enumerate(ids):
            at = (now - timedelta(hours=73 + 16 * i)).isoformat(timespec="seconds")
            await db.execute(
                "UPDATE posts SET first_seen = ?, published = ? WHERE id = ?", (at, at, post_id)
            )
    checker = health.of(bot.app.bot_data)
    assert checker is not None
    await checker.check()
    await wait_sent(bot, 2)
    [told] = health_messages(bot.tg, ADMIN)
    assert told.startswith(
        "Health alert: the English edition (iran-hrm.com) usually has new reports every day, "
        "but none has come since "
    )
    assert health_messages(bot.tg, ADMIN_FA)[0].startswith("هشدار فنی: نسخهٔ انگلیسی")
    await checker.check()
    assert len(await notices(bot)) == 2
    private(told)


async def test_an_edition_that_does_not_publish_daily_may_pause(bot: Running) -> None:
    now = datetime.now(UTC)
    async with bot.store.writer.transaction() as db:
        # A post every three days: three days without one is its habit.
        await db.execute(
            "UPDATE posts SET first_seen = ?, published = ?",
            ((now - timedelta(hours=73)).isoformat(timespec="seconds"),) * 2,
        )
    checker = health.of(bot.app.bot_data)
    assert checker is not None
    await checker.check()
    assert await notices(bot) == []


# -- the pieces -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("GET /feed/: HTTP 503 (REST API: GET /wp-json/wp/v2/posts: HTTP 503)", "http:503"),
        ("GET /feed/: no complete answer within 2 s (REST API: HTTP 500)", "timeout"),
        ("GET /feed/: no answer within the time-out (ReadTimeout)", "timeout"),
        ("GET /feed/: cannot connect (no such host, refused or unreachable)", "connection"),
        ("an HTML page instead of a feed (REST API: answers with something other than JSON)",
         "not_feed"),
        ("not well-formed XML: mismatched tag", "not_feed"),
        ("GET /feed/: redirected to another host, https://login.example/", "redirect"),
        ("GET /feed/: response over 1024 bytes", "too_large"),
        ("only 1 of the 3 posts it answered with are in English: it seems to serve the other "
         "edition (check SITE_URL and SITE_URL_FA)", "wrong_edition"),
        ("internal error: KeyError", "internal"),
        ("GET /feed/: the answer's compression is corrupt", "other"),
    ],
)  # fmt: skip
def test_failures_are_told_by_kind(error: str, kind: str) -> None:
    assert health.classify(error) == kind


def test_durations_and_times_read_as_the_language_writes_them() -> None:
    en, fa = texts.tr("en"), texts.tr("fa")
    assert health.duration(timedelta(seconds=59), en) == "less than a minute"
    assert health.duration(timedelta(minutes=7), en) == "7 min"
    assert health.duration(timedelta(hours=5, minutes=3), en) == "5 h 3 min"
    assert health.duration(timedelta(days=3, hours=2, minutes=9), en) == "3 d 2 h"
    assert health.duration(timedelta(hours=5, minutes=3), fa) == "به مدت ۵ ساعت و ۳ دقیقه"
    moment = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
    assert health.when(moment, en) == "2026-11-30 22:00 UTC"
    assert health.when(moment, fa) == "ساعت ۰۱:۳۰ روز ۱۰ آذر ۱۴۰۵ به وقت تهران"
    assert health.plain_error("Forbidden: chat 123456789 \n gone") == "Forbidden: chat … gone"
