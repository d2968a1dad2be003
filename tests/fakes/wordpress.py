"""A fake WordPress 6.x site for tests: RSS2 feeds, a slice of the REST API, fault injection.

The server is a stdlib ``ThreadingHTTPServer`` bound to ``127.0.0.1:0`` in a daemon thread, so
any HTTP client can talk to it. Its output follows ``tests/data/wordpress`` (see README.md
there): the fixture posts render to the same feed items and REST objects as the fixture files.

Typical use::

    with running(FakeWordPress.from_fixtures()) as wp:
        httpx.get(f"{wp.url}/feed/")
        wp.add_post(title="New report")
        wp.fault("status", status=503, times=1)

The Persian edition (``fa.iran-hrm.com``, ``tests/data/wordpress-fa``) is the same fake with
another :class:`Edition`; both can run at once, each on its own port::

    with running_editions() as (en, fa):
        fa.add_post_in("اعدام-زنان", title="اعدام یک زن در زندان قرچک")
        fa.fault("redirect", "/", to=en.url)
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
import socket
import threading
import traceback
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from html.entities import name2codepoint
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, NamedTuple
from urllib.parse import parse_qs, parse_qsl, quote, unquote_to_bytes, urlencode, urlsplit

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "data" / "wordpress"
FIXTURE_SITE = "https://iran-hrm.com"
SITE_NAME = "Iran HRM"
SITE_DESCRIPTION = "Iran Human Rights Monitor"
SITE_TZ = timezone(timedelta(hours=2))  # fixed +02:00, as in the fixtures
WP_VERSION = "6.8.1"
POSTS_PER_REST_PAGE = 10

RSS_CONTENT_TYPE = "application/rss+xml; charset=UTF-8"
JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
HTML_CONTENT_TYPE = "text/html; charset=UTF-8"

FAULT_MODES = frozenset(
    {
        "status",
        "html",
        "malformed",
        "truncated",
        "timeout",
        "huge",
        "gzip_no_header",
        "gzip",
        "bom",
        "junk_prefix",
        "empty_channel",
        "login",
        "redirect",
    }
)
LOGIN_KINDS = frozenset({"form", "redirect", "basic", "forbidden"})
REST_MODES = frozenset({"ok", "401", "403", "404", "html", "500"})
UTF8_BOM = b"\xef\xbb\xbf"
JUNK_WHITESPACE = b"\n\n  \r\n"
DEFAULT_JUNK = b"<!-- cache: hit -->\n"

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot"})

FA_FIXTURES_DIR = FIXTURES_DIR.parent / "wordpress-fa"
FA_FIXTURE_SITE = "https://fa.iran-hrm.com"
FA_SITE_TZ = timezone(timedelta(hours=3, minutes=30))  # Asia/Tehran, without DST since 2022


# --------------------------------------------------------------------------- helpers


def utcnow() -> datetime:
    """Now, UTC-aware, truncated to seconds (WordPress stores seconds)."""
    return datetime.now(UTC).replace(microsecond=0)


def rss_date(dt: datetime) -> str:
    """``D, d M Y H:i:s +0000`` in English whatever the locale."""
    dt = dt.astimezone(UTC)
    return (
        f"{_DAYS[dt.weekday()]}, {dt.day:02d} {_MONTHS[dt.month - 1]} {dt.year} "
        f"{dt:%H:%M:%S} +0000"
    )


def http_date(dt: datetime) -> str:
    return rss_date(dt)[:-5] + "GMT"


def wp_datetime(dt: datetime, tz: timezone = UTC) -> str:
    """REST date format: ``YYYY-MM-DDTHH:MM:SS`` in ``tz``, no suffix."""
    return dt.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S")


def parse_wp_gmt(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def parse_iso(value: str, tz: timezone = SITE_TZ) -> datetime:
    """Parse a REST date parameter. Like WordPress, a value without Z/offset is site-local."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return dt.astimezone(UTC)


def php_json(obj: Any) -> bytes:
    """Encode like PHP's json_encode: one line, ``\\uXXXX`` escapes and ``\\/``."""
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()


def strip_tags(text: str) -> str:
    return re.sub(r"<[^>]*>", "", text)


def _ent2ncr(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in _XML_ENTITIES or name not in name2codepoint:
            return m.group(0)
        return f"&#{name2codepoint[name]};"

    return re.sub(r"&([A-Za-z][A-Za-z0-9]*);", repl, text)


def _escape_bare_amp(text: str) -> str:
    return re.sub(r"&(?!#\d+;|#[xX][0-9a-fA-F]+;|(?:amp|lt|gt|quot);)", "&#038;", text)


def rss_title(rendered: str) -> str:
    """A REST ``title.rendered`` as WordPress prints it in RSS (strip_tags, ent2ncr, esc_html)."""
    text = _escape_bare_amp(_ent2ncr(strip_tags(rendered)))
    return (
        text.replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#039;")
    )


def rss_description(excerpt_rendered: str) -> str:
    """The RSS ``<description>`` text for a REST ``excerpt.rendered``."""
    return _ent2ncr(strip_tags(excerpt_rendered).strip())


def esc_url(url: str) -> str:
    return url.replace("&", "&#038;")


def make_excerpt(content: str, words: int = 55) -> str:
    """WordPress's automatic excerpt: 55 words of the text, `` [&hellip;]`` when cut, in <p>."""
    parts = strip_tags(content).split()
    if not parts:
        return ""
    text = " ".join(parts[:words])
    if len(parts) > words:
        text += " [&hellip;]"
    return f"<p>{text}</p>\n"


def slugify(title: str) -> str:
    """Roughly ``sanitize_title_with_dashes``: no entities, UTF-8 percent-encoded lowercase."""
    text = re.sub(r"&[^;\s]+;", "", strip_tags(title)).replace("\u200c", "").replace("\u200d", "")
    out: list[str] = []
    for ch in text.lower():
        if ch.isascii():
            if ch.isalnum() or ch in "-_":
                out.append(ch)
            elif ch.isspace() or ch in "./":
                out.append("-")
        elif ch.isspace():
            out.append("-")
        else:
            out.append(quote(ch, safe="").lower())
    slug = re.sub(r"-+", "-", "".join(out)).strip("-")
    if len(slug) > 200:
        slug = slug[:200]
        slug = re.sub(r"%[0-9a-f]?$", "", slug).rstrip("-")
    return slug


# What sanitize_title_with_dashes() drops when it saves a slug, after percent-encoding: soft
# hyphen, inverted marks, angle and curly quotes, bullet, (c) (r) degree ellipsis (tm),
# combining accents, and the zero-width and bidi marks (ZWNJ, LRM, RLM...).
_WP_SLUG_DROP = re.compile(
    "%c2%ad|%c2%a1|%c2%bf|%c2%ab|%c2%bb|%e2%80%b9|%e2%80%ba|%e2%80%98|%e2%80%99|%e2%80%9c"
    "|%e2%80%9d|%e2%80%9a|%e2%80%9b|%e2%80%9e|%e2%80%9f|%e2%80%a2|%c2%a9|%c2%ae|%c2%b0"
    "|%e2%80%a6|%e2%84%a2|%c2%b4|%cb%8a|%cc%81|%cd%81|%cc%80|%cc%84|%cc%8c"
    "|%e2%80%8b|%e2%80%8c|%e2%80%8d|%e2%80%8e|%e2%80%8f|%e2%80%aa|%e2%80%ab|%e2%80%ac"
    "|%e2%80%ad|%e2%80%ae|%ef%bb%bf|%ef%bf%bc"
)
# ... and what it turns into a hyphen: nbsp, dashes, slash and the spaces that have a width.
_WP_SLUG_DASH = re.compile(
    "%c2%a0|%e2%80%93|%e2%80%94|&nbsp;|&#160;|&ndash;|&#8211;|&mdash;|&#8212;|/"
    "|%e2%80%8[0-9a]|%e2%80%a8|%e2%80%a9|%e2%80%af"
)


def wp_slug(title: str) -> str:
    """``sanitize_title_with_dashes`` as WordPress runs it when it saves a post or term.

    Unlike :func:`slugify` (kept as it is for the English tests), it cuts at 200 bytes of
    percent-encoding on a character boundary and drops what WordPress drops from Persian titles:
    ZWNJ, RLM/LRM, guillemets. Latin letters lose their accents, as remove_accents() does.
    """
    text = "".join(
        unicodedata.normalize("NFD", ch)[0]
        if not ch.isascii() and unicodedata.name(ch, "").startswith("LATIN ")
        else ch
        for ch in strip_tags(title)
    )
    text = re.sub(r"%(?![0-9A-Fa-f]{2})", "", text)
    out: list[str] = []
    length = 0
    for ch in text.lower():
        enc = ch if ch.isascii() else quote(ch, safe="").lower()
        if length + len(enc) > 200:
            break
        out.append(enc)
        length += len(enc)
    slug = _WP_SLUG_DASH.sub("-", "".join(out).lower())
    slug = _WP_SLUG_DROP.sub("", slug).replace("%c3%97", "x")
    slug = re.sub(r"&.+?;", "", slug).replace(".", "-")
    slug = re.sub(r"[^%a-z0-9 _-]", "", slug)
    return re.sub(r"-+", "-", re.sub(r"\s+", "-", slug)).strip("-")


def slug_key(slug: str) -> bytes:
    """What a slug stands for: WordPress finds ``%D8%A7``, ``%d8%a7`` and ``ا`` alike."""
    return unquote_to_bytes(slug).lower()


def decode_slug(slug: str) -> str:
    """A slug percent-decoded for people; one whose bytes are not UTF-8 comes back as it is."""
    try:
        return unquote_to_bytes(slug).decode("utf-8")
    except UnicodeDecodeError:
        return slug


def jalali_date(day: date) -> tuple[int, int, int]:
    """(year, month, day) of the Solar Hijri calendar, for the Persian edition's permalinks.

    The 33-year arithmetic rule, not the astronomical calendar: they agree on the dates tests
    use, which tests/test_fake_wordpress.py checks (Nowruz 1398-1405, and jdatetime over
    2015-2035 where it is installed). The bot itself must use a maintained library.
    """
    gy, gm, gd = day.year, day.month, day.day
    gy2 = gy + 1 if gm > 2 else gy
    days = (
        355666
        + 365 * gy
        + (gy2 + 3) // 4
        - (gy2 + 99) // 100
        + (gy2 + 399) // 400
        + gd
        + (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)[gm - 1]
    )
    jy = -1595 + 33 * (days // 12053)
    days %= 12053
    jy += 4 * (days // 1461)
    days %= 1461
    if days > 365:
        jy += (days - 1) // 365
        days = (days - 1) % 365
    if days < 186:
        return jy, 1 + days // 31, 1 + days % 31
    return jy, 7 + (days - 186) // 30, 1 + (days - 186) % 30


def _term_class(prefix: str, term: dict[str, Any]) -> str:
    """A term's class in ``class_list`` as get_post_class() makes it.

    sanitize_html_class() removes percent-encoded octets, so a Persian slug leaves nothing and
    the term id stands in (``category-3``); ``...-2`` leaves ``--2``, which is kept.
    """
    cls = re.sub(r"[^A-Za-z0-9_-]", "", re.sub(r"%[0-9A-Fa-f]{2}", "", str(term["slug"])))
    if not cls.strip("-") or re.fullmatch(r"[+-]?\d+", cls):
        cls = str(term["id"])
    return f"{prefix}-{cls}"


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]&gt;") + "]]>"


