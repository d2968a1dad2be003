"""Alert fan-out benchmark for hrm-bot (a script, not a test: `make test` ignores it).

Run from the project root::

    .venv/bin/python bench/fanout.py                        # the full run (about 6 minutes)
    .venv/bin/python bench/fanout.py --chats 300 --fast-chats 2000 --memory-chats 20000 \\
        --runs 1 --json /tmp/fanout.json                    # a quick look
    .venv/bin/python bench/fanout.py --skip-paced --skip-memory --profile 40   # where time goes

The real Application runs in this process (``tests/botharness.running_bot``: post_init, the
sender task, PTB's updater) against the loopback fake Telegram Bot API
(``tests/fakes/telegram.py``) and the fake WordPress site (``tests/fakes/wordpress.py``).
Every chat is a known private chat of the fake and is subscribed to the whole site ('*')
straight in the store before the bot starts. After the first (silent) poll one post is added
to the site; ``Running.poll()`` stores it, queues one outbox row per chat and wakes the sender.
The clock starts when ``poll()`` returns.

1. Paced fan-out (``--chats``, 3,000): real pacing (send_rate=28/s, private_chat_interval=1 s).
   Delivery time = from poll() returning to the arrival of the last sendMessage at the fake;
   the most sendMessage arrivals in any sliding 1 s window (Telegram allows 30); the sustained
   rate = messages / delivery time (target >= 27/s).
2. Fast fan-out (``--fast-chats``, 10,000) with the global limit raised to 1,000/s, as for a
   bot with paid broadcasts: the bot's own top rate, and process CPU time per message over the
   delivery window. The fake server runs in threads of this process, so its CPU is in the
   process figure; it is measured apart by reading the CPU time of the fake's own threads from
   /proc/self/task (Linux), and cross-checked by a calibration in which a bare
   ``httpx.AsyncClient`` sends the same number of sendMessage requests, with the same bodies
   and concurrency, to a fresh fake.
3. Memory (``--memory-chats``, 100,000 subscribed) at 1,000/s, in a fresh child process so
   that the earlier scenarios do not set its high-water mark: ru_maxrss (process peak RSS,
   fake and bot together) before the bot starts and at the end. If delivering to all of them
   would take longer than ``--memory-budget`` seconds (180) at the rate seen after the first
   10,000 deliveries, the run stops there and the report says so. The fake's time to register
   the chats (``FakeTelegram.private``) is reported. ``--tracemalloc`` adds the Python-heap
   peak of the delivery window (slows the run down).

``--profile N`` runs the fast scenario once more under cProfile (the event loop thread: the
bot's own Python code; neither the aiosqlite worker nor the fake's threads) and prints where
its time goes, by library and by function.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import multiprocessing
import os
import platform
import pstats
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import telegram  # noqa: E402

import bot.app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.delivery.sender import SendPolicy  # noqa: E402
from storage import Store  # noqa: E402
from tests.botharness import Running, fast_settings, first_poll_done, running_bot  # noqa: E402
from tests.conftest import site_key  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402
from tests.fakes.wordpress import FakeWordPress  # noqa: E402

FIRST_CHAT = 1_000_000
PACED_RATE = 28.0  # bot.config.Settings defaults
PRIVATE_INTERVAL = 1.0
FAST_RATE = 1000.0
TELEGRAM_WINDOW_LIMIT = 30
TARGET_RATE = 27.0
CONCURRENCY = 32  # bot.sender.SendPolicy.concurrency: the calibration client uses the same
MEMORY_CHECKPOINT = 10_000
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# --------------------------------------------------------------------------- CPU per thread


def _thread_cpu(native_ids: Sequence[int]) -> float | None:
    """CPU seconds (user + system) used so far by these threads of this process (Linux)."""
    total = 0
    for tid in native_ids:
        try:
            stat = Path(f"/proc/self/task/{tid}/stat").read_text()
        except OSError:
            continue  # the thread ended: its time is lost (connections are kept alive)
        fields_ = stat.rsplit(")", 1)[1].split()
        total += int(fields_[11]) + int(fields_[12])  # utime, stime (fields 14 and 15)
    return total / CLK_TCK if Path("/proc/self/task").exists() else None


def _label(t: threading.Thread, server: object) -> str:
    target = getattr(t, "_target", None)  # what the thread runs: tells whose it is
    if t is threading.main_thread():
        return "event loop (main thread)"
    if server is not None and getattr(target, "__self__", None) is server:
        return "fake telegram"
    if getattr(target, "__name__", "") == "_connection_worker_thread":
        return "aiosqlite worker"
    return "other threads"


class ThreadCpu:
    """CPU time of this process's threads between ``start()`` and ``stop()``, by owner.

    ``server`` is the fake Telegram's HTTP server: its loop thread and one thread per
    connection are "fake telegram". Threads created meanwhile count from zero; a thread that
    ends in the window loses its time (the keep-alive connections of PTB make that rare).
    """

    def __init__(self, server: object) -> None:
        self.server = server
        self._before: dict[int, float] = {}

    def _now(self) -> dict[int, tuple[str, float]]:
        out = {}
        for t in threading.enumerate():
            if t.native_id is not None:
                cpu = _thread_cpu([t.native_id])
                if cpu is not None:
                    out[t.native_id] = (_label(t, self.server), cpu)
        return out

    def start(self) -> None:
        self._before = {tid: cpu for tid, (_, cpu) in self._now().items()}

    def stop(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for tid, (label, cpu) in self._now().items():
            out[label] = out.get(label, 0.0) + cpu - self._before.get(tid, 0.0)
        return out


# --------------------------------------------------------------------------- fake elsewhere


def _fake_child(conn: Connection, chats: int) -> None:
    """A FakeTelegram in its own process: answers ("times",), ("cpu",), ("stop",)."""
    tg = FakeTelegram()
    tg.start()
    t = time.perf_counter()
    for cid in range(FIRST_CHAT, FIRST_CHAT + chats):
        tg.private(cid, known=True)
    conn.send((tg.url, tg.token, time.perf_counter() - t))
    while True:
        cmd = conn.recv()
        if cmd == "mark":
            conn.send(len(tg.calls))
        elif isinstance(cmd, tuple) and cmd[0] == "calls":
            conn.send([(c.method, c.at, c.ok, c.params) for c in tg.calls[cmd[1] :]])
        elif cmd == "cpu":
            conn.send(time.process_time())
        else:
            tg.stop()
            conn.send(None)
            return


class RemoteFake:
    """The parts of FakeTelegram the harness and this benchmark use, served by a child process.

    Its monotonic arrival times compare with ours: CLOCK_MONOTONIC is system-wide on Linux.
    """

    def __init__(self, chats: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_fake_child, args=(child, chats), daemon=True)
        self._proc.start()
        self.url, self.token, self.register_s = self._conn.recv()

    def ask(self, cmd: object) -> Any:
        self._conn.send(cmd)
        return self._conn.recv()

    def stop(self) -> None:
        self.ask("stop")
        self._proc.join(timeout=10)


@dataclass(frozen=True)
class _Call:
    method: str
    at: float
    ok: bool
    params: dict[str, Any]


# --------------------------------------------------------------------------- one fan-out


@dataclass
class Fanout:
    """Figures of one delivery of one post to ``chats`` chats."""

    chats: int
    send_rate: float
    fake_process: bool = False  # the fake ran in a process of its own
    delivered: int = 0  # sendMessage calls the fake accepted in the window
    failed: int = 0  # sendMessage calls the fake refused in the window
    partial: bool = False  # stopped early (memory scenario over its time budget)
    register_s: float = 0.0  # FakeTelegram.private() for every chat
    seed_s: float = 0.0  # chats + subscriptions into the store
    poll_s: float = 0.0  # Running.poll(): store the post, queue the outbox rows
    first_s: float = 0.0  # poll() returned -> first sendMessage arrival
    delivery_s: float = 0.0  # poll() returned -> last sendMessage arrival
    max_per_1s: int = 0
    rate: float = 0.0  # delivered / delivery_s
    rate_between: float = 0.0  # (delivered - 1) / (last - first arrival)
    cpu_s: float = 0.0  # process CPU (all threads) over the delivery window
    fake_cpu_s: float | None = None  # of which the fake Telegram's threads
    thread_cpu_s: dict[str, float] = field(default_factory=dict)  # by thread owner (Linux)
    cpu_us_per_msg: float = 0.0
    bot_cpu_us_per_msg: float | None = None  # process minus the fake's threads
    maxrss_before_mib: float = 0.0  # peak RSS before the bot started (fake + store seeded)
    maxrss_mib: float = 0.0  # peak RSS at the end
    tracemalloc_peak_mib: float | None = None
    calib: dict[str, float] | None = None
    sample_params: dict[str, Any] = field(default_factory=dict, repr=False)


def _maxrss_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024 if sys.platform != "darwin" else kib / 1024 / 1024


async def _seed(db: Path, site: str, chat_ids: Sequence[int]) -> None:
    store = await Store.open(db)
    try:
        now = datetime.now(UTC).isoformat()
        async with store.writer.transaction() as conn:
            await conn.executemany(
                "INSERT INTO chats (chat_id, type, language, active, created_at) "
                "VALUES (?, 'private', 'en', 1, ?)",
                [(c, now) for c in chat_ids],
            )
            await conn.executemany(
                "INSERT INTO subscriptions (chat_id, site, slug) VALUES (?, ?, '*')",
                [(c, site) for c in chat_ids],
            )
    finally:
        await store.close()


async def _wait_delivered(
    running: Running,
    target: int,
    max_wait: float,
    *,
    checkpoint: int | None = None,
    budget: float | None = None,
    started: float = 0.0,
) -> bool:
    """Until the sender recorded ``target`` messages; False when stopped early (budget)."""
    sender = running.services.sender
    deadline = time.monotonic() + max_wait
    while sender.sent < target:
        if checkpoint is not None and budget is not None and sender.sent >= checkpoint:
            elapsed = time.monotonic() - started
            if elapsed * target / sender.sent > budget:
                return False
            checkpoint = None
        if time.monotonic() > deadline:
            raise TimeoutError(f"{sender.sent} of {target} delivered after {max_wait:.0f} s")
        await asyncio.sleep(0.02)
    return True


async def run_fanout(
    chats: int,
    send_rate: float,
    *,
    workdir: Path,
    profile: cProfile.Profile | None = None,
    memory_budget: float | None = None,
    trace: bool = False,
    fake_process: bool = False,
) -> Fanout:
    """Deliver one post to ``chats`` subscribed private chats through the running bot.

    With ``fake_process`` the fake Telegram runs in a child process: the CPU and memory of
    this process are then the bot's alone (and the fake's threads do not contend for our GIL).
    """
    res = Fanout(chats=chats, send_rate=send_rate, fake_process=fake_process)
    chat_ids = range(FIRST_CHAT, FIRST_CHAT + chats)
    local: FakeTelegram | None = None
    remote: RemoteFake | None = None
    if fake_process:
        remote = RemoteFake(chats)
        res.register_s = remote.register_s
        tg = cast(FakeTelegram, remote)  # running_bot only reads .url and .token
    else:
        tg = local = FakeTelegram()
        tg.start()
        t = time.perf_counter()
        for cid in chat_ids:
            tg.private(cid, known=True)
        res.register_s = time.perf_counter() - t
    wp = FakeWordPress.from_fixtures()
    wp.start()
    try:
        db = workdir / f"fanout-{chats}-{time.monotonic_ns()}.sqlite3"
        t = time.perf_counter()
        await _seed(db, site_key(wp.url), chat_ids)
        res.seed_s = time.perf_counter() - t
        res.maxrss_before_mib = _maxrss_mib()
        settings = fast_settings(
            tg, wp, db, send_rate=send_rate, private_chat_interval=PRIVATE_INTERVAL
        )
        async with running_bot(settings, tg, wp) as running:
            await first_poll_done(running.store, site_key(wp.url))
            wp.add_post(title="Fan-out benchmark", categories=[4])
            calls_before = len(local.calls) if local else remote.ask("mark") if remote else 0
            threads = ThreadCpu(local._server if local else None)
            if trace:
                tracemalloc.start()
            t = time.monotonic()
            await running.poll()
            t0 = time.monotonic()
            res.poll_s = t0 - t
            cpu0 = time.process_time()
            threads.start()
            fake_cpu0 = remote.ask("cpu") if remote else 0.0
            if profile is not None:
                profile.enable()
            complete = await _wait_delivered(
                running,
                chats,
                max_wait=chats / min(send_rate, 200.0) * 3 + 60,
                checkpoint=MEMORY_CHECKPOINT if memory_budget is not None else None,
                budget=memory_budget,
                started=t0,
            )
            if profile is not None:
                profile.disable()
            cpu1 = time.process_time()
            t_end = time.monotonic()
            res.thread_cpu_s = threads.stop()
            if remote is not None:
                res.fake_cpu_s = remote.ask("cpu") - fake_cpu0
            elif res.thread_cpu_s:
                res.fake_cpu_s = res.thread_cpu_s.get("fake telegram", 0.0)
            if trace:
                res.tracemalloc_peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
            res.partial = not complete
            res.maxrss_mib = _maxrss_mib()
        if local is not None:
            calls = [_Call(c.method, c.at, c.ok, c.params) for c in local.calls[calls_before:]]
        else:
            assert remote is not None
            calls = [_Call(*c) for c in remote.ask(("calls", calls_before))]
    finally:
        if local is not None:
            local.stop()
        if remote is not None:
            remote.stop()
        wp.stop()
    sends = [c for c in calls if c.method == "sendMessage" and c.at >= t0]
    ok = sorted(c.at for c in sends if c.ok)
    res.failed = len(sends) - len(ok)
    if res.partial:  # only the window the CPU was measured over
        ok = [x for x in ok if x <= t_end]
    res.delivered = len(ok)
    if ok:
        res.first_s = ok[0] - t0
        res.delivery_s = ok[-1] - t0
        res.rate = len(ok) / res.delivery_s if res.delivery_s > 0 else 0.0
        span = ok[-1] - ok[0]
        res.rate_between = (len(ok) - 1) / span if span > 0 else 0.0
        res.max_per_1s = _max_per_window(ok, 1.0)
        res.sample_params = dict(next(c for c in sends if c.ok).params)
    res.cpu_s = cpu1 - cpu0
    if res.delivered:
        res.cpu_us_per_msg = res.cpu_s / res.delivered * 1e6
        if fake_process:
            res.bot_cpu_us_per_msg = res.cpu_us_per_msg
        elif res.fake_cpu_s is not None:
            res.bot_cpu_us_per_msg = (res.cpu_s - res.fake_cpu_s) / res.delivered * 1e6
    return res


def _max_per_window(times: Sequence[float], window: float) -> int:
    """The most of the sorted ``times`` within any ``window`` seconds (as FakeTelegram's)."""
    best = lo = 0
    for hi, x in enumerate(times):
        while x - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


# --------------------------------------------------------------------------- calibration


def _form(params: dict[str, Any]) -> str:
    """A sendMessage body as PTB sends it: form fields, objects as JSON."""
    return urlencode(
        {
            k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
            for k, v in params.items()
        }
    )


async def calibrate(n: int, params: dict[str, Any]) -> dict[str, float]:
    """CPU of a bare httpx client sending ``n`` sendMessage requests (32 at a time) to a fake."""
    tg = FakeTelegram()
    tg.start()
    try:
        chat_ids = range(FIRST_CHAT, FIRST_CHAT + n)
        for cid in chat_ids:
            tg.private(cid, known=True)
        url = f"{tg.url}/bot{tg.token}/sendMessage"
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
            queue: asyncio.Queue[int] = asyncio.Queue()
            for cid in chat_ids:
                queue.put_nowait(cid)

            async def worker() -> None:
                while not queue.empty():
                    cid = queue.get_nowait()
                    body = _form({**params, "chat_id": cid})
                    r = await client.post(url, content=body, headers=headers)
                    r.raise_for_status()

            # Warm up the connections, then measure.
            await client.post(
                url, content=_form({**params, "chat_id": FIRST_CHAT}), headers=headers
            )
            threads = ThreadCpu(tg._server)
            threads.start()
            cpu0 = time.process_time()
            t0 = time.monotonic()
            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
            wall = time.monotonic() - t0
            cpu = time.process_time() - cpu0
            fake = threads.stop().get("fake telegram") if _thread_cpu([]) is not None else None
    finally:
        tg.stop()
    out = {
        "requests": float(n),
        "wall_s": wall,
        "rate": n / wall,
        "cpu_us_per_req": cpu / n * 1e6,
    }
    if fake is not None:
        out["fake_cpu_us_per_req"] = fake / n * 1e6
        out["client_cpu_us_per_req"] = (cpu - fake) / n * 1e6
    return out


# --------------------------------------------------------------------------- profile


CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("importlib (httpcore's failing `import sniffio`)", ("importlib", "_distutils_hack")),
    ("bot/ (sender, pacing, render)", ("/main/bot/",)),
    ("storage/ (our store code)", ("/main/storage/",)),
    ("aiosqlite (queueing to its thread)", ("aiosqlite",)),
    ("python-telegram-bot", ("/telegram/",)),
    ("httpx + httpcore + h11", ("httpx", "httpcore", "/h11/", "anyio")),
    ("asyncio event loop", ("asyncio", "selectors")),
    ("threading / queue (waits, locks)", ("threading.py", "queue.py")),
    ("json", ("json",)),
]


