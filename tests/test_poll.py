"""Polls end to end through the loopback WordPress site, REST and RSS, with every fault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.site.client import SiteClient
from bot.site.poller import PROBE_PAGE, Poller, backoff_delay
from storage import Store
from tests.conftest import site_key
from tests.fakes.wordpress import FakeWordPress

pytestmark = pytest.mark.filterwarnings("error")


async def posts_by_wp_id(store: Store, site: str) -> dict[int | None, object]:
    page = await store.get_posts(list(range(1, 2000)))
    return {p.wp_id: p for p in page if p.site == site}


async def test_first_poll_is_silent_and_complete(poller: Poller, store: Store) -> None:
    result = await poller.poll()
    assert result.ok and result.source == "rest" and result.silent
    assert len(result.new) == 20 and result.enqueued == 0
    posts = await posts_by_wp_id(store, poller.site)
    assert set(posts) == {p for p in posts if p is not None} and len(posts) == 20
    assert posts[29462].categories == (11,)  # type: ignore[attr-defined]
    assert posts[29458].author == "Iran HRM"  # type: ignore[attr-defined]
    assert posts[29433].author == "HRM Editorial Team"  # type: ignore[attr-defined]
    assert "Evin Prison" in posts[29458].tags  # type: ignore[attr-defined]
    # Nothing new on the next poll.
    again = await poller.poll()
    # (The probe lists the newest ten, unchanged; none is downloaded again.)
    assert (again.new, again.modified, again.unchanged, again.silent) == (
        (),
        (),
        PROBE_PAGE,
        False,
    )


async def test_new_modified_and_burst_over_rest(
    poller: Poller, store: Store, wp: FakeWordPress
) -> None:
    await poller.poll()
    wp.add_posts(25, categories=[131])
    wp.modify_post(29468, title="Iran: Ten Prisoners Hanged in Qezel Hesar")
    result = await poller.poll()
    assert result.ok and result.source == "rest"
    assert len(result.new) == 25 and len(result.modified) == 1
    [edited] = await store.get_posts(result.modified)
    assert edited.title == "Iran: Ten Prisoners Hanged in Qezel Hesar"
    new_posts = await store.get_posts(result.new)
    assert {p.categories for p in new_posts} == {(131,)}
    assert await store.count_posts(poller.site) == 45


async def test_rss_when_rest_is_gone_and_back(
    poller: Poller, store: Store, wp: FakeWordPress
) -> None:
    wp.rest_mode = "404"
    first = await poller.poll()
    assert first.source == "rss" and len(first.new) == 20 and first.silent
    # Categories came from the fallback tree; RSS names still resolve.
    posts = await posts_by_wp_id(store, poller.site)
    assert posts[29410].categories == (4, 131)  # type: ignore[attr-defined]
    wp.add_posts(25)
    burst = await poller.poll()
    assert burst.source == "rss" and len(burst.new) == 25 and not burst.silent
    for mode in ("401", "403", "html"):
        wp.rest_mode = mode
        wp.add_post(title=f"Via RSS while REST is {mode}")
        res = await poller.poll()
        assert (res.source, len(res.new)) == ("rss", 1), mode
    wp.rest_mode = "ok"
    wp.add_post(title="REST is back")
    res = await poller.poll()
    assert (res.source, len(res.new)) == ("rest", 1)
    assert await store.count_posts(poller.site) == 20 + 25 + 3 + 1


async def test_rss_conditional_get_and_modification(
    poller: Poller, store: Store, wp: FakeWordPress
) -> None:
    wp.rest_mode = "404"
    await poller.poll()
    second = await poller.poll()
    assert second.not_modified and second.ok
    assert wp.requests_to("/feed/")[-1].headers.get("if-none-match")
    wp.modify_post(29462, content="<p>Updated account of the execution.</p>")
    res = await poller.poll()
    assert len(res.modified) == 1 and res.new == ()
    [post] = await store.get_posts(res.modified)
    assert post.content == "Updated account of the execution."


async def test_rest_error_falls_back_to_rss(poller: Poller, wp: FakeWordPress) -> None:
    await poller.poll()
    wp.rest_mode = "500"
    wp.add_post(title="Published during a REST outage")
    res = await poller.poll()
    assert res.ok and res.source == "rss" and len(res.new) == 1


async def test_sub_category_post_counts_under_its_own_parent(
    poller: Poller, store: Store, wp: FakeWordPress
) -> None:
    await poller.poll()
    wp.add_post(title="Political prisoner executed", categories=[131])
    res = await poller.poll()
    [post] = await store.get_posts(res.new)
    assert poller.tree.slugs_covering(post.categories) == {
        "executions",
        "political-prisoners-executions",
    }


async def test_undated_and_future_posts_are_new_by_identity(
    poller: Poller, store: Store, wp: FakeWordPress
) -> None:
    await poller.poll()
    wp.rest_mode = "404"
    wp.add_post(title="From the future", date_gmt=datetime(2099, 1, 1, tzinfo=UTC))
    res = await poller.poll()
    assert len(res.new) == 1
    wp.add_post(title="Later but listed below the future post")
    res = await poller.poll()
    assert len(res.new) == 1
    [post] = await store.get_posts(res.new)
    assert post.title == "Later but listed below the future post"


FAILURES = [
    ("malformed", {}),
    ("truncated", {}),
    ("html", {}),
    ("status", {"status": 500}),
    ("status", {"status": 404}),
    ("status", {"status": 503}),
    ("huge", {"size": 3_000_000}),
    ("huge", {"size": 3_000_000, "chunked": True}),
    ("gzip_no_header", {}),
    ("timeout", {"delay": 1.5}),
]


@pytest.mark.parametrize(("mode", "params"), FAILURES)
async def test_faults_fail_the_poll_and_store_nothing(
    store: Store, wp: FakeWordPress, mode: str, params: dict[str, object]
) -> None:
    client = SiteClient(wp.url, timeout=0.5, max_bytes=2_000_000)
    poller = Poller(store, client, site_key(wp.url))
    try:
        wp.rest_mode = "404"
        await poller.poll()
        before = await store.count_posts()
        wp.add_posts(3)
        wp.fault(mode, "/feed/", **params)
        res = await poller.poll()
        assert not res.ok and res.errors, mode
        assert await store.count_posts() == before
        state = await store.get_state(poller.site)
        assert state["failures"] == 1 and state["last_error"] == res.errors[0]
        wp.clear_faults()
        res = await poller.poll()
        assert res.ok and len(res.new) == 3
        state = await store.get_state(poller.site)
        assert state["failures"] == 0
    finally:
        await client.aclose()


async def test_failure_on_a_later_page_stores_nothing(
    poller: Poller, store: Store, wp: FakeWordPress
) -> None:
    wp.rest_mode = "404"
    await poller.poll()
    wp.add_posts(15)
    wp.fault("malformed", "/feed/?paged=2")
    res = await poller.poll()
    assert not res.ok
    assert await store.count_posts() == 20


@pytest.mark.parametrize("mode", ["bom", "junk_prefix", "gzip"])
async def test_repairable_documents_parse(
    poller: Poller, store: Store, wp: FakeWordPress, mode: str
) -> None:
    wp.rest_mode = "404"
    await poller.poll()
    wp.add_posts(2)
    wp.fault(mode, "/feed/")
    res = await poller.poll()
    assert res.ok and len(res.new) == 2


async def test_empty_channel_is_a_quiet_success(poller: Poller, wp: FakeWordPress) -> None:
    wp.rest_mode = "404"
    wp.fault("empty_channel", "/feed/")
    res = await poller.poll()
    assert res.ok and res.new == () and res.source == "rss"


def rss(items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>x</title>'
        f"<link>https://iran-hrm.com</link>{items}</channel></rss>"
    ).encode()


def item(title: str, link: str, guid: str | None = None, date: str | None = None) -> str:
    out = f"<item><title>{title}</title><link>{link}</link>"
    out += f"<pubDate>{date}</pubDate>" if date else ""
    out += f'<guid isPermaLink="false">{guid}</guid>' if guid else ""
    return out + "<category><![CDATA[Executions]]></category><description>d</description></item>"


async def test_odd_items_are_stored_once_each(
    poller: Poller, store: Store, wp: FakeWordPress
) -> None:
    wp.rest_mode = "404"
    await poller.poll()
    body = rss(
        item("No guid", "https://iran-hrm.com/no-guid/")
        + item("No date", "https://iran-hrm.com/no-date/", "https://iran-hrm.com/?p=90001")
        + item("Bad date", "https://iran-hrm.com/bad/", "https://iran-hrm.com/?p=90002", "soon")
        + item("Twice", "https://iran-hrm.com/twice/", "https://iran-hrm.com/?p=90003")
        + item("Twice", "https://iran-hrm.com/twice/", "https://iran-hrm.com/?p=90003")
        + item("Same guid A", "https://iran-hrm.com/a/", "urn:reused")
        + item("Same guid B", "https://iran-hrm.com/b/", "urn:reused")
        + item("اعدام یک زندانی", "https://iran-hrm.com/fa/", "https://iran-hrm.com/?p=90004")
        + item("Old known", "https://iran-hrm.com/?p=29468", "https://iran-hrm.com/?p=29468")
    )
    wp.raw("/feed/", body)
    res = await poller.poll()
    assert res.ok and len(res.new) == 6
    posts = await store.get_posts(res.new)
    assert [p.title for p in posts] == [
        "No guid",
        "No date",
        "Bad date",
        "Twice",
        "Same guid A",
        "اعدام یک زندانی",
    ]
    assert posts[1].published is None and posts[2].published is None
    assert posts[5].lang == "fa"
    assert all(p.categories == (4,) for p in posts)
    # Served again, nothing is new: identity, not dates, decides.
    res = await poller.poll()
    assert res.new == ()


def test_backoff_doubles_up_to_ten_times_and_an_hour() -> None:
    assert [backoff_delay(60, n) for n in range(6)] == [60, 120, 240, 480, 600, 600]
    assert backoff_delay(300, 10) == 3000
    assert backoff_delay(600, 10) == 3600
    assert backoff_delay(1, 50) == 10


async def test_categories_fall_back_and_refresh_daily(
    poller: Poller, store: Store, wp: FakeWordPress
) -> None:
    wp.categories_mode = "403"
    tree = await poller.load_categories()
    assert tree.by_slug["executions"].wp_id == 4 and "women" in tree.by_slug
    wp.categories_mode = "ok"
    wp.add_category(name="Children", slug="children", parent=3)
    tree = await poller.load_categories()
    assert "children" in tree.by_slug  # the fallback is replaced as soon as REST answers
    calls = len(wp.requests_to("/wp-json/wp/v2/categories"))
    await poller.load_categories()
    assert len(wp.requests_to("/wp-json/wp/v2/categories")) == calls
    tomorrow = datetime.now(UTC) + timedelta(days=1, minutes=1)
    await poller.load_categories(now=tomorrow)
    assert len(wp.requests_to("/wp-json/wp/v2/categories")) == calls + 1


async def test_backfill_rest_resumes_and_finishes(
    poller: Poller, store: Store, wp: FakeWordPress
) -> None:
    wp.add_posts(230)
    pages: list[tuple[int, int | None]] = []
    stored = await poller.backfill(
        max_pages=2, progress=lambda p: pages.append((p.page, p.total_pages))
    )
    assert stored == 200 and pages == [(1, 3), (2, 3)]
    assert await store.count_posts() == 200
    stored = await poller.backfill(progress=lambda p: pages.append((p.page, p.total_pages)))
    # Resuming steps one page back, then reads to the end.
    assert pages[2:] == [(2, 3), (3, 3)]
    assert await store.count_posts() == 250
    state = await store.get_state(poller.site)
    assert state["backfill"] == {}
    async with store.db.execute("SELECT count(*) FROM outbox") as cur:
        assert (await cur.fetchone())[0] == 0


async def test_backfill_since_and_feed_fallback(
    poller: Poller, store: Store, wp: FakeWordPress
) -> None:
    stored = await poller.backfill(since=datetime(2025, 6, 5, tzinfo=UTC))
    assert stored == 8
    wp.rest_mode = "404"
    stored = await poller.backfill()
    assert await store.count_posts() == 20
    assert stored == 12 + 0  # the 8 stored before are unchanged


async def test_an_absurd_id_does_not_block_the_real_posts(
    poller: Poller, store: Store, wp: FakeWordPress
) -> None:
    wp.rest_mode = "404"
    await poller.poll()
    body = rss(
        item("Absurd", "https://iran-hrm.com/absurd/", "https://iran-hrm.com/?p=9" + "9" * 25)
        + item("Real", "https://iran-hrm.com/real/", "https://iran-hrm.com/?p=90010")
    )
    wp.raw("/feed/", body)
    res = await poller.poll()
    assert res.ok and len(res.new) == 2


async def test_unexpected_errors_are_recorded_not_raised(
    poller: Poller, store: Store, wp: FakeWordPress
) -> None:
    await poller.poll()
    wp.add_post(title="Arrives while storing is broken")

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk I/O error")

    store.upsert_posts = broken  # type: ignore[method-assign]
    res = await poller.poll()
    assert res.errors == ("internal error: RuntimeError",)
    state = await store.get_state(poller.site)
    assert state["failures"] == 1


async def test_a_new_category_is_learned_before_storing(
    poller: Poller, store: Store, wp: FakeWordPress
) -> None:
    await poller.poll()
    cat = wp.add_category(name="Juveniles", slug="juveniles", parent=4)
    wp.add_post(title="Juvenile offender executed", categories=[cat["id"]])
    res = await poller.poll()
    [post] = await store.get_posts(res.new)
    assert poller.tree.slugs_covering(post.categories) == {"executions", "juveniles"}


async def test_backfill_stops_when_pages_repeat(
    poller: Poller, store: Store, wp: FakeWordPress
) -> None:
    from tests.helpers import fixture_bytes

    wp.rest_mode = "404"
    page1 = fixture_bytes("feed-page1.xml")
    wp.raw("/feed/", page1)
    wp.raw("/feed/?paged=2", page1)  # a cache that ignores ?paged=
    stored = await poller.backfill()
    assert stored == 10
    assert len(wp.requests_to("/feed/")) == 2


# -- the probe: ids and modification times first, whole posts only for what changed -------

PROBE = "/wp-json/wp/v2/posts?page=1&per_page=10&orderby=modified&_fields=id%2Cmodified_gmt"


def full_downloads(wp: FakeWordPress) -> list[set[int]]:
    """The ids each download of whole posts asked for (``include=``)."""
    return [
        {int(i) for i in r.query["include"][0].split(",")}
        for r in wp.requests_to("/wp-json/wp/v2/posts")
        if "include" in r.query
    ]


async def test_an_idle_poll_downloads_only_the_probe(poller: Poller, wp: FakeWordPress) -> None:
    await poller.poll()
    wp.requests.clear()
    before = wp.bytes_sent
    result = await poller.poll()
    assert result.ok and not result.new and not result.modified
    # One request, the probe, which asks for ids and times only; no whole post.
    assert [r.target for r in wp.requests] == [PROBE]
    assert wp.bytes_sent - before < 1000
    assert full_downloads(wp) == []


async def test_the_probe_finds_new_and_edited_posts_and_leaves_deleted_ones(
    poller: Poller, store: Store, wp: FakeWordPress
) -> None:
    await poller.poll()
    # Changed seconds ago: a time of this very second is checked once more (next test).
    recent = datetime.now(UTC) - timedelta(seconds=5)
    wp.modify_post(29458, title="Corrected title", modified_gmt=recent)
    fresh = wp.add_post(title="A new report", date_gmt=recent)
    wp.delete_post(29462)
    wp.requests.clear()
    result = await poller.poll()
    assert (result.ok, result.new != (), len(result.modified)) == (True, True, 1)
    assert full_downloads(wp) == [{29458, fresh.id}]
    posts = await posts_by_wp_id(store, poller.site)
    assert posts[29458].title == "Corrected title"  # type: ignore[attr-defined]
    assert posts[fresh.id].title == "A new report"  # type: ignore[attr-defined]
    assert 29462 in posts  # gone from the site, kept in the archive
    # Found once: the next poll downloads nothing again.
    wp.requests.clear()
    again = await poller.poll()
    assert again.ok and not again.new and not again.modified and full_downloads(wp) == []


async def test_a_burst_longer_than_the_probe_pages_on(
    poller: Poller, store: Store, wp: FakeWordPress
) -> None:
    await poller.poll()
    added = {p.id for p in wp.add_posts(PROBE_PAGE * 2 + 3)}
    wp.requests.clear()
    result = await poller.poll()
    assert result.ok and len(result.new) == len(added)
    assert set().union(*full_downloads(wp)) == added
    assert len(wp.requests_to("/wp-json/wp/v2/posts?page=3&per_page=10&orderby=modified")) == 1


async def test_a_failed_download_after_the_probe_loses_nothing(
    poller: Poller, store: Store, wp: FakeWordPress
) -> None:
    await poller.poll()
    fresh = wp.add_post(title="Published during the outage")
    # The probe answers; the download of the whole post fails, and so does the feed.
    wp.fault("status", "/wp-json/wp/v2/posts?page=1&per_page=1&_embed", status=502)
    wp.fault("status", "/feed/", status=502)
    failed = await poller.poll()
    assert not failed.ok and failed.failures == 1 and "HTTP 502" in failed.errors[0]
    assert fresh.id not in await posts_by_wp_id(store, poller.site)
    wp.clear_faults()
    retried = await poller.poll()
    assert retried.ok and len(retried.new) == 1
    assert (await posts_by_wp_id(store, poller.site))[fresh.id] is not None


async def test_hostile_probes_fail_the_poll_or_skip_the_bad_entries(
    poller: Poller, store: Store, wp: FakeWordPress
) -> None:
    await poller.poll()
    stored = await posts_by_wp_id(store, poller.site)
    # Not JSON: the REST poll fails over to the feed, which stores nothing new.
    wp.raw(PROBE, b"{Service Unavailable", headers={"Content-Type": "application/json"})
    fell_back = await poller.poll()
    assert fell_back.ok and fell_back.source == "rss" and not fell_back.new
    # Entries without a usable id are skipped; one without a time is downloaded.
    wp.clear_faults()
    wp.raw(
        PROBE,
        b'[{"id": "x"}, {"id": -3, "modified_gmt": "2026-01-01T00:00:00"}, '
        b'{"modified_gmt": "2026-01-01T00:00:00"}, {"id": 29458, "modified_gmt": null}, 7]',
    )
    wp.requests.clear()
    odd = await poller.poll()
    assert odd.ok and odd.source == "rest" and full_downloads(wp) == [{29458}]
    assert await posts_by_wp_id(store, poller.site) == stored


async def test_a_probe_answered_with_an_etag_is_asked_conditionally(
    poller: Poller, wp: FakeWordPress
) -> None:
    wp.rest_etags = True
    await poller.poll()
    await poller.poll()  # learns the probe's ETag
    wp.requests.clear()
    result = await poller.poll()
    assert result.ok and result.not_modified and result.source == "rest"
    (probe,) = wp.requests
    assert probe.headers.get("if-none-match", "").startswith('"')
    fresh = wp.add_post(title="After the ETag")
    found = await poller.poll()
    assert found.ok and found.new and full_downloads(wp) == [{fresh.id}]


async def test_a_post_changed_twice_in_one_second_is_downloaded_again(
    poller: Poller, store: Store, wp: FakeWordPress
) -> None:
    await poller.poll()
    now = datetime.now(UTC).replace(microsecond=0)
    post = wp.add_post(title="First version", date_gmt=now)
    assert (await poller.poll()).new
    # Corrected within the same second: WordPress's modification time does not move.
    wp.modify_post(post.id, title="Second version", modified_gmt=now)
    corrected = await poller.poll()
    assert corrected.ok and len(corrected.modified) == 1
    stored = (await posts_by_wp_id(store, poller.site))[post.id]
    assert stored.title == "Second version"  # type: ignore[attr-defined]
