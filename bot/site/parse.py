"""Bytes from the site -> posts and categories. Pure: no I/O, no clock, no store."""

from __future__ import annotations

import calendar
import html
import html.entities
import json
import re
import xml.sax
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import feedparser

from bot.errors import FeedError
from bot.site.text import guess_language, html_to_text, one_line
from storage import Category, CategoryTree, PostIn

_WP_ID = re.compile(r"[?&]p=(\d+)(?:&|#|$)")
# A feed's DOCTYPE counts as its start: cutting it off would leave its entities undefined.
_XML_START = re.compile(
    rb"<\?xml|<rss[\s>]|<feed[\s>]|<rdf:RDF[\s>]|<!DOCTYPE\s+(?:rss|feed|rdf:RDF)[\s\[>]"
)
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
    skipped: int = 0  # items with neither link nor guid: nothing to tell them by or to open


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


# -- entities ---------------------------------------------------------------------------------
#
# XML predefines five named entities. WordPress plugins put HTML's in titles (&nbsp; &hellip;)
# and hand-made templates declare their own in the DOCTYPE; one such reference makes expat
# refuse the whole feed. References are rewritten on the bytes before parsing, as numeric
# character references: ASCII, so the document's encoding does not matter (nothing matches in
# UTF-16, which is left as it is), and &#60; is to XML exactly what &lt; is, so text that is
# markup-escaped stays escaped as many times as it was.

_XML_NAMES = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})
_HTML_ENTITIES: dict[bytes, bytes] = {
    name[:-1].encode(): "".join(f"&#{ord(c)};" for c in chars).encode()
    for name, chars in html.entities.html5.items()
    if name.endswith(";") and name[:-1].encode() not in _XML_NAMES
}
# Bounded, so a "&" before a megabyte of letters costs what a short name does.
_NAME = r"[A-Za-z_:][A-Za-z0-9._:-]{0,63}"
# A reference, or the start of a section in which none is read.
_REF = re.compile(rf"&({_NAME});|<!\[CDATA\[|<!--".encode())
_CHAR_REF = re.compile(rb"&#(?:x([0-9A-Fa-f]{1,8})|([0-9]{1,10}));")
_SPACE = re.compile(rb"[ \t\r\n]*+")
# Possessive quantifiers throughout: a failed match never backtracks through a long literal.
_S = r"[ \t\r\n]"
_QUOTED = r"""(?:"[^"]*+"|'[^']*+')"""
_EXTERNAL_ID = rf"(?:SYSTEM{_S}*+{_QUOTED}|PUBLIC{_S}*+{_QUOTED}{_S}*+{_QUOTED})"
_DOCTYPE_HEAD = re.compile(rf"<!DOCTYPE{_S}++{_NAME}(?:{_S}++{_EXTERNAL_ID})?+{_S}*+".encode())
_ENTITY_DECL = re.compile(
    # groups: "%" of a parameter entity, name, value in "" or '', external id
    rf"""<!ENTITY{_S}++(%{_S}++)?+({_NAME}){_S}++(?:"([^"]*+)"|'([^']*+)'|"""
    rf"""({_EXTERNAL_ID}(?:{_S}++NDATA{_S}++{_NAME})?+)){_S}*+>""".encode()
)
_OTHER_DECL = re.compile(
    rf"""<!(?:ELEMENT|ATTLIST|NOTATION){_S}(?:[^"'>]++|"[^"]*+"|'[^']*+')*+>""".encode()
)
_PE_REF = re.compile(rf"%{_NAME};".encode())
# A DOCTYPE's entities may nest this deep and, in all, add this much to the document (or its
# own size, if larger): a real feed uses a few short ones, a bomb asks for gigabytes.
ENTITY_DEPTH_LIMIT = 16
ENTITY_EXPANSION_MIN = 1 << 20


def _xml_char(code: int) -> bool:
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def _replacement_text(value: bytes) -> bytes:
    """What a declared value stands for: XML reads its character references at declaration.

    So "&#38;#60;" stands for "&#60;", which is read again where the entity is used.
    """

    def char(m: re.Match[bytes]) -> bytes:
        code = int(m[1], 16) if m[1] else int(m[2])
        if not _xml_char(code):
            return m[0]  # left for the parser to refuse
        return bytes([code]) if code < 0x80 else b"&#%d;" % code

    return _CHAR_REF.sub(char, value)


@dataclass(frozen=True, slots=True)
class _Doctype:
    start: int
    end: int
    kept: bytes  # what stands in its place: the DOCTYPE without its internal subset
    entities: dict[bytes, bytes | None]  # replacement texts; None for an external entity


def _skip_space(body: bytes, pos: int) -> int:
    m = _SPACE.match(body, pos)
    return m.end() if m else pos


def _skip_past(body: bytes, pos: int, close: bytes) -> int | None:
    end = body.find(close, pos)
    return None if end < 0 else end + len(close)


