"""`hrm-bot backup`: a consistent copy of a live archive, and every way it can be refused."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import ALL, CategoryTree, PostIn, Store, StoreError
from storage.backup import backup
from tests.botharness import fast_settings, first_poll_done, running_bot, wait_until
from tests.conftest import site_key
from tests.fakes.telegram import FakeTelegram
from tests.fakes.wordpress import FakeWordPress
from tests.test_cli import env, run  # noqa: F401  (env: a fixture)

SITE = "iran-hrm.com"


def post(n: int) -> PostIn:
    return PostIn(
        url=f"https://iran-hrm.com/post-{n}/",
        title=f"Report {n}",
        excerpt="An excerpt",
        content=f"Body of report {n} " * 50,
        lang="en",
        wp_id=n,
        published=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=n),
        categories=(4,),
    )


def counts(path: Path) -> tuple[str, int, int]:
    # A plain sqlite3, as an operator's: the index's own rows are counted (one a post in
    # posts_fts_docsize), since posts_fts reads its columns through hrm-bot's hrm_normalize.
    with sqlite3.connect(path) as db:
        check = db.execute("PRAGMA integrity_check").fetchone()[0]
        posts = db.execute("SELECT count(*) FROM posts").fetchone()[0]
        indexed = db.execute("SELECT count(*) FROM posts_fts_docsize").fetchone()[0]
    return check, posts, indexed


async def test_a_copy_made_while_posts_are_written_is_whole(
    tmp_path: Path, tree: CategoryTree
) -> None:
    store = await Store.open(tmp_path / "db.sqlite3")
    try:
        await store.upsert_posts(SITE, [post(n) for n in range(1, 301)], tree=tree, alert=False)

        async def keep_writing() -> None:
            for start in range(301, 1301, 50):
                batch = [post(n) for n in range(start, start + 50)]
                await store.upsert_posts(SITE, batch, tree=tree, alert=False)
                await asyncio.sleep(0)

        writer = asyncio.create_task(keep_writing())
        copies = []
        for i in range(3):
            dest = tmp_path / f"copy{i}.sqlite3"
            await backup(store.path, dest)
            copies.append(dest)
        await writer
    finally:
        await store.close()
    for dest in copies:
        check, posts, indexed = counts(dest)
        # One snapshot: every post of it with its index row, whole batches only.
        assert check == "ok" and posts == indexed and (posts - 300) % 50 == 0, dest
    assert counts(tmp_path / "db.sqlite3")[1:] == (1300, 1300)


async def test_what_backup_refuses(tmp_path: Path, tree: CategoryTree) -> None:
    source = tmp_path / "db.sqlite3"
    with pytest.raises(StoreError, match=r"archive|exist"):
        await backup(source, tmp_path / "copy.sqlite3")
    store = await Store.open(source)
    await store.upsert_posts(SITE, [post(1)], tree=tree, alert=False)
    await store.close()
    existing = tmp_path / "existing.sqlite3"
    existing.write_bytes(b"keep me")
    with pytest.raises(StoreError, match=r"exists: give another name, or --force"):
        await backup(source, existing)
    assert existing.read_bytes() == b"keep me"
    assert await backup(source, existing, force=True) > 0
    assert counts(existing) == ("ok", 1, 1)
    with pytest.raises(StoreError, match="there is no folder"):
        await backup(source, tmp_path / "no" / "such" / "folder" / "copy.sqlite3")
    with pytest.raises(StoreError, match="is a folder"):
        await backup(source, tmp_path)
    # Not even --force replaces the archive or its files, by whatever name they are given.
    store = await Store.open(source)  # holds -wal and -shm open, as the bot does
    try:
        (tmp_path / "link").symlink_to(tmp_path)
        for own in (
            source,
            tmp_path / "link" / "db.sqlite3",
            tmp_path / "." / "db.sqlite3-wal",
            tmp_path / "db.sqlite3-shm",
            tmp_path / "db.sqlite3.lock",
        ):
            with pytest.raises(StoreError, match="is the archive itself"):
                await backup(source, own, force=True)
        os.mkfifo(tmp_path / "fifo")
        with pytest.raises(StoreError, match="not a regular file"):
            await backup(source, tmp_path / "fifo", force=True)
        assert len(await store.get_posts([1])) == 1
    finally:
        await store.close()
    assert counts(source) == ("ok", 1, 1)
    # A database still to be migrated (or being migrated) is not copied half-way.
    with sqlite3.connect(source) as db:
        db.execute("PRAGMA user_version = 2")
    with pytest.raises(StoreError, match=r"schema version 2.*finish migrating"):
        await backup(source, tmp_path / "old.sqlite3")
    left = await asyncio.to_thread(lambda: sorted(p.name for p in tmp_path.iterdir()))
    assert "old.sqlite3" not in left and not [n for n in left if n.endswith(".partial")]


def test_the_command(env: Path, tree: CategoryTree) -> None:  # noqa: F811
    code, out = run("ingest")
    assert code == 0, out
    code, out = run("backup", "copy.sqlite3")
    assert code == 0 and out.startswith("backup written: copy.sqlite3 ("), out
    check, posts, indexed = counts(env / "copy.sqlite3")
    assert check == "ok" and posts == indexed > 0
    code, _out = run("backup", "copy.sqlite3")
    assert code == 1
    code, _out = run("backup", "--force", "copy.sqlite3")
    assert code == 0


def test_the_command_without_an_archive(
    env: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _out = run("backup", "copy.sqlite3")
    assert code == 1
    assert "fill it with `hrm-bot ingest`" in capsys.readouterr().err
    assert not (env / "data" / "db.sqlite3").exists()


async def test_a_copy_made_during_a_fan_out_holds_every_post_and_alert(tmp_path: Path) -> None:
    """Through the running bot: a copy taken while the sender works through the outbox."""
    chats = list(range(1001, 1061))
    tg = FakeTelegram()
    tg.start()
    for chat in chats:
        tg.private(chat, known=True)
    wp = FakeWordPress.from_fixtures()
    wp.start()
    try:
        # 60 alerts at 30 a second: the copy is taken while some are sent and some wait.
        settings = fast_settings(tg, wp, tmp_path / "db.sqlite3", send_rate=30.0)
        async with running_bot(settings, tg, wp) as bot:
            site = site_key(wp.url)
            await first_poll_done(bot.store, site)
            for chat in chats:
                await bot.store.subscribe(chat, "private", site, [ALL], "en")
            wp.add_post(title="Fanned out")
            await bot.poll()

            async def statuses() -> dict[str, int]:
                return await bot.outbox()

            await wait_until(
                statuses,
                lambda got: got.get("sent", 0) > 0 and got.get("pending", 0) > 0,
                what="a fan-out under way",
            )
            size = await backup(settings.database_path, tmp_path / "copy.sqlite3")
            await bot.wait_outbox({"sent": len(chats)}, timeout=10)
    finally:
        wp.stop()
        tg.stop()
    copy = tmp_path / "copy.sqlite3"
    assert size == copy.stat().st_size
    check, posts, indexed = counts(copy)
    assert (check, posts, indexed) == ("ok", 21, 21)
    with sqlite3.connect(copy) as db:
        rows = dict(db.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
    # Every alert is in the copy, each either sent or still to send; none half-written.
    assert sum(rows.values()) == len(chats) and set(rows) <= {"sent", "pending"}
