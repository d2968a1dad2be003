"""The pure parser against the fixture files, with the expected posts written out."""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime

import pytest

from bot.errors import FeedError
from bot.site.parse import (
    item_to_post,
    parse_feed,
    parse_rest_posts,
    parse_terms,
    repair,
    repair_entities,
    wp_id_from_guid,
)
from storage import Category, CategoryTree
from tests.helpers import fixture_bytes

# (wp_id, guid, title, published, category ids, tags, author, language)
FEED_PAGES = [
    (29468, "https://iran-hrm.com/?p=29468",
     "Iran: Nine Prisoners Hanged in Qezel Hesar Prison in a Single Day",
     "2025-06-10T14:02:11", (4, 13),
     ("Death penalty", "Drug-related charges", "Qezel Hesar Prison"), "Iran HRM", "en"),
    (29465, "https://iran-hrm.com/?p=29465",
     "No to Execution Tuesdays Campaign Marks Another Week as Hunger Strikes Spread to New "
     "Prisons", "2025-06-10T09:15:40", (118, 119, 120), ("Hunger strike",), "Iran HRM", "en"),
    (29462, "https://iran-hrm.com/?p=29462",
     "Woman Hanged in Adelabad Prison of Shiraz After Eight Years on Death Row",
     "2025-06-09T22:45:18", (11,), ("Adelabad Prison", "Death penalty"), "Iran HRM", "en"),
    (29458, "https://iran-hrm.com/?p=29458",
     "Iran’s Judiciary Denies Medical Furlough to Ailing Political Prisoner in Evin",
     "2025-06-09T11:30:00", (6, 9), ("Evin Prison", "Medical neglect"), "Iran HRM", "en"),
    (29455, "https://iran-hrm.com/?p=29455",
     "Arrests & House Raids Target Baha’i Families in Shiraz",
     "2025-06-08T16:20:07", (5, 37), ("Baha'i community", "Shiraz"), "Iran HRM", "en"),
    (29451, "http://iran-hrm.com/?p=29451",
     "Former Detainee Describes Beatings and Mock Executions During Interrogation in Sanandaj",
     "2025-06-07T10:05:52", (7,), ("Kurdish prisoners", "Sanandaj"), "Iran HRM", "en"),
    (29447, "https://iran-hrm.com/?p=29447",
     "Revolutionary Court in Rasht Sentences Labour Activist to Death on “Baghi” Charge",
     "2025-06-06T13:40:29", (8, 9), ("Labour activists", "Lakan Prison"), "Iran HRM", "en"),
    (29444, "https://iran-hrm.com/?p=29444",
     "Urgent Action: Three Kurdish Prisoners at Imminent Risk of Execution in Urmia",
     "2025-06-05T19:12:03", (8, 37), ("Kurdish prisoners", "Urmia Central Prison"),
     "Iran HRM", "en"),
    (29440, "https://iran-hrm.com/?p=29440",
     "Families of Death-Row Prisoners Gather Outside the Judiciary Building in Tehran for the "
     "Third Consecutive Week, Demanding a Halt to Executions, Access to Independent Lawyers, "
     "Transparent Retrials and an End to the Transfer of Prisoners to Solitary Confinement "
     "Without Prior Notice to Their Relatives",
     "2025-06-04T08:55:14", (36, 118), ("Death penalty",), "Iran HRM", "en"),
    (29437, "https://iran-hrm.com/?p=29437", "Infographic: Executions in Iran, May 2025",
     "2025-06-03T12:00:00", (20,), ("Monthly statistics",), "Iran HRM", "en"),
    (29433, "https://iran-hrm.com/?p=29433", "Iran HRM Monthly Report – May 2025",
     "2025-06-02T17:25:41", (19,), ("Monthly statistics",), "HRM Editorial Team", "en"),
    (29430, "https://iran-hrm.com/?p=29430",
     "European Parliament Debate Highlights Surge in Executions in Iran",
     "2025-06-01T09:30:00", (27,), (), "Iran HRM", "en"),
    (29429, "https://iran-hrm.com/?p=29429",
     "UN Experts Urge Iran to Halt Executions of Protesters",
     "2025-06-01T09:30:00", (143,), ("Death penalty",), "Iran HRM", "en"),
    (29425, "https://iran-hrm.com/?p=29425", "اعدام دو زندانی در زندان قزل\u200cحصار کرج",
     "2025-05-31T15:10:37", (4,), (), "Iran HRM", "fa"),
    (29421, "https://iran-hrm.com/?p=29421", "Man Publicly Hanged in Southern City of Kazerun",
     "2025-05-30T06:45:12", (12,), ("Death penalty",), "Iran HRM", "en"),
    (29418, "https://iran-hrm.com/?p=29418",
     "Security Forces Shoot Dead Fuel Porter Near Saravan Border Crossing",
     "2025-05-29T20:33:50", (35, 37), ("Baluch fuel porters", "Sistan and Baluchestan"),
     "Iran HRM", "en"),
    (None, "https://iran-hrm.com/2025/05/28/families-of-1988-massacre-victims-barred-from-"
     "khavaran-gathering/", "Families of 1988 Massacre Victims Barred From Khavaran Gathering",
     "2025-05-28T11:02:27", (41, 53), (), "Iran HRM", "en"),
    (29410, "https://iran-hrm.com/?p=29410",
     "Political Prisoner Executed in Ghezel Hesar After Supreme Court Rejects Retrial",
     "2025-05-27T14:48:09", (4, 131), ("Death penalty", "Qezel Hesar Prison"), "Iran HRM", "en"),
    (29406, "https://iran-hrm.com/?p=29406",
     "Overcrowding and Water Shortages Reported in Qarchak Women’s Prison",
     "2025-05-26T09:20:44", (6,), ("Qarchak Prison", "Women prisoners"), "Iran HRM", "en"),
    (29402, "https://iran-hrm.com/?p=29402",
     "UN Special Rapporteur’s Report Documents Sharp Rise in Drug-Related Executions",
     "2025-05-24T16:05:00", (26,), ("Drug-related charges",), "Iran HRM", "en"),
]  # fmt: skip


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_feed_pages_give_the_expected_posts(tree: CategoryTree) -> None:
    items = [
        *parse_feed(fixture_bytes("feed-page1.xml")).items,
        *parse_feed(fixture_bytes("feed-page2.xml")).items,
    ]
    got = []
    for item in items:
        post = item_to_post(item, tree, "en")
        got.append(
            (
                post.wp_id,
                post.guid,
                post.title,
                post.published,
                tuple(sorted(post.categories)),
                post.tags,
                post.author,
                post.lang,
            )
        )
        assert post.categories_known
    expected = [(e[0], e[1], e[2], utc(e[3]), *e[4:]) for e in FEED_PAGES]
    assert got == expected


