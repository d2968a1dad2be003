"""What searching from Telegram needs besides the store: a rate limit, and short keys for
paging buttons. Both live in memory only: queries are never written to disk or logs."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class RateLimit:
    """At most ``limit`` events per ``window`` seconds for each key (a user id)."""

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[int, deque[float]] = {}

    def check(self, key: int) -> float:
        """Record an event; 0 when allowed, else the seconds until one would be."""
        now = self._clock()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.limit:
            return events[0] + self.window - now
        events.append(now)
        if len(self._events) > 10_000:
            self._prune(now)
        return 0.0

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._events.items() if not v or v[-1] <= now - self.window]:
            del self._events[key]


class SearchKeys:
    """Queries behind short random keys, for Next/Previous buttons (64-byte callback data)."""

    def __init__(
        self, ttl: float = 1800.0, size: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.size = size
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def put(self, query: str) -> str:
        key = secrets.token_urlsafe(6)
        self._items[key] = (self._clock() + self.ttl, query)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return key

    def get(self, key: str) -> str | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires, query = item
        if expires < self._clock():
            del self._items[key]
            return None
        return query
