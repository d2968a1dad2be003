"""The ``hrm-bot`` command: argument parsing and the commands that do not need Telegram."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from bot import __version__, logs
from bot.config import Settings, load_settings
from bot.errors import (
    AlreadyRunning,
    ArchiveMissing,
    CannotListen,
    ConfigError,
    FeedError,
    FetchError,
    InvalidQueryError,
    MetricsError,
    StoreError,
    TokenRejected,
    WebhookRejected,
)
from bot.ops.export import Writer, record
from bot.site.client import SiteClient
from bot.site.editions import KEYS, Edition, editions, pick
from bot.site.poller import BackfillPage, Poller
from storage import CategoryTree, SearchQuery, Store, parse_query
from storage.backup import backup as backup_archive
from storage.figures import MonthlyPosts
from storage.normalize import HIT_END, HIT_START
from storage.query import date_bound

Command = Callable[[Settings, argparse.Namespace, TextIO], Coroutine[None, None, int]]


def _date(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date like 2024-01-31, got {text!r}"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _period(end: bool) -> Callable[[str], datetime]:
    """A date as search's since: and until: read it: a year, a month or a day, Gregorian or
    Solar Hijri; ``end`` gives the start of the period after the one named."""

    def parse(text: str) -> datetime:
        bound = date_bound(text.strip(), end=end)
        if bound is None:
            raise argparse.ArgumentTypeError(
                f"expected a date like 2024, 2024-05, 2024-05-31 or 1403-01-01, got {text!r}"
            )
        return bound

    return parse


def _chart_path(text: str) -> Path:
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name, as stats.png")
    if not path.absolute().parent.is_dir():
        raise argparse.ArgumentTypeError(f"the folder of {text} does not exist")
    return path


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


SEARCH_HELP = """\
Everything after `search` (and its options) is the query; put options first. A query may
start with -word; after `--` everything is words, even what looks like an option.

query language:
  Evin hunger strike         reports with all of these words
  "death row"                the exact phrase (quote it for the shell: '"death row"')
  execution -drug            without a word
  execut*                    words that start so (at least three letters)
  category:women             in a category (slug) and its sub-categories
  edition:fa                 only the Persian edition (edition:en, the English one)
  since:2024-01 until:2024-06
                             published in that period (a year, month or day); a year
                             below 1700 is Solar Hijri: since:1403-01-01, since:۱۴۰۳/۰۱
Persian is matched however it is typed (Arabic or Persian letters, a ZWNJ, a space or
nothing before an affix, Persian digits).

examples:
  hrm-bot search Evin hunger strike
  hrm-bot search --limit 3 '"death row"' -drug
  hrm-bot search --category women hanged since:2025