def test_feed_text_is_plain_and_decoded_once() -> None:
    items = {i.wp_id: i for i in parse_feed(fixture_bytes("feed-page1.xml")).items}
    nine = items[29468]
    assert nine.url == (
        "https://iran-hrm.com/2025/06/10/iran-nine-prisoners-hanged-in-qezel-hesar-prison-in-a-"
        "single-day/"
    )
    assert nine.content.startswith("Nine prisoners were hanged at dawn on Tuesday")
    assert "<" not in nine.content and "&#" not in nine.content
    assert "“last visit”" in nine.content
    assert nine.excerpt.endswith("“last […]")
    # The infographic has no excerpt at all.
    assert items[29437].excerpt == ""
    assert items[29437].title == "Infographic: Executions in Iran, May 2025"


def test_rest_posts_agree_with_the_feed_and_carry_ids(tree: CategoryTree) -> None:
    posts = {r.post.wp_id: r for r in parse_rest_posts(fixture_bytes("posts-page1.json"), "en")}
    assert len(posts) == 20
    for wp_id, guid, title, published, cats, _tags, _author, lang in FEED_PAGES:
        if wp_id is None:
            continue
        rest = posts[wp_id].post
        assert rest.title == title
        assert rest.guid == guid
        assert rest.published == utc(published)
        assert tuple(sorted(rest.categories)) == cats
        assert rest.lang == lang
    assert posts[29458].post.modified == utc("2025-06-11T08:12:45")
    assert posts[29468].tag_ids == (203, 202, 201)
    # The permalink-style guid still gets its WordPress id from REST.
    assert posts[29414].post.guid.startswith("https://iran-hrm.com/2025/05/28/")
    assert tuple(sorted(posts[29414].post.categories)) == (41, 53)


