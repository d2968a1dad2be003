"""The long-lived parts of a running bot, created in post_init and closed in post_shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field

from bot.config import Settings
from bot.delivery.pacing import Pacer
from bot.delivery.sender import Sender
from bot.searching import RateLimit, SearchKeys
from bot.site.client import SiteClient
from bot.site.editions import Edition
from bot.site.poller import Poller
from storage import CategoryTree, Store


@dataclass
class Followed:
    """One edition as the running bot follows it: its site client, poller and poll task."""

    edition: Edition
    client: SiteClient
    poller: Poller
    # Our own task, stopped in post_stop; one per edition, so a slow site delays only itself.
    poll_task: asyncio.Task[None] | None = None

    @property
    def tree(self) -> CategoryTree:
        return self.poller.tree

    @property
    def site(self) -> str:
        return self.edition.site


@dataclass
class Services:
    settings: Settings
    store: Store
    followed: dict[str, Followed]  # by edition key, English first
    pacer: Pacer
    sender: Sender
    search_limit: RateLimit = field(default_factory=lambda: RateLimit(20))
    inline_limit: RateLimit = field(default_factory=lambda: RateLimit(60))
    search_keys: SearchKeys = field(default_factory=SearchKeys)
    # Our own task, stopped in post_stop (Application.stop would wait on its own ones).
    sender_task: asyncio.Task[None] | None = None

    def __iter__(self) -> Iterator[Followed]:
        return iter(self.followed.values())

    def edition(self, key: str) -> Followed | None:
        return self.followed.get(key)

    def by_site(self, site: str) -> Followed | None:
        return next((f for f in self.followed.values() if f.site == site), None)

    def tree_of(self, site: str) -> CategoryTree:
        """The category tree of a post's site (empty for a site no longer followed)."""
        found = self.by_site(site)
        return found.tree if found is not None else CategoryTree(())

    def trees(self, edition: str | None = None) -> dict[str, CategoryTree]:
        """The followed sites' trees by site key (one edition's, or all): what a search
        across editions takes."""
        return {
            f.site: f.tree
            for f in self.followed.values()
            if edition is None or f.edition.key == edition
        }