def _html_page(title: str, body: str, *, home: str = "", lang: str = 'lang="en-US"') -> bytes:
    return (
        f'<!DOCTYPE html>\n<html {lang}>\n<head>\n<meta charset="UTF-8">\n'
        f"<title>{title}</title>\n"
        f'<link rel="https://api.w.org/" href="{home}/wp-json/" />\n'
        f'<meta name="generator" content="WordPress {WP_VERSION}" />\n'
        f'</head>\n<body class="wp-theme-hrm">\n{body}\n</body>\n</html>\n'
    ).encode()


# --------------------------------------------------------------------------- editions


@dataclass(frozen=True)
class Edition:
    """What differs between two WordPress installs of the site: texts, language, clock, files."""

    key: str  # "en" | "fa"
    fixtures_dir: Path
    site: str  # the home URL the fixture files were rendered for
    name: str  # bloginfo name
    description: str
    language: str  # bloginfo language, the feed's <language>
    html_lang: str  # language_attributes() on HTML pages
    tz: timezone  # the site's clock: REST "date", permalink dates
    gmt_offset: str
    timezone_string: str
    page_title: str  # __("Page %s") in the site's language, for feed titles of ?paged=N
    icon: str  # the site icon in the feed's <image>
    default_category: int  # what add_post() files a post under
    authors: tuple[tuple[int, str], ...]
    generated_title: str  # add_posts() titles
    generated_content: str
    jalali_permalinks: bool  # /1404/09/12/slug/ (a Persian date plugin) or /2025/12/03/slug/
    login: tuple[str, ...]  # wp-login.php's texts: title, user, password, remember, button


ENGLISH = Edition(
    key="en",
    fixtures_dir=FIXTURES_DIR,
    site=FIXTURE_SITE,
    name=SITE_NAME,
    description=SITE_DESCRIPTION,
    language="en-US",
    html_lang='lang="en-US"',
    tz=SITE_TZ,
    gmt_offset="2",
    timezone_string="",
    page_title="Page {n}",
    icon="/wp-content/uploads/2021/02/cropped-iran-hrm-icon-32x32.png",
    default_category=4,
    authors=((2, "Iran HRM"), (5, "HRM Editorial Team")),
    generated_title="Generated report {n}",
    generated_content="<p>...</p>",
    jalali_permalinks=False,
    login=("Log In", "Username or Email Address", "Password", "Remember Me", "Log In"),
)
PERSIAN = Edition(
    key="fa",
    fixtures_dir=FA_FIXTURES_DIR,
    site=FA_FIXTURE_SITE,
    name="دیده‌بان حقوق بشر ایران",
    description="گزارش‌های نقض حقوق بشر در ایران",
    language="fa-IR",
    html_lang='dir="rtl" lang="fa-IR"',
    tz=FA_SITE_TZ,
    gmt_offset="3.5",
    timezone_string="Asia/Tehran",
    page_title="برگه {n}",
    icon="/wp-content/uploads/2021/03/cropped-iran-hrm-fa-icon-32x32.png",
    default_category=3,  # اعدام
    authors=((2, "دیده‌بان حقوق بشر ایران"), (7, "واحد پژوهش")),
    generated_title="گزارش شماره {n}",
    generated_content="<p>متن گزارش درباره وضعیت زندانیان.</p>",
    jalali_permalinks=True,
    login=("ورود", "نام کاربری یا نشانی ایمیل", "رمز", "مرا به خاطر بسپار", "ورود"),
)
EDITIONS = {"en": ENGLISH, "fa": PERSIAN}


# --------------------------------------------------------------------------- data


@dataclass
class FakePost:
    id: int
    title: str  # title.rendered HTML (texturized, numeric entities, may contain <em>)
    content: str  # content.rendered HTML
    excerpt: str  # excerpt.rendered HTML ("<p>... [&hellip;]</p>\n" or "")
    date_gmt: datetime | None  # UTC-aware; None: no pubDate in RSS
    modified_gmt: datetime | None
    categories: list[int]
    tags: list[int]
    author: int = 2
    guid: str | None = None  # None: f"{site}/?p={id}" (filled in when the site starts)
    link: str | None = None  # None: f"{site}/{yyyy}/{mm}/{dd}/{slug}/" (site-local date)
    slug: str = ""
    sticky: bool = False
    # Additions to the brief's shape:
    comment_status: str = "closed"  # "open" adds <comments>, wfw:commentRss, slash:comments
    comment_count: int = 0
    featured_media: int = 0
    title_cdata: bool = False  # wrap the RSS <title> in CDATA (non-core; fixture post 29430)
    rest_links: dict[str, Any] | None = None  # REST "_links" override (fixture posts keep theirs)
    created_gmt: datetime = field(default_factory=utcnow)  # REST date when date_gmt is None

    @property
    def effective_date(self) -> datetime:
        return self.date_gmt or self.created_gmt

    @property
    def effective_modified(self) -> datetime:
        return self.modified_gmt or self.effective_date


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case keys
    target: str = ""  # the raw request target, path + "?" + query


@dataclass
class _Fault:
    mode: str
    path: str
    times: int | None
    params: dict[str, Any]


@dataclass
class _Resp:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    kind: str = "html"  # "feed" | "json" | "html" | "raw"
    content_length: int | None = None  # override (a lie, for short reads)
    close: bool = False


class _Now:
    """Default marker for add_post(date_gmt=...): now, at the time of the call."""

    def __repr__(self) -> str:
        return "<now>"


_NOW = _Now()


class _HTTPError(Exception):
    def __init__(self, resp: _Resp) -> None:
        super().__init__(resp.status)
        self.resp = resp


# --------------------------------------------------------------------------- server


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    site: FakeWordPress

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hang up on purpose (timeouts, size limits); stay quiet about that.
        pass


