"""Tests of the fake WordPress server in tests/fakes/wordpress.py."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import feedparser
import httpx
import pytest

from tests.fakes.wordpress import (
    FA_FIXTURE_SITE,
    FA_FIXTURES_DIR,
    FIXTURE_SITE,
    FIXTURES_DIR,
    UTF8_BOM,
    FakeWordPress,
    decode_slug,
    jalali_date,
    running,
    running_editions,
    wp_slug,
)

MANIFEST = json.loads((FIXTURES_DIR / "manifest.json").read_text("utf-8"))
FIXTURE_LAST_MODIFIED = "Wed, 11 Jun 2025 08:12:45 GMT"
FIXTURE_ETAG = '"0b3b82b009ba863d5bc87606b1880543"'


@pytest.fixture
def wp() -> Iterator[FakeWordPress]:
    with running(FakeWordPress.from_fixtures()) as site:
        yield site


@pytest.fixture
def client(wp: FakeWordPress) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=wp.url, timeout=5) as c:
        yield c


def parse(content: bytes) -> feedparser.FeedParserDict:
    return feedparser.parse(content)


def item_ids(feed: feedparser.FeedParserDict) -> list[str]:
    return [e.id for e in feed.entries]


def rest_ids(resp: httpx.Response) -> list[int]:
    assert resp.status_code == 200, resp.text
    return [p["id"] for p in resp.json()]


# --------------------------------------------------------------------------- lifecycle


def test_lifecycle_url_and_context_manager() -> None:
    site = FakeWordPress.from_fixtures()
    assert site.url == ""
    assert not site.is_running
    assert len(site.posts) == 20
    assert len(site.categories) == 35
    assert site.authors == {2: "Iran HRM", 5: "HRM Editorial Team"}
    with site:
        assert site.is_running
        assert site.url.startswith("http://127.0.0.1:")
        assert not site.url.endswith("/")
        with httpx.Client() as c:
            assert c.get(site.url + "/feed/").status_code == 200
    assert not site.is_running
    with httpx.Client() as c, pytest.raises(httpx.ConnectError):
        c.get(site.url + "/feed/")


def test_empty_site_has_terms_but_no_posts() -> None:
    site = FakeWordPress.empty()
    assert site.posts == {}
    assert len(site.categories) == 35
    assert len(site.tags) == 19


# --------------------------------------------------------------------------- fidelity


@pytest.mark.parametrize(
    ("target", "filename", "status"),
    [
        ("/feed/", "feed-page1.xml", 200),
        ("/feed/?paged=2", "feed-page2.xml", 200),
        ("/feed/?paged=3", "feed-paged-out-of-range.xml", 404),
        ("/category/executions/feed/", "category-executions.xml", 200),
        ("/wp-json/wp/v2/posts?per_page=20", "posts-page1.json", 200),
        ("/wp-json/wp/v2/posts?page=2&per_page=20", "rest-invalid-page.json", 400),
        ("/wp-json/wp/v2/categories?per_page=100", "categories.json", 200),
        ("/wp-json/wp/v2/tags?per_page=100", "tags.json", 200),
    ],
)
def test_renders_fixture_files_byte_for_byte(target: str, filename: str, status: int) -> None:
    site = FakeWordPress.from_fixtures()
    site.home_url = FIXTURE_SITE  # render as https://iran-hrm.com
    with running(site), httpx.Client(base_url=site.url) as c:
        resp = c.get(target)
    assert resp.status_code == status
    assert resp.content == (FIXTURES_DIR / filename).read_bytes()
    route = next((r for r in MANIFEST["routes"] if r.get("file") == filename), None)
    assert route is not None
    for name, value in route["headers"].items():
        if name != "Link":
            assert resp.headers[name] == value, name
    assert site.errors == []


@pytest.mark.parametrize(
    ("target", "filename"),
    [
        ("/feed/", "feed-page1.xml"),
        ("/feed/?paged=2", "feed-page2.xml"),
        ("/category/executions/feed/", "category-executions.xml"),
    ],
)
def test_feed_matches_fixture_through_feedparser(
    wp: FakeWordPress, client: httpx.Client, target: str, filename: str
) -> None:
    got = parse(client.get(target).content)
    want = parse((FIXTURES_DIR / filename).read_bytes())
    assert not got.bozo
    assert got.feed.link == wp.url  # the home URL, also in category feeds
    assert got.feed.title == want.feed.title
    assert len(got.entries) == len(want.entries) > 0
    for g, w in zip(got.entries, want.entries, strict=True):
        assert g.id == w.id
        assert g.link == w.link
        assert g.title == w.title
        assert g.published == w.published
        assert g.author == w.author
        assert g.summary == w.summary
        assert {t.term for t in g.tags} == {t.term for t in w.tags}


def test_feed_edge_cases_of_fixture_posts(client: httpx.Client) -> None:
    page1 = client.get("/feed/").text
    page2 = client.get("/feed/?paged=2").text
    assert (
        "<title>Arrests &#038; House Raids Target Baha&#8217;i Families in Shiraz</title>" in page1
    )
    assert "<category><![CDATA[Baha&#039;i community]]></category>" in page1
    assert "<title>Urgent Action: Three Kurdish Prisoners at Imminent" in page1  # <em> stripped
    assert "#respond</comments>" in page1
    assert "<slash:comments>0</slash:comments>" in page1
    assert "<title><![CDATA[European Parliament Debate" in page2
    assert "#comments</comments>" in page2
    assert '<guid isPermaLink="false">http://iran-hrm.com/?p=29451</guid>' in page1
    # 29430 and 29429 share a timestamp: higher id first
    feed = parse(page2.encode())
    ids = item_ids(feed)
    assert ids.index("https://iran-hrm.com/?p=29430") < ids.index("https://iran-hrm.com/?p=29429")


def test_feed_headers_and_site_wide_etag(client: httpx.Client) -> None:
    for target in ("/feed/", "/feed/?paged=2", "/category/executions/feed/", "/feed/?paged=9"):
        resp = client.get(target)
        assert resp.headers["content-type"] == "application/rss+xml; charset=UTF-8"
        assert resp.headers["last-modified"] == FIXTURE_LAST_MODIFIED
        assert resp.headers["etag"] == FIXTURE_ETAG
    md5 = hashlib.md5(FIXTURE_LAST_MODIFIED.encode()).hexdigest()
    assert f'"{md5}"' == FIXTURE_ETAG


# --------------------------------------------------------------------------- conditional GET


def test_conditional_get(wp: FakeWordPress, client: httpx.Client) -> None:
    def status(**headers: str) -> int:
        resp = client.get("/feed/", headers=headers)
        if resp.status_code == 304:
            assert resp.content == b""
            assert resp.headers["etag"] == FIXTURE_ETAG
        return resp.status_code

    later = "Thu, 12 Jun 2025 00:00:00 GMT"
    earlier = "Tue, 10 Jun 2025 00:00:00 GMT"
    assert status(**{"If-None-Match": FIXTURE_ETAG}) == 304
    assert status(**{"If-None-Match": '"nope"'}) == 200
    assert status(**{"If-Modified-Since": FIXTURE_LAST_MODIFIED}) == 304
    assert status(**{"If-Modified-Since": later}) == 304
    assert status(**{"If-Modified-Since": earlier}) == 200
    both = {"If-None-Match": FIXTURE_ETAG, "If-Modified-Since": FIXTURE_LAST_MODIFIED}
    assert status(**both) == 304
    assert status(**{**both, "If-Modified-Since": earlier}) == 200
    assert status(**{**both, "If-None-Match": '"nope"'}) == 200
    # a new post changes Last-Modified and ETag
    wp.add_post(title="Fresh")
    resp = client.get("/feed/", headers={"If-None-Match": FIXTURE_ETAG})
    assert resp.status_code == 200
    assert resp.headers["etag"] != FIXTURE_ETAG
    assert client.get("/feed/", headers={"If-None-Match": resp.headers["etag"]}).status_code == 304


# --------------------------------------------------------------------------- feed content


def test_paging_and_empty_feeds(client: httpx.Client) -> None:
    out = client.get("/feed/?paged=3")
    assert out.status_code == 404
    feed = parse(out.content)
    assert feed.entries == []
    assert feed.feed.title == "Page 3 \u2013 Iran HRM"
    unknown = client.get("/category/no-such-category/feed/")
    assert unknown.status_code == 200
    assert parse(unknown.content).entries == []
    assert "<channel>" in unknown.text


def test_empty_site_feed_and_rest() -> None:
    with running(FakeWordPress.empty()) as site, httpx.Client(base_url=site.url) as c:
        first = c.get("/feed/")
        assert first.status_code == 200
        assert parse(first.content).entries == []
        assert c.get("/feed/?paged=2").status_code == 404
        rest = c.get("/wp-json/wp/v2/posts")
        assert rest.status_code == 200
        assert rest.json() == []
        assert rest.headers["x-wp-total"] == "0"
        assert rest.headers["x-wp-totalpages"] == "0"
        page2 = c.get("/wp-json/wp/v2/posts?page=2")
        assert page2.status_code == 400
        assert page2.json()["code"] == "rest_post_invalid_page_number"


def test_category_feeds_include_descendants(client: httpx.Client) -> None:
    ids = item_ids(parse(client.get("/category/executions/feed/").content))
    assert "https://iran-hrm.com/?p=29462" in ids  # only in Women, a child of Executions
    women = item_ids(parse(client.get("/category/executions/women/feed/").content))
    assert women == ["https://iran-hrm.com/?p=29462"]
    channel = parse(client.get("/category/executions/women/feed/").content).feed
    assert channel.title == "Women \u2013 Iran HRM"


def test_add_post_appears_first_with_own_urls(wp: FakeWordPress, client: httpx.Client) -> None:
    post = wp.add_post(
        title="Tom &amp; Jerry&#8217;s <em>report</em> & more",
        content="<p>" + " ".join(f"w{i}" for i in range(60)) + "</p>",
        categories=[11],
        tags=[203],
    )
    assert post.id == 29469
    assert post.guid == f"{wp.url}/?p=29469"
    assert post.link is not None
    assert post.link.startswith(wp.url + "/20")
    assert post.excerpt.endswith(" w54 [&hellip;]</p>\n")
    body = client.get("/feed/").text
    assert "<title>Tom &amp; Jerry&#8217;s report &#038; more</title>" in body
    feed = parse(body.encode())
    first = feed.entries[0]
    assert first.id == post.guid
    assert first.link == post.link
    assert first.title == "Tom & Jerry\u2019s report & more"
    assert {t.term for t in first.tags} == {"Women", "Death penalty"}
    assert first.summary.endswith("w54 [&#8230;]")  # entities stay literal in CDATA
    assert len(feed.entries) == 10
    # it is in the Executions feed through its child category
    assert item_ids(parse(client.get("/category/executions/feed/").content))[0] == post.guid


def test_add_posts_order_pagination_and_undated(wp: FakeWordPress, client: httpx.Client) -> None:
    wp.posts.clear()
    wp.posts_per_rss = 3
    undated = wp.add_post(title="No date", date_gmt=None)
    posts = wp.add_posts(5)
    assert [p.title for p in posts] == [f"Generated report {i}" for i in range(1, 6)]
    assert posts[1].date_gmt == posts[0].date_gmt + timedelta(minutes=1)  # type: ignore[operator]
    page1 = parse(client.get("/feed/").content)
    page2 = parse(client.get("/feed/?paged=2").content)
    assert [e.title for e in page1.entries] == [f"Generated report {i}" for i in (5, 4, 3)]
    assert [e.title for e in page2.entries] == [
        "Generated report 2",
        "Generated report 1",
        "No date",
    ]
    assert "published" not in page2.entries[-1]
    assert client.get("/feed/?paged=3").status_code == 404
    # the undated post still has a REST date
    obj = client.get(f"/wp-json/wp/v2/posts/{undated.id}").json()
    assert obj["date_gmt"] == undated.created_gmt.strftime("%Y-%m-%dT%H:%M:%S")


def test_modify_and_delete(wp: FakeWordPress, client: httpx.Client) -> None:
    when = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
    wp.modify_post(29462, title="Updated title", modified_gmt=when)
    resp = client.get("/feed/")
    assert resp.headers["last-modified"] == "Tue, 01 Jul 2025 12:00:00 GMT"
    assert "<title>Updated title</title>" in resp.text
    assert "<lastBuildDate>Tue, 01 Jul 2025 12:00:00 +0000</lastBuildDate>" in resp.text
    obj = client.get("/wp-json/wp/v2/posts/29462").json()
    assert obj["modified_gmt"] == "2025-07-01T12:00:00"
    assert obj["modified"] == "2025-07-01T14:00:00"
    assert obj["title"]["rendered"] == "Updated title"
    wp.delete_post(29468)
    ids = item_ids(parse(client.get("/feed/").content))
    assert "https://iran-hrm.com/?p=29468" not in ids
    assert len(ids) == 10
    assert client.get("/wp-json/wp/v2/posts/29468").status_code == 404


def test_redirect_home_and_404(client: httpx.Client) -> None:
    redirect = client.get("/feed")
    assert redirect.status_code == 301
    assert redirect.headers["location"].endswith("/feed/")
    home = client.get("/")
    assert home.status_code == 200
    assert 'type="application/rss+xml"' in home.text
    missing = client.get("/nothing-here/")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")


# --------------------------------------------------------------------------- REST


def test_rest_default_pagination_and_links(wp: FakeWordPress, client: httpx.Client) -> None:
    first = client.get("/wp-json/wp/v2/posts")
    assert len(first.json()) == 10
    assert first.headers["x-wp-total"] == "20"
    assert first.headers["x-wp-totalpages"] == "2"
    assert first.links["next"]["url"] == f"{wp.url}/wp-json/wp/v2/posts?page=2"
    assert "prev" not in first.links
    second = client.get("/wp-json/wp/v2/posts", params={"page": 2})
    assert second.links["prev"]["url"] == f"{wp.url}/wp-json/wp/v2/posts?page=1"
    assert "next" not in second.links
    assert rest_ids(first) + rest_ids(second) == sorted(wp.posts, reverse=True)
    assert client.get("/wp-json/wp/v2/posts", params={"page": 3}).status_code == 400


def test_rest_json_is_encoded_like_php(client: httpx.Client) -> None:
    raw = client.get("/wp-json/wp/v2/posts", params={"per_page": 20}).content
    assert b"https:\\/\\/iran-hrm.com" in raw
    assert b"\\u200c" in raw  # ZWNJ in the Persian title, escaped
    assert b", " not in raw[:200]
    assert raw.isascii()


@pytest.mark.parametrize("per_page", ["0", "101", "x"])
def test_rest_invalid_per_page(client: httpx.Client, per_page: str) -> None:
    resp = client.get("/wp-json/wp/v2/posts", params={"per_page": per_page})
    assert resp.status_code == 400
    assert resp.json()["code"] == "rest_invalid_param"


def test_rest_date_filters(client: httpx.Client) -> None:
    def ids(**params: str) -> list[int]:
        return rest_ids(client.get("/wp-json/wp/v2/posts", params={"per_page": "100", **params}))

    assert ids(after="2025-06-09T22:45:18Z") == [29468, 29465]  # strictly after
    assert ids(after="2025-06-10T00:45:18+02:00") == [29468, 29465]
    assert ids(after="2025-06-10T00:45:18") == [29468, 29465]  # no offset: site-local
    assert ids(before="2025-05-26T09:20:44Z") == [29402]
    assert ids(modified_after="2025-06-10T16:40:03Z") == [29458]
    assert ids(modified_after="2025-06-10T00:00:00Z", orderby="modified") == [29458, 29468, 29465]
    resp = client.get("/wp-json/wp/v2/posts", params={"after": "yesterday"})
    assert resp.status_code == 400


def test_rest_order_categories_fields_embed(wp: FakeWordPress, client: httpx.Client) -> None:
    def get(**params: str) -> httpx.Response:
        return client.get("/wp-json/wp/v2/posts", params={"per_page": "100", **params})

    assert rest_ids(get(orderby="id", order="asc")) == sorted(wp.posts)
    assert rest_ids(get(categories="4")) == [29468, 29425, 29410]  # no children
    assert rest_ids(get(categories="11,13")) == [29468, 29462]
    with_children = rest_ids(
        get(**{"categories[terms]": "4", "categories[include_children]": "1"})
    )
    assert len(with_children) == 7
    assert rest_ids(get(tags="205")) == [29465]
    fields = get(_fields="id,title,link", per_page="2").json()
    assert fields == [
        {"id": 29468, "link": wp.posts[29468].link, "title": {"rendered": wp.posts[29468].title}},
        {"id": 29465, "link": wp.posts[29465].link, "title": {"rendered": wp.posts[29465].title}},
    ]
    embedded = get(_embed="1", per_page="20").json()
    by_id = {p["id"]: p for p in embedded}
    assert by_id[29433]["_embedded"]["author"][0]["name"] == "HRM Editorial Team"
    assert by_id[29468]["_embedded"]["author"][0]["id"] == 2
    assert "_embedded" not in get(per_page="1").json()[0]


def test_rest_new_post_shape(wp: FakeWordPress, client: httpx.Client) -> None:
    post = wp.add_post(
        title="Report", date_gmt=datetime(2025, 6, 12, 23, 30, 5, tzinfo=UTC), tags=[201]
    )
    obj = client.get("/wp-json/wp/v2/posts", params={"per_page": 1}).json()[0]
    assert obj["id"] == post.id
    assert obj["date"] == "2025-06-13T01:30:05"
    assert obj["date_gmt"] == "2025-06-12T23:30:05"
    assert obj["link"] == f"{wp.url}/2025/06/13/report/"
    assert obj["guid"] == {"rendered": f"{wp.url}/?p={post.id}"}
    assert obj["categories"] == [4]
    assert obj["tags"] == [201]
    assert obj["excerpt"] == {"rendered": "<p>...</p>\n", "protected": False}
    fixture_keys = list(json.loads((FIXTURES_DIR / "posts-page1.json").read_text())[0])
    assert list(obj) == fixture_keys


def test_rest_terms(wp: FakeWordPress, client: httpx.Client) -> None:
    cats = client.get("/wp-json/wp/v2/categories")
    assert len(cats.json()) == 10
    assert cats.headers["x-wp-total"] == "35"
    assert cats.headers["x-wp-totalpages"] == "4"
    assert "next" in cats.links
    assert client.get("/wp-json/wp/v2/categories", params={"page": 5}).status_code == 400
    tags = client.get("/wp-json/wp/v2/tags", params={"per_page": 100})
    assert tags.headers["x-wp-total"] == "19"
    # counts follow the posts (direct assignments only)
    wp.add_post(title="More", categories=[11])
    all_cats = client.get("/wp-json/wp/v2/categories", params={"per_page": 100}).json()
    counts = {c["id"]: c["count"] for c in all_cats}
    assert counts[11] == 2
    assert counts[4] == 3


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [
        ("401", 401, "rest_not_logged_in"),
        ("403", 403, "rest_forbidden"),
        ("404", 404, "rest_no_route"),
        ("500", 500, "internal_server_error"),
    ],
)
def test_rest_modes(
    wp: FakeWordPress, client: httpx.Client, mode: str, status: int, code: str
) -> None:
    wp.rest_mode = mode
    for route in ("posts", "categories", "tags"):
        resp = client.get(f"/wp-json/wp/v2/{route}")
        assert resp.status_code == status
        assert resp.json()["code"] == code
    assert client.get("/feed/").status_code == 200


def test_rest_html_mode_and_categories_mode(wp: FakeWordPress, client: httpx.Client) -> None:
    wp.rest_mode = "html"
    resp = client.get("/wp-json/wp/v2/posts")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.text.lstrip().startswith("<!DOCTYPE html>")
    wp.rest_mode = "ok"
    wp.categories_mode = "403"
    assert client.get("/wp-json/wp/v2/categories").status_code == 403
    assert client.get("/wp-json/wp/v2/posts").status_code == 200
    assert client.get("/wp-json/wp/v2/tags").status_code == 200


def test_rest_index_and_unknown_route(client: httpx.Client) -> None:
    index = client.get("/wp-json/")
    assert index.status_code == 200
    assert "wp/v2" in index.json()["namespaces"]
    unknown = client.get("/wp-json/wp/v2/nope")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "rest_no_route"


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize("status", [404, 500, 503])
def test_fault_status(wp: FakeWordPress, client: httpx.Client, status: int) -> None:
    wp.fault("status", status=status)
    resp = client.get("/feed/")
    assert resp.status_code == status
    assert resp.headers["content-type"].startswith("text/html")
    assert b"<html" in resp.content
    assert client.get("/feed/?paged=2").status_code == status  # "/feed/" covers the pages
    assert client.get("/wp-json/wp/v2/posts").status_code == 200  # other paths unaffected


def test_fault_html(wp: FakeWordPress, client: httpx.Client) -> None:
    wp.fault("html")
    resp = client.get("/feed/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert "maintenance" in resp.text
    assert parse(resp.content).entries == []


def test_fault_malformed(wp: FakeWordPress, client: httpx.Client) -> None:
    wp.fault("malformed")
    resp = client.get("/feed/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/rss+xml")
    assert resp.text.count("<item>") == 10
    with pytest.raises(ET.ParseError):
        ET.fromstring(resp.content)
    assert parse(resp.content).bozo


def test_fault_malformed_on_empty_site_still_has_items() -> None:
    with running(FakeWordPress.empty()) as site, httpx.Client(base_url=site.url) as c:
        site.fault("malformed")
        resp = c.get("/feed/")
    assert "<item>" in resp.text
    with pytest.raises(ET.ParseError):
        ET.fromstring(resp.content)


def test_fault_truncated(wp: FakeWordPress, client: httpx.Client) -> None:
    normal = client.get("/feed/").content
    wp.fault("truncated")
    resp = client.get("/feed/")
    body = resp.content
    assert resp.status_code == 200
    assert normal.startswith(body)
    assert len(body) < len(normal)
    last_item = body[body.rindex(b"<item>") :]
    assert b"<title>" in last_item
    assert last_item.rstrip().endswith(b"</link>")
    assert b"</item>" not in last_item
    with pytest.raises(ET.ParseError):
        ET.fromstring(body)


def test_body_faults_on_rest(wp: FakeWordPress, client: httpx.Client) -> None:
    normal = client.get("/wp-json/wp/v2/posts").content
    wp.fault("malformed", "/wp-json/", times=1)
    broken = client.get("/wp-json/wp/v2/posts")
    assert broken.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.content)
    wp.fault("truncated", "/wp-json/", times=1)
    cut = client.get("/wp-json/wp/v2/posts").content
    assert normal.startswith(cut)
    assert len(cut) < len(normal)
    wp.fault("bom", "/wp-json/", times=1)
    assert client.get("/wp-json/wp/v2/posts").content == UTF8_BOM + normal


def test_fault_truncated_short_read(wp: FakeWordPress, client: httpx.Client) -> None:
    wp.fault("truncated", short_read=True)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/feed/")


def test_fault_timeout_does_not_block_other_requests(wp: FakeWordPress) -> None:
    wp.fault("timeout", delay=0.5, times=1)
    results: dict[str, object] = {}

    def slow() -> None:
        with httpx.Client(timeout=0.2) as c:
            try:
                c.get(wp.url + "/feed/")
            except httpx.TimeoutException as exc:
                results["slow"] = exc

    thread = threading.Thread(target=slow)
    thread.start()
    deadline = time.monotonic() + 2
    while not wp.requests_to("/feed/") and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    with httpx.Client(timeout=2) as c:
        assert c.get(wp.url + "/wp-json/wp/v2/posts").status_code == 200
        assert c.get(wp.url + "/feed/").status_code == 200  # times=1: fault used up
    assert time.monotonic() - started < 0.4
    thread.join(2)
    assert isinstance(results.get("slow"), httpx.ReadTimeout)


def test_stop_is_prompt_while_a_timeout_handler_sleeps() -> None:
    site = FakeWordPress.from_fixtures()
    site.start()
    site.fault("timeout", delay=5.0)
    errors: list[BaseException] = []

    def slow() -> None:
        with httpx.Client(timeout=10) as c:
            try:
                c.get(site.url + "/feed/")
            except httpx.HTTPError as exc:
                errors.append(exc)

    thread = threading.Thread(target=slow)
    thread.start()
    deadline = time.monotonic() + 2
    while not site.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    site.stop()
    assert time.monotonic() - started < 1.0
    thread.join(2)
    assert not thread.is_alive()
    assert len(errors) == 1


@pytest.mark.parametrize("chunked", [False, True])
def test_fault_huge(wp: FakeWordPress, client: httpx.Client, chunked: bool) -> None:
    size = 3 * 1024 * 1024 + 7
    wp.fault("huge", size=size, chunked=chunked)
    received = 0
    with client.stream("GET", "/feed/") as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("application/rss+xml")
        if chunked:
            assert resp.headers["transfer-encoding"] == "chunked"
            assert "content-length" not in resp.headers
        else:
            assert resp.headers["content-length"] == str(size)
        for chunk in resp.iter_raw():
            received += len(chunk)
    assert received == size


def test_fault_huge_client_can_hang_up(wp: FakeWordPress, client: httpx.Client) -> None:
    wp.fault("huge", size=50 * 1024 * 1024, times=1)
    with client.stream("GET", "/feed/") as resp:
        first = next(resp.iter_raw())
        assert first.startswith(b"<?xml")
    assert client.get("/feed/").status_code == 200
    assert wp.errors == []


def test_fault_gzip_variants(wp: FakeWordPress, client: httpx.Client) -> None:
    normal = client.get("/feed/").content
    wp.fault("gzip_no_header", times=1)
    resp = client.get("/feed/")
    assert resp.status_code == 200
    assert "content-encoding" not in resp.headers
    assert resp.content[:2] == b"\x1f\x8b"
    assert gzip.decompress(resp.content) == normal
    wp.fault("gzip", times=1)
    resp = client.get("/feed/")
    assert resp.headers["content-encoding"] == "gzip"
    assert resp.content == normal  # httpx decodes it
    assert client.get("/feed/", headers={"Accept-Encoding": "gzip"}).content == normal
    assert "content-encoding" not in client.get("/feed/").headers  # identity by default


def test_fault_bom_and_junk_prefix(wp: FakeWordPress, client: httpx.Client) -> None:
    normal = client.get("/feed/").content
    wp.fault("bom", times=1)
    assert client.get("/feed/").content == UTF8_BOM + normal
    wp.fault("junk_prefix", times=1)
    body = client.get("/feed/").content
    assert body.startswith(b"\n\n  \r\n")
    assert body.endswith(normal)
    prefix = body[: -len(normal)]
    assert prefix.strip()
    assert b"<?xml" not in prefix


def test_fault_empty_channel(wp: FakeWordPress, client: httpx.Client) -> None:
    wp.fault("empty_channel")
    resp = client.get("/feed/")
    assert resp.status_code == 200
    root = ET.fromstring(resp.content)
    channel = root.find("channel")
    assert channel is not None
    assert channel.findall("item") == []
    assert channel.findtext("link") == wp.url


def test_fault_scoping_times_and_clear(wp: FakeWordPress, client: httpx.Client) -> None:
    wp.fault("status", status=503, times=2)
    assert [client.get("/feed/").status_code for _ in range(3)] == [503, 503, 200]
    wp.fault("status", "/wp-json/", status=500)
    assert client.get("/wp-json/wp/v2/posts").status_code == 500
    assert client.get("/feed/").status_code == 200
    wp.fault("status", "/", status=502)  # newest fault wins, "/" covers everything
    assert client.get("/category/executions/feed/").status_code == 502
    assert client.get("/wp-json/wp/v2/tags").status_code == 502
    wp.clear_faults()
    assert client.get("/wp-json/wp/v2/posts").status_code == 200
    with pytest.raises(ValueError, match="unknown fault"):
        wp.fault("nonsense")


def test_raw(wp: FakeWordPress, client: httpx.Client) -> None:
    wp.raw("/feed/?paged=2", b"<rss>raw</rss>", status=202, headers={"X-Test": "1"})
    resp = client.get("/feed/?paged=2")
    assert resp.status_code == 202
    assert resp.content == b"<rss>raw</rss>"
    assert resp.headers["x-test"] == "1"
    assert resp.headers["content-type"].startswith("application/rss+xml")
    assert client.get("/feed/").status_code == 200
    assert parse(client.get("/feed/").content).entries
    wp.clear_faults()
    assert len(parse(client.get("/feed/?paged=2").content).entries) == 10


def test_requests_are_recorded(wp: FakeWordPress, client: httpx.Client) -> None:
    client.get("/feed/", params={"paged": "2"}, headers={"X-Custom": "Yes"})
    client.get("/wp-json/wp/v2/posts", params={"per_page": "5"})
    first, second = wp.requests
    assert first.method == "GET"
    assert first.path == "/feed/"
    assert first.query == {"paged": ["2"]}
    assert first.headers["x-custom"] == "Yes"
    assert "user-agent" in first.headers
    assert second.path == "/wp-json/wp/v2/posts"
    assert second.query == {"per_page": ["5"]}
    assert wp.requests_to("/wp-json/") == [second]


# --------------------------------------------------------------------------- Persian edition

FA_MANIFEST = json.loads((FA_FIXTURES_DIR / "manifest.json").read_text("utf-8"))
FA_LAST_MODIFIED = "Thu, 04 Dec 2025 07:30:00 GMT"
FA_ETAG = '"f1e32a723c2f599c1dc540f8e3d46ab6"'
EXECUTIONS_FA = "%d8%a7%d8%b9%d8%af%d8%a7%d9%85"  # اعدام
ARCHIVE_SLUG = "%c2%d1%d4%ed%e6"  # آرشيو in Windows-1256: not UTF-8
ZWNJ, RLM, LRM = "\u200c", "\u200f", "\u200e"


@pytest.fixture
def fa() -> Iterator[FakeWordPress]:
    with running(FakeWordPress.persian()) as site:
        yield site
    assert site.errors == []


@pytest.fixture
def fa_client(fa: FakeWordPress) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fa.url, timeout=5) as c:
        yield c


def fa_posts() -> list[dict[str, Any]]:
    posts: list[dict[str, Any]] = json.loads((FA_FIXTURES_DIR / "posts-page1.json").read_text())
    return posts


def fa_texts() -> dict[int, str]:
    """Post id -> title, excerpt and content of the Persian fixture posts, as stored."""
    return {
        p["id"]: "\n".join(p[k]["rendered"] for k in ("title", "excerpt", "content"))
        for p in fa_posts()
    }


def fa_title(post_id: int) -> str:
    return str(next(p["title"]["rendered"] for p in fa_posts() if p["id"] == post_id))


@pytest.mark.parametrize(
    "route", [r for r in FA_MANIFEST["routes"] if "file" in r], ids=lambda r: r["file"]
)
def test_persian_renders_fixture_files_byte_for_byte(route: dict[str, Any]) -> None:
    site = FakeWordPress.persian()
    site.home_url = FA_FIXTURE_SITE
    target = route["request"].split(" ", 1)[1]
    with running(site), httpx.Client(base_url=site.url) as c:
        resp = c.get(target)
    assert resp.status_code == route["status"]
    assert resp.content == (FA_FIXTURES_DIR / route["file"]).read_bytes()
    for name, value in route["headers"].items():
        assert resp.headers[name] == value, name
    assert site.errors == []


def test_persian_site_is_its_own_edition(fa: FakeWordPress, fa_client: httpx.Client) -> None:
    assert len(fa.posts) == 18
    assert len(fa.categories) == 24
    assert len(fa.tags) == 18
    assert fa.edition.key == "fa"
    feed = parse(fa_client.get("/feed/").content)
    assert not feed.bozo
    assert feed.feed.language == "fa-IR"
    assert feed.feed.title == "دیده\u200cبان حقوق بشر ایران"
    assert feed.feed.link == fa.url
    assert len(feed.entries) == 10
    assert feed.entries[0].link.startswith("https://fa.iran-hrm.com/1404/09/12/%d8%a7")
    index = fa_client.get("/wp-json/").json()
    assert (index["gmt_offset"], index["timezone_string"]) == ("3.5", "Asia/Tehran")
    home = fa_client.get("/")
    assert '<html dir="rtl" lang="fa-IR">' in home.text
    # the English fixtures are untouched by the Persian ones
    assert FakeWordPress.from_fixtures().edition.key == "en"
    assert FakeWordPress.empty("fa").posts == {}


def test_persian_feed_matches_fixture_through_feedparser(
    fa: FakeWordPress, fa_client: httpx.Client
) -> None:
    for target, filename in (
        ("/feed/", "feed-page1.xml"),
        ("/feed/?paged=2", "feed-page2.xml"),
        (f"/category/{EXECUTIONS_FA}/feed/", "category-executions.xml"),
    ):
        got = parse(fa_client.get(target).content)
        want = parse((FA_FIXTURES_DIR / filename).read_bytes())
        assert got.feed.title == want.feed.title
        assert [(e.id, e.link, e.title, e.summary) for e in got.entries] == [
            (e.id, e.link, e.title, e.summary) for e in want.entries
        ]
        assert [{t.term for t in e.tags} for e in got.entries] == [
            {t.term for t in e.tags} for e in want.entries
        ]


def test_persian_rest_posts_dates_links_and_paging(
    fa: FakeWordPress, fa_client: httpx.Client
) -> None:
    first = fa_client.get("/wp-json/wp/v2/posts")
    assert first.headers["x-wp-total"] == "18"
    assert first.headers["x-wp-totalpages"] == "2"
    assert first.links["next"]["url"] == f"{fa.url}/wp-json/wp/v2/posts?page=2"
    second = fa_client.get("/wp-json/wp/v2/posts", params={"page": 2})
    assert rest_ids(first) + rest_ids(second) == [
        p.id for p in sorted(fa.posts.values(), key=lambda p: p.effective_date, reverse=True)
    ]
    assert fa_client.get("/wp-json/wp/v2/posts", params={"page": 3}).status_code == 400
    # 21:05 UTC on 1 December is 00:35 on 2 December in Tehran: 11 Azar 1404
    obj = fa_client.get("/wp-json/wp/v2/posts/15862").json()
    assert (obj["date_gmt"], obj["date"]) == ("2025-12-01T21:05:30", "2025-12-02T00:35:30")
    assert obj["link"].startswith("https://fa.iran-hrm.com/1404/09/11/")
    assert obj["slug"] == obj["slug"].lower()
    assert decode_slug(obj["slug"]).startswith("بازداشتشدگان-بهائی")  # ZWNJ dropped
    assert "category-8" in obj["class_list"]  # no Latin left of a Persian slug: the id

    # REST dates without an offset are Tehran time
    def ids(**params: str) -> list[int]:
        return rest_ids(
            fa_client.get("/wp-json/wp/v2/posts", params={"per_page": "100", **params})
        )

    assert ids(after="2025-12-02T19:55:02") == [15870, 15867]
    assert ids(after="2025-12-02T16:25:02Z") == [15870, 15867]
    assert ids(categories="3") == [15870, 15860, 15824]
    with_children = ids(**{"categories[terms]": "3", "categories[include_children]": "1"})
    assert with_children == [15870, 15865, 15860, 15857, 15845, 15824]
    assert ids(search="قزل\u200cحصار")[:2] == [15870, 15860]
    raw = fa_client.get("/wp-json/wp/v2/posts", params={"per_page": 1}).content
    assert raw.isascii()
    assert b"\\u200c" in raw


def test_persian_categories_have_percent_encoded_slugs(fa_client: httpx.Client) -> None:
    cats = fa_client.get("/wp-json/wp/v2/categories", params={"per_page": 100}).json()
    by_id = {c["id"]: c for c in cats}
    assert by_id[3]["slug"] == EXECUTIONS_FA
    assert decode_slug(by_id[3]["slug"]) == "اعدام"
    assert by_id[3]["link"] == f"{FA_FIXTURE_SITE}/category/{EXECUTIONS_FA}/"
    assert by_id[11]["parent"] == 3
    assert decode_slug(by_id[11]["slug"]) == "اعدام-زنان"
    assert by_id[11]["link"].startswith(f"{FA_FIXTURE_SITE}/category/{EXECUTIONS_FA}/%d8%a7")
    for cat in cats:
        if "%" in cat["slug"]:
            assert cat["slug"] == cat["slug"].lower(), cat
    # the same name under two parents; WordPress numbered the second slug
    assert by_id[7]["name"] == by_id[14]["name"] == "زندانیان سیاسی"
    assert (by_id[7]["parent"], by_id[14]["parent"]) == (2, 3)
    assert by_id[14]["slug"] == by_id[7]["slug"] + "-2"
    # a name and slug the English edition has too
    assert (by_id[19]["name"], by_id[19]["slug"]) == ("Infographics", "infographics")
    english = json.loads((FIXTURES_DIR / "categories.json").read_text("utf-8"))
    assert ("Infographics", "infographics") in {(c["name"], c["slug"]) for c in english}
    # an old slug whose bytes are not UTF-8 is served as it is
    assert by_id[24]["slug"] == ARCHIVE_SLUG
    with pytest.raises(UnicodeDecodeError):
        unquote_to_bytes(by_id[24]["slug"]).decode("utf-8")
    assert decode_slug(ARCHIVE_SLUG) == ARCHIVE_SLUG
    assert by_id[24]["count"] == 1


@pytest.mark.parametrize(
    "slug",
    [EXECUTIONS_FA, EXECUTIONS_FA.upper(), "اعدام"],
    ids=["encoded", "upper-case-hex", "decoded"],
)
def test_persian_slugs_are_found_however_written(fa_client: httpx.Client, slug: str) -> None:
    found = fa_client.get("/wp-json/wp/v2/categories", params={"slug": slug}).json()
    assert [c["id"] for c in found] == [3]
    path = slug if "%" in slug else quote(slug)  # httpx would encode it anyway
    feed = parse(fa_client.get(f"/category/{path}/feed/").content)
    assert feed.feed.title == "اعدام \u2013 دیده\u200cبان حقوق بشر ایران"
    assert len(feed.entries) == 6


def test_persian_category_feeds_of_children_and_broken_slug(fa_client: httpx.Client) -> None:
    women = parse(fa_client.get(f"/category/{EXECUTIONS_FA}/{quote('اعدام-زنان')}/feed/").content)
    assert item_ids(women) == [f"{FA_FIXTURE_SITE}/?p=15865"]
    archive = fa_client.get(f"/category/{ARCHIVE_SLUG}/feed/")
    assert item_ids(parse(archive.content)) == ["http://fa.iran-hrm.com/?p=2113"]
    by_query = fa_client.get(f"/?feed=rss2&category_name={ARCHIVE_SLUG}")
    assert item_ids(parse(by_query.content)) == ["http://fa.iran-hrm.com/?p=2113"]
    found = fa_client.get(f"/wp-json/wp/v2/categories?slug={ARCHIVE_SLUG.upper()}").json()
    assert [c["id"] for c in found] == [24]
    # the tag اعدام and the category اعدام are one RSS <category>; the category feed has
    # only posts filed in the category, not 15854 which is tagged اعدام
    page1 = fa_client.get("/feed/").text
    item = next(i for i in page1.split("<item>") if "?p=15870</guid>" in i)
    assert item.count("<category><![CDATA[اعدام]]></category>") == 1
    executions = parse(fa_client.get(f"/category/{EXECUTIONS_FA}/feed/").content)
    assert f"{FA_FIXTURE_SITE}/?p=15854" not in item_ids(executions)


def test_persian_feed_paging_and_conditional_get(
    fa: FakeWordPress, fa_client: httpx.Client
) -> None:
    page2 = fa_client.get("/feed/", params={"paged": 2})
    assert page2.status_code == 200
    assert "<title>برگه 2 &#8211; دیده\u200cبان حقوق بشر ایران</title>" in page2.text
    assert len(parse(page2.content).entries) == 8
    out = fa_client.get("/feed/?paged=3")
    assert out.status_code == 404
    assert parse(out.content).entries == []
    category2 = fa_client.get(f"/category/{EXECUTIONS_FA}/feed/?paged=2")
    assert category2.status_code == 404
    assert "<title>اعدام &#8211; برگه 2 &#8211; " in category2.text
    resp = fa_client.get("/feed/")
    assert (resp.headers["last-modified"], resp.headers["etag"]) == (FA_LAST_MODIFIED, FA_ETAG)
    assert fa_client.get("/feed/", headers={"If-None-Match": FA_ETAG}).status_code == 304
    since = {"If-Modified-Since": FA_LAST_MODIFIED}
    assert fa_client.get("/feed/?paged=2", headers=since).status_code == 304
    fa.add_post_in(title="خبر تازه")
    assert fa_client.get("/feed/", headers={"If-None-Match": FA_ETAG}).status_code == 200


def test_persian_fixture_texts_keep_their_edge_cases() -> None:
    """The fixtures exist for these spellings: an edit that loses one must fail here."""
    texts = fa_texts()
    everything = "\n".join(texts.values())
    # the same words with ZWNJ, with a space, joined
    assert "می\u200cشود" in texts[15867]
    assert "زندان\u200cها" in texts[15857]
    assert "بازداشت\u200cشدگان" in fa_title(15862)
    assert "می شود" in texts[15851]
    assert "زندان ها" in texts[15851]
    assert "بازداشتگاه های" in fa_title(15851)
    assert ZWNJ not in texts[15851]  # typed without a single ZWNJ
    assert "زندانهای" in fa_title(15848)
    assert "میشود" in texts[15848]
    assert "زندانها" in texts[15848]
    assert "می&zwnj;شود" in texts[15824]  # the entity, as the classic editor saves it
    # digits: Persian, Arabic-Indic, and ASCII where WordPress writes them
    assert "۱۴۰۴" in fa_title(15842)
    assert "اعدام ٣ زندانی" in fa_title(15824)
    assert "١٤٠٤" in texts[15842]
    # Arabic yeh and kaf beside Persian ones
    assert "يك زنداني سياسي" in fa_title(15860)
    assert "\u0643" in texts[15824]
    assert "\u064a" not in texts[15870]
    assert "\u0643" not in texts[15870]
    # heh forms, tatweel, harakat
    assert "\u06c0" in texts[15827]
    assert "\u0647\u0654" in texts[15827]
    assert "\u0640" in texts[15833]
    assert "\u064f" in texts[15833]
    # bidi marks and Latin inside Persian titles
    assert f"{RLM}({LRM}Iran HRM Monthly{LRM}){RLM}" in fa_title(15842)
    assert "Elena Marković" in fa_title(15836)
    assert "&#8220;" in fa_title(15854)
    assert "&#8211;" in fa_title(15845)
    assert everything.count(ZWNJ) > 100
    feed = (FA_FIXTURES_DIR / "feed-page2.xml").read_text("utf-8")
    assert f"<title>گزارش ماهانه آبان ۱۴۰۴ {RLM}({LRM}Iran HRM Monthly" in feed
    assert "&#8204;" in feed  # RSS prints &zwnj; as a numeric entity (ent2ncr)


def test_persian_feed_and_rest_agree_on_every_post(fa_client: httpx.Client) -> None:
    rest = {p["id"]: p for p in fa_client.get("/wp-json/wp/v2/posts?per_page=100").json()}
    entries = parse(fa_client.get("/feed/").content).entries
    entries += parse(fa_client.get("/feed/?paged=2").content).entries
    assert len(entries) == len(rest) == 18
    for entry in entries:
        post = rest[int(entry.id.rsplit("=", 1)[1])]
        assert entry.link == post["link"]
        assert (
            entry.published_parsed[:6] == datetime.fromisoformat(post["date_gmt"]).timetuple()[:6]
        )


def test_jalali_dates() -> None:
    nowruz = {
        1398: date(2019, 3, 21),
        1399: date(2020, 3, 20),
        1403: date(2024, 3, 20),
        1404: date(2025, 3, 21),
        1405: date(2026, 3, 21),
    }
    for year, day in nowruz.items():
        assert jalali_date(day) == (year, 1, 1)
        assert jalali_date(day - timedelta(days=1))[0] == year - 1
    assert jalali_date(date(2025, 3, 20)) == (1403, 12, 30)  # 1403 is a leap year
    assert jalali_date(date(2025, 11, 22)) == (1404, 9, 1)  # 1 Azar
    assert jalali_date(date(2025, 11, 21)) == (1404, 8, 30)


def test_jalali_dates_agree_with_jdatetime() -> None:
    jdatetime = pytest.importorskip("jdatetime")
    day = date(2015, 1, 1)
    while day < date(2035, 1, 1):
        j = jdatetime.date.fromgregorian(date=day)
        assert jalali_date(day) == (j.year, j.month, j.day), day
        day += timedelta(days=1)


def test_wp_slug() -> None:
    assert wp_slug("اعدام") == EXECUTIONS_FA
    assert wp_slug("زندان\u200cها") == wp_slug("زندانها")  # ZWNJ dropped, not a hyphen
    assert wp_slug(f"«اعدام» {RLM}(Iran){RLM}") == f"{EXECUTIONS_FA}-iran"
    assert wp_slug("Tom &amp; Jerry &#8211; 1.5/2") == "tom-jerry-1-5-2"
    assert wp_slug("Elena Marković") == "elena-markovic"
    long = wp_slug("اعدام " * 40)
    assert len(long) <= 200
    unquote_to_bytes(long).decode("utf-8")  # cut on a character boundary


def test_add_post_in_by_slug_or_id(fa: FakeWordPress, fa_client: httpx.Client) -> None:
    when = datetime(2025, 12, 20, 21, 0, tzinfo=UTC)  # 00:30 on 21 Dec in Tehran: 30 Azar
    post = fa.add_post_in(
        "اعدام",
        "زندانیان-سیاسی-2",
        11,
        title="اعدام یک زندانی سیاسی در زندان قزل\u200cحصار",
        tags=["زندان-قزلحصار", 104],
        date_gmt=when,
    )
    assert post.categories == [3, 14, 11]
    assert post.tags == [101, 104]
    assert post.slug == wp_slug(post.title)
    assert "%e2%80%8c" not in post.slug
    assert post.link == f"{fa.url}/1404/09/30/{post.slug}/"
    assert post.guid == f"{fa.url}/?p={post.id}"
    first = parse(fa_client.get("/feed/").content).entries[0]
    assert first.title == post.title
    assert {t.term for t in first.tags} == {
        "اعدام",
        "زندانیان سیاسی",
        "اعدام زنان",
        "زندان قزل\u200cحصار",
        "مواد مخدر",
    }
    women = parse(fa_client.get(f"/category/{EXECUTIONS_FA}/{quote('اعدام-زنان')}/feed/").content)
    assert item_ids(women)[0] == post.guid
    plain = fa.add_post_in(title="گزارش بدون دسته")
    assert plain.categories == [3]  # the edition's default: اعدام
    assert fa.category_id("اعدام-زنان") == fa.category_id(quote("اعدام-زنان").lower()) == 11
    assert fa.tag_id("elena-markovic") == 118
    with pytest.raises(KeyError, match="اعدام-زنان"):
        fa.add_post_in("نیست", title="x")
    generated = fa.add_posts(2)
    assert [p.title for p in generated] == ["گزارش شماره 1", "گزارش شماره 2"]
    assert generated[0].content.startswith("<p>متن")


def test_load_fixtures_serves_another_edition(fa: FakeWordPress, fa_client: httpx.Client) -> None:
    # only the posts wrong: the channel still says fa-IR
    fa.load_fixtures("en", keep_identity=True)
    feed = parse(fa_client.get("/feed/").content)
    assert feed.feed.language == "fa-IR"
    assert feed.feed.title == "دیده\u200cبان حقوق بشر ایران"
    assert feed.entries[0].title.startswith("Iran: Nine Prisoners")
    # the fa host answered by the English install, faults kept
    fa.fault("status", "/wp-json/", status=500, times=1)
    fa.load_fixtures("en")
    feed = parse(fa_client.get("/feed/").content)
    assert feed.feed.language == "en-US"
    assert feed.feed.title == "Iran HRM"
    assert feed.entries[0].link.startswith("https://iran-hrm.com/2025/06/10/")
    assert fa_client.get("/wp-json/wp/v2/posts").status_code == 500
    assert rest_ids(fa_client.get("/wp-json/wp/v2/posts"))[0] == 29468
    fa.load_fixtures("fa")
    assert parse(fa_client.get("/feed/").content).feed.language == "fa-IR"
    assert rest_ids(fa_client.get("/wp-json/wp/v2/posts"))[0] == 15870


def test_fault_login_form(fa: FakeWordPress, fa_client: httpx.Client) -> None:
    fa.fault("login", "/")
    for target in ("/feed/", "/wp-json/wp/v2/posts"):
        resp = fa_client.get(target)
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "text/html; charset=UTF-8"
        assert 'id="loginform"' in resp.text
        assert 'name="pwd"' in resp.text
        assert "رمز" in resp.text
        assert parse(resp.content).entries == []


def test_fault_login_redirect_to_wp_login(fa: FakeWordPress, fa_client: httpx.Client) -> None:
    fa.fault("login", "/feed/", kind="redirect")
    resp = fa_client.get("/feed/?paged=2")
    assert resp.status_code == 302
    assert resp.headers["x-redirect-by"] == "WordPress"
    location = resp.headers["location"]
    assert (
        location
        == f"{fa.url}/wp-login.php?redirect_to={quote(fa.url + '/feed/?paged=2', safe='')}"
    )
    followed = fa_client.get("/feed/", follow_redirects=True)
    assert followed.status_code == 200
    assert followed.url.path == "/wp-login.php"
    assert 'id="loginform"' in followed.text
    assert f'value="{fa.url}/feed/"' in followed.text
    assert fa_client.get("/wp-json/wp/v2/posts").status_code == 200  # only /feed/ walled


@pytest.mark.parametrize(("kind", "status"), [("basic", 401), ("forbidden", 403)])
def test_fault_login_error_pages(
    fa: FakeWordPress, fa_client: httpx.Client, kind: str, status: int
) -> None:
    fa.fault("login", "/", kind=kind)
    resp = fa_client.get("/feed/")
    assert resp.status_code == status
    assert resp.headers["content-type"].startswith("text/html")
    assert "<html" in resp.text.lower()
    if kind == "basic":
        assert resp.headers["www-authenticate"].startswith("Basic realm=")
    assert fa_client.get("/wp-json/wp/v2/categories").status_code == status
    with pytest.raises(ValueError, match="kind"):
        fa.fault("login", kind="captcha")


def test_fault_redirect_to_another_site() -> None:
    with running_editions() as (en, fa), httpx.Client(timeout=5) as c:
        assert en.port != fa.port
        fa.fault("redirect", "/", to=en.url)
        resp = c.get(fa.url + "/feed/?paged=2")
        assert resp.status_code == 302
        assert resp.headers["location"] == en.url + "/feed/?paged=2"
        assert resp.content == b""
        followed = c.get(fa.url + "/wp-json/wp/v2/posts", follow_redirects=True)
        assert followed.url.port == en.port
        assert rest_ids(followed)[0] == 29468  # English posts, from the other server
        # another hostname for the same loopback server; a fixed location; a 301
        other_host = en.url.replace("127.0.0.1", "localhost")
        fa.fault("redirect", "/feed/", to=other_host, status=301, times=1)
        moved = c.get(fa.url + "/feed/")
        assert (moved.status_code, moved.headers["location"]) == (301, other_host + "/feed/")
        fa.fault("redirect", "/feed/", location="https://example.invalid/blocked", times=1)
        assert c.get(fa.url + "/feed/").headers["location"] == "https://example.invalid/blocked"
        assert c.get(fa.url + "/feed/").status_code == 302  # the "/" fault again
        assert en.requests_to("/wp-json/") != []
        with pytest.raises(ValueError, match="to="):
            fa.fault("redirect")


def test_running_editions_side_by_side() -> None:
    with running_editions() as both:
        en, fa = both
        assert both.en is en
        assert en.url != fa.url
        results: dict[str, str] = {}

        def fetch(site: FakeWordPress) -> None:
            with httpx.Client(timeout=5) as c:
                for _ in range(5):
                    results[site.edition.key] = parse(
                        c.get(site.url + "/feed/").content
                    ).feed.language

        threads = [threading.Thread(target=fetch, args=(s,)) for s in (en, fa)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
        assert results == {"en": "en-US", "fa": "fa-IR"}
        en.add_post(title="English only")
        fa.fault("status", status=500)
        with httpx.Client(timeout=5) as c:
            assert parse(c.get(en.url + "/feed/").content).entries[0].title == "English only"
            assert c.get(fa.url + "/feed/").status_code == 500
        fa.stop()
        with httpx.Client(timeout=5) as c:
            assert c.get(en.url + "/feed/").status_code == 200
    assert not en.is_running
    assert not fa.is_running
    assert en.errors == fa.errors == []


def test_existing_faults_and_modes_on_the_persian_site(
    fa: FakeWordPress, fa_client: httpx.Client
) -> None:
    fa.fault("html", times=1)
    assert "maintenance" in fa_client.get("/feed/").text
    fa.rest_mode = "html"
    assert fa_client.get("/wp-json/wp/v2/posts").text.lstrip().startswith("<!DOCTYPE html>")
    fa.rest_mode = "ok"
    fa.fault("malformed", times=1)
    with pytest.raises(ET.ParseError):
        ET.fromstring(fa_client.get("/feed/").content)
    fa.fault("empty_channel", times=1)
    assert parse(fa_client.get("/feed/").content).feed.language == "fa-IR"


def test_english_site_has_wp_login_and_unchanged_generated_posts(
    wp: FakeWordPress, client: httpx.Client
) -> None:
    page = client.get("/wp-login.php")
    assert page.status_code == 200
    assert "Username or Email Address" in page.text
    assert wp.add_post_in("women", title="Report").categories == [11]
    assert wp.add_posts(1)[0].content == "<p>...</p>"