def _read_doctype(body: bytes) -> _Doctype | None:
    """The document's DOCTYPE, or None when it has one we cannot read.

    Only general entities are kept. Parameter entities are never read, nor anything outside
    the document: an external entity is recorded as such, so references to it can be dropped.
    """
    pos: int | None = 0
    while pos is not None:  # the XML declaration, comments and PIs before the DOCTYPE
        pos = _skip_space(body, pos)
        if body.startswith(b"<?", pos):
            pos = _skip_past(body, pos + 2, b"?>")
        elif body.startswith(b"<!--", pos):
            pos = _skip_past(body, pos + 4, b"-->")
        else:
            break
    if pos is None:
        return None
    start = pos
    head = _DOCTYPE_HEAD.match(body, start)
    if head is None:
        return None if body.startswith(b"<!DOCTYPE", start) else _Doctype(0, 0, b"", {})
    pos = head.end()
    if body.startswith(b">", pos):
        return _Doctype(start, pos + 1, body[start : pos + 1], {})
    if not body.startswith(b"[", pos):
        return None
    kept = body[start:pos].rstrip() + b">"
    entities: dict[bytes, bytes | None] = {}
    pos += 1
    while pos is not None:  # the internal subset
        pos = _skip_space(body, pos)
        if body.startswith(b"]", pos):
            pos = _skip_space(body, pos + 1)
            if not body.startswith(b">", pos):
                return None
            return _Doctype(start, pos + 1, kept, entities)
        if m := _ENTITY_DECL.match(body, pos):
            parameter, name, value = m[1], m[2], m[3] if m[3] is not None else m[4]
            # The first declaration binds; the five predefined ones cannot be redefined.
            if not parameter and name not in _XML_NAMES and name not in entities:
                entities[name] = None if value is None else _replacement_text(value)
            pos = m.end()
        elif m := _OTHER_DECL.match(body, pos) or _PE_REF.match(body, pos):
            pos = m.end()
        elif body.startswith(b"<!--", pos):
            pos = _skip_past(body, pos + 4, b"-->")
        elif body.startswith(b"<?", pos):
            pos = _skip_past(body, pos + 2, b"?>")
        else:
            return None
    return None


class _Expander:
    """Rewrites entity references; each declared entity is expanded once, within a budget."""

    def __init__(self, entities: dict[bytes, bytes | None], budget: int) -> None:
        self.entities = entities
        self.budget = budget
        self.expanded: dict[bytes, bytes] = {}
        self.expanding: set[bytes] = set()

    def rewrite(self, text: bytes, depth: int = 0) -> bytes:
        if b"&" not in text:
            return text
        out: list[bytes] = []
        pos = 0
        while (m := _REF.search(text, pos)) is not None:
            if m[1] is None:  # CDATA or a comment: copied as it is, up to its end
                close = b"]]>" if m[0] == b"<![CDATA[" else b"-->"
                end = text.find(close, m.end())
                end = len(text) if end < 0 else end + len(close)
                out.append(text[pos:end])
                pos = end
                continue
            out.append(text[pos : m.start()])
            out.append(self._reference(m[1], m[0], depth))
            pos = m.end()
        out.append(text[pos:])
        return b"".join(out)

    def _reference(self, name: bytes, raw: bytes, depth: int) -> bytes:
        if name not in self.entities:
            return _HTML_ENTITIES.get(name, raw)  # unknown names are left for expat to refuse
        value = self.entities[name]
        if value is None:
            return b""  # external: as a non-validating parser may, we do not read it
        if name not in self.expanded:
            if depth >= ENTITY_DEPTH_LIMIT:
                raise FeedError("entities nested too deep")
            if name in self.expanding:
                raise FeedError(f"entity {name.decode()} refers to itself")
            self.expanding.add(name)
            self.expanded[name] = self.rewrite(value, depth + 1)
            self.expanding.discard(name)
        text = self.expanded[name]
        self.budget -= len(text)
        if self.budget < 0:
            raise FeedError("entities expand too far (an entity expansion bomb?)")
        return text


def repair_entities(body: bytes) -> bytes:
    """HTML's named entities and the DOCTYPE's own, as XML can read them; see above.

    Documents we cannot read this way are returned as they are, for the parser to judge.
    """
    if b"&" not in body:
        return body
    doctype = _read_doctype(body)
    if doctype is None:
        return body
    budget = max(len(body), ENTITY_EXPANSION_MIN)
    rest = _Expander(doctype.entities, budget).rewrite(body[doctype.end :])
    return body[: doctype.start] + doctype.kept + rest


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
    body = repair_entities(body)
    parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    if parsed.get("bozo") and isinstance(parsed.get("bozo_exception"), xml.sax.SAXException):
        # A feed cut off mid-item still yields the half item: store none of it.
        raise FeedError(f"not well-formed XML: {parsed.bozo_exception}")
    if not parsed.get("version"):
        raise FeedError("not an RSS or Atom feed")
    items: list[FeedItem] = []
    skipped = 0
    for entry in parsed.entries:
        link = (entry.get("link") or "").strip()
        guid = (entry.get("id") or "").strip() or None
        if not link and not guid:
            skipped += 1
            continue
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
    return Feed(tuple(items), language, skipped)


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


@dataclass(frozen=True, slots=True)
class Probed:
    """A post as the probe lists it: its id and when it last changed (None: not given)."""

    wp_id: int
    modified: datetime | None


def parse_rest_probe(body: bytes) -> list[Probed]:
    """``/wp-json/wp/v2/posts?_fields=id,modified_gmt``: ids and modification times only.

    Objects without a valid id are skipped; a missing or unreadable time is kept as None,
    which never equals a stored time, so such a post is downloaded whole every time rather
    than missed.
    """
    data = _json(body, "posts")
    if not isinstance(data, list):
        raise FeedError("posts: expected a JSON array")
    out: list[Probed] = []
    for obj in data:
        if not isinstance(obj, Mapping):
            continue
        wp_id = valid_id(obj.get("id"))
        if wp_id is not None:
            out.append(Probed(wp_id, _wp_date(obj.get("modified_gmt"))))
    return out


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


def decode_slug(slug: str) -> str:
    """WordPress keeps non-Latin slugs percent-encoded (%d8%a7... for «اعدام»); users type
    and read the letters. A slug whose bytes are not UTF-8 is kept as it is."""
    if "%" not in slug:
        return slug
    try:
        return unquote(slug, errors="strict").lower()
    except UnicodeDecodeError:
        return slug


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
                slug=decode_slug(slug),
                name=one_line(html.unescape(name)),
                parent=parent,
            )
        )
    return out