def _category(filename: str, func: str) -> str:
    for name, needles in CATEGORIES:
        if any(n in filename for n in needles):
            return name
    if filename == "~":  # built-ins: attribute by their name
        if "sqlite3" in func:
            return "sqlite3 built-ins"
        if "poll" in func and "select" in func:
            return "idle: waiting in epoll/poll (not CPU)"
        if "posix.stat" in func or "_imp." in func or "import" in func:
            return "importlib (httpcore's failing `import sniffio`)"
        if "socket" in func or "send" in func or "recv" in func:
            return "socket I/O built-ins"
        return "other built-ins"
    return "other Python"


def profile_report(prof: cProfile.Profile, messages: int, top: int) -> dict[str, Any]:
    stats = pstats.Stats(prof)
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    by_cat: dict[str, float] = {}
    rows = []
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in raw.items():
        cat = _category(filename, func)
        by_cat[cat] = by_cat.get(cat, 0.0) + tt
        short = filename.replace(str(ROOT) + "/", "")
        if "site-packages/" in short:
            short = short.split("site-packages/", 1)[1]
        rows.append((tt, ct, nc, f"{short}:{line}({func})"))
    rows.sort(reverse=True)
    return {
        "messages": messages,
        "event_loop_thread_s": total,
        "us_per_msg": total / messages * 1e6 if messages else 0.0,
        "by_category_us_per_msg": {
            k: v / messages * 1e6 for k, v in sorted(by_cat.items(), key=lambda kv: -kv[1])
        },
        "top_tottime": [
            {"tottime_s": tt, "cumtime_s": ct, "calls": nc, "function": name}
            for tt, ct, nc, name in rows[:top]
        ],
    }


