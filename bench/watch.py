"""Watched-phrase matching benchmark for hrm-bot (a script, not a test: `make test` ignores it).

Run from the project root::

    .venv/bin/python bench/watch.py                      # 5,000 chats, 1,000 and 10,000 phrases
    .venv/bin/python bench/watch.py --repeat 2 --warm 1  # a quick look (~30 s)
    .venv/bin/python bench/watch.py --phrases 1000,3000,10000 --json /tmp/watch.json

What it measures: the cost of matching every chat's watched phrases against a batch of new
posts, inside ``Store.upsert_posts(..., alert=True)`` (``storage/posts.py`` ``_enqueue``,
``storage/watches.py`` ``WatchIndex``), side by side with storing the same batch in a store
that has no phrases.

A base store is built once (a temp file): ``--chats`` private chats (5,000; a third Persian),
each following two categories of a generated tree (topics, prisons, provinces, with parents),
and ``--archive`` older posts (stored without alerts). Each ``--phrases`` count (1,000 and
10,000) is then a copy of that base with that many rows in ``watches``: the smaller sets are
subsets of the largest, drawn from names of people (1-3 words: «Narges Mohammadi», «نرگس
محمدی»), prisons («Evin prison», «زندان اوین»), cities and topics, a third Persian (some typed
with Arabic ي/ك), an eighth from a short list of popular phrases that many chats watch. The
rows are inserted straight into the table (what ``Store.watch`` writes, without its
transaction per phrase).

Batches are 100 new posts (``--batch``) of about 3,000 characters of text each (a third
Persian), in which names, prisons, cities and topics are mentioned as the phrases are drawn,
so phrases match. Every run copies a configuration's file afresh, opens a new ``Store`` and
stores the same sequence of batches with ``alert=True``: the first (cold: the store loads
the phrase index from the database) then ``--warm`` more (the index cached). Runs of every
configuration are interleaved, ``--repeat`` times (5). Matching cost = (time with phrases) -
(time with none), medians, per batch of 100. Target: <= 100 ms at 10,000 phrases.

It also times, with no database: ``load_index`` from a freshly opened store, cutting the
posts into words as ``upsert_posts`` does, ``WatchIndex.match`` alone, and a naive scan (each
distinct phrase searched in each post's text) as the phrases x reports reference; the naive
scan also checks that the index finds the same (chat, phrase) pairs.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The machine's description and the report's layout, as ingest.py prints them (bench/ is on
# the path when a script of it runs).
from ingest import machine, print_table, section  # noqa: E402

from storage import Category, CategoryTree, PostIn, Store, fold  # noqa: E402
from storage.normalize import normalize, words  # noqa: E402
from storage.posts import indexed_body  # noqa: E402
from storage.watches import MAX_PHRASES, WatchIndex, load_index  # noqa: E402

SITE = "iran-hrm.com"
TARGET_MS = 100.0
PERSIAN_SHARE = 1 / 3
POPULAR_SHARE = 0.12  # phrases drawn from the popular list
MENTION_POPULAR = 0.12  # names in the posts drawn from it
MENTION_SHARE = 0.12  # sentences of a post that name someone or somewhere
TEXT_CHARS = 3_000

# --------------------------------------------------------------------------- vocabulary


def _words(text: str) -> list[str]:
    return text.split()


# Roughly by frequency: drawn with Zipf weights (1/rank).
EN_WORDS = _words("""
the of and to in a was on for that by with prisoners execution is were regime political
death women human rights his her he she had been executed arrested court sentence security
forces family activists protest report judiciary prisoner authorities intelligence ministry
revolutionary guards charges detained sentenced years hanged families lawyer trial torture
solitary confinement hunger strike medical care denied transferred released bail months
public executions drug-related murder corruption minority religious ethnic student teacher
worker labor union journalist blogger dissident mother father son daughter brother sister
wife husband children young juvenile offender age crime case file interrogation forced
confession televised amnesty international United Nations special rapporteur resolution
monthly statistics number least according sources informed groups organization condemned
called community silence release immediate unconditional campaign detention center ward
quarantine visit phone calls lawyers appeal supreme upheld branch judge verdict retrial
""")
FA_WORDS = _words("""
و در به از که این را با است زندان اعدام زندانی حکم دادگاه سیاسی بازداشت شکنجه زنان خانواده
می‌شود شده‌است زندانی‌ها خانواده‌ها سال‌ها حقوق بشر فعالان معترضان دستگیر قوه قضاییه اطلاعات
سپاه پاسداران اتهام محکوم سال حبس انفرادی اعتصاب غذا درمان منتقل آزادی وثیقه ماه مواد مخدر
قتل محاربه افساد بغی بلوچ کرد عرب بهایی اقلیت مذهبی قومی دانشجو معلم کارگر روزنامه‌نگار مادر
پدر پسر دختر برادر خواهر همسر کودکان نوجوان پرونده بازجویی اعتراف اجباری عفو بین‌الملل سازمان
ملل گزارشگر ویژه قطعنامه گزارش آمار ماهانه دست‌کم منابع مطلع ملاقات تماس تلفنی وکیل تجدیدنظر
دیوان عالی تایید شعبه قاضی بند قرنطینه بهداری
""")

EN_FIRST = _words("""
Narges Nasrin Sepideh Golrokh Atena Zeinab Maryam Fatemeh Nazanin Niloufar Mahsa Hadis Nika
Sarina Toomaj Hossein Mohammad Ali Reza Ahmad Mehdi Majid Mohsen Navid Saeed Hamid Amir Behnam
Farhad Kamran Arash Babak Dariush Ebrahim Habib Javad Kourosh Mostafa Omid Payam Ramin Sohrab
Vahid Yousef Zahra Leila Shirin Parisa Roya Samira Soheila Taraneh Mahvash Fariba Jamshid
Ahmadreza Siamak Bahareh Elham Azadeh Pakhshan Varisheh Sharifeh Kian Saman Peyman Pouya
Soroush Milad Shahin Afshin Keyvan Bijan Hooman Mojgan Negin Sima Ghazal Mina Forough Homa
""")
EN_LAST = _words("""
Mohammadi Sotoudeh Rashidi Iraee Daemi Jalalian Akbari Hosseini Ahmadi Rezaei Karimi Moradi
Jafari Ghasemi Rahimi Kazemi Sadeghi Heidari Mousavi Zamani Salehi Bagheri Nouri Amini Hashemi
Ebrahimi Mahmoudi Abbasi Taheri Shahbazi Farahani Golshani Kiani Najafi Soltani Yazdani Asadi
Bahrami Khodabandeh Rostami Safari Tavakoli Vahedi Zarei Alizadeh Ranjbar Shariati Djalali
Sharmahd Azizi Kamali Sabet Ghadiani Nasiri Hamidi Karami Shakeri Rahnavard Mirhashemi
Tehrani Shirazi Esfahani Tabrizi Kermani Yazdi Rashti Qazvini Zanjani Hamedani Ardabili
Mashhadi Gilani Khorasani Kashani Semnani Ahvazi Dezfuli Sabzevari Neyshaburi Lahiji Langroudi
Borujerdi Golpayegani Najafabadi Khoyi Maraghei Hosseinzadeh Alipour Rezapour Hassanzadeh
Karimpour Ghasempour Mohammadpour Jafarzadeh Rahimzadeh Kazemzadeh Abbaszadeh Moradpour
Valizadeh Nikkhah Pourmohammadi Shokri Fathi Jamali Sharifi Rahmani Ghaffari Dehghani
""")
FA_FIRST = _words("""
نرگس نسرین سپیده گلرخ آتنا زینب مریم فاطمه نازنین نیلوفر مهسا حدیث نیکا سارینا توماج حسین محمد
علی رضا احمد مهدی مجید محسن نوید سعید حمید امیر بهنام فرهاد کامران آرش بابک داریوش ابراهیم حبیب
جواد کوروش مصطفی امید پیام رامین سهراب وحید یوسف زهرا لیلا شیرین پریسا رویا سمیرا سهیلا ترانه
مهوش فریبا جمشید احمدرضا سیامک بهاره الهام آزاده پخشان وریشه شریفه کیان سامان پیمان پویا
سروش میلاد شاهین افشین کیوان بیژن هومن مژگان نگین سیما غزل مینا فروغ هما
""")
FA_LAST = _words("""
محمدی ستوده رشیدی ایرایی دائمی جلالیان اکبری حسینی احمدی رضایی کریمی مرادی جعفری قاسمی رحیمی
کاظمی صادقی حیدری موسوی زمانی صالحی باقری نوری امینی هاشمی ابراهیمی محمودی عباسی طاهری شهبازی
فراهانی گلشنی کیانی نجفی سلطانی یزدانی اسدی بهرامی خدابنده رستمی صفری توکلی واحدی زارعی علیزاده
رنجبر شریعتی جلالی شارمهد عزیزی کمالی ثابت قدیانی نصیری حمیدی کرمی شاکری رهنورد میرهاشمی
تهرانی شیرازی اصفهانی تبریزی کرمانی یزدی رشتی قزوینی زنجانی همدانی اردبیلی مشهدی گیلانی خراسانی
کاشانی سمنانی اهوازی دزفولی سبزواری نیشابوری لاهیجی لنگرودی بروجردی گلپایگانی نجف‌آبادی خویی
مراغه‌ای حسین‌زاده علی‌پور رضاپور حسن‌زاده کریم‌پور قاسم‌پور محمدپور جعفرزاده رحیم‌زاده کاظم‌زاده
عباس‌زاده مرادپور ولی‌زاده نیکخواه پورمحمدی شکری فتحی جمالی شریفی رحمانی غفاری دهقانی
""")
EN_CITIES = _words("""
Tehran Karaj Shiraz Isfahan Mashhad Tabriz Zahedan Urmia Kermanshah Ahvaz Rasht Sanandaj
Mahabad Bukan Saqqez Piranshahr Iranshahr Chabahar Khash Qom Arak Yazd Kerman Ardabil Zanjan
Hamedan Qazvin Gorgan Sari Birjand Bushehr Ilam Khorramabad Semnan Shahrekord Yasuj Dezful
Marivan Baneh Javanrud Izeh Abadan Mahshahr
""")
FA_CITIES = _words("""
تهران کرج شیراز اصفهان مشهد تبریز زاهدان ارومیه کرمانشاه اهواز رشت سنندج مهاباد بوکان سقز
پیرانشهر ایرانشهر چابهار خاش قم اراک یزد کرمان اردبیل زنجان همدان قزوین گرگان ساری بیرجند
بوشهر ایلام خرم‌آباد سمنان شهرکرد یاسوج دزفول مریوان بانه جوانرود ایذه آبادان ماهشهر
""")
EN_PRISONS = [
    "Evin prison",
    "Qezel Hesar prison",
    "Ghezel Hesar",
    "Vakilabad prison",
    "Adelabad prison",
    "Lakan prison",
    "Dizelabad prison",
    "Sepidar prison",
    "Sheiban prison",
    "Urmia Central Prison",
    "Tabriz Central Prison",
    "Zahedan Central Prison",
    "Qarchak prison",
    "Greater Tehran Penitentiary",
    "Rajaei Shahr",
    "Fashafuyeh",
]
FA_PRISONS = [
    "زندان اوین",
    "زندان قزل‌حصار",
    "قزل حصار",
    "زندان وکیل‌آباد",
    "زندان عادل‌آباد",
    "زندان لاکان",
    "زندان دیزل‌آباد",
    "زندان سپیدار",
    "زندان شیبان",
    "زندان مرکزی ارومیه",
    "زندان مرکزی تبریز",
    "زندان مرکزی زاهدان",
    "زندان قرچک",
    "زندان تهران بزرگ",
    "رجایی‌شهر",
    "فشافویه",
]
EN_TOPICS = [
    "hunger strike",
    "death sentence",
    "juvenile offender",
    "Baha'i",
    "Kurdish political prisoners",
    "Woman Life Freedom",
    "public execution",
    "drug-related executions",
    "qisas",
    "moharebeh",
    "fuel porters",
    "kolbar",
    "Baluch prisoners",
    "forced confession",
    "teachers union",
    "labor activist",
]
FA_TOPICS = [
    "اعتصاب غذا",
    "حکم اعدام",
    "کودک‌مجرم",
    "بهاییان",
    "زندانیان سیاسی کرد",
    "زن زندگی آزادی",
    "اعدام در ملاء عام",
    "قصاص",
    "محاربه",
    "سوخت‌بر",
    "کولبر",
    "زندانیان بلوچ",
    "اعتراف اجباری",
    "کانون صنفی معلمان",
    "فعال کارگری",
]
# Watched by many chats and named in many reports (Zipf weights, first is the most).
EN_POPULAR = [
    "Narges Mohammadi",
    "Evin prison",
    "Ghezel Hesar",
    "Zahedan",
    "hunger strike",
    "Toomaj Salehi",
    "Nasrin Sotoudeh",
    "Ahmadreza Djalali",
    "Pakhshan Azizi",
    "Varisheh Moradi",
    "Sharifeh Mohammadi",
    "Mahsa Amini",
    "Jamshid Sharmahd",
    "Urmia",
    "Kermanshah",
    "death sentence",
    "Baluch prisoners",
    "Qarchak prison",
    "Golrokh Iraee",
    "Sepideh Rashidi",
]
FA_POPULAR = [
    "نرگس محمدی",
    "زندان اوین",
    "قزل‌حصار",
    "زاهدان",
    "اعتصاب غذا",
    "توماج صالحی",
    "نسرین ستوده",
    "احمدرضا جلالی",
    "پخشان عزیزی",
    "وریشه مرادی",
    "شریفه محمدی",
    "مهسا امینی",
    "جمشید شارمهد",
    "ارومیه",
    "کرمانشاه",
    "حکم اعدام",
    "زندانیان بلوچ",
    "زندان قرچک",
    "گلرخ ایرایی",
    "سپیده رشیدی",
]
ARABIC_KEYS = str.maketrans({"ی": "ي", "ک": "ك"})


def _cum_weights(n: int) -> list[float]:
    total, out = 0.0, []
    for rank in range(n):
        total += 1.0 / (rank + 1)
        out.append(total)
    return out


@dataclass
class Lang:
    code: str
    vocab: list[str]
    first: list[str]
    last: list[str]
    places: list[str]  # prisons and cities
    topics: list[str]
    popular: list[str]
    vocab_cum: list[float] = field(init=False)
    popular_cum: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self.vocab_cum = _cum_weights(len(self.vocab))
        self.popular_cum = _cum_weights(len(self.popular))

    def entity(self, rng: random.Random, popular_share: float = POPULAR_SHARE) -> str:
        """A name of a person (1-3 words), a prison or a city, or a topic."""
        if rng.random() < popular_share:
            return rng.choices(self.popular, cum_weights=self.popular_cum)[0]
        r = rng.random()
        if r < 0.70:
            first, last = rng.choice(self.first), rng.choice(self.last)
            if rng.random() < 0.15:  # a compound first name: three words
                return f"{first} {rng.choice(self.first)} {last}"
            return f"{first} {last}"
        if r < 0.90:
            return rng.choice(self.places)
        return rng.choice(self.topics)


EN = Lang("en", EN_WORDS, EN_FIRST, EN_LAST, EN_PRISONS + EN_CITIES, EN_TOPICS, EN_POPULAR)
FA = Lang("fa", FA_WORDS, FA_FIRST, FA_LAST, FA_PRISONS + FA_CITIES, FA_TOPICS, FA_POPULAR)


# --------------------------------------------------------------------------- categories


def make_tree() -> list[Category]:
    cats = [
        Category(1, "news", "News"),
        Category(2, "executions", "Executions", 1),
        Category(3, "political-prisoners", "Political prisoners", 1),
        Category(4, "women", "Women", 1),
        Category(5, "minorities", "Minorities", 1),
        Category(6, "labor", "Labor", 1),
        Category(7, "reports", "Reports"),
        Category(8, "monthly-reports", "Monthly reports", 7),
        Category(9, "statements", "Statements", 7),
        Category(10, "prisons", "Prisons"),
        Category(20, "provinces", "Provinces"),
    ]
    for i, name in enumerate(EN_PRISONS[:12]):
        cats.append(Category(100 + i, f"prison-{i}", name, 10))
    for i, city in enumerate(EN_CITIES[:30]):
        cats.append(Category(200 + i, city.lower(), city, 20))
    return cats


TOPIC_LEAVES = [2, 3, 4, 5, 6, 8, 9]


def post_categories(rng: random.Random, leaves: Sequence[int]) -> tuple[int, ...]:
    """A topic and a prison or a province, as the site files its reports."""
    return (rng.choice(TOPIC_LEAVES), rng.choice(leaves))


# --------------------------------------------------------------------------- generation


def sentence(rng: random.Random, lang: Lang, mention: bool) -> str:
    n = rng.randint(8, 20)
    ws = rng.choices(lang.vocab, cum_weights=lang.vocab_cum, k=n)
    if mention:
        ws.insert(rng.randrange(n + 1), lang.entity(rng, MENTION_POPULAR))
    text = " ".join(ws)
    return text[0].upper() + text[1:] + "."


def make_post(
    rng: random.Random, wp_id: int, published: datetime, leaves: Sequence[int]
) -> PostIn:
    lang = FA if rng.random() < PERSIAN_SHARE else EN
    paragraphs: list[str] = []
    size = 0
    while size < TEXT_CHARS:
        para = " ".join(
            sentence(rng, lang, rng.random() < MENTION_SHARE) for _ in range(rng.randint(3, 6))
        )
        paragraphs.append(para)
        size += len(para) + 2
    content = "\n\n".join(paragraphs)
    if lang is FA and rng.random() < 0.2:
        content = content.translate(ARABIC_KEYS)  # typed on an Arabic keyboard
    title = sentence(rng, lang, True).rstrip(".")
    excerpt = " ".join(content.split()[:55]) + " …"
    return PostIn(
        url=f"https://{SITE}/{'fa/' if lang is FA else ''}report-{wp_id}/",
        title=title,
        excerpt=excerpt,
        content=content,
        lang=lang.code,
        wp_id=wp_id,
        published=published,
        categories=post_categories(rng, leaves),
    )


def make_posts(
    rng: random.Random, n: int, first_id: int, start: datetime, leaves: Sequence[int]
) -> list[PostIn]:
    """n posts, one every ten minutes from ``start``."""
    return [
        make_post(rng, first_id + i, start + timedelta(minutes=10 * i), leaves) for i in range(n)
    ]


def chunks(items: Sequence[PostIn], size: int) -> list[list[PostIn]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


@dataclass(frozen=True)
class Chat:
    chat_id: int
    lang: Lang
    slugs: tuple[str, str]


def make_chats(rng: random.Random, n: int, cats: Sequence[Category]) -> list[Chat]:
    # Mostly a prison, a province or a topic; now and then a whole section (a parent).
    leaves = [c.slug for c in cats if c.parent != 0]
    parents = [c.slug for c in cats if c.parent == 0]
    chats = []
    for i in range(n):
        first, second = rng.sample(leaves, 2)
        if rng.random() < 0.05:
            second = rng.choice(parents)
        lang = FA if rng.random() < PERSIAN_SHARE else EN
        chats.append(Chat(1_000_000 + i, lang, (first, second)))
    return chats


def make_phrases(rng: random.Random, chats: Sequence[Chat], n: int) -> list[tuple[int, str]]:
    """n (chat id, phrase as typed), at most MAX_PHRASES per chat and no two with the same
    folded words in one chat; a chat mostly watches phrases in its own language."""
    per_chat: dict[int, set[str]] = defaultdict(set)
    out: list[tuple[int, str]] = []
    while len(out) < n:
        chat = rng.choice(chats)
        held = per_chat[chat.chat_id]
        if len(held) >= MAX_PHRASES:
            continue
        lang = chat.lang if rng.random() < 0.85 else (EN if chat.lang is FA else FA)
        phrase = lang.entity(rng)
        if lang is FA and rng.random() < 0.1:
            phrase = phrase.translate(ARABIC_KEYS)
        elif lang is EN and rng.random() < 0.2:
            phrase = phrase.lower()
        folded = fold(phrase)
        if folded in held:
            continue
        held.add(folded)
        out.append((chat.chat_id, phrase))
    return out


# --------------------------------------------------------------------------- the stores


async def build_base(
    path: Path,
    cats: Sequence[Category],
    chats: Sequence[Chat],
    archive: Sequence[Sequence[PostIn]],
) -> None:
    store = await Store.open(path)
    try:
        tree = await store.replace_categories(SITE, cats)
        created = "2026-01-01T00:00:00+00:00"
        async with store.writer.transaction() as db:
            # What Store.ensure_chat and Store.subscribe write, in one transaction.
            await db.executemany(
                "INSERT INTO chats (chat_id, type, language, active, created_at) "
                "VALUES (?, 'private', ?, 1, ?)",
                [(c.chat_id, c.lang.code, created) for c in chats],
            )
            await db.executemany(
                "INSERT INTO subscriptions (chat_id, site, slug) VALUES (?, ?, ?)",
                [(c.chat_id, SITE, s) for c in chats for s in c.slugs],
            )
        for batch in archive:
            await store.upsert_posts(SITE, batch, tree=tree, alert=False)
    finally:
        await store.close()


async def add_phrases(path: Path, phrases: Sequence[tuple[int, str]]) -> None:
    store = await Store.open(path)
    try:
        created = "2026-11-30T12:00:00+00:00"
        async with store.writer.transaction() as db:
            await db.executemany(
                "INSERT INTO watches (chat_id, folded, phrase, created_at) VALUES (?, ?, ?, ?)",
                [(chat, fold(p), p, created) for chat, p in phrases],
            )
        # Written behind the store's back: every run opens a fresh Store, whose phrase
        # index is loaded by its first upsert_posts.
    finally:
        await store.close()


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@dataclass
class Run:
    seconds: list[float]  # per batch, the first one cold
    enqueued: list[int]
    phrase_alerts: int  # outbox rows with a reason (phrases that matched), all batches
    index_reused: bool


async def run_batches(
    source: Path, path: Path, batches: Sequence[Sequence[PostIn]], tree: CategoryTree
) -> Run:
    shutil.copyfile(source, path)
    store = await Store.open(path)
    try:
        seconds, enqueued = [], []
        index = None
        reused = True
        for i, batch in enumerate(batches):
            t0 = time.perf_counter()
            res = await store.upsert_posts(SITE, batch, tree=tree, alert=True)
            seconds.append(time.perf_counter() - t0)
            enqueued.append(res.enqueued)
            if len(res.new) != len(batch):
                raise SystemExit(f"stored {len(res.new)} new posts of {len(batch)}")
            if i == 0:
                index = store._watch_index
            elif store._watch_index is not index:
                reused = False
        async with store.db.execute("SELECT count(*) FROM outbox WHERE reason IS NOT NULL") as c:
            row = await c.fetchone()
        return Run(seconds, enqueued, int(row[0]) if row else 0, reused)
    finally:
        await store.close()
        remove_db(path)


# --------------------------------------------------------------------------- no database


def texts_of(item: PostIn) -> list[list[str]]:
    """The words upsert_posts matches phrases against (storage.posts.upsert, ``target``)."""
    texts = [
        words(normalize(item.title), normalized=True),
        words(normalize(indexed_body(item.content, item.excerpt, item.tags)), normalized=True),
    ]
    if item.content and item.excerpt:
        texts.append(words(item.excerpt))
    return texts


@dataclass
class Offline:
    load_index_ms: float  # from the database, min of runs
    build_ms: float  # WatchIndex(rows) alone, min of runs
    tokenize_ms: float  # per batch, median
    match_ms: float  # per batch, median
    pairs: float  # (post, chat) matched per batch, mean
    checks: float  # candidates WatchIndex.match compares per batch, mean
    checks_grouped: float  # the same if each distinct phrase were compared once
    naive_ms: float | None  # per batch (the first), one run
    agree: bool
    distinct: int
    chats: int
    top_first_words: list[tuple[str, int]]


async def offline(
    path: Path, batches: Sequence[Sequence[PostIn]], repeat: int, naive: bool
) -> Offline:
    store = await Store.open(path)
    try:
        loads = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            await load_index(store.db)
            loads.append(time.perf_counter() - t0)
        async with store.db.execute("SELECT chat_id, folded, phrase FROM watches") as cur:
            rows = [(r[0], r[1], r[2]) for r in await cur.fetchall()]
    finally:
        await store.close()
    builds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        index = WatchIndex(rows)
        builds.append(time.perf_counter() - t0)
    first_words = Counter(f.split()[0] for _, f, _ in rows)
    distinct_first = Counter(f.split()[0] for f in {f for _, f, _ in rows})
    tok_s, match_s, pairs, checks, grouped = [], [], [], [], []
    all_texts = []
    for batch in batches:
        t0 = time.perf_counter()
        texts = [texts_of(item) for item in batch]
        tok_s.append(time.perf_counter() - t0)
        all_texts.append(texts)
        t0 = time.perf_counter()
        found = [index.match(t) for t in texts]
        match_s.append(time.perf_counter() - t0)
        pairs.append(sum(len(f) for f in found))
        tokens = [t for post in texts for ts in post for t in ts]
        checks.append(sum(first_words.get(t, 0) for t in tokens))
        grouped.append(sum(distinct_first.get(t, 0) for t in tokens))
    naive_s: float | None = None
    agree = True
    if naive:
        # Each distinct phrase searched in each text of each post of the first batch.
        watchers: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for chat, folded, phrase in rows:
            watchers[folded].append((chat, phrase))
        # A Persian phrase of two words also matches them written as one, and one of one
        # word two words of the text written apart (storage.watches.WatchIndex).
        needles = []
        for f in watchers:
            forms = [f" {f} "]
            if not f.isascii() and len(f.split()) == 2:
                forms.append(f" {f.replace(' ', '')} ")
            needles.append((forms, f))
        persian_words = [f for f in watchers if not f.isascii() and " " not in f]
        texts = all_texts[0]
        t0 = time.perf_counter()
        hits = []
        for post in texts:
            joined = [f" {' '.join(t)} " for t in post]
            found = {f for forms, f in needles for n in forms if any(n in j for j in joined)}
            for t in post:
                glued = {a + b for a, b in itertools.pairwise(t) if not a.isascii()}
                found.update(f for f in persian_words if f in glued)
            hits.append(found)
        naive_s = time.perf_counter() - t0
        for post, found_folded in zip(texts, hits, strict=True):
            want = {pair for f in found_folded for pair in watchers[f]}
            got = {(chat, p) for chat, ps in index.match(post).items() for p in ps}
            agree = agree and want == got
    return Offline(
        load_index_ms=1000 * min(loads),
        build_ms=1000 * min(builds),
        tokenize_ms=1000 * statistics.median(tok_s),
        match_ms=1000 * statistics.median(match_s),
        pairs=statistics.mean(pairs),
        checks=statistics.mean(checks),
        checks_grouped=statistics.mean(grouped),
        naive_ms=None if naive_s is None else 1000 * naive_s,
        agree=agree,
        distinct=len({f for _, f, _ in rows}),
        chats=len({c for c, _, _ in rows}),
        top_first_words=[(w, first_words[w]) for w, _ in first_words.most_common(5)],
    )


# --------------------------------------------------------------------------- report


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def ms(values: Sequence[float]) -> dict[str, float]:
    return {
        "median_ms": 1000 * statistics.median(values),
        "min_ms": 1000 * min(values),
    }


# --------------------------------------------------------------------------- main


async def bench(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    fig: dict[str, Any] = {
        "machine": machine(),
        "chats": args.chats,
        "phrases": args.phrases,
        "batch": args.batch,
        "warm_batches": args.warm,
        "repeat": args.repeat,
        "archive": args.archive,
    }
    section("machine")
    for k, v in fig["machine"].items():
        print(f"{k:>22}: {v}")

    t0 = time.perf_counter()
    rng = random.Random(args.seed)
    cats = make_tree()
    tree = CategoryTree(cats)
    leaves = [c.wp_id for c in cats if c.parent in (10, 20)]
    chats = make_chats(rng, args.chats, cats)
    phrases_all = make_phrases(rng, chats, max(args.phrases))
    now = datetime(2026, 12, 1, tzinfo=UTC)
    old = now - timedelta(minutes=10 * args.archive)
    archive = chunks(make_posts(rng, args.archive, 1, old, leaves), 500)
    new = make_posts(rng, (1 + args.warm) * args.batch, 1_000_000, now, leaves)
    batches = chunks(new, args.batch)
    sizes = [len(p.title) + len(p.content) for b in batches for p in b]
    fa = sum(p.lang == "fa" for b in batches for p in b)
    fig["generate_s"] = time.perf_counter() - t0

    base = workdir / "base.sqlite3"
    t0 = time.perf_counter()
    await build_base(base, cats, chats, archive)
    configs: dict[int, Path] = {0: base}
    for n in args.phrases:
        path = workdir / f"phrases-{n}.sqlite3"
        shutil.copyfile(base, path)
        # The smaller sets are subsets of the largest one.
        subset = rng.sample(phrases_all, n) if n < len(phrases_all) else phrases_all
        await add_phrases(path, subset)
        configs[n] = path
    fig["setup_s"] = time.perf_counter() - t0
    section("setup")
    print(
        f"{len(chats):,} chats ({sum(c.lang is FA for c in chats):,} Persian), 2 categories "
        f"each, {len(cats)} categories; {args.archive:,} older posts; "
        f"{1 + args.warm} batches of {args.batch} new posts ({fa} Persian), "
        f"{statistics.mean(sizes):,.0f} characters each on average "
        f"({min(sizes):,}-{max(sizes):,}); generated in {fig['generate_s']:.1f} s, "
        f"stores built in {fig['setup_s']:.1f} s"
    )

    # ---------------------------------------------------------------- matching alone
    section("matching alone, no database (index from the store, words cut as upsert_posts)")
    off: dict[int, Offline] = {}
    for n in args.phrases:
        off[n] = await offline(configs[n], batches, args.repeat, not args.no_naive)
    rows = []
    for n, o in off.items():
        rows.append(
            (
                f"{n:,}",
                f"{o.distinct:,}",
                f"{o.chats:,}",
                f"{o.load_index_ms:.1f}",
                f"{o.build_ms:.1f}",
                f"{o.tokenize_ms:.1f}",
                f"{o.match_ms:.1f}",
                f"{o.pairs:,.0f}",
                f"{o.checks:,.0f}",
                f"{o.checks_grouped:,.0f}",
                "-" if o.naive_ms is None else f"{o.naive_ms:,.0f}",
                "-" if args.no_naive else ("yes" if o.agree else "NO"),
            )
        )
    print_table(
        rows,
        (
            "phrases",
            "distinct",
            "chats",
            "load_index ms",
            "WatchIndex() ms",
            "words ms/batch",
            "match ms/batch",
            "(post,chat)/batch",
            "checks/batch",
            "if grouped",
            "naive scan ms",
            "same pairs",
        ),
    )
    for n, o in off.items():
        print(
            f"{n:,} phrases: most phrases under one first word: "
            + ", ".join(f"{w} {c}" for w, c in o.top_first_words)
        )
    fig["offline"] = {str(n): o.__dict__ for n, o in off.items()}

    # ---------------------------------------------------------------- upsert_posts
    section(
        f"upsert_posts(alert=True), batches of {args.batch}: {args.repeat} runs of each store, "
        "interleaved, each on a fresh copy (first batch cold, then warm)"
    )
    runs: dict[int, list[Run]] = {n: [] for n in configs}
    for r in range(args.repeat):
        for n, source in configs.items():
            run = await run_batches(source, workdir / "run.sqlite3", batches, tree)
            runs[n].append(run)
        print(
            f"run {r + 1}/{args.repeat}: "
            + "; ".join(
                f"{n:,} phrases {1000 * runs[n][-1].seconds[0]:.0f}/"
                f"{1000 * statistics.median(runs[n][-1].seconds[1:] or [0.0]):.0f} ms"
                for n in configs
            ),
            flush=True,
        )
    results: dict[str, Any] = {}
    rows = []
    base_cold = [run.seconds[0] for run in runs[0]]
    base_warm = [s for run in runs[0] for s in run.seconds[1:]]
    for n in configs:
        cold = [run.seconds[0] for run in runs[n]]
        warm = [s for run in runs[n] for s in run.seconds[1:]]
        enq = [e for run in runs[n] for e in run.enqueued]
        res: dict[str, Any] = {
            "cold": ms(cold),
            "warm": ms(warm) if warm else None,
            "alerts_per_batch": statistics.mean(enq),
            "phrase_alerts_per_batch": statistics.mean(
                run.phrase_alerts / len(run.seconds) for run in runs[n]
            ),
            "index_reused": all(run.index_reused for run in runs[n]),
        }
        res["cost_cold_ms"] = res["cold"]["median_ms"] - 1000 * statistics.median(base_cold)
        if warm:
            res["cost_warm_ms"] = res["warm"]["median_ms"] - 1000 * statistics.median(base_warm)
        results[str(n)] = res
        rows.append(
            (
                f"{n:,}" if n else "none",
                f"{res['cold']['median_ms']:.0f} / {res['cold']['min_ms']:.0f}",
                f"{res['warm']['median_ms']:.0f} / {res['warm']['min_ms']:.0f}" if warm else "-",
                f"{res['cost_cold_ms']:+.0f}" if n else "",
                f"{res['cost_warm_ms']:+.0f}" if n and warm else "",
                f"{res['alerts_per_batch']:,.0f}",
                f"{res['phrase_alerts_per_batch']:,.0f}",
                ("yes" if res["index_reused"] else "NO") if n else "",
            )
        )
    print_table(
        rows,
        (
            "phrases",
            "cold ms med/min",
            "warm ms med/min",
            "cost cold ms",
            "cost warm ms",
            "alerts/batch",
            "by phrase",
            "index kept",
        ),
    )
    fig["upsert"] = results
    return fig


def print_summary(fig: dict[str, Any]) -> None:
    section("summary")
    m = fig["machine"]
    fig["load_average_at_end"] = load_average()
    print(f"nproc {m['nproc']}, Python {m['python']}, SQLite {m['sqlite']}, {m['cpu']}")
    print(
        f"load average: {m['load average at start']} at start, {fig['load_average_at_end']} at "
        "the end (other processes share these CPUs: compare runs with care)"
    )
    top = max(fig["phrases"])
    res = fig["upsert"][str(top)]
    kind = "warm" if "cost_warm_ms" in res else "cold"
    cost = res[f"cost_{kind}_ms"]
    o = fig["offline"][str(top)]
    finding = o["tokenize_ms"] + o["match_ms"]
    print(
        f"finding the matches at {top:,} phrases (words + WatchIndex.match): {finding:.0f} ms "
        f"per batch of {fig['batch']} (target <= {TARGET_MS:g} ms: "
        f"{'yes' if finding <= TARGET_MS else 'NO'})"
    )
    print(
        f"storing the batch with phrases minus without, {kind}, median: {cost:.0f} ms "
        f"(the {o['pairs']:,.0f} alerts the phrases add are queued too); cold (loading the "
        f"index included): {res['cost_cold_ms']:.0f} ms"
    )
    rest = cost - o["tokenize_ms"] - o["match_ms"]
    fig["cost_split_ms"] = {"words": o["tokenize_ms"], "match": o["match_ms"], "rest": rest}
    print(
        f"of which, measured apart: cutting the posts into words {o['tokenize_ms']:.0f} ms, "
        f"WatchIndex.match {o['match_ms']:.0f} ms; the rest, {rest:.0f} ms, is queueing the "
        f"alerts in the database: {1000 * rest / max(o['pairs'], 1):.0f} us per (post, chat) "
        f"pair matched ({o['pairs']:,.0f} a batch)"
    )
    low = min(fig["phrases"])
    if low != top:
        a, b = fig["offline"][str(low)], fig["offline"][str(top)]
        ra, rb = fig["upsert"][str(low)], fig["upsert"][str(top)]
        ratio = top / low

        def x(big: float, small: float) -> str:
            return f"x{big / small:.1f}" if small > 0 else "n/a"

        print(
            f"{ratio:g}x the phrases ({low:,} -> {top:,}): "
            f"match() {x(b['match_ms'], a['match_ms'])}, "
            f"words {x(b['tokenize_ms'], a['tokenize_ms'])}, "
            f"candidates compared {x(b['checks'], a['checks'])}, "
            f"(post, chat) pairs matched {x(b['pairs'], a['pairs'])}, "
            f"upsert cost (warm) {x(rb.get('cost_warm_ms', 0), ra.get('cost_warm_ms', 0))}"
            + ("" if b["naive_ms"] is None else f"; naive scan {x(b['naive_ms'], a['naive_ms'])}")
        )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    p.add_argument("--chats", type=int, default=5_000, help="chats (5000)")
    p.add_argument(
        "--phrases",
        default="1000,10000",
        help="comma-separated counts of watched phrases, each a store of its own (1000,10000)",
    )
    p.add_argument("--batch", type=int, default=100, help="new posts per batch (100)")
    p.add_argument("--warm", type=int, default=2, help="batches after the first, per run (2)")
    p.add_argument("--repeat", type=int, default=5, help="runs of each store (5)")
    p.add_argument("--archive", type=int, default=1_000, help="older posts in the store (1000)")
    p.add_argument("--no-naive", action="store_true", help="skip the naive-scan reference")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    p.add_argument("--workdir", type=Path, help="keep the databases here (default: a temp dir)")
    args = p.parse_args(argv)
    try:
        args.phrases = sorted({int(x) for x in args.phrases.split(",") if x.strip()})
    except ValueError:
        p.error("--phrases: comma-separated numbers")
    if not args.phrases or min(args.phrases) < 1:
        p.error("--phrases: positive numbers")
    if args.chats < 1 or args.batch < 1 or args.warm < 0 or args.repeat < 1 or args.archive < 0:
        p.error(
            "--chats, --batch and --repeat must be positive, --warm and --archive not negative"
        )
    if max(args.phrases) > args.chats * MAX_PHRASES:
        p.error(f"at most {MAX_PHRASES} phrases per chat")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        if any(args.workdir.iterdir()):
            raise SystemExit(f"--workdir {args.workdir} is not empty")
        fig = asyncio.run(bench(args, args.workdir))
    else:
        with tempfile.TemporaryDirectory(prefix="hrm-watch-") as tmp:
            fig = asyncio.run(bench(args, Path(tmp)))
    print_summary(fig)
    if args.json is not None:
        args.json.write_text(json.dumps(fig, indent=2, ensure_ascii=False) + "\n")
        print(f"\nfigures written to {args.json}")


if __name__ == "__main__":
    main()
