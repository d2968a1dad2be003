"""The store on real SQLite files: identity, updates, the FTS index and search."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.site.parse import item_to_post, parse_feed, parse_rest_posts
from storage import CategoryTree, InvalidQueryError, PostIn, Store, StoreError, parse_query
from storage.db import SCHEMA_VERSION
from storage.normalize import HIT_END, HIT_START, normalize
from tests.helpers import fixture_bytes

SITE = "iran-hrm.com"


def rest_items() -> list[PostIn]:
    return [r.post for r in parse_rest_posts(fixture_bytes("posts-page1.json"), "en")]


def post(n: int, **kw: object) -> PostIn:
    base = PostIn(
        url=f"https://iran-hrm.com/post-{n}/",
        title=f"Report number {n}",
        excerpt="An excerpt",
        content=f"Body of report {n}",
        lang="en",
        wp_id=n,
        guid=f"https://iran-hrm.com/?p={n}",
        published=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=n),
        categories=(4,),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


async def test_schema_is_versioned_and_pragmas_set(store: Store) -> None:
    async with store.db.execute("PRAGMA user_version") as cur:
        assert (await cur.fetchone())[0] == SCHEMA_VERSION
    async with store.db.execute("PRAGMA journal_mode") as cur:
        assert (await cur.fetchone())[0] == "wal"
    async with store.db.execute("PRAGMA foreign_keys") as cur:
        assert (await cur.fetchone())[0] == 1


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 99")
    con.close()
    with pytest.raises(StoreError, match="newer"):
        await Store.open(path)


async def test_reopening_keeps_posts(tmp_path: Path, tree: CategoryTree) -> None:
    path = tmp_path / "a" / "b" / "db.sqlite3"
    s = await Store.open(path)
    await s.upsert_posts(SITE, rest_items(), tree=tree, alert=False)
    await s.close()
    s = await Store.open(path)
    try:
        assert await s.count_posts(SITE) == 20
    finally:
        await s.close()


async def test_new_unchanged_modified(store: Store, tree: CategoryTree) -> None:
    items = rest_items()
    first = await store.upsert_posts(SITE, items, tree=tree, alert=False)
    assert len(first.new) == 20 and first.unchanged == 0
    again = await store.upsert_posts(SITE, items, tree=tree, alert=False)
    assert (again.new, again.modified, again.unchanged) == ((), (), 20)
    edited = replace(items[3], title="Iran’s Judiciary Relents", content="New text entirely")
    res = await store.upsert_posts(SITE, [edited], tree=tree, alert=False)
    assert res.new == () and len(res.modified) == 1
    [stored] = await store.get_posts(res.modified)
    assert (stored.title, stored.content, stored.wp_id) == (
        "Iran’s Judiciary Relents",
        "New text entirely",
        29458,
    )
    # The index follows the edit: old words are gone, new ones are found.
    assert not (await store.search(SITE, parse_query("furlough"), tree)).hits
    hits = (await store.search(SITE, parse_query("relents"), tree)).hits
    assert [h.post.wp_id for h in hits] == [29458]


async def test_rss_and_rest_copies_are_one_post(store: Store, tree: CategoryTree) -> None:
    feed = parse_feed(fixture_bytes("feed-page2.xml"))
    rss = [item_to_post(i, tree, "en") for i in feed.items]
    res = await store.upsert_posts(SITE, rss, tree=tree, alert=False)
    assert len(res.new) == 10
    res = await store.upsert_posts(SITE, rest_items(), tree=tree, alert=False)
    # Page 2 holds posts 11-20, the permalink-guid post among them: matched by guid.
    assert len(res.new) == 10
    assert await store.count_posts(SITE) == 20
    [imported] = [p for p in await store.get_posts(res.new + tuple(range(1, 11)))
                  if p.guid and "khavaran" in p.guid]  # fmt: skip
    assert imported.wp_id == 29414


async def test_duplicates_within_a_batch_are_one_post(store: Store, tree: CategoryTree) -> None:
    a = post(1)
    same_guid_other_link = post(2, wp_id=None, guid=a.guid, url="https://iran-hrm.com/other/")
    res = await store.upsert_posts(SITE, [a, a, same_guid_other_link], tree=tree, alert=False)
    assert len(res.new) == 1
    assert await store.count_posts(SITE) == 1


async def test_item_without_guid_is_identified_by_link(store: Store, tree: CategoryTree) -> None:
    a = post(1, wp_id=None, guid=None)
    await store.upsert_posts(SITE, [a], tree=tree, alert=False)
    res = await store.upsert_posts(SITE, [replace(a, title="Retitled")], tree=tree, alert=False)
    assert len(res.modified) == 1 and await store.count_posts(SITE) == 1


async def test_same_guid_with_another_wp_id_is_another_post(
    store: Store, tree: CategoryTree
) -> None:
    await store.upsert_posts(SITE, [post(1)], tree=tree, alert=False)
    res = await store.upsert_posts(SITE, [post(2, guid=post(1).guid)], tree=tree, alert=False)
    assert len(res.new) == 1


async def test_tags_are_searchable(store: Store, tree: CategoryTree) -> None:
    await store.upsert_posts(SITE, [post(1, tags=("Qezel Hesar Prison",))], tree=tree, alert=False)
    assert await search_ids(store, tree, "qezel") == [1]


async def test_vaguer_rss_categories_do_not_replace_rest_ones(
    store: Store, tree: CategoryTree
) -> None:
    exact = post(1, categories=(131,))
    res = await store.upsert_posts(SITE, [exact], tree=tree, alert=False)
    vague = replace(exact, categories=(), categories_known=False)
    await store.upsert_posts(SITE, [vague], tree=tree, alert=False)
    [stored] = await store.get_posts(res.new)
    assert stored.categories == (131,) and stored.categories_known


async def test_sites_do_not_mix(store: Store, tree: CategoryTree) -> None:
    await store.upsert_posts(SITE, [post(1)], tree=tree, alert=False)
    res = await store.upsert_posts("fa.iran-hrm.com", [post(1)], tree=tree, alert=False)
    assert len(res.new) == 1
    assert await store.count_posts(SITE) == 1
    assert await store.count_posts() == 2


async def test_dates_are_utc_aware_and_optional(store: Store, tree: CategoryTree) -> None:
    undated = post(1, published=None)
    future = post(2, published=datetime(2100, 1, 1, tzinfo=UTC))
    res = await store.upsert_posts(SITE, [undated, future], tree=tree, alert=False)
    a, b = await store.get_posts(res.new)
    assert a.published is None and a.first_seen.tzinfo is not None
    assert b.published == datetime(2100, 1, 1, tzinfo=UTC)


@pytest.fixture
async def archive(store: Store, tree: CategoryTree) -> Store:
    await store.upsert_posts(SITE, rest_items(), tree=tree, alert=False)
    return store


async def search_ids(store: Store, tree: CategoryTree, text: str, **kw: int) -> list[int | None]:
    page = await store.search(SITE, parse_query(text), tree, **kw)
    return [h.post.wp_id for h in page.hits]


async def test_search_english_ranks_title_first(archive: Store, tree: CategoryTree) -> None:
    ids = await search_ids(archive, tree, "Kazerun")
    assert ids[0] == 29421
    assert await search_ids(archive, tree, "qarchak prison") == [29406]


@pytest.mark.parametrize(
    "query",
    [
        "قزل‌حصار",  # with ZWNJ, as in the post
        "قزلحصار",  # without
        "قزل\u200cحصار زندانی",
        "زندانيان",  # Arabic yeh
        "اعدامِ",  # with a kasra
        "قزلحـــصار",  # with tatweel
    ],
)
async def test_persian_queries_find_persian_posts(
    archive: Store, tree: CategoryTree, query: str
) -> None:
    ids = await search_ids(archive, tree, query)
    assert 29425 in ids, query


async def test_persian_digits_match_ascii(archive: Store, tree: CategoryTree) -> None:
    [persian] = [p for p in rest_items() if p.wp_id == 29425]
    digits = [ch for ch in persian.content if "\u06f0" <= ch <= "\u06f9"]
    assert digits, "the fixture post has Persian digits"
    year = next(w for w in normalize(persian.content).split() if w.isdigit() and len(w) >= 2)
    assert 29425 in await search_ids(archive, tree, year)


async def test_category_filter_includes_children(archive: Store, tree: CategoryTree) -> None:
    ids = await search_ids(archive, tree, "category:executions", limit=20)
    assert set(ids) == {29468, 29465, 29462, 29440, 29425, 29421, 29410}
    assert await search_ids(archive, tree, "hanged category:women") == [29462]
    # The same name under Latest News is another category.
    news_pp = await search_ids(archive, tree, "category:political-prisoners", limit=20)
    assert set(news_pp) == {29458, 29447}


async def test_date_filters(archive: Store, tree: CategoryTree) -> None:
    june = datetime(2025, 6, 1, tzinfo=UTC)
    page = await archive.search(SITE, parse_query("executions since:2025-06"), tree, limit=20)
    assert len(page.hits) >= 5
    assert all(h.post.published and h.post.published >= june for h in page.hits)
    unfiltered = await archive.search(SITE, parse_query("executions"), tree, limit=20)
    assert len(unfiltered.hits) > len(page.hits)
    may = await search_ids(archive, tree, "until:2025-05", limit=20)
    assert set(may) == {29425, 29421, 29418, 29414, 29410, 29406, 29402}


async def test_exclusion_phrase_and_prefix(archive: Store, tree: CategoryTree) -> None:
    assert 29468 in await search_ids(archive, tree, "hanged", limit=20)
    assert 29468 not in await search_ids(archive, tree, "hanged -karaj", limit=20)
    assert await search_ids(archive, tree, '"water shortages"') == [29406]
    assert await search_ids(archive, tree, '"shortages water"') == []
    assert 29406 in await search_ids(archive, tree, "overcrow*")


async def test_snippets_mark_matches(archive: Store, tree: CategoryTree) -> None:
    page = await archive.search(SITE, parse_query("Qarchak"), tree)
    snippet = page.hits[0].snippet
    assert f"{HIT_START}Qarchak{HIT_END}" in snippet


async def test_paging(archive: Store, tree: CategoryTree) -> None:
    first = await archive.search(SITE, parse_query("iran"), tree, limit=3)
    second = await archive.search(SITE, parse_query("iran"), tree, limit=3, offset=3)
    assert first.more and len(first.hits) == 3
    assert not {h.post.id for h in first.hits} & {h.post.id for h in second.hits}


@pytest.mark.parametrize(
    "text",
    [
        '"foo* OR (',
        "NEAR(",
        "NEAR(a b, 2)",
        "title:evin",
        "^evin",
        "evin AND OR NOT",
        '""""',
        "a'b\"c",
        "{evin}",
        "evin* *",
        "🙂 evin 🙂",
        "\x00evin",
        "-",
        "- -evin",
        "category:",
        "since:abc evin",
    ],
)
async def test_hostile_queries_never_raise_sql_errors(
    archive: Store, tree: CategoryTree, text: str
) -> None:
    try:
        query = parse_query(text)
    except InvalidQueryError as exc:
        assert exc.reason in ("no_terms", "empty")
        return
    page = await archive.search(SITE, query, tree)
    assert isinstance(page.hits, tuple)