# --------------------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model or platform.processor() or "?",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "python_telegram_bot": telegram.__version__,
        "httpx": httpx.__version__,
        "platform": platform.platform(),
    }


def _fmt_run(i: int, r: Fanout) -> list[str]:
    lines = [
        f"  run {i}: {r.delivered:,} delivered ({r.failed} refused) in {r.delivery_s:.2f} s"
        f"{'  [PARTIAL]' if r.partial else ''}",
        f"    first message {r.first_s * 1000:.0f} ms after poll(); poll() itself "
        f"{r.poll_s * 1000:.0f} ms (store the post, queue {r.chats:,} rows)",
        f"    rate {r.rate:.1f}/s (first->last arrival: {r.rate_between:.1f}/s); "
        f"most in any 1 s window: {r.max_per_1s}",
        f"    CPU {r.cpu_s:.2f} s = {r.cpu_us_per_msg:.0f} us/message (process)",
    ]
    if r.thread_cpu_s and r.delivered:
        lines.append(
            "      by thread: "
            + ", ".join(
                f"{k} {v / r.delivered * 1e6:.0f}"
                for k, v in sorted(r.thread_cpu_s.items(), key=lambda kv: -kv[1])
            )
            + " us/message"
        )
    if r.fake_process and r.fake_cpu_s is not None:
        lines.append(
            f"      fake Telegram in its own process: this process is the bot alone; "
            f"the fake used {r.fake_cpu_s / max(r.delivered, 1) * 1e6:.0f} us/message there"
        )
    elif r.fake_cpu_s is not None and r.bot_cpu_us_per_msg is not None:
        lines.append(
            f"      of which fake Telegram threads {r.fake_cpu_s:.2f} s; "
            f"bot (rest of the process) {r.bot_cpu_us_per_msg:.0f} us/message"
        )
    if r.calib:
        c = r.calib
        lines.append(
            f"    calibration, bare httpx -> fake, {c['requests']:.0f} requests: "
            f"{c['rate']:.0f}/s, {c['cpu_us_per_req']:.0f} us/request"
            + (
                f" (fake {c['fake_cpu_us_per_req']:.0f}, client {c['client_cpu_us_per_req']:.0f})"
                if "fake_cpu_us_per_req" in c
                else ""
            )
        )
        lines.append(
            "      bot-only estimate by calibration: "
            f"{r.cpu_us_per_msg - c.get('fake_cpu_us_per_req', c['cpu_us_per_req']):.0f}"
            " us/message"
        )
    lines.append(
        f"    setup: fake.private() x{r.chats:,} {r.register_s:.2f} s, store seed {r.seed_s:.2f} s"
    )
    return lines