def test_category_feed_lists_sub_categories(tree: CategoryTree) -> None:
    items = parse_feed(fixture_bytes("category-executions.xml")).items
    assert len(items) == 7
    executions = tree.descendants(tree.by_slug["executions"].wp_id)
    for item in items:
        post = item_to_post(item, tree, "en")
        assert executions & set(post.categories)


def test_terms_unescape_names_and_keep_the_tree(tree: CategoryTree) -> None:
    assert len(tree) == 35
    assert tree.label(131) == "Executions › Political prisoners"
    assert tree.label(9) == "Latest News › Political prisoners"
    assert tree.find("Political prisoners") == [tree.by_id[9], tree.by_id[131]]
    tags = parse_terms(fixture_bytes("tags.json"))
    assert Category(214, "bahai-community", "Baha'i community", 0) in tags


def test_ambiguous_name_alone_stays_unresolved(tree: CategoryTree) -> None:
    ids, tags, known = tree.resolve_names(["Political prisoners", "Evin Prison"])
    assert (ids, tags, known) == ([], ["Evin Prison"], False)
    ids, _, known = tree.resolve_names(["Executions", "Political prisoners"])
    assert (ids, known) == ([4, 131], True)


def test_out_of_range_page_is_an_empty_channel() -> None:
    assert parse_feed(fixture_bytes("feed-paged-out-of-range.xml")).items == ()


@pytest.mark.parametrize(
    ("guid", "wp_id"),
    [
        ("https://iran-hrm.com/?p=29468", 29468),
        ("http://iran-hrm.com/?p=7&amp=1", 7),
        ("https://iran-hrm.com/2025/05/28/slug/", None),
        ("https://iran-hrm.com/?page=3", None),
        (None, None),
    ],
)
def test_wp_id_from_guid(guid: str | None, wp_id: int | None) -> None:
    assert wp_id_from_guid(guid) == wp_id


FEED_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
    b'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>T</title>'
    b"<link>https://iran-hrm.com</link><language>en-US</language>"
)


def rss(items: bytes) -> bytes:
    return FEED_HEAD + items + b"</channel></rss>"


def item(
    title: bytes = b"A title",
    link: bytes | None = b"https://iran-hrm.com/a/",
    guid: bytes | None = b"https://iran-hrm.com/?p=1",
    date: bytes | None = b"Tue, 10 Jun 2025 14:02:11 +0000",
    extra: bytes = b"",
) -> bytes:
    out = b"<item><title>" + title + b"</title>"
    if link is not None:
        out += b"<link>" + link + b"</link>"
    if date is not None:
        out += b"<pubDate>" + date + b"</pubDate>"
    if guid is not None:
        out += b'<guid isPermaLink="false">' + guid + b"</guid>"
    return out + b"<description><![CDATA[Text]]></description>" + extra + b"</item>"