async def test_only_empty_or_long_queries_are_refused() -> None:
    with pytest.raises(InvalidQueryError) as e:
        parse_query("x" * 201)
    assert e.value.reason == "too_long"
    with pytest.raises(InvalidQueryError) as e:
        parse_query("   ")
    assert e.value.reason == "empty"
    assert parse_query("x" * 200).terms


async def test_common_word_search_is_bounded(store: Store, tree: CategoryTree) -> None:
    # More matches than the candidate window: the page still comes back, newest first wins
    # ties, and nothing raises.
    items = [post(n, content="iran " * 5) for n in range(1, 1301)]
    await store.upsert_posts(SITE, items, tree=tree, alert=False)
    page = await store.search(SITE, parse_query("iran"), tree, limit=5)
    assert len(page.hits) == 5 and page.more
    assert page.hits[0].post.wp_id == 1300


async def test_cancelled_transaction_leaves_no_open_transaction(
    store: Store, tree: CategoryTree
) -> None:
    import asyncio

    async def write() -> None:
        async with store.writer.transaction() as db:
            await db.execute("INSERT INTO site_state VALUES ('s', 'k', '1')")
            await asyncio.sleep(10)

    for delay in (0, 0.001, 0.01):
        task = asyncio.create_task(write())
        await asyncio.sleep(delay)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not store.db.in_transaction
    await store.set_state("s", {"k": 2})  # the next write works
    assert (await store.get_state("s")) == {"k": 2}


