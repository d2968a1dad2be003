"""Tests of the fake Telegram Bot API, driven by the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import datetime as dtm
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import telegram

try:
    from fakes.telegram import Call, FakeTelegram, parse_html
except ImportError:  # pragma: no cover - depends on how pytest sets sys.path
    from tests.fakes.telegram import Call, FakeTelegram, parse_html
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.request import HTTPXRequest

USER = 42
OTHER = 43
GROUP = -4001
SUPERGROUP = -1001234567890

KB = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Yes", callback_data="yes"),
            InlineKeyboardButton("No", callback_data="no"),
        ]
    ]
)


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as f:
        f.private(USER, known=True)
        yield f
        assert not f.internal_errors, f.internal_errors[0]


def make_bot(fake: FakeTelegram) -> telegram.Bot:
    # verify=False only skips loading the CA bundle (~35 ms per client): the fake is plain http
    return telegram.Bot(
        fake.token,
        base_url=f"{fake.url}/bot",
        request=HTTPXRequest(httpx_kwargs={"verify": False}),
        get_updates_request=HTTPXRequest(httpx_kwargs={"verify": False}),
    )


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    async with make_bot(fake) as b:
        yield b


def raw(fake: FakeTelegram, method: str, **kwargs: object) -> httpx.Response:
    with httpx.Client(verify=False) as client:
        return client.post(f"{fake.url}/bot{fake.token}/{method}", **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ basics


async def test_get_me(fake: FakeTelegram, bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "hrm_test_bot", True)
    assert fake.count("getMe") == 2  # initialize() + explicit call
    assert fake.calls[0].method == "getMe"


async def test_wrong_token_and_unknown_method(fake: FakeTelegram) -> None:
    # PTB calls getMe in initialize(); entering the context manager must already fail
    with pytest.raises(InvalidToken):
        async with telegram.Bot("999:WRONG", base_url=f"{fake.url}/bot"):
            pass
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{fake.url}/bot{fake.token}/noSuchMethod")
    assert r.status_code == 404
    assert r.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{fake.url}/bot999:WRONG/getMe")
    assert r.status_code == 401
    assert r.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    async with make_bot(fake) as b:
        with pytest.raises(EndPointNotFound):
            await b.do_api_request("noSuchMethod")


async def test_send_message_round_trip(fake: FakeTelegram, bot: telegram.Bot) -> None:
    msg = await bot.send_message(
        USER, "<b>Report</b> &amp; <i>news</i>", parse_mode="HTML", reply_markup=KB
    )
    assert msg.text == "Report & news"
    assert msg.chat.id == USER
    assert msg.from_user is not None
    assert msg.from_user.id == fake.bot_id
    assert msg.reply_markup == KB
    assert [(e.type, e.offset, e.length) for e in msg.entities] == [
        ("bold", 0, 6),
        ("italic", 9, 4),
    ]
    [sent] = fake.sent(USER)
    assert sent.chat_id == USER
    assert isinstance(sent.chat_id, int)
    assert sent.message_id == msg.message_id
    assert sent.text == "Report & news"
    assert sent.html == "<b>Report</b> &amp; <i>news</i>"
    assert sent.parse_mode == "HTML"
    assert sent.reply_markup == {
        "inline_keyboard": [
            [{"text": "Yes", "callback_data": "yes"}, {"text": "No", "callback_data": "no"}]
        ]
    }
    second = await bot.send_message(USER, "123")  # looks like JSON, must stay a string
    assert second.text == "123"
    assert second.message_id == msg.message_id + 1
    assert fake.sent()[-1].params["text"] == "123"
    assert fake.messages(USER)[msg.message_id].text == "Report & news"


def test_json_body_and_query_string(fake: FakeTelegram) -> None:
    r = raw(fake, "sendMessage", json={"chat_id": USER, "text": "456"})
    assert r.json()["result"]["text"] == "456"
    with httpx.Client(verify=False) as client:
        r = client.get(f"{fake.url}/bot{fake.token}/sendMessage?chat_id={USER}&text=hi")
    assert r.json()["ok"] is True
    r = raw(
        fake,
        "sendMessage",
        data={"chat_id": str(USER), "text": "789"},
        files={"document": ("a.txt", b"abc")},
    )
    assert r.json()["result"]["text"] == "789"
    assert fake.calls[-1].params["document"] == {"filename": "a.txt", "size": 3}
    assert [s.text for s in fake.sent(USER)] == ["456", "hi", "789"]
    assert r.headers["content-length"] == str(len(r.content))


# ------------------------------------------------------------------------------ strictness


async def test_chats_the_bot_cannot_write_to(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.private(OTHER)
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(OTHER, "hi")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(-777, "hi")
    fake.group(GROUP, creator=OTHER)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(GROUP, "hi")
    fake.send_text(GROUP, "/start@hrm_test_bot", user_id=OTHER)
    await bot.send_message(GROUP, "hi")  # the group wrote to the bot: fine now

    fake.block(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "hi")
    fake.send_text(USER, "/start")  # writing again unblocks
    await bot.send_message(USER, "hi")

    fake.kick(GROUP)
    with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
        await bot.send_message(GROUP, "hi")


@pytest.mark.parametrize(
    ("text", "parse_mode", "error"),
    [
        ("", None, "message text is empty"),
        ("  \n ", None, "message text is empty"),
        ("<b></b>", "HTML", "message text is empty"),
        ("a" * 4097, None, "message is too long"),
        ("😀" * 2049, None, "message is too long"),  # 4098 UTF-16 code units
        ("<b>" + "a" * 4097 + "</b>", "HTML", "message is too long"),
        ("a < b", "HTML", 'can\'t parse entities: unsupported start tag "" at byte offset 2'),
        ("<div>x</div>", "HTML", 'unsupported start tag "div" at byte offset 0'),
        ("<br/>", "HTML", "can't parse entities: unsupported start tag"),
        ("<b>bold", "HTML", 'can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", "HTML", "doesn't match with the last opened tag"),
        ("x</b>", "HTML", "unexpected end tag"),
        ("a&nbsp;b", "HTML", "can't parse entities"),
        ("<span>x</span>", "HTML", 'tag "span" must have class "tg-spoiler"'),
        ("<b", "HTML", "can't parse entities: unclosed start tag"),
        ('<a href="x>y</a>', "HTML", "can't parse entities"),
        ("<tg-emoji>x</tg-emoji>", "HTML", "custom emoji"),
    ],
)
async def test_text_validation(
    bot: telegram.Bot, text: str, parse_mode: str | None, error: str
) -> None:
    with pytest.raises(BadRequest) as info:
        await bot.send_message(USER, text, parse_mode=parse_mode)
    assert error.lower() in info.value.message.lower()


@pytest.mark.parametrize(
    ("html", "plain"),
    [
        ("a" * 4096, "a" * 4096),
        ("<b>" + "a" * 4096 + "</b>", "a" * 4096),
        ("&lt;b&gt; &quot;q&quot; &#65;&#x42; &#128512;", '<b> "q" AB 😀'),
        ("AT&T &amp;c a&b", "AT&T &c a&b"),
        ('<a href="https://iranhr.net/?a=1&amp;b=2">link</a>', "link"),
        ('<span class="tg-spoiler">s</span> <tg-spoiler>t</tg-spoiler>', "s t"),
        ("<blockquote expandable>q</blockquote>", "q"),
        ('<pre><code class="language-python">x = 1</code></pre>', "x = 1"),
        ("<B>upper</B> <strong>s</strong><em>e</em><ins>i</ins><del>d</del>", "upper seid"),
        ("  padded  ", "padded"),
    ],
)
async def test_valid_html(fake: FakeTelegram, bot: telegram.Bot, html: str, plain: str) -> None:
    msg = await bot.send_message(USER, html, parse_mode="HTML")
    assert msg.text == plain
    assert fake.sent(USER)[-1].text == plain


def test_parse_html_entities() -> None:
    text, entities = parse_html(
        '😀 <b>b</b> <a href="https://x.org">l</a> <pre><code class="language-py">c</code></pre>'
    )
    assert text == "😀 b l c"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 1},  # the emoji is 2 UTF-16 units
        {"type": "text_link", "offset": 5, "length": 1, "url": "https://x.org"},
        {"type": "pre", "offset": 7, "length": 1, "language": "py"},
    ]


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        ({"inline_keyboard": [[{"text": "x", "callback_data": "d" * 65}]]}, "button_data_invalid"),
        ({"inline_keyboard": [[{"text": "x", "callback_data": "é" * 33}]]}, "button_data_invalid"),
        ({"inline_keyboard": [[{"text": "x", "callback_data": ""}]]}, "button_data_invalid"),
        (
            {"inline_keyboard": [[{"text": "x", "url": "javascript:alert(1)"}]]},
            "button_url_invalid",
        ),
        ({"inline_keyboard": [[{"text": "x", "url": "iranhr.net"}]]}, "button_url_invalid"),
        ({"inline_keyboard": [[{"text": "x"}]]}, "text buttons are unallowed"),
        ({"inline_keyboard": [[{"callback_data": "x"}]]}, 'field "text" must be of type string'),
        (
            {"inline_keyboard": [[{"text": "x", "callback_data": "a", "url": "https://a.b"}]]},
            "exactly one",
        ),
        ({"inline_keyboard": [{"text": "x", "callback_data": "a"}]}, "array of arrays"),
    ],
)
async def test_keyboard_validation(bot: telegram.Bot, markup: dict, error: str) -> None:
    with pytest.raises(BadRequest) as info:
        await bot.send_message(USER, "hi", reply_markup=markup)  # type: ignore[arg-type]
    assert error in info.value.message.lower()


async def test_valid_keyboard_limits(bot: telegram.Bot) -> None:
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("64 bytes", callback_data="é" * 32)],
            [InlineKeyboardButton("site", url="https://iranhr.net/en/")],
            [InlineKeyboardButton("tg", url="tg://resolve?domain=x")],
            [InlineKeyboardButton("inline", switch_inline_query_current_chat="q")],
        ]
    )
    msg = await bot.send_message(USER, "ok", reply_markup=markup)
    assert msg.reply_markup == markup


async def test_edit_rules(fake: FakeTelegram, bot: telegram.Bot) -> None:
    msg = await bot.send_message(USER, "<b>one</b>", parse_mode="HTML", reply_markup=KB)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "<b>one</b>", USER, msg.message_id, parse_mode="HTML", reply_markup=KB
        )
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(USER, msg.message_id, reply_markup=KB)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", USER, 9999)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.edit_message_text("<x>", USER, msg.message_id, parse_mode="HTML")

    # same text, other formatting: modified
    edited = await bot.edit_message_text("one", USER, msg.message_id, reply_markup=KB)
    assert isinstance(edited, telegram.Message)
    assert edited.edit_date is not None
    # no reply_markup: Telegram removes the keyboard
    await bot.edit_message_text("two", USER, msg.message_id)
    stored = fake.messages(USER)[msg.message_id]
    assert (stored.text, stored.reply_markup, stored.edits) == ("two", None, 2)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(USER, msg.message_id)
    await bot.edit_message_reply_markup(USER, msg.message_id, reply_markup=KB)
    assert fake.messages(USER)[msg.message_id].reply_markup is not None

    update_id = fake.send_text(USER, "user message")
    assert update_id > 0
    with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_text("x", USER, msg.message_id + 1)

    assert await bot.delete_message(USER, msg.message_id)
    assert msg.message_id not in fake.messages(USER)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER, msg.message_id)


async def test_migrated_group(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.group(GROUP, creator=OTHER, known=True)
    await bot.send_message(GROUP, "before")
    fake.migrate(GROUP, SUPERGROUP)
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(GROUP, "after")
    assert info.value.new_chat_id == SUPERGROUP
    await bot.send_message(SUPERGROUP, "after")
    updates = await bot.get_updates(timeout=0)
    assert len(updates) == 2
    old, new = (u.message for u in updates)
    assert old is not None
    assert new is not None
    assert (old.chat.id, old.migrate_to_chat_id) == (GROUP, SUPERGROUP)
    assert (new.chat.id, new.chat.type, new.migrate_from_chat_id) == (
        SUPERGROUP,
        "supergroup",
        GROUP,
    )


# ------------------------------------------------------------------------------ updates


async def test_long_poll_wakes_up_and_times_out(fake: FakeTelegram, bot: telegram.Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=dtm.timedelta(seconds=0.3)) == ()
    assert 0.28 <= time.monotonic() - started < 1.5

    task = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    update_id = fake.send_text(USER, "/start hello")
    updates = await asyncio.wait_for(task, 2)
    assert time.monotonic() - started < 0.5
    [update] = updates
    assert update.update_id == update_id
    assert update.message is not None
    assert update.message.text == "/start hello"
    assert update.message.from_user is not None
    assert update.message.from_user.id == USER
    assert update.message.entities[0].type == "bot_command"
    assert update.message.entities[0].length == len("/start")

    assert fake.updates_pending() == 1
    second = fake.send_sticker(USER)
    updates = await bot.get_updates(offset=update_id + 1, timeout=0)
    assert fake.updates_pending() == 1
    assert [u.update_id for u in updates] == [second]
    assert updates[0].message is not None
    assert updates[0].message.sticker is not None
    assert await bot.get_updates(offset=second + 1, timeout=0) == ()
    assert fake.updates_pending() == 0


async def test_limit_and_second_poller_conflict(fake: FakeTelegram, bot: telegram.Bot) -> None:
    ids = [fake.send_text(USER, f"m{i}") for i in range(3)]
    updates = await bot.get_updates(limit=2, timeout=0)
    assert [u.update_id for u in updates] == ids[:2]
    await bot.get_updates(offset=ids[-1] + 1, timeout=0)

    first = asyncio.create_task(bot.get_updates(timeout=3))
    await asyncio.sleep(0.1)
    async with make_bot(fake) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 2)


async def test_callback_query(fake: FakeTelegram, bot: telegram.Bot) -> None:
    msg = await bot.send_message(USER, "<b>Subscribe?</b>", parse_mode="HTML", reply_markup=KB)
    await bot.edit_message_text(
        "<b>Subscribe now?</b>", USER, msg.message_id, parse_mode="HTML", reply_markup=KB
    )
    query_id = fake.press(USER, msg.message_id, "yes")
    [update] = await bot.get_updates(timeout=0)
    cq = update.callback_query
    assert cq is not None
    assert (cq.id, cq.data, cq.from_user.id) == (query_id, "yes", USER)
    assert isinstance(cq.message, telegram.Message)
    assert cq.message.text == "Subscribe now?"  # the current state, after the edit
    assert cq.message.reply_markup == KB
    assert cq.message.entities[0].type == "bold"

    with pytest.raises(ValueError, match="no button"):
        fake.press(USER, msg.message_id, "maybe")

    assert await bot.answer_callback_query(query_id, text="Done")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query("12345")
    second = fake.press(USER, msg.message_id, "no")
    with pytest.raises(BadRequest, match=r"(?i)message_too_long"):
        await bot.answer_callback_query(second, text="x" * 201)
    assert await bot.answer_callback_query(second, text="x" * 200, show_alert=True)
    answers = fake.answers("answerCallbackQuery")
    assert [a.query_id for a in answers] == [query_id, second]
    assert answers[1].params["show_alert"] is True


def article(rid: str, text: str = "t", **kwargs: object) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        rid, "Title", InputTextMessageContent(text, parse_mode="HTML"), **kwargs
    )


async def test_inline_query(fake: FakeTelegram, bot: telegram.Bot) -> None:
    query_id = fake.inline(USER, "execution", offset="")
    [update] = await bot.get_updates(timeout=0)
    iq = update.inline_query
    assert iq is not None
    assert (iq.id, iq.query, iq.offset, iq.from_user.id) == (query_id, "execution", "", USER)

    async def answer(*results: InlineQueryResultArticle, **kwargs: object) -> None:
        await bot.answer_inline_query(fake.inline(USER, "q"), results, **kwargs)  # type: ignore[arg-type]

    with pytest.raises(BadRequest, match=r"(?i)results_too_much"):
        await answer(*(article(str(i)) for i in range(51)))
    with pytest.raises(BadRequest, match=r"(?i)result_id_duplicate"):
        await answer(article("a"), article("a"))
    with pytest.raises(BadRequest, match=r"(?i)result_id_invalid"):
        await answer(article("x" * 65))
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await answer(article("a", "<p>x</p>"))
    with pytest.raises(BadRequest, match=r"(?i)message_too_long"):
        await answer(article("a", "x" * 4097))
    with pytest.raises(BadRequest, match=r"(?i)next_offset_invalid"):
        await answer(article("a"), next_offset="9" * 65)
    with pytest.raises(BadRequest, match=r"(?i)start_param_invalid"):
        await answer(article("a"), button=InlineQueryResultsButton("Open", start_parameter="a b"))
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await answer(
            article(
                "a",
                reply_markup=InlineKeyboardMarkup.from_button(
                    InlineKeyboardButton("x", callback_data="y" * 65)
                ),
            )
        )

    results = [article(str(i), f"<b>{i}</b>") for i in range(50)]
    assert await bot.answer_inline_query(
        query_id,
        results,
        next_offset="50",
        cache_time=0,
        is_personal=True,
        button=InlineQueryResultsButton("Subscribe", start_parameter="sub_inline"),
    )
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_inline_query(query_id, results)
    [ans] = fake.answers("answerInlineQuery")
    assert ans.query_id == query_id
    assert len(ans.params["results"]) == 50
    assert ans.params["next_offset"] == "50"
    assert ans.params["is_personal"] is True


# ------------------------------------------------------------------------------ other methods


async def test_commands(fake: FakeTelegram, bot: telegram.Bot) -> None:
    commands = [("start", "Start"), ("lang", "Choose language"), ("search_2", "Search")]
    assert await bot.set_my_commands(commands)
    assert [(c.command, c.description) for c in await bot.get_my_commands()] == commands
    assert await bot.set_my_commands([("start", "شروع")], language_code="fa")
    assert [c.command for c in await bot.get_my_commands(language_code="fa")] == ["start"]
    assert fake.commands(language_code="fa") == [{"command": "start", "description": "شروع"}]
    for bad, error in [
        ([("Start", "x")], "bot_command_invalid"),
        ([("with-dash", "x")], "bot_command_invalid"),
        ([("x" * 33, "x")], "bot_command_invalid"),
        ([("ok", "")], "bot_command_description_invalid"),
        ([("ok", "x" * 257)], "bot_command_description_invalid"),
        ([(f"c{i}", "x") for i in range(101)], "bot_commands_too_much"),
    ]:
        with pytest.raises(BadRequest, match=f"(?i){error}"):
            await bot.set_my_commands(bad)
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    assert await bot.set_my_description("Alerts")
    assert await bot.set_my_short_description("Alerts")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.send_chat_action(USER, "typing")
    with pytest.raises(BadRequest, match=r"(?i)wrong parameter action"):
        await bot.send_chat_action(USER, "dancing")


async def test_chat_members(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.group(SUPERGROUP, supergroup=True, admins={7}, creator=8, known=True)
    fake.set_member_status(SUPERGROUP, 9, "restricted")
    fake.set_member_status(SUPERGROUP, 10, "kicked")
    statuses = {
        uid: (await bot.get_chat_member(SUPERGROUP, uid)).status
        for uid in (7, 8, 9, 10, 11, fake.bot_id)
    }
    assert statuses == {
        7: "administrator",
        8: "creator",
        9: "restricted",
        10: "kicked",
        11: "member",
        fake.bot_id: "administrator",
    }
    member = await bot.get_chat_member(USER, USER)
    assert (member.status, member.user.id) == ("member", USER)
    admins = await bot.get_chat_administrators(SUPERGROUP)
    assert {a.user.id for a in admins} == {7, 8, fake.bot_id}
    chat = await bot.get_chat(SUPERGROUP)
    assert (chat.id, chat.type, chat.title) == (SUPERGROUP, "supergroup", "Group")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.get_chat(-5)
    fake.kick(SUPERGROUP)
    with pytest.raises(Forbidden, match="bot was kicked from the supergroup chat"):
        await bot.send_message(SUPERGROUP, "hi")


# ------------------------------------------------------------------------------ faults


async def test_faults(
    fake: FakeTelegram, bot: telegram.Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter.retry_after as timedelta
    fake.fail("sendMessage", error="429", retry_after=7, times=1)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(USER, "hi")
    assert info.value.retry_after == dtm.timedelta(seconds=7)
    assert fake.calls[-1].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    await bot.send_message(USER, "hi")  # times=1: only once

    fake.fail(error="502", times=1)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.get_me()
    fake.fail("sendMessage", error="500", times=1)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(USER, "hi")

    fake.private(OTHER, known=True)
    fake.fail("sendMessage", chat_id=OTHER, error="403")
    fake.fail("sendChatAction", error="chat_not_found", times=2)
    await bot.send_message(USER, "fine")
    for _ in range(2):
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(OTHER, "hi")
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_chat_action(USER, "typing")
    assert await bot.send_chat_action(USER, "typing")
    fake.fail("sendMessage", error="400", description="Bad Request: custom", times=1)
    with pytest.raises(BadRequest, match="Custom"):
        await bot.send_message(USER, "hi")
    fake.clear_faults()
    await bot.send_message(OTHER, "now fine")

    fake.fail("sendMessage", error="timeout", delay=0.3, times=1)
    started = time.monotonic()
    await bot.send_message(USER, "slow")
    assert time.monotonic() - started >= 0.3
    assert [s.text for s in fake.sent()] == ["hi", "fine", "now fine", "slow"]


async def test_flood_limit(
    fake: FakeTelegram, bot: telegram.Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter.retry_after as timedelta
    fake.flood_limit(3, retry_after=2)
    for i in range(3):
        await bot.send_message(USER, str(i))
    with pytest.raises(RetryAfter):
        await bot.send_message(USER, "3")
    fake.flood_limit(None)
    await bot.send_message(USER, "4")


# ------------------------------------------------------------------------------ recording


async def test_counting(fake: FakeTelegram, bot: telegram.Bot) -> None:
    for i in range(5):
        await bot.send_message(USER, str(i))
    with pytest.raises(BadRequest):
        await bot.send_message(USER, "")
    assert fake.count("sendMessage") == 5
    assert fake.count("sendMessage", ok=False) == 1
    assert fake.count("sendMessage", ok=None) == 6
    assert fake.max_per_window("sendMessage", 1.0) == 5
    assert fake.max_per_window("sendMessage", 1.0, chat_id=OTHER) == 0

    synthetic = FakeTelegram()
    ok = {"ok": True, "result": True}
    for at in (0.0, 0.1, 0.5, 0.99, 1.0, 1.05, 1.5, 2.6, 2.61):
        synthetic.calls.append(Call("sendMessage", {}, ok, at))
    synthetic.calls.append(Call("sendMessage", {}, {"ok": False}, 1.01, 400))
    synthetic.calls.append(Call("getMe", {}, ok, 1.02))
    assert synthetic.max_per_window("sendMessage", 1.0) == 5  # 0.1 .. 1.05
    assert synthetic.max_per_window("sendMessage", 0.5) == 3  # 0.99, 1.0, 1.05
    assert synthetic.max_per_window("sendMessage", 0.02) == 2
    assert synthetic.max_per_window("getMe") == 1


async def test_wait_for(fake: FakeTelegram, bot: telegram.Bot) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(USER, "done")

    task = asyncio.create_task(later())
    await fake.wait_for(lambda: len(fake.sent()) == 1, timeout=2)
    await task
    with pytest.raises(AssertionError, match=r"sendMessage chat_id=42 -> ok"):
        await fake.wait_for(lambda: False, timeout=0.05)
    with pytest.raises(AssertionError, match="updates pending: 0"):
        fake.wait_for_sync(lambda: False, timeout=0.05)


def test_usable_from_a_subprocess(fake: FakeTelegram) -> None:
    script = (
        "import sys, urllib.request, urllib.parse\n"
        "data = urllib.parse.urlencode({'chat_id': sys.argv[2], 'text': 'from child'}).encode()\n"
        "urllib.request.urlopen(sys.argv[1] + '/sendMessage', data, timeout=5).read()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, f"{fake.url}/bot{fake.token}", str(USER)],
        capture_output=True,
        timeout=10,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    fake.wait_for_sync(lambda: [s.text for s in fake.sent(USER)] == ["from child"], timeout=2)