def test_repair_drops_bom_and_leading_junk() -> None:
    body = rss(item())
    for prefix in (b"\xef\xbb\xbf", b"\n\n  \r\n", b"<!-- cache: hit -->\n", b"Notice: x\n"):
        assert repair(prefix + body) == body
        assert len(parse_feed(prefix + body).items) == 1


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (rss(item()).replace(b"</title>", b"</titl>", 1), "", "not well-formed"),
        (rss(item())[:-40], "", "not well-formed"),
        (rss(item() + item(b"Half"))[: -len(b"</item></channel></rss>") - 10], "", "well-formed"),
        (b"<!DOCTYPE html><html><body>Maintenance</body></html>", "text/html", "HTML page"),
        (b"<html><head></head><body>captcha</body></html>", "", "HTML page"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 20, "application/rss+xml", "gzip"),
        (b'{"code": "rest_no_route"}', "application/json", "not well-formed"),
        (b"", "", "not"),
    ],
)
def test_untrustworthy_documents_are_refused(body: bytes, content_type: str, problem: str) -> None:
    with pytest.raises(FeedError, match=problem):
        parse_feed(body, content_type)


def test_items_without_guid_or_date_are_kept(tree: CategoryTree) -> None:
    feed = parse_feed(
        rss(
            item(guid=None, link=b"https://iran-hrm.com/no-guid/")
            + item(guid=b"https://iran-hrm.com/?p=2", date=None)
            + item(guid=b"https://iran-hrm.com/?p=3", date=b"yesterday-ish")
            + item(guid=b"https://iran-hrm.com/?p=4", date=b"Fri, 01 Jan 2100 00:00:00 +0000")
            + item(guid=None, link=None)
        )
    )
    got = [(i.url, i.guid, i.wp_id, i.published) for i in feed.items]
    assert got == [
        ("https://iran-hrm.com/no-guid/", None, None, utc("2025-06-10T14:02:11")),
        ("https://iran-hrm.com/a/", "https://iran-hrm.com/?p=2", 2, None),
        ("https://iran-hrm.com/a/", "https://iran-hrm.com/?p=3", 3, None),
        ("https://iran-hrm.com/a/", "https://iran-hrm.com/?p=4", 4, utc("2100-01-01T00:00:00")),
    ]


def test_title_markup_and_entities_are_decoded_once() -> None:
    feed = parse_feed(
        rss(
            item(title=b"A &amp;amp;lt; b &lt;em&gt;x&lt;/em&gt;")
            + item(title=b"<![CDATA[C &amp; D]]>", guid=b"g2")
            + item(title=b"Iran&#8217;s &#038; more", guid=b"g3")
        )
    )
    assert [i.title for i in feed.items] == ["A &lt; b x", "C & D", "Iran’s & more"]


def test_persian_item_language() -> None:
    feed = parse_feed(rss(item(title="اعدام دو زندانی".encode())))
    tree = CategoryTree(())
    assert item_to_post(feed.items[0], tree, "en").lang == "fa"


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2",
        b'{"id": 1}',
        b"<html>nope</html>",
    ],
)
def test_rest_garbage_is_refused(body: bytes) -> None:
    with pytest.raises(FeedError):
        parse_rest_posts(body, "en")


def test_rest_skips_malformed_objects() -> None:
    body = b'[1, {"id": "x"}, {"id": 5, "link": "https://s/5", "title": {"rendered": "Hi"}}]'
    posts = parse_rest_posts(body, "en")
    assert [(p.post.wp_id, p.post.title, p.post.published) for p in posts] == [(5, "Hi", None)]


def test_leading_comments_are_skipped_in_linear_time() -> None:
    from bot.site.parse import looks_like_html

    # Nested repetition over comments used to backtrack exponentially here.
    assert not looks_like_html(b"<!-- x -->" * 5000 + b"<rss>")
    assert looks_like_html(b"<!-- x -->\n" * 5000 + b"<!DOCTYPE html><html>")
    assert not looks_like_html(b"<!-- never closed " * 100)
    with pytest.raises(FeedError):
        parse_feed(b"<!-- a -->" * 5000 + b"<p>not a feed</p>", "text/html")