def test_odd_digits_are_not_ids(tree: CategoryTree) -> None:
    assert tree.find("²³") == []
    assert tree.find("٤") == []
    assert tree.find("4") == [tree.by_id[4]]


async def test_category_filter_follows_category_changes(store: Store, tree: CategoryTree) -> None:
    await store.upsert_posts(SITE, [post(1, categories=(131,))], tree=tree, alert=False)
    assert await search_ids(store, tree, "report category:executions") == [1]
    # The same text, filed elsewhere: not an edit, but the filter must follow.
    res = await store.upsert_posts(SITE, [post(1, categories=(9,))], tree=tree, alert=False)
    assert res.unchanged == 1
    assert await search_ids(store, tree, "report category:executions") == []
    assert await search_ids(store, tree, "report category:news") == [1]
    assert await search_ids(store, tree, "category:political-prisoners") == [1]


async def test_category_tokens_are_not_searchable_as_words(
    store: Store, tree: CategoryTree
) -> None:
    await store.upsert_posts(SITE, [post(1, categories=(4,))], tree=tree, alert=False)
    assert await search_ids(store, tree, "c4") == []
    assert await search_ids(store, tree, "report") == [1]


async def test_phrase_and_prefix_list_newest_first(store: Store, tree: CategoryTree) -> None:
    items = [post(n, content="death row prisoners") for n in range(1, 8)]
    await store.upsert_posts(SITE, items, tree=tree, alert=False)
    assert await search_ids(store, tree, '"death row"', limit=3) == [7, 6, 5]
    assert await search_ids(store, tree, "prison*", limit=3) == [7, 6, 5]
    page = await store.search(SITE, parse_query('"death row"'), tree, limit=3)
    assert page.hits[0].snippet == f"{HIT_START}death row{HIT_END} prisoners"


