"""Personal alerts in the store, on real SQLite files: watched phrases matched as search
folds text, one row per chat and post whatever brought it, edits of corrected alerts once per
revision, digests made once per chat and day."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import ALL, CategoryTree, PostIn, Store, fold, only_stop_words
from storage.normalize import normalize, words
from storage.watches import WatchIndex

SITE = "iran-hrm.com"
USER, OTHER, THIRD = 501, 502, 503


def post(n: int, **kw: object) -> PostIn:
    base = PostIn(
        url=f"https://iran-hrm.com/post-{n}/",
        title=f"Report number {n}",
        excerpt="An excerpt",
        content=f"Body of report {n}",
        lang="en",
        wp_id=n,
        published=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=n),
        categories=(4,),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


async def rows(store: Store, sql: str, *args: object) -> list[tuple[object, ...]]:
    async with store.writer.reading() as db, db.execute(sql, args) as cur:
        return [tuple(r) for r in await cur.fetchall()]


async def watch(store: Store, chat: int, phrase: str) -> bool | None:
    return await store.watch(chat, "private", phrase, fold(phrase), limit=20)


# -- folding and matching -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Narges MOHAMMADI, Évin prisón",
        "نرگس محمدی در زندان اوین",
        "زندان‌های قزل حصار و آیت‌الله",
        "x_y 12,5 ۱۲۳ İstanbul straße",
        "ΆΈ Ωmega Привет naïve façade",
    ],
)
def test_words_are_the_search_index_tokens(text: str) -> None:
    """A phrase matches where a search would: its words are the tokens FTS5 stores."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5 (x, tokenize = 'unicode61 remove_diacritics 2')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, 'instance')")
    db.execute("INSERT INTO t VALUES (?)", (normalize(text),))
    indexed = [r[0] for r in db.execute("SELECT term FROM v ORDER BY offset")]
    assert words(text) == indexed


def test_phrases_match_whole_words_in_order() -> None:
    index = WatchIndex(
        [
            (1, fold("Narges Mohammadi"), "Narges Mohammadi"),
            (2, fold("Evin"), "Evin"),
            (3, fold("نرگس محمدی"), "نرگس محمدی"),
            (4, fold("Mohammadi Narges"), "Mohammadi Narges"),
        ]
    )
    assert index.match([words("Activist narges MOHAMMADI was moved")]) == {1: ["Narges Mohammadi"]}
    assert index.match([words("Evinson wrote; Evin's gate")]) == {2: ["Evin"]}
    assert index.match([words("Evinson and Nargesi Mohammadi")]) == {}
    # Typed on an Arabic keyboard (Arabic yeh), found in Persian text, and the other way.
    arabic = "نرگس محمدي"
    assert fold(arabic) == fold("نرگس محمدی")
    assert index.match([words(f"خبر {arabic} امروز")]) == {3: ["نرگس محمدی"]}
    # Two texts never make one phrase across their boundary.
    assert index.match([words("A title ending with Narges"), words("Mohammadi starts")]) == {}


def test_persian_compounds_match_spaced_or_joined() -> None:
    index = WatchIndex([(1, fold("قزل حصار"), "قزل حصار"), (2, fold("نرگس‌محمدی"), "نرگس‌محمدی")])
    for text, chats in [
        ("زندان قزل‌حصار کرج", {1}),  # ZWNJ, folded away: one word
        ("زندان قزل حصار کرج", {1}),
        ("زندان قزلحصار کرج", {1}),
        ("خانم نرگس محمدی", {2}),
        ("خانم نرگس‌محمدی", {2}),
        ("قزل و حصار، نرگس و محمدی", set()),
    ]:
        assert set(index.match([words(text)])) == chats, text


def test_stop_words_alone_are_refused() -> None:
    assert only_stop_words(fold("The of"))
    assert only_stop_words(fold("در و"))
    assert not only_stop_words(fold("the Evin"))


# -- queued alerts ----------------------------------------------------------------------------


