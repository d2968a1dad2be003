"""Ingestion and search benchmark for hrm-bot (a script, not a test: `make test` ignores it).

Run from the project root::

    .venv/bin/python bench/ingest.py                 # 20,000 posts, 200 queries
    .venv/bin/python bench/ingest.py --posts 2000 --queries 40 --json /tmp/bench.json

What it measures, on one generated site served by the loopback fake WordPress
(``tests/fakes/wordpress.py``), through the real code (``bot.poller.Poller`` with
``bot.site.SiteClient`` into a fresh ``storage.Store``):

1. REST backfill: ``Poller.backfill()`` over ``/wp-json/wp/v2/posts`` (100 a page); posts/s.
2. Ratio A: REST backfill wall time / the time to merely download and ``json.loads`` the same
   REST pages with one ``httpx.AsyncClient``, sequentially (best of ``--repeat`` runs).
3. Ratio B: an RSS-only backfill (REST answers 404; the backfill falls back to
   ``/feed/?paged=N``) into another fresh store / ``feedparser.parse(bytes)`` (default
   options) of the same feed bytes (best of ``--repeat`` runs).
4. Store size on disk after the REST backfill, before and after ``wal_checkpoint(TRUNCATE)``.
5. Search latency p50/p95 over mixed English and Persian queries through ``Store.search``.

By default every page the backfills read is pre-rendered: fetched once from the live fake, then
served as exact bytes with ``FakeWordPress.raw()`` (with the ``X-WP-Total*`` headers), so the
fake's own page rendering (slow pure Python) weighs on neither side of the ratios. The time of
that live fetch is reported too. ``--live`` serves everything live instead.

The fake server runs in threads of this process; the backfill is sequential, so it mostly runs
while the client waits for an answer, but it does share the GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402
import httpx  # noqa: E402

from bot.site.client import Response, SiteClient  # noqa: E402
from bot.site.parse import item_to_post, parse_feed, parse_rest_posts, parse_terms  # noqa: E402
from bot.site.poller import Poller  # noqa: E402
from storage import CategoryTree, PostIn, Store, UpsertResult, parse_query  # noqa: E402
from tests.fakes.wordpress import FakeWordPress, strip_tags  # noqa: E402

SITE_KEY = "bench"
REST_PER_PAGE = 100
REST_PARAMS = f"per_page={REST_PER_PAGE}&_embed=author&orderby=date&order=desc"
CATEGORIES_TARGET = "/wp-json/wp/v2/categories?per_page=100&page=1"
PERSIAN_SHARE = 0.10
RARE_SHARE = 0.03  # posts that carry one rare word

TARGET_RATIO_A = 4.0
TARGET_RATIO_B = 1.5
TARGET_SEARCH_P95_MS = 10.0

# --------------------------------------------------------------------------- vocabulary


def _words(text: str) -> list[str]:
    return text.split()


# Roughly by frequency: the word lists are drawn from with Zipf weights (1/rank).
EN_WORDS = _words("""
the of and to in a iran prison was on for that by with prisoners execution is were regime
political death women human rights his her he she had been executed arrested court sentence
security forces family activists protest report judiciary prisoner Evin Qezel Hesar Tehran
authorities intelligence ministry revolutionary guards charges detained sentenced years hanged
Karaj Shiraz Isfahan Mashhad Tabriz Zahedan Urmia Kermanshah Ahvaz Rasht families lawyer trial
torture solitary confinement hunger strike medical care denied transferred released bail
months public executions drug-related murder moharebeh corruption on earth baghi Baluch Kurdish
Arab Baha'i minority religious ethnic student teacher worker labor union journalist blogger
dissident mother father son daughter brother sister wife husband children young juvenile
offender age crime case file interrogation forced confession televised amnesty international
United Nations special rapporteur resolution report monthly statistics number least according
sources informed rights groups organization condemned called international community silence
release immediate unconditional campaign Tuesdays No Execution detention center ward quarantine
""")
EN_RARE = _words("""
Ghezelhesar-annex Vakilabad Dizelabad Sepidar Sheiban Lakan Adelabad Ghaemshahr Bandar-Abbas
Nezam Gohardasht Choobindar Kachui Fashafuyeh Marivan Saqqez Bukan Piranshahr Sardasht Oshnavieh
Khoy Salmas Mahabad Naqadeh Baneh Divandarreh Sanandaj-annex Kamyaran Ravansar Javanrud
""")
FA_WORDS = _words("""
و در به از که این را با است زندان اعدام زندانی حکم دادگاه سیاسی بازداشت شکنجه زنان
خانواده قزل‌حصار اوین تهران کرج شیراز مشهد اصفهان تبریز زاهدان ارومیه کرمانشاه اهواز رشت
می‌شود شده‌است زندانی‌ها خانواده‌ها سال‌ها بازداشت‌شده حقوق بشر فعالان معترضان دستگیر قضاییه
اطلاعات سپاه پاسداران اتهام محکوم سال حبس انفرادی اعتصاب غذا درمان منتقل آزادی وثیقه ماه
مواد مخدر قتل محاربه افساد فی‌الارض بغی بلوچ کرد عرب بهایی اقلیت مذهبی قومی دانشجو معلم
کارگر روزنامه‌نگار مادر پدر پسر دختر برادر خواهر همسر کودکان نوجوان پرونده بازجویی اعتراف
اجباری عفو بین‌الملل سازمان ملل گزارشگر ویژه قطعنامه گزارش آمار ماهانه دست‌کم منابع مطلع
""")
FA_RARE = _words("""
وکیل‌آباد دیزل‌آباد سپیدار شیبان لاکان عادل‌آباد قائمشهر گوهردشت چوبیندر کچویی فشافویه
مریوان سقز بوکان پیرانشهر سردشت اشنویه خوی سلماس مهاباد نقده بانه دیواندره کامیاران روانسر
""")
ENTITIES = ("&#8217;", "&#8220;", "&#8221;", "&#8211;", "&nbsp;", "&amp;")


def _cum_weights(n: int) -> list[float]:
    total = 0.0
    out: list[float] = []
    for rank in range(n):
        total += 1.0 / (rank + 1)
        out.append(total)
    return out


@dataclass
class Vocabulary:
    words: list[str]
    rare: list[str]
    cum: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self.cum = _cum_weights(len(self.words))

    def draw(self, rng: random.Random, n: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cum, k=n)


EN = Vocabulary(EN_WORDS, EN_RARE)
FA = Vocabulary(FA_WORDS, FA_RARE)


# --------------------------------------------------------------------------- the site


@dataclass
class GeneratedPost:
    title: str
    content: str
    categories: list[int]
    tags: list[int]
    date_gmt: datetime
    persian: bool


def _sentence(rng: random.Random, vocab: Vocabulary, persian: bool) -> str:
    words = vocab.draw(rng, rng.randint(8, 22))
    if not persian:
        words[0] = words[0][:1].upper() + words[0][1:]
        if rng.random() < 0.15:
            words[-1] = f"{ENTITIES[1]}{words[-1]}{ENTITIES[2]}"
        if rng.random() < 0.1:
            i = rng.randrange(len(words))
            words[i] = f"{words[i]}{ENTITIES[0]}s"
    elif rng.random() < 0.3:
        words[rng.randrange(len(words))] += "،"
    if rng.random() < 0.1:
        i = rng.randrange(len(words))
        words[i] = f"<strong>{words[i]}</strong>"
    if rng.random() < 0.05:
        i = rng.randrange(len(words))
        words[i] = f'<a href="https://iran-hrm.com/?p={rng.randint(1, 99999)}">{words[i]}</a>'
    return " ".join(words) + "."


def _content(rng: random.Random, vocab: Vocabulary, persian: bool) -> str:
    target = rng.randint(2000, 4000)
    paragraphs: list[str] = []
    size = 0
    while size < target:
        text = " ".join(_sentence(rng, vocab, persian) for _ in range(rng.randint(2, 5)))
        para = f"<p>{text}</p>\n"
        paragraphs.append(para)
        size += len(para)
    if rng.random() < RARE_SHARE:
        i = rng.randrange(len(paragraphs))
        paragraphs[i] = paragraphs[i].replace("</p>", f" {rng.choice(vocab.rare)}.</p>", 1)
    return "".join(paragraphs)


def _title(rng: random.Random, vocab: Vocabulary, persian: bool) -> str:
    target = rng.randint(60, 120)
    words: list[str] = []
    while len(" ".join(words)) < target:
        words.extend(vocab.draw(rng, 1))
    title = " ".join(words)[:target].rstrip()
    if not persian:
        title = title[:1].upper() + title[1:]
        if rng.random() < 0.2:
            title = title.replace(" ", f" {ENTITIES[3]} ", 1)
    return title


def generate_posts(
    n: int, cat_ids: Sequence[int], tag_ids: Sequence[int], seed: int
) -> list[GeneratedPost]:
    """``n`` posts, oldest first, about 2.6 hours apart on average."""
    rng = random.Random(seed)
    when = datetime(2019, 1, 1, tzinfo=UTC)
    out: list[GeneratedPost] = []
    for _ in range(n):
        persian = rng.random() < PERSIAN_SHARE
        vocab = FA if persian else EN
        when += timedelta(minutes=rng.randint(5, 300))
        out.append(
            GeneratedPost(
                title=_title(rng, vocab, persian),
                content=_content(rng, vocab, persian),
                categories=rng.sample(list(cat_ids), rng.randint(1, 3)),
                tags=rng.sample(list(tag_ids), rng.choice((0, 0, 1, 2, 3))),
                date_gmt=when,
                persian=persian,
            )
        )
    return out


def build_site(posts: Sequence[GeneratedPost]) -> FakeWordPress:
    site = FakeWordPress.empty()
    for i, p in enumerate(posts, start=1):
        # An explicit id: without one add_post scans every id (quadratic over 20,000 posts).
        site.add_post(
            id=i,
            title=p.title,
            content=p.content,
            categories=p.categories,
            tags=p.tags,
            date_gmt=p.date_gmt,
        )
    return site


# --------------------------------------------------------------------------- instrumentation


class Phases:
    """Wall time spent in named calls of the real code (seconds, calls)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.calls[name] = self.calls.get(name, 0) + 1


