"""One poll of the site: fetch -> parse -> compare with the store -> store (+ outbox rows).

The REST API is preferred because it gives category ids; the RSS feed is the fallback, and
the choice is made again on every poll. New posts are told by identity against the store,
never by a date cursor, so wrong or missing dates cannot hide or repeat a post.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from bot.errors import FeedError, FetchError, NotModified, WrongEdition
from bot.site.client import Response, SiteClient
from bot.site.fallback import FALLBACK_CATEGORIES
from bot.site.parse import (
    Feed,
    FeedItem,
    Probed,
    item_to_post,
    parse_feed,
    parse_rest_posts,
    parse_rest_probe,
    parse_terms,
    short_language,
)
from bot.site.text import guess_language
from storage import Category, CategoryTree, PostIn, Store, UpsertResult

log = logging.getLogger(__name__)
T = TypeVar("T")

POSTS = "/wp-json/wp/v2/posts"
CATEGORIES = "/wp-json/wp/v2/categories"
TAGS = "/wp-json/wp/v2/tags"
FEED = "/feed/"
FIRST_POLL_POSTS = 100  # the newest posts read, silently, into an empty store
FEED_PAGE_LIMIT = 10  # feed pages a poll follows back (10 per page: the first poll's 100)
# A poll's probe: this many ids and modification times, about 45 bytes each. Ten cover
# any quiet minute; a burst of more changes pages on.
PROBE_PAGE = 10
PROBE_FIELDS = "id,modified_gmt"
REST_MAX_PAGE = 100  # WordPress's largest per_page
REST_PAGE_LIMIT = 10
CATEGORY_REFRESH = timedelta(days=1)
REST_UNAVAILABLE = (401, 403, 404)
MAX_TERM_PAGES = 20
MAX_BACKFILL_PAGES = 100_000
LEARNED_IDS = 10**11  # ids of categories learned from a feed start here
WRONG_LANGUAGE_BATCH = 3  # posts a batch needs before its language is judged
LANGUAGE_NAMES = {"en": "English", "fa": "Persian"}


class RestUnavailable(Exception):
    """The site does not serve its REST API to us (or serves HTML instead)."""


@dataclass(frozen=True, slots=True)
class PollResult:
    source: str = "none"  # "rest" | "rss" | "none"
    new: tuple[int, ...] = ()
    modified: tuple[int, ...] = ()
    unchanged: int = 0
    errors: tuple[str, ...] = ()
    silent: bool = False  # the first poll: stored as known, alerts nobody
    not_modified: bool = False
    enqueued: int = 0
    failures: int = 0  # consecutive failed polls, this one included
    skipped: int = 0  # feed items with neither link nor guid, which cannot be stored
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.errors:
            return "failed: " + "; ".join(self.errors)
        if self.not_modified:
            return f"{self.source}: not modified"
        text = f"{self.source}: {len(self.new)} new, {len(self.modified)} modified, "
        text += f"{self.unchanged} unchanged"
        if self.skipped:
            text += f", {self.skipped} skipped (no link or guid)"
        return text + (" (first poll: stored as already known)" if self.silent else "")

    def as_state(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "new": len(self.new),
            "modified": len(self.modified),
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "errors": list(self.errors),
            "silent": self.silent,
            "not_modified": self.not_modified,
            "at": self.at.isoformat(timespec="seconds"),
        }


@dataclass(frozen=True, slots=True)
class BackfillPage:
    page: int
    total_pages: int | None
    stored: int
    source: str


def backoff_delay(interval: float, failures: int) -> float:
    """Seconds to the next poll: doubling per consecutive failure, up to 10x (an hour)."""
    if failures <= 0:
        return interval
    cap = max(interval, min(10 * interval, 3600.0))
    return float(min(interval * 2 ** min(failures, 20), cap))


class Poller:
    def __init__(
        self,
        store: Store,
        client: SiteClient,
        site: str,
        language: str = "en",
        fallback: Sequence[Category] | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.site = site
        self.tree = CategoryTree(())
        # The categories to use when the site's REST API has never given them: the English
        # site's menu, built in. An edition without one (the Persian) learns them from its
        # feed's <category> names instead.
        self.fallback: Sequence[Category] = (
            FALLBACK_CATEGORIES if fallback is None and language == "en" else fallback or ()
        )
        # What the edition is written in; the feed's <language> may refine it.
        self.expected = language
        self.language = language

    # -- categories -----------------------------------------------------------------------

    async def load_stored_categories(self) -> CategoryTree:
        """The stored tree, or the built-in menu; no network, so a start is never held up."""
        stored = await self.store.load_tree(self.site)
        self.tree = stored if len(stored) else CategoryTree(self.fallback)
        return self.tree

    async def load_categories(
        self,
        *,
        now: datetime | None = None,
        force: bool = False,
        state: dict[str, Any] | None = None,
    ) -> CategoryTree:
        """The stored tree, refreshed from the site at most daily; the menu when all else fails."""
        now = now or datetime.now(UTC)
        if state is None:
            state = await self.store.get_state(self.site)
        checked = state.get("categories_checked_at")
        fresh = checked and now - datetime.fromisoformat(checked) < CATEGORY_REFRESH
        if fresh and not force and len(self.tree):
            return self.tree  # what the last refresh stored
        stored = await self.store.load_tree(self.site)
        if len(stored) and fresh and not force:
            self.tree = stored
            return stored
        try:
            cats = await self._fetch_terms(CATEGORIES)
        except (FetchError, FeedError, RestUnavailable) as exc:
            # INFO: a site with its REST API closed says this on every refresh.
            log.info("categories: cannot refresh from the site (%s); using the stored tree", exc)
            if not len(stored):
                stored = await self.store.replace_categories(self.site, self.fallback)
            self.tree = stored
            return stored
        if cats:
            self.tree = await self.store.replace_categories(self.site, cats)
        else:
            self.tree = stored
        await self.store.set_state(
            self.site, {"categories_checked_at": now.isoformat(timespec="seconds")}
        )
        return self.tree

    async def _fetch_terms(self, path: str, **params: str | int) -> list[Any]:
        out: list[Any] = []
        page = 1
        while page <= MAX_TERM_PAGES:
            resp = await self._rest(path, {"per_page": 100, "page": page, **params})
            out.extend(parse_terms(resp.body))
            total = resp.headers.get("x-wp-totalpages", "1")
            if not total.isdigit() or page >= int(total):
                break
            page += 1
        return out

    async def _rest(
        self,
        path: str,
        params: dict[str, str | int],
        *,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Response:
        try:
            resp = await self.client.get(path, params, etag=etag, last_modified=last_modified)
        except FetchError as exc:
            if exc.status in REST_UNAVAILABLE:
                raise RestUnavailable(f"HTTP {exc.status}") from None
            raise
        if "json" not in resp.content_type.lower() or resp.body.lstrip()[:1] not in (b"[", b"{"):
            raise RestUnavailable("answers with something other than JSON")
        return resp

    # -- polling --------------------------------------------------------------------------

    async def poll(self) -> PollResult:
        """One poll; failures come back in the result, and are recorded, never raised."""
        now = datetime.now(UTC)
        state: dict[str, Any] = {}
        try:
            state = await self.store.get_state(self.site)
            await self.load_categories(now=now, state=state)
            first = not await self.store.has_posts(self.site)
            try:
                result = await self._poll_rest(first, state)
            except WrongEdition:
                raise  # the feed would serve the same posts
            except (RestUnavailable, FetchError, FeedError) as exc:
                # Logged at INFO: the feed usually serves, and when it does not, the poll's
                # error names both failures.
                log.info("poll: REST API: %s; reading the RSS feed", exc)
                result = await with_earlier_failure(self._poll_feed(first, state), exc)
        except (FetchError, FeedError) as exc:
            result = PollResult(errors=(str(exc),), at=now)
        except Exception as exc:  # a bug or a store failure: recorded, and the loop goes on
            log.exception("poll: unexpected failure")
            result = PollResult(errors=(f"internal error: {exc.__class__.__name__}",), at=now)
        if not result.ok:
            result = replace(result, failures=int(state.get("failures", 0)) + 1)
        try:
            await self._record(result)
        except Exception:
            log.exception("poll: cannot record the result")
        return result

    async def _record(self, result: PollResult) -> None:
        values: dict[str, Any] = {"last_poll": result.as_state(), "failures": result.failures}
        # Not logged here: the bot logs each result, and `hrm-bot ingest` prints it.
        if result.ok:
            values["last_success"] = result.at.isoformat(timespec="seconds")
        else:
            values.update(
                last_error=result.errors[0],
                last_failure=result.at.isoformat(timespec="seconds"),
            )
        await self.store.set_state(self.site, values)

    async def _store(self, items: Sequence[PostIn], *, source: str, first: bool) -> PollResult:
        self._check_language(items)
        if any(c not in self.tree.by_id for i in items for c in i.categories):
            # A category created since the last refresh: without it, its followers would
            # never hear of this post (alerts are queued once, when a post is new).
            await self.load_categories(force=True)
        res: UpsertResult = await self.store.upsert_posts(
            self.site, items, tree=self.tree, alert=not first
        )
        return PollResult(
            source=source,
            new=res.new,
            modified=res.modified,
            unchanged=res.unchanged,
            silent=first,
            enqueued=res.enqueued + res.edits,
        )

    async def _learn_categories(self, items: Sequence[FeedItem]) -> None:
        """Without the REST API's categories or a built-in menu, take the feed's <category>
        names for categories, so that they can be followed at all.

        The feed does not tell categories from tags, so tags become categories too; a
        learned category gets an id far above WordPress's and the slug WordPress would give
        its name, so subscriptions carry over once the REST API answers and the real tree
        replaces the learned one.
        """
        if self.fallback or any(c < LEARNED_IDS for c in self.tree.by_id):
            return
        names = {t for i in items for t in i.terms if not self.tree.find(t)}
        if not names:
            return
        learned = [
            Category(wp_id=LEARNED_IDS + zlib.crc32(n.encode()), slug=wp_slug(n), name=n, parent=0)
            for n in sorted(names)
        ]
        taken = set(self.tree.by_slug)
        learned = [c for c in learned if c.slug and c.slug not in taken]
        all_cats = [*self.tree.by_id.values(), *learned]
        self.tree = await self.store.replace_categories(self.site, all_cats)
        log.info("categories: %d learned from the feed", len(learned))

    def _check_language(self, items: Sequence[PostIn]) -> None:
        """Refuse a batch that is mostly not in the edition's language.

        A misconfigured cache or proxy can serve one edition's posts at the other's address;
        stored, they would alert the other edition's followers. A few posts in the other
        language are normal (the English site publishes some Persian statements), so only a
        batch where they are the majority is refused.
        """
        if len(items) < WRONG_LANGUAGE_BATCH:
            return
        ours = sum(
            guess_language(i.title + " " + i.content[:500], "en") == self.expected for i in items
        )
        if 2 * ours < len(items):
            raise WrongEdition(
                f"only {ours} of the {len(items)} posts it answered with are in "
                f"{LANGUAGE_NAMES.get(self.expected, self.expected)}: it seems to serve the other "
                "edition (check SITE_URL and SITE_URL_FA)"
            )

    async def _rest_page(self, page: int, per_page: int, **params: str | int) -> list[PostIn]:
        return (await self._rest_posts(page, per_page, **params))[0]

    async def _rest_posts(
        self, page: int, per_page: int, **params: str | int
    ) -> tuple[list[PostIn], int | None]:
        """One REST page of posts with their tag names, and the number of pages."""
        resp = await self._rest(
            POSTS, {"page": page, "per_page": per_page, "_embed": "author", **params}
        )
        rest = await asyncio.to_thread(parse_rest_posts, resp.body, self.language)
        names = await self._tag_names({t for r in rest for t in r.tag_ids})
        items = [
            replace(r.post, tags=tuple(names[t] for t in r.tag_ids if t in names)) for r in rest
        ]
        total = resp.headers.get("x-wp-totalpages", "")
        return items, int(total) if total.isdigit() else None

    async def _tag_names(self, ids: set[int]) -> dict[int, str]:
        """Names of these tags, asking the site for those we have not seen; best effort,
        since tags are only extra text."""
        if not ids:
            return {}
        names = await self.store.tag_names(self.site, sorted(ids))
        missing = sorted(ids - set(names))
        if not missing:
            return names
        try:
            terms = await self._fetch_terms(TAGS, include=",".join(map(str, missing[:100])))
        except (FetchError, FeedError, RestUnavailable) as exc:
            log.info("tags: cannot fetch names (%s)", exc)
            return names
        learned = {t.wp_id: t.name for t in terms if t.wp_id in ids}
        await self.store.add_tags(self.site, learned)
        return names | learned

    async def _poll_rest(self, first: bool, state: dict[str, Any]) -> PollResult:
        if first:
            return await self._store(
                await self._rest_page(1, FIRST_POLL_POSTS), source="rest", first=True
            )
        # A probe lists the ids and modification times of the most recently changed posts;
        # only those new or changed since we last looked are downloaded whole. Newest
        # modification first, so a page where something is as we know it ends the probe.
        validators = state.get("probe_validators") or {}
        seen: dict[str, str] = state.get("probe_seen") or {}
        probed: list[Probed] = []
        wanted: list[int] = []
        known: dict[str, str] = {}  # what each listed post was known as, when unchanged
        answer: Response | None = None
        for page in range(1, REST_PAGE_LIMIT + 1):
            params: dict[str, str | int] = {
                "page": page,
                "per_page": PROBE_PAGE,
                "orderby": "modified",
                "_fields": PROBE_FIELDS,
            }
            try:
                resp = await self._rest(POSTS, params, **(validators if page == 1 else {}))
            except NotModified:
                return PollResult(source="rest", not_modified=True)
            except FetchError as exc:
                if exc.status == 400 and page > 1:
                    break  # past the last page
                raise
            answer = answer or resp
            batch = parse_rest_probe(resp.body)
            changed = await self._changed(batch, seen, known)
            probed.extend(batch)
            wanted.extend(changed)
            if len(batch) < PROBE_PAGE or len(changed) < len(batch):
                break
        items: list[PostIn] = []
        for start in range(0, len(wanted), REST_MAX_PAGE):
            chunk = wanted[start : start + REST_MAX_PAGE]
            items.extend(await self._rest_page(1, len(chunk), include=",".join(map(str, chunk))))
        result = await self._store(items, source="rest", first=False)
        result = replace(result, unchanged=result.unchanged + len(probed) - len(wanted))
        # Recorded only once the posts are stored, so a failed poll asks for them again.
        # A post downloaded with a time too recent to trust (see _settled), or listed but
        # not served whole, is recorded as "" and so downloaded again next time.
        got = {i.wp_id for i in items}
        missing = set(wanted) - got
        if missing:
            log.info("poll: %d listed posts were not served whole; asking again", len(missing))
        now_seen: dict[str, str] = {}
        for p in probed:
            key = str(p.wp_id)
            if p.wp_id not in wanted:
                now_seen[key] = known[key]
            elif p.wp_id in got and p.modified is not None and _settled(answer, p.modified):
                now_seen[key] = p.modified.isoformat()
            else:
                now_seen[key] = ""
        new_validators = _probe_validators(answer) if answer is not None else {}
        if now_seen != seen or new_validators != validators:
            await self.store.set_state(
                self.site, {"probe_seen": now_seen, "probe_validators": new_validators}
            )
        return result

    async def _changed(
        self, batch: Sequence[Probed], seen: dict[str, str], known: dict[str, str]
    ) -> list[int]:
        """The ids of the probe's posts that are new, or changed since we last saw them;
        ``known`` gets what the others were known as."""
        unseen = [p.wp_id for p in batch if str(p.wp_id) not in seen]
        stored = await self.store.modified_times(self.site, unseen) if unseen else {}
        out: list[int] = []
        for p in batch:
            was = seen.get(str(p.wp_id))
            if was is None and (when := stored.get(p.wp_id)) is not None:
                was = when.isoformat()
            if p.modified is None or was != p.modified.isoformat():
                out.append(p.wp_id)
            else:
                known[str(p.wp_id)] = was
        return out

    async def _poll_feed(self, first: bool, state: dict[str, Any]) -> PollResult:
        validators = {} if first else state.get("feed_validators") or {}
        try:
            resp = await self.client.get(
                FEED, etag=validators.get("etag"), last_modified=validators.get("last_modified")
            )
        except NotModified:
            return PollResult(source="rss", not_modified=True)
        feed = await parse_off_loop(resp)
        skipped = feed.skipped
        self.language = short_language(feed.language, self.language)
        await self._learn_categories(feed.items)
        items = [item_to_post(i, self.tree, self.language) for i in feed.items]
        batch = items
        page = 1
        # A page with nothing stored yet means more may be behind it (a burst of posts).
        while (
            batch
            and page < FEED_PAGE_LIMIT
            and (first or not any(await self.store.known(self.site, batch)))
        ):
            page += 1
            try:
                more = await self.client.get(FEED, {"paged": page})
            except FetchError as exc:
                if exc.status == 404:
                    break  # past the last page
                raise
            parsed = await parse_off_loop(more)
            skipped += parsed.skipped
            if not parsed.items:
                break
            await self._learn_categories(parsed.items)
            batch = [item_to_post(i, self.tree, self.language) for i in parsed.items]
            items.extend(batch)
        result = replace(await self._store(items, source="rss", first=first), skipped=skipped)
        await self.store.set_state(self.site, {"feed_validators": _validators(resp)})
        return result

    # -- backfill -------------------------------------------------------------------------

    async def backfill(
        self,
        *,
        since: datetime | None = None,
        max_pages: int | None = None,
        progress: Callable[[BackfillPage], Awaitable[None] | None] | None = None,
    ) -> int:
        """Store the archive, oldest pages last, silently; resumable. Returns posts stored."""
        await self.load_categories()
        state = await self.store.get_state(self.site)
        cursor = state.get("backfill") or {}
        after = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if since else None
        if cursor.get("since") != after:
            cursor = {}  # a different range: start over
        try:
            return await self._backfill_rest(since, max_pages, progress, cursor)
        except RestUnavailable as exc:
            # As a poll does: the feed's pages when the REST API is closed or failing. A
            # failure after REST pages were stored is raised instead, and a rerun resumes.
            log.info("backfill: REST API: %s; reading feed pages", exc)
            return await with_earlier_failure(self._backfill_feed(since, max_pages, progress), exc)

    async def _backfill_rest(
        self,
        since: datetime | None,
        max_pages: int | None,
        progress: Callable[[BackfillPage], Awaitable[None] | None] | None,
        cursor: dict[str, Any],
    ) -> int:
        # Pages shift as posts are published meanwhile; stepping one page back on resume
        # rereads a little rather than skipping any.
        page = max(1, int(cursor.get("page", 1)) - 1)
        done = 0
        stored = 0
        params: dict[str, str | int] = {"orderby": "date", "order": "desc"}
        if since is not None:
            params["after"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        seen: set[int | None] = set()

        async def fetch(number: int) -> tuple[list[PostIn], int | None]:
            try:
                return await self._rest_posts(number, 100, **params)
            except FetchError as exc:
                if exc.status != 400:
                    raise
                return [], None  # past the last page

        pending = asyncio.create_task(fetch(page))
        try:
            while True:
                try:
                    items, total_pages = await pending
                except (FetchError, FeedError) as exc:
                    if done:
                        raise
                    raise RestUnavailable(str(exc)) from None
                if (items and all(i.wp_id in seen for i in items)) or page > MAX_BACKFILL_PAGES:
                    # A cache that ignores ?page= serves the same page forever.
                    log.warning("backfill: page %d brings nothing new; stopping", page)
                    items = []
                seen.update(i.wp_id for i in items)
                finished = not items or (total_pages is not None and page >= total_pages)
                last = max_pages is not None and done + 1 >= max_pages
                if not finished and not last:
                    # The next page downloads and parses while this one is stored: SQLite
                    # works in its own thread, so the two overlap.
                    pending = asyncio.create_task(fetch(page + 1))
                if items:
                    res = await self.store.upsert_posts(
                        self.site, items, tree=self.tree, alert=False
                    )
                    stored += len(res.new) + len(res.modified)
                    done += 1
                    await _call(progress, BackfillPage(page, total_pages, stored, "rest"))
                page += 1
                cursor = {} if finished else {"page": page, "since": params.get("after")}
                await self.store.set_state(self.site, {"backfill": cursor})
                if finished or last:
                    return stored
        finally:
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending

    async def _backfill_feed(
        self,
        since: datetime | None,
        max_pages: int | None,
        progress: Callable[[BackfillPage], Awaitable[None] | None] | None,
    ) -> int:
        stored = 0
        page = 1
        seen: set[str] = set()
        while (max_pages is None or page <= max_pages) and page <= MAX_BACKFILL_PAGES:
            try:
                resp = await self.client.get(FEED, {"paged": page} if page > 1 else None)
            except FetchError as exc:
                if exc.status == 404:
                    break
                raise
            feed = await parse_off_loop(resp)
            self.language = short_language(feed.language, self.language)
            await self._learn_categories(feed.items)
            items = [item_to_post(i, self.tree, self.language) for i in feed.items]
            keys = {i.guid or i.url for i in items}
            if keys <= seen:
                log.warning("backfill: feed page %d brings nothing new; stopping", page)
                break
            seen |= keys
            older = [i for i in items if since and i.published and i.published < since]
            items = [i for i in items if i not in older]
            if items:
                res = await self.store.upsert_posts(self.site, items, tree=self.tree, alert=False)
                stored += len(res.new) + len(res.modified)
                await _call(progress, BackfillPage(page, None, stored, "rss"))
            if older or not feed.items:
                break
            page += 1
        return stored


async def parse_off_loop(resp: Response) -> Feed:
    """Parse a feed in a worker thread: a hostile document can take feedparser seconds, and
    the event loop meanwhile serves the other edition, the commands and the sends."""
    return await asyncio.to_thread(parse_feed, resp.body, resp.content_type)


async def with_earlier_failure(fallback: Awaitable[T], earlier: Exception) -> T:
    """Await the fallback; if it fails too, its error also names the first failure."""
    try:
        return await fallback
    except FetchError as exc:
        raise FetchError(f"{exc} (REST API: {earlier})", status=exc.status) from None
    except FeedError as exc:
        raise FeedError(f"{exc} (REST API: {earlier})") from None


_SLUG_DROP = re.compile(r"[^\w\s-]|[\u200c\u200d\u200e\u200f]")


def wp_slug(name: str) -> str:
    """The slug WordPress makes of a category name: lower case, spaces as hyphens, joiners
    and punctuation dropped (Persian letters kept)."""
    return "-".join(_SLUG_DROP.sub("", name.lower()).split())


def _validators(resp: Response) -> dict[str, str | None]:
    """ETag and Last-Modified worth sending next time, or none.

    WordPress derives both from the newest modification, to the second. A feed fetched in
    the same second as that modification can change again without its validators changing,
    so then we keep none and the next poll asks unconditionally.
    """
    etag, modified, date = (resp.headers.get(h, "") for h in ("etag", "last-modified", "date"))
    try:
        settled = (parsedate_to_datetime(date) - parsedate_to_datetime(modified)).total_seconds()
    except (TypeError, ValueError, IndexError):
        settled = 0.0  # missing or unreadable dates: keep nothing
    if settled < 2:
        return {}
    return {"etag": etag, "last_modified": modified}


async def _call(
    progress: Callable[[BackfillPage], Awaitable[None] | None] | None, page: BackfillPage
) -> None:
    if progress is None:
        return
    out = progress(page)
    if out is not None:
        await out


def _date_of(resp: Response) -> datetime | None:
    try:
        return parsedate_to_datetime(resp.headers.get("date", ""))
    except (TypeError, ValueError, IndexError):
        return None


def _settled(resp: Response | None, modified: datetime) -> bool:
    """Whether a post's modification time is at least two seconds older than the answer.

    WordPress keeps times to the second: a post changed again in the second the probe saw
    would keep its time, so a time that recent is not recorded, and the post is compared
    with the store again next time.
    """
    date = _date_of(resp) if resp is not None else None
    return date is None or (date - modified).total_seconds() >= 2


def _probe_validators(resp: Response) -> dict[str, str]:
    """What to send with the next probe, when the site (or a cache in front) gives any.

    Plain WordPress sends none with its REST API. A Last-Modified is subject to the same
    one-second caveat as the feed's (see _validators); an ETag given without one is taken
    to follow the answer's bytes, as caches make them, and is kept.
    """
    etag = resp.headers.get("etag", "")
    if resp.headers.get("last-modified"):
        return {k: v for k, v in _validators(resp).items() if v}
    return {"etag": etag} if etag else {}