"""

SEARCH_OPTIONS = ("--category", "--limit")

# Poll intervals the last success may be old before `health` fails (the figure). A
# failing site doubles the wait between polls (poller.backoff_delay), so a few failures in a
# row pass; a site that has failed for this long is worth a look.
STALE_AFTER = 10


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hrm-bot",
        description="Telegram alerts and archive search for Iran Human Rights Monitor reports. "
        "Settings come from the environment and from a .env file in the working directory "
        "(see .env.example).",
        epilog="exit codes: 0 success, 1 failure, 2 usage or configuration error "
        "(a rejected bot token included), 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"hrm-bot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, description: str, **kw: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, description=description, **kw)

    command(
        "run",
        "run the Telegram bot (long polling, or a webhook) until SIGINT or SIGTERM",
        "Run the bot: answer commands, poll the site every POLL_INTERVAL seconds and send "
        "alerts. Needs TELEGRAM_BOT_TOKEN. Takes updates by long polling or, when WEBHOOK_URL "
        "is set, as a webhook: Telegram POSTs them to that https URL, and a reverse proxy "
        "forwards them to WEBHOOK_LISTEN:WEBHOOK_PORT (127.0.0.1:8443). Waits and retries "
        "while Telegram cannot be reached; stops cleanly on SIGINT or SIGTERM. One bot per "
        "database: a second run refuses to start. With METRICS_PORT set, serves Prometheus "
        "metrics at http://METRICS_LISTEN:METRICS_PORT/metrics (METRICS_LISTEN: 127.0.0.1).",
    )
    ingest = command(
        "ingest",
        "poll each edition once and print what changed",
        "Poll each edition once, as the running bot does, and print one summary line for "
        "each. Safe while `hrm-bot run` runs on the same database. Exit code 1 when a poll "
        "failed.",
    )
    backfill = command(
        "backfill",
        "store the whole archive (resumable; alerts nobody)",
        "Store every post of each edition, newest first, 100 a page, with a progress line "
        "per page. Interrupted, it resumes where it stopped. Alerts nobody. Safe while "
        "`hrm-bot run` runs on the same database.",
    )
    backfill.add_argument(
        "--since",
        type=_date,
        metavar="DATE",
        help="only posts published after this date (UTC), as 2024-01-31 or 2024-01-31T18:00",
    )
    backfill.add_argument(
        "--max-pages", type=_positive, metavar="N", help="stop after N pages (100 posts each)"
    )
    search = command(
        "search",
        "search the stored posts",
        "Search the archive of stored posts.",
        epilog=SEARCH_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    search.add_argument(
        "--category", metavar="SLUG", help="only this category and its sub-categories"
    )
    search.add_argument(
        "--limit", type=_positive, default=10, metavar="N", help="results to show (10)"
    )
    search.add_argument(
        "query", nargs=argparse.REMAINDER, help='words, "phrases", -exclude, prefix*, filters'
    )
    categories = command(
        "categories",
        "print each edition's category tree with slugs",
        "Print each edition's categories as a tree, each with the slug that commands take. "
        "Refreshes them from the site at most once a day.",
    )
    status = command(
        "status",
        "posts stored, last poll and its result",
        "Print, for each edition, the number of posts stored, the last poll and its result, "
        "and the failures in a row.",
    )
    stats = command(
        "stats",
        "reports a month, alerts a day; --chart draws them as /stats does",
        "Print, for each edition, the reports stored per month of publication in the last 12 "
        "months, by top-level category (a report in two counts under each; 'other' has those "
        "of no known category), and the alerts sent per day in the last 30 days, of both "
        "editions. Months and days are UTC. Safe while `hrm-bot run` runs on the same "
        "database.",
    )
    stats.add_argument(
        "--chart",
        type=_chart_path,
        metavar="FILE.png",
        help="also draw the chart that /stats sends, as a PNG; an existing file is replaced "
        "(whole: a reader never sees half of it)",
    )
    backup = command(
        "backup",
        "a consistent copy of the archive, while the bot runs",
        "Copy the archive (DATABASE_PATH) to FILE with SQLite's online backup: one consistent "
        "snapshot, safe while `hrm-bot run` runs and writes. The copy is checked and only "
        "then put in place. To restore: stop the bot, move the copy to DATABASE_PATH "
        "(removing any -wal and -shm files beside the old one), start the bot.",
    )
    backup.add_argument("file", type=Path, metavar="FILE", help="where to write the copy")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    export = command(
        "export",
        "every matching report as CSV or JSON Lines, for research",
        "Write every stored report that matches (id, edition, URL, title, dates, categories, "
        "tags, text) to stdout or --output, oldest first, a page at a time (memory stays "
        "flat). CSV cells that a spreadsheet would take for a formula (starting with = + - @ "
        "or a tab) get a leading apostrophe, unless --plain. Safe while `hrm-bot run` runs.",
    )
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv", help="(csv)")
    export.add_argument(
        "--since",
        type=_period(end=False),
        metavar="DATE",
        help="published from DATE on: a year, month or day (2024, 2024-05, 2024-05-31), or a "
        "Solar Hijri one (1403, 1403-01-01; Persian digits too), as search's since: reads it",
    )
    export.add_argument(
        "--until",
        type=_period(end=True),
        metavar="DATE",
        help="published up to the end of the year, month or day DATE names",
    )
    export.add_argument(
        "--category", metavar="SLUG", help="only this category and its sub-categories"
    )
    export.add_argument("--output", type=Path, metavar="FILE", help="write here, not stdout")
    export.add_argument(
        "--bom", action="store_true", help="CSV: start with a UTF-8 byte order mark (Excel)"
    )
    export.add_argument(
        "--plain", action="store_true", help="CSV: cells as stored, for programs (no apostrophe)"
    )
    command(
        "health",
        "exit 0 if every edition polled successfully of late (for a container's health check)",
        f"Exit 0 when each followed edition's last successful poll is at most {STALE_AFTER} x "
        "POLL_INTERVAL old, printing one line for each; otherwise exit 1 with one line on "
        "stderr for each edition that is late (or never polled successfully). Only reads the "
        "database: creates, migrates and locks nothing, so it is safe every minute while "
        "`hrm-bot run` runs. The Docker image's HEALTHCHECK runs it.",
    )
    for sub_parser in (ingest, backfill, search, categories, status, stats, export):
        sub_parser.add_argument(
            "--edition",
            choices=KEYS,
            help="only this edition: en (SITE_URL) or fa (SITE_URL_FA); both without it",
        )
    return parser


@asynccontextmanager
async def _open(
    settings: Settings, args: argparse.Namespace, *, create: bool = True
) -> AsyncIterator[tuple[Store, list[tuple[Edition, Poller]]]]:
    """The store, and a poller for each edition the command works on (--edition, or all)."""
    chosen = pick(editions(settings), getattr(args, "edition", None))
    store = await Store.open(settings.database_path, create=create)
    pollers = []
    for edition in chosen:
        client = SiteClient(
            edition.url, timeout=settings.fetch_timeout, max_bytes=settings.max_response_bytes
        )
        pollers.append((edition, Poller(store, client, edition.site, edition.language)))
    try:
        yield store, pollers
    finally:
        for _edition, poller in pollers:
            await poller.client.aclose()
        await store.close()


async def cmd_ingest(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    code = 0
    async with _open(settings, args) as (_store, pollers):
        # One after the other: a failing edition must not hide the other's result.
        for edition, poller in pollers:
            result = await poller.poll()
            if result.ok:
                print(f"{edition.key}: {result.summary()}", file=out)
                continue
            print(
                f"hrm-bot: ingest of {edition.key} ({edition.site}) failed: {result.errors[0]}",
                file=sys.stderr,
            )
            code = 1
    return code


async def cmd_backfill(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    code = 0
    async with _open(settings, args) as (store, pollers):
        for edition, poller in pollers:

            def progress(page: BackfillPage, key: str = edition.key) -> None:
                of = f"/{page.total_pages}" if page.total_pages else ""
                line = f"{key}: page {page.page}{of} ({page.source}): {page.stored} posts stored"
                print(line, file=out)
                out.flush()

            try:
                stored = await poller.backfill(
                    since=args.since, max_pages=args.max_pages, progress=progress
                )
            except (FetchError, FeedError) as exc:
                print(
                    f"hrm-bot: backfill of {edition.key} ({edition.site}) stopped: {exc}; run it "
                    "again to go on from where it stopped",
                    file=sys.stderr,
                )
                code = 1
                continue
            total = await store.count_posts(edition.site)
            print(
                f"{edition.key}: backfill: {stored} posts stored or updated; {total} in the store",
                file=out,
            )
    return code


async def cmd_search(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    words = list(args.query)
    if words[:1] == ["--"]:
        words = words[1:]
    elif misplaced := [w for w in words if w.split("=", 1)[0] in SEARCH_OPTIONS]:
        print(
            f"hrm-bot search: put {misplaced[0].split('=', 1)[0]} before the query, for "
            "example: hrm-bot search --limit 3 evin (or use -- to search for it as words)",
            file=sys.stderr,
        )
        return 2
    # A category alone lists its newest reports; neither words nor a category is refused.
    query = parse_query(" ".join(words)) if words or not args.category else SearchQuery()
    chosen = pick(editions(settings), args.edition or query.edition)
    store = await Store.open(settings.database_path, create=False)
    try:
        if not any([await store.has_posts(e.site) for e in chosen]):
            raise ArchiveMissing(settings.database_path)
        trees = {e.site: await store.load_tree(e.site) for e in chosen}
        if args.category:
            # --category takes a name too, spaces and all ("Mass execution", «اعدام زنان»).
            found = {c.slug for t in trees.values() for c in t.find(args.category)}
            if len(found) > 1:
                slugs = ", ".join(sorted(found))
                print(
                    f"hrm-bot: {args.category} names more than one category; give one of the "
                    f"slugs: {slugs}",
                    file=sys.stderr,
                )
                return 2
            query = replace(query, category=found.pop() if found else args.category)
        if query.category and not any(len(t.find(query.category)) == 1 for t in trees.values()):
            print(f"hrm-bot: no category called {query.category}", file=sys.stderr)
            return 2
        page = await store.search(trees, query, limit=args.limit)
    finally:
        await store.close()
    if query.ignored:
        print(
            f"hrm-bot: not understood, searched as words: {' '.join(query.ignored)}",
            file=sys.stderr,
        )
    if not page.hits:
        print("no matches", file=out)
    for hit in page.hits:
        post = hit.post
        date = post.published.date().isoformat() if post.published else "undated"
        tree = trees[post.site]
        cats = ", ".join(tree.label(c) for c in post.categories if c in tree.by_id)
        print(f"{date}  {post.title}", file=out)
        print(f"    {post.url}", file=out)
        if cats:
            print(f"    [{cats}]", file=out)
        if hit.snippet:
            snippet = hit.snippet.replace(HIT_START, "*").replace(HIT_END, "*")
            print(f"    {' '.join(snippet.split())}", file=out)
    return 0


async def cmd_categories(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    async with _open(settings, args, create=False) as (_store, pollers):
        for n, (edition, poller) in enumerate(pollers):
            tree = await poller.load_categories()
            print(f"{'' if n == 0 else chr(10)}{edition.key}: {edition.url}", file=out)
            for depth, cat in tree.walk():
                print(f"{'  ' * (depth + 1)}{cat.name}  ({cat.slug})", file=out)
    return 0


async def cmd_status(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    chosen = pick(editions(settings), args.edition)
    store = await Store.open(settings.database_path, create=False)
    try:
        for n, edition in enumerate(chosen):
            if n:
                print(file=out)
            posts = await store.count_posts(edition.site)
            state = await store.get_state(edition.site)
            print(f"{edition.key}: {edition.url}", file=out)
            print(f"  posts stored: {posts}", file=out)
            for line in _poll_lines(state):
                print(f"  {line}", file=out)
    finally:
        await store.close()
    return 0


def _poll_lines(state: dict[str, Any]) -> list[str]:
    last = state.get("last_poll")
    lines = []
    if last:
        outcome = (
            "failed: " + "; ".join(last["errors"])
            if last["errors"]
            else (
                f"{last['source']}: {last['new']} new, {last['modified']} modified, "
                f"{last['unchanged']} unchanged"
                # .get: polls recorded before the count existed have none.
                + (f", {last['skipped']} skipped (no link or guid)" if last.get("skipped") else "")
                + (" (not modified)" if last["not_modified"] else "")
            )
        )
        lines.append(f"last poll: {last['at']}  {outcome}")
    else:
        lines.append("last poll: never")
    lines.append(f"last success: {state.get('last_success', 'never')}")
    if state.get("failures"):
        lines.append(f"failures in a row: {state['failures']}")
    return lines


async def cmd_stats(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    chosen = pick(editions(settings), args.edition)
    store = await Store.open(settings.database_path, create=False)
    try:
        monthly = await store.posts_per_month([e.site for e in chosen])
        daily = await store.alerts_per_day()
    finally:
        await store.close()
    for n, edition in enumerate(chosen):
        if n:
            print(file=out)
        print(f"{edition.key}: {edition.url}", file=out)
        print(f"  reports stored: {monthly.stored[edition.site]}", file=out)
        for line in _monthly_lines(monthly, edition.site):
            print(f"  {line}", file=out)
    print(file=out)
    print(f"alerts sent a day in the last {len(daily.days)} days: {sum(daily.sent)}", file=out)
    for i in range(0, len(daily.days), 7):
        week = "".join(f"{n:>6}" for n in daily.sent[i : i + 7])
        print(f"  from {daily.days[i]}:{week}", file=out)
    if args.chart is not None:
        # Imported here: the chart module pulls in matplotlib only when it draws.
        from bot.ops import stats_chart

        names = [(e.site, f"{e.key}: {e.site}") for e in chosen]
        png = await asyncio.to_thread(stats_chart.render_png, monthly, daily, names)
        try:
            _write_whole(args.chart, png)
        except OSError as exc:
            print(
                f"hrm-bot: cannot write the chart to {args.chart}: {exc.strerror or exc}",
                file=sys.stderr,
            )
            return 1
        print(f"chart: {args.chart} ({len(png)} bytes)", file=out)
    return 0


def _monthly_lines(monthly: MonthlyPosts, site: str) -> list[str]:
    """Months across, categories down, each name last (Persian names would break columns)."""
    width = 6
    years = "".join(
        f"{m[:4] if i == 0 or m.endswith('-01') else '':>{width}}"
        for i, m in enumerate(monthly.months)
    ).rstrip()
    months = "".join(f"{MONTH_NAMES[int(m[5:]) - 1]:>{width}}" for m in monthly.months)
    lines = [
        "reports a month (by date of publication) under each top-level category:",
        years,
        months,
    ]
    for cat, row in monthly.counts.get(site, {}).items():
        name = cat.name if cat is not None else "other (no known category)"
        lines.append("".join(f"{n:>{width}}" for n in row) + f"  {name}")
    reports = monthly.reports.get(site, (0,) * len(monthly.months))
    lines.append("".join(f"{n:>{width}}" for n in reports) + "  reports (each once)")
    return lines


def _write_whole(path: Path, data: bytes) -> None:
    """Write to a new file beside ``path``, then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.absolute().parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        # mkstemp makes it private; a new file gets what the umask gives any other.
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