def test_html_to_text_survives_unclosed_tags() -> None:
    from bot.site.text import html_to_text

    # An unclosed tag is text; each stops the tag pattern at the next "<".
    assert html_to_text("<a" * 200_000) == "<a" * 200_000
    assert html_to_text("x <b>bold</b> <a href='y'") == "x bold <a href='y'"


def test_ids_outside_sqlite_integers_are_dropped() -> None:
    body = (
        b'[{"id": 18446744073709551616, "link": "https://s/a"},'
        b' {"id": 7, "link": "https://s/b", "categories": [4, 18446744073709551616, -1, true]}]'
    )
    posts = parse_rest_posts(body, "en")
    assert [(p.post.wp_id, p.post.categories) for p in posts] == [(7, (4,))]
    assert wp_id_from_guid("https://s/?p=99999999999999999999") is None
    terms = parse_terms(b'[{"id": 99999999999999999999, "slug": "x", "name": "X", "parent": 0}]')
    assert terms == []


def test_html_entities_become_character_references_and_xml_ones_stay() -> None:
    body = (
        b"<rss><t a='x&hellip;'>a&nbsp;b &amp;nbsp; &lt;&hellip;&gt; &#160; &AMP; &LT;"
        b" &acirc;&apos;&quot; &nosuchname; &Gt; &nvlt; &nbsp &amp</t></rss>"
    )
    assert repair_entities(body) == (
        b"<rss><t a='x&#8230;'>a&#160;b &amp;nbsp; &lt;&#8230;&gt; &#160; &#38; &#60;"
        b" &#226;&apos;&quot; &nosuchname; &#8811; &#60;&#8402; &nbsp &amp</t></rss>"
    )


def test_cdata_and_comments_are_not_rewritten() -> None:
    body = (
        b"<rss><!-- &nbsp; --><t><![CDATA[&nbsp; ]] &hellip;]]>&nbsp;</t>"
        b"<u><![CDATA[never closed &nbsp;</u></rss>"
    )
    assert repair_entities(body) == body.replace(b"]]>&nbsp;", b"]]>&#160;")


def test_doctype_is_kept_through_leading_junk() -> None:
    doctype = b'<!DOCTYPE rss [<!ENTITY id "tag:x,">]>\n<rss version="2.0"></rss>'
    assert repair(b"<!-- Description: AT&T -->\n\n" + doctype) == doctype
    assert repair(b"Warning: x\n" + doctype) == doctype


def doctype_feed(subset: bytes, title: bytes) -> bytes:
    return rss(item(title=title)).replace(b"?>", b"?><!DOCTYPE rss [" + subset + b"]>", 1)


@pytest.mark.parametrize(
    ("subset", "title", "expected"),
    [
        # Parameter entities and other declarations are passed over, never read.
        (
            b'<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p; <!ELEMENT rss ANY>'
            b'<!ATTLIST rss a CDATA "]>"><?pi ]> ?><!-- ]> --><!ENTITY a "A">',
            b"&a;",
            "A",
        ),
        # The first declaration binds; the predefined five keep their meaning.
        (b'<!ENTITY a "1"><!ENTITY a "2"><!ENTITY amp "x">', b"&a;&amp;", "1&"),
        # Declared names win over HTML's; markup in a value is markup where it is used.
        (b"<!ENTITY nbsp '~'><!ENTITY b \"&lt;b>bold&lt;/b>\">", b"&nbsp;&b;", "~bold"),
        # An entity with no value in the document (external, unparsed) is dropped.
        (b'<!ENTITY e PUBLIC "-//x//y" "http://127.0.0.1:1/e" NDATA gif>', b"[&e;]", "[]"),
    ],
)
def test_doctype_entities_are_read_from_the_document_only(
    subset: bytes, title: bytes, expected: str
) -> None:
    assert parse_feed(doctype_feed(subset, title)).items[0].title == expected


