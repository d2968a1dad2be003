from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.parse import parse_terms
from storage import CategoryTree, Store
from tests.helpers import fixture_bytes



@pytest.fixture
def tree() -> CategoryTree:
    return CategoryTree(parse_terms(fixture_bytes("categories.json")))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "db" / "hrm.sqlite3")
    yield s
    await s.close()


@pytest.fixture
def wp() -> Iterator[object]:
    from tests.fakes.wordpress import FakeWordPress

    site = FakeWordPress.from_fixtures()
    site.start()
    try:
        yield site
    finally:
        site.stop()