class TimedStore(Store):
    """The real Store, timing the calls the poller makes during a backfill."""

    phases: Phases

    async def upsert_posts(
        self,
        site: str,
        items: Sequence[PostIn],
        *,
        tree: CategoryTree,
        alert: bool,
        now: datetime | None = None,
    ) -> UpsertResult:
        t0 = time.perf_counter()
        try:
            return await super().upsert_posts(site, items, tree=tree, alert=alert, now=now)
        finally:
            self.phases.add("store.upsert_posts", time.perf_counter() - t0)

    async def set_state(self, site: str, values: Mapping[str, Any]) -> None:
        t0 = time.perf_counter()
        try:
            await super().set_state(site, values)
        finally:
            self.phases.add("store.set_state", time.perf_counter() - t0)

    async def tag_names(self, site: str, ids: Sequence[int]) -> dict[int, str]:
        t0 = time.perf_counter()
        try:
            return await super().tag_names(site, ids)
        finally:
            self.phases.add("store.tag_names", time.perf_counter() - t0)


class TimedClient(SiteClient):
    """The real SiteClient, timing each GET (request, transfer, and reading the body)."""

    phases: Phases

    async def get(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> Response:
        t0 = time.perf_counter()
        try:
            return await super().get(path, params, etag=etag, last_modified=last_modified, ok=ok)
        finally:
            self.phases.add("client.get", time.perf_counter() - t0)


@dataclass
class BackfillRun:
    stored: int
    seconds: float
    phases: Phases
    store: TimedStore
    db_path: Path


async def run_backfill(url: str, db_path: Path) -> BackfillRun:
    phases = Phases()
    store = await TimedStore.open(db_path)
    assert isinstance(store, TimedStore)
    store.phases = phases
    client = TimedClient(url, timeout=30, max_bytes=50_000_000)
    client.phases = phases
    try:
        poller = Poller(store, client, SITE_KEY)
        t0 = time.perf_counter()
        stored = await poller.backfill()
        seconds = time.perf_counter() - t0
    finally:
        await client.aclose()
    return BackfillRun(stored, seconds, phases, store, db_path)


def phase_rows(run: BackfillRun) -> list[tuple[str, float, int]]:
    rows = [(k, v, run.phases.calls[k]) for k, v in sorted(run.phases.seconds.items())]
    rest = run.seconds - sum(v for _, v, _ in rows)
    rows.append(("other (parse, poller, loop)", rest, 0))
    return rows


# --------------------------------------------------------------------------- pages


@dataclass
class Page:
    target: str  # path + query, as the poller asks for it
    status: int
    body: bytes
    headers: dict[str, str]


KEPT_HEADERS = ("content-type", "x-wp-total", "x-wp-totalpages", "last-modified", "etag")


def fetch_pages(url: str, targets: Sequence[str]) -> list[Page]:
    with httpx.Client(base_url=url, timeout=120) as client:
        out: list[Page] = []
        for target in targets:
            resp = client.get(target)
            headers = {k: v for k, v in resp.headers.items() if k.lower() in KEPT_HEADERS}
            out.append(Page(target, resp.status_code, resp.content, headers))
        return out


def serve_raw(site: FakeWordPress, pages: Sequence[Page]) -> None:
    for p in pages:
        site.raw(p.target, p.body, status=p.status, headers=p.headers)


def rest_targets(n_posts: int) -> list[str]:
    pages = max(1, -(-n_posts // REST_PER_PAGE))
    return [f"/wp-json/wp/v2/posts?page={i}&{REST_PARAMS}" for i in range(1, pages + 1)]


def feed_targets(n_posts: int, per_page: int) -> list[str]:
    """Every feed page the backfill reads, and the 404 one past the end that stops it."""
    pages = max(1, -(-n_posts // per_page))
    return ["/feed/"] + [f"/feed/?paged={i}" for i in range(2, pages + 2)]


async def time_download_decode(url: str, targets: Sequence[str]) -> tuple[float, float]:
    """(total seconds, of which json.loads) to GET and decode each page, one after another."""
    decode = 0.0
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        t0 = time.perf_counter()
        for target in targets:
            resp = await client.get(target)
            resp.raise_for_status()
            t1 = time.perf_counter()
            json.loads(resp.content)
            decode += time.perf_counter() - t1
        total = time.perf_counter() - t0
    return total, decode


async def time_download(url: str, targets: Sequence[str]) -> float:
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        t0 = time.perf_counter()
        for target in targets:
            await client.get(target)
        return time.perf_counter() - t0


def time_feedparser(bodies: Sequence[bytes], **options: Any) -> float:
    t0 = time.perf_counter()
    for body in bodies:
        feedparser.parse(body, **options)
    return time.perf_counter() - t0


def time_call(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- store size


def file_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def disk_sizes(db_path: Path) -> dict[str, int]:
    return {
        suffix or "db": file_size(db_path.with_name(db_path.name + suffix))
        for suffix in ("", "-wal", "-shm")
    }


async def table_sizes(store: Store) -> list[tuple[str, int]]:
    """Bytes per table and index (dbstat); empty when SQLite was built without it."""
    try:
        async with store.db.execute(
            "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
        ) as cur:
            return [(str(r[0]), int(r[1])) for r in await cur.fetchall()]
    except sqlite3.Error:
        return []


# --------------------------------------------------------------------------- search


ARABIC_VARIANTS = str.maketrans({"\u06cc": "\u064a", "\u06a9": "\u0643"})


def make_queries(
    n: int, posts: Sequence[GeneratedPost], cat_slugs: Sequence[str], seed: int
) -> list[tuple[str, str]]:
    """(class, query) pairs, the classes taking turns."""
    rng = random.Random(seed)
    en_common, fa_common = EN_WORDS[6:26], FA_WORDS[9:30]
    en_mid, fa_mid = EN_WORDS[26:], FA_WORDS[30:]
    zwnj_words = [w for w in FA_WORDS if "\u200c" in w]

    def bigram(persian: bool) -> str:
        while True:
            p = rng.choice(posts)
            if p.persian != persian:
                continue
            words = [w.strip(".،") for w in strip_tags(p.content).split()]
            words = [w for w in words if w.isalpha() or "\u200c" in w]
            if len(words) > 2:
                i = rng.randrange(len(words) - 1)
                return f'"{words[i]} {words[i + 1]}"'

    makers: dict[str, Callable[[], str]] = {
        "common-en": lambda: rng.choice(en_common).lower(),
        "common-fa": lambda: rng.choice(fa_common),
        "rare": lambda: rng.choice(EN_RARE + FA_RARE),
        "two-word": lambda: (
            " ".join(rng.sample(fa_mid, 2))
            if rng.random() < 0.3
            else " ".join(rng.sample(en_mid, 2)).lower()
        ),
        "phrase": lambda: bigram(rng.random() < 0.3),
        "prefix": lambda: rng.choice(en_common + en_mid + fa_common)[:4] + "*",
        "category": lambda: (
            f"category:{rng.choice(cat_slugs)} {rng.choice(en_common + fa_common[:5]).lower()}"
        ),
        "fa-variants": lambda: (
            rng.choice(zwnj_words).replace("\u200c", "")
            if rng.random() < 0.5
            else rng.choice(fa_common + fa_mid).translate(ARABIC_VARIANTS)
        ),
    }
    names = list(makers)
    return [(names[i % len(names)], makers[names[i % len(names)]]()) for i in range(n)]


@dataclass
class QueryTiming:
    kind: str
    query: str
    ms: float
    hits: int


async def run_searches(store: Store, queries: Sequence[tuple[str, str]]) -> list[QueryTiming]:
    tree = await store.load_tree(SITE_KEY)
    out: list[QueryTiming] = []
    for kind, q in queries:
        t0 = time.perf_counter()
        page = await store.search(SITE_KEY, parse_query(q), tree, limit=5)
        ms = (time.perf_counter() - t0) * 1000
        out.append(QueryTiming(kind, q, ms, len(page.hits)))
    return out


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# --------------------------------------------------------------------------- report


def machine() -> dict[str, str]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "nproc": str(affinity or os.cpu_count()),
        "cpu": model or platform.processor() or "?",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "feedparser": str(feedparser.__version__),
        "httpx": httpx.__version__,
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def print_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print(line)
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))


def section(title: str) -> None:
    print(f"\n== {title}")


def print_phases(run: BackfillRun) -> None:
    rows = [
        (name, f"{sec:.2f} s", f"{100 * sec / run.seconds:.0f}%", str(calls) if calls else "")
        for name, sec, calls in phase_rows(run)
    ]
    print_table(rows, ("where the backfill's wall time went", "time", "share", "calls"))


# --------------------------------------------------------------------------- main


async def bench(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    fig: dict[str, Any] = {"machine": machine(), "posts": args.posts, "prerendered": not args.live}
    section("machine")
    for k, v in fig["machine"].items():
        print(f"{k:>10}: {v}")

    t0 = time.perf_counter()
    site = FakeWordPress.empty()
    cat_ids = [int(c["id"]) for c in site.categories]
    cat_slugs = [str(c["slug"]) for c in site.categories]
    tag_ids = [int(t["id"]) for t in site.tags]
    posts = generate_posts(args.posts, cat_ids, tag_ids, args.seed)
    site = build_site(posts)
    site.posts_per_rss = args.rss_per_page
    gen_s = time.perf_counter() - t0
    html_sizes = [len(p.content) for p in posts]
    fig["generate_s"] = gen_s
    section("site")
    print(
        f"{len(posts)} posts ({sum(p.persian for p in posts)} Persian), content HTML "
        f"{statistics.mean(html_sizes):.0f} chars on average "
        f"({min(html_sizes)}-{max(html_sizes)}), generated in {gen_s:.1f} s"
    )

    site.start()
    try:
        return await _bench_site(args, workdir, site, posts, cat_slugs, fig)
    finally:
        site.stop()
        if site.errors:
            print(f"fake server errors: {site.errors[:3]}", file=sys.stderr)


async def _bench_site(
    args: argparse.Namespace,
    workdir: Path,
    site: FakeWordPress,
    posts: Sequence[GeneratedPost],
    cat_slugs: Sequence[str],
    fig: dict[str, Any],
) -> dict[str, Any]:
    n = len(posts)
    url = site.url

    # ---------------------------------------------------------------- REST
    section("REST backfill")
    targets = rest_targets(n)
    t0 = time.perf_counter()
    rest_pages = fetch_pages(url, targets)
    fig["rest_live_fetch_s"] = time.perf_counter() - t0
    rest_bytes = sum(len(p.body) for p in rest_pages)
    fig["rest_bytes"] = rest_bytes
    categories_page = fetch_pages(url, [CATEGORIES_TARGET])[0]
    print(
        f"{len(targets)} pages, {mib(rest_bytes)}; the fake rendered and sent them in "
        f"{fig['rest_live_fetch_s']:.2f} s (live)"
    )
    if not args.live:
        serve_raw(site, rest_pages)
        print("pages pre-rendered: served as exact bytes with FakeWordPress.raw()")

    rest_db = workdir / "rest" / "hrm.sqlite3"
    rest = await run_backfill(url, rest_db)
    try:
        if rest.stored != n:
            raise SystemExit(f"REST backfill stored {rest.stored} of {n} posts")
        downloads = [await time_download_decode(url, targets) for _ in range(args.repeat)]
        dl_total, dl_decode = min(downloads)
        parse_s = time_call(lambda: [parse_rest_posts(p.body, "en") for p in rest_pages])
        fig.update(
            rest_backfill_s=rest.seconds,
            rest_posts_per_s=n / rest.seconds,
            rest_download_decode_s=dl_total,
            rest_download_decode_runs_s=[d[0] for d in downloads],
            rest_json_loads_s=dl_decode,
            rest_parse_rest_posts_s=parse_s,
            rest_phases_s=dict(rest.phases.seconds),
            ratio_a=rest.seconds / dl_total,
        )
        print(f"backfill: {n} posts in {rest.seconds:.2f} s = {n / rest.seconds:.0f} posts/s")
        print(
            f"download + json.loads of the same pages: {dl_total:.2f} s "
            f"(json.loads {dl_decode:.2f} s; runs: "
            + ", ".join(f"{d[0]:.2f}" for d in downloads)
            + ")"
        )
        print(f"bot.parse.parse_rest_posts over the same bodies, alone: {parse_s:.2f} s")
        print(f"ratio A = {fig['ratio_a']:.2f} (target <= {TARGET_RATIO_A:g})")
        print_phases(rest)

        # ------------------------------------------------------------ size
        section("store size after the REST backfill")
        before = disk_sizes(rest_db)
        async with rest.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cur:
            await cur.fetchall()
        after = disk_sizes(rest_db)
        fig["store_bytes_before_checkpoint"] = before
        fig["store_bytes"] = after
        fig["store_db_plus_wal_bytes"] = after["db"] + after["-wal"]
        print(
            "before checkpoint: "
            + ", ".join(f"{k} {mib(v)}" for k, v in before.items())
            + "\nafter wal_checkpoint(TRUNCATE): "
            + ", ".join(f"{k} {mib(v)}" for k, v in after.items())
            + f"; {fig['store_db_plus_wal_bytes'] / n / 1024:.1f} KiB per post"
        )
        tables = await table_sizes(rest.store)
        if tables:
            fig["store_tables_bytes"] = dict(tables)
            print("largest: " + ", ".join(f"{name} {mib(b)}" for name, b in tables[:6]))

        # ------------------------------------------------------------ search
        section("search (one timed pass, no warm-up; parse_query + Store.search, limit 5)")
        queries = make_queries(args.queries, posts, cat_slugs, args.seed + 1)
        timings = await run_searches(rest.store, queries)
    finally:
        await rest.store.close()
    _report_search(timings, fig)

    # ---------------------------------------------------------------- RSS
    section("RSS-only backfill")
    site.clear_faults()  # drops the raw REST pages too
    site.rest_mode = "404"
    # The categories stay available (the one REST page, pre-rendered, wins over rest_mode),
    # so RSS <category> names are resolved against the real tree.
    site.raw(CATEGORIES_TARGET, categories_page.body, headers=categories_page.headers)
    ftargets = feed_targets(n, args.rss_per_page)
    t0 = time.perf_counter()
    feed_pages = fetch_pages(url, ftargets)
    fig["rss_live_fetch_s"] = time.perf_counter() - t0
    if feed_pages[-1].status != 404 or any(p.status != 200 for p in feed_pages[:-1]):
        raise SystemExit("unexpected feed page statuses: " + str([p.status for p in feed_pages]))
    bodies = [p.body for p in feed_pages[:-1]]
    fig["rss_bytes"] = sum(len(b) for b in bodies)
    print(
        f"{len(bodies)} feed pages of {args.rss_per_page} items (site.posts_per_rss raised from "
        f"WordPress's 10), {mib(fig['rss_bytes'])}; REST answers 404, categories stay available;"
        f" the fake rendered them in {fig['rss_live_fetch_s']:.2f} s (live)"
    )
    if not args.live:
        serve_raw(site, feed_pages)
        print("pages pre-rendered: served as exact bytes with FakeWordPress.raw()")

    rss = await run_backfill(url, workdir / "rss" / "hrm.sqlite3")
    await rss.store.close()
    if rss.stored != n:
        raise SystemExit(f"RSS backfill stored {rss.stored} of {n} posts")
    fp_runs = [time_feedparser(bodies) for _ in range(args.repeat)]
    fp_s = min(fp_runs)
    fp_bot_s = time_feedparser(bodies, sanitize_html=False, resolve_relative_uris=False)
    tree = CategoryTree(parse_terms(categories_page.body))
    parse_s = time_call(
        lambda: [
            [item_to_post(i, tree, "en") for i in parse_feed(b, "application/rss+xml").items]
            for b in bodies
        ]
    )
    dl_s = min([await time_download(url, ftargets[:-1]) for _ in range(args.repeat)])
    fig.update(
        rss_backfill_s=rss.seconds,
        rss_posts_per_s=n / rss.seconds,
        rss_feedparser_s=fp_s,
        rss_feedparser_runs_s=fp_runs,
        rss_feedparser_bot_options_s=fp_bot_s,
        rss_parse_feed_s=parse_s,
        rss_download_s=dl_s,
        rss_phases_s=dict(rss.phases.seconds),
        ratio_b=rss.seconds / fp_s,
        ratio_b_with_download=rss.seconds / (fp_s + dl_s),
    )
    print(f"backfill: {n} posts in {rss.seconds:.2f} s = {n / rss.seconds:.0f} posts/s")
    print(
        f"feedparser.parse(bytes), default options: {fp_s:.2f} s (runs: "
        + ", ".join(f"{r:.2f}" for r in fp_runs)
        + f"); with the bot's options (sanitize_html=False, resolve_relative_uris=False): "
        f"{fp_bot_s:.2f} s"
    )
    print(f"bot.parse.parse_feed + item_to_post over the same bytes, alone: {parse_s:.2f} s")
    print(f"downloading the same feed pages alone: {dl_s:.2f} s")
    print(
        f"ratio B = {fig['ratio_b']:.2f} (target <= {TARGET_RATIO_B:g}); "
        f"against feedparser + download: {fig['ratio_b_with_download']:.2f}"
    )
    print_phases(rss)
    return fig


def _report_search(timings: Sequence[QueryTiming], fig: dict[str, Any]) -> None:
    ms = [t.ms for t in timings]
    kinds = sorted({t.kind for t in timings})
    by_kind = {k: [t for t in timings if t.kind == k] for k in kinds}
    rows = []
    for k in kinds:
        vals = [t.ms for t in by_kind[k]]
        example = max(by_kind[k], key=lambda t: t.ms)
        rows.append(
            (
                k,
                str(len(vals)),
                f"{percentile(vals, 50):.2f}",
                f"{percentile(vals, 95):.2f}",
                f"{max(vals):.2f}",
                f"{statistics.mean(t.hits for t in by_kind[k]):.1f}",
                example.query,
            )
        )
    print_table(rows, ("class", "n", "p50 ms", "p95 ms", "max ms", "hits", "slowest query"))
    slowest = max(kinds, key=lambda k: percentile([t.ms for t in by_kind[k]], 95))
    fig.update(
        search_queries=len(ms),
        search_p50_ms=percentile(ms, 50),
        search_p95_ms=percentile(ms, 95),
        search_max_ms=max(ms),
        search_slowest_class=slowest,
        search_by_class_p95_ms={k: percentile([t.ms for t in by_kind[k]], 95) for k in kinds},
        search_no_hits=sum(1 for t in timings if t.hits == 0),
    )
    print(
        f"all {len(ms)}: p50 {fig['search_p50_ms']:.2f} ms, p95 {fig['search_p95_ms']:.2f} ms, "
        f"max {fig['search_max_ms']:.2f} ms; slowest class (p95): {slowest}; "
        f"{fig['search_no_hits']} queries without hits"
    )


def print_summary(fig: dict[str, Any]) -> None:
    def met(ok: bool) -> str:
        return "yes" if ok else "NO"

    mode = "pre-rendered (raw)" if fig["prerendered"] else "live"
    rows = [
        ("posts", str(fig["posts"]), "", ""),
        ("fake server pages", mode, "", ""),
        ("REST backfill", f"{fig['rest_backfill_s']:.2f} s", "", ""),
        ("REST backfill rate", f"{fig['rest_posts_per_s']:.0f} posts/s", "", ""),
        ("REST download + json.loads", f"{fig['rest_download_decode_s']:.2f} s", "", ""),
        (
            "ratio A (backfill / download+decode)",
            f"{fig['ratio_a']:.2f}",
            f"<= {TARGET_RATIO_A:g}",
            met(fig["ratio_a"] <= TARGET_RATIO_A),
        ),
        ("RSS backfill", f"{fig['rss_backfill_s']:.2f} s", "", ""),
        ("RSS backfill rate", f"{fig['rss_posts_per_s']:.0f} posts/s", "", ""),
        ("feedparser.parse (default options)", f"{fig['rss_feedparser_s']:.2f} s", "", ""),
        (
            "ratio B (RSS backfill / feedparser)",
            f"{fig['ratio_b']:.2f}",
            f"<= {TARGET_RATIO_B:g}",
            met(fig["ratio_b"] <= TARGET_RATIO_B),
        ),
        ("store: db + wal after checkpoint", mib(fig["store_db_plus_wal_bytes"]), "", ""),
        (
            "store: db + wal before checkpoint",
            mib(
                fig["store_bytes_before_checkpoint"]["db"]
                + fig["store_bytes_before_checkpoint"]["-wal"]
            ),
            "",
            "",
        ),
        ("search p50", f"{fig['search_p50_ms']:.2f} ms", "", ""),
        (
            "search p95",
            f"{fig['search_p95_ms']:.2f} ms",
            f"<= {TARGET_SEARCH_P95_MS:g} ms",
            met(fig["search_p95_ms"] <= TARGET_SEARCH_P95_MS),
        ),
        ("search slowest class (p95)", fig["search_slowest_class"], "", ""),
    ]
    section("summary")
    m = fig["machine"]
    fig["load_average_at_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"nproc {m['nproc']}, Python {m['python']}, SQLite {m['sqlite']}, {m['cpu']}")
    print(
        f"load average: {m['load average at start']} at start, {fig['load_average_at_end']} at "
        "the end (other processes share these CPUs: compare runs with care)"
    )
    print_table(rows, ("figure", "value", "target", "met"))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    p.add_argument("--posts", type=int, default=20_000, help="posts on the site (20000)")
    p.add_argument("--queries", type=int, default=200, help="search queries timed (200)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    p.add_argument("--seed", type=int, default=1, help="random seed of the generated site")
    p.add_argument(
        "--rss-per-page", type=int, default=100, help="feed items per page (WordPress: 10)"
    )
    p.add_argument(
        "--repeat", type=int, default=3, help="runs of each baseline; the fastest counts (3)"
    )
    p.add_argument("--live", action="store_true", help="let the fake render every page live")
    p.add_argument("--workdir", type=Path, help="keep the databases here (default: a temp dir)")
    args = p.parse_args(argv)
    if args.posts < 1 or args.queries < 1 or args.repeat < 1 or args.rss_per_page < 1:
        p.error("--posts, --queries, --repeat and --rss-per-page must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.workdir is not None:
        if args.workdir.exists() and any(args.workdir.iterdir()):
            raise SystemExit(f"--workdir {args.workdir} is not empty")
        fig = asyncio.run(bench(args, args.workdir))
    else:
        with tempfile.TemporaryDirectory(prefix="hrm-bench-") as tmp:
            fig = asyncio.run(bench(args, Path(tmp)))
    print_summary(fig)
    if args.json is not None:
        args.json.write_text(json.dumps(fig, indent=2, ensure_ascii=False) + "\n")
        print(f"\nfigures written to {args.json}")


if __name__ == "__main__":
    main()
