"""The /stats chart: its figures on a real store, the PNG, /stats through the running bot and
the fake Bot API, and `hrm-bot stats --chart`."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.ops import stats_chart
from bot.ops.stats_chart import render_png
from storage import Category, CategoryTree, PostIn, Store
from storage.figures import DailyAlerts, MonthlyPosts
from tests.botharness import (
    ADMIN,
    Running,
    fast_settings,
    polled_bot,
)
from tests.conftest import site_key
from tests.fakes.telegram import FakeTelegram, SentPhoto
from tests.fakes.wordpress import FakeWordPress

PNG = b"\x89PNG\r\n\x1a\n"
EN, FA = "iran-hrm.com", "fa.iran-hrm.com"
NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
USER = 501

# The Persian site's ids collide with the English ones: id 4 is a section of News there.
FA_TREE = CategoryTree(
    [
        Category(2, "akhbar", "اخبار"),
        Category(4, "bazdasht", "بازداشت‌ها", parent=2),
        Category(3, "edam", "اعدام"),
    ]
)


def post(n: int, published: datetime | None, *cats: int, site: str = EN) -> PostIn:
    return PostIn(
        url=f"https://{site}/post-{n}/",
        title=f"Report {n}",
        excerpt="An excerpt",
        content=f"Body of report {n}",
        lang="fa" if site == FA else "en",
        wp_id=n,
        guid=f"https://{site}/?p={n}",
        published=published,
        categories=cats,
    )


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


async def fill(store: Store, tree: CategoryTree) -> None:
    """Reports across the window of NOW (January to December 2026) and just outside it."""
    await store.replace_categories(EN, list(tree.by_id.values()))
    await store.replace_categories(FA, list(FA_TREE.by_id.values()))
    items = [
        post(1, at("2026-11-15"), 11),  # Executions › Women
        post(2, at("2026-11-20"), 11, 13),  # two under Executions: counted once
        post(3, at("2026-11-21"), 11, 6),  # Executions and Latest News › Prisons
        post(4, at("2026-01-01T00:00"), 20),  # Publications › Infographics, first instant
        post(5, at("2025-12-31T23:59:59"), 4),  # a second before the window
        post(6, at("2026-12-09"), 999),  # an id the tree does not know
        post(7, at("2026-12-01"), 1),  # Uncategorized, a top-level category like any
        post(8, at("2027-01-01"), 4),  # after the window (a wrong date on the site)
    ]
    await store.upsert_posts(EN, items, tree=tree, alert=False, now=NOW)
    undated = [post(9, None)]  # counted in the month it was first seen
    await store.upsert_posts(EN, undated, tree=tree, alert=False, now=at("2026-06-05"))
    await store.upsert_posts(
        FA, [post(1, at("2026-12-02"), 4, site=FA)], tree=FA_TREE, alert=False
    )


def months_of(year: int, first: int, n: int = 12) -> tuple[str, ...]:
    out = []
    for i in range(n):
        y, m = divmod(first - 1 + i, 12)
        out.append(f"{year + y}-{m + 1:02d}")
    return tuple(out)


DAYS = tuple((datetime(2026, 11, 11) + timedelta(days=n)).date().isoformat() for n in range(30))


def only(index: int, n: int = 1, length: int = 12) -> tuple[int, ...]:
    row = [0] * length
    row[index] = n
    return tuple(row)


def add(*rows: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sum(col) for col in zip(*rows, strict=True))


# -- the figures -----------------------------------------------------------------------------


async def test_reports_a_month_under_top_level_categories(
    store: Store, tree: CategoryTree
) -> None:
    await fill(store, tree)
    got = await store.posts_per_month([EN, FA, "gone.example"], now=NOW)
    assert got == MonthlyPosts(
        months=months_of(2026, 1),
        counts={
            EN: {
                tree.by_id[4]: only(10, 3),  # Executions: 1, 2 and 3, each once
                tree.by_id[3]: only(10),  # Latest News: 3
                tree.by_id[17]: only(0),  # Publications: 4
                tree.by_id[1]: only(11),  # Uncategorized: 7
                None: add(only(5), only(11)),  # the undated 9 (first seen in June) and 6
            },
            FA: {FA_TREE.by_id[2]: only(11)},  # under the Persian tree's own id 4
            "gone.example": {},
        },
        reports={
            EN: add(only(0), only(5), only(10, 3), only(11, 2)),
            FA: only(11),
            "gone.example": (0,) * 12,
        },
        stored={EN: 9, FA: 1, "gone.example": 0},
    )
    # Most reports first, then by name; those of no known category last.
    assert list(got.counts[EN]) == [tree.by_id[i] for i in (4, 3, 17, 1)] + [None]


async def test_the_window_moves_with_the_months(store: Store, tree: CategoryTree) -> None:
    await fill(store, tree)
    got = await store.posts_per_month([EN], now=at("2026-01-31T23:00"))
    assert got.months == months_of(2025, 2)
    assert got.reports[EN] == add(only(10), only(11))  # 5 in December, 4 in January
    assert got.counts[EN] == {tree.by_id[4]: only(10), tree.by_id[17]: only(11)}
    three = await store.posts_per_month(None, months=3, now=NOW)
    assert three.months == ("2026-10", "2026-11", "2026-12")
    assert list(three.counts) == sorted([EN, FA])  # every site with a report stored


async def test_a_loop_in_a_tree_ends(store: Store) -> None:
    looped = [Category(5, "a", "A", parent=6), Category(6, "b", "B", parent=5)]
    tree = CategoryTree([*looped, Category(7, "c", "C", parent=404)])
    await store.replace_categories(EN, list(tree.by_id.values()))
    items = [post(1, at("2026-12-01"), 5), post(2, at("2026-12-01"), 7)]
    await store.upsert_posts(EN, items, tree=tree, alert=False)
    got = await store.posts_per_month([EN], now=NOW)
    # No top in a loop; a parent missing from the tree makes a category top-level.
    assert got.counts[EN] == {tree.by_id[7]: only(11), None: only(11)}


async def test_alerts_sent_a_day_for_30_days(store: Store, tree: CategoryTree) -> None:
    await store.replace_categories(EN, list(tree.by_id.values()))
    await store.upsert_posts(EN, [post(n, NOW, 4) for n in range(1, 8)], tree=tree, alert=False)
    ids = [p.id for p in (await store.latest({EN: tree}, limit=10))]
    await store.ensure_chat(USER, "private", "en")
    sent_at = {
        ids[0]: "2026-12-10T00:00:00+00:00",  # today, first second
        ids[1]: "2026-12-10T11:59:59+00:00",
        ids[2]: "2026-12-09T23:59:59+00:00",  # yesterday
        ids[3]: "2026-11-11T00:00:00+00:00",  # 29 days ago: the first day shown
        ids[4]: "2026-11-10T23:59:59+00:00",  # 30 days ago: not shown
    }
    for post_id, when in sent_at.items():
        await store.writer.execute(
            "INSERT INTO outbox (chat_id, post_id, status, created_at, sent_at) "
            "VALUES (?, ?, 'sent', ?, ?)",
            (USER, post_id, when, when),
        )
    for post_id, status in ((ids[5], "pending"), (ids[6], "failed")):
        await store.writer.execute(
            "INSERT INTO outbox (chat_id, post_id, status, created_at) VALUES (?, ?, ?, ?)",
            (USER, post_id, status, "2026-12-10T01:00:00+00:00"),
        )
    got = await store.alerts_per_day(now=NOW)
    assert got.days == DAYS
    assert got.sent == add(only(29, 2, 30), only(28, 1, 30), only(0, 1, 30))
    empty = await store.alerts_per_day(days=7, now=at("2025-01-03T05:00"))
    assert empty.days[0] == "2024-12-28" and empty.days[-2:] == ("2025-01-02", "2025-01-03")
    assert empty == DailyAlerts(days=empty.days, sent=(0,) * 7) and len(empty.days) == 7


# -- the chart -------------------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG) and data[12:16] == b"IHDR", data[:24]
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


async def typical(store: Store, tree: CategoryTree) -> tuple[MonthlyPosts, DailyAlerts]:
    await fill(store, tree)
    return (
        await store.posts_per_month([EN, FA], now=NOW),
        DailyAlerts(days=DAYS, sent=tuple(n * 7 % 40 for n in range(30))),
    )


async def test_the_chart_is_a_png_for_a_phone(store: Store, tree: CategoryTree) -> None:
    monthly, daily = await typical(store, tree)
    editions = [(EN, "English edition"), (FA, "نسخهٔ فارسی")]
    # In worker threads, two at once, as /stats draws it; Persian labels and all, under
    # pytest's warnings-as-errors (a glyph missing from the font would be a warning).
    one, two = await asyncio.gather(
        asyncio.to_thread(render_png, monthly, daily, editions),
        asyncio.to_thread(render_png, monthly, daily, editions),
    )
    assert one == two  # no state shared between the two drawings
    width, height = png_size(one)
    assert width == 1080 and 1200 <= height <= 1800  # portrait: three panels
    assert 20_000 < len(one) < 1_000_000
    single = render_png(monthly, daily, editions[:1])
    assert png_size(single)[0] == 1080 and png_size(single)[1] < height


def test_an_empty_store_draws_nothing_yet() -> None:
    monthly = MonthlyPosts(
        months=months_of(2026, 1), counts={EN: {}}, reports={EN: (0,) * 12}, stored={EN: 0}
    )
    daily = DailyAlerts(days=DAYS, sent=(0,) * 30)
    nothing = render_png(monthly, daily, [(EN, "English edition")])
    assert png_size(nothing) == (1080, 600)
    # Reports stored, none of them in the window: the panels, each saying so.
    old = replace(monthly, stored={EN: 20})
    assert png_size(render_png(old, daily, [(EN, "English edition")]))[1] > 600


# -- /stats through the running bot ----------------------------------------------------------


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    fake.start()
    fake.private(USER)
    fake.private(ADMIN, language_code="fa")
    try:
        yield fake
    finally:
        fake.stop()
        assert not fake.internal_errors, fake.internal_errors


@pytest.fixture
async def bot(tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress) -> AsyncIterator[Running]:
    settings = fast_settings(tg, wp, tmp_path / "db.sqlite3")
    async with polled_bot(settings, tg, wp) as running:
        yield running


async def wait_photo(bot: Running, chat_id: int) -> SentPhoto:
    await bot.settle(lambda: bool(bot.tg.photos(chat_id)), timeout=15.0)
    (photo,) = bot.tg.photos(chat_id)
    return photo


async def test_stats_sends_its_text_then_a_chart(bot: Running) -> None:
    text = await bot.command(ADMIN, "/stats")
    assert "۲۰" in text.text  # the admin's app is Persian: the figures too
    photo = await wait_photo(bot, ADMIN)
    assert photo.data.startswith(PNG) and photo.filename == "stats.png"
    assert (photo.width, photo.message_id > text.message_id) == (1080, True)
    assert 20_000 < len(photo.data) < 1_000_000
    # Non-admins get the refusal and no chart.
    m = await bot.command(USER, "/stats")
    assert m.text == "This command is for the bot's administrators."
    await bot.command(USER, "/help")  # handled after /stats: its chart would be sent by now
    assert bot.tg.photos(USER) == []


async def test_a_chart_that_fails_is_one_log_line(
    bot: Running, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kw: object) -> bytes:
        raise RuntimeError("no fonts today")

    monkeypatch.setattr(stats_chart, "render_png", broken)
    with caplog.at_level(logging.WARNING, logger="handlers.admin"):
        text = await bot.command(ADMIN, "/stats")
        await bot.command(ADMIN, "/help")
    assert "۲۰" in text.text
    assert [r.getMessage() for r in caplog.records if r.name == "handlers.admin"] == [
        "no /stats chart: RuntimeError: no fonts today"
    ]
    assert bot.tg.photos(ADMIN) == []
    assert len(bot.tg.sent(ADMIN)) == 2  # the text and /help's answer: no apology after it


# -- hrm-bot stats ---------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wp: FakeWordPress) -> Path:
    for key in ("TELEGRAM_BOT_TOKEN", "ADMIN_IDS", "POLL_INTERVAL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SITE_URL", wp.url)
    monkeypatch.setenv("SITE_URL_FA", "")
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "data" / "db.sqlite3"))
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def test_stats_prints_the_figures_and_writes_the_chart(
    env: Path, wp: FakeWordPress, tree: CategoryTree, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("stats")[0] == 1  # before the first ingest: no archive, and none made
    assert "does not exist yet" in capsys.readouterr().err
    assert not (env / "data").exists()
    assert run("ingest")[0] == 0
    site = site_key(wp.url)
    recent = datetime.now(UTC) - timedelta(days=1)

    async def add_recent() -> None:
        store = await Store.open(env / "data" / "db.sqlite3")
        try:
            items = [replace(post(9000 + n, recent, 11), url=f"{wp.url}/r{n}/") for n in range(3)]
            await store.upsert_posts(site, items, tree=tree, alert=False)
        finally:
            await store.close()

    asyncio.run(add_recent())
    chart = env / "stats.png"
    chart.write_bytes(b"an older chart")
    code, out = run("stats", "--chart", str(chart))
    assert code == 0, capsys.readouterr().err
    lines = out.splitlines()
    assert lines[0].startswith("en: http://127.0.0.1:") and lines[1] == "  reports stored: 23"
    executions = next(line for line in lines if line.endswith("  Executions"))
    assert sum(int(n) for n in executions.split()[:-1]) == 3
    assert "alerts sent a day in the last 30 days: 0" in lines
    assert lines[-1] == f"chart: {chart} ({chart.stat().st_size} bytes)"
    assert png_size(chart.read_bytes())[0] == 1080  # replaced, whole
    assert [p.name for p in env.iterdir() if p.name.startswith(".stats.png")] == []


def test_stats_of_an_empty_archive_and_bad_chart_paths(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def create() -> None:
        await (await Store.open(env / "data" / "db.sqlite3")).close()

    asyncio.run(create())
    code, out = run("stats", "--chart", "empty.png")
    assert code == 0 and "  reports stored: 0" in out
    assert png_size((env / "empty.png").read_bytes()) == (1080, 600)  # "Nothing stored yet"
    with pytest.raises(SystemExit) as exit_info:
        run("stats", "--chart", str(env / "nowhere" / "x.png"))
    assert exit_info.value.code == 2
    assert "the folder of" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run("stats", "--chart", str(env))
    assert "is a folder" in capsys.readouterr().err


def test_matplotlib_keeps_out_of_the_home_folder(tmp_path: Path) -> None:
    """Its font cache goes to a folder of the process's own, removed at exit: a service's user
    may have no home it can write, and matplotlib would warn on every start."""
    home, scratch = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    scratch.mkdir()
    db = tmp_path / "db.sqlite3"

    async def create() -> None:
        await (await Store.open(db)).close()

    asyncio.run(create())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MPL", "XDG_"))}
    env.update(HOME=str(home), TMPDIR=str(scratch), DATABASE_PATH=str(db), SITE_URL_FA="off")
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "stats", "--chart", str(tmp_path / "c.png")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert png_size((tmp_path / "c.png").read_bytes()) == (1080, 600)
    assert list(home.iterdir()) == [] and list(scratch.iterdir()) == []
