"""The metrics page (METRICS_PORT): read over HTTP from the real bot, run against the fakes."""

from __future__ import annotations

import asyncio
import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import lock_database
from bot.cli import main
from bot.config import load_settings
from bot.errors import ConfigError
from bot.ops import metrics as metrics_module
from bot.ops.metrics import Metrics, RateWindow, StoreFigures
from tests.botharness import fast_settings, first_poll_done, running_bot
from tests.conftest import site_key
from tests.fakes.telegram import FakeTelegram
from tests.fakes.wordpress import FakeWordPress
from tests.test_health import poll_in_app

SENT, REFUSED, HELD = 601, 602, 603  # chats whose alert is sent, refused, held by a flood wait
PHRASE = "Evin"

Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        for chat in (SENT, REFUSED, HELD):
            fake.private(chat, language_code="en")
        yield fake
        assert not fake.internal_errors, fake.internal_errors


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def parse(page: str) -> Series:
    """Every sample of the page (in Prometheus's own parser, so the format is checked too)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }


async def scrape(client: httpx.AsyncClient, port: int) -> tuple[str, Series]:
    response = await client.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text, parse(response.text)


async def wait_page(
    client: httpx.AsyncClient, port: int, expected: dict[str, float], timeout: float = 5.0
) -> tuple[str, Series]:
    """Scrape until each series named (``name`` or ``name{label="value"}``) has its value."""

    def key(name: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        if "{" not in name:
            return (name, ())
        base, labels = name.rstrip("}").split("{")
        pairs = (pair.split("=") for pair in labels.split(","))
        return (base, tuple(sorted((k, v.strip('"')) for k, v in pairs)))

    deadline = time.monotonic() + timeout
    while True:
        page, series = await scrape(client, port)
        seen = {name: series.get(key(name)) for name in expected}
        if seen == expected:
            return page, series
        if time.monotonic() >= deadline:
            raise AssertionError(f"metrics {expected} not reached in {timeout} s; seen {seen}")
        await asyncio.sleep(0.02)


async def test_the_metrics_page(tmp_path: Path, tg: FakeTelegram, wp: FakeWordPress) -> None:
    port = free_port()
    settings = fast_settings(tg, wp, tmp_path / "db.sqlite3", metrics_port=port)
    async with running_bot(settings, tg, wp) as bot, httpx.AsyncClient(timeout=5.0) as client:
        await first_poll_done(bot.store, site_key(wp.url))
        # The first poll (through the bot's own poll job) stored the site's 20 posts.
        await wait_page(
            client,
            port,
            {
                'hrm_posts_stored{edition="en"}': 20.0,
                'hrm_poll_duration_seconds_count{edition="en"}': 1.0,
                'hrm_poll_failures_total{edition="en"}': 0.0,
                "hrm_alerts_pending": 0.0,
                "hrm_alerts_sent_total": 0.0,
                "hrm_alerts_failed_total": 0.0,
                "hrm_send_rate_limit": 200.0,
            },
        )
        for chat in (SENT, REFUSED, HELD):
            await bot.command(chat, "/subscribe all")
            await bot.command(chat, f"/watch {PHRASE}")
        tg.fail("sendMessage", chat_id=REFUSED, error="400", description="Bad Request: bad entity")
        tg.fail("sendMessage", chat_id=HELD, error="429", retry_after=600)
        wp.add_post(title=f"A new report from {PHRASE}")
        await poll_in_app(bot)
        await bot.wait_outbox({"sent": 1, "failed": 1, "pending": 1})
        page, series = await wait_page(
            client,
            port,
            {
                'hrm_posts_stored{edition="en"}': 21.0,
                'hrm_poll_duration_seconds_count{edition="en"}': 2.0,
                "hrm_alerts_sent_total": 1.0,
                "hrm_alerts_failed_total": 1.0,
                "hrm_alerts_pending": 1.0,
            },
        )
        # Six replies to the commands and the alert, within the last minute.
        assert series[("hrm_send_rate", ())] == pytest.approx(7 / 60)
        # The process's own figures are there too (Linux reads them from /proc).
        assert series[("process_resident_memory_bytes", ())] > 0

        wp.fault("status", "/", status=503)
        await poll_in_app(bot)
        page, series = await wait_page(
            client,
            port,
            {
                'hrm_poll_failures_total{edition="en"}': 1.0,
                'hrm_poll_duration_seconds_count{edition="en"}': 3.0,
                'hrm_posts_stored{edition="en"}': 21.0,
            },
        )
        buckets = {
            dict(labels)["le"]: value
            for (name, labels), value in series.items()
            if name == "hrm_poll_duration_seconds_bucket"
        }
        bounds = ["0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "20.0", "30.0", "+Inf"]
        assert list(buckets) == bounds and buckets["+Inf"] == 3.0
        # Nothing about the users: no chat, no phrase, and edition the only label of ours.
        # (Chat ids are looked for in the labels only: a number such as the process's memory
        # may hold the same digits by chance.)
        assert PHRASE not in page and PHRASE.lower() not in page
        values = {
            value for name, labels in series if name.startswith("hrm_") for _, value in labels
        }
        assert not values & {str(SENT), str(REFUSED), str(HELD)}
        ours = {label for name, labels in series if name.startswith("hrm_") for label, _ in labels}
        assert ours == {"edition", "le"}
    # Stopped with the bot: nothing answers there, and a new server may listen on the port
    # (as the metrics server does, with SO_REUSEADDR: closed connections may linger).
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()


def test_a_port_in_use_stops_run_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        for key, value in {
            "TELEGRAM_BOT_TOKEN": "123456:TEST-token",
            # Never asked: the port is checked before Telegram is reached.
            "TELEGRAM_API_URL": f"http://127.0.0.1:{free_port()}",
            "SITE_URL_FA": "",
            "DATABASE_PATH": str(tmp_path / "db.sqlite3"),
            "LOG_LEVEL": "WARNING",
            "METRICS_PORT": str(port),
        }.items():
            monkeypatch.setenv(key, value)
        started = time.monotonic()
        code = main(["run"], out=io.StringIO())
    assert time.monotonic() - started < 5  # did not wait for the unreachable Telegram
    assert code == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"hrm-bot: cannot serve metrics on 127.0.0.1:{port} (METRICS_PORT={port}): the port "
        "is already in use (another program, or another hrm-bot, serves it): choose another "
        "METRICS_PORT or leave it empty"
    ]
    # The database's lock went with the failed start.
    lock_database(tmp_path / "db.sqlite3").close()


def test_metrics_port_must_be_a_port() -> None:
    assert load_settings({"METRICS_PORT": " 9464 "}, dotenv=None).metrics_port == 9464
    assert load_settings({"METRICS_PORT": ""}, dotenv=None).metrics_port is None
    for value in ("0", "65536", "-1", "9464.5", "http", "nan"):
        with pytest.raises(ConfigError) as raised:
            load_settings({"METRICS_PORT": value}, dotenv=None)
        assert str(raised.value) == (
            f"METRICS_PORT must be a whole number from 1 to 65535, got {value!r} "
            "(set in the environment)"
        )


def test_metrics_listen_must_be_an_ip_address() -> None:
    assert load_settings({}, dotenv=None).metrics_listen == "127.0.0.1"
    assert load_settings({"METRICS_LISTEN": "0.0.0.0"}, dotenv=None).metrics_listen == "0.0.0.0"
    for value in ("localhost", "127.0.0.1:9464", "*"):
        with pytest.raises(ConfigError, match="METRICS_LISTEN"):
            load_settings({"METRICS_LISTEN": value}, dotenv=None)


def test_the_send_rate_is_the_last_minute() -> None:
    now = [1000.0]
    window = RateWindow(60, clock=lambda: now[0])
    for _ in range(30):
        window.add()
    now[0] += 30.5
    window.add(30)
    assert window.rate() == 1.0
    now[0] += 30  # the first 30 are now over a minute old
    assert window.rate() == 0.5
    now[0] += 3600
    assert window.rate() == 0.0


def test_a_scrape_the_event_loop_does_not_answer_shows_the_last_figures(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(metrics_module, "SCRAPE_WAIT", 0.05)
    metrics = Metrics(["en"], 28.0)
    assert metrics.figures() is None  # before the store is open: no figures, no error
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    answers = [StoreFigures({"en": 3}, 2)]
    stuck = asyncio.Event()

    async def read() -> StoreFigures:
        if answers:
            return answers.pop()
        await stuck.wait()  # a long write holds the database
        raise AssertionError("never reached")

    try:
        metrics.attach(loop, read)
        assert metrics.figures() == StoreFigures({"en": 3}, 2)
        assert metrics.figures() == StoreFigures({"en": 3}, 2)
        assert "took over 0.05 s; last ones shown" in caplog.text
        metrics.detach()
        assert metrics.figures() == StoreFigures({"en": 3}, 2)
    finally:
        # One more turn of the loop ends the read that was given up.
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0.01), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
