"""Makes archive-v4.sqlite.gz, the archive of schema version 4 that tests/test_lean_index.py
migrates. It must run with the code that wrote version 4 (commit 4de19c2, before the search
index read the posts' own text), from that checkout's root::

    PYTHONPATH=. python tests/data/make_archive_v4.py tests/data/archive-v4.sqlite.gz

and prints what that code's searches found, which the test expects after the migration.
"""

from __future__ import annotations

import asyncio
import gzip
import sqlite3
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import Category, CategoryTree, PostIn, Store, parse_query
from storage.db import SCHEMA_VERSION
from storage.watches import fold

EN = "iran-hrm.com"
FA = "fa.iran-hrm.com"
EN_TREE = CategoryTree(
    [
        Category(4, "executions", "Executions"),
        Category(7, "women", "Women", parent=4),
        Category(9, "prisons", "Prisons"),
    ]
)
FA_CATS = [
    Category(4, "zanan", "زنان"),
    Category(12, "executions", "اعدام"),
    Category(14, "child", "فرزند", parent=12),
]
START = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2025, 2, 1, tzinfo=UTC)
QUERIES = [
    (EN, "Evin"),
    (EN, "prisoners"),
    (EN, "Qezel"),
    (EN, "Tabriz"),
    (EN, "Tehran"),
    (EN, "cafe"),
    (EN, '"hunger strike"'),
    (EN, "category:executions"),
    (EN, "category:prisons"),
    (FA, "زندانی ها"),
    (FA, "قزل‌حصار"),
    (FA, "خانه امن"),
    (FA, "کودکان"),
    (FA, "category:executions"),
    (FA, "category:zanan"),
]


def post(site: str, n: int, title: str, content: str, **kw: object) -> PostIn:
    lang = "fa" if site == FA else "en"
    base = PostIn(
        url=f"https://{site}/p/{n}/",
        title=title,
        excerpt="",
        content=content,
        lang=lang,
        wp_id=n,
        published=START + timedelta(days=n),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


async def fill(path: Path) -> None:
    store = await Store.open(path)
    try:
        await store.replace_categories(EN, list(EN_TREE.by_id.values()))
        fa_tree = await store.replace_categories(FA, FA_CATS)
        await store.subscribe(100, "private", EN, ["executions"], language="en")
        await store.watch(100, "private", "Zahedan", fold("Zahedan"), limit=10)
        en = [
            post(EN, 1, "Executions in Evin prison",
                 "Three prisoners were executed in Evin prison on Monday.",
                 categories=(4,), tags=("Evin",)),
            post(EN, 2, "Hunger strike of women prisoners",
                 "Women political prisoners in Qarchak began a hunger strike.",
                 categories=(7,), tags=("Qarchak", "Hunger strike")),
            post(EN, 3, "A note", "", excerpt="Death row prisoners in Ghezel Hesar.",
                 categories=(9,), tags=("Qezel Hesar",)),
            post(EN, 4, "Arrests in Tehran", "Activists were arrested in Tehran.",
                 categories=(9,), tags=("Tehran",)),
            post(EN, 5, "Café “Naderi” closed", "The café’s owner was summoned.",
                 categories=(4,)),
        ]  # fmt: skip
        await store.upsert_posts(EN, en, tree=EN_TREE, alert=False, now=NOW)
        fa = [
            post(FA, 1, "اعدام در زندان", "زندانی‌ها در خانۀ امن اعدام شدند.",
                 categories=(14,), tags=("قزل‌حصار",)),
            post(FA, 2, "گزارش", "كودكان زنداني در زندان", categories=(4,)),
            post(FA, 3, "یادداشت", "", excerpt="خلاصه‌ای از گزارش", categories=(12,)),
        ]  # fmt: skip
        await store.upsert_posts(FA, fa, tree=fa_tree, alert=False, now=NOW)
        # Corrected: another date (a new rank_key), other words, other tags.
        edited = replace(
            en[3],
            title="Arrests in Tabriz",
            content="Activists were arrested in Tabriz.",
            published=START + timedelta(days=9),
            tags=("Tabriz",),
        )
        await store.upsert_posts(EN, [edited], tree=EN_TREE, alert=False, now=NOW)
        # Filed again under another category: the index's category tokens change alone.
        await store.upsert_posts(FA, [replace(fa[1], categories=(12,))], tree=fa_tree,
                                 alert=False, now=NOW)  # fmt: skip
        # The tree re-parented afterwards: the index keeps what it was given.
        await store.replace_categories(FA, [replace(FA_CATS[0], parent=12), *FA_CATS[1:]])
        # A new post, alerted: an outbox row to keep.
        new = post(EN, 6, "Executions in Zahedan", "Two men were executed in Zahedan.",
                   categories=(4,))  # fmt: skip
        await store.upsert_posts(EN, [new], tree=EN_TREE, alert=True, now=NOW)
        for site, text in QUERIES:
            tree = await store.load_tree(site)
            page = await store.search({site: tree}, parse_query(text), limit=20)
            print(f"    ({site!r}, {text!r}, {[h.post.wp_id for h in page.hits]}),")
    finally:
        await store.close()


def main() -> None:
    if SCHEMA_VERSION != 4:
        sys.exit(f"this code writes schema version {SCHEMA_VERSION}: run it at commit 4de19c2")
    out = Path(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "archive.sqlite3"
        asyncio.run(fill(path))
        with sqlite3.connect(path) as con:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            con.execute("VACUUM")
        con.close()
        out.write_bytes(gzip.compress(path.read_bytes(), mtime=0))


if __name__ == "__main__":
    main()