async def test_a_watched_phrase_alerts_in_any_category(store: Store, tree: CategoryTree) -> None:
    await store.ensure_chat(USER, "private", "en")
    await watch(store, USER, "Narges Mohammadi")
    await store.upsert_posts(SITE, [post(1)], tree=tree, alert=False)
    res = await store.upsert_posts(
        SITE,
        [
            post(
                2, title="Hunger strike", content="Narges Mohammadi refused food.", categories=(7,)
            ),
            post(3, content="Narges spoke; Mohammadi did not."),
        ],
        tree=tree,
        alert=True,
    )
    assert res.enqueued == 1
    assert await rows(store, "SELECT chat_id, post_id, status, reason FROM outbox") == [
        (USER, res.new[0], "pending", "Narges Mohammadi")
    ]


async def test_followed_and_watched_is_one_alert(store: Store, tree: CategoryTree) -> None:
    await store.subscribe(USER, "private", SITE, [ALL])
    await watch(store, USER, "Evin")
    await watch(store, USER, "Evin prison")
    await store.subscribe(OTHER, "private", SITE, [ALL])
    res = await store.upsert_posts(
        SITE, [post(1, title="Evin prison: a report")], tree=tree, alert=True
    )
    assert res.enqueued == 2
    got = await rows(store, "SELECT chat_id, reason FROM outbox ORDER BY chat_id")
    assert got == [(USER, "Evin\nEvin prison"), (OTHER, None)]


async def test_inactive_and_forgotten_chats_get_nothing(store: Store, tree: CategoryTree) -> None:
    for chat in (USER, OTHER):
        await store.ensure_chat(chat, "private", "en")
        await watch(store, chat, "Evin")
    await store.deactivate(USER)
    assert await store.forget(OTHER)
    assert await store.watches(OTHER) == []
    res = await store.upsert_posts(SITE, [post(1, title="Evin")], tree=tree, alert=True)
    assert res.enqueued == 0


async def test_phrase_limits_and_duplicates(store: Store) -> None:
    for i in range(20):
        assert await watch(store, USER, f"name {i}x")
    assert await watch(store, USER, "one more") is None
    assert await store.unwatch(USER, fold("NAME 3X")) == ["name 3x"]
    assert await watch(store, USER, "Name 0X") is False  # the same words in another case
    assert await watch(store, USER, "one more") is True


async def test_another_process_adding_a_phrase_is_seen(tmp_path: Path, tree: CategoryTree) -> None:
    path = tmp_path / "db.sqlite3"
    store = await Store.open(path)
    other = await Store.open(path)
    try:
        await store.subscribe(USER, "private", SITE, ["torture"])
        await store.upsert_posts(SITE, [post(1)], tree=tree, alert=True)  # index read, empty
        await watch(other, USER, "Qarchak")
        res = await store.upsert_posts(SITE, [post(2, title="Qarchak")], tree=tree, alert=True)
        assert res.enqueued == 1
    finally:
        await other.close()
        await store.close()


# -- corrections ------------------------------------------------------------------------------


async def sent_alert(store: Store, tree: CategoryTree, n: int = 1) -> int:
    """A post alerted to USER and sent (message 77)."""
    await store.subscribe(USER, "private", SITE, [ALL])
    res = await store.upsert_posts(SITE, [post(n)], tree=tree, alert=True)
    (stored,) = await store.get_posts(res.new)
    await store.mark_sent(USER, stored.id, 77, stored.revision)
    return stored.id


async def test_a_correction_queues_one_edit_per_revision(store: Store, tree: CategoryTree) -> None:
    post_id = await sent_alert(store, tree)
    res = await store.upsert_posts(SITE, [post(1, title="Corrected")], tree=tree, alert=True)
    assert (res.modified, res.edits, res.enqueued) == ((post_id,), 1, 0)
    # The same revision again: nothing new.
    res = await store.upsert_posts(SITE, [post(1, title="Corrected")], tree=tree, alert=True)
    assert res.edits == 0
    (edit,) = await store.due_edits(10)
    assert (edit.chat_id, edit.post_id, edit.message_id) == (USER, post_id, 77)
    await store.edit_done(USER, post_id, edit.revision)
    assert await store.due_edits(10) == []
    # A second correction is a new revision: edited again.
    res = await store.upsert_posts(SITE, [post(1, title="Again")], tree=tree, alert=True)
    assert res.edits == 1


