"""Drains the outbox to Telegram: paced, one message in flight per chat, exactly once.

A row is marked sent, with Telegram's message id, as soon as Telegram accepts the message;
so a crash loses no alert and can repeat at most the messages in flight at that moment (as
can a time-out: Telegram may have delivered a message whose answer never came).

Four kinds of row go out the same way, each kept in the store until done: alerts, edits of
alerts whose report was corrected, daily digests (made here when a chat's digest time
comes, from the alerts held for it) and notices (a text to one chat: the operators' health
alerts, bot.ops.health).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from telegram import Message
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.delivery import timing
from bot.delivery.pacing import ChatPace
from storage import Delivery, Post, Store, still_named
from storage.health import Notice

log = logging.getLogger(__name__)

# An alert's text for a chat (the row says how it wants it); True: it is a correction.
Render = Callable[[Post, Delivery, bool], str]
# A chat's digest: its posts, the row (its day, its language) -> the messages.
RenderDigest = Callable[[Sequence[Post], Delivery], list[str]]


class DeliveryObserver(Protocol):
    """Hears how alerts end (bot.ops.metrics counts them); a digest tells of its reports."""

    def alerts_sent(self, n: int) -> None: ...

    def alerts_failed(self, n: int) -> None: ...


class _Unobserved:
    def alerts_sent(self, n: int) -> None:
        pass

    def alerts_failed(self, n: int) -> None:
        pass


def silent(row: Delivery, now: datetime) -> bool:
    """Whether a message to this chat goes without a sound: discreet, or in quiet hours."""
    if row.discreet:
        return True
    if row.quiet_start is None or row.quiet_end is None:
        return False
    return timing.in_window(now, row.quiet_start, row.quiet_end, timing.zone(row.timezone))


def send_options(row: Delivery, now: datetime) -> dict[str, Any]:
    return {"disable_notification": silent(row, now), "protect_content": row.discreet}


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SendPolicy:
    private_interval: float = 1.0
    group_per_minute: int = 20
    max_attempts: int = 5
    retry_base: float = 5.0  # seconds before the first retry of a failed send; then doubling
    retry_max: float = 600.0
    concurrency: int = 32  # messages in flight at once
    batch: int = 500  # outbox rows read at a time
    idle: float = 5.0  # seconds between looks at the outbox when nothing wakes the sender
    digest_check: float = 20.0  # seconds between looks for chats whose digest time came


def retry_delay(policy: SendPolicy, attempts: int) -> float:
    return float(min(policy.retry_base * 2 ** max(attempts - 1, 0), policy.retry_max))


class Sender:
    def __init__(
        self,
        bot: ExtBot[dict[str, Any]],
        store: Store,
        render: Render,
        policy: SendPolicy,
        render_digest: RenderDigest | None = None,
        clock: Callable[[], datetime] = utcnow,
        observer: DeliveryObserver | None = None,
    ) -> None:
        self.bot = bot
        self.observer: DeliveryObserver = observer or _Unobserved()
        self.store = store
        self.render = render
        self.render_digest = render_digest
        # The wall clock that quiet hours and digest times are read on (tests move it).
        self.clock = clock
        self.policy = policy
        self._last_digest_check = -math.inf
        self.pace = ChatPace(policy.private_interval, policy.group_per_minute)
        self._wake = asyncio.Event()
        self._stopping = False
        self._slots = asyncio.Semaphore(policy.concurrency)
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._posts: OrderedDict[int, Post | None] = OrderedDict()
        self._unrecorded: set[tuple[int, int]] = set()
        self.sent = 0

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Deliver until stop(); failures of one row never stop the loop."""
        while not self._stopping:
            # Cleared before the pass, so a wake-up that comes during it is not lost.
            self._wake.clear()
            try:
                wait = await self._pass()
            except Exception:
                log.exception("sender: pass failed; retrying shortly")
                wait = self.policy.idle
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop dispatching and let the messages in flight finish and be recorded.

        What is still in flight after ``grace`` is cancelled (its row stays pending and goes
        out after the next start), so the store is never closed under a running delivery.
        """
        self._stopping = True
        self._wake.set()
        pending = list(self._inflight.values())
        if pending:
            _done, late = await asyncio.wait(pending, timeout=grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)

    async def _pass(self) -> float:
        """Dispatch every due row whose chat is free; returns how long to wait next."""
        after = (0, 0)
        wait = self.policy.idle
        while not self._stopping:
            # A chat with a message in flight while the rows are read may have that very row
            # sent meanwhile: its rows in this batch are stale, so they wait for the next read.
            busy = set(self._inflight)
            rows = await self.store.due_deliveries(self.policy.batch, after=after)
            if not rows:
                break
            after = (rows[-1].post_id, rows[-1].chat_id)
            for row in rows:
                if (row.chat_id, row.post_id) in self._unrecorded:
                    continue
                wait = min(wait, await self._launch(row, busy, self._send))
        if not self._stopping:
            wait = min(wait, await self._more(self.store.due_edits, self._edit))
        if not self._stopping and self.render_digest is not None:
            wait = min(wait, await self._open_digests())
            wait = min(wait, await self._more(self.store.due_digests, self._send_digest))
        if not self._stopping:
            wait = min(wait, await self._more(self.store.due_notices, self._send_notice))
        postponed = await self.store.next_due()
        if postponed is not None:
            wait = min(wait, (postponed - datetime.now(UTC)).total_seconds())
        return max(wait, 0.01)

    async def _more(
        self,
        read: Callable[[int], Awaitable[list[Delivery]]],
        job: Callable[[Delivery], Awaitable[None]],
    ) -> float:
        """Dispatch a batch of edits or digests (they are few: one batch a pass)."""
        busy = set(self._inflight)
        wait = self.policy.idle
        for row in await read(self.policy.batch):
            wait = min(wait, await self._launch(row, busy, job))
        return wait

    async def _launch(
        self, row: Delivery, busy: set[int], job: Callable[[Delivery], Awaitable[None]]
    ) -> float:
        """Start ``job`` for the row if its chat is free and ready; how long to wait if not."""
        if self._stopping:
            return self.policy.idle
        now = time.monotonic()
        ready = self.pace.ready_at(row.chat_id)
        if row.chat_id in busy or row.chat_id in self._inflight:
            return 0.05
        if ready > now:
            return ready - now
        await self._slots.acquire()
        if self._stopping:
            self._slots.release()
            return self.policy.idle
        self._inflight[row.chat_id] = asyncio.create_task(self._deliver(row, job))
        return self.policy.idle

    async def _open_digests(self) -> float:
        """Make the digests whose time has come (each chat's own time, in its own zone)."""
        now = time.monotonic()
        due = self._last_digest_check + self.policy.digest_check
        if now < due:
            return due - now
        self._last_digest_check = now
        utc = self.clock()
        for chat_id, zone, at, last in await self.store.digest_chats():
            day = timing.due_day(utc, at, timing.zone(zone))
            if last is None or last < day:
                await self.store.open_digest(chat_id, day)
        return self.policy.digest_check

    async def _post(self, post_id: int) -> Post | None:
        # One post goes to many chats in a row: keep the few most recent at hand.
        if post_id in self._posts:
            self._posts.move_to_end(post_id)
            return self._posts[post_id]
        found = await self.store.get_posts([post_id])
        post = found[0] if found else None
        self._posts[post_id] = post
        if len(self._posts) > 64:
            self._posts.popitem(last=False)
        return post

    async def _deliver(self, row: Delivery, job: Callable[[Delivery], Awaitable[None]]) -> None:
        try:
            await job(row)
        except Exception:
            log.exception("sender: a %s failed unexpectedly", job.__name__.strip("_"))
            with contextlib.suppress(Exception):
                await self._retry(row, self._outcomes(row, job), "internal error")
        finally:
            self._inflight.pop(row.chat_id, None)
            self._slots.release()
            self._wake.set()

    def _outcomes(self, row: Delivery, job: Callable[[Delivery], Awaitable[None]]) -> _Outcomes:
        """How each kind of row records a retry or a failure."""
        store, chat = self.store, row.chat_id
        if job == self._edit:
            return _Outcomes(
                "an edit",
                lambda until, error, counted: store.postpone_edit(
                    chat, row.post_id, until, error, count_attempt=counted
                ),
                lambda error: store.fail_edit(chat, row.post_id, error),
                lambda error: store.edit_done(chat, row.post_id, row.revision, error),
            )
        if job == self._send_notice and isinstance(row, Notice):
            key = row.key
            return _Outcomes(
                "a notice",
                lambda until, error, counted: store.postpone_notice(
                    chat, key, until, error, count_attempt=counted
                ),
                lambda error: store.fail_notice(chat, key, error),
            )
        if job == self._send_digest:

            async def fail_digest(error: str) -> None:
                await store.fail_digest(chat, row.day, error)
                self.observer.alerts_failed(len(await store.digest_items(chat, row.day)))

            return _Outcomes(
                "a digest",
                lambda until, error, counted: store.postpone_digest(
                    chat, row.day, until, error, count_attempt=counted
                ),
                fail_digest,
            )
        return _Outcomes(
            "an alert",
            lambda until, error, counted: store.postpone(
                chat, row.post_id, until, error, count_attempt=counted
            ),
            functools.partial(self._fail_alert, row),
        )

    async def _fail_alert(self, row: Delivery, error: str) -> None:
        await self.store.mark_failed(row.chat_id, row.post_id, error)
        self.observer.alerts_failed(1)

    async def _call(
        self, row: Delivery, outcomes: _Outcomes, call: Callable[[], Awaitable[Message]]
    ) -> Message | None:
        """One Bot API call for a row; on an error, the row's fate is recorded (postponed,
        failed, its chat deactivated or moved) and None returned."""
        try:
            return await call()
        except RetryAfter as exc:
            seconds = _seconds(exc.retry_after)
            self.pace.hold(row.chat_id, time.monotonic() + seconds)
            until = datetime.now(UTC) + timedelta(seconds=seconds)
            await outcomes.postpone(until, "flood control", False)
            log.info("sender: flood control, one chat waits %.0f s", seconds)
        except ChatMigrated as exc:
            # The group became a supergroup: its rows move to the new id and go out there.
            await self.store.migrate_chat(row.chat_id, exc.new_chat_id)
            self.pace.forget(row.chat_id)
        except Forbidden as exc:
            await self._deactivate(row, str(exc))
        except BadRequest as exc:
            if _UNREACHABLE.search(exc.message.lower()):
                await self._deactivate(row, str(exc))
            elif outcomes.gone is not None and _GONE.search(exc.message.lower()):
                # Not modified, deleted, too old to edit: the edit ends here, quietly.
                await outcomes.gone(exc.message)
            else:
                # Telegram refuses this message itself: sending it again will not help.
                log.warning("sender: Telegram refused %s: %s", outcomes.kind, exc.message)
                await outcomes.fail(exc.message)
        except TelegramError as exc:  # network errors, time-outs, 5xx
            await self._retry(row, outcomes, f"{exc.__class__.__name__}: {exc}")
        return None

    async def _send(self, row: Delivery) -> None:
        post = await self._post(row.post_id)
        if post is not None and post.revision != row.revision:
            # Corrected since it was read: the alert goes out with the text as it is now.
            self._posts.pop(row.post_id, None)
            post = await self._post(row.post_id)
        if post is None:
            await self._fail_alert(row, "post no longer stored")
            return
        message = await self._call(
            row,
            self._outcomes(row, self._send),
            functools.partial(self._send_text, row, self.render(post, row, False)),
        )
        if message is None:
            return
        await self._record_sent(row, message.message_id, post.revision)
        log.debug("sender: post %d sent to chat %d", row.post_id, row.chat_id)
        self.pace.sent(row.chat_id, row.chat_type, time.monotonic())
        self.sent += 1
        self.observer.alerts_sent(1)

    async def _send_text(self, row: Delivery, text: str) -> Message:
        """An alert or a digest's part, queued behind the replies to users (bulk)."""
        return await self.bot.send_message(
            row.chat_id, text, rate_limit_args={"bulk": True}, **send_options(row, self.clock())
        )

    async def _record_sent(self, row: Delivery, message_id: int, revision: str) -> None:
        """Telegram has the message: record it, insisting, since a row left pending would be
        sent again after a restart."""
        for attempt in range(5):
            try:
                await self.store.mark_sent(row.chat_id, row.post_id, message_id, revision)
                return
            except Exception:
                log.exception("sender: cannot record a sent alert (attempt %d)", attempt + 1)
                await asyncio.sleep(0.2 * 2**attempt)
        # Still pending in the store: at least this process will not send it again.
        self._unrecorded.add((row.chat_id, row.post_id))

    async def _deactivate(self, row: Delivery, reason: str) -> None:
        dropped = await self.store.deactivate(row.chat_id)
        self.pace.forget(row.chat_id)
        log.info("sender: chat unreachable (%s); %d pending alerts dropped", reason, dropped)
        log.debug("sender: deactivated chat %d", row.chat_id)

    async def _retry(self, row: Delivery, outcomes: _Outcomes, error: str) -> None:
        attempts = row.attempts + 1
        if attempts >= self.policy.max_attempts:
            log.warning(
                "sender: giving up %s after %d attempts: %s", outcomes.kind, attempts, error
            )
            await outcomes.fail(error)
            return
        delay = retry_delay(self.policy, attempts)
        await outcomes.postpone(datetime.now(UTC) + timedelta(seconds=delay), error, True)
        log.info(
            "sender: sending %s failed (%s); retry %d in %.0f s",
            outcomes.kind,
            error,
            attempts,
            delay,
        )

    # -- corrections ------------------------------------------------------------------------

    async def _edit(self, row: Delivery) -> None:
        """Edit an alert in place with the corrected report; done once per revision."""
        self._posts.pop(row.post_id, None)
        post = await self._post(row.post_id)
        if post is None or row.message_id is None:
            await self.store.edit_done(row.chat_id, row.post_id, row.revision, "nothing to edit")
            return
        if post.revision != row.revision:
            # A newer correction came meanwhile; its own edit is queued or coming.
            await self.store.edit_done(row.chat_id, row.post_id, row.revision, "superseded")
            return
        message_id = row.message_id
        if row.watched:
            # A correction may have taken a watched name out: the alert no longer claims it.
            texts = (post.title, post.content or post.excerpt, post.excerpt)
            row = replace(row, watched=still_named(row.watched, texts))
        edited = await self._call(
            row,
            self._outcomes(row, self._edit),
            functools.partial(
                self._edit_text, row.chat_id, message_id, self.render(post, row, True)
            ),
        )
        if edited is None:
            return
        await self.store.edit_done(row.chat_id, row.post_id, row.revision)
        self.pace.sent(row.chat_id, row.chat_type, time.monotonic())
        log.debug("sender: alert of post %d edited in chat %d", row.post_id, row.chat_id)

    async def _edit_text(self, chat_id: int, message_id: int, text: str) -> Message:
        edited = await self.bot.edit_message_text(
            text, chat_id=chat_id, message_id=message_id, rate_limit_args={"bulk": True}
        )
        if not isinstance(edited, Message):  # only for inline messages, which alerts are not
            raise TelegramError("the edit did not return the message")
        return edited

    # -- digests ------------------------------------------------------------------------------

    async def _send_digest(self, row: Delivery) -> None:
        """Send a chat's digest, part by part; each part is recorded as it goes, so a restart
        sends only the parts still missing."""
        if self.render_digest is None:
            return
        ids = await self.store.digest_items(row.chat_id, row.day)
        posts = await self.store.get_posts(ids)
        parts = self.render_digest(posts, row)
        outcomes = self._outcomes(row, self._send_digest)
        message_id: int | None = None
        for n in range(row.parts_sent, len(parts)):
            message = await self._call(
                row, outcomes, functools.partial(self._send_text, row, parts[n])
            )
            if message is None:
                return
            message_id = message.message_id
            self.pace.sent(row.chat_id, row.chat_type, time.monotonic())
            if n + 1 < len(parts):
                await self.store.digest_part_sent(row.chat_id, row.day, n + 1)
                # The chat's pace holds for the next part too.
                await asyncio.sleep(max(self.pace.ready_at(row.chat_id) - time.monotonic(), 0))
        await self.store.digest_sent(row.chat_id, row.day, message_id)
        self.sent += 1
        self.observer.alerts_sent(len(ids))
        log.debug("sender: digest of %d reports sent to chat %d", len(posts), row.chat_id)

    # -- notices ------------------------------------------------------------------------------

    async def _send_notice(self, row: Delivery) -> None:
        """A notice: its text, as queued, to its chat; recorded sent once Telegram has it."""
        if not isinstance(row, Notice):
            return
        message = await self._call(
            row,
            self._outcomes(row, self._send_notice),
            functools.partial(self._send_text, row, row.text),
        )
        if message is None:
            return
        await self.store.notice_sent(row.chat_id, row.key)
        self.pace.sent(row.chat_id, row.chat_type, time.monotonic())
        log.debug("sender: notice sent to chat %d", row.chat_id)


@dataclass(frozen=True, slots=True)
class _Outcomes:
    """What a failed call does to its row: ``postpone(until, error, counts as an attempt)``,
    ``fail(error)``, and for edits ``gone(error)``: Telegram has nothing to change."""

    kind: str
    postpone: Callable[[datetime, str, bool], Awaitable[None]]
    fail: Callable[[str], Awaitable[None]]
    gone: Callable[[str], Awaitable[None]] | None = None


# A chat that is gone, or a channel that took away the bot's right to post: as for a block,
# nothing more can reach it until it comes back.
_UNREACHABLE = re.compile(r"chat not found|need administrator rights|not enough rights to send")

# What ends an edit quietly: the text is already so, or there is no message to edit.
_GONE = re.compile(
    r"not modified|message to edit not found|message can't be edited|message_id_invalid"
)


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
