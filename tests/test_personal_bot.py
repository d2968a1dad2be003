"""Personal alerts through the real Application, the loopback Bot API and WordPress site:
watched phrases, corrections edited in place, discreet and quiet alerts, daily digests."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.delivery import render
from bot.delivery.timing import DEFAULT_ZONE, zone
from bot.i18n import texts
from storage import ChatSettings
from tests.botharness import (
    QUIET,
    Running,
    fast_settings,
    first_poll_done,
    polled_bot,
    running_bot,
    wait_until,
)
from tests.conftest import site_key
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.fakes.wordpress import FakeWordPress

USER, OTHER, FA_USER = 501, 502, 504
GROUP, GROUP_ADMIN, GROUP_MEMBER = -4001, 601, 602
RLM = "\u200f"
FA = texts.tr("fa")


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    fake.start()
    for user in (USER, OTHER):
        fake.private(user)
    fake.private(FA_USER, language_code="fa")
    fake.group(GROUP, admins={GROUP_ADMIN})
    fake.set_member_status(GROUP, GROUP_MEMBER, "member")
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


def alerts(tg: FakeTelegram, chat_id: int) -> list[SentMessage]:
    return [m for m in tg.sent(chat_id) if "Read the full report" in m.text]


async def table(bot: Running, sql: str, *args: object) -> list[tuple[Any, ...]]:
    async with bot.store.writer.reading() as db, db.execute(sql, args) as cur:
        return [tuple(r) for r in await cur.fetchall()]


async def wait_rows(bot: Running, sql: str, expected: list[tuple[Any, ...]]) -> None:
    await wait_until(lambda: table(bot, sql), lambda got: got == expected, what=sql)


# -- /watch and /unwatch ----------------------------------------------------------------------


async def test_watch_add_list_and_remove(bot: Running) -> None:
    m = await bot.command(USER, "/watch")
    assert texts.WATCH_NONE in m.text and m.reply_markup is None
    m = await bot.command(USER, '/watch "Narges Mohammadi"')
    assert m.text == texts.WATCH_ADDED.format(phrase="Narges Mohammadi")
    m = await bot.command(USER, "/watch  narges   MOHAMMADI ")
    assert m.text == texts.WATCH_ALREADY.format(phrase="narges MOHAMMADI")
    await bot.command(USER, "/watch «Evin prison»")
    m = await bot.command(USER, "/watch")
    assert "• Narges Mohammadi\n• Evin prison" in m.text
    buttons = [b for row in m.reply_markup["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == ["✖ Narges Mohammadi", "✖ Evin prison"]
    answer = await bot.press(USER, m.message_id, buttons[0]["callback_data"])
    assert answer.params["text"] == texts.TOAST_UNWATCHED.format(phrase="Narges Mohammadi")
    assert [w.phrase for w in await bot.store.watches(USER)] == ["Evin prison"]
    edited = bot.tg.messages(USER)[m.message_id]
    assert "Narges" not in edited.text and "Evin prison" in edited.text
    # The same button again names a phrase no longer watched.
    answer = await bot.press(USER, m.message_id, buttons[0]["callback_data"], strict=False)
    assert answer.params["text"] == texts.STALE_BUTTON
    m = await bot.command(USER, "/unwatch EVIN PRISON")
    assert m.text == texts.UNWATCHED.format(phrase="Evin prison")
    m = await bot.command(USER, "/unwatch Evin prison")
    assert m.text == texts.NOT_WATCHED.format(phrase="Evin prison")
    await bot.command(USER, "/watch Qarchak")
    m = await bot.command(USER, "/unwatch all")
    assert m.text == texts.UNWATCHED_ALL
    assert await bot.store.watches(USER) == []


# Each case in one running bot: starting a bot per case would cost a third of a second each.
REFUSED_PHRASES = [
    ('""', texts.WATCH_NONE),
    ("?! … ---", texts.WATCH_NO_WORDS),
    ("the", texts.WATCH_STOP_WORDS.format(phrase="the")),
    ("در", texts.WATCH_STOP_WORDS.format(phrase="در")),
    ("x", texts.WATCH_TOO_SHORT.format(min=2)),
    ("2024", texts.WATCH_STOP_WORDS.format(phrase="2024")),
    ("all", texts.WATCH_STOP_WORDS.format(phrase="all")),
    ("Narges Mohammadi, Evin", texts.WATCH_ONE),
    ("نرگس محمدی، اوین", texts.WATCH_ONE),
    ("a" * 101, texts.WATCH_TOO_LONG.format(max=100)),
]


async def test_watch_refuses_what_cannot_be_watched(bot: Running) -> None:
    for phrase, expected in REFUSED_PHRASES:
        m = await bot.command(USER, f"/watch {phrase}")
        assert expected in m.text, phrase
        assert await bot.store.watches(USER) == [], phrase


async def test_watch_drops_quotes_inside_a_phrase_but_keeps_apostrophes(bot: Running) -> None:
    m = await bot.command(USER, '/watch "Narges" "Mohammadi"')
    assert m.text == texts.WATCH_ADDED.format(phrase="Narges Mohammadi")
    m = await bot.command(USER, "/watch O'Brien")
    assert m.text == texts.WATCH_ADDED.format(phrase="O'Brien")


async def test_watch_echoes_markup_as_text_and_drops_direction_marks(bot: Running) -> None:
    m = await bot.command(USER, "/watch <b>Evin</b> & *Qarchak*")
    assert m.text == texts.WATCH_ADDED.format(phrase="<b>Evin</b> & *Qarchak*")
    assert "&lt;b&gt;Evin&lt;/b&gt; &amp; *Qarchak*" in (m.html or "")
    await bot.command(USER, f"/watch {RLM}زندان اوین{RLM}")
    assert [w.phrase for w in await bot.store.watches(USER)][-1] == "زندان اوین"
    for i in range(18):
        await bot.command(USER, f"/watch name{i}")
    m = await bot.command(USER, "/watch one too many")
    assert m.text == texts.WATCH_LIMIT.format(max=20)
    assert len(await bot.store.watches(USER)) == 20


async def test_only_group_admins_change_phrases(bot: Running) -> None:
    m = await bot.command(GROUP, "/watch Evin", user_id=GROUP_MEMBER)
    assert m.text == texts.GROUP_ADMINS_ONLY
    await bot.command(GROUP, "/watch Evin", user_id=GROUP_ADMIN)
    m = await bot.command(GROUP, "/watch", user_id=GROUP_MEMBER)  # anyone may read the list
    key = m.reply_markup["inline_keyboard"][0][0]["callback_data"]
    answer = await bot.press(GROUP, m.message_id, key, user_id=GROUP_MEMBER)
    assert answer.params["text"] == texts.GROUP_ADMINS_ONLY
    m = await bot.command(GROUP, "/unwatch all", user_id=GROUP_MEMBER)
    assert m.text == texts.GROUP_ADMINS_ONLY
    assert [w.phrase for w in await bot.store.watches(GROUP)] == ["Evin"]


async def test_forged_watch_buttons_change_nothing(bot: Running) -> None:
    await bot.command(USER, "/watch Evin")
    m = await bot.command(USER, "/watch")
    for data in ["w:rm:zz", "w:rm:" + "0" * 12, "w:rm:" + "a" * 60, "w:"]:
        answer = await bot.press(USER, m.message_id, data, strict=False)
        assert answer.params["text"] == texts.STALE_BUTTON, data
        assert len(await bot.store.watches(USER)) == 1, data


# -- watched alerts -------------------------------------------------------------------------


async def test_a_watched_phrase_brings_reports_of_any_category(
    bot: Running, wp: FakeWordPress
) -> None:
    await bot.command(USER, "/subscribe women")
    await bot.command(USER, "/watch Narges Mohammadi")
    await bot.command(OTHER, "/subscribe executions")
    await bot.command(OTHER, "/watch Narges Mohammadi")
    await bot.command(OTHER, "/watch Evin")
    wp.add_post(title="Hunger strike", content="<p>Narges Mohammadi in Evin</p>", categories=[4])
    wp.add_post(
        title="Only a part", content="<p>Narges spoke; Mohammadi did not</p>", categories=[7]
    )
    await bot.poll()
    # One alert each: USER by the phrase, OTHER by the category and two phrases at once.
    await bot.wait_outbox({"sent": 2})
    (mine,) = alerts(bot.tg, USER)
    assert mine.text.split("\n")[2] == "👁 " + texts.ALERT_WATCHED.format(
        phrases="“Narges Mohammadi”"
    )
    (theirs,) = alerts(bot.tg, OTHER)
    assert "“Narges Mohammadi”, “Evin”" in theirs.text
    await asyncio.sleep(QUIET)
    assert len(alerts(bot.tg, USER)) == len(alerts(bot.tg, OTHER)) == 1


async def test_a_persian_phrase_typed_with_arabic_letters(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress, wpfa: FakeWordPress
) -> None:
    settings = fast_settings(tg, wp, tmp_path / "db.sqlite3", site_url_fa=wpfa.url)
    async with running_bot(settings, tg, wp) as bot:
        await first_poll_done(bot.store, site_key(wpfa.url))
        m = await bot.command(FA_USER, "/watch نرگس محمدي")  # Arabic yeh
        assert m.text == FA(texts.WATCH_ADDED).format(phrase="نرگس محمدي")
        wpfa.add_post(title="اعتصاب غذا", content="<p>نرگس محمدی در زندان اوین</p>")
        await bot.poll("fa")
        await bot.wait_outbox({"sent": 1})
        (alert,) = [m for m in tg.sent(FA_USER) if FA(texts.READ_MORE) in m.text]
        assert FA(texts.ALERT_WATCHED).format(phrases="«نرگس محمدي»") in alert.text


# -- corrections ------------------------------------------------------------------------------


async def test_a_corrected_title_is_edited_in_place_once(bot: Running, wp: FakeWordPress) -> None:
    await bot.command(USER, "/subscribe all")
    post = wp.add_post(title="Three executed in Qezel Hesar")
    await bot.poll()
    await bot.wait_outbox({"sent": 1})
    (alert,) = alerts(bot.tg, USER)
    wp.modify_post(post.id, title="Four executed in Qezel Hesar")
    await bot.poll()
    await wait_rows(bot, "SELECT status, error FROM edits", [("done", None)])
    shown = bot.tg.messages(USER)[alert.message_id]
    assert shown.text.split("\n")[:2] == ["✏️ Updated", "Four executed in Qezel Hesar"]
    assert shown.edits == 1
    # Polled again, the same revision: no second edit, no new alert.
    wp.modify_post(post.id, categories=[4, 7])  # categories alone edit nothing
    await bot.poll()
    await bot.poll()
    await asyncio.sleep(QUIET)
    assert bot.tg.messages(USER)[alert.message_id].edits == 1
    assert len(alerts(bot.tg, USER)) == 1


async def test_an_edited_alert_claims_only_the_phrases_still_there(
    bot: Running, wp: FakeWordPress
) -> None:
    await bot.command(USER, "/watch Narges Mohammadi")
    await bot.command(USER, "/watch Evin")
    post = wp.add_post(title="Narges Mohammadi moved", content="<p>From Evin to a hospital.</p>")
    await bot.poll()
    await bot.wait_outbox({"sent": 1})
    (alert,) = alerts(bot.tg, USER)
    assert "“Narges Mohammadi”, “Evin”" in alert.text
    wp.modify_post(post.id, title="A lawyer moved")
    await bot.poll()
    await wait_rows(bot, "SELECT status FROM edits", [("done",)])
    shown = bot.tg.messages(USER)[alert.message_id]
    assert "👁 " + texts.ALERT_WATCHED.format(phrases="“Evin”") in shown.text
    wp.modify_post(post.id, content="<p>To a hospital.</p>")
    await bot.poll()

    async def edits() -> int:
        return bot.tg.messages(USER)[alert.message_id].edits

    await wait_until(edits, lambda n: n == 2, what="the second edit")
    assert "👁" not in bot.tg.messages(USER)[alert.message_id].text


async def test_an_edit_waiting_at_shutdown_is_made_after_a_restart(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress
) -> None:
    settings = fast_settings(
        tg, wp, tmp_path / "db.sqlite3", send_retry_base=30.0, send_retry_max=30.0
    )
    async with running_bot(settings, tg, wp) as bot:
        await first_poll_done(bot.store, site_key(wp.url))
        await bot.command(USER, "/subscribe all")
        post = wp.add_post(title="Before the correction")
        await bot.poll()
        await bot.wait_outbox({"sent": 1})
        tg.fail("editMessageText", error="502")
        wp.modify_post(post.id, title="After the correction")
        await bot.poll()
        await wait_rows(bot, "SELECT status, attempts FROM edits", [("pending", 1)])
    tg.clear_faults()
    (alert,) = alerts(tg, USER)
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        db.execute("UPDATE edits SET not_before = NULL")  # the retry's time has come
    async with running_bot(settings, tg, wp) as bot:
        await wait_rows(bot, "SELECT status FROM edits", [("done",)])
        shown = tg.messages(USER)[alert.message_id]
        assert "After the correction" in shown.text and shown.edits == 1


@pytest.mark.parametrize(
    "description",
    [
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message",
        "Bad Request: message to edit not found",
    ],
)
async def test_edits_telegram_refuses_end_quietly(
    bot: Running, wp: FakeWordPress, description: str
) -> None:
    await bot.command(USER, "/subscribe all")
    post = wp.add_post(title="First")
    await bot.poll()
    await bot.wait_outbox({"sent": 1})
    bot.tg.fail("editMessageText", error="400", description=description, times=1)
    wp.modify_post(post.id, title="Second")
    await bot.poll()
    error = description[13].upper() + description[14:]  # as PTB gives it
    await wait_rows(bot, "SELECT status, error FROM edits", [("done", error)])
    assert await table(bot, "SELECT active FROM chats WHERE chat_id = ?", USER) == [(1,)]


async def test_a_chat_that_blocked_the_bot_is_deactivated_by_its_edit(
    bot: Running, wp: FakeWordPress
) -> None:
    await bot.command(USER, "/subscribe all")
    post = wp.add_post(title="First")
    await bot.poll()
    await bot.wait_outbox({"sent": 1})
    bot.tg.block(USER)
    wp.modify_post(post.id, title="Second")
    await bot.poll()
    await wait_rows(bot, f"SELECT active FROM chats WHERE chat_id = {USER}", [(0,)])


async def test_a_correction_before_the_send_goes_out_as_the_alert(
    bot: Running, wp: FakeWordPress
) -> None:
    await bot.command(USER, "/subscribe all")
    bot.tg.fail("sendMessage", chat_id=USER, error="429")  # flood control until cleared
    post = wp.add_post(title="Old title")
    await bot.poll()
    await wait_rows(bot, "SELECT status, error FROM outbox", [("pending", "flood control")])
    wp.modify_post(post.id, title="New title")
    await bot.poll()
    bot.tg.clear_faults()
    await bot.wait_outbox({"sent": 1})
    (alert,) = alerts(bot.tg, USER)
    assert alert.text.startswith("New title")
    assert await table(bot, "SELECT * FROM edits") == []


# -- discreet and quiet alerts ------------------------------------------------------------


async def test_discreet_alerts(bot: Running, wp: FakeWordPress) -> None:
    await bot.command(USER, "/subscribe all")
    m = await bot.command(USER, "/discreet on")
    assert m.text == texts.DISCREET_ON
    wp.add_post(title="Execution in Ghezel Hesar")
    await bot.poll()
    await bot.wait_outbox({"sent": 1})
    (alert,) = alerts(bot.tg, USER)
    assert alert.text.split("\n")[:2] == ["New report", "Execution in Ghezel Hesar"]
    assert alert.params["disable_notification"] is True
    assert alert.params["protect_content"] is True
    assert alert.params["link_preview_options"] == {"is_disabled": True}
    m = await bot.command(USER, "/discreet")
    assert m.text == texts.DISCREET_USAGE.format(value="on")
    await bot.command(USER, "/discreet off")
    wp.add_post(title="Second")
    await bot.poll()
    await bot.wait_outbox({"sent": 2})
    second = alerts(bot.tg, USER)[-1]
    assert second.text.startswith("Second")
    assert not second.params.get("disable_notification")
    assert not second.params.get("protect_content")


def window_around_now(minutes: int, tz_name: str = DEFAULT_ZONE) -> str:
    now = datetime.now(UTC).astimezone(zone(tz_name))
    a, b = now - timedelta(minutes=minutes), now + timedelta(minutes=minutes)
    return f"{a:%H:%M}-{b:%H:%M}"


async def test_quiet_hours_send_silently(bot: Running, wp: FakeWordPress) -> None:
    await bot.command(USER, "/subscribe all")
    m = await bot.command(
        USER, f"/quiet {window_around_now(60, 'America/Toronto')} america/toronto"
    )
    assert m.text.startswith("Quiet hours: ") and "(America/Toronto)" in m.text
    wp.add_post(title="In the quiet hours")
    await bot.poll()
    await bot.wait_outbox({"sent": 1})
    assert alerts(bot.tg, USER)[-1].params["disable_notification"] is True
    assert not alerts(bot.tg, USER)[-1].params.get("protect_content")
    # Hours that exclude now: a sound again. The zone given before stays.
    later = datetime.now(UTC).astimezone(zone("America/Toronto")) + timedelta(hours=3)
    await bot.command(USER, f"/quiet {later:%H:%M}-{later + timedelta(hours=1):%H:%M}")
    assert (await bot.store.chat_settings(USER)).timezone == "America/Toronto"
    wp.add_post(title="Outside them")
    await bot.poll()
    await bot.wait_outbox({"sent": 2})
    assert not alerts(bot.tg, USER)[-1].params.get("disable_notification")
    m = await bot.command(USER, "/quiet off")
    assert m.text == texts.QUIET_OFF
    settings = await bot.store.chat_settings(USER)
    assert (settings.quiet_start, settings.quiet_end) == (None, None)


UNREADABLE_SETTINGS = [
    ("/quiet 25:00-07:00", texts.QUIET_USAGE),
    ("/quiet 23:00-23:00", texts.QUIET_USAGE),
    ("/quiet 23:00", texts.QUIET_USAGE),
    ("/quiet", texts.QUIET_USAGE),
    ("/quiet 23:00-07:00 Mars/Olympus", texts.QUIET_USAGE),
    ("/quiet 23:00-07:00 ../../etc/passwd", texts.QUIET_USAGE),
    ("/quiet 23:00-07:00 EST", texts.QUIET_USAGE),
    ("/digest 8pm", texts.DIGEST_USAGE),
    ("/digest 24:00", texts.DIGEST_USAGE),
    ("/digest", texts.DIGEST_USAGE),
    ("/digest 20:00 Tehran", texts.DIGEST_USAGE),
    ("/digest 20:00 Asia/Tehran extra", texts.DIGEST_USAGE),
    ("/discreet maybe", texts.DISCREET_USAGE.format(value="off")),
]


async def test_settings_commands_refuse_what_they_cannot_read(bot: Running) -> None:
    await bot.command(USER, "/subscribe all")
    for command, usage in UNREADABLE_SETTINGS:
        m = await bot.command(USER, command)
        assert usage in m.text, command
        assert await bot.store.chat_settings(USER) == ChatSettings(language="en"), command


async def test_a_new_time_zone_moves_the_digest_and_says_so(bot: Running) -> None:
    """Digest days are the zone's days: a chat that moves to another zone gets its next
    digest at its time there, not a day late."""
    await bot.command(USER, "/digest 15:48")
    m = await bot.command(USER, "/quiet 01:00-02:00 America/Los_Angeles")
    los_angeles = "America/Los_Angeles"
    assert texts.ZONE_MOVES_DIGEST.format(time="15:48", zone=los_angeles) in m.text
    la = datetime.now(UTC).astimezone(zone(los_angeles))
    due = la.date() if la.hour * 60 + la.minute >= 15 * 60 + 48 else la.date() - timedelta(days=1)
    assert await table(bot, "SELECT digest_last FROM chats") == [(due.isoformat(),)]
    m = await bot.command(USER, "/quiet")
    assert m.text.startswith("Quiet hours: 01:00 to 02:00\n\n")
    m = await bot.command(USER, "/digest")
    assert m.text.startswith("Daily digest: at 15:48\n\n")
    m = await bot.command(USER, "/digest 08:00 Europe/Berlin")
    assert texts.ZONE_MOVES_QUIET.format(start="01:00", end="02:00", zone="Europe/Berlin") in (
        m.text
    )
    m = await bot.command(USER, "/settings")
    await bot.press(USER, m.message_id, buttons(m)[texts.BUTTON_ZONE_DEFAULT])
    assert (await bot.store.chat_settings(USER)).timezone is None
    shown = bot.tg.messages(USER)[m.message_id]
    assert texts.BUTTON_ZONE_DEFAULT not in buttons(shown)
    assert f"Time zone: {DEFAULT_ZONE}" in shown.text


async def test_persian_digits_and_zone_names_in_any_case(bot: Running) -> None:
    m = await bot.command(FA_USER, "/quiet ۲۳:۰۰-۰۷:۳۰ europe/berlin")
    assert m.text == FA(texts.QUIET_SET).format(start="۲۳:۰۰", end="۰۷:۳۰", zone="Europe/Berlin")
    settings = await bot.store.chat_settings(FA_USER)
    assert (settings.quiet_start, settings.quiet_end, settings.timezone) == (
        23 * 60,
        7 * 60 + 30,
        "Europe/Berlin",
    )


async def test_only_group_admins_change_delivery_settings(bot: Running) -> None:
    for command in ("/discreet on", "/quiet 23:00-07:00", "/digest 20:00", "/digest off"):
        m = await bot.command(GROUP, command, user_id=GROUP_MEMBER)
        assert m.text == texts.GROUP_ADMINS_ONLY, command
    m = await bot.command(GROUP, "/settings", user_id=GROUP_MEMBER)
    answer = await bot.press(GROUP, m.message_id, "set:d:1", user_id=GROUP_MEMBER)
    assert answer.params["text"] == texts.GROUP_ADMINS_ONLY
    assert (await bot.store.chat_settings(GROUP)).discreet is False
    await bot.press(GROUP, m.message_id, "set:d:1", user_id=GROUP_ADMIN)
    assert (await bot.store.chat_settings(GROUP)).discreet is True


# -- /settings --------------------------------------------------------------------------------


def buttons(message: Any) -> dict[str, str]:
    markup = message.reply_markup or {}
    return {b["text"]: b["callback_data"] for row in markup["inline_keyboard"] for b in row}


async def test_settings_buttons_change_each_setting(bot: Running) -> None:
    m = await bot.command(USER, "/settings")
    assert "Discreet alerts: off" in m.text and "Quiet hours: off" in m.text
    assert f"Time zone: {DEFAULT_ZONE}" in m.text
    await bot.press(USER, m.message_id, buttons(m)[texts.BUTTON_DISCREET_ON])
    shown = bot.tg.messages(USER)[m.message_id]
    assert "Discreet alerts: on" in shown.text
    await bot.press(USER, m.message_id, "set:q")
    shown = bot.tg.messages(USER)[m.message_id]
    await bot.press(USER, m.message_id, buttons(shown)["23:00 to 07:00"])
    await bot.press(USER, m.message_id, "set:g")
    shown = bot.tg.messages(USER)[m.message_id]
    await bot.press(USER, m.message_id, buttons(shown)["21:00"])
    shown = bot.tg.messages(USER)[m.message_id]
    assert "Quiet hours: 23:00 to 07:00" in shown.text
    assert "Daily digest: at 21:00" in shown.text
    await bot.press(USER, m.message_id, buttons(shown)["زبان: فارسی"])
    shown = bot.tg.messages(USER)[m.message_id]
    assert FA(texts.SETTINGS_TITLE) in shown.text
    assert await bot.store.chat_settings(USER) == ChatSettings(
        language="fa", discreet=True, quiet_start=23 * 60, quiet_end=7 * 60, digest_at=21 * 60
    )


async def test_forged_settings_buttons_change_nothing(bot: Running) -> None:
    await bot.command(USER, "/subscribe all")
    m = await bot.command(USER, "/settings")
    for data in ["set:g:999", "set:q:1-2", "set:l:de", "set:d:2", "set:x", "set:g:" + "9" * 40]:
        answer = await bot.press(USER, m.message_id, data, strict=False)
        assert answer.params["text"] == texts.STALE_BUTTON, data
        assert await bot.store.chat_settings(USER) == ChatSettings(language="en"), data


# -- daily digests --------------------------------------------------------------------------


async def test_a_digest_minutes_ahead(bot: Running, wp: FakeWordPress) -> None:
    """Alerts wait for the digest; at its time one message lists them by category; a later
    pass and a second day with nothing send no more."""
    sender = bot.services.sender
    sender.policy = replace(sender.policy, digest_check=0.05)
    offset = timedelta(0)
    sender.clock = lambda: datetime.now(UTC) + offset
    # Two minutes ahead, so that the minute has not come when /digest is answered.
    at = datetime.now(UTC).astimezone(zone(DEFAULT_ZONE)) + timedelta(minutes=2)
    await bot.command(USER, "/subscribe all")
    m = await bot.command(USER, f"/digest {at:%H:%M}")
    assert m.text == texts.DIGEST_SET.format(time=f"{at:%H:%M}", zone=DEFAULT_ZONE)
    wp.add_post(title="An execution", categories=[4])
    wp.add_post(title="A woman arrested", categories=[11])
    wp.add_post(title="Another execution", categories=[4])
    await bot.poll()
    assert await bot.outbox() == {"held": 3}
    await asyncio.sleep(QUIET)
    assert alerts(bot.tg, USER) == []
    offset = timedelta(minutes=3)
    sender.wake()
    await bot.wait_outbox({"sent": 3})
    await wait_rows(bot, "SELECT status, parts_sent FROM digests", [("sent", 0)])
    digest = bot.tg.sent(USER)[-1]
    lines = digest.text.split("\n")
    assert lines[0] == texts.DIGEST_TITLE.format(day=f"{at:%Y-%m-%d}", count=3)
    assert lines[2] == "Executions" and lines[5] == "" and lines[6] == "Women"
    assert [line.split(" · ")[0] for line in lines[3:5]] == [
        "• Another execution",
        "• An execution",
    ]
    assert digest.html is not None and digest.html.count("<a href=") == 3
    # The next day, nothing new: no message.
    offset = timedelta(days=1, minutes=3)
    sender.wake()
    tomorrow = (datetime.now(UTC) + offset).astimezone(zone(DEFAULT_ZONE)).date()
    await wait_rows(bot, "SELECT digest_last FROM chats", [(tomorrow.isoformat(),)])
    await asyncio.sleep(QUIET)
    assert bot.tg.sent(USER)[-1] == digest


async def test_a_digest_missed_while_down_is_sent_at_start(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress
) -> None:
    settings = fast_settings(tg, wp, tmp_path / "db.sqlite3")
    async with running_bot(settings, tg, wp) as bot:
        await first_poll_done(bot.store, site_key(wp.url))
        await bot.command(USER, "/subscribe all")
        await bot.command(USER, "/digest 20:00")
        wp.add_post(title="Held for the digest")
        await bot.poll()
        assert await bot.outbox() == {"held": 1}
    # While the bot was down its digest time passed: the day it counted as made is older.
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        db.execute("UPDATE chats SET digest_last = '2026-01-01'")
    async with running_bot(settings, tg, wp) as bot:
        await bot.wait_outbox({"sent": 1})
        await wait_rows(bot, "SELECT status FROM digests", [("sent",)])
        assert "Held for the digest" in tg.sent(USER)[-1].text


def test_a_long_digest_is_split_under_telegrams_limit() -> None:
    from storage import CategoryTree, Post

    posts = [
        Post(
            id=i, site="s", wp_id=i, guid=None, url=f"https://iran-hrm.com/{i}/",
            title=f"Report {i} " + "x" * 190, author=None,
            published=datetime(2026, 12, 1, tzinfo=UTC), modified=None, excerpt="",
            content="", lang="en", first_seen=datetime(2026, 12, 1, tzinfo=UTC),
            categories=(), categories_known=True,
        )
        for i in range(60)
    ]  # fmt: skip
    parts = render.digest(posts, lambda _s: CategoryTree(()), "2026-12-01", texts.tr("en"))
    assert len(parts) > 2
    assert all(len(p) <= render.MAX_MESSAGE for p in parts)
    assert sum(p.count("<a href=") for p in parts) == 60


def test_persian_lists_keep_commands_and_dates_in_their_direction() -> None:
    from storage import CategoryTree, Post

    fa = texts.tr("fa")
    lines = render.help_text(fa).split("\n")
    watch = next(line for line in lines if "/watch" in line and "<code>/watch" in line)
    # RLM: the line reads right to left; LRM: "/watch" is not shown as "watch/".
    assert watch.startswith(f"{RLM}\u200e<code>/watch")
    english = Post(
        id=1, site="s", wp_id=1, guid=None, url="https://iran-hrm.com/1/", title="Evin",
        author=None, published=datetime(2026, 12, 1, tzinfo=UTC), modified=None, excerpt="",
        content="", lang="en", first_seen=datetime(2026, 12, 1, tzinfo=UTC), categories=(),
        categories_known=True,
    )  # fmt: skip
    (part,) = render.digest([english], lambda _s: CategoryTree(()), "2026-12-01", fa)
    line = part.split("\n")[-1]
    assert line.startswith(f"{RLM}• <a href=") and line.endswith(f"· {RLM}۱۰ آذر ۱۴۰۵")
