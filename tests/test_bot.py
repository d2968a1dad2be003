"""The real Application against the loopback Bot API server and WordPress site."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import AlreadyRunning, lock_database
from bot.delivery import render
from bot.i18n import texts
from storage import ALL, Post, Store
from tests.botharness import (
    ADMIN,
    QUIET,
    Running,
    fast_settings,
    polled_bot,
    running_bot,
    wait_until,
)
from tests.conftest import site_key
from tests.fakes.telegram import FakeTelegram
from tests.fakes.wordpress import FakeWordPress

USER, OTHER, THIRD = 501, 502, 503
GROUP, SUPERGROUP = -4001, -1004001
GROUP_ADMIN, GROUP_MEMBER = 601, 602


@pytest.fixture
def tg() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    fake.start()
    for user in (USER, OTHER, THIRD, ADMIN):
        fake.private(user)
    fake.group(GROUP, admins={GROUP_ADMIN})
    fake.set_member_status(GROUP, GROUP_MEMBER, "member")
    try:
        yield fake  # type: ignore[misc]
    finally:
        fake.stop()
        assert not fake.internal_errors, fake.internal_errors


@pytest.fixture
async def bot(tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress) -> AsyncIterator[Running]:
    settings = fast_settings(tg, wp, tmp_path / "db.sqlite3")
    async with polled_bot(settings, tg, wp) as running:
        yield running


def alerts(tg: FakeTelegram, chat_id: int) -> list[str]:
    """Titles of the alerts a chat received (bold first line)."""
    out = []
    for m in tg.sent(chat_id):
        if m.html and m.html.startswith("<b>") and "Read the full report" in m.text:
            out.append(m.text.split("\n", 1)[0])
    return out


async def wait_alerts(bot: Running, chat_id: int, n: int, timeout: float = 5.0) -> list[str]:
    await bot.settle(lambda: len(alerts(bot.tg, chat_id)) >= n, timeout=timeout)
    return alerts(bot.tg, chat_id)


# -- commands -------------------------------------------------------------------------------


async def test_start_shows_intro_and_picker(bot: Running) -> None:
    m = await bot.command(USER, "/start")
    assert m.text.startswith("This bot brings you the reports of Iran Human Rights Monitor")
    buttons = [b["text"] for row in m.reply_markup["inline_keyboard"] for b in row]
    assert buttons[0] == "All reports"
    assert "Executions" in buttons and "Executions ›" in buttons and buttons[-1] == "Done"


async def test_help_lists_every_command_with_examples(bot: Running) -> None:
    m = await bot.command(USER, "/help")
    for command, _args, _what, example in texts.COMMANDS:
        assert f"/{command}" in m.text
        assert example in m.text
    assert "<code>/subscribe [category ...]</code>" in (m.html or "")
    menu = [c["command"] for c in bot.tg.commands()]
    assert menu == [c for c, _ in texts.MENU]


async def test_subscribe_unsubscribe_mysubs(bot: Running) -> None:
    m = await bot.command(USER, "/mysubs")
    assert m.text == "This chat follows nothing yet. Send /subscribe to choose categories."
    m = await bot.command(USER, "/subscribe executions women")
    assert m.text == "Now following: Executions, Executions › Women."
    m = await bot.command(USER, "/subscribe Executions, torture")
    assert m.text == "Now following: Latest News › Torture.\nAlready following: Executions."
    m = await bot.command(USER, "/mysubs")
    assert m.text.splitlines() == [
        "This chat follows:",
        "• Executions",
        "• Latest News › Torture",
        "• Executions › Women",
    ]
    m = await bot.command(USER, "/unsubscribe women arrests")
    assert m.text == (
        "Stopped following: Executions › Women.\nThis chat was not following: "
        "Latest News › Arrests."
    )
    m = await bot.command(USER, "/unsubscribe all")
    assert m.text == "This chat follows nothing any more."
    assert await bot.store.subscriptions(USER) == []
    m = await bot.command(USER, "/unsubscribe")
    assert "/unsubscribe women" in m.text


async def test_names_with_spaces_ambiguity_and_typos(bot: Running) -> None:
    m = await bot.command(USER, "/subscribe Mass execution")
    assert m.text == "Now following: Executions › Mass execution."
    m = await bot.command(USER, "/subscribe Political prisoners")
    assert "more than one category" in m.text
    assert "political-prisoners-executions" in m.text and "(political-prisoners)" in m.text
    m = await bot.command(USER, "/subscribe executoins")
    assert m.text.startswith("There is no category called “executoins”.")
    assert "Did you mean: executions" in m.text
    m = await bot.command(USER, "/subscribe political-prisoners-executions")
    assert m.text == "Now following: Executions › Political prisoners."
    m = await bot.command(USER, "/subscribe all")
    assert m.text == "Now following: all reports."


async def test_categories_lists_slugs(bot: Running) -> None:
    m = await bot.command(USER, "/categories")
    assert "Executions: executions" in m.text
    assert "    Political prisoners: political-prisoners-executions" in m.text
    assert "<code>political-prisoners</code>" in (m.html or "")


async def test_keyboard_toggles_edit_in_place(bot: Running) -> None:
    m = await bot.command(USER, "/subscribe")
    answer = await bot.press(USER, m.message_id, "sub:t:en:4:0")
    assert answer.params.get("text") == "Following Executions"
    current = bot.tg.messages(USER)[m.message_id]
    labels = [b["text"] for row in current.reply_markup["inline_keyboard"] for b in row]
    assert "✅ Executions" in labels
    # Open the branch: children appear, covered by the followed parent.
    await bot.press(USER, m.message_id, "sub:v:en:4")
    current = bot.tg.messages(USER)[m.message_id]
    labels = [b["text"] for row in current.reply_markup["inline_keyboard"] for b in row]
    assert "✅ Executions" in labels and "☑️ Women" in labels
    assert current.text.startswith("Executions and its sub-categories")
    await bot.press(USER, m.message_id, "sub:t:en:11:4")
    await bot.press(USER, m.message_id, "sub:t:en:4:4")
    current = bot.tg.messages(USER)[m.message_id]
    labels = [b["text"] for row in current.reply_markup["inline_keyboard"] for b in row]
    assert "Executions" in labels and "✅ Women" in labels
    await bot.press(USER, m.message_id, "sub:v:en:0")
    await bot.press(USER, m.message_id, "sub:a:en:0")
    answer = await bot.press(USER, m.message_id, "sub:d")
    assert "text" not in answer.params
    assert bot.tg.messages(USER)[m.message_id].text == (
        "Saved. This chat follows: all reports, Executions › Women."
    )
    assert {s.slug for s in await bot.store.subscriptions(USER)} == {ALL, "women"}


@pytest.mark.parametrize(
    "data",
    [
        "sub:t:999999:0",
        "sub:t:4:77777",
        "sub:x",
        "sub:t:abc:0",
        "forget:maybe",
        "junk",
        "sub:",
        "sub:t:fa:4:0",  # an edition this bot does not follow
        "sub:t:xx:4:0",
        "sub:f:en:999999",
        "sub:f:fa:4",
        "lang:de",
        "lang:",
    ],
)
async def test_forged_callback_data_gets_a_polite_answer(bot: Running, data: str) -> None:
    m = await bot.command(USER, "/subscribe")
    answer = await bot.press(USER, m.message_id, data, strict=False)
    assert answer.params.get("text") == "This button is out of date. Send the command again."
    assert await bot.store.subscriptions(USER) == []


async def test_latest(bot: Running) -> None:
    m = await bot.command(USER, "/latest")
    assert m.text.startswith("The newest reports:")
    assert m.text.count("\n\n") == 5
    m = await bot.command(USER, "/latest women")
    assert m.text.startswith("The newest reports in Executions › Women:")
    assert "Woman Hanged in Adelabad Prison" in m.text
    m = await bot.command(USER, "/latest nosuchthing")
    assert m.text.startswith("There is no category called")


async def test_forget_deletes_everything_after_confirmation(bot: Running) -> None:
    await bot.command(USER, "/subscribe executions")
    m = await bot.command(USER, "/forget")
    assert "Delete it?" in m.text
    await bot.press(USER, m.message_id, "forget:no")
    assert bot.tg.messages(USER)[m.message_id].text == "Nothing was deleted."
    assert await bot.store.subscriptions(USER) != []
    m = await bot.command(USER, "/forget")
    await bot.press(USER, m.message_id, "forget:yes")
    assert bot.tg.messages(USER)[m.message_id].text.startswith("Deleted.")
    assert await bot.store.subscriptions(USER) == []
    async with bot.store.db.execute("SELECT count(*) FROM chats WHERE chat_id = ?", (USER,)) as c:
        assert (await c.fetchone())[0] == 0


async def test_stats_for_admins_only(bot: Running) -> None:
    await bot.command(USER, "/subscribe executions")
    m = await bot.command(USER, "/stats")
    assert m.text == "This command is for the bot's administrators."
    m = await bot.command(ADMIN, "/stats")
    assert "Posts stored: 20" in m.text
    assert "Chats: 1 active, 0 inactive" in m.text
    assert "Alerts: 0 pending, 0 failed, 0 sent" in m.text
    assert "• Executions: 1" in m.text
    assert "Last poll:" in m.text


async def test_hints_for_what_is_not_understood(bot: Running) -> None:
    m = await bot.command(USER, "/frobnicate")
    assert m.text == "I don't know that command. Send /help to see what I can do."
    m = await bot.command(USER, "/subscribe " + "x" * 600)
    assert m.text.startswith("That is too long for a command.")
    m = await bot.command(USER, "hello there")
    assert m.text == "Send /help to see what I can do."
    before = len(bot.tg.sent(USER))
    bot.tg.send_sticker(USER)
    await bot.settle(lambda: len(bot.tg.sent(USER)) > before)
    assert bot.tg.sent(USER)[-1].text == "I only understand text commands. Send /help to see them."
    m = await bot.command(USER, "/subscribe")  # an empty command still works
    assert m.reply_markup is not None


# -- groups ---------------------------------------------------------------------------------


async def test_only_group_admins_change_subscriptions(bot: Running) -> None:
    m = await bot.command(GROUP, "/subscribe executions", user_id=GROUP_MEMBER)
    assert m.text == texts.GROUP_ADMINS_ONLY
    m = await bot.command(GROUP, "/subscribe@hrm_test_bot executions", user_id=GROUP_ADMIN)
    assert m.text == "Now following: Executions."
    picker = await bot.command(GROUP, "/subscribe", user_id=GROUP_MEMBER)
    answer = await bot.press(GROUP, picker.message_id, "sub:t:en:4:0", user_id=GROUP_MEMBER)
    assert answer.params.get("show_alert") is True
    assert "administrators" in answer.params.get("text", "")
    m = await bot.command(GROUP, "/forget", user_id=GROUP_MEMBER)
    assert "administrators" in m.text
    m = await bot.command(GROUP, "/mysubs", user_id=GROUP_MEMBER)
    assert m.text == "This chat follows:\n• Executions"
    # Plain chatter in a group gets no hints. Updates are handled one at a time, in order: a
    # hint would come before the answer to the /mysubs sent after the chatter.
    seen = len(bot.tg.sent(GROUP))
    assert bot.tg.sent(GROUP)[-1].message_id == m.message_id
    bot.tg.send_text(GROUP, "hello all", user_id=GROUP_MEMBER)
    bot.tg.send_text(GROUP, "/mysubs", user_id=GROUP_MEMBER)
    await bot.settle(lambda: len(bot.tg.sent(GROUP)) > seen)
    assert [s.text for s in bot.tg.sent(GROUP)[seen:]] == [m.text]


async def test_group_migration_keeps_subscriptions(bot: Running, wp: FakeWordPress) -> None:
    await bot.command(GROUP, "/subscribe executions", user_id=GROUP_ADMIN)
    bot.tg.migrate(GROUP, SUPERGROUP)

    async def supergroup_follows() -> list[str]:
        return [s.slug for s in await bot.store.subscriptions(SUPERGROUP)]

    assert await wait_until(supergroup_follows, what="the move to the supergroup") == [
        "executions"
    ]
    assert await bot.store.subscriptions(GROUP) == []
    wp.add_post(title="After the migration", categories=[4])
    await bot.poll()
    assert await wait_alerts(bot, SUPERGROUP, 1) == ["After the migration"]


async def test_pending_alert_follows_a_migrated_group(bot: Running, wp: FakeWordPress) -> None:
    await bot.command(GROUP, "/subscribe executions", user_id=GROUP_ADMIN)
    # The group migrates while an alert for it is queued: Telegram answers "migrated".
    bot.tg.migrate(GROUP, SUPERGROUP)
    wp.add_post(title="Queued before the move", categories=[4])
    await bot.poll()
    assert await wait_alerts(bot, SUPERGROUP, 1) == ["Queued before the move"]


# -- alerts ---------------------------------------------------------------------------------


async def test_routing_by_category_and_sub_category(bot: Running, wp: FakeWordPress) -> None:
    await bot.command(USER, "/subscribe executions")
    await bot.command(OTHER, "/subscribe political-prisoners")
    await bot.command(THIRD, "/subscribe women torture")
    wp.add_post(title="Political prisoner executed", categories=[131])
    wp.add_post(title="Woman executed in Qarchak", categories=[11, 4])
    wp.add_post(title="Torture and execution", categories=[7, 12])
    wp.add_post(title="Amnesty statement", categories=[28])
    await bot.poll()
    assert sorted(await wait_alerts(bot, USER, 3)) == [
        "Political prisoner executed",
        "Torture and execution",
        "Woman executed in Qarchak",
    ]
    assert sorted(await wait_alerts(bot, THIRD, 2)) == [
        "Torture and execution",
        "Woman executed in Qarchak",
    ]
    # Every queued alert is sent (3 to USER, 2 to THIRD, none queued for OTHER); then a
    # moment for a wrong second send of one of them to show.
    await bot.wait_outbox({"sent": 5})
    await asyncio.sleep(QUIET)
    # A post under Executions › Political prisoners is not the News one.
    assert alerts(bot.tg, OTHER) == []
    assert len(alerts(bot.tg, USER)) == 3 and len(alerts(bot.tg, THIRD)) == 2


async def test_all_follows_unresolved_categories_too(bot: Running, wp: FakeWordPress) -> None:
    await bot.command(USER, "/subscribe all")
    await bot.command(OTHER, "/subscribe political-prisoners")
    wp.rest_mode = "404"
    wp.add_post(title="Only the ambiguous name", categories=[131])
    await bot.poll()
    assert await wait_alerts(bot, USER, 1) == ["Only the ambiguous name"]
    # USER's is the only alert queued, and it is sent: nothing can go to OTHER any more.
    await bot.wait_outbox({"sent": 1})
    assert alerts(bot.tg, OTHER) == []


async def test_silent_first_poll(tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress) -> None:
    db = tmp_path / "db.sqlite3"
    store = await Store.open(db)
    await store.subscribe(USER, "private", site_key(wp.url), [ALL])
    await store.close()
    tg.private(USER, known=True)
    async with polled_bot(fast_settings(tg, wp, db), tg, wp) as running:
        wp.add_post(title="The first real alert")
        await running.poll()
        assert await wait_alerts(running, USER, 1) == ["The first real alert"]
        # The first poll queued nothing and the one alert is sent; a moment for a wrong
        # second send of it to show.
        await running.wait_outbox({"sent": 1})
        await asyncio.sleep(QUIET)
        assert len(alerts(tg, USER)) == 1


async def test_only_posts_seen_after_subscribing(bot: Running, wp: FakeWordPress) -> None:
    wp.add_post(title="Before anyone followed")
    await bot.poll()
    await bot.command(USER, "/subscribe all")
    wp.modify_post(29468, title="Edited, not new")
    await bot.poll()
    wp.add_post(title="After following")
    await bot.poll()
    assert await wait_alerts(bot, USER, 1) == ["After following"]
    # One alert queued in all (none for the post before /subscribe, none for the edit), and
    # it is sent; a moment for a wrong second send of it to show.
    await bot.wait_outbox({"sent": 1})
    await asyncio.sleep(QUIET)
    assert len(alerts(bot.tg, USER)) == 1


async def test_alert_format(bot: Running, wp: FakeWordPress) -> None:
    await bot.command(USER, "/subscribe all")
    long_body = "<p>" + "Witnesses describe the scene in detail. " * 400 + "</p>"
    wp.add_post(
        title="Iran: <em>Three</em> men &amp; a woman hanged in &lt;Evin&gt;",
        content=long_body,
        categories=[131, 11],
    )
    await bot.poll()
    await wait_alerts(bot, USER, 1)
    message = bot.tg.sent(USER)[-1]
    lines = message.text.split("\n")
    assert lines[0] == "Iran: Three men & a woman hanged in <Evin>"
    date, tags = lines[1].split(" · ")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", date)
    assert set(tags.split()) == {"#Political_prisoners", "#Women"}
    assert lines[3].startswith("Witnesses describe the scene in detail.")
    assert lines[3].endswith("…") and 900 < len(lines[3]) <= render.EXCERPT_CHARS
    assert lines[-1] == "Read the full report"
    assert message.html.startswith("<b>Iran: Three men &amp; a woman hanged in &lt;Evin&gt;</b>")


def test_alert_stays_within_telegram_limit() -> None:
    from datetime import UTC, datetime

    from storage import CategoryTree

    post = Post(
        id=1, site="s", wp_id=1, guid=None, url="https://iran-hrm.com/x?a=1&b=<2>",
        title="<&>" * 2000, author=None, published=datetime(2025, 1, 1, tzinfo=UTC),
        modified=None, excerpt="", content="&<>\"' " * 3000, lang="en",
        first_seen=datetime(2025, 1, 1, tzinfo=UTC), categories=(), categories_known=False,
    )  # fmt: skip
    html = render.alert(post, CategoryTree(()), texts.tr("en"))
    visible = re.sub(r"<[^>]+>", "", html)
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&amp;", "&")):
        visible = visible.replace(entity, char)
    assert len(visible) <= 4096
    assert 'href="https://iran-hrm.com/x?a=1&amp;b=&lt;2&gt;"' in html


async def test_one_alert_for_a_post_in_two_followed_categories(
    bot: Running, wp: FakeWordPress
) -> None:
    await bot.command(USER, "/subscribe executions torture women")
    wp.add_post(title="In three followed categories", categories=[4, 7, 11])
    await bot.poll()
    await wait_alerts(bot, USER, 1)
    await bot.poll()
    # One row for the post, sent, and none added by the second poll; a moment for a wrong
    # second send of it to show.
    await bot.wait_outbox({"sent": 1})
    await asyncio.sleep(QUIET)
    assert alerts(bot.tg, USER) == ["In three followed categories"]


async def test_flood_wait_for_one_chat_does_not_hold_others(
    bot: Running, wp: FakeWordPress
) -> None:
    for chat in (USER, OTHER, THIRD):
        await bot.command(chat, "/subscribe all")
    bot.tg.fail("sendMessage", chat_id=USER, error="429", retry_after=2, times=1)
    wp.add_post(title="Flood test")
    await bot.poll()
    await wait_alerts(bot, OTHER, 1)
    await wait_alerts(bot, THIRD, 1)
    assert alerts(bot.tg, USER) == []
    await wait_alerts(bot, USER, 1, timeout=6)
    assert alerts(bot.tg, USER) == ["Flood test"]
    # The fake saw the message before the bot could mark its row sent: wait for the row.
    await bot.wait_outbox({"sent": 3})


async def test_slow_sends_are_never_repeated(bot: Running, wp: FakeWordPress) -> None:
    # Rows are read while sends are in flight; a row sent meanwhile must not go out again.
    for chat in (USER, OTHER, THIRD):
        await bot.command(chat, "/subscribe all")
    store = bot.store
    read_rows = store.due_deliveries

    async def slow_read(*args: Any, **kwargs: Any) -> Any:
        rows = await read_rows(*args, **kwargs)
        if kwargs.get("after", (0, 0)) == (0, 0):
            # The first read of a pass is slow: sends still in flight when it started
            # finish before it returns.
            await asyncio.sleep(0.05)
        return rows

    store.due_deliveries = slow_read  # type: ignore[method-assign]
    bot.tg.fail("sendMessage", error="timeout", delay=0.03)
    wp.add_posts(6)
    await bot.poll()
    for chat in (USER, OTHER, THIRD):
        await wait_alerts(bot, chat, 6, timeout=10)
    # Every row is sent; a moment for a wrong second send of one of them to show.
    await bot.wait_outbox({"sent": 18})
    await asyncio.sleep(QUIET)
    for chat in (USER, OTHER, THIRD):
        got = alerts(bot.tg, chat)
        assert len(got) == 6 and len(set(got)) == 6


async def test_blocked_chat_is_deactivated(bot: Running, wp: FakeWordPress) -> None:
    await bot.command(USER, "/subscribe all")
    await bot.command(OTHER, "/subscribe all")
    bot.tg.block(USER)
    wp.add_posts(3)
    await bot.poll()
    await wait_alerts(bot, OTHER, 3)
    # OTHER's rows are marked sent after the fake saw them, USER's dropped when it is
    # deactivated: wait for both.
    stats = await bot.wait_stats(lambda s: (s.chats, s.inactive_chats, s.pending) == (1, 1, 0))
    assert (stats.chats, stats.inactive_chats, stats.pending) == (1, 1, 0)
    # Restarting the bot reactivates the chat.
    await bot.command(USER, "/start")
    assert (await bot.stats()).chats == 2


async def test_blocking_the_bot_deactivates_at_once(bot: Running) -> None:
    await bot.command(USER, "/subscribe all")
    bot.tg.block(USER, notify=True)
    stats = await bot.wait_stats(lambda s: s.inactive_chats == 1)
    assert stats.inactive_chats == 1


async def test_a_group_that_adds_the_bot_back_gets_alerts_again(
    bot: Running, wp: FakeWordPress
) -> None:
    await bot.command(GROUP, "/subscribe all", user_id=GROUP_ADMIN)
    bot.tg.add_member_update(GROUP, status="left", old_status="member")
    await bot.wait_stats(lambda s: (s.chats, s.inactive_chats) == (0, 1), what="the removal")
    bot.tg.add_member_update(GROUP, status="member", old_status="left")
    await bot.wait_stats(lambda s: (s.chats, s.inactive_chats) == (1, 0), what="the return")
    wp.add_post(title="After coming back")
    await bot.poll()
    assert await wait_alerts(bot, GROUP, 1) == ["After coming back"]


async def test_language_is_kept_for_alerts(bot: Running) -> None:
    bot.tg.private(THIRD, language_code="fa")
    await bot.command(THIRD, "/subscribe all")
    async with bot.store.db.execute("SELECT language FROM chats WHERE chat_id = ?", (THIRD,)) as c:
        assert (await c.fetchone())[0] == "fa"


async def test_chat_not_found_deactivates(bot: Running, wp: FakeWordPress) -> None:
    await bot.command(USER, "/subscribe all")
    bot.tg.fail("sendMessage", chat_id=USER, error="chat_not_found")
    wp.add_post(title="Nowhere to go")
    await bot.poll()
    stats = await bot.wait_stats(lambda s: s.inactive_chats == 1)
    assert stats.inactive_chats == 1


async def test_server_errors_retry_then_fail(bot: Running, wp: FakeWordPress) -> None:
    await bot.command(USER, "/subscribe all")
    await bot.command(OTHER, "/subscribe all")
    bot.tg.fail("sendMessage", chat_id=USER, error="502", times=1)
    bot.tg.fail("sendMessage", chat_id=OTHER, error="500")
    wp.add_post(title="Bad gateway")
    await bot.poll()
    assert await wait_alerts(bot, USER, 1) == ["Bad gateway"]
    # USER's row is marked sent after the fake saw it; OTHER's fails after its retries.
    stats = await bot.wait_stats(lambda s: (s.failed, s.sent, s.pending) == (1, 1, 0))
    assert (stats.failed, stats.sent, stats.pending) == (1, 1, 0)
    m = await bot.command(ADMIN, "/stats")
    assert "Alerts: 0 pending, 1 failed, 1 sent" in m.text


async def subscribed(tg: FakeTelegram, wp: FakeWordPress, db: Path, chats: list[int]) -> None:
    """Private chats that already follow every report, before the bot starts."""
    store = await Store.open(db)
    for chat in chats:
        tg.private(chat, known=True)
        await store.subscribe(chat, "private", site_key(wp.url), [ALL])
    await store.close()


async def test_pace_never_exceeds_thirty_a_second(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress
) -> None:
    chats = list(range(10_000, 10_070))
    db = tmp_path / "db.sqlite3"
    await subscribed(tg, wp, db, chats)
    settings = fast_settings(tg, wp, db, send_rate=28.0)
    async with polled_bot(settings, tg, wp) as running:
        wp.add_post(title="Fan-out")
        await running.poll()
        await running.settle(lambda: tg.count("sendMessage") >= len(chats), timeout=10)
    assert tg.max_per_window("sendMessage", 1.0) <= 30
    assert {m.chat_id for m in tg.sent()} == set(chats)


async def test_commands_are_answered_during_a_fan_out(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress
) -> None:
    chats = list(range(20_000, 20_100))
    db = tmp_path / "db.sqlite3"
    await subscribed(tg, wp, db, chats)
    settings = fast_settings(tg, wp, db, send_rate=20.0)
    async with polled_bot(settings, tg, wp) as running:
        wp.add_post(title="Fan-out")
        await running.poll()
        await running.settle(lambda: tg.count("sendMessage") >= 10)
        loop = asyncio.get_running_loop()
        started = loop.time()
        m = await running.command(USER, "/help")
        waited = loop.time() - started
        assert m.text.startswith("What this bot can do")
        # 90 alerts are still queued at 20/s; the reply does not wait behind them.
        assert waited < 1.0
        assert tg.count("sendMessage") < len(chats)


async def test_updates_sent_while_down_are_answered(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress
) -> None:
    tg.send_text(USER, "/help")
    async with running_bot(fast_settings(tg, wp, tmp_path / "db.sqlite3"), tg, wp) as running:
        await running.settle(lambda: bool(tg.sent(USER)))
        assert tg.sent(USER)[0].text.startswith("What this bot can do")


def test_second_lock_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    first = lock_database(db)
    try:
        with pytest.raises(AlreadyRunning, match="already running"):
            lock_database(db)
    finally:
        first.close()
    lock_database(db).close()  # free again once the holder is gone


async def test_a_poll_slower_than_the_interval_delays_the_next_one(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress
) -> None:
    # Every probe takes 0.3 s, six intervals: polls must follow one another, never overlap.
    wp.fault("timeout", "/wp-json/wp/v2/posts?page=1&per_page=10&orderby=", delay=0.3)
    settings = fast_settings(tg, wp, tmp_path / "db.sqlite3", poll_interval=0.05)
    async with polled_bot(settings, tg, wp):

        async def probes() -> int:
            return len(wp.requests_to("/wp-json/wp/v2/posts?page=1&per_page=10&orderby="))

        await wait_until(probes, lambda n: n >= 3, what="three slow probes")
    assert wp.max_in_flight == 1
