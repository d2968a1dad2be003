"""Health alerts for the operators: each user in ADMIN_IDS with a private chat with the bot
hears of an edition whose polls keep failing (and, once, of its recovery), of a burst of failed
alerts, and of an edition gone silent while its polls succeed.

Each condition is a row in the store while it lasts (storage.health); its messages are queued
as notices in the transaction that marks it told, so each goes out once, across restarts too,
through the sender and its pace like every other message. They name editions, times, counts
and errors, never a user, a subscription or a watched phrase.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from telegram import Update
from telegram.constants import ChatType

from bot.context import BotApplication, BotContext
from bot.delivery import render
from bot.i18n import calendar, texts
from bot.services import Followed, Services
from bot.site.poller import PollResult
from storage.health import DELIVERIES, OUTAGE, SILENCE, Condition

log = logging.getLogger(__name__)

KEY = "health"  # the Health of a running bot, in bot_data
CHECK_INTERVAL = 300.0  # seconds between looks at failed alerts and silent editions
FIRST_CHECK = 60.0  # after the start: the first polls have answered by then
FAILED_ALERTS = 20  # more alerts than this ending as failed within WINDOW: the operators hear
WINDOW = timedelta(hours=1)
SILENCE_AFTER = timedelta(hours=72)  # no new post for this long, while polls succeed
# An edition "usually publishes every day" when USUAL_DAYS of the USUAL_SPAN before its last
# new post had a post (by publication date).
USUAL_SPAN = timedelta(days=14)
USUAL_DAYS = 10

Texts = Callable[[texts.Translator], str]

# -- the kind of a failed poll, in words ----------------------------------------------------

KINDS = {
    "timeout": texts.HEALTH_KIND_TIMEOUT,
    "connection": texts.HEALTH_KIND_CONNECTION,
    "not_feed": texts.HEALTH_KIND_NOT_FEED,
    "too_large": texts.HEALTH_KIND_TOO_LARGE,
    "redirect": texts.HEALTH_KIND_REDIRECT,
    "wrong_edition": texts.HEALTH_KIND_WRONG_EDITION,
    "internal": texts.HEALTH_KIND_INTERNAL,
    "other": texts.HEALTH_KIND_OTHER,
}
_HTTP = re.compile(r"\bHTTP (\d{3})\b")


def classify(error: str) -> str:
    """The kind of a poll's error (bot.site.client and bot.site.parse word them): "timeout",
    "http:503", "connection", "not_feed", "too_large", "redirect", "wrong_edition",
    "internal" or "other"."""
    # When the feed failed after the REST API, the error is "the feed's (REST API: the
    # API's)": the feed's error is the one that stopped the poll.
    main = error.split(" (REST API: ", 1)[0]
    low = main.lower()
    if low.startswith("internal error"):
        return "internal"
    if "other edition" in low:
        return "wrong_edition"
    status = _HTTP.search(main)
    if status:
        return f"http:{status.group(1)}"
    if "within" in low or "time-out" in low or "timed out" in low:
        return "timeout"
    if "redirect" in low:
        return "redirect"
    if "cannot connect" in low or "reset or closed" in low or "broke off" in low:
        return "connection"
    if "over the cap" in low or "response over" in low:
        return "too_large"
    if low.startswith("get "):
        return "other"  # a transport failure without a kind of its own
    return "not_feed"  # what the parser refused: HTML, broken XML, not JSON


def kind_text(kind: str, _: texts.Translator) -> str:
    if kind.startswith("http:") and kind[5:].isdigit():
        return _(texts.HEALTH_KIND_HTTP).format(status=_.number(int(kind[5:])))
    return _(KINDS.get(kind, texts.HEALTH_KIND_OTHER))


def when(moment: datetime, _: texts.Translator) -> str:
    """A moment as the reader's language dates it: UTC, or Tehran's time for Persian."""
    zone = calendar.TEHRAN if calendar.is_persian(_.language) else UTC
    local = moment.astimezone(zone)
    return _(texts.HEALTH_TIME).format(
        date=_.date(moment), time=_.clock(local.hour * 60 + local.minute)
    )


def duration(lasted: timedelta, _: texts.Translator) -> str:
    minutes = int(lasted.total_seconds() // 60)
    if minutes < 1:
        return _(texts.HEALTH_LESS_THAN_A_MINUTE)
    if minutes < 60:
        return _(texts.HEALTH_MINUTES).format(minutes=_.number(minutes))
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _(texts.HEALTH_HOURS).format(hours=_.number(hours), minutes=_.number(minutes))
    days, hours = divmod(hours, 24)
    return _(texts.HEALTH_DAYS).format(days=_.number(days), hours=_.number(hours))


def plain_error(error: str | None) -> str:
    """A delivery error as the operators read it: one line, short, and without the long
    numbers (a chat's or a message's id) that an error from Telegram may quote."""
    text = re.sub(r"\d{5,}", "…", " ".join((error or "unknown").split()))
    return text if len(text) <= 200 else text[:199] + "…"


# -- the running bot's health -------------------------------------------------------------


class Health:
    def __init__(self, services: Services) -> None:
        self.services = services
        # ADMIN_IDS without a chat, already said in the log: one line a start, not an event.
        self._skipped: set[int] = set()

    async def after_poll(self, one: Followed, result: PollResult) -> None:
        """An outage begins, goes on or ends with this poll; a new post ends a silence.
        Never raises: the poll loop goes on whatever happens here."""
        try:
            await self._after_poll(one, result)
        except Exception:
            log.exception("health: cannot judge the poll of %s", one.edition.key)

    async def check(self, now: datetime | None = None) -> None:
        """Look at the alerts failed in the last hour and at each edition's newest post."""
        now = now or datetime.now(UTC)
        try:
            await self._check_deliveries(now)
        except Exception:
            log.exception("health: cannot count the failed alerts")
        for one in self.services:
            try:
                await self._check_silence(one, now)
            except Exception:
                log.exception("health: cannot judge the silence of %s", one.edition.key)

    # -- outages ----------------------------------------------------------------------------

    async def _after_poll(self, one: Followed, result: PollResult) -> None:
        store = self.services.store
        if result.ok:
            found = await store.condition(one.site, OUTAGE)
            if found is not None:
                await self._recovered(one, found, result.at)
            if result.new:
                silent = await store.condition(one.site, SILENCE)
                if silent is not None:
                    await store.close_condition(silent)
            return
        found = await store.open_condition(one.site, OUTAGE, result.at, classify(result.errors[0]))
        if found.notified or result.failures < self.services.settings.health_failures:
            return
        failures = result.failures

        def outage(_: texts.Translator) -> str:
            return _(texts.HEALTH_OUTAGE).format(
                edition=render.edition_name(one.edition.key, _),
                count=_.number(failures),
                since=when(found.since, _),
                kind=kind_text(found.detail, _),
            )

        if await self._notify(found, outage):
            log.warning(
                "health: %s has failed %d polls in a row since %s; the operators are told",
                one.edition.key,
                failures,
                found.since.isoformat(timespec="seconds"),
            )

    async def _recovered(self, one: Followed, found: Condition, at: datetime) -> None:
        lasted = at - found.since

        def recovered(_: texts.Translator) -> str:
            return _(texts.HEALTH_RECOVERED).format(
                edition=render.edition_name(one.edition.key, _),
                since=when(found.since, _),
                duration=duration(lasted, _),
            )

        # An outage too short to be told of ends quietly.
        told = await self._texts(recovered) if found.notified else []
        if await self.services.store.close_condition(found, f"{found.key}:over", told) and told:
            self.services.sender.wake()
            log.info("health: %s answers again after %s", one.edition.key, lasted)

    # -- failed alerts ------------------------------------------------------------------------

    async def _check_deliveries(self, now: datetime) -> None:
        store = self.services.store
        count, error = await store.failed_alerts(now - WINDOW)
        found = await store.condition("", DELIVERIES)
        if count <= FAILED_ALERTS:
            if found is not None:
                await store.close_condition(found)  # the burst is over
            return
        if found is None:
            found = await store.open_condition("", DELIVERIES, now)
        if found.notified:
            return

        def failed(_: texts.Translator) -> str:
            return _(texts.HEALTH_DELIVERIES).format(
                count=_.number(count), error=plain_error(error)
            )

        if await self._notify(found, failed):
            log.warning("health: %d alerts failed in the last hour; the operators are told", count)

    # -- silence ------------------------------------------------------------------------------

    async def _check_silence(self, one: Followed, now: datetime) -> None:
        store = self.services.store
        last = await store.last_new_post(one.site)
        found = await store.condition(one.site, SILENCE)
        if last is None or now - last < SILENCE_AFTER:
            if found is not None:
                await store.close_condition(found)
            return
        if found is not None and found.since != last:
            await store.close_condition(found)  # new posts came meanwhile: another silence
            found = None
        if found is not None and found.notified:
            return
        state = await store.get_state(one.site)
        succeeded = state.get("last_success")
        # Polls that fail are the outage's business; a poll must have found nothing new
        # after the silence had lasted SILENCE_AFTER.
        if state.get("failures") or not isinstance(succeeded, str):
            return
        if datetime.fromisoformat(succeeded) < last + SILENCE_AFTER:
            return
        if await store.days_with_posts(one.site, last - USUAL_SPAN, last) < USUAL_DAYS:
            return  # an edition that does not publish every day may well pause
        found = await store.open_condition(one.site, SILENCE, last)

        def silence(_: texts.Translator) -> str:
            return _(texts.HEALTH_SILENCE).format(
                edition=render.edition_name(one.edition.key, _), since=when(last, _)
            )

        if await self._notify(found, silence):
            log.warning(
                "health: %s has had no new post since %s; the operators are told",
                one.edition.key,
                last.isoformat(timespec="seconds"),
            )

    # -- telling the operators ---------------------------------------------------------------

    async def _texts(self, text: Texts) -> list[tuple[int, str]]:
        """The message for each operator with a chat, in that chat's language."""
        admins = self.services.settings.admin_ids
        chats = await self.services.store.started_chats(admins)
        missing = admins - chats.keys() - self._skipped
        if missing:
            self._skipped |= missing
            # Chat ids appear in logs at debug level only, as everywhere else.
            log.warning(
                "health: %d of ADMIN_IDS never started the bot (or blocked it): they get no "
                "health alerts until they send it /start (LOG_LEVEL=DEBUG names them)",
                len(missing),
            )
            log.debug("health: ADMIN_IDS without a chat: %s", sorted(missing))
        return [
            (chat_id, render.e(text(texts.tr(language))))
            for chat_id, language in sorted(chats.items())
        ]

    async def _notify(self, found: Condition, text: Texts) -> bool:
        """Queue the condition's messages, once; False when they were queued already."""
        told = await self.services.store.notify_condition(found, await self._texts(text))
        if told:
            self.services.sender.wake()
        return told


# -- the hooks bot.app calls ----------------------------------------------------------------


def start(app: BotApplication, services: Services) -> Health:
    """The running bot's Health, with its periodic check on the job queue."""
    health = Health(services)
    app.bot_data[KEY] = health
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            _check_job, interval=CHECK_INTERVAL, first=FIRST_CHECK, name="health"
        )
    return health


def of(bot_data: dict[object, object]) -> Health | None:
    found = bot_data.get(KEY)
    return found if isinstance(found, Health) else None


async def after_poll(context: BotContext, one: Followed, result: PollResult) -> None:
    health = of(context.bot_data)
    if health is not None:
        await health.after_poll(one, result)


async def _check_job(context: BotContext) -> None:
    health = of(context.bot_data)
    if health is not None:
        await health.check()


async def remember_operator(update: Update, context: BotContext) -> None:
    """/start from an operator (ADMIN_IDS) stores their private chat, which is where health
    alerts go; users' chats are stored only when they choose something."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return
    if user.id not in context.services.settings.admin_ids:
        return
    persian = calendar.is_persian((user.language_code or "").replace("_", "-"))
    await context.store.ensure_chat(chat.id, "private", "fa" if persian else "en")
