"""Bytes from the site -> posts and categories. Pure: no I/O, no clock, no store."""

from __future__ import annotations

import calendar
import html
import json
import re
import xml.sax
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from bot.errors import FeedError
from bot.text import guess_language, html_to_text, one_line
from storage import Category, CategoryTree, PostIn

_WP_ID = re.compile(r"[?&]p=(\d+)(?:&|#|$)")
_XML_START = re.compile(rb"<\?xml|<rss[\s>]|<feed[\s>]|<rdf:RDF[\s>]")
_HTML_TAG = re.compile(rb"<(?:!doctype\s+html|html)[\s>]", re.I)
# How far into the body we look for the start of the XML when repairing leading junk.
_REPAIR_WINDOW = 64 * 1024


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One RSS item as the feed gives it; categories still names (mixed with tags)."""

    url: str
    title: str
    guid: str | None
    wp_id: int | None
    author: str | None
    published: datetime | None
    excerpt: str
    content: str
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Feed:
    items: tuple[FeedItem, ...]
    language: str | None


@dataclass(frozen=True, slots=True)
class RestPost:
    post: PostIn
    tag_ids: tuple[int, ...]


MAX_ID = 2**63 - 1  # SQLite's INTEGER: a larger id would make the whole batch fail


def valid_id(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
        return value
    return None


def wp_id_from_guid(guid: str | None) -> int | None:
    if not guid:
        return None
    m = _WP_ID.search(guid)
    return valid_id(int(m[1])) if m and len(m[1]) < 20 else None


def looks_like_html(head: bytes) -> bool:
    """Whether a document starts as an HTML page, past any leading comments.

    Comments are skipped with find(), not a regex: nested repetition over comments
    backtracks exponentially on a hostile body.
    """
    rest = head.lstrip()
    while rest.startswith(b"<!--"):
        end = rest.find(b"-->")
        if end < 0:
            return False
        rest = rest[end + 3 :].lstrip()
    return _HTML_TAG.match(rest) is not None


def repair(body: bytes) -> bytes:
    """Drop a BOM and junk before the XML (blank lines, PHP notices, cache comments)."""
    m = _XML_START.search(body, 0, _REPAIR_WINDOW)
    return body[m.start() :] if m and m.start() > 0 else body


def _struct_to_dt(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def _text(value: str, kind: str | None) -> str:
    """feedparser gives plain text for markup-free titles and HTML otherwise."""
    return one_line(
        html_to_text(value) if kind in ("text/html", "application/xhtml+xml") else value
    )


def parse_feed(body: bytes, content_type: str = "") -> Feed:
    """Parse an RSS/Atom document; raise FeedError for anything we cannot trust whole."""
    if body[:2] == b"\x1f\x8b":
        raise FeedError("gzip-compressed body without Content-Encoding")
    body = repair(body)
    if looks_like_html(body[:4096]) or (
        "html" in content_type.lower() and not _XML_START.match(body[:512])
    ):
        raise FeedError("an HTML page instead of a feed")
    parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    if parsed.get("bozo") and isinstance(parsed.get("bozo_exception"), xml.sax.SAXException):
        # A feed cut off mid-item still yields the half item: store none of it.
        raise FeedError(f"not well-formed XML: {parsed.bozo_exception}")
    if not parsed.get("version"):
        raise FeedError("not an RSS or Atom feed")
    items: list[FeedItem] = []
    for entry in parsed.entries:
        link = (entry.get("link") or "").strip()
        guid = (entry.get("id") or "").strip() or None
        if not link and not guid:
            continue  # nothing to identify or open: useless to a reader
        title_detail = entry.get("title_detail") or {}
        title = _text(entry.get("title") or "", title_detail.get("type"))
        contents = entry.get("content") or []
        content_html = contents[0].get("value", "") if contents else ""
        summary = entry.get("summary") or ""
        excerpt = one_line(html_to_text(summary))
        content = html_to_text(content_html) if content_html else excerpt
        terms = tuple(
            dict.fromkeys(
                one_line(html.unescape(t.get("term") or ""))
                for t in entry.get("tags") or []
                if (t.get("term") or "").strip()
            )
        )
        items.append(
            FeedItem(
                url=link or guid or "",
                title=title or excerpt[:80] or link,
                guid=guid,
                wp_id=wp_id_from_guid(guid),
                author=one_line(entry.get("author") or "") or None,
                # dict.get: feedparser's own get() maps one field to the other, with a warning.
                published=_struct_to_dt(
                    dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
                ),
                excerpt=excerpt,
                content=content,
                terms=terms,
            )
        )
    language = (parsed.feed.get("language") or "").strip() or None
    return Feed(tuple(items), language)


def short_language(tag: str | None, default: str = "en") -> str:
    """``en-US`` -> ``en``."""
    if not tag:
        return default
    return tag.split("-")[0].split("_")[0].strip().lower() or default


def item_to_post(item: FeedItem, tree: CategoryTree, site_language: str) -> PostIn:
    """Resolve an item's ``<category>`` names against the site's tree."""
    ids, tags, known = tree.resolve_names(item.terms)
    return PostIn(
        url=item.url,
        title=item.title,
        excerpt=item.excerpt,
        content=item.content,
        lang=guess_language(item.title + " " + item.content[:2000], site_language),
        wp_id=item.wp_id,
        guid=item.guid,
        author=item.author,
        published=item.published,
        modified=None,
        categories=tuple(ids),
        categories_known=known,
        tags=tuple(tags),
    )


def _json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FeedError(f"{what}: not JSON ({exc.__class__.__name__})") from None


def _wp_date(value: Any) -> datetime | None:
    """WordPress ``*_gmt`` fields: UTC without an offset; zero dates for drafts."""
    if not isinstance(value, str) or not value or value.startswith("0000"):
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _rendered(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if isinstance(value, Mapping):
        value = value.get("rendered")
    return value if isinstance(value, str) else ""


def _int_list(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if valid_id(v) is not None)


def parse_rest_posts(body: bytes, site_language: str) -> list[RestPost]:
    """``/wp-json/wp/v2/posts``: a JSON array of post objects. Malformed objects are skipped."""
    data = _json(body, "posts")
    if not isinstance(data, list):
        raise FeedError("posts: expected a JSON array")
    out: list[RestPost] = []
    for obj in data:
        if not isinstance(obj, Mapping):
            continue
        wp_id, link = valid_id(obj.get("id")), obj.get("link")
        if wp_id is None or not isinstance(link, str) or not link.strip():
            continue
        title = one_line(html_to_text(_rendered(obj, "title")))
        excerpt = one_line(html_to_text(_rendered(obj, "excerpt")))
        content = html_to_text(_rendered(obj, "content")) or excerpt
        author = None
        embedded = obj.get("_embedded")
        if isinstance(embedded, Mapping):
            authors = embedded.get("author")
            if isinstance(authors, list) and authors and isinstance(authors[0], Mapping):
                name = authors[0].get("name")
                author = one_line(html.unescape(name)) if isinstance(name, str) else None
        post = PostIn(
            url=link,
            title=title or excerpt[:80] or link,
            excerpt=excerpt,
            content=content,
            lang=guess_language(title + " " + content[:2000], site_language),
            wp_id=wp_id,
            guid=_rendered(obj, "guid") or None,
            author=author or None,
            published=_wp_date(obj.get("date_gmt")),
            modified=_wp_date(obj.get("modified_gmt")),
            categories=_int_list(obj.get("categories")),
            categories_known=True,
        )
        out.append(RestPost(post, _int_list(obj.get("tags"))))
    return out


def parse_terms(body: bytes) -> list[Category]:
    """``/wp-json/wp/v2/categories`` (or tags): id, slug, name (HTML-escaped), parent."""
    data = _json(body, "terms")
    if not isinstance(data, list):
        raise FeedError("terms: expected a JSON array")
    out: list[Category] = []
    for obj in data:
        if not isinstance(obj, Mapping):
            continue
        cid, slug, name = valid_id(obj.get("id")), obj.get("slug"), obj.get("name")
        parent = valid_id(obj.get("parent")) or 0
        if cid is None or not isinstance(slug, str) or not isinstance(name, str) or not slug:
            continue
        out.append(
            Category(
                wp_id=cid,
                slug=slug,
                name=one_line(html.unescape(name)),
                parent=parent,
            )
        )
    return out
