"""Chat events: a group that becomes a supergroup keeps what it follows; a chat that blocks or
removes the bot (or a channel that takes away its right to post) gets nothing more."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType

from bot.context import BotContext

log = logging.getLogger(__name__)


async def migrate(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    # Telegram sends both sides: the old group names the new id, the supergroup the old one.
    if message.migrate_to_chat_id:
        old, new = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat.id
    else:
        return
    await context.store.migrate_chat(old, new)
    context.services.sender.pace.forget(old)
    log.info("a group became a supergroup; its subscriptions moved along")


async def membership(update: Update, context: BotContext) -> None:
    """The bot was blocked or removed (stop delivering at once), or is back (resume)."""
    change = update.my_chat_member
    if change is None:
        return
    status = change.new_chat_member.status
    if change.chat.type == ChatType.CHANNEL and status == ChatMemberStatus.ADMINISTRATOR:
        # In a channel the bot is an administrator or nothing; what matters is its right to
        # post: without it, alerts can only fail.
        may_post = getattr(change.new_chat_member, "can_post_messages", False)
        status = status if may_post else ChatMemberStatus.LEFT
    if status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        dropped = await context.store.deactivate(change.chat.id)
        context.services.sender.pace.forget(change.chat.id)
        log.info("the bot was blocked or removed from a chat; %d pending alerts dropped", dropped)
    elif status in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR):
        # Unblocked, or added back to a group: what the chat followed applies again.
        await context.store.reactivate(change.chat.id)
