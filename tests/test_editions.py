"""Two editions at once: the English and Persian sites, a Persian interface, /language."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.i18n import texts
from handlers.common import detect
from storage import ALL
from tests.botharness import (
    Running,
    fast_settings,
    first_poll_done,
    polled_bot,
    running_bot,
    wait_until,
)
from tests.conftest import site_key
from tests.fakes.telegram import FakeTelegram
from tests.fakes.wordpress import FakeWordPress

FA_USER, EN_USER, GROUP, GROUP_ADMIN, GROUP_MEMBER = 901, 902, -9001, 903, 904
RLM = "\u200f"
FA = texts.tr("fa")


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        fake.private(FA_USER, language_code="fa-IR")
        fake.private(EN_USER, language_code="en")
        fake.group(GROUP, admins={GROUP_ADMIN})
        fake.set_member_status(GROUP, GROUP_MEMBER, "member")
        yield fake
        assert not fake.internal_errors, fake.internal_errors


@pytest.fixture
async def bot(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress, wpfa: FakeWordPress
) -> AsyncIterator[Running]:
    settings = fast_settings(tg, wp, tmp_path / "db.sqlite3", site_url_fa=wpfa.url)
    async with polled_bot(settings, tg, wp) as running:
        await first_poll_done(running.store, site_key(wpfa.url))
        yield running


def alerts(tg: FakeTelegram, chat_id: int, more: str) -> list[str]:
    """First lines of the alerts a chat got (messages ending in the 'read more' link)."""
    return [
        m.text.split("\n", 1)[0].lstrip(RLM)
        for m in tg.sent(chat_id)
        if m.text.rstrip().endswith(more)
    ]


async def wait_sent(bot: Running, n: int) -> None:
    """Until ``n`` outbox rows are marked sent: what a test asserts on, not what the fake saw."""

    async def sent() -> int:
        return (await bot.outbox()).get("sent", 0)

    await wait_until(sent, lambda got: got >= n, what=f"{n} alerts sent")


# -- the Persian interface ---------------------------------------------------------------------


async def test_a_persian_user_is_answered_in_persian(bot: Running) -> None:
    m = await bot.command(FA_USER, "/start")
    assert m.text.startswith(FA(texts.START).split("\n")[0][:30])
    # The picker opens on the Persian edition, with a button to the English one.
    assert FA(texts.EDITION_FA) in m.text
    buttons = {
        b["text"]: b["callback_data"] for row in m.reply_markup["inline_keyboard"] for b in row
    }
    assert buttons["اعدام"] == "sub:t:fa:3:0"
    switch = FA(texts.BUTTON_EDITION).format(edition=FA(texts.EDITION_EN))
    assert buttons[switch] == "sub:v:en:0"
    await bot.press(FA_USER, m.message_id, "sub:v:en:0")
    edited = bot.tg.messages(FA_USER)[m.message_id]
    assert "Executions" in [
        b["text"] for row in edited.reply_markup["inline_keyboard"] for b in row
    ]
    m = await bot.command(EN_USER, "/start")
    assert m.text.startswith("This bot brings you the reports")


async def test_persian_command_menu(bot: Running) -> None:
    english = {c["command"]: c["description"] for c in bot.tg.commands()}
    persian = {c["command"]: c["description"] for c in bot.tg.commands(language_code="fa")}
    assert set(english) == set(persian) and "language" in persian
    assert english["subscribe"] == "Follow categories"
    assert persian["subscribe"] == FA("Follow categories") != "Follow categories"


async def test_language_buttons_and_arguments(bot: Running) -> None:
    m = await bot.command(EN_USER, "/language")
    labels = [b["text"] for row in m.reply_markup["inline_keyboard"] for b in row]
    assert labels == ["English", "فارسی"]
    await bot.press(EN_USER, m.message_id, "lang:fa")
    assert bot.tg.messages(EN_USER)[m.message_id].text == FA(texts.LANGUAGE_SET)
    assert await bot.store.chat_language(EN_USER) == "fa"
    # From now on the chat is answered in Persian, whatever the app's language.
    m = await bot.command(EN_USER, "/mysubs")
    assert m.text == FA(texts.MYSUBS_NONE).strip()
    m = await bot.command(EN_USER, "/language en")
    assert m.text == texts.LANGUAGE_SET
    m = await bot.command(EN_USER, "/language klingon")
    assert m.text == texts.LANGUAGE_USAGE
    assert await bot.store.chat_language(EN_USER) == "en"


async def test_in_groups_only_admins_change_the_language(bot: Running) -> None:
    m = await bot.command(GROUP, "/language fa", user_id=GROUP_MEMBER)
    assert m.text == texts.GROUP_ADMINS_ONLY
    assert await bot.store.chat_language(GROUP) is None
    m = await bot.command(GROUP, "/language fa", user_id=GROUP_ADMIN)
    assert m.text == FA(texts.LANGUAGE_SET)
    picker = await bot.command(GROUP, "/language", user_id=GROUP_ADMIN)
    answer = await bot.press(GROUP, picker.message_id, "lang:en", user_id=GROUP_MEMBER)
    assert answer.params.get("show_alert") is True
    assert await bot.store.chat_language(GROUP) == "fa"


async def test_forget_removes_the_language(bot: Running) -> None:
    await bot.command(EN_USER, "/language fa")
    m = await bot.command(EN_USER, "/forget")
    await bot.press(EN_USER, m.message_id, "forget:yes")
    assert await bot.store.chat_language(EN_USER) is None


# -- following both editions -------------------------------------------------------------------


async def test_persian_subscription_and_its_alert(bot: Running, wpfa: FakeWordPress) -> None:
    m = await bot.command(FA_USER, "/subscribe اعدام")
    assert m.text == FA(texts.SUBSCRIBED).format(names="اعدام")
    await bot.command(EN_USER, "/subscribe executions")
    wpfa.add_post_in(
        "اعدام",
        title="اعدام یک زندانی در زندان قزل‌حصار",
        content="<p>Reuters گزارش داد که یک زندانی در زندان قزل‌حصار کرج اعدام شد.</p>",
    )
    await bot.poll("fa")
    await wait_sent(bot, 1)
    got = alerts(bot.tg, FA_USER, FA(texts.READ_MORE))
    assert got == ["اعدام یک زندانی در زندان قزل‌حصار"]
    assert alerts(bot.tg, EN_USER, texts.READ_MORE) == []
    alert = next(m for m in bot.tg.sent(FA_USER) if m.text.rstrip().endswith(FA(texts.READ_MORE)))
    lines = alert.text.split("\n")
    # Every line of a Persian report reads right to left, the summary that opens with a Latin
    # name included; the date is Solar Hijri in Persian digits, the hashtag Persian.
    assert all(line.startswith(RLM) for line in lines if line)
    meta = lines[1]
    assert "#اعدام" in meta and not any(ch.isascii() and ch.isdigit() for ch in meta)
    assert any(month in meta for month in ("آذر", "دی", "آبان", "بهمن"))
    assert alert.html is not None and wpfa.url in alert.html


async def test_an_english_chat_reads_a_persian_report_with_gregorian_dates(
    bot: Running, wpfa: FakeWordPress
) -> None:
    await bot.command(EN_USER, "/subscribe fa:all")
    wpfa.add_post_in("زنان", title="بازداشت سه فعال حقوق زنان در تهران")
    await bot.poll("fa")
    await wait_sent(bot, 1)
    [alert] = [m for m in bot.tg.sent(EN_USER) if texts.READ_MORE in m.text]
    assert alert.text.split("\n")[1].lstrip(RLM)[:4].isdigit()  # 2026-12-01 · #زنان


async def test_all_without_prefix_follows_both_editions(bot: Running) -> None:
    m = await bot.command(EN_USER, "/subscribe all")
    subs = {(s.site, s.slug) for s in await bot.store.subscriptions(EN_USER)}
    assert {slug for _site, slug in subs} == {ALL} and len(subs) == 2
    assert "English edition" in m.text and "Persian edition" in m.text
    m = await bot.command(EN_USER, "/mysubs")
    assert m.text.index("English edition") < m.text.index("Persian edition")


async def test_a_name_of_both_editions_is_a_question(bot: Running) -> None:
    m = await bot.command(EN_USER, "/subscribe infographics")
    assert m.text == texts.WHICH_EDITION.format(name="infographics")
    datas = [b["callback_data"] for row in m.reply_markup["inline_keyboard"] for b in row]
    assert sorted(d.split(":")[2] for d in datas) == ["en", "fa"]
    assert await bot.store.subscriptions(EN_USER) == []
    fa_button = next(d for d in datas if d.startswith("sub:f:fa:"))
    await bot.press(EN_USER, m.message_id, fa_button)
    [sub] = await bot.store.subscriptions(EN_USER)
    assert sub.slug == "infographics" and sub.site != site_key(bot.wp.url)
    # A prefix settles it without a question.
    m = await bot.command(EN_USER, "/subscribe en:infographics")
    assert m.text == "Now following: Publications › Infographics."
    assert len(await bot.store.subscriptions(EN_USER)) == 2


async def test_percent_encoded_slugs_are_letters(bot: Running) -> None:
    m = await bot.command(FA_USER, "/categories")
    assert "<code>اعدام-زنان</code>" in (m.html or "")
    assert "%d8" not in m.text.lower()
    m = await bot.command(FA_USER, "/subscribe اعدام-زنان")
    assert m.text == FA(texts.SUBSCRIBED).format(names="اعدام › اعدام زنان")


async def test_latest_and_search_cover_both_editions(bot: Running) -> None:
    m = await bot.command(EN_USER, "/latest")
    assert m.text.count("\n\n") == 5
    m = await bot.command(EN_USER, "/search قزل‌حصار")
    assert "قزل" in m.text and "Reports 1" in m.text
    only_en = await bot.command(EN_USER, "/search قزل‌حصار edition:en")
    only_fa = await bot.command(EN_USER, "/search قزل‌حصار edition:fa")
    assert only_en.text != only_fa.text


# -- one edition failing never holds up the other ----------------------------------------------


async def test_persian_edition_down_english_alerts_flow(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress, wpfa: FakeWordPress
) -> None:
    settings = fast_settings(
        tg, wp, tmp_path / "db.sqlite3", site_url_fa=wpfa.url, poll_interval=1.0, fetch_timeout=8.0
    )
    async with running_bot(settings, tg, wp) as bot:
        await first_poll_done(bot.store, site_key(wp.url))
        await first_poll_done(bot.store, site_key(wpfa.url))
        await bot.command(EN_USER, "/subscribe all")
        # From now on the Persian site hangs on every request (longer than the test).
        before = len(wpfa.requests)
        wpfa.fault("timeout", "/", delay=30)

        async def persian_requests() -> int:
            return len(wpfa.requests)

        await wait_until(persian_requests, lambda n: n > before, what="a Persian poll")
        fa = bot.services.edition("fa")
        assert fa is not None and fa.poll_task is not None
        hanging = fa.poll_task
        wp.add_post(title="English report while the Persian site hangs")
        await wait_sent(bot, 1)
        assert alerts(tg, EN_USER, texts.READ_MORE) == [
            "English report while the Persian site hangs"
        ]
        # The English alert went out while that Persian poll was still waiting on its site.
        assert not hanging.done()


@pytest.mark.parametrize("fault", ["english", "login", "redirect", "html"])
async def test_a_broken_persian_edition_is_a_failed_poll_of_its_own(
    bot: Running, wp: FakeWordPress, wpfa: FakeWordPress, fault: str
) -> None:
    if fault == "english":
        wpfa.load_fixtures("en", keep_identity=True)
    elif fault == "login":
        wpfa.fault("login", "/", kind="form")
    elif fault == "redirect":
        wpfa.fault("redirect", "/", to=wp.url)
    else:
        wpfa.fault("html", "/")
    one = bot.services.edition("fa")
    assert one is not None
    before = await bot.store.count_posts(one.site)
    result = await one.poller.poll()
    assert not result.ok
    reason = result.errors[0]
    expected = {
        "english": "only 1 of the 20 posts it answered with are in Persian: it seems to serve",
        "login": "HTML page",
        "redirect": "redirected to another host",
        "html": "HTML page",
    }[fault]
    assert expected in reason, reason
    assert await bot.store.count_posts(one.site) == before
    await bot.poll("en")  # the English edition is untouched


# -- the command line: --edition ----------------------------------------------------------------


def cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


@pytest.fixture
def both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wp: FakeWordPress, wpfa: FakeWordPress
) -> Path:
    for key in ("TELEGRAM_BOT_TOKEN", "LOG_LEVEL", "POLL_INTERVAL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SITE_URL", wp.url)
    monkeypatch.setenv("SITE_URL_FA", wpfa.url)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "db.sqlite3"))
    return tmp_path


def test_cli_works_on_each_edition_or_both(both: Path, wpfa: FakeWordPress) -> None:
    code, out = cli("ingest", "--edition", "fa")
    assert code == 0
    assert out.splitlines() == [
        "fa: rest: 18 new, 0 modified, 0 unchanged (first poll: stored as already known)"
    ]
    code, out = cli("ingest")
    assert code == 0 and [line[:4] for line in out.splitlines()] == ["en: ", "fa: "]
    code, out = cli("status")
    assert "posts stored: 20" in out and "posts stored: 18" in out
    assert out.index("en: ") < out.index("\nfa: ")
    code, out = cli("search", "--edition", "fa", "قزلحصار")
    assert code == 0 and "https://fa.iran-hrm.com/" in out
    code, only_en = cli("search", "قزلحصار", "edition:en")
    assert code == 0 and only_en and "https://fa.iran-hrm.com/" not in only_en
    code, out = cli("categories", "--edition", "fa")
    assert out.splitlines()[0] == f"fa: {wpfa.url}"
    assert "  اعدام  (اعدام)" in out.splitlines()
    assert "    اعدام زنان  (اعدام-زنان)" in out.splitlines()
    # A percent-encoded slug that is not UTF-8 stays as the site wrote it.
    assert any("(%c2%d1%d4%ed%e6)" in line for line in out.splitlines())


def test_cli_edition_switched_off(both: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITE_URL_FA", "off")
    code, out = cli("ingest")
    assert code == 0 and [line[:4] for line in out.splitlines()] == ["en: "]
    assert cli("ingest", "--edition", "fa")[0] == 2


def test_same_site_twice_is_a_setting_error(both: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITE_URL_FA", os.environ["SITE_URL"] + "/")
    assert cli("status")[0] == 2


async def test_persian_categories_learned_from_the_feed_without_rest(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress, wpfa: FakeWordPress
) -> None:
    wpfa.rest_mode = "404"
    settings = fast_settings(tg, wp, tmp_path / "db.sqlite3", site_url_fa=wpfa.url)
    async with running_bot(settings, tg, wp) as bot:
        await first_poll_done(bot.store, site_key(wpfa.url))
        one = bot.services.edition("fa")
        assert one is not None
        # Learned from the feed's <category> names: Persian, no English menu in their place.
        assert one.tree.find("اعدام") and not one.tree.find("executions")
        m = await bot.command(FA_USER, "/subscribe fa:اعدام")
        assert m.text == FA(texts.SUBSCRIBED).format(names="اعدام")
        wpfa.add_post_in("اعدام", title="اعدام دو زندانی در زندان مرکزی مشهد")
        await bot.poll("fa")
        await wait_sent(bot, 1)
        assert alerts(tg, FA_USER, FA(texts.READ_MORE)) == ["اعدام دو زندانی در زندان مرکزی مشهد"]


async def test_persian_help_reads_right_to_left(bot: Running) -> None:
    m = await bot.command(FA_USER, "/help")
    lines = [line for line in m.text.split("\n") if line]
    assert lines and all(line.startswith(RLM) for line in lines)
    assert "/subscribe" in m.text and FA(texts.HELP_TITLE) in m.text
    english = await bot.command(EN_USER, "/help")
    assert not any(line.startswith(RLM) for line in english.text.split("\n"))


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("fa", "fa"),
        ("fa-IR", "fa"),
        ("FA", "fa"),
        ("fa_IR", "fa"),
        ("ps", "en"),
        ("far", "en"),
        ("en-US", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_a_new_chats_language_from_the_telegram_app(code: str | None, expected: str) -> None:
    assert detect(code) == expected


async def test_persian_names_typed_on_an_arabic_keyboard(bot: Running) -> None:
    # «شكنجه» with Arabic kaf names «شکنجه»; «زندانيان سياسي» with Arabic yeh finds both
    # categories of that name, and the bot asks which, as for the Persian spelling.
    m = await bot.command(FA_USER, "/subscribe fa:شكنجه")
    assert m.text == FA(texts.SUBSCRIBED).format(names="اخبار › شکنجه")
    m = await bot.command(FA_USER, "/subscribe fa:زندانيان سياسي")
    assert m.text.startswith(FA(texts.AMBIGUOUS_CATEGORY).split("«")[0])
    assert "زندانیان-سیاسی-2" in m.text


def test_cli_category_by_name_with_spaces_or_zwnj(
    both: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("ingest")[0] == 0
    code, by_slug = cli("search", "--category", "اعدام-زنان", "اعدام")
    assert code == 0 and by_slug.strip() != "no matches"
    assert cli("search", "--category", "اعدام زنان", "اعدام") == (0, by_slug)
    assert cli("search", "--category", "اعدام‌های-دسته‌جمعی")[0] == 0
    code, out = cli("search", "--category", "Mass execution")
    assert code == 0 and out.strip() != "no matches"
    assert cli("search", "--category", "زندانیان سیاسی", "اعدام")[0] == 2
    err = capsys.readouterr().err
    assert "names more than one category" in err and "زندانیان-سیاسی-2" in err
