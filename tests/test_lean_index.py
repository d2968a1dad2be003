"""The search index reads the posts' own text (FTS5 external content): it stays true to the
posts through every kind of change, an archive of version 4 is converted in place, and an
archive newer than the program is refused by every command."""

from __future__ import annotations

import gzip
import logging
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import storage.db
import storage.posts
from storage import Category, CategoryTree, PostIn, Store, parse_query
from storage.db import SCHEMA_VERSION
from tests.test_cli import env, run  # noqa: F401  (env: a fixture)

EN = "iran-hrm.com"
FA = "fa.iran-hrm.com"
EN_CATS = [
    Category(4, "executions", "Executions"),
    Category(7, "women", "Women", parent=4),
    Category(9, "prisons", "Prisons"),
]
START = datetime(2025, 1, 1, tzinfo=UTC)
DATA = Path(__file__).parent / "data"


def post(site: str, n: int, title: str, content: str, **kw: object) -> PostIn:
    base = PostIn(
        url=f"https://{site}/p/{n}/",
        title=title,
        excerpt="",
        content=content,
        lang="fa" if site == FA else "en",
        wp_id=n,
        published=START + timedelta(days=n),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


async def check_index(store: Store) -> None:
    """FTS5's own check, with rank 1: every token of the index matches what the view shows
    for its row now (without it, an external-content index is checked against itself)."""
    await store.db.execute("INSERT INTO posts_fts (posts_fts, rank) VALUES ('integrity-check', 1)")


async def found(store: Store, site: str, text: str) -> list[int | None]:
    page = await store.search({site: await store.load_tree(site)}, parse_query(text), limit=20)
    return sorted(h.post.wp_id for h in page.hits)


async def test_the_index_follows_every_change_of_the_posts(store: Store) -> None:
    en_tree = await store.replace_categories(EN, EN_CATS)
    fa_tree = await store.replace_categories(FA, [Category(12, "executions", "اعدام")])
    en = [
        post(EN, 1, "Executions in Evin", "Three men were executed in Evin.", categories=(4,)),
        post(EN, 2, "Women prisoners", "A hunger strike in Qarchak.", categories=(7,),
             tags=("Qarchak", "Hunger strike")),
        post(EN, 3, "A note", "", excerpt="Death row in Ghezel Hesar.", tags=("Qezel Hesar",)),
        post(EN, 4, "Arrests", "Activists arrested in Tehran.", categories=(9,)),
    ]  # fmt: skip
    fa = [post(FA, 1, "اعدام", "زندانی‌ها در خانۀ امن", categories=(12,), tags=("اوین",))]
    await store.upsert_posts(EN, en, tree=en_tree, alert=False)
    await store.upsert_posts(FA, fa, tree=fa_tree, alert=False)
    await check_index(store)

    steps = [
        # Words replaced, in the title and the text.
        (EN, replace(en[0], title="Executions", content="Three men were hanged in Rasht.")),
        # Another date: the post's rank_key, the index's rowid, changes.
        (EN, replace(en[1], published=START + timedelta(days=30))),
        # Tags alone (the text the same): the body's last line changes.
        (EN, replace(en[2], tags=("Ghezel Hesar prison",))),
        # Categories alone.
        (EN, replace(en[3], categories=(4,))),
        # Persian, folded: a ZWNJ's word replaced, tags too.
        (FA, replace(fa[0], content="زندانی‌ها در قزل‌حصار", tags=("رجایی‌شهر",))),
    ]
    for site, item in steps:
        tree = en_tree if site == EN else fa_tree
        await store.upsert_posts(site, [item], tree=tree, alert=False)
        await check_index(store)
    assert await found(store, EN, "Evin") == []
    assert await found(store, EN, "Rasht") == [1]
    assert await found(store, EN, "Qarchak") == [2]
    assert await found(store, EN, "Qezel") == [] and await found(store, EN, "prison") == [3]
    assert await found(store, EN, "category:prisons") == []
    assert await found(store, EN, "category:executions") == [1, 2, 4]
    assert await found(store, FA, "خانه امن") == [] and await found(store, FA, "اوین") == []
    assert await found(store, FA, "قزل‌حصار") == [1] and await found(store, FA, "رجایی‌شهر") == [1]

    # The tree re-parented: prisons under executions. Posts stored before keep the tokens
    # they were indexed with until they change; a changed post takes the new tree's.
    en_tree = await store.replace_categories(EN, [*EN_CATS[:2], replace(EN_CATS[2], parent=4)])
    await store.upsert_posts(EN, [en[2]], tree=en_tree, alert=False)  # text back, no category
    await store.upsert_posts(
        EN, [replace(en[3], categories=(9,), content="In Tabriz.")], tree=en_tree, alert=False
    )
    await check_index(store)
    assert await found(store, EN, "category:executions") == [1, 2, 4]
    assert await found(store, EN, "Tabriz") == [4] and await found(store, EN, "Tehran") == []

    # RSS's vaguer categories are not taken: the index keeps the stored ones, and the text.
    rss = replace(en[0], content="Hanged in Karaj.", categories=(), categories_known=False)
    await store.upsert_posts(EN, [rss], tree=en_tree, alert=False)
    await check_index(store)
    assert await found(store, EN, "Karaj category:executions") == [1]

    # A post deleted (no command does it today): the trigger takes its row first.
    await store.db.execute("DELETE FROM posts WHERE site = ? AND wp_id = 2", (EN,))
    await check_index(store)
    assert await found(store, EN, "Qarchak") == []

    # And the check has teeth: text changed behind the index's back is caught.
    await store.db.execute("UPDATE posts SET content = 'other words' WHERE wp_id = 4")
    with pytest.raises(sqlite3.DatabaseError, match="malformed"):
        await check_index(store)


async def test_searching_never_reads_the_index_text(store: Store) -> None:
    # Reading it would fold a text for every candidate ranked (up to 500 a query): bm25 and
    # the filters must come from the index alone, snippets from the posts.
    tree = await store.replace_categories(EN, EN_CATS)
    items = [post(EN, n, f"Report {n}", f"Executions in Evin, day {n}.", categories=(7,))
             for n in range(1, 8)]  # fmt: skip
    await store.upsert_posts(EN, items, tree=tree, alert=False)

    def refuse(text: str) -> str:
        raise RuntimeError("the index's text was read")

    await store.db.create_function("hrm_normalize", 1, refuse)
    for text in ("Evin", "evin executions", '"in Evin"', "exec*", "day -Evin",
                 "Evin category:executions", "category:women"):  # fmt: skip
        page = await store.search({EN: tree}, parse_query(text), limit=3)
        assert len(page.hits) == (0 if text == "day -Evin" else 3), text
    # What reading it would do:
    with pytest.raises(sqlite3.OperationalError, match="user-defined function raised"):
        await store.db.execute("SELECT body FROM posts_fts")


# What hrm-bot at commit 4de19c2 found in tests/data/archive-v4.sqlite.gz (its maker,
# tests/data/make_archive_v4.py, prints them).
V4_FOUND = [
    (EN, "Evin", [1]),
    (EN, "prisoners", [2, 3, 1]),
    (EN, "Qezel", [3]),
    (EN, "Tabriz", [4]),
    (EN, "Tehran", []),
    (EN, "cafe", [5]),
    (EN, '"hunger strike"', [2]),
    (EN, "category:executions", [6, 5, 2, 1]),
    (EN, "category:prisons", [4, 3]),
    (FA, "زندانی ها", [1]),
    (FA, "قزل\u200cحصار", [1]),
    (FA, "خانه امن", [1]),
    (FA, "کودکان", [2]),
    (FA, "category:executions", [3, 2, 1]),
    (FA, "category:zanan", []),
]
KEPT_TABLES = ["posts", "post_categories", "post_tags", "categories", "chats", "subscriptions",
               "watches", "outbox"]  # fmt: skip


def _v4_archive(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    path = tmp_path / "v4.sqlite3"
    path.write_bytes(gzip.decompress((DATA / "archive-v4.sqlite.gz").read_bytes()))
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 4
        rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in KEPT_TABLES}
    con.close()
    return path, rows


async def test_a_version_4_archive_is_converted_in_place(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, rows = _v4_archive(tmp_path)
    assert rows["posts"] == 9 and rows["outbox"] == 1
    monkeypatch.setattr(storage.db, "REINDEX_BATCH", 4)

    # Stopped half-way (here by its second progress line), it leaves version 4 as it was.
    real_warning = storage.db.log.warning
    lines: list[str] = []

    def stop_at_the_second(msg: str, *args: object) -> None:
        lines.append(msg % args)
        if len(lines) == 3:
            raise RuntimeError("stopped")

    monkeypatch.setattr(storage.db.log, "warning", stop_at_the_second)
    with pytest.raises(RuntimeError, match="stopped"):
        await Store.open(path)
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 4
        assert con.execute("SELECT count(*) FROM posts_fts_content").fetchone()[0] == 9
    con.close()

    monkeypatch.setattr(storage.db.log, "warning", real_warning)
    caplog.set_level(logging.WARNING, logger="storage.db")
    store = await Store.open(path)
    try:
        assert [r.getMessage() for r in caplog.records if r.name == "storage.db"] == [
            "converting the search index of 9 posts to read the posts' own text (once)",
            "converting the search index: 4 of 9 posts",
            "converting the search index: 8 of 9 posts",
            "converting the search index: 9 of 9 posts",
        ]
        async with store.db.execute("PRAGMA user_version") as cur:
            assert (await cur.fetchone())[0] == SCHEMA_VERSION
        # The old index's copy of every text is gone; everything else is kept.
        async with store.db.execute(
            "SELECT name FROM sqlite_master WHERE name = 'posts_fts_content'"
        ) as cur:
            assert await cur.fetchall() == []
        for table, count in rows.items():
            async with store.db.execute(f"SELECT count(*) FROM {table}") as cur:
                assert (await cur.fetchone())[0] == count, table
        await check_index(store)
        for site, text, ids in V4_FOUND:
            page = await store.search({site: await store.load_tree(site)}, parse_query(text))
            assert [h.post.wp_id for h in page.hits] == ids, text
        # And it goes on: a migrated post corrected (a new date and word), a new one added.
        tree = CategoryTree(EN_CATS)
        edited = post(EN, 1, "Executions", "Three men were hanged in Rasht.", categories=(4,))
        new = post(EN, 7, "Evin again", "More news from Evin.", categories=(9,))
        await store.upsert_posts(EN, [edited, new], tree=tree, alert=False)
        await check_index(store)
        assert await found(store, EN, "Evin") == [7] and await found(store, EN, "Rasht") == [1]
    finally:
        await store.close()


def test_an_archive_newer_than_the_program_is_refused_by_every_command(
    env: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = env / "data" / "db.sqlite3"
    db.parent.mkdir()
    with sqlite3.connect(db) as con:
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    before = db.read_bytes()
    commands = [["ingest"], ["backfill"], ["search", "evin"], ["categories"], ["status"],
                ["stats"], ["export"], ["backup", "copy.sqlite3"]]  # fmt: skip
    for command in commands:
        code, out = run(*command)
        err = capsys.readouterr().err
        assert code == 1 and out == "", command
        assert err.count("\n") == 1 and f"schema version {SCHEMA_VERSION + 1}" in err, err
        assert ("newer than this program's" in err) != (command[0] == "backup"), err
    # `run` in a process of its own: it sets up an event loop of its own.
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=env,
        env={"PATH": "/usr/bin:/bin", "DATABASE_PATH": str(db), "SITE_URL_FA": "off",
             "TELEGRAM_BOT_TOKEN": "123456:TEST-token", "TELEGRAM_API_URL": "http://127.0.0.1:9"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr == (
        f"hrm-bot: database {db} has schema version {SCHEMA_VERSION + 1}, newer than this "
        f"program's ({SCHEMA_VERSION}): it was written by a newer hrm-bot; upgrade hrm-bot\n"
    )
    assert db.read_bytes() == before and not (env / "copy.sqlite3").exists()


async def test_an_excerpt_that_only_opens_the_text_is_not_kept(
    store: Store, tmp_path: Path
) -> None:
    text = (
        "Three prisoners were executed in Ghezel Hesar prison on Tuesday, their families said; "
        "none of them had a lawyer of their own choosing at any stage."
    )
    # WordPress's own: the opening 55 words (here 14) and an ellipsis.
    auto = post(EN, 1, "Executions", text, excerpt=" ".join(text.split()[:14]) + " […]")
    manual = post(EN, 2, "Evin", "The full report on Evin.", excerpt="A summary of its own.")
    bare = post(EN, 3, "A note", "", excerpt="Death row prisoners.")
    await store.upsert_posts(EN, [auto, manual, bare], tree=CategoryTree(EN_CATS), alert=False)
    kept = {p.wp_id: p.excerpt for p in await store.get_posts([1, 2, 3])}
    assert kept == {1: "", 2: "A summary of its own.", 3: "Death row prisoners."}
    # Stored as received otherwise: the same post again is unchanged.
    again = await store.upsert_posts(EN, [auto], tree=CategoryTree(EN_CATS), alert=False)
    assert (again.new, again.modified, again.unchanged) == ((), (), 1)
    assert await found(store, EN, "Ghezel") == [1] and await found(store, EN, "Death") == [3]

    # A version 4 archive loses such excerpts in its conversion, and keeps the others.
    path, _rows = _v4_archive(tmp_path)
    with sqlite3.connect(path) as con:
        con.execute("UPDATE posts SET excerpt = content WHERE content != ''")
        manual_before = con.execute(
            "SELECT id, excerpt FROM posts WHERE content = '' ORDER BY id"
        ).fetchall()
    con.close()
    converted = await Store.open(path)
    try:
        async with converted.db.execute(
            "SELECT id, excerpt FROM posts WHERE excerpt != '' ORDER BY id"
        ) as cur:
            assert [tuple(r) for r in await cur.fetchall()] == manual_before
        await check_index(converted)
    finally:
        await converted.close()


async def test_links_and_guids_that_share_a_key_are_told_apart(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every link and guid hashed alike: what a collision of two would do, everywhere.
    monkeypatch.setattr(storage.posts, "text_key", lambda text: None if text is None else 7)
    tree = CategoryTree(EN_CATS)
    # Feed items without WordPress ids are found by their guid or link alone.
    first = post(EN, 1, "One", "First text.", wp_id=None, guid="https://iran-hrm.com/?p=a")
    second = post(EN, 2, "Two", "Second text.", wp_id=None, guid=None)
    stored = await store.upsert_posts(EN, [first, second], tree=tree, alert=False)
    assert len(stored.new) == 2
    again = await store.upsert_posts(
        EN, [replace(first, title="One, corrected"), second], tree=tree, alert=False
    )
    assert (len(again.new), len(again.modified), again.unchanged) == (0, 1, 1)
    kept = await store.get_posts(list(stored.new))
    assert sorted(p.title for p in kept) == ["One, corrected", "Two"]
    async with store.db.execute("SELECT count(DISTINCT url_key), count(*) FROM posts") as cur:
        assert tuple(await cur.fetchone()) == (1, 2)


async def test_posts_are_looked_up_through_their_keys_indexes(store: Store) -> None:
    # A plan that reads every post of the site instead made backfills a third slower at
    # 20,000 posts, and grows with the archive.
    for column, index in (
        ("wp_id", "posts_wp_id (site=? AND wp_id=?)"),
        ("guid_key", "posts_guid_key (guid_key=?)"),
        ("url_key", "posts_url_key (url_key=?)"),
    ):
        sql = storage.posts.lookup_sql(column, 3)
        async with store.db.execute(f"EXPLAIN QUERY PLAN {sql}", (EN, 1, 2, 3)) as cur:
            plan = " ".join(str(row[3]) for row in await cur.fetchall())
        assert f"INDEX {index}" in plan and "SCAN posts" not in plan, plan
