from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.site.client import SiteClient
from bot.site.parse import parse_terms
from bot.site.poller import Poller
from storage import CategoryTree, Store
from tests.fakes.wordpress import FakeWordPress
from tests.helpers import fixture_bytes


@pytest.fixture
def tree() -> CategoryTree:
    return CategoryTree(parse_terms(fixture_bytes("categories.json")))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "db" / "hrm.sqlite3")
    yield s
    await s.close()


def serving(site: FakeWordPress) -> Iterator[FakeWordPress]:
    """Run a fake site for a fixture; a bug in the fake fails the test that used it."""
    site.start()
    try:
        yield site
    finally:
        site.stop()
        assert not site.errors, site.errors


@pytest.fixture
def wp() -> Iterator[FakeWordPress]:
    """The fixture site (20 posts) on a random loopback port."""
    yield from serving(FakeWordPress.from_fixtures())


@pytest.fixture
def wpfa() -> Iterator[FakeWordPress]:
    """The Persian edition's fixture site (18 posts) on a random loopback port."""
    yield from serving(FakeWordPress.persian())


@pytest.fixture
async def poller(store: Store, wp: FakeWordPress) -> AsyncIterator[Poller]:
    client = SiteClient(wp.url, timeout=2.0, max_bytes=2_000_000)
    yield Poller(store, client, site_key(wp.url))
    await client.aclose()


def site_key(url: str) -> str:
    return urlsplit(url).netloc


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Commands run in-process configure the root logger on the test's captured stderr; the
    next test must not log into that closed stream."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
