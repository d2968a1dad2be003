"""Search latency benchmark for hrm-bot (a script, not a test: `make test` ignores it).

Run from the project root::

    .venv/bin/python bench/search.py                          # 100,000 posts, 500 queries
    .venv/bin/python bench/search.py --posts 5000 --queries 100 --json /tmp/search.json

It fills a fresh store with generated posts of two sites, as the bot follows them (the
English edition and the Persian one, each with its fixture categories, whose ids collide),
through the real API (``Store.upsert_posts`` in batches of 500): a third in Persian, titles
of 60-120 characters, bodies of 2-4 KB drawn with Zipf weights (1/rank) from an English
vocabulary of a few thousand word forms in which the human-rights words sit at ranks chosen
for their share of posts ("iran" in about 30% of them), or from a Persian one written with
ZWNJ (زندانی‌ها، می‌شود), a third of the Persian posts typed on an Arabic keyboard (ي/ك).
Publication times spread over ten years. Generating and storing are timed and printed, but
are not part of the figures. Then it measures:

1. ``Store.search({en: tree, fa: tree}, parse_query(q), limit=5)``, both editions as /search
   without ``edition:``, over ``--queries`` mixed queries (common and rare single words,
   two/three words, phrases, ``word*``, ``-word``, ``category:``/``since:`` filters, Persian
   typed with Arabic ي/ك, and Persian words with affixes typed in all three ways: with ZWNJ,
   with a space, joined): p50/p95/p99 overall and per class (target p95 <= 10 ms), with the
   share of each call spent ranking (the SQL), loading posts and making snippets. The three
   spellings of each word must find the same posts; the report says whether they did. Also,
   for single words from very common to rare, the median cost next to the number of matching
   posts: ranking walks only the newest 500 matches, so a common word should cost about what
   a rare one does.
2. A plain ``SELECT id FROM posts WHERE title LIKE ? OR content LIKE ? ORDER BY rank_key DESC
   LIMIT 5`` over the same table for the same English single-word queries, on the same
   connection in the same run: the ratio of its p50/p95 to the FTS search's.
3. End to end through the real Application (``tests/botharness.py``), following both
   editions (the two loopback fake WordPress sites), against the loopback fake Bot API
   server, on the same database file: the time from ``FakeTelegram.inline()``
   queueing an inline query to the bot's ``answerInlineQuery`` reaching the fake, for
   ``--inline`` queries sent one after another (target p95 <= 50 ms). It is split into
   delivery (queueing to the update reaching the bot's handlers: the getUpdates long poll,
   JSON, PTB's queue; seen by a TypeHandler in group -1) and handling (from there to the answer
   arriving: the inline handler's search with its 20 results, rendering, the HTTP call).

Everything runs in this process (the fakes in threads), so they share the GIL with the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiosqlite  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import TypeHandler  # noqa: E402

import storage.search as search_module  # noqa: E402
from bot.logs import quiet_libraries  # noqa: E402
from bot.site.parse import parse_terms  # noqa: E402
from storage import CategoryTree, PostIn, SearchPage, Store, parse_query  # noqa: E402
from tests.botharness import fast_settings, first_poll_done, running_bot  # noqa: E402
from tests.conftest import site_key  # noqa: E402
from tests.fakes.telegram import Call, FakeTelegram  # noqa: E402
from tests.fakes.wordpress import FakeWordPress  # noqa: E402

CATEGORIES_FILE = ROOT / "tests" / "data" / "wordpress" / "categories.json"
FA_CATEGORIES_FILE = ROOT / "tests" / "data" / "wordpress-fa" / "categories.json"
BATCH = 500
PERSIAN_SHARE = 1 / 3
ARABIC_KEYBOARD_SHARE = 0.33  # of the Persian posts
RARE_SHARE = 0.03  # posts carrying one word of the rare list
IRAN_TITLE_SHARE = 0.10  # English titles that start with "Iran:"
POOL_SIZE = 4_000_000  # Zipf draws that sentences are cut from
START = datetime(2015, 7, 1, tzinfo=UTC)
SPAN = timedelta(days=3652)
TARGET_SEARCH_P95_MS = 10.0
TARGET_INLINE_P95_MS = 50.0
INLINE_USER = 801
WARMUP_QUERIES = 20
FREQUENCY_REPEATS = 15

# --------------------------------------------------------------------------- vocabularies


def split_words(text: str) -> list[str]:
    return text.split()


# The most frequent English words, most frequent first: ranks 1..len.
EN_FUNCTION = split_words("""
the of and to in a is was that for on with by as at he his it from were are be had have an
has their they which this not been its after who also or but said her she him into more
than while over other two one three all there during under about them against since when
would out before were any some such would these those being only up because no what
where both between each first last new many most own same so then through very well
""")

# (word, share of English posts that should contain it): placed at the Zipf rank that gives it.
EN_THEMED: list[tuple[str, float]] = [
    ("iran", 0.22),
    ("prison", 0.24),
    ("prisoners", 0.20),
    ("rights", 0.10),
    ("human rights", 0.15),
    ("regime", 0.15),
    ("execution", 0.14),
    ("political", 0.14),
    ("death", 0.12),
    ("women", 0.11),
    ("iranian", 0.11),
    ("executed", 0.10),
    ("arrested", 0.10),
    ("court", 0.10),
    ("sentence", 0.09),
    ("security forces", 0.09),
    ("political prisoners", 0.08),
    ("judiciary", 0.08),
    ("activists", 0.08),
    ("death sentence", 0.07),
    ("tehran", 0.07),
    ("protests", 0.07),
    ("family", 0.07),
    ("evin prison", 0.06),
    ("intelligence", 0.06),
    ("torture", 0.06),
    ("hanged", 0.06),
    ("revolutionary court", 0.05),
    ("charges", 0.05),
    ("detained", 0.05),
    ("sentenced", 0.05),
    ("executions", 0.05),
    ("prisoner", 0.05),
    ("protesters", 0.04),
    ("lawyer", 0.04),
    ("trial", 0.04),
    ("women's rights", 0.03),
    ("qezel hesar", 0.03),
    ("karaj", 0.03),
    ("hunger strike", 0.03),
    ("solitary confinement", 0.03),
    ("baluch", 0.025),
    ("kurdish", 0.025),
    ("zahedan", 0.02),
    ("urmia", 0.02),
    ("shiraz", 0.02),
    ("isfahan", 0.02),
    ("mashhad", 0.02),
    ("moharebeh", 0.015),
    ("juvenile offender", 0.01),
    ("forced confession", 0.01),
    ("baha'i", 0.01),
    ("amnesty international", 0.01),
    ("special rapporteur", 0.01),
    ("united nations", 0.01),
    ("bail", 0.01),
    ("interrogation", 0.01),
    ("qarchak", 0.008),
    ("ghezel", 0.005),
    ("vakilabad", 0.004),
]

# Base forms of general English words; inflected below into a few thousand word forms.
EN_NOUNS = split_words("""
year month week day time people man woman child family group country city town village
province region government state official authority agency ministry minister president
leader member citizen resident worker teacher student doctor nurse journalist writer
artist singer athlete farmer driver officer guard agent judge prosecutor witness victim
body case report news statement source account letter message call campaign movement
party union association organization committee council parliament assembly office
building street road square center house home school university hospital clinic factory
market shop company bank business industry economy price wage salary job work strike
protest rally gathering crowd police force army unit camp base border area land water
food health care medicine treatment illness disease condition situation problem issue
question answer decision order rule law policy plan program project system process
number figure rate level amount cost fee fine money fund budget tax debt loss damage
life death birth age history record document file evidence proof detail fact truth
story event incident attack fire shot gun weapon bomb explosion accident crash injury
wound blood hand head eye face voice word name title page book paper article post video
photo image picture film program channel network media press website internet phone
cell room ward hall door wall window floor roof bed chair table light night morning
evening hour minute moment period term session meeting visit trip journey return release
arrest detention custody sentence verdict appeal hearing charge crime offence offense
murder theft fraud corruption bribe abuse violence threat pressure fear risk danger
safety security freedom liberty justice equality dignity respect duty obligation right
demand request complaint petition protest letter support help aid relief response
reaction concern attention interest view opinion belief faith religion minority culture
language tradition custom heritage identity community society nation world region
""")

EN_VERBS = split_words("""
arrest detain hold keep transfer move send bring take give receive report say tell ask
call confirm deny claim state announce publish release free sentence convict charge
accuse try judge execute hang kill shoot beat torture threaten harass summon interrogate
question pressure force refuse allow permit ban block close open start continue end
stop prevent protect defend support oppose condemn criticize demand urge call request
appeal visit meet speak talk write read learn know believe think consider decide plan
organize gather protest strike march chant attend join leave return travel cross flee
escape hide search find discover reveal expose investigate examine review record
document collect count estimate increase decrease rise fall grow reach exceed suffer
die survive live work pay cost lose win fail succeed manage struggle face fight resist
deliver provide offer deny ignore delay postpone cancel approve reject uphold overturn
""")

EN_ADJECTIVES = split_words("""
political social economic religious ethnic cultural legal illegal judicial civil human
international national local regional official public private secret unknown anonymous
young old elderly new recent former current early late long short high low large small
heavy serious severe harsh brutal cruel inhuman degrading unfair arbitrary unlawful
peaceful violent dangerous critical poor rich sick ill injured dead alive free innocent
guilty responsible independent famous prominent well-known unnamed detained imprisoned
""")

EN_RARE = split_words("""
Ghezelhesar-annex Dizelabad Sepidar Sheiban Lakan Adelabad Ghaemshahr Gohardasht
Choobindar Kachui Fashafuyeh Marivan Saqqez Bukan Piranshahr Sardasht Oshnavieh Khoy
Salmas Mahabad Naqadeh Baneh Divandarreh Kamyaran Ravansar Javanrud Dezful Behbahan
Masjed-Soleyman Izeh Andimeshk Shushtar Mahshahr Abadan Khorramshahr Minab Jask Chabahar
Iranshahr Saravan Khash Zabol Birjand Sabzevar Neyshabur Quchan Bojnurd Gorgan Gonbad
""")

# Persian, most frequent first (ZWNJ written as \u200c).
FA_WORDS = split_words("""
و در به از که این را با است برای آن یک خود تا بر شد می‌شود زندان اعدام زندانی
شده‌است حکم دادگاه سیاسی بازداشت ایران حقوق بشر زنان خانواده اتهام محکوم
سال حبس قزل‌حصار اوین تهران کرج شکنجه زندانی‌ها خانواده‌ها سال‌ها بازداشت‌شده
فعالان معترضان دستگیر قضاییه اطلاعات سپاه پاسداران انفرادی اعتصاب غذا درمان منتقل
آزادی وثیقه ماه مواد مخدر قتل محاربه افساد فی‌الارض بغی بلوچ کرد عرب بهایی اقلیت
مذهبی قومی دانشجو معلم کارگر روزنامه‌نگار مادر پدر پسر دختر برادر خواهر همسر کودکان
نوجوان پرونده بازجویی اعتراف اجباری عفو بین‌الملل سازمان ملل گزارشگر ویژه قطعنامه
گزارش آمار ماهانه دست‌کم منابع مطلع شیراز مشهد اصفهان تبریز زاهدان ارومیه کرمانشاه
اهواز رشت اعتراضات دیگر روز هفته پس پیش هنوز همچنین اما نیز باید نمی‌شود می‌کند
کرده‌است گفته بود بودند هستند کرد کردند شدند داده دادند گرفته گرفتند نشده مورد
وضعیت شرایط سلامت پزشکی بیمارستان وکیل قاضی بازپرس دادستان دادسرا انقلاب عمومی
حقوقی مدنی اجتماعی فرهنگی اقتصادی کارگری صنفی دانشگاه مدرسه خیابان شهر استان روستا
نیروهای امنیتی ماموران لباس‌شخصی تیراندازی کشته زخمی مجروح قربانی شاهد جسد
آرامگاه مراسم تجمع اعتراض شعار بیانیه نامه کمپین سه‌شنبه‌های نه به اعدام
زندان‌ها اعدام‌ها گزارش‌ها می‌کنند نمی‌دهند بی‌گناه مهم‌ترین بیش‌تر کرده‌اند شده‌اند
حادثه‌ای زندگی‌اش
""")

FA_RARE = split_words("""
وکیل‌آباد دیزل‌آباد سپیدار شیبان لاکان عادل‌آباد قائمشهر گوهردشت چوبیندر کچویی
فشافویه مریوان سقز بوکان پیرانشهر سردشت اشنویه خوی سلماس مهاباد نقده بانه
""")

ARABIC_KEYBOARD = str.maketrans({"ی": "ي", "ک": "ك"})


def inflect(words: Sequence[str], suffixes: Sequence[str]) -> list[str]:
    """Plausible English forms: nouns get -s, verbs -s/-ed/-ing, adjectives -ly."""
    out: list[str] = []
    for w in words:
        for suffix in suffixes:
            stem = w
            if suffix in ("ed", "ing", "ly") and w.endswith("e") and not w.endswith("ee"):
                stem = w[:-1]
            if suffix in ("s", "ed") and w.endswith("y") and w[-2:-1] not in "aeiou":
                stem, suffix = w[:-1], "ies" if suffix == "s" else "ied"
            elif suffix == "s" and w.endswith(("s", "x", "ch", "sh")):
                suffix = "es"
            out.append(stem + suffix)
    return out


def english_vocabulary(rng: random.Random, tokens_per_post: float) -> list[tuple[str, int]]:
    """(word form, Zipf rank): general forms in a shuffled order, themed words at the ranks
    that give them their share of posts. Some themed entries are two-word units."""
    general = [
        *EN_NOUNS,
        *EN_VERBS,
        *EN_ADJECTIVES,
        *inflect(EN_NOUNS, ["s"]),
        *inflect(EN_VERBS, ["s", "ed", "ing"]),
        *inflect(EN_ADJECTIVES, ["ly"]),
    ]
    themed = {w for w, _ in EN_THEMED}
    general = [w for w in dict.fromkeys(general) if w not in themed and w not in EN_FUNCTION]
    rng.shuffle(general)
    # More forms of the same words ("reporter", "arrestment") stretch it to a few thousand.
    tail = inflect(EN_NOUNS, ["er", "ers", "al", "ism"]) + inflect(EN_VERBS, ["er", "ment"])
    rng.shuffle(tail)
    ranked = [w for w in dict.fromkeys([*EN_FUNCTION, *general, *tail]) if w not in themed]
    size = len(ranked) + len(EN_THEMED)
    harmonic = sum(1.0 / r for r in range(1, size + 1))
    placed: dict[int, str] = {}
    for word, share in EN_THEMED:
        # P(a post holds the word) = 1 - (1 - p)^n with p = 1 / (rank * H).
        p = -math.log(1.0 - share) / tokens_per_post
        rank = max(len(EN_FUNCTION), round(1.0 / (p * harmonic)))
        while rank in placed:
            rank += 1
        placed[rank] = word
    out: list[tuple[str, int]] = []
    rest = iter(ranked)
    for rank in range(1, max(size, *placed) + 1):
        word = placed.get(rank) or next(rest, None)
        if word is not None:
            out.append((word, rank))
    return out


def zipf_pool(rng: random.Random, ranked: Sequence[tuple[str, int]], n: int) -> list[str]:
    cum: list[float] = []
    total = 0.0
    for _, rank in ranked:
        total += 1.0 / rank
        cum.append(total)
    return rng.choices([w for w, _ in ranked], cum_weights=cum, k=n)


# --------------------------------------------------------------------------- generation


@dataclass
class Corpus:
    en_words: list[tuple[str, int]]
    fa_words: list[tuple[str, int]]
    en_pool: list[str]
    fa_pool: list[str]
    category_ids: list[int]
    fa_category_ids: list[int]


def make_corpus(seed: int, category_ids: list[int], fa_category_ids: list[int]) -> Corpus:
    rng = random.Random(seed)
    # ~2-4 KB bodies of ~5.3-character tokens with their spaces.
    en_words = english_vocabulary(rng, tokens_per_post=3000 / 5.3)
    fa_words = [(w, rank) for rank, w in enumerate(dict.fromkeys(FA_WORDS), start=1)]
    return Corpus(
        en_words=en_words,
        fa_words=fa_words,
        en_pool=zipf_pool(rng, en_words, POOL_SIZE),
        fa_pool=zipf_pool(rng, fa_words, POOL_SIZE // 8),
        category_ids=category_ids,
        fa_category_ids=fa_category_ids,
    )


class PostMaker:
    """Deterministic posts, oldest first."""

    def __init__(self, corpus: Corpus, urls: Editions, total: int, seed: int) -> None:
        self.c = corpus
        self.urls = urls
        self.total = total
        self.rng = random.Random(seed + 1)

    def _words(self, persian: bool, n: int) -> list[str]:
        pool = self.c.fa_pool if persian else self.c.en_pool
        at = self.rng.randrange(len(pool) - n)
        return pool[at : at + n]

    def _sentence(self, persian: bool) -> str:
        words = self._words(persian, self.rng.randint(8, 22))
        if persian:
            if self.rng.random() < 0.3:
                words[self.rng.randrange(len(words))] += "،"
            return " ".join(words) + "."
        text = " ".join(words)
        return text[:1].upper() + text[1:] + "."

    def _content(self, persian: bool) -> str:
        target = self.rng.randint(2000, 4000)
        paragraphs: list[str] = []
        size = 0
        while size < target:
            para = " ".join(self._sentence(persian) for _ in range(self.rng.randint(2, 5)))
            paragraphs.append(para)
            size += len(para.encode()) + 2
        if self.rng.random() < RARE_SHARE:
            rare = self.rng.choice(FA_RARE if persian else EN_RARE)
            i = self.rng.randrange(len(paragraphs))
            paragraphs[i] = (
                f"{paragraphs[i][:-1]} in {rare}."
                if not persian
                else (f"{paragraphs[i][:-1]} در {rare}.")
            )
        return "\n\n".join(paragraphs)

    def _title(self, persian: bool) -> str:
        target = self.rng.randint(60, 120)
        words: list[str] = []
        if not persian and self.rng.random() < IRAN_TITLE_SHARE:
            words.append("Iran:")
        while len(" ".join(words)) < target:
            words.extend(self._words(persian, 4))
        title = " ".join(words)[:target].rsplit(" ", 1)[0]
        if persian:
            return title
        return " ".join(w[:1].upper() + w[1:] if len(w) > 3 else w for w in title.split())

    def make(self, i: int) -> PostIn:
        rng = self.rng
        persian = rng.random() < PERSIAN_SHARE
        title, content = self._title(persian), self._content(persian)
        if persian and rng.random() < ARABIC_KEYBOARD_SHARE:
            title, content = title.translate(ARABIC_KEYBOARD), content.translate(ARABIC_KEYBOARD)
        step = SPAN / self.total
        published = START + step * i + step * rng.random() * 0.9
        wp_id = 10_000_000 + i
        site_url = self.urls.fa if persian else self.urls.en
        url = f"{site_url}/{published:%Y/%m/%d}/post-{wp_id}/"
        categories = self.c.fa_category_ids if persian else self.c.category_ids
        return PostIn(
            url=url,
            title=title,
            excerpt=content[:300],
            content=content,
            lang="fa" if persian else "en",
            wp_id=wp_id,
            guid=f"{site_url}/?p={wp_id}",
            author="Iran HRM",
            published=published.replace(microsecond=0),
            categories=tuple(rng.sample(categories, rng.randint(1, 3))),
        )


@dataclass(frozen=True)
class Editions:
    """The English and Persian editions' site keys (``en_site``, ``fa_site``) or URLs."""

    en: str
    fa: str


