"""Channels through the real Application and the loopback Bot API: commands posted in a
channel, a channel managed from a private chat, its alerts, and the bot losing its place."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import texts
from handlers import common
from storage import ALL, Subscription
from tests.botharness import (
    ADMIN,
    Running,
    fast_settings,
    polled_bot,
    wait_until,
)
from tests.fakes.telegram import FakeTelegram
from tests.fakes.wordpress import FakeWordPress

CHANNEL, MUTED, OTHER_CHANNEL = -1001500000001, -1001500000002, -1001500000003
GROUP = -4001
OWNER, EDITOR, READER = 701, 702, 703


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    fake.start()
    for user in (OWNER, EDITOR, READER, ADMIN):
        fake.private(user)
    fake.channel(CHANNEL, title="Prisoners' rights", username="rights_channel", creator=OWNER,
                 admins={EDITOR})  # fmt: skip
    fake.channel(MUTED, title="Muted", username="muted_channel", creator=OWNER,
                 bot_can_post=False)  # fmt: skip
    fake.channel(OTHER_CHANNEL, title="Not ours", username="other_channel", creator=READER,
                 bot_status="left")  # fmt: skip
    fake.group(GROUP, admins={OWNER}, username="a_group", known=True)
    try:
        yield fake
    finally:
        fake.stop()
        assert not fake.internal_errors, fake.internal_errors


@pytest.fixture
async def bot(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Running]:
    monkeypatch.setattr(common, "CHANNEL_CLEANUP", 0.2)
    settings = fast_settings(tg, wp, tmp_path / "db.sqlite3")
    async with polled_bot(settings, tg, wp) as running:
        yield running


async def subscriptions(bot: Running, chat_id: int) -> list[str]:
    async def read() -> list[Subscription]:
        async with bot.store.writer.reading():
            return await bot.store.subscriptions(chat_id)

    return [s.slug for s in await read()]


async def wait_subscriptions(bot: Running, chat_id: int, slugs: list[str]) -> None:
    await wait_until(
        lambda: subscriptions(bot, chat_id), lambda got: got == slugs, what=f"subs {slugs}"
    )


def bot_messages(tg: FakeTelegram, chat_id: int) -> dict[int, Any]:
    return tg.messages(chat_id)


async def test_commands_posted_in_a_channel_set_what_it_receives(
    bot: Running, wp: FakeWordPress
) -> None:
    bot.tg.post_in_channel(CHANNEL, "/subscribe executions")
    await wait_subscriptions(bot, CHANNEL, ["executions"])
    bot.tg.post_in_channel(CHANNEL, f"/subscribe@{bot.tg.bot_username} all")
    await wait_subscriptions(bot, CHANNEL, [ALL, "executions"])
    # Commands for another bot, and the channel's own text, are left alone.
    bot.tg.post_in_channel(CHANNEL, "/unsubscribe@some_other_bot all")
    bot.tg.post_in_channel(CHANNEL, "/ 2 of 3 executed today")
    # The answers wake no reader, and they go from the channel after a while, as the
    # commands do.
    assert all(m.params["disable_notification"] is True for m in bot.tg.sent(CHANNEL))
    await bot.settle(lambda: not bot_messages(bot.tg, CHANNEL))
    assert len(bot.tg.sent(CHANNEL)) == 2
    wp.add_post(title="Execution in Ghezel Hesar", categories=[4])
    await bot.poll()
    await bot.wait_outbox({"sent": 1})
    assert bot.tg.sent(CHANNEL)[-1].text.startswith("Execution in Ghezel Hesar")
    assert await subscriptions(bot, CHANNEL) == [ALL, "executions"]


async def test_a_channel_managed_from_a_private_chat(bot: Running) -> None:
    m = await bot.command(EDITOR, "/subscribe @rights_channel executions women")
    assert m.text.startswith("📢 Prisoners' rights\n")
    assert texts.SUBSCRIBED.format(names="Executions, Executions › Women") in m.text
    assert await subscriptions(bot, CHANNEL) == ["executions", "women"]
    assert await subscriptions(bot, EDITOR) == []
    m = await bot.command(OWNER, f"/mysubs {CHANNEL}")
    assert m.text.startswith("📢 Prisoners' rights\n") and "Executions" in m.text
    m = await bot.command(OWNER, "/watch @rights_channel Narges Mohammadi")
    assert [w.phrase for w in await bot.store.watches(CHANNEL)] == ["Narges Mohammadi"]
    m = await bot.command(OWNER, "/discreet @rights_channel on")
    assert (await bot.store.chat_settings(CHANNEL)).discreet is True
    m = await bot.command(OWNER, "/language @rights_channel fa")
    assert await bot.store.chat_language(CHANNEL) == "fa"
    # Nothing of it reached the channel itself.
    assert bot.tg.sent(CHANNEL) == []


@pytest.mark.parametrize(
    ("user", "command", "expected"),
    [
        (READER, "/subscribe @rights_channel all", texts.CHANNEL_NOT_ADMIN),
        (OWNER, "/subscribe @muted_channel all", texts.CHANNEL_BOT_CANNOT_POST),
        (READER, "/subscribe @other_channel all", texts.CHANNEL_BOT_CANNOT_POST),
        (OWNER, "/subscribe @no_such_channel all", texts.CHANNEL_NOT_FOUND),
        (OWNER, "/subscribe -1009999999999 all", texts.CHANNEL_NOT_FOUND),
        (OWNER, "/subscribe @a_group all", texts.CHANNEL_NOT_A_CHANNEL),
    ],
)
async def test_who_may_manage_a_channel_from_a_private_chat(
    bot: Running, user: int, command: str, expected: str
) -> None:
    m = await bot.command(user, command)
    name = command.split()[1]
    titles = {"@rights_channel": "Prisoners' rights", "@muted_channel": "Muted",
              "@other_channel": "Not ours"}  # fmt: skip
    assert m.text == expected.format(name=titles.get(name, name))
    for chat in (CHANNEL, MUTED, OTHER_CHANNEL, GROUP, user):
        assert await subscriptions(bot, chat) == []


async def test_the_picker_of_a_channel_in_a_private_chat(bot: Running) -> None:
    m = await bot.command(OWNER, "/subscribe @rights_channel")
    assert m.text.startswith("📢 Prisoners' rights\n")
    buttons = {b["text"]: b["callback_data"] for row in m.reply_markup["inline_keyboard"]
               for b in row}  # fmt: skip
    await bot.press(OWNER, m.message_id, buttons["Executions"])
    assert await subscriptions(bot, CHANNEL) == ["executions"]
    assert await subscriptions(bot, OWNER) == []
    # An owner who is no longer an administrator cannot use the buttons any more.
    bot.tg.set_member_status(CHANNEL, OWNER, "member")
    before = len(bot.tg.sent(OWNER))
    bot.tg.press(OWNER, m.message_id, buttons["Latest News"])
    await bot.settle(lambda: len(bot.tg.sent(OWNER)) > before)
    assert bot.tg.sent(OWNER)[-1].text == texts.CHANNEL_NOT_ADMIN.format(name="Prisoners' rights")
    assert await subscriptions(bot, CHANNEL) == ["executions"]


async def test_only_channel_admins_press_buttons_posted_in_the_channel(bot: Running) -> None:
    bot.tg.post_in_channel(CHANNEL, "/subscribe")
    await bot.settle(lambda: len(bot.tg.sent(CHANNEL)) == 1)
    picker = bot.tg.sent(CHANNEL)[0]
    buttons = {b["text"]: b["callback_data"] for row in picker.reply_markup["inline_keyboard"]
               for b in row}  # fmt: skip
    answer = await bot.press(CHANNEL, picker.message_id, buttons["Executions"], user_id=READER)
    assert answer.params["text"] == texts.CHANNEL_ADMINS_ONLY
    assert await subscriptions(bot, CHANNEL) == []
    await bot.press(CHANNEL, picker.message_id, buttons["Executions"], user_id=EDITOR)
    assert await subscriptions(bot, CHANNEL) == ["executions"]


async def test_a_channel_that_removes_the_bot_or_its_right_to_post(
    bot: Running, wp: FakeWordPress
) -> None:
    await bot.command(OWNER, "/subscribe @rights_channel all")
    bot.tg.set_bot_rights(CHANNEL, can_post=False)

    async def active() -> list[tuple[int]]:
        async with (
            bot.store.writer.reading() as db,
            db.execute("SELECT active FROM chats WHERE chat_id = ?", (CHANNEL,)) as cur,
        ):
            return [tuple(r) for r in await cur.fetchall()]

    await wait_until(active, lambda got: got == [(0,)], what="the channel deactivated")
    wp.add_post(title="Not for the muted channel")
    await bot.poll()
    assert await bot.outbox() == {}
    bot.tg.set_bot_rights(CHANNEL, can_post=True)
    await wait_until(active, lambda got: got == [(1,)], what="the channel active again")
    bot.tg.kick(CHANNEL, by=OWNER, notify=True)
    await wait_until(active, lambda got: got == [(0,)], what="the channel deactivated")
    bot.tg.add_member_update(CHANNEL, status="administrator", old_status="left", by=OWNER)
    await wait_until(active, lambda got: got == [(1,)], what="the channel back with the bot")


async def test_stats_count_channels_apart(bot: Running) -> None:
    await bot.command(OWNER, "/subscribe all")
    await bot.command(OWNER, "/subscribe @rights_channel all")
    m = await bot.command(ADMIN, "/stats")
    assert texts.STATS_CHAT_KINDS.format(private=1, groups=0, channels=1) in m.text


async def test_forget_a_channel_from_a_private_chat(bot: Running) -> None:
    await bot.command(OWNER, "/subscribe all")
    await bot.command(OWNER, "/subscribe @rights_channel all")
    await bot.command(OWNER, "/watch @rights_channel Evin")
    m = await bot.command(OWNER, "/forget @rights_channel")
    assert m.text.startswith("📢 Prisoners' rights\n")
    await bot.press(OWNER, m.message_id, "forget:yes")
    assert await subscriptions(bot, CHANNEL) == []
    assert await bot.store.watches(CHANNEL) == []
    assert await subscriptions(bot, OWNER) == [ALL]  # the owner's own chat is untouched


async def test_a_channel_without_the_right_to_post_is_left_alone(
    bot: Running, wp: FakeWordPress
) -> None:
    await bot.command(OWNER, "/subscribe @rights_channel all")
    # The right is taken away and the update about it is lost: the first failed send tells.
    bot.tg.set_bot_rights(CHANNEL, can_post=False, notify=False)
    wp.add_post(title="Cannot be posted")
    await bot.poll()

    async def state() -> list[tuple[int, int]]:
        async with (
            bot.store.writer.reading() as db,
            db.execute(
                "SELECT c.active, (SELECT count(*) FROM outbox WHERE chat_id = c.chat_id) "
                "FROM chats c WHERE chat_id = ?",
                (CHANNEL,),
            ) as cur,
        ):
            return [tuple(r) for r in await cur.fetchall()]

    await wait_until(state, lambda got: got == [(0, 0)], what="deactivated, alert dropped")
    # A command posted there meanwhile changes nothing and wakes nothing.
    bot.tg.post_in_channel(CHANNEL, "/discreet on")
    bot.tg.post_in_channel(CHANNEL, "/unsubscribe all")
    await bot.command(OWNER, "/help")  # updates are handled in order: the posts were first
    assert await state() == [(0, 0)]
    assert (await bot.store.chat_settings(CHANNEL)).discreet is False
    assert await subscriptions(bot, CHANNEL) == [ALL]


async def test_a_channels_settings_from_a_private_chat_show_its_language(bot: Running) -> None:
    await bot.command(OWNER, "/language @rights_channel fa")
    m = await bot.command(OWNER, "/settings @rights_channel")
    assert texts.SETTINGS_LANGUAGE.format(value="فارسی") in m.text
    buttons = {b["text"]: b["callback_data"] for row in m.reply_markup["inline_keyboard"]
               for b in row}  # fmt: skip
    await bot.press(OWNER, m.message_id, buttons["Language: English"])
    assert await bot.store.chat_language(CHANNEL) == "en"
    assert await bot.store.chat_language(OWNER) in (None, "en")


async def test_help_tells_of_channels(bot: Running) -> None:
    m = await bot.command(READER, "/help")
    assert texts.HELP_CHANNELS in m.text