async def cmd_health(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    chosen = editions(settings)
    try:
        store = await Store.open_read_only(settings.database_path)
    except ArchiveMissing:
        print(
            f"hrm-bot: health: no database at {settings.database_path.absolute()} yet "
            "(`hrm-bot run` creates it as it starts)",
            file=sys.stderr,
        )
        return 1
    try:
        states = [(edition, await store.get_state(edition.site)) for edition in chosen]
    finally:
        await store.close()
    limit = timedelta(seconds=STALE_AFTER * settings.poll_interval)
    now = datetime.now(UTC)
    code = 0
    for edition, state in states:
        ok, line = _freshness(state.get("last_success"), now, limit)
        name = f"{edition.key} ({edition.site})"
        if ok:
            print(f"{name}: {line}", file=out)
        else:
            print(f"hrm-bot: health: {name}: {line}", file=sys.stderr)
            code = 1
    return code


def _freshness(last: object, now: datetime, limit: timedelta) -> tuple[bool, str]:
    """Whether an edition's last success (as site_state keeps it) is recent enough, and what
    to say about it."""
    if last is None:
        return False, "no successful poll yet"
    try:
        when = datetime.fromisoformat(str(last))
    except ValueError:
        return False, f"the last success recorded is not a date ({str(last)[:40]!r})"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    age = now - when
    if age <= limit:
        return True, f"last successful poll {last}, {_span(age)} ago"
    return False, (
        f"no successful poll since {last}, {_span(age)} ago (more than {STALE_AFTER} x "
        f"POLL_INTERVAL = {_span(limit)})"
    )


def _span(length: timedelta) -> str:
    """A length of time to a minute, as 2 d 3 h, 3 h 20 min, 12 min or 40 s."""
    seconds = max(0, int(length.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


async def cmd_backup(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    size = await backup_archive(settings.database_path, args.file, force=args.force)
    print(f"backup written: {args.file} ({size:,} bytes)", file=out)
    return 0


async def cmd_export(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    if args.format != "csv" and (args.bom or args.plain):
        # JSON has no formulas to defuse, and a byte order mark would break JSON Lines readers.
        raise ConfigError("--bom and --plain are for --format csv only")
    chosen = pick(editions(settings), args.edition)
    store = await Store.open(settings.database_path, create=False)
    stream: TextIO | None = None
    try:
        wanted: dict[str, list[int] | None] = {}
        trees: dict[str, tuple[str, CategoryTree]] = {}
        for edition in chosen:
            tree = await store.load_tree(edition.site)
            ids = None
            if args.category:
                found = tree.find(args.category)
                if len(found) != 1:
                    continue  # not a category of this edition (or not one only)
                ids = sorted(tree.descendants(found[0].wp_id))
            wanted[edition.site] = ids
            trees[edition.site] = (edition.key, tree)
        if not wanted:
            where = f" in the {chosen[0].key} edition" if args.edition else ""
            raise ConfigError(
                f"there is no category {args.category!r}{where}: `hrm-bot categories` lists them"
            )
        if args.output is not None:
            stream = await asyncio.to_thread(_open_output, args.output, args.bom)
        elif args.bom and args.format == "csv":
            out.write("\ufeff")
        writer = Writer(stream or out, args.format, safe=not args.plain)
        async for post in store.export_posts(wanted, since=args.since, until=args.until):
            key, tree = trees[post.site]
            writer.write(record(post, key, tree))
    finally:
        if stream is not None:
            stream.close()
        await store.close()
    noun = "report" if writer.count == 1 else "reports"
    print(f"hrm-bot: exported {writer.count} {noun}", file=sys.stderr)
    return 0


def _open_output(path: Path, bom: bool) -> TextIO:
    try:
        return path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="")
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None


COMMANDS: dict[str, Command] = {
    "export": cmd_export,
    "backup": cmd_backup,
    "health": cmd_health,
    "ingest": cmd_ingest,
    "backfill": cmd_backfill,
    "search": cmd_search,
    "categories": cmd_categories,
    "status": cmd_status,
    "stats": cmd_stats,
}


def search_words(argv: Sequence[str]) -> list[str]:
    """``search -drug execution``: a query may start with -word, which argparse would take for
    an unknown option; a ``--`` before the first word of the query settles it."""
    argv = list(argv)
    if argv[:1] != ["search"]:
        return argv
    i = 1
    while i < len(argv):
        word = argv[i]
        if word == "--" or not word.startswith("-") or word in ("-h", "--help"):
            return argv
        name = word.split("=", 1)[0]
        if name not in (*SEARCH_OPTIONS, "--edition"):
            return [*argv[:i], "--", *argv[i:]]
        i += 1 if "=" in word else 2
    return argv


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    try:
        return _main(argv, out)
    except BrokenPipeError:
        # `hrm-bot search evin | head -3`: the reader has what it wanted. Later writes, and
        # the flush at exit, go nowhere instead of raising again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # as a process killed by SIGPIPE


def _main(argv: Sequence[str] | None, out: TextIO | None) -> int:
    args = build_parser().parse_args(search_words(sys.argv[1:] if argv is None else argv))

    def warn(text: str) -> None:
        print(f"hrm-bot: warning: .env: {text}", file=sys.stderr)

    try:
        settings = load_settings(warn=warn)
        editions(settings)
    except ConfigError as exc:
        print(f"hrm-bot: {exc}", file=sys.stderr)
        return 2
    # The bot logs at INFO unless told otherwise; the one-shot commands print their result,
    # so their log lines (the fallbacks behind a poll, say) show only when LOG_LEVEL asks.
    explicit = "LOG_LEVEL" in settings.sources
    level = settings.log_level if explicit or args.command == "run" else "WARNING"
    logs.configure(
        level,
        secrets=[settings.telegram_bot_token or ""],
        json_lines=settings.log_format == "json",
    )
    try:
        if args.command == "run":
            return run_bot(settings)
        return asyncio.run(COMMANDS[args.command](settings, args, out or sys.stdout))
    except InvalidQueryError as exc:
        print(f"hrm-bot: {query_problem(exc)}", file=sys.stderr)
        return 2
    except ConfigError as exc:  # --edition fa with the Persian edition switched off
        print(f"hrm-bot: {exc}", file=sys.stderr)
        return 2
    except ArchiveMissing as exc:
        print(f"hrm-bot: {no_archive(exc, settings)}", file=sys.stderr)
        return 1
    except (FetchError, FeedError) as exc:  # backfill and ingest report their own, per edition
        print(f"hrm-bot: {args.command} failed: {exc}", file=sys.stderr)
        return 1
    except StoreError as exc:
        print(f"hrm-bot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        raise
    except Exception:
        # A bug: its traceback is worth having, through the log so that the token is masked
        # in it like everywhere else.
        logging.getLogger("bot").exception("hrm-bot %s: unexpected failure", args.command)
        return 1


def no_archive(exc: ArchiveMissing, settings: Settings) -> str:
    where = settings.database_path.absolute()
    state = "is empty" if where.is_file() else "does not exist yet"
    return (
        f"the archive {where} {state}: fill it with `hrm-bot ingest` (the newest posts) "
        "or `hrm-bot backfill` (the whole archive)"
    )


def no_token(settings: Settings, dotenv: Path = Path(".env")) -> str:
    """Where we looked for the token, so that a user can tell which source is wrong."""
    places = []
    if "TELEGRAM_BOT_TOKEN" in os.environ:
        places.append("it is empty in the environment")
    if not dotenv.is_file():
        places.append(f"there is no .env in {Path.cwd()}")
    else:
        places.append(f"{dotenv.resolve()} has no value for it")
    return (
        f"hrm-bot: TELEGRAM_BOT_TOKEN is not set ({', and '.join(places)}). Get a token from "
        "@BotFather in Telegram (send it /newbot) and put it in .env as "
        "TELEGRAM_BOT_TOKEN=... or in the environment."
    )


def run_bot(settings: Settings) -> int:
    if not settings.telegram_bot_token:
        print(no_token(settings), file=sys.stderr)
        return 2
    # Imported here: the other commands need no Telegram library.
    from bot.app import run

    try:
        run(settings)
    except (TokenRejected, WebhookRejected) as exc:
        print(f"hrm-bot: {logs.REDACT(str(exc))}", file=sys.stderr)
        return 2
    except (AlreadyRunning, CannotListen, MetricsError, StoreError) as exc:
        print(f"hrm-bot: {exc}", file=sys.stderr)
        return 1
    return 0


def query_problem(exc: InvalidQueryError) -> str:
    if exc.reason == "too_long":
        return f"the query is too long (at most {exc.limit} characters)"
    if exc.reason == "empty":
        return "the query is empty"
    return "the query has no words to search for"