class _Handler(BaseHTTPRequestHandler):
    site: ClassVar[FakeWordPress]
    protocol_version = "HTTP/1.1"
    server_version = "Apache"
    sys_version = ""
    timeout = 30

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: avoid Nagle + delayed-ACK stalls
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.site._register_conn(self.connection)

    def finish(self) -> None:
        try:
            with suppress(OSError):
                super().finish()
        finally:
            self.site._unregister_conn(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def _dispatch(self, *, head: bool) -> None:
        site = self.site
        parts = urlsplit(self.path)
        req = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            target=self.path,
        )
        site._record(req)
        site._count_in_flight(+1)
        try:
            resp = site._raw_response(req)
            if resp is None:
                fault = site._take_fault(req.target)
                if fault is None:
                    resp = site._respond(req)
                elif fault.mode == "timeout":
                    if site._stopping.wait(float(fault.params.get("delay", 5.0))):
                        self.close_connection = True
                        return
                    resp = site._respond(req)
                elif fault.mode == "huge":
                    self._stream_huge(fault.params, head=head)
                    return
                else:
                    resp = site._fault_response(fault, req)
            self._send(resp, head=head)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:  # a bug in the fake: answer 500 and keep it for the tests to see
            tb = traceback.format_exc()
            site.errors.append(tb)
            with suppress(OSError):
                self._send(
                    _Resp(500, [("Content-Type", "text/plain; charset=UTF-8")], tb.encode()),
                    head=head,
                )
            self.close_connection = True
        finally:
            site._count_in_flight(-1)

    def _send(self, resp: _Resp, *, head: bool) -> None:
        self.send_response(resp.status)
        for name, value in resp.headers:
            self.send_header(name, value)
        no_body = resp.status == 304 or resp.status < 200
        if not no_body:
            length = resp.content_length if resp.content_length is not None else len(resp.body)
            self.send_header("Content-Length", str(length))
        if resp.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if not head and not no_body:
            self.wfile.write(resp.body)
            self.site._count(len(resp.body))
        self.wfile.flush()

    def _stream_huge(self, params: dict[str, Any], *, head: bool) -> None:
        size = int(params["size"])
        chunked = bool(params.get("chunked"))
        self.send_response(200)
        self.send_header("Content-Type", RSS_CONTENT_TYPE)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        if head:
            return
        for chunk in _huge_body(size, self.site._home()):
            if self.site._stopping.is_set():
                self.close_connection = True
                return
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            else:
                self.wfile.write(chunk)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _huge_body(size: int, home: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """``size`` bytes of feed-looking XML, produced chunk by chunk."""
    head = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0">\n<channel>\n'
        f"\t<title>{SITE_NAME}</title>\n\t<link>{home}</link>\n"
    ).encode()
    item = (
        b"\t<item>\n\t\t<title>Padding</title>\n\t\t<description><![CDATA["
        + b"x" * 900
        + b"]]></description>\n\t</item>\n"
    )
    sent = 0
    buf = head
    while sent < size:
        while len(buf) < chunk_size:
            buf += item
        chunk = buf[: min(chunk_size, size - sent)]
        buf = buf[len(chunk) :]
        sent += len(chunk)
        yield chunk


# --------------------------------------------------------------------------- the site


