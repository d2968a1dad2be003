"""/search and inline mode through the loopback Bot API server."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.logs import quiet_libraries
from tests.botharness import Running, fast_settings, first_poll_done, polled_bot, running_bot
from tests.conftest import site_key
from tests.fakes.telegram import FakeTelegram
from tests.fakes.wordpress import FakeWordPress

USER, OTHER = 801, 802


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        fake.private(USER)
        fake.private(OTHER)
        yield fake
        assert not fake.internal_errors


@pytest.fixture
async def bot(tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress) -> AsyncIterator[Running]:
    settings = fast_settings(tg, wp, tmp_path / "db.sqlite3", search_per_minute=50)
    async with polled_bot(settings, tg, wp) as running:
        yield running


def titles(text: str) -> list[str]:
    """The result titles of a /search reply (each result's first line)."""
    blocks = text.split("\n\n")[1:]
    return [b.split("\n", 1)[0] for b in blocks]


async def test_words_must_all_match(bot: Running) -> None:
    m = await bot.command(USER, "/search Qarchak prison")
    assert m.text.startswith("Reports 1–1 for: Qarchak prison")
    assert titles(m.text) == [
        "Overcrowding and Water Shortages Reported in Qarchak Women’s Prison"
    ]
    assert "<b>Qarchak</b>" in (m.html or "")
    assert '<a href="https://iran-hrm.com/2025/05/26/' in (m.html or "")


@pytest.mark.parametrize(
    ("query", "expected", "absent"),
    [
        ('"water shortages"', "Overcrowding and Water Shortages", None),
        ("hanged -karaj", "Man Publicly Hanged in Southern City of Kazerun",
         "Iran: Nine Prisoners Hanged in Qezel Hesar Prison in a Single Day"),
        ("overcrow*", "Overcrowding and Water Shortages", None),
        ("hanged category:women", "Woman Hanged in Adelabad Prison", None),
        ("report since:2025-06 until:2025-06", "Iran HRM Monthly Report – May 2025",
         "UN Special Rapporteur’s Report Documents Sharp Rise in Drug-Related Executions"),
        ("زندانيان", "اعدام دو زندانی در زندان قزل‌حصار کرج", None),
        ("قزلحصار", "اعدام دو زندانی در زندان قزل‌حصار کرج", None),
    ],
)  # fmt: skip
async def test_query_language(bot: Running, query: str, expected: str, absent: str | None) -> None:
    m = await bot.command(USER, f"/search {query}")
    found = titles(m.text)
    assert any(t.startswith(expected) for t in found), (query, found)
    if absent:
        assert absent not in found


async def test_paging_back_and_forth(bot: Running) -> None:
    m = await bot.command(USER, "/search iran")
    assert m.text.startswith("Reports 1–5 for: iran")
    first = titles(m.text)
    [[nxt]] = m.reply_markup["inline_keyboard"]
    assert nxt["text"] == "Next ›" and len(nxt["callback_data"].encode()) <= 64
    await bot.press(USER, m.message_id, nxt["callback_data"])
    page2 = bot.tg.messages(USER)[m.message_id]
    assert page2.text.startswith("Reports 6–10 for: iran")
    assert not set(titles(page2.text)) & set(first)
    buttons = [b["text"] for b in page2.reply_markup["inline_keyboard"][0]]
    assert buttons == ["‹ Previous", "Next ›"]
    prev = page2.reply_markup["inline_keyboard"][0][0]["callback_data"]
    await bot.press(USER, m.message_id, prev)
    assert titles(bot.tg.messages(USER)[m.message_id].text) == first


async def test_stale_and_forged_page_buttons(bot: Running) -> None:
    m = await bot.command(USER, "/search iran")
    for data in ("s:AAAAAAAA:5", "s:short:5", "s:AAAAAAAA:99999", "s:"):
        answer = await bot.press(USER, m.message_id, data, strict=False)
        assert answer.params["text"] == "This search has expired. Send it again."
    assert bot.tg.messages(USER)[m.message_id].text.startswith("Reports 1–5")


@pytest.mark.parametrize(
    "query",
    ['"foo* OR (', "NEAR(", "^", '"', '""" ""', "a' OR 1=1 --", "🙂🙂", "evin)(*", "{col}:x"],
)
async def test_hostile_input_gets_a_plain_answer(bot: Running, query: str) -> None:
    m = await bot.command(USER, f"/search {query}")
    assert m.text.startswith(("No report matches", "Reports ", "There is nothing to search"))
    assert "syntax" not in m.text.lower() and "fts5" not in m.text.lower()


async def test_only_punctuation_and_empty(bot: Running) -> None:
    m = await bot.command(USER, "/search ?!. ---")
    assert m.text.startswith("There is nothing to search for in that.")
    m = await bot.command(USER, "/search")
    assert m.text.startswith("Search every report of the archive")
    assert "category:executions" in m.text and "@hrm_test_bot" in m.text


async def test_over_long_queries_are_refused(bot: Running) -> None:
    m = await bot.command(USER, "/search " + "evin " * 50)
    assert m.text == "That search is too long: at most 200 characters, please."
    m = await bot.command(USER, "/search " + "x" * 10_000)
    assert m.text.startswith("That is too long for a command.")


async def test_unknown_category_filter(bot: Running) -> None:
    m = await bot.command(USER, "/search evin category:nope")
    assert m.text == "There is no category “nope”; send /categories to see them."


async def test_rate_limit(tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress) -> None:
    settings = fast_settings(tg, wp, tmp_path / "db.sqlite3", search_per_minute=3)
    async with running_bot(settings, tg, wp) as bot:
        await first_poll_done(bot.store, site_key(wp.url))
        for _ in range(3):
            m = await bot.command(USER, "/search evin")
            assert m.text.startswith("Reports")
        m = await bot.command(USER, "/search evin")
        assert m.text.startswith("That is a lot of searches. Please wait ")
        m = await bot.command(OTHER, "/search evin")  # others are not held back
        assert m.text.startswith("Reports")


async def test_queries_are_neither_stored_nor_logged(
    bot: Running, caplog: pytest.LogCaptureFixture
) -> None:
    quiet_libraries("DEBUG")  # what LOG_LEVEL=DEBUG sets up
    caplog.set_level(logging.DEBUG)
    m = await bot.command(USER, "/search zanjir-secret-query")
    assert m.text.startswith("No report matches")
    await bot.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stored = b"".join(p.read_bytes() for p in Path(bot.store.path).parent.glob("db.sqlite3*"))
    assert b"zanjir" not in stored
    assert "zanjir" not in caplog.text
    assert "Getting updates" not in caplog.text  # the library's payload logging is off
    quiet_libraries("WARNING")


# -- inline mode ----------------------------------------------------------------------------


async def inline(bot: Running, query: str, offset: str = "") -> dict[str, Any]:
    qid = bot.tg.inline(USER, query, offset=offset)
    await bot.settle(lambda: any(a.query_id == qid for a in bot.tg.answers("answerInlineQuery")))
    return next(a for a in bot.tg.answers("answerInlineQuery") if a.query_id == qid).params


async def test_inline_results_carry_the_alert(bot: Running) -> None:
    params = await inline(bot, "Qarchak")
    [result] = params["results"]
    assert result["type"] == "article"
    assert result["title"].startswith("Overcrowding and Water Shortages")
    assert result["description"].startswith("2025-05-26 · ")
    content = result["input_message_content"]
    assert content["message_text"].startswith("<b>Overcrowding and Water Shortages")
    assert "Read the full report</a>" in content["message_text"]
    assert params["cache_time"] <= 60 and params.get("is_personal") in (False, None)
    assert not params.get("next_offset")


async def test_inline_empty_query_lists_latest_and_pages(bot: Running) -> None:
    params = await inline(bot, "")
    assert len(params["results"]) == 20
    assert params["results"][0]["title"].startswith("Iran: Nine Prisoners Hanged")
    bot.wp.add_posts(10)
    await bot.poll()
    params = await inline(bot, "")
    assert len(params["results"]) == 20 and params["next_offset"] == "20"
    more = await inline(bot, "", offset="20")
    assert len(more["results"]) == 10 and not more.get("next_offset")
    ids = {r["id"] for r in params["results"]} | {r["id"] for r in more["results"]}
    assert len(ids) == 30


async def test_inline_no_results_offers_the_bot(bot: Running) -> None:
    params = await inline(bot, "nothingmatchesthis")
    assert params["results"] == []
    assert params["button"]["start_parameter"] == "search"
    m = await bot.command(USER, "/start search")
    assert m.text.startswith("Search every report of the archive")


@pytest.mark.parametrize("query", ['"foo* OR (', "NEAR(", "x" * 250, "^", "category:women"])
async def test_inline_hostile_input(bot: Running, query: str) -> None:
    params = await inline(bot, query)
    assert isinstance(params["results"], list)


async def test_inline_forged_offset(bot: Running) -> None:
    params = await inline(bot, "iran", offset="-5")
    assert params["results"]
    params = await inline(bot, "iran", offset="999999999")
    assert isinstance(params["results"], list)
