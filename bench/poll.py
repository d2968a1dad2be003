"""Polling benchmark for hrm-bot: what polls cost the site, and how soon a report is alerted.

Run from the project root (a script, not a test: `make test` ignores it)::

    .venv/bin/python bench/poll.py idle                      # one idle hour, this code
    .venv/bin/python bench/poll.py idle --code /tmp/old --interval 300   # another version's
    .venv/bin/python bench/poll.py alert                     # 50 reports, about 21 minutes
    .venv/bin/python bench/poll.py alert --spread even              # evenly spread, 26 minutes
    .venv/bin/python bench/poll.py alert --posts 10 --minutes 3          # a quick look

``idle``: the poller of the code under ``--code`` (default: this tree; give the folder of
another checkout, e.g. ``git worktree add /tmp/old <rev>``, to measure an older version)
polls the loopback fake WordPress sites (``tests/fakes/wordpress.py``, the fixture posts of
both editions, whole texts as iran-hrm.com serves them) with nothing new: the first, silent
poll and one more are not counted, then ``3600 / --interval`` polls of each edition are made
back to back, as an idle hour would make them. The fake counts the response bodies it
writes (no headers; the fake does not compress, as a site without gzip would not) and the
requests. The daily category refresh is not in the hour.

``alert``: the real Application (``tests/botharness.running_bot``) with the default
POLL_INTERVAL against the fake site and the fake Bot API, one private chat following every
category. After the first poll, ``--posts`` reports are published at uniformly random moments
over ``--minutes`` (seeded); each one's time to alert is from its publication on the fake
site to the arrival of its sendMessage at the fake Bot API. It runs in real time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def use_code(folder: Path | None) -> None:
    """Import ``bot`` and ``storage`` from ``folder``, the fakes from this tree."""
    if folder is None:
        sys.path.insert(0, str(ROOT))
        return
    shim = Path(tempfile.mkdtemp(prefix="hrm-bench-code-"))
    for name in ("bot", "storage"):
        (shim / name).symlink_to(folder.resolve() / name)
    (shim / "tests").symlink_to(ROOT / "tests")
    sys.path.insert(0, str(shim))


async def idle(interval: float) -> None:
    from bot.site.client import SiteClient
    from bot.site.poller import Poller
    from storage import Store
    from tests.fakes.wordpress import FakeWordPress

    polls = round(3600 / interval)
    total_bytes = total_requests = 0
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "bench.sqlite3")
        try:
            for edition, site in (
                ("en", FakeWordPress.from_fixtures()),
                ("fa", FakeWordPress.persian()),
            ):
                with site:
                    client = SiteClient(site.url, timeout=20, max_bytes=10 * 2**20)
                    poller = Poller(store, client, site.url.split("//", 1)[1], edition)
                    await poller.load_stored_categories()
                    for _ in range(2):  # the silent first poll, then one to settle
                        result = await poller.poll()
                        if not result.ok:
                            raise SystemExit(f"{edition}: poll failed: {result.errors}")
                    before_bytes, before_requests = site.bytes_sent, len(site.requests)
                    for _ in range(polls):
                        result = await poller.poll()
                        if not result.ok or result.new:
                            raise SystemExit(f"{edition}: an idle poll was not idle: {result}")
                    sent = site.bytes_sent - before_bytes
                    requests = len(site.requests) - before_requests
                    await client.aclose()
                total_bytes += sent
                total_requests += requests
                print(
                    f"{edition}: {polls} polls, {requests} requests, {sent:,} bytes "
                    f"({sent / polls:,.0f} a poll)"
                )
        finally:
            await store.close()
    print(
        f"both editions, one idle hour at {interval:g} s: {total_requests} requests, "
        f"{total_bytes:,} bytes ({total_bytes * 24 / 2**20:.2f} MiB a day)"
    )


def moments(posts: int, minutes: float, seed: int, spread: str, interval: float) -> list[float]:
    """When each report is published, in seconds from the start.

    ``random``: uniformly at random over ``minutes`` (seeded). ``even``: every half interval
    and a bit more, so that the moments fall at evenly spaced points of the poll cycle (the
    n-th at n x interval / posts after a poll, give or take the polls' own time), which
    takes out the luck of where 50 random moments fall; ``minutes`` is then not used.
    """
    if spread == "even":
        step = interval / 2 + interval / posts
        return [n * step for n in range(posts)]
    rng = random.Random(seed)
    return sorted(rng.uniform(0, minutes * 60) for _ in range(posts))


async def alert(posts: int, minutes: float, seed: int, interval: float, spread: str) -> None:
    from dataclasses import replace

    from bot.config import Settings
    from storage import ALL
    from tests.botharness import fast_settings, first_poll_done, running_bot
    from tests.conftest import site_key
    from tests.fakes.telegram import FakeTelegram
    from tests.fakes.wordpress import FakeWordPress

    chat = 501
    tg = FakeTelegram()
    tg.start()
    tg.private(chat, known=True)
    wp = FakeWordPress.from_fixtures()
    wp.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = replace(
                fast_settings(tg, wp, Path(tmp) / "bench.sqlite3"),
                poll_interval=interval,
                fetch_timeout=Settings().fetch_timeout,
            )
            async with running_bot(settings, tg, wp) as bot:
                await first_poll_done(bot.store, site_key(wp.url))
                await bot.store.subscribe(chat, "private", site_key(wp.url), [ALL], "en")
                start = time.monotonic()
                published: dict[str, float] = {}
                for n, moment in enumerate(moments(posts, minutes, seed, spread, interval)):
                    await asyncio.sleep(max(0.0, start + moment - time.monotonic()))
                    title = f"Bench report {n}"
                    published[title] = time.monotonic()
                    wp.add_post(title=title)
                deadline = time.monotonic() + 3 * settings.poll_interval
                waits: dict[str, float] = {}
                while len(waits) < posts and time.monotonic() < deadline:
                    for message in tg.sent(chat):
                        title = message.text.split("\n", 1)[0]
                        if title in published and title not in waits:
                            waits[title] = message.at - published[title]
                    await asyncio.sleep(0.5)
    finally:
        wp.stop()
        tg.stop()
    if len(waits) < posts:
        raise SystemExit(f"only {len(waits)} of {posts} reports were alerted")
    times = sorted(waits.values())
    p95 = times[max(0, round(0.95 * len(times)) - 1)]
    print(
        f"{len(times)} reports ({spread}) at POLL_INTERVAL "
        f"{settings.poll_interval:g} s: time to alert median {statistics.median(times):.1f} s, "
        f"p95 {p95:.1f} s, mean {statistics.fmean(times):.1f} s, "
        f"min {times[0]:.1f} s, max {times[-1]:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    one = sub.add_parser("idle", help="bytes and requests of one idle hour")
    one.add_argument("--interval", type=float, default=60.0, help="POLL_INTERVAL (60)")
    one.add_argument("--code", type=Path, help="the checkout whose poller to measure")
    two = sub.add_parser("alert", help="time from publication to alert")
    two.add_argument("--posts", type=int, default=50)
    two.add_argument("--minutes", type=float, default=20.0)
    two.add_argument("--seed", type=int, default=11)
    two.add_argument("--interval", type=float, default=60.0, help="POLL_INTERVAL (60)")
    two.add_argument(
        "--spread", choices=("random", "even"), default="random", help="publication moments"
    )
    args = parser.parse_args()
    use_code(getattr(args, "code", None))
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.what == "idle":
        asyncio.run(idle(args.interval))
    else:
        asyncio.run(alert(args.posts, args.minutes, args.seed, args.interval, args.spread))


if __name__ == "__main__":
    main()