class FakeWordPress:
    """A WordPress site in memory, served over HTTP on loopback once started."""

    def __init__(
        self,
        posts: Iterable[FakePost] = (),
        categories: list[dict[str, Any]] | None = None,
        tags: list[dict[str, Any]] | None = None,
        authors: dict[int, str] | None = None,
        *,
        home_url: str | None = None,
        edition: Edition | str = "en",
    ) -> None:
        self.url: str = ""
        # Set home_url to render feeds/links as another site (e.g. FIXTURE_SITE); None = url.
        self.home_url = home_url
        self.edition: Edition = EDITIONS[edition] if isinstance(edition, str) else edition
        self.posts: dict[int, FakePost] = {p.id: p for p in posts}
        self.categories: list[dict[str, Any]] = categories if categories is not None else []
        self.tags: list[dict[str, Any]] = tags if tags is not None else []
        self.authors: dict[int, str] = (
            authors if authors is not None else dict(self.edition.authors)
        )
        self.requests: list[RecordedRequest] = []
        self.errors: list[str] = []  # tracebacks of exceptions inside the fake (should be empty)
        self.posts_per_rss = 10
        self.rest_mode = "ok"
        self.categories_mode = "ok"
        # Plain WordPress sends no validators with its REST API; a cache in front may send an
        # ETag of the answer's bytes and honour If-None-Match.
        self.rest_etags = False
        self.bytes_sent = 0  # response bodies written, for the polling benchmark
        self.in_flight = 0  # requests being answered now, and the most there ever were
        self.max_in_flight = 0
        self.created_gmt = utcnow()  # Last-Modified of a site without posts
        self._lock = threading.RLock()
        self._faults: list[_Fault] = []
        self._raw: dict[tuple[str, tuple[tuple[str, str], ...]], _Resp] = {}
        self._generated = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._conn_cond = threading.Condition()

    # ----------------------------------------------------------------- construction

    @classmethod
    def from_fixtures(cls, edition: str = "en") -> FakeWordPress:
        """The fixture posts with the fixture categories and tags (not started).

        ``"en"``: the 20 posts of tests/data/wordpress; ``"fa"``: the Persian edition's 18 posts
        of tests/data/wordpress-fa.
        """
        fixtures = EDITIONS[edition].fixtures_dir
        extra = _fixture_feed_extras(fixtures)
        posts = []
        for obj in json.loads((fixtures / "posts-page1.json").read_text("utf-8")):
            guid = obj["guid"]["rendered"]
            cdata, comments = extra.get(guid, (False, 0))
            date_gmt = parse_wp_gmt(obj["date_gmt"])
            posts.append(
                FakePost(
                    id=obj["id"],
                    title=obj["title"]["rendered"],
                    content=obj["content"]["rendered"],
                    excerpt=obj["excerpt"]["rendered"],
                    date_gmt=date_gmt,
                    modified_gmt=parse_wp_gmt(obj["modified_gmt"]),
                    categories=list(obj["categories"]),
                    tags=list(obj["tags"]),
                    author=obj["author"],
                    guid=guid,
                    link=obj["link"],
                    slug=obj["slug"],
                    sticky=obj["sticky"],
                    comment_status=obj["comment_status"],
                    comment_count=comments,
                    featured_media=obj["featured_media"],
                    title_cdata=cdata,
                    rest_links=obj["_links"],
                    created_gmt=date_gmt or utcnow(),
                )
            )
        site = cls.empty(edition)
        site.posts = {p.id: p for p in posts}
        return site

    @classmethod
    def empty(cls, edition: str = "en") -> FakeWordPress:
        """Fixture categories and tags, no posts (not started)."""
        fixtures = EDITIONS[edition].fixtures_dir
        return cls(
            categories=json.loads((fixtures / "categories.json").read_text("utf-8")),
            tags=json.loads((fixtures / "tags.json").read_text("utf-8")),
            edition=edition,
        )

    @classmethod
    def persian(cls) -> FakeWordPress:
        """The Persian edition, fa.iran-hrm.com, with its fixtures (not started)."""
        return cls.from_fixtures("fa")

    def load_fixtures(self, edition: str, *, keep_identity: bool = False) -> None:
        """Serve another edition's fixture posts and terms from now on, running or not.

        For a site that starts answering with the wrong edition (a proxy or vhost sending
        fa.iran-hrm.com to the English install): by default the whole site changes, feed
        ``<language>`` and REST ``date`` included. ``keep_identity`` keeps this site's name,
        language and clock, so that only the posts are wrong. Faults and modes stay.
        """
        source = FakeWordPress.from_fixtures(edition)
        with self._lock:
            self.posts = source.posts
            self.categories = source.categories
            self.tags = source.tags
            self.authors = source.authors
            if not keep_identity:
                self.edition = source.edition

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        if self._server is not None:
            return
        self._stopping.clear()
        handler = type("_BoundHandler", (_Handler,), {"site": self})
        server = _Server(("127.0.0.1", 0), handler)
        server.site = self
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        with self._lock:
            for post in self.posts.values():
                self._fill_urls(post)
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"fake-wordpress-{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes "timeout" handlers
        server.shutdown()
        with self._conn_cond:
            conns = list(self._conns)
        for conn in conns:  # unblock keep-alive handlers waiting for a next request
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._conn_cond:
            self._conn_cond.wait_for(lambda: not self._conns, timeout=2)

    def __enter__(self) -> FakeWordPress:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def is_running(self) -> bool:
        return self._server is not None

    def _register_conn(self, conn: socket.socket) -> None:
        with self._conn_cond:
            self._conns.add(conn)

    def _unregister_conn(self, conn: socket.socket) -> None:
        with self._conn_cond:
            self._conns.discard(conn)
            self._conn_cond.notify_all()

    def _record(self, req: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(req)

    def _count_in_flight(self, step: int) -> None:
        with self._lock:
            self.in_flight += step
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _count(self, sent: int) -> None:
        with self._lock:
            self.bytes_sent += sent

    def requests_to(self, prefix: str) -> list[RecordedRequest]:
        """Recorded requests whose target (path + query) starts with ``prefix``."""
        with self._lock:
            return [r for r in self.requests if r.target.startswith(prefix)]

    # ----------------------------------------------------------------- content

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 0)

    def _home(self) -> str:
        return (self.home_url or self.url or self.edition.site).rstrip("/")

    def _fill_urls(self, post: FakePost) -> None:
        home = self._home()
        if not post.slug:
            post.slug = slugify(post.title) or str(post.id)
        if post.guid is None:
            post.guid = f"{home}/?p={post.id}"
        if post.link is None:
            local = post.effective_date.astimezone(self.edition.tz)
            if self.edition.jalali_permalinks:
                year, month, day = jalali_date(local.date())
                post.link = f"{home}/{year:04d}/{month:02d}/{day:02d}/{post.slug}/"
            else:
                post.link = f"{home}/{local:%Y/%m/%d}/{post.slug}/"

    def add_post(
        self,
        *,
        title: str,
        content: str = "<p>...</p>",
        categories: list[int] | None = None,
        tags: list[int] | None = None,
        date_gmt: datetime | _Now | None = _NOW,
        id: int | None = None,
        excerpt: str | None = None,
        author: int = 2,
        guid: str | None = None,
        link: str | None = None,
        slug: str | None = None,
        sticky: bool = False,
        comment_status: str = "closed",
        modified_gmt: datetime | None = None,
    ) -> FakePost:
        """Publish a post. ``date_gmt`` defaults to now; pass None for a post without a date."""
        with self._lock:
            if isinstance(date_gmt, _Now):
                date_gmt = utcnow()
            if id is None:
                id = max(self.posts, default=0) + 1
            if id in self.posts:
                raise ValueError(f"post {id} exists")
            post = FakePost(
                id=id,
                title=title,
                content=content,
                excerpt=make_excerpt(content) if excerpt is None else excerpt,
                date_gmt=date_gmt,
                modified_gmt=modified_gmt if modified_gmt is not None else date_gmt,
                categories=(
                    list(categories) if categories is not None else [self.edition.default_category]
                ),
                tags=list(tags) if tags is not None else [],
                author=author,
                guid=guid,
                link=link,
                slug=slug or "",
                sticky=sticky,
                comment_status=comment_status,
            )
            if self.url or self.home_url:
                self._fill_urls(post)
            elif not post.slug:
                post.slug = slugify(title) or str(id)
            self.posts[id] = post
            return post

    def add_posts(self, n: int, **kw: Any) -> list[FakePost]:
        """``n`` posts "Generated report N", each one minute newer than the last.

        The last one is dated now, unless ``date_gmt`` gives the date of the first.
        """
        start = kw.pop("date_gmt", None) or utcnow() - timedelta(minutes=n - 1)
        out = []
        with self._lock:
            for i in range(n):
                self._generated += 1
                title = self.edition.generated_title.format(n=self._generated)
                kw.setdefault("content", self.edition.generated_content)
                out.append(self.add_post(title=title, date_gmt=start + timedelta(minutes=i), **kw))
        return out

    def add_post_in(
        self,
        *categories: int | str,
        title: str,
        tags: Iterable[int | str] = (),
        content: str | None = None,
        **kw: Any,
    ) -> FakePost:
        """Publish a post in categories given by id or slug, as stored or decoded.

        ``fa.add_post_in("اعدام", "زندانیان-سیاسی-2", title=...)`` files it under اعدام and the
        زندانیان سیاسی that is a child of اعدام; no category means the edition's default one.
        Tags likewise, by id or slug. The slug is made from the title as WordPress would.
        Other keywords go to :meth:`add_post`.
        """
        with self._lock:
            cat_ids = [c if isinstance(c, int) else self.category_id(c) for c in categories]
            tag_ids = [t if isinstance(t, int) else self.tag_id(t) for t in tags]
        kw.setdefault("slug", wp_slug(title) or None)
        return self.add_post(
            title=title,
            content=self.edition.generated_content if content is None else content,
            categories=cat_ids or None,
            tags=tag_ids,
            **kw,
        )

    def modify_post(
        self,
        id: int,
        *,
        title: str | None = None,
        content: str | None = None,
        modified_gmt: datetime | None = None,
        excerpt: str | None = None,
        categories: list[int] | None = None,
        tags: list[int] | None = None,
    ) -> FakePost:
        """Edit a post; the excerpt follows new content unless given. Bumps modified_gmt."""
        with self._lock:
            post = self.posts[id]
            if title is not None:
                post.title = title
            if content is not None:
                post.content = content
                if excerpt is None:
                    post.excerpt = make_excerpt(content)
            if excerpt is not None:
                post.excerpt = excerpt
            if categories is not None:
                post.categories = list(categories)
            if tags is not None:
                post.tags = list(tags)
            post.modified_gmt = modified_gmt or utcnow()
            return post

    def delete_post(self, id: int) -> None:
        with self._lock:
            del self.posts[id]

    def add_category(
        self, *, name: str, slug: str | None = None, parent: int = 0, id: int | None = None
    ) -> dict[str, Any]:
        with self._lock:
            if id is None:
                id = max((c["id"] for c in self.categories), default=0) + 1
            slug = slug or slugify(name)
            cat: dict[str, Any] = {
                "id": id,
                "count": 0,
                "description": "",
                "link": "",
                "name": name,
                "slug": slug,
                "taxonomy": "category",
                "parent": parent,
                "meta": [],
            }
            self.categories.append(cat)
            cat["link"] = f"{self._home()}/category/{self._category_path(cat)}/"
            return cat

    def category_id(self, slug: str) -> int:
        """The id of the category with this slug (a KeyError names the slugs there are).

        A percent-encoded slug can also be given decoded: ``"اعدام-زنان"``.
        """
        with self._lock:
            cat = _term_by_slug(self.categories, slug)
            if cat is not None:
                return int(cat["id"])
            slugs = sorted(decode_slug(str(c["slug"])) for c in self.categories)
        raise KeyError(f"no category {slug!r}; there are {', '.join(slugs)}")

    def tag_id(self, slug: str) -> int:
        """The id of the tag with this slug, as stored or decoded."""
        with self._lock:
            tag = _term_by_slug(self.tags, slug)
            if tag is not None:
                return int(tag["id"])
            slugs = sorted(decode_slug(str(t["slug"])) for t in self.tags)
        raise KeyError(f"no tag {slug!r}; there are {', '.join(slugs)}")

    # ----------------------------------------------------------------- faults

    def fault(
        self, mode: str, path: str = "/feed/", *, times: int | None = None, **params: Any
    ) -> None:
        """Inject a fault for requests whose target starts with ``path``.

        The most recently added matching fault wins. It stays until clear_faults(), or for the
        next ``times`` matching requests.

        ``login``: a login wall, ``kind=`` ``form`` (200, wp-login.php's form in place of the
        page), ``redirect`` (302 to wp-login.php?redirect_to=..., as Force Login does),
        ``basic`` (401 with WWW-Authenticate and Apache's HTML page) or ``forbidden`` (403,
        wp_die()'s HTML page). ``redirect``: ``status=`` (302) to another site, ``to=`` a base
        URL that keeps the request's path and query (``to=other.url``) or ``location=`` as is.
        """
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}")
        if mode == "status" and "status" not in params:
            raise ValueError("fault('status') needs status=")
        if mode == "huge" and "size" not in params:
            raise ValueError("fault('huge') needs size=")
        if mode == "redirect" and not ("to" in params or "location" in params):
            raise ValueError("fault('redirect') needs to= (a base URL) or location=")
        if mode == "login" and params.get("kind", "form") not in LOGIN_KINDS:
            raise ValueError(f"fault('login') kind is one of {', '.join(sorted(LOGIN_KINDS))}")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._faults.append(_Fault(mode, path, times, params))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._raw.clear()

    def raw(
        self, path: str, body: bytes, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        """Serve exactly ``body`` for this path (+ query, compared as a set of pairs)."""
        hdrs = dict(headers or {})
        if not any(k.lower() == "content-type" for k in hdrs):
            start = body.lstrip()[:100]
            if b"<rss" in start or start.startswith(b"<?xml"):
                hdrs["Content-Type"] = RSS_CONTENT_TYPE
            elif start[:1] in (b"{", b"["):
                hdrs["Content-Type"] = JSON_CONTENT_TYPE
            else:
                hdrs["Content-Type"] = HTML_CONTENT_TYPE
        with self._lock:
            self._raw[_raw_key(path)] = _Resp(status, list(hdrs.items()), body, kind="raw")

    def _raw_response(self, req: RecordedRequest) -> _Resp | None:
        with self._lock:
            return self._raw.get(_raw_key(req.target))

    def _take_fault(self, target: str) -> _Fault | None:
        with self._lock:
            for fault in reversed(self._faults):
                if target.startswith(fault.path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _fault_response(self, fault: _Fault, req: RecordedRequest) -> _Resp:
        mode, params = fault.mode, fault.params
        home = self._home()
        if mode == "status":
            status = int(params["status"])
            reason = BaseHTTPRequestHandler.responses.get(status, ("Error",))[0]
            body = (
                f"<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head>\n"
                f"<body><h1>{reason}</h1><p>The server returned an error.</p></body></html>\n"
            ).encode()
            headers = [("Content-Type", HTML_CONTENT_TYPE)]
            if "retry_after" in params:
                headers.append(("Retry-After", str(params["retry_after"])))
            return _Resp(status, headers, body)
        if mode == "html":
            return _Resp(
                int(params.get("status", 200)),
                [("Content-Type", HTML_CONTENT_TYPE)],
                _special_page(str(params.get("kind", "maintenance")), home),
            )
        if mode == "login":
            return self._login_wall(str(params.get("kind", "form")), req)
        if mode == "redirect":
            location = params.get("location") or str(params["to"]).rstrip("/") + req.target
            return _Resp(
                int(params.get("status", 302)),
                [
                    ("X-Redirect-By", "WordPress"),
                    ("Location", str(location)),
                    ("Content-Type", HTML_CONTENT_TYPE),
                ],
            )
        if mode == "empty_channel":
            with self._lock:
                title, _ = self._feed_title_and_posts(req)
                lm = self._site_last_modified()
                body = self._render_feed(title, req.target, [], lm)
            return _Resp(200, self._feed_headers(lm), body, kind="feed")

        normal = self._respond(req)
        if normal.status == 304 or (not normal.body and mode != "malformed"):
            return normal
        body = normal.body
        headers = list(normal.headers)
        status = normal.status
        if mode == "malformed":
            if normal.kind == "json":  # REST: JSON with a trailing comma
                broken = body[:-1] + b"," + body[-1:]
                return _Resp(200, headers, broken, kind="json")
            return _Resp(200, [("Content-Type", RSS_CONTENT_TYPE)], _malform(normal, home))
        if mode == "truncated":
            cut = _truncate(normal, params.get("item"))
            resp = _Resp(200, headers, cut, kind=normal.kind)
            if params.get("short_read"):
                resp.content_length = len(body)
                resp.close = True
            return resp
        if mode in ("gzip", "gzip_no_header"):
            headers.append(("Vary", "Accept-Encoding"))
            if mode == "gzip":
                headers.append(("Content-Encoding", "gzip"))
            return _Resp(status, headers, gzip.compress(body), kind=normal.kind)
        if mode == "bom":
            return _Resp(status, headers, UTF8_BOM + body, kind=normal.kind)
        if mode == "junk_prefix":
            junk = params.get("junk", DEFAULT_JUNK)
            if isinstance(junk, str):
                junk = junk.encode()
            return _Resp(status, headers, JUNK_WHITESPACE + junk + body, kind=normal.kind)
        raise AssertionError(mode)  # pragma: no cover

    # ----------------------------------------------------------------- routing

    def _respond(self, req: RecordedRequest) -> _Resp:
        try:
            return self._route(req)
        except _HTTPError as err:
            return err.resp

    def _route(self, req: RecordedRequest) -> _Resp:
        path = req.path
        if path == "/wp-json" or path.startswith("/wp-json/"):
            return self._rest(req, path[len("/wp-json") :] or "/")
        if path == "/" and "rest_route" in req.query:
            return self._rest(req, req.query["rest_route"][-1] or "/")
        if path in ("/feed", "/feed/rss2") or re.fullmatch(r"/category/.+/feed(/rss2)?", path):
            location = (
                self._home()
                + path
                + "/"
                + (f"?{urlsplit(req.target).query}" if "?" in req.target else "")
            )
            return _Resp(
                301,
                [("Location", location), ("Content-Type", HTML_CONTENT_TYPE)],
                b"",
            )
        is_feed = (
            path in ("/feed/", "/feed/rss2/")
            or re.fullmatch(r"/category/.+/feed/(rss2/)?", path) is not None
            or (path == "/" and "feed" in req.query)
        )
        if is_feed:
            return self._feed(req)
        if path == "/":
            return self._home_page()
        if path == "/wp-login.php":
            return self._login_page(req)
        return self._not_found_page()

    def _home_page(self) -> _Resp:
        home = self._home()
        name = self.edition.name
        body = _html_page(
            f"{name} &#8211; {self.edition.description}",
            f'<link rel="alternate" type="application/rss+xml" title="{name} &raquo; Feed"'
            f' href="{home}/feed/" />\n<h1>{name}</h1>',
            home=home,
            lang=self.edition.html_lang,
        )
        return _Resp(200, [("Content-Type", HTML_CONTENT_TYPE)], body)

    def _not_found_page(self) -> _Resp:
        body = _html_page(
            f"Page not found &#8211; {self.edition.name}",
            "<h1>Oops! That page can&rsquo;t be found.</h1>",
            home=self._home(),
            lang=self.edition.html_lang,
        )
        return _Resp(
            404,
            [
                ("Content-Type", HTML_CONTENT_TYPE),
                ("Cache-Control", "no-cache, must-revalidate, max-age=0"),
            ],
            body,
        )

    def _login_page(self, req: RecordedRequest) -> _Resp:
        """wp-login.php: a page with a form, in the site's language; never cached."""
        home = self._home()
        heading, user, password, remember, button = self.edition.login
        back = req.query.get("redirect_to", [home + req.target])[-1]
        body = (
            f"<!DOCTYPE html>\n<html {self.edition.html_lang}>\n<head>\n"
            '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />\n'
            f"<title>{heading} &lsaquo; {self.edition.name} &#8212; WordPress</title>\n"
            "<meta name='robots' content='max-image-preview:large, noindex, noarchive' />\n"
            f"<link rel='stylesheet' href='{home}/wp-admin/css/login.min.css' media='all' />\n"
            '</head>\n<body class="login no-js login-action-login wp-core-ui">\n'
            '<div id="login">\n'
            f'<h1><a href="https://wordpress.org/">{self.edition.name}</a></h1>\n'
            f'<form name="loginform" id="loginform" action="{home}/wp-login.php" method="post">\n'
            f'<p><label for="user_login">{user}</label>\n'
            '<input type="text" name="log" id="user_login" class="input" size="20" /></p>\n'
            f'<div class="user-pass-wrap"><label for="user_pass">{password}</label>\n'
            '<input type="password" name="pwd" id="user_pass" class="input" size="20" /></div>\n'
            '<p class="forgetmenot"><input name="rememberme" type="checkbox" id="rememberme"'
            f' value="forever" /> <label for="rememberme">{remember}</label></p>\n'
            '<p class="submit"><input type="submit" name="wp-submit" id="wp-submit"'
            f' class="button button-primary button-large" value="{button}" />\n'
            f'<input type="hidden" name="redirect_to" value="{esc_url(back)}" />\n'
            '<input type="hidden" name="testcookie" value="1" /></p>\n'
            "</form>\n</div>\n</body>\n</html>\n"
        ).encode()
        headers = [
            ("Content-Type", HTML_CONTENT_TYPE),
            ("Cache-Control", "no-cache, must-revalidate, max-age=0, no-store, private"),
            ("X-Frame-Options", "SAMEORIGIN"),
        ]
        return _Resp(200, headers, body)

    def _login_wall(self, kind: str, req: RecordedRequest) -> _Resp:
        home = self._home()
        if kind == "redirect":
            location = f"{home}/wp-login.php?redirect_to={quote(home + req.target, safe='')}"
            return _Resp(
                302,
                [
                    ("X-Redirect-By", "WordPress"),
                    ("Location", location),
                    ("Content-Type", HTML_CONTENT_TYPE),
                ],
            )
        if kind == "basic":
            return _Resp(
                401,
                [
                    ("WWW-Authenticate", 'Basic realm="Restricted area"'),
                    ("Content-Type", "text/html; charset=iso-8859-1"),
                ],
                _APACHE_401,
            )
        if kind == "forbidden":
            body = (
                f"<!DOCTYPE html>\n<html {self.edition.html_lang}>\n<head>\n"
                '<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />\n'
                "<meta name='robots' content='max-image-preview:large, noindex, follow' />\n"
                "<title>WordPress &rsaquo; Error</title>\n</head>\n"
                '<body id="error-page">\n\t<div class="wp-die-message">'
                "Sorry, you are not allowed to access this page. "
                f'<a href="{home}/wp-login.php">Log in</a></div></body>\n</html>\n'
            ).encode()
            return _Resp(403, [("Content-Type", HTML_CONTENT_TYPE)], body)
        return self._login_page(req)

    # ----------------------------------------------------------------- feeds

    def _site_last_modified(self) -> datetime:
        return max((p.effective_modified for p in self.posts.values()), default=self.created_gmt)

    def _feed_headers(self, last_modified: datetime) -> list[tuple[str, str]]:
        lm = http_date(last_modified)
        return [
            ("Content-Type", RSS_CONTENT_TYPE),
            ("Last-Modified", lm),
            ("ETag", '"' + hashlib.md5(lm.encode()).hexdigest() + '"'),
        ]

    @staticmethod
    def _not_modified(headers: dict[str, str], last_modified: datetime, etag: str) -> bool:
        client_etag = headers.get("if-none-match", "").strip() or None
        client_since: datetime | None = None
        if ims := headers.get("if-modified-since"):
            with suppress(TypeError, ValueError, IndexError):
                client_since = parsedate_to_datetime(ims)
                if client_since.tzinfo is None:
                    client_since = client_since.replace(tzinfo=UTC)
        if client_etag is None and client_since is None:
            return False
        since_ok = client_since is not None and client_since >= last_modified
        etag_ok = client_etag is not None and client_etag == etag
        if client_etag is not None and ims:
            return since_ok and etag_ok
        return since_ok or etag_ok

    def _category_by_slug(self, slug: str) -> dict[str, Any] | None:
        return _term_by_slug(self.categories, slug)

    def _category_path(self, cat: dict[str, Any]) -> str:
        by_id = {c["id"]: c for c in self.categories}
        parts = [cat["slug"]]
        seen = {cat["id"]}
        parent = cat.get("parent") or 0
        while parent and parent in by_id and parent not in seen:
            seen.add(parent)
            parts.append(by_id[parent]["slug"])
            parent = by_id[parent].get("parent") or 0
        return "/".join(reversed(parts))

    def descendants(self, cat_id: int) -> set[int]:
        """The category and all categories below it."""
        out = {cat_id}
        grew = True
        while grew:
            grew = False
            for c in self.categories:
                if c.get("parent") in out and c["id"] not in out:
                    out.add(c["id"])
                    grew = True
        return out

    def _feed_title_and_posts(self, req: RecordedRequest) -> tuple[str, list[FakePost]]:
        """Channel title (without the page part) and all posts of the requested feed, sorted."""
        posts = list(self.posts.values())
        title = self.edition.name
        cat: dict[str, Any] | None = None
        missing = False
        m = re.fullmatch(r"/category/(.+)/feed/(?:rss2/)?", req.path)
        if m:
            cat = self._category_by_slug(m.group(1).strip("/").split("/")[-1])
            missing = cat is None
        elif req.path == "/" and ("cat" in req.query or "category_name" in req.query):
            if "category_name" in req.query:
                # The raw query, so that a slug whose bytes are not UTF-8 survives decoding.
                name = _raw_query_values(req, "category_name")[-1]
                cat = self._category_by_slug(name.split("/")[-1])
            else:
                with suppress(ValueError):
                    cid = int(req.query["cat"][-1])
                    cat = next((c for c in self.categories if c["id"] == cid), None)
            missing = cat is None
        if missing:
            posts = []
        elif cat is not None:
            ids = self.descendants(cat["id"])
            posts = [p for p in posts if ids.intersection(p.categories)]
            title = f"{cat['name']} &#8211; {self.edition.name}"
        posts.sort(
            key=lambda p: (
                p.date_gmt is not None,
                p.date_gmt or datetime.min.replace(tzinfo=UTC),
                p.id,
            ),
            reverse=True,
        )
        return title, posts

    def _feed(self, req: RecordedRequest) -> _Resp:
        try:
            paged = max(1, int(req.query.get("paged", ["1"])[-1]))
        except ValueError:
            paged = 1
        with self._lock:
            last_modified = self._site_last_modified()
            headers = self._feed_headers(last_modified)
            if self._not_modified(req.headers, last_modified, headers[2][1]):
                return _Resp(304, headers[1:], kind="feed")
            title, posts = self._feed_title_and_posts(req)
            per = max(1, self.posts_per_rss)
            page_posts = posts[(paged - 1) * per : paged * per]
            status = 200
            if paged > 1:
                name = self.edition.name
                page_part = self.edition.page_title.format(n=paged) + " &#8211; "
                title = (
                    f"{page_part}{name}"
                    if title == name
                    else title.replace(f" &#8211; {name}", f" &#8211; {page_part}{name}")
                )
                if not page_posts:
                    status = 404
                    headers.append(("Cache-Control", "no-cache, must-revalidate, max-age=0"))
            build = max((p.effective_modified for p in page_posts), default=last_modified)
            body = self._render_feed(title, req.target, page_posts, build)
        return _Resp(status, headers, body, kind="feed")

    def _term_names(self, ids: list[int], terms: list[dict[str, Any]]) -> list[str]:
        by_id = {t["id"]: t for t in terms}
        found = [by_id[i] for i in ids if i in by_id]
        return [t["name"] for t in sorted(found, key=lambda t: str(t["name"]).casefold())]

    def _render_feed(
        self, title: str, target: str, posts: list[FakePost], build: datetime
    ) -> bytes:
        home = self._home()
        title = rss_title(title)
        out = [
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"\n'
            '\txmlns:content="http://purl.org/rss/1.0/modules/content/"\n'
            '\txmlns:wfw="http://wellformedweb.org/CommentAPI/"\n'
            '\txmlns:dc="http://purl.org/dc/elements/1.1/"\n'
            '\txmlns:atom="http://www.w3.org/2005/Atom"\n'
            '\txmlns:sy="http://purl.org/rss/1.0/modules/syndication/"\n'
            '\txmlns:slash="http://purl.org/rss/1.0/modules/slash/"\n'
            "\t>\n\n<channel>\n"
            f"\t<title>{title}</title>\n"
            f'\t<atom:link href="{esc_url(home + target)}" rel="self"'
            ' type="application/rss+xml" />\n'
            f"\t<link>{home}</link>\n"
            f"\t<description>{self.edition.description}</description>\n"
            f"\t<lastBuildDate>{rss_date(build)}</lastBuildDate>\n"
            f"\t<language>{self.edition.language}</language>\n"
            "\t<sy:updatePeriod>\n\thourly\t</sy:updatePeriod>\n"
            "\t<sy:updateFrequency>\n\t1\t</sy:updateFrequency>\n"
            f"\t<generator>https://wordpress.org/?v={WP_VERSION}</generator>\n\n"
            "<image>\n"
            f"\t<url>{home}{self.edition.icon}</url>\n"
            f"\t<title>{title}</title>\n"
            f"\t<link>{home}</link>\n"
            "\t<width>32</width>\n\t<height>32</height>\n</image> \n"
        ]
        for post in posts:
            out.append(self._render_item(post))
        out.append("\t</channel>\n</rss>\n")
        return "".join(out).encode()

    def _render_item(self, post: FakePost) -> str:
        self._fill_urls(post)
        assert post.link is not None
        assert post.guid is not None
        link = esc_url(post.link)
        title = rss_title(post.title)
        title_xml = _cdata(title) if post.title_cdata else title
        is_open = post.comment_status == "open"
        anchor = "#comments" if post.comment_count else "#respond"
        comments = f"\t\t\t\t\t<comments>{link}{anchor}</comments>\n" if is_open else ""
        pub = f"\t\t<pubDate>{rss_date(post.date_gmt)}</pubDate>\n" if post.date_gmt else ""
        names: list[str] = []
        for name in self._term_names(post.categories, self.categories) + self._term_names(
            post.tags, self.tags
        ):
            if name not in names:
                names.append(name)
        cats = "".join(f"\t\t<category>{_cdata(n)}</category>\n" for n in names)
        creator = self.authors.get(post.author, "admin")
        tail = (
            "\t\t\t\t\t\n"
            f"\t\t\t\t\t<wfw:commentRss>{link}feed/</wfw:commentRss>\n"
            f"\t\t\t<slash:comments>{post.comment_count}</slash:comments>\n"
            if is_open
            else ""
        )
        return (
            "\t<item>\n"
            f"\t\t<title>{title_xml}</title>\n"
            f"\t\t<link>{link}</link>\n"
            f"{comments}"
            "\t\t\n"
            f"{pub}"
            f"\t\t<dc:creator>{_cdata(creator)}</dc:creator>\n"
            f"{cats}\n"
            f'\t\t<guid isPermaLink="false">{esc_url(post.guid)}</guid>\n\n'
            f"\t\t\t\t\t<description>{_cdata(rss_description(post.excerpt))}</description>\n"
            f"\t\t\t\t\t\t\t\t\t\t<content:encoded>{_cdata(post.content)}</content:encoded>\n"
            f"{tail}"
            "\t\t\n\t\t\n\t\t\t</item>\n"
        )

    # ----------------------------------------------------------------- REST

    def _rest_headers(self) -> list[tuple[str, str]]:
        return [
            ("Content-Type", JSON_CONTENT_TYPE),
            ("Link", f'<{self._home()}/wp-json/>; rel="https://api.w.org/"'),
            ("X-Content-Type-Options", "nosniff"),
            ("Allow", "GET"),
            ("Access-Control-Expose-Headers", "X-WP-Total, X-WP-TotalPages, Link"),
        ]

    def _rest_error(self, status: int, code: str, message: str, **data: Any) -> _HTTPError:
        body = {"code": code, "message": message, "data": {"status": status, **data}}
        return _HTTPError(_Resp(status, self._rest_headers(), php_json(body), kind="json"))

    def _invalid_param(self, name: str, message: str) -> _HTTPError:
        return self._rest_error(
            400,
            "rest_invalid_param",
            f"Invalid parameter(s): {name}",
            params={name: message},
            details={name: {"code": "rest_invalid_param", "message": message, "data": None}},
        )

    def _mode_response(self, mode: str) -> _Resp | None:
        if mode == "ok":
            return None
        if mode not in REST_MODES:
            raise ValueError(f"unknown REST mode {mode!r}")
        if mode == "html":
            return _Resp(
                200, [("Content-Type", HTML_CONTENT_TYPE)], _special_page("captcha", self._home())
            )
        if mode == "401":
            return self._rest_error(
                401, "rest_not_logged_in", "You are not currently logged in."
            ).resp
        if mode == "403":
            return self._rest_error(
                403, "rest_forbidden", "Sorry, you are not allowed to do that."
            ).resp
        if mode == "404":
            return self._rest_error(
                404, "rest_no_route", "No route was found matching the URL and request method."
            ).resp
        return self._rest_error(
            500,
            "internal_server_error",
            "<p>There has been a critical error on this website.</p>",
        ).resp

    def _rest(self, req: RecordedRequest, route: str) -> _Resp:
        route = "/" + route.strip("/")
        if (resp := self._mode_response(self.rest_mode)) is not None:
            return resp
        if route == "/":
            return self._rest_index()
        if (
            route.startswith("/wp/v2/categories")
            and (resp := self._mode_response(self.categories_mode)) is not None
        ):
            return resp
        q = {k: v[-1] for k, v in req.query.items()}
        with self._lock:
            if route == "/wp/v2/posts":
                return self._with_etag(req, self._rest_posts(req, q))
            if m := re.fullmatch(r"/wp/v2/posts/(\d+)", route):
                post = self.posts.get(int(m.group(1)))
                if post is None:
                    raise self._rest_error(404, "rest_post_invalid_id", "Invalid post ID.")
                obj = self._post_json(post, embed="_embed" in q)
                obj = _cut_fields(obj, q.get("_fields"))
                return _Resp(200, self._rest_headers(), php_json(obj), kind="json")
            for taxonomy, terms in (("categories", self.categories), ("tags", self.tags)):
                if route == f"/wp/v2/{taxonomy}":
                    return self._rest_terms(req, q, taxonomy, terms)
                if m := re.fullmatch(rf"/wp/v2/{taxonomy}/(\d+)", route):
                    term = next((t for t in terms if t["id"] == int(m.group(1))), None)
                    if term is None:
                        raise self._rest_error(404, "rest_term_invalid", "Term does not exist.")
                    obj = _cut_fields(self._term_json(term, taxonomy), q.get("_fields"))
                    return _Resp(200, self._rest_headers(), php_json(obj), kind="json")
        raise self._rest_error(
            404, "rest_no_route", "No route was found matching the URL and request method."
        )

    def _with_etag(self, req: RecordedRequest, resp: _Resp) -> _Resp:
        if not self.rest_etags:
            return resp
        etag = '"' + hashlib.md5(resp.body).hexdigest() + '"'
        if req.headers.get("if-none-match", "").strip() == etag:
            return _Resp(304, [("ETag", etag)], kind="json")
        return replace(resp, headers=[*resp.headers, ("ETag", etag)])

    def _rest_index(self) -> _Resp:
        home = self._home()
        body = {
            "name": self.edition.name,
            "description": self.edition.description,
            "url": home,
            "home": home,
            "gmt_offset": self.edition.gmt_offset,
            "timezone_string": self.edition.timezone_string,
            "namespaces": ["oembed/1.0", "wp/v2", "wp-site-health/v1"],
            "authentication": [],
            "routes": {
                "/wp/v2/posts": {"namespace": "wp/v2", "methods": ["GET"]},
                "/wp/v2/categories": {"namespace": "wp/v2", "methods": ["GET"]},
                "/wp/v2/tags": {"namespace": "wp/v2", "methods": ["GET"]},
            },
        }
        return _Resp(200, self._rest_headers(), php_json(body), kind="json")

    def _int_param(
        self, q: dict[str, str], name: str, default: int, lo: int, hi: int | None
    ) -> int:
        if name not in q:
            return default
        try:
            value = int(q[name])
        except ValueError:
            raise self._invalid_param(name, f"{name} is not of type integer.") from None
        if value < lo or (hi is not None and value > hi):
            bound = (
                f"between {lo} (inclusive) and {hi} (inclusive)"
                if hi
                else f"greater than or equal to {lo}"
            )
            raise self._invalid_param(name, f"{name} must be {bound}")
        return value

    def _id_list(self, req: RecordedRequest, name: str) -> tuple[set[int] | None, bool]:
        values: list[str] = []
        for key in (name, f"{name}[]", f"{name}[terms]"):
            for v in req.query.get(key, []):
                values.extend(x for x in v.split(",") if x.strip())
        children = req.query.get(f"{name}[include_children]", ["false"])[-1] in ("1", "true")
        if not values and not any(k.startswith(name) for k in req.query):
            return None, False
        try:
            return {int(v) for v in values}, children
        except ValueError:
            raise self._invalid_param(name, f"{name}[0] is not of type integer.") from None

    def _date_param(self, q: dict[str, str], name: str) -> datetime | None:
        if name not in q:
            return None
        try:
            return parse_iso(q[name], self.edition.tz)
        except ValueError:
            raise self._invalid_param(name, "Invalid date.") from None

    def _paginate(
        self, req: RecordedRequest, items: list[Any], page: int, per_page: int, route: str
    ) -> tuple[list[Any], list[tuple[str, str]]]:
        total = len(items)
        pages = math.ceil(total / per_page)
        if page > pages and (pages >= 1 or page > 1):
            code = (
                "rest_post_invalid_page_number"
                if route == "posts"
                else "rest_term_invalid_page_number"
            )
            raise self._rest_error(
                400,
                code,
                "The page number requested is larger than the number of pages available.",
            )
        headers = self._rest_headers()
        headers += [("X-WP-Total", str(total)), ("X-WP-TotalPages", str(pages))]
        base = f"{self._home()}/wp-json/wp/v2/{route}"
        pairs = parse_qsl(urlsplit(req.target).query, keep_blank_values=True)
        pairs = [(k, v) for k, v in pairs if k != "rest_route"]

        def page_url(n: int) -> str:
            new = [(k, str(n) if k == "page" else v) for k, v in pairs]
            if not any(k == "page" for k, _ in new):
                new.append(("page", str(n)))
            return f"{base}?{urlencode(new)}"

        if page > 1:
            headers.append(("Link", f'<{page_url(min(page - 1, pages))}>; rel="prev"'))
        if page < pages:
            headers.append(("Link", f'<{page_url(page + 1)}>; rel="next"'))
        return items[(page - 1) * per_page : page * per_page], headers

    def _rest_posts(self, req: RecordedRequest, q: dict[str, str]) -> _Resp:
        page = self._int_param(q, "page", 1, 1, None)
        per_page = self._int_param(q, "per_page", POSTS_PER_REST_PAGE, 1, 100)
        orderby = q.get("orderby", "date")
        if orderby not in ("date", "modified", "id", "title", "slug", "include", "relevance"):
            raise self._invalid_param(
                "orderby",
                "orderby is not one of author, date, id, include, modified, parent,"
                " relevance, slug, include_slugs, title.",
            )
        order = q.get("order", "desc")
        if order not in ("asc", "desc"):
            raise self._invalid_param("order", "order is not one of asc and desc.")
        after = self._date_param(q, "after")
        before = self._date_param(q, "before")
        mod_after = self._date_param(q, "modified_after")
        mod_before = self._date_param(q, "modified_before")
        posts = list(self.posts.values())
        for name, exclude in (
            ("categories", False),
            ("categories_exclude", True),
            ("tags", False),
            ("tags_exclude", True),
        ):
            ids, children = self._id_list(req, name)
            if ids is None:
                continue
            if children:
                ids = set().union(*(self.descendants(i) for i in ids)) if ids else set()
            attr = "categories" if name.startswith("categories") else "tags"
            posts = [p for p in posts if bool(ids.intersection(getattr(p, attr))) != exclude]
        for name, exclude in (("include", False), ("exclude", True)):
            ids, _ = self._id_list(req, name)
            if ids is not None and (ids or exclude):
                posts = [p for p in posts if (p.id in ids) != exclude]
        if after:
            posts = [p for p in posts if p.effective_date > after]
        if before:
            posts = [p for p in posts if p.effective_date < before]
        if mod_after:
            posts = [p for p in posts if p.effective_modified > mod_after]
        if mod_before:
            posts = [p for p in posts if p.effective_modified < mod_before]
        if q.get("search"):
            words = q["search"].casefold().split()
            posts = [
                p
                for p in posts
                if all(
                    w in (p.title + " " + p.excerpt + " " + p.content).casefold() for w in words
                )
            ]
        if q.get("sticky") in ("true", "1", "false", "0"):
            want = q["sticky"] in ("true", "1")
            posts = [p for p in posts if p.sticky == want]
        keys: dict[str, Any] = {
            "date": lambda p: (p.effective_date, p.id),
            "modified": lambda p: (p.effective_modified, p.id),
            "id": lambda p: p.id,
            "title": lambda p: (strip_tags(p.title).casefold(), p.id),
            "slug": lambda p: (p.slug, p.id),
        }
        posts.sort(key=keys.get(orderby, keys["date"]), reverse=order == "desc")
        page_posts, headers = self._paginate(req, posts, page, per_page, "posts")
        embed = "_embed" in q
        objs = [_cut_fields(self._post_json(p, embed=embed), q.get("_fields")) for p in page_posts]
        return _Resp(200, headers, php_json(objs), kind="json")

    def _rest_terms(
        self, req: RecordedRequest, q: dict[str, str], taxonomy: str, terms: list[dict[str, Any]]
    ) -> _Resp:
        page = self._int_param(q, "page", 1, 1, None)
        per_page = self._int_param(q, "per_page", 10, 1, 100)
        items = [self._term_json(t, taxonomy) for t in terms]
        if "slug" in q:
            # WordPress sanitizes the asked slugs, so decoded Persian ones match too.
            keys = {slug_key(s) for v in _raw_query_values(req, "slug") for s in v.split(",")}
            items = [t for t in items if slug_key(str(t["slug"])) in keys]
        if "parent" in q and taxonomy == "categories":
            with suppress(ValueError):
                parent = int(q["parent"])
                items = [t for t in items if t.get("parent") == parent]
        if q.get("hide_empty") in ("true", "1"):
            items = [t for t in items if t["count"] > 0]
        if "post" in q:
            with suppress(ValueError):
                post = self.posts.get(int(q["post"]))
                on_post = set(getattr(post, taxonomy)) if post else set()
                items = [t for t in items if t["id"] in on_post]
        include, _ = self._id_list(req, "include")
        if include:
            items = [t for t in items if t["id"] in include]
        page_items, headers = self._paginate(req, items, page, per_page, taxonomy)
        objs = [_cut_fields(t, q.get("_fields")) for t in page_items]
        return _Resp(200, headers, php_json(objs), kind="json")

    def _term_json(self, term: dict[str, Any], taxonomy: str) -> dict[str, Any]:
        attr = "categories" if taxonomy == "categories" else "tags"
        obj = dict(term)
        obj["count"] = sum(1 for p in self.posts.values() if term["id"] in getattr(p, attr))
        return obj

    def _post_json(self, post: FakePost, *, embed: bool = False) -> dict[str, Any]:
        self._fill_urls(post)
        home = self._home()
        date = post.effective_date
        modified = post.effective_modified
        cat_slugs = [
            _term_class("category", t)
            for t in sorted(
                (t for t in self.categories if t["id"] in post.categories),
                key=lambda t: str(t["name"]).casefold(),
            )
        ]
        tag_slugs = [
            _term_class("tag", t)
            for t in sorted(
                (t for t in self.tags if t["id"] in post.tags),
                key=lambda t: str(t["name"]).casefold(),
            )
        ]
        class_list = [f"post-{post.id}", "post", "type-post", "status-publish", "format-standard"]
        if post.featured_media:
            class_list.append("has-post-thumbnail")
        class_list += ["hentry", *cat_slugs, *tag_slugs]
        obj: dict[str, Any] = {
            "id": post.id,
            "date": wp_datetime(date, self.edition.tz),
            "date_gmt": wp_datetime(date),
            "guid": {"rendered": post.guid},
            "modified": wp_datetime(modified, self.edition.tz),
            "modified_gmt": wp_datetime(modified),
            "slug": post.slug,
            "status": "publish",
            "type": "post",
            "link": post.link,
            "title": {"rendered": post.title},
            "content": {"rendered": post.content, "protected": False},
            "excerpt": {"rendered": post.excerpt, "protected": False},
            "author": post.author,
            "featured_media": post.featured_media,
            "comment_status": post.comment_status,
            "ping_status": "closed",
            "sticky": post.sticky,
            "template": "",
            "format": "standard",
            "meta": {"footnotes": ""},
            "categories": list(post.categories),
            "tags": list(post.tags),
            "class_list": class_list,
            "_links": post.rest_links if post.rest_links is not None else _post_links(post, home),
        }
        if embed:
            name = self.authors.get(post.author, "admin")
            author_slug = slugify(name)
            obj["_embedded"] = {
                "author": [
                    {
                        "id": post.author,
                        "name": name,
                        "url": "",
                        "description": "",
                        "link": f"{home}/author/{author_slug}/",
                        "slug": author_slug,
                    }
                ],
                "wp:term": [
                    [
                        _embed_term(t, "category")
                        for t in self.categories
                        if t["id"] in post.categories
                    ],
                    [_embed_term(t, "post_tag") for t in self.tags if t["id"] in post.tags],
                ],
            }
        return obj


# --------------------------------------------------------------------------- module helpers


def _embed_term(term: dict[str, Any], taxonomy: str) -> dict[str, Any]:
    return {
        "id": term["id"],
        "link": term.get("link", ""),
        "name": term["name"],
        "slug": term["slug"],
        "taxonomy": taxonomy,
    }


def _post_links(post: FakePost, home: str) -> dict[str, Any]:
    base = f"{home}/wp-json/wp/v2"
    links: dict[str, Any] = {
        "self": [{"href": f"{base}/posts/{post.id}", "targetHints": {"allow": ["GET"]}}],
        "collection": [{"href": f"{base}/posts"}],
        "about": [{"href": f"{base}/types/post"}],
        "author": [{"embeddable": True, "href": f"{base}/users/{post.author}"}],
        "replies": [{"embeddable": True, "href": f"{base}/comments?post={post.id}"}],
        "version-history": [{"count": 1, "href": f"{base}/posts/{post.id}/revisions"}],
    }
    if post.featured_media:
        links["wp:featuredmedia"] = [
            {"embeddable": True, "href": f"{base}/media/{post.featured_media}"}
        ]
    links["wp:attachment"] = [{"href": f"{base}/media?parent={post.id}"}]
    links["wp:term"] = [
        {"taxonomy": "category", "embeddable": True, "href": f"{base}/categories?post={post.id}"},
        {"taxonomy": "post_tag", "embeddable": True, "href": f"{base}/tags?post={post.id}"},
    ]
    links["curies"] = [{"name": "wp", "href": "https://api.w.org/{rel}", "templated": True}]
    return links


def _cut_fields(obj: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """REST ``_fields``: keep the listed top-level fields (``a.b`` keeps a nested one)."""
    if not fields:
        return obj
    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key in wanted:
            out[key] = value
            continue
        subs = [w.split(".", 1)[1] for w in wanted if w.startswith(key + ".")]
        if subs and isinstance(value, dict):
            out[key] = _cut_fields(value, ",".join(subs))
    return out


def _term_by_slug(terms: list[dict[str, Any]], slug: str) -> dict[str, Any] | None:
    """The term with this slug: as stored first, else as WordPress would find it."""
    found = next((t for t in terms if t.get("slug") == slug), None)
    if found is None:
        key = slug_key(slug)
        found = next((t for t in terms if slug_key(str(t.get("slug", ""))) == key), None)
    return found


def _raw_query_values(req: RecordedRequest, name: str) -> list[str]:
    """A query parameter percent-decoded to bytes and kept as percent-encoding where those bytes
    are not UTF-8 (parse_qs would turn them into U+FFFD)."""
    out = []
    for key, value in parse_qsl(
        urlsplit(req.target).query, keep_blank_values=True, encoding="latin-1"
    ):
        if key == name:
            raw = value.encode("latin-1")
            try:
                out.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(quote(raw, safe="").lower())
    return out


def _raw_key(target: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    parts = urlsplit(target)
    return parts.path, tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))


_APACHE_401 = b"""<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>401 Unauthorized</title>
</head><body>
<h1>Unauthorized</h1>
<p>This server could not verify that you
are authorized to access the document
requested.  Either you supplied the wrong
credentials (e.g., bad password), or your
browser doesn't understand how to supply
the credentials required.</p>
</body></html>
"""


def _special_page(kind: str, home: str) -> bytes:
    if kind == "captcha":
        return _html_page(
            "Just a moment...",
            '<div id="challenge-running">Checking if the site connection is secure</div>\n'
            "<noscript>Enable JavaScript and cookies to continue</noscript>\n"
            '<form id="challenge-form" action="/feed/?__cf_chl_f_tk=abc" method="POST"></form>',
            home=home,
        )
    return _html_page(
        "Maintenance",
        "<h1>Briefly unavailable for scheduled maintenance. Check back in a minute.</h1>",
        home=home,
    )


def _item_spans(body: bytes) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(rb"<item>.*?</item>", body, re.S)]


def _malform(normal: _Resp, home: str) -> bytes:
    """A feed with items that is not well-formed: an element left open inside the first item."""
    body = normal.body
    spans = _item_spans(body) if normal.kind == "feed" else []
    if spans:
        start = spans[0][0]
        pos = body.index(b"</link>", start) + len(b"</link>\n")
        return body[:pos] + b"\t\t<source>Iran HRM\n" + body[pos:]
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0">\n<channel>\n'
        f"\t<title>{SITE_NAME}</title>\n\t<link>{home}</link>\n"
        f"\t<item>\n\t\t<title>Broken item</title>\n\t\t<link>{home}/?p=1</link>\n"
        "\t\t<source>Iran HRM\n\t</item>\n"
        f"\t<item>\n\t\t<title>Second item</title>\n\t\t<link>{home}/?p=2</link>\n\t</item>\n"
        "</channel>\n</rss>\n"
    ).encode()


