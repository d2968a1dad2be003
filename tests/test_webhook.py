"""Webhook mode: `hrm-bot run` with WEBHOOK_URL against the fake Bot API, the test POSTing the
updates Telegram would; and the way back to long polling."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot import cli
from bot.app import build_application, reach_telegram
from bot.config import load_settings
from bot.errors import CannotListen, ConfigError, WebhookRejected
from bot.ops.webhook import MAX_BODY_BYTES, check_listen, webhook_of
from tests.botharness import fast_settings, wait_until_sync
from tests.fakes.telegram import FakeTelegram
from tests.fakes.wordpress import FakeWordPress
from tests.test_startup import Bot, bot_env, closed_port

WEBHOOK_URL = "https://bot.example.org/tg/hook"
SECRET = "right-Secret_0123456789"
ANSWERED, IGNORED = 901, 902


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        fake.private(ANSWERED)
        fake.private(IGNORED)
        yield fake


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def post(port: int, body: bytes, secret: str | None, ctype: str = "application/json") -> int:
    headers = {"Content-Type": ctype}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    reply = httpx.post(f"http://127.0.0.1:{port}/tg/hook", content=body, headers=headers)
    return reply.status_code


def update(tg: FakeTelegram, chat: int, text: str) -> bytes:
    """The update Telegram would POST for ``text`` written in ``chat``."""
    tg.send_text(chat, text)
    return json.dumps(tg.next_update()).encode()


def oversized_answer(port: int) -> bytes:
    """What the server answers to a body over the limit, announced but never sent: it must
    refuse on the headers alone rather than read the body into memory."""
    head = (
        "POST /tg/hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n"
        f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head.encode())
        return s.recv(200)


def test_webhook_with_right_and_wrong_secrets(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress
) -> None:
    port = closed_port()
    env = bot_env(
        tg.url,
        wp,
        tmp_path / "db.sqlite3",
        tg.token,
        WEBHOOK_URL=WEBHOOK_URL,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_PORT=str(port),
    )
    bot = Bot(env, tmp_path)
    try:
        wait_until_sync(
            lambda: bot.proc.poll() is not None or listening(port), timeout=20, what="listening"
        )
        assert bot.proc.poll() is None, bot.output
        assert tg.webhook is not None
        assert (tg.webhook["url"], tg.webhook["secret_token"]) == (WEBHOOK_URL, SECRET)
        assert {"message", "callback_query", "my_chat_member"} <= set(
            tg.webhook["allowed_updates"]
        )
        refused = {
            "wrong secret": post(port, update(tg, IGNORED, "/help"), "wrong-" + SECRET),
            "no secret": post(port, update(tg, IGNORED, "/help"), None),
            "secret in other case": post(port, update(tg, IGNORED, "/help"), SECRET.upper()),
            # python-telegram-bot takes application/json only; Telegram sends nothing else.
            "not JSON's type": post(port, update(tg, IGNORED, "/help"), SECRET, "text/plain"),
            # The rest come with the right secret. Not JSON: tornado's 500 for the library's
            # unhandled parse error (Telegram never sends it; it would retry a 5xx).
            "not JSON": post(port, b"{not json", SECRET),
            # JSON, but no update: refused, and the message it holds is not logged.
            "not an update": post(port, b'{"update_id": 7, "message": {"text": "xyzzy"}}', SECRET),
            "too large": int(oversized_answer(port).split()[1]),
        }
        assert refused == {
            "wrong secret": 403,
            "no secret": 403,
            "secret in other case": 403,
            "not JSON's type": 403,
            "not JSON": 500,
            "not an update": 400,
            "too large": 400,
        }
        # The process still serves: a good update after all of them is answered.
        assert post(port, update(tg, ANSWERED, "/help"), SECRET) == 200
        tg.wait_for_sync(lambda: bool(tg.sent(ANSWERED)), timeout=15)
    finally:
        code = bot.stop()
    out = bot.output
    assert code == 0, out
    assert tg.sent(IGNORED) == []
    assert tg.sent(ANSWERED)[0].text.startswith("What this bot can do")
    assert (
        f"webhook mode: Telegram sends updates to https://bot.example.org/tg/hook, served on "
        f"127.0.0.1:{port}"
    ) in out
    assert "could not be read and was refused (400); its data is not logged" in out
    assert SECRET not in out and "xyzzy" not in out and tg.token not in out


def test_back_to_polling_deletes_the_webhook(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress
) -> None:
    # Left by a run in webhook mode: Telegram refuses getUpdates while it is set.
    httpx.post(f"{tg.base_url}{tg.token}/setWebhook", json={"url": WEBHOOK_URL}).raise_for_status()
    bot = Bot(bot_env(tg.url, wp, tmp_path / "db.sqlite3", tg.token), tmp_path)
    try:
        tg.send_text(ANSWERED, "/help")
        tg.wait_for_sync(lambda: bool(tg.sent(ANSWERED)), timeout=20)
    finally:
        code = bot.stop()
    assert code == 0, bot.output
    assert tg.webhook is None
    assert tg.count("deleteWebhook") == 1
    refused = [c.response["description"] for c in tg.calls_of("getUpdates") if not c.ok]
    # Deleted before the first getUpdates. (The one 409 at stop is the final getUpdates,
    # which confirms the last offset, ending the long poll still waiting: as without webhooks.)
    assert not any("webhook is active" in description for description in refused), refused
    assert "webhook mode" not in bot.output


async def test_a_webhook_url_telegram_refuses_stops_with_one_line(
    tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress
) -> None:
    settings = fast_settings(
        tg,
        wp,
        tmp_path / "db.sqlite3",
        webhook_url="https://bot.example.invalid/hook",
        webhook_secret=SECRET,
    )
    webhook = webhook_of(settings)
    app = build_application(settings)
    try:
        with pytest.raises(WebhookRejected) as caught:
            await reach_telegram(app, settings.telegram_api_url, webhook)
    finally:
        await app.bot.shutdown()
    assert str(caught.value) == (
        # python-telegram-bot capitalizes Telegram's "bad webhook: Failed to resolve host: ...".
        "Telegram refused WEBHOOK_URL in setWebhook (BadRequest: Bad webhook: failed to "
        "resolve host: name or service not known): check that its host name resolves and "
        "that it is an https URL on port 443, 80, 88 or 8443"
    )
    assert tg.count("setWebhook", ok=False) == 1  # asked once, not retried
    assert tg.webhook is None


def test_an_address_in_use_is_refused_before_telegram_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CannotListen, match=f"cannot listen on 127.0.0.1:{port} "):
            check_listen("127.0.0.1", port)
        monkeypatch.chdir(tmp_path)
        for key, value in {
            "TELEGRAM_BOT_TOKEN": "123456:TEST-token",
            # Nothing listens here: the run must stop before any request.
            "TELEGRAM_API_URL": f"http://127.0.0.1:{closed_port()}",
            "DATABASE_PATH": str(tmp_path / "db.sqlite3"),
            "WEBHOOK_URL": WEBHOOK_URL,
            "WEBHOOK_PORT": str(port),
            "LOG_LEVEL": "WARNING",
        }.items():
            monkeypatch.setenv(key, value)
        code = cli.main(["run"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"hrm-bot: cannot listen on 127.0.0.1:{port} (WEBHOOK_LISTEN, ")
    assert err.count("\n") == 1


def test_webhook_settings() -> None:
    settings = load_settings(
        {"WEBHOOK_URL": "https://bot.example.org:8443/a.b/", "WEBHOOK_LISTEN": "::1"},
        dotenv=None,
    )
    first, second = webhook_of(settings), webhook_of(settings)
    assert first is not None and second is not None
    assert (first.listen, first.port, first.route) == ("::1", 8443, r"/a\.b")
    # No WEBHOOK_SECRET: a new random one each start, of the characters Telegram allows.
    assert first.secret != second.secret and len(first.secret) >= 32
    assert first.secret not in repr(first) and first.secret not in repr(settings)
    assert webhook_of(load_settings({}, dotenv=None)) is None
    bad = {
        "WEBHOOK_URL": {
            "http://bot.example.org/hook": "must be an https URL",
            "bot.example.org/hook": "must be an https URL",
            "https://bot.example.org:8080/hook": "must use port 443, 80, 88 or 8443",
            "https://bot.example.org:http/hook": "has a port that is not a number",
            "https://user:pass@bot.example.org/hook": "must not hold a user name or password",
            "https://bot.example.org/a b": "must have a path of letters",
            "https://bot.example.org/hook#x": "must have a path of letters",
        },
        "WEBHOOK_SECRET": {
            "has space": "must be 1 to 256 characters",
            "x" * 257: "must be 1 to 256 characters",
            "ключ": "must be 1 to 256 characters",
        },
        "WEBHOOK_LISTEN": {"localhost": "must be an IP address", "1.2.3": "an IP address"},
        "WEBHOOK_PORT": {"0": "from 1 to 65535", "8443.5": "a whole number", "https": "whole"},
    }
    for key, cases in bad.items():
        for value, expected in cases.items():
            with pytest.raises(ConfigError) as caught:
                load_settings({key: value}, dotenv=None)
            message = str(caught.value)
            assert message.startswith(f"{key} ") and expected in message, (value, message)
            if key in ("WEBHOOK_URL", "WEBHOOK_SECRET"):
                assert value not in message  # may hold a token or a secret
