"""Channels: commands posted in a channel by its administrators, and a channel managed from a
private chat by naming it first (``/subscribe @channel executions``)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot.context import BotContext, Managed
from bot.delivery.render import clip, e
from bot.i18n import texts
from handlers.common import MANAGERS, forget_later, gettext, managed_by_message, reply

log = logging.getLogger(__name__)

Callback = Callable[[Update, BotContext], Coroutine[Any, Any, None]]
# @username (5 to 32 letters, digits, underscores) or a channel's id (-100...).
CHANNEL_REF = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}|-100[0-9]{5,15}")
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")


def for_channels(callback: Callback) -> Callback:
    """A settings command that, in a private chat, may name a channel first: the channel is
    checked (the user administers it, the bot may post in it) and the command changes it."""

    async def command(update: Update, context: BotContext) -> None:
        context.managed = context.command_rest = None
        chat = update.effective_chat
        args = context.args or []
        if chat is None or chat.type != ChatType.PRIVATE or not args:
            await callback(update, context)
            return
        ref = args[0].translate(_DIGITS)
        if not CHANNEL_REF.fullmatch(ref):
            await callback(update, context)
            return
        channel = await check_channel(update, context, ref)
        if channel is None:
            return
        context.managed = channel
        context.args = args[1:]
        message = update.effective_message
        text = message.text if message is not None and message.text else ""
        parts = text.split(maxsplit=2)
        context.command_rest = parts[2] if len(parts) > 2 else ""
        await callback(update, context)

    command.__name__ = getattr(callback, "__name__", "command")
    return command


async def check_channel(update: Update, context: BotContext, ref: str) -> Managed | None:
    """The channel ``ref`` names, if the user administers it and the bot may post in it;
    otherwise the user is told which of the two is missing, and None."""
    _ = await gettext(update, context)
    user = update.effective_user
    name = clip(ref, 40)
    try:
        found = await context.bot.get_chat(int(ref) if ref.lstrip("-").isdigit() else ref)
    except TelegramError:
        await reply(update, context, e(_(texts.CHANNEL_NOT_FOUND).format(name=name)))
        return None
    if found.type != ChatType.CHANNEL:
        await reply(update, context, e(_(texts.CHANNEL_NOT_A_CHANNEL).format(name=name)))
        return None
    title = found.title or name
    try:
        member = await context.bot.get_chat_member(found.id, user.id) if user else None
        me = await context.bot.get_chat_member(found.id, context.bot.id)
    except TelegramError:
        await reply(update, context, e(_(texts.CHANNEL_BOT_CANNOT_POST).format(name=title)))
        return None
    if member is None or member.status not in MANAGERS:
        await reply(update, context, e(_(texts.CHANNEL_NOT_ADMIN).format(name=title)))
        return None
    if not can_post(me.status, getattr(me, "can_post_messages", None)):
        await reply(update, context, e(_(texts.CHANNEL_BOT_CANNOT_POST).format(name=title)))
        return None
    return Managed(found.id, title)


def can_post(status: str, can_post_messages: bool | None) -> bool:
    """Whether the bot, with this status in a channel, may post there."""
    return status == ChatMemberStatus.OWNER or (
        status == ChatMemberStatus.ADMINISTRATOR and bool(can_post_messages)
    )


def for_channel_buttons(callback: Callback) -> Callback:
    """A button under an answer about a channel (the picker of ``/subscribe @channel``):
    the user's rights in the channel are checked again, and the button changes the channel."""

    async def button(update: Update, context: BotContext) -> None:
        context.managed = context.command_rest = None
        query = update.callback_query
        message = query.message if query is not None else None
        channel = managed_by_message(context).get(message.message_id) if message else None
        if channel is not None:
            checked = await check_channel(update, context, str(channel))
            if checked is None:
                if query is not None:
                    await query.answer()
                return
            context.managed = checked
        await callback(update, context)

    button.__name__ = getattr(callback, "__name__", "button")
    return button


def channel_commands(commands: Mapping[str, Callback]) -> Callback:
    """Commands posted in a channel (only its administrators can post there): each runs as
    in a group, and the post is deleted after a minute, like the bot's answer."""

    async def channel_post(update: Update, context: BotContext) -> None:
        context.managed = context.command_rest = None
        post = update.channel_post
        if post is None or not post.text or not post.text.startswith("/"):
            return
        first, *args = post.text.split()
        name, _at, bot = first[1:].partition("@")
        if bot and context.bot.username and bot.lower() != context.bot.username.lower():
            return  # a command for another bot
        callback = commands.get(name.lower())
        if callback is None:
            return  # a channel's own text that happens to start with "/"
        context.args = args
        forget_later(context, post.chat.id, post.message_id)
        me = await context.bot.get_chat_member(post.chat.id, context.bot.id)
        if not can_post(me.status, getattr(me, "can_post_messages", None)):
            # It could neither answer nor deliver: the channel stays as it is.
            log.info("channel: a command posted where the bot may not post was ignored")
            return
        await callback(update, context)

    return channel_post
