"""`hrm-bot export`: CSV a spreadsheet opens safely, JSON Lines for programs, Persian intact."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.ops.export import Writer, guard
from storage import CategoryTree, PostIn, Store
from tests.conftest import site_key
from tests.fakes.wordpress import FakeWordPress
from tests.test_cli import env, run  # noqa: F401  (env: a fixture)


def post(n: int, **kw: object) -> PostIn:
    base: dict[str, object] = {
        "url": f"https://iran-hrm.com/post-{n}/",
        "title": f"Report {n}",
        "excerpt": "An excerpt",
        "content": f"Body of report {n}",
        "lang": "en",
        "wp_id": n,
        "published": datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=n),
        "categories": (4,),
    }
    base.update(kw)
    return PostIn(**base)  # type: ignore[arg-type]


@pytest.fixture
def archive(env: Path, wp: FakeWordPress, tree: CategoryTree) -> Path:  # noqa: F811
    """An archive of 1,203 reports (more than two pages of the export) with hostile cells."""

    async def fill() -> None:
        store = await Store.open(env / "data" / "db.sqlite3")
        try:
            site = site_key(wp.url)
            await store.replace_categories(site, list(tree.by_id.values()))
            await store.upsert_posts(
                site,
                [
                    post(1, title='=HYPERLINK("http://evil")', content="@SUM(1)", tags=("-x",)),
                    post(
                        2,
                        title="اعدام یک زن در زندان قزل‌حصار",
                        content="متن «گزارش»، ۱۴۰۳",
                        categories=(11,),
                    ),
                    post(3, title="+1 and\ta tab", categories=(7,)),
                ],
                tree=tree,
                alert=False,
            )
            await store.upsert_posts(
                site, [post(n) for n in range(4, 1204)], tree=tree, alert=False
            )
        finally:
            await store.close()

    asyncio.run(fill())
    return env


def test_csv_is_safe_in_a_spreadsheet(archive: Path) -> None:
    code, out = run("export", "--output", "all.csv")
    assert code == 0, out
    with (archive / "all.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["id", "edition", "url", "title", "published", "modified", "first_seen",
                       "categories", "tags", "text"]  # fmt: skip
    assert len(rows) == 1 + 1203
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id["1"][3] == '\'=HYPERLINK("http://evil")'
    assert by_id["1"][9] == "'@SUM(1)" and by_id["1"][8] == "'-x"
    assert by_id["3"][3] == "'+1 and\ta tab"
    persian = by_id["2"]
    assert persian[3] == "اعدام یک زن در زندان قزل‌حصار" and persian[9] == "متن «گزارش»، ۱۴۰۳"
    assert persian[7] == "Executions › Women"
    # Oldest first, across pages.
    assert [r[0] for r in rows[1:4]] == ["1", "2", "3"] and rows[-1][0] == "1203"


def test_plain_csv_bom_jsonl_and_filters(archive: Path) -> None:
    code, _out = run("export", "--plain", "--bom", "--output", "plain.csv")
    assert code == 0
    raw = (archive / "plain.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert '\n1,en,https://iran-hrm.com/post-1/,"=HYPERLINK(' in raw.decode("utf-8-sig")
    code, out = run("export", "--format", "jsonl", "--category", "women")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [x["id"] for x in lines] == [2]
    assert lines[0]["title"] == "اعدام یک زن در زندان قزل‌حصار"
    assert lines[0]["categories"] == ["Executions › Women"]
    # Dates as search reads them: --until takes in the whole day, month or year it names; a
    # Solar Hijri day (14 Dey 1403 is 3 January 2025) starts at midnight in Tehran.
    for since, until in (
        ("2025-01-03", "2025-01-04"),
        ("1403-10-14", "1403-10-15"),
        ("۱۴۰۳/۱۰/۱۴", "۱۴۰۳/۱۰/۱۵"),
    ):
        code, out = run("export", "--format", "jsonl", "--since", since, "--until", until)
        assert [json.loads(line)["id"] for line in out.splitlines()] == [2, 3], since
    code, out = run("export", "--format", "jsonl", "--since", "2025", "--until", "2025-01")
    assert code == 0 and len(out.splitlines()) == 30  # posts 1 to 30: 2 to 31 January


def test_export_refuses_an_unknown_category_or_date(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run("export", "--category", "no-such-category")
    assert code == 2 and out == ""
    assert "there is no category 'no-such-category'" in capsys.readouterr().err
    code, out = run("export", "--category", "nowhere", "--edition", "en")
    assert code == 2 and "no category 'nowhere' in the en edition" in capsys.readouterr().err
    for option in ("--bom", "--plain"):
        code, out = run("export", "--format", "jsonl", option)
        assert code == 2 and out == ""
        assert "--bom and --plain are for --format csv only" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        run("export", "--since", "last tuesday")
    assert exc.value.code == 2
    assert "expected a date like 2024, 2024-05, 2024-05-31" in capsys.readouterr().err


def test_guard_and_writer() -> None:
    assert [guard(x) for x in ("=1", "+1", "-1", "@a", "\tx", "\rx", "a=1", "")] == [
        "'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "a=1", ""
    ]  # fmt: skip
    out = io.StringIO()
    writer = Writer(out, "jsonl")
    writer.write({"title": "«گزارش»"})
    assert out.getvalue() == '{"title": "«گزارش»"}\n' and writer.count == 1