def test_character_references_in_a_value_are_read_when_declared() -> None:
    # As in XHTML's DTD: "&#38;#38;" stands for "&#38;", which is read again where used.
    body = doctype_feed(b'<!ENTITY amp2 "&#38;#38;"><!ENTITY r "&#x2019;">', b"T").replace(
        b"?p=1</guid>", b"?p=1&amp2;x&r;</guid>"
    )
    assert parse_feed(body).items[0].guid == "https://iran-hrm.com/?p=1&x’"


def chain(n: int) -> bytes:
    """n entities, each standing for the next."""
    decls = b"".join(b'<!ENTITY e%d "&e%d;">' % (i, i + 1) for i in range(n - 1))
    return decls + b'<!ENTITY e%d "end">' % (n - 1)


@pytest.mark.parametrize(
    ("subset", "title", "problem"),
    [
        (b'<!ENTITY a "&b;"><!ENTITY b "x&a;">', b"&a;", "refers to itself"),
        (chain(17), b"&e0;", "nested too deep"),
        # Quadratic blowup: one large entity, used many times, without nesting.
        (b'<!ENTITY big "' + b"x" * 50_000 + b'">', b"&big;" * 25, "expand too far"),
        (b'<!ENTITY a "&#38;">', b"&a;", "not well-formed"),  # a bare "&", as in XML
    ],
)
def test_doctype_entities_within_limits_only(subset: bytes, title: bytes, problem: str) -> None:
    with pytest.raises(FeedError, match=problem):
        parse_feed(doctype_feed(subset, title))


def test_doctype_entity_limits_leave_room_for_real_feeds() -> None:
    assert parse_feed(doctype_feed(chain(16), b"&e0;")).items[0].title == "end"
    big = b'<!ENTITY big "' + b"x" * 50_000 + b'">'
    # A mebibyte of expansion at least, and as much as the document's own size.
    assert len(parse_feed(doctype_feed(big, b"&big;" * 19)).items[0].title) == 950_000
    body = doctype_feed(big, b"&big;" * 40)
    with pytest.raises(FeedError, match="expand too far"):
        parse_feed(body)
    padded = body.replace(b"<description>", b"<description>" + b" " * 2_500_000, 1)
    assert len(parse_feed(padded).items[0].title) == 2_000_000


def test_an_unreadable_doctype_is_left_to_the_parser() -> None:
    for body in (
        b"<!DOCTYPE rss [<!BOGUS>]><rss>&nbsp;</rss>",
        b'<!DOCTYPE rss [<!ENTITY a "never closed>]><rss>&nbsp;</rss>',
        b"<!DOCTYPE rss [ ]<rss>&nbsp;</rss>",
        b"<!-- never closed <!DOCTYPE rss><rss>&nbsp;</rss>",
    ):
        assert repair_entities(body) is body


@pytest.mark.parametrize(
    "body",
    [
        b"<rss>" + b"&" + b"a" * 2_000_000,
        b"<rss>" + b"&a" * 1_000_000,
        b"<rss>" + b"<![CDATA[&nbsp;" * 200_000,
        b"<rss>" + b"<!--&nbsp;" * 200_000,
        b"<!--" * 500_000 + b"<rss>&nbsp;",
        b"<!DOCTYPE rss [" + b'<!ENTITY a "' * 200_000 + b"]><rss>&nbsp;",
        b"<!DOCTYPE rss [" + b"<!ATTLIST a '" * 200_000 + b"]><rss>&nbsp;",
        b'<!DOCTYPE rss [<!ENTITY a "&a;&a;">' + b"<!ENTITY b%d 'x'>" * 100 + b"]><rss>&a;",
    ],
)
def test_entity_repair_is_linear_on_hostile_input(body: bytes) -> None:
    # Megabytes: quadratic work would take minutes. Timed alone, since feedparser's own
    # fallback parser takes seconds on some of these before parse_feed refuses them.
    started = time.perf_counter()
    with contextlib.suppress(FeedError):
        repair_entities(body)
    assert time.perf_counter() - started < 1.0
