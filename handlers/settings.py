"""/settings, /discreet, /quiet and /digest: how and when a chat's alerts arrive."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from telegram import Update
from telegram.error import BadRequest

from bot.context import BotContext
from bot.delivery import render, timing
from bot.delivery.render import e
from bot.i18n import texts
from handlers.common import (
    ChatRef,
    Gettext,
    chat_language,
    chat_type,
    command_text,
    gettext,
    is_not_modified,
    refuse_non_admin,
    reply,
    target_chat,
    target_language,
)
from storage import ChatSettings

# set:m  main view | set:q, set:g  the choices of quiet hours, digest times |
# set:l:<en|fa> | set:d:<0|1> | set:q:off, set:q:<start>-<end> | set:g:off, set:g:<minute> |
# set:z  back to Iran's time zone
CALLBACK = re.compile(
    r"^set:(?:(?P<view>[mqg])|(?P<zone>z)"
    r"|l:(?P<lang>en|fa)|d:(?P<discreet>[01])"
    r"|q:(?:(?P<qoff>off)|(?P<qs>\d{1,4})-(?P<qe>\d{1,4}))"
    r"|g:(?:(?P<goff>off)|(?P<g>\d{1,4})))$"
)
ON_WORDS = ("on", "yes", "روشن")
OFF_WORDS = ("off", "no", "خاموش")
_WINDOW_AND_ZONE = re.compile(
    r"(?P<a>[^\s\-–—]+)\s*[-–—]\s*(?P<b>[^\s\-–—]+)(?:\s+(?P<zone>\S+))?"
)
_TIME_AND_ZONE = re.compile(r"(?P<t>\S+)(?:\s+(?P<zone>\S+))?")


def _switch(text: str) -> bool | None:
    word = text.strip().lower()
    return True if word in ON_WORDS else False if word in OFF_WORDS else None


def _zone(given: str | None, current: str | None) -> str | None:
    """The zone named, or the chat's own when none is; "" when the name is unknown."""
    if given is None:
        return current
    return timing.zone_name(given) or ""


async def settings(update: Update, context: BotContext) -> None:
    chat = target_chat(update, context)
    if chat is None:
        return
    _ = await gettext(update, context)
    current = await context.store.chat_settings(chat.id)
    text, markup = render.settings_view(current, await target_language(update, context), _)
    await reply(update, context, text, markup)


async def discreet(update: Update, context: BotContext) -> None:
    chat = target_chat(update, context)
    if chat is None:
        return
    _ = await gettext(update, context)
    value = _switch(command_text(update, context))
    if value is None:
        current = await context.store.chat_settings(chat.id)
        now = _(texts.ON if current.discreet else texts.OFF)
        await reply(update, context, e(_(texts.DISCREET_USAGE).format(value=now)))
        return
    if await refuse_non_admin(update, context):
        return
    await context.store.update_settings(
        chat.id, chat_type(chat), chat_language(update), discreet=int(value)
    )
    await reply(update, context, e(_(texts.DISCREET_ON if value else texts.DISCREET_OFF)))


async def _read(
    update: Update, context: BotContext, turned_off: str, **off: object
) -> tuple[ChatRef, Gettext, str, ChatSettings] | None:
    """A /quiet or /digest command's chat, language, text and the chat's settings; None when
    it is answered already ("off", with ``off`` the values that turn the setting off)."""
    chat = target_chat(update, context)
    if chat is None:
        return None
    _ = await gettext(update, context)
    text = command_text(update, context).strip()
    if _switch(text) is False:
        if not await refuse_non_admin(update, context):
            await context.store.update_settings(
                chat.id, chat_type(chat), chat_language(update), **off
            )
            await reply(update, context, e(_(turned_off)))
        return None
    return chat, _, text, await context.store.chat_settings(chat.id)


async def quiet(update: Update, context: BotContext) -> None:
    read = await _read(update, context, texts.QUIET_OFF, quiet_start=None, quiet_end=None)
    if read is None:
        return
    chat, _, text, current = read
    m = _WINDOW_AND_ZONE.fullmatch(text)
    window = timing.parse_window(f"{m['a']}-{m['b']}") if m else None
    if m is None or window is None:
        now = _(texts.SETTINGS_QUIET).format(value=render.quiet_value(current, _))
        await reply(update, context, e(f"{now}\n\n{_(texts.QUIET_USAGE)}"))
        return
    zone = _zone(m["zone"], current.timezone)
    if zone == "":
        await _unknown_zone(update, context, m["zone"], texts.QUIET_USAGE, _)
        return
    if await refuse_non_admin(update, context):
        return
    await context.store.update_settings(
        chat.id,
        chat_type(chat),
        chat_language(update),
        quiet_start=window[0],
        quiet_end=window[1],
        timezone=zone,
    )
    start, end = _.clock(window[0]), _.clock(window[1])
    lines = [_(texts.QUIET_SET).format(start=start, end=end, zone=_label(zone))]
    if _moved(current, zone) and current.digest_at is not None:
        # The digest's days are now this zone's: its next one comes at its time here.
        await _set_digest(context, chat.id, chat_type(chat), current.digest_at, zone, "", True)
        at = _.clock(current.digest_at)
        lines.append(_(texts.ZONE_MOVES_DIGEST).format(time=at, zone=_label(zone)))
    await reply(update, context, e("\n\n".join(lines)))