def report(fig: dict[str, Any]) -> str:
    m = fig["machine"]
    out = [
        "hrm-bot alert fan-out benchmark",
        f"machine: {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, SQLite {m['sqlite']}, "
        f"PTB {m['python_telegram_bot']}, httpx {m['httpx']}; "
        f"sender concurrency {fig['concurrency']}",
        "",
    ]
    paced = fig.get("paced")
    if paced:
        out.append(
            f"1. Paced: {paced['chats']:,} chats at send_rate={PACED_RATE:g}/s, "
            f"private_chat_interval={PRIVATE_INTERVAL:g} s"
        )
        for i, r in enumerate(paced["runs"], 1):
            out += _fmt_run(i, Fanout(**r))
            ok_w = r["max_per_1s"] <= TELEGRAM_WINDOW_LIMIT
            ok_r = r["rate"] >= TARGET_RATE
            out.append(
                f"    -> window {'OK' if ok_w else 'OVER'} (<= {TELEGRAM_WINDOW_LIMIT}), "
                f"rate {'OK' if ok_r else 'BELOW'} (>= {TARGET_RATE:g}/s)"
            )
        out.append("")
    fast = fig.get("fast")
    if fast:
        out.append(
            f"2. Fast: {fast['chats']:,} chats at send_rate={FAST_RATE:g}/s "
            "(runs with the fake in its own process say so)"
        )
        for i, r in enumerate(fast["runs"], 1):
            out += _fmt_run(i, Fanout(**r))
        out.append("")
    mem = fig.get("memory")
    if mem:
        out.append(f"3. Memory: {mem['chats']:,} chats subscribed, send_rate={FAST_RATE:g}/s")
        for i, r in enumerate(mem["runs"], 1):
            out += _fmt_run(i, Fanout(**r))
            peak = f"    peak RSS {r['maxrss_before_mib']:.0f} MiB before the bot started, "
            peak += f"{r['maxrss_mib']:.0f} MiB at the end"
            if r.get("tracemalloc_peak_mib") is not None:
                peak += f"; tracemalloc peak in delivery {r['tracemalloc_peak_mib']:.0f} MiB"
            out.append(peak)
            if r["partial"]:
                out.append(
                    f"    (stopped after {r['delivered']:,}: all {r['chats']:,} would exceed "
                    f"the {fig['memory_budget_s']:.0f} s budget)"
                )
        out.append("")
    prof = fig.get("profile")
    if prof:
        out.append(
            f"Profile (cProfile, event-loop thread, fast scenario, {prof['messages']:,} msgs): "
            f"{prof['us_per_msg']:.0f} us/message profiled"
        )
        for cat, us in prof["by_category_us_per_msg"].items():
            out.append(f"  {us:7.0f} us/msg  {cat}")
        out.append("  top functions by own time:")
        for row in prof["top_tottime"]:
            out.append(
                f"  {row['tottime_s']:7.3f} s own {row['cumtime_s']:7.3f} s cum "
                f"{row['calls']:>8} calls  {row['function']}"
            )
    return "\n".join(out)


