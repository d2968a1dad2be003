"""The long-lived parts of a running bot, created in post_init and closed in post_shutdown."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.config import Settings
from bot.pacing import Pacer
from bot.poller import Poller
from bot.searching import RateLimit, SearchKeys
from bot.sender import Sender
from bot.site import SiteClient
from storage import CategoryTree, Store


@dataclass
class Services:
    settings: Settings
    store: Store
    site: SiteClient
    poller: Poller
    pacer: Pacer
    sender: Sender
    search_limit: RateLimit = field(default_factory=lambda: RateLimit(20))
    inline_limit: RateLimit = field(default_factory=lambda: RateLimit(60))
    search_keys: SearchKeys = field(default_factory=SearchKeys)
    # Tasks of our own, stopped in post_stop (Application.stop would wait on its own ones).
    sender_task: asyncio.Task[None] | None = None
    poll_task: asyncio.Task[None] | None = None

    @property
    def tree(self) -> CategoryTree:
        return self.poller.tree

    @property
    def site_key(self) -> str:
        return self.settings.site