def _label(zone: str | None) -> str:
    return zone or timing.DEFAULT_ZONE


def _moved(current: ChatSettings, zone: str | None) -> bool:
    """Whether ``zone`` is another zone than the chat's (none is Asia/Tehran)."""
    return _label(zone) != _label(current.timezone)


async def digest(update: Update, context: BotContext) -> None:
    read = await _read(update, context, texts.DIGEST_OFF, digest_at=None)
    if read is None:
        return
    chat, _, text, current = read
    m = _TIME_AND_ZONE.fullmatch(text)
    at = timing.parse_clock(m["t"]) if m else None
    if m is None or at is None:
        now = _(texts.SETTINGS_DIGEST).format(value=render.digest_value(current, _))
        await reply(update, context, e(f"{now}\n\n{_(texts.DIGEST_USAGE)}"))
        return
    zone = _zone(m["zone"], current.timezone)
    if zone == "":
        await _unknown_zone(update, context, m["zone"], texts.DIGEST_USAGE, _)
        return
    if await refuse_non_admin(update, context):
        return
    moved = _moved(current, zone)
    await _set_digest(context, chat.id, chat_type(chat), at, zone, chat_language(update), moved)
    lines = [_(texts.DIGEST_SET).format(time=_.clock(at), zone=_label(zone))]
    if moved and current.quiet_start is not None and current.quiet_end is not None:
        start, end = _.clock(current.quiet_start), _.clock(current.quiet_end)
        lines.append(_(texts.ZONE_MOVES_QUIET).format(start=start, end=end, zone=_label(zone)))
    await reply(update, context, e("\n\n".join(lines)))


async def _set_digest(
    context: BotContext,
    chat_id: int,
    kind: str,
    at: int,
    zone: str | None,
    guess: str,
    new_zone: bool = False,
) -> None:
    """The first digest is the next time comes round: a digest time already past today
    counts as made, so setting one never sends a digest at once (``guess``: a new chat's
    first language; ``new_zone``: the chat's days are now another zone's)."""
    day = timing.due_day(datetime.now(UTC), at, timing.zone(zone))
    await context.store.set_digest(chat_id, kind, at, zone, day, guess or None, new_zone=new_zone)


async def _unknown_zone(
    update: Update, context: BotContext, given: str, usage: str, _: Gettext
) -> None:
    name = render.clip(given, 40)
    await reply(update, context, e(f"{_(texts.UNKNOWN_ZONE).format(zone=name)}\n\n{_(usage)}"))


async def settings_callback(update: Update, context: BotContext) -> None:
    query = update.callback_query
    chat = target_chat(update, context)
    if query is None:
        return
    m = CALLBACK.match(query.data or "")
    if m is None or chat is None or query.message is None:
        _ = await gettext(update, context)
        await query.answer(_(texts.STALE_BUTTON), show_alert=True)
        return
    view = m["view"] or "m"
    if m["view"] is None:
        if await refuse_non_admin(update, context):
            return
        if not await _apply(m, chat.id, chat_type(chat), chat_language(update), context):
            _ = await gettext(update, context)
            await query.answer(_(texts.STALE_BUTTON), show_alert=True)
            return
    _ = await gettext(update, context)
    current = await context.store.chat_settings(chat.id)
    text, markup = render.settings_view(current, await target_language(update, context), _, view)
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if not is_not_modified(exc):
            raise
    await query.answer()


async def _apply(
    m: re.Match[str], chat_id: int, kind: str, guess: str, context: BotContext
) -> bool:
    """Apply a button's change; False when its data is not a change we offer. ``guess``: a
    new chat's first language."""
    store = context.store
    if m["lang"]:
        await store.set_language(chat_id, kind, m["lang"])
    elif m["discreet"]:
        await store.update_settings(chat_id, kind, guess, discreet=int(m["discreet"]))
    elif m["qoff"]:
        await store.update_settings(chat_id, kind, guess, quiet_start=None, quiet_end=None)
    elif m["qs"]:
        start, end = int(m["qs"]), int(m["qe"])
        if (start, end) not in render.QUIET_PRESETS:
            return False
        await store.update_settings(chat_id, kind, guess, quiet_start=start, quiet_end=end)
    elif m["zone"]:
        current = await store.chat_settings(chat_id)
        if current.digest_at is not None and _moved(current, None):
            await _set_digest(context, chat_id, kind, current.digest_at, None, guess, True)
        await store.update_settings(chat_id, kind, guess, timezone=None)
    elif m["goff"]:
        await store.update_settings(chat_id, kind, guess, digest_at=None)
    else:
        at = int(m["g"])
        if at not in render.DIGEST_PRESETS:
            return False
        current = await store.chat_settings(chat_id)
        await _set_digest(context, chat_id, kind, at, current.timezone, guess)
    return True
