"""What every handler needs: the reply, the chat's language, group rights."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Chat, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, TelegramError

from bot.context import BotContext
from bot.delivery.render import e, split_message
from bot.i18n import texts

log = logging.getLogger(__name__)

Gettext = texts.Translator
MANAGERS = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)


def detect(code: str | None) -> str:
    """A chat's first language: Persian for a Telegram app set to Persian (fa, fa-IR, FA),
    English for everything else."""
    return "fa" if code and code.replace("_", "-").split("-")[0].strip().lower() == "fa" else "en"


def user_language(update: Update) -> str:
    """The language of the user's Telegram app, as one of ours."""
    user = update.effective_user
    return detect(user.language_code if user else None)


async def language(update: Update, context: BotContext) -> str:
    """The chat's language: the one stored (chosen with /language, or guessed when the chat
    was first stored), else the user's app language."""
    chat = update.effective_chat
    stored = await context.store.chat_language(chat.id) if chat is not None else None
    # detect() also folds what older versions stored (the raw language code, "fa-IR").
    return detect(stored) if stored else user_language(update)


async def gettext(update: Update, context: BotContext) -> Gettext:
    return texts.tr(await language(update, context))


def command_text(update: Update, context: BotContext | None = None) -> str:
    """What follows the command, spacing and quotes as typed (after the channel named first,
    when the command manages a channel from a private chat)."""
    if context is not None and context.command_rest is not None:
        return context.command_rest
    message = update.effective_message
    text = message.text if message is not None and message.text else ""
    parts = text.split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


async def reply(
    update: Update,
    context: BotContext,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> Message | None:
    chat = update.effective_chat
    if chat is None:
        return None
    if context.managed is not None:
        # The answer goes to the private chat; it says which channel it is about.
        text = f"📢 <b>{e(context.managed.title)}</b>\n{text}"
    message = None
    pieces = split_message(text)
    # A channel's readers are not woken by the bot's answers to its administrators.
    quiet = chat.type == ChatType.CHANNEL
    for i, piece in enumerate(pieces):
        message = await context.bot.send_message(
            chat.id,
            piece,
            reply_markup=markup if i == len(pieces) - 1 else None,
            disable_notification=quiet,
        )
        if chat.type == ChatType.CHANNEL:
            # A channel's readers see only reports: the answer goes after a minute.
            forget_later(context, chat.id, message.message_id)
    if context.managed is not None and markup is not None and message is not None:
        # Its buttons change the channel too (handlers.channels.for_channel_buttons).
        managed_by_message(context)[message.message_id] = context.managed.id
    return message


def managed_by_message(context: BotContext) -> dict[int, int]:
    """A private chat's messages whose buttons manage a channel: message id -> channel id.
    Kept in memory: after a restart such a button asks for the command again."""
    data = context.chat_data
    if data is None:
        return {}
    found = data.setdefault("managed", {})
    assert isinstance(found, dict)
    return found


CHANNEL_CLEANUP = 60.0  # seconds a command and its answer stay in a channel


def forget_later(context: BotContext, chat_id: int, message_id: int) -> None:
    if context.job_queue is not None:
        context.job_queue.run_once(
            _delete,  # type: ignore[arg-type]
            CHANNEL_CLEANUP,
            data=(chat_id, message_id),
            name="channel-cleanup",
        )


async def _delete(context: BotContext) -> None:
    job = context.job
    if job is None or not isinstance(job.data, tuple):
        return
    chat_id, message_id = job.data
    try:
        await context.bot.delete_message(chat_id, message_id)
    except TelegramError as exc:
        # Deleted by hand already, or the bot lost its rights: nothing to do.
        log.info("channel clean-up: a message could not be deleted: %s", exc)


@dataclass(frozen=True, slots=True)
class ChatRef:
    """The chat a command changes: its id and type."""

    id: int
    type: str


def target_chat(update: Update, context: BotContext) -> ChatRef | None:
    """The chat a command changes: a channel named first from a private chat, else the chat
    the command was sent in."""
    if context.managed is not None:
        return ChatRef(context.managed.id, str(ChatType.CHANNEL))
    chat = update.effective_chat
    return ChatRef(chat.id, str(chat.type)) if chat is not None else None


async def can_manage(update: Update, context: BotContext) -> bool:
    """In groups and channels only administrators change settings; in private chats the
    user does (and, for a channel named first, its administrator, checked already)."""
    chat = update.effective_chat
    if chat is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    message = update.effective_message
    if update.callback_query is None and message is not None and message.sender_chat is not None:
        # A channel post is its administrators'; in a group an anonymous administrator
        # writes as the group itself. (A button's message is the bot's: whoever pressed it
        # is checked below.)
        return message.sender_chat.id == chat.id
    user = update.effective_user
    if user is None:
        return False
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in MANAGERS


async def refuse_non_admin(update: Update, context: BotContext) -> bool:
    """Reply with a refusal and return True when the sender may not change this chat."""
    if context.managed is not None:
        return False  # a channel named first: its administrator was checked then
    if await can_manage(update, context):
        return False
    _ = await gettext(update, context)
    chat = update.effective_chat
    refusal = texts.CHANNEL_ADMINS_ONLY if chat and chat.type == ChatType.CHANNEL else None
    refusal = refusal or texts.GROUP_ADMINS_ONLY
    if update.callback_query is not None:
        await update.callback_query.answer(_(refusal), show_alert=True)
    else:
        await reply(update, context, e(_(refusal)))
    return True


async def target_language(update: Update, context: BotContext) -> str:
    """The language of the chat a command changes (a channel named first has its own)."""
    if context.managed is not None:
        return detect(await context.store.chat_language(context.managed.id))
    return await language(update, context)


def chat_language(update: Update) -> str:
    """The first guess of a new chat's language (a stored choice is never overwritten)."""
    return user_language(update)


def chat_type(chat: Chat | ChatRef) -> str:
    return str(chat.type)


def is_not_modified(exc: BadRequest) -> bool:
    return "not modified" in exc.message.lower()
