"""The ``hrm-bot`` command: argument parsing and the commands that do not need Telegram."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TextIO

from bot import __version__, logs
from bot.config import Settings, load_settings
from bot.errors import ConfigError, InvalidQueryError, StoreError
from bot.poller import BackfillPage, Poller
from bot.site import SiteClient
from storage import Store, parse_query
from storage.normalize import HIT_END, HIT_START

Command = Callable[[Settings, argparse.Namespace, TextIO], Coroutine[None, None, int]]


def _date(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date like 2024-01-31, got {text!r}"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hrm-bot",
        description="Telegram alerts and archive search for Iran Human Rights Monitor reports. "
        "Settings come from the environment and from a .env file in the working directory "
        "(see .env.example).",
    )
    parser.add_argument("--version", action="version", version=f"hrm-bot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="run the Telegram bot (long polling) until SIGINT or SIGTERM")
    sub.add_parser("ingest", help="poll the site once and print what changed")
    backfill = sub.add_parser(
        "backfill", help="store the whole archive (resumable; alerts nobody)"
    )
    backfill.add_argument("--since", type=_date, help="only posts published after this date")
    backfill.add_argument("--max-pages", type=_positive, help="stop after this many pages")
    search = sub.add_parser("search", help="search the stored posts")
    search.add_argument("query", nargs="+", help='words, "phrases", -exclude, prefix*')
    search.add_argument("--category", help="only this category (slug) and its sub-categories")
    search.add_argument("--limit", type=_positive, default=10, help="results to show (10)")
    sub.add_parser("categories", help="print the category tree with slugs")
    sub.add_parser("status", help="posts stored, last poll and its result")
    return parser


@asynccontextmanager
async def _open(settings: Settings) -> AsyncIterator[tuple[Store, Poller]]:
    store = await Store.open(settings.database_path)
    client = SiteClient(
        settings.site_url, timeout=settings.fetch_timeout, max_bytes=settings.max_response_bytes
    )
    try:
        yield store, Poller(store, client, settings.site)
    finally:
        await client.aclose()
        await store.close()


async def cmd_ingest(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    async with _open(settings) as (_store, poller):
        result = await poller.poll()
    print(result.summary(), file=out)
    return 0 if result.ok else 1


async def cmd_backfill(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    def progress(page: BackfillPage) -> None:
        of = f"/{page.total_pages}" if page.total_pages else ""
        print(f"page {page.page}{of} ({page.source}): {page.stored} posts stored", file=out)
        out.flush()

    async with _open(settings) as (store, poller):
        stored = await poller.backfill(
            since=args.since, max_pages=args.max_pages, progress=progress
        )
        total = await store.count_posts(settings.site)
    print(f"backfill: {stored} posts stored or updated; {total} in the store", file=out)
    return 0


async def cmd_search(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    text = " ".join(args.query)
    if args.category:
        text += f" category:{args.category}"
    query = parse_query(text)
    store = await Store.open(settings.database_path)
    try:
        tree = await store.load_tree(settings.site)
        if query.category and len(tree.find(query.category)) != 1:
            print(f"hrm-bot: no category with the slug {query.category!r}", file=sys.stderr)
            return 2
        page = await store.search(settings.site, query, tree, limit=args.limit)
    finally:
        await store.close()
    if not page.hits:
        print("no matches", file=out)
    for hit in page.hits:
        post = hit.post
        date = post.published.date().isoformat() if post.published else "undated"
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
    async with _open(settings) as (_store, poller):
        tree = await poller.load_categories()
    for depth, cat in tree.walk():
        print(f"{'  ' * depth}{cat.name}  ({cat.slug})", file=out)
    return 0


async def cmd_status(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    store = await Store.open(settings.database_path)
    try:
        posts = await store.count_posts(settings.site)
        state = await store.get_state(settings.site)
    finally:
        await store.close()
    print(f"site: {settings.site_url}", file=out)
    print(f"posts stored: {posts}", file=out)
    last = state.get("last_poll")
    if last:
        outcome = (
            "failed: " + "; ".join(last["errors"])
            if last["errors"]
            else (
                f"{last['source']}: {last['new']} new, {last['modified']} modified, "
                f"{last['unchanged']} unchanged"
                + (" (not modified)" if last["not_modified"] else "")
            )
        )
        print(f"last poll: {last['at']}  {outcome}", file=out)
    else:
        print("last poll: never", file=out)
    print(f"last success: {state.get('last_success', 'never')}", file=out)
    if state.get("failures"):
        print(
            f"failures in a row: {state['failures']} (last: {state.get('last_error')})", file=out
        )
    return 0


COMMANDS: dict[str, Command] = {
    "ingest": cmd_ingest,
    "backfill": cmd_backfill,
    "search": cmd_search,
    "categories": cmd_categories,
    "status": cmd_status,
}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"hrm-bot: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    if args.command == "run":
        return run_bot(settings)
    try:
        return asyncio.run(COMMANDS[args.command](settings, args, out or sys.stdout))
    except InvalidQueryError as exc:
        print(f"hrm-bot: {query_problem(exc)}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"hrm-bot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


NO_TOKEN = (
    "hrm-bot: TELEGRAM_BOT_TOKEN is not set. Get a token from @BotFather in Telegram "
    "(send it /newbot) and put it in .env as TELEGRAM_BOT_TOKEN=... or in the environment."
)


def run_bot(settings: Settings) -> int:
    if not settings.telegram_bot_token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    # Imported here: the other commands need no Telegram library.
    from bot.app import AlreadyRunning, run

    try:
        run(settings)
    except AlreadyRunning as exc:
        print(f"hrm-bot: {exc}", file=sys.stderr)
        return 1
    except StoreError as exc:
        print(f"hrm-bot: {exc}", file=sys.stderr)
        return 1
    return 0


def query_problem(exc: InvalidQueryError) -> str:
    if exc.reason == "too_long":
        return f"the query is too long (at most {exc.limit} characters)"
    if exc.reason == "empty":
        return "the query is empty"
    return "the query has no words to search for"
