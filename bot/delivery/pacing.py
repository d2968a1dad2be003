"""Pacing of outgoing messages within Telegram's limits.

Telegram allows about 30 messages a second in all, one a second per private chat and 20 a
minute per group. ``Pacer`` spaces message-sending calls evenly (28 a second by default, so
that jitter never makes 31 in one second); replies to users go before queued alerts, so a
large fan-out never holds back the answer to a command. Per-chat pacing and ``RetryAfter``
are the sender's: they delay one chat, never the others.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import BaseRateLimiter

# Methods that put a message in a chat count against the limits; answers to callback and
# inline queries, getUpdates and the like do not.
PACED_METHODS = frozenset(
    {
        "sendmessage",
        "editmessagetext",
        "editmessagereplymarkup",
        "sendphoto",
        "senddocument",
        "forwardmessage",
        "copymessage",
    }
)


class Pacer:
    """Hands out evenly spaced send slots; priority callers skip the queue of bulk ones."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / rate
        self._clock = clock
        self._next = 0.0
        self._bulk = asyncio.Lock()

    def _reserve(self) -> float:
        now = self._clock()
        slot = max(now, self._next)
        self._next = slot + self.interval
        return slot - now

    async def acquire(self, *, priority: bool = False) -> None:
        if priority:
            await asyncio.sleep(self._reserve())
            return
        # Bulk callers wait their turn one by one, so a priority caller arriving meanwhile
        # takes the very next slot.
        async with self._bulk:
            await asyncio.sleep(self._reserve())


class PacedLimiter(BaseRateLimiter[dict[str, Any]]):
    """PTB's hook around every Bot API call: message-sending calls take a Pacer slot.

    Calls made with ``rate_limit_args={"bulk": True}`` (alerts) queue behind each other;
    everything else (replies) goes first. Errors, ``RetryAfter`` included, go back to the
    caller untouched: retrying here would pause every chat.
    """

    def __init__(self, pacer: Pacer, on_sent: Callable[[], None] | None = None) -> None:
        self.pacer = pacer
        # Told of each message-sending call that Telegram accepted (bot.ops.metrics).
        self.on_sent = on_sent

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint.lower() not in PACED_METHODS:
            return await callback(*args, **kwargs)
        await self.pacer.acquire(priority=not (rate_limit_args or {}).get("bulk"))
        result = await callback(*args, **kwargs)
        if self.on_sent is not None:
            self.on_sent()
        return result


class ChatPace:
    """When each chat may get its next alert: 1/s for private chats, 20/min for groups."""

    def __init__(self, private_interval: float, group_per_minute: int) -> None:
        self.private_interval = private_interval
        self.group_per_minute = group_per_minute
        self._ready: dict[int, float] = {}
        self._group_sends: dict[int, deque[float]] = {}

    def ready_at(self, chat_id: int) -> float:
        return self._ready.get(chat_id, 0.0)

    def hold(self, chat_id: int, until: float) -> None:
        """Keep a chat waiting (a RetryAfter for it, say)."""
        self._ready[chat_id] = max(self._ready.get(chat_id, 0.0), until)

    def sent(self, chat_id: int, chat_type: str, now: float) -> None:
        if chat_type == "private" or chat_id > 0:
            self.hold(chat_id, now + self.private_interval)
            return
        window = self._group_sends.setdefault(chat_id, deque())
        window.append(now)
        while window and window[0] <= now - 60.0:
            window.popleft()
        if len(window) >= self.group_per_minute:
            self.hold(chat_id, window[0] + 60.0)

    def forget(self, chat_id: int) -> None:
        self._ready.pop(chat_id, None)
        self._group_sends.pop(chat_id, None)