async def test_lone_surrogates_from_json_are_stored(store: Store, tree: CategoryTree) -> None:
    body = b'[{"id": 5, "link": "https://s/5", "title": {"rendered": "Bad \\ud800 title"}}]'
    [rest] = parse_rest_posts(body, "en")
    assert rest.post.title == "Bad ? title"
    res = await store.upsert_posts(SITE, [rest.post], tree=tree, alert=False)
    assert len(res.new) == 1


async def test_a_post_held_as_it_is_costs_no_write(store: Store, tree: CategoryTree) -> None:
    items = rest_items()
    await store.upsert_posts(SITE, items, tree=tree, alert=False)
    before = store.db.total_changes
    res = await store.upsert_posts(SITE, items, tree=tree, alert=False)
    assert res.unchanged == 20
    assert store.db.total_changes == before


async def test_tag_changes_reach_the_index(store: Store, tree: CategoryTree) -> None:
    await store.upsert_posts(SITE, [post(1, tags=("Evin Prison",))], tree=tree, alert=False)
    assert await search_ids(store, tree, "evin") == [1]
    res = await store.upsert_posts(SITE, [post(1, tags=("Qarchak",))], tree=tree, alert=False)
    assert res.unchanged == 1
    assert await search_ids(store, tree, "evin") == []
    assert await search_ids(store, tree, "qarchak") == [1]
    [stored] = await store.get_posts([1])
    assert stored.tags == ("Qarchak",)


async def test_an_edit_seen_through_rss_keeps_the_exact_categories_in_the_index(
    store: Store, tree: CategoryTree
) -> None:
    await store.upsert_posts(SITE, [post(1, categories=(131,))], tree=tree, alert=False)
    vague = post(1, title="Retitled report", categories=(), categories_known=False)
    res = await store.upsert_posts(SITE, [vague], tree=tree, alert=False)
    assert len(res.modified) == 1
    assert await search_ids(store, tree, "retitled category:executions") == [1]


async def test_next_due_is_the_earliest_postponed_pending_row(
    store: Store, tree: CategoryTree
) -> None:
    await store.subscribe(1, "private", SITE, ["*"])
    await store.subscribe(2, "private", SITE, ["*"])
    res = await store.upsert_posts(SITE, [post(1)], tree=tree, alert=True)
    assert await store.next_due() is None
    early = datetime(2030, 1, 1, tzinfo=UTC)
    await store.postpone(1, res.new[0], early + timedelta(hours=1), "x", count_attempt=False)
    await store.postpone(2, res.new[0], early, "x", count_attempt=False)
    assert await store.next_due() == early
    await store.mark_sent(2, res.new[0], 99)
    assert await store.next_due() == early + timedelta(hours=1)
