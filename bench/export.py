"""Export memory benchmark for hrm-bot: `hrm-bot export` should use the same memory whatever
the archive's size (a script, not a test: `make test` ignores it).

Run from the project root::

    .venv/bin/python bench/export.py                       # 2,000 and 20,000 posts
    .venv/bin/python bench/export.py --sizes 500 5000      # a quick look

For each size, a fresh archive is filled with generated reports (about 3.3 KB of text each,
a third of them Persian, two categories and two tags each) straight through ``Store``; then
``hrm-bot export`` runs as a child process, once per format, writing to a file, and its peak
resident memory (``ru_maxrss`` of the child) and wall time are reported. A flat export keeps
the peak about the same at ten times the posts; the output's size grows with them. The
baseline is ``hrm-bot export --help``'s peak: the interpreter and the imports alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage import Category, CategoryTree, PostIn, Store  # noqa: E402

SITE = "iran-hrm.com"
HRM = [str(ROOT / ".venv" / "bin" / "hrm-bot")]
WORDS_EN = [
    "prisoner",
    "execution",
    "court",
    "Evin",
    "sentence",
    "family",
    "lawyer",
    "detained",
    "charges",
]
WORDS_FA = ["زندانی", "اعدام", "دادگاه", "اوین", "حکم", "خانواده", "وکیل", "بازداشت", "اتهام"]


def tree() -> CategoryTree:
    return CategoryTree(
        [
            Category(wp_id=3, slug="executions", name="Executions", parent=0),
            Category(wp_id=4, slug="political-prisoners", name="Political prisoners", parent=0),
        ]
    )


def post(n: int, rng: random.Random) -> PostIn:
    words = WORDS_FA if n % 3 == 0 else WORDS_EN
    body = " ".join(rng.choice(words) for _ in range(450))
    return PostIn(
        url=f"https://{SITE}/{n}/",
        title=f"{rng.choice(words)} {n} =cmd|'/c calc'!A0",
        excerpt=body[:200],
        content=body,
        lang="fa" if n % 3 == 0 else "en",
        wp_id=n,
        published=datetime(2020, 1, 1, tzinfo=UTC) + timedelta(hours=n),
        categories=(3, 4),
        tags=("Evin Prison", "اوین"),
    )


async def fill(path: Path, posts: int) -> None:
    store = await Store.open(path)
    try:
        rng = random.Random(posts)
        t = tree()
        await store.replace_categories(SITE, list(t.by_id.values()))
        for start in range(1, posts + 1, 500):
            batch = [post(n, rng) for n in range(start, min(start + 500, posts + 1))]
            await store.upsert_posts(SITE, batch, tree=t, alert=False)
    finally:
        await store.close()


def peak_of(args: list[str], env: dict[str, str]) -> tuple[int, float]:
    """The child's peak RSS in KiB and its wall time; each run in a fresh grandchild, so
    that RUSAGE_CHILDREN's maximum is this run's alone."""
    code = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    return int(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss == 0
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, LOG_LEVEL="WARNING")
        base, _ = peak_of([*HRM, "export", "--help"], env)
        print(f"baseline (export --help): peak {base / 1024:.1f} MiB")
        for size in args.sizes:
            db = Path(tmp) / f"archive-{size}.sqlite3"
            started = time.perf_counter()
            asyncio.run(fill(db, size))
            print(f"{size:,} posts stored in {time.perf_counter() - started:.1f} s")
            env["DATABASE_PATH"] = str(db)
            for form in ("csv", "jsonl"):
                out = Path(tmp) / f"out-{size}.{form}"
                peak, wall = peak_of([*HRM, "export", "--format", form, "--output", str(out)], env)
                print(
                    f"  {form:5}: peak {peak / 1024:.1f} MiB ({(peak - base) / 1024:+.1f} over "
                    f"the baseline), {wall:.1f} s, output {out.stat().st_size / 2**20:.1f} MiB"
                )


if __name__ == "__main__":
    main()