def _truncate(normal: _Resp, item: Any) -> bytes:
    """Cut a feed inside an <item>, after its <link> (default: the middle item)."""
    body = normal.body
    spans = _item_spans(body) if normal.kind == "feed" else []
    if not spans:
        return body[: len(body) // 2]
    index = int(item) if item is not None else len(spans) // 2
    start = spans[min(index, len(spans) - 1)][0]
    return body[: body.index(b"</link>", start) + len(b"</link>\n")]


def _fixture_feed_extras(fixtures: Path = FIXTURES_DIR) -> dict[str, tuple[bool, int]]:
    """guid -> (title in CDATA, comment count), read from the fixture feeds."""
    out: dict[str, tuple[bool, int]] = {}
    for name in ("feed-page1.xml", "feed-page2.xml"):
        text = (fixtures / name).read_text("utf-8")
        for block in re.findall(r"<item>.*?</item>", text, re.S):
            guid = re.search(r"<guid[^>]*>(.*?)</guid>", block, re.S)
            if not guid:
                continue
            comments = re.search(r"<slash:comments>(\d+)</slash:comments>", block)
            out[guid.group(1).replace("&#038;", "&")] = (
                "<title><![CDATA[" in block,
                int(comments.group(1)) if comments else 0,
            )
    return out


@contextmanager
def running(site: FakeWordPress) -> Iterator[FakeWordPress]:
    """Start ``site``, yield it, stop it (for pytest fixtures)."""
    site.start()
    try:
        yield site
    finally:
        site.stop()


class Editions(NamedTuple):
    en: FakeWordPress
    fa: FakeWordPress


@contextmanager
def running_editions(
    en: FakeWordPress | None = None, fa: FakeWordPress | None = None
) -> Iterator[Editions]:
    """Both editions at once, each on its own port (the fixtures unless given); stops both."""
    with (
        running(en if en is not None else FakeWordPress.from_fixtures()) as en_site,
        running(fa if fa is not None else FakeWordPress.persian()) as fa_site,
    ):
        yield Editions(en_site, fa_site)