async def test_category_or_tag_changes_edit_nothing(store: Store, tree: CategoryTree) -> None:
    await sent_alert(store, tree)
    res = await store.upsert_posts(
        SITE, [post(1, categories=(4, 7), tags=("Evin",))], tree=tree, alert=True
    )
    assert res.edits == 0
    assert await store.due_edits(10) == []


async def test_alerts_older_than_two_days_are_left_alone(store: Store, tree: CategoryTree) -> None:
    await sent_alert(store, tree)
    later = datetime.now(UTC) + timedelta(hours=49)
    res = await store.upsert_posts(
        SITE, [post(1, title="Corrected")], tree=tree, alert=True, now=later
    )
    assert res.edits == 0


async def test_a_correction_of_a_pending_alert_needs_no_edit(
    store: Store, tree: CategoryTree
) -> None:
    await store.subscribe(USER, "private", SITE, [ALL])
    await store.upsert_posts(SITE, [post(1)], tree=tree, alert=True)
    res = await store.upsert_posts(SITE, [post(1, title="Corrected")], tree=tree, alert=True)
    assert res.edits == 0
    (row,) = await store.due_deliveries(10)
    (stored,) = await store.get_posts([row.post_id])
    assert stored.title == "Corrected" and row.revision == stored.revision


async def test_a_correction_during_the_send_gets_its_edit(
    store: Store, tree: CategoryTree
) -> None:
    """Read, corrected while in flight, then recorded as sent with the old revision."""
    await store.subscribe(USER, "private", SITE, [ALL])
    await store.upsert_posts(SITE, [post(1)], tree=tree, alert=True)
    (row,) = await store.due_deliveries(10)
    await store.upsert_posts(SITE, [post(1, title="Corrected")], tree=tree, alert=True)
    await store.mark_sent(USER, row.post_id, 90, row.revision)
    (edit,) = await store.due_edits(10)
    (stored,) = await store.get_posts([row.post_id])
    assert (edit.message_id, edit.revision) == (90, stored.revision)


async def test_a_new_category_reaches_its_followers_once(store: Store, tree: CategoryTree) -> None:
    await store.subscribe(USER, "private", SITE, ["torture"])  # id 7
    await store.subscribe(OTHER, "private", SITE, [ALL])
    await store.subscribe(THIRD, "private", SITE, ["executions"])  # id 4
    res = await store.upsert_posts(SITE, [post(1)], tree=tree, alert=True)
    assert res.enqueued == 2  # OTHER and THIRD
    res = await store.upsert_posts(SITE, [post(1, categories=(4, 7))], tree=tree, alert=True)
    assert res.enqueued == 1
    got = await rows(store, "SELECT chat_id FROM outbox ORDER BY chat_id")
    assert got == [(USER,), (OTHER,), (THIRD,)]
    # A day later a new category alerts nobody.
    later = datetime.now(UTC) + timedelta(hours=25)
    await store.subscribe(OTHER + 100, "private", SITE, ["women"])  # id 11
    res = await store.upsert_posts(
        SITE, [post(1, categories=(4, 7, 11))], tree=tree, alert=True, now=later
    )
    assert res.enqueued == 0