# --------------------------------------------------------------------------- main


def _override_concurrency(n: int) -> None:
    """Experiment: messages in flight at once (SendPolicy.concurrency, not a setting)."""
    original = bot.app.send_policy

    def send_policy(settings: Settings) -> SendPolicy:
        return replace(original(settings), concurrency=n)

    bot.app.send_policy = send_policy


def _memory_child(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """The memory scenario in a fresh interpreter; returns its Fanout as a dict."""
    out = workdir / f"memory-{time.monotonic_ns()}.json"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child-memory",
        str(args.memory_chats),
        "--memory-budget",
        str(args.memory_budget),
        "--json",
        str(out),
        "--workdir",
        str(workdir),
    ]
    if args.tracemalloc:
        cmd.append("--tracemalloc")
    if args.memory_fake_process:
        cmd.append("--memory-fake-process")
    if args.concurrency:
        cmd += ["--concurrency", str(args.concurrency)]
    subprocess.run(cmd, check=True)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


async def bench(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    fig: dict[str, Any] = {
        "machine": machine(),
        "memory_budget_s": args.memory_budget,
        "concurrency": args.concurrency or SendPolicy().concurrency,
    }
    if not args.skip_paced:
        runs = []
        for i in range(args.runs):
            print(f"paced run {i + 1}: {args.chats:,} chats ...", file=sys.stderr, flush=True)
            runs.append(await run_fanout(args.chats, PACED_RATE, workdir=workdir))
        fig["paced"] = {"chats": args.chats, "runs": [asdict(r) for r in runs]}
    if not args.skip_fast:
        runs = []
        for i in range(args.runs):
            print(f"fast run {i + 1}: {args.fast_chats:,} chats ...", file=sys.stderr, flush=True)
            r = await run_fanout(args.fast_chats, FAST_RATE, workdir=workdir)
            if r.sample_params:
                r.calib = await calibrate(r.delivered, r.sample_params)
            runs.append(r)
        for i in range(args.runs):
            print(
                f"fast run {args.runs + i + 1}: {args.fast_chats:,} chats, fake in a process "
                "of its own ...",
                file=sys.stderr,
                flush=True,
            )
            runs.append(
                await run_fanout(args.fast_chats, FAST_RATE, workdir=workdir, fake_process=True)
            )
        fig["fast"] = {"chats": args.fast_chats, "runs": [asdict(r) for r in runs]}
    if args.profile:
        print(f"profiled run: {args.fast_chats:,} chats ...", file=sys.stderr, flush=True)
        prof = cProfile.Profile()
        r = await run_fanout(
            args.fast_chats, FAST_RATE, workdir=workdir, profile=prof, fake_process=True
        )
        fig["profile"] = profile_report(prof, r.delivered, args.profile)
    if not args.skip_memory:
        runs_d = []
        for i in range(args.runs):
            print(
                f"memory run {i + 1}: {args.memory_chats:,} chats (child process) ...",
                file=sys.stderr,
                flush=True,
            )
            runs_d.append(_memory_child(args, workdir))
        fig["memory"] = {"chats": args.memory_chats, "runs": runs_d}
    return fig


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    p.add_argument("--chats", type=int, default=3_000, help="chats of the paced run (3000)")
    p.add_argument(
        "--fast-chats", type=int, default=10_000, help="chats of the 1000/s run (10000)"
    )
    p.add_argument(
        "--memory-chats", type=int, default=100_000, help="chats of the memory run (100000)"
    )
    p.add_argument("--runs", type=int, default=2, help="runs of each scenario (2)")
    p.add_argument("--skip-paced", action="store_true", help="skip scenario 1")
    p.add_argument("--skip-fast", action="store_true", help="skip scenario 2")
    p.add_argument("--skip-memory", action="store_true", help="skip scenario 3")
    p.add_argument(
        "--memory-budget",
        type=float,
        default=180.0,
        help="seconds the memory run may deliver for; else it stops after 10000 (180)",
    )
    p.add_argument(
        "--tracemalloc", action="store_true", help="memory run: also the tracemalloc peak"
    )
    p.add_argument(
        "--memory-fake-process",
        action="store_true",
        help="memory run: the fake Telegram in a process of its own (RSS = the bot's alone)",
    )
    p.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="one more fast run under cProfile; print the top N functions",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=0,
        metavar="N",
        help="experiment: override SendPolicy.concurrency (32), the messages in flight",
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    p.add_argument("--workdir", type=Path, help="keep the databases here (default: a temp dir)")
    p.add_argument("--child-memory", type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.concurrency:
        _override_concurrency(args.concurrency)
    with tempfile.TemporaryDirectory(prefix="hrm-fanout-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        if args.child_memory is not None:
            r = asyncio.run(
                run_fanout(
                    args.child_memory,
                    FAST_RATE,
                    workdir=workdir,
                    memory_budget=args.memory_budget,
                    trace=args.tracemalloc,
                    fake_process=args.memory_fake_process,
                )
            )
            args.json.write_text(json.dumps(asdict(r)))
            return
        fig = asyncio.run(bench(args, workdir))
    print(report(fig))
    if args.json:
        args.json.write_text(json.dumps(fig, indent=2, ensure_ascii=False, default=str) + "\n")


if __name__ == "__main__":
    main()