@dataclass
class BuildInfo:
    posts: int
    generate_s: float
    store_s: float
    db_bytes: int
    wal_bytes: int
    persian: int


async def build_store(path: Path, sites: Editions, urls: Editions, n: int, seed: int) -> BuildInfo:
    cats = parse_terms(CATEGORIES_FILE.read_bytes())
    fa_cats = parse_terms(FA_CATEGORIES_FILE.read_bytes())
    t0 = time.perf_counter()
    corpus = make_corpus(seed, [c.wp_id for c in cats], [c.wp_id for c in fa_cats])
    maker = PostMaker(corpus, urls, n, seed)
    gen_s = time.perf_counter() - t0
    store_s = 0.0
    persian = 0
    store = await Store.open(path)
    try:
        tree = await store.replace_categories(sites.en, cats)
        fa_tree = await store.replace_categories(sites.fa, fa_cats)
        for start in range(0, n, BATCH):
            t0 = time.perf_counter()
            items = [maker.make(i) for i in range(start, min(n, start + BATCH))]
            t1 = time.perf_counter()
            en = [p for p in items if p.lang == "en"]
            fa = [p for p in items if p.lang == "fa"]
            await store.upsert_posts(sites.en, en, tree=tree, alert=False)
            await store.upsert_posts(sites.fa, fa, tree=fa_tree, alert=False)
            store_s += time.perf_counter() - t1
            gen_s += t1 - t0
            persian += sum(p.lang == "fa" for p in items)
            if (start // BATCH) % 40 == 39:
                print(f"  stored {start + BATCH:,} posts ({store_s:.0f} s)", flush=True)
        await store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await store.close()
    db_bytes, wal_bytes = file_sizes(path)
    return BuildInfo(n, gen_s, store_s, db_bytes, wal_bytes, persian)


def file_sizes(path: Path) -> tuple[int, int]:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size, wal.stat().st_size if wal.exists() else 0


# --------------------------------------------------------------------------- queries

SPELLINGS = ("fa-zwnj", "fa-space", "fa-joined")
CLASSES = (
    "common",
    "rare",
    "multi",
    "phrase",
    "prefix",
    "exclude",
    "filter",
    "persian",
    *SPELLINGS,
)
# Shares of the query mix: Persian a third, as in the posts.
MIX = {
    "common": 0.14,
    "rare": 0.09,
    "multi": 0.12,
    "phrase": 0.09,
    "prefix": 0.08,
    "exclude": 0.07,
    "filter": 0.08,
    "persian": 0.13,
    "fa-zwnj": 0.0667,
    "fa-space": 0.0667,
    "fa-joined": 0.0666,
}
COMMON = [
    "iran",
    "prison",
    "prisoners",
    "execution",
    "political",
    "women",
    "rights",
    "death",
    "regime",
    "executed",
    "court",
    "arrested",
    "tehran",
    "torture",
    "hanged",
    "family",
]
MULTI = [
    "iran prison",
    "women prison",
    "political prisoners iran",
    "execution karaj",
    "death sentence court",
    "tehran protests",
    "torture prison iran",
    "women activists",
    "hanged qezel hesar",
    "zahedan baluch",
    "iran regime executions",
    "lawyer trial",
    "hunger strike evin",
    "kurdish activists arrested",
    "urmia prison executed",
]
PHRASES = [
    '"political prisoners"',
    '"human rights"',
    '"death sentence"',
    '"evin prison"',
    '"hunger strike"',
    '"qezel hesar"',
    '"revolutionary court"',
    '"security forces"',
    '"women prison"',
    '"iran regime"',
    '"prison iran"',
    '"the prison"',
]
PREFIXES = [
    "exec*",
    "polit*",
    "prison*",
    "tortur*",
    "wom*",
    "arrest*",
    "sentenc*",
    "ir*",
    "pr*",
    "ha*",
    "qezel*",
    "zah*",
]
EXCLUDES = [
    "iran -execution",
    "prison -women",
    "execution -karaj",
    "women -prison",
    "iran -prison",
    "political -prisoners",
    "hanged -tehran",
    "torture -evin",
]
FILTERS = [
    "category:executions",
    "category:executions iran",
    "category:women prison",
    "since:2024-01",
    "since:2024-01 iran",
    "since:2024-01 execution",
    "category:political-prisoners since:2023-06",
    "category:prisons torture",
    "until:2018-01 prison",
    "category:executions since:2025-01 hanged",
]
PERSIAN = [
    "زنداني",
    "اعدام",
    "زندان",
    "قزل‌حصار",
    "قزلحصار",
    "زنداني‌ها",
    "كرج",
    "اعدام زنداني",
    "زنان زندانی",
    "شكنجه",
    '"حقوق بشر"',
    "سپاه پاسداران",
    "خانواده زنداني",
    "وكيل",
    "اعدام -كرج",
    "گوهردشت",
    "مهاباد",
    "روزنامه‌نگار",
    "دانشجو*",
    "بلوچ",
    "category:اعدام زندانی",
    "اعدام since:1400",
    "since:۱۴۰۲/۰۱/۰۱ زندان‌ها",
]
# Words with an affix (and phrases of them), written with ZWNJ as the posts write them; each
# is also queried with a space for the ZWNJ and joined, and must find the same posts.
FA_AFFIXED = [
    "زندانی‌ها",
    "می‌شود",
    "خانواده‌ها",
    "سال‌ها",
    "نمی‌شود",
    "می‌کند",
    "زندان‌ها",
    "اعدام‌ها",
    "بی‌گناه",
    "مهم‌ترین",
    "کرده‌اند",
    "حادثه‌ای",
    "زندگی‌اش",
    "زندانی‌ها اعدام",
    '"خانواده‌ها زندانی‌ها"',
    "می‌کنند -زندان‌ها",
]


def spelled(query: str, cls: str) -> str:
    """``query`` as typed in one of the three ways."""
    if cls == "fa-space":
        return query.replace("\u200c", " ")
    if cls == "fa-joined":
        return query.replace("\u200c", "")
    return query


def rare_words() -> list[str]:
    return [w.lower() for w in EN_RARE]


def make_queries(n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` (class, query) pairs in the MIX shares, shuffled."""
    rng = random.Random(seed + 2)
    pools: dict[str, list[str]] = {
        "common": COMMON,
        "rare": [*rare_words(), "nothingmatchesthis", "zzyzx"],
        "multi": MULTI,
        "phrase": PHRASES,
        "prefix": PREFIXES,
        "exclude": EXCLUDES,
        "filter": FILTERS,
        "persian": PERSIAN,
        **{cls: [spelled(q, cls) for q in FA_AFFIXED] for cls in SPELLINGS},
    }
    out: list[tuple[str, str]] = []
    for cls in CLASSES:
        k = max(1, round(n * MIX[cls]))
        pool = pools[cls]
        picks = [pool[i % len(pool)] for i in range(k)]  # every query at least once
        rng.shuffle(picks)
        out.extend((cls, q) for q in picks)
    rng.shuffle(out)
    return out[:n]


# --------------------------------------------------------------------------- statistics


def pct(values: Sequence[float], q: float) -> float:
    """Percentile with linear interpolation (q in 0..100)."""
    if not values:
        return math.nan
    s = sorted(values)
    k = (len(s) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary(ms: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(ms),
        "p50": pct(ms, 50),
        "p95": pct(ms, 95),
        "p99": pct(ms, 99),
        "max": max(ms) if ms else math.nan,
        "mean": statistics.fmean(ms) if ms else math.nan,
    }


def fmt(s: dict[str, float]) -> str:
    return (
        f"n={int(s['n']):4d}  p50 {s['p50']:7.2f}  p95 {s['p95']:7.2f}  p99 {s['p99']:7.2f}  "
        f"max {s['max']:7.2f} ms"
    )


# --------------------------------------------------------------------------- 1 and 2: the store

T = TypeVar("T")


class Split:
    """Time spent inside storage.search's get_posts and _snippets (wrapped for the run)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, func: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
        async def timed(*args: Any, **kw: Any) -> T:
            t0 = time.perf_counter()
            try:
                return await func(*args, **kw)
            finally:
                self.seconds[name] += time.perf_counter() - t0

        return timed

    def wrap_sync(self, name: str, func: Callable[..., T]) -> Callable[..., T]:
        def timed(*args: Any, **kw: Any) -> T:
            t0 = time.perf_counter()
            try:
                return func(*args, **kw)
            finally:
                self.seconds[name] += time.perf_counter() - t0

        return timed

    def take(self) -> dict[str, float]:
        out = dict(self.seconds)
        self.seconds.clear()
        return out


@dataclass
class QueryTime:
    cls: str
    query: str
    ms: float
    hits: int
    posts_ms: float
    snippets_ms: float


@dataclass
class StoreResults:
    times: list[QueryTime] = field(default_factory=list)
    like_ms: list[float] = field(default_factory=list)
    fts_single_ms: list[float] = field(default_factory=list)
    frequency: list[dict[str, Any]] = field(default_factory=list)
    match_share: dict[str, float] = field(default_factory=dict)
    # Per affixed query: the posts found by each spelling (newest 20), and whether they agree.
    spellings: list[dict[str, Any]] = field(default_factory=list)


async def timed_search(
    store: Store, trees: Mapping[str, CategoryTree], q: str, limit: int = 5
) -> SearchPage:
    return await store.search(trees, parse_query(q), limit=limit)


async def match_count(db: aiosqlite.Connection, q: str) -> int:
    match = search_module.to_fts(parse_query(q))
    async with db.execute("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH ?", (match,)) as c:
        row = await c.fetchone()
    return int(row[0]) if row else 0


async def bench_store(
    path: Path, sites: Editions, queries: Sequence[tuple[str, str]], *, like: bool
) -> StoreResults:
    res = StoreResults()
    split = Split()
    real_posts, real_snippets = search_module.get_posts, search_module._snippets
    search_module.get_posts = split.wrap("posts", real_posts)  # type: ignore[assignment]
    search_module._snippets = split.wrap_sync("snippets", real_snippets)  # type: ignore[assignment]
    store = await Store.open(path)
    try:
        # Both editions, as /search and inline mode search without edition:.
        trees = {site: await store.load_tree(site) for site in (sites.en, sites.fa)}
        for _, q in queries[:WARMUP_QUERIES]:
            await timed_search(store, trees, q)
        split.take()
        for cls, q in queries:
            t0 = time.perf_counter()
            page = await timed_search(store, trees, q)
            ms = (time.perf_counter() - t0) * 1000
            parts = split.take()
            res.times.append(
                QueryTime(
                    cls,
                    q,
                    ms,
                    len(page.hits),
                    parts.get("posts", 0.0) * 1000,
                    parts.get("snippets", 0.0) * 1000,
                )
            )
        for q in FA_AFFIXED:
            found = {
                cls: [
                    h.post.id for h in (await timed_search(store, trees, spelled(q, cls), 20)).hits
                ]
                for cls in SPELLINGS
            }
            split.take()
            same = all(found[cls] == found[SPELLINGS[0]] for cls in SPELLINGS)
            res.spellings.append({"query": q, "found": len(found[SPELLINGS[0]]), "same": same})
        total = await store.count_posts()
        for word in [
            *COMMON[:6],
            "tehran",
            "torture",
            "اعدام",
            "زندانی‌ها",
            "زندانی ها",
            "مهاباد",
            "qarchak",
            "vakilabad",
            "dizelabad",
            "nothingmatchesthis",
        ]:
            count = await match_count(store.db, word)
            runs: list[float] = []
            ranking: list[float] = []
            for _ in range(FREQUENCY_REPEATS):
                t0 = time.perf_counter()
                await timed_search(store, trees, word)
                ms = (time.perf_counter() - t0) * 1000
                parts = split.take()
                runs.append(ms)
                ranking.append(ms - 1000 * (parts.get("posts", 0.0) + parts.get("snippets", 0.0)))
            res.frequency.append(
                {
                    "word": word,
                    "matches": count,
                    "share": count / total if total else 0.0,
                    "median_ms": statistics.median(runs),
                    "ranking_median_ms": statistics.median(ranking),
                }
            )
        for word in COMMON:
            res.match_share[word] = (await match_count(store.db, word)) / max(total, 1)
        if like:
            singles = [t for t in res.times if t.cls in ("common", "rare")]
            res.fts_single_ms = [t.ms for t in singles]
            sql = (
                "SELECT id FROM posts WHERE title LIKE ? OR content LIKE ? "
                "ORDER BY rank_key DESC LIMIT 5"
            )
            for t in singles:
                pattern = f"%{t.query}%"
                t0 = time.perf_counter()
                async with store.db.execute(sql, (pattern, pattern)) as cur:
                    await cur.fetchall()
                res.like_ms.append((time.perf_counter() - t0) * 1000)
    finally:
        search_module.get_posts = real_posts  # type: ignore[assignment]
        search_module._snippets = real_snippets  # type: ignore[assignment]
        await store.close()
    return res


# --------------------------------------------------------------------------- 3: inline, end to end


@dataclass
class InlineTime:
    cls: str
    query: str
    total_ms: float
    delivery_ms: float
    handling_ms: float
    bot_ms: float
    fake_ms: float
    results: int
    payload_bytes: int


async def wait_until(check: Callable[[], bool], limit_s: float, what: str) -> None:
    deadline = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.0005)


async def bench_inline(
    path: Path,
    tg: FakeTelegram,
    wp: FakeWordPress,
    wp_fa: FakeWordPress,
    queries: Sequence[tuple[str, str]],
) -> tuple[list[InlineTime], float]:
    """Per-query times, and the seconds the bot took to start and finish its first polls."""
    settings = fast_settings(tg, wp, path, site_url_fa=wp_fa.url, inline_per_minute=100_000)
    dispatched: dict[str, float] = {}

    async def seen(update: Update, _context: object) -> None:
        if update.inline_query is not None:
            dispatched[update.inline_query.id] = time.monotonic()

    t0 = time.perf_counter()
    out: list[InlineTime] = []
    async with running_bot(settings, tg, wp) as bot:
        for site in (site_key(wp.url), site_key(wp_fa.url)):
            for _ in range(6):  # first_poll_done waits 10 s at most; the sites are small
                try:
                    await first_poll_done(bot.store, site)
                    break
                except AssertionError:
                    continue
        startup_s = time.perf_counter() - t0
        bot.app.add_handler(TypeHandler(Update, seen), group=-1)
        warmup = [("warmup", q) for _, q in queries[:WARMUP_QUERIES]]
        for i, (cls, q) in enumerate([*warmup, *queries]):
            before = len(tg.answers("answerInlineQuery"))
            sent = time.monotonic()
            qid = tg.inline(INLINE_USER, q)
            await wait_until(
                lambda before=before: len(tg.answers("answerInlineQuery")) > before,  # type: ignore[misc]
                10.0,
                f"no answer to inline query {q!r}",
            )
            answer = tg.answers("answerInlineQuery")[-1]
            assert answer.query_id == qid, (answer.query_id, qid)
            if i < len(warmup):
                continue
            call = await answer_call(tg, qid)
            at = dispatched.get(qid, math.nan)
            out.append(
                InlineTime(
                    cls,
                    q,
                    total_ms=(answer.at - sent) * 1000,
                    delivery_ms=(at - sent) * 1000,
                    handling_ms=(answer.at - at) * 1000,
                    bot_ms=(call.at - at) * 1000,
                    fake_ms=(answer.at - call.at) * 1000,
                    results=len(answer.params.get("results") or []),
                    payload_bytes=len(urlencode({"r": json.dumps(answer.params["results"])})),
                )
            )
    return out, startup_s


async def answer_call(tg: FakeTelegram, qid: str) -> Call:
    """The fake's record of the answerInlineQuery request (appended just after the answer)."""

    def find() -> Call | None:
        for call in reversed(tg.calls_of("answerInlineQuery")):
            if str(call.params.get("inline_query_id")) == qid:
                return call
        return None

    await wait_until(lambda: find() is not None, 5.0, f"no answerInlineQuery call for {qid}")
    call = find()
    assert call is not None
    return call


# --------------------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_count": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "loadavg": os.getloadavg(),
    }


def by_class(times: Sequence[QueryTime]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for cls in CLASSES:
        sel = [t for t in times if t.cls == cls]
        if not sel:
            continue
        s = summary([t.ms for t in sel])
        s["ranking_p50"] = pct([t.ms - t.posts_ms - t.snippets_ms for t in sel], 50)
        s["posts_p50"] = pct([t.posts_ms for t in sel], 50)
        s["snippets_p50"] = pct([t.snippets_ms for t in sel], 50)
        s["hits_mean"] = statistics.fmean(t.hits for t in sel)
        out[cls] = s
    return out


def slowest(times: Sequence[QueryTime], k: int = 8) -> list[dict[str, Any]]:
    worst: dict[str, float] = {}
    for t in times:
        worst[t.query] = max(worst.get(t.query, 0.0), t.ms)
    return [
        {"query": q, "max_ms": ms}
        for q, ms in sorted(worst.items(), key=lambda kv: kv[1], reverse=True)[:k]
    ]


def report(
    args: argparse.Namespace,
    build: BuildInfo,
    store_res: StoreResults,
    inline: list[InlineTime] | None,
    startup_s: float,
) -> dict[str, Any]:
    m = machine()
    print()
    print("== hrm-bot search benchmark")
    print(
        f"machine: {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, "
        f"SQLite {m['sqlite']}, {m['platform']}; load average at the end "
        + " ".join(f"{x:.1f}" for x in m["loadavg"])
    )
    print(
        f"store: {build.posts:,} posts ({build.persian:,} Persian), "
        f"{build.db_bytes / 2**20:,.0f} MiB on disk (+{build.wal_bytes / 2**20:.0f} MiB WAL); "
        f"generating {build.generate_s:.1f} s, storing {build.store_s:.1f} s "
        f"({build.posts / max(build.store_s, 1e-9):,.0f} posts/s); not in the figures"
    )
    shares = ", ".join(f"{w} {s:.0%}" for w, s in list(store_res.match_share.items())[:8])
    print(f"posts matching: {shares}")

    times = store_res.times
    overall = summary([t.ms for t in times])
    classes = by_class(times)
    verdict = "OK" if overall["p95"] <= TARGET_SEARCH_P95_MS else "MISSED"
    print()
    print(f"1. Store.search(limit=5), {len(times)} queries after {WARMUP_QUERIES} warm-up")
    print(f"   all      {fmt(overall)}   target p95 <= {TARGET_SEARCH_P95_MS:g} ms: {verdict}")
    for cls, s in classes.items():
        print(
            f"   {cls:9s} {fmt(s)}   p50 split: ranking {s['ranking_p50']:.2f} / "
            f"posts {s['posts_p50']:.2f} / snippets {s['snippets_p50']:.2f}; "
            f"hits {s['hits_mean']:.1f}"
        )
    agree = sum(s["same"] for s in store_res.spellings)
    print(
        f"   the three spellings found the same posts for {agree} of "
        f"{len(store_res.spellings)} affixed queries"
        + "".join(f"\n     differ: {s['query']}" for s in store_res.spellings if not s["same"])
    )
    print("   slowest queries (max ms):")
    for w in slowest(times):
        print(f"     {w['max_ms']:8.2f}  {w['query']}")
    print(f"   cost by frequency (median of {FREQUENCY_REPEATS} runs):")
    for f in store_res.frequency:
        print(
            f"     {f['word']:20s} {f['matches']:7,d} posts ({f['share']:6.2%})  "
            f"{f['median_ms']:6.2f} ms  (ranking SQL {f['ranking_median_ms']:6.2f} ms)"
        )

    out: dict[str, Any] = {
        "machine": m,
        "args": {"posts": args.posts, "queries": args.queries, "inline": args.inline},
        "build": build.__dict__,
        "match_share": store_res.match_share,
        "search": {"all": overall, "classes": classes, "slowest": slowest(times)},
        "frequency": store_res.frequency,
        "spellings": store_res.spellings,
    }
    if store_res.like_ms:
        like = summary(store_res.like_ms)
        fts = summary(store_res.fts_single_ms)
        ratio50, ratio95 = like["p50"] / fts["p50"], like["p95"] / fts["p95"]
        print()
        print(f"2. LIKE '%word%' vs FTS, the same {len(store_res.like_ms)} single-word queries")
        print(f"   FTS search {fmt(fts)}")
        print(f"   LIKE scan  {fmt(like)}")
        print(f"   LIKE/FTS: p50 x{ratio50:.1f}, p95 x{ratio95:.1f}")
        out["like"] = {"fts": fts, "like": like, "ratio_p50": ratio50, "ratio_p95": ratio95}
    if inline is not None:
        total = summary([t.total_ms for t in inline])
        delivery = summary([t.delivery_ms for t in inline])
        handling = summary([t.handling_ms for t in inline])
        verdict = "OK" if total["p95"] <= TARGET_INLINE_P95_MS else "MISSED"
        print()
        print(
            f"3. Inline query -> answerInlineQuery through the running bot, {len(inline)} "
            f"queries (bot start and first poll {startup_s:.1f} s)"
        )
        print(f"   end to end {fmt(total)}   target p95 <= {TARGET_INLINE_P95_MS:g} ms: {verdict}")
        print(f"   delivery   {fmt(delivery)}   (queued -> the bot's handlers)")
        print(f"   handling   {fmt(handling)}   (handlers -> answer at the fake), of which")
        bot_side = summary([t.bot_ms for t in inline])
        fake_side = summary([t.fake_ms for t in inline])
        print(f"     bot      {fmt(bot_side)}   (handlers -> request reaches the fake)")
        print(f"     fake     {fmt(fake_side)}   (the fake reads, parses and checks the request)")
        per: dict[str, dict[str, float]] = {}
        for cls in CLASSES:
            sel = [t.total_ms for t in inline if t.cls == cls]
            if sel:
                per[cls] = summary(sel)
                print(f"   {cls:9s}   {fmt(per[cls])}")
        results = statistics.fmean(t.results for t in inline) if inline else 0.0
        payload = statistics.fmean(t.payload_bytes for t in inline) if inline else 0.0
        print(
            f"   results per answer: {results:.1f} on average; "
            f"answerInlineQuery body about {payload / 1024:.1f} KiB (form-encoded)"
        )
        out["inline"] = {
            "total": total,
            "delivery": delivery,
            "handling": handling,
            "bot": bot_side,
            "fake": fake_side,
            "payload_bytes_mean": payload,
            "classes": per,
            "startup_s": startup_s,
            "results_mean": results,
        }
    return out


# --------------------------------------------------------------------------- main


@contextlib.contextmanager
def workdir(db: str | None) -> Iterator[Path]:
    if db:
        path = Path(db)
        for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            p.unlink(missing_ok=True)
        yield path
        return
    tmp = Path(tempfile.mkdtemp(prefix="hrm-bench-search-"))
    try:
        yield tmp / "hrm.sqlite3"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    wp = FakeWordPress.from_fixtures()
    wp.start()
    wp_fa = FakeWordPress.persian()
    wp_fa.start()
    tg = FakeTelegram()
    tg.start()
    tg.private(INLINE_USER, known=True)
    try:
        sites = Editions(site_key(wp.url), site_key(wp_fa.url))
        with workdir(args.db) as path:
            print(
                f"generating and storing {args.posts:,} posts for sites {sites.en} and "
                f"{sites.fa} in {path}"
            )
            build = await build_store(
                path, sites, Editions(wp.url, wp_fa.url), args.posts, args.seed
            )
            queries = make_queries(args.queries, args.seed)
            print(f"searching: {len(queries)} queries")
            store_res = await bench_store(path, sites, queries, like=not args.no_like)
            inline: list[InlineTime] | None = None
            startup_s = 0.0
            if args.inline:
                print(f"inline: {args.inline} queries through the bot")
                inline_queries = make_queries(args.inline, args.seed + 7)
                inline, startup_s = await bench_inline(path, tg, wp, wp_fa, inline_queries)
            return report(args, build, store_res, inline, startup_s)
    finally:
        tg.stop()
        wp.stop()
        wp_fa.stop()
        errors = [*tg.internal_errors, *wp.errors, *wp_fa.errors]
        if errors:
            print("fake servers reported errors:", *errors, sep="\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--posts", type=int, default=100_000, help="posts to store")
    parser.add_argument("--queries", type=int, default=500, help="store searches to time")
    parser.add_argument("--inline", type=int, default=200, help="inline queries (0: skip)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-like", action="store_true", help="skip the LIKE comparison")
    parser.add_argument("--db", help="database file to (re)create and keep (default: temp)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    quiet_libraries("WARNING")
    result = asyncio.run(run(args))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