async def test_a_correction_that_names_a_watched_phrase_alerts_its_watchers(
    store: Store, tree: CategoryTree
) -> None:
    await store.ensure_chat(USER, "private", "en")
    await store.ensure_chat(OTHER, "private", "en")
    await watch(store, USER, "Zahra Tabari")
    await watch(store, OTHER, "Qezel Hesar")
    first = post(1, title="Woman executed in Qezel Hesar", content="A woman was executed.")
    res = await store.upsert_posts(SITE, [first], tree=tree, alert=True)
    assert res.enqueued == 1  # OTHER, by the prison's name
    named = replace(first, title="Zahra Tabari executed in Qezel Hesar")
    res = await store.upsert_posts(SITE, [named], tree=tree, alert=True)
    # USER now; OTHER had it; a phrase the old text named already alerts nobody new.
    assert res.enqueued == 1
    got = await rows(store, "SELECT chat_id, reason FROM outbox ORDER BY chat_id")
    assert got == [(USER, "Zahra Tabari"), (OTHER, "Qezel Hesar")]
    # A chat that starts watching a name the report already had gets nothing on a correction.
    await store.ensure_chat(THIRD, "private", "en")
    await watch(store, THIRD, "Zahra Tabari")
    fixed = replace(named, content="A woman, Zahra Tabari, was executed.")
    assert (await store.upsert_posts(SITE, [fixed], tree=tree, alert=True)).enqueued == 0
    # A day later a correction naming a phrase reaches nobody.
    await watch(store, THIRD, "Karaj")
    later = datetime.now(UTC) + timedelta(hours=25)
    karaj = replace(fixed, content="A woman, Zahra Tabari, was executed in Karaj.")
    res = await store.upsert_posts(SITE, [karaj], tree=tree, alert=True, now=later)
    assert res.enqueued == 0


# -- digests ----------------------------------------------------------------------------------


async def test_a_digest_is_made_once_per_day(store: Store, tree: CategoryTree) -> None:
    await store.subscribe(USER, "private", SITE, [ALL])
    await store.set_digest(USER, "private", 20 * 60, "Europe/Berlin", "2026-11-30")
    res = await store.upsert_posts(SITE, [post(1), post(2)], tree=tree, alert=True)
    assert res.enqueued == 2
    assert await store.due_deliveries(10) == []  # held for the digest
    assert not await store.open_digest(USER, "2026-11-30")  # that day counts as made
    assert await store.open_digest(USER, "2026-12-01")
    assert not await store.open_digest(USER, "2026-12-01")
    (digest,) = await store.due_digests(10)
    assert (digest.chat_id, digest.day, digest.timezone) == (USER, "2026-12-01", "Europe/Berlin")
    assert sorted(await store.digest_items(USER, "2026-12-01")) == sorted(res.new)
    await store.digest_sent(USER, "2026-12-01", 55)
    assert await store.due_digests(10) == []
    assert await rows(store, "SELECT DISTINCT status, message_id FROM outbox") == [("sent", 55)]
    # Nothing held the next day: no digest to send.
    assert not await store.open_digest(USER, "2026-12-02")
    # A sent digest's alerts are never edited one by one.
    res = await store.upsert_posts(SITE, [post(1, title="Corrected")], tree=tree, alert=True)
    assert res.edits == 0


async def test_turning_the_digest_off_releases_what_was_held(
    store: Store, tree: CategoryTree
) -> None:
    await store.subscribe(USER, "private", SITE, [ALL])
    await store.set_digest(USER, "private", 8 * 60, None, "2026-11-30")
    await store.upsert_posts(SITE, [post(1)], tree=tree, alert=True)
    assert await store.due_deliveries(10) == []
    await store.update_settings(USER, "private", digest_at=None)
    assert len(await store.due_deliveries(10)) == 1
    assert not await store.open_digest(USER, "2026-12-01")


async def test_forget_and_deactivate_drop_personal_state(store: Store, tree: CategoryTree) -> None:
    await sent_alert(store, tree)
    await watch(store, USER, "Evin")
    await store.update_settings(USER, "private", discreet=1, quiet_start=60, quiet_end=120)
    await store.upsert_posts(SITE, [post(1, title="Corrected")], tree=tree, alert=True)
    assert len(await store.due_edits(10)) == 1
    await store.deactivate(USER)
    assert await store.due_edits(10) == []
    assert await store.forget(USER)
    for table in ("watches", "edits", "digests", "outbox", "chats"):
        assert await rows(store, f"SELECT * FROM {table}") == [], table
    assert (await store.chat_settings(USER)).discreet is False
