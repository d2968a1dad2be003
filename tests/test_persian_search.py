"""Persian search on real SQLite files: spellings, digits, snippets, Solar Hijri dates, and
editions searched side by side."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import Category, CategoryTree, InvalidQueryError, PostIn, Store, parse_query
from storage.db import MIGRATIONS, SCHEMA_VERSION, UPDATE_FROM_1_TO_2
from storage.normalize import HIT_END, HIT_START, finder, normalize
from storage.search import snippet

EN = "iran-hrm.com"
FA = "fa.iran-hrm.com"
EN_TREE = CategoryTree(
    [Category(4, "executions", "Executions"), Category(7, "women", "Women", parent=4)]
)
# The Persian edition's ids collide with the English ones: its 4 is «زنان», and its
# "executions" is 12.
FA_TREE = CategoryTree(
    [Category(4, "zanan", "زنان"), Category(12, "executions", "اعدام"), Category(13, "x", "x")]
)
START = datetime(2025, 1, 1, tzinfo=UTC)


def post(n: int, content: str, **kw: object) -> PostIn:
    base = PostIn(
        url=f"https://{FA}/p/{n}/",
        title=f"گزارش {n}",
        excerpt="",
        content=content,
        lang="fa",
        wp_id=n,
        published=START + timedelta(hours=n),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


async def add(store: Store, *items: PostIn, site: str = FA, tree: CategoryTree = FA_TREE) -> None:
    await store.upsert_posts(site, list(items), tree=tree, alert=False)


async def found(store: Store, text: str, **kw: int) -> list[int | None]:
    page = await store.search(FA, parse_query(text), FA_TREE, limit=kw.pop("limit", 20), **kw)
    return sorted(h.post.wp_id for h in page.hits)


# -- one word, three spellings ---------------------------------------------------------

SPELLINGS = [
    ("می‌شود", "می شود", "میشود"),
    ("زندان‌ها", "زندان ها", "زندانها"),
    ("نمی‌توان", "نمی توان", "نمیتوان"),
    ("بی‌گناه", "بی گناه", "بیگناه"),
    ("مهم‌ترین", "مهم ترین", "مهمترین"),
    ("کرده‌اند", "کرده اند", "کردهاند"),
    ("حادثه‌ای", "حادثه ای", "حادثهای"),
    ("زندانی‌های", "زندانی های", "زندانیهای"),
    ("زندگی‌اش", "زندگی اش", "زندگیاش"),
]


@pytest.mark.parametrize("spellings", SPELLINGS, ids=lambda s: s[2])
@pytest.mark.parametrize("typed", [0, 1, 2], ids=["zwnj", "space", "joined"])
async def test_each_spelling_finds_every_other(
    store: Store, spellings: tuple[str, str, str], typed: int
) -> None:
    # Posts 1-3 write the word each way; post 4 has its stem alone, and must not match.
    stem = spellings[1].split()[0]
    await add(
        store,
        *(post(i + 1, f"به گزارش منابع، {w} در تهران.") for i, w in enumerate(spellings)),
        post(4, f"به گزارش منابع، {stem} در تهران."),
    )
    assert await found(store, spellings[typed]) == [1, 2, 3]
    # The same word typed on an Arabic keyboard, and inside a phrase.
    arabic = spellings[typed].replace("ی", "ي").replace("ک", "ك")
    assert await found(store, arabic) == [1, 2, 3]
    assert await found(store, f'"{spellings[typed]} در تهران"') == [1, 2, 3]


async def test_phrases_match_across_spellings(store: Store) -> None:
    await add(store, post(1, "وضعیت زندان‌ها در ایران وخیم است."), post(2, "زندان در ایران"))
    for typed in ('"زندان ها در ایران"', '"زندان‌ها در ایران"', '"زندانها در ایران"'):
        assert await found(store, typed) == [1], typed
    assert await found(store, '"ایران وخیم است"') == [1]


@pytest.mark.parametrize(
    "text",
    [
        "سرود ای ایران",  # the vocative «ای» after a letter other than heh
        "زندان\nها",  # a line break is no way of typing a word
        "سمی شود",  # «سمی» ends like the prefix, but is a word
        "کتاب ام",  # «ام» is attached after other letters, so apart it is another word
        "تهران. ها",
        "ایران است",
        "Evin prison, Tehran",
        "می",
        "بیست زندانی",
    ],
)
def test_words_that_are_no_affixes_are_not_glued(text: str) -> None:
    assert normalize(text) == text


async def test_a_word_after_a_vocative_is_found_alone(store: Store) -> None:
    await add(store, post(1, "سرود ای ایران را خواندند."))
    assert await found(store, "ایران") == [1]
    assert await found(store, '"ای ایران"') == [1]


def test_normalize_is_idempotent() -> None:
    text = "زندانی‌ها در قزل‌حصار، شده‌است؛ خانۀ او، خانه ی ما، مي شود ۱۴۰۳ بيش تر ها"
    once = normalize(text)
    assert normalize(once) == once
    assert once == "زندانیها در قزلحصار، شده است؛ خانه او، خانه ما، میشود 1403 بیشترها"


# -- letters, marks and digits ---------------------------------------------------------


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("كتاب", "کتاب"),  # kaf
        ("زندانيان", "زندانیان"),  # yeh
        ("مصطفى", "مصطفی"),  # alef maksura
        ("مدرسة", "مدرسه"),  # teh marbuta
        ("خانۀ", "خانه"),  # heh with the ezafe above
        ("خانه‌ی", "خانه"),  # the ezafe written apart
        ("ھمه", "همه"),  # heh doachashmee
        ("اعدامِ", "اعدام"),  # kasra
        ("مُحاکمه", "محاکمه"),  # damma
        ("قزلحـــصار", "قزل‌حصار"),  # tatweel
    ],
)
async def test_letter_forms_and_marks_match_both_ways(store: Store, one: str, other: str) -> None:
    await add(store, post(1, f"خبر {one} امروز"), post(2, f"خبر {other} امروز"), post(3, "خبر"))
    assert await found(store, one) == [1, 2]
    assert await found(store, other) == [1, 2]


async def test_digits_match_in_every_script(store: Store) -> None:
    await add(
        store,
        post(1, "در سال ۱۴۰۳ اعدام شد."),
        post(2, "در سال 1403 اعدام شد."),
        post(3, "در سال ١٤٠٣ اعدام شد."),
        post(4, "در سال ۱۴۰۲ اعدام شد."),
    )
    for typed in ("1403", "۱۴۰۳", "١٤٠٣", "۱۴۰۳*", '"سال ١٤٠٣"'):
        assert await found(store, typed) == [1, 2, 3], typed


# -- snippets ---------------------------------------------------------------------------

TEXT = "بر اساس گزارش‌ها، زنداني‌ها در زندان قزل‌حصار کرج بی‌گناه بودند و ۳۸ سال داشتند."


@pytest.mark.parametrize(
    ("query", "marked"),
    [
        ("زندانی ها", "زنداني‌ها"),  # ranked: the word as written, Arabic yeh and ZWNJ
        ("زندانیها", "زنداني‌ها"),
        ('"زندانی ها در زندان"', "زنداني‌ها در زندان"),  # a phrase lists newest first
        ("قزلحصار", "قزل‌حصار"),
        ("بی گناه", "بی‌گناه"),
        ("38", "۳۸"),
        ("گزارش*", "گزارش‌ها"),
    ],
)
async def test_snippets_show_the_text_as_written(store: Store, query: str, marked: str) -> None:
    await add(store, post(1, TEXT))
    [hit] = (await store.search(FA, parse_query(query), FA_TREE)).hits
    assert f"{HIT_START}{marked}{HIT_END}" in hit.snippet
    assert hit.snippet.replace(HIT_START, "").replace(HIT_END, "") == TEXT


async def test_the_index_holds_the_folded_text_once(store: Store) -> None:
    # Snippets come from the posts table: the index keeps only the folded copy it needs.
    await add(store, post(1, TEXT))
    async with store.db.execute("SELECT body FROM posts_fts") as cur:
        [(body,)] = list(await cur.fetchall())
    assert body == normalize(TEXT) and "\u200c" not in body
    async with store.db.execute("SELECT * FROM posts_fts LIMIT 0") as cur:
        assert [d[0] for d in cur.description] == ["title", "body", "cats"]


async def test_a_long_snippet_is_cut_between_words_around_the_matches(store: Store) -> None:
    filler = " ".join(["گزارش"] * 200)
    await add(store, post(1, f"{filler} اعدام دو زندانی در زندان‌ها {filler}"))
    [hit] = (await store.search(FA, parse_query("زندان ها اعدام"), FA_TREE)).hits
    assert hit.snippet.startswith("…گزارش") and hit.snippet.endswith("گزارش…")
    assert f"{HIT_START}اعدام{HIT_END} دو زندانی در {HIT_START}زندان‌ها{HIT_END}" in hit.snippet
    assert len(hit.snippet) < 200


def test_the_snippet_finder_finds_every_word_the_index_holds() -> None:
    # Whatever the index matched, the snippet can mark it in the text as written.
    text = (
        "گزارش‌ها نشان مي دهد که زندانی ها در قزل‌حصار بی گناه بوده‌اند؛ خانۀ او و خانه ی "
        "دیگری. این مهم‌ترین پرونده شده‌است و نمی‌توان گفت ١٤٠٣ یا ۱۴۰۲ بود. اعدامِ "
        "بزرگ تر ها قزلحـــصار Tehran Qarchak"
    )
    for word in normalize(text).replace("،", " ").replace("؛", " ").replace(".", " ").split():
        find = finder([(word, False)])
        assert find is not None and find.hits(text), word


def test_a_match_inside_a_longer_word_is_not_marked() -> None:
    find = finder([("زندان", False), ("حصار", False), ("شده", False)])
    assert find is not None
    assert snippet("زندانی‌ها در قزل‌حصار", find) == "زندانی‌ها در قزل‌حصار"
    assert snippet("کار شده‌است", find) == f"کار {HIT_START}شده{HIT_END}‌است"


# -- Solar Hijri dates ------------------------------------------------------------------


@pytest.fixture
async def nowruz(store: Store) -> Store:
    at = {
        1: datetime(2024, 3, 19, 12, tzinfo=UTC),  # 1402-12-29
        2: datetime(2024, 3, 19, 21, tzinfo=UTC),  # 1403-01-01 00:30 in Tehran
        3: datetime(2024, 3, 20, 12, tzinfo=UTC),  # 1403-01-01
        4: datetime(2024, 9, 21, 12, tzinfo=UTC),  # 1403-06-31
        5: datetime(2024, 9, 22, 12, tzinfo=UTC),  # 1403-07-01
        6: datetime(2025, 3, 20, 12, tzinfo=UTC),  # 1403-12-30
        7: datetime(2025, 3, 21, 12, tzinfo=UTC),  # 1404-01-01
    }
    await add(store, *(post(n, "گزارش اعدام", published=when) for n, when in at.items()))
    return store


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("اعدام since:1403-01-01", [2, 3, 4, 5, 6, 7]),
        ("اعدام since:۱۴۰۳/۰۱/۰۱", [2, 3, 4, 5, 6, 7]),
        ("اعدام since:١٤٠٣", [2, 3, 4, 5, 6, 7]),
        # The same day in the other calendar, whose days the bot shows in UTC.
        ("اعدام since:2024-03-20", [3, 4, 5, 6, 7]),
        ("اعدام until:1403-06", [1, 2, 3, 4]),
        ("اعدام until:۱۴۰۳/۰۶/۳۱", [1, 2, 3, 4]),
        ("اعدام since:1403 until:1403", [2, 3, 4, 5, 6]),
        ("اعدام since:۱۴۰۳ until:۱۴۰۳", [2, 3, 4, 5, 6]),
        ("اعدام until:1402", [1]),
        ('"گزارش اعدام" since:1403-07', [5, 6, 7]),  # a phrase: the listing path
        ("since:1404", [7]),  # filters alone
        ("until:۱۴۰۲/۱۲/۲۹", [1]),
    ],
)
async def test_solar_hijri_bounds(nowruz: Store, query: str, ids: list[int]) -> None:
    assert await found(nowruz, query) == ids


# -- two editions -------------------------------------------------------------------------


@pytest.fixture
async def editions(store: Store) -> Store:
    """Posts of two sites whose category ids collide, interleaved in time."""
    en = [
        post(1, "Evin report", url="https://en/1", lang="en", categories=(4,)),
        post(3, "Evin report", url="https://en/3", lang="en", categories=(7,)),
        post(5, "Evin report", url="https://en/5", lang="en"),
    ]
    fa = [
        post(2, "گزارش اوین Evin report", categories=(4,)),  # «زنان» on this site
        post(4, "گزارش اوین Evin report", categories=(12,)),  # its "executions"
        post(6, "گزارش اوین Evin report", categories=(13,)),
    ]
    await add(store, *en, site=EN, tree=EN_TREE)
    await add(store, *fa)
    return store


BOTH = {EN: EN_TREE, FA: FA_TREE}


async def ids(store: Store, text: str, sites: dict[str, CategoryTree], **kw: int) -> list[int]:
    """Ids in the order found, except for words alone, ranked by bm25: sorted, newest first."""
    query = parse_query(text)
    page = await store.search(sites, query, limit=kw.pop("limit", 20), **kw)
    found = [h.post.wp_id or 0 for h in page.hits]
    ranked = query.terms and not any(t.phrase or t.prefix for t in query.terms)
    return sorted(found, reverse=True) if ranked else found


@pytest.mark.parametrize("words", ["", "evin", '"evin report"', "evi*"])
async def test_a_category_is_read_in_each_sites_tree(editions: Store, words: str) -> None:
    # "executions" is 4 in English (with 7 below it) and 12 in Persian; the Persian 4 is
    # another category, whose posts must not come with it.
    assert await ids(editions, f"{words} category:executions", BOTH) == [4, 3, 1]
    assert await ids(editions, f"{words} category:زنان", BOTH) == [2]
    assert await ids(editions, f"{words} category:women", BOTH) == [3]
    assert await ids(editions, f"{words} category:executions", {EN: EN_TREE}) == [3, 1]
    assert await ids(editions, f"{words} category:executions", {FA: FA_TREE}) == [4]
    assert await ids(editions, f"{words} category:nothing", BOTH) == []


async def test_sites_are_searched_and_paged_together(editions: Store) -> None:
    assert await ids(editions, "evin", BOTH) == [6, 5, 4, 3, 2, 1]
    assert await ids(editions, '"evin report"', BOTH) == [6, 5, 4, 3, 2, 1]
    assert await ids(editions, "evin", {FA: FA_TREE}) == [6, 4, 2]
    assert await ids(editions, "اوین", BOTH) == [6, 4, 2]
    for text in ("evin", '"evin report"'):
        seen: list[int] = []
        for offset in (0, 2, 4):
            page = await editions.search(BOTH, parse_query(text), limit=2, offset=offset)
            assert page.more == (offset < 4)
            seen += [h.post.wp_id or 0 for h in page.hits]
        assert sorted(seen, reverse=True) == [6, 5, 4, 3, 2, 1]
    assert seen == [6, 5, 4, 3, 2, 1]  # a phrase lists newest first, across sites


async def test_filters_alone_list_the_chosen_sites(editions: Store) -> None:
    query = parse_query("edition:fa")
    assert query.edition == "fa" and not query.terms
    # The caller turns the edition into its sites.
    assert await ids(editions, "edition:fa", {FA: FA_TREE}) == [6, 4, 2]
    assert await ids(editions, "since:2025-01-01", BOTH, limit=4) == [6, 5, 4, 3]
    page = await editions.search(BOTH, parse_query("since:2025"), limit=4, offset=4)
    assert [h.post.wp_id for h in page.hits] == [2, 1] and not page.more
    assert await ids(editions, "since:2025", {}) == []


async def test_several_sites_are_listed_newest_first_without_a_sort(editions: Store) -> None:
    # Read in rank_key order, not each site's rows gathered and sorted: on a large archive
    # that sort is every row of both sites.
    sql: list[str] = []
    await editions.db.set_trace_callback(sql.append)
    try:
        await editions.search(BOTH, parse_query("since:2025"), limit=2)
    finally:
        await editions.db.set_trace_callback(None)
    [listing] = [s for s in sql if "ORDER BY p.rank_key" in s]
    async with editions.db.execute(f"EXPLAIN QUERY PLAN {listing}") as cur:
        plan = " ".join(r[3] for r in await cur.fetchall())
    assert "TEMP B-TREE" not in plan, plan


async def test_the_older_call_still_searches_one_site(editions: Store) -> None:
    page = await editions.search(EN, parse_query('"evin" category:executions'), EN_TREE)
    assert [h.post.wp_id for h in page.hits] == [3, 1]
    page = await editions.search(FA, parse_query("evin*"), None)
    assert [h.post.wp_id for h in page.hits] == [6, 4, 2]
    page = await editions.search(None, parse_query("evin"), None, limit=10)
    assert len(page.hits) == 6
    # Every site, but no tree to read a category in.
    assert not (await editions.search(None, parse_query("evin category:x"), FA_TREE)).hits


# -- hostile input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("؟!،؛", "no_terms"),
        ("«» … ٪ ٫", "no_terms"),
        ("\u200c", "no_terms"),
        ("\u200c \u200c\u200c", "no_terms"),
        ("ـــ", "no_terms"),  # tatweel
        ("ًٌٍ", "no_terms"),  # harakat alone
        ("\u200f\u200e\ufeff", "no_terms"),
        ("-۱۴۰۳", "no_terms"),
        ('"\u200c" *\u200c*', "no_terms"),
        ("\u200c" * 201, "too_long"),
    ],
)
async def test_persian_queries_with_nothing_to_search(text: str, reason: str) -> None:
    with pytest.raises(InvalidQueryError) as e:
        parse_query(text)
    assert e.value.reason == reason


@pytest.mark.parametrize(
    "text",
    [
        "۱۴۰۳",
        "٣٨",
        "۱",
        "\u200c۱۴۰۳\u200c",
        "؟۱۴۰۳؟",
        "۱۴۰۳ -۱۴۰۲",
        "۱۴*",
        "اـــ*",
        "since:۱۴۰۳/۱۳/۴۵ ۱۴۰۳",
        "category:\u200c ۱۴۰۳",
        "edition:\u200c ۱۴۰۳",
        "category:زنان",
        'NEAR("۱۴۰۳" ۱۴۰۳)',
        "ها ها ها می می بی",
        "cats:c4 ۱۴۰۳",
    ],
)
async def test_digits_and_marks_get_an_answer(store: Store, text: str) -> None:
    await add(store, post(1, "در سال ۱۴۰۳ و ۳۸ نفر", categories=(4,)))
    page = await store.search(BOTH, parse_query(text), limit=5)
    assert isinstance(page.hits, tuple)


async def test_a_digit_query_finds_the_digits(store: Store) -> None:
    await add(store, post(1, "در سال ۱۴۰۳ و ۳۸ نفر"), post(2, "در سال ۱۴۰۲"))
    assert await found(store, "\u200c۱۴۰۳\u200c") == [1]
    assert await found(store, "؟۳۸؟") == [1]


# -- the archive of an older version ------------------------------------------------------


def _v1_archive(path: Path) -> None:
    """What version 1 stored: text folded with ZWNJ deleted, tokens without their site."""
    con = sqlite3.connect(path)
    con.executescript(f"{MIGRATIONS[0]}\nPRAGMA user_version = 1;")
    con.executemany(
        "INSERT INTO categories (site, wp_id, slug, name, parent) VALUES (?, ?, ?, ?, ?)",
        [(FA, 12, "executions", "اعدام", 0), (FA, 14, "child", "فرزند", 12)],
    )
    key = int(START.timestamp()) << 20 | 1
    con.execute(
        "INSERT INTO posts (id, site, wp_id, url, title, published, excerpt, content, lang, "
        "first_seen, digest, categories_known, rank_key) "
        "VALUES (1, ?, 1, 'https://fa/1', 'گزارش', ?, '', ?, 'fa', ?, 'd', 1, ?)",
        (FA, START.isoformat(), "زندانی‌ها در خانۀ امن", START.isoformat(), key),
    )
    con.execute("INSERT INTO post_categories VALUES (1, 14)")
    con.execute("INSERT INTO post_tags VALUES (1, 'قزل‌حصار')")
    con.execute(
        "INSERT INTO posts_fts (rowid, title, body, cats) VALUES (?, 'گزارش', ?, 'c12 c14')",
        (key, "زندانیها در خانۀ امن\nقزلحصار"),
    )
    con.commit()
    con.close()


async def test_an_older_archive_is_reindexed_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _v1_archive(path)
    store = await Store.open(path)
    try:
        async with store.db.execute("PRAGMA user_version") as cur:
            assert (await cur.fetchone())[0] == SCHEMA_VERSION
        tree = await store.load_tree(FA)
        for text in ("زندانی ها", "خانه امن", "قزل‌حصار", "category:executions", "category:child"):
            page = await store.search({FA: tree}, parse_query(text))
            assert [h.post.id for h in page.hits] == [1], text
        assert not (await store.search({EN: EN_TREE}, parse_query("category:executions"))).hits
    finally:
        await store.close()


async def test_the_rebuilt_index_is_the_one_storing_posts_gives(store: Store) -> None:
    # Tags in their stored order: post_tags is a set, and the rebuilt index lists it sorted.
    items = [
        post(1, "زندانی ها در خانۀ امن", categories=(4, 13), tags=("اوین", "قزل‌حصار")),
        post(2, "", excerpt="فقط خلاصه", categories=(99,)),
        post(3, "بدون دسته", tags=("تگ",)),
    ]
    await add(store, *items)
    await store.replace_categories(FA, [Category(4, "zanan", "زنان", parent=12),
                                        Category(12, "executions", "اعدام")])  # fmt: skip
    await add(store, replace(items[0], categories=(4,)), tree=await store.load_tree(FA))

    async def rows() -> list[tuple[object, ...]]:
        async with store.db.execute("SELECT rowid, title, body, cats FROM posts_fts") as cur:
            return sorted(
                (r[0], r[1], r[2], " ".join(sorted(r[3].split()))) for r in await cur.fetchall()
            )

    stored = await rows()
    await store.db.execute("DELETE FROM posts_fts")
    await store.db.executescript(f"BEGIN;\n{UPDATE_FROM_1_TO_2}\nCOMMIT;")
    assert await rows() == stored
